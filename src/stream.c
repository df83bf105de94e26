/* The FILE * streams of subproc_stream(): the parent's pipe ends as stdio
 * streams that honour bufsize and text mode, whose writes never raise
 * SIGPIPE, and whose read-ahead communicate takes over. Where the C
 * library cannot build a FILE on functions (Windows), streams are plain
 * binary FILEs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "process.h"

/* The cookie of a FILE built on functions: the first member is what the
 * backend's trampolines call. */
typedef struct cookie {
  const subproc__cookie_fns *fns;
  int fd;
  const subproc__comm_opts *co;
  subproc__decoder *dec; /* text reads; NULL for writes and once drained */
  subproc__buf decoded;  /* decoded, not yet returned */
  size_t pos;
  int eof;
  subproc__buf tail; /* text writes: an incomplete UTF-8 sequence */
} cookie;

static int fill_decoded(cookie *k) {
  char raw[16384];
  k->decoded.len = k->pos = 0;
  while (k->decoded.len == 0 && !k->eof) {
    long n = subproc__os_read(k->fd, raw, sizeof raw);
    if (n < 0)
      return -1;
    k->eof = n == 0;
    if (subproc__decoder_feed(k->dec, raw, (size_t)n, k->eof, &k->decoded,
                              NULL) < 0) {
      errno = EILSEQ;
      return -1;
    }
  }
  return 0;
}

