/* The test harness (libuv's runner is the model). Each case is one ctest
 * case run in its own process: `subproc_tests NAME` (tests/main.c).
 *
 * Adding a case: write TEST(name) { ... } in tests/test_<group>.c; CMake
 * reads the markers below from the source and registers <group>.<name>.
 * Mark what is not portable, so that the other platform reports the case
 * as skipped with the reason (CMake reads the same markers):
 *
 *   TEST(name)                   every platform
 *   TEST_POSIX(name)             POSIX only (uid/gid, signals, fds >= 3,
 *                                process groups, /bin/sh, /proc, rlimits...)
 *   TEST_WINDOWS(name)           Windows only (cmd.exe, batch files,
 *                                creationflags, handles, console events...)
 *   TEST_KNOWN_FAIL_WINDOWS(name, "reason")
 *                                portable, but fails on Windows because of a
 *                                bug in the Windows backend: run there all
 *                                the same, a failure is reported as skipped
 *                                ("KNOWN FAIL: reason"), a pass as a failure
 *                                (the marker must then go). No ';' in reason.
 *
 * The body of a platform-only case is compiled on the other platform only
 * if it is plain C: wrap it in #ifndef _WIN32 / #ifdef _WIN32 where it
 * calls that platform's API.
 *
 * The runner checks every case that returns: no fd (Windows: C runtime fd,
 * and handle where GetProcessHandleCount counts them) may be left open that
 * was not open before the case, and no child process may be left, exited
 * or running (Windows: in the case's job). A case that leaves one on
 * purpose says so with test_allow_leftover_fds() / _children(). So a case
 * checks fds and children by hand only in the middle of its steps.
 *
 * Timing: a lower bound (a timeout must not fire early) is asserted as is;
 * an upper bound is test_slow(seconds), which scales by the environment
 * variable SUBPROC_TEST_SLOWDOWN (a positive number, default 1;
 * .ci/valgrind.sh and .ci/tsan.sh set it). The unscaled bound must hold
 * for a debug build on a loaded 2-core machine.
 *
 * Assertions print both values and exit non-zero; SKIP() exits 77, which
 * ctest reports as skipped. */
#ifndef SUBPROC_TEST_H
#define SUBPROC_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*test_fn)(void);
/* known_fail: NULL, or the reason the case fails on this platform. */
void test_register(const char *name, test_fn fn, const char *known_fail);

#define TEST_DEFINE_(name, known_fail)                                         \
  static void test_##name(void);                                               \
  __attribute__((constructor)) static void test_reg_##name(void) {             \
    test_register(#name, test_##name, known_fail);                             \
  }                                                                            \
  static void test_##name(void)
/* A case of the other platform: compiled (if written so) but not run, and
 * not emitted (it may name what this platform's library lacks). */
#define TEST_UNUSED_(name)                                                     \
  __attribute__((unused)) static inline void test_##name(void)

#define TEST(name) TEST_DEFINE_(name, NULL)
#ifdef _WIN32
#define TEST_POSIX(name) TEST_UNUSED_(name)
#define TEST_WINDOWS(name) TEST_DEFINE_(name, NULL)
#define TEST_KNOWN_FAIL_WINDOWS(name, reason) TEST_DEFINE_(name, reason)
#else
#define TEST_POSIX(name) TEST_DEFINE_(name, NULL)
#define TEST_WINDOWS(name) TEST_UNUSED_(name)
#define TEST_KNOWN_FAIL_WINDOWS(name, reason) TEST_DEFINE_(name, NULL)
#endif

/* Ends the case as failed (as skipped for a known failure). */
__attribute__((noreturn)) void test_fail_exit(void);

#define TEST_FAIL(...)                                                         \
  do {                                                                         \
    fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                            \
    fprintf(stderr, __VA_ARGS__);                                              \
    fputc('\n', stderr);                                                       \
    test_fail_exit();                                                          \
  } while (0)

