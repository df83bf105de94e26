/* Test runner: `subproc_tests NAME` runs one case; `--list` lists them. */

#include "test.h"

#ifndef _WIN32
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#endif

#include "subproc.h"

#define MAX_TESTS 1024
static struct {
  const char *name;
  test_fn fn;
} tests[MAX_TESTS];
static int n_tests;

const char *test_helper = SUBPROC_TEST_HELPER;

void test_register(const char *name, test_fn fn) {
  if (n_tests == MAX_TESTS) {
    fprintf(stderr, "too many tests\n");
    exit(2);
  }
  tests[n_tests].name = name;
  tests[n_tests].fn = fn;
  n_tests++;
}

#ifndef _WIN32 /* Windows: tests/main_win.c */
int test_count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d)
    TEST_FAIL("opendir /proc/self/fd: %s", strerror(errno));
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.')
      n++;
  closedir(d);
  return n - 1; /* the directory's own fd */
}

void test_assert_no_zombies(void) {
  siginfo_t si;
  memset(&si, 0, sizeof si);
  int rc = waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT);
  if (rc == 0 && si.si_pid != 0)
    TEST_FAIL("unreaped child %d", (int)si.si_pid);
}

double test_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
#endif

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--list") == 0) {
    for (int i = 0; i < n_tests; i++)
      puts(tests[i].name);
    return 0;
  }
  if (argc != 2) {
    fprintf(stderr, "usage: %s TEST | --list\n", argv[0]);
    return 2;
  }
  if (getenv("SUBPROC_TEST_HELPER"))
    test_helper = getenv("SUBPROC_TEST_HELPER");
#ifdef _WIN32
  test_platform_init();
#endif
  for (int i = 0; i < n_tests; i++) {
    if (strcmp(tests[i].name, argv[1]) == 0) {
      tests[i].fn();
      fflush(stdout);
      return 0;
    }
  }
  fprintf(stderr, "no test named %s\n", argv[1]);
  return 2;
}
