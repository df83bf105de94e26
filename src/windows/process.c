/* The Popen object on Windows: waiting, termination, streams, release. */
#include "windows.h"

#define PSAPI_VERSION 2 /* GetProcessMemoryInfo from kernel32 */
#include <psapi.h>

#include <errno.h>
#include <io.h>
#include <stdlib.h>
#include <string.h>

static void orphans_reap(void);

static int popen_impl(const char *const *argv, int verbatim,
                      const subproc_options *opts, subproc **out,
                      subproc_error *err) {
  static const subproc_options defaults;
  const subproc_options *o = opts ? opts : &defaults;
  if (!out)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "args", NULL, -1,
                         "popen: out is NULL");
  *out = NULL;
  orphans_reap();
  subproc *p = calloc(1, sizeof *p);
  if (!p)
    return subproc__fail_os(err, ENOMEM, "popen", NULL, -1);
  p->returncode = SUBPROC_NO_RETURNCODE;
  for (int i = 0; i < 3; i++)
    p->fds[i] = -1;
  int rc = subproc__comm_opts_init(&p->cs.opts, o, err);
  if (rc == 0)
    rc = subproc__spawn(p, argv, verbatim, o, err);
  if (rc < 0) {
    subproc__comm_opts_free(&p->cs.opts);
    free(p);
    return rc;
  }
  *out = p;
  return 0;
}

int subproc_popen(const char *const *argv, const subproc_options *opts,
                  subproc **out, subproc_error *err) {
  return popen_impl(argv, 0, opts, out, err);
}

/* The string is the command line itself, given to CreateProcess (or to
 * cmd.exe with shell) unchanged, as Python does on Windows. */
int subproc_popen_cmd(const char *cmd, const subproc_options *opts,
                      subproc **out, subproc_error *err) {
  const char *argv[] = {cmd, NULL};
  return popen_impl(argv, 1, opts, out, err);
}

/* ------------------------------------------------------------------ */
/* Waiting                                                             */
/* ------------------------------------------------------------------ */

static double filetime_s(FILETIME ft) {
  ULARGE_INTEGER u;
  u.LowPart = ft.dwLowDateTime;
  u.HighPart = ft.dwHighDateTime;
  return (double)u.QuadPart / 1e7;
}

static void collect(subproc *p) {
  DWORD code = 0;
  GetExitCodeProcess(p->process, &code);
  p->returncode = (int)code; /* a DWORD: NTSTATUS codes read as negative */
  p->end_time = subproc__now();
  FILETIME created, exited, kernel, user;
  if (GetProcessTimes(p->process, &created, &exited, &kernel, &user)) {
    p->user_s = filetime_s(user);
    p->system_s = filetime_s(kernel);
  }
  PROCESS_MEMORY_COUNTERS pmc;
  memset(&pmc, 0, sizeof pmc);
  if (GetProcessMemoryInfo(p->process, &pmc, sizeof pmc))
    p->max_rss_kb = (long)(pmc.PeakWorkingSetSize / 1024);
}

int subproc__reap(subproc *p, int block) {
  if (p->returncode != SUBPROC_NO_RETURNCODE)
    return 1;
  DWORD r = WaitForSingleObject(p->process, block ? INFINITE : 0);
  if (r == WAIT_TIMEOUT)
    return 0;
  if (r != WAIT_OBJECT_0)
    return -subproc__errno_of(GetLastError());
  collect(p);
  return 1;
}

int subproc_poll(subproc *p, int *returncode) {
  if (!p)
    return SUBPROC_EINVAL;
  int rc = subproc__reap(p, 0);
  if (rc == 1 && returncode)
    *returncode = p->returncode;
  return rc;
}

/* A wait of at most this many ms; INFINITE for a negative value. */
static DWORD wait_ms(int ms) { return ms < 0 ? INFINITE : (DWORD)ms; }

