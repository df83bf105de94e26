/* Text mode's converters on Windows: the code page API, UTF-16LE by hand
 * (code page 1200 exists only for managed code), and the ANSI code page as
 * the locale's encoding. */
#include <windows.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

#define CP_UTF16LE 1200

struct subproc__codec {
  unsigned cp;
  int to_utf8;
};

int subproc__codec_open(const subproc__charset *cs, int to_utf8,
                        subproc__codec **out) {
  if (cs->cp != CP_UTF16LE && !(cs->cp && IsValidCodePage(cs->cp)))
    return -EINVAL;
  subproc__codec *c = malloc(sizeof *c);
  if (!c)
    return -ENOMEM;
  c->cp = cs->cp;
  c->to_utf8 = to_utf8;
  *out = c;
  return 0;
}

/* Code pages that reject the error-detection flags. */
static int plain_cp(unsigned cp) {
  return cp == 42 || cp == 54936 || (cp >= 50220 && cp <= 50229) ||
         (cp >= 57002 && cp <= 57011) || cp >= 65000;
}

/* ---- decoding ---- */

static int wide_to_utf8(const wchar_t *w, size_t nw, subproc__buf *out) {
  if (!nw)
    return 0;
  int need = WideCharToMultiByte(CP_UTF8, 0, w, (int)nw, NULL, 0, NULL, NULL);
  if (need <= 0 || subproc__buf_reserve(out, (size_t)need) < 0)
    return -ENOMEM;
  WideCharToMultiByte(CP_UTF8, 0, w, (int)nw, out->data + out->len, need, NULL,
                      NULL);
  out->len += (size_t)need;
  out->data[out->len] = '\0';
  return 0;
}

/* 0 when in[0..n) decodes (appended to out if not NULL), 1 when not. */
static int mb_to_utf8(unsigned cp, const unsigned char *in, size_t n,
                      subproc__buf *out) {
  if (!n)
    return 0;
  DWORD flags = plain_cp(cp) ? 0 : MB_ERR_INVALID_CHARS;
  int nw = MultiByteToWideChar(cp, flags, (const char *)in, (int)n, NULL, 0);
  if (nw <= 0)
    return 1;
  if (!out)
    return 0;
  wchar_t *w = malloc((size_t)nw * sizeof *w);
  if (!w)
    return -ENOMEM;
  MultiByteToWideChar(cp, 0, (const char *)in, (int)n, w, nw);
  int rc = wide_to_utf8(w, (size_t)nw, out);
  free(w);
  return rc;
}

/* UTF-16LE is the native wchar_t: find lone surrogates, then copy. */
static int utf16_scan(const unsigned char *in, size_t n,
                      subproc__codec_stop *stop) {
  size_t i = 0;
  int rc = SUBPROC__CODEC_DONE;
  while (i < n) {
    unsigned u = n - i < 2 ? 0xD800 : in[i] | (unsigned)in[i + 1] << 8;
    if (u >= 0xDC00 && u < 0xE000) {
      stop->why = "illegal encoding";
      rc = SUBPROC__CODEC_BAD;
      break;
    }
    if (u >= 0xD800 && u < 0xDC00) {
      if (n - i < 4) {
        rc = SUBPROC__CODEC_SHORT;
        break;
      }
      unsigned v = in[i + 2] | (unsigned)in[i + 3] << 8;
      if (v < 0xDC00 || v > 0xDFFF) {
        stop->why = "illegal UTF-16 surrogate";
        rc = SUBPROC__CODEC_BAD;
        break;
      }
      i += 2;
    }
    i += 2;
  }
  stop->used = i;
  return rc;
}

static int utf16_decode(const unsigned char *in, size_t n, subproc__buf *out,
                        subproc__codec_stop *stop) {
  int rc = utf16_scan(in, n, stop);
  wchar_t *w = malloc(stop->used ? stop->used : 1);
  if (!w)
    return -ENOMEM;
  memcpy(w, in, stop->used);
  int e = wide_to_utf8(w, stop->used / 2, out);
  free(w);
  stop->bad = 2;
  return e < 0 ? e : rc;
}

