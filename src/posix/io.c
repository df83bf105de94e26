/* Pipe I/O on POSIX: one poll over the pipe ends (and the pidfd), reads and
 * non-blocking writes, SIGPIPE contained in the calling thread, and FILE
 * streams on the core's functions (fopencookie). */
#include "subproc_config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "posix.h"

/* Without a pidfd to watch, the child's exit is looked for this often. */
#define EXIT_POLL_MS 20

/* A pty master (SUBPROC_PTY) fails reads with EIO once no process has
 * the slave open: its EOF. Pipes never give EIO, so only that error path
 * pays for the isatty. */
static int pty_hung_up(int fd, int e) { return e == EIO && isatty(fd); }

/* One read or write on an entry poll found ready (revents). */
static int move(subproc__io *io, short revents) {
  if (io->writing && (revents & POLLHUP)) {
    /* A pty whose slave is closed: writes would fill its buffer, then
     * stall for ever. (A pipe's write end reports POLLERR instead.) */
    io->eof = 1;
    return 1;
  }
  ssize_t r = io->writing ? write(io->fd, io->buf, io->len)
                          : read(io->fd, io->buf, io->len);
  if (r > 0)
    io->done = (size_t)r;
  else if (r == 0 && !io->writing)
    io->eof = 1;
  else if (r < 0 && errno == EPIPE && io->writing)
    io->eof = 1; /* no reader left */
  else if (r < 0 && !io->writing && pty_hung_up(io->fd, errno))
    io->eof = 1;
  else if (r < 0 && errno != EINTR && errno != EAGAIN)
    io->os_errno = errno;
  return io->done || io->eof || io->os_errno;
}

int subproc__os_io(subproc__io *io, size_t n, subproc__os *exit_watch,
                   double deadline) {
  struct pollfd pfd[4];
  size_t k = 0;
  for (size_t i = 0; i < n && k < 3; i++) {
    io[i].done = 0, io[i].eof = 0, io[i].os_errno = 0;
    pfd[k++] = (struct pollfd){io[i].fd, io[i].writing ? POLLOUT : POLLIN, 0};
  }
  int ms = subproc__ms_left(deadline);
  if (exit_watch && exit_watch->handle >= 0)
    pfd[k++] = (struct pollfd){(int)exit_watch->handle, POLLIN, 0};
  else if (exit_watch && (ms < 0 || ms > EXIT_POLL_MS))
    ms = EXIT_POLL_MS;
  int r = poll(pfd, (nfds_t)k, ms);
  if (r < 0)
    return errno == EINTR ? 0 : -errno;
  int moved = 0;
  for (size_t i = 0; i < n && r > 0; i++)
    if (pfd[i].revents)
      moved += move(&io[i], pfd[i].revents);
  return moved;
}

int subproc__os_set_nonblocking(int fd, int on) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0)
    return -errno;
  int want = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
  if (want != fl && fcntl(fd, F_SETFL, want) < 0)
    return -errno;
  return 0;
}

int subproc__os_close_fd(int fd) {
  /* Linux closes the fd even when close() reports EINTR: never retry. */
  return close(fd) < 0 && errno != EINTR ? -errno : 0;
}

long subproc__os_read(int fd, char *buf, size_t n) {
  ssize_t r;
  do
    r = read(fd, buf, n);
  while (r < 0 && errno == EINTR);
  if (r < 0 && pty_hung_up(fd, errno))
    return 0;
  return (long)r;
}

int subproc__os_write_all(int fd, const char *buf, size_t n) {
  subproc__sigpipe g;
  subproc__os_sigpipe_begin(&g);
  int rc = subproc__write_all(fd, buf, n);
  int e = errno;
  subproc__os_sigpipe_end(&g, rc < 0 && e == EPIPE);
  errno = e;
  return rc;
}

/* ------------------------------------------------------------------ */
/* Pseudo-terminals                                                    */
/* ------------------------------------------------------------------ */

int subproc__os_set_winsize(int fd, unsigned short rows, unsigned short cols) {
  struct winsize ws;
  if (ioctl(fd, TIOCGWINSZ, &ws) < 0)
    return -errno;
  if (rows)
    ws.ws_row = rows;
  if (cols)
    ws.ws_col = cols;
  return ioctl(fd, TIOCSWINSZ, &ws) < 0 ? -errno : 0;
}

/* termios calls on the master act on the pair (the slave's settings). The
 * fds on the master share one file description, so O_NONBLOCK is put
 * back as it was. */
void subproc__os_pty_eof(int fd, int partial) {
  struct termios t;
  if (tcgetattr(fd, &t) < 0 || !(t.c_lflag & ICANON) ||
      t.c_cc[VEOF] == _POSIX_VDISABLE)
    return;
  char eof[2] = {(char)t.c_cc[VEOF], (char)t.c_cc[VEOF]};
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0))
    return;
  ssize_t w;
  do
    w = write(fd, eof, partial ? 2 : 1);
  while (w < 0 && errno == EINTR);
  if (!(fl & O_NONBLOCK))
    fcntl(fd, F_SETFL, fl);
}

/* ------------------------------------------------------------------ */
/* SIGPIPE                                                             */
/* ------------------------------------------------------------------ */

void subproc__os_sigpipe_begin(subproc__sigpipe *g) {
  sigset_t pipe_set, old, pending;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  sigpending(&pending);
  g->was_pending = sigismember(&pending, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  g->was_blocked = sigismember(&old, SIGPIPE);
}

void subproc__os_sigpipe_end(subproc__sigpipe *g, int got_epipe) {
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  if (got_epipe && !g->was_pending) {
    /* Consume the SIGPIPE our write raised (thread-directed, so it is
     * pending for this thread only). */
    static const struct timespec zero = {0, 0};
    while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR) {
    }
  }
  if (!g->was_blocked)
    pthread_sigmask(SIG_UNBLOCK, &pipe_set, NULL);
}

/* ------------------------------------------------------------------ */
/* FILE streams                                                        */
/* ------------------------------------------------------------------ */

#if defined(HAVE_FOPENCOOKIE)
static const subproc__cookie_fns *fns_of(void *c) {
  return *(const subproc__cookie_fns *const *)c;
}

static ssize_t tramp_read(void *c, char *buf, size_t n) {
  return fns_of(c)->read(c, buf, n);
}

static ssize_t tramp_write(void *c, const char *buf, size_t n) {
  return fns_of(c)->write(c, buf, n);
}

static int tramp_close(void *c) { return fns_of(c)->close(c); }
#endif

FILE *subproc__os_fopencookie(const subproc__cookie_fns *const *cookie,
                              const char *mode) {
#if defined(HAVE_FOPENCOOKIE)
  cookie_io_functions_t io = {.read = (*cookie)->read ? tramp_read : NULL,
                              .write = (*cookie)->write ? tramp_write : NULL,
                              .close = tramp_close};
  return fopencookie((void *)cookie, mode, io);
#else
  (void)cookie, (void)mode;
  errno = ENOSYS;
  return NULL;
#endif
}

FILE *subproc__os_fdopen(int fd, const char *mode) {
  /* "b" means nothing here; fdopen takes it. */
  return fdopen(fd, mode);
}

int subproc__os_fileno(FILE *f) { return fileno(f); }
