/* What a build tool (ninja, make) needs from each child: the signal mask it
 * chooses, the raw wait status with the core-dump bit, and no open/close
 * of /dev/null per spawn. */
#ifndef _WIN32 /* POSIX only: /bin/sh, signals, fds, epoll */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "subproc.h"
#include "test.h"

static const subproc_spawn_method methods[] = {
    SUBPROC_SPAWN_AUTO, SUBPROC_SPAWN_VFORK, SUBPROC_SPAWN_FORK,
    SUBPROC_SPAWN_POSIX_SPAWN};

/* The child's blocked mask, from /proc/self/status (SigBlk, hex). */
static unsigned long long child_sigblk(subproc_options o) {
  const char *argv[] = {"/bin/sh", "-c",
                        "grep SigBlk /proc/self/status | cut -f2", NULL};
  o.out = SUBPROC_REDIRECT_PIPE;
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_run(argv, &o, &r, &e), &e);
  unsigned long long v = strtoull(r->out, NULL, 16);
  subproc_result_free(r);
  return v;
}

#define BIT(sig) (1ULL << ((sig)-1))

/* ninja blocks SIGINT/TERM/HUP for itself and gives its children the mask
 * it had before: sigmask says which. */
TEST_POSIX(buildtool_sigmask) {
  sigset_t mine, before, want;
  sigemptyset(&mine);
  sigaddset(&mine, SIGINT);
  sigaddset(&mine, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &mine, &before);
  sigemptyset(&want);
  sigaddset(&want, SIGUSR2);
  for (size_t m = 0; m < 4; m++) {
    subproc_options o = {.spawn_method = methods[m]};
    ASSERT_EQ(child_sigblk(o), 0); /* default: an empty mask */
    o.keep_signals = 1;
    ASSERT_EQ(child_sigblk(o), BIT(SIGINT) | BIT(SIGTERM)); /* inherited */
    o.keep_signals = 0;
    o.sigmask = &want;
    ASSERT_EQ(child_sigblk(o), BIT(SIGUSR2));
    o.sigmask = &before; /* what ninja does */
    ASSERT_EQ(child_sigblk(o), 0);
  }
  pthread_sigmask(SIG_SETMASK, &before, NULL);
}

static void core_unlimited(void) {
  struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
  if (setrlimit(RLIMIT_CORE, &rl) < 0) {
    getrlimit(RLIMIT_CORE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_CORE, &rl);
  }
}

/* The raw status says what returncode cannot: the core dump. */
TEST_POSIX(buildtool_wait_status_and_core) {
  const char *exit3[] = {"/bin/sh", "-c", "exit 3", NULL};
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_run(exit3, NULL, &r, &e), &e);
  ASSERT_EQ(r->wait_status, 3 << 8);
  ASSERT_EQ(r->core_dumped, 0);
  subproc_result_free(r);
  char dir[] = "/tmp/subproc-core-XXXXXX";
  ASSERT(mkdtemp(dir));
  core_unlimited();
  const char *segv[] = {"/bin/sh", "-c", "exec kill -SEGV $$", NULL};
  subproc *p = NULL;
  ASSERT_OK(subproc_popen(segv, &(subproc_options){.cwd = dir}, &p, &e), &e);
  ASSERT_EQ(subproc_wait_status(p, NULL), -1); /* not reaped yet */
  int rc = 0, core = -1;
  ASSERT_OK(subproc_wait(p, 30, &rc, &e), &e);
  ASSERT_EQ(rc, -SIGSEGV);
  int st = subproc_wait_status(p, &core);
  ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
  ASSERT_EQ(core, WCOREDUMP(st) != 0);
  struct rlimit rl;
  getrlimit(RLIMIT_CORE, &rl);
  FILE *f = fopen("/proc/sys/kernel/core_pattern", "r");
  char pattern[256] = "";
  if (f) {
    if (!fgets(pattern, sizeof pattern, f))
      pattern[0] = '\0';
    fclose(f);
  }
  if (rl.rlim_cur != 0 && !strncmp(pattern, "core", 4))
    ASSERT_EQ(core, 1); /* the kernel writes ./core here: it must show */
  subproc_free(p);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  ASSERT_EQ(system(cmd), 0);
}

/* The fds of this process that point at /dev/null. */
static int devnull_fds(void) {
  int n = 0;
  for (int fd = 0; fd < 1024; fd++) {
    char link[64], target[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t k = readlink(link, target, sizeof target - 1);
    if (k > 0) {
      target[k] = '\0';
      n += strcmp(target, "/dev/null") == 0;
    }
  }
  return n;
}

/* Ten children with DEVNULL share one /dev/null fd, opened once; it is
 * closed when the last of them is freed. */
TEST_POSIX(buildtool_devnull_shared) {
  int before = devnull_fds();
  subproc *p[10];
  for (size_t m = 0; m < 4; m++) {
    for (int i = 0; i < 10; i++) {
      const char *argv[] = {"/bin/sleep", "30", NULL};
      subproc_error e;
      ASSERT_OK(
          subproc_popen(argv,
                        &(subproc_options){.spawn_method = methods[m],
                                           .in = SUBPROC_REDIRECT_DEVNULL,
                                           .out = SUBPROC_REDIRECT_DEVNULL},
                        &p[i], &e),
          &e);
    }
    ASSERT_EQ(devnull_fds(), before + 1);
    for (int i = 0; i < 10; i++) {
      subproc_kill(p[i]);
      ASSERT_OK(subproc_wait(p[i], 30, NULL, NULL), NULL);
      subproc_free(p[i]);
    }
    ASSERT_EQ(devnull_fds(), before);
  }
  /* It really is /dev/null for the child. */
  const char *argv[] = {"/bin/sh", "-c", "wc -c; echo gone", NULL};
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_run(argv,
                        &(subproc_options){.in = SUBPROC_REDIRECT_DEVNULL,
                                           .out = SUBPROC_REDIRECT_PIPE},
                        &r, &e),
            &e);
  ASSERT_STREQ(r->out, "0\ngone\n");
  subproc_result_free(r);
  ASSERT_EQ(devnull_fds(), before);
}

#else
/* Nothing on Windows (ISO C wants a declaration in every file). */
typedef int test_buildtool_unused_;
#endif
