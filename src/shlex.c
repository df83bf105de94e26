/* shlex.split (POSIX mode, no comments), shlex.quote and shlex.join.
 * Every character these rules look at is ASCII, so working on bytes gives
 * Python's result for UTF-8 text. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "internal.h"

/* ---- split ---- */

typedef struct lexer {
  const char *s; /* the input */
  size_t i;      /* the next byte to read */
  char *o;       /* where the next output byte goes */
  subproc_error *err;
} lexer;

static int is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Python's message, and where the quote or backslash at fault is. */
static int fail_at(lexer *lx, const char *what, size_t at) {
  int rc = subproc__fail(lx->err, SUBPROC_EINVAL, 0, "split", NULL, -1,
                         "%s (the %c at byte %zu)", what, lx->s[at], at);
  if (lx->err)
    lx->err->offset = (long long)at;
  return rc;
}

/* At a backslash. Inside double quotes it only escapes itself and the
 * quote, and is otherwise kept; outside quotes it escapes any byte. */
static int lex_escape(lexer *lx, int in_double) {
  size_t at = lx->i++;
  char c = lx->s[lx->i];
  if (!c)
    return fail_at(lx, "No escaped character", at);
  if (in_double && c != '\\' && c != '"')
    *lx->o++ = '\\';
  *lx->o++ = c;
  lx->i++;
  return 0;
}

static int lex_single(lexer *lx) {
  size_t at = lx->i++;
  const char *start = lx->s + lx->i, *end = strchr(start, '\'');
  if (!end)
    return fail_at(lx, "No closing quotation", at);
  size_t n = (size_t)(end - start);
  memcpy(lx->o, start, n);
  lx->o += n;
  lx->i += n + 1;
  return 0;
}

static int lex_double(lexer *lx) {
  size_t at = lx->i++;
  for (;;) {
    char c = lx->s[lx->i];
    if (!c)
      return fail_at(lx, "No closing quotation", at);
    if (c == '"') {
      lx->i++;
      return 0;
    }
    if (c == '\\') {
      int rc = lex_escape(lx, 1);
      if (rc < 0)
        return rc;
      continue;
    }
    *lx->o++ = c;
    lx->i++;
  }
}

/* A word runs to unquoted whitespace; quoted parts may be empty, so '' is
 * a word. The output never outgrows the input: a word is no longer than
 * its text and is followed by whitespace or the end. */
static int lex_word(lexer *lx) {
  for (;;) {
    char c = lx->s[lx->i];
    int rc = 0;
    if (!c || is_space(c))
      break;
    if (c == '\\')
      rc = lex_escape(lx, 0);
    else if (c == '\'')
      rc = lex_single(lx);
    else if (c == '"')
      rc = lex_double(lx);
    else {
      *lx->o++ = c;
      lx->i++;
    }
    if (rc < 0)
      return rc;
  }
  *lx->o++ = '\0';
  return 0;
}

/* 1 with a word written, 0 at the end, or an error. */
static int lex_next(lexer *lx) {
  while (is_space(lx->s[lx->i]))
    lx->i++;
  if (!lx->s[lx->i])
    return 0;
  int rc = lex_word(lx);
  return rc < 0 ? rc : 1;
}

int subproc_split(const char *s, char ***argv, size_t *argc,
                  subproc_error *err) {
  if (argv)
    *argv = NULL;
  if (!s || !argv)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "split", NULL, -1,
                         "split: %s is NULL", s ? "argv" : "the string");
  char *words = malloc(strlen(s) + 1);
  if (!words)
    return subproc__fail(err, -ENOMEM, ENOMEM, "split", NULL, -1, NULL);
  lexer lx = {s, 0, words, err};
  size_t n = 0;
  int rc;
  while ((rc = lex_next(&lx)) > 0)
    n++;
  if (rc == 0)
    rc = subproc__argv_pack(words, (size_t)(lx.o - words), n, argv, argc);
  free(words);
  if (rc == -ENOMEM)
    return subproc__fail(err, rc, ENOMEM, "split", NULL, -1, NULL);
  return rc;
}

/* ---- quote and join ---- */

/* Python's [\w@%+=:,./-] with re.ASCII. */
static int is_safe(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || (c && strchr("_@%+=:,./-", c));
}

static int all_safe(const char *s) {
  for (; *s; s++)
    if (!is_safe((unsigned char)*s))
      return 0;
  return 1;
}

/* Single quotes around everything; a single quote itself is closed,
 * written inside double quotes, and reopened. */
static char *quote_to(char *o, const char *s) {
  size_t len = strlen(s);
  if (len && all_safe(s)) {
    memcpy(o, s, len);
    return o + len;
  }
  *o++ = '\'';
  for (; *s; s++) {
    if (*s == '\'') {
      memcpy(o, "'\"'\"'", 5);
      o += 5;
    } else {
      *o++ = *s;
    }
  }
  *o++ = '\'';
  return o;
}

/* Room for the quoted form of s plus one more byte, added to *cap; 0 when
 * that overflows. */
static int add_quote_bound(size_t *cap, const char *s) {
  size_t len = strlen(s);
  if (len > (SIZE_MAX - *cap - 3) / 5)
    return 0;
  *cap += 5 * len + 3;
  return 1;
}

char *subproc_quote(const char *s) {
  size_t cap = 0;
  if (!s || !add_quote_bound(&cap, s))
    return NULL;
  char *out = malloc(cap);
  if (out)
    *quote_to(out, s) = '\0';
  return out;
}

char *subproc_join(const char *const *argv) {
  if (!argv)
    return NULL;
  size_t cap = 1;
  for (size_t i = 0; argv[i]; i++)
    if (!add_quote_bound(&cap, argv[i]))
      return NULL;
  char *out = malloc(cap), *o = out;
  if (!out)
    return NULL;
  for (size_t i = 0; argv[i]; i++) {
    if (i)
      *o++ = ' ';
    o = quote_to(o, argv[i]);
  }
  *o = '\0';
  return out;
}
