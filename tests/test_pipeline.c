/* Pipelines end to end (issue 3): a | b | c without a shell, every stage's
 * status, pipefail, check, SIGPIPE propagation (the parent holds no inner
 * pipe end), input and output, one timeout for all, start failures. */
#include <errno.h>
#include <signal.h>
#ifndef _WIN32
#include <unistd.h>
#endif

#include "subproc.h"
#include "test.h"
#include "util.h"

TEST(pipe_dmesg_grep_replacement) {
  /* output=$(dmesg | grep hda), both played by the helper. */
  const char *dmesg[] = {test_helper, "script",
                         "out:sda1: ok\nhda1: lba\nsdb: ok\nhda2: dma\n", NULL};
  const char *grep[] = {test_helper, "grep", "hda", NULL};
  const char *const *argvs[] = {dmesg, grep};
  subproc_pipeline_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_pipeline(argvs, 2, &(subproc_options){.capture_output = 1},
                             NULL, &r, &e),
            &e);
  ASSERT_EQ(r->n, 2);
  ASSERT_EQ(r->returncodes[0], 0);
  ASSERT_EQ(r->returncodes[1], 0);
  ASSERT_EQ(r->returncode, 0);
  ASSERT(!r->timed_out);
  ASSERT(r->last != NULL);
  ASSERT_STREQ(r->last->out, "hda1: lba\nhda2: dma\n");
  ASSERT_STREQ(r->last->err, "");
  subproc_pipeline_result_free(r);

  /* The spec's own recipe with Popen objects gives the same. */
  subproc *p1 = NULL, *p2 = NULL;
  ASSERT_OK(subproc_popen(dmesg,
                          &(subproc_options){.out = {.kind = SUBPROC_PIPE}},
                          &p1, &e),
            &e);
  ASSERT_OK(subproc_popen(grep,
                          &(subproc_options){.in = {.kind = SUBPROC_FD,
                                                    .fd = subproc_fd(p1, 1)},
                                             .out = {.kind = SUBPROC_PIPE}},
                          &p2, &e),
            &e);
  ASSERT_OK(subproc_close_stream(p1, 1), &e); /* p1 may get SIGPIPE */
  subproc_result *out = NULL;
  ASSERT_OK(subproc_communicate(p2, NULL, 0, test_slow(10.0), &out, &e), &e);
  ASSERT_STREQ(out->out, "hda1: lba\nhda2: dma\n");
  int rc1 = -1;
  ASSERT_OK(subproc_wait(p1, test_slow(10.0), &rc1, &e), &e);
  ASSERT_EQ(rc1, 0);
  subproc_result_free(out);
  subproc_free(p1);
  subproc_free(p2);

  /* No match: grep's status 1 is the pipeline's. */
  const char *grep_none[] = {test_helper, "grep", "nomatch", NULL};
  const char *const *argvs2[] = {dmesg, grep_none};
  r = NULL;
  ASSERT_OK(subproc_pipeline(argvs2, 2, &(subproc_options){.capture_output = 1},
                             NULL, &r, &e),
            &e);
  ASSERT_EQ(r->returncodes[1], 1);
  ASSERT_EQ(r->returncode, 1);
  ASSERT_STREQ(r->last->out, "");
  subproc_pipeline_result_free(r);
}

TEST_POSIX(pipe_three_stages) {
  const char *cat[] = {test_helper, "cat", NULL};
  const char *sort[] = {"sort", NULL};
  const char *uniq[] = {"uniq", "-c", NULL};
  const char *const *argvs[] = {cat, sort, uniq};
  const char *in = "pear\napple\npear\nfig\npear\napple\n";
  subproc_pipeline_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_pipeline(argvs, 3,
                             &(subproc_options){.input = in,
                                                .input_len = strlen(in),
                                                .capture_output = 1},
                             NULL, &r, &e),
            &e);
  ASSERT_EQ(r->n, 3);
  for (size_t i = 0; i < 3; i++)
    ASSERT_EQ(r->returncodes[i], 0);
  ASSERT_STREQ(r->last->out, "      2 apple\n      1 fig\n      3 pear\n");
  subproc_pipeline_result_free(r);
}

