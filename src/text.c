/* Text mode: a child's output decoded to UTF-8, its input encoded from UTF-8,
 * with Python's error handlers and universal newlines.
 *
 * UTF-8 is validated by hand (the hot path of capturing output); other
 * encodings go through the system's converters (codec.h).
 *
 * "surrogateescape" follows Python: an undecodable byte 0xNN becomes the lone
 * surrogate U+DCNN, written as the three bytes ED B2..B3 xx (what Python's
 * "surrogatepass" would write). Such output is deliberately not valid UTF-8;
 * subproc__encode with "surrogateescape" turns it back into the raw bytes.
 *
 * Error positions are byte offsets: in the whole decoded stream, or in the
 * UTF-8 input of subproc__encode. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "internal.h"

/* The longest incomplete sequence kept between two feeds. */
#define CARRY_MAX 16

typedef enum {
  MODE_STRICT,
  MODE_REPLACE,
  MODE_IGNORE,
  MODE_BACKSLASH,
  MODE_ESCAPE
} err_mode;

/* Result of looking at one UTF-8 sequence. */
enum { SEQ_OK, SEQ_BAD, SEQ_SHORT };

typedef struct codec {
  int utf8;             /* handled natively */
  subproc__charset sys; /* otherwise the system's converters' */
  char name[64];        /* for messages */
} codec;

struct subproc__decoder {
  codec c;
  err_mode mode;
  int universal;
  int after_cr; /* the last character fed was \r (already written as \n) */
  int failed;   /* a strict error happened: the stream is unusable */
  long long consumed; /* stream offset of carry[0] */
  size_t ncarry;
  unsigned char carry[CARRY_MAX];
  subproc__codec *cd; /* NULL for UTF-8 */
};

/* ---- names ---- */

static const char *const mode_names[] = {"strict", "replace", "ignore",
                                         "backslashreplace", "surrogateescape"};

static int parse_mode(const char *errors, err_mode *mode, subproc_error *err) {
  if (!errors)
    errors = "strict";
  for (size_t i = 0; i < sizeof mode_names / sizeof *mode_names; i++) {
    if (strcmp(errors, mode_names[i]) == 0) {
      *mode = (err_mode)i;
      return 0;
    }
  }
  return subproc__fail(err, SUBPROC_EINVAL, 0, "encoding", NULL, -1,
                       "unknown error handler name '%s'", errors);
}

/* Python-style lookup key: ASCII letters lowered, punctuation dropped
 * ("UTF-8", "utf_8" and "utf8" all give "utf8"). Not tolower(): a Turkish
 * locale would turn 'I' into a dotless i. */
static void name_key(const char *name, char *key, size_t size) {
  size_t k = 0;
  for (; *name; name++) {
    char ch = *name;
    if (ch >= 'A' && ch <= 'Z')
      ch = (char)(ch - 'A' + 'a');
    else if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')))
      continue;
    if (k + 1 == size) {
      k = 0; /* too long to be an alias */
      break;
    }
    key[k++] = ch;
  }
  key[k] = '\0';
}

static const struct alias {
  const char *key, *sys;
  unsigned cp;
} aliases[] = {
    {"utf8", NULL, 65001},
    {"u8", NULL, 65001},
    {"utf", NULL, 65001},
    {"cp65001", NULL, 65001},
    {"latin1", "ISO-8859-1", 28591},
    {"latin", "ISO-8859-1", 28591},
    {"l1", "ISO-8859-1", 28591},
    {"iso88591", "ISO-8859-1", 28591},
    {"8859", "ISO-8859-1", 28591},
    {"cp819", "ISO-8859-1", 28591},
    {"ascii", "ASCII", 20127},
    {"usascii", "ASCII", 20127},
    {"646", "ASCII", 20127},
    {"ansix341968", "ASCII", 20127},
    {"utf16", "UTF-16", 0},
    {"utf16le", "UTF-16LE", 1200},
    {"utf16be", "UTF-16BE", 0},
    {"utf32", "UTF-32", 0},
    {"utf32le", "UTF-32LE", 0},
    {"utf32be", "UTF-32BE", 0},
};

static int all_digits(const char *s) {
  if (!*s)
    return 0;
  for (; *s; s++)
    if (*s < '0' || *s > '9')
      return 0;
  return 1;
}