#define SKIP(...)                                                              \
  do {                                                                         \
    fprintf(stderr, "SKIP: ");                                                 \
    fprintf(stderr, __VA_ARGS__);                                              \
    fputc('\n', stderr);                                                       \
    exit(77);                                                                  \
  } while (0)

#define ASSERT(c)                                                              \
  do {                                                                         \
    if (!(c))                                                                  \
      TEST_FAIL("assertion failed: %s", #c);                                   \
  } while (0)

#define ASSERT_EQ(a, b)                                                        \
  do {                                                                         \
    long long a_ = (long long)(a), b_ = (long long)(b);                        \
    if (a_ != b_)                                                              \
      TEST_FAIL("%s == %s failed: %lld != %lld", #a, #b, a_, b_);              \
  } while (0)

#define ASSERT_NE(a, b)                                                        \
  do {                                                                         \
    long long a_ = (long long)(a), b_ = (long long)(b);                        \
    if (a_ == b_)                                                              \
      TEST_FAIL("%s != %s failed: both %lld", #a, #b, a_);                     \
  } while (0)

/* An upper bound on a duration: got < bound. */
#define ASSERT_LT(a, b)                                                        \
  do {                                                                         \
    double a_ = (double)(a), b_ = (double)(b);                                 \
    if (!(a_ < b_))                                                            \
      TEST_FAIL("%s < %s failed: %g >= %g", #a, #b, a_, b_);                   \
  } while (0)

#define ASSERT_GE(a, b)                                                        \
  do {                                                                         \
    double a_ = (double)(a), b_ = (double)(b);                                 \
    if (!(a_ >= b_))                                                           \
      TEST_FAIL("%s >= %s failed: %g < %g", #a, #b, a_, b_);                   \
  } while (0)

#define ASSERT_STREQ(a, b)                                                     \
  do {                                                                         \
    const char *a_ = (a), *b_ = (b);                                           \
    if (!a_ || !b_ || strcmp(a_, b_) != 0)                                     \
      TEST_FAIL("%s == %s failed:\n  got:      \"%s\"\n  expected: \"%s\"",    \
                #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)");               \
  } while (0)

#define ASSERT_CONTAINS(hay, needle)                                           \
  do {                                                                         \
    const char *h_ = (hay), *n_ = (needle);                                    \
    if (!h_ || !strstr(h_, n_))                                                \
      TEST_FAIL("\"%s\" does not contain \"%s\"", h_ ? h_ : "(null)", n_);     \
  } while (0)

/* Succeeds with 0; otherwise prints the code and the error message. */
#define ASSERT_OK(expr, errp)                                                  \
  do {                                                                         \
    int rc_ = (expr);                                                          \
    const subproc_error *e_ = (errp);                                          \
    if (rc_ < 0)                                                               \
      TEST_FAIL("%s failed: %d (%s): %s", #expr, rc_, subproc_errname(rc_),    \
                e_ ? e_->message : "");                                        \
  } while (0)

/* Path of tests/helper.c's program (the child the tests run). */
extern const char *test_helper;
/* Seconds on the monotonic clock. */
double test_now(void);
/* seconds times SUBPROC_TEST_SLOWDOWN: an upper bound on a duration. */
double test_slow(double seconds);

/* The runner's end-of-case checks, for a case that leaves an fd (handle)
 * or a child behind on purpose. */
void test_allow_leftover_fds(void);
void test_allow_leftover_children(void);

/* Open fds of this process (Windows: C runtime fds plus handles). For a
 * check in the middle of a case; the runner checks at its end. */
int test_count_fds(void);
/* Prints each child of this process, exited or running (Windows: each
 * process in the case's job); returns how many. */
int test_children_left(void);
/* For a check in the middle of a case. */
#define ASSERT_NO_CHILDREN()                                                   \
  do {                                                                         \
    if (test_children_left())                                                  \
      TEST_FAIL("a child process is left (see above)");                        \
  } while (0)

#endif
