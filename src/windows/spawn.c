/* The Windows spawn engine: CreateProcessW with a UTF-16 command line,
 * environment block and directory, the child's standard handles, and a
 * PROC_THREAD_ATTRIBUTE_HANDLE_LIST naming the only handles it inherits.
 *
 * Everything is prepared in a `prep` first; every handle made here is
 * created non-inheritable and only an inheritable duplicate, named in the
 * handle list, reaches the child, so concurrent spawns from other threads
 * never inherit each other's pipe ends. */
#include "windows.h"

#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PIPE_BUFFER_DEFAULT (64 * 1024)
#define MAX_OWN 16

typedef struct prep {
  char **args;        /* what subproc_args reports */
  const char *target; /* the program named in errors and the audit event */
  char *shell;        /* the shell or cmd.exe path, owned */
  char *cmdline8;     /* the command line in UTF-8, owned */
  wchar_t *app, *cmdline, *env, *cwd;
  DWORD flags;
  HANDLE child[3];     /* what the child gets as its standard handles */
  int use_std;         /* STARTF_USESTDHANDLES */
  HANDLE own[MAX_OWN]; /* closed once the child has started */
  int n_own;
  int crt_own[3];   /* C runtime fds opened here for SUBPROC_PATH */
  int parent_fd[3]; /* the parent's pipe ends, handed to p on success */
  HANDLE devnull;
  subproc__relay relay[3]; /* started once the child runs */
  HANDLE *list;            /* PROC_THREAD_ATTRIBUTE_HANDLE_LIST */
  size_t n_list;
  BOOL inherit;
  LPPROC_THREAD_ATTRIBUTE_LIST attrs;
  HANDLE job;
} prep;

static void prep_free(prep *pr) {
  for (int i = 0; i < pr->n_own; i++)
    CloseHandle(pr->own[i]);
  for (int i = 0; i < 3; i++) {
    if (pr->crt_own[i] >= 0)
      _close(pr->crt_own[i]);
    if (pr->parent_fd[i] >= 0)
      _close(pr->parent_fd[i]);
  }
  if (pr->attrs) {
    DeleteProcThreadAttributeList(pr->attrs);
    free(pr->attrs);
  }
  if (pr->job)
    CloseHandle(pr->job);
  for (int i = 0; i < 3; i++)
    subproc__relay_discard(&pr->relay[i]);
  free(pr->args);
  free(pr->shell);
  free(pr->cmdline8);
  free(pr->app);
  free(pr->cmdline);
  free(pr->env);
  free(pr->cwd);
  free(pr->list);
}

static HANDLE track(prep *pr, HANDLE h) {
  pr->own[pr->n_own++] = h;
  return h;
}

/* ------------------------------------------------------------------ */
/* Validation: what Python rejects on Windows                          */
/* ------------------------------------------------------------------ */

static int unsupported(subproc_error *err, const char *name) {
  return subproc__fail(err, SUBPROC_EINVAL, 0, name, NULL, -1,
                       "The '%s' parameter is not supported on the current "
                       "platform",
                       name);
}

static int validate_windows(const subproc_options *o, subproc_error *err) {
  if (o->preexec)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "preexec", NULL, -1,
                         "preexec_fn is not supported on Windows platforms");
  if (o->n_pass_fds)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "pass_fds", NULL, -1,
                         "pass_fds is not supported on Windows: use "
                         "startupinfo->handle_list");
  if (o->user)
    return unsupported(err, "user");
  if (o->group)
    return unsupported(err, "group");
  if (o->extra_groups)
    return unsupported(err, "extra_groups");
  const subproc_startupinfo *si = o->startupinfo;
  if (si && si->n_handle_list && !si->handle_list)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "startupinfo", NULL, -1,
                         "startupinfo: NULL handle_list with %zu entries",
                         si->n_handle_list);
  return 0;
}

static int validate(const char *const *argv, const subproc_options *o,
                    subproc_error *err) {
  int rc = subproc__options_validate(argv, o, err);
  return rc < 0 ? rc : validate_windows(o, err);
}

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

