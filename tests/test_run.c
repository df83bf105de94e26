/* The run family end to end (issue 3): run with capture, input, timeout,
 * check, kill_tree, wait_delay, max_output, on_output, rusage; call,
 * check_call, check_output, getoutput, getstatusoutput, with differential
 * tests against Python's own subprocess module. */
#include <errno.h>
#include <signal.h>
#ifndef _WIN32
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "subproc.h"
#include "test.h"
#include "testing.h"
#include "util.h"

/* ------------------------------------------------------------------ */
/* run: capture, input, timeout                                        */
/* ------------------------------------------------------------------ */

TEST(run_capture_output) {
  const char *argv[] = {test_helper, "outerr", "to out", "to err", NULL};
  subproc_result *r = run_ok(argv, (subproc_options){.capture_output = 1});
  ASSERT_STREQ(r->out, "to out");
  ASSERT_EQ(r->out_len, 6);
  ASSERT_STREQ(r->err, "to err");
  ASSERT_EQ(r->err_len, 6);
  ASSERT_EQ(r->returncode, 0);
  ASSERT(!r->timed_out && !r->out_truncated && !r->err_truncated);
  ASSERT(r->pid > 0);
  ASSERT_STREQ(r->args[0], test_helper);
  ASSERT_STREQ(r->args[3], "to err");
  ASSERT(r->args[4] == NULL);
  subproc_result_free(r);
}

TEST(run_without_capture) {
  /* Nothing captured: out and err stay NULL; the status is reported. */
  const char *argv[] = {test_helper, "exit", "7", NULL};
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_run(argv, NULL, &r, &e), &e); /* opts may be NULL */
  ASSERT_EQ(r->returncode, 7);
  ASSERT(r->out == NULL && r->err == NULL);
  subproc_result_free(r);
}

TEST(run_input) {
  const char *argv[] = {test_helper, "cat", NULL};
  static const char in[] = "line 1\nline 2\n\0binary";
  subproc_result *r = run_ok(
      argv, (subproc_options){
                .capture_output = 1, .input = in, .input_len = sizeof in - 1});
  ASSERT_EQ(r->out_len, sizeof in - 1);
  ASSERT(memcmp(r->out, in, sizeof in - 1) == 0);
  ASSERT_EQ(r->returncode, 0);
  subproc_result_free(r);
}

TEST_POSIX(run_cmd_shell_string) {
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_run_cmd("echo $((6 * 7)) | tr 4 X; exit 2",
                            &(subproc_options){.shell = 1, .capture_output = 1},
                            &r, &e),
            &e);
  ASSERT_STREQ(r->out, "X2\n");
  ASSERT_EQ(r->returncode, 2);
  subproc_result_free(r);
}

TEST(run_timeout) {
  const char *argv[] = {test_helper, "print-sleep", "partial", "30", NULL};
  subproc_result *r = NULL;
  subproc_error e;
  double t0 = test_now();
  int rc = subproc_run(
      argv, &(subproc_options){.capture_output = 1, .timeout = 0.5}, &r, &e);
  double took = test_now() - t0;
  ASSERT_EQ(rc, SUBPROC_ETIMEDOUT);
  ASSERT_GE(took, 0.45);
  ASSERT_LT(took, 0.5 + test_slow(1.5));
  ASSERT_EQ(e.code, SUBPROC_ETIMEDOUT);
  ASSERT(e.timeout == (double)0.5);
  ASSERT_CONTAINS(e.message, "timed out after 0.5 seconds");
  /* The error carries the partial output; the child was killed. */
  ASSERT(r != NULL);
  ASSERT(r->timed_out);
  ASSERT_STREQ(r->out, "partial\n");
  ASSERT_STREQ(r->err, "");
  ASSERT_EQ(r->returncode, TEST_RC_KILLED);
  subproc_result_free(r);
}

TEST(run_timeout_with_input_never_read) {
  size_t len = 4u << 20;
  char *in = malloc(len);
  ASSERT(in != NULL);
  memset(in, 'q', len);
  const char *argv[] = {test_helper, "noread", "30", NULL};
  subproc_result *r = NULL;
  subproc_error e;
  double t0 = test_now();
  ASSERT_EQ(subproc_run(argv,
                        &(subproc_options){.input = in,
                                           .input_len = len,
                                           .capture_output = 1,
                                           .timeout = 0.5},
                        &r, &e),
            SUBPROC_ETIMEDOUT);
  ASSERT_LT(test_now() - t0, 0.5 + test_slow(1.5));
  ASSERT(r && r->timed_out);
  subproc_result_free(r);
  free(in);
}

TEST(run_timeout_continuous_writer) {
  /* A child that never stops writing keeps the pipes always readable: the
   * timeout must fire all the same (output capped so memory stays low). */
  const char *argv[] = {test_helper, "write", "1000000000000", NULL};
  subproc_result *r = NULL;
  subproc_error e;
  double t0 = test_now();
  int rc =
      subproc_run(argv,
                  &(subproc_options){
                      .capture_output = 1, .timeout = 0.5, .max_output = 4096},
                  &r, &e);
  ASSERT_LT(test_now() - t0, 0.5 + test_slow(1.5));
  ASSERT_EQ(rc, SUBPROC_ETIMEDOUT);
  ASSERT(r && r->timed_out && r->out_truncated);
  ASSERT_EQ(r->out_len, 4096);
  ASSERT(write_pattern_ok(r->out, r->out_len));
  ASSERT_EQ(r->returncode, TEST_RC_KILLED);
  subproc_result_free(r);
}

static int slow_sink(void *arg, int stream, const char *data, size_t len) {
  (void)stream;
  (void)data;
  *(size_t *)arg += len;
  test_sleep(0.002); /* slower than the child: its pipe is never empty */
  return 0;
}

TEST(run_timeout_slow_consumer) {
  /* The pipe stays readable at every poll: the timeout must fire anyway. */
  const char *argv[] = {test_helper, "write", "1000000000000", NULL};
  size_t seen = 0;
  subproc_result *r = NULL;
  subproc_error e;
  double t0 = test_now();
  int rc = subproc_run(argv,
                       &(subproc_options){.out = {.kind = SUBPROC_PIPE},
                                          .timeout = 0.5,
                                          .on_output = slow_sink,
                                          .on_output_arg = &seen},
                       &r, &e);
  ASSERT_LT(test_now() - t0, 0.5 + test_slow(1.5));
  ASSERT_EQ(rc, SUBPROC_ETIMEDOUT);
  ASSERT(seen > 0);
  ASSERT(r && r->timed_out);
  ASSERT_EQ(r->returncode, TEST_RC_KILLED);
  subproc_result_free(r);
}

