/* Event loops: subproc_exit_fd, subproc_communicate_step from a loop of
 * one's own, and subproc_group with many children, timers, host loops and
 * signals mid-flight. */
#ifndef _WIN32 /* POSIX only: /bin/sh, signals, fds, epoll */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "subproc.h"
#include "test.h"
#include "testing.h"

static double slow(double seconds) {
  const char *f = getenv("SUBPROC_TEST_SLOWDOWN");
  double k = f ? atof(f) : 1;
  return seconds * (k > 1 ? k : 1);
}

static subproc *start_sh(const char *script, subproc_options o) {
  const char *argv[] = {"/bin/sh", "-c", script, NULL};
  subproc *p = NULL;
  subproc_error e;
  ASSERT_OK(subproc_popen(argv, &o, &p, &e), &e);
  return p;
}

static void raise_fd_limit(rlim_t want) {
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < want) {
    rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

/* ------------------------------------------------------------------ */
/* exit fd and communicate_step                                        */
/* ------------------------------------------------------------------ */

TEST_POSIX(group_exit_fd_readable_at_exit) {
  subproc *p = start_sh("sleep 0.2", (subproc_options){0});
  int fd = subproc_exit_fd(p);
  if (fd < 0)
    SKIP("no pidfds on this kernel");
  struct pollfd pfd = {.fd = fd, .events = POLLIN};
  ASSERT_EQ(poll(&pfd, 1, 0), 0); /* still running */
  ASSERT_EQ(poll(&pfd, 1, (int)slow(30) * 1000), 1);
  int rc = -1;
  ASSERT_EQ(subproc_poll(p, &rc), 1);
  ASSERT_EQ(rc, 0);
  ASSERT(subproc_exit_handle(p) == NULL);
  subproc_free(p);
}

/* A plain poll loop drives communicate: input, both outputs, text mode
 * with characters cut at every read, and the same result as
 * subproc_communicate would give. */
TEST_POSIX(group_communicate_step_poll_loop) {
  static char input[200000];
  for (size_t i = 0; i < sizeof input; i += 2) {
    input[i] = (char)0xc3;
    input[i + 1] = (char)(0xa0 + i % 16);
  }
  subproc *p = start_sh("cat; echo done >&2",
                        (subproc_options){.in = SUBPROC_REDIRECT_PIPE,
                                          .out = SUBPROC_REDIRECT_PIPE,
                                          .err = SUBPROC_REDIRECT_PIPE,
                                          .text = 1});
  subproc_result *r = NULL;
  subproc_error e;
  int done = 0, rounds = 0;
  ASSERT_OK(subproc_communicate_step(p, input, sizeof input, &done, &r, &e),
            &e);
  while (!done) {
    struct pollfd pfd[4];
    nfds_t n = 0;
    for (int i = 0; i < 3; i++)
      if (subproc_fd(p, i) >= 0)
        pfd[n++] = (struct pollfd){subproc_fd(p, i), i ? POLLIN : POLLOUT, 0};
    if (subproc_exit_fd(p) >= 0)
      pfd[n++] = (struct pollfd){subproc_exit_fd(p), POLLIN, 0};
    ASSERT(poll(pfd, n, n ? 10000 : 10) >= 0);
    ASSERT_OK(subproc_communicate_step(p, NULL, 0, &done, &r, &e), &e);
    rounds++;
  }
  ASSERT(r != NULL);
  ASSERT_EQ(r->returncode, 0);
  ASSERT_EQ(r->out_len, sizeof input);
  ASSERT(!memcmp(r->out, input, sizeof input));
  ASSERT_STREQ(r->err, "done\n");
  ASSERT(rounds > 1);
  subproc_result_free(r);
  /* Done is done: the same result again. */
  ASSERT_OK(subproc_communicate_step(p, NULL, 0, &done, &r, &e), &e);
  ASSERT_EQ(done, 1);
  ASSERT_EQ(r->out_len, sizeof input);
  subproc_result_free(r);
  subproc_free(p);
}

/* ------------------------------------------------------------------ */
/* The group                                                           */
/* ------------------------------------------------------------------ */

typedef struct outcome {
  int calls, rc, returncode, timed_out;
  char *out, *err;
  size_t out_len;
} outcome;

static void record(void *arg, subproc *p, int rc, subproc_result *r,
                   const subproc_error *e) {
  outcome *o = arg;
  o->calls++;
  o->rc = rc;
  if (rc < 0 && e && rc != SUBPROC_ETIMEDOUT && rc != SUBPROC_EDECODE)
    fprintf(stderr, "child failed: %s\n", e->message);
  if (r) {
    o->returncode = r->returncode;
    o->timed_out = r->timed_out;
    o->out = r->out, r->out = NULL;
    o->err = r->err, r->err = NULL;
    o->out_len = r->out_len;
  }
  subproc_result_free(r);
  subproc_free(p);
}

static subproc_group *new_group(void) {
  subproc_group *g = NULL;
  subproc_error e;
  ASSERT_OK(subproc_group_new(&g, &e), &e);
  return g;
}

static void add(subproc_group *g, subproc *p, subproc_watch w) {
  subproc_error e;
  ASSERT_OK(subproc_group_add(g, p, &w, &e), &e);
}

TEST_POSIX(group_basic) {
  subproc_group *g = new_group();
  outcome o[3] = {{0}};
  const char *scripts[] = {"echo one", "echo two >&2; exit 3", "true"};
  for (int i = 0; i < 3; i++)
    add(g,
        start_sh(
            scripts[i],
            (subproc_options){.out = {i < 2 ? SUBPROC_PIPE : SUBPROC_INHERIT},
                              .err = {i < 2 ? SUBPROC_PIPE : SUBPROC_INHERIT}}),
        (subproc_watch){.on_exit = record, .arg = &o[i]});
  ASSERT_EQ(subproc_group_count(g), 3);
  subproc_error e;
  ASSERT_OK(subproc_group_run(g, slow(30), &e), &e);
  ASSERT_EQ(subproc_group_count(g), 0);
  for (int i = 0; i < 3; i++) {
    ASSERT_EQ(o[i].calls, 1);
    ASSERT_EQ(o[i].rc, 0);
  }
  ASSERT_STREQ(o[0].out, "one\n");
  ASSERT_STREQ(o[1].err, "two\n");
  ASSERT_EQ(o[1].returncode, 3);
  ASSERT(o[2].out == NULL); /* not captured */
  for (int i = 0; i < 3; i++)
    free(o[i].out), free(o[i].err);
  subproc_group_free(g);
}

/* 1,000 children at once, each writing its number and 64 KiB: every
 * byte and every status right. */
TEST_POSIX(group_thousand_children_byte_exact) {
  enum { N = 1000, SIZE = 65536 };
  raise_fd_limit(4 * N + 64);
  subproc_group *g = new_group();
  outcome *o = calloc(N, sizeof *o);
  for (int i = 0; i < N; i++) {
    char script[160];
    snprintf(script, sizeof script,
             "echo child %d; head -c %d /dev/zero | tr '\\0' x; exit %d", i,
             SIZE, i % 7);
    add(g, start_sh(script, (subproc_options){.out = SUBPROC_REDIRECT_PIPE}),
        (subproc_watch){.on_exit = record, .arg = &o[i]});
  }
  subproc_error e;
  ASSERT_OK(subproc_group_run(g, slow(300), &e), &e);
  for (int i = 0; i < N; i++) {
    char head[32];
    int hl = snprintf(head, sizeof head, "child %d\n", i);
    ASSERT_EQ(o[i].calls, 1);
    ASSERT_EQ(o[i].returncode, i % 7);
    ASSERT_EQ(o[i].out_len, (size_t)hl + SIZE);
    ASSERT(!memcmp(o[i].out, head, (size_t)hl));
    for (size_t k = (size_t)hl; k < o[i].out_len; k++)
      if (o[i].out[k] != 'x')
        TEST_FAIL("child %d: byte %zu is %d", i, k, o[i].out[k]);
    free(o[i].out);
  }
  free(o);
  subproc_group_free(g);
}

/* Input through the watch: more than a pipe holds, so stdin is written
 * as it becomes writable. */
TEST_POSIX(group_input_written_as_pipe_drains) {
  static char input[1 << 20];
  for (size_t i = 0; i < sizeof input; i++)
    input[i] = (char)('a' + i % 23);
  subproc_group *g = new_group();
  outcome o[4] = {{0}};
  for (int i = 0; i < 4; i++)
    add(g,
        start_sh("cat", (subproc_options){.in = SUBPROC_REDIRECT_PIPE,
                                          .out = SUBPROC_REDIRECT_PIPE}),
        (subproc_watch){.input = input,
                        .input_len = sizeof input,
                        .on_exit = record,
                        .arg = &o[i]});
  subproc_error e;
  ASSERT_OK(subproc_group_run(g, slow(60), &e), &e);
  for (int i = 0; i < 4; i++) {
    ASSERT_EQ(o[i].out_len, sizeof input);
    ASSERT(!memcmp(o[i].out, input, sizeof input));
    free(o[i].out);
  }
  subproc_group_free(g);
}

/* A timeout kills the child (and with kill_tree its group): on_exit gets
 * SUBPROC_ETIMEDOUT with what was read; the others carry on. */
TEST_POSIX(group_timeout_kills_tree) {
  subproc_group *g = new_group();
  outcome slow_one = {0}, quick = {0};
  subproc *p = start_sh("echo started; sleep 30 & sleep 30",
                        (subproc_options){.out = SUBPROC_REDIRECT_PIPE,
                                          .kill_tree = SUBPROC_KILL_TREE_ON});
  long pgid = subproc_pid(p);
  add(g, p,
      (subproc_watch){.timeout = 0.3, .on_exit = record, .arg = &slow_one});
  add(g,
      start_sh("sleep 0.1; echo quick",
               (subproc_options){.out = SUBPROC_REDIRECT_PIPE}),
      (subproc_watch){.on_exit = record, .arg = &quick});
  double t0 = test_now();
  subproc_error e;
  ASSERT_OK(subproc_group_run(g, slow(30), &e), &e);
  ASSERT(test_now() - t0 < slow(10));
  ASSERT_EQ(slow_one.rc, SUBPROC_ETIMEDOUT);
  ASSERT(slow_one.timed_out);
  ASSERT_STREQ(slow_one.out, "started\n");
  ASSERT_EQ(slow_one.returncode, -SIGKILL);
  ASSERT_STREQ(quick.out, "quick\n");
  for (int i = 0; i < 100 && kill(-(pid_t)pgid, 0) == 0; i++)
    usleep(20000); /* the grandchild is gone with its group */
  ASSERT(kill(-(pid_t)pgid, 0) < 0);
  free(slow_one.out);
  free(quick.out);
  subproc_group_free(g);
}

/* The group nested in a host loop: the host polls the group's fd with the
 * group's next timeout and calls run_once(g, 0). */
TEST_POSIX(group_nested_in_host_epoll) {
  subproc_group *g = new_group();
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 1};
  ASSERT_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, subproc_group_fd(g), &ev), 0);
  outcome o[20] = {{0}};
  for (int i = 0; i < 20; i++) {
    char script[64];
    snprintf(script, sizeof script, "sleep 0.0%d; echo %d", i % 5, i);
    add(g, start_sh(script, (subproc_options){.out = SUBPROC_REDIRECT_PIPE}),
        (subproc_watch){.on_exit = record, .arg = &o[i]});
  }
  /* One with a timeout: only the group's timer can end it. */
  outcome late = {0};
  add(g, start_sh("exec sleep 30", (subproc_options){0}),
      (subproc_watch){.timeout = 0.2, .on_exit = record, .arg = &late});
  subproc_error e;
  while (subproc_group_count(g)) {
    int ms = subproc_group_timeout_ms(g);
    struct epoll_event out;
    ASSERT(epoll_wait(ep, &out, 1, ms < 0 ? 10000 : ms) >= 0);
    ASSERT(subproc_group_run_once(g, SUBPROC_POLL, &e) >= 0);
  }
  for (int i = 0; i < 20; i++) {
    char want[8];
    snprintf(want, sizeof want, "%d\n", i);
    ASSERT_STREQ(o[i].out, want);
    free(o[i].out);
  }
  ASSERT_EQ(late.rc, SUBPROC_ETIMEDOUT);
  close(ep);
  subproc_group_free(g);
}

