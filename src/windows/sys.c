/* UTF-8 <-> UTF-16, Windows error codes, CRT fds, the clock and the test
 * knobs for the Windows backend. */
#include "win.h"

#include <errno.h>
#include <io.h>
#include <stdlib.h>

wchar_t *subproc__to_wide(const char *s) {
  int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
  if (n <= 0)
    return NULL;
  wchar_t *w = malloc((size_t)n * sizeof *w);
  if (w &&
      MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n) != n) {
    free(w);
    return NULL;
  }
  return w;
}

char *subproc__to_utf8(const wchar_t *w) {
  int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
  if (n <= 0)
    return NULL;
  char *s = malloc((size_t)n);
  if (s && WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL) != n) {
    free(s);
    return NULL;
  }
  return s;
}

static const struct {
  DWORD winerr;
  int err;
} errnos[] = {
    {ERROR_FILE_NOT_FOUND, ENOENT},
    {ERROR_PATH_NOT_FOUND, ENOENT},
    {ERROR_INVALID_DRIVE, ENOENT},
    {ERROR_BAD_NETPATH, ENOENT},
    {ERROR_BAD_PATHNAME, ENOENT},
    {ERROR_MOD_NOT_FOUND, ENOENT},
    {ERROR_ACCESS_DENIED, EACCES},
    {ERROR_SHARING_VIOLATION, EACCES},
    {ERROR_LOCK_VIOLATION, EACCES},
    {ERROR_INVALID_HANDLE, EBADF},
    {ERROR_NOT_ENOUGH_MEMORY, ENOMEM},
    {ERROR_OUTOFMEMORY, ENOMEM},
    {ERROR_COMMITMENT_LIMIT, ENOMEM},
    {ERROR_TOO_MANY_OPEN_FILES, EMFILE},
    {ERROR_BROKEN_PIPE, EPIPE},
    {ERROR_NO_DATA, EPIPE},
    {ERROR_PIPE_NOT_CONNECTED, EPIPE},
    {ERROR_BAD_EXE_FORMAT, ENOEXEC},
    {ERROR_EXE_MACHINE_TYPE_MISMATCH, ENOEXEC},
    {ERROR_BAD_FORMAT, ENOEXEC},
    {ERROR_DIRECTORY, ENOTDIR},
    {ERROR_FILENAME_EXCED_RANGE, ENAMETOOLONG},
    {ERROR_FILE_EXISTS, EEXIST},
    {ERROR_ALREADY_EXISTS, EEXIST},
    {ERROR_DISK_FULL, ENOSPC},
    {ERROR_HANDLE_DISK_FULL, ENOSPC},
    {ERROR_WAIT_NO_CHILDREN, ECHILD},
    {ERROR_TIMEOUT, ETIMEDOUT},
    {ERROR_NOT_SUPPORTED, ENOSYS},
    {ERROR_CALL_NOT_IMPLEMENTED, ENOSYS},
};

int subproc__errno_of(DWORD winerr) {
  for (size_t i = 0; i < sizeof errnos / sizeof *errnos; i++)
    if (errnos[i].winerr == winerr)
      return errnos[i].err;
  return EINVAL;
}

/* The system's text for winerr in UTF-8, without the trailing newline. */
static void win_message(DWORD winerr, char *out, size_t size) {
  wchar_t w[512];
  DWORD n =
      FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
                     NULL, winerr, 0, w, sizeof w / sizeof *w, NULL);
  while (n > 0 && (w[n - 1] == L'\r' || w[n - 1] == L'\n' || w[n - 1] == L'.'))
    n--;
  w[n] = L'\0';
  out[0] = '\0';
  if (n == 0 ||
      WideCharToMultiByte(CP_UTF8, 0, w, -1, out, (int)size, NULL, NULL) <= 0)
    snprintf(out, size, "Windows error %lu", (unsigned long)winerr);
}

/* name is shown in the message; path (the caller's string, or NULL) is
 * what err->path points at. */
static int fail_win(subproc_error *err, DWORD winerr, const char *step,
                    const char *path, const char *name) {
  int e = subproc__errno_of(winerr);
  if (!err)
    return -e;
  char why[512];
  win_message(winerr, why, sizeof why);
  if (name)
    return subproc__fail(err, -e, e, step, path, -1,
                         "%s '%s': %s [WinError %lu]", step, name, why,
                         (unsigned long)winerr);
  return subproc__fail(err, -e, e, step, NULL, -1, "%s: %s [WinError %lu]",
                       step, why, (unsigned long)winerr);
}

int subproc__fail_win(subproc_error *err, DWORD winerr, const char *step,
                      const char *path) {
  return fail_win(err, winerr, step, path, path);
}

int subproc__fail_win_named(subproc_error *err, DWORD winerr, const char *step,
                            const char *name) {
  return fail_win(err, winerr, step, NULL, name);
}

HANDLE subproc__win_handle(int fd) {
  intptr_t h = fd >= 0 ? _get_osfhandle(fd) : -1;
  return h == -1 || h == -2 ? INVALID_HANDLE_VALUE : (HANDLE)h;
}

/* No clock_gettime in the Windows C runtimes (mingw's needs winpthread). */
double subproc__now(void) {
  LARGE_INTEGER count, freq;
  QueryPerformanceCounter(&count);
  QueryPerformanceFrequency(&freq);
  return (double)count.QuadPart / (double)freq.QuadPart;
}

void subproc__os_yield(void) { SwitchToThread(); }

int subproc__os_cpu_count(void) {
  SYSTEM_INFO si;
  GetSystemInfo(&si);
  return si.dwNumberOfProcessors ? (int)si.dwNumberOfProcessors : 1;
}

static volatile LONG test_flags;
void subproc__set_test_flags(int flags) {
  InterlockedExchange(&test_flags, flags);
}
int subproc__test_flags(void) {
  return (int)InterlockedCompareExchange(&test_flags, 0, 0);
}

int subproc__test_vm_shared(void) { return 1; }

int subproc__test_clone_into_built(void) { return 0; }