/* ------------------------------------------------------------------ */
/* check                                                               */
/* ------------------------------------------------------------------ */

/* "Command '<argv joined>' returned non-zero exit status N." */
static void assert_called_message(const subproc_error *e,
                                  const char *const *argv, int status) {
  char *cmd = subproc_join(argv);
  ASSERT(cmd != NULL);
  char want[2048];
  snprintf(want, sizeof want, "Command '%s' returned non-zero exit status %d.",
           cmd, status);
  subproc_buffer_free(cmd);
  ASSERT_STREQ(e->message, want);
}

TEST(run_check_nonzero) {
  const char *argv[] = {test_helper, "exit", "3", NULL};
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_EQ(subproc_run(argv, &(subproc_options){.check = 1}, &r, &e),
            SUBPROC_ECALLED);
  ASSERT_EQ(e.code, SUBPROC_ECALLED);
  ASSERT_EQ(e.returncode, 3);
  assert_called_message(&e, argv, 3);
  ASSERT(r != NULL);
  ASSERT_EQ(r->returncode, 3);
  subproc_result_free(r);

  /* The output is kept on the error. */
  r = NULL;
  const char *script[] = {test_helper, "script", "out:out",
                          "err:err",   "exit:4", NULL};
  ASSERT_EQ(subproc_run(script,
                        &(subproc_options){.check = 1, .capture_output = 1}, &r,
                        &e),
            SUBPROC_ECALLED);
  ASSERT_EQ(e.returncode, 4);
  assert_called_message(&e, script, 4);
  ASSERT_STREQ(r->out, "out");
  ASSERT_STREQ(r->err, "err");
  ASSERT_EQ(subproc_check_returncode(r, &e), SUBPROC_ECALLED);
  ASSERT_EQ(e.returncode, 4);
  subproc_result_free(r);

  /* res may be NULL. */
  ASSERT_EQ(subproc_run(argv, &(subproc_options){.check = 1}, NULL, &e),
            SUBPROC_ECALLED);
  ASSERT_EQ(e.returncode, 3);
}

TEST_POSIX(run_check_shell_command) {
  /* A shell command shows as given, as Python shows the string. */
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_EQ(subproc_run_cmd(
                "printf out; printf err >&2; exit 4",
                &(subproc_options){.shell = 1, .check = 1, .capture_output = 1},
                &r, &e),
            SUBPROC_ECALLED);
  ASSERT_EQ(e.returncode, 4);
  ASSERT_STREQ(e.message, "Command 'printf out; printf err >&2; exit 4' "
                          "returned non-zero exit status 4.");
  ASSERT_STREQ(r->out, "out");
  ASSERT_STREQ(r->err, "err");
  subproc_result_free(r);
}

TEST(run_check_zero) {
  const char *ok[] = {test_helper, "exit", "0", NULL};
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_run(ok, &(subproc_options){.check = 1}, &r, &e), &e);
  ASSERT_EQ(r->returncode, 0);
  ASSERT_OK(subproc_check_returncode(r, &e), &e);
  subproc_result_free(r);
}

#ifndef _WIN32
TEST_POSIX(run_check_signal) {
  subproc_result *r = NULL;
  subproc_error e;
  char sig[8];
  snprintf(sig, sizeof sig, "%d", SIGKILL);
  const char *killed[] = {test_helper, "raise", sig, NULL};
  ASSERT_EQ(subproc_run(killed, &(subproc_options){.check = 1}, &r, &e),
            SUBPROC_ECALLED);
  ASSERT_EQ(e.returncode, -SIGKILL);
  ASSERT_EQ(r->returncode, -SIGKILL);
  ASSERT_CONTAINS(e.message, "died with <Signals.SIGKILL: 9>.");
  subproc_result_free(r);
}
#endif

/* ------------------------------------------------------------------ */
/* Invalid combinations (Python's ValueError)                          */
/* ------------------------------------------------------------------ */

TEST(run_conflicting_options_einval) {
  const char *argv[] = {test_helper, "cat", NULL};
  subproc_error e;
  subproc_result *r = (subproc_result *)&e;
  subproc_redirect ins[] = {{.kind = SUBPROC_PIPE},
                            {.kind = SUBPROC_DEVNULL},
                            {.kind = SUBPROC_FD, .fd = 0}};
  for (size_t i = 0; i < sizeof ins / sizeof ins[0]; i++) {
    r = (subproc_result *)&e;
    ASSERT_EQ(subproc_run(argv,
                          &(subproc_options){
                              .input = "x", .input_len = 1, .in = ins[i]},
                          &r, &e),
              SUBPROC_EINVAL);
    ASSERT_EQ(e.code, SUBPROC_EINVAL);
    ASSERT_CONTAINS(e.message, "stdin and input");
    ASSERT(r == NULL);
  }
  subproc_redirect outs[] = {{.kind = SUBPROC_PIPE},
                             {.kind = SUBPROC_DEVNULL},
                             {.kind = SUBPROC_FD, .fd = 1}};
  for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++) {
    r = (subproc_result *)&e;
    ASSERT_EQ(subproc_run(
                  argv, &(subproc_options){.capture_output = 1, .out = outs[i]},
                  &r, &e),
              SUBPROC_EINVAL);
    ASSERT_CONTAINS(e.message, "capture_output");
    ASSERT(r == NULL);
    ASSERT_EQ(subproc_run(
                  argv, &(subproc_options){.capture_output = 1, .err = outs[i]},
                  &r, &e),
              SUBPROC_EINVAL);
    ASSERT(r == NULL);
  }
  ASSERT_EQ(subproc_run(argv,
                        &(subproc_options){.capture_output = 1,
                                           .err = {.kind = SUBPROC_STDOUT}},
                        &r, &e),
            SUBPROC_EINVAL);
  /* check_output owns stdout. */
  ASSERT_EQ(
      subproc_check_output(
          argv, &(subproc_options){.out = {.kind = SUBPROC_PIPE}}, &r, &e),
      SUBPROC_EINVAL);
  ASSERT_EQ(subproc_check_output(argv, &(subproc_options){.capture_output = 1},
                                 &r, &e),
            SUBPROC_EINVAL);
}

/* ------------------------------------------------------------------ */
/* kill_tree                                                           */
/* ------------------------------------------------------------------ */

/* `helper tree 30`, a child with a grandchild that holds none of its
 * pipes, run with o and a timeout: on the timeout the grandchild must die
 * with the child when kill_tree applies. Returns the grandchild's pid (as
 * a subreaper this process inherits it, to check and reap it). */