int subproc__wait_until(subproc *p, double deadline) {
  for (;;) {
    if (p->returncode != SUBPROC_NO_RETURNCODE)
      return 1;
    DWORD r =
        WaitForSingleObject(p->process, wait_ms(subproc__ms_left(deadline)));
    if (r == WAIT_OBJECT_0)
      return subproc__reap(p, 0);
    if (r != WAIT_TIMEOUT)
      return -subproc__errno_of(GetLastError());
    if (subproc__ms_left(deadline) == 0)
      return 0;
  }
}

int subproc_wait(subproc *p, double timeout, int *returncode,
                 subproc_error *err) {
  if (!p)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "wait", NULL, -1,
                         "wait: NULL process");
  double deadline = timeout < 0 ? -1.0 : subproc__now() + timeout;
  int rc = subproc__wait_until(p, deadline);
  if (rc < 0)
    return subproc__fail_os(err, -rc, "wait", NULL, -1);
  if (rc == 0) {
    subproc__fail(err, SUBPROC_ETIMEDOUT, 0, "wait", p->args[0], -1,
                  "Command '%s' timed out after %g seconds", p->args[0],
                  timeout);
    if (err)
      err->timeout = timeout;
    return SUBPROC_ETIMEDOUT;
  }
  if (returncode)
    *returncode = p->returncode;
  return 0;
}

/* ------------------------------------------------------------------ */
/* Termination and console events                                      */
/* ------------------------------------------------------------------ */

/* TerminateProcess(handle, 1), as Python's terminate(); a child that has
 * just exited by itself is not an error. */
static int terminate_process(subproc *p) {
  if (TerminateProcess(p->process, 1))
    return 0;
  DWORD e = GetLastError();
  if (subproc__reap(p, 0) == 1)
    return 0;
  return -subproc__errno_of(e);
}

static int console_event(DWORD pid, int sig) {
  if (!GenerateConsoleCtrlEvent((DWORD)sig, pid))
    return -subproc__errno_of(GetLastError());
  return 0;
}

/* SIGTERM and SIGKILL terminate; CTRL_C_EVENT and CTRL_BREAK_EVENT go to
 * the console process group the child leads (CREATE_NEW_PROCESS_GROUP). */
int subproc_send_signal(subproc *p, int sig) {
  if (!p)
    return SUBPROC_EINVAL;
  int rc = subproc__reap(p, 0);
  if (rc != 0)
    return rc < 0 ? rc : 0;
  if (sig == SIGTERM || sig == SIGKILL)
    return terminate_process(p);
  if (sig == SUBPROC_CTRL_C_EVENT || sig == SUBPROC_CTRL_BREAK_EVENT)
    return console_event(p->pid, sig);
  return SUBPROC_EINVAL;
}

int subproc_terminate(subproc *p) { return subproc_send_signal(p, SIGTERM); }
int subproc_kill(subproc *p) { return subproc_send_signal(p, SIGKILL); }

/* The group is the child's job (kill_tree): it outlives the child while
 * grandchildren remain, as a POSIX process group does. */
int subproc_send_signal_group(subproc *p, int sig) {
  if (!p || (!p->job && !p->new_group))
    return SUBPROC_EINVAL;
  if (sig == SIGTERM || sig == SIGKILL) {
    if (!p->job)
      return subproc_send_signal(p, sig);
    if (!TerminateJobObject(p->job, 1))
      return -subproc__errno_of(GetLastError());
    return 0;
  }
  if (sig == SUBPROC_CTRL_C_EVENT || sig == SUBPROC_CTRL_BREAK_EVENT)
    return p->new_group ? console_event(p->pid, sig) : SUBPROC_EINVAL;
  return SUBPROC_EINVAL;
}

/* ------------------------------------------------------------------ */
/* Accessors                                                           */
/* ------------------------------------------------------------------ */

subproc__comm_state *subproc__comm_state_of(subproc *p) { return &p->cs; }

int subproc__status(const subproc *p, subproc_result *r) {
  int done = p->returncode != SUBPROC_NO_RETURNCODE;
  r->returncode = p->returncode;
  r->pid = (long)p->pid;
  r->duration_s = (done ? p->end_time : subproc__now()) - p->start_time;
  if (done) {
    r->user_s = p->user_s;
    r->system_s = p->system_s;
    r->max_rss_kb = p->max_rss_kb;
  }
  r->args =
      (const char *const *)subproc__argv_dup((const char *const *)p->args);
  return r->args ? 0 : -ENOMEM;
}