TEST(pipe_every_stage_status) {
  const char *s0[] = {test_helper, "exit", "3", NULL};
  const char *s1[] = {test_helper, "script", "cat", "exit:5", NULL};
  const char *s2[] = {test_helper, "cat", NULL};
  const char *s3[] = {test_helper, "script", "drain", "exit:0", NULL};
  const char *const *argvs[] = {s0, s1, s2, s3};
  subproc_pipeline_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_pipeline(argvs, 4, NULL, NULL, &r, &e), &e);
  ASSERT_EQ(r->n, 4);
  ASSERT_EQ(r->returncodes[0], 3);
  ASSERT_EQ(r->returncodes[1], 5);
  ASSERT_EQ(r->returncodes[2], 0);
  ASSERT_EQ(r->returncodes[3], 0);
  ASSERT_EQ(r->returncode, 5); /* the rightmost non-zero */
  ASSERT(r->last == NULL || r->last->out == NULL);
  subproc_pipeline_result_free(r);
}

TEST(pipe_pipefail_and_check) {
  const char *f[] = {test_helper, "exit", "1", NULL};
  const char *t[] = {test_helper, "exit", "0", NULL};
  const char *const *ft[] = {f, t};
  subproc_pipeline_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_pipeline(ft, 2, NULL, NULL, &r, &e), &e);
  ASSERT_EQ(r->returncodes[0], 1);
  ASSERT_EQ(r->returncodes[1], 0);
  ASSERT_EQ(r->returncode, 1);
  subproc_pipeline_result_free(r);
  r = NULL;
  /* check: SUBPROC_ECALLED with the status, the result still given. */
  ASSERT_EQ(
      subproc_pipeline(ft, 2, &(subproc_options){.check = 1}, NULL, &r, &e),
      SUBPROC_ECALLED);
  ASSERT_EQ(e.code, SUBPROC_ECALLED);
  ASSERT_EQ(e.returncode, 1);
  ASSERT_CONTAINS(e.message, "non-zero exit status 1");
  ASSERT(r != NULL);
  ASSERT_EQ(r->returncode, 1);
  ASSERT_EQ(r->returncodes[0], 1);
  subproc_pipeline_result_free(r);
  r = NULL;
  /* true | true with check is fine. */
  const char *const *tt[] = {t, t};
  ASSERT_OK(
      subproc_pipeline(tt, 2, &(subproc_options){.check = 1}, NULL, &r, &e),
      &e);
  ASSERT_EQ(r->returncode, 0);
  subproc_pipeline_result_free(r);
  r = NULL;
  /* true | false: the last stage's failure counts too. */
  const char *const *tf[] = {t, f};
  ASSERT_EQ(
      subproc_pipeline(tf, 2, &(subproc_options){.check = 1}, NULL, &r, &e),
      SUBPROC_ECALLED);
  ASSERT_EQ(e.returncode, 1);
  subproc_pipeline_result_free(r);
}

#ifndef _WIN32
TEST_POSIX(pipe_yes_head_sigpipe) {
  /* head exits after one line; yes must die of SIGPIPE at once, which
   * only happens when nobody else (the parent) holds the pipe's read end. */
  const char *yes[] = {"yes", NULL};
  const char *head[] = {"head", "-1", NULL};
  const char *const *argvs[] = {yes, head};
  subproc_pipeline_result *r = NULL;
  subproc_error e;
  double t0 = test_now();
  ASSERT_OK(subproc_pipeline(argvs, 2,
                             &(subproc_options){.capture_output = 1,
                                                .timeout = test_slow(30)},
                             NULL, &r, &e),
            &e);
  ASSERT_LT(test_now() - t0, test_slow(3.0));
  ASSERT(!r->timed_out);
  ASSERT_EQ(r->returncodes[0], -SIGPIPE);
  ASSERT_EQ(r->returncodes[1], 0);
  ASSERT_EQ(r->returncode, -SIGPIPE);
  ASSERT_STREQ(r->last->out, "y\n");
  subproc_pipeline_result_free(r);
  r = NULL;
  /* The same three stages deep. */
  const char *cat[] = {test_helper, "cat", NULL};
  const char *const *argvs3[] = {yes, cat, head};
  t0 = test_now();
  ASSERT_OK(subproc_pipeline(argvs3, 3,
                             &(subproc_options){.capture_output = 1,
                                                .timeout = test_slow(30)},
                             NULL, &r, &e),
            &e);
  ASSERT_LT(test_now() - t0, test_slow(3.0));
  ASSERT_EQ(r->returncodes[2], 0);
  ASSERT_STREQ(r->last->out, "y\n");
  /* cat dies of SIGPIPE writing to head (or exits 1 on EPIPE); yes of
   * SIGPIPE writing to the dead cat. */
  ASSERT(r->returncodes[1] == -SIGPIPE || r->returncodes[1] == 1);
  ASSERT_EQ(r->returncodes[0], -SIGPIPE);
  subproc_pipeline_result_free(r);
}
#endif

