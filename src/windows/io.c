/* communicate() on Windows: overlapped I/O on the parent's pipe ends, one
 * WaitForMultipleObjects over every pending read and write (and the child,
 * for wait_delay). No I/O is left pending when a call returns: whatever a
 * cancelled operation had already moved is accounted for, so a call that
 * times out loses nothing and a later call continues. */
#include "windows.h"

#include <errno.h>
#include <io.h>
#include <stdlib.h>
#include <string.h>

/* After a kill, output still in the pipes is collected for this long at
 * most, even when grandchildren keep the pipes open. */
#define KILL_DRAIN_S 0.2
#define IO_CHUNK (64 * 1024)

typedef struct op {
  HANDLE h;
  OVERLAPPED ov;
  int pending;
  char *buf; /* reads: where the bytes land */
} op;

typedef struct loop {
  subproc *p;
  subproc__comm *c;
  double deadline;       /* the call's timeout, -1 = none */
  double delay_deadline; /* wait_delay after the child exited, -1 = none */
  op ops[3];
} loop;

static int is_open(const loop *l, int i) { return subproc_fd(l->p, i) >= 0; }

static int loop_init(loop *l, subproc_error *err) {
  for (int i = 0; i < 3; i++) {
    op *o = &l->ops[i];
    if (!is_open(l, i))
      continue;
    o->h = subproc__pipe_handle(l->p, i);
    o->ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!o->ov.hEvent)
      return subproc__fail_win(err, GetLastError(), "communicate", NULL);
    if (i > 0 && !(o->buf = malloc(IO_CHUNK)))
      return subproc__fail_os(err, ENOMEM, "communicate", NULL, -1);
  }
  return 0;
}

static void loop_free(loop *l) {
  for (int i = 0; i < 3; i++) {
    if (l->ops[i].ov.hEvent)
      CloseHandle(l->ops[i].ov.hEvent);
    free(l->ops[i].buf);
  }
}

/* n bytes read from stream i go to the shared core piece by piece. */
static int deliver(loop *l, int i, const char *data, size_t n,
                   subproc_error *err) {
  while (n > 0) {
    char *dst;
    size_t room;
    int rc = subproc__comm_space(l->c, i, &dst, &room);
    if (rc < 0)
      return subproc__fail_os(err, -rc, "read", NULL, subproc_fd(l->p, i));
    size_t k = room < n ? room : n;
    memcpy(dst, data, k);
    if ((rc = subproc__comm_commit(l->c, i, k, err)) < 0)
      return rc;
    data += k;
    n -= k;
  }
  return 0;
}

static int finish_stream(loop *l, int i, subproc_error *err) {
  int rc = subproc__comm_eof(l->c, i, err);
  subproc_close_stream(l->p, i);
  return rc;
}

/* All input written, or the child closed its end: EOF for the child. */
static int close_stdin(loop *l) {
  int rc = subproc_close_stream(l->p, 0);
  return rc == -EPIPE ? 0 : rc;
}

static int broken(DWORD e) {
  return e == ERROR_BROKEN_PIPE || e == ERROR_NO_DATA ||
         e == ERROR_PIPE_NOT_CONNECTED;
}

/* Starting an operation: it completes through its event either way. */
static int started(op *o, BOOL ok) {
  if (ok || GetLastError() == ERROR_IO_PENDING) {
    o->pending = 1;
    return 0;
  }
  return -1;
}

static int start_write(loop *l, subproc_error *err) {
  op *o = &l->ops[0];
  size_t len;
  const char *data = subproc__comm_input(l->c, &len);
  if (len == 0)
    return close_stdin(l);
  DWORD n = len < IO_CHUNK ? (DWORD)len : IO_CHUNK;
  if (started(o, WriteFile(o->h, data, n, NULL, &o->ov)) == 0)
    return 0;
  DWORD e = GetLastError();
  if (broken(e))
    return close_stdin(l); /* the child stopped reading: not an error */
  return subproc__fail_win(err, e, "write", NULL);
}

