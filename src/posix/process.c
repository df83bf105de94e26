/* The Popen object on POSIX: waiting, signals, streams, release. */
#include "subproc_config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "posix.h"

static void orphans_reap(void);

int subproc_popen(const char *const *argv, const subproc_options *opts,
                  subproc **out, subproc_error *err) {
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
  p->pidfd = -1;
  p->returncode = SUBPROC_NO_RETURNCODE;
  for (int i = 0; i < 3; i++)
    p->fds[i] = -1;
  int rc = subproc__comm_opts_init(&p->cs.opts, o, err);
  if (rc == 0)
    rc = subproc__spawn(p, argv, o, err);
  if (rc < 0) {
    subproc__comm_opts_free(&p->cs.opts);
    free(p);
    return rc;
  }
  if (o->on_spawn)
    o->on_spawn(o->on_spawn_arg, (long)p->pid);
  /* communicate watches the child's exit once wait_delay is set. */
  if (p->cs.opts.wait_delay > 0)
    subproc__pidfd(p);
  *out = p;
  return 0;
}

int subproc_popen_cmd(const char *cmd, const subproc_options *opts,
                      subproc **out, subproc_error *err) {
  const char *argv[] = {cmd, NULL};
  return subproc_popen(argv, opts, out, err);
}

/* ------------------------------------------------------------------ */
/* Waiting                                                             */
/* ------------------------------------------------------------------ */

static void set_status(subproc *p, int status) {
  if (WIFSIGNALED(status))
    p->returncode = -WTERMSIG(status);
  else if (WIFEXITED(status))
    p->returncode = WEXITSTATUS(status);
  else
    p->returncode = status;
  p->end_time = subproc__now();
  if (p->pidfd >= 0) {
    close(p->pidfd);
    p->pidfd = -1;
  }
}

int subproc__reap(subproc *p, int block) {
  if (p->returncode != SUBPROC_NO_RETURNCODE)
    return 1;
  int status = 0;
  pid_t r;
  do
    r = wait4(p->pid, &status, block ? 0 : WNOHANG, &p->rusage);
  while (r < 0 && errno == EINTR);
  if (r == 0)
    return 0;
  if (r < 0) {
    if (errno != ECHILD)
      return -errno;
    /* Someone else reaped it (SIGCHLD ignored, or a waitpid(-1) elsewhere):
     * Python reports 0 in that case. */
    status = 0;
  }
  set_status(p, status);
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

/* Taken on first need (a timed wait, wait_any, wait_delay) rather than at
 * spawn: most children are waited for without a timeout, and a pidfd per
 * spawn costs about 4 us (of a 90 us spawn) and an fd per live child. The
 * child is not reaped yet, so its pid still names it. */
int subproc__pidfd(subproc *p) {
#if defined(HAVE_SYS_PIDFD_OPEN)
  static atomic_int unsupported; /* kernel older than 5.3 */
  if (p->pidfd < 0 && p->returncode == SUBPROC_NO_RETURNCODE &&
      !atomic_load(&unsupported) &&
      !(subproc__test_flags() & SUBPROC__NO_PIDFD)) {
    int saved = errno;
    p->pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0); /* close-on-exec */
    if (p->pidfd < 0 && errno == ENOSYS)
      atomic_store(&unsupported, 1);
    errno = saved;
  }
#endif
  return p->pidfd;
}

/* Without pidfds: poll with backoff, as Python does. */
static int wait_backoff(subproc *p, double deadline) {
  double delay = 0.0005;
  for (;;) {
    int rc = subproc__reap(p, 0);
    if (rc != 0)
      return rc;
    double left = deadline - subproc__now();
    if (left <= 0)
      return 0;
    double d = delay < left ? delay : left;
    struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
    nanosleep(&ts, NULL);
    delay = delay * 2 < 0.05 ? delay * 2 : 0.05;
  }
}

