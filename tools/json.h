/* A small JSON writer for the subproc tool: correct for any bytes. */
#ifndef CLI_JSON_H
#define CLI_JSON_H

#include <stddef.h>

/* A JSON text built in memory. After an allocation failure every write is
 * ignored and `failed` stays set, so callers check once at the end. */
typedef struct cli_json {
  char *data; /* NUL-terminated when not NULL */
  size_t len, cap;
  int need_comma;
  int failed;
} cli_json;

void cli_json_init(cli_json *j);
void cli_json_free(cli_json *j);

/* Containers: '{' / '}' or '[' / ']'. */
void cli_json_open(cli_json *j, char bracket);
void cli_json_close(cli_json *j, char bracket);
/* An object key; the next call writes its value. */
void cli_json_key(cli_json *j, const char *key);

/* Values. A string is any n bytes: control characters, quote and
 * backslash are escaped, valid UTF-8 passes through and each ill-formed
 * sequence becomes U+FFFD (as Python's errors="replace" does). */
void cli_json_string(cli_json *j, const char *s, size_t n);
void cli_json_cstring(cli_json *j, const char *s);
void cli_json_int(cli_json *j, long long v);
void cli_json_double(cli_json *j, double v);
void cli_json_bool(cli_json *j, int v);
void cli_json_null(cli_json *j);
/* The bytes as a base64 (RFC 4648, padded) string. */
void cli_json_base64(cli_json *j, const void *p, size_t n);

/*
 * "key": the bytes as a string (null when s is NULL) and, only when they
 * are not valid UTF-8, "key_base64": the exact bytes, so nothing is lost.
 */
void cli_json_bytes(cli_json *j, const char *key, const char *s, size_t n);

/* 1 when the n bytes are well-formed UTF-8 (RFC 3629), else 0. */
int cli_utf8_valid(const char *s, size_t n);

#endif