static void *wake_later(void *arg) {
  usleep(100000);
  subproc_group_wake(arg);
  return NULL;
}

TEST_POSIX(group_wake_from_another_thread) {
  subproc_group *g = new_group();
  subproc *p = start_sh("exec sleep 30", (subproc_options){0});
  add(g, p, (subproc_watch){0});
  subproc_error e;
  ASSERT_EQ(subproc_group_run_once(g, SUBPROC_POLL, &e),
            0); /* the first round */
  pthread_t t;
  pthread_create(&t, NULL, wake_later, g);
  double t0 = test_now();
  ASSERT_EQ(subproc_group_run_once(g, SUBPROC_FOREVER, &e), 0);
  ASSERT(test_now() - t0 < slow(20));
  pthread_join(t, NULL);
  ASSERT_OK(subproc_group_remove(g, p), NULL);
  ASSERT_EQ(subproc_group_count(g), 0);
  subproc_kill(p);
  ASSERT_OK(subproc_wait(p, slow(30), NULL, &e), &e);
  subproc_free(p);
  subproc_group_free(g);
}

/* on_exit starts the next child and frees its own: a chain of 50. */
typedef struct chain {
  subproc_group *g;
  int left, seen;
} chain;

static void next_link(void *arg, subproc *p, int rc, subproc_result *r,
                      const subproc_error *e) {
  chain *c = arg;
  (void)e;
  ASSERT_EQ(rc, 0);
  ASSERT_EQ(r->returncode, 0);
  c->seen++;
  subproc_result_free(r);
  subproc_free(p);
  if (c->left-- > 0)
    add(c->g, start_sh("true", (subproc_options){0}),
        (subproc_watch){.on_exit = next_link, .arg = c});
}

