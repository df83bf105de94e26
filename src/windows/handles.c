/* The child's standard handles: pipes, NUL, files and the caller's fds and
 * HANDLEs, the console's own; and the handle list that restricts what the
 * child inherits to them. */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PIPE_BUFFER_DEFAULT (64 * 1024)

static HANDLE track(subproc__plan *pr, HANDLE h) {
  pr->own[pr->n_own++] = h;
  return h;
}

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
 * several at once) and whose child end is an ordinary synchronous handle.
 * A reading parent end is made duplex for its FILE_WRITE_ATTRIBUTES right,
 * which switching it to nonblocking mode needs; the child's end has no
 * right to read it, so the pipe still goes one way. */
/* The parent's end overlapped (a C runtime fd), the child's synchronous. */
int subproc__win_pipe_pair(int parent_reads, DWORD size, int *parent_fd,
                           HANDLE *client_out, subproc_error *err) {
  wchar_t name[96];
  DWORD mode = (parent_reads ? PIPE_ACCESS_DUPLEX : PIPE_ACCESS_OUTBOUND) |
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
  int fd = _open_osfhandle((intptr_t)server,
                           (parent_reads ? _O_RDONLY : _O_WRONLY) | _O_BINARY);
  if (fd < 0) {
    CloseHandle(server);
    CloseHandle(client);
    return subproc__fail_os(err, EMFILE, "pipe", NULL, -1);
  }
  *parent_fd = fd;
  *client_out = client;
  return 0;
}

static int make_pipe(subproc__plan *pr, int i, DWORD size, subproc_error *err) {
  HANDLE client;
  int rc =
      subproc__win_pipe_pair(i != 0, size, &pr->parent_fd[i], &client, err);
  if (rc < 0)
    return rc;
  pr->child[i] = track(pr, client);
  return 0;
}

int subproc__os_output_pipe(long pipesize, int *parent_fd, int *child_fd,
                            subproc_error *err) {
  DWORD size = pipesize > 0 ? (DWORD)pipesize : PIPE_BUFFER_DEFAULT;
  HANDLE client;
  int rc = subproc__win_pipe_pair(1, size, parent_fd, &client, err);
  if (rc < 0)
    return rc;
  *child_fd = _open_osfhandle((intptr_t)client, _O_WRONLY | _O_BINARY);
  if (*child_fd < 0) {
    CloseHandle(client);
    _close(*parent_fd);
    return subproc__fail_os(err, EMFILE, "pipe", NULL, -1);
  }
  return 0;
}

static int get_devnull(subproc__plan *pr, HANDLE *out, subproc_error *err) {
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
  HANDLE h = subproc__win_handle(fd);
  if (h == INVALID_HANDLE_VALUE)
    return subproc__fail(err, -EBADF, EBADF, stream_names[i], NULL, fd,
                         "%s: fd %d is not open", stream_names[i], fd);
  *out = h;
  return 0;
}

static int bad_redirect(int i, const char *what, subproc_error *err) {
  return subproc__fail(err, SUBPROC_EINVAL, 0, stream_names[i], NULL, -1,
                       "%s: %s", stream_names[i], what);
}

int subproc__os_open_redirect(const subproc_redirect *r, int i, int *out,
                              subproc_error *err) {
  if (!r->path)
    return bad_redirect(i, "NULL path", err);
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
  *out = fd;
  return 0;
}

static int open_path(subproc__plan *pr, int i, const subproc_redirect *r,
                     HANDLE *out, subproc_error *err) {
  int fd;
  int rc = subproc__os_open_redirect(r, i, &fd, err);
  if (rc < 0)
    return rc;
  pr->crt_own[i] = fd;
  return handle_of_fd(fd, i, out, err);
}

/* A handle the caller gave: an fd, a FILE (flushed first), a HANDLE. */
static int given_handle(int i, const subproc_redirect *r, HANDLE *out,
                        subproc_error *err) {
  if (r->kind == SUBPROC_FD)
    return handle_of_fd(r->fd, i, out, err);
  if (r->kind == SUBPROC_FILE) {
    if (!r->file)
      return bad_redirect(i, "NULL FILE *", err);
    fflush(r->file);
    return handle_of_fd(_fileno(r->file), i, out, err);
  }
  if (!valid(r->handle))
    return bad_redirect(i, "invalid HANDLE", err);
  *out = r->handle;
  return 0;
}

/* The handle the child is to see as stream i; NULL = left as inherited. */
static int prep_redirect(subproc__plan *pr, int i, const subproc_options *o,
                         subproc_error *err) {
  const subproc_redirect *r = i == 0 ? &o->in : i == 1 ? &o->out : &o->err;
  DWORD size = o->pipesize > 0 ? (DWORD)o->pipesize : PIPE_BUFFER_DEFAULT;
  if (r->kind == SUBPROC_PIPE)
    return make_pipe(pr, i, size, err);
  switch (r->kind) {
  case SUBPROC_INHERIT:
  case SUBPROC_PTY: /* the pseudo console's (plan_handles) */
    return 0;
  case SUBPROC_DEVNULL:
    return get_devnull(pr, &pr->child[i], err);
  case SUBPROC_STDOUT:
    pr->child[i] =
        pr->child[1] ? pr->child[1] : GetStdHandle(STD_OUTPUT_HANDLE);
    return 0;
  case SUBPROC_FD:
  case SUBPROC_FILE:
  case SUBPROC_HANDLE:
    return given_handle(i, r, &pr->child[i], err);
  case SUBPROC_PATH:
    return open_path(pr, i, r, &pr->child[i], err);
  default:
    return subproc__fail(err, SUBPROC_EINVAL, 0, stream_names[i], NULL, -1,
                         "%s: unknown redirection %d", stream_names[i],
                         (int)r->kind);
  }
}

