/* The POSIX spawn engine.
 *
 * The parent prepares everything (argv, envp, the PATH candidates, the fd
 * plan, resolved ids) into a `plan`; the child runs one linear function that
 * only makes system calls and funnels every failure to child_fail(). With
 * clone(CLONE_VM|CLONE_VFORK) the child reports failures through the plan
 * itself (shared memory; the parent is suspended until exec or _exit); with
 * fork() through a close-on-exec pipe. */
#include "subproc_config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "posix.h"

extern char **environ;

#ifndef CLONE_CLEAR_SIGHAND
#define CLONE_CLEAR_SIGHAND 0x100000000ULL
#endif

/* The child runs on its own stack (clone) inside the parent's memory:
 * AddressSanitizer's no-return bookkeeping would see a foreign stack and
 * print a warning into the child's stderr, so the child path is not
 * instrumented. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SUBPROC__ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(SUBPROC__ASAN)
#define CHILD_FN __attribute__((no_sanitize("address")))
#else
#define CHILD_FN
#endif

enum child_step {
  STEP_NONE = 0,
  STEP_DUP,
  STEP_CHDIR,
  STEP_SETSID,
  STEP_SETPGID,
  STEP_SETGROUPS,
  STEP_SETGID,
  STEP_SETUID,
  STEP_PREEXEC,
  STEP_CLOSE_FDS,
  STEP_EXEC,
  STEP_PIPE /* the parent's error pipe (fork path) */
};

static const char *const step_names[] = {
    "",       "dup2",   "chdir",   "setsid",    "setpgid", "setgroups",
    "setgid", "setuid", "preexec", "close_fds", "exec",    "pipe"};

/* What the child reports; written once, before _exit. */
typedef struct child_report {
  int step;
  int err;
  int fd;
} child_report;

typedef struct plan {
  char *const *argv;
  char *const *envp;
  char **exec_list; /* candidate paths, NULL-terminated */
  const char *cwd;
  int src[3]; /* fd to put at 0/1/2, -1 to leave as inherited */
  int close_fds;
  int *keep; /* sorted fds to keep (pass_fds, plus the error pipe) */
  size_t n_keep;
  int errpipe;    /* fork path: write end; -1 on the vfork path */
  int max_fd;     /* bound for the last-resort close loop */
  int close_skip; /* SUBPROC__NO_CLOSE_RANGE / _NO_PROC_FD (tests) */
  int restore_signals;
  int sighand_cleared; /* clone3 reset the handlers (CLONE_CLEAR_SIGHAND) */
  sigset_t child_mask;
  int setsid;
  int setpgid;
  pid_t pgid;
  int set_groups;
  gid_t *groups;
  size_t n_groups;
  int set_gid, set_uid;
  gid_t gid;
  uid_t uid;
  int set_umask;
  mode_t umask;
  subproc_preexec_fn preexec;
  void *preexec_arg;
  child_report report;
} plan;

/* ------------------------------------------------------------------ */
/* The child                                                           */
/* ------------------------------------------------------------------ */

CHILD_FN static void child_fail(plan *pl, int step, int err, int fd)
    __attribute__((noreturn));
CHILD_FN static void child_fail(plan *pl, int step, int err, int fd) {
  pl->report.step = step;
  pl->report.err = err;
  pl->report.fd = fd;
  if (pl->errpipe >= 0) {
    /* sizeof(child_report) < PIPE_BUF, so the write is atomic. */
    ssize_t r;
    do
      r = write(pl->errpipe, &pl->report, sizeof pl->report);
    while (r < 0 && errno == EINTR);
  }
  _exit(127);
}

/* Handlers installed by the parent must not run in the child: with
 * CLONE_VM they would run on the parent's memory. Ignored signals stay
 * ignored (as exec keeps them), except SIGPIPE/SIGXFSZ with restore. */
CHILD_FN static void child_reset_signals(const plan *pl) {
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  if (pl->sighand_cleared) {
    /* Only SIG_DFL and SIG_IGN are left: 2 calls instead of 64. */
    if (pl->restore_signals) {
      sigaction(SIGPIPE, &dfl, NULL);
      sigaction(SIGXFSZ, &dfl, NULL);
    }
    return;
  }
  for (int sig = 1; sig < NSIG; sig++) {
    struct sigaction old;
    if (sig == SIGKILL || sig == SIGSTOP || sigaction(sig, NULL, &old) < 0)
      continue;
    int restore = pl->restore_signals && (sig == SIGPIPE || sig == SIGXFSZ);
    if (old.sa_handler == SIG_DFL)
      continue;
    if (old.sa_handler == SIG_IGN && !restore)
      continue;
    sigaction(sig, &dfl, NULL);
  }
}

CHILD_FN static int child_set_cloexec(int fd, int on) {
  int flags = fcntl(fd, F_GETFD);
  if (flags < 0)
    return -1;
  int want = on ? (flags | FD_CLOEXEC) : (flags & ~FD_CLOEXEC);
  return want == flags ? 0 : fcntl(fd, F_SETFD, want);
}