TEST_POSIX(group_on_exit_adds_and_frees) {
  chain c = {.g = new_group(), .left = 49};
  add(c.g, start_sh("true", (subproc_options){0}),
      (subproc_watch){.on_exit = next_link, .arg = &c});
  subproc_error e;
  ASSERT_OK(subproc_group_run(c.g, slow(60), &e), &e);
  ASSERT_EQ(c.seen, 50);
  subproc_group_free(c.g);
}

/* Text mode, a byte limit and a strict decoding error, through the group:
 * communicate's semantics exactly. */
TEST_POSIX(group_text_limits_and_decode_error) {
  subproc_group *g = new_group();
  outcome text = {0}, limited = {0}, bad = {0};
  add(g,
      start_sh("printf 'a\\r\\nb\\rc'",
               (subproc_options){.out = SUBPROC_REDIRECT_PIPE, .text = 1}),
      (subproc_watch){.on_exit = record, .arg = &text});
  add(g,
      start_sh(
          "head -c 100000 /dev/zero",
          (subproc_options){.out = SUBPROC_REDIRECT_PIPE, .max_output = 1000}),
      (subproc_watch){.on_exit = record, .arg = &limited});
  add(g,
      start_sh("printf 'ok\\377'; exit 4",
               (subproc_options){.out = SUBPROC_REDIRECT_PIPE, .text = 1}),
      (subproc_watch){.on_exit = record, .arg = &bad});
  subproc_error e;
  ASSERT_OK(subproc_group_run(g, slow(30), &e), &e);
  ASSERT_STREQ(text.out, "a\nb\nc");
  ASSERT_EQ(limited.out_len, 1000);
  ASSERT_EQ(bad.rc, SUBPROC_EDECODE);
  ASSERT_EQ(bad.returncode, 4);
  free(text.out), free(limited.out), free(bad.out);
  subproc_group_free(g);
}

