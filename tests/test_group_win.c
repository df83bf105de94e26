/* Event loops on Windows: subproc_exit_handle, subproc_communicate_step
 * from a host loop with a completion port of its own, and subproc_group
 * (the completion-port poller of src/windows/poller.c) with many
 * children, input larger than a pipe, timeouts, host loops and wake-ups.
 * The counterpart of tests/test_group.c; built on Windows only
 * (tests/CMakeLists.txt); the child is tests/helper.c. */
#ifdef _WIN32 /* the Windows counterparts of tests/test_group.c */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <io.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "subproc.h"
#include "test.h"

/* The helper in a mode: HELPER("echo", "hi"). */
#define HELPER(...) ((const char *const[]){test_helper, __VA_ARGS__, NULL})

static double slow(double seconds) {
  const char *f = getenv("SUBPROC_TEST_SLOWDOWN");
  double k = f ? atof(f) : 1;
  return seconds * (k > 1 ? k : 1);
}

/* Wine now and then fails CreateProcess with ERROR_INTERNAL_ERROR when
 * the machine is busy and many processes run: such a spawn is tried
 * again. */
static subproc *start(const char *const *argv, subproc_options o) {
  subproc *p = NULL;
  subproc_error e;
  int rc;
  for (int tries = 1;; tries++) {
    rc = subproc_popen(argv, &o, &p, &e);
    if (rc == 0 || tries == 5 || !strstr(e.message, "[WinError 1359]"))
      break;
    Sleep(50);
  }
  ASSERT_OK(rc, &e);
  return p;
}

static DWORD ms_of(double t) {
  return t < 0 ? INFINITE : (DWORD)(t * 1000) + 1;
}

/* ------------------------------------------------------------------ */
/* exit handle and communicate_step                                    */
/* ------------------------------------------------------------------ */

TEST_WINDOWS(win_group_exit_handle_signalled_at_exit) {
  subproc *p = start(HELPER("sleep", "0.3"), (subproc_options){0});
  ASSERT_EQ(subproc_exit_fd(p), -1);
  HANDLE h = subproc_exit_handle(p);
  ASSERT(h != NULL);
  ASSERT_EQ(WaitForSingleObject(h, 0), WAIT_TIMEOUT); /* still running */
  ASSERT_EQ(WaitForSingleObject(h, ms_of(slow(30))), WAIT_OBJECT_0);
  int rc = -1;
  ASSERT_EQ(subproc_poll(p, &rc), 1);
  ASSERT_EQ(rc, 0);
  ASSERT(subproc_exit_handle(p) == h); /* valid until subproc_free */
  subproc_free(p);
}

/* A host loop of its own: a completion port with zero-byte reads on the
 * output pipes and the exit posted by a thread-pool wait, stdin stepped
 * every 20 ms. communicate's own overlapped I/O must never reach that
 * port: every packet names one of the host's OVERLAPPEDs. */
typedef struct host {
  HANDLE port, wait;
  OVERLAPPED ov[3], exit_ov;
  int armed[3], joined[3];
  char byte;
} host;

static VOID CALLBACK host_exit(PVOID arg, BOOLEAN timed_out) {
  host *h = arg;
  (void)timed_out;
  PostQueuedCompletionStatus(h->port, 0, 9, &h->exit_ov);
}

static void host_arm(host *h, subproc *p) {
  for (int i = 1; i <= 2; i++) {
    HANDLE ph = subproc_fd(p, i) >= 0 ? (HANDLE)_get_osfhandle(subproc_fd(p, i))
                                      : INVALID_HANDLE_VALUE;
    if (ph == INVALID_HANDLE_VALUE || h->armed[i])
      continue;
    if (!h->joined[i])
      ASSERT(CreateIoCompletionPort(ph, h->port, (ULONG_PTR)i, 0) != NULL);
    h->joined[i] = 1;
    memset(&h->ov[i], 0, sizeof h->ov[i]);
    if (ReadFile(ph, &h->byte, 0, NULL, &h->ov[i]) ||
        GetLastError() == ERROR_IO_PENDING)
      h->armed[i] = 1; /* else at EOF: the step sees it */
  }
}

