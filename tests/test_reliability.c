/* Reliability: fault injection, stress, signals and security, each with real
 * children. After every scenario the test checks that no fd leaked and
 * that no child is left (the runner does so after the last).
 *
 * SUBPROC_STRESS_SCALE (a positive number, default 1; 0.25 in sanitizer
 * builds) scales the stress counts: .ci/valgrind.sh sets it low. */
#include <errno.h>
#ifndef _WIN32
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#endif

#include "subproc.h"
#include "test.h"
#include "util.h"

/* No fd left open that was not open at fds_before, no child left. */
static void expect_clean(int fds_before) {
  ASSERT_EQ(test_count_fds(), fds_before);
  ASSERT_NO_CHILDREN();
}

/* A child that never reads its stdin: communicate and run time out, the
 * unsent input is kept for a later call. */
TEST(rel_child_never_reads_stdin) {
  size_t big = 4u << 20;
  char *input = pattern(big);
  int before = test_count_fds();
  const char *argv[] = {test_helper, "noread", "60", NULL};
  subproc *p = start(argv, &(subproc_options){.in = SUBPROC_REDIRECT_PIPE,
                                              .out = SUBPROC_REDIRECT_PIPE});
  subproc_error e;
  double t0 = test_now();
  subproc_result *r = NULL;
  ASSERT_EQ(subproc_communicate(p, input, big, 0.3, &r, &e), SUBPROC_ETIMEDOUT);
  double dt = test_now() - t0;
  ASSERT_GE(dt, 0.29);
  ASSERT_LT(dt, 0.3 + test_slow(2.7));
  ASSERT(r && r->timed_out);
  ASSERT_EQ(r->out_len, 0);
  subproc_result_free(r);
  ASSERT_EQ(subproc_poll(p, NULL), 0);
  /* A later call continues (the unsent input is kept). */
  ASSERT_EQ(subproc_communicate(p, NULL, 0, 0.1, NULL, &e), SUBPROC_ETIMEDOUT);
  ASSERT_OK(subproc_kill(p), NULL);
  ASSERT_OK(subproc_communicate(p, NULL, 0, test_slow(30.0), &r, &e), &e);
  ASSERT_EQ(r->returncode, TEST_RC_KILLED);
  subproc_result_free(r);
  subproc_free(p);
  expect_clean(before);
  /* run(): the timeout kills and reaps the child. */
  t0 = test_now();
  ASSERT_EQ(subproc_run(argv,
                        &(subproc_options){.input = input,
                                           .input_len = big,
                                           .capture_output = 1,
                                           .timeout = 0.3},
                        &r, &e),
            SUBPROC_ETIMEDOUT);
  dt = test_now() - t0;
  ASSERT_GE(dt, 0.29);
  ASSERT_LT(dt, 0.3 + test_slow(2.7));
  ASSERT(r && r->timed_out);
  ASSERT(e.timeout == (double)0.3); /* x87: the literal is long double */
  subproc_result_free(r);
  free(input);
}

#ifndef _WIN32

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define REL_SANITIZED 1
#endif
#if defined(__SANITIZE_THREAD__)
#define REL_TSAN 1
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define REL_SANITIZED 1
#endif
#if __has_feature(thread_sanitizer)
#define REL_TSAN 1
#endif
#endif

static const subproc_spawn_method methods[] = {
    SUBPROC_SPAWN_AUTO, SUBPROC_SPAWN_VFORK, SUBPROC_SPAWN_POSIX_SPAWN,
    SUBPROC_SPAWN_FORK};
static const char *const method_names[] = {"auto", "vfork", "posix_spawn",
                                           "fork"};
#define N_METHODS 4

static double stress_scale(void) {
  const char *s = getenv("SUBPROC_STRESS_SCALE");
  if (s && *s && atof(s) > 0)
    return atof(s);
#if defined(REL_SANITIZED)
  return 0.25;
#else
  return 1.0;
#endif
}

static int scaled(int n, int min) {
  int v = (int)(n * stress_scale() + 0.5);
  return v < min ? min : v;
}

/* ------------------------------------------------------------------ */
/* Fault injection: EMFILE at each parent-side step                    */
/* ------------------------------------------------------------------ */

/* One above the highest open fd: with RLIMIT_NOFILE set to this plus k,
 * exactly k more fds can be opened. */
static int fd_ceiling(void) {
  DIR *d = opendir("/proc/self/fd");
  ASSERT(d);
  int top = -1, own = dirfd(d);
  struct dirent *ent;
  while ((ent = readdir(d)))
    if (ent->d_name[0] != '.' && atoi(ent->d_name) != own &&
        atoi(ent->d_name) > top)
      top = atoi(ent->d_name);
  closedir(d);
  return top + 1;
}

/* Fills every free fd below the ceiling, so that with RLIMIT_NOFILE at
 * the ceiling plus k exactly k fds are left. Returns how many it opened. */
static int fill_holes(int *fillers, int max) {
  int ceiling = fd_ceiling(), n = 0;
  for (;;) {
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ASSERT(fd >= 0);
    if (fd >= ceiling || n == max) {
      close(fd);
      return n;
    }
    fillers[n++] = fd;
  }
}

static void set_nofile(rlim_t soft) {
  struct rlimit rl;
  ASSERT(getrlimit(RLIMIT_NOFILE, &rl) == 0);
  rl.rlim_cur = soft;
  if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
    TEST_FAIL("setrlimit(RLIMIT_NOFILE, %ld): %s", (long)soft, strerror(errno));
}

typedef struct emfile_case {
  const char *name;
  subproc_options o;
  const char *argv[6];
  const char *input;     /* for communicate, NULL = none */
  const char *out, *err; /* expected pipe contents, NULL = not a pipe */
  const char *file, *file_content;
} emfile_case;

/* The steps of the parent that allocate fds (musl's posix_spawn opens a
 * pipe of its own). */
static int emfile_step_ok(const char *step) {
  static const char *const steps[] = {"pipe", "open", "clone", "posix_spawn",
                                      NULL};
  for (int i = 0; steps[i]; i++)
    if (strcmp(step, steps[i]) == 0)
      return 1;
  return 0;
}

/* 1 if the spawn succeeded, 0 if it failed with EMFILE. */
static int emfile_try(const emfile_case *c, int k, rlim_t soft, char *steps,
                      size_t steps_size) {
  int before = test_count_fds();
  int fillers[4096];
  int n_fillers = fill_holes(fillers, 4096);
  set_nofile((rlim_t)(fd_ceiling() + k));
  subproc *p = NULL;
  subproc_result *r = NULL;
  subproc_error e;
  memset(&e, 0, sizeof e);
  int rc = subproc_popen(c->argv, &c->o, &p, &e);
  int crc = 0, code = 0;
  if (rc == 0) {
    crc = subproc_communicate(p, c->input, c->input ? strlen(c->input) : 0,
                              60.0, &r, &e);
    code = subproc_returncode(p);
    subproc_free(p);
  }
  set_nofile(soft);
  for (int i = 0; i < n_fillers; i++)
    close(fillers[i]);
  if (rc == 0) {
    if (crc < 0)
      TEST_FAIL("%s k=%d: communicate: %s", c->name, k, e.message);
    ASSERT_EQ(code, 0);
    if (c->out)
      ASSERT_STREQ(r->out, c->out);
    if (c->err)
      ASSERT_STREQ(r->err, c->err);
    subproc_result_free(r);
    if (c->file) {
      char buf[64] = {0};
      int fd = open(c->file, O_RDONLY | O_CLOEXEC);
      ASSERT(fd >= 0);
      ASSERT(read(fd, buf, sizeof buf - 1) >= 0);
      close(fd);
      ASSERT_STREQ(buf, c->file_content);
    }
  } else {
    if (rc != -EMFILE)
      TEST_FAIL("%s k=%d: got %d (%s), not -EMFILE: %s", c->name, k, rc,
                subproc_errname(rc), e.message);
    ASSERT(p == NULL);
    ASSERT_EQ(e.code, -EMFILE);
    ASSERT_EQ(e.os_errno, EMFILE);
    if (!emfile_step_ok(subproc_step_name(e.step)))
      TEST_FAIL("%s k=%d: EMFILE reported at step '%s' (%s)", c->name, k,
                subproc_step_name(e.step), e.message);
    ASSERT_CONTAINS(e.message, strerror(EMFILE));
    if (strcmp(subproc_step_name(e.step), "open") ==
        0) /* names what it was opening */
      ASSERT(e.path && e.path[0] == '/');
    size_t len = strlen(steps);
    snprintf(steps + len, steps_size - len, "%s%d:%s", len ? " " : "", k,
             subproc_step_name(e.step));
  }
  expect_clean(before);
  return rc == 0;
}