/* Without pidfds the group looks for exits itself. */
TEST_POSIX(group_without_pidfds) {
  subproc__set_test_flags(SUBPROC__NO_PIDFD);
  subproc_group *g = new_group();
  outcome o[5] = {{0}};
  for (int i = 0; i < 5; i++)
    add(g,
        start_sh("echo hi; exit 2",
                 (subproc_options){.out = SUBPROC_REDIRECT_PIPE}),
        (subproc_watch){.on_exit = record, .arg = &o[i]});
  subproc_error e;
  ASSERT_OK(subproc_group_run(g, slow(30), &e), &e);
  for (int i = 0; i < 5; i++) {
    ASSERT_EQ(o[i].returncode, 2);
    ASSERT_STREQ(o[i].out, "hi\n");
    free(o[i].out);
  }
  subproc_group_free(g);
  subproc__set_test_flags(0);
}

TEST_POSIX(group_bad_arguments) {
  subproc_group *g = new_group();
  subproc_error e;
  ASSERT_EQ(subproc_group_add(g, NULL, NULL, &e), SUBPROC_EINVAL);
  subproc *p =
      start_sh("true", (subproc_options){.out = SUBPROC_REDIRECT_PIPE});
  add(g, p, (subproc_watch){0});
  ASSERT_EQ(subproc_group_add(g, p, NULL, &e), SUBPROC_EINVAL); /* twice */
  ASSERT_OK(subproc_group_run(g, slow(30), &e), &e);
  subproc_free(p);
  p = start_sh("true", (subproc_options){.out = SUBPROC_REDIRECT_PIPE});
  ASSERT_OK(subproc_communicate(p, NULL, 0, slow(30), NULL, &e), &e);
  ASSERT_EQ(subproc_group_add(g, p, NULL, &e), SUBPROC_EINVAL);
  subproc_free(p);
  ASSERT_EQ(subproc_group_run_once(NULL, SUBPROC_POLL, &e), SUBPROC_EINVAL);
  ASSERT_EQ(subproc_group_remove(g, NULL), SUBPROC_EINVAL);
  subproc_group_free(g);
  subproc_group_free(NULL);
}