static long run_tree(subproc_options o, subproc_result **r) {
  test_become_subreaper();
  const char *argv[] = {test_helper, "tree", "30", NULL};
  subproc_error e;
  o.capture_output = 1;
  o.timeout = 1.0;
  double t0 = test_now();
  ASSERT_EQ(subproc_run(argv, &o, r, &e), SUBPROC_ETIMEDOUT);
  ASSERT_LT(test_now() - t0, 1.0 + test_slow(1.5));
  ASSERT(*r && (*r)->timed_out);
  ASSERT_EQ((*r)->returncode, TEST_RC_KILLED);
  long pid = atol((*r)->out);
  ASSERT(pid > 1);
  return pid;
}

TEST(run_kill_tree_on) {
  subproc_result *r = NULL;
  long pid = run_tree((subproc_options){.kill_tree = SUBPROC_KILL_TREE_ON}, &r);
  ASSERT(test_process_gone(pid, 5.0));
#ifndef _WIN32
  ASSERT(group_gone(r->pid)); /* the group the child led */
#endif
  subproc_result_free(r);
}

TEST(run_kill_tree_auto_new_session) {
  subproc_result *r = NULL;
  long pid = run_tree((subproc_options){.start_new_session = 1}, &r);
  ASSERT(test_process_gone(pid, 5.0));
  subproc_result_free(r);
}

TEST_POSIX(run_kill_tree_auto_process_group) {
  /* AUTO with process_group=0 too. */
  subproc_result *r = NULL;
  long pid = run_tree((subproc_options){.set_process_group = 1}, &r);
  ASSERT(test_process_gone(pid, 5.0));
#ifndef _WIN32
  ASSERT(group_gone(r->pid));
#endif
  subproc_result_free(r);
}

TEST(run_kill_tree_off_leaves_grandchild) {
  /* Python's behaviour: only the direct child is killed, by default and
   * with kill_tree OFF in a session of its own. */
  const subproc_options opts[] = {
      {0}, {.start_new_session = 1, .kill_tree = SUBPROC_KILL_TREE_OFF}};
  for (int i = 0; i < 2; i++) {
    subproc_result *r = NULL;
    long pid = run_tree(opts[i], &r);
    ASSERT(test_process_running(pid));
#ifndef _WIN32
    if (i == 1)
      ASSERT_EQ(getpgid((pid_t)pid), r->pid); /* in the child's session */
#endif
    test_kill_process(pid);
    subproc_result_free(r);
  }
}

/* ------------------------------------------------------------------ */
/* Grandchildren holding the pipes: wait_delay                         */
/* ------------------------------------------------------------------ */

TEST_POSIX(run_wait_delay_grandchild_holds_pipe) {
  /* Python's run("sleep 30 & echo x", shell=True, capture_output=True)
   * hangs 30 s; with wait_delay the shell's status and output come back
   * as soon as the delay after its exit is over. A new session lets the
   * test clean the sleep up afterwards. */
  test_become_subreaper();
  subproc_result *r = NULL;
  subproc_error e;
  double t0 = test_now();
  ASSERT_OK(subproc_run_cmd("sleep 30 & echo x",
                            &(subproc_options){.shell = 1,
                                               .capture_output = 1,
                                               .start_new_session = 1,
                                               .wait_delay = 0.3},
                            &r, &e),
            &e);
  double took = test_now() - t0;
  ASSERT_LT(took, 0.3 + test_slow(1.7));
  ASSERT_GE(took, 0.25);
  ASSERT_EQ(r->returncode, 0);
  ASSERT_STREQ(r->out, "x\n");
  ASSERT_STREQ(r->err, "");
  ASSERT(!r->timed_out);
#ifndef _WIN32
  ASSERT_EQ(kill(-(pid_t)r->pid, SIGKILL), 0); /* the sleep was left alone */
  ASSERT(group_gone(r->pid));
#endif
  subproc_result_free(r);
}

/* The grandchild of `helper grandchild S TEXT` outlives the case (on
 * Windows in the case's job, elsewhere reparented to init). */
static void grandchild_left(void) {
#ifdef _WIN32
  test_allow_leftover_children();
#endif
}

TEST(run_wait_delay_with_timeout) {
  /* wait_delay and a (longer) timeout: a clean status 0, no timeout. The
   * grandchild holds the pipes for longer than the timeout, with kill_tree
   * or without. */
  const subproc_kill_tree trees[] = {SUBPROC_KILL_TREE_AUTO,
                                     SUBPROC_KILL_TREE_ON};
  char hold[32];
  snprintf(hold, sizeof hold, "%g", test_slow(8.0));
  for (int i = 0; i < 2; i++) {
    const char *argv[] = {test_helper, "grandchild", hold, "hello", NULL};
    subproc_result *r = NULL;
    subproc_error e;
    double t0 = test_now();
    ASSERT_OK(subproc_run(argv,
                          &(subproc_options){.capture_output = 1,
                                             .wait_delay = 0.3,
                                             .kill_tree = trees[i],
                                             .timeout = test_slow(7.0)},
                          &r, &e),
              &e);
    ASSERT_LT(test_now() - t0, 0.3 + test_slow(1.7));
    ASSERT_EQ(r->returncode, 0);
    ASSERT_STREQ(r->out, "hello\n");
    ASSERT(!r->timed_out);
    subproc_result_free(r);
  }
  grandchild_left();
}

TEST(run_wait_delay_not_imposed_on_clean_exit) {
  /* Pipes that reach EOF end the call at once: the delay is a bound. */
  const char *argv[] = {test_helper, "write", "100000", NULL};
  subproc_result *r = NULL;
  subproc_error e;
  double t0 = test_now();
  ASSERT_OK(subproc_run(argv,
                        &(subproc_options){.capture_output = 1,
                                           .wait_delay = test_slow(10.0)},
                        &r, &e),
            &e);
  ASSERT_LT(test_now() - t0, test_slow(3.0));
  ASSERT_EQ(r->out_len, 100000);
  ASSERT(write_pattern_ok(r->out, r->out_len));
  subproc_result_free(r);
}

TEST(run_timeout_grandchild_holds_pipe) {
  /* No wait_delay, the grandchild not killed (Python's exact case, in our
   * own process group): the timeout still ends the call within the
   * timeout and a bound, with the child's status. */
  subproc_result *r = NULL;
  subproc_error e;
  char hold[32];
  snprintf(hold, sizeof hold, "%g", test_slow(8.0));
  double t0 = test_now();
  const char *argv[] = {test_helper, "grandchild", hold, "y", NULL};
  ASSERT_EQ(subproc_run(argv,
                        &(subproc_options){.capture_output = 1, .timeout = 1.0},
                        &r, &e),
            SUBPROC_ETIMEDOUT);
  ASSERT_LT(test_now() - t0, 1.0 + test_slow(1.5));
  ASSERT(r->timed_out);
  ASSERT_STREQ(r->out, "y\n");
  ASSERT_EQ(r->returncode, 0); /* the child had exited on its own */
  subproc_result_free(r);
  grandchild_left();
}

