/* The paths issue 5's optimisations added to the spawn engine: clone3 with
 * CLONE_CLEAR_SIGHAND and its clone() fallback, the pidfd taken on first
 * need, and wait_any over many live children. */
#include <fcntl.h>
#include <signal.h>
#ifndef _WIN32
#include <unistd.h>
#endif

#include "subproc.h"
#include "test.h"
#include "testing.h"
#include "util.h"

#ifndef _WIN32
static void on_signal(int sig) { (void)sig; }

/* Both spawn paths leave the child the same dispositions and mask.
 * Default: SIGPIPE/SIGXFSZ back to default, handlers reset, the mask
 * empty; other ignored signals stay ignored (exec keeps them).
 * restore_signals=False: exactly what exec inherits (Python). The
 * parent's own dispositions and mask are untouched. */
static void check_signals(int test_flags) {
  subproc__set_test_flags(test_flags);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGXFSZ, SIG_IGN);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGUSR1, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR2);
  sigaddset(&set, SIGTERM);
  sigprocmask(SIG_BLOCK, &set, NULL);
  char *s = HELPER_OUT((subproc_options){0}, "signals");
  ASSERT_STREQ(s, "PIPE=default XFSZ=default INT=default USR1=ignore "
                  "blocked=0\n");
  free(s);
  s = HELPER_OUT(((subproc_options){.keep_signals = 1}), "signals");
  ASSERT_STREQ(s, "PIPE=ignore XFSZ=ignore INT=default USR1=ignore "
                  "blocked=2\n");
  free(s);
  struct sigaction sa;
  sigaction(SIGINT, NULL, &sa);
  ASSERT(sa.sa_handler == on_signal);
  sigset_t now;
  sigprocmask(SIG_BLOCK, NULL, &now);
  ASSERT(sigismember(&now, SIGUSR2) && !sigismember(&now, SIGCHLD));
  subproc__set_test_flags(0);
}

TEST_POSIX(spawn_signals_clone3) { check_signals(0); }

TEST_POSIX(spawn_signals_clone_fallback) { check_signals(SUBPROC__NO_CLONE3); }

/* The pid a pidfd names, from /proc/self/fdinfo ("Pid:" line). */
static long pidfd_pid(int pidfd) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/self/fdinfo/%d", pidfd);
  FILE *f = fopen(path, "r");
  ASSERT(f);
  long pid = -2;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "Pid:", 4) == 0)
      pid = strtol(line + 4, NULL, 10);
  fclose(f);
  return pid;
}

/* Every method gives the child a pidfd at birth (CLONE_PIDFD, or
 * pidfd_open right after fork and posix_spawn): close-on-exec, above 2,
 * naming the child, kept until free. */
TEST_POSIX(spawn_pidfd_at_birth) {
  if (!test_have_pidfd())
    SKIP("no pidfd_open here (valgrind has none)");
  const subproc_spawn_method methods[] = {
      SUBPROC_SPAWN_AUTO, SUBPROC_SPAWN_VFORK, SUBPROC_SPAWN_FORK,
      SUBPROC_SPAWN_POSIX_SPAWN};
  for (size_t m = 0; m < 4; m++) {
    const char *argv[] = {test_helper, "sleep", "10", NULL};
    int fds = test_count_fds();
    subproc *p = start(argv, &(subproc_options){.spawn_method = methods[m]});
    int pidfd = subproc__test_pidfd(p);
    ASSERT(pidfd > 2);
    ASSERT(fcntl(pidfd, F_GETFD) & FD_CLOEXEC);
    ASSERT_EQ(pidfd_pid(pidfd), subproc_pid(p));
    ASSERT_EQ(test_count_fds(), fds + 1);
    subproc_error e;
    ASSERT_OK(subproc_kill(p), &e);
    int rc = 0;
    ASSERT_OK(subproc_wait(p, test_slow(5), &rc, &e), &e);
    ASSERT_EQ(rc, -9);
    subproc_free(p);
    ASSERT_EQ(test_count_fds(), fds);
  }
}
#endif

/* 300 children blocked on one pipe, released together; wait_any returns
 * each exactly once. */
TEST(spawn_wait_any_many) {
  enum { N = 300 };
  int pipefd[2];
  test_pipe(pipefd);
  const char *argv[] = {test_helper, "cat", NULL};
  subproc *ps[N], *live[N];
  int seen[N] = {0};
  subproc_error e;
  subproc_options o = {.in = SUBPROC_REDIRECT_FD(pipefd[0]),
                       .out = SUBPROC_REDIRECT_DEVNULL};
  for (int i = 0; i < N; i++) {
    ASSERT_OK(subproc_popen(argv, &o, &ps[i], &e), &e);
    live[i] = ps[i];
  }
  size_t idx = 0;
  ASSERT_EQ(subproc_wait_any(live, N, SUBPROC_POLL, &idx, &e),
            SUBPROC_ETIMEDOUT);
  close(pipefd[1]);
  close(pipefd[0]);
  for (size_t left = N; left > 0; left--) {
    ASSERT_OK(subproc_wait_any(live, left, test_slow(10), &idx, &e), &e);
    ASSERT(idx < left);
    ASSERT_EQ(subproc_returncode(live[idx]), 0);
    for (int i = 0; i < N; i++)
      if (ps[i] == live[idx])
        seen[i]++;
    live[idx] = live[left - 1];
  }
  for (int i = 0; i < N; i++) {
    ASSERT_EQ(seen[i], 1);
    subproc_free(ps[i]);
  }
}
