/* What communicate does with the bytes, independent of how they are read
 * (src/communicate.c drives it): input bookkeeping across timeouts, the
 * per-stream byte limit, text decoding, streaming to a callback, and the
 * captured buffers. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Reads go straight into the capture buffer in this size at least. */
#define READ_CHUNK (64 * 1024)
#define SCRATCH_SIZE (128 * 1024)

struct subproc__comm {
  const subproc__comm_opts *co;
  int input_set;
  const char *in;
  size_t in_len, in_off;
  subproc__buf in_owned;
  subproc__buf out[2];
  subproc__decoder *dec[2];
  size_t seen[2];
  int truncated[2];
  int direct[2];        /* the last space handed out was in out[] */
  char *scratch[2];     /* per stream: both may be read in one round */
  subproc__buf decoded; /* text + callback: one decoded chunk */
  /* A decoding error (errors=strict) stops the decoding of its stream, not
   * the child: the rest is read and dropped, and the error is returned once
   * the child has been waited for (Python decodes after it has exited). */
  int bad[2];
  subproc_error bad_err[2];
};

static char *dup_str(const char *s) {
  if (!s)
    return NULL;
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  return d ? memcpy(d, s, n) : NULL;
}

int subproc__comm_opts_init(subproc__comm_opts *co, const subproc_options *o,
                            subproc_error *err) {
  memset(co, 0, sizeof *co);
  co->text = o->text || o->encoding || o->errors;
  co->bufsize = o->bufsize;
  co->wait_delay = o->wait_delay; /* negative: stop at the exit */
  co->max_output = o->max_output;
  co->max_output_policy = o->max_output_policy;
  co->on_output = o->on_output;
  co->on_output_arg = o->on_output_arg;
  if (!co->text)
    return 0;
  /* Check the encoding now: an unknown one fails the Popen call itself. */
  subproc__decoder *d = NULL;
  int rc = subproc__decoder_new(o->encoding, o->errors, 1, &d, err);
  subproc__decoder_free(d);
  if (rc < 0)
    return rc;
  if ((o->encoding && !(co->encoding = dup_str(o->encoding))) ||
      (o->errors && !(co->errors = dup_str(o->errors)))) {
    subproc__comm_opts_free(co);
    return subproc__fail_os(err, ENOMEM, "encoding", NULL, -1);
  }
  return 0;
}

void subproc__comm_opts_free(subproc__comm_opts *co) {
  free(co->encoding);
  free(co->errors);
  co->encoding = co->errors = NULL;
}

int subproc__comm_new(subproc__comm **out, const subproc__comm_opts *co,
                      subproc_error *err) {
  subproc__comm *c = calloc(1, sizeof *c);
  if (!c)
    return subproc__fail_os(err, ENOMEM, "communicate", NULL, -1);
  c->co = co;
  for (int i = 0; i < 2 && co->text; i++) {
    int rc = subproc__decoder_new(co->encoding, co->errors, 1, &c->dec[i], err);
    if (rc < 0) {
      subproc__comm_free(c);
      return rc;
    }
  }
  *out = c;
  return 0;
}

void subproc__comm_free(subproc__comm *c) {
  if (!c)
    return;
  for (int i = 0; i < 2; i++) {
    subproc__buf_free(&c->out[i]);
    subproc__decoder_free(c->dec[i]);
  }
  subproc__buf_free(&c->in_owned);
  subproc__buf_free(&c->decoded);
  free(c->scratch[0]);
  free(c->scratch[1]);
  free(c);
}

int subproc__comm_set_input(subproc__comm *c, const void *in, size_t len,
                            subproc_error *err) {
  if (c->input_set) {
    if (in)
      return subproc__fail(err, SUBPROC_EINVAL, 0, "input", NULL, -1,
                           "Cannot send input after starting communication");
    return 1;
  }
  c->input_set = 1;
  if (!in)
    return 0;
  if (c->co->text) {
    int rc = subproc__encode(c->co->encoding, c->co->errors, in, len,
                             &c->in_owned, err);
    if (rc < 0)
      return rc;
    c->in = c->in_owned.data ? c->in_owned.data : "";
    c->in_len = c->in_owned.len;
    return 0;
  }
  c->in = in;
  c->in_len = len;
  return 0;
}

const char *subproc__comm_input(subproc__comm *c, size_t *len) {
  *len = c->in ? c->in_len - c->in_off : 0;
  return c->in ? c->in + c->in_off : NULL;
}

void subproc__comm_input_advance(subproc__comm *c, size_t n) { c->in_off += n; }

int subproc__comm_input_own(subproc__comm *c) {
  if (!c->in || c->in == c->in_owned.data)
    return 0;
  subproc__buf b = {0};
  int rc = subproc__buf_append(&b, c->in + c->in_off, c->in_len - c->in_off);
  if (rc < 0)
    return rc;
  c->in_owned = b;
  c->in = b.data;
  c->in_len = b.len;
  c->in_off = 0;
  return 0;
}

/* Bytes of stream s that may still be kept; (size_t)-1 = no limit. */
static size_t quota(const subproc__comm *c, int s) {
  if (!c->co->max_output)
    return (size_t)-1;
  return c->seen[s] < c->co->max_output ? c->co->max_output - c->seen[s] : 0;
}