/* Put src[i] at fd i. A source that sits on a lower standard fd would be
 * overwritten by an earlier dup2, so such sources move above 2 first. */
CHILD_FN static void child_plumb_fds(plan *pl) {
  int src[3] = {pl->src[0], pl->src[1], pl->src[2]};
  for (int i = 0; i < 3; i++) {
    if (src[i] < 0 || src[i] > 2 || src[i] == i)
      continue;
    int old = src[i], moved = fcntl(old, F_DUPFD_CLOEXEC, 3);
    if (moved < 0)
      child_fail(pl, STEP_DUP, errno, old);
    for (int j = 0; j < 3; j++)
      if (src[j] == old)
        src[j] = moved;
  }
  for (int i = 0; i < 3; i++) {
    if (src[i] < 0)
      continue;
    if (src[i] == i) {
      if (child_set_cloexec(i, 0) < 0)
        child_fail(pl, STEP_DUP, errno, i);
    } else {
      int r;
      do
        r = dup2(src[i], i);
      while (r < 0 && errno == EINTR);
      if (r < 0)
        child_fail(pl, STEP_DUP, errno, src[i]);
    }
  }
  for (size_t k = 0; k < pl->n_keep; k++)
    if (pl->keep[k] != pl->errpipe && child_set_cloexec(pl->keep[k], 0) < 0)
      child_fail(pl, STEP_DUP, errno, pl->keep[k]);
}

CHILD_FN static int child_close_range(unsigned lo, unsigned hi) {
#if defined(HAVE_SYS_CLOSE_RANGE)
  return (int)syscall(SYS_close_range, lo, hi, 0);
#else
  (void)lo;
  (void)hi;
  errno = ENOSYS;
  return -1;
#endif
}

CHILD_FN static int child_is_kept(const plan *pl, int fd) {
  for (size_t k = 0; k < pl->n_keep; k++)
    if (pl->keep[k] == fd)
      return 1;
  return 0;
}

/* Walks /proc/self/fd with raw getdents64 (opendir would allocate). */
CHILD_FN static int child_close_proc(const plan *pl) {
#if defined(HAVE_SYS_GETDENTS64)
  int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0)
    return -1;
  char buf[2048] __attribute__((aligned(8)));
  long n;
  while ((n = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0) {
    for (long off = 0; off < n;) {
      const char *ent = buf + off;
      unsigned short reclen;
      memcpy(&reclen, ent + 16, sizeof reclen); /* d_reclen */
      const char *name = ent + 19;              /* d_name */
      int fd = 0, digits = 0;
      for (; *name >= '0' && *name <= '9'; name++, digits++)
        fd = fd * 10 + (*name - '0');
      if (digits && !*name && fd > 2 && fd != dir && !child_is_kept(pl, fd))
        close(fd);
      off += reclen;
    }
  }
  close(dir);
  return n < 0 ? -1 : 0;
#else
  (void)pl;
  errno = ENOSYS;
  return -1;
#endif
}

CHILD_FN static void child_close_fds(plan *pl) {
  unsigned lo = 3;
  int ok = !(pl->close_skip & SUBPROC__NO_CLOSE_RANGE);
  for (size_t k = 0; k < pl->n_keep && ok; k++) {
    unsigned fd = (unsigned)pl->keep[k];
    if (fd > lo && child_close_range(lo, fd - 1) < 0)
      ok = 0;
    lo = fd + 1 > lo ? fd + 1 : lo;
  }
  if (ok && child_close_range(lo, ~0U) == 0)
    return;
  if (!(pl->close_skip & SUBPROC__NO_PROC_FD) && child_close_proc(pl) == 0)
    return;
  for (int fd = 3; fd < pl->max_fd; fd++)
    if (!child_is_kept(pl, fd))
      close(fd);
}

/* The ids go through raw system calls: the libc wrappers broadcast the
 * change to every thread of the process, which a CLONE_VM child shares. */
CHILD_FN static void child_set_ids(plan *pl) {
  if (pl->set_groups && syscall(SYS_setgroups, pl->n_groups, pl->groups) < 0)
    child_fail(pl, STEP_SETGROUPS, errno, -1);
  if (pl->set_gid && syscall(SYS_setregid, pl->gid, pl->gid) < 0)
    child_fail(pl, STEP_SETGID, errno, -1);
  if (pl->set_uid && syscall(SYS_setreuid, pl->uid, pl->uid) < 0)
    child_fail(pl, STEP_SETUID, errno, -1);
}

CHILD_FN static void child_exec(plan *pl) {
  int saved = 0;
  for (char **cand = pl->exec_list; *cand; cand++) {
    execve(*cand, pl->argv, pl->envp);
    if (errno != ENOENT && errno != ENOTDIR && saved == 0)
      saved = errno; /* report the first real error, as os.execvpe does */
    else if (saved == 0 && cand[1] == NULL)
      saved = errno;
  }
  child_fail(pl, STEP_EXEC, saved ? saved : ENOENT, -1);
}

