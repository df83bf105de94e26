/* POSIX backend internals shared by its files: the system-call helpers that
 * handle EINTR and partial I/O once, and the clone3 trampoline. */
#ifndef SUBPROC_POSIX_H
#define SUBPROC_POSIX_H

#include <signal.h>
#include <sys/types.h>

#include "os.h"
#include "testing.h"

/* ---- system calls, EINTR and partial I/O handled (src/posix/sys.c) ---- */

/* read until n bytes or EOF: the bytes read, or -1 with errno. */
ssize_t subproc__read_full(int fd, void *buf, size_t n);
/* write everything: 0, or -1 with errno. */
int subproc__write_all(int fd, const void *buf, size_t n);
/* dup2, close keeping errno, open: EINTR retried. */
int subproc__dup2(int from, int to);
void subproc__close_quietly(int fd);
int subproc__open(const char *path, int flags, mode_t mode);
/* A new close-on-exec fd for fd at 3 or above; fd itself is closed. Used
 * for every fd the library creates while 0-2 may be closed. -1 with errno
 * (fd is closed then too). */
int subproc__above_std(int fd);
/* pipe2(O_CLOEXEC) with both ends above 2. */
int subproc__pipe(int fds[2]);

/* One /dev/null fd shared by every spawn that asks for DEVNULL, open
 * while a spawn or a child object uses it (src/posix/sys.c): no open and
 * close per spawn. acquire returns it (or -1 with errno) and counts a
 * user; release uncounts one, and the last closes it. */
int subproc__devnull_acquire(void);
void subproc__devnull_release(void);
/* subproc__os.flags: the child's object holds a /dev/null reference. */
#define SUBPROC__OS_DEVNULL 1
/* subproc__os.flags: the child has the terminal os->tty in the foreground;
 * at the reap it goes back to group os->tty_pgrp (src/posix/limits.c). */
#define SUBPROC__OS_FOREGROUND 2
void subproc__foreground_restore(subproc__os *os);

/* The pidfd flavour of the running kernel (src/posix/wait.c). */
int subproc__pidfd_open(pid_t pid);

/* ---- containment in a cgroup v2 (src/posix/cgroup.c; Linux) ---- */

/* Open the cgroup of o->cgroup, or create a fresh one under
 * o->cgroup_parent and write its limits; with cgroup_move_fallback also
 * open its cgroup.procs. Only called when one of them is set. */
int subproc__cgroup_prepare(const subproc_options *o, subproc__cgroup **out,
                            subproc_error *err);
/* Its directory fd (for CLONE_INTO_CGROUP), its cgroup.procs fd (-1 if not
 * opened), and whether it is the child's own (created by the library). */
int subproc__cgroup_dir(const subproc__cgroup *cg);
int subproc__cgroup_procs(const subproc__cgroup *cg);
int subproc__cgroup_owned(const subproc__cgroup *cg);
/* Kill everything in an own cgroup (cgroup.kill); 0 for one that is not
 * own, or NULL. */
int subproc__cgroup_kill(subproc__cgroup *cg);
/* After the reap: an own cgroup's leftovers are killed and waited for
 * (briefly, and only if wait), its statistics read into ex (may be NULL),
 * and it is removed; then cg is released. */
void subproc__cgroup_finish(subproc__cgroup *cg, subproc__exit *ex, int wait);
/* Close and free; an own cgroup is removed if empty. NULL is fine. */
void subproc__cgroup_release(subproc__cgroup *cg);

/* clone3() (for CLONE_CLEAR_SIGHAND and CLONE_PIDFD) needs a
 * per-architecture trampoline, src/posix/clone3.c; elsewhere spawns use
 * clone(). Runs fn(arg) in the child on [stack, stack + stack_size).
 * Returns the pid, or -1 with errno. */
#if defined(HAVE_SYS_CLONE3) && defined(__x86_64__)
#define SUBPROC__HAVE_CLONE3 1
#include <stdint.h>
pid_t subproc__clone3(uint64_t flags, int *pidfd, void *stack,
                      size_t stack_size, int (*fn)(void *), void *arg);
/* The same into the cgroup whose directory is cgroup_fd
 * (CLONE_INTO_CGROUP, Linux 5.7; E2BIG from older kernels). */
pid_t subproc__clone3_into(uint64_t flags, int *pidfd, int cgroup_fd,
                           void *stack, size_t stack_size, int (*fn)(void *),
                           void *arg);
#endif

#endif
