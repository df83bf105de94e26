/* POSIX backend internals: the Popen object and the spawn entry point. */
#ifndef SUBPROC_POSIX_H
#define SUBPROC_POSIX_H

#include <sys/resource.h>
#include <sys/types.h>

#include "internal.h"

struct subproc {
  pid_t pid;
  int pidfd;      /* -1 until a timed wait needs one (subproc__pidfd),
                     without pidfds, and once reaped */
  int returncode; /* SUBPROC_NO_RETURNCODE until reaped */
  int fds[3];     /* the parent's pipe ends, -1 if none */
  FILE *streams[3];
  char **args; /* argv after shell expansion, one allocation */
  subproc_spawn_method method;
  int group_leader; /* the child leads its own process group */
  double start_time, end_time;
  struct rusage rusage;
  subproc__comm_state cs; /* communicate: options and state */
};

#include "testing.h"

/* clone3() (for CLONE_CLEAR_SIGHAND) needs a per-architecture trampoline,
 * src/posix/clone3.c; elsewhere spawns use clone(). Runs fn(arg) in the
 * child on [stack, stack + stack_size). Returns the pid, or -1 with errno. */
#if defined(HAVE_SYS_CLONE3) && defined(__x86_64__)
#define SUBPROC__HAVE_CLONE3 1
#include <stdint.h>
pid_t subproc__clone3(uint64_t flags, void *stack, size_t stack_size,
                      int (*fn)(void *), void *arg);
#endif

/* p's pidfd, opened on first call; -1 without pidfds or once reaped. */
int subproc__pidfd(subproc *p);

/* Spawn per opts; fills p (pid, pidfd, fds, method, group_leader). */
int subproc__spawn(subproc *p, const char *const *argv,
                   const subproc_options *opts, subproc_error *err);

/* Reap if exited: 1 reaped (or already), 0 still running, <0 error.
 * block = 1 waits. */
int subproc__reap(subproc *p, int block);

/* fdopen honouring bufsize and text settings. */
FILE *subproc__open_stream(int fd, const char *mode,
                           const subproc__comm_opts *co);

/* Block SIGPIPE in this thread around writes to pipes; end() consumes a
 * SIGPIPE that the writes raised and restores the mask. */
typedef struct subproc__sigpipe_guard {
  int was_pending, was_blocked;
} subproc__sigpipe_guard;
void subproc__sigpipe_begin(subproc__sigpipe_guard *g);
void subproc__sigpipe_end(subproc__sigpipe_guard *g, int got_epipe);

#endif