static long text_read(void *c, char *buf, size_t size) {
  cookie *k = c;
  if (!k->dec) { /* communicate owns the stream now */
    errno = EBADF;
    return -1;
  }
  if (k->pos == k->decoded.len && fill_decoded(k) < 0)
    return -1;
  size_t n = k->decoded.len - k->pos;
  n = n < size ? n : size;
  if (n)
    memcpy(buf, k->decoded.data + k->pos, n);
  k->pos += n;
  return (long)n;
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

static long text_write(void *c, const char *buf, size_t size) {
  cookie *k = c;
  if (subproc__buf_append(&k->tail, buf, size) < 0)
    return -1;
  size_t done = utf8_complete(k->tail.data, k->tail.len);
  subproc__buf enc = {0};
  int rc = subproc__encode(k->co->encoding, k->co->errors, k->tail.data, done,
                           &enc, NULL);
  if (rc < 0)
    errno = EILSEQ;
  else if (enc.len)
    rc = subproc__os_write_all(k->fd, enc.data, enc.len);
  subproc__buf_free(&enc);
  if (rc < 0)
    return -1;
  memmove(k->tail.data, k->tail.data + done, k->tail.len - done);
  k->tail.len -= done;
  return (long)size;
}

static long binary_write(void *c, const char *buf, size_t size) {
  cookie *k = c;
  return subproc__os_write_all(k->fd, buf, size) < 0 ? -1 : (long)size;
}

static int cookie_close(void *c) {
  cookie *k = c;
  int rc = subproc__os_close_fd(k->fd);
  subproc__decoder_free(k->dec);
  subproc__buf_free(&k->decoded);
  subproc__buf_free(&k->tail);
  free(k);
  return rc;
}

static const subproc__cookie_fns text_fns = {text_read, text_write,
                                             cookie_close};
static const subproc__cookie_fns binary_fns = {NULL, binary_write,
                                               cookie_close};

/* A FILE on functions where the C library has them; for binary reads a
 * plain FILE is as good. NULL with errno = ENOSYS if it cannot be done. */
static FILE *open_cookie(subproc__stream *s, int writing,
                         const subproc__comm_opts *co) {
  if (!co->text && !writing) {
    errno = ENOSYS;
    return NULL;
  }
  cookie *k = calloc(1, sizeof *k);
  if (!k)
    return NULL;
  k->fns = co->text ? &text_fns : &binary_fns;
  k->fd = s->fd;
  k->co = co;
  if (co->text && !writing &&
      subproc__decoder_new(co->encoding, co->errors, 1, &k->dec, NULL) < 0) {
    free(k);
    errno = ENOMEM;
    return NULL;
  }
  FILE *f = subproc__os_fopencookie(&k->fns, writing ? "w" : "r");
  if (!f) {
    int e = errno;
    subproc__decoder_free(k->dec);
    free(k);
    errno = e;
    return NULL;
  }
  s->cookie = k;
  return f;
}

/* Python's bufsize: 0 unbuffered, 1 line buffered (text), N a buffer of
 * N bytes, which is allocated here (glibc and musl ignore the size asked
 * of setvbuf without a buffer). */
static int apply_bufsize(subproc__stream *s, FILE *f,
                         const subproc__comm_opts *co) {
  long b = co->bufsize;
  if (b == SUBPROC_BUFSIZE_UNBUFFERED)
    return setvbuf(f, NULL, _IONBF, 0);
  if (b == SUBPROC_BUFSIZE_LINE && co->text)
    return setvbuf(f, NULL, _IOLBF, BUFSIZ);
  if (b <= 1)
    return 0;
  if (!(s->setvbuf = malloc((size_t)b)))
    return -1;
  return setvbuf(f, s->setvbuf, _IOFBF, (size_t)b);
}

FILE *subproc__stream_open(subproc__stream *s, int writing,
                           const subproc__comm_opts *co) {
  FILE *f = open_cookie(s, writing, co);
  if (!f && errno == ENOSYS)
    f = subproc__os_fdopen(s->fd, writing ? "wb" : "rb");
  if (!f)
    return NULL;
  s->file = f;
  if (apply_bufsize(s, f, co) != 0) {
    free(s->setvbuf);
    s->setvbuf = NULL; /* the default buffer then */
  }
  return f;
}

int subproc__stream_close(subproc__stream *s, int nonblocking) {
  int rc = 0;
  if (s->file) {
    if (nonblocking)
      subproc__os_set_nonblocking(s->fd, 1);
    subproc__sigpipe g;
    subproc__os_sigpipe_begin(&g);
    errno = 0;
    int r = fclose(s->file);
    int e = errno;
    subproc__os_sigpipe_end(&g, e == EPIPE);
    /* A flush that would block while freeing drops the rest (EAGAIN). */
    if (r != 0 && !(nonblocking && (e == EAGAIN || e == EPIPE)))
      rc = e ? -e : -EIO;
    free(s->setvbuf);
  } else if (s->fd >= 0) {
    subproc__os_close_fd(s->fd);
  }
  s->file = NULL;
  s->cookie = NULL;
  s->setvbuf = NULL;
  s->fd = -1;
  return rc;
}

/* ------------------------------------------------------------------ */
/* Handing read-ahead over to communicate                              */
/* ------------------------------------------------------------------ */

/* A binary FILE: its buffered bytes are raw output. Taken with getc,
 * which hands out the buffer before it reads the fd again: a C runtime's
 * fread may drop what it buffered when the read that follows fails (the
 * fd is non-blocking now). */
static int drain_binary(subproc__stream *s, subproc__comm *c, int stream,
                        subproc_error *err) {
  int ch = 0;
  while (ch != EOF) {
    char *dst;
    size_t room, n = 0;
    if (subproc__comm_space(c, stream, &dst, &room) < 0)
      return subproc__fail_os(err, ENOMEM, "read", NULL, s->fd);
    while (n < room && (ch = getc(s->file)) != EOF)
      dst[n++] = (char)ch;
    int rc = n ? subproc__comm_commit(c, stream, n, err) : 0;
    if (rc < 0)
      return rc;
  }
  return 0;
}

/* A text FILE: what it holds is decoded already, and its decoder carries
 * on inside communicate (a partial character, a pending \r). */
static int drain_text(subproc__stream *s, subproc__comm *c, int stream,
                      subproc_error *err) {
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, s->file)) > 0) {
    int rc = subproc__comm_deliver_decoded(c, stream, buf, n, err);
    if (rc < 0)
      return rc;
  }
  cookie *k = s->cookie;
  subproc__comm_adopt_decoder(c, stream, k->dec);
  k->dec = NULL;
  return 0;
}

int subproc__stream_drain(subproc__stream *s, subproc__comm *c, int stream,
                          subproc_error *err) {
  if (!s->file)
    return 0;
  /* Only what is there now: the pipe is read by communicate after this. */
  subproc__os_set_nonblocking(s->fd, 1);
  cookie *k = s->cookie;
  int rc = k && k->dec ? drain_text(s, c, stream, err)
                       : drain_binary(s, c, stream, err);
  clearerr(s->file);
  subproc__os_set_nonblocking(s->fd, 0);
  return rc;
}
