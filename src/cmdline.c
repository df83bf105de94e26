/* Windows command lines: subprocess.list2cmdline and its inverse, the MS C
 * runtime's argv parsing, which the tests and fuzzers check it against. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "internal.h"

int subproc__argv_pack(const char *words, size_t len, size_t n, char ***argv,
                       size_t *argc) {
  *argv = NULL;
  if (n >= SIZE_MAX / sizeof(char *) - 1 ||
      len >= SIZE_MAX - (n + 1) * sizeof(char *))
    return -ENOMEM;
  size_t head = (n + 1) * sizeof(char *);
  char **v = malloc(head + len + 1);
  if (!v)
    return -ENOMEM;
  char *text = (char *)v + head;
  if (len)
    memcpy(text, words, len);
  text[len] = '\0';
  for (size_t i = 0; i < n; i++) {
    v[i] = text;
    text += strlen(text) + 1;
  }
  v[n] = NULL;
  *argv = v;
  if (argc)
    *argc = n;
  return 0;
}

/* ---- argv -> command line ---- */

static char *put_run(char *o, char c, size_t n) {
  memset(o, c, n);
  return o + n;
}

/* Backslashes are literal except in a run that ends at a quote: such a run
 * is doubled, and so is a run that ends the argument when a closing quote
 * follows it. */
static char *encode_arg(char *o, const char *arg) {
  int quote = !*arg || strpbrk(arg, " \t") != NULL;
  size_t bs = 0;
  if (quote)
    *o++ = '"';
  for (; *arg; arg++) {
    if (*arg == '\\') {
      bs++;
      continue;
    }
    if (*arg == '"')
      bs = 2 * bs + 1;
    o = put_run(o, '\\', bs);
    bs = 0;
    *o++ = *arg;
  }
  o = put_run(o, '\\', quote ? 2 * bs : bs);
  if (quote)
    *o++ = '"';
  return o;
}

/* Every byte of an argument becomes at most two, plus quotes and a space. */
static size_t cmdline_bound(const char *const *argv) {
  size_t cap = 1;
  for (size_t i = 0; argv[i]; i++) {
    size_t len = strlen(argv[i]);
    if (len > (SIZE_MAX - cap - 3) / 2)
      return 0;
    cap += 2 * len + 3;
  }
  return cap;
}

char *subproc_list2cmdline(const char *const *argv) {
  if (!argv)
    return NULL;
  size_t cap = cmdline_bound(argv);
  char *out = cap ? malloc(cap) : NULL;
  if (!out)
    return NULL;
  char *o = out;
  for (size_t i = 0; argv[i]; i++) {
    if (i)
      *o++ = ' ';
    o = encode_arg(o, argv[i]);
  }
  *o = '\0';
  return out;
}

/* ---- command line -> argv ---- */

static int is_blank(char c) { return c == ' ' || c == '\t'; }

/* One argument from *pp (which is neither blank nor the end) to o. No
 * argument is longer than its text, and it is followed by a blank or the
 * end, so the words never outgrow the command line plus its NUL. */
static char *decode_arg(const char **pp, char *o) {
  const char *p = *pp;
  int quoted = 0;
  for (;;) {
    size_t bs = 0;
    while (*p == '\\') {
      bs++;
      p++;
    }
    if (*p == '"') {
      o = put_run(o, '\\', bs / 2);
      if (bs % 2 == 1 || (quoted && p[1] == '"')) {
        *o++ = '"';
        p += bs % 2 == 1 ? 1 : 2;
      } else {
        quoted = !quoted;
        p++;
      }
      continue;
    }
    o = put_run(o, '\\', bs);
    if (!*p || (!quoted && is_blank(*p)))
      break;
    *o++ = *p++;
  }
  *o++ = '\0';
  *pp = p;
  return o;
}

int subproc__cmdline_decode(const char *cmdline, char ***argv, size_t *argc) {
  if (argv)
    *argv = NULL;
  if (!cmdline || !argv)
    return SUBPROC_EINVAL;
  char *words = malloc(strlen(cmdline) + 1);
  if (!words)
    return -ENOMEM;
  char *o = words;
  size_t n = 0;
  for (const char *p = cmdline;; n++) {
    while (is_blank(*p))
      p++;
    if (!*p)
      break;
    o = decode_arg(&p, o);
  }
  int rc = subproc__argv_pack(words, (size_t)(o - words), n, argv, argc);
  free(words);
  return rc;
}