TEST(pipe_input_first_output_last) {
  size_t len = 16u << 20;
  char *in = pattern(len);
  const char *cat[] = {test_helper, "cat", NULL};
  const char *const *argvs[] = {cat, cat, cat};
  subproc_pipeline_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_pipeline(argvs, 3,
                             &(subproc_options){.input = in,
                                                .input_len = len,
                                                .capture_output = 1},
                             NULL, &r, &e),
            &e);
  ASSERT_EQ(r->last->out_len, len);
  ASSERT(memcmp(r->last->out, in, len) == 0);
  ASSERT_EQ(r->returncode, 0);
  subproc_pipeline_result_free(r);
  free(in);
}

TEST(pipe_single_stage) {
  const char *cat[] = {test_helper, "cat", NULL};
  const char *const *argvs[] = {cat};
  subproc_pipeline_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_pipeline(argvs, 1,
                             &(subproc_options){.input = "solo",
                                                .input_len = 4,
                                                .capture_output = 1},
                             NULL, &r, &e),
            &e);
  ASSERT_EQ(r->n, 1);
  ASSERT_STREQ(r->last->out, "solo");
  ASSERT_EQ(r->returncodes[0], 0);
  subproc_pipeline_result_free(r);
}

TEST(pipe_stage_options_and_stderr) {
  /* Each stage has its own options; stderr of the last is captured. */
  const char *pwd[] = {test_helper, "cwd", NULL};
  const char *last[] = {test_helper,  "script", "cat",
                        "err:oops\n", "exit:2", NULL};
  const char *const *argvs[] = {pwd, last};
  const subproc_options *so[2] = {&(subproc_options){.cwd = test_temp_dir()},
                                  NULL};
  subproc_pipeline_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_pipeline(argvs, 2, &(subproc_options){.capture_output = 1},
                             so, &r, &e),
            &e);
  char want[4200];
  snprintf(want, sizeof want, "%s\n", test_temp_dir());
  ASSERT_STREQ(r->last->out, want);
  ASSERT_STREQ(r->last->err, "oops\n");
  ASSERT_EQ(r->returncodes[1], 2);
  ASSERT_EQ(r->returncode, 2);
  subproc_pipeline_result_free(r);
}

TEST(pipe_text_and_max_output) {
  const char *hex[] = {test_helper, "hex", "e90d0a0d41", NULL};
  const char *cat[] = {test_helper, "cat", NULL};
  const char *const *argvs[] = {hex, cat};
  subproc_pipeline_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_pipeline(
                argvs, 2,
                &(subproc_options){.capture_output = 1, .encoding = "latin-1"},
                NULL, &r, &e),
            &e);
  ASSERT_STREQ(r->last->out, "\xc3\xa9\n\nA");
  subproc_pipeline_result_free(r);
  r = NULL;
  /* Text input goes into the first stage encoded. */
  const char *tohex[] = {test_helper, "tohex", NULL};
  const char *const *argvs2[] = {cat, tohex};
  ASSERT_OK(subproc_pipeline(argvs2, 2,
                             &(subproc_options){.capture_output = 1,
                                                .encoding = "latin-1",
                                                .input = "\xc3\xa9",
                                                .input_len = 2},
                             NULL, &r, &e),
            &e);
  ASSERT_STREQ(r->last->out, "e9");
  subproc_pipeline_result_free(r);
  r = NULL;
  /* max_output applies to the last stage. */
  const char *w[] = {test_helper, "write", "1000000", NULL};
  const char *const *argvs3[] = {w, cat};
  ASSERT_OK(subproc_pipeline(
                argvs3, 2,
                &(subproc_options){.capture_output = 1, .max_output = 1234},
                NULL, &r, &e),
            &e);
  ASSERT_EQ(r->last->out_len, 1234);
  ASSERT(r->last->out_truncated);
  ASSERT_EQ(r->returncode, 0);
  subproc_pipeline_result_free(r);
}