TEST_POSIX(run_timeout_grandchild_holds_pipe_new_session) {
  /* The same with the grandchild in a session of its own, kill_tree OFF,
   * cleaned up afterwards. */
  test_become_subreaper();
  subproc_result *r = NULL;
  subproc_error e;
  double t0 = test_now();
  ASSERT_EQ(
      subproc_run_cmd("sleep 30 & echo x",
                      &(subproc_options){.shell = 1,
                                         .capture_output = 1,
                                         .start_new_session = 1,
                                         .kill_tree = SUBPROC_KILL_TREE_OFF,
                                         .timeout = 1.0},
                      &r, &e),
      SUBPROC_ETIMEDOUT);
  ASSERT_LT(test_now() - t0, 1.0 + test_slow(1.5));
  ASSERT(r->timed_out);
  ASSERT_STREQ(r->out, "x\n");
#ifndef _WIN32
  ASSERT_EQ(kill(-(pid_t)r->pid, SIGKILL), 0);
  ASSERT(group_gone(r->pid));
#endif
  subproc_result_free(r);
}

TEST_POSIX(run_timeout_grandchild_keeps_writing) {
  /* After the timeout kill, a grandchild that keeps the pipe full must not
   * keep run reading: the drain after the kill is bounded too. */
  test_become_subreaper();
  const char *argv[] = {"\"$0\" write 1000000000000 & wait", test_helper, NULL};
  size_t seen = 0;
  subproc_result *r = NULL;
  subproc_error e;
  double t0 = test_now();
  ASSERT_EQ(subproc_run(argv,
                        &(subproc_options){.shell = 1,
                                           .out = {.kind = SUBPROC_PIPE},
                                           .start_new_session = 1,
                                           .kill_tree = SUBPROC_KILL_TREE_OFF,
                                           .timeout = 0.5,
                                           .on_output = slow_sink,
                                           .on_output_arg = &seen},
                        &r, &e),
            SUBPROC_ETIMEDOUT);
  ASSERT_LT(test_now() - t0, 0.5 + test_slow(1.5));
  ASSERT(seen > 0);
#ifndef _WIN32
  ASSERT_EQ(kill(-(pid_t)r->pid, SIGKILL), 0);
  ASSERT(group_gone(r->pid));
#endif
  subproc_result_free(r);
}

/* ------------------------------------------------------------------ */
/* max_output                                                          */
/* ------------------------------------------------------------------ */

TEST(run_max_output_truncate) {
  const char *argv[] = {test_helper, "write", "1000000", NULL};
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_OK(
      subproc_run(argv,
                  &(subproc_options){.capture_output = 1, .max_output = 1000},
                  &r, &e),
      &e);
  ASSERT_EQ(r->out_len, 1000);
  ASSERT_EQ(strlen(r->out), 1000);
  ASSERT(write_pattern_ok(r->out, r->out_len));
  ASSERT(r->out_truncated);
  ASSERT(!r->err_truncated);
  ASSERT_EQ(r->returncode, 0); /* drained to the end: a clean exit */
  subproc_result_free(r);
  r = NULL;

  /* stderr has its own cap. */
  const char *err2[] = {test_helper, "write", "777777", "2", NULL};
  ASSERT_OK(
      subproc_run(err2,
                  &(subproc_options){.capture_output = 1, .max_output = 5000},
                  &r, &e),
      &e);
  ASSERT_EQ(r->err_len, 5000);
  ASSERT(write_pattern_ok(r->err, r->err_len));
  ASSERT(r->err_truncated && !r->out_truncated);
  ASSERT_EQ(r->out_len, 0);
  ASSERT_EQ(r->returncode, 0);
  subproc_result_free(r);
  r = NULL;

  /* Exactly the cap is not truncation. */
  const char *exact[] = {test_helper, "write", "70000", NULL};
  ASSERT_OK(
      subproc_run(exact,
                  &(subproc_options){.capture_output = 1, .max_output = 70000},
                  &r, &e),
      &e);
  ASSERT_EQ(r->out_len, 70000);
  ASSERT(!r->out_truncated);
  subproc_result_free(r);
  r = NULL;

  /* Text mode: a character cut by the cap is dropped, not an error. */
  const char *hex[] = {test_helper, "hex", "c3a9c3a9c3a9", NULL};
  ASSERT_OK(subproc_run(hex,
                        &(subproc_options){.capture_output = 1,
                                           .encoding = "utf-8",
                                           .max_output = 3},
                        &r, &e),
            &e);
  ASSERT_STREQ(r->out, "\xc3\xa9");
  ASSERT(r->out_truncated);
  subproc_result_free(r);
}

TEST(run_max_output_kill) {
  const char *argv[] = {test_helper, "write", "200000000", NULL};
  subproc_result *r = NULL;
  subproc_error e;
  double t0 = test_now();
  ASSERT_EQ(
      subproc_run(argv,
                  &(subproc_options){.capture_output = 1,
                                     .max_output = 1000,
                                     .max_output_policy = SUBPROC_LIMIT_KILL},
                  &r, &e),
      SUBPROC_ELIMIT);
  ASSERT_LT(test_now() - t0, test_slow(3.0));
  ASSERT_EQ(e.code, SUBPROC_ELIMIT);
  ASSERT(r != NULL);
  ASSERT_EQ(r->returncode, TEST_RC_KILLED);
  ASSERT(r->out_truncated);
  ASSERT_EQ(r->out_len, 1000);
  ASSERT(write_pattern_ok(r->out, r->out_len));
  subproc_result_free(r);
  r = NULL;
  /* Under the cap nothing happens. */
  const char *small[] = {test_helper, "write", "999", NULL};
  ASSERT_OK(
      subproc_run(small,
                  &(subproc_options){.capture_output = 1,
                                     .max_output = 1000,
                                     .max_output_policy = SUBPROC_LIMIT_KILL},
                  &r, &e),
      &e);
  ASSERT_EQ(r->out_len, 999);
  ASSERT_EQ(r->returncode, 0);
  subproc_result_free(r);
}

/* ------------------------------------------------------------------ */
/* on_output                                                           */
/* ------------------------------------------------------------------ */

typedef struct sink {
  size_t n[3];
  int calls, bad, stop_after;
  char text[64];
  size_t text_len;
} sink;

static int sink_fn(void *arg, int stream, const char *data, size_t len) {
  sink *s = arg;
  if (stream != 1 && stream != 2)
    s->bad = 1;
  for (size_t i = 0; i < len && !s->bad; i++)
    if (data[i] != (char)('a' + ((s->n[stream] + i) % 65536) % 26))
      s->bad = 1;
  s->n[stream] += len;
  s->calls++;
  if (s->stop_after && s->calls >= s->stop_after)
    return -ECANCELED;
  return 0;
}

