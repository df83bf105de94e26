/* Pipe I/O on Windows: overlapped reads and writes on the parent's pipe
 * ends (which make_pipe opens with FILE_FLAG_OVERLAPPED), one
 * WaitForMultipleObjects over them (and the child, for wait_delay), and
 * FILE streams as the C runtime's binary FILEs.
 *
 * Every operation's event has its low bit set, which keeps its completion
 * off the completion port the handle may be associated with (a group's
 * poller, src/windows/poller.c, or a host loop's own): these operations
 * are collected here, by their events, and nowhere else.
 *
 * Nothing may be pending when subproc__os_io returns, so what has not
 * completed by then is cancelled. A cancelled read has moved nothing (a
 * pipe read completes as soon as any data is there). A cancelled write may
 * have been partly taken by the reader, yet Windows (NPFS drops the whole
 * queue entry) and Wine both complete it with 0 bytes: resending would
 * duplicate data. So no write of more than one byte is ever left waiting.
 * The write end is in nonblocking mode (PIPE_NOWAIT: communicate sets it,
 * subproc__os_set_nonblocking) and takes at once what fits; only when
 * nothing fits does a one-byte write in wait mode wait for room, which a
 * cancel either undoes whole or finds done. */
#include "win.h"

#include <errno.h>
#include <io.h>
#include <limits.h>
#include <string.h>

/* Wine's nonblocking pipes take a write whole or not at all (Windows takes
 * what fits), so ever smaller pieces are tried before waiting for room. */
#define WRITE_PIECE (64 * 1024)
#define WRITE_PIECE_MIN 16
#define READ_MAX (1u << 30)
#define MAX_OPS (MAXIMUM_WAIT_OBJECTS - 1) /* one slot for the child */
#define SPARE_EVENTS 8

typedef struct op {
  HANDLE h;
  HANDLE event; /* ov.hEvent without the low bit */
  OVERLAPPED ov;
  int started; /* ov is in use until finish() collects it */
  int probe;   /* a one-byte write in wait mode: nonblocking mode after */
} op;

/* ------------------------------------------------------------------ */
/* Events, reused across calls (a communicate makes thousands)         */
/* ------------------------------------------------------------------ */

static SRWLOCK spare_lock = SRWLOCK_INIT;
static HANDLE spare[SPARE_EVENTS];
static size_t n_spare;

static HANDLE event_get(void) {
  HANDLE e = NULL;
  AcquireSRWLockExclusive(&spare_lock);
  if (n_spare)
    e = spare[--n_spare];
  ReleaseSRWLockExclusive(&spare_lock);
  /* Manual reset: ReadFile and WriteFile reset it when they start. */
  return e ? e : CreateEventW(NULL, TRUE, FALSE, NULL);
}

static void event_put(HANDLE e) {
  AcquireSRWLockExclusive(&spare_lock);
  if (n_spare < SPARE_EVENTS) {
    spare[n_spare++] = e;
    e = NULL;
  }
  ReleaseSRWLockExclusive(&spare_lock);
  if (e)
    CloseHandle(e);
}

/* ------------------------------------------------------------------ */
/* One operation per entry                                             */
/* ------------------------------------------------------------------ */

static int broken(DWORD e) {
  return e == ERROR_BROKEN_PIPE || e == ERROR_NO_DATA ||
         e == ERROR_PIPE_NOT_CONNECTED || e == ERROR_HANDLE_EOF;
}

/* A broken pipe is EOF for a read and "no reader left" for a write. */
static void settle(subproc__io *io, BOOL ok, DWORD n, DWORD e) {
  io->done = n;
  if (ok || e == ERROR_OPERATION_ABORTED)
    return;
  if (broken(e))
    io->eof = 1;
  else
    io->os_errno = subproc__errno_of(e);
}

static int moved(const subproc__io *io) {
  return io->done || io->eof || io->os_errno;
}

/* ok: what ReadFile/WriteFile returned. 1 if the operation is under way
 * or complete (finish() collects it), 0 if it failed at once. */
