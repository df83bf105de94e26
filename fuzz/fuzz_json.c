/* libFuzzer target for the subproc tool's JSON writer (tools/json.c).
 * Whatever the bytes, the output must be valid JSON (checked by a small
 * independent validator below), a valid-UTF-8 input must come back
 * unchanged, and any other input must come back exactly through the
 * base64 field. */
#include "fuzz.h"

#include <math.h>

#include "json.h"

typedef struct cursor {
  const unsigned char *p, *end;
} cursor;

typedef struct sink {
  unsigned char *data; /* NULL: validate only */
  size_t len;
} sink;

/* Independent of json.c: decode the code point, then reject overlongs,
 * surrogates and values beyond U+10FFFF. Returns the length or 0. */
static size_t decode_utf8(const unsigned char *s, size_t n, unsigned long *cp) {
  static const unsigned long min[] = {0, 0, 0x80, 0x800, 0x10000};
  size_t len = s[0] < 0x80         ? 1
               : (s[0] >> 5) == 6  ? 2
               : (s[0] >> 4) == 14 ? 3
               : (s[0] >> 3) == 30 ? 4
                                   : 0;
  size_t i;
  if (!len || len > n)
    return 0;
  *cp = len == 1 ? s[0] : s[0] & (0x7Fu >> len);
  for (i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80)
      return 0;
    *cp = (*cp << 6) | (s[i] & 0x3F);
  }
  if (*cp < min[len] || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF))
    return 0;
  return len;
}

static int independent_utf8_valid(const unsigned char *s, size_t n) {
  unsigned long cp;
  size_t i = 0, k;
  while (i < n) {
    if (!(k = decode_utf8(s + i, n - i, &cp)))
      return 0;
    i += k;
  }
  return 1;
}