TEST(run_on_output_streams_everything) {
  const char *argv[] = {test_helper, "script", "write:3000000",
                        "write:2000000:2", NULL};
  sink s = {0};
  subproc_result *r = run_ok(argv, (subproc_options){.capture_output = 1,
                                                     .on_output = sink_fn,
                                                     .on_output_arg = &s});
  ASSERT(!s.bad);
  ASSERT_EQ(s.n[1], 3000000);
  ASSERT_EQ(s.n[2], 2000000);
  ASSERT(r->out == NULL && r->err == NULL);
  ASSERT_EQ(r->out_len, 0);
  ASSERT_EQ(r->returncode, 0);
  subproc_result_free(r);
}

static int text_sink(void *arg, int stream, const char *data, size_t len) {
  sink *s = arg;
  if (stream != 1 || s->text_len + len >= sizeof s->text)
    return s->bad = 1, 0;
  memcpy(s->text + s->text_len, data, len);
  s->text_len += len;
  s->text[s->text_len] = '\0';
  return 0;
}

TEST(run_on_output_text) {
  const char *argv[] = {test_helper, "hex", "e90d0a41", NULL};
  sink s = {0};
  subproc_error e;
  ASSERT_OK(subproc_run(argv,
                        &(subproc_options){.out = {.kind = SUBPROC_PIPE},
                                           .encoding = "latin-1",
                                           .on_output = text_sink,
                                           .on_output_arg = &s},
                        NULL, &e),
            &e);
  ASSERT(!s.bad);
  ASSERT_STREQ(s.text, "\xc3\xa9\nA");
}

TEST(run_on_output_stop) {
  /* A negative return stops the child and fails the call with it. */
  const char *argv[] = {test_helper, "write", "1000000000000", NULL};
  sink s = {.stop_after = 3};
  subproc_result *r = NULL;
  subproc_error e;
  double t0 = test_now();
  ASSERT_EQ(subproc_run(argv,
                        &(subproc_options){.capture_output = 1,
                                           .on_output = sink_fn,
                                           .on_output_arg = &s},
                        &r, &e),
            -ECANCELED);
  ASSERT_LT(test_now() - t0, test_slow(3.0));
  ASSERT_EQ(e.code, -ECANCELED);
  ASSERT_EQ(s.calls, 3);
  ASSERT(!s.bad);
  ASSERT(r != NULL);
  ASSERT_EQ(r->returncode, TEST_RC_KILLED);
  subproc_result_free(r);
}

/* ------------------------------------------------------------------ */
/* Resource usage and duration                                         */
/* ------------------------------------------------------------------ */

TEST(run_duration) {
  const char *sl[] = {test_helper, "sleep", "0.3", NULL};
  subproc_result *r = run_ok(sl, (subproc_options){0});
  ASSERT_GE(r->duration_s, 0.28);
  ASSERT_LT(r->duration_s, 0.3 + test_slow(9.7));
  subproc_result_free(r);
}

/* Five runs: under Wine the peak is now and then seen before the process
 * is gone, and a known failure must fail every time. */
TEST_KNOWN_FAIL_WINDOWS(run_max_rss, "max_rss_kb is 0 under Wine: "
                                     "GetProcessMemoryInfo on the reaped "
                                     "child gives no peak working set") {
  const char *sl[] = {test_helper, "sleep", "0.1", NULL};
  for (int i = 0; i < 5; i++) {
    subproc_result *r = NULL;
    subproc_error e;
    ASSERT_OK(subproc_run(sl, NULL, &r, &e), &e);
    ASSERT(r->max_rss_kb > 0);
    subproc_result_free(r);
  }
}

TEST_POSIX(run_rusage_cpu) {
  /* A CPU-burning child. */
  subproc_result *r = NULL;
  subproc_error e;
  double t0 = test_now();
  ASSERT_OK(subproc_run_cmd("i=0; while [ $i -lt 300000 ]; do i=$((i+1)); "
                            "done; echo $i",
                            &(subproc_options){.shell = 1, .capture_output = 1},
                            &r, &e),
            &e);
  double took = test_now() - t0;
  ASSERT_STREQ(r->out, "300000\n");
  ASSERT(r->user_s + r->system_s > 0);
  /* its CPU time fits in the wall time around the call, and so does the
   * duration the library measured (0.5 s, 10 ms: clock granularity) */
  ASSERT_LT(r->user_s + r->system_s, took + 0.5);
  ASSERT(r->duration_s > 0 && r->duration_s <= took + 0.01);
  ASSERT(r->max_rss_kb > 0);
  subproc_result_free(r);
}

/* ------------------------------------------------------------------ */
/* call, check_call, check_output                                      */
/* ------------------------------------------------------------------ */

TEST(run_call) {
  const char *argv[] = {test_helper, "exit", "5", NULL};
  int status = -1;
  subproc_error e;
  ASSERT_OK(subproc_call(argv, NULL, &status, &e), &e);
  ASSERT_EQ(status, 5);
  /* check in the options is ignored by call, as it has no such argument. */
  status = -1;
  ASSERT_OK(subproc_call(argv, &(subproc_options){.check = 1}, &status, &e),
            &e);
  ASSERT_EQ(status, 5);
  ASSERT_OK(subproc_call(argv, NULL, NULL, &e), &e);
  /* A timeout kills the child and is an error. */
  const char *sl[] = {test_helper, "sleep", "30", NULL};
  double t0 = test_now();
  ASSERT_EQ(subproc_call(sl, &(subproc_options){.timeout = 0.3}, &status, &e),
            SUBPROC_ETIMEDOUT);
  ASSERT_LT(test_now() - t0, 0.3 + test_slow(1.5));
  /* A missing program is the exec error. */
  const char *nope[] = {"/nonexistent/program", NULL};
  ASSERT_EQ(subproc_call(nope, NULL, &status, &e), -ENOENT);
  ASSERT_STREQ(subproc_step_name(e.step), "exec");
}

TEST_POSIX(run_call_signal) {
  /* Signals: -N. */
  const char *k9[] = {"kill -9 $$", NULL};
  int status = -1;
  subproc_error e;
  ASSERT_OK(subproc_call(k9, &(subproc_options){.shell = 1}, &status, &e), &e);
  ASSERT_EQ(status, -9);
  ASSERT_EQ(subproc_check_call(k9, &(subproc_options){.shell = 1}, &e),
            SUBPROC_ECALLED);
  ASSERT_EQ(e.returncode, -9);
  ASSERT_STREQ(e.message,
               "Command 'kill -9 $$' died with <Signals.SIGKILL: 9>.");
}