TEST_POSIX(rel_emfile_each_step) {
  struct rlimit saved;
  ASSERT(getrlimit(RLIMIT_NOFILE, &saved) == 0);
  /* valgrind emulates RLIMIT_NOFILE without passing it to the kernel, and
   * keeps fds of its own above the limit it shows. */
  if (fd_ceiling() > (int)saved.rlim_cur)
    SKIP("fds above RLIMIT_NOFILE are open (valgrind's own?): the limit "
         "cannot be exercised here");
  int fillers[4096];
  int n_fillers = fill_holes(fillers, 4096);
  set_nofile((rlim_t)fd_ceiling());
  int probe = open("/dev/null", O_RDONLY | O_CLOEXEC);
  set_nofile(saved.rlim_cur);
  for (int i = 0; i < n_fillers; i++)
    close(fillers[i]);
  if (probe >= 0) {
    close(probe);
    SKIP("RLIMIT_NOFILE is not enforced here (running under valgrind?)");
  }
  char file[] = "/tmp/subproc-rel-emfile-XXXXXX";
  int tmp = mkstemp(file);
  ASSERT(tmp >= 0);
  close(tmp);
  char in_file[] = "/tmp/subproc-rel-emfile-in-XXXXXX";
  tmp = mkstemp(in_file);
  ASSERT(tmp >= 0);
  ASSERT_EQ(write(tmp, "from-file", 9), 9);
  close(tmp);

  emfile_case cases[] = {
      {"three pipes",
       {.in = SUBPROC_REDIRECT_PIPE,
        .out = SUBPROC_REDIRECT_PIPE,
        .err = SUBPROC_REDIRECT_PIPE},
       {test_helper, "cat2", NULL},
       "ping",
       "ping",
       "ping",
       NULL,
       NULL},
      {"devnull+path+pipe",
       {.in = SUBPROC_REDIRECT_DEVNULL,
        .out = SUBPROC_REDIRECT_PATH(file),
        .err = SUBPROC_REDIRECT_PIPE},
       {test_helper, "outerr", "O", "E", NULL},
       NULL,
       NULL,
       "E",
       file,
       "O"},
      {"path in, stderr=stdout",
       {.in = SUBPROC_REDIRECT_PATH(in_file),
        .out = SUBPROC_REDIRECT_PIPE,
        .err = SUBPROC_REDIRECT_STDOUT},
       {test_helper, "cat2", NULL},
       NULL,
       "from-filefrom-file",
       NULL,
       NULL,
       NULL},
      {"pipes, fork",
       {.in = SUBPROC_REDIRECT_PIPE,
        .out = SUBPROC_REDIRECT_PIPE,
        .err = SUBPROC_REDIRECT_PIPE,
        .spawn_method = SUBPROC_SPAWN_FORK},
       {test_helper, "cat2", NULL},
       "ping",
       "ping",
       "ping",
       NULL,
       NULL},
      {"pipes, posix_spawn",
       {.in = SUBPROC_REDIRECT_PIPE,
        .out = SUBPROC_REDIRECT_PIPE,
        .err = SUBPROC_REDIRECT_DEVNULL,
        .keep_fds = 1,
        .spawn_method = SUBPROC_SPAWN_POSIX_SPAWN},
       {test_helper, "cat", NULL},
       "ping",
       "ping",
       NULL,
       NULL,
       NULL},
      {"pipes, pass_fds",
       {.out = SUBPROC_REDIRECT_PIPE, .pass_fds = (const int[]){2, -1}},
       {test_helper, "echo", "passed", NULL},
       NULL,
       "passed\n",
       NULL,
       NULL,
       NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char steps[256] = "";
    int first_ok = -1;
    for (int k = 0; k <= 9; k++)
      if (emfile_try(&cases[i], k, saved.rlim_cur, steps, sizeof steps) &&
          first_ok < 0)
        first_ok = k;
    fprintf(stderr, "%-24s EMFILE at [%s], first success with %d free fds\n",
            cases[i].name, steps, first_ok);
    ASSERT(first_ok > 0); /* k = 0 must fail: every case opens an fd */
    /* Once there is room, a spawn never fails again. */
    ASSERT(strstr(steps, "9:") == NULL);
  }
  unlink(file);
  unlink(in_file);
}

/* ------------------------------------------------------------------ */
/* Fault injection: RLIMIT_NPROC                                       */
/* ------------------------------------------------------------------ */

static void nproc_child(void) __attribute__((noreturn));
static void nproc_child(void) {
  if (geteuid() == 0) {
    /* root bypasses RLIMIT_NPROC: become nobody first. */
    if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0) {
      fprintf(stderr,
              "SKIP: root ignores RLIMIT_NPROC and switching to "
              "uid 65534 failed: %s\n",
              strerror(errno));
      fflush(NULL);
      _exit(77);
    }
    prctl(PR_SET_DUMPABLE, 1); /* keep /proc/self/fd readable */
  }
  struct rlimit rl, saved;
  ASSERT(getrlimit(RLIMIT_NPROC, &saved) == 0);
  rl = saved;
  rl.rlim_cur = 1; /* this process alone reaches it */
  ASSERT(setrlimit(RLIMIT_NPROC, &rl) == 0);
  const char *argv[] = {test_helper, "echo", "never", NULL};
  for (int m = 0; m < N_METHODS; m++) {
    int before = test_count_fds();
    subproc *p = NULL;
    subproc_error e;
    subproc_options o = {.spawn_method = methods[m],
                         .in = SUBPROC_REDIRECT_PIPE,
                         .out = SUBPROC_REDIRECT_PIPE,
                         .err = SUBPROC_REDIRECT_DEVNULL};
    int rc = subproc_popen(argv, &o, &p, &e);
    if (rc != -EAGAIN)
      TEST_FAIL("%s: got %d (%s), not -EAGAIN: %s", method_names[m], rc,
                subproc_errname(rc), rc < 0 ? e.message : "started");
    ASSERT(p == NULL);
    if (strcmp(subproc_step_name(e.step), "clone") != 0 &&
        strcmp(subproc_step_name(e.step), "fork") != 0 &&
        strcmp(subproc_step_name(e.step), "posix_spawn") != 0)
      TEST_FAIL("%s: EAGAIN reported at step '%s' (%s)", method_names[m],
                subproc_step_name(e.step), e.message);
    fprintf(stderr, "%-12s -> %s\n", method_names[m], e.message);
    subproc_result *r = NULL;
    ASSERT_EQ(subproc_run(argv,
                          &(subproc_options){.spawn_method = methods[m],
                                             .capture_output = 1},
                          &r, &e),
              -EAGAIN);
    ASSERT(r == NULL);
    expect_clean(before);
  }
  /* With the limit lifted, spawning works again. */
  ASSERT(setrlimit(RLIMIT_NPROC, &saved) == 0);
  const char *ok[] = {"true", NULL};
  int code = -1;
  subproc_error e;
  ASSERT_OK(subproc_call(ok, NULL, &code, &e), &e);
  ASSERT_EQ(code, 0);
  ASSERT_NO_CHILDREN();
  fflush(NULL);
  _exit(0);
}

