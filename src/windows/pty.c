/* SUBPROC_PTY on Windows: a pseudo console (ConPTY, Windows 10 1809) per
 * child. The console reads what the parent types from one pipe and writes
 * what it shows, as VT sequences, into another; the parent keeps the
 * input's write end (stdin) and the output's read end (stdout, or stderr
 * when only stderr is a pty), both overlapped like every PIPE end
 * (handles.c), so communicate, groups and pollers read them as pipes.
 *
 * The console's own pipe ends stay with the console (conhost), so a pipe
 * never ends by itself: the console is closed when the child exits (a
 * thread-pool wait on the process), which ends the output pipe (EOF), and
 * at hang-up (subproc_close/subproc_free closing the object's fd), which
 * also ends a child still running. The object's fd is a duplicate of the
 * output's read end, found by its number in a list here. The console's
 * input pipe must not break before that (conhost would end the console and
 * the child with it), so the object keeps a duplicate of its write end:
 * closing stdin types the console's end of file instead.
 *
 * The three functions are looked up at run time, so the library loads
 * where they are missing; there a spawn fails with -ENOSYS (step "pty"). */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <stdlib.h>
#include <string.h>

#ifndef PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE
#define PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE 0x00020016 /* 22, input */
#endif

#define PTY_BUFFER (64 * 1024)
#define DEFAULT_ROWS 25
#define DEFAULT_COLS 80

typedef HRESULT(WINAPI *create_fn)(COORD, HANDLE, HANDLE, DWORD, void **);
typedef HRESULT(WINAPI *resize_fn)(void *, COORD);
typedef void(WINAPI *close_fn)(void *);

struct subproc__conpty {
  SRWLOCK lock; /* hpc: the exit wait closes it, resize uses it */
  void *hpc;    /* the HPCON; NULL once closed */
  resize_fn resize;
  close_fn close;
  unsigned short rows, cols; /* the size now */
  HANDLE in_keep;            /* the input pipe's write end, kept to hang-up */
  HANDLE process, wait;      /* the child (a duplicate) and its exit wait */
  int fd;                    /* the object's fd: the output's read end */
  volatile LONG ends; /* the exit wait and the hang-up: the second frees */
  struct subproc__conpty *next;
};

static SRWLOCK list_lock = SRWLOCK_INIT;
static subproc__conpty *list_head;
static volatile LONG n_listed;

static int pty_fail(subproc_error *err, DWORD winerr, const char *what) {
  int e = subproc__errno_of(winerr);
  return subproc__fail(err, -e, e, "pty", NULL, -1,
                       "pty: %s failed [WinError %lu]", what,
                       (unsigned long)winerr);
}

static FARPROC kernel32_fn(const char *name) {
  HMODULE k = GetModuleHandleW(L"kernel32.dll");
  return k ? GetProcAddress(k, name) : NULL;
}

static void close_console(subproc__conpty *c) {
  AcquireSRWLockExclusive(&c->lock);
  void *h = c->hpc;
  c->hpc = NULL;
  ReleaseSRWLockExclusive(&c->lock);
  /* May wait for the output to be drained (before Windows 11 24H2): the
   * parent's reader, or the reader's close at hang-up, ends that wait. */
  if (h)
    c->close(h);
}

static void release(subproc__conpty *c) {
  if (c->in_keep)
    CloseHandle(c->in_keep);
  if (c->process)
    CloseHandle(c->process);
  if (c->fd >= 0)
    _close(c->fd);
  free(c);
}

/* Its last touch of c is the count: the hang-up may free c after it. */
static void CALLBACK child_exited(void *arg, BOOLEAN timed_out) {
  subproc__conpty *c = arg;
  (void)timed_out;
  close_console(c);
  if (InterlockedIncrement(&c->ends) == 2)
    release(c);
}

/* Never waits for the exit wait's callback, which may be waiting in
 * ClosePseudoConsole (a console that never ends, as Wine's can): then the
 * callback frees c when it returns. */
static void conpty_free(subproc__conpty *c) {
  if (c->wait && !UnregisterWaitEx(c->wait, NULL) &&
      GetLastError() == ERROR_IO_PENDING) { /* the callback is running */
    if (InterlockedIncrement(&c->ends) == 2)
      release(c);
    return;
  }
  close_console(c); /* the callback has run, or never will */
  release(c);
}

