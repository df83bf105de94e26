/* The POSIX spawn engine: the methods that create the child from a plan
 * (clone3/clone with CLONE_VM|CLONE_VFORK, fork for preexec, posix_spawn
 * when asked) and the checks of what the child reports.
 *
 * The cheapest method the options allow is used: the clone path shares
 * the parent's memory and, with close_fds, its fd table too (CLONE_FILES),
 * of which the child copies only the fds it keeps: the spawn costs the
 * same with 10 or 10,000 fds open in the parent. Every child gets a pidfd
 * at birth (CLONE_PIDFD; pidfd_open right after fork and posix_spawn), so
 * that waits and signals never name another process. */
#include "subproc_config.h"

#include <errno.h>
#include <sched.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawn.h"

extern char **environ;

#ifndef CLONE_CLEAR_SIGHAND
#define CLONE_CLEAR_SIGHAND 0x100000000ULL
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x1000
#endif

#if defined(__SANITIZE_THREAD__)
#define SUBPROC__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SUBPROC__TSAN 1
#endif
#endif

/* The child's stack for clone(): the child only runs subproc__child_run. */
#define CHILD_STACK_SIZE (64 * 1024)

static const char *const step_names[STEP_COUNT] = {
    "",          "close_fds", "dup2",   "chdir",     "setsid",    "setpgid",
    "setgroups", "setgid",    "setuid", "preexec",   "close_fds", "exec",
    "pipe",      "setrlimit", "prctl",  "tcsetpgrp", "cgroup",    "tiocsctty"};

/* ------------------------------------------------------------------ */
/* Validation and the plan                                             */
/* ------------------------------------------------------------------ */

/* What only POSIX refuses; the rest is subproc__options_validate. */
static int validate(const subproc_options *o, subproc_error *err) {
  if (o->creationflags || o->startupinfo)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "startupinfo", NULL, -1,
                         "startupinfo and creationflags are only supported "
                         "on Windows platforms");
  if (o->set_process_group && o->process_group < 0)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "process_group", NULL, -1,
                         "process_group: %d is negative", o->process_group);
  if ((o->cgroup || o->cgroup_parent) && o->preexec && !o->cgroup_move_fallback)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "cgroup", NULL, -1,
                         "cgroup: preexec needs fork(), which cannot start "
                         "the child inside a cgroup; set "
                         "cgroup_move_fallback to let it move itself in");
  return subproc__limits_validate(o, err);
}

/* posix_spawn can do what the options ask? (Python's _USE_POSIX_SPAWN.) */
static int posix_spawn_usable(const subproc__child_plan *pl) {
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
  /* Nor can it set limits, the parent-death signal, no_new_privs or the
   * terminal's foreground group, nor make a pty the controlling terminal. */
  if (pl->n_rlimits || pl->pdeathsig || pl->no_new_privs || pl->foreground ||
      pl->ctty >= 0)
    return 0;
  return !pl->preexec && !pl->set_uid && !pl->set_gid && !pl->set_groups &&
         pl->cgroup_dir < 0 && !pl->set_umask &&
         !(pl->close_fds && pl->n_keep) && !(pl->setsid && pl->setpgid);
}

static subproc_spawn_method choose_method(const subproc_options *o,
                                          const subproc__child_plan *pl) {
  if (o->preexec || o->spawn_method == SUBPROC_SPAWN_FORK)
    return SUBPROC_SPAWN_FORK;
  if (o->spawn_method == SUBPROC_SPAWN_POSIX_SPAWN && posix_spawn_usable(pl))
    return SUBPROC_SPAWN_POSIX_SPAWN;
  return SUBPROC_SPAWN_VFORK;
}

void subproc__os_plan_free(subproc__plan *pr) {
  if (!pr)
    return;
  for (int i = 0; i < pr->n_own; i++)
    subproc__close_quietly(pr->own[i]);
  subproc__close_quietly(pr->pty_master);
  subproc__close_quietly(pr->pty_slave);
  if (pr->devnull >= 0)
    subproc__devnull_release();
  subproc__limits_release(pr);
  free(pr->argv);
  free(pr->envp);
  free(pr->pl.exec_list);
  free(pr->pl.keep);
  free(pr->pl.groups);
  subproc__cgroup_release(pr->cgroup);
  free(pr);
}

