/* System calls with EINTR and partial I/O handled, in one place; the
 * clock; fds that never land on 0-2; the test knobs. */
#include "subproc_config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "posix.h"

ssize_t subproc__read_full(int fd, void *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, (char *)buf + got, n - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return -1;
    if (r == 0)
      break;
    got += (size_t)r;
  }
  return (ssize_t)got;
}

int subproc__write_all(int fd, const void *buf, size_t n) {
  const char *p = buf;
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int subproc__dup2(int from, int to) {
  int r;
  do
    r = dup2(from, to);
  while (r < 0 && errno == EINTR);
  return r;
}

void subproc__close_quietly(int fd) {
  if (fd >= 0) {
    int saved = errno;
    close(fd);
    errno = saved;
  }
}

/* open() of a FIFO blocks until the other side opens it, and a signal
 * may interrupt that. */
int subproc__open(const char *path, int flags, mode_t mode) {
  int fd;
  do
    fd = open(path, flags | O_CLOEXEC, mode);
  while (fd < 0 && errno == EINTR);
  return fd < 0 ? -1 : subproc__above_std(fd);
}

int subproc__above_std(int fd) {
  if (fd < 0 || fd > 2)
    return fd;
  int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  subproc__close_quietly(fd);
  return moved;
}

int subproc__pipe(int fds[2]) {
#if defined(HAVE_PIPE2)
  if (pipe2(fds, O_CLOEXEC) < 0)
    return -1;
#else
  /* Not atomic with a concurrent fork elsewhere: platforms without pipe2. */
  if (pipe(fds) < 0)
    return -1;
  fcntl(fds[0], F_SETFD, FD_CLOEXEC);
  fcntl(fds[1], F_SETFD, FD_CLOEXEC);
#endif
  fds[0] = subproc__above_std(fds[0]);
  fds[1] = subproc__above_std(fds[1]);
  if (fds[0] >= 0 && fds[1] >= 0)
    return 0;
  subproc__close_quietly(fds[0]);
  subproc__close_quietly(fds[1]);
  return -1;
}

static atomic_flag devnull_lock = ATOMIC_FLAG_INIT;
static int devnull_fd = -1;
static long devnull_users;

static void devnull_lock_take(void) {
  while (atomic_flag_test_and_set_explicit(&devnull_lock, memory_order_acquire))
    sched_yield();
}

int subproc__devnull_acquire(void) {
  devnull_lock_take();
  if (devnull_fd < 0)
    devnull_fd = subproc__open("/dev/null", O_RDWR, 0);
  int fd = devnull_fd;
  if (fd >= 0)
    devnull_users++;
  atomic_flag_clear_explicit(&devnull_lock, memory_order_release);
  return fd;
}

void subproc__devnull_release(void) {
  devnull_lock_take();
  if (--devnull_users == 0) {
    subproc__close_quietly(devnull_fd);
    devnull_fd = -1;
  }
  atomic_flag_clear_explicit(&devnull_lock, memory_order_release);
}

double subproc__now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void subproc__os_yield(void) { sched_yield(); }

int subproc__os_cpu_count(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 && n < 65536 ? (int)n : 1;
}

static atomic_int test_flags;
void subproc__set_test_flags(int flags) { atomic_store(&test_flags, flags); }
int subproc__test_flags(void) { return atomic_load(&test_flags); }