TEST(pipe_timeout_whole_pipeline) {
  const char *sl[] = {test_helper, "sleep", "30", NULL};
  const char *ps[] = {test_helper, "print-sleep", "mid", "30", NULL};
  const char *cat[] = {test_helper, "cat", NULL};
  const char *const *argvs[] = {sl, ps, cat};
  subproc_pipeline_result *r = NULL;
  subproc_error e;
  double t0 = test_now();
  ASSERT_EQ(
      subproc_pipeline(argvs, 3,
                       &(subproc_options){.capture_output = 1, .timeout = 0.5},
                       NULL, &r, &e),
      SUBPROC_ETIMEDOUT);
  ASSERT_LT(test_now() - t0, test_slow(3.0));
  ASSERT_EQ(e.code, SUBPROC_ETIMEDOUT);
  ASSERT(r != NULL);
  ASSERT(r->timed_out);
  ASSERT_EQ(r->returncodes[0], TEST_RC_KILLED);
  ASSERT_EQ(r->returncodes[1], TEST_RC_KILLED);
  /* cat saw EOF when print-sleep died, or was killed itself. */
  ASSERT(r->returncodes[2] == TEST_RC_KILLED || r->returncodes[2] == 0);
  ASSERT(r->last != NULL);
  ASSERT_STREQ(r->last->out, "mid\n"); /* the partial output */
  subproc_pipeline_result_free(r);
  r = NULL;

  /* The last stage done early, the first one still running: the one
   * timeout covers the wait for every stage. */
  const char *t[] = {test_helper, "exit", "0", NULL};
  const char *const *argvs2[] = {sl, t};
  t0 = test_now();
  ASSERT_EQ(subproc_pipeline(argvs2, 2, &(subproc_options){.timeout = 0.5},
                             NULL, &r, &e),
            SUBPROC_ETIMEDOUT);
  double took = test_now() - t0;
  ASSERT_GE(took, 0.45);
  ASSERT_LT(took, test_slow(3.0));
  ASSERT(r->timed_out);
  ASSERT_EQ(r->returncodes[0], TEST_RC_KILLED);
  ASSERT_EQ(r->returncodes[1], 0);
  subproc_pipeline_result_free(r);
}

TEST(pipe_stage_cannot_start) {
  const char *sl[] = {test_helper, "sleep", "30", NULL};
  const char *cat[] = {test_helper, "cat", NULL};
  const char *nope[] = {"/nonexistent/program", NULL};
  subproc_error e;
  int fds = test_count_fds();

  /* A later stage fails: the started ones are killed and reaped. */
  const char *const *mid[] = {sl, nope, cat};
  subproc_pipeline_result *r = NULL;
  double t0 = test_now();
  ASSERT_EQ(subproc_pipeline(mid, 3, &(subproc_options){.capture_output = 1},
                             NULL, &r, &e),
            -ENOENT);
  ASSERT_LT(test_now() - t0, test_slow(3.0));
  ASSERT_EQ(e.code, -ENOENT);
  ASSERT_STREQ(subproc_step_name(e.step), "exec");
  ASSERT_STREQ(e.path, "/nonexistent/program");
  if (r) {
    ASSERT_EQ(r->returncodes[0], TEST_RC_KILLED);
    ASSERT_EQ(r->returncodes[1], SUBPROC_NO_RETURNCODE);
    ASSERT_EQ(r->returncodes[2], SUBPROC_NO_RETURNCODE);
  }
  subproc_pipeline_result_free(r);
  ASSERT_EQ(test_count_fds(), fds);
  ASSERT_NO_CHILDREN();

  /* The first stage fails: nothing runs. */
  const char *const *first[] = {nope, cat};
  r = NULL;
  ASSERT_EQ(
      subproc_pipeline(
          first, 2,
          &(subproc_options){.input = "x", .input_len = 1, .capture_output = 1},
          NULL, &r, &e),
      -ENOENT);
  subproc_pipeline_result_free(r);
  ASSERT_EQ(test_count_fds(), fds);
  ASSERT_NO_CHILDREN();

  /* The last stage fails, with input pending for the first. */
  const char *const *last[] = {cat, cat, nope};
  r = NULL;
  t0 = test_now();
  ASSERT_EQ(
      subproc_pipeline(
          last, 3,
          &(subproc_options){.input = "x", .input_len = 1, .capture_output = 1},
          NULL, &r, &e),
      -ENOENT);
  ASSERT_LT(test_now() - t0, test_slow(3.0));
  subproc_pipeline_result_free(r);

  /* Bad stage options are reported the same way. */
  const char *const *bad[] = {sl, cat};
  const subproc_options *so[2] = {
      NULL, &(subproc_options){.cwd = "/nonexistent/dir"}};
  r = NULL;
  ASSERT_EQ(subproc_pipeline(bad, 2, NULL, so, &r, &e), TEST_EBADCWD);
  ASSERT_STREQ(subproc_step_name(e.step), "chdir");
  subproc_pipeline_result_free(r);
}