/* 1 at EOF, 0 once started, <0 on error. */
static int start_read(loop *l, int i, subproc_error *err) {
  op *o = &l->ops[i];
  if (started(o, ReadFile(o->h, o->buf, IO_CHUNK, NULL, &o->ov)) == 0)
    return 0;
  DWORD e = GetLastError();
  if (broken(e))
    return 1;
  return subproc__fail_win(err, e, "read", NULL);
}

static int start_ops(loop *l, subproc_error *err) {
  int rc;
  if (is_open(l, 0) && !l->ops[0].pending && (rc = start_write(l, err)) < 0)
    return rc;
  for (int i = 1; i <= 2; i++) {
    if (!is_open(l, i) || l->ops[i].pending)
      continue;
    if ((rc = start_read(l, i, err)) < 0)
      return rc;
    if (rc == 1 && (rc = finish_stream(l, i, err)) < 0)
      return rc;
  }
  return 0;
}

/* Account for a finished operation: ok/n/e as GetOverlappedResult gave. */
static int settle(loop *l, int i, BOOL ok, DWORD n, DWORD e,
                  subproc_error *err) {
  l->ops[i].pending = 0;
  if (i == 0) {
    if (ok || n > 0)
      subproc__comm_input_advance(l->c, n);
    if (ok || e == ERROR_OPERATION_ABORTED)
      return 0;
    return broken(e) ? close_stdin(l)
                     : subproc__fail_win(err, e, "write", NULL);
  }
  if (ok || n > 0)
    return deliver(l, i, l->ops[i].buf, n, err);
  if (e == ERROR_OPERATION_ABORTED)
    return 0;
  return broken(e) ? finish_stream(l, i, err)
                   : subproc__fail_win(err, e, "read", NULL);
}

/* Collect every operation that has completed, without blocking. */
static int reap_ops(loop *l, subproc_error *err) {
  for (int i = 0; i < 3; i++) {
    op *o = &l->ops[i];
    if (!o->pending)
      continue;
    DWORD n = 0;
    BOOL ok = GetOverlappedResult(o->h, &o->ov, &n, FALSE);
    DWORD e = ok ? 0 : GetLastError();
    if (!ok && e == ERROR_IO_INCOMPLETE)
      continue;
    int rc = settle(l, i, ok, n, e, err);
    if (rc < 0)
      return rc;
  }
  return 0;
}

/* Stop every pending operation, keeping what it had already moved. */
static int cancel_ops(loop *l, subproc_error *err) {
  int first = 0;
  for (int i = 0; i < 3; i++) {
    op *o = &l->ops[i];
    if (!o->pending)
      continue;
    CancelIoEx(o->h, &o->ov);
    /* EOF or an error shows again on the next call: only bytes count. */
    DWORD n = 0;
    GetOverlappedResult(o->h, &o->ov, &n, TRUE);
    o->pending = 0;
    int rc = 0;
    if (i == 0 && n > 0)
      subproc__comm_input_advance(l->c, n);
    else if (i > 0 && n > 0)
      rc = deliver(l, i, o->buf, n, err);
    if (rc < 0 && first == 0)
      first = rc;
  }
  return first;
}

/* Once the child has exited, the wait_delay clock starts. */
static void note_exit(loop *l) {
  if (l->delay_deadline < 0 && l->p->cs.opts.wait_delay > 0 &&
      subproc__reap(l->p, 0) == 1)
    l->delay_deadline = subproc__now() + l->p->cs.opts.wait_delay;
}

/* Grandchildren hold the pipes after wait_delay: stop reading. */
static int give_up_reading(loop *l, subproc_error *err) {
  int rc = cancel_ops(l, err);
  for (int i = 1; i <= 2 && rc == 0; i++)
    if (is_open(l, i))
      rc = finish_stream(l, i, err);
  return rc;
}