TEST_POSIX(rel_nproc_eagain) {
  fflush(NULL);
  pid_t pid = fork();
  ASSERT(pid >= 0);
  if (pid == 0)
    nproc_child();
  int st;
  while (waitpid(pid, &st, 0) < 0)
    ASSERT(errno == EINTR);
  if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
    SKIP("see the message above");
  if (WIFSIGNALED(st))
    TEST_FAIL("the limited process died with signal %d", WTERMSIG(st));
  ASSERT_EQ(WEXITSTATUS(st), 0);
}

/* ------------------------------------------------------------------ */
/* Fault injection: the filesystem changes between calls               */
/* ------------------------------------------------------------------ */

TEST_POSIX(rel_cwd_removed) {
  char dir[] = "/tmp/subproc-rel-cwd-XXXXXX";
  ASSERT(mkdtemp(dir));
  char real[4096], want[4200];
  ASSERT(realpath(dir, real));
  snprintf(want, sizeof want, "%s\n", real);
  const char *argv[] = {test_helper, "cwd", NULL};
  int before = test_count_fds();
  for (int m = 0; m < N_METHODS; m++) {
    subproc_options o = {.cwd = dir, .spawn_method = methods[m]};
    subproc_error e;
    int rc;
    char *s = run_out(argv, o, &rc, &e);
    if (!s)
      TEST_FAIL("%s: %s", method_names[m], e.message);
    ASSERT_STREQ(s, want);
    free(s);
    ASSERT_EQ(rmdir(dir), 0);
    subproc *p = NULL;
    o.out = SUBPROC_REDIRECT_PIPE;
    o.err = SUBPROC_REDIRECT_PIPE;
    rc = subproc_popen(argv, &o, &p, &e);
    if (rc != -ENOENT)
      TEST_FAIL("%s: got %d (%s)", method_names[m], rc, subproc_errname(rc));
    ASSERT(p == NULL);
    ASSERT_STREQ(subproc_step_name(e.step), "chdir");
    ASSERT_STREQ(e.path, dir);
    expect_clean(before);
    ASSERT_EQ(mkdir(dir, 0700), 0);
  }
  /* The parent's own cwd removed: children still start (they inherit the
   * removed directory, as with fork+exec). */
  char here[4096];
  ASSERT(getcwd(here, sizeof here));
  ASSERT_EQ(chdir(dir), 0);
  ASSERT_EQ(rmdir(dir), 0);
  const char *echo[] = {test_helper, "echo", "still", NULL};
  for (int m = 0; m < N_METHODS; m++) {
    subproc_error e;
    char *s =
        run_out(echo, (subproc_options){.spawn_method = methods[m]}, NULL, &e);
    if (!s)
      TEST_FAIL("%s in a removed cwd: %s", method_names[m], e.message);
    ASSERT_STREQ(s, "still\n");
    free(s);
  }
  ASSERT_EQ(chdir(here), 0);
}

static void copy_file(const char *from, const char *to, mode_t mode) {
  int in = open(from, O_RDONLY | O_CLOEXEC);
  int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  ASSERT(in >= 0 && out >= 0);
  char buf[65536];
  ssize_t n;
  while ((n = read(in, buf, sizeof buf)) > 0)
    ASSERT_EQ(write(out, buf, (size_t)n), n);
  ASSERT_EQ(n, 0);
  close(in);
  ASSERT_EQ(close(out), 0);
}

TEST_POSIX(rel_executable_replaced_by_directory) {
  char dir[] = "/tmp/subproc-rel-exe-XXXXXX";
  ASSERT(mkdtemp(dir));
  char prog[128], path_env[256];
  snprintf(prog, sizeof prog, "%s/prog", dir);
  snprintf(path_env, sizeof path_env, "PATH=%s:/usr/bin:/bin", dir);
  const char *env[] = {path_env, NULL};
  const char *by_path[] = {prog, "echo", "ok", NULL};
  const char *by_name[] = {"prog", "echo", "ok", NULL};
  int before = test_count_fds();
  for (int round = 0; round < 2; round++) {
    copy_file(test_helper, prog, 0755);
    for (int m = 0; m < N_METHODS; m++) {
      subproc_error e;
      subproc_options o = {.spawn_method = methods[m], .env = env};
      char *s = run_out(by_path, o, NULL, &e);
      if (!s)
        TEST_FAIL("%s: %s", method_names[m], e.message);
      ASSERT_STREQ(s, "ok\n");
      free(s);
      s = run_out(by_name, o, NULL, &e);
      if (!s)
        TEST_FAIL("%s via PATH: %s", method_names[m], e.message);
      ASSERT_STREQ(s, "ok\n");
      free(s);
    }
    ASSERT_EQ(unlink(prog), 0);
    ASSERT_EQ(mkdir(prog, 0755), 0);
    for (int m = 0; m < N_METHODS; m++) {
      subproc_options o = {.spawn_method = methods[m],
                           .env = env,
                           .in = SUBPROC_REDIRECT_PIPE,
                           .out = SUBPROC_REDIRECT_PIPE};
      subproc *p = NULL;
      subproc_error e;
      int rc = subproc_popen(by_path, &o, &p, &e);
      if (rc != -EACCES)
        TEST_FAIL("%s: got %d (%s)", method_names[m], rc, subproc_errname(rc));
      ASSERT(p == NULL);
      ASSERT_STREQ(subproc_step_name(e.step), "exec");
      ASSERT_STREQ(e.path, prog);
      /* Found on PATH, a directory is EACCES too (os.execvpe). */
      rc = subproc_popen(by_name, &o, &p, &e);
      if (rc != -EACCES)
        TEST_FAIL("%s via PATH: got %d (%s)", method_names[m], rc,
                  subproc_errname(rc));
      ASSERT_STREQ(subproc_step_name(e.step), "exec");
      ASSERT_STREQ(e.path, "prog");
      expect_clean(before);
    }
    ASSERT_EQ(rmdir(prog), 0); /* and back again: nothing is cached */
  }
  rmdir(dir);
}

/* ------------------------------------------------------------------ */
/* Children killed by signals                                          */
/* ------------------------------------------------------------------ */

static const int deadly[] = {SIGHUP,  SIGINT,  SIGQUIT, SIGABRT,
                             SIGKILL, SIGSEGV, SIGPIPE, SIGALRM,
                             SIGTERM, SIGUSR1, SIGUSR2};
#define N_DEADLY (sizeof deadly / sizeof deadly[0])

TEST_POSIX(rel_killed_by_each_signal) {
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core); /* SIGQUIT/ABRT/SEGV would dump core */
  for (size_t i = 0; i < N_DEADLY; i++)
    if (deadly[i] != SIGKILL)
      signal(deadly[i], SIG_DFL); /* an ignored one would be inherited */
  /* The sanitizers catch SIGSEGV in the helper unless told not to. */
  const char *env[] = {"ASAN_OPTIONS=handle_segv=0:handle_abort=0",
                       "TSAN_OPTIONS=handle_segv=0:handle_abort=0",
                       "UBSAN_OPTIONS=handle_segv=0:handle_abort=0", NULL};
  int before = test_count_fds();
  for (size_t i = 0; i < N_DEADLY; i++) {
    int sig = deadly[i];
    subproc_spawn_method m = methods[i % N_METHODS];
    subproc_error e;
    /* The parent signals a running child. */
    const char *sleeper[] = {"sleep", "30", NULL};
    subproc *p = NULL;
    ASSERT_OK(subproc_popen(sleeper,
                            &(subproc_options){.spawn_method = m,
                                               .out = SUBPROC_REDIRECT_PIPE},
                            &p, &e),
              &e);
    ASSERT_OK(subproc_send_signal(p, sig), &e);
    int code = 0;
    ASSERT_OK(subproc_wait(p, test_slow(30.0), &code, &e), &e);
    if (code != -sig)
      TEST_FAIL("signal %d (%s) sent: returncode %d", sig, strsignal(sig),
                code);
    ASSERT_EQ(subproc_returncode(p), -sig);
    subproc_free(p);
    /* The child raises it itself; run() and check see -N. */
    char num[16];
    snprintf(num, sizeof num, "%d", sig);
    const char *raiser[] = {test_helper, "raise", num, NULL};
    subproc_result *r = NULL;
    ASSERT_OK(subproc_run(raiser,
                          &(subproc_options){.spawn_method = m,
                                             .env = env,
                                             .capture_output = 1},
                          &r, &e),
              &e);
    if (r->returncode != -sig)
      TEST_FAIL("signal %d (%s) raised: returncode %d", sig, strsignal(sig),
                r->returncode);
    subproc_result_free(r);
    ASSERT_EQ(subproc_run(
                  raiser,
                  &(subproc_options){.spawn_method = m, .env = env, .check = 1},
                  &r, &e),
              SUBPROC_ECALLED);
    ASSERT_EQ(e.returncode, -sig);
    ASSERT_CONTAINS(e.message, "died with <Signals.SIG");
    subproc_result_free(r);
    expect_clean(before);
  }
}

