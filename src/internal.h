/* Internal interfaces shared by the portable core and the backends.
 * Every non-static name here starts with subproc__. */
#ifndef SUBPROC_INTERNAL_H
#define SUBPROC_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>

#include "subproc.h"

#if defined(__GNUC__)
#define SUBPROC__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define SUBPROC__PRINTF(f, a)
#endif

/* ---- growable byte buffer (always NUL-terminated when data != NULL) ---- */
typedef struct subproc__buf {
  char *data;
  size_t len, cap;
} subproc__buf;

/* 0 or -ENOMEM. */
int subproc__buf_reserve(subproc__buf *b, size_t extra);
int subproc__buf_append(subproc__buf *b, const void *p, size_t n);
int subproc__buf_putc(subproc__buf *b, char c);
/* Hands the data over (never NULL on success: "" for an empty buffer). */
char *subproc__buf_take(subproc__buf *b, size_t *len);
void subproc__buf_free(subproc__buf *b);

/* ---- errors ---- */
/* Fill err (if not NULL) and return code. path may be NULL, fd -1.
 * The message is "<fmt...>" when fmt is given, else built from step, path
 * and the code: "chdir '/nope': No such file or directory". */
int subproc__fail(subproc_error *err, int code, int os_errno, const char *step,
                  const char *path, int fd, const char *fmt, ...)
    SUBPROC__PRINTF(7, 8);
/* The same with a ready message built from step/path/os_errno. */
int subproc__fail_os(subproc_error *err, int os_errno, const char *step,
                     const char *path, int fd);
void subproc__error_clear(subproc_error *err);

/* ---- monotonic clock and deadlines ---- */
double subproc__now(void);
/* Milliseconds left until deadline for poll(); -1 when deadline < 0. */
int subproc__ms_left(double deadline);

/* ---- text mode (src/text.c) ---- */
typedef struct subproc__decoder subproc__decoder;
/* encoding NULL = the locale's; errors NULL = "strict". Returns 0,
 * SUBPROC_EINVAL (unknown encoding or errors mode) or -ENOMEM. */
int subproc__decoder_new(const char *encoding, const char *errors,
                         int universal_newlines, subproc__decoder **out,
                         subproc_error *err);
/* Decode len bytes (a chunk may end inside a character or between \r and
 * \n) and append UTF-8 to out; final = 1 flushes at EOF. Returns 0,
 * SUBPROC_EDECODE (errors=strict; err->offset = byte offset in the whole
 * stream) or -ENOMEM. */
int subproc__decoder_feed(subproc__decoder *d, const char *in, size_t len,
                          int final, subproc__buf *out, subproc_error *err);
void subproc__decoder_free(subproc__decoder *d);
/* Encode UTF-8 input to encoding (NULL = locale) for a child's stdin. */
int subproc__encode(const char *encoding, const char *errors, const char *in,
                    size_t len, subproc__buf *out, subproc_error *err);
/* The locale's encoding as Python sees it (ASCII "C" locale -> UTF-8). */
const char *subproc__locale_encoding(void);

/* ---- environment ---- */
/* Validates "NAME=VALUE" entries: '=' present, name not empty. */
int subproc__env_validate(const char *const *env, subproc_error *err);

#endif