long subproc_pid(const subproc *p) { return p ? (long)p->pid : -1; }
int subproc_returncode(const subproc *p) {
  return p ? p->returncode : SUBPROC_NO_RETURNCODE;
}
const char *const *subproc_args(const subproc *p) {
  return p ? (const char *const *)p->args : NULL;
}
/* CreateProcess is the only method there is. */
subproc_spawn_method subproc_method(const subproc *p) {
  (void)p;
  return SUBPROC_SPAWN_AUTO;
}

int subproc_fd(const subproc *p, int stream) {
  if (!p || stream < 0 || stream > 2)
    return -1;
  return p->streams[stream] ? _fileno(p->streams[stream]) : p->fds[stream];
}

HANDLE subproc__pipe_handle(const subproc *p, int i) {
  int fd = subproc_fd(p, i);
  return fd < 0 ? INVALID_HANDLE_VALUE : (HANDLE)_get_osfhandle(fd);
}

/* ------------------------------------------------------------------ */
/* Streams                                                             */
/* ------------------------------------------------------------------ */

FILE *subproc_stream(subproc *p, int stream) {
  if (!p || stream < 0 || stream > 2)
    return NULL;
  if (p->streams[stream] || p->fds[stream] < 0)
    return p->streams[stream];
  FILE *f = subproc__open_stream(p->fds[stream], stream == 0 ? "wb" : "rb",
                                 &p->cs.opts);
  if (!f)
    return NULL;
  p->streams[stream] = f;
  p->fds[stream] = -1; /* now owned by the FILE */
  return f;
}

int subproc_close_stream(subproc *p, int stream) {
  if (!p || stream < 0 || stream > 2)
    return SUBPROC_EINVAL;
  int rc = 0;
  if (p->streams[stream]) {
    errno = 0;
    int r = fclose(p->streams[stream]);
    int e = errno;
    /* A child that stopped reading is not an error (Python ignores
     * BrokenPipeError on close too). */
    if (r != 0 && e != EPIPE)
      rc = -e;
    p->streams[stream] = NULL;
  } else if (p->fds[stream] >= 0) {
    _close(p->fds[stream]);
    p->fds[stream] = -1;
  }
  return rc;
}

int subproc_close(subproc *p, int *returncode) {
  if (!p)
    return SUBPROC_EINVAL;
  subproc_close_stream(p, 1);
  subproc_close_stream(p, 2);
  subproc_close_stream(p, 0);
  int rc = subproc__reap(p, 1);
  if (rc < 0)
    return rc;
  if (returncode)
    *returncode = p->returncode;
  return 0;
}

/* ------------------------------------------------------------------ */
/* Release and orphans                                                 */
/* ------------------------------------------------------------------ */

/* Children freed while running: their handles (and job, which would kill
 * the tree if closed now) are kept until they exit. */
typedef struct orphan {
  HANDLE process, job;
} orphan;

static SRWLOCK orphans_lock = SRWLOCK_INIT;
static orphan *orphans;
static size_t n_orphans, cap_orphans;

static void orphan_release(orphan o) {
  CloseHandle(o.process);
  if (o.job)
    CloseHandle(o.job);
}

static void orphans_reap_locked(void) {
  size_t keep = 0;
  for (size_t i = 0; i < n_orphans; i++) {
    if (WaitForSingleObject(orphans[i].process, 0) == WAIT_TIMEOUT)
      orphans[keep++] = orphans[i];
    else
      orphan_release(orphans[i]);
  }
  n_orphans = keep;
}

static void orphans_reap(void) {
  /* Never make a spawn wait behind another thread's bookkeeping. */
  if (!TryAcquireSRWLockExclusive(&orphans_lock))
    return;
  if (n_orphans)
    orphans_reap_locked();
  ReleaseSRWLockExclusive(&orphans_lock);
}

int subproc_reap_orphans(void) {
  AcquireSRWLockExclusive(&orphans_lock);
  orphans_reap_locked();
  int n = (int)n_orphans;
  ReleaseSRWLockExclusive(&orphans_lock);
  return n;
}

