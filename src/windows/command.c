/* The command line CreateProcessW gets: list2cmdline's quoting, the shell
 * (cmd.exe /c, as Python), batch files through cmd.exe with the arguments
 * that it would misread refused; and the UTF-16 environment block. */
#include "spawn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* The command line                                                    */
/* ------------------------------------------------------------------ */

static int is_absolute(const char *path) {
  int drive = ((path[0] | 32) >= 'a' && (path[0] | 32) <= 'z') &&
              path[1] == ':' && (path[2] == '\\' || path[2] == '/');
  int unc = (path[0] == '\\' || path[0] == '/') &&
            (path[1] == '\\' || path[1] == '/');
  return drive || unc;
}

/* The parent's variable name in UTF-8, or NULL (unset or empty). */
static char *parent_env(const wchar_t *name) {
  DWORD n = GetEnvironmentVariableW(name, NULL, 0);
  if (n <= 1)
    return NULL;
  wchar_t *w = malloc(n * sizeof *w);
  char *s = NULL;
  if (w && GetEnvironmentVariableW(name, w, n) == n - 1)
    s = subproc__to_utf8(w);
  free(w);
  return s;
}

/* %ComSpec%, else %SystemRoot%\System32\cmd.exe (Python 3.12's order:
 * never the current directory or PATH). */
static int find_cmd_exe(char **out, subproc_error *err) {
  if ((*out = parent_env(L"ComSpec")))
    return 0;
  char *root = parent_env(L"SystemRoot");
  if (root) {
    size_t n = strlen(root) + sizeof "\\System32\\cmd.exe";
    if ((*out = malloc(n)))
      snprintf(*out, n, "%s\\System32\\cmd.exe", root);
    free(root);
    if (!*out)
      return subproc__fail_os(err, ENOMEM, "shell", NULL, -1);
    if (is_absolute(*out))
      return 0;
    free(*out);
    *out = NULL;
  }
  return subproc__fail(err, -ENOENT, ENOENT, "shell", NULL, -1,
                       "shell not found: neither %%ComSpec%% nor "
                       "%%SystemRoot%% is set");
}

static char *concat(const char *const *parts) {
  size_t n = 1;
  for (size_t i = 0; parts[i]; i++)
    n += strlen(parts[i]);
  char *s = malloc(n), *o = s;
  for (size_t i = 0; s && parts[i]; i++) {
    size_t len = strlen(parts[i]);
    memcpy(o, parts[i], len);
    o += len;
  }
  if (s)
    *o = '\0';
  return s;
}

/* With shell, argv[0] is the command cmd.exe runs, as it is the script of
 * sh -c on POSIX; further items follow it, quoted by list2cmdline. */
static char *shell_command(const char *const *argv, int verbatim) {
  if (verbatim || !argv[1])
    return concat((const char *const[]){argv[0], NULL});
  char *rest = subproc_list2cmdline(argv + 1);
  char *cmd =
      rest ? concat((const char *const[]){argv[0], " ", rest, NULL}) : NULL;
  free(rest);
  return cmd;
}

static int prep_shell(subproc__plan *pr, const char *const *argv, int verbatim,
                      const subproc_options *o, subproc_error *err) {
  int rc;
  if (o->executable) {
    if (!(pr->shell = concat((const char *const[]){o->executable, NULL})))
      return subproc__fail_os(err, ENOMEM, "shell", NULL, -1);
  } else if ((rc = find_cmd_exe(&pr->shell, err)) < 0) {
    return rc;
  }
  char *cmd = shell_command(argv, verbatim);
  const char *q = strpbrk(pr->shell, " \t") ? "\"" : "";
  if (cmd)
    pr->cmdline8 = concat(
        (const char *const[]){q, pr->shell, q, " /c \"", cmd, "\"", NULL});
  if (cmd && pr->cmdline8)
    pr->args =
        subproc__argv_dup((const char *const[]){pr->shell, "/c", cmd, NULL});
  free(cmd);
  if (!pr->args)
    return subproc__fail_os(err, ENOMEM, "args", NULL, -1);
  pr->target = pr->shell;
  /* A relative ComSpec is left to CreateProcess's search, as Python. */
  int app = o->executable || is_absolute(pr->shell);
  if (app && !(pr->app = subproc__to_wide(pr->shell)))
    return subproc__fail(err, SUBPROC_EINVAL, 0, "shell", NULL, -1,
                         "shell '%s': not valid UTF-8", pr->shell);
  return 0;
}