/* ------------------------------------------------------------------ */
/* Children that stop reading                                          */
/* ------------------------------------------------------------------ */

/* n bytes of 'a'..'z', NUL-terminated. */
static char *letters(size_t n) {
  char *b = malloc(n + 1);
  ASSERT(b);
  for (size_t i = 0; i < n; i++)
    b[i] = (char)('a' + i % 26);
  b[n] = '\0';
  return b;
}

TEST_POSIX(rel_child_closes_stdout_early) {
  /* A SIGPIPE that escaped the library would kill this process. */
  signal(SIGPIPE, SIG_DFL);
  size_t big = 4u << 20;
  char *input = letters(big);
  int before = test_count_fds();
  subproc_error e;
  for (int m = 0; m < N_METHODS; m++) {
    /* The child closes stdout, then exits without reading stdin. */
    const char *closer[] = {test_helper, "closeout", "0.2", NULL};
    subproc *p = NULL;
    ASSERT_OK(subproc_popen(closer,
                            &(subproc_options){.spawn_method = methods[m],
                                               .in = SUBPROC_REDIRECT_PIPE,
                                               .out = SUBPROC_REDIRECT_PIPE},
                            &p, &e),
              &e);
    subproc_result *r = NULL;
    ASSERT_OK(subproc_communicate(p, input, big, test_slow(60.0), &r, &e), &e);
    ASSERT_EQ(r->returncode, 0);
    ASSERT_EQ(r->out_len, 0);
    subproc_result_free(r);
    subproc_free(p);
    expect_clean(before);
  }
  /* head reads a little, writes it, exits: the output is all there. */
  const char *head[] = {"head", "-c", "5", NULL};
  subproc_result *r = NULL;
  ASSERT_OK(subproc_run(head,
                        &(subproc_options){.input = input,
                                           .input_len = big,
                                           .capture_output = 1,
                                           .timeout = test_slow(60.0)},
                        &r, &e),
            &e);
  ASSERT_EQ(r->returncode, 0);
  ASSERT_STREQ(r->out, "abcde");
  subproc_result_free(r);
  /* Buffered FILE * data flushed into a dead child: closing is not an
   * error (Python ignores BrokenPipeError on close). */
  const char *quit[] = {test_helper, "exit", "0", NULL};
  subproc *p = NULL;
  ASSERT_OK(subproc_popen(quit, &(subproc_options){.in = SUBPROC_REDIRECT_PIPE},
                          &p, &e),
            &e);
  FILE *f = subproc_stream(p, 0);
  ASSERT(f);
  ASSERT_EQ(fwrite(input, 1, 100, f), 100); /* stays in the FILE buffer */
  int code = -1;
  ASSERT_OK(subproc_wait(p, test_slow(30.0), &code, &e), &e);
  ASSERT_EQ(code, 0);
  /* Python: BrokenPipeError from stdin.close() */
  ASSERT_EQ(subproc_close_stream(p, 0), -EPIPE);
  ASSERT_OK(subproc_close(p, &code), NULL);
  subproc_free(p);
  /* communicate() flushing such a stream before sending input */
  ASSERT_OK(subproc_popen(quit, &(subproc_options){.in = SUBPROC_REDIRECT_PIPE},
                          &p, &e),
            &e);
  f = subproc_stream(p, 0);
  ASSERT_EQ(fwrite(input, 1, 100, f), 100);
  ASSERT_OK(subproc_wait(p, test_slow(30.0), &code, &e), &e);
  ASSERT_OK(subproc_communicate(p, NULL, 0, test_slow(30.0), NULL, &e), &e);
  subproc_free(p);
  free(input);
}

/* ------------------------------------------------------------------ */
/* Stress: 4 threads x 2,500 spawns with random options                */
/* ------------------------------------------------------------------ */

typedef struct stress_arg {
  int id, n;
  unsigned seed;
  int pass_fd[2]; /* {fd, -1} */
  char fail[2048];
} stress_arg;

#define STRESS_FAIL(a, ...)                                                    \
  do {                                                                         \
    snprintf((a)->fail, sizeof(a)->fail, __VA_ARGS__);                         \
    return -1;                                                                 \
  } while (0)

/* Picks r % n and moves on to the next random digits. */
static unsigned pick(unsigned *r, unsigned n) {
  unsigned v = *r % n;
  *r /= n;
  return v;
}

static subproc_options stress_options(stress_arg *a, unsigned r) {
  subproc_options o = {.spawn_method = methods[pick(&r, N_METHODS)]};
  o.keep_fds = pick(&r, 4) == 0;
  if (pick(&r, 4) == 0)
    o.cwd = "/";
  o.start_new_session = pick(&r, 8) == 0;
  if (pick(&r, 4) == 0) {
    o.set_umask = 1;
    o.umask = 027;
  }
  if (pick(&r, 8) == 0) {
    o.pass_fds = a->pass_fd;
  }
  o.text = pick(&r, 4) == 0;
  if (pick(&r, 4) == 0)
    o.pipesize = 128 * 1024;
  return o;
}

static int stress_check(stress_arg *a, const char *what, const char *got,
                        const char *want) {
  if (!got || strcmp(got, want) != 0)
    STRESS_FAIL(a, "%s: got \"%s\", want \"%s\"", what, got ? got : "(null)",
                want);
  return 0;
}

