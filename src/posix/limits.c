/* Resource limits, the parent-death signal, no_new_privs and the
 * terminal's foreground group: the parent's half. The options are checked
 * and everything the child needs (the pid it compares getppid() with, the
 * terminal's fd) exists before the spawn; the child (src/posix/child.c)
 * only makes the system calls. With every option off nothing here makes a
 * system call. */
#include "subproc_config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <termios.h>
#include <unistd.h>
#if defined(HAVE_PR_SET_PDEATHSIG) || defined(HAVE_PR_SET_NO_NEW_PRIVS)
#include <sys/prctl.h>
#endif

#include "spawn.h"

/* More entries than this is a missing terminator, not a request. */
#define MAX_RLIMITS 1024

#if defined(RLIMIT_NLIMITS)
#define N_RESOURCES RLIMIT_NLIMITS
#elif defined(RLIM_NLIMITS)
#define N_RESOURCES RLIM_NLIMITS
#endif

/* ---- names for the messages ---- */

static const char *resource_name(int resource) {
  static const struct {
    int resource;
    const char *name;
  } names[] = {
#define R(name) {name, #name},
      R(RLIMIT_CPU) R(RLIMIT_FSIZE) R(RLIMIT_DATA) R(RLIMIT_STACK)
          R(RLIMIT_CORE) R(RLIMIT_NOFILE) R(RLIMIT_AS)
#ifdef RLIMIT_RSS
              R(RLIMIT_RSS)
#endif
#ifdef RLIMIT_NPROC
                  R(RLIMIT_NPROC)
#endif
#ifdef RLIMIT_MEMLOCK
                      R(RLIMIT_MEMLOCK)
#endif
#ifdef RLIMIT_LOCKS
                          R(RLIMIT_LOCKS)
#endif
#ifdef RLIMIT_SIGPENDING
                              R(RLIMIT_SIGPENDING)
#endif
#ifdef RLIMIT_MSGQUEUE
                                  R(RLIMIT_MSGQUEUE)
#endif
#ifdef RLIMIT_NICE
                                      R(RLIMIT_NICE)
#endif
#ifdef RLIMIT_RTPRIO
                                          R(RLIMIT_RTPRIO)
#endif
#ifdef RLIMIT_RTTIME
                                              R(RLIMIT_RTTIME)
#endif
#undef R
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (names[i].resource == resource)
      return names[i].name;
  return "resource";
}

/* "unlimited" or the number, into buf. */
static const char *limit_text(unsigned long long v, char *buf, size_t size) {
  if (v == SUBPROC_RLIM_INFINITY)
    return "unlimited";
  snprintf(buf, size, "%llu", v);
  return buf;
}

/* ---- checks ---- */

static int bad_rlimit(subproc_error *err, size_t i, const subproc_rlimit *r,
                      const char *why) {
  char s[24], h[24];
  return subproc__fail(err, SUBPROC_EINVAL, 0, "rlimits", NULL, -1,
                       "rlimits[%zu]: %s (resource %d, soft %s, hard %s)", i,
                       why, r->resource, limit_text(r->soft, s, sizeof s),
                       limit_text(r->hard, h, sizeof h));
}

/* Without prlimit64 the values go through rlim_t, which may be narrower. */
static int fits_rlim_t(unsigned long long v) {
#if defined(HAVE_SYS_PRLIMIT64)
  (void)v;
  return 1;
#else
  rlim_t t = (rlim_t)v;
  return v == SUBPROC_RLIM_INFINITY ||
         ((unsigned long long)t == v && t != RLIM_INFINITY);
#endif
}

static int check_rlimit(subproc_error *err, size_t i, const subproc_rlimit *r) {
  if (r->resource < 0)
    return bad_rlimit(err, i, r, "not a resource (-1 ends the array)");
#if defined(N_RESOURCES)
  if (r->resource >= N_RESOURCES)
    return bad_rlimit(err, i, r, "not a resource of this system");
#endif
  if (r->soft > r->hard)
    return bad_rlimit(err, i, r, "the soft limit is above the hard limit");
  if (!fits_rlim_t(r->soft) || !fits_rlim_t(r->hard))
    return bad_rlimit(err, i, r, "a value is out of range for rlim_t");
  return 0;
}

/* The entries before the terminator, each checked: their count, or a
 * negative code. */
static long count_rlimits(const subproc_rlimit *lims, subproc_error *err) {
  size_t n = 0;
  for (; lims && lims[n].resource != -1; n++) {
    if (n == MAX_RLIMITS)
      return subproc__fail(err, SUBPROC_EINVAL, 0, "rlimits", NULL, -1,
                           "rlimits: more than %d entries (is the "
                           "{-1} terminator missing?)",
                           MAX_RLIMITS);
    int rc = check_rlimit(err, n, &lims[n]);
    if (rc < 0)
      return rc;
  }
  return (long)n;
}

static int not_here(subproc_error *err, const char *name) {
  return subproc__fail(err, SUBPROC_EINVAL, 0, name, NULL, -1,
                       "%s is not supported on this platform (Linux only)",
                       name);
}

static int check_signal(int sig, subproc_error *err) {
  sigset_t set;
  sigemptyset(&set);
  /* sigaddset knows the valid numbers (and the C library's own). */
  if (sig < 0 || sigaddset(&set, sig) < 0)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "parent_death_signal", NULL,
                         -1, "parent_death_signal: %d is not a signal", sig);
#if !defined(HAVE_PR_SET_PDEATHSIG)
  return not_here(err, "parent_death_signal");
#else
  return 0;
#endif
}