static void host_wait(host *h, DWORD ms) {
  OVERLAPPED_ENTRY e[8];
  ULONG n = 0;
  if (!GetQueuedCompletionStatusEx(h->port, e, 8, &n, ms, FALSE))
    return;
  for (ULONG k = 0; k < n; k++) {
    ULONG_PTR key = e[k].lpCompletionKey;
    if (key == 9) {
      ASSERT(e[k].lpOverlapped == &h->exit_ov);
      continue;
    }
    ASSERT(key == 1 || key == 2);
    ASSERT(e[k].lpOverlapped == &h->ov[key]); /* not communicate's */
    h->armed[key] = 0;
  }
}

TEST_WINDOWS(win_group_communicate_step_host_iocp) {
  static char input[200000];
  for (size_t i = 0; i < sizeof input; i += 2) {
    input[i] = (char)0xc3;
    input[i + 1] = (char)(0xa0 + i % 16);
  }
  subproc *p = start(HELPER("cat2"), (subproc_options){
                                         .in = SUBPROC_REDIRECT_PIPE,
                                         .out = SUBPROC_REDIRECT_PIPE,
                                         .err = SUBPROC_REDIRECT_PIPE,
                                         .text = 1,
                                         .encoding = "utf-8",
                                     });
  host h = {.port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1)};
  ASSERT(RegisterWaitForSingleObject(&h.wait, subproc_exit_handle(p), host_exit,
                                     &h, INFINITE, WT_EXECUTEONLYONCE));
  subproc_result *r = NULL;
  subproc_error e;
  int done = 0, rounds = 0;
  ASSERT_OK(subproc_communicate_step(p, input, sizeof input, &done, &r, &e),
            &e);
  double t0 = test_now();
  while (!done) {
    host_arm(&h, p);
    host_wait(&h, 20);
    ASSERT_OK(subproc_communicate_step(p, NULL, 0, &done, &r, &e), &e);
    rounds++;
    ASSERT(test_now() - t0 < slow(60));
  }
  ASSERT(r != NULL);
  ASSERT_EQ(r->returncode, 0);
  ASSERT_EQ(r->out_len, sizeof input);
  ASSERT(!memcmp(r->out, input, sizeof input));
  ASSERT_EQ(r->err_len, sizeof input);
  ASSERT(rounds > 1);
  subproc_result_free(r);
  /* Done is done: the same result again. */
  ASSERT_OK(subproc_communicate_step(p, NULL, 0, &done, &r, &e), &e);
  ASSERT_EQ(done, 1);
  ASSERT_EQ(r->out_len, sizeof input);
  subproc_result_free(r);
  UnregisterWaitEx(h.wait, INVALID_HANDLE_VALUE);
  host_wait(&h, 50); /* the reads cancelled by the close: still ours */
  CloseHandle(h.port);
  subproc_free(p);
}

/* ------------------------------------------------------------------ */
/* The group                                                           */
/* ------------------------------------------------------------------ */

typedef struct outcome {
  int calls, rc, returncode, timed_out;
  char *out, *err;
  size_t out_len, err_len;
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
    o->err_len = r->err_len;
  }
  subproc_result_free(r);
  subproc_free(p);
}

static subproc_group *new_group(void) {
  subproc_group *g = NULL;
  subproc_error e;
  ASSERT_OK(subproc_group_new(&g, &e), &e);
  ASSERT_EQ(subproc_group_fd(g), -1);
  return g;
}

static void add(subproc_group *g, subproc *p, subproc_watch w) {
  subproc_error e;
  ASSERT_OK(subproc_group_add(g, p, &w, &e), &e);
}

