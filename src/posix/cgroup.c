/* Containment in a cgroup v2 (Linux), the parent's side: the cgroup the
 * child starts in is opened (and with cgroup_parent created, limits
 * written) while the plan is prepared; spawn.c hands its directory fd to
 * clone3(CLONE_INTO_CGROUP); a fresh cgroup then belongs to the child's
 * object, which kills through it (cgroup.kill) and, once the child is
 * reaped, kills what is left, reads the statistics and removes it.
 *
 * Nothing here runs unless a cgroup option is set: a spawn without one
 * makes no extra system call. */
#include "subproc_config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spawn.h"

#if defined(HAVE_CGROUP2)
#if defined(HAVE_LINUX_MAGIC_H)
#include <linux/magic.h>
#endif
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270 /* the kernel's, <linux/magic.h> */
#endif
#include <sys/vfs.h>

/* How long the reap waits for what cgroup.kill killed to be gone before
 * it removes the cgroup (a process in uninterruptible sleep can take that
 * long; the cgroup is then left in place, empty once it dies). */
#define DRAIN_WAIT_S 2.0

struct subproc__cgroup {
  int dir;     /* the cgroup's directory: O_RDONLY|O_DIRECTORY|O_CLOEXEC */
  int procs;   /* cgroup.procs for the move fallback, -1 if not opened */
  int own;     /* created here: killed, read and removed after the reap */
  char path[]; /* the directory's path (for rmdir) */
};

/* Unique names across threads (the counter) and processes (the pid). */
static atomic_uint cgroup_counter;

static void cgroup_free(subproc__cgroup *cg) {
  subproc__close_quietly(cg->dir);
  subproc__close_quietly(cg->procs);
  free(cg);
}

static subproc__cgroup *cgroup_alloc(const char *dir, const char *name) {
  size_t n = strlen(dir), m = name ? strlen(name) + 1 : 0;
  subproc__cgroup *cg = malloc(sizeof *cg + n + m + 1);
  if (!cg)
    return NULL;
  memcpy(cg->path, dir, n);
  if (name) {
    cg->path[n] = '/';
    memcpy(cg->path + n + 1, name, m);
  }
  cg->path[n + m] = '\0';
  cg->dir = cg->procs = -1;
  cg->own = 0;
  return cg;
}

/* The directory at path, which must be a cgroup v2 one. */
static int open_cgroup_dir(const char *path, subproc_error *err) {
  int fd = subproc__open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd >= 0)
    fd = subproc__above_std(fd);
  if (fd < 0)
    return subproc__fail_os(err, errno, "cgroup", path, -1);
  struct statfs fs;
  int rc;
  do
    rc = fstatfs(fd, &fs);
  while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    rc = subproc__fail_os(err, errno, "cgroup", path, -1);
    subproc__close_quietly(fd);
    return rc;
  }
  if (fs.f_type != CGROUP2_SUPER_MAGIC) {
    subproc__close_quietly(fd);
    return subproc__fail(err, SUBPROC_EINVAL, 0, "cgroup", path, -1,
                         "cgroup '%.160s': not a cgroup v2 directory (see "
                         "/proc/self/mountinfo for the cgroup2 mount)",
                         path);
  }
  return fd;
}

/* One limit of the fresh cgroup. The file exists only where the parent
 * enables the controller for its children. */
static int write_limit(subproc__cgroup *cg, const char *parent,
                       const char *field, const char *file, const char *ctl,
                       const char *value, subproc_error *err) {
  int fd;
  do
    fd = openat(cg->dir, file, O_WRONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0 && errno == ENOENT)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "cgroup", parent, -1,
                         "cgroup: %s needs the %s controller, which is not "
                         "enabled in '%.140s/cgroup.subtree_control'",
                         field, ctl, parent);
  if (fd < 0)
    return subproc__fail(err, -errno, errno, "cgroup", parent, -1,
                         "cgroup: %s: %s", file, strerror(errno));
  int rc = subproc__write_all(fd, value, strlen(value));
  int saved = errno;
  subproc__close_quietly(fd);
  if (rc < 0)
    return subproc__fail(err, -saved, saved, "cgroup", parent, -1,
                         "cgroup: %s: writing '%s' to %s: %s", field, value,
                         file, strerror(saved));
  return 0;
}