/* "iso8859_15" -> ISO-8859-15 / 28605; "cp1252", "windows-1252" -> CP1252. */
static void numbered_codec(const char *key, codec *c) {
  const char *num = NULL;
  if (strncmp(key, "iso8859", 7) == 0 && all_digits(key + 7) &&
      strlen(key + 7) <= 2) {
    snprintf(c->sys.name, sizeof c->sys.name, "ISO-8859-%s", key + 7);
    c->sys.cp = 28590u + (unsigned)atoi(key + 7);
    return;
  }
  if (strncmp(key, "cp", 2) == 0)
    num = key + 2;
  else if (strncmp(key, "windows", 7) == 0)
    num = key + 7;
  if (!num || !all_digits(num) || strlen(num) > 5)
    return;
  snprintf(c->sys.name, sizeof c->sys.name, "CP%s", num);
  c->sys.cp = (unsigned)atoi(num);
}

static void resolve_codec(const char *encoding, codec *c) {
  char key[32];
  memset(c, 0, sizeof *c);
  name_key(encoding, key, sizeof key);
  snprintf(c->name, sizeof c->name, "%s", encoding);
  snprintf(c->sys.name, sizeof c->sys.name, "%s", encoding);
  c->sys.unit = 1;
  if (strncmp(key, "utf16", 5) == 0 || strncmp(key, "ucs2", 4) == 0)
    c->sys.unit = 2;
  else if (strncmp(key, "utf32", 5) == 0 || strncmp(key, "ucs4", 4) == 0)
    c->sys.unit = 4;
  for (size_t i = 0; i < sizeof aliases / sizeof *aliases; i++) {
    if (strcmp(key, aliases[i].key) != 0)
      continue;
    c->sys.cp = aliases[i].cp;
    if (aliases[i].sys)
      snprintf(c->sys.name, sizeof c->sys.name, "%s", aliases[i].sys);
    else
      c->utf8 = 1;
    if (c->utf8)
      snprintf(c->name, sizeof c->name, "utf-8");
    return;
  }
  numbered_codec(key, c);
}

static int unknown_encoding(subproc_error *err, const char *encoding) {
  return subproc__fail(err, SUBPROC_EINVAL, 0, "encoding", NULL, -1,
                       "unknown encoding: '%s'", encoding);
}

static int setup(const char *encoding, const char *errors, codec *c,
                 err_mode *mode, subproc_error *err) {
  int rc = parse_mode(errors, mode, err);
  if (rc < 0)
    return rc;
  if (!encoding)
    encoding = subproc__locale_encoding();
  /* The system may read "" as the locale's encoding, and a truncated name
   * could be another one. */
  if (!*encoding || strlen(encoding) >= sizeof c->sys.name)
    return unknown_encoding(err, encoding);
  resolve_codec(encoding, c);
  return 0;
}

/* ---- UTF-8 ---- */

/* Table 3-7 of the Unicode standard: only the second byte's range depends on
 * the lead byte. A bad sequence's length is its maximal valid prefix, which
 * is what one U+FFFD replaces. surrogates admits ED A0..BF xx. */
static int utf8_seq(const unsigned char *s, size_t n, int surrogates,
                    size_t *len, const char **why) {
  unsigned c = s[0], need, lo = 0x80, hi = 0xBF;
  *len = 1;
  if (c < 0x80)
    return SEQ_OK;
  if (c < 0xC2 || c > 0xF4) {
    *why = "invalid start byte";
    return SEQ_BAD;
  }
  if (c < 0xE0) {
    need = 2;
  } else if (c < 0xF0) {
    need = 3;
    lo = c == 0xE0 ? 0xA0 : 0x80;
    hi = c == 0xED && !surrogates ? 0x9F : 0xBF;
  } else {
    need = 4;
    lo = c == 0xF0 ? 0x90 : 0x80;
    hi = c == 0xF4 ? 0x8F : 0xBF;
  }
  for (size_t k = 1; k < need; k++, lo = 0x80, hi = 0xBF) {
    if (k == n) {
      *len = n;
      *why = "unexpected end of data";
      return SEQ_SHORT;
    }
    if (s[k] < lo || s[k] > hi) {
      *len = k;
      *why = "invalid continuation byte";
      return SEQ_BAD;
    }
  }
  *len = need;
  return SEQ_OK;
}

static size_t ascii_run(const unsigned char *s, size_t i, size_t n) {
  while (n - i >= 16) {
    uint64_t a, b;
    memcpy(&a, s + i, 8);
    memcpy(&b, s + i + 8, 8);
    if ((a | b) & UINT64_C(0x8080808080808080))
      break;
    i += 16;
  }
  while (i < n && s[i] < 0x80)
    i++;
  return i;
}

