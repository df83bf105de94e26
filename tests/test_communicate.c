/* subproc_communicate end to end (issue 3): both directions at once, large
 * data, stdout and stderr together, timeouts and the retry that loses
 * nothing, SIGPIPE containment, binary output, signals, and text mode
 * (newlines, encodings, errors) through real children. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>

#include "subproc.h"
#include "test.h"
#include "util.h"

static const subproc_options pipes_in_out = {.in = {.kind = SUBPROC_PIPE},
                                             .out = {.kind = SUBPROC_PIPE},
                                             .err = {.kind = SUBPROC_PIPE}};

/* Pushes `len` bytes of the pattern through `mode` (cat or cat2). */
static void big_roundtrip(const char *mode, size_t len, int both) {
  test_sigpipe_default();
  char *in = pattern(len);
  const char *argv[] = {test_helper, mode, NULL};
  subproc *p = start(argv, &pipes_in_out);
  subproc_result *r = NULL;
  subproc_error e;
  double t0 = test_now();
  ASSERT_OK(subproc_communicate(p, in, len, SUBPROC_FOREVER, &r, &e), &e);
  ASSERT_LT(test_now() - t0, test_slow(60.0));
  ASSERT_EQ(r->returncode, 0);
  ASSERT_MEM(r->out, r->out_len, in, len);
  ASSERT_EQ(r->out[r->out_len], '\0');
  if (both)
    ASSERT_MEM(r->err, r->err_len, in, len);
  else
    ASSERT_EQ(r->err_len, 0);
  ASSERT(!r->out_truncated && !r->err_truncated && !r->timed_out);
  subproc_result_free(r);
  subproc_free(p);
  free(in);
  test_assert_sigpipe_clean();
}

/* ------------------------------------------------------------------ */
/* Both directions, large data                                         */
/* ------------------------------------------------------------------ */

TEST(comm_both_directions) { big_roundtrip("cat", 1u << 20, 0); }

TEST(comm_256mib_through_cat) { big_roundtrip("cat", 256u << 20, 0); }

/* Both output pipes fill while stdin is still being written: no deadlock. */
TEST(comm_stdout_stderr_both_large) { big_roundtrip("cat2", 64u << 20, 1); }

TEST(comm_output_only_large) {
  const char *argv[] = {test_helper, "write", "50000000", NULL};
  subproc *p = start(argv, &(subproc_options){.out = {.kind = SUBPROC_PIPE}});
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_communicate(p, NULL, 0, SUBPROC_FOREVER, &r, &e), &e);
  ASSERT_EQ(r->out_len, 50000000);
  ASSERT(write_pattern_ok(r->out, r->out_len));
  ASSERT(r->err == NULL);
  ASSERT_EQ(r->returncode, 0);
  ASSERT_EQ(r->pid, subproc_pid(p));
  subproc_result_free(r);
  subproc_free(p);
}

TEST(comm_empty_input_closes_stdin) {
  /* input of length 0 (Python's b""): stdin is closed, cat sees EOF. */
  const char *argv[] = {test_helper, "cat", NULL};
  subproc *p = start(argv, &pipes_in_out);
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_communicate(p, "", 0, test_slow(10.0), &r, &e), &e);
  ASSERT_EQ(r->out_len, 0);
  ASSERT_STREQ(r->out, "");
  ASSERT_EQ(r->returncode, 0);
  subproc_result_free(r);
  subproc_free(p);
}

TEST(comm_stderr_into_stdout) {
  const char *argv[] = {test_helper, "outerr", "OUT", "ERR", NULL};
  subproc *p = start(argv, &(subproc_options){.out = {.kind = SUBPROC_PIPE},
                                              .err = {.kind = SUBPROC_STDOUT}});
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_communicate(p, NULL, 0, SUBPROC_FOREVER, &r, &e), &e);
  ASSERT_STREQ(r->out, "OUTERR");
  ASSERT(r->err == NULL);
  subproc_result_free(r);
  subproc_free(p);
}

/* ------------------------------------------------------------------ */
/* Timeouts and the retry                                              */
/* ------------------------------------------------------------------ */

TEST(comm_timeout_then_retry_loses_nothing) {
  /* B comes test_slow(2) s after A; the call times out after 1 s. */
  char pause[32];
  snprintf(pause, sizeof pause, "sleep:%g", test_slow(2.0));
  const char *argv[] = {test_helper, "script",  "out:A\n",
                        pause,       "out:B\n", NULL};
  subproc *p = start(argv, &(subproc_options){.out = {.kind = SUBPROC_PIPE},
                                              .err = {.kind = SUBPROC_PIPE}});
  subproc_result *r = NULL;
  subproc_error e;
  double t0 = test_now();
  int rc = subproc_communicate(p, NULL, 0, 1.0, &r, &e);
  double took = test_now() - t0;
  ASSERT_EQ(rc, SUBPROC_ETIMEDOUT);
  ASSERT_EQ(e.code, SUBPROC_ETIMEDOUT);
  ASSERT(e.timeout == (double)1.0);
  ASSERT_GE(took, 0.9);
  ASSERT_LT(took, test_slow(2.0));
  /* The snapshot: what was read so far, the child still running. */
  ASSERT(r != NULL);
  ASSERT_STREQ(r->out, "A\n");
  ASSERT_EQ(r->out_len, 2);
  ASSERT_STREQ(r->err, "");
  ASSERT(r->timed_out);
  ASSERT_EQ(r->returncode, SUBPROC_NO_RETURNCODE);
  ASSERT_EQ(subproc_returncode(p), SUBPROC_NO_RETURNCODE);
  subproc_result_free(r);
  r = NULL;
  /* The retry continues: the whole output, nothing lost or repeated. */
  ASSERT_OK(subproc_communicate(p, NULL, 0, SUBPROC_FOREVER, &r, &e), &e);
  ASSERT_STREQ(r->out, "A\nB\n");
  ASSERT_EQ(r->out_len, 4);
  ASSERT_EQ(r->returncode, 0);
  ASSERT(!r->timed_out);
  subproc_result_free(r);
  subproc_free(p);
}

