/* Text mode's converters on POSIX: iconv, and nl_langinfo for the locale's
 * encoding. Without iconv, only UTF-8 (which src/text.c handles) exists. */
#include "subproc_config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#if defined(HAVE_ICONV_H)
#include <iconv.h>
#endif
#if defined(HAVE_NL_LANGINFO)
#include <langinfo.h>
#include <locale.h>
#endif

#include "codec.h"

#if defined(HAVE_ICONV_H)
struct subproc__codec {
  iconv_t cd;
  int unit;
};

int subproc__codec_open(const subproc__charset *cs, int to_utf8,
                        subproc__codec **out) {
  subproc__codec *c = malloc(sizeof *c);
  if (!c)
    return -ENOMEM;
  c->cd =
      to_utf8 ? iconv_open("UTF-8", cs->name) : iconv_open(cs->name, "UTF-8");
  if (c->cd == (iconv_t)-1) {
    int e = errno;
    free(c);
    return e == ENOMEM ? -ENOMEM : -EINVAL;
  }
  c->unit = cs->unit;
  *out = c;
  return 0;
}

/* Converts in[0..n) onto out (in NULL: the shift back to the initial
 * state). Returns 0 when all of it went through, else errno (EILSEQ,
 * EINVAL) with *used set; *irreversible counts what iconv converted
 * lossily. */
static int iconv_run(iconv_t cd, const unsigned char *in, size_t n,
                     subproc__buf *out, size_t *used, size_t *irreversible) {
  char *ip = (char *)(uintptr_t)in;
  size_t il = n;
  *used = 0;
  *irreversible = 0;
  for (;;) {
    if (subproc__buf_reserve(out, il + il / 2 + 16) < 0)
      return ENOMEM;
    char *op = out->data + out->len;
    size_t ol = out->cap - out->len - 1;
    size_t r = iconv(cd, in ? &ip : NULL, &il, &op, &ol);
    int e = errno;
    out->len = (size_t)(op - out->data);
    out->data[out->len] = '\0';
    *used = n - il;
    if (r != (size_t)-1) {
      *irreversible = r;
      return 0;
    }
    if (e != E2BIG)
      return e;
  }
}

int subproc__codec_convert(subproc__codec *c, const unsigned char *in, size_t n,
                           subproc__buf *out, subproc__codec_stop *stop) {
  size_t lossy;
  int e = iconv_run(c->cd, in, n, out, &stop->used, &lossy);
  if (e == 0)
    return lossy ? SUBPROC__CODEC_LOSSY : SUBPROC__CODEC_DONE;
  if (e == ENOMEM)
    return -ENOMEM;
  if (e == EINVAL)
    return SUBPROC__CODEC_SHORT;
  size_t left = n - stop->used;
  stop->bad = left < (size_t)c->unit ? left : (size_t)c->unit;
  stop->why = "invalid or unmappable byte sequence";
  return SUBPROC__CODEC_BAD;
}

int subproc__codec_flush(subproc__codec *c, subproc__buf *out) {
  size_t used, lossy;
  return iconv_run(c->cd, NULL, 0, out, &used, &lossy) == ENOMEM ? -ENOMEM : 0;
}

void subproc__codec_close(subproc__codec *c) {
  if (!c)
    return;
  iconv_close(c->cd);
  free(c);
}
#else
int subproc__codec_open(const subproc__charset *cs, int to_utf8,
                        subproc__codec **out) {
  (void)cs, (void)to_utf8, (void)out;
  return -EINVAL;
}

int subproc__codec_convert(subproc__codec *c, const unsigned char *in, size_t n,
                           subproc__buf *out, subproc__codec_stop *stop) {
  (void)c, (void)in, (void)n, (void)out, (void)stop;
  return -EINVAL;
}

int subproc__codec_flush(subproc__codec *c, subproc__buf *out) {
  (void)c, (void)out;
  return 0;
}

void subproc__codec_close(subproc__codec *c) { (void)c; }
#endif

const char *subproc__codec_locale(void) {
#if defined(HAVE_NL_LANGINFO) && defined(LC_GLOBAL_LOCALE)
  /* A thread with its own uselocale() locale is asked about that one. */
  locale_t loc = uselocale((locale_t)0);
  return loc == LC_GLOBAL_LOCALE ? nl_langinfo(CODESET)
                                 : nl_langinfo_l(CODESET, loc);
#elif defined(HAVE_NL_LANGINFO)
  return nl_langinfo(CODESET);
#else
  return NULL;
#endif
}