/* Length of the longest well-formed prefix of s. */
static size_t utf8_prefix(const unsigned char *s, size_t n) {
  size_t i = 0, len;
  const char *why;
  while (i < n) {
    if (s[i] < 0x80) {
      i = ascii_run(s, i, n);
      continue;
    }
    if (utf8_seq(s + i, n - i, 0, &len, &why) != SEQ_OK)
      break;
    i += len;
  }
  return i;
}

static uint32_t utf8_code_point(const unsigned char *s, size_t len) {
  static const unsigned char lead_mask[] = {0, 0x7F, 0x1F, 0x0F, 0x07};
  uint32_t cp = s[0] & lead_mask[len];
  for (size_t k = 1; k < len; k++)
    cp = (cp << 6) | (s[k] & 0x3F);
  return cp;
}

/* Generalised UTF-8: lone surrogates are written too (surrogateescape). */
static size_t utf8_put(unsigned char *p, uint32_t cp) {
  if (cp < 0x80) {
    p[0] = (unsigned char)cp;
    return 1;
  }
  if (cp < 0x800) {
    p[0] = (unsigned char)(0xC0 | (cp >> 6));
    p[1] = (unsigned char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    p[0] = (unsigned char)(0xE0 | (cp >> 12));
    p[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    p[2] = (unsigned char)(0x80 | (cp & 0x3F));
    return 3;
  }
  p[0] = (unsigned char)(0xF0 | (cp >> 18));
  p[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
  p[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
  p[3] = (unsigned char)(0x80 | (cp & 0x3F));
  return 4;
}

static int utf8_decode_run(const unsigned char *in, size_t n, subproc__buf *out,
                           subproc__codec_stop *stop) {
  size_t i = utf8_prefix(in, n);
  if (subproc__buf_append(out, in, i) < 0)
    return -ENOMEM;
  stop->used = i;
  if (i == n)
    return SUBPROC__CODEC_DONE;
  return utf8_seq(in + i, n - i, 0, &stop->bad, &stop->why) == SEQ_SHORT
             ? SUBPROC__CODEC_SHORT
             : SUBPROC__CODEC_BAD;
}

/* ---- decoding ---- */

static int decode_run(subproc__decoder *d, const unsigned char *in, size_t n,
                      subproc__buf *out, subproc__codec_stop *stop) {
  if (d->c.utf8)
    return utf8_decode_run(in, n, out, stop);
  int rc = subproc__codec_convert(d->cd, in, n, out, stop);
  /* Python's decoders have no lossy result, only bytes they cannot decode. */
  return rc == SUBPROC__CODEC_LOSSY ? SUBPROC__CODEC_DONE : rc;
}

static int decode_fail(subproc__decoder *d, const unsigned char *p, size_t n,
                       long long pos, const char *why, subproc_error *err) {
  d->failed = 1;
  if (n == 1)
    subproc__fail(err, SUBPROC_EDECODE, 0, "decode", NULL, -1,
                  "'%s' codec can't decode byte 0x%02x in position %lld: %s",
                  d->c.name, p[0], pos, why);
  else
    subproc__fail(err, SUBPROC_EDECODE, 0, "decode", NULL, -1,
                  "'%s' codec can't decode bytes in position %lld-%lld: %s",
                  d->c.name, pos, pos + (long long)n - 1, why);
  if (err)
    err->offset = pos;
  return SUBPROC_EDECODE;
}

static int put_escapes(subproc__buf *out, const unsigned char *p, size_t n,
                       int surrogates) {
  if (subproc__buf_reserve(out, 4 * n) < 0)
    return -ENOMEM;
  for (size_t i = 0; i < n; i++) {
    if (surrogates)
      out->len +=
          utf8_put((unsigned char *)out->data + out->len, 0xDC00u | p[i]);
    else
      out->len += (size_t)snprintf(out->data + out->len, 5, "\\x%02x", p[i]);
  }
  out->data[out->len] = '\0';
  return 0;
}

/* Python's surrogateescape can only escape bytes 0x80..0xFF. */
static int escapable(const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] < 0x80)
      return 0;
  return 1;
}

static int decode_bad(subproc__decoder *d, const unsigned char *p, size_t n,
                      long long pos, const char *why, subproc__buf *out,
                      subproc_error *err) {
  switch (d->mode) {
  case MODE_REPLACE:
    return subproc__buf_append(out, "\xEF\xBF\xBD", 3);
  case MODE_IGNORE:
    return 0;
  case MODE_BACKSLASH:
    return put_escapes(out, p, n, 0);
  case MODE_ESCAPE:
    if (escapable(p, n))
      return put_escapes(out, p, n, 1);
    break;
  case MODE_STRICT:
    break;
  }
  return decode_fail(d, p, n, pos, why, err);
}

/* Decodes in[0..n), stopping before an incomplete sequence at its end
 * unless at_end. *done receives the bytes consumed. */
static int decode_block(subproc__decoder *d, const unsigned char *in, size_t n,
                        int at_end, subproc__buf *out, subproc_error *err,
                        size_t *done) {
  size_t i = 0;
  subproc__codec_stop s = {0, 0, ""};
  int rc = 0;
  while (i < n) {
    rc = decode_run(d, in + i, n - i, out, &s);
    i += s.used;
    if (rc <= SUBPROC__CODEC_DONE)
      break;
    if (rc == SUBPROC__CODEC_SHORT) {
      if (!at_end && n - i < CARRY_MAX) {
        rc = 0;
        break;
      }
      s.bad = at_end ? n - i : (size_t)d->c.sys.unit;
      s.why = at_end ? "unexpected end of data" : "invalid byte sequence";
    }
    rc = decode_bad(d, in + i, s.bad, d->consumed + (long long)i, s.why, out,
                    err);
    if (rc < 0)
      break;
    i += s.bad;
  }
  *done = i;
  return rc;
}

/* Completes the sequence left over from the previous feed one byte at a
 * time: only a few bytes, and no copy of the whole input. */
static int feed_carry(subproc__decoder *d, const unsigned char **in,
                      size_t *len, int final, subproc__buf *out,
                      subproc_error *err) {
  while (d->ncarry) {
    if (*len) {
      d->carry[d->ncarry++] = **in;
      ++*in;
      --*len;
    } else if (!final) {
      return 0;
    }
    size_t used;
    int rc =
        decode_block(d, d->carry, d->ncarry, final && !*len, out, err, &used);
    if (rc < 0)
      return rc;
    memmove(d->carry, d->carry + used, d->ncarry - used);
    d->ncarry -= used;
    d->consumed += (long long)used;
  }
  return 0;
}

static int feed_main(subproc__decoder *d, const unsigned char *in, size_t len,
                     int final, subproc__buf *out, subproc_error *err) {
  size_t used;
  int rc = decode_block(d, in, len, final, out, err, &used);
  if (rc < 0)
    return rc;
  d->consumed += (long long)used;
  d->ncarry = len - used; /* < CARRY_MAX: decode_block sees to it */
  if (d->ncarry)
    memcpy(d->carry, in + used, d->ncarry);
  return 0;
}

/* Stateful encodings may hold back output until told the input ended. */
static int feed_flush(subproc__decoder *d, subproc__buf *out) {
  return d->c.utf8 ? 0 : subproc__codec_flush(d->cd, out);
}

/* \r\n and lone \r become \n in place. A \r is written as \n at once (the
 * line is complete) and a \n right after it, maybe in the next feed, is
 * dropped. \r never occurs inside a multi-byte UTF-8 sequence. */
static void universal_newlines(subproc__decoder *d, subproc__buf *out,
                               size_t start) {
  if (start == out->len)
    return;
  char *r = out->data + start, *end = out->data + out->len, *w = r;
  int last_cr = end[-1] == '\r';
  if (d->after_cr && *r == '\n')
    r++;
  while (r < end) {
    char *cr = memchr(r, '\r', (size_t)(end - r));
    size_t n = (size_t)((cr ? cr : end) - r);
    if (w != r)
      memmove(w, r, n);
    w += n;
    r += n;
    if (!cr)
      break;
    *w++ = '\n';
    if (++r < end && *r == '\n')
      r++;
  }
  d->after_cr = last_cr;
  out->len = (size_t)(w - out->data);
  out->data[out->len] = '\0';
}

static int open_codec(const codec *c, int to_utf8, subproc__codec **cd,
                      subproc_error *err) {
  if (c->utf8)
    return 0;
  int rc = subproc__codec_open(&c->sys, to_utf8, cd);
  return rc == -EINVAL ? unknown_encoding(err, c->name) : rc;
}

int subproc__decoder_new(const char *encoding, const char *errors,
                         int universal_newlines_, subproc__decoder **out,
                         subproc_error *err) {
  *out = NULL;
  subproc__decoder *d = calloc(1, sizeof *d);
  if (!d)
    return subproc__fail_os(err, ENOMEM, "encoding", NULL, -1);
  int rc = setup(encoding, errors, &d->c, &d->mode, err);
  if (rc == 0)
    rc = open_codec(&d->c, 1, &d->cd, err);
  if (rc < 0) {
    free(d);
    return rc == -ENOMEM ? subproc__fail_os(err, ENOMEM, "encoding", NULL, -1)
                         : rc;
  }
  d->universal = universal_newlines_ != 0;
  *out = d;
  return 0;
}

int subproc__decoder_feed(subproc__decoder *d, const char *in, size_t len,
                          int final, subproc__buf *out, subproc_error *err) {
  if (d->failed)
    return subproc__fail(err, SUBPROC_EDECODE, 0, "decode", NULL, -1,
                         "'%s' codec: the stream already failed to decode",
                         d->c.name);
  const unsigned char *p = (const unsigned char *)(len ? in : "");
  size_t start = out->len;
  int rc = feed_carry(d, &p, &len, final, out, err);
  if (rc == 0 && !d->ncarry)
    rc = feed_main(d, p, len, final, out, err);
  if (rc == 0 && final)
    rc = feed_flush(d, out);
  if (d->universal)
    universal_newlines(d, out, start);
  if (rc == -ENOMEM)
    return subproc__fail_os(err, ENOMEM, "decode", NULL, -1);
  return rc;
}

void subproc__decoder_free(subproc__decoder *d) {
  if (!d)
    return;
  subproc__codec_close(d->cd);
  free(d);
}

/* ---- encoding ---- */

typedef struct encoder {
  codec c;
  err_mode mode;
  const unsigned char *in; /* the whole input, for error positions */
  subproc__buf *out;
  subproc_error *err;
  subproc__codec *cd; /* NULL for UTF-8 */
} encoder;

/* One character at a time, to find the one converted lossily. */
static int encode_chars(encoder *e, const unsigned char *in, size_t n,
                        size_t *used) {
  size_t i = 0, len;
  const char *why;
  subproc__codec_stop s;
  for (; i < n; i += len) {
    size_t mark = e->out->len;
    utf8_seq(in + i, n - i, 0, &len, &why);
    int rc = subproc__codec_convert(e->cd, in + i, len, e->out, &s);
    if (rc < 0)
      return rc;
    if (rc != SUBPROC__CODEC_DONE) {
      e->out->len = mark;
      e->out->data[mark] = '\0';
      break;
    }
  }
  *used = i;
  return i == n ? SUBPROC__CODEC_DONE : SUBPROC__CODEC_BAD;
}

/* Converts well-formed UTF-8 up to a character the encoding lacks. */
static int encode_run(encoder *e, const unsigned char *in, size_t n,
                      size_t *used) {
  if (e->c.utf8 || !n) {
    *used = n;
    return subproc__buf_append(e->out, in, n);
  }
  size_t mark = e->out->len;
  subproc__codec_stop s;
  int rc = subproc__codec_convert(e->cd, in, n, e->out, &s);
  *used = s.used;
  if (rc != SUBPROC__CODEC_LOSSY)
    return rc;
  e->out->len = mark;
  return encode_chars(e, in, n, used);
}

/* ASCII replacement text, in the target encoding. */
static int encode_ascii(encoder *e, const char *s) {
  size_t n = strlen(s), used;
  int rc = encode_run(e, (const unsigned char *)s, n, &used);
  return rc < 0 ? rc : 0;
}

static void char_repr(char *buf, size_t size, uint32_t cp) {
  if (cp <= 0xFF)
    snprintf(buf, size, "\\x%02x", (unsigned)cp);
  else if (cp <= 0xFFFF)
    snprintf(buf, size, "\\u%04x", (unsigned)cp);
  else
    snprintf(buf, size, "\\U%08x", (unsigned)cp);
}

static int encode_fail(encoder *e, size_t pos, const char *fmt_what,
                       const char *what, const char *why) {
  char msg[64];
  snprintf(msg, sizeof msg, fmt_what, what);
  subproc__fail(e->err, SUBPROC_EDECODE, 0, "encode", NULL, -1,
                "'%s' codec can't encode %s in position %zu: %s", e->c.name,
                msg, pos, why);
  if (e->err)
    e->err->offset = (long long)pos;
  return SUBPROC_EDECODE;
}

/* A character the encoding cannot represent (or a lone surrogate). */
static int encode_unencodable(encoder *e, size_t pos, uint32_t cp) {
  int surrogate = cp >= 0xD800 && cp <= 0xDFFF;
  char repr[16];
  char_repr(repr, sizeof repr, cp);
  switch (e->mode) {
  case MODE_REPLACE:
    return encode_ascii(e, "?");
  case MODE_IGNORE:
    return 0;
  case MODE_BACKSLASH:
    return encode_ascii(e, repr);
  case MODE_ESCAPE:
    if (cp >= 0xDC80 && cp <= 0xDCFF && e->c.sys.unit == 1)
      return subproc__buf_putc(e->out, (char)(cp & 0xFF));
    break;
  case MODE_STRICT:
    break;
  }
  return encode_fail(e, pos, "character '%s'", repr,
                     surrogate ? "surrogates not allowed"
                               : "character maps to <undefined>");
}

/* Bytes of the input that are not UTF-8 at all. surrogateescape passes
 * them through: they are what a surrogateescape decoder could not decode. */
static int encode_invalid(encoder *e, size_t pos, size_t n, const char *why) {
  const unsigned char *p = e->in + pos;
  char hex[8];
  switch (e->mode) {
  case MODE_REPLACE:
    return encode_ascii(e, "?");
  case MODE_IGNORE:
    return 0;
  case MODE_BACKSLASH:
    for (size_t i = 0; i < n; i++) {
      snprintf(hex, sizeof hex, "\\x%02x", p[i]);
      int rc = encode_ascii(e, hex);
      if (rc < 0)
        return rc;
    }
    return 0;
  case MODE_ESCAPE:
    if (e->c.sys.unit == 1)
      return subproc__buf_append(e->out, p, n);
    break;
  case MODE_STRICT:
    break;
  }
  snprintf(hex, sizeof hex, "0x%02x", p[0]);
  return encode_fail(e, pos, "invalid UTF-8 input byte %s", hex, why);
}

/* At in[i], where a run stopped: a character the encoding lacks, a lone
 * surrogate, or bytes that are not UTF-8. Returns the bytes handled. */
static int encode_bad(encoder *e, size_t i, size_t n, size_t *len) {
  const char *why = "";
  int seq = utf8_seq(e->in + i, n - i, 1, len, &why);
  if (seq == SEQ_OK)
    return encode_unencodable(e, i, utf8_code_point(e->in + i, *len));
  return encode_invalid(e, i, *len, why);
}

static int encode_all(encoder *e, size_t n) {
  size_t i = 0, used, len;
  while (i < n) {
    size_t good = utf8_prefix(e->in + i, n - i);
    int rc = encode_run(e, e->in + i, good, &used);
    i += used;
    if (rc < 0)
      return rc;
    if (i == n)
      break;
    if ((rc = encode_bad(e, i, n, &len)) < 0)
      return rc;
    i += len;
  }
  return e->c.utf8 ? 0 : subproc__codec_flush(e->cd, e->out);
}

int subproc__encode(const char *encoding, const char *errors, const char *in,
                    size_t len, subproc__buf *out, subproc_error *err) {
  encoder e = {
      .out = out, .err = err, .in = (const unsigned char *)(len ? in : "")};
  int rc = setup(encoding, errors, &e.c, &e.mode, err);
  if (rc == 0)
    rc = open_codec(&e.c, 0, &e.cd, err);
  if (rc == 0) {
    rc = encode_all(&e, len);
    subproc__codec_close(e.cd);
  }
  if (rc == 0 && !out->data)
    rc = subproc__buf_reserve(out, 0);
  if (rc == -ENOMEM)
    return subproc__fail_os(err, ENOMEM, "encode", NULL, -1);
  return rc;
}

/* ---- the locale's encoding ---- */

/* Python 3.7+ coerces the C locale to UTF-8 (PEP 538, PEP 540). */
static int is_ascii_codeset(const char *codeset) {
  char key[32];
  name_key(codeset, key, sizeof key);
  return !*key || strcmp(key, "ansix341968") == 0 ||
         strcmp(key, "ascii") == 0 || strcmp(key, "usascii") == 0 ||
         strcmp(key, "646") == 0 || strcmp(key, "utf8") == 0;
}

const char *subproc__locale_encoding(void) {
  static _Thread_local char codeset[40];
  const char *cs = subproc__codec_locale();
  if (!cs || is_ascii_codeset(cs))
    return "UTF-8";
  /* Copied: the system's string changes with the next setlocale(). */
  snprintf(codeset, sizeof codeset, "%s", cs);
  return codeset;
}
