/* The Popen object, once for every platform: its state, the rules for
 * reaping and signalling, the accessors, the streams and the release of
 * children that are still running. The backend (os.h) spawns, waits and
 * signals on OS handles. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "process.h"
#include "testing.h"

/* Children freed while running are checked for at most this many per
 * spawn and per free (subproc_reap_orphans checks them all). */
#define ORPHAN_CHECKS 4

static void orphans_collect(size_t max);

/* ------------------------------------------------------------------ */
/* The lock: held only around non-blocking system calls               */
/* ------------------------------------------------------------------ */

static void spin_lock(atomic_flag *f) {
  for (unsigned spins = 0;
       atomic_flag_test_and_set_explicit(f, memory_order_acquire); spins++)
    if (spins >= 64)
      subproc__os_yield();
}

static void spin_unlock(atomic_flag *f) {
  atomic_flag_clear_explicit(f, memory_order_release);
}

static int state_of(const subproc *p) {
  return atomic_load_explicit(&((subproc *)p)->state, memory_order_acquire);
}

/* ------------------------------------------------------------------ */
/* Starting a child                                                    */
/* ------------------------------------------------------------------ */

int subproc__kill_tree_on(const subproc_options *o) {
  if (o->kill_tree == SUBPROC_KILL_TREE_AUTO)
    return o->start_new_session || o->set_process_group || o->foreground;
  return o->kill_tree == SUBPROC_KILL_TREE_ON;
}

static subproc *new_object(void) {
  subproc *p = calloc(1, sizeof *p);
  if (!p)
    return NULL;
  atomic_init(&p->returncode, SUBPROC_NO_RETURNCODE);
  atomic_init(&p->state, SUBPROC__RUNNING);
  atomic_flag_clear(&p->lock);
  p->os.handle = -1;
  p->cs.delay_deadline = -1.0;
  for (int i = 0; i < 3; i++)
    p->streams[i].fd = -1;
  return p;
}

static void free_object(subproc *p) {
  subproc__comm_free(p->cs.comm);
  subproc__comm_opts_free(&p->cs.opts);
  free(p->args);
  free(p);
}

static int spawn(subproc *p, const char *const *argv, int verbatim,
                 const subproc_options *o, subproc_error *err) {
  subproc__plan *plan = NULL;
  subproc__plan_info info;
  int rc = subproc__os_prepare(argv, verbatim, o, p->tree, &plan, &info, err);
  if (rc == 0)
    rc = subproc__audit(info.executable, info.argv, o->cwd, o->env, err);
  subproc__spawned out;
  p->start_time = subproc__now(); /* duration_s includes the spawn */
  if (rc == 0)
    rc = subproc__os_launch(plan, &p->os, &out, err);
  subproc__os_plan_free(plan);
  if (rc < 0)
    return rc;
  for (int i = 0; i < 3; i++)
    p->streams[i].fd = out.fds[i];
  p->args = out.args;
  p->method = out.method;
  return 0;
}

static int popen_impl(const char *const *argv, int verbatim,
                      const subproc_options *opts, subproc **out,
                      subproc_error *err) {
  static const subproc_options defaults;
  const subproc_options *o = opts ? opts : &defaults;
  if (!out)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "args", NULL, -1,
                         "popen: out is NULL");
  *out = NULL;
  orphans_collect(ORPHAN_CHECKS);
  int rc = subproc__options_validate(argv, o, err);
  if (rc < 0)
    return rc;
  subproc *p = new_object();
  if (!p)
    return subproc__fail_os(err, ENOMEM, "popen", NULL, -1);
  p->tree = subproc__kill_tree_on(o);
  rc = subproc__comm_opts_init(&p->cs.opts, o, err);
  if (rc == 0)
    rc = spawn(p, argv, verbatim, o, err);
  if (rc < 0) {
    free_object(p);
    return rc;
  }
  if (o->on_spawn)
    o->on_spawn(o->on_spawn_arg, p->os.pid);
  *out = p;
  return 0;
}

int subproc_popen(const char *const *argv, const subproc_options *opts,
                  subproc **out, subproc_error *err) {
  return popen_impl(argv, 0, opts, out, err);
}

/* The string is a program name, or with shell a command; on Windows it is
 * the command line itself, given to CreateProcess unchanged (Python). */
int subproc_popen_cmd(const char *cmd, const subproc_options *opts,
                      subproc **out, subproc_error *err) {
  const char *argv[] = {cmd, NULL};
  return popen_impl(argv, 1, opts, out, err);
}

/* ------------------------------------------------------------------ */
/* Reaping: under the lock, so that two threads never both reap        */
/* ------------------------------------------------------------------ */