TEST(pipe_bad_input) {
  const char *cat[] = {test_helper, "cat", NULL};
  const char *empty[] = {NULL};
  const char *const *ok[] = {cat, cat};
  const char *const *null_stage[] = {cat, NULL};
  const char *const *empty_stage[] = {empty, cat};
  subproc_error e;
  subproc_pipeline_result *r = (subproc_pipeline_result *)&e;
  ASSERT_EQ(subproc_pipeline(ok, 0, NULL, NULL, &r, &e), SUBPROC_EINVAL);
  ASSERT_EQ(e.code, SUBPROC_EINVAL);
  ASSERT(r == NULL);
  r = (subproc_pipeline_result *)&e;
  ASSERT_EQ(subproc_pipeline(NULL, 2, NULL, NULL, &r, &e), SUBPROC_EINVAL);
  ASSERT(r == NULL);
  ASSERT_EQ(subproc_pipeline(NULL, 0, NULL, NULL, &r, NULL), SUBPROC_EINVAL);
  ASSERT_EQ(subproc_pipeline(null_stage, 2, NULL, NULL, &r, &e),
            SUBPROC_EINVAL);
  ASSERT(r == NULL);
  ASSERT_EQ(subproc_pipeline(empty_stage, 2, NULL, NULL, &r, &e),
            SUBPROC_EINVAL);
  ASSERT(r == NULL);
  ASSERT_EQ(subproc_pipeline(ok, 2, NULL, NULL, NULL, &e), SUBPROC_EINVAL);
  subproc_pipeline_result_free(NULL);
  /* Pipeline-wide options that conflict as in run. */
  ASSERT_EQ(subproc_pipeline(ok, 2,
                             &(subproc_options){.encoding = "no-such-enc"},
                             NULL, &r, &e),
            SUBPROC_EINVAL);
  subproc_pipeline_result_free(r);
}

TEST_POSIX(pipe_parent_holds_no_inner_end) {
  /* Each stage sees only its own three streams. */
  const char *echo[] = {test_helper, "echo", "x", NULL};
  const char *lsfd[] = {test_helper, "fds", NULL};
  const char *cat[] = {test_helper, "cat", NULL};
  const char *const *argvs[] = {echo, lsfd, cat};
  subproc_pipeline_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_pipeline(argvs, 3, &(subproc_options){.capture_output = 1},
                             NULL, &r, &e),
            &e);
  ASSERT_STREQ(r->last->out, "0 1 2\n");
  subproc_pipeline_result_free(r);
  r = NULL;
  const char *const *argvs2[] = {lsfd, cat, cat};
  ASSERT_OK(subproc_pipeline(argvs2, 3,
                             &(subproc_options){.input = "in",
                                                .input_len = 2,
                                                .capture_output = 1},
                             NULL, &r, &e),
            &e);
  ASSERT_STREQ(r->last->out, "0 1 2\n");
  subproc_pipeline_result_free(r);
}

TEST(pipe_input_to_stage_that_exits) {
  /* The first stage never reads: EPIPE is not an error, no SIGPIPE. */
  test_sigpipe_default();
  size_t len = 4u << 20;
  char *in = malloc(len);
  ASSERT(in != NULL);
  memset(in, 'z', len);
  const char *t[] = {test_helper, "exit", "0", NULL};
  const char *cat[] = {test_helper, "cat", NULL};
  const char *const *argvs[] = {t, cat};
  subproc_pipeline_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_pipeline(argvs, 2,
                             &(subproc_options){.input = in,
                                                .input_len = len,
                                                .capture_output = 1,
                                                .timeout = test_slow(30)},
                             NULL, &r, &e),
            &e);
  ASSERT_EQ(r->returncodes[0], 0);
  ASSERT_EQ(r->returncodes[1], 0);
  ASSERT_STREQ(r->last->out, "");
  subproc_pipeline_result_free(r);
  free(in);
}

