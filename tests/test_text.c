/* Text mode: decoding to UTF-8, encoding from it, errors handlers, universal
 * newlines and the locale's encoding. Expected values come from CPython 3.11
 * (bytes.decode / str.encode with the same arguments). */
#include <locale.h>
#include <pthread.h>
#ifndef _WIN32
#include <langinfo.h>
#endif

#include "internal.h"
#include "test.h"

/* ---- helpers ---- */

static void print_escaped(const char *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    if (c >= 0x20 && c < 0x7F && c != '\\')
      fputc(c, stderr);
    else
      fprintf(stderr, "\\x%02x", c);
  }
}

static void expect_mem(const char *file, int line, const char *got, size_t glen,
                       const char *exp, size_t elen) {
  if (glen == elen && (elen == 0 || memcmp(got, exp, elen) == 0))
    return;
  fprintf(stderr, "%s:%d: output differs\n  got:      \"", file, line);
  print_escaped(got ? got : "", glen);
  fprintf(stderr, "\"\n  expected: \"");
  print_escaped(exp, elen);
  fprintf(stderr, "\"\n");
  test_fail_exit();
}

#define EXPECT_BUF(buf, exp_, n_)                                              \
  expect_mem(__FILE__, __LINE__, (buf).data, (buf).len, (exp_), (n_))
#define EXPECT_LIT(buf, lit) EXPECT_BUF(buf, lit, sizeof(lit) - 1)
/* test.h's ASSERT_OK for a subproc_error variable: gcc's -Waddress rejects
 * `(&e) ? ... : ...`. */
#define OK(expr, e)                                                            \
  do {                                                                         \
    int rc_ = (expr);                                                          \
    if (rc_ < 0)                                                               \
      TEST_FAIL("%s failed: %d (%s): %s", #expr, rc_, subproc_errname(rc_),    \
                (e).message);                                                  \
  } while (0)
/* A string literal and its length (it may hold NUL bytes). */
#define S(lit) lit, sizeof(lit) - 1

typedef struct cfg {
  const char *enc, *errors;
  int universal;
} cfg;

/* Feeds in[0..len) split at cuts[0] < cuts[1] < ..., then EOF. */
static int decode_cuts(cfg c, const void *in, size_t len, const size_t *cuts,
                       size_t ncuts, subproc__buf *out, subproc_error *e) {
  subproc__decoder *d;
  int rc = subproc__decoder_new(c.enc, c.errors, c.universal, &d, e);
  if (rc < 0)
    return rc;
  size_t pos = 0;
  for (size_t k = 0; k <= ncuts && rc == 0; k++) {
    size_t end = k < ncuts ? cuts[k] : len;
    rc = subproc__decoder_feed(d, (const char *)in + pos, end - pos, k == ncuts,
                               out, e);
    pos = end;
  }
  subproc__decoder_free(d);
  return rc;
}

static int decode(cfg c, const void *in, size_t len, subproc__buf *out,
                  subproc_error *e) {
  return decode_cuts(c, in, len, NULL, 0, out, e);
}

/* One byte per feed, then an empty final feed. */
static int decode_bytewise(cfg c, const void *in, size_t len, subproc__buf *out,
                           subproc_error *e) {
  subproc__decoder *d;
  int rc = subproc__decoder_new(c.enc, c.errors, c.universal, &d, e);
  for (size_t i = 0; rc == 0 && i < len; i++)
    rc = subproc__decoder_feed(d, (const char *)in + i, 1, 0, out, e);
  if (rc == 0)
    rc = subproc__decoder_feed(d, NULL, 0, 1, out, e);
  subproc__decoder_free(d);
  return rc;
}

/* Decodes in one piece, byte by byte and at every 2-way split: all must
 * give exp (or fail alike when exp is NULL). */
static void check_all_splits(cfg c, const char *in, size_t len, const char *exp,
                             size_t elen) {
  subproc__buf out = {0};
  subproc_error e;
  int want = exp ? 0 : SUBPROC_EDECODE;
  ASSERT_EQ(decode(c, in, len, &out, &e), want);
  if (exp)
    EXPECT_BUF(out, exp, elen);
  subproc__buf_free(&out);
  ASSERT_EQ(decode_bytewise(c, in, len, &out, &e), want);
  if (exp)
    EXPECT_BUF(out, exp, elen);
  subproc__buf_free(&out);
  for (size_t cut = 0; cut <= len; cut++) {
    ASSERT_EQ(decode_cuts(c, in, len, &cut, 1, &out, &e), want);
    if (exp)
      EXPECT_BUF(out, exp, elen);
    subproc__buf_free(&out);
  }
}

static int encode(const char *enc, const char *errors, const char *in,
                  size_t len, subproc__buf *out, subproc_error *e) {
  return subproc__encode(enc, errors, in, len, out, e);
}

/* ---- UTF-8 ---- */

/* Each case: input, and what Python gives for replace, ignore,
 * backslashreplace and surrogateescape (lone surrogates written as
 * 'surrogatepass' UTF-8), and the strict error. */