/* An overlapped pipe end (another child's, in a pipeline) reaches the
 * child through a synchronous pipe and a relay. */
static int sync_for_child(subproc__plan *pr, int i, subproc_error *err) {
  HANDLE h = pr->child[i], end;
  if (!valid(h) || !subproc__relay_needed(h))
    return 0;
  int rc = subproc__relay_prepare(&pr->relay[i], h, i == 0, &end, err);
  if (rc == 0)
    pr->child[i] = track(pr, end);
  return rc;
}

static int prep_stream(subproc__plan *pr, int i, const subproc_options *o,
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

static void list_add(subproc__plan *pr, HANDLE h) {
  for (size_t k = 0; k < pr->n_list; k++)
    if (pr->list[k] == h)
      return;
  pr->list[pr->n_list++] = h;
}

/* Stream i's handle src goes to the child as an inheritable duplicate
 * made here (one for a handle two streams share), so the caller's handles
 * are never changed. */
static int pass_on(subproc__plan *pr, int i, const HANDLE *src, int redirected,
                   subproc_error *err) {
  pr->child[i] = src[i];
  if (!listable(src[i]))
    return 0;
  HANDLE dup = NULL;
  for (int j = 0; j < i; j++)
    if (src[j] == src[i] && pr->child[j] != src[j])
      dup = pr->child[j];
  if (!dup) {
    if (!DuplicateHandle(GetCurrentProcess(), src[i], GetCurrentProcess(), &dup,
                         0, TRUE, DUPLICATE_SAME_ACCESS))
      return redirected
                 ? subproc__fail_win(err, GetLastError(), stream_names[i], NULL)
                 : 0; /* an odd inherited handle: passed on as is */
    track(pr, dup);
  }
  pr->child[i] = dup;
  list_add(pr, dup);
  return 0;
}

/* Redirected streams always reach the child; inherited ones too (as the
 * parent's own handles, or startupinfo's with STARTF_USESTDHANDLES) unless
 * the child gets a console of its own. */
static int prep_std_handles(subproc__plan *pr, const subproc_options *o,
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
  /* A pty stream's handle is NULL: the child connects it to the pseudo
   * console (Windows; Wine 8 leaves it NULL, see docs/windows.md). */
  int pty = subproc__pty_streams(o);
  pr->use_std = any || user_std || !own_console || pty;
  HANDLE user[3] = {si ? si->hStdInput : NULL, si ? si->hStdOutput : NULL,
                    si ? si->hStdError : NULL};
  HANDLE src[3];
  for (int i = 0; i < 3 && pr->use_std; i++) {
    src[i] = pty >> i & 1    ? NULL
             : redirected[i] ? pr->child[i]
             : user_std      ? user[i]
                             : GetStdHandle(std_ids[i]);
    int rc = pass_on(pr, i, src, redirected[i], err);
    if (rc < 0)
      return rc;
  }
  return 0;
}

/* PROC_THREAD_ATTRIBUTE_HANDLE_LIST (with_list): the child inherits
 * pr->list only; PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE with a pty. */
static int prep_attrs(subproc__plan *pr, int with_list, subproc_error *err) {
  DWORD n = (DWORD)(with_list + (pr->pty != NULL));
  SIZE_T size = 0;
  if (n == 0)
    return 0;
  InitializeProcThreadAttributeList(NULL, n, 0, &size);
  if (!(pr->attrs = malloc(size)))
    return subproc__fail_os(err, ENOMEM, "startupinfo", NULL, -1);
  if (!InitializeProcThreadAttributeList(pr->attrs, n, 0, &size)) {
    DWORD e = GetLastError();
    free(pr->attrs);
    pr->attrs = NULL;
    return subproc__fail_win(err, e, "startupinfo", NULL);
  }
  if (with_list && !UpdateProcThreadAttribute(
                       pr->attrs, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST,
                       pr->list, pr->n_list * sizeof *pr->list, NULL, NULL))
    return subproc__fail_win(err, GetLastError(), "startupinfo", NULL);
  pr->flags |= EXTENDED_STARTUPINFO_PRESENT;
  return pr->pty ? subproc__conpty_attribute(pr, err) : 0;
}

/* close_fds semantics: only the listed handles are inherited. keep_fds
 * (close_fds=False) without a handle_list inherits every inheritable one. */
int subproc__plan_handles(subproc__plan *pr, const subproc_options *o,
                          subproc_error *err) {
  const subproc_startupinfo *si = o->startupinfo;
  size_t extra = 0;
  while (si && si->handle_list && si->handle_list[extra])
    extra++;
  if (!(pr->list = calloc(3 + extra, sizeof *pr->list)))
    return subproc__fail_os(err, ENOMEM, "startupinfo", NULL, -1);
  int rc = subproc__pty_streams(o) ? subproc__conpty_plan(pr, o, err) : 0;
  if (rc == 0)
    rc = prep_std_handles(pr, o, err);
  if (rc < 0)
    return rc;
  for (size_t k = 0; k < extra; k++)
    if (listable(si->handle_list[k]))
      list_add(pr, si->handle_list[k]);
  if (o->keep_fds && extra == 0) {
    pr->inherit = TRUE;
    return prep_attrs(pr, 0, err);
  }
  pr->inherit = pr->n_list > 0;
  return prep_attrs(pr, pr->inherit, err);
}
