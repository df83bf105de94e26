/* The poller's registrations, shared by the poller (src/windows/poller.c)
 * and the wait for room of a write end it watches (src/windows/room.c).
 *
 * A registration's fields belong to the thread that uses the group (one at
 * a time), but for the few the poller's watcher thread shares under the
 * poller's lock; the index that finds one by fd or child is shared with
 * subproc__os_io calls in any thread, under its own lock. */
#ifndef SUBPROC_WINDOWS_POLLER_H
#define SUBPROC_WINDOWS_POLLER_H

#include "win.h"

/* What a packet on the port says: the key. Every packet of a registration
 * names its OVERLAPPED. */
enum {
  SUBPROC__KEY_IO = 1, /* r's overlapped operation completed */
  SUBPROC__KEY_POSTED, /* r is ready without an operation (EOF, room) */
  SUBPROC__KEY_EXIT,   /* r's child exited */
  SUBPROC__KEY_WAKE,   /* subproc__os_poller_wake */
  SUBPROC__KEY_QUIT    /* the watcher thread is to end */
};

/* What is in flight on a registration's OVERLAPPED. */
enum { SUBPROC__OP_NONE, SUBPROC__OP_READ, SUBPROC__OP_PROBE };

typedef struct subproc__reg subproc__reg;
struct subproc__reg {
  subproc__poller *pl;
  OVERLAPPED ov; /* its one operation; its packets name &ov */
  HANDLE h;      /* the pipe end, or the child's process */
  HANDLE done;   /* ov.hEvent: set when the operation ends (del waits) */
  HANDLE wait;   /* a child's exit: the thread-pool wait */
  uintptr_t key; /* in the index (subproc__key_of_fd, or the child) */
  int fd;        /* a pipe end's C runtime fd, else -1 */
  int events;    /* SUBPROC__POLL_* as added */
  void *data;
  int refs;    /* packets on their way, and a place on the re-arm list */
  int op;      /* SUBPROC__OP_*: in flight until its packet is taken */
  int armed;   /* reports go out (with ONCE: until the first) */
  int deleted; /* del'ed (under the poller's lock): freed once refs is 0 */
  volatile LONG fired; /* the exit wait's callback ran */
  /* A write end (room.c): */
  int posted;      /* a KEY_POSTED packet is on its way */
  int probe_ended; /* the probe's packet came; its result is below */
  DWORD probe_n, probe_err;
  int wait_mode; /* the pipe end is in wait mode for the probe */
  char byte;     /* the probe's byte; a zero-byte read's buffer */
  subproc__reg *rearm_next;
  int on_rearm;
  /* Under the poller's lock (the watcher thread drops packets of deleted
   * registrations): */
  int taken; /* such packets, not yet taken off refs */
  subproc__reg *dead_next;
  int on_dead;
  subproc__reg *prev, *next; /* every registration of pl not yet freed */
};

/* A packet for r (refs counts it): 0 or a negative errno. */
int subproc__reg_post(subproc__reg *r, ULONG_PTR key);
/* Drop a reference; a deleted registration with none left is freed. */
void subproc__reg_unref(subproc__reg *r);
/* Cancel what is in flight and wait until it has ended (its packet is then
 * on the port). A pipe cancels at once. */
void subproc__reg_settle(subproc__reg *r);

/* ---- the index: live registrations by fd or child, and carried bytes */

/* Lock for every index call and for room.c's look at a writer. */
void subproc__index_lock(void);
void subproc__index_unlock(void);
uintptr_t subproc__key_of_fd(int fd);
/* The registration watching fd (or the child os), or NULL. */
subproc__reg *subproc__index_find(uintptr_t key);
int subproc__index_put(uintptr_t key, subproc__reg *r);
void subproc__index_drop(uintptr_t key);
/* A byte of fd's pending input that a probe wrote after the write end left
 * its poller (subproc_group_remove): counted by the next write on fd,
 * while fd still names the pipe end h. */
int subproc__index_put_carried(int fd, HANDLE h);
/* 1 if fd had a carried byte for h (NULL: whatever it named), now taken. */
int subproc__index_take_carried(int fd, HANDLE h);
/* Writers and carried bytes in the index: io.c skips the lock at 0. */
LONG subproc__index_writers(void);

/* ---- a watched write end's wait for room (room.c) */

/* A new writer: writability is assumed until a write finds no room. */
int subproc__room_add(subproc__reg *r);
/* r leaves its poller: its probe is cancelled or found done; a byte it
 * wrote that io.c has not counted yet is carried (see above). */
void subproc__room_del(subproc__reg *r);
/* r's probe completed (its packet was taken). */
void subproc__room_probe_ended(subproc__reg *r);
/* mod of a writer: report room again unless a probe is in flight. */
int subproc__room_rearm(subproc__reg *r);

#endif