TEST(comm_many_retries_large_output) {
  /* 1 MB on each stream, a pause, 1 MB more on each: retried with short
   * timeouts, every snapshot is a prefix and the end result is whole. */
  const char *argv[] = {test_helper,       "script",  "write:1000000",
                        "write:1000000:2", "sleep:1", "write:1000000",
                        "write:1000000:2", NULL};
  subproc *p = start(argv, &(subproc_options){.out = {.kind = SUBPROC_PIPE},
                                              .err = {.kind = SUBPROC_PIPE}});
  subproc_result *r = NULL;
  subproc_error e;
  int timeouts = 0, rc;
  size_t last_out = 0;
  while ((rc = subproc_communicate(p, NULL, 0, 0.2, &r, &e)) ==
         SUBPROC_ETIMEDOUT) {
    timeouts++;
    ASSERT_LT(timeouts, test_slow(200)); /* 40 s */
    ASSERT(r && r->timed_out);
    ASSERT(r->out_len >= last_out && r->out_len <= 2000000);
    last_out = r->out_len;
    subproc_result_free(r);
    r = NULL;
  }
  ASSERT_OK(rc, &e);
  ASSERT(timeouts >= 1);
  ASSERT_EQ(r->out_len, 2000000);
  ASSERT_EQ(r->err_len, 2000000);
  ASSERT(write_pattern_ok(r->out, 1000000));
  ASSERT(write_pattern_ok(r->out + 1000000, 1000000));
  ASSERT(write_pattern_ok(r->err, 1000000));
  ASSERT(write_pattern_ok(r->err + 1000000, 1000000));
  ASSERT_EQ(r->returncode, 0);
  subproc_result_free(r);
  subproc_free(p);
}

TEST(comm_timeout_retry_with_input_in_flight) {
  /* Input larger than a pipe goes in across several timed-out calls: the
   * caller's buffer may be gone after the first one. The child starts
   * reading after test_slow(1) s, the first call times out after 0.3 s. */
  test_sigpipe_default();
  size_t len = 8u << 20;
  char *in = pattern(len);
  char *expect = pattern(len);
  char pause[32];
  snprintf(pause, sizeof pause, "sleep:%g", test_slow(1.0));
  const char *argv[] = {test_helper, "script", pause, "cat", NULL};
  subproc *p = start(argv, &(subproc_options){.in = {.kind = SUBPROC_PIPE},
                                              .out = {.kind = SUBPROC_PIPE}});
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_EQ(subproc_communicate(p, in, len, 0.3, &r, &e), SUBPROC_ETIMEDOUT);
  ASSERT(r && r->out_len == 0);
  subproc_result_free(r);
  r = NULL;
  memset(in, 'X', len); /* the library must have kept its own copy */
  free(in);
  ASSERT_OK(subproc_communicate(p, NULL, 0, SUBPROC_FOREVER, &r, &e), &e);
  ASSERT_MEM(r->out, r->out_len, expect, len);
  ASSERT_EQ(r->returncode, 0);
  subproc_result_free(r);
  subproc_free(p);
  free(expect);
  test_assert_sigpipe_clean();
}

TEST(comm_kill_then_communicate) {
  /* The spec's recipe: on TimeoutExpired, kill() then communicate(). */
  const char *argv[] = {test_helper, "print-sleep", "hello", "30", NULL};
  subproc *p = start(argv, &(subproc_options){.out = {.kind = SUBPROC_PIPE},
                                              .err = {.kind = SUBPROC_PIPE}});
  subproc_result *r = NULL;
  subproc_error e;
  double t0 = test_now();
  ASSERT_EQ(subproc_communicate(p, NULL, 0, 0.5, &r, &e), SUBPROC_ETIMEDOUT);
  subproc_result_free(r);
  r = NULL;
  ASSERT_OK(subproc_kill(p), &e);
  ASSERT_OK(subproc_communicate(p, NULL, 0, SUBPROC_FOREVER, &r, &e), &e);
  ASSERT_LT(test_now() - t0, 0.5 + test_slow(4.5));
  ASSERT_STREQ(r->out, "hello\n");
  ASSERT_STREQ(r->err, "");
  ASSERT_EQ(r->returncode, TEST_RC_KILLED);
  ASSERT_EQ(subproc_returncode(p), TEST_RC_KILLED);
  subproc_result_free(r);
  subproc_free(p);
}

