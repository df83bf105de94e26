/* The system's converters between UTF-8 and the other encodings of text
 * mode: iconv on POSIX (src/posix/codec.c), the code page API on Windows
 * (src/windows/codec.c). src/text.c owns the names, the error handlers and
 * the newlines; a converter only converts and says where and why it
 * stopped. */
#ifndef SUBPROC_CODEC_H
#define SUBPROC_CODEC_H

#include <stddef.h>

#include "internal.h"

/* An encoding as src/text.c resolved its name: "latin-1" is ISO-8859-1,
 * code page 28591, unit 1. */
typedef struct subproc__charset {
  char name[64]; /* what iconv calls it */
  unsigned cp;   /* its Windows code page, 0 if it has none */
  int unit;      /* bytes in a code unit: 1, 2 (UTF-16) or 4 (UTF-32) */
} subproc__charset;

typedef struct subproc__codec subproc__codec;

/* Why a conversion stopped, at in + used. */
enum {
  SUBPROC__CODEC_DONE,  /* all of the input converted */
  SUBPROC__CODEC_BAD,   /* bytes it cannot decode (see bad and why), or a
                           character it cannot encode */
  SUBPROC__CODEC_SHORT, /* the input ends inside a sequence */
  SUBPROC__CODEC_LOSSY  /* all of it converted, some of it inexactly
                           (musl's iconv writes '*' for what it lacks) */
};

typedef struct subproc__codec_stop {
  size_t used;     /* the input converted */
  size_t bad;      /* decoding, at SUBPROC__CODEC_BAD: how many are bad */
  const char *why; /* and Python's reason for them */
} subproc__codec_stop;

/* A converter from cs to UTF-8 (to_utf8) or from UTF-8 to cs. Returns 0,
 * -EINVAL when the system does not know cs, or -ENOMEM. */
int subproc__codec_open(const subproc__charset *cs, int to_utf8,
                        subproc__codec **out);
/* Appends the conversion of in[0..n) to out and returns one of the above,
 * or -ENOMEM. Encoding, in is well-formed UTF-8 without surrogates. */
int subproc__codec_convert(subproc__codec *c, const unsigned char *in, size_t n,
                           subproc__buf *out, subproc__codec_stop *stop);
/* Ends the stream: writes what a stateful encoding held back and returns
 * to the initial state. 0 or -ENOMEM. */
int subproc__codec_flush(subproc__codec *c, subproc__buf *out);
void subproc__codec_close(subproc__codec *c); /* NULL is fine */

/* The locale's encoding as the system names it, NULL when it does not say;
 * the next call or setlocale() may change the string. */
const char *subproc__codec_locale(void);

#endif