CHILD_FN static void child_run(plan *pl) __attribute__((noreturn));
CHILD_FN static void child_run(plan *pl) {
  child_reset_signals(pl);
  child_plumb_fds(pl);
  if (pl->cwd && chdir(pl->cwd) < 0)
    child_fail(pl, STEP_CHDIR, errno, -1);
  if (pl->set_umask)
    umask(pl->umask);
  if (pl->setsid && setsid() < 0)
    child_fail(pl, STEP_SETSID, errno, -1);
  if (pl->setpgid && setpgid(0, pl->pgid) < 0)
    child_fail(pl, STEP_SETPGID, errno, -1);
  child_set_ids(pl);
  sigprocmask(SIG_SETMASK, &pl->child_mask, NULL);
  if (pl->preexec) {
    int r = pl->preexec(pl->preexec_arg);
    if (r != 0)
      child_fail(pl, STEP_PREEXEC, r > 0 ? r : 0, -1);
  }
  if (pl->close_fds)
    child_close_fds(pl);
  child_exec(pl);
  _exit(127); /* not reached */
}

#if defined(HAVE_CLONE)
CHILD_FN static int child_entry(void *arg) {
  child_run(arg);
  return 127;
}
#endif

/* ------------------------------------------------------------------ */
/* Preparation in the parent                                           */
/* ------------------------------------------------------------------ */

/* Everything allocated for one spawn; released by prep_free. */
typedef struct prep {
  plan pl;
  char **argv; /* final argv (shell applied) */
  char **envp; /* validated copy, or NULL for environ */
  const char *executable;
  int own[8]; /* fds opened here (pipes' child ends, files, devnull) */
  int n_own;
  int parent_end[3];
  int devnull;
} prep;

static void close_quietly(int fd) {
  if (fd >= 0) {
    int saved = errno;
    close(fd);
    errno = saved;
  }
}

static void prep_free(prep *pr) {
  for (int i = 0; i < pr->n_own; i++)
    close_quietly(pr->own[i]);
  free(pr->argv);
  free(pr->envp);
  if (pr->pl.exec_list)
    free(pr->pl.exec_list);
  free(pr->pl.keep);
  free(pr->pl.groups);
}

static int track(prep *pr, int fd) {
  pr->own[pr->n_own++] = fd;
  return fd;
}

static char **build_argv(const char *const *argv, const subproc_options *o) {
  if (!o->shell)
    return subproc__argv_dup(argv);
  size_t n = subproc__argv_len(argv);
  const char **v = malloc((n + 3) * sizeof *v);
  if (!v)
    return NULL;
  v[0] = o->executable ? o->executable : "/bin/sh";
  v[1] = "-c";
  for (size_t i = 0; i <= n; i++)
    v[i + 2] = argv[i];
  char **out = subproc__argv_dup(v);
  free(v);
  return out;
}

static const char *env_get(char *const *envp, const char *name) {
  size_t n = strlen(name);
  for (; envp && *envp; envp++)
    if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
      return *envp + n + 1;
  return NULL;
}

/* os.get_exec_path + os.path.join, as subprocess builds executable_list. */
static char **build_exec_list(const char *exe, char *const *envp) {
  if (strchr(exe, '/')) {
    const char *one[] = {exe, NULL};
    return subproc__argv_dup(one);
  }
  const char *path = env_get(envp ? envp : environ, "PATH");
  if (!path)
    path = "/bin:/usr/bin";
  size_t n = 1;
  for (const char *c = path; *c; c++)
    n += *c == ':';
  subproc__buf b = {0};
  size_t *offs = malloc(n * sizeof *offs);
  if (!offs)
    return NULL;
  size_t i = 0;
  for (const char *dir = path;; i++) {
    const char *end = strchr(dir, ':');
    size_t len = end ? (size_t)(end - dir) : strlen(dir);
    offs[i] = b.len;
    if ((len && (subproc__buf_append(&b, dir, len) < 0 ||
                 (dir[len - 1] != '/' && subproc__buf_putc(&b, '/') < 0))) ||
        subproc__buf_append(&b, exe, strlen(exe) + 1) < 0) {
      free(offs);
      subproc__buf_free(&b);
      return NULL;
    }
    if (!end)
      break;
    dir = end + 1;
  }
  const char **v = malloc((n + 1) * sizeof *v);
  char **out = NULL;
  if (v) {
    for (size_t k = 0; k < n; k++)
      v[k] = b.data + offs[k];
    v[n] = NULL;
    out = subproc__argv_dup(v);
  }
  free(v);
  free(offs);
  subproc__buf_free(&b);
  return out;
}

static int parse_id(const char *s, long *out) {
  if (!*s)
    return 0;
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (*end || errno || v < 0)
    return 0;
  *out = v;
  return 1;
}