static int stress_one(stress_arg *a, const char *token) {
  subproc_options o = stress_options(a, (unsigned)rand_r(&a->seed));
  unsigned mode = (unsigned)rand_r(&a->seed) % 5;
  char line[80];
  snprintf(line, sizeof line, "%s\n", token);
  const char *echo[] = {test_helper, "echo", token, NULL};
  const char *cat[] = {test_helper, "cat", NULL};
  const char *cat2[] = {test_helper, "cat2", NULL};
  subproc_error e;
  subproc_result *r = NULL;
  subproc *p = NULL;
  int rc = 0;
  if (mode == 0) { /* run, capture_output */
    o.capture_output = 1;
    if ((rc = subproc_run(echo, &o, &r, &e)) < 0)
      STRESS_FAIL(a, "run echo: %s", e.message);
    rc = stress_check(a, "run echo", r->out, line);
    if (rc == 0)
      rc = stress_check(a, "run echo stderr", r->err, "");
  } else if (mode == 1) { /* run with input and a timeout */
    o.capture_output = 1;
    o.input = token;
    o.input_len = strlen(token);
    o.timeout = test_slow(300.0);
    if ((rc = subproc_run(cat, &o, &r, &e)) < 0)
      STRESS_FAIL(a, "run cat: %s", e.message);
    rc = stress_check(a, "run cat", r->out, token);
  } else if (mode == 2) { /* popen + communicate, stderr varies */
    static const subproc_redirect_kind errs[] = {SUBPROC_PIPE, SUBPROC_DEVNULL,
                                                 SUBPROC_STDOUT};
    subproc_redirect_kind ek = errs[rand_r(&a->seed) % 3];
    o.in = SUBPROC_REDIRECT_PIPE;
    o.out = SUBPROC_REDIRECT_PIPE;
    o.err = (subproc_redirect){.kind = ek};
    if (subproc_popen(cat2, &o, &p, &e) < 0)
      STRESS_FAIL(a, "popen cat2: %s", e.message);
    if (subproc_communicate(p, token, strlen(token), SUBPROC_FOREVER, &r, &e) <
        0) {
      subproc_free(p);
      STRESS_FAIL(a, "communicate: %s", e.message);
    }
    char twice[160];
    snprintf(twice, sizeof twice, "%s%s", token, token);
    rc = stress_check(a, "communicate", r->out,
                      ek == SUBPROC_STDOUT ? twice : token);
    if (rc == 0 && ek == SUBPROC_PIPE)
      rc = stress_check(a, "communicate stderr", r->err, token);
  } else if (mode == 3) { /* popen + FILE * stream */
    o.out = SUBPROC_REDIRECT_PIPE;
    if (subproc_popen(echo, &o, &p, &e) < 0)
      STRESS_FAIL(a, "popen echo: %s", e.message);
    FILE *f = subproc_stream(p, 1);
    char got[128] = "";
    if (!f || !fgets(got, sizeof got, f))
      got[0] = '\0';
    rc = stress_check(a, "stream", got, line);
    int code = -1;
    if (subproc_close(p, &code) < 0 || code != 0)
      STRESS_FAIL(a, "close: returncode %d", code);
  } else { /* popen + wait_any + raw fd */
    o.out = SUBPROC_REDIRECT_PIPE;
    if (subproc_popen(echo, &o, &p, &e) < 0)
      STRESS_FAIL(a, "popen echo: %s", e.message);
    size_t idx = 1;
    if (subproc_wait_any(&p, 1, test_slow(300.0), &idx, &e) < 0 || idx != 0) {
      subproc_free(p);
      STRESS_FAIL(a, "wait_any: %s", e.message);
    }
    char got[128] = "";
    size_t len = 0;
    ssize_t n;
    while ((n = read(subproc_fd(p, 1), got + len, sizeof got - 1 - len)) > 0)
      len += (size_t)n;
    got[len] = '\0';
    rc = stress_check(a, "wait_any", got, line);
  }
  if (rc == 0 && r && r->returncode != 0)
    STRESS_FAIL(a, "mode %u: returncode %d", mode, r->returncode);
  if (rc == 0 && p && subproc_returncode(p) != 0)
    STRESS_FAIL(a, "mode %u: returncode %d", mode, subproc_returncode(p));
  subproc_result_free(r);
  subproc_free(p);
  return rc;
}

static void *stress_thread(void *arg) {
  stress_arg *a = arg;
  for (int i = 0; i < a->n; i++) {
    char token[64];
    snprintf(token, sizeof token, "tok-%d-%d-%08x", a->id, i,
             (unsigned)rand_r(&a->seed));
    if (stress_one(a, token) < 0)
      return a;
  }
  return NULL;
}

TEST_POSIX(rel_stress_threads) {
  const int threads = 4, per = scaled(2500, 20);
  unsigned seed = (unsigned)time(NULL);
  if (getenv("SUBPROC_STRESS_SEED"))
    seed = (unsigned)strtoul(getenv("SUBPROC_STRESS_SEED"), NULL, 0);
  int pass_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT(pass_fd >= 0);
  stress_arg args[4];
  pthread_t t[4];
  double t0 = test_now();
  for (int i = 0; i < threads; i++) {
    args[i] = (stress_arg){.id = i,
                           .n = per,
                           .seed = seed + (unsigned)i,
                           .pass_fd = {pass_fd, -1}};
    ASSERT_EQ(pthread_create(&t[i], NULL, stress_thread, &args[i]), 0);
  }
  int failed = 0;
  for (int i = 0; i < threads; i++) {
    void *res;
    pthread_join(t[i], &res);
    if (res) {
      fprintf(stderr, "thread %d: %s\n", i, args[i].fail);
      failed = 1;
    }
  }
  double dt = test_now() - t0;
  if (failed)
    TEST_FAIL("stress failed (SUBPROC_STRESS_SEED=%u reproduces it)", seed);
  printf("stress: %d spawns (%d threads x %d) in %.1f s, %.0f spawns/s, "
         "seed %u\n",
         threads * per, threads, per, dt, threads * per / dt, seed);
  close(pass_fd);
}

/* 1,000 children alive at once, all managed from this thread. */
TEST_POSIX(rel_thousand_children_wait_any) {
  const int n = scaled(1000, 50);
  struct rlimit rl;
  ASSERT(getrlimit(RLIMIT_NOFILE, &rl) == 0);
  rlim_t need = (rlim_t)(2 * n + 64); /* a stdin pipe and a pidfd each */
  if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need)
    SKIP("RLIMIT_NOFILE hard limit %ld is below the %ld fds that %d "
         "children need",
         (long)rl.rlim_max, (long)need, n);
  rl.rlim_cur = rl.rlim_max;
  ASSERT(setrlimit(RLIMIT_NOFILE, &rl) == 0);
  struct rlimit np;
  if (getrlimit(RLIMIT_NPROC, &np) == 0 && np.rlim_cur != RLIM_INFINITY &&
      np.rlim_cur < (rlim_t)n + 200 && geteuid() != 0)
    SKIP("RLIMIT_NPROC %ld is too low for %d children", (long)np.rlim_cur, n);
  subproc **live = calloc((size_t)n, sizeof *live);
  subproc **all = calloc((size_t)n, sizeof *all);
  int *order = calloc((size_t)n, sizeof *order);
  ASSERT(live && all && order);
  const char *argv[] = {"cat", NULL}; /* alive until its stdin closes */
  double t0 = test_now();
  for (int i = 0; i < n; i++) {
    subproc_error e;
    subproc_options o = {.in = SUBPROC_REDIRECT_PIPE,
                         .out = SUBPROC_REDIRECT_DEVNULL,
                         .spawn_method = methods[i % N_METHODS]};
    if (subproc_popen(argv, &o, &all[i], &e) < 0)
      TEST_FAIL("child %d: %s", i, e.message);
    live[i] = all[i];
    order[i] = i;
  }
  double t_spawn = test_now() - t0;
  size_t idx = 0;
  subproc_error e;
  ASSERT_EQ(subproc_wait_any(live, (size_t)n, 0.05, &idx, &e),
            SUBPROC_ETIMEDOUT);
  for (int i = 0; i < n; i++)
    ASSERT_EQ(subproc_poll(all[i], NULL), 0);
  /* Close stdins in a shuffled order, a batch at a time: exactly the
   * children of the batch exit (no child holds another's pipe). */
  unsigned seed = 12345;
  for (int i = n - 1; i > 0; i--) {
    int j = rand_r(&seed) % (i + 1), t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  size_t n_live = (size_t)n;
  const int batch = 50;
  for (int b = 0; b < n; b += batch) {
    int end = b + batch < n ? b + batch : n;
    for (int k = b; k < end; k++)
      ASSERT_OK(subproc_close_stream(all[order[k]], 0), NULL);
    for (int k = b; k < end; k++) {
      ASSERT_OK(subproc_wait_any(live, n_live, test_slow(60.0), &idx, &e), &e);
      subproc *done = live[idx];
      int in_batch = 0;
      for (int q = b; q < end; q++)
        in_batch |= all[order[q]] == done;
      if (!in_batch)
        TEST_FAIL("a child whose stdin is still open exited");
      ASSERT_EQ(subproc_returncode(done), 0);
      live[idx] = live[--n_live];
    }
  }
  ASSERT_EQ(n_live, 0);
  double dt = test_now() - t0;
  printf("%d children alive at once: spawned in %.2f s, all collected in "
         "%.2f s\n",
         n, t_spawn, dt);
  for (int i = 0; i < n; i++)
    subproc_free(all[i]);
  free(live);
  free(all);
  free(order);
}

/* ------------------------------------------------------------------ */
/* Signals                                                             */
/* ------------------------------------------------------------------ */