TEST(comm_input_on_retry_is_einval) {
  test_sigpipe_default();
  const char *argv[] = {test_helper, "noread", "30", NULL};
  subproc_error e;
  subproc_result *r = NULL;

  /* (a) Small input, already in the pipe (stdin closed) at the timeout. */
  subproc *p = start(argv, &pipes_in_out);
  ASSERT_EQ(subproc_communicate(p, "abc", 3, 0.3, &r, &e), SUBPROC_ETIMEDOUT);
  subproc_result_free(r);
  r = NULL;
  ASSERT_EQ(subproc_communicate(p, "x", 1, 0.3, &r, &e), SUBPROC_EINVAL);
  ASSERT_EQ(e.code, SUBPROC_EINVAL);
  ASSERT(r == NULL);
  /* Without input the retry is fine (and times out again). */
  ASSERT_EQ(subproc_communicate(p, NULL, 0, 0.2, &r, &e), SUBPROC_ETIMEDOUT);
  subproc_result_free(r);
  r = NULL;
  finish_killed(p);

  /* (b) Large input still being written (stdin open) at the timeout. */
  size_t len = 4u << 20;
  char *big = pattern(len);
  p = start(argv, &pipes_in_out);
  ASSERT_EQ(subproc_communicate(p, big, len, 0.3, &r, &e), SUBPROC_ETIMEDOUT);
  subproc_result_free(r);
  r = NULL;
  ASSERT_EQ(subproc_communicate(p, "x", 1, 0.3, &r, &e), SUBPROC_EINVAL);
  ASSERT(r == NULL);
  finish_killed(p);
  free(big);

  /* (c) No input on the first call: communication has started anyway. */
  p = start(argv, &pipes_in_out);
  ASSERT_EQ(subproc_communicate(p, NULL, 0, 0.2, &r, &e), SUBPROC_ETIMEDOUT);
  subproc_result_free(r);
  r = NULL;
  ASSERT_EQ(subproc_communicate(p, "x", 1, 0.2, &r, &e), SUBPROC_EINVAL);
  finish_killed(p);
  test_assert_sigpipe_clean();
}

/* Python refuses input once communication has started, also after it
 * completed. */
TEST(comm_input_after_completion_refused) {
  const char *argv[] = {test_helper, "cat", NULL};
  subproc *p = start(argv, &(subproc_options){.in = SUBPROC_REDIRECT_PIPE,
                                              .out = SUBPROC_REDIRECT_PIPE});
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_communicate(p, "x", 1, test_slow(30), &r, &e), &e);
  ASSERT_STREQ(r->out, "x");
  subproc_result_free(r);
  ASSERT_EQ(subproc_communicate(p, "y", 1, test_slow(30), &r, &e),
            SUBPROC_EINVAL);
  ASSERT_STREQ(e.message, "Cannot send input after starting communication");
  subproc_free(p);
}

TEST(comm_noread_child_timeout) {
  /* A child that never reads its stdin: the timeout still fires. */
  test_sigpipe_default();
  size_t len = 2u << 20;
  char *in = pattern(len);
  const char *argv[] = {test_helper, "noread", "30", NULL};
  subproc *p = start(argv, &pipes_in_out);
  subproc_result *r = NULL;
  subproc_error e;
  double t0 = test_now();
  ASSERT_EQ(subproc_communicate(p, in, len, 0.5, &r, &e), SUBPROC_ETIMEDOUT);
  ASSERT_LT(test_now() - t0, 0.5 + test_slow(2.5));
  ASSERT(r && r->timed_out && r->out_len == 0);
  subproc_result_free(r);
  free(in);
  finish_killed(p);
  test_assert_sigpipe_clean();
}

TEST(comm_timeout_continuous_writer) {
  /* A pipe that never runs dry (output capped: a byte kept, the rest
   * drained) does not defeat the timeout. */
  const char *argv[] = {test_helper, "write", "1000000000000", NULL};
  subproc *p = start(
      argv, &(subproc_options){.out = SUBPROC_REDIRECT_PIPE, .max_output = 1});
  subproc_result *r = NULL;
  subproc_error e;
  double t0 = test_now();
  ASSERT_EQ(subproc_communicate(p, NULL, 0, 0.5, &r, &e), SUBPROC_ETIMEDOUT);
  ASSERT_LT(test_now() - t0, 0.5 + test_slow(2.5));
  ASSERT(r && r->timed_out && r->out_truncated);
  ASSERT_STREQ(r->out, "a");
  subproc_result_free(r);
  finish_killed(p);
}

TEST(comm_closeout_child_timeout) {
  /* stdout reaches EOF at once but the child runs on: wait() times out. */
  const char *argv[] = {test_helper, "closeout", "30", NULL};
  subproc *p = start(argv, &(subproc_options){.out = {.kind = SUBPROC_PIPE}});
  subproc_result *r = NULL;
  subproc_error e;
  double t0 = test_now();
  ASSERT_EQ(subproc_communicate(p, NULL, 0, 0.5, &r, &e), SUBPROC_ETIMEDOUT);
  ASSERT_LT(test_now() - t0, 0.5 + test_slow(2.5));
  ASSERT(r && r->timed_out);
  ASSERT_STREQ(r->out, "");
  subproc_result_free(r);
  finish_killed(p);
}

/* ------------------------------------------------------------------ */
/* SIGPIPE: writing to a child that is gone is not an error            */
/* ------------------------------------------------------------------ */