static int resolve_uid(const char *user, uid_t *uid, subproc_error *err) {
  long v;
  if (parse_id(user, &v)) {
    *uid = (uid_t)v;
    return 0;
  }
  char buf[4096];
  struct passwd pw, *res = NULL;
  int rc = getpwnam_r(user, &pw, buf, sizeof buf, &res);
  if (!res)
    return subproc__fail(err, SUBPROC_EINVAL, rc, "user", user, -1,
                         "user '%s': no such user", user);
  *uid = pw.pw_uid;
  return 0;
}

static int resolve_gid(const char *group, gid_t *gid, const char *step,
                       subproc_error *err) {
  long v;
  if (parse_id(group, &v)) {
    *gid = (gid_t)v;
    return 0;
  }
  char buf[8192];
  struct group gr, *res = NULL;
  int rc = getgrnam_r(group, &gr, buf, sizeof buf, &res);
  if (!res)
    return subproc__fail(err, SUBPROC_EINVAL, rc, step, group, -1,
                         "%s '%s': no such group", step, group);
  *gid = gr.gr_gid;
  return 0;
}

static int prep_ids(prep *pr, const subproc_options *o, subproc_error *err) {
  plan *pl = &pr->pl;
  int rc;
  if (o->user) {
    if ((rc = resolve_uid(o->user, &pl->uid, err)) < 0)
      return rc;
    pl->set_uid = 1;
  }
  if (o->group) {
    if ((rc = resolve_gid(o->group, &pl->gid, "group", err)) < 0)
      return rc;
    pl->set_gid = 1;
  }
  if (o->extra_groups) {
    size_t n = subproc__argv_len(o->extra_groups);
    pl->groups = malloc((n ? n : 1) * sizeof *pl->groups);
    if (!pl->groups)
      return subproc__fail_os(err, ENOMEM, "extra_groups", NULL, -1);
    for (size_t i = 0; i < n; i++)
      if ((rc = resolve_gid(o->extra_groups[i], &pl->groups[i], "extra_groups",
                            err)) < 0)
        return rc;
    pl->n_groups = n;
    pl->set_groups = 1;
  }
  return 0;
}

static int check_fd(int fd, const char *step, subproc_error *err) {
  if (fd < 0 || fcntl(fd, F_GETFD) < 0)
    return subproc__fail(err, -EBADF, EBADF, step, NULL, fd,
                         "%s: fd %d is not open", step, fd);
  return 0;
}

static int open_pipe(prep *pr, int fds[2], long pipesize, subproc_error *err) {
#if defined(HAVE_PIPE2)
  if (pipe2(fds, O_CLOEXEC) < 0)
    return subproc__fail_os(err, errno, "pipe", NULL, -1);
#else
  /* Not atomic with a concurrent fork elsewhere: platforms without pipe2. */
  if (pipe(fds) < 0)
    return subproc__fail_os(err, errno, "pipe", NULL, -1);
  fcntl(fds[0], F_SETFD, FD_CLOEXEC);
  fcntl(fds[1], F_SETFD, FD_CLOEXEC);
#endif
  track(pr, fds[0]);
  track(pr, fds[1]);
#if defined(HAVE_F_SETPIPE_SZ)
  if (pipesize > 0 && fcntl(fds[0], F_SETPIPE_SZ, (int)pipesize) < 0)
    return subproc__fail_os(err, errno, "pipesize", NULL, fds[0]);
#else
  (void)pipesize;
#endif
  return 0;
}

static int get_devnull(prep *pr, subproc_error *err) {
  if (pr->devnull < 0) {
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd < 0)
      return subproc__fail_os(err, errno, "open", "/dev/null", -1);
    pr->devnull = track(pr, fd);
  }
  return pr->devnull;
}

static const char *const stream_names[] = {"stdin", "stdout", "stderr"};

/* Resolves one redirection to the fd the child gets (-1 = inherit). */
static int prep_stream(prep *pr, int i, const subproc_redirect *r,
                       long pipesize, subproc_error *err) {
  int fds[2], rc, fd;
  switch (r->kind) {
  case SUBPROC_INHERIT:
    return -1;
  case SUBPROC_PIPE:
    if ((rc = open_pipe(pr, fds, pipesize, err)) < 0)
      return rc;
    pr->parent_end[i] = i == 0 ? fds[1] : fds[0];
    return i == 0 ? fds[0] : fds[1];
  case SUBPROC_DEVNULL:
    return get_devnull(pr, err);
  case SUBPROC_FD:
    if ((rc = check_fd(r->fd, stream_names[i], err)) < 0)
      return rc;
    return r->fd;
  case SUBPROC_FILE:
    if (!r->file)
      return subproc__fail(err, SUBPROC_EINVAL, 0, stream_names[i], NULL, -1,
                           "%s: FILE * is NULL", stream_names[i]);
    fflush(r->file);
    fd = fileno(r->file);
    if ((rc = check_fd(fd, stream_names[i], err)) < 0)
      return rc;
    return fd;
  case SUBPROC_PATH:
    if (!r->path)
      return subproc__fail(err, SUBPROC_EINVAL, 0, stream_names[i], NULL, -1,
                           "%s: path is NULL", stream_names[i]);
    fd = open(r->path,
              (r->flags ? r->flags
                        : (i == 0 ? O_RDONLY : O_WRONLY | O_CREAT | O_TRUNC)) |
                  O_CLOEXEC,
              r->mode ? (mode_t)r->mode : 0666);
    if (fd < 0)
      return subproc__fail_os(err, errno, "open", r->path, -1);
    return track(pr, fd);
  case SUBPROC_STDOUT:
  case SUBPROC_HANDLE:
  default:
    return subproc__fail(err, SUBPROC_EINVAL, 0, stream_names[i], NULL, -1,
                         "%s: redirection kind %d is not valid here",
                         stream_names[i], (int)r->kind);
  }
}

