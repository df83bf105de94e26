/* A write end that a group's poller watches for room (SUBPROC__POLL_OUT),
 * and the index that finds a registration by fd or child.
 *
 * A pipe tells a writer that there is room only by completing a write
 * that waited for it: there is no readiness without data. So the one-byte
 * write in wait mode with which subproc__os_io waits for room (see
 * src/windows/io.c) is, for a watched write end, issued by the poller on
 * the registration's OVERLAPPED: it stays in flight on the completion port
 * across subproc__os_io calls, its completion is the report of room, and
 * the next subproc__os_io on the fd counts that byte as written (it is
 * the first byte of what the core offers again, as nothing was counted).
 * While it is in flight, subproc__os_io writes nothing to the fd.
 * Before the first write, and after every write or probe that moved data,
 * room is assumed and reported by a posted packet: level-triggered, like
 * epoll, and never a busy loop, since each report ends in a write or a
 * probe.
 *
 * A probe that wrote its byte after the last look, when the write end
 * leaves the poller (subproc_group_remove: communicate may go on without
 * the group), is carried in the index until the next write on the fd
 * counts it, so nothing is written twice or lost. */
#include "poller.h"

#include <errno.h>
#include <stdlib.h>

/* ------------------------------------------------------------------ */
/* The index: open addressing, one lock for the process                */
/* ------------------------------------------------------------------ */

typedef struct slot {
  uintptr_t key; /* 0: empty; a child's subproc__os address; fd * 2 + 1 */
  subproc__reg *r;
  HANDLE carried; /* r == NULL: a byte carried for fd while it names this */
} slot;

static SRWLOCK index_lock = SRWLOCK_INIT;
static slot *tab;
static size_t cap, used;
static volatile LONG writers;

void subproc__index_lock(void) { AcquireSRWLockExclusive(&index_lock); }
void subproc__index_unlock(void) { ReleaseSRWLockExclusive(&index_lock); }

LONG subproc__index_writers(void) {
  return InterlockedCompareExchange(&writers, 0, 0);
}

/* Pointers are even: the keys of fds never meet them. */
uintptr_t subproc__key_of_fd(int fd) { return ((uintptr_t)fd << 1) | 1; }