static void set_reaped(subproc *p, int state) {
  p->end_time = subproc__now();
  if (state == SUBPROC__REAPED)
    atomic_store_explicit(&p->returncode, p->exit.returncode,
                          memory_order_release);
  atomic_store_explicit(&p->state, state, memory_order_release);
}

/* 1 reaped (now or before), 0 still running, <0 error. */
static int reap_locked(subproc *p) {
  int st = state_of(p);
  if (st != SUBPROC__RUNNING)
    return st == SUBPROC__LOST ? -ECHILD : 1;
  int rc = subproc__os_wait(&p->os, 0.0, 1, &p->exit);
  if (rc == 1)
    set_reaped(p, SUBPROC__REAPED);
  else if (rc == -ECHILD)
    set_reaped(p, SUBPROC__LOST);
  return rc;
}

static int reap_now(subproc *p) {
  spin_lock(&p->lock);
  int rc = reap_locked(p);
  spin_unlock(&p->lock);
  return rc;
}

int subproc__observe_exit(subproc *p, double deadline) {
  if (state_of(p) != SUBPROC__RUNNING)
    return 1;
  int rc = subproc__os_wait(&p->os, deadline, 0, NULL);
  return rc == -ECHILD ? 1 : rc;
}

/* Seen to exit outside the lock (other threads may signal meanwhile),
 * then reaped under it: two system calls for a blocking wait. */
int subproc__wait_until(subproc *p, double deadline) {
  for (;;) {
    int rc = subproc__observe_exit(p, deadline);
    if (rc <= 0)
      return rc;
    rc = reap_now(p);
    if (rc != 0)
      return rc;
  }
}

static int bad_timeout(subproc_error *err, const char *step, double t) {
  return subproc__fail(err, SUBPROC_EINVAL, 0, step, NULL, -1,
                       "%s: timeout %g is not a number", step, t);
}

int subproc_poll(subproc *p, int *returncode) {
  if (!p)
    return SUBPROC_EINVAL;
  int rc = reap_now(p);
  if (rc == 1 && returncode)
    *returncode = subproc_returncode(p);
  return rc;
}

int subproc__lost_error(subproc *p, subproc_error *err, const char *step) {
  return subproc__fail(err, -ECHILD, ECHILD, step, NULL, -1,
                       "%s '%s': the child was reaped by someone else (is "
                       "SIGCHLD ignored?); its exit status is lost",
                       step, p->args[0]);
}

int subproc_wait(subproc *p, double timeout, int *returncode,
                 subproc_error *err) {
  if (!p)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "wait", NULL, -1,
                         "wait: NULL process");
  if (subproc__isnan(timeout))
    return bad_timeout(err, "wait", timeout);
  int rc = subproc__wait_until(p, subproc__deadline(timeout));
  if (rc == -ECHILD)
    return subproc__lost_error(p, err, "wait");
  if (rc < 0)
    return subproc__fail_os(err, -rc, "wait", NULL, -1);
  if (rc == 0) {
    subproc__fail(err, SUBPROC_ETIMEDOUT, 0, "wait", NULL, -1,
                  "Command '%s' timed out after %g seconds", p->args[0],
                  timeout);
    if (err)
      err->timeout = timeout;
    return SUBPROC_ETIMEDOUT;
  }
  if (returncode)
    *returncode = subproc_returncode(p);
  return 0;
}

/* ------------------------------------------------------------------ */
/* Signals: never once reaped, so a recycled pid or group is never hit */
/* ------------------------------------------------------------------ */

int subproc_send_signal(subproc *p, int sig) {
  if (!p)
    return SUBPROC_EINVAL;
  spin_lock(&p->lock);
  /* Reap first, as Python does: a child that has exited is left alone. */
  int rc = reap_locked(p);
  if (rc == 0)
    rc = subproc__os_signal(&p->os, sig);
  spin_unlock(&p->lock);
  return rc == 1 || rc == -ECHILD ? 0 : rc;
}

int subproc_terminate(subproc *p) { return subproc_send_signal(p, SIGTERM); }
int subproc_kill(subproc *p) { return subproc_send_signal(p, SIGKILL); }

/* The child is ours and not reaped (alive or a zombie): its pid, and the
 * id of a group it leads, cannot name anything else. Asked of the kernel,
 * since someone else may have reaped it. Under the lock. */
static int still_ours(subproc *p) {
  if (state_of(p) != SUBPROC__RUNNING)
    return 0;
  if (subproc__os_wait(&p->os, 0.0, 0, NULL) != -ECHILD)
    return 1;
  reap_locked(p); /* records the foreign reap */
  return 0;
}