int subproc__comm_space(subproc__comm *c, int stream, char **dst,
                        size_t *room) {
  int s = stream - 1;
  size_t q = quota(c, s);
  c->direct[s] = !c->co->text && !c->co->on_output && q > 0;
  if (c->direct[s]) {
    subproc__buf *b = &c->out[s];
    size_t want =
        b->cap - b->len > READ_CHUNK + 1 ? b->cap - b->len - 1 : READ_CHUNK;
    if (want > q)
      want = q;
    if (subproc__buf_reserve(b, want) < 0)
      return -ENOMEM;
    *dst = b->data + b->len;
    *room = want;
    return 0;
  }
  if (!c->scratch[s] && !(c->scratch[s] = malloc(SCRATCH_SIZE)))
    return -ENOMEM;
  *dst = c->scratch[s];
  *room = SCRATCH_SIZE;
  return 0;
}

/* Decoded or raw bytes that are to be kept: to the callback or memory. */
static int deliver(subproc__comm *c, int s, const char *data, size_t n,
                   int final, subproc_error *err) {
  const subproc__comm_opts *co = c->co;
  subproc__buf *dst = co->on_output ? &c->decoded : &c->out[s];
  int rc;
  if (c->dec[s]) {
    dst->len = co->on_output ? 0 : dst->len;
    subproc_error e;
    rc = subproc__decoder_feed(c->dec[s], data, n, final, dst, &e);
    if (rc == SUBPROC_EDECODE) {
      c->bad[s] = 1;
      c->bad_err[s] = e;
      return 0;
    }
    if (rc < 0) {
      if (err)
        *err = e;
      return rc;
    }
    if (!co->on_output)
      return 0;
    data = dst->data;
    n = dst->len;
  } else if (!co->on_output) {
    return subproc__buf_append(dst, data, n);
  }
  if (n == 0)
    return 0;
  rc = co->on_output(co->on_output_arg, s + 1, data, n);
  if (rc < 0)
    return subproc__fail(err, rc, 0, "on_output", NULL, -1,
                         "on_output: the callback stopped the output (%d)", rc);
  return 0;
}

int subproc__comm_commit(subproc__comm *c, int stream, size_t n,
                         subproc_error *err) {
  int s = stream - 1;
  if (c->bad[s]) {
    c->seen[s] += n;
    return 0;
  }
  if (c->direct[s]) {
    c->out[s].len += n;
    c->out[s].data[c->out[s].len] = '\0';
    c->seen[s] += n;
    return 0;
  }
  size_t keep = quota(c, s);
  keep = keep < n ? keep : n;
  c->seen[s] += n;
  if (keep < n) {
    c->truncated[s] = 1;
    if (c->co->max_output_policy == SUBPROC_LIMIT_KILL) {
      int rc = keep ? deliver(c, s, c->scratch[s], keep, 0, err) : 0;
      if (rc < 0)
        return rc;
      return subproc__fail(err, SUBPROC_ELIMIT, 0, "max_output", NULL, -1,
                           "%s exceeded max_output (%zu bytes)",
                           s ? "stderr" : "stdout", c->co->max_output);
    }
  }
  return keep ? deliver(c, s, c->scratch[s], keep, 0, err) : 0;
}

int subproc__comm_eof(subproc__comm *c, int stream, subproc_error *err) {
  int s = stream - 1;
  if (!c->dec[s] || c->bad[s])
    return 0;
  /* A stream cut by max_output may end inside a character: drop it. */
  return deliver(c, s, NULL, 0, !c->truncated[s], err);
}

int subproc__comm_decode_error(const subproc__comm *c, subproc_error *err) {
  for (int s = 0; s < 2; s++)
    if (c->bad[s]) {
      if (err)
        *err = c->bad_err[s];
      return SUBPROC_EDECODE;
    }
  return 0;
}

int subproc__comm_deliver_decoded(subproc__comm *c, int stream,
                                  const char *data, size_t n,
                                  subproc_error *err) {
  int s = stream - 1;
  size_t keep = quota(c, s);
  keep = keep < n ? keep : n;
  c->seen[s] += n;
  c->truncated[s] |= keep < n;
  if (!keep)
    return 0;
  if (!c->co->on_output)
    return subproc__buf_append(&c->out[s], data, keep) < 0
               ? subproc__fail_os(err, ENOMEM, "read", NULL, -1)
               : 0;
  int rc = c->co->on_output(c->co->on_output_arg, stream, data, keep);
  return rc < 0 ? subproc__fail(err, rc, 0, "on_output", NULL, -1,
                                "on_output: the callback stopped the output "
                                "(%d)",
                                rc)
                : 0;
}

void subproc__comm_adopt_decoder(subproc__comm *c, int stream,
                                 subproc__decoder *d) {
  subproc__decoder_free(c->dec[stream - 1]);
  c->dec[stream - 1] = d;
}

static int hand_over(subproc__buf *b, char **out, size_t *len, int snapshot) {
  if (!snapshot) {
    *out = subproc__buf_take(b, len);
    return *out ? 0 : -ENOMEM;
  }
  subproc__buf copy = {0};
  if (subproc__buf_append(&copy, b->data ? b->data : "", b->len) < 0)
    return -ENOMEM;
  *out = subproc__buf_take(&copy, len);
  return 0;
}

int subproc__comm_output(subproc__comm *c, subproc_result *r,
                         const int captured[2], int snapshot) {
  int rc = 0;
  r->out_truncated = c->truncated[0];
  r->err_truncated = c->truncated[1];
  if (captured[0] && !c->co->on_output)
    rc = hand_over(&c->out[0], &r->out, &r->out_len, snapshot);
  if (rc == 0 && captured[1] && !c->co->on_output)
    rc = hand_over(&c->out[1], &r->err, &r->err_len, snapshot);
  return rc;
}
