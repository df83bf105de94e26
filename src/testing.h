/* Test knobs and probes: used by tests/ only, 0 in production. They force
 * the fallback paths that a newer kernel would never take and expose state
 * the public API does not show. */
#ifndef SUBPROC_TESTING_H
#define SUBPROC_TESTING_H

#include "subproc.h"

enum {
  SUBPROC__NO_PIDFD = 1,        /* no pidfds: wait with the backoff loop */
  SUBPROC__NO_CLOSE_RANGE = 2,  /* close_fds through /proc/self/fd */
  SUBPROC__NO_PROC_FD = 4,      /* close_fds through the bounded loop */
  SUBPROC__NO_CLONE3 = 8,       /* clone() and the child's signal reset loop */
  SUBPROC__NO_PIDFD_INFO = 16,  /* no exit status from PIDFD_GET_INFO */
  SUBPROC__NO_CLONE_FILES = 32, /* the child copies the whole fd table */
  SUBPROC__TINY_DB_BUFFER = 64, /* user database lookups start at 16 bytes */
  SUBPROC__NO_CONPTY = 128      /* Windows: as without CreatePseudoConsole */
};
void subproc__set_test_flags(int flags);
int subproc__test_flags(void);

/* p's pidfd (POSIX), -1 if it has none. */
int subproc__test_pidfd(const subproc *p);
/* POSIX: 1 if a child can share this process's memory, so that the
 * vfork/clone path is used; 0 under valgrind, qemu-user or TSan, where
 * every spawn takes the fork path (src/posix/spawn.c). Windows: 1. */
int subproc__test_vm_shared(void);
/* 1 if this build can start a child inside a cgroup (a clone3 path:
 * x86_64, not TSan); 0: only cgroup_move_fallback contains. */
int subproc__test_clone_into_built(void);

#endif