static int prep_shell(prep *pr, const char *const *argv, int verbatim,
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
    return subproc__fail(err, SUBPROC_EINVAL, 0, "shell", pr->shell, -1,
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
static int batch_cmdline(prep *pr, const char *const *argv, const char *script,
                         subproc_error *err) {
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

static int prep_batch(prep *pr, const char *const *argv, const char *script,
                      subproc_error *err) {
  int rc = batch_check(argv, script, err);
  if (rc == 0)
    rc = find_cmd_exe(&pr->shell, err);
  if (rc == 0)
    rc = batch_cmdline(pr, argv, script, err);
  if (rc < 0)
    return rc;
  if (is_absolute(pr->shell) && !(pr->app = subproc__to_wide(pr->shell)))
    return subproc__fail(err, SUBPROC_EINVAL, 0, "shell", pr->shell, -1,
                         "shell '%s': not valid UTF-8", pr->shell);
  return 0;
}

static int prep_cmdline(prep *pr, const char *const *argv, int verbatim,
                        const subproc_options *o, subproc_error *err) {
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

/* ------------------------------------------------------------------ */
/* Environment block and directory                                     */
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

static int prep_env(prep *pr, const char *const *env, subproc_error *err) {
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

/* ------------------------------------------------------------------ */
/* Standard handles                                                    */
/* ------------------------------------------------------------------ */

static const char *const stream_names[] = {"stdin", "stdout", "stderr"};
static const DWORD std_ids[] = {STD_INPUT_HANDLE, STD_OUTPUT_HANDLE,
                                STD_ERROR_HANDLE};

static int valid(HANDLE h) { return h != NULL && h != INVALID_HANDLE_VALUE; }

/* A named pipe's server end, non-inheritable; the name is new each time,
 * and FILE_FLAG_FIRST_PIPE_INSTANCE refuses one that somebody else made. */
static HANDLE new_pipe_server(wchar_t *name, size_t size, DWORD mode,
                              DWORD buffer) {
  static volatile LONG counter;
  HANDLE server = INVALID_HANDLE_VALUE;
  for (int tries = 0; tries < 8 && server == INVALID_HANDLE_VALUE; tries++) {
    swprintf(name, size, L"\\\\.\\pipe\\subproc-%lu-%ld-%llu",
             (unsigned long)GetCurrentProcessId(),
             (long)InterlockedIncrement(&counter),
             (unsigned long long)GetTickCount64());
    server = CreateNamedPipeW(name, mode,
                              PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT |
                                  PIPE_REJECT_REMOTE_CLIENTS,
                              1, buffer, buffer, 0, NULL);
    if (server == INVALID_HANDLE_VALUE && GetLastError() != ERROR_ACCESS_DENIED)
      break;
  }
  return server;
}

/* A pipe whose parent end supports overlapped I/O (communicate waits on
 * several at once) and whose child end is an ordinary synchronous handle. */
static int make_pipe(prep *pr, int i, DWORD size, subproc_error *err) {
  wchar_t name[96];
  int parent_reads = i != 0;
  DWORD mode = (parent_reads ? PIPE_ACCESS_INBOUND : PIPE_ACCESS_OUTBOUND) |
               FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE;
  HANDLE server = new_pipe_server(name, sizeof name / sizeof *name, mode, size);
  if (server == INVALID_HANDLE_VALUE)
    return subproc__fail_win(err, GetLastError(), "pipe", NULL);
  DWORD access = parent_reads ? GENERIC_WRITE | FILE_READ_ATTRIBUTES
                              : GENERIC_READ | FILE_WRITE_ATTRIBUTES;
  HANDLE client = CreateFileW(name, access, 0, NULL, OPEN_EXISTING, 0, NULL);
  if (client == INVALID_HANDLE_VALUE) {
    DWORD e = GetLastError();
    CloseHandle(server);
    return subproc__fail_win(err, e, "pipe", NULL);
  }
  track(pr, client);
  int fd = _open_osfhandle((intptr_t)server,
                           (parent_reads ? _O_RDONLY : _O_WRONLY) | _O_BINARY);
  if (fd < 0) {
    CloseHandle(server);
    return subproc__fail_os(err, EMFILE, "pipe", NULL, -1);
  }
  pr->parent_fd[i] = fd;
  pr->child[i] = client;
  return 0;
}

static int get_devnull(prep *pr, HANDLE *out, subproc_error *err) {
  if (!pr->devnull) {
    HANDLE h = CreateFileW(L"NUL", GENERIC_READ | GENERIC_WRITE,
                           FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                           OPEN_EXISTING, 0, NULL);
    if (h == INVALID_HANDLE_VALUE)
      return subproc__fail_win(err, GetLastError(), "open", "NUL");
    pr->devnull = track(pr, h);
  }
  *out = pr->devnull;
  return 0;
}

static int handle_of_fd(int fd, int i, HANDLE *out, subproc_error *err) {
  intptr_t h = fd >= 0 ? _get_osfhandle(fd) : -1;
  if (h == -1 || h == -2)
    return subproc__fail(err, -EBADF, EBADF, stream_names[i], NULL, fd,
                         "%s: fd %d is not open", stream_names[i], fd);
  *out = (HANDLE)h;
  return 0;
}

static int open_path(prep *pr, int i, const subproc_redirect *r, HANDLE *out,
                     subproc_error *err) {
  int flags = r->flags ? r->flags
              : i == 0 ? _O_RDONLY
                       : _O_WRONLY | _O_CREAT | _O_TRUNC;
  int mode = r->mode ? r->mode : _S_IREAD | _S_IWRITE;
  wchar_t *w = subproc__to_wide(r->path);
  if (!w)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "open", r->path, -1,
                         "open '%s': not valid UTF-8", r->path);
  int fd = _wopen(w, flags | _O_BINARY | _O_NOINHERIT, mode);
  int e = errno;
  free(w);
  if (fd < 0)
    return subproc__fail_os(err, e, "open", r->path, -1);
  pr->crt_own[i] = fd;
  return handle_of_fd(fd, i, out, err);
}

/* The handle the child is to see as stream i; NULL = left as inherited. */
static int prep_redirect(prep *pr, int i, const subproc_options *o,
                         subproc_error *err) {
  const subproc_redirect *r = i == 0 ? &o->in : i == 1 ? &o->out : &o->err;
  DWORD size = o->pipesize > 0 ? (DWORD)o->pipesize : PIPE_BUFFER_DEFAULT;
  int pipe = r->kind == SUBPROC_PIPE || (i == 0 && o->input) ||
             (i > 0 && o->capture_output);
  if (pipe)
    return make_pipe(pr, i, size, err);
  switch (r->kind) {
  case SUBPROC_INHERIT:
    return 0;
  case SUBPROC_DEVNULL:
    return get_devnull(pr, &pr->child[i], err);
  case SUBPROC_STDOUT:
    pr->child[i] =
        pr->child[1] ? pr->child[1] : GetStdHandle(STD_OUTPUT_HANDLE);
    return 0;
  case SUBPROC_FD:
    return handle_of_fd(r->fd, i, &pr->child[i], err);
  case SUBPROC_FILE:
    if (!r->file)
      return subproc__fail(err, SUBPROC_EINVAL, 0, stream_names[i], NULL, -1,
                           "%s: NULL FILE *", stream_names[i]);
    fflush(r->file);
    return handle_of_fd(_fileno(r->file), i, &pr->child[i], err);
  case SUBPROC_PATH:
    if (!r->path)
      return subproc__fail(err, SUBPROC_EINVAL, 0, stream_names[i], NULL, -1,
                           "%s: NULL path", stream_names[i]);
    return open_path(pr, i, r, &pr->child[i], err);
  case SUBPROC_HANDLE:
    if (!valid(r->handle))
      return subproc__fail(err, SUBPROC_EINVAL, 0, stream_names[i], NULL, -1,
                           "%s: invalid HANDLE", stream_names[i]);
    pr->child[i] = r->handle;
    return 0;
  default:
    return subproc__fail(err, SUBPROC_EINVAL, 0, stream_names[i], NULL, -1,
                         "%s: unknown redirection %d", stream_names[i],
                         (int)r->kind);
  }
}

/* An overlapped pipe end (another child's, in a pipeline) reaches the
 * child through a synchronous pipe and a relay. */
static int sync_for_child(prep *pr, int i, subproc_error *err) {
  HANDLE h = pr->child[i], end;
  if (!valid(h) || !subproc__relay_needed(h))
    return 0;
  int rc = subproc__relay_prepare(&pr->relay[i], h, i == 0, &end, err);
  if (rc == 0)
    pr->child[i] = track(pr, end);
  return rc;
}

static int prep_stream(prep *pr, int i, const subproc_options *o,
                       subproc_error *err) {
  const subproc_redirect *r = i == 0 ? &o->in : i == 1 ? &o->out : &o->err;
  int rc = prep_redirect(pr, i, o, err);
  int given = r->kind == SUBPROC_FD || r->kind == SUBPROC_FILE ||
              r->kind == SUBPROC_HANDLE;
  if (rc < 0 || !given || pr->parent_fd[i] >= 0)
    return rc;
  return sync_for_child(pr, i, err);
}

/* A console pseudo-handle (Windows 7 and older) cannot be named in a
 * handle list; the console passes it on by itself. */
static int listable(HANDLE h) {
  return valid(h) &&
         !(((uintptr_t)h & 3) == 3 && GetFileType(h) == FILE_TYPE_CHAR);
}

static void list_add(prep *pr, HANDLE h) {
  for (size_t k = 0; k < pr->n_list; k++)
    if (pr->list[k] == h)
      return;
  pr->list[pr->n_list++] = h;
}

/* Redirected streams always reach the child; inherited ones too (as the
 * parent's own handles, or startupinfo's with STARTF_USESTDHANDLES) unless
 * the child gets a console of its own. Each goes as an inheritable
 * duplicate made here, so the caller's handles are never changed. */
static int prep_std_handles(prep *pr, const subproc_options *o,
                            subproc_error *err) {
  const subproc_startupinfo *si = o->startupinfo;
  int user_std = si && (si->dwFlags & STARTF_USESTDHANDLES);
  int redirected[3], any = 0;
  for (int i = 0; i < 3; i++) {
    int rc = prep_stream(pr, i, o, err);
    if (rc < 0)
      return rc;
    any |= redirected[i] = pr->child[i] != NULL;
  }
  int own_console =
      (o->creationflags & (CREATE_NEW_CONSOLE | DETACHED_PROCESS));
  pr->use_std = any || user_std || !own_console;
  if (!pr->use_std)
    return 0;
  HANDLE user[3] = {si ? si->hStdInput : NULL, si ? si->hStdOutput : NULL,
                    si ? si->hStdError : NULL};
  HANDLE src[3];
  for (int i = 0; i < 3; i++) {
    src[i] = redirected[i] ? pr->child[i]
             : user_std    ? user[i]
                           : GetStdHandle(std_ids[i]);
    pr->child[i] = src[i];
    if (!listable(src[i]))
      continue;
    int same = -1;
    for (int j = 0; j < i; j++)
      if (src[j] == src[i] && pr->child[j] != src[j])
        same = j;
    HANDLE dup;
    if (same >= 0) {
      dup = pr->child[same];
    } else if (DuplicateHandle(GetCurrentProcess(), src[i], GetCurrentProcess(),
                               &dup, 0, TRUE, DUPLICATE_SAME_ACCESS)) {
      track(pr, dup);
    } else if (redirected[i]) {
      return subproc__fail_win(err, GetLastError(), stream_names[i], NULL);
    } else {
      continue; /* an odd inherited handle: passed on as it is */
    }
    pr->child[i] = dup;
    list_add(pr, dup);
  }
  return 0;
}

/* close_fds semantics: only the listed handles are inherited. keep_fds
 * (close_fds=False) without a handle_list inherits every inheritable one. */
static int prep_inherit(prep *pr, const subproc_options *o,
                        subproc_error *err) {
  const subproc_startupinfo *si = o->startupinfo;
  size_t extra = si ? si->n_handle_list : 0;
  if (!(pr->list = calloc(3 + extra, sizeof *pr->list)))
    return subproc__fail_os(err, ENOMEM, "startupinfo", NULL, -1);
  int rc = prep_std_handles(pr, o, err);
  if (rc < 0)
    return rc;
  for (size_t k = 0; k < extra; k++)
    if (listable(si->handle_list[k]))
      list_add(pr, si->handle_list[k]);
  if (o->keep_fds && extra == 0) {
    pr->inherit = TRUE;
    return 0;
  }
  pr->inherit = pr->n_list > 0;
  if (!pr->inherit)
    return 0;
  SIZE_T size = 0;
  InitializeProcThreadAttributeList(NULL, 1, 0, &size);
  if (!(pr->attrs = malloc(size)))
    return subproc__fail_os(err, ENOMEM, "startupinfo", NULL, -1);
  if (!InitializeProcThreadAttributeList(pr->attrs, 1, 0, &size)) {
    DWORD e = GetLastError();
    free(pr->attrs);
    pr->attrs = NULL;
    return subproc__fail_win(err, e, "startupinfo", NULL);
  }
  if (!UpdateProcThreadAttribute(pr->attrs, 0,
                                 PROC_THREAD_ATTRIBUTE_HANDLE_LIST, pr->list,
                                 pr->n_list * sizeof *pr->list, NULL, NULL))
    return subproc__fail_win(err, GetLastError(), "startupinfo", NULL);
  pr->flags |= EXTENDED_STARTUPINFO_PRESENT;
  return 0;
}

/* ------------------------------------------------------------------ */
/* Tree kill                                                           */
/* ------------------------------------------------------------------ */

static int kill_tree_wanted(const subproc_options *o) {
  if (o->kill_tree == SUBPROC_KILL_TREE_AUTO)
    return o->start_new_session || o->set_process_group;
  return o->kill_tree == SUBPROC_KILL_TREE_ON;
}

/* The child's tree lives in a job that dies with its last handle, so not
 * even a crash of this process leaves the tree behind. */
static int prep_job(prep *pr, subproc_error *err) {
  HANDLE job = CreateJobObjectW(NULL, NULL);
  if (!job)
    return subproc__fail_win(err, GetLastError(), "job", NULL);
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION info;
  memset(&info, 0, sizeof info);
  info.BasicLimitInformation.LimitFlags =
      JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | JOB_OBJECT_LIMIT_BREAKAWAY_OK;
  if (!SetInformationJobObject(job, JobObjectExtendedLimitInformation, &info,
                               sizeof info)) {
    DWORD e = GetLastError();
    CloseHandle(job);
    return subproc__fail_win(err, e, "job", NULL);
  }
  pr->job = job;
  return 0;
}

/* ------------------------------------------------------------------ */
/* The entry point                                                     */
/* ------------------------------------------------------------------ */

static int prep_all(prep *pr, const char *const *argv, int verbatim,
                    const subproc_options *o, subproc_error *err) {
  int rc = validate(argv, o, err);
  if (rc == 0)
    rc = prep_cmdline(pr, argv, verbatim, o, err);
  if (rc == 0 && !(pr->cmdline = subproc__to_wide(pr->cmdline8)))
    rc = subproc__fail(err, SUBPROC_EINVAL, 0, "args", NULL, -1,
                       "args: the command line is not valid UTF-8");
  if (rc == 0 && o->env)
    rc = prep_env(pr, o->env, err);
  if (rc == 0 && o->cwd && !(pr->cwd = subproc__to_wide(o->cwd)))
    rc = subproc__fail(err, SUBPROC_EINVAL, 0, "chdir", o->cwd, -1,
                       "chdir '%s': not valid UTF-8", o->cwd);
  if (rc == 0)
    rc = prep_inherit(pr, o, err);
  if (rc == 0 && kill_tree_wanted(o))
    rc = prep_job(pr, err);
  if (rc == 0)
    rc = subproc__audit(pr->target, (const char *const *)pr->args, o->cwd,
                        o->env, err);
  pr->flags |= o->creationflags;
  if (o->start_new_session || o->set_process_group)
    pr->flags |= CREATE_NEW_PROCESS_GROUP;
  return rc;
}

static void fill_startupinfo(const prep *pr, const subproc_options *o,
                             STARTUPINFOEXW *six) {
  memset(six, 0, sizeof *six);
  STARTUPINFOW *si = &six->StartupInfo;
  si->cb =
      (pr->flags & EXTENDED_STARTUPINFO_PRESENT) ? sizeof *six : sizeof *si;
  six->lpAttributeList = pr->attrs;
  if (o->startupinfo) {
    si->dwFlags = o->startupinfo->dwFlags;
    si->wShowWindow = o->startupinfo->wShowWindow;
    si->hStdInput = o->startupinfo->hStdInput;
    si->hStdOutput = o->startupinfo->hStdOutput;
    si->hStdError = o->startupinfo->hStdError;
  }
  if (pr->use_std) {
    si->dwFlags |= STARTF_USESTDHANDLES;
    si->hStdInput = pr->child[0];
    si->hStdOutput = pr->child[1];
    si->hStdError = pr->child[2];
  }
  if (o->shell) {
    si->dwFlags |= STARTF_USESHOWWINDOW;
    si->wShowWindow = SW_HIDE;
  }
}

static int create_failed(const prep *pr, const subproc_options *o,
                         subproc_error *err) {
  DWORD e = GetLastError();
  DWORD attrs = o->cwd ? GetFileAttributesW(pr->cwd) : 0;
  if (o->cwd && (e == ERROR_DIRECTORY || attrs == INVALID_FILE_ATTRIBUTES ||
                 !(attrs & FILE_ATTRIBUTE_DIRECTORY)))
    return subproc__fail_win(err, e == ERROR_DIRECTORY ? e : ERROR_DIRECTORY,
                             "chdir", o->cwd);
  return subproc__fail_win(err, e, "exec", pr->target);
}

/* Into the job while still suspended, so no grandchild escapes it. */
static int start_in_job(prep *pr, const PROCESS_INFORMATION *pi, int resume,
                        subproc_error *err) {
  if (!AssignProcessToJobObject(pr->job, pi->hProcess)) {
    DWORD e = GetLastError();
    TerminateProcess(pi->hProcess, 1);
    WaitForSingleObject(pi->hProcess, INFINITE);
    return subproc__fail_win(err, e, "job", NULL);
  }
  if (resume)
    ResumeThread(pi->hThread);
  return 0;
}

int subproc__spawn(subproc *p, const char *const *argv, int verbatim,
                   const subproc_options *o, subproc_error *err) {
  prep pr;
  memset(&pr, 0, sizeof pr);
  for (int i = 0; i < 3; i++)
    pr.crt_own[i] = pr.parent_fd[i] = -1;
  int rc = prep_all(&pr, argv, verbatim, o, err);
  if (rc < 0) {
    prep_free(&pr);
    return rc;
  }
  STARTUPINFOEXW six;
  fill_startupinfo(&pr, o, &six);
  int resume = pr.job && !(pr.flags & CREATE_SUSPENDED);
  DWORD flags = pr.flags | (pr.job ? CREATE_SUSPENDED : 0);
  PROCESS_INFORMATION pi;
  memset(&pi, 0, sizeof pi);
  BOOL ok = CreateProcessW(pr.app, pr.cmdline, NULL, NULL, pr.inherit, flags,
                           pr.env, pr.cwd, &six.StartupInfo, &pi);
  p->start_time = subproc__now();
  if (!ok)
    rc = create_failed(&pr, o, err);
  else if (pr.job)
    rc = start_in_job(&pr, &pi, resume, err);
  if (ok)
    CloseHandle(pi.hThread);
  if (rc < 0) {
    if (ok)
      CloseHandle(pi.hProcess);
    prep_free(&pr);
    return rc;
  }
  for (int i = 0; i < 3; i++)
    if (pr.relay[i].from)
      subproc__relay_start(&pr.relay[i]);
  p->process = pi.hProcess;
  p->pid = pi.dwProcessId;
  p->job = pr.job;
  pr.job = NULL;
  p->new_group = (flags & CREATE_NEW_PROCESS_GROUP) != 0;
  p->args = pr.args;
  pr.args = NULL;
  for (int i = 0; i < 3; i++) {
    p->fds[i] = pr.parent_fd[i];
    pr.parent_fd[i] = -1;
  }
  prep_free(&pr);
  return 0;
}
