/* Minimal test harness: each TEST() is one ctest case run in its own process
 * (tests/main.c runs the case named on its command line). Assertions print
 * both values and exit non-zero; SKIP() exits 77, which ctest reports as
 * skipped. */
#ifndef SUBPROC_TEST_H
#define SUBPROC_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*test_fn)(void);
void test_register(const char *name, test_fn fn);

#define TEST(name)                                                             \
  static void test_##name(void);                                               \
  __attribute__((constructor)) static void test_reg_##name(void) {             \
    test_register(#name, test_##name);                                         \
  }                                                                            \
  static void test_##name(void)

#define TEST_FAIL(...)                                                         \
  do {                                                                         \
    fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                            \
    fprintf(stderr, __VA_ARGS__);                                              \
    fputc('\n', stderr);                                                       \
    exit(1);                                                                   \
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

/* Path of tests/helper (the child program the tests run). */
extern const char *test_helper;
/* Number of open fds of this process (from /proc/self/fd). */
int test_count_fds(void);
/* Fails the test if this process has an unreaped child. */
void test_assert_no_zombies(void);
/* Seconds on the monotonic clock. */
double test_now(void);
#ifdef _WIN32
/* The Windows harness (tests/main_win.c): a job that holds this test's
 * children, and the helper's path in Windows form. */
void test_platform_init(void);
#endif

#endif
