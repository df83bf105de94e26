/* The tool's JSON writer: one growable buffer, no recursion, no locale. */
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cli_json_init(cli_json *j) { memset(j, 0, sizeof *j); }

void cli_json_free(cli_json *j) {
  free(j->data);
  cli_json_init(j);
}

static int reserve(cli_json *j, size_t extra) {
  size_t cap = j->cap ? j->cap : 256;
  char *p;
  if (j->failed)
    return -1;
  if (extra < j->cap - j->len)
    return 0;
  while (extra >= cap - j->len) {
    if (cap > ((size_t)-1) / 2)
      goto fail;
    cap *= 2;
  }
  p = realloc(j->data, cap);
  if (!p)
    goto fail;
  j->data = p;
  j->cap = cap;
  return 0;
fail:
  j->failed = 1;
  return -1;
}

static void put(cli_json *j, const void *p, size_t n) {
  if (n == 0 || reserve(j, n) < 0)
    return;
  memcpy(j->data + j->len, p, n);
  j->len += n;
  j->data[j->len] = '\0';
}

static void putc_(cli_json *j, char c) { put(j, &c, 1); }

/* Every value and key starts here: the comma goes between siblings. */
static void begin_value(cli_json *j) {
  if (j->need_comma)
    putc_(j, ',');
  j->need_comma = 0;
}

void cli_json_open(cli_json *j, char bracket) {
  begin_value(j);
  putc_(j, bracket);
}

void cli_json_close(cli_json *j, char bracket) {
  putc_(j, bracket);
  j->need_comma = 1;
}

void cli_json_key(cli_json *j, const char *key) {
  cli_json_string(j, key, strlen(key));
  putc_(j, ':');
  j->need_comma = 0;
}

/*
 * Length of the well-formed UTF-8 sequence at s (1 to 4), or 0 when it is
 * ill-formed; *bad then receives the length of its maximal subpart, the
 * bytes that one U+FFFD replaces (Unicode's recommended practice, which is
 * also what Python's errors="replace" does).
 */
static size_t utf8_seq(const unsigned char *s, size_t n, size_t *bad) {
  unsigned char c = s[0], lo = 0x80, hi = 0xBF;
  size_t need, i;
  if (c < 0x80)
    return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    need = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 3;
    lo = c == 0xE0 ? 0xA0 : 0x80; /* overlong */
    hi = c == 0xED ? 0x9F : 0xBF; /* surrogates */
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 4;
    lo = c == 0xF0 ? 0x90 : 0x80; /* overlong */
    hi = c == 0xF4 ? 0x8F : 0xBF; /* beyond U+10FFFF */
  } else {
    *bad = 1;
    return 0;
  }
  for (i = 1; i < need; i++) {
    if (i >= n || s[i] < lo || s[i] > hi) {
      *bad = i;
      return 0;
    }
    lo = 0x80;
    hi = 0xBF;
  }
  return need;
}

int cli_utf8_valid(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0, bad;
  while (i < n) {
    size_t k = utf8_seq(p + i, n - i, &bad);
    if (!k)
      return 0;
    i += k;
  }
  return 1;
}

static void put_escape(cli_json *j, unsigned char c) {
  static const char hex[] = "0123456789abcdef";
  char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
  switch (c) {
  case '"':
    put(j, "\\\"", 2);
    return;
  case '\\':
    put(j, "\\\\", 2);
    return;
  case '\n':
    put(j, "\\n", 2);
    return;
  case '\r':
    put(j, "\\r", 2);
    return;
  case '\t':
    put(j, "\\t", 2);
    return;
  default:
    put(j, e, sizeof e);
  }
}

/* Copies runs of bytes that need no escape with one put() each. */
static void put_string_body(cli_json *j, const unsigned char *s, size_t n) {
  size_t i = 0, run = 0, k, bad = 1;
  while (i < n) {
    unsigned char c = s[i];
    if (c >= 0x80 && (k = utf8_seq(s + i, n - i, &bad)) != 0) {
      i += k;
      continue;
    }
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      i++;
      continue;
    }
    put(j, s + run, i - run);
    if (c < 0x80) {
      put_escape(j, c);
      i++;
    } else {
      put(j, "\xef\xbf\xbd", 3); /* U+FFFD */
      i += bad;
    }
    run = i;
  }
  put(j, s + run, i - run);
}

void cli_json_string(cli_json *j, const char *s, size_t n) {
  begin_value(j);
  putc_(j, '"');
  put_string_body(j, (const unsigned char *)s, n);
  putc_(j, '"');
  j->need_comma = 1;
}

void cli_json_cstring(cli_json *j, const char *s) {
  if (s)
    cli_json_string(j, s, strlen(s));
  else
    cli_json_null(j);
}

static void put_literal(cli_json *j, const char *text) {
  begin_value(j);
  put(j, text, strlen(text));
  j->need_comma = 1;
}

void cli_json_int(cli_json *j, long long v) {
  char buf[32];
  snprintf(buf, sizeof buf, "%lld", v);
  put_literal(j, buf);
}

/* JSON has no NaN or infinity: those become null. */
void cli_json_double(cli_json *j, double v) {
  char buf[64];
  if (v != v || v - v != 0) { /* NaN or infinite (isfinite trips mingw) */
    put_literal(j, "null");
    return;
  }
  snprintf(buf, sizeof buf, "%.6f", v);
  put_literal(j, buf);
}

void cli_json_bool(cli_json *j, int v) { put_literal(j, v ? "true" : "false"); }

void cli_json_null(cli_json *j) { put_literal(j, "null"); }

static void base64_quad(char out[4], const unsigned char *p, size_t n) {
  static const char b64[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  unsigned long v = (unsigned long)p[0] << 16;
  if (n > 1)
    v |= (unsigned long)p[1] << 8;
  if (n > 2)
    v |= p[2];
  out[0] = b64[(v >> 18) & 63];
  out[1] = b64[(v >> 12) & 63];
  out[2] = n > 1 ? b64[(v >> 6) & 63] : '=';
  out[3] = n > 2 ? b64[v & 63] : '=';
}

void cli_json_base64(cli_json *j, const void *p, size_t n) {
  const unsigned char *s = p;
  size_t i;
  begin_value(j);
  putc_(j, '"');
  if (n / 3 >= ((size_t)-1) / 4 - 1 || reserve(j, (n / 3 + 1) * 4 + 2) < 0)
    j->failed = 1;
  for (i = 0; i < n && !j->failed; i += 3) {
    char quad[4];
    base64_quad(quad, s + i, n - i);
    put(j, quad, 4);
  }
  putc_(j, '"');
  j->need_comma = 1;
}

void cli_json_bytes(cli_json *j, const char *key, const char *s, size_t n) {
  char key64[128];
  cli_json_key(j, key);
  if (!s) {
    cli_json_null(j);
    return;
  }
  cli_json_string(j, s, n);
  if (cli_utf8_valid(s, n))
    return;
  snprintf(key64, sizeof key64, "%s_base64", key);
  cli_json_key(j, key64);
  cli_json_base64(j, s, n);
}
