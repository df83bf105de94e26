/* Growable byte buffer used for captured output and string building. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int subproc__buf_reserve(subproc__buf *b, size_t extra) {
  if (extra > ((size_t)-1) / 2 - b->len)
    return -ENOMEM;
  size_t need = b->len + extra + 1; /* room for the NUL */
  if (need <= b->cap)
    return 0;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need)
    cap *= 2;
  char *p = realloc(b->data, cap);
  if (!p)
    return -ENOMEM;
  b->data = p;
  b->cap = cap;
  return 0;
}

int subproc__buf_append(subproc__buf *b, const void *p, size_t n) {
  int rc = subproc__buf_reserve(b, n);
  if (rc < 0)
    return rc;
  if (n)
    memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

int subproc__buf_putc(subproc__buf *b, char c) {
  return subproc__buf_append(b, &c, 1);
}

char *subproc__buf_take(subproc__buf *b, size_t *len) {
  if (!b->data && subproc__buf_reserve(b, 0) < 0)
    return NULL;
  b->data[b->len] = '\0';
  char *p = b->data;
  if (len)
    *len = b->len;
  b->data = NULL;
  b->len = b->cap = 0;
  return p;
}

void subproc__buf_free(subproc__buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

void subproc_buffer_free(void *buf) { free(buf); }

size_t subproc__argv_len(const char *const *argv) {
  size_t n = 0;
  while (argv && argv[n])
    n++;
  return n;
}

char **subproc__argv_dup(const char *const *argv) {
  size_t n = subproc__argv_len(argv), bytes = (n + 1) * sizeof(char *);
  for (size_t i = 0; i < n; i++)
    bytes += strlen(argv[i]) + 1;
  char **out = malloc(bytes);
  if (!out)
    return NULL;
  char *s = (char *)(out + n + 1);
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(argv[i]) + 1;
    memcpy(s, argv[i], len);
    out[i] = s;
    s += len;
  }
  out[n] = NULL;
  return out;
}
