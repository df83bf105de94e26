/* communicate() on POSIX: one poll loop over every pipe, non-blocking
 * writes, SIGPIPE contained, state kept across timeouts. */
#include "subproc_config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "posix.h"

/* After a kill, output still in the pipes is collected for this long at
 * most, even when grandchildren keep the pipes open. */
#define KILL_DRAIN_S 0.2

typedef struct loop {
  subproc *p;
  subproc__comm *c;
  double deadline;       /* the call's timeout, -1 = none */
  double delay_deadline; /* wait_delay after the child exited, -1 = none */
  int got_epipe;
} loop;

static int fd_of(subproc *p, int i) { return p->fds[i]; }

static int write_input(loop *l, subproc_error *err) {
  size_t len;
  const char *data = subproc__comm_input(l->c, &len);
  if (len > 0) {
    ssize_t w = write(fd_of(l->p, 0), data, len);
    if (w > 0) {
      subproc__comm_input_advance(l->c, (size_t)w);
      if ((size_t)w < len)
        return 0;
    } else if (w < 0 && (errno == EINTR || errno == EAGAIN)) {
      return 0;
    } else if (w < 0 && errno != EPIPE) {
      return subproc__fail_os(err, errno, "write", NULL, fd_of(l->p, 0));
    } else if (w < 0) {
      l->got_epipe = 1; /* the child stopped reading: not an error */
    }
  }
  int rc = subproc_close_stream(l->p, 0);
  return rc == -EPIPE ? 0 : rc;
}

/* 1 at EOF, 0 after data or a spurious wakeup, <0 on error. */
static int read_output(loop *l, int i, subproc_error *err) {
  char *dst;
  size_t room;
  int rc = subproc__comm_space(l->c, i, &dst, &room);
  if (rc < 0)
    return subproc__fail_os(err, -rc, "read", NULL, fd_of(l->p, i));
  ssize_t n = read(fd_of(l->p, i), dst, room);
  if (n < 0) {
    if (errno == EINTR || errno == EAGAIN)
      return 0;
    return subproc__fail_os(err, errno, "read", NULL, fd_of(l->p, i));
  }
  if (n == 0)
    return 1;
  return subproc__comm_commit(l->c, i, (size_t)n, err);
}

static int finish_stream(loop *l, int i, subproc_error *err) {
  int rc = subproc__comm_eof(l->c, i, err);
  subproc_close_stream(l->p, i);
  return rc;
}

/* Once the child has exited, the wait_delay clock starts. */
static void note_exit(loop *l) {
  if (l->delay_deadline < 0 && l->p->cs.opts.wait_delay > 0 &&
      subproc__reap(l->p, 0) == 1)
    l->delay_deadline = subproc__now() + l->p->cs.opts.wait_delay;
}

/* 0 when every pipe is done, SUBPROC_ETIMEDOUT, or an error. */
static int pump(loop *l, subproc_error *err) {
  for (;;) {
    struct pollfd pfd[4];
    int idx[4], n = 0, rc;
    if (fd_of(l->p, 0) >= 0)
      pfd[n] = (struct pollfd){fd_of(l->p, 0), POLLOUT, 0}, idx[n++] = 0;
    for (int i = 1; i <= 2; i++)
      if (fd_of(l->p, i) >= 0)
        pfd[n] = (struct pollfd){fd_of(l->p, i), POLLIN, 0}, idx[n++] = i;
    if (n == 0)
      return 0;
    note_exit(l);
    if (l->delay_deadline >= 0 && subproc__ms_left(l->delay_deadline) == 0) {
      for (int i = 1; i <= 2; i++)
        if (fd_of(l->p, i) >= 0 && (rc = finish_stream(l, i, err)) < 0)
          return rc;
      return 0; /* grandchildren hold the pipes: stop reading (WaitDelay) */
    }
    int watch_exit = l->delay_deadline < 0 && l->p->pidfd >= 0 &&
                     l->p->cs.opts.wait_delay > 0;
    if (watch_exit)
      pfd[n] = (struct pollfd){l->p->pidfd, POLLIN, 0}, idx[n++] = 3;
    int ms = subproc__ms_left2(l->deadline, l->delay_deadline);
    /* No pidfd to watch: look for the child's exit now and then. */
    if (l->delay_deadline < 0 && l->p->cs.opts.wait_delay > 0 &&
        l->p->pidfd < 0 && (ms < 0 || ms > 20))
      ms = 20;
    int r = poll(pfd, (nfds_t)n, ms);
    if (r < 0 && errno != EINTR)
      return subproc__fail_os(err, errno, "poll", NULL, -1);
    /* Checked whatever poll returned (as Python checks before each
     * select): a pipe that is never empty must not defeat the timeout. */
    if (l->deadline >= 0 && subproc__ms_left(l->deadline) == 0)
      return SUBPROC_ETIMEDOUT;
    for (int k = 0; k < n && r > 0; k++) {
      if (!pfd[k].revents || idx[k] == 3)
        continue;
      if (idx[k] == 0) {
        if ((rc = write_input(l, err)) < 0)
          return rc;
        continue;
      }
      rc = read_output(l, idx[k], err);
      if (rc < 0)
        return rc;
      if (rc == 1 && (rc = finish_stream(l, idx[k], err)) < 0)
        return rc;
    }
  }
}