TEST(run_check_call) {
  const char *ok[] = {test_helper, "exit", "0", NULL};
  const char *bad[] = {test_helper, "exit", "2", NULL};
  subproc_error e;
  ASSERT_OK(subproc_check_call(ok, NULL, &e), &e);
  ASSERT_EQ(subproc_check_call(bad, NULL, &e), SUBPROC_ECALLED);
  ASSERT_EQ(e.code, SUBPROC_ECALLED);
  ASSERT_EQ(e.returncode, 2);
  assert_called_message(&e, bad, 2);
  ASSERT_EQ(subproc_check_call(bad, NULL, NULL), SUBPROC_ECALLED);
}

TEST(run_check_output) {
  const char *argv[] = {test_helper, "echo", "hello", "world", NULL};
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_check_output(argv, NULL, &r, &e), &e);
  ASSERT_STREQ(r->out, "hello\nworld\n");
  ASSERT(r->err == NULL);
  ASSERT_EQ(r->returncode, 0);
  subproc_result_free(r);
  r = NULL;
  /* stderr=STDOUT folds it in; input is accepted. */
  const char *both[] = {test_helper, "script", "cat", "err:err\n", NULL};
  ASSERT_OK(
      subproc_check_output(both,
                           &(subproc_options){.err = {.kind = SUBPROC_STDOUT},
                                              .input = "in\n",
                                              .input_len = 3},
                           &r, &e),
      &e);
  ASSERT_STREQ(r->out, "in\nerr\n");
  subproc_result_free(r);
  r = NULL;
  /* Failure: SUBPROC_ECALLED with the output kept. */
  const char *fail[] = {test_helper, "script", "out:partial\n", "exit:6", NULL};
  ASSERT_EQ(subproc_check_output(fail, NULL, &r, &e), SUBPROC_ECALLED);
  ASSERT_EQ(e.returncode, 6);
  ASSERT_STREQ(r->out, "partial\n");
  ASSERT_EQ(r->returncode, 6);
  subproc_result_free(r);
  /* res may be NULL. */
  ASSERT_OK(subproc_check_output(argv, NULL, NULL, &e), &e);
  ASSERT_EQ(subproc_check_output(fail, NULL, NULL, &e), SUBPROC_ECALLED);
  /* text mode. */
  r = NULL;
  const char *crlf[] = {test_helper, "hex", "610d0a", NULL};
  ASSERT_OK(subproc_check_output(crlf, &(subproc_options){.text = 1}, &r, &e),
            &e);
  ASSERT_STREQ(r->out, "a\n");
  subproc_result_free(r);
}

#ifndef _WIN32
/* ------------------------------------------------------------------ */
/* getoutput, getstatusoutput                                          */
/* ------------------------------------------------------------------ */

TEST_POSIX(run_getstatusoutput_spec_examples) {
  int status = -1;
  char *out = NULL;
  subproc_error e;
  ASSERT_OK(subproc_getstatusoutput("ls /bin/ls", NULL, NULL, &status, &out,
                                    NULL, &e),
            &e);
  ASSERT_EQ(status, 0);
  ASSERT_STREQ(out, "/bin/ls");
  subproc_buffer_free(out);
  ASSERT_OK(subproc_getstatusoutput("cat /bin/junk", NULL, NULL, &status, &out,
                                    NULL, &e),
            &e);
  ASSERT_EQ(status, 1);
  ASSERT_STREQ(out, "cat: /bin/junk: No such file or directory");
  subproc_buffer_free(out);
  ASSERT_OK(
      subproc_getstatusoutput("/bin/junk", NULL, NULL, &status, &out, NULL, &e),
      &e);
  ASSERT_EQ(status, 127);
  ASSERT_CONTAINS(out, "/bin/junk: not found");
  subproc_buffer_free(out);
  ASSERT_OK(
      subproc_getstatusoutput("kill $$", NULL, NULL, &status, &out, NULL, &e),
      &e);
  ASSERT_EQ(status, -15);
  ASSERT_STREQ(out, "");
  subproc_buffer_free(out);
  ASSERT_OK(subproc_getstatusoutput("echo bye; kill -9 $$", NULL, NULL, &status,
                                    &out, NULL, &e),
            &e);
  ASSERT_EQ(status, -9);
  ASSERT_STREQ(out, "bye");
  subproc_buffer_free(out);
  /* One trailing newline stripped, only one. */
  ASSERT_OK(subproc_getstatusoutput("printf 'a\\n\\n'", NULL, NULL, &status,
                                    &out, NULL, &e),
            &e);
  ASSERT_STREQ(out, "a\n");
  subproc_buffer_free(out);
  /* NULL status / output are allowed. */
  ASSERT_OK(subproc_getstatusoutput("exit 3", NULL, NULL, NULL, &out, NULL, &e),
            &e);
  ASSERT_STREQ(out, "");
  subproc_buffer_free(out);
  ASSERT_OK(
      subproc_getstatusoutput("exit 3", NULL, NULL, &status, NULL, NULL, &e),
      &e);
  ASSERT_EQ(status, 3);
}

TEST_POSIX(run_getoutput) {
  char *out = NULL;
  subproc_error e;
  ASSERT_OK(subproc_getoutput("ls /bin/ls", NULL, NULL, &out, NULL, &e), &e);
  ASSERT_STREQ(out, "/bin/ls");
  subproc_buffer_free(out);
  ASSERT_OK(subproc_getoutput("echo a; echo b >&2; echo c; exit 9", NULL, NULL,
                              &out, NULL, &e),
            &e);
  ASSERT_STREQ(out, "a\nb\nc");
  subproc_buffer_free(out);
  ASSERT_OK(
      subproc_getoutput("printf 'x\\r\\ny\\r'", NULL, NULL, &out, NULL, &e),
      &e);
  ASSERT_STREQ(out, "x\ny");
  subproc_buffer_free(out);
  ASSERT_OK(subproc_getoutput("echo ignored", NULL, NULL, NULL, NULL, &e), &e);
}

/* ------------------------------------------------------------------ */
/* Differential tests against Python's subprocess                      */
/* ------------------------------------------------------------------ */

static const char *const diff_cmds[] = {"echo hello",
                                        "printf 'two newlines\\n\\n'",
                                        "printf 'no newline'",
                                        "echo out; echo err >&2; echo out2",
                                        "exit 3",
                                        "echo partial; exit 7",
                                        "kill -9 $$",
                                        "kill $$",
                                        "echo before; kill -9 $$",
                                        "printf 'a\\r\\nb\\rc\\n'",
                                        "printf '\\r'",
                                        "printf '\\n'",
                                        "/nonexistent/cmd",
                                        "",
                                        "printf '\\303\\251t\\303\\251\\n'",
                                        "echo; echo",
                                        "cat /bin/junk",
                                        "ls /bin/ls",
                                        "echo $((40 + 2)) | tr 4 X",
                                        NULL};

