/* The readiness poller of subproc_group on Windows: an I/O completion
 * port, so that a wait costs one GetQueuedCompletionStatusEx per batch of
 * events, however many children there are (WaitForMultipleObjects stops
 * at 64 handles and looks at every one of them each time).
 *
 * Every report is one packet on the port:
 * - a pipe end to read: a zero-byte overlapped read (libuv's trick), which
 *   completes when data arrives, taking none, or when the writer is gone;
 *   re-armed at the next wait once the group has read (level-triggered,
 *   as epoll);
 * - a pipe end to write: see src/windows/room.c;
 * - a child's exit: a thread-pool wait on its process handle
 *   (RegisterWaitForSingleObject) whose callback posts the packet;
 * - a wake-up: a posted packet.
 *
 * A pipe end's handle, once associated with the port, posts every later
 * overlapped completion to it, unless the OVERLAPPED's event has its low
 * bit set: subproc__os_io sets it on all of its operations
 * (src/windows/io.c), so communicate's own I/O never reaches a port.
 *
 * A registration outlives its del until no packet on its way names it (a
 * cancelled read still completes to the port); such packets are dropped,
 * so no event names a deleted registration. */
#include "poller.h"

#include <errno.h>
#include <stdlib.h>

#define BATCH 64
#define WATCHER_STACK (64 * 1024)

struct subproc__poller {
  HANDLE port;
  subproc__reg *all;   /* every registration not yet freed */
  subproc__reg *rearm; /* reads reported by the last wait */
  volatile LONG wake_pending;
  /* For a host loop (subproc__os_poller_handle): */
  HANDLE ready, go, watcher;
  volatile LONG quit;
  SRWLOCK lock;       /* what the watcher shares: */
  size_t n_live;      /* registrations not deleted */
  subproc__reg *dead; /* with packets the watcher dropped */
};

static int errno_now(void) { return subproc__errno_of(GetLastError()); }

/* ------------------------------------------------------------------ */
/* Registrations                                                       */
/* ------------------------------------------------------------------ */

static subproc__reg *reg_new(subproc__poller *pl, int fd, HANDLE h, int events,
                             void *data) {
  subproc__reg *r = calloc(1, sizeof *r);
  if (!r)
    return NULL;
  *r = (subproc__reg){
      .pl = pl, .h = h, .fd = fd, .events = events, .data = data, .armed = 1};
  AcquireSRWLockExclusive(&pl->lock);
  pl->n_live++;
  ReleaseSRWLockExclusive(&pl->lock);
  r->next = pl->all;
  if (pl->all)
    pl->all->prev = r;
  pl->all = r;
  return r;
}

static void reg_free(subproc__reg *r) {
  subproc__poller *pl = r->pl;
  if (r->prev)
    r->prev->next = r->next;
  else
    pl->all = r->next;
  if (r->next)
    r->next->prev = r->prev;
  if (r->done)
    CloseHandle(r->done);
  free(r);
}

static void free_if_done(subproc__reg *r) {
  if (r->deleted && r->refs == 0)
    reg_free(r);
}

void subproc__reg_unref(subproc__reg *r) {
  r->refs--;
  free_if_done(r);
}

int subproc__reg_post(subproc__reg *r, ULONG_PTR key) {
  if (!PostQueuedCompletionStatus(r->pl->port, 0, key, &r->ov))
    return -errno_now();
  r->refs++;
  return 0;
}

/* A zero-byte read: its packet comes when data or EOF is there. */
static int arm_read(subproc__reg *r) {
  r->ov = (OVERLAPPED){.hEvent = r->done};
  if (ReadFile(r->h, &r->byte, 0, NULL, &r->ov) ||
      GetLastError() == ERROR_IO_PENDING) {
    r->op = SUBPROC__OP_READ;
    r->refs++;
    return 0;
  }
  /* At EOF (or on an error) it fails at once and no packet comes. */
  return subproc__reg_post(r, SUBPROC__KEY_POSTED);
}

void subproc__reg_settle(subproc__reg *r) {
  if (r->op == SUBPROC__OP_NONE)
    return;
  CancelIoEx(r->h, &r->ov);
  WaitForSingleObject(r->done, INFINITE);
}

/* ------------------------------------------------------------------ */
/* A child's exit                                                      */
/* ------------------------------------------------------------------ */