TEST(comm_write_to_exited_child) {
  test_sigpipe_default();
  size_t len = 4u << 20;
  char *in = pattern(len);
  const char *argv[] = {test_helper, "exit", "0", NULL};
  subproc *p = start(argv, &pipes_in_out);
  subproc_error e;
  int status = -1;
  ASSERT_OK(subproc_wait(p, test_slow(10.0), &status, &e), &e);
  ASSERT_EQ(status, 0);
  subproc_result *r = NULL;
  ASSERT_OK(subproc_communicate(p, in, len, test_slow(10.0), &r, &e), &e);
  ASSERT_EQ(r->returncode, 0);
  ASSERT_STREQ(r->out, "");
  subproc_result_free(r);
  subproc_free(p);
  /* run, with the child exiting while the input goes in */
  const char *seven[] = {test_helper, "exit", "7", NULL};
  r = run_ok(seven, (subproc_options){
                        .capture_output = 1, .input = in, .input_len = len});
  ASSERT_EQ(r->returncode, 7);
  subproc_result_free(r);
  free(in);
  test_assert_sigpipe_clean();
}

TEST(comm_write_to_closed_stdin) {
  /* The child closes its stdin and goes on: EPIPE is ignored, its output
   * and status are still collected. */
  test_sigpipe_default();
  size_t len = 4u << 20;
  char *in = pattern(len);
  const char *argv[] = {test_helper, "script", "closein", "out:closed\n",
                        "sleep:0.3", "exit:4", NULL};
  subproc *p = start(argv, &pipes_in_out);
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_communicate(p, in, len, test_slow(10.0), &r, &e), &e);
  ASSERT_EQ(r->returncode, 4);
  ASSERT_STREQ(r->out, "closed\n");
  subproc_result_free(r);
  subproc_free(p);
  free(in);
  test_assert_sigpipe_clean();
}

TEST(comm_stdin_stream_flush_to_exited_child) {
  /* Data the caller left buffered in the stdin FILE is flushed by
   * communicate; the child is gone, and that must not raise SIGPIPE. */
  test_sigpipe_default();
  const char *argv[] = {test_helper, "exit", "0", NULL};
  subproc *p = start(argv, &pipes_in_out);
  subproc_error e;
  ASSERT_OK(subproc_wait(p, test_slow(10.0), NULL, &e), &e);
  FILE *f = subproc_stream(p, 0);
  ASSERT(f != NULL);
  ASSERT(fputs("buffered but never read\n", f) >= 0);
  subproc_result *r = NULL;
  ASSERT_OK(subproc_communicate(p, NULL, 0, test_slow(10.0), &r, &e), &e);
  ASSERT_EQ(r->returncode, 0);
  subproc_result_free(r);
  subproc_free(p);
  test_assert_sigpipe_clean();
}

#ifndef _WIN32
TEST_POSIX(comm_sigpipe_ignored_by_app_kept) {
  /* An application that ignores SIGPIPE keeps its disposition. */
  signal(SIGPIPE, SIG_IGN);
  const char *argv[] = {test_helper, "exit", "0", NULL};
  subproc *p = start(argv, &pipes_in_out);
  subproc_error e;
  ASSERT_OK(subproc_wait(p, test_slow(10.0), NULL, &e), &e);
  subproc_result *r = NULL;
  char in[100000];
  memset(in, 'x', sizeof in);
  ASSERT_OK(subproc_communicate(p, in, sizeof in, test_slow(10.0), &r, &e), &e);
  subproc_result_free(r);
  subproc_free(p);
  struct sigaction sa;
  sigaction(SIGPIPE, NULL, &sa);
  ASSERT(sa.sa_handler == SIG_IGN);
}
#endif

/* ------------------------------------------------------------------ */
/* No pipes, binary data, signals, bad input                           */
/* ------------------------------------------------------------------ */

TEST(comm_no_pipes) {
  const char *argv[] = {test_helper, "exit", "3", NULL};
  subproc *p = start(argv, NULL);
  subproc_result *r = NULL;
  subproc_error e;
  /* Input without a stdin pipe is ignored, as in Python. */
  ASSERT_OK(subproc_communicate(p, "ignored", 7, SUBPROC_FOREVER, &r, &e), &e);
  ASSERT_EQ(r->returncode, 3);
  ASSERT(r->out == NULL && r->out_len == 0);
  ASSERT(r->err == NULL && r->err_len == 0);
  ASSERT(r->args != NULL);
  ASSERT_STREQ(r->args[0], test_helper);
  ASSERT_STREQ(r->args[1], "exit");
  ASSERT(r->args[3] == NULL);
  subproc_result_free(r);
  subproc_free(p);

  /* A timeout without pipes is a wait with a timeout. */
  const char *sl[] = {test_helper, "sleep", "30", NULL};
  p = start(sl, NULL);
  r = NULL;
  double t0 = test_now();
  ASSERT_EQ(subproc_communicate(p, NULL, 0, 0.3, &r, &e), SUBPROC_ETIMEDOUT);
  ASSERT_LT(test_now() - t0, 0.3 + test_slow(2.7));
  ASSERT(r && r->timed_out && r->out == NULL && r->err == NULL);
  subproc_result_free(r);
  finish_killed(p);
}