TEST(pipe_first_stage_stdin_pipe_without_input) {
  /* stdin=PIPE for the first stage and no input: like communicate()
   * without input, the stage sees EOF (nobody else can write to it). */
  const char *cat[] = {test_helper, "cat", NULL};
  const char *const *argvs[] = {cat, cat};
  subproc_pipeline_result *r = NULL;
  subproc_error e;
  double t0 = test_now();
  int rc = subproc_pipeline(argvs, 2,
                            &(subproc_options){.in = SUBPROC_REDIRECT_PIPE,
                                               .out = SUBPROC_REDIRECT_PIPE,
                                               .timeout = test_slow(5)},
                            NULL, &r, &e);
  ASSERT_LT(test_now() - t0, test_slow(3.0));
  ASSERT_OK(rc, &e);
  ASSERT_STREQ(r->last->out, "");
  ASSERT_EQ(r->returncode, 0);
  subproc_pipeline_result_free(r);
}

TEST(pipe_timeout_kill_tree) {
  /* kill_tree for the pipeline: on the timeout every stage's tree is
   * killed, grandchildren included (ON for all, or AUTO for a stage that
   * starts a new session). As a subreaper this process inherits the
   * grandchild, to check and reap it. */
  test_become_subreaper();
  const char *tree[] = {test_helper, "tree", "30", NULL};
  const char *cat[] = {test_helper, "cat", NULL};
  const char *const *argvs[] = {tree, cat};
  for (int variant = 0; variant < 2; variant++) {
    subproc_options first = {.start_new_session = 1};
    const subproc_options *so[2] = {variant ? &first : NULL, NULL};
    subproc_options o = {.capture_output = 1, .timeout = 1.0};
    if (variant == 0)
      o.kill_tree = SUBPROC_KILL_TREE_ON;
    subproc_pipeline_result *r = NULL;
    subproc_error e;
    double t0 = test_now();
    ASSERT_EQ(subproc_pipeline(argvs, 2, &o, so, &r, &e), SUBPROC_ETIMEDOUT);
    ASSERT_LT(test_now() - t0, 1.0 + test_slow(2.0));
    ASSERT(r->timed_out);
    long pid = atol(r->last->out);
    ASSERT(pid > 1);
    if (!test_process_gone(pid, 5.0))
      TEST_FAIL("variant %d: the grandchild %ld survived", variant, pid);
    subproc_pipeline_result_free(r);
  }
}

TEST(pipe_conflicting_options_einval) {
  /* As in run: input with a stdin redirection, or capture_output with an
   * output redirection, is a ValueError, not a silent override; a stage's
   * own options cannot take what belongs to the whole pipeline. No stage
   * is started. */
  const char *cat[] = {test_helper, "cat", NULL};
  const char *const *argvs[] = {cat, cat};
  subproc_pipeline_result *r = NULL;
  subproc_error e;
  ASSERT_EQ(subproc_pipeline(argvs, 2,
                             &(subproc_options){.input = "x",
                                                .input_len = 1,
                                                .in = SUBPROC_REDIRECT_DEVNULL},
                             NULL, &r, &e),
            SUBPROC_EINVAL);
  ASSERT_CONTAINS(e.message, "stdin and input");
  ASSERT(r == NULL);
  ASSERT_EQ(
      subproc_pipeline(argvs, 2,
                       &(subproc_options){.capture_output = 1,
                                          .out = SUBPROC_REDIRECT_DEVNULL},
                       NULL, &r, &e),
      SUBPROC_EINVAL);
  ASSERT_CONTAINS(e.message, "capture_output");
  struct {
    subproc_options stage;
    const char *field;
  } own[] = {
      {{.in = SUBPROC_REDIRECT_DEVNULL}, "stdin"},
      {{.out = SUBPROC_REDIRECT_DEVNULL}, "stdout"},
      {{.input = "x", .input_len = 1}, "input"},
      {{.capture_output = 1}, "capture_output"},
      {{.timeout = 1}, "timeout"},
      {{.check = 1}, "check"},
      {{.text = 1}, "text"},
      {{.max_output = 10}, "max_output"},
      {{.wait_delay = 1}, "wait_delay"},
      {{.err = SUBPROC_REDIRECT_PIPE}, "stderr"},
  };
  for (size_t k = 0; k < sizeof own / sizeof own[0]; k++)
    for (size_t at = 0; at < 2; at++) {
      const subproc_options *so[2] = {NULL, NULL};
      so[at] = &own[k].stage;
      ASSERT_EQ(subproc_pipeline(argvs, 2, NULL, so, &r, &e), SUBPROC_EINVAL);
      ASSERT_STREQ(subproc_step_name(e.step), own[k].field);
      char want[32];
      snprintf(want, sizeof want, "stage %zu", at);
      ASSERT_CONTAINS(e.message, want);
      ASSERT(r == NULL);
    }
}

