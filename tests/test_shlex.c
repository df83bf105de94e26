/* shlex.split/quote/join against tables computed by CPython
 * (tests/data/gen_shlex_tables.py), plus round trips and bad input. */
#include <errno.h>
#include <stdint.h>

#include "subproc.h"
#include "test.h"
#include "util.h"

#include "data/shlex_cases.inc"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* split(s) that must succeed. */
static char **split_ok(const char *s, size_t *n) {
  char **argv = NULL;
  subproc_error e;
  int rc = subproc_split(s, &argv, n, &e);
  if (rc < 0)
    TEST_FAIL("split(\"%s\"): %d (%s): %s", s, rc, subproc_errname(rc),
              e.message);
  ASSERT(argv != NULL);
  return argv;
}

/* split(join(argv)) == argv, and split(quote(w)) == [w] for each word. */
static void assert_roundtrip(const char *const *argv) {
  char *line = subproc_join(argv);
  ASSERT(line != NULL);
  size_t n;
  char **got = split_ok(line, &n);
  assert_argv_eq(line, got, n, argv);
  subproc_buffer_free(got);
  subproc_buffer_free(line);
  for (size_t i = 0; argv[i]; i++) {
    char *q = subproc_quote(argv[i]);
    ASSERT(q != NULL);
    const char *one[] = {argv[i], NULL};
    got = split_ok(q, &n);
    assert_argv_eq(q, got, n, one);
    subproc_buffer_free(got);
    subproc_buffer_free(q);
  }
}

TEST(shlex_split_table) {
  for (size_t i = 0; i < COUNT(shlex_split_cases); i++) {
    size_t n = 99;
    char **argv = split_ok(shlex_split_cases[i].in, &n);
    assert_argv_eq(shlex_split_cases[i].in, argv, n, shlex_split_cases[i].argv);
    subproc_buffer_free(argv);
  }
}

TEST(shlex_split_error_table) {
  for (size_t i = 0; i < COUNT(shlex_split_errors); i++) {
    char **argv = (char **)&argv; /* must be reset to NULL */
    size_t n = 99;
    subproc_error e;
    int rc = subproc_split(shlex_split_errors[i].in, &argv, &n, &e);
    if (rc != SUBPROC_EINVAL)
      TEST_FAIL("split(\"%s\") returned %d", shlex_split_errors[i].in, rc);
    ASSERT(argv == NULL);
    ASSERT_EQ(e.code, SUBPROC_EINVAL);
    ASSERT_STREQ(subproc_step_name(e.step), "split");
    ASSERT_CONTAINS(e.message, shlex_split_errors[i].message);
    ASSERT_EQ(subproc_split(shlex_split_errors[i].in, &argv, NULL, NULL),
              SUBPROC_EINVAL);
  }
}

static void assert_split_fails_at(const char *s, const char *msg, long at) {
  char **argv;
  subproc_error e;
  ASSERT_EQ(subproc_split(s, &argv, NULL, &e), SUBPROC_EINVAL);
  ASSERT_CONTAINS(e.message, msg);
  if (e.offset != at)
    TEST_FAIL("split(\"%s\"): offset %lld, expected %ld (%s)", s, e.offset, at,
              e.message);
  char where[32];
  snprintf(where, sizeof where, "byte %ld", at);
  ASSERT_CONTAINS(e.message, where);
}

TEST(shlex_split_error_offsets) {
  assert_split_fails_at("ab 'cd", "No closing quotation", 3);
  assert_split_fails_at("x \"y", "No closing quotation", 2);
  assert_split_fails_at("'a' 'b' \"c", "No closing quotation", 8);
  assert_split_fails_at("ab\\", "No escaped character", 2);
  assert_split_fails_at("\"a\\", "No escaped character", 2);
  assert_split_fails_at("'a\\", "No closing quotation", 0);
  assert_split_fails_at("\xc3\xa9 \"", "No closing quotation", 3);
}

TEST(shlex_split_null) {
  char **argv = (char **)&argv;
  size_t n = 7;
  subproc_error e;
  ASSERT_EQ(subproc_split(NULL, &argv, &n, &e), SUBPROC_EINVAL);
  ASSERT(argv == NULL);
  ASSERT_EQ(e.code, SUBPROC_EINVAL);
  ASSERT_STREQ(subproc_step_name(e.step), "split");
  ASSERT_CONTAINS(e.message, "NULL");
  ASSERT_EQ(subproc_split(NULL, &argv, NULL, NULL), SUBPROC_EINVAL);
  ASSERT_EQ(subproc_split("a b", NULL, &n, &e), SUBPROC_EINVAL);
  ASSERT_CONTAINS(e.message, "NULL");
}

