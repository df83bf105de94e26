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

#endif