/* The process fields of opts apply to every stage; a stage's own options
 * replace them for that stage only. */
TEST(pipe_process_fields_every_stage) {
  const char *s0[] = {test_helper, "script", "env:STAGE", NULL};
  const char *s1[] = {test_helper, "script", "cat", "env:STAGE", NULL};
  const char *const *argvs[] = {s0, s1};
  const char *all[] = {"STAGE=all", NULL}, *mine[] = {"STAGE=own", NULL};
  subproc_pipeline_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_pipeline(
                argvs, 2, &(subproc_options){.capture_output = 1, .env = all},
                NULL, &r, &e),
            &e);
  ASSERT_STREQ(r->last->out, "all\nall\n");
  subproc_pipeline_result_free(r);
  r = NULL;
  const subproc_options *so[2] = {NULL, &(subproc_options){.env = mine}};
  ASSERT_OK(subproc_pipeline(
                argvs, 2, &(subproc_options){.capture_output = 1, .env = all},
                so, &r, &e),
            &e);
  ASSERT_STREQ(r->last->out, "all\nown\n");
  subproc_pipeline_result_free(r);
}

/* opts.err is every stage's stderr: one pipe they all write (captured),
 * one file opened once, or where the last stage's stdout goes. */
TEST(pipe_stderr_of_every_stage) {
  const char *s0[] = {test_helper, "script", "err:zero\n", "out:data\n", NULL};
  const char *s1[] = {test_helper, "script", "cat", "err:one\n", NULL};
  const char *const *argvs[] = {s0, s1};
  subproc_pipeline_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_pipeline(argvs, 2, &(subproc_options){.capture_output = 1},
                             NULL, &r, &e),
            &e);
  ASSERT_STREQ(r->last->out, "data\n");
  /* Both lines, in either order (two writers, one pipe). */
  ASSERT(!strcmp(r->last->err, "zero\none\n") ||
         !strcmp(r->last->err, "one\nzero\n"));
  subproc_pipeline_result_free(r);
  r = NULL;

  char *path = test_temp_path("stderr-all");
  test_write_file(path, "old contents, longer than what replaces them\n");
  ASSERT_OK(
      subproc_pipeline(argvs, 2,
                       &(subproc_options){.out = SUBPROC_REDIRECT_PIPE,
                                          .err = SUBPROC_REDIRECT_PATH(path)},
                       NULL, &r, &e),
      &e);
  char *text = test_read_file(path);
  ASSERT(!strcmp(text, "zero\none\n") || !strcmp(text, "one\nzero\n"));
  free(text);
  subproc_pipeline_result_free(r);
  r = NULL;

  /* (a | b) 2>&1: every stderr into the captured stdout. */
  ASSERT_OK(subproc_pipeline(argvs, 2,
                             &(subproc_options){.out = SUBPROC_REDIRECT_PIPE,
                                                .err = SUBPROC_REDIRECT_STDOUT},
                             NULL, &r, &e),
            &e);
  ASSERT_CONTAINS(r->last->out, "zero\n");
  ASSERT_CONTAINS(r->last->out, "one\n");
  ASSERT_CONTAINS(r->last->out, "data\n");
  subproc_pipeline_result_free(r);
  r = NULL;

  /* a 2>&1 | b: a stage's own STDOUT is its own stdout, the next stage's
   * input; the others keep opts.err. */
  const subproc_options *so[2] = {
      &(subproc_options){.err = SUBPROC_REDIRECT_STDOUT}, NULL};
  ASSERT_OK(subproc_pipeline(argvs, 2, &(subproc_options){.capture_output = 1},
                             so, &r, &e),
            &e);
  ASSERT_CONTAINS(r->last->out, "zero\n");
  ASSERT_CONTAINS(r->last->out, "data\n");
  ASSERT_STREQ(r->last->err, "one\n");
  subproc_pipeline_result_free(r);
  test_remove_file(path);
  free(path);
}