static const char py_script[] =
    "import subprocess, sys\n"
    "def h(b):\n"
    "    if isinstance(b, str): b = b.encode('utf-8', 'surrogateescape')\n"
    "    return b.hex()\n"
    "mode = sys.argv[1]\n"
    "for c in sys.argv[2:]:\n"
    "    if mode == 'gso':\n"
    "        s, o = subprocess.getstatusoutput(c)\n"
    "        print('%d:%s:%s' % (s, h(o), h(subprocess.getoutput(c))))\n"
    "    elif mode == 'co':\n"
    "        for text in (False, True):\n"
    "            try:\n"
    "                out = subprocess.check_output(c, shell=True, text=text,\n"
    "                    stderr=subprocess.DEVNULL)\n"
    "                rc = 0\n"
    "            except subprocess.CalledProcessError as ex:\n"
    "                out, rc = ex.output, ex.returncode\n"
    "                msg = str(ex) if rc > 0 else ''\n"
    "            print('%d:%s:%s' % (rc, h(out), h(msg) if rc else ''))\n"
    "    elif mode == 'cc':\n"
    "        try:\n"
    "            subprocess.check_call(c, shell=True,\n"
    "                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    "            print('0:')\n"
    "        except subprocess.CalledProcessError as ex:\n"
    "            msg = str(ex) if ex.returncode > 0 else ''\n"
    "            print('%d:%s' % (ex.returncode, h(msg)))\n"
    "    else:\n"
    "        p = subprocess.run(c, shell=True, capture_output=True)\n"
    "        print('%d:%s:%s' % (p.returncode, h(p.stdout), h(p.stderr)))\n";

/* Python's answers, one line per case, run through subproc_run itself. */
static subproc_result *python_says(const char *mode) {
  const char *argv[64] = {"env", "python3", "-X",      "utf8",
                          "-I",  "-c",      py_script, mode};
  size_t n = 8;
  for (size_t i = 0; diff_cmds[i]; i++)
    argv[n++] = diff_cmds[i];
  argv[n] = NULL;
  subproc_result *r = NULL;
  subproc_error e;
  int rc = subproc_run(
      argv, &(subproc_options){.capture_output = 1, .timeout = test_slow(60)},
      &r, &e);
  if (rc == 0 && r->returncode == 127) {
    subproc_result_free(r);
    SKIP("python3 is not installed");
  }
  ASSERT_OK(rc, &e);
  if (r->returncode != 0)
    TEST_FAIL("python3 failed (%d): %s", r->returncode, r->err);
  return r;
}

static void hex_into(char *dst, const char *p, size_t n) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    *dst++ = digits[(unsigned char)p[i] >> 4];
    *dst++ = digits[(unsigned char)p[i] & 15];
  }
  *dst = '\0';
}

/* Compares our line with Python's next line. */
static const char *expect_line(const char *py, const char *ours,
                               const char *cmd) {
  const char *nl = strchr(py, '\n');
  ASSERT(nl != NULL);
  size_t len = (size_t)(nl - py);
  if (strlen(ours) != len || memcmp(py, ours, len) != 0)
    TEST_FAIL("command \"%s\":\n  python: %.*s\n  ours:   %s", cmd, (int)len,
              py, ours);
  return nl + 1;
}

TEST_POSIX(run_differential_getstatusoutput) {
  subproc_result *py = python_says("gso");
  const char *line = py->out;
  for (size_t i = 0; diff_cmds[i]; i++) {
    int status = -1;
    char *out = NULL, *out2 = NULL;
    subproc_error e;
    ASSERT_OK(subproc_getstatusoutput(diff_cmds[i], NULL, NULL, &status, &out,
                                      NULL, &e),
              &e);
    ASSERT_OK(subproc_getoutput(diff_cmds[i], NULL, NULL, &out2, NULL, &e), &e);
    char ours[4096], h1[1024], h2[1024];
    hex_into(h1, out, strlen(out));
    hex_into(h2, out2, strlen(out2));
    snprintf(ours, sizeof ours, "%d:%s:%s", status, h1, h2);
    line = expect_line(line, ours, diff_cmds[i]);
    subproc_buffer_free(out);
    subproc_buffer_free(out2);
  }
  ASSERT_STREQ(line, "");
  subproc_result_free(py);
}

TEST_POSIX(run_differential_check_output) {
  subproc_result *py = python_says("co");
  const char *line = py->out;
  for (size_t i = 0; diff_cmds[i]; i++) {
    for (int text = 0; text <= 1; text++) {
      const char *argv[] = {diff_cmds[i], NULL};
      subproc_result *r = NULL;
      subproc_error e;
      int rc = subproc_check_output(
          argv,
          &(subproc_options){
              .shell = 1, .text = text, .err = {.kind = SUBPROC_DEVNULL}},
          &r, &e);
      if (rc != SUBPROC_ECALLED)
        ASSERT_OK(rc, &e);
      ASSERT(r != NULL);
      ASSERT_EQ(rc == SUBPROC_ECALLED, r->returncode != 0);
      if (rc == SUBPROC_ECALLED)
        ASSERT_EQ(e.returncode, r->returncode);
      /* Python's CalledProcessError text for exit statuses (its signal
       * text names the enum, <Signals.SIGKILL: 9>, which C has not). */
      char ours[8192], h[1024], m[4096] = "";
      hex_into(h, r->out, r->out_len);
      if (rc == SUBPROC_ECALLED && r->returncode > 0)
        hex_into(m, e.message, strlen(e.message));
      snprintf(ours, sizeof ours, "%d:%s:%s", r->returncode, h, m);
      line = expect_line(line, ours, diff_cmds[i]);
      subproc_result_free(r);
    }
  }
  ASSERT_STREQ(line, "");
  subproc_result_free(py);
}

TEST_POSIX(run_differential_check_call) {
  subproc_result *py = python_says("cc");
  const char *line = py->out;
  for (size_t i = 0; diff_cmds[i]; i++) {
    const char *argv[] = {diff_cmds[i], NULL};
    subproc_error e;
    int rc =
        subproc_check_call(argv,
                           &(subproc_options){.shell = 1,
                                              .out = {.kind = SUBPROC_DEVNULL},
                                              .err = {.kind = SUBPROC_DEVNULL}},
                           &e);
    char ours[8192], m[4096] = "";
    if (rc == 0) {
      snprintf(ours, sizeof ours, "0:");
    } else {
      ASSERT_EQ(rc, SUBPROC_ECALLED);
      if (e.returncode > 0)
        hex_into(m, e.message, strlen(e.message));
      snprintf(ours, sizeof ours, "%d:%s", e.returncode, m);
    }
    line = expect_line(line, ours, diff_cmds[i]);
  }
  ASSERT_STREQ(line, "");
  subproc_result_free(py);
}