TEST(comm_res_null) {
  const char *argv[] = {test_helper, "write", "300000", NULL};
  subproc *p = start(argv, &(subproc_options){.out = {.kind = SUBPROC_PIPE}});
  subproc_error e;
  ASSERT_OK(subproc_communicate(p, NULL, 0, test_slow(10.0), NULL, &e), &e);
  ASSERT_EQ(subproc_returncode(p), 0);
  subproc_free(p);
}

TEST(comm_binary_output_with_nul) {
  const char *argv[] = {test_helper, "hex", "00610062000aff000d", NULL};
  subproc *p = start(argv, &(subproc_options){.out = {.kind = SUBPROC_PIPE}});
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_communicate(p, NULL, 0, test_slow(10.0), &r, &e), &e);
  static const char want[] = {0, 'a', 0, 'b', 0, '\n', (char)0xff, 0, '\r'};
  ASSERT_MEM(r->out, r->out_len, want, sizeof want);
  ASSERT_EQ(r->out[r->out_len], '\0');
  subproc_result_free(r);
  subproc_free(p);
}

TEST(comm_binary_input_with_nul) {
  const char *argv[] = {test_helper, "cat", NULL};
  subproc *p = start(argv, &pipes_in_out);
  subproc_result *r = NULL;
  subproc_error e;
  static const char in[] = {0, 0, 'x', 0, (char)0x80, 0};
  ASSERT_OK(subproc_communicate(p, in, sizeof in, test_slow(10.0), &r, &e), &e);
  ASSERT_MEM(r->out, r->out_len, in, sizeof in);
  subproc_result_free(r);
  subproc_free(p);
}

#ifndef _WIN32
TEST_POSIX(comm_child_killed_by_signal) {
  char sig[16];
  int sigs[] = {SIGTERM, SIGKILL, SIGUSR1}; /* not SIGSEGV: ASan catches it */
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    snprintf(sig, sizeof sig, "%d", sigs[i]);
    const char *argv[] = {test_helper, "raise", sig, NULL};
    subproc *p = start(argv, &pipes_in_out);
    subproc_result *r = NULL;
    subproc_error e;
    ASSERT_OK(subproc_communicate(p, "in", 2, test_slow(10.0), &r, &e), &e);
    ASSERT_EQ(r->returncode, -sigs[i]);
    ASSERT_STREQ(r->out, "");
    subproc_result_free(r);
    subproc_free(p);
  }
}
#endif

TEST(comm_terminated_while_reading) {
  /* Terminated from outside while communicate is reading. */
  const char *argv[] = {test_helper, "print-sleep", "x", "30", NULL};
  subproc *p = start(argv, &(subproc_options){.out = {.kind = SUBPROC_PIPE}});
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_EQ(subproc_communicate(p, NULL, 0, 0.2, &r, &e), SUBPROC_ETIMEDOUT);
  subproc_result_free(r);
  r = NULL;
  ASSERT_OK(subproc_terminate(p), &e);
  ASSERT_OK(subproc_communicate(p, NULL, 0, test_slow(10.0), &r, &e), &e);
  ASSERT_EQ(r->returncode, TEST_RC_TERMINATED);
  ASSERT_STREQ(r->out, "x\n");
  subproc_result_free(r);
  subproc_free(p);
}

TEST(comm_bad_input) {
  subproc_error e;
  subproc_result *r = (subproc_result *)&e; /* must be reset to NULL */
  ASSERT_EQ(subproc_communicate(NULL, NULL, 0, 1.0, &r, &e), SUBPROC_EINVAL);
  ASSERT_EQ(e.code, SUBPROC_EINVAL);
  ASSERT(r == NULL);
  ASSERT_EQ(subproc_communicate(NULL, "x", 1, 1.0, NULL, NULL), SUBPROC_EINVAL);
  subproc_result_free(NULL);
}

TEST(comm_after_completion) {
  /* A second communicate after the first completed returns the same
   * status and output again (Python, with two pipes or a timeout). */
  const char *argv[] = {test_helper, "echo", "once", NULL};
  subproc *p = start(argv, &(subproc_options){.out = {.kind = SUBPROC_PIPE}});
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_communicate(p, NULL, 0, test_slow(10.0), &r, &e), &e);
  ASSERT_STREQ(r->out, "once\n");
  subproc_result_free(r);
  r = NULL;
  ASSERT_OK(subproc_communicate(p, NULL, 0, test_slow(10.0), &r, &e), &e);
  ASSERT_EQ(r->returncode, 0);
  ASSERT_STREQ(r->out, "once\n");
  subproc_result_free(r);
  subproc_free(p);
}

/* ------------------------------------------------------------------ */
/* Text mode end to end                                                */
/* ------------------------------------------------------------------ */

/* Runs `helper hex HEX` with the text options; returns the rc. */
static int text_of_hex(const char *hex, const char *encoding,
                       const char *errors, subproc_result **r,
                       subproc_error *e) {
  const char *argv[] = {test_helper, "hex", hex, NULL};
  subproc_options o = {.text = 1,
                       .encoding = encoding,
                       .errors = errors,
                       .out = {.kind = SUBPROC_PIPE}};
  subproc *p = NULL;
  int rc = subproc_popen(argv, &o, &p, e);
  if (rc < 0)
    return rc;
  rc = subproc_communicate(p, NULL, 0, test_slow(10.0), r, e);
  subproc_free(p);
  return rc;
}

