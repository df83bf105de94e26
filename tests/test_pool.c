/* subproc_pool and subproc_run_many: a concurrency limit, results as they
 * complete, early stops, cancellation from a signal handler. */
#ifndef _WIN32 /* POSIX only: /bin/sh, signals, fds, epoll */
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "subproc.h"
#include "test.h"
#include "util.h"

static double slow(double seconds) {
  const char *f = getenv("SUBPROC_TEST_SLOWDOWN");
  double k = f ? atof(f) : 1;
  return seconds * (k > 1 ? k : 1);
}

typedef struct seen {
  size_t n, order[64];
  int rc[64], returncode[64];
  char out[64][64];
} seen;

static void on_done(void *arg, size_t job, int rc, const subproc_result *r,
                    const subproc_error *e) {
  seen *s = arg;
  (void)e;
  s->order[s->n++] = job;
  s->rc[job] = rc;
  s->returncode[job] = r ? r->returncode : SUBPROC_NO_RETURNCODE;
  if (r && r->out)
    snprintf(s->out[job], sizeof s->out[job], "%s", r->out);
}

static subproc_pool *new_pool(subproc_pool_options po) {
  subproc_pool *pl = NULL;
  subproc_error e;
  ASSERT_OK(subproc_pool_new(&pl, &po, &e), &e);
  return pl;
}

typedef struct sh_job {
  const char *argv[4];
} sh_job;

static void add_sh(subproc_pool *pl, sh_job *j, const char *script,
                   const subproc_options *o) {
  j->argv[0] = "/bin/sh";
  j->argv[1] = "-c";
  j->argv[2] = script;
  j->argv[3] = NULL;
  subproc_error e;
  ASSERT_OK(subproc_pool_add(pl, j->argv, o, NULL, &e), &e);
}

static const subproc_options capture = {.capture_output = 1};

/* No more than max_parallel at once, and some at the same time. */
TEST_POSIX(pool_concurrency_limit) {
  char dir[] = "/tmp/subproc-pool-XXXXXX";
  ASSERT(mkdtemp(dir));
  char script[512];
  snprintf(script, sizeof script,
           "touch %s/$$; ls %s | wc -l; sleep 0.3; rm %s/$$", dir, dir, dir);
  seen s = {0};
  subproc_pool *pl = new_pool((subproc_pool_options){
      .max_parallel = 3, .on_done = on_done, .on_done_arg = &s});
  sh_job jobs[20];
  for (int i = 0; i < 20; i++)
    add_sh(pl, &jobs[i], script, &capture);
  size_t failed = 99;
  subproc_error e;
  ASSERT_OK(subproc_pool_run(pl, &failed, &e), &e);
  ASSERT_EQ(failed, 0);
  ASSERT_EQ(s.n, 20);
  int most = 0;
  for (int i = 0; i < 20; i++) {
    int k = atoi(s.out[i]);
    ASSERT(k >= 1 && k <= 3);
    most = k > most ? k : most;
  }
  ASSERT(most >= 2); /* 20 jobs of 0.3 s: they did overlap */
  subproc_pool_free(pl);
  rmdir(dir);
}

TEST_POSIX(pool_results_in_completion_order) {
  seen s = {0};
  subproc_pool *pl = new_pool((subproc_pool_options){
      .max_parallel = 3, .on_done = on_done, .on_done_arg = &s});
  sh_job jobs[3];
  add_sh(pl, &jobs[0], "sleep 0.6; echo a", &capture);
  add_sh(pl, &jobs[1], "sleep 0.3; echo b", &capture);
  add_sh(pl, &jobs[2], "echo c; exit 4", &capture);
  size_t failed = 0;
  subproc_error e;
  ASSERT_EQ(subproc_pool_run(pl, &failed, &e), SUBPROC_ECALLED);
  ASSERT_EQ(failed, 1);
  ASSERT_EQ(s.order[0], 2);
  ASSERT_EQ(s.order[1], 1);
  ASSERT_EQ(s.order[2], 0);
  ASSERT_STREQ(s.out[0], "a\n");
  ASSERT_EQ(s.returncode[2], 4);
  subproc_pool_free(pl);
}

