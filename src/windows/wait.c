/* A child's OS part on Windows: its process handle (held until release,
 * so the pid is never reused under us), waiting, termination, console
 * events, the job of kill_tree, and the status text. Seeing the exit and
 * collecting it are one wait here: an exited process stays a handle. */
#include "win.h"

#define PSAPI_VERSION 2 /* GetProcessMemoryInfo from kernel32 */
#include <psapi.h>

#include <errno.h>
#include <string.h>

static HANDLE process_of(const subproc__os *os) { return (HANDLE)os->handle; }

/* A wait of at most ms; INFINITE for a negative value. */
static DWORD wait_ms(int ms) { return ms < 0 ? INFINITE : (DWORD)ms; }

/* ------------------------------------------------------------------ */
/* Statuses                                                            */
/* ------------------------------------------------------------------ */

static double filetime_s(FILETIME ft) {
  ULARGE_INTEGER u;
  u.LowPart = ft.dwLowDateTime;
  u.HighPart = ft.dwHighDateTime;
  return (double)u.QuadPart / 1e7;
}

static void collect(HANDLE h, subproc__exit *ex) {
  memset(ex, 0, sizeof *ex);
  DWORD code = 0;
  GetExitCodeProcess(h, &code);
  ex->returncode = (int)code; /* a DWORD: NTSTATUS codes read as negative */
  ex->raw_status = (int)code;
  FILETIME created, exited, kernel, user;
  if (GetProcessTimes(h, &created, &exited, &kernel, &user)) {
    ex->user_s = filetime_s(user);
    ex->system_s = filetime_s(kernel);
  }
  PROCESS_MEMORY_COUNTERS pmc;
  memset(&pmc, 0, sizeof pmc);
  if (GetProcessMemoryInfo(h, &pmc, sizeof pmc))
    ex->max_rss_kb = (long)(pmc.PeakWorkingSetSize / 1024);
}

void subproc__os_status_text(int returncode, char *buf, size_t size) {
  /* No signals: the status is a DWORD (0xC0000005 reads as negative). */
  snprintf(buf, size, "returned non-zero exit status %u", (unsigned)returncode);
}

/* ------------------------------------------------------------------ */
/* Waiting                                                             */
/* ------------------------------------------------------------------ */

int subproc__os_wait(subproc__os *os, double deadline, int reap,
                     subproc__exit *ex) {
  for (;;) {
    int ms = subproc__ms_left(deadline);
    DWORD r = WaitForSingleObject(process_of(os), wait_ms(ms));
    if (r == WAIT_OBJECT_0) {
      if (reap && ex)
        collect(process_of(os), ex);
      return 1;
    }
    if (r != WAIT_TIMEOUT)
      return -subproc__errno_of(GetLastError());
    if (ms == 0 || subproc__ms_left(deadline) == 0)
      return 0;
  }
}

/* The first child of os[from..from+n) seen to exit within ms: 1 with
 * *index set, 0 if none, <0 on error. */
static int wait_batch(subproc__os *const *os, size_t from, size_t n, DWORD ms,
                      size_t *index) {
  HANDLE h[MAXIMUM_WAIT_OBJECTS];
  for (size_t i = 0; i < n; i++)
    h[i] = process_of(os[from + i]);
  DWORD r = WaitForMultipleObjects((DWORD)n, h, FALSE, ms);
  if (r == WAIT_TIMEOUT)
    return 0;
  if (r >= WAIT_OBJECT_0 + n)
    return -subproc__errno_of(GetLastError());
  *index = from + (r - WAIT_OBJECT_0);
  return 1;
}

static size_t batch_len(size_t n, size_t from) {
  return n - from < MAXIMUM_WAIT_OBJECTS ? n - from : MAXIMUM_WAIT_OBJECTS;
}

/* More than MAXIMUM_WAIT_OBJECTS children: every other batch is looked at,
 * then the first one is waited on for a short while. */
int subproc__os_wait_any(subproc__os *const *os, size_t n, double deadline,
                         size_t *index) {
  for (;;) {
    int rc = 0;
    for (size_t from = MAXIMUM_WAIT_OBJECTS; rc == 0 && from < n;
         from += MAXIMUM_WAIT_OBJECTS)
      rc = wait_batch(os, from, batch_len(n, from), 0, index);
    if (rc != 0)
      return rc;
    int ms = subproc__ms_left(deadline);
    if (n > MAXIMUM_WAIT_OBJECTS && (ms < 0 || ms > 10))
      ms = 10;
    rc = wait_batch(os, 0, batch_len(n, 0), wait_ms(ms), index);
    if (rc != 0 || subproc__ms_left(deadline) == 0)
      return rc;
  }
}

/* ------------------------------------------------------------------ */
/* Termination and console events                                      */
/* ------------------------------------------------------------------ */

/* TerminateProcess(handle, 1), as Python's terminate(); a child that has
 * just exited by itself is not an error. */
static int terminate_process(subproc__os *os) {
  if (TerminateProcess(process_of(os), 1))
    return 0;
  DWORD e = GetLastError();
  if (WaitForSingleObject(process_of(os), 0) == WAIT_OBJECT_0)
    return 0;
  return -subproc__errno_of(e);
}

static int console_event(long pid, int sig) {
  if (!GenerateConsoleCtrlEvent((DWORD)sig, (DWORD)pid))
    return -subproc__errno_of(GetLastError());
  return 0;
}

static int is_console_event(int sig) {
  return sig == SUBPROC_CTRL_C_EVENT || sig == SUBPROC_CTRL_BREAK_EVENT;
}

/* SIGTERM and SIGKILL terminate; CTRL_C_EVENT and CTRL_BREAK_EVENT go to
 * the console process group the child leads (CREATE_NEW_PROCESS_GROUP). */
int subproc__os_signal(subproc__os *os, int sig) {
  if (sig == SIGTERM || sig == SIGKILL)
    return terminate_process(os);
  if (is_console_event(sig))
    return console_event(os->pid, sig);
  return SUBPROC_EINVAL;
}

/* The group is the child's job (kill_tree): it outlives the child while
 * grandchildren remain, as a POSIX process group does. */
int subproc__os_signal_group(subproc__os *os, int sig) {
  if (sig == SIGTERM || sig == SIGKILL) {
    if (!os->job)
      return terminate_process(os);
    if (!TerminateJobObject((HANDLE)os->job, 1))
      return -subproc__errno_of(GetLastError());
    return 0;
  }
  if (is_console_event(sig) && (os->flags & SUBPROC__WIN_NEW_GROUP))
    return console_event(os->pid, sig);
  return SUBPROC_EINVAL;
}

/* No cgroups here (the options are refused). */
int subproc__os_kill_cgroup(subproc__os *os) {
  (void)os;
  return 0;
}

/* An event loop waits on the process handle itself (no fds here). */
int subproc__os_exit_fd(const subproc__os *os) {
  (void)os;
  return -1;
}

void *subproc__os_exit_handle(const subproc__os *os) {
  return os->handle && os->handle != -1 ? (void *)os->handle : NULL;
}

/* Closing the kill-on-close job ends whatever is left in it. */
void subproc__os_release(subproc__os *os) {
  if (os->handle && os->handle != -1)
    CloseHandle(process_of(os));
  if (os->job)
    CloseHandle((HANDLE)os->job);
  os->handle = -1;
  os->job = 0;
}