/* In the thread pool's wait thread: only the packet, so that del (which
 * waits for this callback) is quick. */
static VOID CALLBACK exit_callback(PVOID arg, BOOLEAN timed_out) {
  subproc__reg *r = arg;
  (void)timed_out;
  InterlockedExchange(&r->fired, 1);
  PostQueuedCompletionStatus(r->pl->port, 0, SUBPROC__KEY_EXIT, &r->ov);
}

static int watch_exit(subproc__reg *r) {
  r->fired = 0;
  if (!RegisterWaitForSingleObject(&r->wait, r->h, exit_callback, r, INFINITE,
                                   WT_EXECUTEONLYONCE | WT_EXECUTEINWAITTHREAD))
    return -errno_now();
  r->refs++; /* the callback's packet */
  return 0;
}

/* The callback has run (its packet is counted) or never will. */
static void unwatch_exit(subproc__reg *r) {
  if (!r->wait)
    return;
  UnregisterWaitEx(r->wait, INVALID_HANDLE_VALUE);
  r->wait = NULL;
  if (!r->fired)
    r->refs--;
}

/* ------------------------------------------------------------------ */
/* add, mod, del                                                       */
/* ------------------------------------------------------------------ */

static uintptr_t key_of(int fd, const subproc__os *os) {
  return os ? (uintptr_t)os : subproc__key_of_fd(fd);
}

/* One direction per pipe end (ours go one way). */
static int check_events(int fd, const subproc__os *os, int events) {
  int dirs = events & (SUBPROC__POLL_IN | SUBPROC__POLL_OUT);
  if (!os != !(events & SUBPROC__POLL_EXIT) ||
      (!os && (dirs == 0 || dirs == 3)))
    return -EINVAL;
  if (os)
    return subproc__os_exit_handle(os) ? 0 : -EBADF;
  return subproc__win_handle(fd) != INVALID_HANDLE_VALUE ? 0 : -EBADF;
}

static int start(subproc__reg *r) {
  if (r->events & SUBPROC__POLL_EXIT)
    return watch_exit(r);
  if (!(r->done = CreateEventW(NULL, TRUE, FALSE, NULL)))
    return -errno_now();
  if (!CreateIoCompletionPort(r->h, r->pl->port, SUBPROC__KEY_IO, 0))
    return -errno_now(); /* a handle joins one port, once */
  return r->events & SUBPROC__POLL_OUT ? subproc__room_add(r) : arm_read(r);
}

static int index_add(subproc__reg *r) {
  subproc__index_lock();
  int rc =
      subproc__index_find(r->key) ? -EEXIST : subproc__index_put(r->key, r);
  subproc__index_unlock();
  return rc;
}

/* With the last one gone the host loop's handle is quiet: what is queued
 * can only be packets of deleted registrations, which report nothing. */
static void mark_deleted(subproc__reg *r) {
  subproc__poller *pl = r->pl;
  AcquireSRWLockExclusive(&pl->lock);
  r->deleted = 1;
  if (--pl->n_live == 0 && pl->watcher)
    ResetEvent(pl->ready);
  ReleaseSRWLockExclusive(&pl->lock);
}

/* Out of the index, whatever is in flight ended, freed once no packet on
 * its way names it. */
static void del_reg(subproc__reg *r) {
  subproc__index_lock();
  if (subproc__index_find(r->key) == r)
    subproc__index_drop(r->key);
  subproc__index_unlock();
  if (r->events & SUBPROC__POLL_EXIT)
    unwatch_exit(r);
  else if (r->events & SUBPROC__POLL_OUT)
    subproc__room_del(r);
  else
    subproc__reg_settle(r);
  mark_deleted(r);
  free_if_done(r);
}

int subproc__os_poller_add(subproc__poller *pl, int fd, subproc__os *os,
                           int events, void *data) {
  int rc = check_events(fd, os, events);
  if (rc < 0)
    return rc;
  HANDLE h = os ? subproc__os_exit_handle(os) : subproc__win_handle(fd);
  subproc__reg *r = reg_new(pl, os ? -1 : fd, h, events, data);
  if (!r)
    return -ENOMEM;
  r->key = key_of(fd, os);
  if ((rc = index_add(r)) == 0 && (rc = start(r)) == 0)
    return 0;
  del_reg(r);
  return rc;
}