static int begin(op *o, BOOL ok, subproc__io *io) {
  DWORD e = ok ? 0 : GetLastError();
  if (ok || e == ERROR_IO_PENDING) {
    o->started = 1;
    return 1;
  }
  settle(io, FALSE, 0, e);
  return 0;
}

int subproc__win_set_wait_mode(HANDLE h, int wait) {
  DWORD mode = PIPE_READMODE_BYTE | (wait ? PIPE_WAIT : PIPE_NOWAIT);
  return SetNamedPipeHandleState(h, &mode, NULL, NULL) ? 0 : -1;
}

static void start_probe(op *o, subproc__io *io) {
  if (subproc__win_set_wait_mode(o->h, 1) < 0) {
    settle(io, FALSE, 0, GetLastError());
    return;
  }
  o->probe = 1;
  begin(o, WriteFile(o->h, io->buf, 1, NULL, &o->ov), io);
}

static DWORD piece(size_t len, DWORD max) {
  return len < max ? (DWORD)len : max;
}

/* A write end left in wait mode would make the first write wait (and a
 * cancel could then lose its count): communicate sets nonblocking mode.
 * 1 if a write is under way or done (finish() collects it) or failed. */
static int write_pieces(op *o, subproc__io *io) {
  DWORD last = 0;
  for (DWORD max = WRITE_PIECE; max >= WRITE_PIECE_MIN; max /= 8) {
    DWORD len = piece(io->len, max);
    if (len == last)
      continue;
    last = len;
    if (!begin(o, WriteFile(o->h, io->buf, len, NULL, &o->ov), io))
      return 1;
    DWORD n = 0;
    if (!GetOverlappedResult(o->h, &o->ov, &n, FALSE) || n > 0)
      return 1;
    o->started = 0;
  }
  return 0;
}

/* A watched write end's wait for room is the poller's (room.c). */
static void start_write(op *o, subproc__io *io) {
  DWORD n = 0, e = 0;
  int room = subproc__win_room_take(io->fd, &n, &e);
  if (room == SUBPROC__ROOM_NONE) {
    if (write_pieces(o, io))
      return;
    room = subproc__win_room_wait(io->fd, io->buf, &e);
  }
  if (room == SUBPROC__ROOM_NONE)
    start_probe(o, io);
  else if (room == SUBPROC__ROOM_ENDED)
    settle(io, e == 0, n, e);
}

static void start(op *o, subproc__io *io) {
  memset(o, 0, sizeof *o);
  io->done = 0, io->eof = 0, io->os_errno = 0;
  if (io->fd < 0)
    return;
  if ((o->h = subproc__win_handle(io->fd)) == INVALID_HANDLE_VALUE) {
    io->os_errno = EBADF;
    return;
  }
  if (!(o->event = event_get())) {
    io->os_errno = subproc__errno_of(GetLastError());
    return;
  }
  o->ov.hEvent = (HANDLE)((uintptr_t)o->event | 1);
  if (io->writing)
    start_write(o, io);
  else
    begin(o, ReadFile(o->h, io->buf, piece(io->len, READ_MAX), NULL, &o->ov),
          io);
}

static int is_ready(const op *o, const subproc__io *io) {
  return moved(io) || (o->started && HasOverlappedIoCompleted(&o->ov));
}

/* Collect the operation, cancelled first if it has not completed; 1 if
 * the entry moved something (or failed). */
static int finish(op *o, subproc__io *io) {
  if (o->started) {
    if (!HasOverlappedIoCompleted(&o->ov)) {
      CancelIoEx(o->h, &o->ov);
      WaitForSingleObject(o->event, INFINITE);
    }
    DWORD n = 0;
    BOOL ok = GetOverlappedResult(o->h, &o->ov, &n, FALSE);
    settle(io, ok, n, ok ? 0 : GetLastError());
    if (io->writing && io->done)
      subproc__win_room_wrote(io->fd);
  }
  if (o->probe)
    subproc__win_set_wait_mode(o->h, 0);
  if (o->event)
    event_put(o->event);
  return moved(io);
}

