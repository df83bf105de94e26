/* Hex decoding, shared by the helper program and the tests. */
#ifndef SUBPROC_TEST_HEX_H
#define SUBPROC_TEST_HEX_H

#include <stddef.h>

static inline int hex_digit(char c) {
  return c >= '0' && c <= '9'   ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                : -1;
}

/* Decodes the pairs of hex digits at h, up to the first character that is
 * not one (the end, '\n'), into out; returns the number of bytes written
 * and sets *end (if not NULL) just past the last pair. */
static inline size_t hex_decode(const char *h, char *out, const char **end) {
  size_t n = 0;
  while (hex_digit(h[0]) >= 0 && hex_digit(h[1]) >= 0) {
    out[n++] = (char)(hex_digit(h[0]) << 4 | hex_digit(h[1]));
    h += 2;
  }
  if (end)
    *end = h;
  return n;
}

#endif