int subproc__os_prepare(const char *const *argv, int verbatim,
                        const subproc_options *o, int tree,
                        subproc__plan **plan, subproc__plan_info *info,
                        subproc_error *err) {
  (void)verbatim; /* a command string is argv[0] on POSIX, as in Python */
  *plan = NULL;
  int rc = validate(o, err);
  if (rc < 0)
    return rc;
  subproc__plan *pr = calloc(1, sizeof *pr);
  if (!pr)
    return subproc__fail_os(err, ENOMEM, "popen", NULL, -1);
  pr->devnull = -1;
  pr->pty_master = pr->pty_slave = pr->pl.ctty = -1;
  for (int i = 0; i < 3; i++)
    pr->parent_end[i] = pr->pl.src[i] = -1;
  rc = subproc__prepare_plan(pr, argv, o, tree, err);
  if (rc < 0) {
    subproc__os_plan_free(pr);
    return rc;
  }
  pr->method = choose_method(o, &pr->pl);
  info->executable = pr->executable;
  info->argv = (const char *const *)pr->argv;
  *plan = pr;
  return 0;
}

/* ------------------------------------------------------------------ */
/* The clone path                                                      */
/* ------------------------------------------------------------------ */

#if defined(HAVE_CLONE)
SUBPROC__CHILD_FN static int child_entry(void *arg) { subproc__child_run(arg); }
#endif

/* CLONE_PIDFD unless a test turned pidfds off. */
static uint64_t pidfd_flag(void) {
  return subproc__test_flags() & SUBPROC__NO_PIDFD ? 0 : CLONE_PIDFD;
}

#if defined(SUBPROC__HAVE_CLONE3)
static atomic_int clone3_works = 1;
static atomic_int into_cgroup_works = 1; /* CLONE_INTO_CGROUP: Linux 5.7 */

/* 1 when clone3 ran (pid or errno set; a failure to start the child in
 * its cgroup also sets the report), 0 when the kernel (< 5.5, or < 5.7
 * for a cgroup) or a seccomp filter refuses it and clone() must do.
 * stack NULL: a fork-style copy of the memory (flags without CLONE_VM). */
static int try_clone3(subproc__child_plan *pl, uint64_t flags, void *stack,
                      int *pidfd, pid_t *pid) {
  int into = pl->cgroup_dir >= 0;
  if (!atomic_load(&clone3_works) ||
      (subproc__test_flags() & SUBPROC__NO_CLONE3) ||
      (into && !atomic_load(&into_cgroup_works)))
    return 0;
  pl->sighand_cleared = 1;
  *pid = subproc__clone3_into(flags | CLONE_CLEAR_SIGHAND | pidfd_flag(), pidfd,
                              pl->cgroup_dir, stack,
                              stack ? CHILD_STACK_SIZE : 0, child_entry, pl);
  if (*pid >= 0)
    return 1;
  int e = errno;
  if (into && e != ENOSYS && e != E2BIG) {
    /* clone3 works (the probe said so): the cgroup refused the child. */
    if (e != EAGAIN && e != ENOMEM)
      pl->report = (subproc__child_report){STEP_CGROUP, e, -1};
    return 1;
  }
  if (!into && e != ENOSYS && e != EINVAL && e != EPERM)
    return 1;
  pl->sighand_cleared = 0;
  atomic_store(e == E2BIG ? &into_cgroup_works : &clone3_works, 0);
  errno = e;
  return 0;
}
#endif

/* No way to start the child inside its cgroup: with cgroup_move_fallback
 * it moves itself in (child.c), else the spawn fails (ENOSYS, reported
 * at step "cgroup"). */
static int cgroup_fallback(subproc__child_plan *pl) {
  if (pl->cgroup_procs < 0) {
    pl->report = (subproc__child_report){STEP_CGROUP, ENOSYS, -1};
    errno = ENOSYS;
    return 0;
  }
  pl->cgroup_move = 1;
  return 1;
}

