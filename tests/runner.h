/* The runner's platform layer (tests/main_posix.c, tests/main_win.c): what
 * tests/main.c needs to check that a case left nothing behind. */
#ifndef SUBPROC_TEST_RUNNER_H
#define SUBPROC_TEST_RUNNER_H

/* Before the first case: the helper's path, a job for the children... */
void test_platform_init(void);

/* The fds (handles) open at one moment. */
typedef struct test_fd_set test_fd_set;
test_fd_set *test_fds_snapshot(void);
void test_fds_free(test_fd_set *s);
/* Prints each fd open now that was not open in before; returns how many. */
int test_fds_leaked(const test_fd_set *before);
/* test.h: test_children_left(). */
/* Kills the children test_children_left() found, so that a failed case
 * does not hold ctest's pipes (or its job) until they end. */
void test_kill_children(void);

#endif
