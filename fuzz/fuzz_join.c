/* shlex.join then shlex.split on any argv (the input cut at NUL bytes)
 * gives the argv back. */
#include "fuzz.h"
#include "subproc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t n;
  char **argv = fuzz_argv(data, size, &n);
  char *line = subproc_join((const char *const *)argv);
  FUZZ_CHECK(line != NULL);
  char **again = NULL;
  size_t m = 0;
  FUZZ_CHECK(subproc_split(line, &again, &m, NULL) == 0);
  FUZZ_CHECK(m == n);
  FUZZ_CHECK(
      fuzz_argv_equal((const char *const *)argv, (const char *const *)again));
  subproc_buffer_free(again);
  subproc_buffer_free(line);
  free(argv);
  return 0;
}