static int prep_fds(prep *pr, const subproc_options *o, subproc_error *err) {
  const subproc_redirect *r[3] = {&o->in, &o->out, &o->err};
  subproc_redirect in_pipe = {.kind = SUBPROC_PIPE};
  subproc_redirect capture = {.kind = SUBPROC_PIPE};
  if (o->input && o->in.kind == SUBPROC_INHERIT)
    r[0] = &in_pipe;
  if (o->capture_output)
    r[1] = r[2] = &capture;
  for (int i = 0; i < 3; i++) {
    if (i == 2 && r[2]->kind == SUBPROC_STDOUT) {
      /* Python: stderr follows stdout's fd, or the parent's own stdout. */
      pr->pl.src[2] = pr->pl.src[1] >= 0 ? pr->pl.src[1] : 1;
      continue;
    }
    int fd = prep_stream(pr, i, r[i], o->pipesize, err);
    if (fd < -1)
      return fd;
    pr->pl.src[i] = fd;
  }
  return 0;
}

static int cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

static int prep_keep(prep *pr, const subproc_options *o, int errpipe,
                     subproc_error *err) {
  size_t n = o->n_pass_fds;
  pr->pl.keep = malloc((n + 1) * sizeof(int));
  if (!pr->pl.keep)
    return subproc__fail_os(err, ENOMEM, "pass_fds", NULL, -1);
  for (size_t i = 0; i < n; i++) {
    int rc = check_fd(o->pass_fds[i], "pass_fds", err);
    if (rc < 0)
      return rc;
    pr->pl.keep[i] = o->pass_fds[i];
  }
  if (errpipe >= 0)
    pr->pl.keep[n++] = errpipe;
  qsort(pr->pl.keep, n, sizeof(int), cmp_int);
  pr->pl.n_keep = n;
  return 0;
}

static int max_fd_bound(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
      rl.rlim_cur < (rlim_t)INT_MAX)
    return (int)rl.rlim_cur;
  long m = sysconf(_SC_OPEN_MAX);
  return m > 0 && m < INT_MAX ? (int)m : 65536;
}

/* ------------------------------------------------------------------ */
/* Validation                                                          */
/* ------------------------------------------------------------------ */

/* What only POSIX refuses; the rest is subproc__options_validate. */
static int validate(const char *const *argv, const subproc_options *o,
                    subproc_error *err) {
  int rc = subproc__options_validate(argv, o, err);
  if (rc < 0)
    return rc;
  if (o->creationflags || o->startupinfo)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "startupinfo", NULL, -1,
                         "startupinfo and creationflags are only supported "
                         "on Windows platforms");
  if (o->set_process_group && o->process_group < 0)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "process_group", NULL, -1,
                         "process_group: %d is negative", o->process_group);
  if (o->n_pass_fds && !o->pass_fds)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "pass_fds", NULL, -1,
                         "pass_fds: NULL array with %zu entries",
                         o->n_pass_fds);
  return 0;
}

/* ------------------------------------------------------------------ */
/* Spawn methods                                                       */
/* ------------------------------------------------------------------ */

/* The child's stack for clone(): the child only runs child_run(). */
#define CHILD_STACK_SIZE (64 * 1024)

#if defined(SUBPROC__HAVE_CLONE3)
static atomic_int clone3_works = 1;

/* 1 when clone3 ran (pid or errno set), 0 when the kernel (< 5.5) or a
 * seccomp filter refuses it and clone() must do. */
static int try_clone3(plan *pl, void *stack, pid_t *pid) {
  if (!atomic_load(&clone3_works) ||
      (subproc__test_flags() & SUBPROC__NO_CLONE3))
    return 0;
  pl->sighand_cleared = 1;
  *pid = subproc__clone3(CLONE_VM | CLONE_VFORK | CLONE_CLEAR_SIGHAND, stack,
                         CHILD_STACK_SIZE, child_entry, pl);
  if (*pid >= 0 || (errno != ENOSYS && errno != EINVAL && errno != EPERM))
    return 1;
  pl->sighand_cleared = 0;
  atomic_store(&clone3_works, 0);
  return 0;
}
#endif

/* No CLONE_PIDFD: the pidfd is taken when a timed wait needs it
 * (subproc__pidfd). */
