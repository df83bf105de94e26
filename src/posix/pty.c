/* The pseudo-terminal of the SUBPROC_PTY streams, opened in the parent
 * before the spawn (issue 12): the master, which the parent keeps, and the
 * slave, which the child gets as its standard streams and then takes as
 * its controlling terminal (src/posix/child.c), with the window size and
 * the mode the options ask for already set on it. */
#include "subproc_config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "spawn.h"

static int pty_fail(subproc_error *err, int e, const char *what) {
  return subproc__fail(err, -e, e, "pty", NULL, -1, "pty: %s: %s", what,
                       strerror(e));
}

/* Close-on-exec from birth where posix_openpt takes O_CLOEXEC (glibc and
 * musl pass the flags to open("/dev/ptmx")); elsewhere FD_CLOEXEC at once
 * (not atomic with a concurrent fork in another thread there). */
static int open_master(void) {
  int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0 && errno == EINVAL) {
    fd = posix_openpt(O_RDWR | O_NOCTTY);
    if (fd >= 0 && fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
      subproc__close_quietly(fd);
      return -1;
    }
  }
  return fd < 0 ? -1 : subproc__above_std(fd);
}

/* The slave's path: ptsname_r where there is one; plain ptsname (static
 * storage) elsewhere. */
static int slave_name(int master, char *buf, size_t size) {
#if defined(HAVE_PTSNAME_R)
  int e = ptsname_r(master, buf, size);
  if (e != 0) {
    errno = e;
    return -1;
  }
  return 0;
#else
  const char *name = ptsname(master);
  if (!name)
    return -1;
  if (strlen(name) >= size) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(buf, name, strlen(name) + 1);
  return 0;
#endif
}

/* O_NOCTTY: the parent must not take the terminal as its own. Linux
 * (4.13) opens the slave from the master itself, with no path to look up
 * (which may name another /dev/pts in a container). */
static int open_slave(int master, subproc_error *err) {
  if (grantpt(master) < 0)
    return pty_fail(err, errno, "grantpt");
  if (unlockpt(master) < 0)
    return pty_fail(err, errno, "unlockpt");
#if defined(TIOCGPTPEER)
  int fd = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd >= 0) {
    fd = subproc__above_std(fd);
    return fd < 0 ? pty_fail(err, errno, "TIOCGPTPEER") : fd;
  }
#endif
  char name[128];
  if (slave_name(master, name, sizeof name) < 0)
    return pty_fail(err, errno, "ptsname");
  int slave = subproc__open(name, O_RDWR | O_NOCTTY, 0);
  return slave < 0 ? pty_fail(err, errno, "open slave") : slave;
}

/* What cfmakeraw sets (not in POSIX, so spelled out): bytes go through
 * unchanged both ways, one at a time. */
static void make_raw(struct termios *t) {
  t->c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR |
                            ICRNL | IXON);
  t->c_oflag &= ~(tcflag_t)OPOST;
  t->c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
  t->c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
  t->c_cflag |= CS8;
  t->c_cc[VMIN] = 1;
  t->c_cc[VTIME] = 0;
}

static int apply_options(int slave, const subproc_options *o,
                         subproc_error *err) {
  if (o->pty.rows || o->pty.cols) {
    int rc = subproc__os_set_winsize(slave, o->pty.rows, o->pty.cols);
    if (rc < 0)
      return pty_fail(err, -rc, "TIOCSWINSZ");
  }
  if (o->pty.raw) {
    struct termios t;
    if (tcgetattr(slave, &t) < 0)
      return pty_fail(err, errno, "tcgetattr");
    make_raw(&t);
    if (tcsetattr(slave, TCSANOW, &t) < 0)
      return pty_fail(err, errno, "tcsetattr");
  }
  return 0;
}

int subproc__pty_open(const subproc_options *o, int *master, int *slave,
                      subproc_error *err) {
#if !defined(TIOCSCTTY)
  (void)o, (void)master, (void)slave;
  return subproc__fail(err, SUBPROC_EINVAL, 0, "pty", NULL, -1,
                       "pty: SUBPROC_PTY is not supported on this system "
                       "(no TIOCSCTTY)");
#else
  int m = open_master();
  if (m < 0)
    return pty_fail(err, errno, "posix_openpt");
  int s = open_slave(m, err);
  int rc = s < 0 ? s : apply_options(s, o, err);
  if (rc < 0) {
    subproc__close_quietly(m);
    subproc__close_quietly(s);
    return rc;
  }
  *master = m;
  *slave = s;
  return 0;
#endif
}