TEST(comm_text_universal_newlines) {
  subproc_result *r = NULL;
  subproc_error e;
  /* "a\r\nb\rc\r\n\r\nd\r" */
  ASSERT_OK(text_of_hex("610d0a620d630d0a0d0a640d", "utf-8", NULL, &r, &e), &e);
  ASSERT_STREQ(r->out, "a\nb\nc\n\nd\n");
  ASSERT_EQ(r->out_len, strlen("a\nb\nc\n\nd\n"));
  subproc_result_free(r);
  r = NULL;
  /* "a\r\nb\rc\n" and a UTF-8 character */
  ASSERT_OK(text_of_hex("610d0a620d630ac3a9", "utf-8", NULL, &r, &e), &e);
  ASSERT_STREQ(r->out, "a\nb\nc\n\xc3\xa9");
  subproc_result_free(r);
  /* Without text the bytes are untouched. */
  const char *argv[] = {test_helper, "hex", "610d0a620d", NULL};
  r = run_ok(argv, (subproc_options){.capture_output = 1});
  ASSERT_STREQ(r->out, "a\r\nb\r");
  subproc_result_free(r);
}

TEST(comm_text_crlf_split_across_reads) {
  /* "\r" in one write, "\n" in a later one: still one newline. */
  const char *argv[] = {test_helper,  "script",    "hex:610d", "sleep:0.3",
                        "hex:0a620d", "sleep:0.3", "hex:63",   NULL};
  subproc_result *r = run_ok(
      argv,
      (subproc_options){.capture_output = 1, .text = 1, .encoding = "utf-8"});
  ASSERT_STREQ(r->out, "a\nb\nc");
  subproc_result_free(r);
}

TEST(comm_text_latin1_output) {
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_OK(text_of_hex("e9e0ff41", "latin-1", NULL, &r, &e), &e);
  ASSERT_STREQ(r->out, "\xc3\xa9\xc3\xa0\xc3\xbf"
                       "A");
  ASSERT_EQ(r->out_len, 7);
  subproc_result_free(r);
}

TEST(comm_text_invalid_utf8_strict) {
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_EQ(text_of_hex("6162ff63", "utf-8", NULL, &r, &e), SUBPROC_EDECODE);
  ASSERT_EQ(e.code, SUBPROC_EDECODE);
  ASSERT_EQ(e.offset, 2);
  subproc_result_free(r);
  r = NULL;
  ASSERT_EQ(text_of_hex("6162ff63", "utf-8", "strict", &r, &e),
            SUBPROC_EDECODE);
  ASSERT_EQ(e.offset, 2);
  subproc_result_free(r);
  r = NULL;
  /* Through run: the same error, the child waited for. */
  const char *argv[] = {test_helper, "hex", "41c3", NULL};
  ASSERT_EQ(
      subproc_run(argv,
                  &(subproc_options){.encoding = "utf-8", .capture_output = 1},
                  &r, &e),
      SUBPROC_EDECODE);
  ASSERT_EQ(e.offset, 1); /* truncated sequence at EOF */
  subproc_result_free(r);
}

TEST(comm_text_invalid_utf8_replace_ignore) {
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_OK(text_of_hex("6162ff63", "utf-8", "replace", &r, &e), &e);
  ASSERT_STREQ(r->out, "ab\xef\xbf\xbd"
                       "c");
  subproc_result_free(r);
  r = NULL;
  ASSERT_OK(text_of_hex("6162ff63", "utf-8", "ignore", &r, &e), &e);
  ASSERT_STREQ(r->out, "abc");
  subproc_result_free(r);
  r = NULL;
  ASSERT_OK(text_of_hex("6162ff63", "utf-8", "backslashreplace", &r, &e), &e);
  ASSERT_STREQ(r->out, "ab\\xffc");
  subproc_result_free(r);
}

TEST(comm_text_input_encoded) {
  /* UTF-8 input reaches the child as latin-1 bytes: it shows them. */
  const char *tohex[] = {test_helper, "tohex", NULL};
  const char *in = "\xc3\xa9t\xc3\xa9\n";
  subproc_result *r = run_ok(tohex, (subproc_options){.capture_output = 1,
                                                      .encoding = "latin-1",
                                                      .input = in,
                                                      .input_len = strlen(in)});
  ASSERT_STREQ(r->out, "e974e90a");
  subproc_result_free(r);
  r = NULL;
  /* And back: cat decodes latin-1 to the same UTF-8. */
  const char *cat[] = {test_helper, "cat", NULL};
  r = run_ok(cat, (subproc_options){.capture_output = 1,
                                    .encoding = "latin-1",
                                    .input = in,
                                    .input_len = strlen(in)});
  ASSERT_STREQ(r->out, in);
  subproc_result_free(r);
  r = NULL;
  /* Input not encodable in the target encoding: strict fails. */
  const char *euro = "\xe2\x82\xac";
  subproc_error e;
  int rc = subproc_run(cat,
                       &(subproc_options){.encoding = "latin-1",
                                          .input = euro,
                                          .input_len = strlen(euro),
                                          .capture_output = 1},
                       &r, &e);
  ASSERT_EQ(rc, SUBPROC_EDECODE);
  subproc_result_free(r);
}

