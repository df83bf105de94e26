/* Children get synchronous standard handles. Many programs misbehave on a
 * pipe opened for overlapped I/O, which is what the parent's ends of our
 * pipes are; handing one to another child (a pipeline stage's stdin is the
 * previous stage's stdout) goes through a synchronous pipe instead, with a
 * thread of this process copying between the two. */
#include "win.h"

#include <stdlib.h>
#include <winternl.h>

#define RELAY_CHUNK (64 * 1024)
#define FILE_MODE_INFORMATION_CLASS 16 /* FileModeInformation */
#define SYNCHRONOUS_IO (0x10 | 0x20)   /* FILE_SYNCHRONOUS_IO_[NON]ALERT */

typedef NTSTATUS(NTAPI *query_file_fn)(HANDLE, PIO_STATUS_BLOCK, PVOID, ULONG,
                                       FILE_INFORMATION_CLASS);

static query_file_fn query_file(void) {
  static query_file_fn fn;
  if (!fn) {
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    if (ntdll)
      fn = (query_file_fn)(void (*)(void))GetProcAddress(
          ntdll, "NtQueryInformationFile");
  }
  return fn;
}

int subproc__relay_needed(HANDLE h) {
  query_file_fn fn = query_file();
  if (!fn || GetFileType(h) != FILE_TYPE_PIPE)
    return 0;
  IO_STATUS_BLOCK io;
  ULONG mode = 0;
  if (fn(h, &io, &mode, sizeof mode,
         (FILE_INFORMATION_CLASS)FILE_MODE_INFORMATION_CLASS) < 0)
    return 0;
  return (mode & SYNCHRONOUS_IO) == 0;
}

int subproc__relay_prepare(subproc__relay *r, HANDLE h, int child_reads,
                           HANDLE *child_end, subproc_error *err) {
  HANDLE rd, wr, dup;
  if (!DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), &dup, 0,
                       FALSE, DUPLICATE_SAME_ACCESS))
    return subproc__fail_win(err, GetLastError(), "pipe", NULL);
  if (!CreatePipe(&rd, &wr, NULL, 0)) {
    DWORD e = GetLastError();
    CloseHandle(dup);
    return subproc__fail_win(err, e, "pipe", NULL);
  }
  r->from = child_reads ? dup : rd;
  r->to = child_reads ? wr : dup;
  *child_end = child_reads ? rd : wr;
  return 0;
}

static int write_all(HANDLE h, const char *p, DWORD n) {
  while (n > 0) {
    DWORD w = 0;
    if (!WriteFile(h, p, n, &w, NULL))
      return -1;
    p += w;
    n -= w;
  }
  return 0;
}

/* Until either side closes. Only this thread uses its handles, so plain
 * reads and writes are safe on the overlapped one. */
static DWORD WINAPI relay_main(void *arg) {
  subproc__relay r = *(subproc__relay *)arg;
  free(arg);
  char *buf = malloc(RELAY_CHUNK);
  DWORD n;
  while (buf && ReadFile(r.from, buf, RELAY_CHUNK, &n, NULL))
    if (write_all(r.to, buf, n) < 0)
      break;
  free(buf);
  CloseHandle(r.from);
  CloseHandle(r.to);
  return 0;
}

void subproc__relay_start(subproc__relay *r) {
  subproc__relay *copy = malloc(sizeof *copy);
  HANDLE t = NULL;
  if (copy) {
    *copy = *r;
    t = CreateThread(NULL, 64 * 1024, relay_main, copy,
                     STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
  }
  if (t) {
    CloseHandle(t);
  } else {
    free(copy);
    subproc__relay_discard(r); /* the child sees EOF or a broken pipe */
  }
  r->from = r->to = NULL;
}

void subproc__relay_discard(subproc__relay *r) {
  if (r->from)
    CloseHandle(r->from);
  if (r->to)
    CloseHandle(r->to);
  r->from = r->to = NULL;
}