/* 0 when every pipe is done, SUBPROC_ETIMEDOUT, or an error. */
static int pump_loop(loop *l, subproc_error *err) {
  for (;;) {
    int rc = start_ops(l, err);
    if (rc < 0)
      return rc;
    HANDLE wait[4];
    DWORD n = 0;
    for (int i = 0; i < 3; i++)
      if (l->ops[i].pending)
        wait[n++] = l->ops[i].ov.hEvent;
    if (n == 0)
      return 0;
    note_exit(l);
    if (l->delay_deadline >= 0 && subproc__ms_left(l->delay_deadline) == 0)
      return give_up_reading(l, err);
    if (l->delay_deadline < 0 && l->p->cs.opts.wait_delay > 0)
      wait[n++] = l->p->process;
    int ms = subproc__ms_left2(l->deadline, l->delay_deadline);
    DWORD r =
        WaitForMultipleObjects(n, wait, FALSE, ms < 0 ? INFINITE : (DWORD)ms);
    if (r == WAIT_FAILED)
      return subproc__fail_win(err, GetLastError(), "wait", NULL);
    if ((rc = reap_ops(l, err)) < 0)
      return rc;
    /* Checked after every wake-up, not only on WAIT_TIMEOUT: a pipe that
     * is never empty must not defeat the timeout. What was read is kept. */
    if (l->deadline >= 0 && subproc__ms_left(l->deadline) == 0)
      return SUBPROC_ETIMEDOUT;
  }
}

static int pump(loop *l, subproc_error *err) {
  int rc = loop_init(l, err);
  if (rc == 0)
    rc = pump_loop(l, err);
  int rc2 = cancel_ops(l, rc == 0 || rc == SUBPROC_ETIMEDOUT ? err : NULL);
  loop_free(l);
  return rc2 < 0 && (rc == 0 || rc == SUBPROC_ETIMEDOUT) ? rc2 : rc;
}

static int prepare_stdin(loop *l) {
  if (!is_open(l, 0))
    return 0;
  if (l->p->streams[0])
    fflush(l->p->streams[0]);
  size_t pending;
  if (!subproc__comm_input(l->c, &pending) || pending == 0)
    return close_stdin(l); /* no input: the child sees EOF (Python) */
  return 0;
}

int subproc__pump(subproc *p, double deadline, subproc_error *err) {
  loop l;
  memset(&l, 0, sizeof l);
  l.p = p;
  l.c = p->cs.comm;
  l.deadline = deadline;
  l.delay_deadline = -1.0;
  int rc = prepare_stdin(&l);
  return rc < 0 ? rc : pump(&l, err);
}

/* Drains whatever the pipes still hold after the child was killed, for at
 * most KILL_DRAIN_S (used by run() after a timeout). */
int subproc__drain_after_kill(subproc *p, subproc_error *err) {
  if (!p->cs.comm)
    return 0;
  loop l;
  memset(&l, 0, sizeof l);
  l.p = p;
  l.c = p->cs.comm;
  l.delay_deadline = -1.0;
  l.deadline = subproc__now() + KILL_DRAIN_S;
  subproc_close_stream(p, 0);
  int rc = pump(&l, err);
  for (int i = 1; i <= 2; i++)
    if (subproc_fd(p, i) >= 0) {
      subproc__comm_eof(p->cs.comm, i, NULL);
      subproc_close_stream(p, i);
    }
  return rc == SUBPROC_ETIMEDOUT ? 0 : rc;
}

/* ------------------------------------------------------------------ */
/* FILE * streams                                                      */
/* ------------------------------------------------------------------ */

FILE *subproc__open_stream(int fd, const char *mode,
                           const subproc__comm_opts *co) {
  FILE *f = _fdopen(fd, mode);
  if (!f)
    return NULL;
  long b = co->bufsize;
  if (b == SUBPROC_BUFSIZE_UNBUFFERED)
    setvbuf(f, NULL, _IONBF, 0);
  else if (b == SUBPROC_BUFSIZE_LINE && co->text)
    setvbuf(f, NULL, _IOLBF, BUFSIZ);
  else if (b > 1)
    setvbuf(f, NULL, _IOFBF, (size_t)b);
  return f;
}

void subproc__move_stdin(subproc *from, subproc *to) {
  to->fds[0] = from->fds[0];
  to->streams[0] = from->streams[0];
  from->fds[0] = -1;
  from->streams[0] = NULL;
}