/* halt soon: after the first failure nothing new starts. */
TEST_POSIX(pool_halt_soon) {
  seen s = {0};
  subproc_pool *pl = new_pool((subproc_pool_options){.max_parallel = 1,
                                                     .halt = SUBPROC_HALT_SOON,
                                                     .on_done = on_done,
                                                     .on_done_arg = &s});
  sh_job jobs[5];
  add_sh(pl, &jobs[0], "true", NULL);
  add_sh(pl, &jobs[1], "exit 3", NULL);
  for (int i = 2; i < 5; i++)
    add_sh(pl, &jobs[i], "true", NULL);
  size_t failed = 0;
  subproc_error e;
  ASSERT_EQ(subproc_pool_run(pl, &failed, &e), SUBPROC_ECALLED);
  ASSERT_EQ(failed, 1);
  ASSERT_EQ(s.n, 2); /* jobs 2-4 never started */
  subproc_pool_free(pl);
}

/* halt now: the running jobs are killed, their trees too. */
TEST_POSIX(pool_halt_now) {
  seen s = {0};
  subproc_pool *pl = new_pool((subproc_pool_options){.max_parallel = 3,
                                                     .halt = SUBPROC_HALT_NOW,
                                                     .on_done = on_done,
                                                     .on_done_arg = &s});
  sh_job jobs[4];
  add_sh(pl, &jobs[0], "sleep 30 & wait", NULL);
  add_sh(pl, &jobs[1], "sleep 30 & wait", NULL);
  add_sh(pl, &jobs[2], "sleep 0.2; exit 1", NULL);
  add_sh(pl, &jobs[3], "true", NULL);
  double t0 = test_now();
  size_t failed = 0;
  subproc_error e;
  ASSERT_EQ(subproc_pool_run(pl, &failed, &e), SUBPROC_ECALLED);
  ASSERT(test_now() - t0 < slow(10));
  ASSERT_EQ(s.n, 3);
  ASSERT_EQ(s.returncode[0], -SIGKILL);
  ASSERT_EQ(s.returncode[1], -SIGKILL);
  ASSERT_EQ(failed, 3);
  subproc_pool_free(pl);
}

static subproc_pool *cancel_me;
static void on_sigint(int sig) { subproc_pool_cancel(cancel_me, sig); }

/* SIGINT: forwarded to every job's group, then collected; a job that
 * ignores it is killed after the grace period. */
TEST_POSIX(pool_cancel_from_signal_handler) {
  seen s = {0};
  cancel_me = new_pool((subproc_pool_options){.max_parallel = 4,
                                              .cancel_grace = 0.5,
                                              .on_done = on_done,
                                              .on_done_arg = &s});
  struct sigaction sa = {.sa_handler = on_sigint};
  sigaction(SIGINT, &sa, NULL);
  sh_job jobs[6];
  add_sh(cancel_me, &jobs[0], "exec sleep 30", NULL);
  add_sh(cancel_me, &jobs[1], "sleep 30 & wait", NULL);
  /* Job 3 cancels only once job 2 ignores SIGINT (else the race decides
   * whether job 2 dies of the SIGINT or of the grace kill). */
  char *ready = test_temp_path("ignoring");
  char s2[256], s3[256];
  snprintf(s2, sizeof s2, "trap '' INT; : > '%s'; exec sleep 30", ready);
  snprintf(s3, sizeof s3,
           "while [ ! -e '%s' ]; do sleep 0.01; done; kill -INT $PPID; "
           "exec sleep 30",
           ready);
  add_sh(cancel_me, &jobs[2], s2, NULL);
  add_sh(cancel_me, &jobs[3], s3, NULL);
  for (int i = 4; i < 6; i++)
    add_sh(cancel_me, &jobs[i], "true", NULL);
  double t0 = test_now();
  size_t failed = 0;
  subproc_error e;
  ASSERT_EQ(subproc_pool_run(cancel_me, &failed, &e), SUBPROC_ECANCELED);
  ASSERT(test_now() - t0 < slow(10));
  ASSERT_EQ(s.n, 4); /* the last two never started */
  ASSERT_EQ(s.returncode[0], -SIGINT);
  ASSERT_EQ(s.returncode[2], -SIGKILL); /* ignored SIGINT: killed */
  ASSERT_EQ(s.returncode[3], -SIGINT);
  subproc_pool_free(cancel_me);
  signal(SIGINT, SIG_DFL);
  test_remove_file(ready);
  free(ready);
}