static int prepare_stdin(loop *l) {
  int fd = fd_of(l->p, 0), rc;
  if (fd < 0)
    return 0;
  /* Runs under the SIGPIPE guard: the child may be gone already. */
  if (l->p->streams[0] && fflush(l->p->streams[0]) != 0 && errno == EPIPE)
    l->got_epipe = 1;
  size_t pending;
  if (!subproc__comm_input(l->c, &pending) || pending == 0) {
    /* No input: close stdin so the child sees EOF (Python). */
    rc = subproc_close_stream(l->p, 0);
    return rc == -EPIPE ? 0 : rc;
  }
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0 && !(fl & O_NONBLOCK))
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  return 0;
}

int subproc__pump(subproc *p, double deadline, subproc_error *err) {
  loop l = {
      .p = p, .c = p->cs.comm, .deadline = deadline, .delay_deadline = -1.0};
  subproc__sigpipe_guard g;
  subproc__sigpipe_begin(&g);
  int rc = prepare_stdin(&l);
  if (rc == 0)
    rc = pump(&l, err);
  subproc__sigpipe_end(&g, l.got_epipe);
  return rc;
}

/* Drains whatever the pipes still hold after the child was killed, for at
 * most KILL_DRAIN_S (used by run() after a timeout). */
int subproc__drain_after_kill(subproc *p, subproc_error *err) {
  if (!p->cs.comm)
    return 0;
  loop l = {.p = p, .c = p->cs.comm, .delay_deadline = -1.0};
  l.deadline = subproc__now() + KILL_DRAIN_S;
  subproc_close_stream(p, 0);
  int rc = pump(&l, err);
  for (int i = 1; i <= 2; i++)
    if (fd_of(p, i) >= 0) {
      subproc__comm_eof(p->cs.comm, i, NULL);
      subproc_close_stream(p, i);
    }
  return rc == SUBPROC_ETIMEDOUT ? 0 : rc;
}

/* ------------------------------------------------------------------ */
/* FILE * streams                                                      */
/* ------------------------------------------------------------------ */

#if defined(HAVE_FOPENCOOKIE)
/* A text-mode stream: reads decode to UTF-8 with universal newlines,
 * writes encode UTF-8 to the child's encoding. */
typedef struct text_stream {
  int fd;
  const subproc__comm_opts *co;
  subproc__decoder *dec;
  subproc__buf decoded; /* read side: decoded, not yet returned */
  size_t pos;
  int eof;
  subproc__buf tail; /* write side: an incomplete UTF-8 sequence */
} text_stream;

static int fill_decoded(text_stream *t) {
  char raw[16384];
  t->decoded.len = t->pos = 0;
  while (t->decoded.len == 0 && !t->eof) {
    ssize_t n = read(t->fd, raw, sizeof raw);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -1;
    t->eof = n == 0;
    if (subproc__decoder_feed(t->dec, raw, (size_t)n, t->eof, &t->decoded,
                              NULL) < 0) {
      errno = EILSEQ;
      return -1;
    }
  }
  return 0;
}

static ssize_t text_read(void *cookie, char *buf, size_t size) {
  text_stream *t = cookie;
  if (t->pos == t->decoded.len && fill_decoded(t) < 0)
    return -1;
  size_t n = t->decoded.len - t->pos;
  n = n < size ? n : size;
  if (n)
    memcpy(buf, t->decoded.data + t->pos, n);
  t->pos += n;
  return (ssize_t)n;
}

/* Length of the longest prefix of s that ends on a UTF-8 boundary. */
static size_t utf8_complete(const char *s, size_t n) {
  size_t i = n, back = 0;
  while (i > 0 && back < 4 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
    i--, back++;
  if (i == 0)
    return n;
  unsigned char lead = (unsigned char)s[i - 1];
  size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
  return back + 1 >= need ? n : i - 1;
}

static int write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static ssize_t text_write(void *cookie, const char *buf, size_t size) {
  text_stream *t = cookie;
  if (subproc__buf_append(&t->tail, buf, size) < 0)
    return -1;
  size_t done = utf8_complete(t->tail.data, t->tail.len);
  subproc__buf enc = {0};
  int rc = subproc__encode(t->co->encoding, t->co->errors, t->tail.data, done,
                           &enc, NULL);
  if (rc == 0 && enc.len)
    rc = write_all(t->fd, enc.data, enc.len);
  subproc__buf_free(&enc);
  if (rc < 0) {
    if (errno == 0 || rc != -1)
      errno = EILSEQ;
    return -1;
  }
  memmove(t->tail.data, t->tail.data + done, t->tail.len - done);
  t->tail.len -= done;
  return (ssize_t)size;
}

static int text_close(void *cookie) {
  text_stream *t = cookie;
  int rc = close(t->fd);
  subproc__decoder_free(t->dec);
  subproc__buf_free(&t->decoded);
  subproc__buf_free(&t->tail);
  free(t);
  return rc;
}

static FILE *open_text_stream(int fd, const char *mode,
                              const subproc__comm_opts *co) {
  text_stream *t = calloc(1, sizeof *t);
  if (!t)
    return NULL;
  t->fd = fd;
  t->co = co;
  if (subproc__decoder_new(co->encoding, co->errors, 1, &t->dec, NULL) < 0) {
    free(t);
    return NULL;
  }
  cookie_io_functions_t io = {
      .read = text_read, .write = text_write, .close = text_close};
  FILE *f = fopencookie(t, mode, io);
  if (!f) {
    subproc__decoder_free(t->dec);
    free(t);
  }
  return f;
}
#endif

FILE *subproc__open_stream(int fd, const char *mode,
                           const subproc__comm_opts *co) {
#if defined(HAVE_FOPENCOOKIE)
  FILE *f = co->text ? open_text_stream(fd, mode, co) : fdopen(fd, mode);
#else
  FILE *f = fdopen(fd, mode);
#endif
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