/* The group is signalled while its leader is not reaped (a zombie leader
 * keeps the id from being reused), never after. */
int subproc_send_signal_group(subproc *p, int sig) {
  if (!p || !p->os.group)
    return SUBPROC_EINVAL;
  spin_lock(&p->lock);
  int rc = still_ours(p) ? subproc__os_signal_group(&p->os, sig) : -ESRCH;
  spin_unlock(&p->lock);
  return rc;
}

int subproc__kill_all(subproc *p) {
  spin_lock(&p->lock);
  int rc = 0;
  if (still_ours(p)) {
    if (p->tree && p->os.group)
      rc = subproc__os_signal_group(&p->os, SIGKILL);
    int r = subproc__os_kill_cgroup(&p->os); /* 0 without an own cgroup */
    rc = rc < 0 ? rc : r;
    r = subproc__os_signal(&p->os, SIGKILL);
    rc = rc < 0 ? rc : r;
  }
  spin_unlock(&p->lock);
  return rc;
}

/* ------------------------------------------------------------------ */
/* Accessors                                                           */
/* ------------------------------------------------------------------ */

long subproc_pid(const subproc *p) { return p ? p->os.pid : -1; }
int subproc_returncode(const subproc *p) {
  return p ? atomic_load_explicit(&((subproc *)p)->returncode,
                                  memory_order_acquire)
           : SUBPROC_NO_RETURNCODE;
}
const char *const *subproc_args(const subproc *p) {
  return p ? (const char *const *)p->args : NULL;
}
int subproc_wait_status(const subproc *p, int *core_dumped) {
  int done = p && state_of(p) == SUBPROC__REAPED;
  if (core_dumped)
    *core_dumped = done && p->exit.core_dumped;
  return done ? p->exit.raw_status : -1;
}

subproc_spawn_method subproc_method(const subproc *p) {
  return p ? p->method : SUBPROC_SPAWN_AUTO;
}

int subproc_fd(const subproc *p, int stream) {
  if (!p || stream < 0 || stream > 2)
    return -1;
  return p->streams[stream].fd;
}

int subproc_exit_fd(const subproc *p) {
  return p ? subproc__os_exit_fd(&p->os) : -1;
}
void *subproc_exit_handle(const subproc *p) {
  return p ? subproc__os_exit_handle(&p->os) : NULL;
}

int subproc__test_pidfd(const subproc *p) { return (int)p->os.handle; }

/* ------------------------------------------------------------------ */
/* Streams                                                             */
/* ------------------------------------------------------------------ */

FILE *subproc_stream(subproc *p, int stream) {
  if (!p || stream < 0 || stream > 2)
    return NULL;
  subproc__stream *s = &p->streams[stream];
  if (s->file || s->fd < 0)
    return s->file;
  return subproc__stream_open(s, stream == 0, &p->cs.opts);
}

int subproc_close_stream(subproc *p, int stream) {
  if (!p || stream < 0 || stream > 2)
    return SUBPROC_EINVAL;
  return subproc__stream_close(&p->streams[stream], 0);
}

/* Context-manager exit: stdout and stderr first, so that a child blocked
 * writing them is not waited for while stdin is flushed; an error from
 * flushing stdin (-EPIPE: BrokenPipeError) is reported after the wait. */
int subproc_close(subproc *p, int *returncode) {
  if (!p)
    return SUBPROC_EINVAL;
  subproc__stream_close(&p->streams[1], 0);
  subproc__stream_close(&p->streams[2], 0);
  int flush = subproc__stream_close(&p->streams[0], 0);
  int rc = subproc__wait_until(p, -1.0);
  if (rc < 0)
    return rc;
  if (returncode)
    *returncode = subproc_returncode(p);
  return flush;
}

/* ------------------------------------------------------------------ */
/* Release and orphans                                                 */
/* ------------------------------------------------------------------ */

/* Freed children still running: the object itself is the list node, so
 * adding one cannot fail; it is checked round-robin a few at a time. */
static atomic_flag orphans_lock = ATOMIC_FLAG_INIT;
static subproc *orphans, *orphan_cursor;
static size_t n_orphans;

static void orphan_unlink(subproc *p) {
  if (orphan_cursor == p)
    orphan_cursor = p->orphan_next;
  if (p->orphan_prev)
    p->orphan_prev->orphan_next = p->orphan_next;
  else
    orphans = p->orphan_next;
  if (p->orphan_next)
    p->orphan_next->orphan_prev = p->orphan_prev;
  n_orphans--;
}