static const struct utf8_case {
  const char *in;
  size_t len;
  const char *out[4];
  long long offset;
  const char *msg;
} utf8_cases[] = {
    // clang-format off
    {"a\xff" "b", 3, {"a\xef\xbf\xbd" "b", "ab", "a\\xffb", "a\xed\xb3\xbf" "b"}, 1, "'utf-8' codec can't decode byte 0xff in position 1: invalid start byte"},
    {"\xe2\x82", 2, {"\xef\xbf\xbd", "", "\\xe2\\x82", "\xed\xb3\xa2\xed\xb2\x82"}, 0, "'utf-8' codec can't decode bytes in position 0-1: unexpected end of data"},
    {"\xe2\x82" "A", 3, {"\xef\xbf\xbd" "A", "A", "\\xe2\\x82A", "\xed\xb3\xa2\xed\xb2\x82" "A"}, 0, "'utf-8' codec can't decode bytes in position 0-1: invalid continuation byte"},
    {"\xed\xa0\x80", 3, {"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", "", "\\xed\\xa0\\x80", "\xed\xb3\xad\xed\xb2\xa0\xed\xb2\x80"}, 0, "'utf-8' codec can't decode byte 0xed in position 0: invalid continuation byte"},
    {"\xf0\x80\x80\x80", 4, {"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", "", "\\xf0\\x80\\x80\\x80", "\xed\xb3\xb0\xed\xb2\x80\xed\xb2\x80\xed\xb2\x80"}, 0, "'utf-8' codec can't decode byte 0xf0 in position 0: invalid continuation byte"},
    {"\xc0\xaf", 2, {"\xef\xbf\xbd\xef\xbf\xbd", "", "\\xc0\\xaf", "\xed\xb3\x80\xed\xb2\xaf"}, 0, "'utf-8' codec can't decode byte 0xc0 in position 0: invalid start byte"},
    {"\xf4\x90\x80\x80", 4, {"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", "", "\\xf4\\x90\\x80\\x80", "\xed\xb3\xb4\xed\xb2\x90\xed\xb2\x80\xed\xb2\x80"}, 0, "'utf-8' codec can't decode byte 0xf4 in position 0: invalid continuation byte"},
    {"\xe2" "A", 2, {"\xef\xbf\xbd" "A", "A", "\\xe2A", "\xed\xb3\xa2" "A"}, 0, "'utf-8' codec can't decode byte 0xe2 in position 0: invalid continuation byte"},
    {"\xf0\x9f\x98", 3, {"\xef\xbf\xbd", "", "\\xf0\\x9f\\x98", "\xed\xb3\xb0\xed\xb2\x9f\xed\xb2\x98"}, 0, "'utf-8' codec can't decode bytes in position 0-2: unexpected end of data"},
    {"\x80", 1, {"\xef\xbf\xbd", "", "\\x80", "\xed\xb2\x80"}, 0, "'utf-8' codec can't decode byte 0x80 in position 0: invalid start byte"},
    {"\xf8\x88\x80\x80\x80", 5, {"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", "", "\\xf8\\x88\\x80\\x80\\x80", "\xed\xb3\xb8\xed\xb2\x88\xed\xb2\x80\xed\xb2\x80\xed\xb2\x80"}, 0, "'utf-8' codec can't decode byte 0xf8 in position 0: invalid start byte"},
    {"ab\xf0\x9f\x98\x80\xe0\x80", 8, {"ab\xf0\x9f\x98\x80\xef\xbf\xbd\xef\xbf\xbd", "ab\xf0\x9f\x98\x80", "ab\xf0\x9f\x98\x80\\xe0\\x80", "ab\xf0\x9f\x98\x80\xed\xb3\xa0\xed\xb2\x80"}, 6, "'utf-8' codec can't decode byte 0xe0 in position 6: invalid continuation byte"},
    {"\xef\xbf\xbf\xf4\x8f\xbf\xbf\xc2", 8, {"\xef\xbf\xbf\xf4\x8f\xbf\xbf\xef\xbf\xbd", "\xef\xbf\xbf\xf4\x8f\xbf\xbf", "\xef\xbf\xbf\xf4\x8f\xbf\xbf\\xc2", "\xef\xbf\xbf\xf4\x8f\xbf\xbf\xed\xb3\x82"}, 7, "'utf-8' codec can't decode byte 0xc2 in position 7: unexpected end of data"},
    {"x\xe0\xa0", 3, {"x\xef\xbf\xbd", "x", "x\\xe0\\xa0", "x\xed\xb3\xa0\xed\xb2\xa0"}, 1, "'utf-8' codec can't decode bytes in position 1-2: unexpected end of data"},
    // clang-format on
};

static const char *const modes[4] = {"replace", "ignore", "backslashreplace",
                                     "surrogateescape"};

/* Every character width, and every split inside each of them. */
static const char mixed[] = "a\xc3\xa9"
                            "b\xe2\x82\xac"
                            "c\xf0\x9f\x98\x80"
                            "d\xdf\xbf\xef\xbf\xbf\xf4\x8f\xbf\xbf"
                            "e";

TEST(text_utf8_passthrough) {
  subproc__buf out = {0};
  subproc_error e;
  OK(decode((cfg){"utf-8", NULL, 0}, mixed, sizeof mixed - 1, &out, &e), e);
  EXPECT_LIT(out, mixed);
  subproc__buf_free(&out);
  /* No data at all still gives a valid (empty) result. */
  OK(decode((cfg){"utf-8", NULL, 1}, "", 0, &out, &e), e);
  ASSERT_EQ(out.len, 0);
  subproc__buf_free(&out);
}