static size_t char_len(unsigned cp, const unsigned char *s) {
  return IsDBCSLeadByteEx(cp, s[0]) ? 2 : 1;
}

static int mb_decode(unsigned cp, const unsigned char *in, size_t n,
                     subproc__buf *out, subproc__codec_stop *stop) {
  size_t m = 0, len = 1;
  while (m < n && m + (len = char_len(cp, in + m)) <= n)
    m += len;
  int rc = mb_to_utf8(cp, in, m, out);
  if (rc <= 0) {
    stop->used = m;
    return rc < 0 ? rc : m == n ? SUBPROC__CODEC_DONE : SUBPROC__CODEC_SHORT;
  }
  size_t i = 0;
  while (i < m && mb_to_utf8(cp, in + i, char_len(cp, in + i), NULL) == 0)
    i += char_len(cp, in + i);
  rc = mb_to_utf8(cp, in, i, out);
  stop->used = i;
  stop->bad = char_len(cp, in + i);
  stop->why = "invalid or unmappable byte sequence";
  return rc < 0 ? rc : SUBPROC__CODEC_BAD;
}

/* ---- encoding ---- */

/* The input is well-formed UTF-8 (codec.h). */
static size_t utf8_len(unsigned char lead) {
  return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}

static int put_utf16le(subproc__buf *out, const wchar_t *w, int nw) {
  unsigned char b[4];
  for (int k = 0; k < nw; k++) {
    b[2 * k] = (unsigned char)(w[k] & 0xFF);
    b[2 * k + 1] = (unsigned char)(w[k] >> 8);
  }
  return subproc__buf_append(out, b, 2 * (size_t)nw);
}

/* One character: 1 when the code page cannot encode it. */
static int encode_char(unsigned cp, const unsigned char *s, size_t len,
                       subproc__buf *out) {
  wchar_t w[2];
  int nw = MultiByteToWideChar(CP_UTF8, 0, (const char *)s, (int)len, w, 2);
  if (cp == CP_UTF16LE)
    return put_utf16le(out, w, nw);
  BOOL lossy = FALSE;
  int plain = plain_cp(cp);
  char mb[16];
  int nb = WideCharToMultiByte(cp, plain ? 0 : WC_NO_BEST_FIT_CHARS, w, nw, mb,
                               sizeof mb, NULL, plain ? NULL : &lossy);
  if (nb <= 0 || lossy)
    return 1;
  return subproc__buf_append(out, mb, (size_t)nb);
}

static int encode(unsigned cp, const unsigned char *in, size_t n,
                  subproc__buf *out, subproc__codec_stop *stop) {
  size_t i = 0, len;
  int rc = 0;
  for (; i < n; i += len) {
    len = utf8_len(in[i]);
    if ((rc = encode_char(cp, in + i, len, out)) != 0)
      break;
  }
  stop->used = i;
  return rc < 0 ? rc : rc ? SUBPROC__CODEC_BAD : SUBPROC__CODEC_DONE;
}

int subproc__codec_convert(subproc__codec *c, const unsigned char *in, size_t n,
                           subproc__buf *out, subproc__codec_stop *stop) {
  if (!c->to_utf8)
    return encode(c->cp, in, n, out, stop);
  if (c->cp == CP_UTF16LE)
    return utf16_decode(in, n, out, stop);
  return mb_decode(c->cp, in, n, out, stop);
}

/* Each call converts whole characters and leaves no state behind. */
int subproc__codec_flush(subproc__codec *c, subproc__buf *out) {
  (void)c, (void)out;
  return 0;
}

void subproc__codec_close(subproc__codec *c) { free(c); }

const char *subproc__codec_locale(void) {
  static _Thread_local char acp[16];
  unsigned cp = GetACP();
  if (cp == CP_UTF8)
    return "UTF-8";
  snprintf(acp, sizeof acp, "cp%u", cp);
  return acp;
}
