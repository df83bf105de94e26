/* A small JSON writer for the subproc tool: correct for any bytes. */
#ifndef SUBPROC_TOOL_JSON_H
#define SUBPROC_TOOL_JSON_H

#include <stddef.h>

/* A JSON text built in memory. After an allocation failure every write is
 * ignored and `failed` stays set, so callers check once at the end. */
typedef struct subproc_tool_json {
  char *data; /* NUL-terminated when not NULL */
  size_t len, cap;
  int need_comma;
  int failed;
} subproc_tool_json;

void subproc_tool_json_init(subproc_tool_json *j);
void subproc_tool_json_free(subproc_tool_json *j);

/* Containers: '{' / '}' or '[' / ']'. */
void subproc_tool_json_open(subproc_tool_json *j, char bracket);
void subproc_tool_json_close(subproc_tool_json *j, char bracket);
/* An object key; the next call writes its value. */
void subproc_tool_json_key(subproc_tool_json *j, const char *key);

/* Values. A string is any n bytes: control characters, quote and
 * backslash are escaped, valid UTF-8 passes through and each ill-formed
 * sequence becomes U+FFFD (as Python's errors="replace" does). */
void subproc_tool_json_string(subproc_tool_json *j, const char *s, size_t n);
void subproc_tool_json_cstring(subproc_tool_json *j, const char *s);
void subproc_tool_json_int(subproc_tool_json *j, long long v);
void subproc_tool_json_double(subproc_tool_json *j, double v);
void subproc_tool_json_bool(subproc_tool_json *j, int v);
void subproc_tool_json_null(subproc_tool_json *j);
/* The bytes as a base64 (RFC 4648, padded) string. */
void subproc_tool_json_base64(subproc_tool_json *j, const void *p, size_t n);

/*
 * "key": the bytes as a string (null when s is NULL) and, only when they
 * are not valid UTF-8, "key_base64": the exact bytes, so nothing is lost.
 */
void subproc_tool_json_bytes(subproc_tool_json *j, const char *key,
                             const char *s, size_t n);

/* 1 when the n bytes are well-formed UTF-8 (RFC 3629), else 0. */
int subproc_tool_utf8_valid(const char *s, size_t n);

#endif