TEST(text_utf8_every_split) {
  check_all_splits((cfg){"utf-8", NULL, 0}, mixed, sizeof mixed - 1, mixed,
                   sizeof mixed - 1);
  check_all_splits((cfg){"utf-8", "strict", 1}, mixed, sizeof mixed - 1, mixed,
                   sizeof mixed - 1);
}

TEST(text_utf8_every_split_three_ways) {
  size_t n = sizeof mixed - 1;
  for (size_t a = 0; a <= n; a++) {
    for (size_t b = a; b <= n; b++) {
      size_t cuts[2] = {a, b};
      subproc__buf out = {0};
      subproc_error e;
      OK(decode_cuts((cfg){"utf-8", NULL, 0}, mixed, n, cuts, 2, &out, &e), e);
      EXPECT_BUF(out, mixed, n);
      subproc__buf_free(&out);
    }
  }
}

TEST(text_utf8_name_spellings) {
  const char *names[] = {"utf-8", "UTF-8", "utf8",   "UTF8",
                         "Utf_8", "u8",    "cp65001"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    subproc__buf out = {0};
    subproc_error e;
    ASSERT_EQ(decode((cfg){names[i], NULL, 0}, "\xff", 1, &out, &e),
              SUBPROC_EDECODE);
    /* The native decoder names itself as Python does. */
    ASSERT_CONTAINS(e.message, "'utf-8' codec");
    subproc__buf_free(&out);
  }
}

TEST(text_errors_modes_match_python) {
  for (size_t i = 0; i < sizeof utf8_cases / sizeof *utf8_cases; i++) {
    const struct utf8_case *t = &utf8_cases[i];
    for (int m = 0; m < 4; m++) {
      subproc__buf out = {0};
      subproc_error e;
      int rc = decode((cfg){"utf-8", modes[m], 0}, t->in, t->len, &out, &e);
      if (rc < 0)
        TEST_FAIL("case %zu, %s: %s", i, modes[m], e.message);
      EXPECT_BUF(out, t->out[m], strlen(t->out[m]));
      subproc__buf_free(&out);
    }
  }
}

TEST(text_errors_modes_every_split) {
  for (size_t i = 0; i < sizeof utf8_cases / sizeof *utf8_cases; i++) {
    const struct utf8_case *t = &utf8_cases[i];
    for (int m = 0; m < 4; m++)
      check_all_splits((cfg){"utf-8", modes[m], 0}, t->in, t->len, t->out[m],
                       strlen(t->out[m]));
  }
}

TEST(text_strict_error_matches_python) {
  for (size_t i = 0; i < sizeof utf8_cases / sizeof *utf8_cases; i++) {
    const struct utf8_case *t = &utf8_cases[i];
    subproc__buf out = {0};
    subproc_error e;
    ASSERT_EQ(decode((cfg){"utf-8", NULL, 0}, t->in, t->len, &out, &e),
              SUBPROC_EDECODE);
    ASSERT_EQ(e.code, SUBPROC_EDECODE);
    ASSERT_STREQ(subproc_step_name(e.step), "decode");
    ASSERT_STREQ(e.message, t->msg);
    ASSERT_EQ(e.offset, t->offset);
    subproc__buf_free(&out);
    /* Byte by byte, the same error at the same offset. */
    ASSERT_EQ(
        decode_bytewise((cfg){"utf-8", "strict", 0}, t->in, t->len, &out, &e),
        SUBPROC_EDECODE);
    ASSERT_STREQ(e.message, t->msg);
    ASSERT_EQ(e.offset, t->offset);
    subproc__buf_free(&out);
  }
}

TEST(text_strict_offset_across_chunks) {
  char in[3000];
  memset(in, 'x', sizeof in);
  in[2500] = (char)0xE2; /* \xe2\x82 then 'x': a broken 3-byte sequence */
  in[2501] = (char)0x82;
  const size_t cut_sets[][3] = {
      {1000, 2000, 2600}, {2500, 2501, 2502}, {2501, 2502, 2999}, {1, 2, 2502}};
  for (size_t k = 0; k < 4; k++) {
    subproc__buf out = {0};
    subproc_error e;
    ASSERT_EQ(decode_cuts((cfg){"utf-8", NULL, 0}, in, sizeof in, cut_sets[k],
                          3, &out, &e),
              SUBPROC_EDECODE);
    ASSERT_EQ(e.offset, 2500);
    ASSERT_STREQ(e.message, "'utf-8' codec can't decode bytes in position "
                            "2500-2501: invalid continuation byte");
    /* What came before the error was delivered. */
    ASSERT_EQ(out.len, 2500);
    subproc__buf_free(&out);
  }
}

TEST(text_strict_truncated_at_eof) {
  subproc__decoder *d;
  subproc_error e;
  subproc__buf out = {0};
  OK(subproc__decoder_new("utf-8", NULL, 0, &d, &e), e);
  OK(subproc__decoder_feed(d, "abc\xe2", 4, 0, &out, &e), e);
  OK(subproc__decoder_feed(d, "\x82", 1, 0, &out, &e), e);
  EXPECT_LIT(out, "abc");
  ASSERT_EQ(subproc__decoder_feed(d, "", 0, 1, &out, &e), SUBPROC_EDECODE);
  ASSERT_EQ(e.offset, 3);
  ASSERT_CONTAINS(e.message, "position 3-4: unexpected end of data");
  /* The stream stays failed. */
  ASSERT_EQ(subproc__decoder_feed(d, "x", 1, 1, &out, &e), SUBPROC_EDECODE);
  subproc__decoder_free(d);
  subproc__buf_free(&out);
}