int subproc__limits_validate(const subproc_options *o, subproc_error *err) {
  long n = count_rlimits(o->rlimits, err);
  if (n < 0)
    return (int)n;
  if (o->parent_death_signal) {
    int rc = check_signal(o->parent_death_signal, err);
    if (rc < 0)
      return rc;
  }
#if !defined(HAVE_PR_SET_NO_NEW_PRIVS)
  if (o->no_new_privs)
    return not_here(err, "no_new_privs");
#else
  (void)not_here;
#endif
  if (o->foreground && o->start_new_session)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "foreground", NULL, -1,
                         "foreground: a new session (start_new_session) has "
                         "no controlling terminal");
  return 0;
}

/* ---- the plan ---- */

/* The caller's controlling terminal, whatever the standard streams are,
 * and its foreground group now (what the reap gives it back to). */
static int open_terminal(subproc__plan *pr, subproc_error *err) {
  int fd = subproc__open("/dev/tty", O_RDWR | O_NOCTTY, 0);
  if (fd < 0) {
    /* ENXIO: this process has no controlling terminal. */
    int e = errno == ENXIO ? ENOTTY : errno;
    return subproc__fail(err, -e, e, "tcsetpgrp", "/dev/tty", -1,
                         "tcsetpgrp: foreground needs a controlling "
                         "terminal: %s",
                         strerror(e));
  }
  pid_t fg = tcgetpgrp(fd);
  if (fg < 0) {
    int e = errno;
    subproc__close_quietly(fd);
    return subproc__fail_os(err, e, "tcsetpgrp", "/dev/tty", -1);
  }
  pr->pl.foreground = 1;
  pr->pl.fg_tty = fd;
  pr->fg_restore = fg;
  return 0;
}

int subproc__limits_prepare(subproc__plan *pr, const subproc_options *o,
                            subproc_error *err) {
  subproc__child_plan *pl = &pr->pl;
  pl->fg_tty = -1;
  if (o->rlimits) {
    pl->rlimits = o->rlimits;
    pl->n_rlimits = (size_t)count_rlimits(o->rlimits, NULL); /* validated */
  }
  pl->pdeathsig = o->parent_death_signal;
  if (pl->pdeathsig)
    pl->parent_pid = getpid();
  pl->no_new_privs = o->no_new_privs != 0;
  return o->foreground ? open_terminal(pr, err) : 0;
}