/* 1 when the child has exited (and is reaped), 0 on timeout. */
int subproc__wait_until(subproc *p, double deadline) {
  if (deadline < 0)
    return subproc__reap(p, 1);
  for (;;) {
    int rc = subproc__reap(p, 0);
    if (rc != 0)
      return rc;
    if (subproc__pidfd(p) < 0)
      return wait_backoff(p, deadline);
    struct pollfd pfd = {.fd = p->pidfd, .events = POLLIN};
    int n = poll(&pfd, 1, subproc__ms_left(deadline));
    if (n < 0 && errno != EINTR)
      return -errno;
    if (n == 0 && subproc__ms_left(deadline) == 0)
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
/* Signals                                                             */
/* ------------------------------------------------------------------ */

int subproc_send_signal(subproc *p, int sig) {
  if (!p)
    return SUBPROC_EINVAL;
  /* Reap first, as Python does, so a recycled pid is never signalled. */
  int rc = subproc__reap(p, 0);
  if (rc != 0)
    return rc < 0 ? rc : 0;
#if defined(HAVE_SYS_PIDFD_SEND_SIGNAL)
  if (p->pidfd >= 0) {
    if (syscall(SYS_pidfd_send_signal, p->pidfd, sig, NULL, 0) == 0)
      return 0;
    if (errno != ENOSYS)
      return errno == ESRCH ? 0 : -errno;
  }
#endif
  if (kill(p->pid, sig) < 0 && errno != ESRCH)
    return -errno;
  return 0;
}

int subproc_terminate(subproc *p) { return subproc_send_signal(p, SIGTERM); }
int subproc_kill(subproc *p) { return subproc_send_signal(p, SIGKILL); }

int subproc_send_signal_group(subproc *p, int sig) {
  if (!p || !p->group_leader)
    return SUBPROC_EINVAL;
  /* The group outlives its leader while members remain; its id cannot be
   * reused until they are all gone. */
  if (kill(-p->pid, sig) < 0 && errno != ESRCH)
    return -errno;
  return 0;
}

/* ------------------------------------------------------------------ */
/* Accessors                                                           */
/* ------------------------------------------------------------------ */

subproc__comm_state *subproc__comm_state_of(subproc *p) { return &p->cs; }

static double seconds(struct timeval tv) {
  return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

int subproc__status(const subproc *p, subproc_result *r) {
  int done = p->returncode != SUBPROC_NO_RETURNCODE;
  r->returncode = p->returncode;
  r->pid = (long)p->pid;
  r->duration_s = (done ? p->end_time : subproc__now()) - p->start_time;
  if (done) {
    r->user_s = seconds(p->rusage.ru_utime);
    r->system_s = seconds(p->rusage.ru_stime);
    r->max_rss_kb = p->rusage.ru_maxrss; /* kilobytes on Linux */
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
subproc_spawn_method subproc_method(const subproc *p) {
  return p ? p->method : SUBPROC_SPAWN_AUTO;
}

int subproc_fd(const subproc *p, int stream) {
  if (!p || stream < 0 || stream > 2)
    return -1;
  return p->fds[stream];
}

/* ------------------------------------------------------------------ */
/* Streams                                                             */
/* ------------------------------------------------------------------ */

FILE *subproc_stream(subproc *p, int stream) {
  if (!p || stream < 0 || stream > 2)
    return NULL;
  if (p->streams[stream] || p->fds[stream] < 0)
    return p->streams[stream];
  FILE *f = subproc__open_stream(p->fds[stream], stream == 0 ? "w" : "r",
                                 &p->cs.opts);
  if (!f)
    return NULL;
  p->streams[stream] = f; /* owns fds[stream] from now on */
  return f;
}

int subproc_close_stream(subproc *p, int stream) {
  if (!p || stream < 0 || stream > 2)
    return SUBPROC_EINVAL;
  int rc = 0;
  if (p->streams[stream]) {
    subproc__sigpipe_guard g;
    subproc__sigpipe_begin(&g);
    errno = 0;
    int r = fclose(p->streams[stream]);
    int e = errno;
    subproc__sigpipe_end(&g, e == EPIPE);
    /* A child that stopped reading is not an error (BrokenPipeError is
     * ignored by Python's close too). */
    if (r != 0 && e != EPIPE)
      rc = -e;
    p->streams[stream] = NULL;
  } else if (p->fds[stream] >= 0) {
    close(p->fds[stream]);
  }
  p->fds[stream] = -1;
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
/* SIGPIPE                                                             */
/* ------------------------------------------------------------------ */

void subproc__sigpipe_begin(subproc__sigpipe_guard *g) {
  sigset_t pipe_set, old, pending;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  sigpending(&pending);
  g->was_pending = sigismember(&pending, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  g->was_blocked = sigismember(&old, SIGPIPE);
}

void subproc__sigpipe_end(subproc__sigpipe_guard *g, int got_epipe) {
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  if (got_epipe && !g->was_pending) {
    /* Consume the SIGPIPE our write raised (thread-directed, so it is
     * pending for this thread only). */
    static const struct timespec zero = {0, 0};
    while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR) {
    }
  }
  if (!g->was_blocked)
    pthread_sigmask(SIG_UNBLOCK, &pipe_set, NULL);
}

/* ------------------------------------------------------------------ */
/* Release and orphans                                                 */
/* ------------------------------------------------------------------ */

/* Children freed while running, reaped without blocking later on. */
static pthread_mutex_t orphans_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t *orphans;
static size_t n_orphans, cap_orphans;

static void orphans_reap_locked(void) {
  size_t keep = 0;
  for (size_t i = 0; i < n_orphans; i++) {
    pid_t r;
    do
      r = waitpid(orphans[i], NULL, WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == 0)
      orphans[keep++] = orphans[i];
  }
  n_orphans = keep;
}

static void orphans_reap(void) {
  /* Never make a spawn wait behind another thread's bookkeeping. */
  if (pthread_mutex_trylock(&orphans_lock) != 0)
    return;
  if (n_orphans)
    orphans_reap_locked();
  pthread_mutex_unlock(&orphans_lock);
}

int subproc_reap_orphans(void) {
  pthread_mutex_lock(&orphans_lock);
  orphans_reap_locked();
  int n = (int)n_orphans;
  pthread_mutex_unlock(&orphans_lock);
  return n;
}

static void orphans_add(pid_t pid) {
  pthread_mutex_lock(&orphans_lock);
  if (n_orphans == cap_orphans) {
    size_t cap = cap_orphans ? cap_orphans * 2 : 16;
    pid_t *grown = realloc(orphans, cap * sizeof *grown);
    if (grown) {
      orphans = grown;
      cap_orphans = cap;
    }
  }
  if (n_orphans < cap_orphans)
    orphans[n_orphans++] = pid;
  pthread_mutex_unlock(&orphans_lock);
}

void subproc_free(subproc *p) {
  if (!p)
    return;
  for (int i = 0; i < 3; i++)
    subproc_close_stream(p, i);
  if (subproc__reap(p, 0) == 0)
    orphans_add(p->pid);
  if (p->pidfd >= 0)
    close(p->pidfd);
  subproc__comm_free(p->cs.comm);
  subproc__comm_opts_free(&p->cs.opts);
  free(p->args);
  free(p);
  orphans_reap();
}

/* ------------------------------------------------------------------ */
/* wait_any                                                            */
/* ------------------------------------------------------------------ */

/* Children already reaped count as exited; no system call. */
static int any_reaped(subproc *const *procs, size_t n, size_t *index) {
  for (size_t i = 0; i < n; i++)
    if (procs[i] && procs[i]->returncode != SUBPROC_NO_RETURNCODE) {
      *index = i;
      return 1;
    }
  return 0;
}

/* One poll over the pidfds, then a wait4 only for those that are ready:
 * a call costs O(1) system calls however many children are alive (a
 * wait4 per child and call made a loop over n children O(n^2) calls). */
static int poll_exited(subproc *const *procs, size_t n, struct pollfd *pfds,
                       size_t *who, double deadline, size_t *index) {
  size_t k = 0;
  int blind = 0, rc;
  for (size_t i = 0; i < n; i++) {
    if (!procs[i])
      continue;
    if (subproc__pidfd(procs[i]) >= 0) {
      pfds[k] = (struct pollfd){.fd = procs[i]->pidfd, .events = POLLIN};
      who[k++] = i;
    } else if ((rc = subproc__reap(procs[i], 0)) != 0) {
      *index = i;
      return rc;
    } else {
      blind = 1;
    }
  }
  int ms = subproc__ms_left(deadline);
  if (blind && (ms < 0 || ms > 10))
    ms = 10; /* some children have no pidfd: ask them now and then */
  int r = poll(pfds, k, ms);
  if (r < 0)
    return errno == EINTR ? 0 : -errno;
  for (size_t j = 0; j < k && r > 0; j++)
    if (pfds[j].revents && (rc = subproc__reap(procs[who[j]], 0)) != 0) {
      *index = who[j];
      return rc;
    }
  return 0;
}

int subproc_wait_any(subproc *const *procs, size_t n, double timeout,
                     size_t *index, subproc_error *err) {
  if (!procs || !n || !index)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "wait", NULL, -1,
                         "wait_any: no processes");
  if (any_reaped(procs, n, index))
    return 0;
  double deadline = timeout < 0 ? -1.0 : subproc__now() + timeout;
  struct pollfd *pfds = malloc(n * sizeof *pfds);
  size_t *who = malloc(n * sizeof *who);
  int rc = pfds && who ? 0 : -ENOMEM;
  while (rc == 0) {
    rc = poll_exited(procs, n, pfds, who, deadline, index);
    if (rc == 0 && deadline >= 0 && subproc__ms_left(deadline) == 0)
      rc = SUBPROC_ETIMEDOUT;
  }
  free(who);
  free(pfds);
  if (rc == SUBPROC_ETIMEDOUT)
    return subproc__fail(err, rc, 0, "wait", NULL, -1,
                         "wait_any: timed out after %g seconds", timeout);
  if (rc < 0)
    return subproc__fail_os(err, -rc, "wait", NULL, -1);
  return 0;
}

int subproc__test_pidfd(const subproc *p) { return p->pidfd; }
