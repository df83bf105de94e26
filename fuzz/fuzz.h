/* Shared by the fuzz targets (fuzz/fuzz_*.c) and fuzz/replay_main.c.
 * A target defines LLVMFuzzerTestOneInput and reports a broken property
 * with FUZZ_CHECK, which aborts so that libFuzzer keeps the input. */
#ifndef SUBPROC_FUZZ_H
#define SUBPROC_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                                 \
    }                                                                          \
  } while (0)

static inline void *fuzz_alloc(size_t size) {
  void *p = malloc(size ? size : 1);
  FUZZ_CHECK(p != NULL);
  return p;
}

/* The input as a C string: it ends at the first NUL byte, if any. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size) {
  char *s = fuzz_alloc(size + 1);
  if (size)
    memcpy(s, data, size);
  s[size] = '\0';
  return s;
}

/* The input cut at its NUL bytes into a NULL-terminated argv in one block
 * (free it once): "" gives no argument, "a" one, "a\0" two ("a", ""). */
static inline char **fuzz_argv(const uint8_t *data, size_t size, size_t *n) {
  size_t count = 0;
  for (size_t i = 0; i < size; i++)
    count += data[i] == 0;
  count += size > 0;
  char **argv = fuzz_alloc((count + 1) * sizeof(char *) + size + 1);
  char *text = (char *)(argv + count + 1);
  if (size)
    memcpy(text, data, size);
  text[size] = '\0';
  for (size_t i = 0; i < count; i++) {
    argv[i] = text;
    text += strlen(text) + 1;
  }
  argv[count] = NULL;
  *n = count;
  return argv;
}

static inline int fuzz_argv_equal(const char *const *a, const char *const *b) {
  size_t i = 0;
  for (; a[i] && b[i]; i++)
    if (strcmp(a[i], b[i]) != 0)
      return 0;
  return !a[i] && !b[i];
}

#endif