static size_t home(uintptr_t key) {
  return (size_t)(((uint64_t)key * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

/* Where key is, or the empty slot where it would go. */
static size_t slot_of(uintptr_t key) {
  size_t i = home(key);
  while (tab[i].key && tab[i].key != key)
    i = (i + 1) & (cap - 1);
  return i;
}

static int is_writer(const slot *s) {
  return s->carried || (s->r && (s->r->events & SUBPROC__POLL_OUT));
}

static int grow(void) {
  slot *old = tab;
  size_t old_cap = cap, n = cap ? 2 * cap : 64;
  slot *t = calloc(n, sizeof *t);
  if (!t)
    return -ENOMEM;
  tab = t;
  cap = n;
  for (size_t i = 0; i < old_cap; i++)
    if (old[i].key)
      tab[slot_of(old[i].key)] = old[i];
  free(old);
  return 0;
}

static int put(slot s) {
  if (2 * (used + 1) > cap && grow() < 0)
    return -ENOMEM;
  size_t i = slot_of(s.key);
  if (!tab[i].key)
    used++;
  else if (is_writer(&tab[i]))
    InterlockedDecrement(&writers);
  tab[i] = s;
  if (is_writer(&s))
    InterlockedIncrement(&writers);
  return 0;
}

/* Backward-shift deletion: the slots after i that would no longer be
 * found move up, so no tombstones are needed. */
static void drop_at(size_t i) {
  if (is_writer(&tab[i]))
    InterlockedDecrement(&writers);
  used--;
  for (size_t j = (i + 1) & (cap - 1); tab[j].key; j = (j + 1) & (cap - 1)) {
    size_t h = home(tab[j].key);
    if (((j - h) & (cap - 1)) >= ((j - i) & (cap - 1))) {
      tab[i] = tab[j];
      i = j;
    }
  }
  tab[i] = (slot){0};
}

subproc__reg *subproc__index_find(uintptr_t key) {
  if (!cap)
    return NULL;
  size_t i = slot_of(key);
  return tab[i].key ? tab[i].r : NULL;
}

int subproc__index_put(uintptr_t key, subproc__reg *r) {
  return put((slot){key, r, NULL});
}

void subproc__index_drop(uintptr_t key) {
  size_t i = cap ? slot_of(key) : 0;
  if (cap && tab[i].key)
    drop_at(i);
}

int subproc__index_put_carried(int fd, HANDLE h) {
  return put((slot){subproc__key_of_fd(fd), NULL, h});
}

int subproc__index_take_carried(int fd, HANDLE h) {
  size_t i = cap ? slot_of(subproc__key_of_fd(fd)) : 0;
  if (!cap || !tab[i].key || !tab[i].carried)
    return 0;
  int mine = !h || tab[i].carried == h;
  drop_at(i); /* one that names another pipe end is stale */
  return mine;
}

/* ------------------------------------------------------------------ */
/* The probe                                                           */
/* ------------------------------------------------------------------ */

static void leave_wait_mode(subproc__reg *r) {
  if (r->wait_mode)
    subproc__win_set_wait_mode(r->h, 0);
  r->wait_mode = 0;
}

/* Room is assumed: a packet says so (one at a time). */
static void may_write(subproc__reg *r) {
  if (r->armed && !r->posted && r->op == SUBPROC__OP_NONE &&
      subproc__reg_post(r, SUBPROC__KEY_POSTED) == 0)
    r->posted = 1;
}

int subproc__room_add(subproc__reg *r) {
  int rc = subproc__reg_post(r, SUBPROC__KEY_POSTED);
  r->posted = rc == 0;
  return rc;
}

int subproc__room_rearm(subproc__reg *r) {
  may_write(r);
  return 0;
}

void subproc__room_probe_ended(subproc__reg *r) {
  DWORD n = 0;
  BOOL ok = GetOverlappedResult(r->h, &r->ov, &n, FALSE);
  r->probe_n = n;
  r->probe_err = ok ? 0 : GetLastError();
  r->probe_ended = 1;
}

/* A byte that went and was not counted stays owed to the fd. */
void subproc__room_del(subproc__reg *r) {
  int owed = r->probe_ended && r->probe_n == 1;
  if (r->op == SUBPROC__OP_PROBE) {
    DWORD n = 0;
    subproc__reg_settle(r); /* a cancel undoes a one-byte write whole */
    owed = GetOverlappedResult(r->h, &r->ov, &n, FALSE) && n == 1;
  }
  leave_wait_mode(r);
  if (!owed)
    return;
  subproc__index_lock();
  subproc__index_put_carried(r->fd, r->h);
  subproc__index_unlock();
}

static subproc__reg *writer_of(int fd) {
  subproc__reg *r = subproc__index_find(subproc__key_of_fd(fd));
  return r && (r->events & SUBPROC__POLL_OUT) ? r : NULL;
}

static int take_locked(int fd, DWORD *n, DWORD *err) {
  if (subproc__index_take_carried(fd, subproc__win_handle(fd))) {
    *n = 1, *err = 0;
    return SUBPROC__ROOM_ENDED;
  }
  subproc__reg *r = writer_of(fd);
  if (!r)
    return SUBPROC__ROOM_NONE;
  if (r->op == SUBPROC__OP_PROBE)
    return SUBPROC__ROOM_BUSY;
  if (!r->probe_ended)
    return SUBPROC__ROOM_NONE;
  r->probe_ended = 0;
  leave_wait_mode(r);
  *n = r->probe_n, *err = r->probe_err;
  if (*n)
    may_write(r);
  return SUBPROC__ROOM_ENDED;
}

int subproc__win_room_take(int fd, DWORD *n, DWORD *err) {
  if (!subproc__index_writers())
    return SUBPROC__ROOM_NONE;
  subproc__index_lock();
  int rc = take_locked(fd, n, err);
  subproc__index_unlock();
  return rc;
}

/* The pipe end is in wait mode while the byte waits (a cancel then
 * undoes it whole or finds it done), as for subproc__os_io's own. */
static int start_probe(subproc__reg *r, char byte, DWORD *err) {
  if (subproc__win_set_wait_mode(r->h, 1) < 0) {
    *err = GetLastError();
    return SUBPROC__ROOM_ENDED;
  }
  r->wait_mode = 1;
  r->byte = byte;
  r->ov = (OVERLAPPED){.hEvent = r->done};
  if (WriteFile(r->h, &r->byte, 1, NULL, &r->ov) ||
      GetLastError() == ERROR_IO_PENDING) {
    r->op = SUBPROC__OP_PROBE;
    r->refs++; /* its packet */
    return SUBPROC__ROOM_BUSY;
  }
  *err = GetLastError();
  leave_wait_mode(r);
  return SUBPROC__ROOM_ENDED;
}

int subproc__win_room_wait(int fd, const char *byte, DWORD *err) {
  if (!subproc__index_writers())
    return SUBPROC__ROOM_NONE;
  subproc__index_lock();
  subproc__reg *r = writer_of(fd);
  int rc = r ? start_probe(r, *byte, err) : SUBPROC__ROOM_NONE;
  subproc__index_unlock();
  return rc;
}

void subproc__win_room_wrote(int fd) {
  if (!subproc__index_writers())
    return;
  subproc__index_lock();
  subproc__reg *r = writer_of(fd);
  if (r)
    may_write(r);
  subproc__index_unlock();
}

void subproc__win_room_forget(int fd) {
  if (!subproc__index_writers())
    return;
  subproc__index_lock();
  subproc__index_take_carried(fd, NULL);
  subproc__index_unlock();
}
