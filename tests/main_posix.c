/* The runner's POSIX side: open fds from /proc/self/fd (or, without /proc,
 * from fcntl), children from waitid() and /proc. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runner.h"
#include "test.h"

struct test_fd_set {
  int *fds; /* ascending */
  int n;
};

void test_platform_init(void) {}

double test_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fd_set_add(test_fd_set *s, int fd, int *cap) {
  if (s->n == *cap) {
    *cap = *cap ? 2 * *cap : 64;
    s->fds = realloc(s->fds, (size_t)*cap * sizeof *s->fds);
    if (!s->fds)
      TEST_FAIL("out of memory");
  }
  int i = s->n++;
  for (; i > 0 && s->fds[i - 1] > fd; i--)
    s->fds[i] = s->fds[i - 1];
  s->fds[i] = fd;
}

test_fd_set *test_fds_snapshot(void) {
  test_fd_set *s = calloc(1, sizeof *s);
  int cap = 0;
  if (!s)
    TEST_FAIL("out of memory");
  DIR *d = opendir("/proc/self/fd");
  if (d) {
    struct dirent *e;
    while ((e = readdir(d)))
      if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(d))
        fd_set_add(s, atoi(e->d_name), &cap);
    closedir(d);
    return s;
  }
  long top = sysconf(_SC_OPEN_MAX);
  for (int fd = 0; fd < (top > 0 && top < 65536 ? top : 65536); fd++)
    if (fcntl(fd, F_GETFD) >= 0)
      fd_set_add(s, fd, &cap);
  return s;
}

void test_fds_free(test_fd_set *s) {
  if (s)
    free(s->fds);
  free(s);
}

static int in_set(const test_fd_set *s, int fd) {
  for (int i = 0; i < s->n; i++)
    if (s->fds[i] == fd)
      return 1;
  return 0;
}

int test_fds_leaked(const test_fd_set *before) {
  test_fd_set *now = test_fds_snapshot();
  int leaked = 0;
  for (int i = 0; i < now->n; i++) {
    if (in_set(before, now->fds[i]))
      continue;
    char link[64], target[512] = "?";
    snprintf(link, sizeof link, "/proc/self/fd/%d", now->fds[i]);
    ssize_t len = readlink(link, target, sizeof target - 1);
    target[len > 0 ? len : 1] = '\0';
    fprintf(stderr, "runner: fd %d (%s) is still open\n", now->fds[i], target);
    leaked++;
  }
  /* The same count but another fd: one was closed, another leaked. */
  if (!leaked && now->n > before->n) {
    fprintf(stderr, "runner: %d fds open, %d before\n", now->n, before->n);
    leaked = now->n - before->n;
  }
  test_fds_free(now);
  return leaked;
}

/* Calls fn with each pid whose parent is this process, from /proc; returns
 * how many. */
static int each_child(void (*fn)(int pid, const char *stat)) {
  DIR *d = opendir("/proc");
  int n = 0;
  if (!d)
    return 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    char path[300], buf[1024];
    snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
    FILE *f =
        e->d_name[0] >= '0' && e->d_name[0] <= '9' ? fopen(path, "r") : NULL;
    if (!f)
      continue;
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = '\0';
    /* pid (comm) state ppid ...: comm may hold spaces and parentheses */
    char *close = strrchr(buf, ')');
    int ppid = 0;
    char state = '?';
    if (close && sscanf(close + 1, " %c %d", &state, &ppid) == 2 &&
        ppid == (int)getpid()) {
      close[1] = '\0';
      fn(atoi(e->d_name), buf);
      n++;
    }
  }
  closedir(d);
  return n;
}

static void print_child(int pid, const char *stat) {
  fprintf(stderr, "runner: child %d is still there: %s\n", pid, stat);
}

static void kill_child(int pid, const char *stat) {
  (void)stat;
  kill(pid, SIGKILL);
}

void test_kill_children(void) {
  each_child(kill_child);
  for (double end = test_now() + test_slow(5.0); test_now() < end;) {
    if (waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD)
      return;
    const struct timespec ms = {0, 10000000};
    nanosleep(&ms, NULL);
  }
}

int test_children_left(void) {
  siginfo_t si;
  memset(&si, 0, sizeof si);
  if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
    return 0; /* ECHILD: no child at all */
  if (si.si_pid != 0)
    fprintf(stderr, "runner: child %d has exited but is not reaped\n",
            (int)si.si_pid);
  int n = each_child(print_child);
  if (n == 0 && si.si_pid == 0)
    fprintf(stderr, "runner: a child is still running\n");
  return n > 0 ? n : 1;
}

int test_count_fds(void) {
  test_fd_set *s = test_fds_snapshot();
  int n = s->n;
  test_fds_free(s);
  return n;
}