static pid_t spawn_vfork(subproc__child_plan *pl, int *pidfd) {
  pid_t pid;
#if defined(HAVE_CLONE)
  uint64_t flags = CLONE_VM | CLONE_VFORK;
  if (pl->share_files)
    flags |= CLONE_FILES;
  void *stack = malloc(CHILD_STACK_SIZE);
  if (!stack)
    return -1;
#if defined(SUBPROC__HAVE_CLONE3)
  if (try_clone3(pl, flags, stack, pidfd, &pid)) {
    free(stack);
    return pid;
  }
#endif
  if (pl->cgroup_dir >= 0 && !cgroup_fallback(pl)) {
    free(stack);
    return -1;
  }
  /* Kernels before 5.2 ignore CLONE_PIDFD: *pidfd stays -1 then. */
  pid = clone(child_entry, (char *)stack + CHILD_STACK_SIZE,
              (int)(flags | pidfd_flag()) | SIGCHLD, pl, pidfd);
  free(stack);
#elif defined(HAVE_VFORK)
  (void)pidfd;
  if (pl->cgroup_dir >= 0 && !cgroup_fallback(pl))
    return -1;
  pid = vfork();
  if (pid == 0)
    subproc__child_run(pl);
#else
#error "no clone() and no vfork(): add a spawn method for this platform"
#endif
  return pid;
}

#if defined(HAVE_CLONE) && !defined(SUBPROC__TSAN)
SUBPROC__CHILD_FN static int probe_entry(void *arg) {
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
    pid = subproc__clone3(CLONE_VM | CLONE_VFORK, NULL, stack, sizeof stack,
                          probe_entry, &flag);
    /* try_clone3 learns it here: a spawn into a cgroup then knows that an
     * EINVAL or EPERM of its clone3 came from the cgroup. */
    if (pid < 0 && (errno == ENOSYS || errno == EINVAL || errno == EPERM))
      atomic_store(&clone3_works, 0);
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
  /* No verdict (the probe could not start a child: EAGAIN, ENOMEM): this
   * spawn takes the fork path, which works everywhere and reports the same
   * error; the next spawn probes again. */
  return k > 0;
#else
  return 1;
#endif
}

int subproc__test_vm_shared(void) { return vm_shared_with_child(); }

int subproc__test_clone_into_built(void) {
#if defined(SUBPROC__HAVE_CLONE3) && !defined(SUBPROC__TSAN)
  return 1;
#else
  return 0;
#endif
}

/* ------------------------------------------------------------------ */
/* The fork path                                                       */
/* ------------------------------------------------------------------ */

/* The report read from the error pipe: all of it, none (exec closed the
 * pipe), or a bad one (STEP_COUNT). */
static void read_report(int fd, subproc__child_report *rep) {
  ssize_t n = subproc__read_full(fd, rep, sizeof *rep);
  if (n == 0)
    rep->step = STEP_NONE;
  else if (n != (ssize_t)sizeof *rep)
    rep->step = STEP_COUNT;
}

/* The write end must survive close_fds until exec closes it: it joins the
 * sorted keep list (prepare_plan left room for it). */
static void keep_errpipe(subproc__child_plan *pl, int fd) {
  size_t k = pl->n_keep++;
  while (k > 0 && pl->keep[k - 1] > fd) {
    pl->keep[k] = pl->keep[k - 1];
    k--;
  }
  pl->keep[k] = fd;
  pl->errpipe = fd;
}

/* fork() into the child's cgroup: clone3 with CLONE_INTO_CGROUP and no
 * stack of its own, a copy of the memory as fork makes. Without preexec
 * the child only makes system calls (child.c), so it needs none of the
 * C library's fork bookkeeping (atfork handlers, its locks and cached
 * thread id); preexec runs any code and gets a real fork(), so with it
 * the child can only move itself in (the fallback). */
static pid_t fork_into_cgroup(subproc__child_plan *pl, int *pidfd) {
#if defined(SUBPROC__HAVE_CLONE3) && !defined(SUBPROC__TSAN)
  pid_t pid;
  if (!pl->preexec && try_clone3(pl, 0, NULL, pidfd, &pid))
    return pid;
#else
  (void)pidfd;
#endif
  return cgroup_fallback(pl) ? fork() : -1;
}

static pid_t spawn_fork(subproc__child_plan *pl, int *pidfd) {
  int ep[2];
  if (subproc__pipe(ep) < 0) {
    pl->report = (subproc__child_report){STEP_PIPE, errno, -1};
    return -1;
  }
  keep_errpipe(pl, ep[1]);
  pid_t pid = pl->cgroup_dir >= 0 ? fork_into_cgroup(pl, pidfd) : fork();
  if (pid == 0)
    subproc__child_run(pl);
  int saved = errno;
  close(ep[1]);
  if (pid > 0) {
    if (*pidfd < 0)
      *pidfd = subproc__pidfd_open(pid);
    read_report(ep[0], &pl->report);
  }
  close(ep[0]);
  errno = saved;
  return pid;
}