/* Until an operation completes, the child exits, or the deadline. */
static int wait_ops(const op *ops, size_t n, subproc__os *exit_watch,
                    double deadline) {
  HANDLE h[MAXIMUM_WAIT_OBJECTS];
  DWORD k = 0;
  for (size_t i = 0; i < n; i++)
    if (ops[i].started)
      h[k++] = ops[i].event;
  if (exit_watch)
    h[k++] = (HANDLE)exit_watch->handle;
  int ms = subproc__ms_left(deadline);
  DWORD timeout = ms < 0 ? INFINITE : (DWORD)ms;
  if (k == 0) { /* nothing to watch: as poll() with no fds */
    Sleep(timeout);
    return 0;
  }
  if (WaitForMultipleObjects(k, h, FALSE, timeout) == WAIT_FAILED)
    return -subproc__errno_of(GetLastError());
  return 0;
}

int subproc__os_io(subproc__io *io, size_t n, subproc__os *exit_watch,
                   double deadline) {
  op ops[MAX_OPS];
  if (n > MAX_OPS)
    return -EINVAL;
  int ready = 0;
  for (size_t i = 0; i < n; i++) {
    start(&ops[i], &io[i]);
    ready |= is_ready(&ops[i], &io[i]);
  }
  int rc = ready ? 0 : wait_ops(ops, n, exit_watch, deadline);
  int n_moved = 0;
  for (size_t i = 0; i < n; i++)
    n_moved += finish(&ops[i], &io[i]);
  return rc < 0 ? rc : n_moved;
}

/* ------------------------------------------------------------------ */
/* Pipe ends as C runtime fds                                          */
/* ------------------------------------------------------------------ */

/* PIPE_NOWAIT: the C runtime's reads and writes on fd return at once. */
int subproc__os_set_nonblocking(int fd, int on) {
  HANDLE h = subproc__win_handle(fd);
  if (h == INVALID_HANDLE_VALUE)
    return -EBADF;
  if (subproc__win_set_wait_mode(h, !on) < 0)
    return -subproc__errno_of(GetLastError());
  return 0;
}

int subproc__os_close_fd(int fd) {
  int pty = subproc__conpty_close_fd(fd); /* a pty's hang-up */
  if (pty)
    return pty < 0 ? pty : 0;
  subproc__win_room_forget(fd);
  return _close(fd) < 0 ? -errno : 0;
}

long subproc__os_read(int fd, char *buf, size_t n) {
  return _read(fd, buf, n > INT_MAX ? INT_MAX : (unsigned)n);
}

int subproc__os_write_all(int fd, const char *buf, size_t n) {
  while (n) {
    int w = _write(fd, buf, n > INT_MAX ? INT_MAX : (unsigned)n);
    if (w <= 0) {
      if (w == 0)
        errno = EAGAIN; /* a full pipe in nonblocking mode */
      return -1;
    }
    buf += w;
    n -= (size_t)w;
  }
  return 0;
}

/* No SIGPIPE on Windows: a write to a closed pipe fails with EPIPE. */
void subproc__os_sigpipe_begin(subproc__sigpipe *g) {
  g->was_pending = g->was_blocked = 0;
}

void subproc__os_sigpipe_end(subproc__sigpipe *g, int got_epipe) {
  (void)g, (void)got_epipe;
}

/* ------------------------------------------------------------------ */
/* FILE streams: the C runtime cannot build one on functions           */
/* ------------------------------------------------------------------ */

FILE *subproc__os_fopencookie(const subproc__cookie_fns *const *cookie,
                              const char *mode) {
  (void)cookie, (void)mode;
  errno = ENOSYS;
  return NULL;
}

FILE *subproc__os_fdopen(int fd, const char *mode) { return _fdopen(fd, mode); }

int subproc__os_fileno(FILE *f) { return _fileno(f); }
