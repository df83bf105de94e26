/* The text decoder on any bytes. Byte 0 picks the encoding (utf-8, latin-1,
 * utf-16-le), the errors handler and universal newlines; byte 1 seeds the
 * chunk sizes; the rest is the child's output. Checks: decoding in chunks
 * gives what decoding in one piece gives (output, code, error offset);
 * non-strict output is valid UTF-8 (surrogateescape: only U+DC80..U+DCFF
 * as lone surrogates); universal newlines leave no \r and equal the plain
 * output translated; and what decoded without loss encodes back to the
 * input. */
#include "fuzz.h"
#include "internal.h"

static const char *const encodings[] = {"utf-8", "latin-1", "utf-16-le"};
static const char *const modes[] = {"strict", "replace", "ignore",
                                    "backslashreplace", "surrogateescape"};

typedef struct result {
  int rc;
  long long offset;
  subproc__buf out;
} result;

/* Written from the definition, independent of src/text.c. */
static int valid_utf8(const unsigned char *s, size_t n, int escapes) {
  static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i];
    size_t len = c < 0x80       ? 1
                 : c >> 5 == 6  ? 2
                 : c >> 4 == 14 ? 3
                 : c >> 3 == 30 ? 4
                                : 0;
    if (!len || n - i < len)
      return 0;
    uint32_t cp = len == 1 ? c : c & (0x7Fu >> len);
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xC0) != 0x80)
        return 0;
      cp = cp << 6 | (s[i + k] & 0x3Fu);
    }
    if (cp < min[len] || cp > 0x10FFFF)
      return 0;
    if (cp >= 0xD800 && cp <= 0xDFFF &&
        !(escapes && cp >= 0xDC80 && cp <= 0xDCFF))
      return 0;
    i += len;
  }
  return 1;
}

/* Chunk sizes from a small generator: 0-byte feeds included, never two in
 * a row. seed 0 means one piece. */
static size_t next_chunk(uint32_t *state, uint8_t seed, size_t *last) {
  *state = *state * 1103515245u + 12345u;
  size_t size = (*state >> 16) % (2u + (seed & 31u));
  if (size == 0 && *last == 0)
    size = 1;
  *last = size;
  return size;
}

static void decode(int enc, int mode, int universal, const uint8_t *p, size_t n,
                   uint8_t seed, result *r) {
  subproc__decoder *d;
  subproc_error e;
  memset(r, 0, sizeof *r);
  FUZZ_CHECK(subproc__decoder_new(encodings[enc], modes[mode], universal, &d,
                                  &e) == 0);
  uint32_t state = seed;
  size_t pos = 0, last = 1;
  if (!seed)
    r->rc = subproc__decoder_feed(d, (const char *)p, n, 1, &r->out, &e);
  while (seed && r->rc == 0 && pos < n) {
    size_t k = next_chunk(&state, seed, &last);
    k = k < n - pos ? k : n - pos;
    r->rc = subproc__decoder_feed(d, (const char *)p + pos, k, 0, &r->out, &e);
    pos += k;
  }
  if (seed && r->rc == 0)
    r->rc = subproc__decoder_feed(d, NULL, 0, 1, &r->out, &e);
  if (r->rc == SUBPROC_EDECODE) {
    FUZZ_CHECK(e.offset >= 0 && (size_t)e.offset < n);
    r->offset = e.offset;
  }
  subproc__decoder_free(d);
}

static int same(const subproc__buf *a, const subproc__buf *b) {
  return a->len == b->len && (!a->len || memcmp(a->data, b->data, a->len) == 0);
}

static void translate(const subproc__buf *in, subproc__buf *out) {
  for (size_t i = 0; i < in->len; i++) {
    char c = in->data[i];
    if (c == '\r' && i + 1 < in->len && in->data[i + 1] == '\n')
      continue;
    FUZZ_CHECK(subproc__buf_putc(out, c == '\r' ? '\n' : c) == 0);
  }
}

static void check_round_trip(int enc, int mode, const result *r,
                             const uint8_t *p, size_t n) {
  const char *back = NULL;
  if (enc == 1 || (mode == 0 && enc == 2))
    back = "strict";
  else if (enc == 0 && (mode == 0 || mode == 4))
    back = "surrogateescape";
  if (!back)
    return;
  subproc__buf again = {0};
  FUZZ_CHECK(subproc__encode(encodings[enc], back, r->out.data, r->out.len,
                             &again, NULL) == 0);
  FUZZ_CHECK(again.len == n && (!n || memcmp(again.data, p, n) == 0));
  subproc__buf_free(&again);
}

static void check_result(int mode, int universal, const result *r) {
  FUZZ_CHECK(r->rc == 0 || r->rc == SUBPROC_EDECODE);
  FUZZ_CHECK(r->rc == 0 || mode == 0 || mode == 4);
  if (mode == 0 || r->rc == 0)
    FUZZ_CHECK(
        valid_utf8((const unsigned char *)r->out.data, r->out.len, mode == 4));
  if (universal)
    FUZZ_CHECK(!r->out.len || !memchr(r->out.data, '\r', r->out.len));
}

static void check_encode(int enc, int mode, const uint8_t *p, size_t n) {
  subproc__buf out = {0};
  int rc = subproc__encode(encodings[enc], modes[mode], (const char *)p, n,
                           &out, NULL);
  FUZZ_CHECK(rc == 0 || rc == SUBPROC_EDECODE);
  if (rc == 0 && enc == 0 && mode != 4)
    FUZZ_CHECK(valid_utf8((const unsigned char *)out.data, out.len, 0));
  subproc__buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2)
    return 0;
  int enc = data[0] % 3, mode = data[0] / 3 % 5, universal = data[0] / 15 & 1;
  uint8_t seed = data[1];
  const uint8_t *p = data + 2;
  size_t n = size - 2;
  result whole, chunked, plain;
  decode(enc, mode, universal, p, n, 0, &whole);
  decode(enc, mode, universal, p, n, seed ? seed : 1, &chunked);
  check_result(mode, universal, &whole);
  FUZZ_CHECK(whole.rc == chunked.rc && whole.offset == chunked.offset);
  FUZZ_CHECK(same(&whole.out, &chunked.out));
  decode(enc, mode, 0, p, n, seed, &plain);
  FUZZ_CHECK(plain.rc == whole.rc && plain.offset == whole.offset);
  if (plain.rc == 0 && universal) {
    subproc__buf t = {0};
    translate(&plain.out, &t);
    FUZZ_CHECK(same(&t, &whole.out));
    subproc__buf_free(&t);
  }
  if (plain.rc == 0)
    check_round_trip(enc, mode, &plain, p, n);
  check_encode(enc, mode, p, n);
  subproc__buf_free(&whole.out);
  subproc__buf_free(&chunked.out);
  subproc__buf_free(&plain.out);
  return 0;
}