static COORD size_of(unsigned short rows, unsigned short cols) {
  COORD size;
  size.X = (SHORT)(cols ? cols > 0x7fff ? 0x7fff : cols : DEFAULT_COLS);
  size.Y = (SHORT)(rows ? rows > 0x7fff ? 0x7fff : rows : DEFAULT_ROWS);
  return size;
}

static int dup_handle(HANDLE h, HANDLE *out) {
  return DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), out, 0,
                         FALSE, DUPLICATE_SAME_ACCESS)
             ? 0
             : -1;
}

/* The output's read end out_fd goes to stdout (or stderr when only stderr
 * is a pty) and the object gets a duplicate; with neither, it is the
 * object's fd itself. */
static int place_output(subproc__plan *pr, subproc__conpty *c, int pty,
                        int out_fd, subproc_error *err) {
  int stream = pty & 2 ? 1 : pty & 4 ? 2 : -1;
  if (stream < 0) {
    c->fd = out_fd;
    return 0;
  }
  pr->parent_fd[stream] = out_fd;
  HANDLE dup;
  if (dup_handle(subproc__win_handle(out_fd), &dup) < 0)
    return pty_fail(err, GetLastError(), "DuplicateHandle");
  if ((c->fd = _open_osfhandle((intptr_t)dup, _O_RDONLY | _O_BINARY)) < 0) {
    CloseHandle(dup);
    return subproc__fail_os(err, EMFILE, "pty", NULL, -1);
  }
  return 0;
}

/* The input's write end in_fd goes to stdin when stdin is a pty (the
 * object keeps a duplicate); otherwise the object keeps it alone. */
static int place_input(subproc__plan *pr, subproc__conpty *c, int pty,
                       int in_fd, subproc_error *err) {
  HANDLE h = subproc__win_handle(in_fd);
  if (!(pty & 1)) {
    if (dup_handle(h, &c->in_keep) < 0) {
      DWORD e = GetLastError();
      _close(in_fd);
      return pty_fail(err, e, "DuplicateHandle");
    }
    _close(in_fd);
    return 0;
  }
  pr->parent_fd[0] = in_fd;
  return dup_handle(h, &c->in_keep) < 0
             ? pty_fail(err, GetLastError(), "DuplicateHandle")
             : 0;
}

static int open_console(subproc__conpty *c, const subproc_options *o,
                        HANDLE in_read, HANDLE out_write, create_fn create,
                        subproc_error *err) {
  c->rows = (unsigned short)size_of(o->pty.rows, o->pty.cols).Y;
  c->cols = (unsigned short)size_of(o->pty.rows, o->pty.cols).X;
  HRESULT hr =
      create(size_of(o->pty.rows, o->pty.cols), in_read, out_write, 0, &c->hpc);
  if (FAILED(hr)) {
    c->hpc = NULL;
    DWORD e = HRESULT_FACILITY(hr) == FACILITY_WIN32 ? (DWORD)HRESULT_CODE(hr)
                                                     : ERROR_GEN_FAILURE;
    int ev = subproc__errno_of(e);
    return subproc__fail(err, -ev, ev, "pty", NULL, -1,
                         "pty: CreatePseudoConsole failed (HRESULT 0x%08lx)",
                         (unsigned long)hr);
  }
  return 0;
}

int subproc__conpty_available(void) {
  return !(subproc__test_flags() & SUBPROC__NO_CONPTY) &&
         kernel32_fn("CreatePseudoConsole") &&
         kernel32_fn("ResizePseudoConsole") &&
         kernel32_fn("ClosePseudoConsole");
}

int subproc__conpty_plan(subproc__plan *pr, const subproc_options *o,
                         subproc_error *err) {
  if (!subproc__conpty_available())
    return subproc__fail(err, -ENOSYS, ENOSYS, "pty", NULL, -1,
                         "pty: ConPTY (CreatePseudoConsole, Windows 10 1809) "
                         "not available");
  subproc__conpty *c = calloc(1, sizeof *c);
  if (!c)
    return subproc__fail_os(err, ENOMEM, "pty", NULL, -1);
  InitializeSRWLock(&c->lock);
  c->fd = -1;
  c->resize = (resize_fn)(void (*)(void))kernel32_fn("ResizePseudoConsole");
  c->close = (close_fn)(void (*)(void))kernel32_fn("ClosePseudoConsole");
  create_fn create =
      (create_fn)(void (*)(void))kernel32_fn("CreatePseudoConsole");
  pr->pty = c;
  int pty = subproc__pty_streams(o), in_fd, out_fd;
  HANDLE in_read, out_write;
  int rc = subproc__win_pipe_pair(0, PTY_BUFFER, &in_fd, &in_read, err);
  if (rc < 0)
    return rc;
  rc = place_input(pr, c, pty, in_fd, err);
  if (rc == 0)
    rc = subproc__win_pipe_pair(1, PTY_BUFFER, &out_fd, &out_write, err);
  if (rc < 0) {
    CloseHandle(in_read);
    return rc;
  }
  rc = place_output(pr, c, pty, out_fd, err);
  if (rc == 0)
    rc = open_console(c, o, in_read, out_write, create, err);
  /* The console has its own duplicates of its ends. */
  CloseHandle(in_read);
  CloseHandle(out_write);
  return rc;
}