static subproc__reg *lookup(subproc__poller *pl, int fd, subproc__os *os) {
  subproc__index_lock();
  subproc__reg *r = subproc__index_find(key_of(fd, os));
  subproc__index_unlock();
  return r && r->pl == pl ? r : NULL;
}

/* Report again: a read is re-armed, an exit that happened is reported
 * again (as a pidfd stays readable), a writer looks for room. */
static int rearm(subproc__reg *r) {
  if (r->events & SUBPROC__POLL_EXIT)
    return r->fired ? subproc__reg_post(r, SUBPROC__KEY_EXIT) : 0;
  if (r->events & SUBPROC__POLL_OUT)
    return subproc__room_rearm(r);
  return r->op == SUBPROC__OP_NONE && !r->on_rearm ? arm_read(r) : 0;
}

/* The direction of a pipe end does not change. */
int subproc__os_poller_mod(subproc__poller *pl, int fd, subproc__os *os,
                           int events, void *data) {
  subproc__reg *r = lookup(pl, fd, os);
  int fixed = SUBPROC__POLL_IN | SUBPROC__POLL_OUT | SUBPROC__POLL_EXIT;
  if (!r)
    return -ENOENT;
  if ((events & fixed) != (r->events & fixed))
    return -EINVAL;
  r->events = events;
  r->data = data;
  r->armed = 1;
  return rearm(r);
}

int subproc__os_poller_del(subproc__poller *pl, int fd, subproc__os *os) {
  subproc__reg *r = lookup(pl, fd, os);
  if (!r)
    return -ENOENT;
  del_reg(r);
  return 0;
}

/* ------------------------------------------------------------------ */
/* Waiting                                                             */
/* ------------------------------------------------------------------ */

/* The packets the watcher dropped leave refs. */
static void collect_dead(subproc__poller *pl) {
  AcquireSRWLockExclusive(&pl->lock);
  while (pl->dead) {
    subproc__reg *r = pl->dead;
    pl->dead = r->dead_next;
    r->on_dead = 0;
    r->refs -= r->taken;
    r->taken = 0;
    free_if_done(r);
  }
  ReleaseSRWLockExclusive(&pl->lock);
}

/* The reads reported last time, now that the group has read. */
static void rearm_reported(subproc__poller *pl) {
  while (pl->rearm) {
    subproc__reg *r = pl->rearm;
    pl->rearm = r->rearm_next;
    r->on_rearm = 0;
    if (!r->deleted && r->armed && r->op == SUBPROC__OP_NONE)
      arm_read(r); /* on failure no report comes: as epoll on a bad fd */
    subproc__reg_unref(r);
  }
}

static void to_rearm(subproc__reg *r) {
  r->on_rearm = 1;
  r->refs++;
  r->rearm_next = r->pl->rearm;
  r->pl->rearm = r;
}

/* What a live, armed registration reports for a packet. */
static int report(subproc__reg *r, ULONG_PTR key) {
  if (key == SUBPROC__KEY_IO && r->op == SUBPROC__OP_PROBE)
    subproc__room_probe_ended(r);
  if (key == SUBPROC__KEY_IO)
    r->op = SUBPROC__OP_NONE;
  if (key == SUBPROC__KEY_POSTED)
    r->posted = 0;
  if (!r->armed)
    return 0;
  if (r->events & SUBPROC__POLL_ONCE)
    r->armed = 0;
  else if (!(r->events & (SUBPROC__POLL_OUT | SUBPROC__POLL_EXIT)))
    to_rearm(r);
  return r->events & SUBPROC__POLL_OUT ? SUBPROC__POLL_OUT : SUBPROC__POLL_IN;
}

typedef struct batch {
  int n;     /* events */
  int woken; /* a wake-up came */
  int empty; /* the port had nothing before the deadline */
} batch;

static void on_packet(subproc__poller *pl, const OVERLAPPED_ENTRY *e,
                      subproc__poll_event *ev, batch *t) {
  if (e->lpCompletionKey == SUBPROC__KEY_WAKE) {
    InterlockedExchange(&pl->wake_pending, 0);
    t->woken = 1;
    return;
  }
  if (!e->lpOverlapped || e->lpCompletionKey == SUBPROC__KEY_QUIT)
    return;
  subproc__reg *r = CONTAINING_RECORD(e->lpOverlapped, subproc__reg, ov);
  int events = r->deleted ? 0 : report(r, e->lpCompletionKey);
  if (events)
    ev[t->n++] = (subproc__poll_event){r->data, events};
  subproc__reg_unref(r);
}