static void run(subproc_group *g, double timeout) {
  subproc_error e;
  ASSERT_OK(subproc_group_run(g, timeout, &e), &e);
  ASSERT_EQ(subproc_group_count(g), 0);
}

TEST_WINDOWS(win_group_basic) {
  subproc_group *g = new_group();
  outcome o[4] = {{0}};
  subproc_options cap = {.out = SUBPROC_REDIRECT_PIPE,
                         .err = SUBPROC_REDIRECT_PIPE};
  add(g, start(HELPER("echo", "one"), cap),
      (subproc_watch){.on_exit = record, .arg = &o[0]});
  add(g, start(HELPER("outerr", "", "two"), cap),
      (subproc_watch){.on_exit = record, .arg = &o[1]});
  add(g, start(HELPER("exit", "3"), cap),
      (subproc_watch){.on_exit = record, .arg = &o[2]});
  add(g, start(HELPER("exit", "0"), (subproc_options){0}),
      (subproc_watch){.on_exit = record, .arg = &o[3]});
  ASSERT_EQ(subproc_group_count(g), 4);
  run(g, slow(30));
  for (int i = 0; i < 4; i++) {
    ASSERT_EQ(o[i].calls, 1);
    ASSERT_EQ(o[i].rc, 0);
  }
  ASSERT_STREQ(o[0].out, "one\n");
  ASSERT_STREQ(o[1].err, "two");
  ASSERT_EQ(o[2].returncode, 3);
  ASSERT(o[3].out == NULL); /* not captured */
  for (int i = 0; i < 4; i++)
    free(o[i].out), free(o[i].err);
  subproc_group_free(g);
}

/* Far more children than WaitForMultipleObjects takes (64), each writing
 * its number and 64 KiB: every byte and every status right. */
