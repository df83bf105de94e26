/* The child, between clone/vfork/fork and exec: one linear function that
 * reads top to bottom in the order the steps happen. It only makes system
 * calls (async-signal-safe: no malloc, no stdio, no locks) and funnels
 * every failure to child_fail(), which reports the computed error, never
 * a stale errno. With clone(CLONE_VM) the report lands in the parent's
 * memory (the parent is suspended until exec or _exit); on the fork path
 * it goes through a close-on-exec pipe. */
#include "subproc_config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>
#if defined(HAVE_PR_SET_PDEATHSIG) || defined(HAVE_PR_SET_NO_NEW_PRIVS)
#include <sys/prctl.h>
#endif

#include "spawn.h"

extern char **environ;

#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif

/* The 16-bit id calls of i386 and arm32 would truncate ids: their *32
 * variants take full ids where they exist. */
#if defined(SYS_setgroups32)
#define SYS_SETGROUPS SYS_setgroups32
#define SYS_SETREGID SYS_setregid32
#define SYS_SETREUID SYS_setreuid32
#else
#define SYS_SETGROUPS SYS_setgroups
#define SYS_SETREGID SYS_setregid
#define SYS_SETREUID SYS_setreuid
#endif

SUBPROC__CHILD_FN static void child_fail(subproc__child_plan *pl, int step,
                                         int err, int fd)
    __attribute__((noreturn));
