/* The POSIX spawn engine's internals: the plan the parent prepares
 * (src/posix/prepare.c), the child that runs it (src/posix/child.c) and
 * the methods that create the child (src/posix/spawn.c). */
#ifndef SUBPROC_POSIX_SPAWN_H
#define SUBPROC_POSIX_SPAWN_H

#include <signal.h>
#include <sys/types.h>

#include "posix.h"

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
#define SUBPROC__CHILD_FN __attribute__((no_sanitize("address")))
#else
#define SUBPROC__CHILD_FN
#endif

/* The steps the child reports a failure of; STEP_COUNT bounds a report. */
enum subproc__child_step {
  STEP_NONE = 0,
  STEP_UNSHARE, /* close_range(CLOSE_RANGE_UNSHARE) of a CLONE_FILES child */
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
  STEP_PIPE, /* the parent's error pipe (fork path) */
  /* limits, parent death, privileges (src/posix/limits.c) */
  STEP_SETRLIMIT, /* report.arg: the index in rlimits */
  STEP_PRCTL,     /* report.arg: the PR_* option */
  STEP_TCSETPGRP,
  STEP_CGROUP, /* into the cgroup: clone3 (parent) or the move (child) */
  STEP_COUNT
};

/* What the child reports; written once, before _exit. */
typedef struct subproc__child_report {
  int step;
  int err; /* errno; preexec: the callback's positive return, or 0 */
  int fd;
  int arg; /* what the step worked on (see the steps), else 0 */
} subproc__child_report;

/* Everything the child reads. Built in the parent; the child allocates
 * nothing and only makes system calls. */
typedef struct subproc__child_plan {
  char *const *argv;
  char *const *envp; /* NULL: environ as it is at exec time */
  char **exec_list;  /* candidate paths, NULL-terminated */
  const char *cwd;
  int src[3]; /* fd to put at 0/1/2, -1 to leave as inherited */
  int close_fds;
  int *keep; /* sorted fds to keep (pass_fds, plus the error pipe) */
  size_t n_keep;
  int errpipe;     /* fork path: write end; -1 on the vfork path */
  int share_files; /* CLONE_FILES: unshare below unshare_below first */
  int unshare_below;
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
  /* limits, parent death, privileges (src/posix/limits.c) */
  const subproc_rlimit *rlimits; /* the caller's array, checked */
  size_t n_rlimits;
  int pdeathsig;    /* 0 = off */
  pid_t parent_pid; /* getpid() before the spawn: the parent pdeathsig
                       watches, to see if it died before the prctl */
  int no_new_privs;
  int foreground; /* make the child's group the terminal's foreground */
  int fg_tty;     /* foreground: the controlling terminal (/dev/tty) */
  /* The cgroup: its directory for clone3(CLONE_INTO_CGROUP) (-1: none),
   * and where the child cannot start in it (cgroup_move_fallback), the
   * cgroup.procs it writes "0" to as its first step (-1: no move). */
  int cgroup_dir;
  int cgroup_procs;
  int cgroup_move;
  subproc__child_report report;
} subproc__child_plan;

/* Runs the plan in the new child; never returns. */
SUBPROC__CHILD_FN void subproc__child_run(subproc__child_plan *pl)
    __attribute__((noreturn));

/* The parent's side of one spawn: the child's plan and what it owns. */
struct subproc__plan {
  subproc__child_plan pl;
  char **argv; /* final argv (shell applied) */
  char **envp; /* validated copy, or NULL for environ */
  const char *executable;
  int own[8]; /* fds opened here (pipes, files, /dev/null) */
  int n_own;
  int parent_end[3];
  int devnull;
    long group;     /* the group kill_tree signals: 0, -1 = the child's pid */
  const sigset_t *sigmask; /* the caller's choice of the child's mask */
  int tree;
  subproc_spawn_method method;
  pid_t fg_restore; /* foreground: the group to give the terminal back to */
  subproc__cgroup *cgroup; /* the cgroup option's, NULL if none */
  const char *cgroup_arg;  /* the caller's path (errors point at it) */
};

/* user=/group=/extra_groups= to ids (src/posix/ids.c): a name, or a plain
 * decimal in [0, 2^32 - 2]; anything else is SUBPROC_EINVAL naming what. */
int subproc__resolve_uid(const char *user, uid_t *uid, subproc_error *err);
int subproc__resolve_gid(const char *group, const char *what, gid_t *gid,
                         subproc_error *err);

/* Limits, parent death, privileges (src/posix/limits.c): the POSIX checks
 * of the options; the plan's part (pl.fg_tty is -1 unless foreground);
 * the error of a child that failed at STEP_SETRLIMIT, _PRCTL or
 * _TCSETPGRP; handing the terminal to the child's object, or (spawn
 * failed or never made) giving it back and closing it. */
int subproc__limits_validate(const subproc_options *o, subproc_error *err);
int subproc__limits_prepare(subproc__plan *pr, const subproc_options *o,
                            subproc_error *err);
int subproc__limits_report(const subproc__plan *pr, subproc_error *err);
void subproc__limits_hand_over(subproc__plan *pr, subproc__os *os);
void subproc__limits_release(subproc__plan *pr);

/* Fill plan from the options (src/posix/prepare.c). */
int subproc__prepare_plan(struct subproc__plan *plan, const char *const *argv,
                          const subproc_options *o, int tree,
                          subproc_error *err);

#endif