/* Signals arrive all the time (handlers without SA_RESTART): nothing
 * fails, nothing is lost. */
static volatile sig_atomic_t stop_signals;
static void on_sig(int sig) { (void)sig; }

static void *signal_storm(void *arg) {
  pid_t self = *(pid_t *)arg;
  while (!stop_signals) {
    kill(self, SIGCHLD);
    kill(self, SIGUSR1);
    usleep(200);
  }
  return NULL;
}

TEST_POSIX(group_signals_mid_flight) {
  struct sigaction sa = {.sa_handler = on_sig};
  sigaction(SIGUSR1, &sa, NULL);
  sigaction(SIGCHLD, &sa, NULL);
  pid_t self = getpid();
  pthread_t t;
  pthread_create(&t, NULL, signal_storm, &self);
  subproc_group *g = new_group();
  enum { N = 100 };
  outcome o[N] = {{0}};
  for (int i = 0; i < N; i++)
    add(g,
        start_sh("head -c 200000 /dev/zero; exit 1",
                 (subproc_options){.out = SUBPROC_REDIRECT_PIPE}),
        (subproc_watch){.on_exit = record, .arg = &o[i]});
  subproc_error e;
  ASSERT_OK(subproc_group_run(g, slow(120), &e), &e);
  stop_signals = 1;
  pthread_join(t, NULL);
  for (int i = 0; i < N; i++) {
    ASSERT_EQ(o[i].rc, 0);
    ASSERT_EQ(o[i].returncode, 1);
    ASSERT_EQ(o[i].out_len, 200000);
    free(o[i].out);
  }
  subproc_group_free(g);
}

#else
/* Nothing on Windows (ISO C wants a declaration in every file). */
typedef int test_group_unused_;
#endif