static pid_t spawn_vfork(plan *pl) {
  pid_t pid;
#if defined(HAVE_CLONE)
  void *stack = malloc(CHILD_STACK_SIZE);
  if (!stack)
    return -1;
#if defined(SUBPROC__HAVE_CLONE3)
  if (try_clone3(pl, stack, &pid)) {
    free(stack);
    return pid;
  }
#endif
  pid = clone(child_entry, (char *)stack + CHILD_STACK_SIZE,
              CLONE_VM | CLONE_VFORK | SIGCHLD, pl);
  free(stack);
#elif defined(HAVE_VFORK)
  pid = vfork();
  if (pid == 0)
    child_run(pl);
#else
#error "no clone() and no vfork(): add a spawn method for this platform"
#endif
  return pid;
}

static int read_report(int fd, child_report *rep) {
  size_t got = 0;
  while (got < sizeof *rep) {
    ssize_t r = read(fd, (char *)rep + got, sizeof *rep - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    got += (size_t)r;
  }
  return got == sizeof *rep;
}

static pid_t spawn_fork(plan *pl) {
  int ep[2];
#if defined(HAVE_PIPE2)
  int rc = pipe2(ep, O_CLOEXEC);
#else
  int rc = pipe(ep);
  if (rc == 0) {
    fcntl(ep[0], F_SETFD, FD_CLOEXEC);
    fcntl(ep[1], F_SETFD, FD_CLOEXEC);
  }
#endif
  if (rc < 0) {
    pl->report = (child_report){STEP_PIPE, errno, -1};
    return -1;
  }
  /* The write end must survive close_fds until exec closes it. */
  int *keep = realloc(pl->keep, (pl->n_keep + 1) * sizeof(int));
  if (!keep) {
    close(ep[0]);
    close(ep[1]);
    errno = ENOMEM;
    return -1;
  }
  pl->keep = keep;
  size_t k = pl->n_keep++;
  while (k > 0 && keep[k - 1] > ep[1]) {
    keep[k] = keep[k - 1];
    k--;
  }
  keep[k] = ep[1];
  pl->errpipe = ep[1];
  pid_t pid = fork();
  if (pid == 0)
    child_run(pl);
  int saved = errno;
  close(ep[1]);
  if (pid > 0 && !read_report(ep[0], &pl->report))
    pl->report.step = STEP_NONE;
  close(ep[0]);
  errno = saved;
  return pid;
}

#if defined(__SANITIZE_THREAD__)
#define SUBPROC__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SUBPROC__TSAN 1
#endif
#endif

#if defined(HAVE_CLONE) && !defined(SUBPROC__TSAN)
CHILD_FN static int probe_entry(void *arg) {
  *(int *)arg = 1;
  _exit(0);
}
#endif

/* Can a child share this process's memory (clone(CLONE_VM|CLONE_VFORK))?
 * valgrind and qemu-user run such a clone as a plain fork, and glibc's
 * posix_spawn with it: a report written into the parent's memory would
 * never arrive, and a failed exec would pass for a started child. Under
 * ThreadSanitizer the child would call its interceptors (close, dup2,
 * sigaction) on the parent's state. Checked once; if not, every spawn
 * goes through fork and an error pipe. */
static int vm_shared_with_child(void) {
#if defined(SUBPROC__TSAN)
  return 0;
#elif defined(HAVE_CLONE)
  static atomic_int known; /* 0 not yet, 1 shared, -1 not */
  int k = atomic_load(&known);
  if (k == 0) {
    int flag = 0;
    char stack[8192] __attribute__((aligned(16)));
    pid_t pid = -1;
#if defined(SUBPROC__HAVE_CLONE3)
    /* What spawn_vfork tries first. */
    pid = subproc__clone3(CLONE_VM | CLONE_VFORK, stack, sizeof stack,
                          probe_entry, &flag);
    if (pid < 0 && (errno == ENOSYS || errno == EINVAL || errno == EPERM))
#endif
      pid = clone(probe_entry, stack + sizeof stack,
                  CLONE_VM | CLONE_VFORK | SIGCHLD, &flag);
    if (pid >= 0) {
      while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
      }
      k = flag ? 1 : -1;
      atomic_store(&known, k);
    }
  }
  return k >= 0; /* 0: no verdict, the spawn itself reports the error */
#else
  return 1;
#endif
}

/* posix_spawn can do what the options ask? (Python's _USE_POSIX_SPAWN.) */
static int posix_spawn_usable(const plan *pl) {
  for (int i = 0; i < 3; i++)
    if (pl->src[i] >= 0 && pl->src[i] <= 2 && pl->src[i] != i)
      return 0;
#if !defined(HAVE_POSIX_SPAWN_ADDCHDIR_NP)
  if (pl->cwd)
    return 0;
#endif
#if !defined(HAVE_POSIX_SPAWN_ADDCLOSEFROM_NP)
  if (pl->close_fds)
    return 0;
#endif
#if !defined(HAVE_POSIX_SPAWN_SETSID)
  if (pl->setsid)
    return 0;
#endif
  return !pl->preexec && !pl->set_uid && !pl->set_gid && !pl->set_groups &&
         !pl->set_umask && !(pl->close_fds && pl->n_keep) &&
         !(pl->setsid && pl->setpgid);
}