TEST_WINDOWS(win_group_many_children_byte_exact) {
  enum { N = 200, SIZE = 65536 };
  subproc_group *g = new_group();
  outcome *o = calloc(N, sizeof *o);
  for (int i = 0; i < N; i++) {
    char id[16], code[16];
    snprintf(id, sizeof id, "%d", i);
    snprintf(code, sizeof code, "%d", i % 7);
    add(g,
        start(HELPER("burst", id, "65536", code),
              (subproc_options){.out = SUBPROC_REDIRECT_PIPE}),
        (subproc_watch){.on_exit = record, .arg = &o[i]});
  }
  run(g, slow(300));
  for (int i = 0; i < N; i++) {
    char head[32];
    int hl = snprintf(head, sizeof head, "child %d\n", i);
    ASSERT_EQ(o[i].calls, 1);
    ASSERT_EQ(o[i].rc, 0);
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

/* Input through the watch, far more than a pipe holds: stdin is written as
 * room appears (the poller's one-byte wait for room), small pipes and a
 * slow reader included. */
TEST_WINDOWS(win_group_input_larger_than_pipe) {
  static char input[1 << 20];
  for (size_t i = 0; i < sizeof input; i++)
    input[i] = (char)('a' + i % 23);
  subproc_group *g = new_group();
  outcome o[4] = {{0}};
  for (int i = 0; i < 4; i++) {
    subproc_options opts = {.in = SUBPROC_REDIRECT_PIPE,
                            .out = SUBPROC_REDIRECT_PIPE,
                            .pipesize = i < 2 ? 0 : 4096};
    add(g, start(i == 3 ? HELPER("cat-by", "1000") : HELPER("cat"), opts),
        (subproc_watch){.input = input,
                        .input_len = sizeof input,
                        .on_exit = record,
                        .arg = &o[i]});
  }
  run(g, slow(120));
  for (int i = 0; i < 4; i++) {
    ASSERT_EQ(o[i].rc, 0);
    ASSERT_EQ(o[i].out_len, sizeof input);
    ASSERT(!memcmp(o[i].out, input, sizeof input));
    free(o[i].out);
  }
  subproc_group_free(g);
}

/* A child leaves the group while the poller's byte waits for room, and
 * after the child has taken it: communicate goes on without the group and
 * the byte is neither lost nor written twice. */
TEST_WINDOWS(win_group_remove_mid_write_loses_nothing) {
  static char input[1 << 20];
  for (size_t i = 0; i < sizeof input; i++)
    input[i] = (char)('a' + i % 23);
  for (int late = 0; late <= 1; late++) {
    subproc_group *g = new_group();
    subproc *p = start(HELPER("sleep-cat", "0.5"),
                       (subproc_options){.in = SUBPROC_REDIRECT_PIPE,
                                         .out = SUBPROC_REDIRECT_PIPE});
    add(g, p, (subproc_watch){.input = input, .input_len = sizeof input});
    subproc_error e;
    for (double t0 = test_now(); test_now() - t0 < 0.2;)
      ASSERT(subproc_group_run_once(g, 0.05, &e) >= 0); /* stdin fills */
    if (late)
      Sleep(1500); /* the child reads: the byte went, nobody counted it */
    ASSERT_OK(subproc_group_remove(g, p), NULL);
    subproc_group_free(g);
    subproc_result *r = NULL;
    ASSERT_OK(subproc_communicate(p, NULL, 0, slow(60), &r, &e), &e);
    ASSERT_EQ(r->returncode, 0);
    ASSERT_EQ(r->out_len, sizeof input);
    ASSERT(!memcmp(r->out, input, sizeof input));
    subproc_result_free(r);
    subproc_free(p);
  }
}

/* A timeout kills the child's job (kill_tree) and so its grandchild; the
 * output read before is in the result; the others carry on. */
TEST_WINDOWS(win_group_timeout_kills_tree) {
  subproc_group *g = new_group();
  outcome slow_one = {0}, quick = {0};
  add(g,
      start(HELPER("tree", "30"),
            (subproc_options){.out = SUBPROC_REDIRECT_PIPE,
                              .kill_tree = SUBPROC_KILL_TREE_ON}),
      (subproc_watch){.timeout = 0.5, .on_exit = record, .arg = &slow_one});
  add(g,
      start(HELPER("print-sleep", "quick", "0.1"),
            (subproc_options){.out = SUBPROC_REDIRECT_PIPE}),
      (subproc_watch){.on_exit = record, .arg = &quick});
  double t0 = test_now();
  run(g, slow(30));
  ASSERT(test_now() - t0 < slow(10));
  ASSERT_EQ(slow_one.rc, SUBPROC_ETIMEDOUT);
  ASSERT(slow_one.timed_out);
  ASSERT_EQ(slow_one.returncode, 1); /* TerminateJobObject(job, 1) */
  ASSERT(slow_one.out != NULL);
  DWORD pid = (DWORD)strtoul(slow_one.out, NULL, 10);
  ASSERT(pid != 0);
  HANDLE gc = OpenProcess(SYNCHRONIZE, FALSE, pid);
  if (gc) { /* the grandchild went with the job */
    ASSERT_EQ(WaitForSingleObject(gc, ms_of(slow(10))), WAIT_OBJECT_0);
    CloseHandle(gc);
  }
  ASSERT_STREQ(quick.out, "quick\n");
  free(slow_one.out);
  free(quick.out);
  subproc_group_free(g);
}

/* The exit is reported once while grandchildren keep the pipes open: the
 * child is done at their EOF, or wait_delay after its exit. */
typedef struct timed {
  outcome o;
  double t0, at;
} timed;

static void record_when(void *arg, subproc *p, int rc, subproc_result *r,
                        const subproc_error *e) {
  timed *t = arg;
  t->at = test_now() - t->t0;
  record(&t->o, p, rc, r, e);
}

TEST_WINDOWS(win_group_grandchild_holds_pipes) {
  subproc_group *g = new_group();
  timed held = {.t0 = test_now()}, cut = {.t0 = test_now()};
  add(g,
      start(HELPER("grandchild", "1", "held"),
            (subproc_options){.out = SUBPROC_REDIRECT_PIPE}),
      (subproc_watch){.on_exit = record_when, .arg = &held});
  add(g,
      start(HELPER("grandchild", "30", "cut"),
            (subproc_options){.out = SUBPROC_REDIRECT_PIPE, .wait_delay = 0.3}),
      (subproc_watch){.on_exit = record_when, .arg = &cut});
  run(g, slow(30));
  ASSERT_EQ(held.o.rc, 0);
  ASSERT_STREQ(held.o.out, "held\n");
  ASSERT(held.at > 0.9); /* the grandchild's EOF */
  ASSERT_EQ(cut.o.rc, 0);
  ASSERT_STREQ(cut.o.out, "cut\n");
  ASSERT(cut.at < slow(10));
  free(held.o.out), free(cut.o.out);
  subproc_group_free(g);
  test_allow_leftover_children(); /* the "cut" grandchild sleeps on */
}

/* The group nested in a host loop that waits on the group's handle (with
 * a message loop's wait) for at most the group's next timeout, then calls
 * run_once(g, 0). */
TEST_WINDOWS(win_group_nested_in_host_loop) {
  subproc_group *g = new_group();
  HANDLE h = subproc_group_handle(g);
  ASSERT(h != NULL);
  ASSERT(subproc_group_handle(g) == h);
  outcome o[20] = {{0}};
  for (int i = 0; i < 20; i++) {
    char text[8];
    snprintf(text, sizeof text, "%d", i);
    add(g,
        start(HELPER("echo", text),
              (subproc_options){.out = SUBPROC_REDIRECT_PIPE}),
        (subproc_watch){.on_exit = record, .arg = &o[i]});
  }
  /* One with a timeout: only the group's timer can end it. */
  outcome late = {0};
  add(g, start(HELPER("sleep", "30"), (subproc_options){0}),
      (subproc_watch){.timeout = 0.3, .on_exit = record, .arg = &late});
  subproc_error e;
  int loops = 0;
  double t0 = test_now();
  while (subproc_group_count(g)) {
    int ms = subproc_group_timeout_ms(g);
    DWORD r = MsgWaitForMultipleObjects(
        1, &h, FALSE, ms < 0 ? 10000 : (DWORD)ms, QS_ALLINPUT);
    ASSERT(r == WAIT_OBJECT_0 || r == WAIT_TIMEOUT);
    ASSERT(subproc_group_run_once(g, SUBPROC_POLL, &e) >= 0);
    ASSERT(++loops < 5000); /* woken by work, not spinning */
    ASSERT(test_now() - t0 < slow(30));
  }
  for (int i = 0; i < 20; i++) {
    char want[8];
    snprintf(want, sizeof want, "%d\n", i);
    ASSERT_STREQ(o[i].out, want);
    free(o[i].out);
  }
  ASSERT_EQ(late.rc, SUBPROC_ETIMEDOUT);
  /* Nothing left to do: the handle stays quiet. */
  ASSERT(subproc_group_run_once(g, SUBPROC_POLL, &e) == 0);
  ASSERT_EQ(WaitForSingleObject(h, 100), WAIT_TIMEOUT);
  subproc_group_free(g);
}

/* Input through a group nested in a host loop: room for stdin wakes the
 * host too. */
TEST_WINDOWS(win_group_nested_input) {
  static char input[300000];
  for (size_t i = 0; i < sizeof input; i++)
    input[i] = (char)('A' + i % 31);
  subproc_group *g = new_group();
  HANDLE h = subproc_group_handle(g);
  outcome o = {0};
  add(g,
      start(HELPER("cat"), (subproc_options){.in = SUBPROC_REDIRECT_PIPE,
                                             .out = SUBPROC_REDIRECT_PIPE,
                                             .pipesize = 4096}),
      (subproc_watch){.input = input,
                      .input_len = sizeof input,
                      .on_exit = record,
                      .arg = &o});
  subproc_error e;
  double t0 = test_now();
  while (subproc_group_count(g)) {
    int ms = subproc_group_timeout_ms(g);
    WaitForSingleObject(h, ms < 0 ? 10000 : (DWORD)ms);
    ASSERT(subproc_group_run_once(g, SUBPROC_POLL, &e) >= 0);
    ASSERT(test_now() - t0 < slow(60));
  }
  ASSERT_EQ(o.rc, 0);
  ASSERT_EQ(o.out_len, sizeof input);
  ASSERT(!memcmp(o.out, input, sizeof input));
  free(o.out);
  subproc_group_free(g);
}

static DWORD WINAPI wake_later(void *arg) {
  Sleep(100);
  subproc_group_wake(arg);
  return 0;
}

/* raise() runs the handler in the thread that raises. */
static subproc_group *signalled_group;
static void wake_on_signal(int sig) {
  (void)sig;
  subproc_group_wake(signalled_group);
}

static DWORD WINAPI raise_later(void *arg) {
  (void)arg;
  Sleep(100);
  raise(SIGINT);
  return 0;
}

TEST_WINDOWS(win_group_wake_from_another_thread) {
  subproc_group *g = new_group();
  subproc *p = start(HELPER("sleep", "30"), (subproc_options){0});
  add(g, p, (subproc_watch){0});
  subproc_error e;
  ASSERT_EQ(subproc_group_run_once(g, SUBPROC_POLL, &e),
            0); /* the first round */
  HANDLE t = CreateThread(NULL, 0, wake_later, g, 0, NULL);
  ASSERT(t != NULL);
  double t0 = test_now();
  ASSERT_EQ(subproc_group_run_once(g, SUBPROC_FOREVER, &e), 0);
  ASSERT(test_now() - t0 < slow(20));
  WaitForSingleObject(t, INFINITE);
  CloseHandle(t);
  /* From a C runtime signal handler. */
  signalled_group = g;
  signal(SIGINT, wake_on_signal);
  t = CreateThread(NULL, 0, raise_later, NULL, 0, NULL);
  t0 = test_now();
  ASSERT_EQ(subproc_group_run_once(g, SUBPROC_FOREVER, &e), 0);
  ASSERT(test_now() - t0 < slow(20));
  WaitForSingleObject(t, INFINITE);
  CloseHandle(t);
  /* A wake-up before the wait ends the next one; many are one. */
  for (int i = 0; i < 1000; i++)
    subproc_group_wake(g);
  t0 = test_now();
  ASSERT_EQ(subproc_group_run_once(g, SUBPROC_FOREVER, &e), 0);
  ASSERT(test_now() - t0 < slow(20));
  t0 = test_now();
  ASSERT_EQ(subproc_group_run_once(g, 0.3, &e), 0);
  ASSERT(test_now() - t0 > 0.25); /* nothing left over */
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
    add(c->g,
        start(HELPER("exit", "0"),
              (subproc_options){.out = SUBPROC_REDIRECT_PIPE}),
        (subproc_watch){.on_exit = next_link, .arg = c});
}

TEST_WINDOWS(win_group_on_exit_adds_and_frees) {
  chain c = {.g = new_group(), .left = 49};
  add(c.g, start(HELPER("exit", "0"), (subproc_options){0}),
      (subproc_watch){.on_exit = next_link, .arg = &c});
  run(c.g, slow(120));
  ASSERT_EQ(c.seen, 50);
  subproc_group_free(c.g);
}

/* Text mode, a byte limit and a strict decoding error, through the group:
 * communicate's semantics exactly. */
TEST_WINDOWS(win_group_text_limits_and_decode_error) {
  subproc_group *g = new_group();
  outcome text = {0}, limited = {0}, bad = {0};
  subproc_options text_out = {
      .out = SUBPROC_REDIRECT_PIPE, .text = 1, .encoding = "utf-8"};
  add(g, start(HELPER("hex", "610d0a620d63"), text_out),
      (subproc_watch){.on_exit = record, .arg = &text});
  add(g,
      start(HELPER("write", "100000"),
            (subproc_options){
                .out = SUBPROC_REDIRECT_PIPE,
                .max_output = 1000,
            }),
      (subproc_watch){.on_exit = record, .arg = &limited});
  add(g, start(HELPER("hex", "6f6bff"), text_out),
      (subproc_watch){.on_exit = record, .arg = &bad});
  run(g, slow(30));
  ASSERT_STREQ(text.out, "a\nb\nc");
  ASSERT_EQ(limited.out_len, 1000);
  ASSERT_EQ(bad.rc, SUBPROC_EDECODE);
  ASSERT_EQ(bad.returncode, 0);
  free(text.out), free(limited.out), free(bad.out);
  subproc_group_free(g);
}

TEST_WINDOWS(win_group_bad_arguments) {
  subproc_group *g = new_group();
  subproc_error e;
  ASSERT_EQ(subproc_group_add(g, NULL, NULL, &e), SUBPROC_EINVAL);
  subproc *p = start(HELPER("exit", "0"),
                     (subproc_options){.out = SUBPROC_REDIRECT_PIPE});
  add(g, p, (subproc_watch){0});
  ASSERT_EQ(subproc_group_add(g, p, NULL, &e), SUBPROC_EINVAL); /* twice */
  run(g, slow(30));
  subproc_free(p);
  p = start(HELPER("exit", "0"),
            (subproc_options){.out = SUBPROC_REDIRECT_PIPE});
  ASSERT_OK(subproc_communicate(p, NULL, 0, slow(30), NULL, &e), &e);
  ASSERT_EQ(subproc_group_add(g, p, NULL, &e), SUBPROC_EINVAL);
  subproc_free(p);
  ASSERT_EQ(subproc_group_run_once(NULL, SUBPROC_POLL, &e), SUBPROC_EINVAL);
  ASSERT_EQ(subproc_group_remove(g, NULL), SUBPROC_EINVAL);
  ASSERT_EQ(subproc_group_fd(NULL), -1);
  ASSERT(subproc_group_handle(NULL) == NULL);
  subproc_group_free(g);
  subproc_group_free(NULL);
}

/* Freed while reads wait for data and bytes wait for room: nothing is
 * left in flight, the children carry on and can be communicated with. */
TEST_WINDOWS(win_group_free_mid_flight) {
  static char input[1 << 19];
  memset(input, 'q', sizeof input);
  subproc_group *g = new_group();
  (void)subproc_group_handle(g); /* its thread too */
  subproc *p[6];
  for (int i = 0; i < 6; i++) {
    p[i] = start(i < 3 ? HELPER("sleep-cat", "0.3") : HELPER("sleep", "30"),
                 (subproc_options){.in = SUBPROC_REDIRECT_PIPE,
                                   .out = SUBPROC_REDIRECT_PIPE});
    add(g, p[i],
        (subproc_watch){.input = i < 3 ? input : NULL,
                        .input_len = i < 3 ? sizeof input : 0});
  }
  subproc_error e;
  for (int k = 0; k < 5; k++)
    ASSERT(subproc_group_run_once(g, 0.02, &e) >= 0);
  subproc_group_free(g);
  for (int i = 0; i < 6; i++) {
    if (i >= 3)
      subproc_kill(p[i]);
    subproc_result *r = NULL;
    ASSERT_OK(subproc_communicate(p[i], NULL, 0, slow(60), &r, &e), &e);
    if (i < 3) {
      ASSERT_EQ(r->out_len, sizeof input);
      ASSERT(!memcmp(r->out, input, sizeof input));
    }
    subproc_result_free(r);
    subproc_free(p[i]);
  }
}

#else
/* Nothing on POSIX (ISO C wants a declaration in every file). */
typedef int test_group_win_unused_;
#endif
