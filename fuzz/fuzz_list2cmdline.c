/* list2cmdline and the MS C runtime decoder are inverses: for any argv (the
 * input cut at NUL bytes) decode(list2cmdline(argv)) == argv, and for any
 * command line (the input up to its first NUL) the decoded argv survives
 * another encode/decode round. */
#include "cmdline.h"
#include "fuzz.h"
#include "subproc.h"

static char **roundtrip(const char *const *argv, size_t *n) {
  char *line = subproc_list2cmdline(argv);
  FUZZ_CHECK(line != NULL);
  char **again = NULL;
  FUZZ_CHECK(subproc__cmdline_decode(line, &again, n) == 0);
  FUZZ_CHECK(fuzz_argv_equal(argv, (const char *const *)again));
  subproc_buffer_free(line);
  return again;
}

static void check_argv(const uint8_t *data, size_t size) {
  size_t n, m;
  char **argv = fuzz_argv(data, size, &n);
  subproc_buffer_free(roundtrip((const char *const *)argv, &m));
  FUZZ_CHECK(m == n);
  free(argv);
}

static void check_cmdline(const uint8_t *data, size_t size) {
  char *s = fuzz_cstr(data, size);
  char **argv = NULL;
  size_t n, m;
  FUZZ_CHECK(subproc__cmdline_decode(s, &argv, &n) == 0);
  FUZZ_CHECK(argv[n] == NULL);
  subproc_buffer_free(roundtrip((const char *const *)argv, &m));
  FUZZ_CHECK(m == n);
  subproc_buffer_free(argv);
  free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_argv(data, size);
  check_cmdline(data, size);
  return 0;
}