/* ------------------------------------------------------------------ */
/* posix_spawn                                                         */
/* ------------------------------------------------------------------ */

static int build_spawn_attrs(const subproc__child_plan *pl,
                             posix_spawn_file_actions_t *fa,
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

/* Each PATH candidate in turn, as the other methods do. posix_spawn says
 * only that the child failed, not at which step: a failure is done again
 * by the clone path, which knows (spawn_with). */
static pid_t spawn_posix(subproc__child_plan *pl, int *pidfd) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&at);
  int rc = build_spawn_attrs(pl, &fa, &at);
  pid_t pid = -1;
  for (char **cand = pl->exec_list; !rc && *cand && pid < 0; cand++) {
    /* Skip candidates that plainly do not exist instead of paying a
     * whole spawn for each ENOENT along PATH. */
    if (cand[1] && access(*cand, F_OK) < 0 &&
        (errno == ENOENT || errno == ENOTDIR))
      continue;
    if (posix_spawn(&pid, *cand, &fa, &at, pl->argv,
                    pl->envp ? pl->envp : environ) != 0)
      pid = -1;
  }
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  if (pid > 0)
    *pidfd = subproc__pidfd_open(pid);
  return pid;
}

/* ------------------------------------------------------------------ */
/* The launch                                                          */
/* ------------------------------------------------------------------ */

/* A report is believed only if it makes sense: a known step, an errno in
 * range (preexec may give 0), an fd that can be one. */
static int report_valid(const subproc__child_report *r) {
  if (r->step <= STEP_NONE || r->step >= STEP_COUNT || r->fd < -1)
    return 0;
  int min = r->step == STEP_PREEXEC ? 0 : 1;
  return r->err >= min && r->err < 4096;
}

static int report_error(const subproc__plan *pr, subproc_error *err) {
  const subproc__child_report *rep = &pr->pl.report;
  if (!report_valid(rep))
    return subproc__fail(err, SUBPROC_ESUBPROCESS, 0, "exec", pr->executable,
                         -1, "bad error report from child (step %d, errno %d)",
                         rep->step, rep->err);
  const char *step = step_names[rep->step];
  switch (rep->step) {
  case STEP_EXEC:
    return subproc__fail_os(err, rep->err, step, pr->executable, -1);
  case STEP_CHDIR:
    return subproc__fail_os(err, rep->err, step, pr->pl.cwd, -1);
  case STEP_DUP:
    return subproc__fail_os(err, rep->err, step, NULL, rep->fd);
  case STEP_CGROUP:
    if (rep->err == ENOSYS)
      return subproc__fail(
          err, -ENOSYS, ENOSYS, step, pr->cgroup_arg, -1,
          "cgroup '%.100s': starting the child inside needs clone3 with "
          "CLONE_INTO_CGROUP (Linux 5.7), not available here; "
          "cgroup_move_fallback lets it move itself in",
          pr->cgroup_arg);
    return subproc__fail_os(err, rep->err, step, pr->cgroup_arg, -1);
  case STEP_PREEXEC:
    return subproc__fail(err, SUBPROC_ESUBPROCESS, rep->err, step, NULL, -1,
                         "preexec: the callback failed%s%s",
                         rep->err ? ": " : "",
                         rep->err ? strerror(rep->err) : "");
  case STEP_SETRLIMIT:
  case STEP_PRCTL:
  case STEP_TCSETPGRP:
    return subproc__limits_report(pr, err);
  default:
    return subproc__fail_os(err, rep->err, step, NULL, -1);
  }
}

static atomic_int files_unshare_works = 1;

/* CLONE_FILES needs close_range(CLOSE_RANGE_UNSHARE) (Linux 5.9) in the
 * child; without it (or with close_fds off) the child copies the table. */
static int share_files(const subproc__plan *pr) {
#if defined(HAVE_SYS_CLOSE_RANGE)
  return pr->method == SUBPROC_SPAWN_VFORK && pr->pl.close_fds &&
         atomic_load(&files_unshare_works) &&
         !(subproc__test_flags() & SUBPROC__NO_CLONE_FILES);
#else
  (void)pr;
  return 0;
#endif
}