/* Checks up to max orphans (from where the last call stopped); frees the
 * ones that have exited. Called with orphans_lock held. */
static void orphans_check(size_t max) {
  for (size_t k = 0; k < max && n_orphans; k++) {
    subproc *p = orphan_cursor ? orphan_cursor : orphans;
    orphan_cursor = p->orphan_next;
    if (reap_now(p) != 0) {
      orphan_unlink(p);
      subproc__os_release(&p->os);
      free(p);
    }
  }
}

static void orphans_collect(size_t max) {
  /* Never make a spawn wait behind another thread's bookkeeping. */
  if (atomic_flag_test_and_set_explicit(&orphans_lock, memory_order_acquire))
    return;
  if (n_orphans)
    orphans_check(max);
  spin_unlock(&orphans_lock);
}

int subproc_reap_orphans(void) {
  spin_lock(&orphans_lock);
  orphans_check(n_orphans);
  int n = (int)n_orphans;
  spin_unlock(&orphans_lock);
  return n;
}

static void orphan_add(subproc *p) {
  spin_lock(&orphans_lock);
  p->orphan_prev = NULL;
  p->orphan_next = orphans;
  if (orphans)
    orphans->orphan_prev = p;
  orphans = p;
  n_orphans++;
  spin_unlock(&orphans_lock);
}

/* Never blocks: stdout and stderr are closed first and stdin's flush gives
 * up rather than wait for a child that does not read. */
void subproc_free(subproc *p) {
  if (!p)
    return;
  subproc__stream_close(&p->streams[1], 1);
  subproc__stream_close(&p->streams[2], 1);
  subproc__stream_close(&p->streams[0], 1);
  subproc__comm_free(p->cs.comm);
  p->cs.comm = NULL;
  subproc__comm_opts_free(&p->cs.opts);
  free(p->args);
  p->args = NULL;
  if (reap_now(p) == 0) {
    orphan_add(p);
  } else {
    subproc__os_release(&p->os);
    free(p);
  }
  orphans_collect(ORPHAN_CHECKS);
}

/* ------------------------------------------------------------------ */
/* wait_any                                                            */
/* ------------------------------------------------------------------ */

static int wait_any_args(subproc *const *procs, size_t n, double timeout,
                         size_t *index, subproc_error *err) {
  size_t live = 0;
  for (size_t i = 0; procs && i < n; i++)
    live += procs[i] != NULL;
  if (!index || !live)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "wait", NULL, -1,
                         "wait_any: no processes");
  if (subproc__isnan(timeout))
    return bad_timeout(err, "wait_any", timeout);
  return 0;
}

/* Children already reaped count as exited; no system call. */
static int any_reaped(subproc *const *procs, size_t n, size_t *index) {
  for (size_t i = 0; i < n; i++)
    if (procs[i] && state_of(procs[i]) != SUBPROC__RUNNING) {
      *index = i;
      return 1;
    }
  return 0;
}

/* One wait over every child, then a reap of the one seen to exit. */
static int wait_any_os(subproc *const *procs, size_t n, double deadline,
                       size_t *index) {
  subproc__os **os = malloc(n * sizeof *os);
  size_t *at = malloc(n * sizeof *at);
  int rc = os && at ? 0 : -ENOMEM;
  size_t k = 0;
  for (size_t i = 0; rc == 0 && i < n; i++)
    if (procs[i]) {
      os[k] = &procs[i]->os;
      at[k++] = i;
    }
  size_t j = 0;
  if (rc == 0)
    rc = subproc__os_wait_any(os, k, deadline, &j);
  if (rc == 1) {
    *index = at[j];
    rc = reap_now(procs[*index]);
    rc = rc == -ECHILD ? 1 : rc;
  }
  free(at);
  free(os);
  return rc;
}

int subproc_wait_any(subproc *const *procs, size_t n, double timeout,
                     size_t *index, subproc_error *err) {
  int rc = wait_any_args(procs, n, timeout, index, err);
  if (rc < 0)
    return rc;
  if (any_reaped(procs, n, index))
    return 0;
  double deadline = subproc__deadline(timeout);
  do
    rc = wait_any_os(procs, n, deadline, index);
  while (rc == 0 && (deadline < 0 || subproc__ms_left(deadline) > 0));
  if (rc == 0)
    return subproc__fail(err, SUBPROC_ETIMEDOUT, 0, "wait", NULL, -1,
                         "wait_any: timed out after %g seconds", timeout);
  if (rc < 0)
    return subproc__fail_os(err, -rc, "wait", NULL, -1);
  return 0;
}