/* ---- the child's report ---- */

static const char *prctl_name(int option) {
#if defined(HAVE_PR_SET_PDEATHSIG)
  if (option == PR_SET_PDEATHSIG)
    return "PR_SET_PDEATHSIG";
#endif
#if defined(HAVE_PR_SET_NO_NEW_PRIVS)
  if (option == PR_SET_NO_NEW_PRIVS)
    return "PR_SET_NO_NEW_PRIVS";
#endif
  (void)option;
  return "?";
}

static int rlimit_error(const subproc__plan *pr, int e, subproc_error *err) {
  size_t i = (size_t)pr->pl.report.arg;
  if (pr->pl.report.arg < 0 || i >= pr->pl.n_rlimits)
    return subproc__fail_os(err, e, "setrlimit", NULL, -1);
  const subproc_rlimit *r = &pr->pl.rlimits[i];
  char s[24], h[24];
  return subproc__fail(err, -e, e, "setrlimit", NULL, -1,
                       "setrlimit %s (rlimits[%zu], soft %s, hard %s): %s",
                       resource_name(r->resource), i,
                       limit_text(r->soft, s, sizeof s),
                       limit_text(r->hard, h, sizeof h), strerror(e));
}

int subproc__limits_report(const subproc__plan *pr, subproc_error *err) {
  const subproc__child_report *rep = &pr->pl.report;
  switch (rep->step) {
  case STEP_SETRLIMIT:
    return rlimit_error(pr, rep->err, err);
  case STEP_PRCTL:
    return subproc__fail(err, -rep->err, rep->err, "prctl", NULL, -1,
                         "prctl %s: %s", prctl_name(rep->arg),
                         strerror(rep->err));
  default:
    return subproc__fail_os(err, rep->err, "tcsetpgrp", "/dev/tty", -1);
  }
}

/* ---- the terminal after the spawn ---- */

/* This process is in the background once the child has the terminal:
 * with SIGTTOU blocked (in this thread) the kernel lets it take it back,
 * as a shell does after a job. Best effort: there is nobody to tell at a
 * reap, and a terminal that hung up has nothing to restore. */
static void give_back(int tty, pid_t pgrp) {
  sigset_t ttou, old;
  sigemptyset(&ttou);
  sigaddset(&ttou, SIGTTOU);
  pthread_sigmask(SIG_BLOCK, &ttou, &old);
  tcsetpgrp(tty, pgrp);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void subproc__limits_hand_over(subproc__plan *pr, subproc__os *os) {
  if (!pr->pl.foreground)
    return;
  os->flags |= SUBPROC__OS_FOREGROUND;
  os->tty = pr->pl.fg_tty;
  os->tty_pgrp = (long)pr->fg_restore;
  pr->pl.foreground = 0;
  pr->pl.fg_tty = -1;
}

/* A child that failed after tcsetpgrp (at exec, say) has gone: the
 * terminal must not stay with its empty group. */
void subproc__limits_release(subproc__plan *pr) {
  if (!pr->pl.foreground)
    return;
  if (tcgetpgrp(pr->pl.fg_tty) != pr->fg_restore)
    give_back(pr->pl.fg_tty, pr->fg_restore);
  subproc__close_quietly(pr->pl.fg_tty);
  pr->pl.foreground = 0;
  pr->pl.fg_tty = -1;
}

void subproc__foreground_restore(subproc__os *os) {
  if (!(os->flags & SUBPROC__OS_FOREGROUND))
    return;
  give_back(os->tty, (pid_t)os->tty_pgrp);
  subproc__close_quietly(os->tty);
  os->tty = -1;
  os->flags &= ~SUBPROC__OS_FOREGROUND;
}
