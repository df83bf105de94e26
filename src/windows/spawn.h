/* The Windows spawn engine's internals: the plan the parent prepares (the
 * command line and environment in src/windows/command.c, the handles in
 * src/windows/handles.c) and CreateProcessW (src/windows/spawn.c).
 *
 * Every handle made here is created non-inheritable and only an
 * inheritable duplicate, named in PROC_THREAD_ATTRIBUTE_HANDLE_LIST,
 * reaches the child, so concurrent spawns from other threads never
 * inherit each other's pipe ends. */
#ifndef SUBPROC_WINDOWS_SPAWN_H
#define SUBPROC_WINDOWS_SPAWN_H

#include "win.h"

#define SUBPROC__MAX_OWN 16

/* SUBPROC_PTY: the child's pseudo console (src/windows/pty.c). */
typedef struct subproc__conpty subproc__conpty;

struct subproc__plan {
  char **args;        /* what subproc_args reports */
  const char *target; /* the program named in errors and the audit event */
  char *shell;        /* the shell or cmd.exe path, owned */
  char *cmdline8;     /* the command line in UTF-8, owned */
  wchar_t *app, *cmdline, *env, *cwd;
  const char *cwd8; /* the caller's directory, for errors */
  DWORD flags;
  HANDLE child[3];              /* what the child gets as its std handles */
  int use_std;                  /* STARTF_USESTDHANDLES */
  HANDLE own[SUBPROC__MAX_OWN]; /* closed once the child has started */
  int n_own;
  int crt_own[3];   /* C runtime fds opened here for SUBPROC_PATH */
  int parent_fd[3]; /* the parent's pipe ends, handed over by launch */
  HANDLE devnull;
  subproc__relay relay[3]; /* started once the child runs */
  HANDLE *list;            /* PROC_THREAD_ATTRIBUTE_HANDLE_LIST */
  size_t n_list;
  BOOL inherit;
  LPPROC_THREAD_ATTRIBUTE_LIST attrs;
  STARTUPINFOEXW six;
  HANDLE job;
  subproc__conpty *pty; /* SUBPROC_PTY, NULL if none; handed over by launch */
};

/* The command line (shell, batch files, list2cmdline) and the program
 * named: args, target, shell, app, cmdline. */
int subproc__plan_command(subproc__plan *pr, const char *const *argv,
                          int verbatim, const subproc_options *o,
                          subproc_error *err);
/* The UTF-16 environment block of env. */
int subproc__plan_env(subproc__plan *pr, const char *const *env,
                      subproc_error *err);
/* The child's standard handles and the handles it inherits. */
int subproc__plan_handles(subproc__plan *pr, const subproc_options *o,
                          subproc_error *err);

/* A pipe whose parent end (*parent_fd, a C runtime fd) is overlapped and
 * whose other end (*client, synchronous) is not inherited either. */
int subproc__win_pipe_pair(int parent_reads, DWORD size, int *parent_fd,
                           HANDLE *client, subproc_error *err);

/* ---- ConPTY (src/windows/pty.c) ---- */
/* 1 if CreatePseudoConsole, ResizePseudoConsole and ClosePseudoConsole
 * exist (and no test flag hides them). */
int subproc__conpty_available(void);
/* The pseudo console of o's SUBPROC_PTY streams, its pipes and the
 * parent's ends in pr->parent_fd: pr->pty; -ENOSYS without ConPTY. */
int subproc__conpty_plan(subproc__plan *pr, const subproc_options *o,
                         subproc_error *err);
/* PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE in pr->attrs. */
int subproc__conpty_attribute(subproc__plan *pr, subproc_error *err);
/* The child runs: the console closes when it exits. */
int subproc__conpty_start(subproc__plan *pr, HANDLE process,
                          subproc_error *err);
/* The object's fd (subproc__spawned.pty); pr->pty is the core's now. */
int subproc__conpty_hand_over(subproc__plan *pr);
void subproc__conpty_discard(subproc__conpty *c);

#endif
