/* The readiness poller of subproc_group on POSIX: epoll (Linux) with an
 * eventfd to be woken. A child's exit is its pidfd becoming readable;
 * without pidfds the group looks for exits itself now and then. */
#include "subproc_config.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "posix.h"

#if defined(HAVE_EPOLL)
#include <sys/epoll.h>
#include <sys/eventfd.h>

struct subproc__poller {
  int ep;
  int wake; /* eventfd: readable after subproc__os_poller_wake */
};

/* The wake-up's data: the address of the poller's own wake field. */
static void *wake_tag(subproc__poller *pl) { return &pl->wake; }

int subproc__os_poller_new(subproc__poller **out) {
  subproc__poller *pl = calloc(1, sizeof *pl);
  if (!pl)
    return -ENOMEM;
  pl->ep = subproc__above_std(epoll_create1(EPOLL_CLOEXEC));
  pl->wake = subproc__above_std(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = wake_tag(pl)};
  if (pl->ep < 0 || pl->wake < 0 ||
      epoll_ctl(pl->ep, EPOLL_CTL_ADD, pl->wake, &ev) < 0) {
    int e = errno;
    subproc__os_poller_free(pl);
    return -e;
  }
  *out = pl;
  return 0;
}

void subproc__os_poller_free(subproc__poller *pl) {
  if (!pl)
    return;
  subproc__close_quietly(pl->ep);
  subproc__close_quietly(pl->wake);
  free(pl);
}

int subproc__os_poller_fd(const subproc__poller *pl) { return pl->ep; }
void *subproc__os_poller_handle(const subproc__poller *pl) {
  (void)pl;
  return NULL;
}

static uint32_t epoll_events(int events) {
  return (events & SUBPROC__POLL_IN ? EPOLLIN : 0) |
         (events & SUBPROC__POLL_OUT ? EPOLLOUT : 0) |
         (events & SUBPROC__POLL_ONCE ? EPOLLONESHOT : 0);
}

/* The fd epoll watches: the pipe end, or the child's pidfd. */
static int watched(int fd, subproc__os *os) {
  return os ? (int)os->handle : fd;
}

static int ctl(subproc__poller *pl, int op, int fd, subproc__os *os, int events,
               void *data) {
  struct epoll_event ev = {.events = epoll_events(events), .data.ptr = data};
  int w = watched(fd, os);
  if (w < 0)
    return -ENOSYS; /* a child without a pidfd: the group polls it */
  return epoll_ctl(pl->ep, op, w, &ev) < 0 ? -errno : 0;
}

int subproc__os_poller_add(subproc__poller *pl, int fd, subproc__os *os,
                           int events, void *data) {
  return ctl(pl, EPOLL_CTL_ADD, fd, os, events, data);
}

int subproc__os_poller_mod(subproc__poller *pl, int fd, subproc__os *os,
                           int events, void *data) {
  return ctl(pl, EPOLL_CTL_MOD, fd, os, events, data);
}

int subproc__os_poller_del(subproc__poller *pl, int fd, subproc__os *os) {
  return ctl(pl, EPOLL_CTL_DEL, fd, os, 0, NULL);
}

/* A wake-up is consumed and not reported. */
static int drop_wakeups(subproc__poller *pl, subproc__poll_event *ev, int n) {
  int k = 0;
  for (int i = 0; i < n; i++) {
    if (ev[i].data == wake_tag(pl)) {
      uint64_t v;
      while (read(pl->wake, &v, sizeof v) < 0 && errno == EINTR) {
      }
      continue;
    }
    ev[k++] = ev[i];
  }
  return k;
}

int subproc__os_poller_wait(subproc__poller *pl, subproc__poll_event *ev,
                            int max, double deadline) {
  enum { BATCH = 64 };
  struct epoll_event raw[BATCH];
  int n = epoll_wait(pl->ep, raw, max < BATCH ? max : BATCH,
                     subproc__ms_left(deadline));
  if (n < 0)
    return errno == EINTR ? 0 : -errno;
  for (int i = 0; i < n; i++) {
    ev[i].data = raw[i].data.ptr;
    ev[i].events =
        (raw[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR) ? SUBPROC__POLL_IN
                                                         : 0) |
        (raw[i].events & (EPOLLOUT | EPOLLERR) ? SUBPROC__POLL_OUT : 0);
  }
  return drop_wakeups(pl, ev, n);
}

void subproc__os_poller_wake(subproc__poller *pl) {
  uint64_t one = 1;
  int saved = errno; /* may run in a signal handler */
  while (write(pl->wake, &one, sizeof one) < 0 && errno == EINTR) {
  }
  errno = saved;
}

#else
#error "subproc_group needs epoll: add a poller for this platform"
#endif