static volatile sig_atomic_t n_chld, n_int, n_pipe;
static void on_chld(int sig) { (void)sig, n_chld++; }
static void on_int(int sig) { (void)sig, n_int++; }
static void on_pipe(int sig) { (void)sig, n_pipe++; }

static pthread_t main_thread;
static atomic_int burst_stop;

static void *burster(void *arg) {
  (void)arg;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL); /* all go to the main thread */
  const struct timespec pause = {0, 200 * 1000};
  while (!atomic_load(&burst_stop)) {
    for (int i = 0; i < 3; i++) {
      pthread_kill(main_thread, SIGCHLD);
      pthread_kill(main_thread, SIGINT);
    }
    kill(getpid(), SIGCHLD);
    kill(getpid(), SIGINT);
    nanosleep(&pause, NULL);
  }
  return NULL;
}

static void install(int sig, void (*fn)(int)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = fn; /* no SA_RESTART: every slow call sees EINTR */
  sigemptyset(&sa.sa_mask);
  ASSERT(sigaction(sig, &sa, NULL) == 0);
}

static unsigned long long status_mask(const char *status, const char *key) {
  const char *p = strstr(status, key);
  if (!p)
    TEST_FAIL("no %s in /proc/self/status", key);
  return strtoull(p + strlen(key), NULL, 16);
}

static unsigned long long sig_bit(int sig) { return 1ULL << (sig - 1); }

/* What the child must start with, from this process's own state:
 * Python's restore_signals resets SIGPIPE and SIGXFSZ and empties the
 * mask; handlers become default (exec does that); ignored stays ignored. */
static void expected_child_signals(int restore, unsigned long long *ign,
                                   unsigned long long *blk,
                                   unsigned long long *reserved) {
  sigset_t mask;
  pthread_sigmask(SIG_BLOCK, NULL, &mask);
  *ign = *blk = *reserved = 0;
  for (int s = 1; s < 65 && s < NSIG; s++) {
    struct sigaction sa;
    /* The C library's own signals (glibc: 32, 33) cannot be seen or set;
     * valgrind keeps SIGRTMAX for itself and shows it as ignored. */
    if (sigaction(s, NULL, &sa) < 0 || s == SIGRTMAX) {
      *reserved |= sig_bit(s);
      continue;
    }
    if (sa.sa_handler == SIG_IGN &&
        !(restore && (s == SIGPIPE || s == SIGXFSZ)))
      *ign |= sig_bit(s);
    if (!restore && sigismember(&mask, s) == 1)
      *blk |= sig_bit(s);
  }
}

/* The child's own view of its mask and ignored set, for each method. */
static void check_child_signals(const char *when) {
  const char *argv[] = {"cat", "/proc/self/status", NULL};
  for (int m = 0; m < N_METHODS; m++)
    for (int restore = 0; restore <= 1; restore++) {
      subproc_error e;
      subproc_options o = {.spawn_method = methods[m],
                           .keep_signals = !restore};
      char *s = run_out(argv, o, NULL, &e);
      if (!s)
        TEST_FAIL("%s: %s", when, e.message);
      unsigned long long ign, blk, reserved;
      expected_child_signals(restore, &ign, &blk, &reserved);
      /* glibc's posix_spawn leaves its internal signals ignored in the
       * child; no application can see or set them: not compared. */
      unsigned long long got_ign = status_mask(s, "SigIgn:") & ~reserved,
                         got_blk = status_mask(s, "SigBlk:") & ~reserved;
      if (got_ign != ign || got_blk != blk)
        TEST_FAIL("%s, %s, restore_signals=%d: child SigIgn %016llx SigBlk "
                  "%016llx, want %016llx %016llx",
                  when, method_names[m], restore, got_ign, got_blk, ign, blk);
      free(s);
    }
}

/* One round of everything that waits: each must ride out EINTR. */
static void signal_round(int i, const char *big) {
  subproc_error e;
  subproc_result *r = NULL;
  subproc *p = NULL;
  char token[32];
  snprintf(token, sizeof token, "sig-%d", i);
  char line[40];
  snprintf(line, sizeof line, "%s\n", token);
  subproc_options o = {.spawn_method = methods[i % N_METHODS]};
  const char *echo[] = {test_helper, "echo", token, NULL};
  char *s = run_out(echo, o, NULL, &e);
  if (!s)
    TEST_FAIL("round %d: run: %s", i, e.message);
  ASSERT_STREQ(s, line);
  free(s);
  /* communicate a large input through cat: many writes and reads */
  const char *cat[] = {test_helper, "cat", NULL};
  o.in = o.out = SUBPROC_REDIRECT_PIPE;
  ASSERT_OK(subproc_popen(cat, &o, &p, &e), &e);
  ASSERT_OK(subproc_communicate(p, big, strlen(big), test_slow(120.0), &r, &e),
            &e);
  ASSERT_EQ(r->out_len, strlen(big));
  ASSERT(memcmp(r->out, big, r->out_len) == 0);
  subproc_result_free(r);
  subproc_free(p);
  /* a child that stops reading: the library's EPIPE stays its own */
  const char *closer[] = {test_helper, "closeout", "0.01", NULL};
  ASSERT_OK(subproc_popen(closer, &o, &p, &e), &e);
  ASSERT_OK(
      subproc_communicate(p, big, strlen(big), test_slow(120.0), NULL, &e), &e);
  subproc_free(p);
  /* wait with a timeout that expires, then to the end */
  const char *sleeper[] = {test_helper, "sleep", "0.05", NULL};
  o.in = o.out = (subproc_redirect){0};
  ASSERT_OK(subproc_popen(sleeper, &o, &p, &e), &e);
  ASSERT_EQ(subproc_wait(p, 0.005, NULL, &e), SUBPROC_ETIMEDOUT);
  int code = -1;
  ASSERT_OK(subproc_wait(p, test_slow(120.0), &code, &e), &e);
  ASSERT_EQ(code, 0);
  subproc_free(p);
  /* wait_any over three */
  subproc *ps[3];
  for (int k = 0; k < 3; k++)
    ASSERT_OK(subproc_popen(sleeper, &o, &ps[k], &e), &e);
  for (int left = 3; left > 0; left--) {
    size_t idx;
    ASSERT_OK(subproc_wait_any(ps, (size_t)left, test_slow(120.0), &idx, &e),
              &e);
    ASSERT_EQ(subproc_returncode(ps[idx]), 0);
    subproc_free(ps[idx]);
    ps[idx] = ps[left - 1];
  }
  /* a pipeline */
  const char *const *stages[] = {echo, cat};
  subproc_pipeline_result *pr = NULL;
  ASSERT_OK(subproc_pipeline(stages, 2,
                             &(subproc_options){.capture_output = 1,
                                                .timeout = test_slow(120.0)},
                             NULL, &pr, &e),
            &e);
  ASSERT_EQ(pr->returncode, 0);
  ASSERT_STREQ(pr->last->out, line);
  subproc_pipeline_result_free(pr);
}

