/* subprocess.list2cmdline against tables computed by CPython
 * (tests/data/gen_shlex_tables.py), and the MS C runtime decoder that must
 * invert it. */
#include <stdint.h>

#include "cmdline.h"
#include "subproc.h"
#include "test.h"
#include "util.h"

#include "data/cmdline_cases.inc"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void assert_decodes_to(const char *line, const char *const *want) {
  char **argv = NULL;
  size_t n = 99;
  ASSERT_EQ(subproc__cmdline_decode(line, &argv, &n), 0);
  assert_argv_eq(line, argv, n, want);
  subproc_buffer_free(argv);
}

static void assert_roundtrip(const char *const *argv) {
  char *line = subproc_list2cmdline(argv);
  ASSERT(line != NULL);
  assert_decodes_to(line, argv);
  subproc_buffer_free(line);
}

TEST(cmdline_table) {
  for (size_t i = 0; i < COUNT(cmdline_cases); i++) {
    char *line = subproc_list2cmdline(cmdline_cases[i].argv);
    ASSERT_STREQ(line, cmdline_cases[i].out);
    subproc_buffer_free(line);
  }
}

TEST(cmdline_null) {
  ASSERT(subproc_list2cmdline(NULL) == NULL);
  char **argv = (char **)&argv;
  ASSERT_EQ(subproc__cmdline_decode(NULL, &argv, NULL), SUBPROC_EINVAL);
  ASSERT(argv == NULL);
  ASSERT_EQ(subproc__cmdline_decode("a", NULL, NULL), SUBPROC_EINVAL);
}

/* The examples of Microsoft's "Parsing C command-line arguments". */
TEST(cmdline_decode_documented) {
  assert_decodes_to("\"a b c\" d e", (const char *[]){"a b c", "d", "e", 0});
  assert_decodes_to("\"ab\\\"c\" \"\\\\\" d",
                    (const char *[]){"ab\"c", "\\", "d", 0});
  assert_decodes_to("a\\\\\\b d\"e f\"g h",
                    (const char *[]){"a\\\\\\b", "de fg", "h", 0});
  assert_decodes_to("a\\\\\\\"b c d", (const char *[]){"a\\\"b", "c", "d", 0});
  assert_decodes_to("a\\\\\\\\\"b c\" d e",
                    (const char *[]){"a\\\\b c", "d", "e", 0});
  assert_decodes_to("a\"b\"\" c d", (const char *[]){"ab\" c d", 0});
}

TEST(cmdline_decode_edges) {
  assert_decodes_to("", (const char *[]){0});
  assert_decodes_to(" \t ", (const char *[]){0});
  assert_decodes_to("\"\"", (const char *[]){"", 0});
  assert_decodes_to("\"\" \"\"", (const char *[]){"", "", 0});
  assert_decodes_to("a \"", (const char *[]){"a", "", 0});
  assert_decodes_to("\"abc", (const char *[]){"abc", 0});
  assert_decodes_to("\"a b\\\\\"", (const char *[]){"a b\\", 0});
  assert_decodes_to("\"a b\\\"", (const char *[]){"a b\"", 0});
  assert_decodes_to("a\\", (const char *[]){"a\\", 0});
  assert_decodes_to("\\\\", (const char *[]){"\\\\", 0});
  assert_decodes_to("  a\t\tb  ", (const char *[]){"a", "b", 0});
  assert_decodes_to("a\nb\rc\vd", (const char *[]){"a\nb\rc\vd", 0});
  assert_decodes_to("\"\"\"\"", (const char *[]){"\"", 0});
  assert_decodes_to("x\"\"y", (const char *[]){"xy", 0});
}

TEST(cmdline_decode_one_allocation) {
  char **argv;
  size_t n;
  ASSERT_EQ(subproc__cmdline_decode("one \"two three\" \"\" 4", &argv, &n), 0);
  ASSERT_EQ(n, 4);
  ASSERT(argv[0] == (char *)&argv[5]);
  ASSERT_STREQ(argv[1], "two three");
  ASSERT(argv[4] == NULL);
  subproc_buffer_free(argv);
}

TEST(cmdline_roundtrip_table) {
  for (size_t i = 0; i < COUNT(cmdline_cases); i++)
    assert_roundtrip(cmdline_cases[i].argv);
  for (size_t i = 0; i < COUNT(cmdline_more_argvs); i++)
    assert_roundtrip(cmdline_more_argvs[i]);
}

TEST(cmdline_roundtrip_random) {
  static const char alphabet[] = "a \t\"\\\\\\\n'";
  random_argv g = {.state = 4242};
  for (int iter = 0; iter < 50000; iter++)
    assert_roundtrip(random_argv_next(&g, alphabet));
}

TEST(cmdline_long) {
  size_t len = 1 << 20;
  char *arg = malloc(len + 1);
  ASSERT(arg != NULL);
  for (size_t i = 0; i < len; i++)
    arg[i] = "\\\" x"[i % 4];
  arg[len] = '\0';
  const char *argv[] = {arg, "", arg, NULL};
  assert_roundtrip(argv);
  free(arg);
}
