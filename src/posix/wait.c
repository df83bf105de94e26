/* A child's OS part on POSIX: its pidfd, waiting (waitid, so a child can be
 * seen to exit without being reaped), signals, and the status text.
 *
 * With a pidfd nothing here can name another process: waitid(P_PIDFD) and
 * pidfd_send_signal() address the child itself, even after someone else
 * reaped it and its pid was reused. Without one (kernels before 5.3) the
 * pid is used, as Python does. */
#include "subproc_config.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "posix.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* PIDFD_GET_INFO (Linux 6.15): the exit status of a child that someone
 * else reaped, as long as we hold its pidfd. The kernel ABI, declared here
 * since distribution headers may predate it. */
typedef struct pidfd_info {
  uint64_t mask, cgroupid;
  uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
  int32_t exit_code;
} pidfd_info;
#define PIDFD_INFO_EXIT_ (1ULL << 3)
#define PIDFD_GET_INFO_ _IOWR(0xFF, 11, pidfd_info)

int subproc__pidfd_open(pid_t pid) {
#if defined(HAVE_SYS_PIDFD_OPEN)
  static atomic_int unsupported; /* kernel older than 5.3 */
  if (atomic_load(&unsupported) || (subproc__test_flags() & SUBPROC__NO_PIDFD))
    return -1;
  int saved = errno;
  int fd = (int)syscall(SYS_pidfd_open, pid, 0); /* close-on-exec */
  if (fd < 0 && errno == ENOSYS)
    atomic_store(&unsupported, 1);
  errno = saved;
  return subproc__above_std(fd);
#else
  (void)pid;
  return -1;
#endif
}

/* ------------------------------------------------------------------ */
/* Statuses                                                            */
/* ------------------------------------------------------------------ */

/* The wait status and Python's returncode of what waitid reported. */
static void status_of(const siginfo_t *si, const struct rusage *ru,
                      subproc__exit *ex) {
  int v = si->si_status;
  memset(ex, 0, sizeof *ex);
  switch (si->si_code) {
  case CLD_EXITED:
    ex->returncode = v;
    ex->raw_status = (v & 0xff) << 8;
    break;
  case CLD_DUMPED:
    ex->core_dumped = 1;
    ex->returncode = -v;
    ex->raw_status = v | 0x80;
    break;
  case CLD_KILLED:
    ex->returncode = -v;
    ex->raw_status = v;
    break;
  default: /* stopped or traced: Python reports -WSTOPSIG */
    ex->returncode = -v;
    ex->raw_status = (v << 8) | 0x7f;
    break;
  }
  ex->user_s = (double)ru->ru_utime.tv_sec + (double)ru->ru_utime.tv_usec / 1e6;
  ex->system_s =
      (double)ru->ru_stime.tv_sec + (double)ru->ru_stime.tv_usec / 1e6;
  ex->max_rss_kb = ru->ru_maxrss; /* kilobytes on Linux */
}

static void status_of_raw(int raw, subproc__exit *ex) {
  memset(ex, 0, sizeof *ex);
  ex->raw_status = raw;
  if (WIFEXITED(raw))
    ex->returncode = WEXITSTATUS(raw);
  else if (WIFSIGNALED(raw))
    ex->returncode = -WTERMSIG(raw), ex->core_dumped = WCOREDUMP(raw) != 0;
  else if (WIFSTOPPED(raw))
    ex->returncode = -WSTOPSIG(raw);
}

/* Someone else reaped the child. With its pidfd the kernel may still know
 * the status (Linux 6.15); otherwise it is lost. */
static int reaped_elsewhere(subproc__os *os, subproc__exit *ex) {
  if (os->handle < 0) {
    /* No pidfd: Python reports 0, and so do we (docs/python-mapping.md). */
    if (ex)
      memset(ex, 0, sizeof *ex);
    return 1;
  }
  pidfd_info info;
  memset(&info, 0, sizeof info);
  info.mask = PIDFD_INFO_EXIT_;
  if (ex && !(subproc__test_flags() & SUBPROC__NO_PIDFD_INFO) &&
      /* syscall(): the libcs declare ioctl's request int or unsigned long */
      syscall(SYS_ioctl, (int)os->handle, (unsigned long)PIDFD_GET_INFO_,
              &info) == 0 &&
      (info.mask & PIDFD_INFO_EXIT_)) {
    status_of_raw(info.exit_code, ex);
    return 1;
  }
  return -ECHILD;
}

/* ------------------------------------------------------------------ */
/* Waiting                                                             */
/* ------------------------------------------------------------------ */