TEST_POSIX(run_differential_run_capture) {
  subproc_result *py = python_says("run");
  const char *line = py->out;
  for (size_t i = 0; diff_cmds[i]; i++) {
    const char *argv[] = {diff_cmds[i], NULL};
    subproc_result *r = NULL;
    subproc_error e;
    ASSERT_OK(subproc_run(argv,
                          &(subproc_options){.shell = 1, .capture_output = 1},
                          &r, &e),
              &e);
    char ours[4096], h1[1024], h2[1024];
    hex_into(h1, r->out, r->out_len);
    hex_into(h2, r->err, r->err_len);
    snprintf(ours, sizeof ours, "%d:%s:%s", r->returncode, h1, h2);
    line = expect_line(line, ours, diff_cmds[i]);
    subproc_result_free(r);
  }
  ASSERT_STREQ(line, "");
  subproc_result_free(py);
}

#endif

/* ------------------------------------------------------------------ */
/* Bad input                                                           */
/* ------------------------------------------------------------------ */

TEST(run_bad_input) {
  subproc_error e;
  subproc_result *r = (subproc_result *)&e;
  const char *empty[] = {NULL};
  ASSERT_EQ(subproc_run(NULL, NULL, &r, &e), SUBPROC_EINVAL);
  ASSERT_EQ(e.code, SUBPROC_EINVAL);
  ASSERT(r == NULL);
  r = (subproc_result *)&e;
  ASSERT_EQ(subproc_run(empty, NULL, &r, &e), SUBPROC_EINVAL);
  ASSERT(r == NULL);
  ASSERT_EQ(subproc_run(NULL, NULL, NULL, NULL), SUBPROC_EINVAL);
  ASSERT_EQ(subproc_run_cmd(NULL, NULL, &r, &e), SUBPROC_EINVAL);
  ASSERT(r == NULL);

  int status = 12345;
  ASSERT_EQ(subproc_call(NULL, NULL, &status, &e), SUBPROC_EINVAL);
  ASSERT_EQ(subproc_call(empty, NULL, &status, &e), SUBPROC_EINVAL);
  ASSERT_EQ(subproc_check_call(NULL, NULL, &e), SUBPROC_EINVAL);
  ASSERT_EQ(subproc_check_call(empty, NULL, NULL), SUBPROC_EINVAL);
  r = (subproc_result *)&e;
  ASSERT_EQ(subproc_check_output(NULL, NULL, &r, &e), SUBPROC_EINVAL);
  ASSERT(r == NULL);
  ASSERT_EQ(subproc_check_output(empty, NULL, NULL, &e), SUBPROC_EINVAL);

  char *out = (char *)&e;
  ASSERT_EQ(subproc_getoutput(NULL, NULL, NULL, &out, NULL, &e),
            SUBPROC_EINVAL);
  ASSERT(out == NULL);
  out = (char *)&e;
  ASSERT_EQ(subproc_getstatusoutput(NULL, NULL, NULL, &status, &out, NULL, &e),
            SUBPROC_EINVAL);
  ASSERT(out == NULL);
  ASSERT_EQ(subproc_getstatusoutput(NULL, NULL, NULL, NULL, NULL, NULL, NULL),
            SUBPROC_EINVAL);

  ASSERT_EQ(subproc_check_returncode(NULL, &e), SUBPROC_EINVAL);
  ASSERT_EQ(subproc_check_returncode(NULL, NULL), SUBPROC_EINVAL);
  subproc_result_free(NULL);
  subproc_buffer_free(NULL);

  /* A missing program: the exec error, no result, nothing left over. */
  const char *nope[] = {"/nonexistent/program", "x", NULL};
  r = (subproc_result *)&e;
  ASSERT_EQ(subproc_run(nope, &(subproc_options){.capture_output = 1}, &r, &e),
            -ENOENT);
  ASSERT_STREQ(subproc_step_name(e.step), "exec");
  ASSERT(r == NULL);
}

TEST(run_check_returncode) {
  subproc_result r = {0};
  const char *args[] = {"prog", "arg one", NULL};
  r.args = args;
  subproc_error e;
  ASSERT_OK(subproc_check_returncode(&r, &e), &e);
  r.returncode = 2;
  ASSERT_EQ(subproc_check_returncode(&r, &e), SUBPROC_ECALLED);
  ASSERT_EQ(e.returncode, 2);
  ASSERT_STREQ(e.message,
               "Command 'prog 'arg one'' returned non-zero exit status 2.");
  ASSERT_EQ(subproc_check_returncode(&r, NULL), SUBPROC_ECALLED);
}

/* ------------------------------------------------------------------ */
/* Without pidfds (older kernels, other systems), through a test knob   */
/* ------------------------------------------------------------------ */

TEST_POSIX(run_no_pidfd_wait_delay_and_timeout) {
  test_become_subreaper();
  subproc__set_test_flags(SUBPROC__NO_PIDFD);
  subproc_result *r = NULL;
  subproc_error e;
  /* wait_delay must notice the exit without a pidfd to poll. */
  double t0 = test_now();
  ASSERT_OK(subproc_run_cmd("sleep 30 & echo x",
                            &(subproc_options){.shell = 1,
                                               .capture_output = 1,
                                               .start_new_session = 1,
                                               .wait_delay = 0.3},
                            &r, &e),
            &e);
  ASSERT_LT(test_now() - t0, 0.3 + test_slow(1.7));
  ASSERT_EQ(r->returncode, 0);
  ASSERT_STREQ(r->out, "x\n");
#ifndef _WIN32
  ASSERT_EQ(kill(-(pid_t)r->pid, SIGKILL), 0);
  ASSERT(group_gone(r->pid));
#endif
  subproc_result_free(r);
  r = NULL;
  /* The timeout, with kill_tree. */
  long pid = run_tree((subproc_options){.kill_tree = SUBPROC_KILL_TREE_ON}, &r);
  ASSERT(test_process_gone(pid, 5.0));
  subproc_result_free(r);
  r = NULL;
  /* A plain run. */
  const char *argv[] = {test_helper, "write", "300000", NULL};
  ASSERT_OK(subproc_run(argv, &(subproc_options){.capture_output = 1}, &r, &e),
            &e);
  ASSERT_EQ(r->out_len, 300000);
  ASSERT_EQ(r->returncode, 0);
  subproc_result_free(r);
  subproc__set_test_flags(0);
}