static int take(subproc__poller *pl, subproc__poll_event *ev, int max,
                double deadline, batch *t) {
  OVERLAPPED_ENTRY raw[BATCH];
  ULONG n = 0;
  int ms = subproc__ms_left(deadline);
  *t = (batch){0};
  ULONG want = (ULONG)(max < BATCH ? max : BATCH);
  if (!GetQueuedCompletionStatusEx(pl->port, raw, want, &n,
                                   ms < 0 ? INFINITE : (DWORD)ms, FALSE)) {
    t->empty = 1;
    return GetLastError() == WAIT_TIMEOUT ? 0 : -errno_now();
  }
  for (ULONG i = 0; i < n; i++)
    on_packet(pl, &raw[i], ev, t);
  return 0;
}

/* Packets that report nothing (a deleted registration's) do not end the
 * wait before its deadline. */
int subproc__os_poller_wait(subproc__poller *pl, subproc__poll_event *ev,
                            int max, double deadline) {
  if (pl->watcher)
    ResetEvent(pl->ready);
  collect_dead(pl);
  rearm_reported(pl);
  batch t;
  int rc;
  do
    rc = take(pl, ev, max, deadline, &t);
  while (rc == 0 && t.n == 0 && !t.woken && !t.empty &&
         subproc__ms_left(deadline) != 0);
  if (pl->watcher)
    SetEvent(pl->go);
  return rc < 0 ? rc : t.n;
}

/* Async-signal-safe as far as Windows has such a thing: an interlocked
 * exchange and at most one system call, no lock, no allocation, no C
 * runtime; GetLastError is kept. So it may run in a console control
 * handler, a C runtime signal handler, an APC or any thread. Wake-ups
 * that come before the wait takes the first are one. */
void subproc__os_poller_wake(subproc__poller *pl) {
  DWORD saved = GetLastError();
  if (InterlockedExchange(&pl->wake_pending, 1) == 0 &&
      !PostQueuedCompletionStatus(pl->port, 0, SUBPROC__KEY_WAKE, NULL))
    InterlockedExchange(&pl->wake_pending, 0);
  SetLastError(saved);
}

/* ------------------------------------------------------------------ */
/* The handle a host loop waits on                                     */
/* ------------------------------------------------------------------ */

/* A completion port cannot be waited on (WaitForSingleObject,
 * MsgWaitForMultipleObjects), so a host loop waits on `ready`, an event
 * kept by a thread of the poller's own, started by the first call of
 * subproc__os_poller_handle. The thread takes a packet from the port
 * (GetQueuedCompletionStatusEx), puts it back unchanged
 * (PostQueuedCompletionStatus), sets ready, then waits for `go`, which
 * every poller_wait sets as it returns, before it takes another: one
 * round trip per run_once, and a packet it holds for that moment is never
 * lost, only seen by the next wait. A packet of a deleted registration it
 * drops instead (collect_dead settles the count), and takes the next.
 *
 * Invariant: while the port holds a packet that reports something (or a
 * wake-up, with registrations left) and no poller_wait is running, ready
 * is set or about to be (the thread is on its way). ready may also be set
 * with nothing to report, while registrations remain: a host loop then
 * calls run_once(g, 0) for nothing. poller_wait resets it before it takes
 * packets, so a packet that arrives after that sets it again; the last
 * del resets it too, since an empty group does not wait (run_once returns
 * at once) and a host loop would otherwise spin on a handle left set. */
static void put_back(subproc__poller *pl, const OVERLAPPED_ENTRY *e) {
  while (!PostQueuedCompletionStatus(pl->port, e->dwNumberOfBytesTransferred,
                                     e->lpCompletionKey, e->lpOverlapped))
    Sleep(1); /* out of nonpaged pool: losing it would stall a child */
}

/* Under the lock, so that del and the thread agree on what is dead (the
 * packet held keeps its registration allocated). 1 if it was put back. */