TEST(comm_text_large_both_ways) {
  /* Multi-byte characters cut at every read boundary. */
  test_sigpipe_default();
  size_t n = 3u << 20; /* characters */
  char *in = malloc(n * 2 + 1);
  ASSERT(in != NULL);
  size_t len = 0;
  for (size_t i = 0; i < n; i++) {
    if (i % 61 == 60) {
      in[len++] = '\n';
    } else {
      in[len++] = (char)0xc3;
      in[len++] = (char)(0xa0 + i % 16); /* U+00E0..U+00EF */
    }
  }
  in[len] = '\0';
  const char *argv[] = {test_helper, "cat2", NULL};
  subproc_options o = pipes_in_out;
  o.encoding = "latin-1";
  subproc *p = start(argv, &o);
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_communicate(p, in, len, SUBPROC_FOREVER, &r, &e), &e);
  ASSERT_MEM(r->out, r->out_len, in, len);
  ASSERT_MEM(r->err, r->err_len, in, len);
  subproc_result_free(r);
  subproc_free(p);
  free(in);
}

TEST(comm_text_unknown_encoding_fails_at_popen) {
  const char *argv[] = {test_helper, "echo", "x", NULL};
  subproc_error e;
  subproc *p = (subproc *)&e;
  ASSERT_EQ(subproc_popen(argv,
                          &(subproc_options){.encoding = "no-such-encoding-x",
                                             .out = {.kind = SUBPROC_PIPE}},
                          &p, &e),
            SUBPROC_EINVAL);
  ASSERT_EQ(e.code, SUBPROC_EINVAL);
  ASSERT(p == NULL);
  ASSERT_EQ(subproc_popen(argv,
                          &(subproc_options){.text = 1,
                                             .errors = "no-such-mode",
                                             .out = {.kind = SUBPROC_PIPE}},
                          &p, &e),
            SUBPROC_EINVAL);
  subproc_result *r = (subproc_result *)&e;
  ASSERT_EQ(subproc_run(argv,
                        &(subproc_options){.encoding = "no-such-encoding-x",
                                           .capture_output = 1},
                        &r, &e),
            SUBPROC_EINVAL);
  ASSERT(r == NULL);
}

TEST(comm_text_timeout_retry_split_char) {
  /* A character (and a \r\n) cut by the timeout is completed on the
   * retry: the decoder state survives the snapshot. The child writes at
   * 0, T and 2T; the calls end at T/2 and 3T/2 (T = test_slow(1)). */
  double t = test_slow(1.0);
  char pause[32];
  snprintf(pause, sizeof pause, "sleep:%g", t);
  const char *argv[] = {test_helper, "script", "hex:61c3", pause,
                        "hex:a90d",  pause,    "hex:0a7a", NULL};
  subproc *p = start(argv, &(subproc_options){.encoding = "utf-8",
                                              .out = {.kind = SUBPROC_PIPE}});
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_EQ(subproc_communicate(p, NULL, 0, t / 2, &r, &e), SUBPROC_ETIMEDOUT);
  ASSERT_STREQ(r->out, "a");
  subproc_result_free(r);
  r = NULL;
  ASSERT_EQ(subproc_communicate(p, NULL, 0, t, &r, &e), SUBPROC_ETIMEDOUT);
  ASSERT(strncmp(r->out, "a\xc3\xa9", 3) == 0);
  subproc_result_free(r);
  r = NULL;
  ASSERT_OK(subproc_communicate(p, NULL, 0, SUBPROC_FOREVER, &r, &e), &e);
  ASSERT_STREQ(r->out, "a\xc3\xa9\nz");
  subproc_result_free(r);
  subproc_free(p);
}

static size_t counted;
static int count_fn(void *arg, int stream, const char *data, size_t len) {
  (void)data;
  if (stream == 1)
    *(size_t *)arg += len;
  return 0;
}

TEST(comm_on_output_and_max_output) {
  /* The callback sees at most max_output bytes per stream. */
  const char *argv[] = {test_helper, "write", "500000", NULL};
  subproc *p = start(argv, &(subproc_options){.out = {.kind = SUBPROC_PIPE},
                                              .max_output = 100000,
                                              .on_output = count_fn,
                                              .on_output_arg = &counted});
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_communicate(p, NULL, 0, test_slow(10.0), &r, &e), &e);
  ASSERT_EQ(counted, 100000);
  ASSERT(r->out == NULL);
  ASSERT(r->out_truncated);
  ASSERT_EQ(r->returncode, 0);
  subproc_result_free(r);
  subproc_free(p);
}