static void emit(sink *o, unsigned long cp) {
  unsigned char *d;
  if (!o->data)
    return;
  d = o->data + o->len;
  if (cp < 0x80) {
    d[0] = (unsigned char)cp;
    o->len += 1;
  } else if (cp < 0x800) {
    d[0] = (unsigned char)(0xC0 | (cp >> 6));
    d[1] = (unsigned char)(0x80 | (cp & 0x3F));
    o->len += 2;
  } else if (cp < 0x10000) {
    d[0] = (unsigned char)(0xE0 | (cp >> 12));
    d[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    d[2] = (unsigned char)(0x80 | (cp & 0x3F));
    o->len += 3;
  } else {
    d[0] = (unsigned char)(0xF0 | (cp >> 18));
    d[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    d[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    d[3] = (unsigned char)(0x80 | (cp & 0x3F));
    o->len += 4;
  }
}

static void skip_ws(cursor *c) {
  while (c->p < c->end &&
         (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
    c->p++;
}

static int hex4(cursor *c, unsigned long *v) {
  int i;
  *v = 0;
  if (c->end - c->p < 4)
    return 0;
  for (i = 0; i < 4; i++, c->p++) {
    unsigned char h = *c->p;
    int d = h >= '0' && h <= '9'   ? h - '0'
            : h >= 'a' && h <= 'f' ? h - 'a' + 10
            : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                   : -1;
    if (d < 0)
      return 0;
    *v = (*v << 4) | (unsigned long)d;
  }
  return 1;
}

/* After the backslash of \uXXXX: a lone surrogate is invalid. */
static int parse_u_escape(cursor *c, sink *o) {
  unsigned long hi, lo;
  if (!hex4(c, &hi))
    return 0;
  if (hi >= 0xDC00 && hi <= 0xDFFF)
    return 0;
  if (hi >= 0xD800 && hi <= 0xDBFF) {
    if (c->end - c->p < 2 || c->p[0] != '\\' || c->p[1] != 'u')
      return 0;
    c->p += 2;
    if (!hex4(c, &lo) || lo < 0xDC00 || lo > 0xDFFF)
      return 0;
    hi = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
  }
  emit(o, hi);
  return 1;
}

static int parse_escape(cursor *c, sink *o) {
  static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
  const char *e;
  if (c->p >= c->end)
    return 0;
  if (*c->p == 'u') {
    c->p++;
    return parse_u_escape(c, o);
  }
  e = memchr(from, *c->p, sizeof from - 1);
  if (!e)
    return 0;
  c->p++;
  emit(o, (unsigned char)to[e - from]);
  return 1;
}

static int parse_string(cursor *c, sink *o) {
  unsigned long cp;
  size_t k;
  if (c->p >= c->end || *c->p++ != '"')
    return 0;
  while (c->p < c->end && *c->p != '"') {
    if (*c->p == '\\') {
      c->p++;
      if (!parse_escape(c, o))
        return 0;
      continue;
    }
    if (*c->p < 0x20 || !(k = decode_utf8(c->p, (size_t)(c->end - c->p), &cp)))
      return 0;
    emit(o, cp);
    c->p += k;
  }
  if (c->p >= c->end)
    return 0;
  c->p++;
  return 1;
}

static int digits(cursor *c) {
  const unsigned char *start = c->p;
  while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
    c->p++;
  return c->p > start;
}

static int parse_number(cursor *c) {
  if (c->p < c->end && *c->p == '-')
    c->p++;
  if (c->p < c->end && *c->p == '0')
    c->p++;
  else if (!digits(c))
    return 0;
  if (c->p < c->end && *c->p == '.') {
    c->p++;
    if (!digits(c))
      return 0;
  }
  if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
    c->p++;
    if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
      c->p++;
    if (!digits(c))
      return 0;
  }
  return 1;
}

static int parse_literal(cursor *c, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
    return 0;
  c->p += n;
  return 1;
}

static int parse_value(cursor *c, int depth);

static int parse_members(cursor *c, int depth, char close, int object) {
  sink none = {NULL, 0};
  skip_ws(c);
  if (c->p < c->end && *c->p == close) {
    c->p++;
    return 1;
  }
  for (;;) {
    if (object) {
      if (!parse_string(c, &none))
        return 0;
      skip_ws(c);
      if (c->p >= c->end || *c->p++ != ':')
        return 0;
    }
    if (!parse_value(c, depth + 1))
      return 0;
    skip_ws(c);
    if (c->p >= c->end)
      return 0;
    if (*c->p == close) {
      c->p++;
      return 1;
    }
    if (*c->p++ != ',')
      return 0;
    skip_ws(c);
  }
}

static int parse_value(cursor *c, int depth) {
  sink none = {NULL, 0};
  skip_ws(c);
  if (c->p >= c->end || depth > 64)
    return 0;
  switch (*c->p) {
  case '{':
    c->p++;
    return parse_members(c, depth, '}', 1);
  case '[':
    c->p++;
    return parse_members(c, depth, ']', 0);
  case '"':
    return parse_string(c, &none);
  case 't':
    return parse_literal(c, "true");
  case 'f':
    return parse_literal(c, "false");
  case 'n':
    return parse_literal(c, "null");
  default:
    return parse_number(c);
  }
}

static int contains_fffd(const unsigned char *s, size_t n) {
  size_t i;
  for (i = 0; i + 3 <= n; i++)
    if (s[i] == 0xEF && s[i + 1] == 0xBF && s[i + 2] == 0xBD)
      return 1;
  return 0;
}

static int b64_value(unsigned char ch) {
  static const char b64[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const char *at = ch ? memchr(b64, ch, 64) : NULL;
  return at ? (int)(at - b64) : -1;
}

/* Strict: length a multiple of 4, '=' only as padding. */
static int base64_decode(const unsigned char *s, size_t n, sink *o) {
  size_t i;
  if (n % 4)
    return 0;
  for (i = 0; i < n; i += 4) {
    int last = i + 4 == n;
    int pad = (s[i + 3] == '=') + (s[i + 2] == '=' && s[i + 3] == '=');
    int a = b64_value(s[i]), b = b64_value(s[i + 1]);
    int c = pad > 1 ? 0 : b64_value(s[i + 2]),
        d = pad ? 0 : b64_value(s[i + 3]);
    unsigned long v;
    if (a < 0 || b < 0 || c < 0 || d < 0 || (pad && !last))
      return 0;
    v = ((unsigned long)a << 18) | ((unsigned long)b << 12) |
        ((unsigned long)c << 6) | (unsigned long)d;
    o->data[o->len++] = (unsigned char)(v >> 16);
    if (pad < 2)
      o->data[o->len++] = (unsigned char)(v >> 8);
    if (pad < 1)
      o->data[o->len++] = (unsigned char)v;
  }
  return 1;
}

/* Parses the top-level object the harness wrote, keeping the decoded
 * values of "k" and "k_base64"; key is scratch space as large as the text. */
static void parse_top(cursor *c, sink *key, sink *k, sink *k64) {
  skip_ws(c);
  FUZZ_CHECK(c->p < c->end && *c->p++ == '{');
  do {
    skip_ws(c);
    key->len = 0;
    FUZZ_CHECK(parse_string(c, key));
    skip_ws(c);
    FUZZ_CHECK(c->p < c->end && *c->p++ == ':');
    skip_ws(c);
    if (key->len == 1 && key->data[0] == 'k')
      FUZZ_CHECK(parse_string(c, k));
    else if (key->len == 8 && memcmp(key->data, "k_base64", 8) == 0)
      FUZZ_CHECK(parse_string(c, k64));
    else
      FUZZ_CHECK(parse_value(c, 1));
    skip_ws(c);
    FUZZ_CHECK(c->p < c->end);
  } while (*c->p++ == ',');
  FUZZ_CHECK(c->p[-1] == '}');
  skip_ws(c);
  FUZZ_CHECK(c->p == c->end);
}

static void write_sample(cli_json *j, const uint8_t *data, size_t size) {
  char key[24];
  size_t keylen = size < sizeof key - 1 ? size : sizeof key - 1;
  memcpy(key, data, keylen);
  key[keylen] = '\0';
  cli_json_open(j, '{');
  cli_json_bytes(j, "k", (const char *)data, size);
  cli_json_key(j, key[0] == 'k' ? "x" : key);
  cli_json_open(j, '[');
  cli_json_int(j, (long long)size - 1000);
  cli_json_double(j, size ? (double)data[0] / 7.0 : HUGE_VAL);
  cli_json_bool(j, (int)(size & 1));
  cli_json_null(j);
  cli_json_cstring(j, key);
  cli_json_open(j, '{');
  cli_json_close(j, '}');
  cli_json_close(j, ']');
  cli_json_bytes(j, "none", NULL, 0);
  cli_json_close(j, '}');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cli_json j;
  cursor c;
  sink key = {NULL, 0}, k = {NULL, 0}, k64 = {NULL, 0}, raw = {NULL, 0};
  int valid = independent_utf8_valid(data, size);
  FUZZ_CHECK(valid == cli_utf8_valid((const char *)data, size));
  cli_json_init(&j);
  write_sample(&j, data, size);
  FUZZ_CHECK(!j.failed && j.data && strlen(j.data) == j.len);
  k.data = fuzz_alloc(j.len);
  k64.data = fuzz_alloc(j.len);
  raw.data = fuzz_alloc(j.len);
  key.data = fuzz_alloc(j.len);
  c.p = (const unsigned char *)j.data;
  c.end = c.p + j.len;
  parse_top(&c, &key, &k, &k64);
  if (valid) {
    FUZZ_CHECK(k.len == size && memcmp(k.data, data, size) == 0 && !k64.len);
  } else {
    FUZZ_CHECK(base64_decode(k64.data, k64.len, &raw));
    FUZZ_CHECK(raw.len == size && memcmp(raw.data, data, size) == 0);
    FUZZ_CHECK(contains_fffd(k.data, k.len));
  }
  free(k.data);
  free(k64.data);
  free(raw.data);
  free(key.data);
  cli_json_free(&j);
  return 0;
}