static int pass_on(subproc__poller *pl, const OVERLAPPED_ENTRY *e) {
  subproc__reg *r = e->lpOverlapped && e->lpCompletionKey != SUBPROC__KEY_WAKE
                        ? CONTAINING_RECORD(e->lpOverlapped, subproc__reg, ov)
                        : NULL;
  AcquireSRWLockExclusive(&pl->lock);
  int dead = r && r->deleted;
  if (dead) {
    r->taken++;
    if (!r->on_dead) {
      r->on_dead = 1;
      r->dead_next = pl->dead;
      pl->dead = r;
    }
  } else {
    put_back(pl, e);
    if (pl->n_live)
      SetEvent(pl->ready);
  }
  ReleaseSRWLockExclusive(&pl->lock);
  return !dead;
}

static DWORD WINAPI watch_port(void *arg) {
  subproc__poller *pl = arg;
  OVERLAPPED_ENTRY e;
  ULONG n;
  while (WaitForSingleObject(pl->go, INFINITE) == WAIT_OBJECT_0) {
    do {
      if (InterlockedCompareExchange(&pl->quit, 0, 0) ||
          !GetQueuedCompletionStatusEx(pl->port, &e, 1, &n, INFINITE, FALSE) ||
          e.lpCompletionKey == SUBPROC__KEY_QUIT)
        return 0;
    } while (!pass_on(pl, &e));
  }
  return 0;
}

static void close_events(subproc__poller *pl) {
  if (pl->ready)
    CloseHandle(pl->ready);
  if (pl->go)
    CloseHandle(pl->go);
  pl->ready = pl->go = NULL;
}

static void start_watcher(subproc__poller *pl) {
  /* ready starts set: packets may be queued already. */
  pl->ready = CreateEventW(NULL, TRUE, TRUE, NULL);
  pl->go = CreateEventW(NULL, FALSE, TRUE, NULL);
  if (pl->ready && pl->go)
    pl->watcher = CreateThread(NULL, WATCHER_STACK, watch_port, pl,
                               STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
  if (!pl->watcher)
    close_events(pl);
}

static void stop_watcher(subproc__poller *pl) {
  if (!pl->watcher)
    return;
  InterlockedExchange(&pl->quit, 1);
  PostQueuedCompletionStatus(pl->port, 0, SUBPROC__KEY_QUIT, NULL);
  SetEvent(pl->go);
  WaitForSingleObject(pl->watcher, INFINITE);
  CloseHandle(pl->watcher);
  pl->watcher = NULL;
  close_events(pl);
}

int subproc__os_poller_fd(const subproc__poller *pl) {
  (void)pl;
  return -1;
}

/* NULL if the thread cannot be started. */
void *subproc__os_poller_handle(const subproc__poller *pl) {
  subproc__poller *p = (subproc__poller *)pl; /* started on first use */
  if (!p->watcher)
    start_watcher(p);
  return p->ready;
}

/* ------------------------------------------------------------------ */
/* The poller                                                          */
/* ------------------------------------------------------------------ */

int subproc__os_poller_new(subproc__poller **out) {
  subproc__poller *pl = calloc(1, sizeof *pl);
  if (!pl)
    return -ENOMEM;
  InitializeSRWLock(&pl->lock);
  pl->port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
  if (!pl->port) {
    int e = errno_now();
    free(pl);
    return -e;
  }
  *out = pl;
  return 0;
}

/* Every operation has ended by the time its registration is deleted, so
 * what is left of their packets is on the port now; a packet the kernel
 * queues a moment after it set the operation's event is never read, and
 * nothing else touches the registration any more. */
static void drain(subproc__poller *pl) {
  OVERLAPPED_ENTRY raw[BATCH];
  subproc__poll_event ignored[BATCH];
  ULONG n;
  while (GetQueuedCompletionStatusEx(pl->port, raw, BATCH, &n, 0, FALSE)) {
    batch t = {0};
    for (ULONG i = 0; i < n; i++)
      on_packet(pl, &raw[i], ignored, &t);
  }
}

void subproc__os_poller_free(subproc__poller *pl) {
  if (!pl)
    return;
  stop_watcher(pl);
  collect_dead(pl);
  for (subproc__reg *r = pl->all, *next; r; r = next) {
    next = r->next;
    if (!r->deleted)
      del_reg(r); /* the group has deleted them all; as a guard */
  }
  drain(pl);
  pl->rearm = NULL;
  while (pl->all) /* packets that were never posted: nothing names these */
    reg_free(pl->all);
  CloseHandle(pl->port);
  free(pl);
}