static int build_spawn_attrs(const plan *pl, posix_spawn_file_actions_t *fa,
                             posix_spawnattr_t *at) {
  int rc = 0;
  for (int i = 0; i < 3 && !rc; i++)
    if (pl->src[i] >= 0)
      rc = posix_spawn_file_actions_adddup2(fa, pl->src[i], i);
#if defined(HAVE_POSIX_SPAWN_ADDCHDIR_NP)
  if (!rc && pl->cwd)
    rc = posix_spawn_file_actions_addchdir_np(fa, pl->cwd);
#endif
#if defined(HAVE_POSIX_SPAWN_ADDCLOSEFROM_NP)
  if (!rc && pl->close_fds)
    rc = posix_spawn_file_actions_addclosefrom_np(fa, 3);
#endif
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  sigset_t def;
  sigemptyset(&def);
  if (pl->restore_signals) {
    sigaddset(&def, SIGPIPE);
    sigaddset(&def, SIGXFSZ);
  }
  if (pl->setpgid)
    flags |= POSIX_SPAWN_SETPGROUP;
#if defined(HAVE_POSIX_SPAWN_SETSID)
  if (pl->setsid)
    flags |= POSIX_SPAWN_SETSID;
#endif
  if (!rc)
    rc = posix_spawnattr_setflags(at, flags);
  if (!rc)
    rc = posix_spawnattr_setsigmask(at, &pl->child_mask);
  if (!rc)
    rc = posix_spawnattr_setsigdefault(at, &def);
  if (!rc && pl->setpgid)
    rc = posix_spawnattr_setpgroup(at, pl->pgid);
  return rc;
}

static int chdir_would_fail(const char *dir) {
  struct stat st;
  if (stat(dir, &st) < 0)
    return 1;
  return !S_ISDIR(st.st_mode) || access(dir, X_OK) < 0;
}

static pid_t spawn_posix(plan *pl) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&at);
  int rc = build_spawn_attrs(pl, &fa, &at);
  pid_t pid = -1;
  int saved = 0;
  for (char **cand = pl->exec_list; !rc && *cand; cand++) {
    /* Skip candidates that plainly do not exist instead of paying a
     * whole spawn for each ENOENT along PATH. */
    if (cand[1] && access(*cand, F_OK) < 0 &&
        (errno == ENOENT || errno == ENOTDIR))
      continue;
    int r = posix_spawn(&pid, *cand, &fa, &at, pl->argv, pl->envp);
    if (r == 0) {
      saved = 0;
      break;
    }
    pid = -1;
    if ((r != ENOENT && r != ENOTDIR) || saved == 0)
      saved = saved && saved != ENOENT && saved != ENOTDIR ? saved : r;
    if (r != ENOENT && r != ENOTDIR)
      break;
  }
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  /* posix_spawn's own failures, not the child's: EAGAIN from its clone
   * (RLIMIT_NPROC; exec returns it only after a uid change, which this
   * path never makes), EMFILE/ENFILE from musl's error pipe. */
  if (rc || saved == EAGAIN || saved == EMFILE || saved == ENFILE) {
    errno = rc ? rc : saved;
    return -1;
  }
  if (pid < 0) {
    /* The child failed before exec: attribute it like the other paths. */
    pl->report.step = STEP_EXEC;
    if (pl->cwd && chdir_would_fail(pl->cwd))
      pl->report.step = STEP_CHDIR;
    pl->report.err = saved ? saved : ENOENT;
    pl->report.fd = -1;
  }
  return pid;
}

/* ------------------------------------------------------------------ */
/* The entry point                                                     */
/* ------------------------------------------------------------------ */

static subproc_spawn_method choose_method(const subproc_options *o,
                                          const plan *pl) {
  if (o->preexec || o->spawn_method == SUBPROC_SPAWN_FORK)
    return SUBPROC_SPAWN_FORK;
  if (o->spawn_method == SUBPROC_SPAWN_POSIX_SPAWN && posix_spawn_usable(pl))
    return SUBPROC_SPAWN_POSIX_SPAWN;
  return SUBPROC_SPAWN_VFORK;
}

static int report_error(const prep *pr, subproc_error *err) {
  const child_report *rep = &pr->pl.report;
  const char *step = step_names[rep->step];
  switch (rep->step) {
  case STEP_EXEC:
    return subproc__fail_os(err, rep->err, step, pr->executable, -1);
  case STEP_CHDIR:
    return subproc__fail_os(err, rep->err, step, pr->pl.cwd, -1);
  case STEP_DUP:
    return subproc__fail_os(err, rep->err, step, NULL, rep->fd);
  case STEP_PREEXEC:
    return subproc__fail(err, SUBPROC_ESUBPROCESS, rep->err, step, NULL, -1,
                         "preexec: the callback failed%s%s",
                         rep->err ? ": " : "",
                         rep->err ? strerror(rep->err) : "");
  default:
    return subproc__fail_os(err, rep->err, step, NULL, -1);
  }
}