TEST_POSIX(rel_signals_eintr_everywhere) {
  install(SIGCHLD, on_chld);
  install(SIGINT, on_int);
  install(SIGPIPE, on_pipe);
  signal(SIGXFSZ, SIG_IGN);
  signal(SIGUSR1, SIG_IGN);
  sigset_t mask, now;
  sigemptyset(&mask);
  sigaddset(&mask, SIGUSR2);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGRTMIN + 3);
  ASSERT(pthread_sigmask(SIG_BLOCK, &mask, NULL) == 0);
  pthread_sigmask(SIG_BLOCK, NULL, &mask);
  check_child_signals("before the bursts");

  char *big = letters(1u << 20);
  main_thread = pthread_self();
  atomic_store(&burst_stop, 0);
  pthread_t t;
  ASSERT_EQ(pthread_create(&t, NULL, burster, NULL), 0);
  const int rounds = scaled(40, 4);
  double t0 = test_now();
  for (int i = 0; i < rounds; i++) {
    signal_round(i, big);
    if (i % 10 == 0)
      check_child_signals("during the bursts");
  }
  atomic_store(&burst_stop, 1);
  pthread_join(t, NULL);
  double dt = test_now() - t0;
  printf("signals: %d rounds in %.1f s under %d SIGCHLD and %d SIGINT "
         "deliveries\n",
         rounds, dt, (int)n_chld, (int)n_int);
  ASSERT(n_int > 0 && n_chld > 0);
  /* No SIGPIPE of the library's writes reached the handler. */
  ASSERT_EQ(n_pipe, 0);
  /* The handlers and the mask are exactly as installed. */
  struct sigaction sa;
  sigaction(SIGCHLD, NULL, &sa);
  ASSERT(sa.sa_handler == on_chld && !(sa.sa_flags & SA_RESTART));
  sigaction(SIGINT, NULL, &sa);
  ASSERT(sa.sa_handler == on_int);
  sigaction(SIGPIPE, NULL, &sa);
  ASSERT(sa.sa_handler == on_pipe);
  sigaction(SIGXFSZ, NULL, &sa);
  ASSERT(sa.sa_handler == SIG_IGN);
  pthread_sigmask(SIG_BLOCK, NULL, &now);
  for (int s = 1; s < NSIG; s++)
    if (sigismember(&mask, s) != sigismember(&now, s))
      TEST_FAIL("signal %d: blocked %d before, %d after", s,
                sigismember(&mask, s), sigismember(&now, s));
  free(big);
}

/* ------------------------------------------------------------------ */
/* posix_spawn, on every C library                                     */
/* ------------------------------------------------------------------ */

/* keep_fds lets posix_spawn run on glibc and musl alike (musl has no
 * closefrom file action): it must be the method used, and report its
 * failures with the same step, path and code as the other methods. */
TEST_POSIX(rel_posix_spawn_path) {
  const char *echo[] = {test_helper, "echo", "via posix_spawn", NULL};
  subproc_options o = {.spawn_method = SUBPROC_SPAWN_POSIX_SPAWN,
                       .keep_fds = 1,
                       .in = SUBPROC_REDIRECT_DEVNULL,
                       .out = SUBPROC_REDIRECT_PIPE,
                       .err = SUBPROC_REDIRECT_STDOUT};
  subproc *p = start(echo, &o);
  subproc_error e;
  if (subproc_method(p) == SUBPROC_SPAWN_FORK) {
    subproc_close(p, NULL);
    subproc_free(p);
    SKIP("no child can share this process's memory here (valgrind?): "
         "every spawn goes through fork");
  }
  ASSERT_EQ(subproc_method(p), SUBPROC_SPAWN_POSIX_SPAWN);
  subproc_result *r = NULL;
  ASSERT_OK(subproc_communicate(p, NULL, 0, test_slow(30.0), &r, &e), &e);
  ASSERT_STREQ(r->out, "via posix_spawn\n");
  ASSERT_EQ(r->returncode, 0);
  subproc_result_free(r);
  subproc_free(p);
  /* a new session and a new group */
  const char *sid[] = {test_helper, "sid", NULL};
  for (int g = 0; g < 2; g++) {
    subproc_options so = o;
    so.start_new_session = g == 0;
    so.set_process_group = g == 1;
    ASSERT_OK(subproc_popen(sid, &so, &p, &e), &e);
    ASSERT_EQ(subproc_method(p), SUBPROC_SPAWN_POSIX_SPAWN);
    ASSERT_OK(subproc_communicate(p, NULL, 0, test_slow(30.0), &r, &e), &e);
    int pid, pgid, sess;
    ASSERT_EQ(sscanf(r->out, "%d %d %d", &pid, &pgid, &sess), 3);
    ASSERT_EQ(pgid, pid);
    ASSERT_EQ(sess, g == 0 ? pid : (int)getsid(0));
    subproc_result_free(r);
    subproc_free(p);
  }
  /* failures: the same step, path and code as the other methods */
  const char *missing[] = {"/nonexistent/prog", NULL};
  ASSERT_EQ(subproc_popen(missing, &o, &p, &e), -ENOENT);
  ASSERT_STREQ(subproc_step_name(e.step), "exec");
  ASSERT_STREQ(e.path, "/nonexistent/prog");
  const char *dir[] = {"/", NULL};
  ASSERT_EQ(subproc_popen(dir, &o, &p, &e), -EACCES);
  ASSERT_STREQ(subproc_step_name(e.step), "exec");
  subproc_options bad_cwd = o;
  bad_cwd.cwd = "/nonexistent/dir";
  ASSERT_EQ(subproc_popen(echo, &bad_cwd, &p, &e), -ENOENT);
  ASSERT_STREQ(subproc_step_name(e.step), "chdir");
  ASSERT_STREQ(e.path, "/nonexistent/dir");
}

/* ------------------------------------------------------------------ */
/* Security                                                            */
/* ------------------------------------------------------------------ */

TEST_POSIX(rel_no_shell_metacharacters_verbatim) {
  char pwned[64], a[7][128];
  snprintf(pwned, sizeof pwned, "/tmp/subproc-pwned-%d", (int)getpid());
  unlink(pwned);
  snprintf(a[0], sizeof a[0], "$(touch %s)", pwned);
  snprintf(a[1], sizeof a[1], "`touch %s`", pwned);
  snprintf(a[2], sizeof a[2], "; touch %s", pwned);
  snprintf(a[3], sizeof a[3], "| touch %s", pwned);
  snprintf(a[4], sizeof a[4], "&& touch %s #", pwned);
  snprintf(a[5], sizeof a[5], "\ntouch %s\n", pwned);
  snprintf(a[6], sizeof a[6], "> %s", pwned);
  char want[1024] = "";
  for (int i = 0; i < 7; i++) {
    strcat(want, a[i]);
    strcat(want, "\n");
  }
  const char *argv[] = {test_helper, "echo", a[0], a[1], a[2],
                        a[3],        a[4],   a[5], a[6], NULL};
  int before = test_count_fds();
  for (int m = 0; m < N_METHODS; m++) {
    subproc_error e;
    char *s =
        run_out(argv, (subproc_options){.spawn_method = methods[m]}, NULL, &e);
    if (!s)
      TEST_FAIL("%s: %s", method_names[m], e.message);
    ASSERT_STREQ(s, want);
    free(s);
    /* A program name full of metacharacters is just a missing file. */
    const char *prog[] = {a[2], NULL};
    subproc *p = NULL;
    ASSERT_EQ(subproc_popen(
                  prog, &(subproc_options){.spawn_method = methods[m]}, &p, &e),
              -ENOENT);
    ASSERT_STREQ(e.path, a[2]);
    ASSERT_EQ(subproc_popen_cmd(a[0], NULL, &p, &e), -ENOENT);
    /* Environment values are not expanded either. */
    char var[160];
    snprintf(var, sizeof var, "X=%s", a[0]);
    const char *env[] = {var, NULL};
    const char *show[] = {test_helper, "env", "X", NULL};
    s = run_out(show, (subproc_options){.spawn_method = methods[m], .env = env},
                NULL, &e);
    ASSERT(s);
    ASSERT(strncmp(s, a[0], strlen(a[0])) == 0);
    free(s);
    if (access(pwned, F_OK) == 0)
      TEST_FAIL("%s: a shell ran: %s exists", method_names[m], pwned);
    expect_clean(before);
  }
  /* The control: with shell = 1 the same text does run. */
  const char *cmd[] = {a[2] + 2, NULL};
  int code = -1;
  subproc_error e;
  ASSERT_OK(subproc_call(cmd, &(subproc_options){.shell = 1}, &code, &e), &e);
  ASSERT_EQ(code, 0);
  ASSERT_EQ(access(pwned, F_OK), 0);
  unlink(pwned);
}

/* One line of /proc/self/task/TID/status ("Uid:", "Gid:", "Groups:"). */
static void task_line(const char *dir, const char *key, char *out,
                      size_t size) {
  char path[300], buf[4096];
  snprintf(path, sizeof path, "%s/status", dir);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  ASSERT(fd >= 0);
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  ASSERT(n > 0);
  buf[n] = '\0';
  const char *p = strstr(buf, key);
  ASSERT(p);
  size_t len = strcspn(p, "\n");
  snprintf(out, size, "%.*s", (int)len, p);
}