/* waitid with its rusage argument (glibc's wrapper has none). */
static int wait_id(subproc__os *os, siginfo_t *si, int options,
                   struct rusage *ru) {
  static atomic_int no_p_pidfd; /* Linux 5.3 has pidfds but not P_PIDFD */
  long r;
  memset(si, 0, sizeof *si);
  do {
    if (os->handle >= 0 && !atomic_load(&no_p_pidfd)) {
      r = syscall(SYS_waitid, P_PIDFD, (int)os->handle, si, options, ru);
      if (r < 0 && errno == EINVAL) {
        atomic_store(&no_p_pidfd, 1);
        continue;
      }
    } else {
      r = syscall(SYS_waitid, P_PID, (id_t)os->pid, si, options, ru);
    }
  } while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : 0;
}

/* 1 exited (reaped if asked), 0 running, <0 error. */
static int try_wait(subproc__os *os, int reap, int block, subproc__exit *ex) {
  siginfo_t si;
  struct rusage ru;
  memset(&ru, 0, sizeof ru);
  int options = WEXITED | (reap ? 0 : WNOWAIT) | (block ? 0 : WNOHANG);
  int rc = wait_id(os, &si, options, &ru);
  if (rc == -ECHILD)
    return reaped_elsewhere(os, reap ? ex : NULL);
  if (rc < 0)
    return rc;
  if (si.si_pid == 0)
    return 0;
  if (reap && ex)
    status_of(&si, &ru, ex);
  return 1;
}

static void sleep_s(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  nanosleep(&ts, NULL);
}

/* Without a pidfd a timed wait polls with backoff, as Python does. */
static int wait_backoff(subproc__os *os, double deadline, int reap,
                        subproc__exit *ex) {
  double delay = 0.0005;
  for (;;) {
    int rc = try_wait(os, reap, 0, ex);
    if (rc != 0)
      return rc;
    double left = deadline - subproc__now();
    if (left <= 0)
      return 0;
    sleep_s(delay < left ? delay : left);
    delay = delay * 2 < 0.05 ? delay * 2 : 0.05;
  }
}

static int wait_for(subproc__os *os, double deadline, int reap,
                    subproc__exit *ex) {
  if (deadline < 0) /* sleeps in the kernel until the child exits */
    return try_wait(os, reap, 1, ex);
  for (;;) {
    int rc = try_wait(os, reap, 0, ex);
    if (rc != 0 || subproc__ms_left(deadline) == 0)
      return rc;
    if (os->handle < 0)
      return wait_backoff(os, deadline, reap, ex);
    struct pollfd pfd = {.fd = (int)os->handle, .events = POLLIN};
    if (poll(&pfd, 1, subproc__ms_left(deadline)) < 0 && errno != EINTR)
      return -errno;
  }
}

int subproc__os_wait(subproc__os *os, double deadline, int reap,
                     subproc__exit *ex) {
  int rc = wait_for(os, deadline, reap, ex);
  /* foreground: the terminal goes back once the child is gone for good. */
  if (reap && rc != 0 && (os->flags & SUBPROC__OS_FOREGROUND) &&
      (rc == 1 || rc == -ECHILD))
    subproc__foreground_restore(os);
  if (reap && os->cgroup && (rc == 1 || rc == -ECHILD)) {
    /* Reaped: what the child left in its cgroup goes too. */
    subproc__cgroup_finish(os->cgroup, rc == 1 ? ex : NULL, 1);
    os->cgroup = NULL;
  }
  return rc;
}

/* Children without a pidfd are asked now and then. */
static int any_without_pidfd(subproc__os *const *os, size_t n, size_t *index) {
  for (size_t i = 0; i < n; i++) {
    if (os[i]->handle >= 0)
      continue;
    int rc = try_wait(os[i], 0, 0, NULL);
    if (rc != 0) {
      *index = i;
      return rc < 0 && rc != -ECHILD ? rc : 1;
    }
  }
  return 0;
}

/* One poll over the pidfds: O(1) system calls however many are alive. */
static int poll_pidfds(subproc__os *const *os, size_t n, struct pollfd *pfds,
                       size_t *who, double deadline, size_t *index) {
  size_t k = 0;
  int blind = 0;
  for (size_t i = 0; i < n; i++)
    if (os[i]->handle >= 0) {
      pfds[k] = (struct pollfd){.fd = (int)os[i]->handle, .events = POLLIN};
      who[k++] = i;
    } else {
      blind = 1;
    }
  int ms = subproc__ms_left(deadline);
  if (blind && (ms < 0 || ms > 10))
    ms = 10;
  int r = poll(pfds, k, ms);
  if (r < 0)
    return errno == EINTR ? 0 : -errno;
  for (size_t j = 0; j < k; j++)
    if (pfds[j].revents) {
      *index = who[j];
      return 1;
    }
  return 0;
}

int subproc__os_wait_any(subproc__os *const *os, size_t n, double deadline,
                         size_t *index) {
  struct pollfd *pfds = malloc(n * sizeof *pfds);
  size_t *who = malloc(n * sizeof *who);
  int rc = pfds && who ? 0 : -ENOMEM;
  while (rc == 0) {
    rc = any_without_pidfd(os, n, index);
    if (rc == 0)
      rc = poll_pidfds(os, n, pfds, who, deadline, index);
    if (rc == 0 && deadline >= 0 && subproc__ms_left(deadline) == 0)
      break;
  }
  free(who);
  free(pfds);
  return rc;
}