int subproc__conpty_attribute(subproc__plan *pr, subproc_error *err) {
  if (!UpdateProcThreadAttribute(pr->attrs, 0,
                                 PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE,
                                 pr->pty->hpc, sizeof pr->pty->hpc, NULL, NULL))
    return pty_fail(err, GetLastError(), "UpdateProcThreadAttribute");
  return 0;
}

int subproc__conpty_start(subproc__plan *pr, HANDLE process,
                          subproc_error *err) {
  subproc__conpty *c = pr->pty;
  if (dup_handle(process, &c->process) < 0)
    return pty_fail(err, GetLastError(), "DuplicateHandle");
  if (!RegisterWaitForSingleObject(&c->wait, c->process, child_exited, c,
                                   INFINITE,
                                   WT_EXECUTEONLYONCE | WT_EXECUTELONGFUNCTION))
    return pty_fail(err, GetLastError(), "RegisterWaitForSingleObject");
  return 0;
}

int subproc__conpty_hand_over(subproc__plan *pr) {
  subproc__conpty *c = pr->pty;
  pr->pty = NULL;
  AcquireSRWLockExclusive(&list_lock);
  c->next = list_head;
  list_head = c;
  InterlockedIncrement(&n_listed);
  ReleaseSRWLockExclusive(&list_lock);
  return c->fd;
}

void subproc__conpty_discard(subproc__conpty *c) {
  if (c)
    conpty_free(c);
}

/* The listed object whose fd is fd, unlinked when take; NULL if none. */
static subproc__conpty *find(int fd, int take) {
  if (InterlockedCompareExchange(&n_listed, 0, 0) == 0)
    return NULL;
  subproc__conpty *c;
  AcquireSRWLockExclusive(&list_lock);
  subproc__conpty **at = &list_head;
  while ((c = *at) && c->fd != fd)
    at = &c->next;
  if (c && take) {
    *at = c->next;
    InterlockedDecrement(&n_listed);
  }
  ReleaseSRWLockExclusive(&list_lock);
  return c;
}

/* The hang-up: the object's read end goes first, so a console waiting
 * for its output to be drained gets a broken pipe instead, then the
 * console (ending the child if it still runs). */
int subproc__conpty_close_fd(int fd) {
  subproc__conpty *c = find(fd, 1);
  if (!c)
    return 0;
  int rc = _close(c->fd) < 0 ? -errno : 0;
  c->fd = -1;
  conpty_free(c);
  return rc < 0 ? rc : 1;
}

int subproc__os_set_winsize(int fd, unsigned short rows, unsigned short cols) {
  subproc__conpty *c = find(fd, 0);
  if (!c)
    return -EINVAL;
  /* Only the object's owner closes it: c stays valid during this call. */
  AcquireSRWLockExclusive(&c->lock);
  int rc = -EIO; /* the console closed when the child exited */
  if (c->hpc) {
    COORD size = size_of(rows ? rows : c->rows, cols ? cols : c->cols);
    HRESULT hr = c->resize(c->hpc, size);
    rc = hr == E_NOTIMPL ? -ENOSYS : FAILED(hr) ? -EINVAL : 0; /* Wine 8 */
    if (rc == 0) {
      c->rows = (unsigned short)size.Y;
      c->cols = (unsigned short)size.X;
    }
  }
  ReleaseSRWLockExclusive(&c->lock);
  return rc;
}

/* The console's end of file: ^Z and Enter, which a console program's
 * line input (ReadConsole, the C runtime's text-mode reads) takes for the
 * end of its input; after a partial line too (that line is read first). */
void subproc__os_pty_eof(int fd, int partial) {
  (void)partial;
  static const char eof[] = "\x1a\r";
  subproc__os_write_all(fd, eof, sizeof eof - 1);
}