static void orphans_add(orphan o) {
  AcquireSRWLockExclusive(&orphans_lock);
  if (n_orphans == cap_orphans) {
    size_t cap = cap_orphans ? cap_orphans * 2 : 16;
    orphan *grown = realloc(orphans, cap * sizeof *grown);
    if (grown) {
      orphans = grown;
      cap_orphans = cap;
    }
  }
  if (n_orphans < cap_orphans)
    orphans[n_orphans++] = o;
  else
    orphan_release(o); /* no memory: closing beats leaking */
  ReleaseSRWLockExclusive(&orphans_lock);
}

void subproc_free(subproc *p) {
  if (!p)
    return;
  for (int i = 0; i < 3; i++)
    subproc_close_stream(p, i);
  orphan o = {p->process, p->job};
  if (subproc__reap(p, 0) == 0)
    orphans_add(o);
  else
    orphan_release(o);
  subproc__comm_free(p->cs.comm);
  subproc__comm_opts_free(&p->cs.opts);
  free(p->args);
  free(p);
  orphans_reap();
}

/* ------------------------------------------------------------------ */
/* wait_any                                                            */
/* ------------------------------------------------------------------ */

/* The first child of procs[from..from+n) that has exited, by a wait of at
 * most ms: 1 with *index set, 0 if none, <0 on error. */
static int wait_some(subproc *const *procs, size_t from, size_t n, DWORD ms,
                     size_t *index) {
  HANDLE h[MAXIMUM_WAIT_OBJECTS];
  size_t at[MAXIMUM_WAIT_OBJECTS];
  DWORD k = 0;
  for (size_t i = from; i < from + n; i++)
    if (procs[i]) {
      h[k] = procs[i]->process;
      at[k++] = i;
    }
  if (k == 0) {
    Sleep(ms == INFINITE ? 10 : ms);
    return 0;
  }
  DWORD r = WaitForMultipleObjects(k, h, FALSE, ms);
  if (r == WAIT_TIMEOUT)
    return 0;
  if (r >= WAIT_OBJECT_0 + k)
    return -subproc__errno_of(GetLastError());
  *index = at[r - WAIT_OBJECT_0];
  int rc = subproc__reap(procs[*index], 0);
  return rc < 0 ? rc : 1;
}

int subproc_wait_any(subproc *const *procs, size_t n, double timeout,
                     size_t *index, subproc_error *err) {
  if (!procs || !n || !index)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "wait", NULL, -1,
                         "wait_any: no processes");
  double deadline = timeout < 0 ? -1.0 : subproc__now() + timeout;
  int rc = 0;
  while (rc == 0) {
    /* More than MAXIMUM_WAIT_OBJECTS children: look at every batch, then
     * block on the first one for a short while. */
    for (size_t from = MAXIMUM_WAIT_OBJECTS; rc == 0 && from < n;
         from += MAXIMUM_WAIT_OBJECTS) {
      size_t len =
          n - from < MAXIMUM_WAIT_OBJECTS ? n - from : MAXIMUM_WAIT_OBJECTS;
      rc = wait_some(procs, from, len, 0, index);
    }
    if (rc != 0)
      break;
    int ms = subproc__ms_left(deadline);
    if (n > MAXIMUM_WAIT_OBJECTS && (ms < 0 || ms > 10))
      ms = 10;
    size_t len = n < MAXIMUM_WAIT_OBJECTS ? n : MAXIMUM_WAIT_OBJECTS;
    rc = wait_some(procs, 0, len, wait_ms(ms), index);
    if (rc == 0 && deadline >= 0 && subproc__ms_left(deadline) == 0)
      rc = SUBPROC_ETIMEDOUT;
  }
  if (rc == SUBPROC_ETIMEDOUT)
    return subproc__fail(err, rc, 0, "wait", NULL, -1,
                         "wait_any: timed out after %g seconds", timeout);
  if (rc < 0)
    return subproc__fail_os(err, -rc, "wait", NULL, -1);
  return 0;
}
