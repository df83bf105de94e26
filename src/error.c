/* Error codes, their text, and the structured subproc_error. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

const char *subproc_version(void) { return SUBPROC_VERSION_STRING; }

/* errno names for subproc_errname (strerrorname_np is glibc-only). */
#define SUBPROC__OS_ERRNO_MAP(X)                                               \
  X(EPERM)                                                                     \
  X(ENOENT)                                                                    \
  X(ESRCH)                                                                     \
  X(EINTR)                                                                     \
  X(EIO)                                                                       \
  X(ENXIO)                                                                     \
  X(E2BIG) X(ENOEXEC) X(EBADF) X(ECHILD) X(EAGAIN) X(ENOMEM) X(EACCES)         \
      X(EFAULT) X(EBUSY) X(EEXIST) X(EXDEV) X(ENODEV) X(ENOTDIR) X(EISDIR)     \
          X(EINVAL) X(ENFILE) X(EMFILE) X(ETXTBSY) X(EFBIG) X(ENOSPC)          \
              X(ESPIPE) X(EROFS) X(EMLINK) X(EPIPE) X(ERANGE) X(ENAMETOOLONG)  \
                  X(ENOSYS) X(ELOOP) X(ETIMEDOUT) X(ENOTSUP) X(EILSEQ)         \
                      X(EOVERFLOW)

const char *subproc_strerror(int code) {
  switch (code) {
#define SUBPROC__STR(name, value, text)                                        \
  case value:                                                                  \
    return text;
    SUBPROC_ERRNO_MAP(SUBPROC__STR)
#undef SUBPROC__STR
  case 0:
    return "success";
  default:
    break;
  }
  if (code < 0 && code > -4096)
    return strerror(-code);
  return "unknown error";
}

const char *subproc_errname(int code) {
  switch (code) {
#define SUBPROC__NAME(name, value, text)                                       \
  case value:                                                                  \
    return "SUBPROC_" #name;
    SUBPROC_ERRNO_MAP(SUBPROC__NAME)
#undef SUBPROC__NAME
  case 0:
    return "OK";
  default:
    break;
  }
  /* Not a switch: some errno values are aliases (EAGAIN, ENOTSUP). */
#define SUBPROC__OSNAME(e)                                                     \
  if (code == -(e))                                                            \
    return #e;
  SUBPROC__OS_ERRNO_MAP(SUBPROC__OSNAME)
#undef SUBPROC__OSNAME
  return "UNKNOWN";
}

void subproc__error_clear(subproc_error *err) {
  if (!err)
    return;
  memset(err, 0, sizeof *err);
  err->fd = -1;
  err->step = "";
  err->returncode = SUBPROC_NO_RETURNCODE;
}

static void fill(subproc_error *err, int code, int os_errno, const char *step,
                 const char *path, int fd) {
  subproc__error_clear(err);
  err->code = code;
  err->os_errno = os_errno;
  err->step = step ? step : "";
  err->fd = fd;
  if (path)
    snprintf(err->path, sizeof err->path, "%s", path);
}

int subproc__fail(subproc_error *err, int code, int os_errno, const char *step,
                  const char *path, int fd, const char *fmt, ...) {
  if (!err)
    return code;
  fill(err, code, os_errno, step, path, fd);
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return code;
  }
  const char *why = os_errno ? strerror(os_errno) : subproc_strerror(code);
  if (path)
    snprintf(err->message, sizeof err->message, "%s '%s': %s", step, path, why);
  else if (fd >= 0)
    snprintf(err->message, sizeof err->message, "%s (fd %d): %s", step, fd,
             why);
  else
    snprintf(err->message, sizeof err->message, "%s: %s", step, why);
  return code;
}

int subproc__fail_os(subproc_error *err, int os_errno, const char *step,
                     const char *path, int fd) {
  return subproc__fail(err, -os_errno, os_errno, step, path, fd, NULL);
}

double subproc__deadline(double timeout) {
  return timeout < 0 ? -1.0 : subproc__now() + timeout;
}

int subproc__ms_left(double deadline) {
  if (deadline < 0)
    return -1;
  double left = deadline - subproc__now();
  if (left <= 0)
    return 0;
  /* Round up so a poll never returns just before the deadline. */
  double ms = left * 1000.0 + 0.999;
  return ms > 2147483647.0 ? 2147483647 : (int)ms;
}

int subproc__ms_left2(double a, double b) {
  int x = subproc__ms_left(a), y = subproc__ms_left(b);
  if (x < 0)
    return y;
  if (y < 0)
    return x;
  return x < y ? x : y;
}