static int write_limits(subproc__cgroup *cg, const subproc_options *o,
                        subproc_error *err) {
  char v[64];
  const char *parent = o->cgroup_parent;
  int rc = 0;
  if (o->cgroup_memory_max > 0) {
    snprintf(v, sizeof v, "%lld", o->cgroup_memory_max);
    rc = write_limit(cg, parent, "cgroup_memory_max", "memory.max", "memory", v,
                     err);
  }
  if (rc == 0 && o->cgroup_pids_max > 0) {
    snprintf(v, sizeof v, "%lld", o->cgroup_pids_max);
    rc = write_limit(cg, parent, "cgroup_pids_max", "pids.max", "pids", v, err);
  }
  if (rc == 0 && o->cgroup_cpu_max > 0) {
    /* Validated to [0.01, 1e6] CPUs: the quota fits easily. */
    long long quota = (long long)(o->cgroup_cpu_max * 100000.0 + 0.5);
    snprintf(v, sizeof v, "%lld 100000", quota);
    rc = write_limit(cg, parent, "cgroup_cpu_max", "cpu.max", "cpu", v, err);
  }
  return rc;
}

/* subproc-<pid>-<n> under the parent; a name left by a dead process
 * with the same pid is skipped. */
static int create_child(int parent_fd, const subproc_options *o,
                        subproc__cgroup **out, subproc_error *err) {
  char name[64];
  for (int tries = 0;; tries++) {
    unsigned n = atomic_fetch_add(&cgroup_counter, 1U);
    snprintf(name, sizeof name, "subproc-%ld-%u", (long)getpid(), n);
    if (mkdirat(parent_fd, name, 0755) == 0)
      break;
    if (errno != EEXIST || tries >= 100)
      return subproc__fail_os(err, errno, "cgroup", o->cgroup_parent, -1);
  }
  subproc__cgroup *cg = cgroup_alloc(o->cgroup_parent, name);
  int rc = cg ? 0 : subproc__fail_os(err, ENOMEM, "cgroup", NULL, -1);
  if (rc == 0) {
    cg->own = 1;
    int fd;
    do
      fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    cg->dir = fd < 0 ? -1 : subproc__above_std(fd);
    if (cg->dir < 0)
      rc = subproc__fail_os(err, errno, "cgroup", o->cgroup_parent, -1);
  }
  if (rc == 0)
    rc = write_limits(cg, o, err);
  if (rc < 0) {
    unlinkat(parent_fd, name, AT_REMOVEDIR);
    if (cg)
      cgroup_free(cg);
    return rc;
  }
  *out = cg;
  return 0;
}