TEST(text_surrogateescape_round_trip) {
  char all[256];
  for (int i = 0; i < 256; i++)
    all[i] = (char)i;
  subproc__buf text = {0}, back = {0};
  subproc_error e;
  OK(decode((cfg){"utf-8", "surrogateescape", 0}, all, 256, &text, &e), e);
  ASSERT_EQ(text.len, 128 + 128 * 3);
  OK(encode("utf-8", "surrogateescape", text.data, text.len, &back, &e), e);
  EXPECT_BUF(back, all, 256);
  subproc__buf_free(&back);
  OK(encode("latin-1", "surrogateescape", text.data, text.len, &back, &e), e);
  EXPECT_BUF(back, all, 256);
  subproc__buf_free(&text);
  subproc__buf_free(&back);
}

/* ---- universal newlines ---- */

TEST(text_universal_newlines) {
  static const char in[] = "x\r\ny\rz\r\r\n\n\r";
  check_all_splits((cfg){"utf-8", NULL, 1}, in, sizeof in - 1,
                   "x\ny\nz\n\n\n\n", 9);
  check_all_splits((cfg){"utf-8", NULL, 0}, in, sizeof in - 1, in,
                   sizeof in - 1);
}

TEST(text_crlf_split_across_chunks) {
  subproc__decoder *d;
  subproc_error e;
  subproc__buf out = {0};
  OK(subproc__decoder_new("utf-8", NULL, 1, &d, &e), e);
  OK(subproc__decoder_feed(d, "line1\r", 6, 0, &out, &e), e);
  /* The line is delivered at once, not held back for the \n. */
  EXPECT_LIT(out, "line1\n");
  OK(subproc__decoder_feed(d, "\nline2\r", 7, 0, &out, &e), e);
  EXPECT_LIT(out, "line1\nline2\n");
  OK(subproc__decoder_feed(d, "", 0, 0, &out, &e), e);
  OK(subproc__decoder_feed(d, "\n", 1, 0, &out, &e), e);
  OK(subproc__decoder_feed(d, "\n", 1, 1, &out, &e), e);
  EXPECT_LIT(out, "line1\nline2\n\n");
  subproc__decoder_free(d);
  subproc__buf_free(&out);
}

TEST(text_lone_cr_at_eof) {
  subproc__decoder *d;
  subproc_error e;
  subproc__buf out = {0};
  OK(subproc__decoder_new(NULL, NULL, 1, &d, &e), e);
  OK(subproc__decoder_feed(d, "end\r", 4, 0, &out, &e), e);
  OK(subproc__decoder_feed(d, NULL, 0, 1, &out, &e), e);
  EXPECT_LIT(out, "end\n");
  subproc__decoder_free(d);
  subproc__buf_free(&out);
}

TEST(text_universal_with_errors) {
  /* A replacement between \r and \n separates them. */
  check_all_splits((cfg){"utf-8", "backslashreplace", 1}, "a\r\xff\n", 4,
                   "a\n\\xff\n", 7);
  check_all_splits((cfg){"utf-8", "ignore", 1}, "a\r\xff\n", 4, "a\n", 2);
}

/* ---- iconv encodings ---- */

/* 'héllo\r\nwörld€😀'.encode('utf-16-le') */
static const char utf16le[] =
    "h\x00\xe9\x00l\x00l\x00o\x00\x0d\x00\x0a\x00w\x00\xf6\x00r\x00l\x00"
    "d\x00\xac =\xd8\x00\xde";
static const char utf16_text_lf[] =
    "h\xc3\xa9llo\x0aw\xc3\xb6rld\xe2\x82\xac\xf0\x9f\x98\x80";
static const char utf16_text_crlf[] =
    "h\xc3\xa9llo\x0d\x0aw\xc3\xb6rld\xe2\x82\xac\xf0\x9f\x98\x80";

TEST(text_utf16le_every_split) {
  ASSERT_EQ(sizeof utf16le - 1, 30);
  const char *names[] = {"utf-16-le", "UTF-16LE", "utf_16_le"};
  for (size_t i = 0; i < 3; i++) {
    check_all_splits((cfg){names[i], NULL, 1}, utf16le, 30, utf16_text_lf,
                     sizeof utf16_text_lf - 1);
    check_all_splits((cfg){names[i], NULL, 0}, utf16le, 30, utf16_text_crlf,
                     sizeof utf16_text_crlf - 1);
  }
}

TEST_KNOWN_FAIL_WINDOWS(text_utf16_with_bom,
                        "the Windows codec does not know 'utf-16'") {
  /* 'hé'.encode('utf-16'): a BOM, then little-endian. */
  subproc__buf out = {0};
  subproc_error e;
  OK(decode((cfg){"utf-16", NULL, 0}, "\xff\xfeh\x00\xe9\x00", 6, &out, &e), e);
  EXPECT_LIT(out, "h\xc3\xa9");
  subproc__buf_free(&out);
}