/* ------------------------------------------------------------------ */
/* Signals                                                             */
/* ------------------------------------------------------------------ */

int subproc__os_signal(subproc__os *os, int sig) {
#if defined(HAVE_SYS_PIDFD_SEND_SIGNAL)
  if (os->handle >= 0) {
    if (syscall(SYS_pidfd_send_signal, (int)os->handle, sig, NULL, 0) == 0)
      return 0;
    if (errno != ENOSYS)
      return errno == ESRCH ? 0 : -errno;
  }
#endif
  if (kill((pid_t)os->pid, sig) < 0 && errno != ESRCH)
    return -errno;
  return 0;
}

int subproc__os_signal_group(subproc__os *os, int sig) {
  if (kill(-(pid_t)os->group, sig) < 0 && errno != ESRCH)
    return -errno;
  return 0;
}

int subproc__os_kill_cgroup(subproc__os *os) {
  return subproc__cgroup_kill(os->cgroup);
}

int subproc__os_exit_fd(const subproc__os *os) { return (int)os->handle; }
void *subproc__os_exit_handle(const subproc__os *os) {
  (void)os;
  return NULL;
}

void subproc__os_release(subproc__os *os) {
  if (os->cgroup) /* not reaped through subproc__os_wait */
    subproc__cgroup_finish(os->cgroup, NULL, 0);
  os->cgroup = NULL;
  subproc__close_quietly((int)os->handle);
  os->handle = -1;
  if (os->flags & SUBPROC__OS_FOREGROUND) /* never reaped: just close */
    subproc__close_quietly(os->tty);
  os->flags &= ~SUBPROC__OS_FOREGROUND;
  if (os->flags & SUBPROC__OS_DEVNULL)
    subproc__devnull_release();
  os->flags &= ~SUBPROC__OS_DEVNULL;
}

/* ------------------------------------------------------------------ */
/* CalledProcessError's wording                                        */
/* ------------------------------------------------------------------ */

/* Python's signal.Signals: for a number with several names, the one
 * first in alphabetical order (SIGABRT, not SIGIOT). */
static const struct {
  const char *name;
  int value;
} signal_names[] = {
#define S(name) {#name, name},
    S(SIGABRT) S(SIGALRM) S(SIGBUS) S(SIGCHLD)
#ifdef SIGCLD
        S(SIGCLD)
#endif
            S(SIGCONT)
#ifdef SIGEMT
                S(SIGEMT)
#endif
                    S(SIGFPE) S(SIGHUP) S(SIGILL)
#ifdef SIGINFO
                        S(SIGINFO)
#endif
                            S(SIGINT)
#ifdef SIGIO
                                S(SIGIO)
#endif
#ifdef SIGIOT
                                    S(SIGIOT)
#endif
                                        S(SIGKILL) S(SIGPIPE)
#ifdef SIGPOLL
                                            S(SIGPOLL)
#endif
                                                S(SIGPROF)
#ifdef SIGPWR
                                                    S(SIGPWR)
#endif
                                                        S(SIGQUIT)
#ifdef SIGRTMAX
                                                            {"SIGRTMAX", -1},
    {"SIGRTMIN", -2},
#endif
    S(SIGSEGV)
#ifdef SIGSTKFLT
        S(SIGSTKFLT)
#endif
            S(SIGSTOP) S(SIGSYS) S(SIGTERM) S(SIGTRAP) S(SIGTSTP) S(SIGTTIN)
                S(SIGTTOU) S(SIGURG) S(SIGUSR1) S(SIGUSR2) S(SIGVTALRM)
#ifdef SIGWINCH
                    S(SIGWINCH)
#endif
                        S(SIGXCPU) S(SIGXFSZ)
#undef S
};

static const char *signal_name(int sig) {
  for (size_t i = 0; i < sizeof signal_names / sizeof signal_names[0]; i++) {
    int v = signal_names[i].value;
#ifdef SIGRTMAX
    /* Not constants in the C library: read them now. */
    v = v == -1 ? SIGRTMAX : v == -2 ? SIGRTMIN : v;
#endif
    if (v == sig)
      return signal_names[i].name;
  }
  return NULL;
}

void subproc__os_status_text(int returncode, char *buf, size_t size) {
  if (returncode >= 0) {
    snprintf(buf, size, "returned non-zero exit status %d", returncode);
    return;
  }
  /* -INT_MIN cannot be negated: go through long long. */
  long long sig = -(long long)returncode;
  const char *name = sig <= 1024 ? signal_name((int)sig) : NULL;
  if (name)
    snprintf(buf, size, "died with <Signals.%s: %lld>", name, sig);
  else
    snprintf(buf, size, "died with unknown signal %lld", sig);
}