/* ---- batch files ---- */

/* "x.bat", "x.CMD", also "x.bat. . " (Windows drops trailing dots and
 * spaces from file names). */
static int is_batch(const char *path) {
  size_t n = strlen(path);
  while (n > 0 && (path[n - 1] == '.' || path[n - 1] == ' '))
    n--;
  if (n < 4 || path[n - 4] != '.')
    return 0;
  const char *ext = path + n - 3;
  char low[4] = {(char)(ext[0] | 32), (char)(ext[1] | 32), (char)(ext[2] | 32),
                 '\0'};
  return strcmp(low, "bat") == 0 || strcmp(low, "cmd") == 0;
}

/* cmd.exe expands %VAR% even inside quotes and has no escape for '"' that
 * holds in every context; line breaks end the command. Such arguments are
 * refused (BatBadBut, CVE-2024-24576). Everything else is made literal by
 * quoting. */
static const char *batch_bad(const char *s) { return strpbrk(s, "\"%\r\n"); }

/* Quoted when cmd.exe would split at it or treat it as an operator. */
static int batch_needs_quotes(const char *s) {
  return !*s || strpbrk(s, " \t,;=&|<>()^!@") != NULL;
}

static int batch_check(const char *const *argv, const char *script,
                       subproc_error *err) {
  const char *bad = batch_bad(script);
  for (size_t i = 1; !bad && argv[i]; i++)
    if ((bad = batch_bad(argv[i])))
      script = argv[i];
  if (!bad)
    return 0;
  return subproc__fail(err, SUBPROC_EINVAL, 0, "args", script, -1,
                       "args: '%s' cannot be passed safely to a batch file "
                       "(cmd.exe would interpret its '%s' character); use "
                       "shell=1 and quote it yourself",
                       script,
                       *bad == '"'   ? "\""
                       : *bad == '%' ? "%"
                                     : "line break");
}

/* cmd.exe /d /e:ON /v:OFF /s /c ""script" arg "a b"": no AutoRun, no
 * delayed expansion, the outer quotes always stripped. */
static int batch_cmdline(subproc__plan *pr, const char *const *argv,
                         const char *script, subproc_error *err) {
  subproc__buf b = {0};
  int ok = subproc__buf_append(&b, "\"", 1) == 0 &&
           subproc__buf_append(&b, pr->shell, strlen(pr->shell)) == 0;
  const char *head = "\" /d /e:ON /v:OFF /s /c \"\"";
  ok = ok && subproc__buf_append(&b, head, strlen(head)) == 0 &&
       subproc__buf_append(&b, script, strlen(script)) == 0 &&
       subproc__buf_putc(&b, '"') == 0;
  for (size_t i = 1; ok && argv[i]; i++) {
    int q = batch_needs_quotes(argv[i]);
    ok = subproc__buf_putc(&b, ' ') == 0 &&
         (!q || subproc__buf_putc(&b, '"') == 0) &&
         subproc__buf_append(&b, argv[i], strlen(argv[i])) == 0 &&
         (!q || subproc__buf_putc(&b, '"') == 0);
  }
  ok = ok && subproc__buf_putc(&b, '"') == 0;
  if (!ok) {
    subproc__buf_free(&b);
    return subproc__fail_os(err, ENOMEM, "args", NULL, -1);
  }
  pr->cmdline8 = subproc__buf_take(&b, NULL);
  return 0;
}

static int prep_batch(subproc__plan *pr, const char *const *argv,
                      const char *script, subproc_error *err) {
  int rc = batch_check(argv, script, err);
  if (rc == 0)
    rc = find_cmd_exe(&pr->shell, err);
  if (rc == 0)
    rc = batch_cmdline(pr, argv, script, err);
  if (rc < 0)
    return rc;
  if (is_absolute(pr->shell) && !(pr->app = subproc__to_wide(pr->shell)))
    return subproc__fail(err, SUBPROC_EINVAL, 0, "shell", NULL, -1,
                         "shell '%s': not valid UTF-8", pr->shell);
  return 0;
}