TEST(text_utf16le_errors_match_python) {
  static const struct {
    const char *in;
    size_t len;
    const char *replace, *backslash;
    long long offset;
  } cases[] = {
      /* b'a\x00\x00\xd8b\x00': a high surrogate without its low half. */
      {"a\x00\x00\xd8"
       "b\x00",
       6,
       "a\xef\xbf\xbd"
       "b",
       "a\\x00\\xd8b", 2},
      /* b'\x00\xdca\x00': a lone low surrogate. */
      {"\x00\xdc"
       "a\x00",
       4,
       "\xef\xbf\xbd"
       "a",
       "\\x00\\xdca", 0},
      /* b'a\x00b': an odd byte at the end. */
      {"a\x00"
       "b",
       3, "a\xef\xbf\xbd", "a\\x62", 2},
      /* b'\x00\xd8\x00': a high surrogate and a byte at the end. */
      {"\x00\xd8\x00", 3, "\xef\xbf\xbd", "\\x00\\xd8\\x00", 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    check_all_splits((cfg){"utf-16-le", "replace", 0}, cases[i].in,
                     cases[i].len, cases[i].replace, strlen(cases[i].replace));
    check_all_splits((cfg){"utf-16-le", "backslashreplace", 0}, cases[i].in,
                     cases[i].len, cases[i].backslash,
                     strlen(cases[i].backslash));
    subproc__buf out = {0};
    subproc_error e;
    ASSERT_EQ(decode((cfg){"utf-16-le", NULL, 0}, cases[i].in, cases[i].len,
                     &out, &e),
              SUBPROC_EDECODE);
    ASSERT_EQ(e.offset, cases[i].offset);
    ASSERT_CONTAINS(e.message, "'utf-16-le' codec can't decode");
    subproc__buf_free(&out);
    /* surrogateescape cannot escape bytes below 0x80: Python raises. */
    ASSERT_EQ(decode((cfg){"utf-16-le", "surrogateescape", 0}, cases[i].in,
                     cases[i].len, &out, &e),
              SUBPROC_EDECODE);
    subproc__buf_free(&out);
  }
}

TEST(text_latin1) {
  const char *names[] = {"latin-1",   "latin1", "ISO-8859-1",
                         "iso8859_1", "L1",     "iso-8859-1"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    check_all_splits((cfg){names[i], NULL, 0}, "h\xe9llo w\xf6rld", 11,
                     "h\xc3\xa9llo w\xc3\xb6rld", 13);
  /* Every byte is a character: U+0000..U+00FF. */
  char all[256];
  for (int i = 0; i < 256; i++)
    all[i] = (char)i;
  subproc__buf out = {0};
  subproc_error e;
  OK(decode((cfg){"latin-1", NULL, 0}, all, 256, &out, &e), e);
  ASSERT_EQ(out.len, 128 + 2 * 128);
  EXPECT_BUF(((subproc__buf){out.data, 128, 0}), all, 128);
  EXPECT_LIT(((subproc__buf){out.data + 128 + 2 * 0x69, 2, 0}), "\xc3\xa9");
  subproc__buf_free(&out);
}

TEST(text_other_codepages) {
  subproc__buf out = {0};
  subproc_error e;
  /* 0x80 is the euro sign in cp1252, 0xa4 in ISO-8859-15. */
  OK(decode((cfg){"cp1252", NULL, 0}, "\x80", 1, &out, &e), e);
  EXPECT_LIT(out, "\xe2\x82\xac");
  subproc__buf_free(&out);
  OK(decode((cfg){"windows-1252", NULL, 0}, "\x80", 1, &out, &e), e);
  EXPECT_LIT(out, "\xe2\x82\xac");
  subproc__buf_free(&out);
  OK(decode((cfg){"iso8859_15", NULL, 0}, "\xa4", 1, &out, &e), e);
  EXPECT_LIT(out, "\xe2\x82\xac");
  subproc__buf_free(&out);
}

TEST_KNOWN_FAIL_WINDOWS(text_ascii_errors,
                        "the Windows codec decodes ascii byte 0xff as 0x7f "
                        "(best fit) instead of failing") {
  /* b'a\xffb'.decode('ascii', 'replace') == 'a\ufffdb' */
  check_all_splits((cfg){"ascii", "replace", 0},
                   "a\xff"
                   "b",
                   3,
                   "a\xef\xbf\xbd"
                   "b",
                   5);
  check_all_splits((cfg){"us-ascii", "backslashreplace", 0},
                   "a\xff"
                   "b",
                   3, "a\\xffb", 6);
  check_all_splits((cfg){"ascii", "surrogateescape", 0},
                   "a\xff"
                   "b",
                   3,
                   "a\xed\xb3\xbf"
                   "b",
                   5);
  subproc__buf out = {0};
  subproc_error e;
  ASSERT_EQ(decode((cfg){"ascii", NULL, 0}, "ab\xff", 3, &out, &e),
            SUBPROC_EDECODE);
  ASSERT_EQ(e.offset, 2);
  ASSERT_CONTAINS(e.message, "'ascii' codec can't decode byte 0xff in "
                             "position 2");
  EXPECT_LIT(out, "ab");
  subproc__buf_free(&out);
}

/* ---- bad names ---- */

TEST(text_unknown_encoding) {
  subproc__decoder *d = (subproc__decoder *)&d;
  subproc_error e;
  ASSERT_EQ(subproc__decoder_new("no-such-codec", NULL, 0, &d, &e),
            SUBPROC_EINVAL);
  ASSERT(d == NULL);
  ASSERT_EQ(e.code, SUBPROC_EINVAL);
  ASSERT_STREQ(subproc_step_name(e.step), "encoding");
  ASSERT_STREQ(e.message, "unknown encoding: 'no-such-codec'");
  subproc__buf out = {0};
  ASSERT_EQ(encode("no-such-codec", NULL, "x", 1, &out, &e), SUBPROC_EINVAL);
  ASSERT_STREQ(e.message, "unknown encoding: 'no-such-codec'");
  ASSERT_EQ(subproc__decoder_new("", NULL, 0, &d, NULL), SUBPROC_EINVAL);
  subproc__buf_free(&out);
}

TEST(text_unknown_errors_mode) {
  subproc__decoder *d;
  subproc_error e;
  ASSERT_EQ(subproc__decoder_new("utf-8", "bogus", 0, &d, &e), SUBPROC_EINVAL);
  ASSERT_STREQ(subproc_step_name(e.step), "encoding");
  ASSERT_STREQ(e.message, "unknown error handler name 'bogus'");
  /* Names are case-sensitive, as in Python. */
  ASSERT_EQ(subproc__decoder_new("utf-8", "Strict", 0, &d, &e), SUBPROC_EINVAL);
  subproc__buf out = {0};
  ASSERT_EQ(encode("utf-8", "bogus", "x", 1, &out, &e), SUBPROC_EINVAL);
  ASSERT_CONTAINS(e.message, "'bogus'");
  subproc__buf_free(&out);
}

/* ---- encoding ---- */

/* 'aé€😀b' */
static const char euro_text[] = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
                                "b";

TEST(text_encode_utf8) {
  subproc__buf out = {0};
  subproc_error e;
  OK(encode("utf-8", NULL, euro_text, sizeof euro_text - 1, &out, &e), e);
  EXPECT_LIT(out, euro_text);
  subproc__buf_free(&out);
  OK(encode("utf-8", NULL, "", 0, &out, &e), e);
  ASSERT(out.data != NULL);
  ASSERT_EQ(out.len, 0);
  subproc__buf_free(&out);
}

TEST(text_encode_latin1_every_mode) {
  static const struct {
    const char *enc, *mode, *exp;
    size_t len;
  } cases[] = {
      {"latin-1", "replace", S("a\xe9??b")},
      {"latin-1", "ignore",
       S("a\xe9"
         "b")},
      {"latin-1", "backslashreplace", S("a\xe9\\u20ac\\U0001f600b")},
      {"ascii", "replace", S("a???b")},
      {"ascii", "ignore", S("ab")},
      {"ascii", "backslashreplace", S("a\\xe9\\u20ac\\U0001f600b")},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    subproc__buf out = {0};
    subproc_error e;
    OK(encode(cases[i].enc, cases[i].mode, euro_text, sizeof euro_text - 1,
              &out, &e),
       e);
    EXPECT_BUF(out, cases[i].exp, cases[i].len);
    subproc__buf_free(&out);
  }
}

TEST(text_encode_strict_errors) {
  subproc__buf out = {0};
  subproc_error e;
  ASSERT_EQ(encode("latin-1", NULL, euro_text, sizeof euro_text - 1, &out, &e),
            SUBPROC_EDECODE);
  ASSERT_STREQ(subproc_step_name(e.step), "encode");
  ASSERT_EQ(e.offset, 3); /* a byte offset in the UTF-8 input */
  ASSERT_STREQ(e.message, "'latin-1' codec can't encode character '\\u20ac' "
                          "in position 3: character maps to <undefined>");
  subproc__buf_free(&out);
  /* surrogateescape only helps with escaped surrogates. */
  ASSERT_EQ(encode("ascii", "surrogateescape", euro_text, sizeof euro_text - 1,
                   &out, &e),
            SUBPROC_EDECODE);
  ASSERT_EQ(e.offset, 1);
  ASSERT_CONTAINS(e.message, "character '\\xe9'");
  subproc__buf_free(&out);
}

TEST(text_encode_utf16le) {
  subproc__buf out = {0};
  subproc_error e;
  OK(encode("utf-16-le", NULL, euro_text, sizeof euro_text - 1, &out, &e), e);
  /* 'aé€😀b'.encode('utf-16-le') */
  EXPECT_LIT(out, "a\x00\xe9\x00\xac =\xd8\x00\xde"
                  "b\x00");
  subproc__buf_free(&out);
  OK(encode("utf-16-le", NULL, utf16_text_crlf, sizeof utf16_text_crlf - 1,
            &out, &e),
     e);
  EXPECT_BUF(out, utf16le, sizeof utf16le - 1);
  subproc__buf_free(&out);
}

/* 'a\udcffb' as lone-surrogate UTF-8. */
static const char surrogate_text[] = "a\xed\xb3\xbf"
                                     "b";

TEST(text_encode_surrogates_every_mode) {
  static const struct {
    const char *enc, *mode, *exp;
    size_t len;
  } cases[] = {
      {"latin-1", "replace", S("a?b")},
      {"latin-1", "ignore", S("ab")},
      {"latin-1", "backslashreplace", S("a\\udcffb")},
      {"latin-1", "surrogateescape",
       S("a\xff"
         "b")},
      {"utf-8", "replace", S("a?b")},
      {"utf-8", "backslashreplace", S("a\\udcffb")},
      {"utf-8", "surrogateescape",
       S("a\xff"
         "b")},
      {"utf-16-le", "replace",
       S("a\x00?\x00"
         "b\x00")},
      {"utf-16-le", "backslashreplace",
       S("a\x00\\\x00u\x00"
         "d\x00"
         "c\x00"
         "f\x00"
         "f\x00"
         "b\x00")},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    subproc__buf out = {0};
    subproc_error e;
    OK(encode(cases[i].enc, cases[i].mode, surrogate_text,
              sizeof surrogate_text - 1, &out, &e),
       e);
    EXPECT_BUF(out, cases[i].exp, cases[i].len);
    subproc__buf_free(&out);
  }
  subproc__buf out = {0};
  subproc_error e;
  ASSERT_EQ(encode("utf-8", NULL, surrogate_text, 5, &out, &e),
            SUBPROC_EDECODE);
  ASSERT_STREQ(e.message, "'utf-8' codec can't encode character '\\udcff' in "
                          "position 1: surrogates not allowed");
  subproc__buf_free(&out);
  /* Python refuses surrogateescape for UTF-16 output. */
  ASSERT_EQ(encode("utf-16-le", "surrogateescape", surrogate_text, 5, &out, &e),
            SUBPROC_EDECODE);
  subproc__buf_free(&out);
}

TEST(text_encode_invalid_utf8_input) {
  static const struct {
    const char *mode, *exp;
    size_t len;
  } cases[] = {
      {"replace", S("a?b?")},
      {"ignore", S("ab")},
      {"backslashreplace", S("a\\xffb\\xe2\\x82")},
      {"surrogateescape", S("a\xff"
                            "b\xe2\x82")},
  };
  static const char bad[] = "a\xff"
                            "b\xe2\x82";
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    subproc__buf out = {0};
    subproc_error e;
    OK(encode("utf-8", cases[i].mode, bad, 5, &out, &e), e);
    EXPECT_BUF(out, cases[i].exp, cases[i].len);
    subproc__buf_free(&out);
  }
  subproc__buf out = {0};
  subproc_error e;
  ASSERT_EQ(encode("utf-8", NULL, bad, 5, &out, &e), SUBPROC_EDECODE);
  ASSERT_EQ(e.offset, 1);
  ASSERT_CONTAINS(e.message, "0xff in position 1");
  EXPECT_LIT(out, "a");
  subproc__buf_free(&out);
  ASSERT_EQ(encode("latin-1", "strict", bad, 5, &out, &e), SUBPROC_EDECODE);
  ASSERT_EQ(e.offset, 1);
  subproc__buf_free(&out);
}

/* ---- the locale (POSIX: Windows has code pages) ---- */
#ifndef _WIN32

TEST_POSIX(text_locale_c_is_utf8) {
  /* A program that never calls setlocale runs in the C locale. */
  ASSERT_STREQ(subproc__locale_encoding(), "UTF-8");
  /* The encoder's default follows it (Windows: the ANSI code page). */
  subproc__buf out = {0};
  subproc_error e;
  OK(encode(NULL, NULL, euro_text, sizeof euro_text - 1, &out, &e), e);
  EXPECT_LIT(out, euro_text);
  subproc__buf_free(&out);
  ASSERT(setlocale(LC_ALL, "C") != NULL);
  ASSERT_STREQ(subproc__locale_encoding(), "UTF-8");
  ASSERT(setlocale(LC_ALL, "POSIX") != NULL);
  ASSERT_STREQ(subproc__locale_encoding(), "UTF-8");
}

TEST_POSIX(text_locale_lang_c) {
  unsetenv("LC_ALL");
  unsetenv("LC_CTYPE");
  setenv("LANG", "C", 1);
  ASSERT(setlocale(LC_ALL, "") != NULL);
  ASSERT_STREQ(subproc__locale_encoding(), "UTF-8");
  /* And the decoder's default follows it. */
  subproc__buf out = {0};
  subproc_error e;
  ASSERT_EQ(decode((cfg){NULL, NULL, 0}, "\xff", 1, &out, &e), SUBPROC_EDECODE);
  ASSERT_CONTAINS(e.message, "'utf-8' codec");
  subproc__buf_free(&out);
}

/* An ISO-8859-1 locale: an installed one, or one built with localedef in
 * dir (the case's own process, so LOCPATH only affects it). */
static const char *latin1_locale(char *dir, size_t size) {
  const char *names[] = {"en_US.ISO-8859-1", "de_DE.ISO-8859-1", "en_US"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    const char *got = setlocale(LC_CTYPE, names[i]);
    if (got && strstr(nl_langinfo(CODESET), "8859-1"))
      return got;
  }
  snprintf(dir, size, "/tmp/subproc-locale-XXXXXX");
  if (!mkdtemp(dir))
    return NULL;
  char cmd[256];
  snprintf(cmd, sizeof cmd,
           "localedef -i en_US -f ISO-8859-1 %s/en_US.ISO-8859-1 "
           ">/dev/null 2>&1",
           dir);
  if (system(cmd) != 0)
    return NULL;
  setenv("LOCPATH", dir, 1);
  const char *got = setlocale(LC_CTYPE, "en_US.ISO-8859-1");
  /* musl accepts any locale name, but every locale of it is UTF-8. */
  return got && strstr(nl_langinfo(CODESET), "8859-1") ? got : NULL;
}

static void *c_locale_thread(void *arg) {
  locale_t c = newlocale(LC_CTYPE_MASK, "C", (locale_t)0);
  uselocale(c);
  snprintf(arg, 40, "%s", subproc__locale_encoding());
  uselocale(LC_GLOBAL_LOCALE);
  freelocale(c);
  return NULL;
}

TEST_POSIX(text_locale_non_utf8) {
  char dir[64] = "", cmd[96];
  const char *loc = latin1_locale(dir, sizeof dir);
  if (*dir) {
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ASSERT_EQ(system(cmd), 0);
  }
  if (!loc)
    SKIP("no ISO-8859-1 locale (none installed, localedef failed, or a "
         "C library whose locales are all UTF-8, as musl's)");
  ASSERT_STREQ(subproc__locale_encoding(), "ISO-8859-1");
  subproc__buf out = {0};
  subproc_error e;
  OK(decode((cfg){NULL, NULL, 0}, "\xe9", 1, &out, &e), e);
  EXPECT_LIT(out, "\xc3\xa9");
  subproc__buf_free(&out);
  /* A thread with its own locale (uselocale) sees that one. */
  char other[40];
  pthread_t t;
  ASSERT_EQ(pthread_create(&t, NULL, c_locale_thread, other), 0);
  ASSERT_EQ(pthread_join(t, NULL), 0);
  ASSERT_STREQ(other, "UTF-8");
  ASSERT_STREQ(subproc__locale_encoding(), "ISO-8859-1");
}

static void *locale_worker(void *arg) {
  (void)arg;
  for (int i = 0; i < 2000; i++) {
    if (strcmp(subproc__locale_encoding(), "UTF-8") != 0)
      return (void *)1;
    subproc__buf out = {0};
    if (decode((cfg){NULL, "replace", 1}, "a\r\n\xff", 4, &out, NULL) != 0 ||
        out.len != 5)
      return (void *)1;
    subproc__buf_free(&out);
  }
  return NULL;
}

TEST_POSIX(text_locale_threads) {
  pthread_t t[4];
  for (int i = 0; i < 4; i++)
    ASSERT_EQ(pthread_create(&t[i], NULL, locale_worker, NULL), 0);
  for (int i = 0; i < 4; i++) {
    void *res;
    ASSERT_EQ(pthread_join(t[i], &res), 0);
    ASSERT(res == NULL);
  }
}
#endif

/* ---- large input ---- */

static double rate(size_t bytes, double t0) {
  double dt = test_now() - t0;
  return dt > 0 ? (double)bytes / dt / 1e6 : 0.0;
}

/* Decodes big in 64 KiB chunks; returns MB/s. */
static double decode_big(cfg c, const char *big, size_t n, subproc__buf *out) {
  subproc__decoder *d;
  subproc_error e;
  OK(subproc__decoder_new(c.enc, c.errors, c.universal, &d, &e), e);
  /* Measure the decoder, not the page faults of a growing buffer. */
  ASSERT_EQ(subproc__buf_reserve(out, 2 * n), 0);
  memset(out->data, 0, out->cap);
  double t0 = test_now();
  for (size_t pos = 0; pos < n; pos += 65536) {
    size_t len = n - pos < 65536 ? n - pos : 65536;
    OK(subproc__decoder_feed(d, big + pos, len, pos + len == n, out, &e), e);
  }
  double r = rate(n, t0);
  subproc__decoder_free(d);
  return r;
}

TEST(text_large_input) {
  const size_t n = 8u << 20;
  char *big = malloc(n);
  ASSERT(big != NULL);
  /* Mostly ASCII lines with some multi-byte characters, cut mid-character
   * at every chunk boundary that happens to fall there. */
  static const char line[] = "The quick brown fox \xc3\xa9\xe2\x82\xac "
                             "jumps over the lazy dog \xf0\x9f\x98\x80\n";
  for (size_t i = 0; i < n; i++)
    big[i] = line[i % (sizeof line - 1)];
  size_t len = n - n % (sizeof line - 1);
  subproc__buf out = {0};
  double utf8 = decode_big((cfg){"utf-8", NULL, 0}, big, len, &out);
  EXPECT_BUF(out, big, len);
  subproc__buf_free(&out);
  double univ = decode_big((cfg){"utf-8", NULL, 1}, big, len, &out);
  EXPECT_BUF(out, big, len);
  subproc__buf_free(&out);
  memset(big, 'a', n);
  double ascii = decode_big((cfg){"utf-8", NULL, 0}, big, n, &out);
  ASSERT_EQ(out.len, n);
  subproc__buf_free(&out);
  for (size_t i = 0; i < n; i += 7)
    big[i] = (char)0xE9;
  double latin1 = decode_big((cfg){"latin-1", NULL, 0}, big, n, &out);
  ASSERT_EQ(out.len, n + (n + 6) / 7);
  subproc__buf_free(&out);
  printf("decode MB/s: utf-8 mixed %.0f, utf-8 universal %.0f, ascii %.0f, "
         "latin-1 (iconv) %.0f\n",
         utf8, univ, ascii, latin1);
  free(big);
}
