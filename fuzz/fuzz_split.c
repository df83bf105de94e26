/* shlex.split on any text: it fails only with SUBPROC_EINVAL and a
 * Python-like message, and when it succeeds, join then split gives the same
 * words back, as does split(quote(word)) for each word. */
#include "fuzz.h"
#include "subproc.h"

static void check_words(char **argv) {
  char *line = subproc_join((const char *const *)argv);
  FUZZ_CHECK(line != NULL);
  char **again;
  FUZZ_CHECK(subproc_split(line, &again, NULL, NULL) == 0);
  FUZZ_CHECK(
      fuzz_argv_equal((const char *const *)argv, (const char *const *)again));
  subproc_buffer_free(again);
  subproc_buffer_free(line);
  for (size_t i = 0; argv[i]; i++) {
    char *q = subproc_quote(argv[i]);
    FUZZ_CHECK(q != NULL);
    size_t n;
    FUZZ_CHECK(subproc_split(q, &again, &n, NULL) == 0);
    FUZZ_CHECK(n == 1 && strcmp(again[0], argv[i]) == 0);
    subproc_buffer_free(again);
    subproc_buffer_free(q);
  }
}

static void check_error(const char *s, char **argv, const subproc_error *e) {
  FUZZ_CHECK(argv == NULL);
  FUZZ_CHECK(e->code == SUBPROC_EINVAL);
  FUZZ_CHECK(strstr(e->message, "No closing quotation") ||
             strstr(e->message, "No escaped character"));
  FUZZ_CHECK(e->offset >= 0 && (size_t)e->offset < strlen(s));
  FUZZ_CHECK(strchr("'\"\\", s[e->offset]) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = fuzz_cstr(data, size);
  char **argv = NULL;
  size_t n = 0;
  subproc_error e;
  int rc = subproc_split(s, &argv, &n, &e);
  if (rc == 0) {
    FUZZ_CHECK(argv[n] == NULL);
    check_words(argv);
  } else {
    FUZZ_CHECK(rc == SUBPROC_EINVAL);
    check_error(s, argv, &e);
  }
  subproc_buffer_free(argv);
  free(s);
  return 0;
}