TEST_POSIX(pool_spawn_failure_and_timeout) {
  seen s = {0};
  subproc_pool *pl = new_pool((subproc_pool_options){
      .max_parallel = 2, .on_done = on_done, .on_done_arg = &s});
  const char *missing[] = {"/nonexistent/subproc-prog", NULL};
  subproc_error e;
  ASSERT_OK(subproc_pool_add(pl, missing, NULL, NULL, &e), &e);
  sh_job j;
  subproc_options timed = {.timeout = 0.3, .capture_output = 1};
  add_sh(pl, &j, "echo before; exec sleep 30", &timed);
  size_t failed = 0;
  ASSERT_EQ(subproc_pool_run(pl, &failed, &e), SUBPROC_ECALLED);
  ASSERT_EQ(failed, 2);
  ASSERT_EQ(s.rc[0], -ENOENT);
  ASSERT_EQ(s.returncode[0], SUBPROC_NO_RETURNCODE);
  ASSERT_EQ(s.rc[1], SUBPROC_ETIMEDOUT);
  ASSERT_STREQ(s.out[1], "before\n");
  subproc_pool_free(pl);
}

/* Jobs with input, and jobs added from on_done. */
typedef struct more {
  subproc_pool *pl;
  int added;
  sh_job extra[3];
  seen s;
} more;

static void add_more(void *arg, size_t job, int rc, const subproc_result *r,
                     const subproc_error *e) {
  more *m = arg;
  on_done(&m->s, job, rc, r, e);
  /* The options must outlive the job: not a compound literal here. */
  static const subproc_options fed = {
      .input = "fed", .input_len = 3, .capture_output = 1};
  if (m->added < 3) {
    m->added++;
    add_sh(m->pl, &m->extra[m->added - 1], "cat", &fed);
  }
}

TEST_POSIX(pool_input_and_jobs_added_while_running) {
  more m = {0};
  m.pl = new_pool((subproc_pool_options){
      .max_parallel = 2, .on_done = add_more, .on_done_arg = &m});
  sh_job first;
  add_sh(m.pl, &first, "cat",
         &(subproc_options){.input = "x", .input_len = 1, .capture_output = 1});
  subproc_error e;
  ASSERT_OK(subproc_pool_run(m.pl, NULL, &e), &e);
  ASSERT_EQ(m.s.n, 4);
  ASSERT_STREQ(m.s.out[0], "x");
  ASSERT_STREQ(m.s.out[3], "fed");
  subproc_pool_free(m.pl);
}

TEST_POSIX(pool_run_many) {
  const char *a[] = {"/bin/true", NULL}, *b[] = {"/bin/false", NULL};
  const char *const *argvs[] = {a, b, a, a};
  size_t failed = 0;
  subproc_error e;
  ASSERT_EQ(subproc_run_many(argvs, 4, NULL, NULL, &failed, &e),
            SUBPROC_ECALLED);
  ASSERT_EQ(failed, 1);
  ASSERT_OK(subproc_run_many(argvs, 1, NULL, NULL, &failed, &e), &e);
  ASSERT_EQ(failed, 0);
  const char *const *none[1] = {NULL};
  ASSERT_EQ(subproc_run_many(none, 1, NULL, NULL, NULL, &e), SUBPROC_EINVAL);
}

#else
/* Nothing on Windows (ISO C wants a declaration in every file). */
typedef int test_pool_unused_;
#endif