/* A child that reported a failure has exited or is about to; one whose
 * report makes no sense may still run, and is killed first. */
static void reap_failed(pid_t pid, int pidfd, int kill_first) {
  if (pid > 0 && kill_first)
    kill(pid, SIGKILL); /* not reaped yet: pid still names it */
  if (pid > 0)
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
  subproc__close_quietly(pidfd);
}

static pid_t spawn_with(subproc__plan *pr, int *pidfd) {
  subproc__child_plan *pl = &pr->pl;
  *pidfd = -1;
  memset(&pl->report, 0, sizeof pl->report);
  if (pr->method == SUBPROC_SPAWN_FORK)
    return spawn_fork(pl, pidfd);
  if (pr->method == SUBPROC_SPAWN_POSIX_SPAWN) {
    pid_t pid = spawn_posix(pl, pidfd);
    if (pid > 0)
      return pid;
    pr->method = SUBPROC_SPAWN_VFORK; /* to learn the failing step */
  }
  pl->share_files = share_files(pr);
  pid_t pid = spawn_vfork(pl, pidfd);
  if (pl->share_files && pl->report.step == STEP_UNSHARE &&
      (pl->report.err == ENOSYS || pl->report.err == EINVAL ||
       pl->report.err == EPERM)) {
    atomic_store(&files_unshare_works, 0);
    reap_failed(pid, *pidfd, 0);
    return spawn_with(pr, pidfd);
  }
  return pid;
}

static const char *method_step(subproc_spawn_method m) {
  return m == SUBPROC_SPAWN_FORK    ? "fork"
         : m == SUBPROC_SPAWN_VFORK ? "clone"
                                    : "posix_spawn";
}

/* The child runs: hand its OS part and the parent's pipe ends over. */
static void hand_over(subproc__plan *pr, pid_t pid, int pidfd, subproc__os *os,
                      subproc__spawned *out) {
  os->pid = pid;
  os->handle =
      pidfd >= 0 ? subproc__above_std(pidfd) : subproc__pidfd_open(pid);
  os->group = pr->group < 0 ? pid : pr->group;
  os->job = 0;
  os->flags = 0;
  os->cgroup = NULL;
  if (pr->cgroup && subproc__cgroup_owned(pr->cgroup)) {
    os->cgroup = pr->cgroup; /* the object removes it after the reap */
    pr->cgroup = NULL;
  }
  if (pr->devnull >= 0) { /* the object keeps the shared /dev/null open */
    os->flags |= SUBPROC__OS_DEVNULL;
    pr->devnull = -1;
  }
  subproc__limits_hand_over(pr, os);
  out->args = pr->argv;
  pr->argv = NULL;
  out->method = pr->method;
  out->pty = pr->pty_master; /* -1 without a pty */
  pr->pty_master = -1;
  for (int i = 0; i < 3; i++) {
    out->fds[i] = pr->parent_end[i];
    for (int k = 0; k < pr->n_own; k++)
      if (pr->own[k] == pr->parent_end[i])
        pr->own[k] = -1; /* the object owns it now */
  }
}

int subproc__os_launch(subproc__plan *pr, subproc__os *os,
                       subproc__spawned *out, subproc_error *err) {
  /* All signals blocked: no handler may run in the child before it has
   * reset them; the child then installs child_mask itself. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  if (pr->method != SUBPROC_SPAWN_FORK && !vm_shared_with_child())
    pr->method = SUBPROC_SPAWN_FORK;
  else if (pr->cgroup)
    vm_shared_with_child(); /* for its verdict on clone3 (try_clone3) */
  if (pr->sigmask)
    pr->pl.child_mask = *pr->sigmask;
  else if (pr->pl.restore_signals)
    sigemptyset(&pr->pl.child_mask);
  else
    pr->pl.child_mask = old;
  int pidfd;
  pid_t pid = spawn_with(pr, &pidfd);
  int spawn_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);

  if (pid < 0 && pr->pl.report.step == STEP_NONE)
    return subproc__fail_os(err, spawn_errno, method_step(pr->method), NULL,
                            -1);
  if (pr->pl.report.step != STEP_NONE) {
    reap_failed(pid, pidfd, !report_valid(&pr->pl.report));
    return report_error(pr, err);
  }
  hand_over(pr, pid, pidfd, os, out);
  return 0;
}