static int prep_cmdline(subproc__plan *pr, const char *const *argv,
                        int verbatim, const subproc_options *o,
                        subproc_error *err) {
  if (o->shell)
    return prep_shell(pr, argv, verbatim, o, err);
  if (!(pr->args = subproc__argv_dup(argv)))
    return subproc__fail_os(err, ENOMEM, "args", NULL, -1);
  pr->target = o->executable ? o->executable : argv[0];
  if (!verbatim && is_batch(pr->target))
    return prep_batch(pr, argv, pr->target, err);
  pr->cmdline8 = verbatim ? concat((const char *const[]){argv[0], NULL})
                          : subproc_list2cmdline(argv);
  if (!pr->cmdline8)
    return subproc__fail_os(err, ENOMEM, "args", NULL, -1);
  if (o->executable && !(pr->app = subproc__to_wide(o->executable)))
    return subproc__fail(err, SUBPROC_EINVAL, 0, "executable", o->executable,
                         -1, "executable '%s': not valid UTF-8", o->executable);
  return 0;
}

int subproc__plan_command(subproc__plan *pr, const char *const *argv,
                          int verbatim, const subproc_options *o,
                          subproc_error *err) {
  int rc = prep_cmdline(pr, argv, verbatim, o, err);
  if (rc == 0 && !(pr->cmdline = subproc__to_wide(pr->cmdline8)))
    rc = subproc__fail(err, SUBPROC_EINVAL, 0, "args", NULL, -1,
                       "args: the command line is not valid UTF-8");
  return rc;
}

/* ------------------------------------------------------------------ */
/* Environment block                                                   */
/* ------------------------------------------------------------------ */

typedef struct env_entry {
  wchar_t *text;
  int name_len;
  size_t order;
} env_entry;

static int env_cmp(const void *a, const void *b) {
  const env_entry *x = a, *y = b;
  int c =
      CompareStringOrdinal(x->text, x->name_len, y->text, y->name_len, TRUE);
  if (c != CSTR_EQUAL)
    return c == CSTR_LESS_THAN ? -1 : 1;
  return (x->order > y->order) - (x->order < y->order);
}

/* Sorted by name without regard to case, as Windows expects; of entries
 * with the same name the last one wins, as in a Python dict. */
static wchar_t *env_block(env_entry *e, size_t n) {
  qsort(e, n, sizeof *e, env_cmp);
  size_t total = 2;
  for (size_t i = 0; i < n; i++)
    total += wcslen(e[i].text) + 1;
  wchar_t *block = malloc(total * sizeof *block), *o = block;
  for (size_t i = 0; block && i < n; i++) {
    if (i + 1 < n &&
        env_cmp(&(env_entry){e[i].text, e[i].name_len, 0},
                &(env_entry){e[i + 1].text, e[i + 1].name_len, 0}) == 0)
      continue;
    size_t len = wcslen(e[i].text) + 1;
    memcpy(o, e[i].text, len * sizeof *o);
    o += len;
  }
  if (block) {
    if (o == block)
      *o++ = L'\0'; /* an empty block is two NULs */
    *o = L'\0';
  }
  return block;
}

int subproc__plan_env(subproc__plan *pr, const char *const *env,
                      subproc_error *err) {
  size_t n = subproc__argv_len(env);
  env_entry *e = calloc(n ? n : 1, sizeof *e);
  if (!e)
    return subproc__fail_os(err, ENOMEM, "env", NULL, -1);
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    e[i].order = i;
    if (!(e[i].text = subproc__to_wide(env[i])))
      rc = subproc__fail(err, SUBPROC_EINVAL, 0, "env", env[i], -1,
                         "env: entry '%s' is not valid UTF-8", env[i]);
    else
      e[i].name_len = (int)(wcschr(e[i].text, L'=') - e[i].text);
  }
  if (rc == 0 && !(pr->env = env_block(e, n)))
    rc = subproc__fail_os(err, ENOMEM, "env", NULL, -1);
  for (size_t i = 0; i < n; i++)
    free(e[i].text);
  free(e);
  pr->flags |= CREATE_UNICODE_ENVIRONMENT;
  return rc;
}
