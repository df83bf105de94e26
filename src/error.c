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
  X(E2BIG)                                                                     \
  X(ENOEXEC) X(EBADF) X(ECHILD) X(EAGAIN) X(ENOMEM) X(EACCES) X(EFAULT)        \
      X(EBUSY) X(EEXIST) X(EXDEV) X(ENODEV) X(ENOTDIR) X(EISDIR) X(EINVAL)     \
          X(ENFILE) X(EMFILE) X(ETXTBSY) X(EFBIG) X(ENOSPC) X(ESPIPE) X(EROFS) \
              X(EMLINK) X(EPIPE) X(ERANGE) X(ENAMETOOLONG) X(ENOSYS) X(ELOOP)  \
                  X(ETIMEDOUT) X(ENOTSUP) X(EILSEQ) X(EOVERFLOW)

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

static const char *const step_names[] = {
#define SUBPROC__STEP_NAME(name, text) text,
    SUBPROC_STEP_MAP(SUBPROC__STEP_NAME)
#undef SUBPROC__STEP_NAME
};
#define N_STEPS (sizeof step_names / sizeof step_names[0])

const char *subproc_step_name(subproc_step step) {
  return (size_t)step < N_STEPS ? step_names[step] : "other";
}

/* The library names steps as strings internally; the error carries the
 * enum. An unknown name (a new step not yet in SUBPROC_STEP_MAP) is
 * SUBPROC_STEP_OTHER, which tests/test_errors.c catches. */
subproc_step subproc__step_of(const char *name) {
  if (!name || !*name)
    return SUBPROC_STEP_NONE;
  for (size_t i = 1; i < N_STEPS; i++)
    if (strcmp(step_names[i], name) == 0)
      return (subproc_step)i;
  return SUBPROC_STEP_OTHER;
}

void subproc__error_clear(subproc_error *err) {
  if (!err)
    return;
  memset(err, 0, sizeof *err);
  err->fd = -1;
  err->returncode = SUBPROC_NO_RETURNCODE;
}

static void fill(subproc_error *err, int code, int os_errno, const char *step,
                 const char *path, int fd) {
  subproc__error_clear(err);
  err->code = code;
  err->os_errno = os_errno;
  err->step = subproc__step_of(step);
  err->fd = fd;
  err->path = path;
}

/* A message that did not fit ends in "...". */
static void mark_cut(subproc_error *err, int needed) {
  size_t size = sizeof err->message;
  if (needed >= (int)size)
    memcpy(err->message + size - 4, "...", 4);
}

static void standard_message(subproc_error *err, int code, int os_errno,
                             const char *step, const char *name, int fd) {
  const char *why = os_errno ? strerror(os_errno) : subproc_strerror(code);
  size_t size = sizeof err->message;
  int n = name ? snprintf(err->message, size, "%s '%s': %s", step, name, why)
          : fd >= 0
              ? snprintf(err->message, size, "%s (fd %d): %s", step, fd, why)
              : snprintf(err->message, size, "%s: %s", step, why);
  mark_cut(err, n);
}

int subproc__fail(subproc_error *err, int code, int os_errno, const char *step,
                  const char *path, int fd, const char *fmt, ...) {
  if (!err)
    return code;
  fill(err, code, os_errno, step, path, fd);
  if (!fmt) {
    standard_message(err, code, os_errno, step, path, fd);
    return code;
  }
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(err->message, sizeof err->message, fmt, ap);
  va_end(ap);
  mark_cut(err, n);
  return code;
}

int subproc__fail_os(subproc_error *err, int os_errno, const char *step,
                     const char *path, int fd) {
  return subproc__fail(err, -os_errno, os_errno, step, path, fd, NULL);
}

int subproc__fail_os_named(subproc_error *err, int os_errno, const char *step,
                           const char *name, int fd) {
  if (!err)
    return -os_errno;
  fill(err, -os_errno, os_errno, step, NULL, fd);
  standard_message(err, -os_errno, os_errno, step, name, fd);
  return -os_errno;
}

/* The one rule: 0 = no limit, negative = already passed (look once). */
double subproc__deadline(double timeout) {
  if (timeout == 0)
    return -1.0;
  return timeout < 0 ? 0.0 : subproc__now() + timeout;
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