static int prep_plan(prep *pr, const char *const *argv,
                     const subproc_options *o, subproc_error *err) {
  plan *pl = &pr->pl;
  int rc;
  if (!(pr->argv = build_argv(argv, o)))
    return subproc__fail_os(err, ENOMEM, "args", NULL, -1);
  if (o->env && !(pr->envp = subproc__argv_dup(o->env)))
    return subproc__fail_os(err, ENOMEM, "env", NULL, -1);
  pr->executable = o->executable && !o->shell ? o->executable : pr->argv[0];
  if (!(pl->exec_list = build_exec_list(pr->executable, pr->envp)))
    return subproc__fail_os(err, ENOMEM, "exec", NULL, -1);
  pl->argv = pr->argv;
  pl->envp = pr->envp ? pr->envp : environ;
  pl->cwd = o->cwd;
  pl->errpipe = -1;
  pl->close_fds = !o->keep_fds || o->n_pass_fds > 0;
  pl->max_fd = pl->close_fds ? max_fd_bound() : 0;
  pl->close_skip = subproc__test_flags();
  pl->restore_signals = !o->keep_signals;
  pl->setsid = o->start_new_session;
  pl->setpgid = o->set_process_group ||
                (o->kill_tree == SUBPROC_KILL_TREE_ON && !o->start_new_session);
  pl->pgid = o->set_process_group ? (pid_t)o->process_group : 0;
  pl->set_umask = o->set_umask;
  pl->umask = (mode_t)(o->umask & 07777);
  pl->preexec = o->preexec;
  pl->preexec_arg = o->preexec_arg;
  if ((rc = prep_ids(pr, o, err)) < 0 || (rc = prep_fds(pr, o, err)) < 0)
    return rc;
  return prep_keep(pr, o, -1, err);
}

int subproc__spawn(subproc *p, const char *const *argv,
                   const subproc_options *o, subproc_error *err) {
  prep pr;
  memset(&pr, 0, sizeof pr);
  pr.devnull = -1;
  for (int i = 0; i < 3; i++)
    pr.parent_end[i] = pr.pl.src[i] = -1;
  int rc = validate(argv, o, err);
  if (rc == 0)
    rc = prep_plan(&pr, argv, o, err);
  if (rc == 0)
    rc = subproc__audit(pr.executable, (const char *const *)pr.argv, o->cwd,
                        o->env, err);
  if (rc < 0) {
    prep_free(&pr);
    return rc;
  }
  p->method = choose_method(o, &pr.pl);
  p->group_leader = o->start_new_session || pr.pl.setpgid;

  /* All signals blocked: no handler may run in the child before it has
   * reset them; the child then installs child_mask itself. */
  sigset_t all, old;
  sigfillset(&all);
  p->start_time = subproc__now(); /* duration_s includes the spawn itself */
  pthread_sigmask(SIG_BLOCK, &all, &old);
  if (p->method != SUBPROC_SPAWN_FORK && !vm_shared_with_child())
    p->method = SUBPROC_SPAWN_FORK;
  if (pr.pl.restore_signals)
    sigemptyset(&pr.pl.child_mask);
  else
    pr.pl.child_mask = old;
  pid_t pid;
  if (p->method == SUBPROC_SPAWN_FORK)
    pid = spawn_fork(&pr.pl);
  else if (p->method == SUBPROC_SPAWN_POSIX_SPAWN)
    pid = spawn_posix(&pr.pl);
  else
    pid = spawn_vfork(&pr.pl);
  int spawn_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);

  if (pid < 0 && pr.pl.report.step == STEP_NONE) {
    rc = subproc__fail_os(err, spawn_errno,
                          p->method == SUBPROC_SPAWN_FORK    ? "fork"
                          : p->method == SUBPROC_SPAWN_VFORK ? "clone"
                                                             : "posix_spawn",
                          NULL, -1);
  } else if (pr.pl.report.step != STEP_NONE) {
    if (pid > 0) {
      int st;
      while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
      }
    }
    rc = report_error(&pr, err);
  } else {
    p->pid = pid; /* p->pidfd stays -1 until needed (subproc__pidfd) */
    p->args = pr.argv;
    pr.argv = NULL;
    for (int i = 0; i < 3; i++) {
      p->fds[i] = pr.parent_end[i];
      for (int k = 0; k < pr.n_own; k++)
        if (pr.own[k] == pr.parent_end[i])
          pr.own[k] = -1; /* ownership moves to p */
    }
  }
  prep_free(&pr);
  return rc;
}

static atomic_int test_flags;
void subproc__set_test_flags(int flags) { atomic_store(&test_flags, flags); }
int subproc__test_flags(void) { return atomic_load(&test_flags); }