/* Every thread of this process still has the ids it started with. */
static void check_own_ids(const char *uid, const char *gid,
                          const char *groups) {
  DIR *d = opendir("/proc/self/task");
  ASSERT(d);
  struct dirent *ent;
  int n = 0;
  while ((ent = readdir(d))) {
    if (ent->d_name[0] == '.')
      continue;
    char line[512], dir[280];
    snprintf(dir, sizeof dir, "/proc/self/task/%s", ent->d_name);
    task_line(dir, "Uid:", line, sizeof line);
    ASSERT_STREQ(line, uid);
    task_line(dir, "Gid:", line, sizeof line);
    ASSERT_STREQ(line, gid);
    task_line(dir, "Groups:", line, sizeof line);
    ASSERT_STREQ(line, groups);
    n++;
  }
  closedir(d);
  ASSERT(n >= 2);
}

static void *idle_thread(void *arg) {
  atomic_int *stop = arg;
  while (!atomic_load(stop)) {
    const struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL);
  }
  return NULL;
}

static int preexec_nothing(void *arg) {
  (void)arg;
  return 0;
}

TEST_POSIX(rel_user_group_switch_order) {
  if (geteuid() != 0)
    SKIP("not root (euid %d): switching uid, gid and groups needs "
         "CAP_SETUID and CAP_SETGID",
         (int)geteuid());
  /* A second thread: a CLONE_VM child using libc's set*id wrappers would
   * change the ids of every thread of this process. */
  static atomic_int stop;
  pthread_t t;
  ASSERT_EQ(pthread_create(&t, NULL, idle_thread, &stop), 0);
  char uid[512], gid[512], groups[512];
  task_line("/proc/thread-self", "Uid:", uid, sizeof uid);
  task_line("/proc/thread-self", "Gid:", gid, sizeof gid);
  task_line("/proc/thread-self", "Groups:", groups, sizeof groups);
  const char *argv[] = {test_helper, "ids", NULL};
  const char *extra[] = {"65534", "4", NULL};
  int before = test_count_fds();
  for (int m = 0; m <= N_METHODS; m++) {
    subproc_options o = {
        .user = "65534", .group = "65534", .extra_groups = extra};
    const char *name = "preexec";
    if (m < N_METHODS) {
      o.spawn_method = methods[m];
      name = method_names[m];
    } else {
      o.preexec = preexec_nothing;
    }
    subproc_error e;
    char *s = run_out(argv, o, NULL, &e);
    if (!s)
      TEST_FAIL("%s: %s (step %s)", name, e.message, subproc_step_name(e.step));
    /* uid euid gid egid groups...: had the uid been switched first, the
     * setgroups and setregid calls after it would have failed (EPERM). */
    if (strcmp(s, "65534 65534 65534 65534 4 65534\n") != 0)
      TEST_FAIL("%s: child ids \"%s\"", name, s);
    free(s);
    /* Only the uid: the gid and the groups stay as they are (Python). */
    o.group = NULL;
    o.extra_groups = NULL;
    s = run_out(argv, o, NULL, &e);
    ASSERT(s);
    char want[64];
    snprintf(want, sizeof want, "65534 65534 %d %d", (int)getgid(),
             (int)getegid());
    ASSERT(strncmp(s, want, strlen(want)) == 0);
    free(s);
    check_own_ids(uid, gid, groups);
    expect_clean(before);
  }
  atomic_store(&stop, 1);
  pthread_join(t, NULL);
}

/* "0 1 2 ...\n": this process's fds that have no FD_CLOEXEC. */
static void inheritable_fds(char *out, size_t size) {
  size_t len = 0;
  out[0] = '\0';
  for (int fd = 0, top = fd_ceiling(); fd < top; fd++) {
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0 && !(flags & FD_CLOEXEC))
      len += (size_t)snprintf(out + len, size - len, len ? " %d" : "%d", fd);
    ASSERT(len < size - 1);
  }
  snprintf(out + len, size - len, "\n");
}

/* close_fds=False: the child has every inheritable fd of ours, and no
 * other fd of ours. (It may have fds we do not: valgrind opens its log
 * in a forked child.) */
static void check_keep_fds(const char *method, const char *got,
                           const char *want) {
  char *end;
  for (const char *w = want; *w != '\n'; w = end) {
    long fd = strtol(w, &end, 10);
    char key[32];
    snprintf(key, sizeof key, " %ld ", fd);
    char padded[4200];
    snprintf(padded, sizeof padded, " %.*s ", (int)strcspn(got, "\n"), got);
    if (!strstr(padded, key))
      TEST_FAIL("%s, keep_fds: fd %ld is missing in the child (\"%s\")", method,
                fd, got);
  }
  for (const char *g = got; *g && *g != '\n'; g = end) {
    long fd = strtol(g, &end, 10);
    int flags = fcntl((int)fd, F_GETFD);
    if (flags >= 0 && (flags & FD_CLOEXEC))
      TEST_FAIL("%s, keep_fds: fd %ld is close-on-exec here, yet the child "
                "has it (\"%s\")",
                method, fd, got);
  }
}

/* The child lists its /proc/self/fd: secrets opened without O_CLOEXEC
 * are there only when passed. */
TEST_POSIX(rel_close_fds_secret) {
  int secret = open("/etc/hostname", O_RDONLY); /* inheritable */
  if (secret < 0)
    secret = open("/dev/null", O_RDONLY);
  int hi = dup2(secret, 200); /* far above the others */
  int p[2];
  ASSERT_EQ(pipe(p), 0); /* inheritable too */
  ASSERT(secret > 2 && hi == 200);
  const char *fds[] = {test_helper, "fds", NULL};
  int before = test_count_fds();
  for (int m = 0; m < N_METHODS; m++) {
    subproc_error e;
    subproc_options o = {.spawn_method = methods[m]};
    char *s = run_out(fds, o, NULL, &e);
    if (!s)
      TEST_FAIL("%s: %s", method_names[m], e.message);
    if (strcmp(s, "0 1 2\n") != 0)
      TEST_FAIL("%s: the child sees fds \"%s\"", method_names[m], s);
    free(s);
    int pass[] = {hi, -1};
    o.pass_fds = pass;
    s = run_out(fds, o, NULL, &e);
    ASSERT(s);
    if (strcmp(s, "0 1 2 200\n") != 0)
      TEST_FAIL("%s, pass_fds 200: the child sees fds \"%s\"", method_names[m],
                s);
    free(s);
    /* close_fds=False: inherited, as Python does */
    o.pass_fds = NULL;
    o.keep_fds = 1;
    s = run_out(fds, o, NULL, &e);
    ASSERT(s);
    char want[4096];
    inheritable_fds(want, sizeof want);
    check_keep_fds(method_names[m], s, want);
    free(s);
    /* What it means: a child holding a pipe's write end keeps the reader
     * from seeing EOF. Closed by default, the reader sees it at once. */
    const char *sleeper[] = {test_helper, "sleep", "30", NULL};
    subproc *c = NULL;
    int q[2];
    ASSERT_EQ(pipe(q), 0);
    ASSERT_OK(subproc_popen(sleeper,
                            &(subproc_options){.spawn_method = methods[m]}, &c,
                            &e),
              &e);
    close(q[1]);
    struct pollfd pfd = {.fd = q[0], .events = POLLIN};
    int r;
    do
      r = poll(&pfd, 1, 10000);
    while (r < 0 && errno == EINTR);
    ASSERT_EQ(r, 1);
    char byte;
    ASSERT_EQ(read(q[0], &byte, 1), 0);
    close(q[0]);
    subproc_kill(c);
    subproc_wait(c, test_slow(30.0), NULL, NULL);
    subproc_free(c);
    expect_clean(before);
  }
  close(secret);
  close(hi);
  close(p[0]);
  close(p[1]);
}
#endif