TEST(comm_text_decode_error_lets_child_finish) {
  /* Python decodes after the child has exited: a bad byte does not stop
   * the child. The error (with its offset) comes when the stream ends. */
  const char *argv[] = {test_helper, "script", "hex:61ff62", "sleep:0.3",
                        "out:more",  "exit:3", NULL};
  subproc *p = start(argv, &(subproc_options){.encoding = "utf-8",
                                              .out = {.kind = SUBPROC_PIPE}});
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_EQ(subproc_communicate(p, NULL, 0, test_slow(10.0), &r, &e),
            SUBPROC_EDECODE);
  ASSERT_EQ(e.code, SUBPROC_EDECODE);
  ASSERT_EQ(e.offset, 1);
  ASSERT_EQ(subproc_returncode(p), 3); /* ran to its end, not killed */
  ASSERT(r != NULL);
  ASSERT_EQ(r->returncode, 3);
  ASSERT_STREQ(r->out, "a"); /* what decoded before the error */
  subproc_result_free(r);
  subproc_free(p);

  /* The same through run: status 3, the result given. */
  r = NULL;
  ASSERT_EQ(
      subproc_run(argv,
                  &(subproc_options){.encoding = "utf-8", .capture_output = 1},
                  &r, &e),
      SUBPROC_EDECODE);
  ASSERT_EQ(e.offset, 1);
  ASSERT(r != NULL);
  ASSERT_EQ(r->returncode, 3);
  subproc_result_free(r);
}

TEST(comm_text_encode_error_run_result) {
  /* Input that the encoding cannot hold: SUBPROC_EDECODE before anything
   * is written; run kills and reaps the child and still gives a result. */
  const char *cat[] = {test_helper, "cat", NULL};
  const char *euro = "ok \xe2\x82\xac";
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_EQ(subproc_run(cat,
                        &(subproc_options){.encoding = "latin-1",
                                           .input = euro,
                                           .input_len = strlen(euro),
                                           .capture_output = 1},
                        &r, &e),
            SUBPROC_EDECODE);
  ASSERT_EQ(e.code, SUBPROC_EDECODE);
  ASSERT_EQ(e.offset, 3);
  ASSERT(r != NULL); /* the child was started: *res is given */
  ASSERT_EQ(r->returncode, TEST_RC_KILLED);
  subproc_result_free(r);
  r = NULL;
  /* communicate itself leaves the child running (Python raises before
   * writing); errors=replace sends '?'. */
  subproc *p = start(cat, &(subproc_options){.encoding = "latin-1",
                                             .in = {.kind = SUBPROC_PIPE},
                                             .out = {.kind = SUBPROC_PIPE}});
  ASSERT_EQ(subproc_communicate(p, euro, strlen(euro), test_slow(10.0), &r, &e),
            SUBPROC_EDECODE);
  ASSERT_EQ(subproc_poll(p, NULL), 0);
  finish_killed(p);
  p = start(cat, &(subproc_options){.encoding = "latin-1",
                                    .errors = "replace",
                                    .in = {.kind = SUBPROC_PIPE},
                                    .out = {.kind = SUBPROC_PIPE}});
  r = NULL;
  ASSERT_OK(subproc_communicate(p, euro, strlen(euro), test_slow(10.0), &r, &e),
            &e);
  ASSERT_STREQ(r->out, "ok ?");
  subproc_result_free(r);
  subproc_free(p);
}

/* A write cancelled while the child had read part of it reports 0 bytes
 * on Windows: with a small pipe and a child that reads little at a time,
 * any such write would show as duplicated input. */
TEST(comm_small_pipe_input_exact) {
  size_t n = 1024 * 1024 + 7;
  char *in = malloc(n);
  for (size_t i = 0; i < n; i++)
    in[i] = (char)(i * 7 + i / 4093);
  const char *argv[] = {test_helper, "cat-by", "777", NULL};
  subproc_result *r = run_ok(argv, (subproc_options){.input = in,
                                                     .input_len = n,
                                                     .capture_output = 1,
                                                     .pipesize = 1000,
                                                     .timeout = test_slow(60)});
  ASSERT_MEM(r->out, r->out_len, in, n);
  subproc_result_free(r);
  free(in);
}

/* What a FILE read ahead goes to communicate, which does not wait for
 * more than the pipe holds now (the child keeps it open). */
TEST(comm_stream_read_ahead_then_timeout) {
  const char *argv[] = {test_helper, "print-sleep", "one\ntwo", "30", NULL};
  subproc *p = start(argv, &(subproc_options){.out = SUBPROC_REDIRECT_PIPE});
  char line[64];
  ASSERT(fgets(line, sizeof line, subproc_stream(p, 1)) != NULL);
  ASSERT_STREQ(line, "one\n");
  subproc_result *r = NULL;
  subproc_error e;
  double t0 = test_now();
  ASSERT_EQ(subproc_communicate(p, NULL, 0, 0.5, &r, &e), SUBPROC_ETIMEDOUT);
  ASSERT(test_now() - t0 < test_slow(5.0));
  ASSERT_STREQ(r->out, "two\n");
  subproc_result_free(r);
  finish_killed(p);
}

/* free never blocks: stdin's unflushed bytes are dropped when the child
 * does not read them. */
TEST(comm_free_drops_unread_stdin) {
  const char *argv[] = {test_helper, "sleep", "0.5", NULL};
  subproc *p = start(argv, &(subproc_options){.in = SUBPROC_REDIRECT_PIPE,
                                              .bufsize = 1 << 20});
  static char junk[300000];
  FILE *f = subproc_stream(p, 0);
  ASSERT_EQ(fwrite(junk, 1, sizeof junk, f), sizeof junk);
  double t0 = test_now();
  subproc_free(p);
  ASSERT(test_now() - t0 < test_slow(0.4)); /* before the child's end */
  /* The freed child sleeps on, an orphan, reaped once it ends. */
  while (subproc_reap_orphans() > 0)
    ASSERT(test_now() - t0 < test_slow(20));
}