static int open_procs(subproc__cgroup *cg, const char *path,
                      subproc_error *err) {
  int fd;
  do
    fd = openat(cg->dir, "cgroup.procs", O_WRONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  cg->procs = fd < 0 ? -1 : subproc__above_std(fd);
  if (cg->procs < 0)
    return subproc__fail(err, -errno, errno, "cgroup", path, -1,
                         "cgroup '%.160s': cgroup.procs: %s", path,
                         strerror(errno));
  return 0;
}

int subproc__cgroup_prepare(const subproc_options *o, subproc__cgroup **out,
                            subproc_error *err) {
  *out = NULL;
  const char *path = o->cgroup ? o->cgroup : o->cgroup_parent;
  int fd = open_cgroup_dir(path, err);
  if (fd < 0)
    return fd;
  subproc__cgroup *cg = NULL;
  int rc = 0;
  if (o->cgroup_parent) {
    rc = create_child(fd, o, &cg, err);
    subproc__close_quietly(fd);
  } else if (!(cg = cgroup_alloc(path, NULL))) {
    subproc__close_quietly(fd);
    rc = subproc__fail_os(err, ENOMEM, "cgroup", NULL, -1);
  } else {
    cg->dir = fd;
  }
  if (rc == 0 && o->cgroup_move_fallback)
    rc = open_procs(cg, path, err);
  if (rc < 0) {
    if (cg)
      subproc__cgroup_release(cg);
    return rc;
  }
  *out = cg;
  return 0;
}

int subproc__cgroup_dir(const subproc__cgroup *cg) { return cg->dir; }
int subproc__cgroup_procs(const subproc__cgroup *cg) { return cg->procs; }
int subproc__cgroup_owned(const subproc__cgroup *cg) { return cg->own; }

/* ---- killing ---- */

/* Without cgroup.kill (Linux < 5.14): freeze the cgroup, so that nothing
 * in it forks or exits (a pid read from cgroup.procs keeps naming its
 * process), then SIGKILL each pid it lists. */
static int kill_listed(subproc__cgroup *cg) {
  int freeze = openat(cg->dir, "cgroup.freeze", O_WRONLY | O_CLOEXEC);
  if (freeze >= 0) {
    subproc__write_all(freeze, "1", 1);
    subproc__close_quietly(freeze);
  }
  int fd = openat(cg->dir, "cgroup.procs", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  char buf[4096];
  size_t have = 0;
  ssize_t n;
  int rc = 0;
  while ((n = read(fd, buf + have, sizeof buf - have)) > 0 ||
         (n < 0 && errno == EINTR)) {
    if (n < 0)
      continue;
    have += (size_t)n;
    size_t start = 0;
    for (size_t i = 0; i < have; i++) {
      if (buf[i] != '\n')
        continue;
      buf[i] = '\0';
      char *end;
      errno = 0;
      long long pid = strtoll(buf + start, &end, 10);
      if (!errno && end != buf + start && *end == '\0' && pid > 0 &&
          pid <= INT_MAX && kill((pid_t)pid, SIGKILL) < 0 && errno != ESRCH)
        rc = -errno;
      start = i + 1;
    }
    memmove(buf, buf + start, have - start);
    have -= start;
    if (have == sizeof buf) /* no line is that long */
      have = 0;
  }
  subproc__close_quietly(fd);
  return rc;
}

/* 0 through cgroup.kill, 1 through the list (to be done again while
 * anything is left), or -errno. */
static int kill_cgroup(subproc__cgroup *cg) {
  int fd;
  do
    fd = openat(cg->dir, "cgroup.kill", O_WRONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0 && errno == ENOENT) {
    int rc = kill_listed(cg);
    return rc < 0 ? rc : 1;
  }
  if (fd < 0)
    return -errno;
  int rc = subproc__write_all(fd, "1", 1) < 0 ? -errno : 0;
  subproc__close_quietly(fd);
  return rc;
}

int subproc__cgroup_kill(subproc__cgroup *cg) {
  if (!cg || !cg->own)
    return 0;
  int rc = kill_cgroup(cg);
  return rc > 0 ? 0 : rc;
}

/* ---- after the reap ---- */

/* "populated 1" in cgroup.events: 1, 0, or -1 if it cannot be read. */
static int populated(int events) {
  char buf[256];
  ssize_t n;
  do
    n = pread(events, buf, sizeof buf - 1, 0);
  while (n < 0 && errno == EINTR);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  const char *p = strstr(buf, "populated ");
  return p ? p[10] == '1' : -1;
}

/* Whatever the child left in the cgroup is killed, and waited for (a
 * change of cgroup.events wakes poll with POLLPRI) at most wait_s. */
static void drain(subproc__cgroup *cg, double wait_s) {
  int events = openat(cg->dir, "cgroup.events", O_RDONLY | O_CLOEXEC);
  if (events < 0)
    return;
  double deadline = subproc__now() + wait_s;
  int again = 1;
  while (populated(events) == 1) {
    if (again) /* cgroup.kill once; the list each round */
      again = kill_cgroup(cg) != 0;
    int ms = subproc__ms_left(deadline);
    if (ms == 0)
      break;
    struct pollfd pfd = {.fd = events, .events = POLLPRI};
    if (poll(&pfd, 1, ms < 50 ? ms : 50) < 0 && errno != EINTR)
      break;
  }
  subproc__close_quietly(events);
}

/* A whole file of the cgroup, NUL-terminated: its length, or -1. */
static ssize_t read_file(int dir, const char *name, char *buf, size_t size) {
  int fd;
  do
    fd = openat(dir, name, O_RDONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    return -1;
  ssize_t n = subproc__read_full(fd, buf, size - 1);
  subproc__close_quietly(fd);
  if (n < 0)
    return -1;
  buf[n] = '\0';
  return n;
}

/* A non-negative decimal, range-checked; -1 if there is none. */
static long long parse_count(const char *s) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s || v < 0 || (*end && *end != '\n' && *end != ' '))
    return -1;
  return v;
}

static long long stat_field(const char *stat, const char *key) {
  size_t n = strlen(key);
  for (const char *line = stat; line && *line;) {
    if (strncmp(line, key, n) == 0 && line[n] == ' ')
      return parse_count(line + n + 1);
    line = strchr(line, '\n');
    line = line ? line + 1 : NULL;
  }
  return -1;
}

static void read_stats(subproc__cgroup *cg, subproc__exit *ex) {
  char buf[1024];
  ex->has_cgroup = 1;
  ex->cg_memory_peak = read_file(cg->dir, "memory.peak", buf, sizeof buf) > 0
                           ? parse_count(buf)
                           : -1;
  if (read_file(cg->dir, "cpu.stat", buf, sizeof buf) > 0) {
    ex->cg_usage_usec = stat_field(buf, "usage_usec");
    ex->cg_user_usec = stat_field(buf, "user_usec");
    ex->cg_system_usec = stat_field(buf, "system_usec");
  } else {
    ex->cg_usage_usec = ex->cg_user_usec = ex->cg_system_usec = -1;
  }
}

void subproc__cgroup_finish(subproc__cgroup *cg, subproc__exit *ex, int wait) {
  if (cg->own) {
    drain(cg, wait ? DRAIN_WAIT_S : 0.0);
    if (ex)
      read_stats(cg, ex);
  }
  subproc__cgroup_release(cg);
}

void subproc__cgroup_release(subproc__cgroup *cg) {
  if (!cg)
    return;
  if (cg->own) {
    /* Only when empty: a cgroup that still has processes stays. */
    int saved = errno;
    rmdir(cg->path);
    errno = saved;
  }
  cgroup_free(cg);
}

#else /* no cgroup v2 here */

int subproc__cgroup_prepare(const subproc_options *o, subproc__cgroup **out,
                            subproc_error *err) {
  (void)o;
  *out = NULL;
  return subproc__fail(err, SUBPROC_EINVAL, 0, "cgroup", NULL, -1,
                       "cgroup: cgroup v2 containment needs Linux");
}
int subproc__cgroup_dir(const subproc__cgroup *cg) {
  (void)cg;
  return -1;
}
int subproc__cgroup_procs(const subproc__cgroup *cg) {
  (void)cg;
  return -1;
}
int subproc__cgroup_owned(const subproc__cgroup *cg) {
  (void)cg;
  return 0;
}
int subproc__cgroup_kill(subproc__cgroup *cg) {
  (void)cg;
  return 0;
}
void subproc__cgroup_finish(subproc__cgroup *cg, subproc__exit *ex, int wait) {
  (void)cg, (void)ex, (void)wait;
}
void subproc__cgroup_release(subproc__cgroup *cg) { (void)cg; }

#endif