SUBPROC__CHILD_FN static void child_fail(subproc__child_plan *pl, int step,
                                         int err, int fd) {
  pl->report.step = step;
  pl->report.err = err;
  pl->report.fd = fd;
  if (pl->errpipe >= 0) {
    /* sizeof(report) < PIPE_BUF, so the write is atomic. */
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
SUBPROC__CHILD_FN static void
child_reset_signals(const subproc__child_plan *pl) {
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

SUBPROC__CHILD_FN static int child_close_range(unsigned lo, unsigned hi,
                                               unsigned flags) {
#if defined(HAVE_SYS_CLOSE_RANGE)
  return (int)syscall(SYS_close_range, lo, hi, flags);
#else
  (void)lo, (void)hi, (void)flags;
  errno = ENOSYS;
  return -1;
#endif
}

/* A CLONE_FILES child shares the parent's fd table: before it touches any
 * fd it takes a copy of the part it needs (fds below unshare_below) and
 * nothing else, however many fds the parent has open. */
SUBPROC__CHILD_FN static void child_unshare_fds(subproc__child_plan *pl) {
  if (pl->share_files && child_close_range((unsigned)pl->unshare_below, ~0U,
                                           CLOSE_RANGE_UNSHARE) < 0)
    child_fail(pl, STEP_UNSHARE, errno, -1);
}

/* Not subproc__dup2: the child path stays in this file, uninstrumented. */
SUBPROC__CHILD_FN static int child_dup2(int from, int to) {
  int r;
  do
    r = dup2(from, to);
  while (r < 0 && errno == EINTR);
  return r;
}

SUBPROC__CHILD_FN static int child_set_cloexec(int fd, int on) {
  int flags = fcntl(fd, F_GETFD);
  if (flags < 0)
    return -1;
  int want = on ? (flags | FD_CLOEXEC) : (flags & ~FD_CLOEXEC);
  return want == flags ? 0 : fcntl(fd, F_SETFD, want);
}

/* Put src[i] at fd i. A source that sits on a lower standard fd would be
 * overwritten by an earlier dup2, so such sources move above 2 first. */
SUBPROC__CHILD_FN static void child_plumb_fds(subproc__child_plan *pl) {
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
    } else if (child_dup2(src[i], i) < 0) {
      child_fail(pl, STEP_DUP, errno, src[i]);
    }
  }
  for (size_t k = 0; k < pl->n_keep; k++)
    if (pl->keep[k] != pl->errpipe && child_set_cloexec(pl->keep[k], 0) < 0)
      child_fail(pl, STEP_DUP, errno, pl->keep[k]);
}

SUBPROC__CHILD_FN static int child_is_kept(const subproc__child_plan *pl,
                                           int fd) {
  for (size_t k = 0; k < pl->n_keep; k++)
    if (pl->keep[k] == fd)
      return 1;
  return 0;
}

/* Walks /proc/self/fd with raw getdents64 (opendir would allocate). */
SUBPROC__CHILD_FN static int child_close_proc(const subproc__child_plan *pl) {
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

/* close_range around the kept fds, else /proc/self/fd, else a loop up to
 * the fd limit (never the first choice: seconds at a 1M limit). */
SUBPROC__CHILD_FN static void child_close_fds(subproc__child_plan *pl) {
  unsigned lo = 3;
  int ok = !(pl->close_skip & SUBPROC__NO_CLOSE_RANGE);
  for (size_t k = 0; k < pl->n_keep && ok; k++) {
    unsigned fd = (unsigned)pl->keep[k];
    if (fd > lo && child_close_range(lo, fd - 1, 0) < 0)
      ok = 0;
    lo = fd + 1 > lo ? fd + 1 : lo;
  }
  if (ok && child_close_range(lo, ~0U, 0) == 0)
    return;
  if (!(pl->close_skip & SUBPROC__NO_PROC_FD) && child_close_proc(pl) == 0)
    return;
  for (int fd = 3; fd < pl->max_fd; fd++)
    if (!child_is_kept(pl, fd))
      close(fd);
}

/* The ids go through raw system calls: the libc wrappers broadcast the
 * change to every thread of the process, which a CLONE_VM child shares. */
SUBPROC__CHILD_FN static void child_set_ids(subproc__child_plan *pl) {
  if (pl->set_groups && syscall(SYS_SETGROUPS, pl->n_groups, pl->groups) < 0)
    child_fail(pl, STEP_SETGROUPS, errno, -1);
  if (pl->set_gid && syscall(SYS_SETREGID, pl->gid, pl->gid) < 0)
    child_fail(pl, STEP_SETGID, errno, -1);
  if (pl->set_uid && syscall(SYS_SETREUID, pl->uid, pl->uid) < 0)
    child_fail(pl, STEP_SETUID, errno, -1);
}

/* ---- limits, parent death, privileges ---- */

/* Right after setpgid: every signal is still blocked (the parent blocked
 * them all for the spawn; child_mask comes later), and the kernel lets a
 * background group whose SIGTTOU is blocked take the terminal. */
SUBPROC__CHILD_FN static void child_take_terminal(subproc__child_plan *pl) {
  if (pl->foreground && tcsetpgrp(pl->fg_tty, getpgrp()) < 0)
    child_fail(pl, STEP_TCSETPGRP, errno, pl->fg_tty);
}

/* Before the ids change, so that a privileged parent can raise limits for
 * an unprivileged child. prlimit64 on pid 0 is this process only (a
 * CLONE_VM child still has its own limits) and takes 64-bit values on
 * every architecture, SUBPROC_RLIM_INFINITY being the kernel's infinity. */
SUBPROC__CHILD_FN static void child_set_rlimits(subproc__child_plan *pl) {
  for (size_t i = 0; i < pl->n_rlimits; i++) {
    const subproc_rlimit *r = &pl->rlimits[i];
#if defined(HAVE_SYS_PRLIMIT64)
    struct {
      uint64_t cur, max;
    } lim = {r->soft, r->hard};
    long rc = syscall(SYS_prlimit64, 0, r->resource, &lim, NULL);
#else
    /* The parent checked that the values fit rlim_t. */
    struct rlimit lim;
    lim.rlim_cur =
        r->soft == SUBPROC_RLIM_INFINITY ? RLIM_INFINITY : (rlim_t)r->soft;
    lim.rlim_max =
        r->hard == SUBPROC_RLIM_INFINITY ? RLIM_INFINITY : (rlim_t)r->hard;
    int rc = setrlimit(r->resource, &lim);
#endif
    if (rc < 0) {
      pl->report.arg = (int)i;
      child_fail(pl, STEP_SETRLIMIT, errno, -1);
    }
  }
}

/* After the ids and preexec (a change of credentials clears the setting).
 * If the parent died before the prctl, nobody will send the signal: the
 * child sends it to itself, and goes on only where it would have gone on
 * had the parent died a moment later (the signal ignored or blocked). */
SUBPROC__CHILD_FN static void child_watch_parent(subproc__child_plan *pl) {
#if defined(HAVE_PR_SET_PDEATHSIG)
  if (!pl->pdeathsig)
    return;
  if (prctl(PR_SET_PDEATHSIG, (unsigned long)pl->pdeathsig, 0UL, 0UL, 0UL) <
      0) {
    pl->report.arg = PR_SET_PDEATHSIG;
    child_fail(pl, STEP_PRCTL, errno, -1);
  }
  if (getppid() != pl->parent_pid)
    kill(getpid(), pl->pdeathsig);
#else
  (void)pl; /* refused in the parent */
#endif
}

SUBPROC__CHILD_FN static void child_no_new_privs(subproc__child_plan *pl) {
#if defined(HAVE_PR_SET_NO_NEW_PRIVS)
  if (pl->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1UL, 0UL, 0UL, 0UL) < 0) {
    pl->report.arg = PR_SET_NO_NEW_PRIVS;
    child_fail(pl, STEP_PRCTL, errno, -1);
  }
#else
  (void)pl; /* refused in the parent */
#endif
}

/* Each candidate of the PATH search in turn; the first error that is not
 * "not there" is reported, as os.execvpe does. The environment is read
 * now, so a preexec callback's setenv() counts. */
SUBPROC__CHILD_FN static void child_exec(subproc__child_plan *pl) {
  int saved = 0;
  for (char **cand = pl->exec_list; *cand; cand++) {
    execve(*cand, pl->argv, pl->envp ? pl->envp : environ);
    if (errno != ENOENT && errno != ENOTDIR && saved == 0)
      saved = errno;
    else if (saved == 0 && cand[1] == NULL)
      saved = errno;
  }
  child_fail(pl, STEP_EXEC, saved ? saved : ENOENT, -1);
}

/* The move fallback (no CLONE_INTO_CGROUP): "0" written to cgroup.procs
 * moves the writer. First of all, so that neither preexec nor the program
 * runs a single instruction outside the cgroup, nor forks anything that
 * would stay behind. */
SUBPROC__CHILD_FN static void child_join_cgroup(subproc__child_plan *pl) {
  ssize_t r;
  do
    r = write(pl->cgroup_procs, "0", 1);
  while (r < 0 && errno == EINTR);
  if (r != 1)
    child_fail(pl, STEP_CGROUP, r < 0 ? errno : EIO, -1);
}

void subproc__child_run(subproc__child_plan *pl) {
  if (pl->cgroup_move)
    child_join_cgroup(pl);
  child_reset_signals(pl);
  child_unshare_fds(pl);
  child_plumb_fds(pl);
  if (pl->cwd && chdir(pl->cwd) < 0)
    child_fail(pl, STEP_CHDIR, errno, -1);
  if (pl->set_umask)
    umask(pl->umask);
  if (pl->setsid && setsid() < 0)
    child_fail(pl, STEP_SETSID, errno, -1);
  if (pl->setpgid && setpgid(0, pl->pgid) < 0)
    child_fail(pl, STEP_SETPGID, errno, -1);
  child_take_terminal(pl);
  child_set_rlimits(pl);
  child_set_ids(pl);
  sigprocmask(SIG_SETMASK, &pl->child_mask, NULL);
  if (pl->preexec) {
    int r = pl->preexec(pl->preexec_arg);
    if (r != 0)
      child_fail(pl, STEP_PREEXEC, r > 0 && r < 4096 ? r : 0, -1);
  }
  child_watch_parent(pl);
  child_no_new_privs(pl);
  if (pl->close_fds)
    child_close_fds(pl);
  child_exec(pl);
  _exit(127); /* not reached: child_exec ends in child_fail */
}