TEST(shlex_split_empty) {
  static const char *const inputs[] = {"", " ", " \t\r\n"};
  for (size_t i = 0; i < COUNT(inputs); i++) {
    size_t n = 5;
    char **argv = split_ok(inputs[i], &n);
    ASSERT_EQ(n, 0);
    ASSERT(argv[0] == NULL);
    subproc_buffer_free(argv);
  }
}

/* The pointer array and the strings form one block: the strings start
 * right after the NULL that ends the array. */
TEST(shlex_split_one_allocation) {
  char **argv = split_ok("one 'two three' \"\" four", NULL);
  ASSERT_STREQ(argv[0], "one");
  ASSERT_STREQ(argv[1], "two three");
  ASSERT_STREQ(argv[2], "");
  ASSERT_STREQ(argv[3], "four");
  ASSERT(argv[4] == NULL);
  ASSERT(argv[0] == (char *)&argv[5]);
  for (int i = 1; i < 4; i++)
    ASSERT(argv[i] == argv[i - 1] + strlen(argv[i - 1]) + 1);
  subproc_buffer_free(argv);
}

TEST(shlex_quote_table) {
  for (size_t i = 0; i < COUNT(shlex_quote_cases); i++) {
    char *q = subproc_quote(shlex_quote_cases[i].in);
    ASSERT_STREQ(q, shlex_quote_cases[i].out);
    subproc_buffer_free(q);
  }
  ASSERT(subproc_quote(NULL) == NULL);
}

/* Bytes of invalid UTF-8 are never "safe", like Python's surrogates. */
TEST(shlex_quote_non_ascii_bytes) {
  char *q = subproc_quote("a\xff");
  ASSERT_STREQ(q, "'a\xff'");
  subproc_buffer_free(q);
  q = subproc_quote("\x80");
  ASSERT_STREQ(q, "'\x80'");
  subproc_buffer_free(q);
}

TEST(shlex_join_table) {
  for (size_t i = 0; i < COUNT(shlex_join_cases); i++) {
    char *line = subproc_join(shlex_join_cases[i].argv);
    ASSERT_STREQ(line, shlex_join_cases[i].out);
    subproc_buffer_free(line);
  }
  ASSERT(subproc_join(NULL) == NULL);
}

TEST(shlex_roundtrip_table) {
  for (size_t i = 0; i < COUNT(shlex_split_cases); i++)
    assert_roundtrip(shlex_split_cases[i].argv);
  for (size_t i = 0; i < COUNT(shlex_join_cases); i++)
    assert_roundtrip(shlex_join_cases[i].argv);
  for (size_t i = 0; i < COUNT(shlex_quote_cases); i++) {
    const char *one[] = {shlex_quote_cases[i].in, NULL};
    assert_roundtrip(one);
  }
}

TEST(shlex_roundtrip_every_byte) {
  char words[255][4];
  const char *argv[256];
  for (int b = 1; b < 256; b++) {
    snprintf(words[b - 1], sizeof words[b - 1], "%c", b);
    argv[b - 1] = words[b - 1];
  }
  argv[255] = NULL;
  assert_roundtrip(argv);
}

TEST(shlex_roundtrip_random) {
  static const char alphabet[] = "ab '\"\\\t\n\r$`#;|&*?~=!{}()[]<>\xc3\xa9";
  random_argv g = {.state = 12345};
  for (int iter = 0; iter < 20000; iter++)
    assert_roundtrip(random_argv_next(&g, alphabet));
}

static char *repeat(const char *piece, size_t times) {
  size_t len = strlen(piece);
  char *s = malloc(len * times + 1);
  ASSERT(s != NULL);
  for (size_t i = 0; i < times; i++)
    memcpy(s + i * len, piece, len);
  s[len * times] = '\0';
  return s;
}

TEST(shlex_long_inputs) {
  char *s = repeat("w 'x y' ", 100000);
  size_t n;
  char **argv = split_ok(s, &n);
  ASSERT_EQ(n, 200000);
  ASSERT_STREQ(argv[0], "w");
  ASSERT_STREQ(argv[199999], "x y");
  subproc_buffer_free(argv);
  free(s);

  char *word = repeat("it's \"a\" \\ test ", 50000);
  const char *one[] = {word, NULL};
  assert_roundtrip(one);
  free(word);
}
