/* Test runner: `subproc_tests NAME` runs one case and checks that it left
 * no fd and no child behind; `--list` lists the cases; `--verify-list
 * NAME...` checks that the names CMake registered to run are exactly the
 * cases compiled in (a marker CMake misread would drop a case silently). */
#include "test.h"

#include "runner.h"

#define MAX_TESTS 1024
static struct {
  const char *name;
  test_fn fn;
  const char *known_fail;
} tests[MAX_TESTS];
static int n_tests;

const char *test_helper = SUBPROC_TEST_HELPER;

static const char *current_known_fail;
static int allow_fds, allow_children;

void test_register(const char *name, test_fn fn, const char *known_fail) {
  if (n_tests == MAX_TESTS) {
    fprintf(stderr, "too many tests\n");
    exit(2);
  }
  tests[n_tests].name = name;
  tests[n_tests].fn = fn;
  tests[n_tests].known_fail = known_fail;
  n_tests++;
}

void test_fail_exit(void) {
  if (current_known_fail) {
    fprintf(stderr, "SKIP: KNOWN FAIL: %s\n", current_known_fail);
    fflush(NULL);
    exit(77);
  }
  fflush(NULL);
  exit(1);
}

void test_allow_leftover_fds(void) { allow_fds = 1; }
void test_allow_leftover_children(void) { allow_children = 1; }

/* Set in main before the case runs: read from any thread. */
static double slowdown = 1.0;

double test_slow(double seconds) { return seconds * slowdown; }

static int find(const char *name) {
  for (int i = 0; i < n_tests; i++)
    if (strcmp(tests[i].name, name) == 0)
      return i;
  return -1;
}

static int verify_list(int n, char **names) {
  int bad = 0;
  for (int i = 0; i < n; i++)
    if (find(names[i]) < 0) {
      fprintf(stderr, "registered to run, but not compiled in: %s\n", names[i]);
      bad = 1;
    }
  for (int i = 0; i < n_tests; i++) {
    int listed = 0;
    for (int k = 0; k < n && !listed; k++)
      listed = strcmp(tests[i].name, names[k]) == 0;
    if (!listed) {
      fprintf(stderr, "compiled in, but not registered to run: %s\n",
              tests[i].name);
      bad = 1;
    }
  }
  if (!bad)
    printf("%d cases, all registered\n", n_tests);
  return bad;
}

static int run(int i) {
  current_known_fail = tests[i].known_fail;
  test_fd_set *before = test_fds_snapshot();
  tests[i].fn();
  fflush(stdout);
  int leaks = allow_fds ? 0 : test_fds_leaked(before);
  test_fds_free(before);
  if (!allow_children && test_children_left()) {
    test_kill_children();
    leaks++;
  }
  if (leaks)
    TEST_FAIL("%s left fds or children behind (see above)", tests[i].name);
  if (current_known_fail) {
    fprintf(stderr,
            "%s passed, yet is marked as a known failure (\"%s\"): remove "
            "the marker\n",
            tests[i].name, current_known_fail);
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--list") == 0) {
    for (int i = 0; i < n_tests; i++)
      puts(tests[i].name);
    return 0;
  }
  if (argc >= 2 && strcmp(argv[1], "--verify-list") == 0)
    return verify_list(argc - 2, argv + 2);
  if (argc != 2) {
    fprintf(stderr, "usage: %s TEST | --list | --verify-list NAME...\n",
            argv[0]);
    return 2;
  }
  if (getenv("SUBPROC_TEST_HELPER"))
    test_helper = getenv("SUBPROC_TEST_HELPER");
  const char *f = getenv("SUBPROC_TEST_SLOWDOWN");
  if (f && atof(f) > 0)
    slowdown = atof(f);
  int i = find(argv[1]);
  if (i < 0) {
    fprintf(stderr, "no test named %s\n", argv[1]);
    return 2;
  }
  test_platform_init();
  return run(i);
}
