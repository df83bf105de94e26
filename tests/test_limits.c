/* Issue 12 section 3: resource limits, the parent-death signal,
 * no_new_privs and the terminal's foreground group, with real children on
 * every spawn method: clone3 (the default), its clone() fallback, fork,
 * and posix_spawn (which cannot apply them: the clone path does). */
#ifndef _WIN32 /* POSIX only: rlimits, prctl, terminals */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#endif

#include "subproc.h"
#include "test.h"
#include "testing.h"
#include "util.h"

#ifndef _WIN32

typedef struct method {
  const char *name;
  subproc_spawn_method spawn;
  int test_flags;
  subproc_spawn_method used; /* what subproc_method() reports */
} method;

static const method methods[] = {
    {"clone3", SUBPROC_SPAWN_AUTO, 0, SUBPROC_SPAWN_VFORK},
    {"clone", SUBPROC_SPAWN_VFORK, SUBPROC__NO_CLONE3, SUBPROC_SPAWN_VFORK},
    {"fork", SUBPROC_SPAWN_FORK, 0, SUBPROC_SPAWN_FORK},
    {"posix_spawn", SUBPROC_SPAWN_POSIX_SPAWN, 0, SUBPROC_SPAWN_VFORK}};
#define N_METHODS (sizeof methods / sizeof methods[0])

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LIMITS_ASAN 1
#endif
#elif defined(__SANITIZE_ADDRESS__)
#define LIMITS_ASAN 1
#endif

/* An ASan-built helper would lower RLIMIT_CORE to 0 at start-up, and its
 * leak check at exit needs more fds than RLIMIT_NOFILE 10 leaves: the
 * children get the limits as given and skip the leak check (their own
 * runs elsewhere cover it). */
static void sanitizer_keeps_limits(void) {
#ifdef LIMITS_ASAN
  static int done;
  if (done++)
    return;
  const char *old = getenv("ASAN_OPTIONS");
  char opts[1024];
  snprintf(opts, sizeof opts, "%s%sdisable_coredump=0:detect_leaks=0",
           old ? old : "", old && *old ? ":" : "");
  test_setenv("ASAN_OPTIONS", opts);
#endif
}

/* The method p must report: m's, except that where no child can share
 * this process's memory (valgrind, TSan) the library forks instead. */
static subproc_spawn_method used_by(const method *m) {
  return subproc__test_vm_shared() ? m->used : SUBPROC_SPAWN_FORK;
}

/* o with method m's spawn method, its test flags set. */
static subproc_options with(const method *m, subproc_options o) {
  sanitizer_keeps_limits();
  subproc__set_test_flags(m->test_flags);
  o.spawn_method = m->spawn;
  return o;
}

/* The helper in a mode with o; its stdout, the method checked. */
static char *helper_on(const method *m, subproc_options o, const char *mode,
                       const char *arg) {
  const char *argv[] = {test_helper, mode, arg, NULL};
  o = with(m, o);
  o.out = SUBPROC_REDIRECT_PIPE;
  subproc *p = start(argv, &o);
  if (subproc_method(p) != used_by(m))
    TEST_FAIL("%s: method %d, expected %d", m->name, (int)subproc_method(p),
              (int)used_by(m));
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_communicate(p, NULL, 0, test_slow(30), &r, &e), &e);
  ASSERT_EQ(r->returncode, 0);
  char *out = strdup(r->out);
  subproc_result_free(r);
  subproc_free(p);
  subproc__set_test_flags(0);
  return out;
}

/* ------------------------------------------------------------------ */
/* rlimits                                                             */
/* ------------------------------------------------------------------ */

/* At RLIMIT_NOFILE 10, with 0-2 open, the 8th open fails with EMFILE. */
TEST_POSIX(limits_rlimit_nofile) {
  const subproc_rlimit lim[] = {{RLIMIT_NOFILE, 10, 10}, SUBPROC_RLIMIT_END};
  char res[16];
  snprintf(res, sizeof res, "%d", (int)RLIMIT_NOFILE);
  for (size_t i = 0; i < N_METHODS; i++) {
    char *s = helper_on(&methods[i], (subproc_options){.rlimits = lim},
                        "openmax", NULL);
    ASSERT_STREQ(s, "7 EMFILE\n");
    free(s);
    s = helper_on(&methods[i], (subproc_options){.rlimits = lim}, "getrlimit",
                  res);
    ASSERT_STREQ(s, "10 10\n");
    free(s);
  }
  /* The parent's own limit is untouched (a CLONE_VM child has its own). */
  struct rlimit rl;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
  ASSERT(rl.rlim_cur > 10);
}

/* Entries apply in order; SUBPROC_RLIM_INFINITY is RLIM_INFINITY. Only
 * lowering hard limits and raising soft ones: no privilege needed. */
TEST_POSIX(limits_rlimit_order_and_infinity) {
  const subproc_rlimit nofile[] = {
      {RLIMIT_NOFILE, 100, 200}, {RLIMIT_NOFILE, 50, 100}, SUBPROC_RLIMIT_END};
  char res[16];
  snprintf(res, sizeof res, "%d", (int)RLIMIT_NOFILE);
  for (size_t i = 0; i < N_METHODS; i++) {
    char *s = helper_on(&methods[i], (subproc_options){.rlimits = nofile},
                        "getrlimit", res);
    ASSERT_STREQ(s, "50 100\n");
    free(s);
  }
  struct rlimit core;
  ASSERT_EQ(getrlimit(RLIMIT_CORE, &core), 0);
  if (core.rlim_max != RLIM_INFINITY)
    SKIP("RLIMIT_CORE's hard limit is finite: no soft limit up to infinity");
  const subproc_rlimit inf[] = {{RLIMIT_CORE, 4096, SUBPROC_RLIM_INFINITY},
                                SUBPROC_RLIMIT_END};
  snprintf(res, sizeof res, "%d", (int)RLIMIT_CORE);
  for (size_t i = 0; i < N_METHODS; i++) {
    char *s = helper_on(&methods[i], (subproc_options){.rlimits = inf},
                        "getrlimit", res);
    ASSERT_STREQ(s, "4096 unlimited\n");
    free(s);
  }
}

/* RLIMIT_CPU 1 s: a busy child dies of SIGXCPU after about a second of
 * CPU time (core dumps off, so nothing is written). */
TEST_POSIX(limits_rlimit_cpu) {
  const subproc_rlimit lim[] = {
      {RLIMIT_CPU, 1, 3}, {RLIMIT_CORE, 0, 0}, SUBPROC_RLIMIT_END};
  const char *argv[] = {test_helper, "spin", NULL};
  for (size_t i = 0; i < N_METHODS; i++) {
    subproc_result *r = NULL;
    subproc_error e;
    subproc_options o =
        with(&methods[i],
             (subproc_options){.rlimits = lim, .timeout = test_slow(60)});
    ASSERT_OK(subproc_run(argv, &o, &r, &e), &e);
    subproc__set_test_flags(0);
    if (r->returncode != -SIGXCPU)
      TEST_FAIL("%s: returncode %d, expected %d (SIGXCPU)", methods[i].name,
                r->returncode, -SIGXCPU);
    /* rusage's split of the CPU time is an estimate: a loose bound. */
    ASSERT_GE(r->user_s + r->system_s, 0.5);
    ASSERT_LT(r->user_s + r->system_s, 2.5); /* before the hard limit */
    ASSERT_GE(r->duration_s, 0.5);
    subproc_result_free(r);
  }
}

/* Raising a hard limit without CAP_SYS_RESOURCE: EPERM, step "setrlimit",
 * the entry named. As root the test drops to nobody in a forked process
 * first (the spawn fails before exec, so nothing needs to be executable
 * by nobody). */
static void expect_raise_refused(void) {
  struct rlimit rl;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
  ASSERT(rl.rlim_max != RLIM_INFINITY);
  const subproc_rlimit lim[] = {
      {RLIMIT_CORE, 0, 0},
      {RLIMIT_NOFILE, rl.rlim_cur, (unsigned long long)rl.rlim_max + 1},
      SUBPROC_RLIMIT_END};
  const char *argv[] = {test_helper, "exit", "0", NULL};
  for (size_t i = 0; i < N_METHODS; i++) {
    subproc *p = NULL;
    subproc_error e;
    subproc_options o = with(&methods[i], (subproc_options){.rlimits = lim});
    int rc = subproc_popen(argv, &o, &p, &e);
    subproc__set_test_flags(0);
    if (rc != -EPERM)
      TEST_FAIL("%s: %d (%s), expected -EPERM", methods[i].name, rc, e.message);
    ASSERT(p == NULL);
    ASSERT_EQ(e.step, SUBPROC_STEP_SETRLIMIT);
    ASSERT_EQ(e.os_errno, EPERM);
    ASSERT_CONTAINS(e.message, "setrlimit RLIMIT_NOFILE (rlimits[1], soft ");
    ASSERT_CONTAINS(e.message, strerror(EPERM));
  }
}

TEST_POSIX(limits_rlimit_raise_eperm) {
  if (geteuid() != 0) {
    expect_raise_refused();
    return;
  }
  fflush(NULL);
  pid_t pid = fork();
  ASSERT(pid >= 0);
  if (pid == 0) {
    if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0) {
      perror("dropping root");
      _exit(2);
    }
    expect_raise_refused();
    _exit(0);
  }
  int st = 0;
  ASSERT_EQ(waitpid(pid, &st, 0), pid);
  ASSERT(WIFEXITED(st));
  ASSERT_EQ(WEXITSTATUS(st), 0);
}

/* The limits apply before user=: a privileged parent raises the hard
 * limit of a child that runs unprivileged. */
/* This process may raise a hard limit (root with CAP_SYS_RESOURCE)?
 * Asked of a forked copy, which raises RLIMIT_NOFILE's by one. */
static int can_raise_hard_limits(void) {
  fflush(NULL);
  pid_t pid = fork();
  ASSERT(pid >= 0);
  if (pid == 0) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_max == RLIM_INFINITY)
      _exit(1);
    rl.rlim_max++;
    _exit(setrlimit(RLIMIT_NOFILE, &rl) == 0 ? 0 : 1);
  }
  int st = 0;
  ASSERT_EQ(waitpid(pid, &st, 0), pid);
  return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

TEST_POSIX(limits_rlimit_before_user) {
  if (geteuid() != 0)
    SKIP("needs root to switch to another user");
  if (!can_raise_hard_limits())
    SKIP("root without CAP_SYS_RESOURCE here: no hard limit can go up");
  struct rlimit rl;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
  ASSERT(rl.rlim_max != RLIM_INFINITY);
  /* Root may raise RLIMIT_NOFILE up to fs.nr_open. */
  unsigned long long nr_open = 0;
  FILE *f = fopen("/proc/sys/fs/nr_open", "r");
  if (!f || fscanf(f, "%llu", &nr_open) != 1)
    SKIP("no /proc/sys/fs/nr_open");
  fclose(f);
  if ((unsigned long long)rl.rlim_max >= nr_open)
    SKIP("RLIMIT_NOFILE's hard limit is at fs.nr_open: it cannot go up");
  unsigned long long hard = (unsigned long long)rl.rlim_max + 1;
  const subproc_rlimit lim[] = {{RLIMIT_NOFILE, 32, hard}, SUBPROC_RLIMIT_END};
  char want[64];
  snprintf(want, sizeof want, "32 %llu 65534\n", hard);
  const char *argv[] = {"/bin/sh", "-c",
                        "echo $(ulimit -Sn) $(ulimit -Hn) "
                        "$(id -u)",
                        NULL};
  for (size_t i = 0; i < N_METHODS; i++) {
    subproc_options o =
        with(&methods[i], (subproc_options){
                              .rlimits = lim,
                              .user = "65534",
                              .group = "65534",
                              .extra_groups = (const char *const[]){NULL},
                              .cwd = "/",
                          });
    char *s = run_out(argv, o, NULL, NULL);
    subproc__set_test_flags(0);
    ASSERT_STREQ(s, want);
    free(s);
  }
}

/* ------------------------------------------------------------------ */
/* Values refused in the parent                                        */
/* ------------------------------------------------------------------ */

static void expect_einval(subproc_options o, subproc_step step,
                          const char *text) {
  const char *argv[] = {test_helper, "exit", "0", NULL};
  for (size_t i = 0; i < N_METHODS; i++) {
    subproc *p = NULL;
    subproc_error e;
    subproc_options om = with(&methods[i], o);
    int rc = subproc_popen(argv, &om, &p, &e);
    subproc__set_test_flags(0);
    if (rc != SUBPROC_EINVAL)
      TEST_FAIL("%s: %d (%s), expected SUBPROC_EINVAL for \"%s\"",
                methods[i].name, rc, e.message, text);
    ASSERT(p == NULL);
    ASSERT_STREQ(subproc_step_name(e.step), subproc_step_name(step));
    ASSERT_CONTAINS(e.message, text);
  }
}

TEST_POSIX(limits_bad_values) {
  const subproc_rlimit neg[] = {
      {RLIMIT_NOFILE, 10, 10}, {-2, 0, 0}, SUBPROC_RLIMIT_END};
  const subproc_rlimit minint[] = {{INT_MIN, 0, 0}, SUBPROC_RLIMIT_END};
#if defined(RLIM_NLIMITS)
  const subproc_rlimit beyond[] = {{RLIM_NLIMITS, 0, 0}, SUBPROC_RLIMIT_END};
  expect_einval((subproc_options){.rlimits = beyond}, SUBPROC_STEP_RLIMITS,
                "rlimits[0]: not a resource of this system");
#endif
  const subproc_rlimit huge[] = {{RLIMIT_CORE, 0, 0},
                                 {RLIMIT_CORE, 0, 0},
                                 {1000, 1, 1},
                                 SUBPROC_RLIMIT_END};
  const subproc_rlimit inverted[] = {{RLIMIT_NOFILE, 20, 10},
                                     SUBPROC_RLIMIT_END};
  const subproc_rlimit inf_soft[] = {{RLIMIT_CPU, SUBPROC_RLIM_INFINITY, 10},
                                     SUBPROC_RLIMIT_END};
  expect_einval((subproc_options){.rlimits = neg}, SUBPROC_STEP_RLIMITS,
                "rlimits[1]: not a resource");
  expect_einval((subproc_options){.rlimits = minint}, SUBPROC_STEP_RLIMITS,
                "rlimits[0]: not a resource");
  expect_einval((subproc_options){.rlimits = huge}, SUBPROC_STEP_RLIMITS,
                "rlimits[2]: not a resource of this system (resource 1000");
  expect_einval((subproc_options){.rlimits = inverted}, SUBPROC_STEP_RLIMITS,
                "rlimits[0]: the soft limit is above the hard limit "
                "(resource 7, soft 20, hard 10)");
  expect_einval((subproc_options){.rlimits = inf_soft}, SUBPROC_STEP_RLIMITS,
                "soft unlimited, hard 10");
  static const int bad_signals[] = {-1, NSIG, 100000, INT_MIN, INT_MAX};
  for (size_t i = 0; i < sizeof bad_signals / sizeof bad_signals[0]; i++) {
    char text[96];
    snprintf(text, sizeof text, "parent_death_signal: %d is not a signal",
             bad_signals[i]);
    expect_einval((subproc_options){.parent_death_signal = bad_signals[i]},
                  SUBPROC_STEP_PARENT_DEATH_SIGNAL, text);
  }
  expect_einval((subproc_options){.foreground = 1, .start_new_session = 1},
                SUBPROC_STEP_FOREGROUND, "foreground: a new session");
}

/* ------------------------------------------------------------------ */
/* parent_death_signal                                                 */
/* ------------------------------------------------------------------ */

/* The status of pid (a child of this process, directly or as the
 * subreaper) once it ends within test_slow(seconds); -1 if it does not. */
static int status_within(pid_t pid, double seconds) {
  for (double end = test_now() + test_slow(seconds);; test_sleep(0.01)) {
    int st = 0;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid)
      return st;
    ASSERT_EQ(r, 0);
    if (test_now() > end)
      return -1;
  }
}

static long read_pid(int fd) {
  long pid = 0;
  ASSERT_EQ(read(fd, &pid, sizeof pid), (long)sizeof pid);
  return pid;
}

/* A forked process that starts the helper's `sleep` with o, sends its pid
 * through a pipe and exits at once (its main thread, the child's parent,
 * with it): the grandchild's pid. */
static pid_t spawn_and_die(const method *m, subproc_options o) {
  int fds[2];
  test_pipe(fds);
  fflush(NULL);
  pid_t mid = fork();
  ASSERT(mid >= 0);
  if (mid == 0) {
    const char *argv[] = {test_helper, "sleep", "30", NULL};
    o = with(m, o);
    subproc *p = NULL;
    subproc_error e;
    if (subproc_popen(argv, &o, &p, &e) < 0) {
      fprintf(stderr, "%s: %s\n", m->name, e.message);
      _exit(1);
    }
    long pid = subproc_pid(p);
    if (write(fds[1], &pid, sizeof pid) != (long)sizeof pid)
      _exit(1);
    _exit(0);
  }
  close(fds[1]);
  long pid = read_pid(fds[0]);
  close(fds[0]);
  int st = 0;
  ASSERT_EQ(waitpid(mid, &st, 0), mid);
  ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  return (pid_t)pid;
}

TEST_POSIX(limits_parent_death_signal) {
  test_become_subreaper();
  for (size_t i = 0; i < N_METHODS; i++) {
    pid_t pid = spawn_and_die(
        &methods[i], (subproc_options){.parent_death_signal = SIGKILL});
    int st = status_within(pid, 5);
    if (st == -1)
      TEST_FAIL("%s: the child outlived its parent", methods[i].name);
    ASSERT(WIFSIGNALED(st));
    ASSERT_EQ(WTERMSIG(st), SIGKILL);
  }
  /* The signal given is the one sent. */
  pid_t pid = spawn_and_die(&methods[0],
                            (subproc_options){.parent_death_signal = SIGUSR1});
  int st = status_within(pid, 5);
  ASSERT(st != -1 && WIFSIGNALED(st));
  ASSERT_EQ(WTERMSIG(st), SIGUSR1);
  /* Without it, the orphan lives on (the test is the one that kills it). */
  pid = spawn_and_die(&methods[0], (subproc_options){0});
  ASSERT_EQ(status_within(pid, 0.3), -1);
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  st = status_within(pid, 5);
  ASSERT(st != -1 && WIFSIGNALED(st));
}

/* The documented caveat: the "parent" is the spawning thread (Linux).
 * A child started from a thread that then ends gets the signal, though
 * the process lives on. */
static void *spawn_in_thread(void *arg) {
  subproc_options *o = arg;
  const char *argv[] = {test_helper, "sleep", "30", NULL};
  return start(argv, o);
}

TEST_POSIX(limits_parent_death_signal_thread_caveat) {
  for (size_t i = 0; i < N_METHODS; i++) {
    subproc_options o =
        with(&methods[i], (subproc_options){.parent_death_signal = SIGKILL});
    pthread_t t;
    void *p = NULL;
    ASSERT_EQ(pthread_create(&t, NULL, spawn_in_thread, &o), 0);
    ASSERT_EQ(pthread_join(t, &p), 0);
    subproc__set_test_flags(0);
    int rc = 0;
    subproc_error e;
    ASSERT_OK(subproc_wait(p, test_slow(5), &rc, &e), &e);
    ASSERT_EQ(rc, -SIGKILL);
    subproc_free(p);
  }
}

/* The race: the parent dies before the child's prctl. A preexec (fork
 * path; parent_death_signal is set after it) waits until the child has
 * been orphaned, then the setting finds the parent gone: the child sends
 * itself the signal instead of running on unwatched. */
typedef struct orphan_wait {
  int fd; /* where the child writes its pid */
} orphan_wait;

static int wait_until_orphaned(void *arg) {
  const orphan_wait *w = arg;
  pid_t parent = getppid();
  long me = (long)getpid();
  if (write(w->fd, &me, sizeof me) != (long)sizeof me)
    return EIO;
  for (double end = test_now() + test_slow(10);
       getppid() == parent && test_now() < end;)
    test_sleep(0.001);
  return getppid() == parent ? ETIMEDOUT : 0;
}

/* The grandchild's pid once its parent is dead (killed mid-spawn). */
static pid_t orphan_mid_spawn(int pdeathsig) {
  int fds[2];
  test_pipe(fds);
  fflush(NULL);
  pid_t mid = fork();
  ASSERT(mid >= 0);
  if (mid == 0) {
    const char *argv[] = {test_helper, "sleep", "30", NULL};
    orphan_wait w = {fds[1]};
    subproc_options o = {.parent_death_signal = pdeathsig,
                         .preexec = wait_until_orphaned,
                         .preexec_arg = &w};
    subproc *p = NULL;
    subproc_popen(argv, &o, &p, NULL); /* killed in the middle */
    _exit(3);
  }
  close(fds[1]);
  pid_t pid = (pid_t)read_pid(fds[0]);
  close(fds[0]);
  ASSERT_EQ(kill(mid, SIGKILL), 0);
  int st = 0;
  ASSERT_EQ(waitpid(mid, &st, 0), mid);
  ASSERT(WIFSIGNALED(st));
  return pid;
}

TEST_POSIX(limits_parent_death_signal_parent_already_dead) {
  test_become_subreaper();
  pid_t pid = orphan_mid_spawn(SIGKILL);
  int st = status_within(pid, 10);
  if (st == -1)
    TEST_FAIL("the child runs on although its parent died before the prctl");
  ASSERT(WIFSIGNALED(st));
  ASSERT_EQ(WTERMSIG(st), SIGKILL);
  /* Without the option the same orphan goes on to exec. */
  pid = orphan_mid_spawn(0);
  ASSERT_EQ(status_within(pid, 0.5), -1);
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  ASSERT(status_within(pid, 5) != -1);
}

/* ------------------------------------------------------------------ */
/* no_new_privs                                                        */
/* ------------------------------------------------------------------ */

/* FIELD's value in /proc/PID/status. */
static char *proc_status(long pid, const char *field, char *buf, size_t n) {
  char path[64], line[512];
  snprintf(path, sizeof path, "/proc/%ld/status", pid);
  FILE *f = fopen(path, "r");
  if (!f)
    SKIP("no %s", path);
  snprintf(buf, n, "none");
  size_t len = strlen(field);
  while (fgets(line, sizeof line, f))
    if (strncmp(line, field, len) == 0 && line[len] == ':') {
      snprintf(buf, n, "%s", line + len + 1 + strspn(line + len + 1, " \t"));
      buf[strcspn(buf, "\n")] = '\0';
    }
  fclose(f);
  return buf;
}

static void check_no_new_privs(const method *m, int on, const char *want) {
  const char *argv[] = {test_helper, "sleep", "30", NULL};
  subproc_options o = with(m, (subproc_options){.no_new_privs = on});
  subproc *p = start(argv, &o);
  subproc__set_test_flags(0);
  if (on) /* off, posix_spawn may do */
    ASSERT_EQ(subproc_method(p), used_by(m));
  char buf[64];
  const char *got = proc_status(subproc_pid(p), "NoNewPrivs", buf, sizeof buf);
  if (strcmp(got, want) != 0)
    TEST_FAIL("%s: NoNewPrivs %s, expected %s", m->name, got, want);
  finish_killed(p);
}

TEST_POSIX(limits_no_new_privs) {
  char mine[64];
  if (strcmp(proc_status((long)getpid(), "NoNewPrivs", mine, sizeof mine),
             "none") == 0)
    SKIP("the kernel shows no NoNewPrivs in /proc/<pid>/status");
  for (size_t i = 0; i < N_METHODS; i++) {
    check_no_new_privs(&methods[i], 1, "1");
    if (strcmp(mine, "0") == 0) /* this process may run with it already */
      check_no_new_privs(&methods[i], 0, "0");
  }
  char *s = HELPER_OUT(((subproc_options){.no_new_privs = 1}), "status",
                       "NoNewPrivs");
  ASSERT_STREQ(s, "1\n");
  free(s);
}

/* ------------------------------------------------------------------ */
/* foreground                                                          */
/* ------------------------------------------------------------------ */

/* In a process of its own (the terminal's session), with the pty slave
 * as its controlling terminal: the child runs in the foreground, the
 * caller's group gets the terminal back after the reap. */
static void expect_foreground(const method *m, int tty, subproc_options o) {
  const char *argv[] = {test_helper, "fg", NULL};
  o = with(m, o);
  o.foreground = 1;
  o.out = SUBPROC_REDIRECT_PIPE;
  subproc *p = start(argv, &o);
  subproc__set_test_flags(0);
  ASSERT_EQ(subproc_method(p), used_by(m));
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_communicate(p, NULL, 0, test_slow(30), &r, &e), &e);
  long pgid =
      o.set_process_group && o.process_group ? o.process_group : subproc_pid(p);
  char want[64];
  snprintf(want, sizeof want, "%ld %ld\n", pgid, pgid);
  if (strcmp(r->out, want) != 0)
    TEST_FAIL("%s: the child saw \"%s\", expected \"%s\"", m->name, r->out,
              want);
  ASSERT_EQ(tcgetpgrp(tty), getpgrp()); /* restored at the reap */
  subproc_result_free(r);
  subproc_free(p);
}

/* The session's steps, run in a forked process: 0 if all went well. */
static void foreground_session(int slave_fd) {
  ASSERT(setsid() > 0);
  ASSERT_EQ(ioctl(slave_fd, TIOCSCTTY, 0), 0);
  ASSERT_EQ(tcgetpgrp(slave_fd), getpgrp());
  for (size_t i = 0; i < N_METHODS; i++)
    expect_foreground(&methods[i], slave_fd, (subproc_options){0});
  /* The terminal's fd is high: a CLONE_FILES child must copy it too. */
  int low[64], n = 0;
  while (n < 64) {
    int fd = dup(slave_fd);
    ASSERT(fd >= 0);
    low[n++] = fd;
    if (fd >= 40)
      break;
  }
  for (size_t i = 0; i < N_METHODS; i++)
    expect_foreground(&methods[i], slave_fd, (subproc_options){0});
  for (int k = 0; k < n; k++)
    close(low[k]);
  /* A timeout (kill_tree: the group dies) gives the terminal back too. */
  const char *sleeper[] = {test_helper, "sleep", "30", NULL};
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_EQ(subproc_run(sleeper,
                        &(subproc_options){.foreground = 1, .timeout = 0.2}, &r,
                        &e),
            SUBPROC_ETIMEDOUT);
  subproc_result_free(r);
  ASSERT_EQ(tcgetpgrp(slave_fd), getpgrp());
  /* So does a child that took the terminal and then failed to exec. */
  const char *missing[] = {"/nonexistent/subproc-test", NULL};
  for (size_t i = 0; i < N_METHODS; i++) {
    subproc *p = NULL;
    subproc_options o = with(&methods[i], (subproc_options){.foreground = 1});
    ASSERT_EQ(subproc_popen(missing, &o, &p, &e), -ENOENT);
    subproc__set_test_flags(0);
    ASSERT_EQ(e.step, SUBPROC_STEP_EXEC);
    ASSERT_EQ(tcgetpgrp(slave_fd), getpgrp());
  }
}

static int open_pty(int *slave) {
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0)
    SKIP("posix_openpt: %s", strerror(errno));
  ASSERT_EQ(grantpt(master), 0);
  ASSERT_EQ(unlockpt(master), 0);
  const char *name = ptsname(master);
  ASSERT(name != NULL);
  *slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  ASSERT(*slave >= 0);
  return master;
}

/* Runs steps(slave) in a new session whose controlling terminal is a
 * fresh pty; the case fails if they do. */
static void in_pty_session(void (*steps)(int slave_fd)) {
  int slave, master = open_pty(&slave);
  fflush(NULL);
  pid_t pid = fork();
  ASSERT(pid >= 0);
  if (pid == 0) {
    close(master);
    steps(slave);
    fflush(NULL);
    _exit(0);
  }
  close(slave);
  int st = status_within(pid, 60);
  if (st == -1) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    TEST_FAIL("the session's steps did not finish");
  }
  close(master);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    TEST_FAIL("the session's steps failed (status 0x%x)", st);
}

TEST_POSIX(limits_foreground) { in_pty_session(foreground_session); }

/* The child joins process group N (the caller's own here) and puts it in
 * the foreground: allowed, and restored as usual. */
static void foreground_join_session(int slave_fd) {
  ASSERT(setsid() > 0);
  ASSERT_EQ(ioctl(slave_fd, TIOCSCTTY, 0), 0);
  /* A group of the session that is not in the foreground yet. */
  const char *sleeper[] = {test_helper, "sleep", "30", NULL};
  subproc *leader = start(sleeper, &(subproc_options){.set_process_group = 1});
  for (size_t i = 0; i < N_METHODS; i++)
    expect_foreground(
        &methods[i], slave_fd,
        (subproc_options){.set_process_group = 1,
                          .process_group = (int)subproc_pid(leader)});
  finish_killed(leader);
}

TEST_POSIX(limits_foreground_join_group) {
  in_pty_session(foreground_join_session);
}

/* No controlling terminal: -ENOTTY, step "tcsetpgrp", nothing started. */
static void no_terminal_session(int slave_fd) {
  (void)slave_fd;
  ASSERT(setsid() > 0); /* a new session has no controlling terminal */
  const char *argv[] = {test_helper, "exit", "0", NULL};
  for (size_t i = 0; i < N_METHODS; i++) {
    subproc *p = NULL;
    subproc_error e;
    subproc_options o = with(&methods[i], (subproc_options){.foreground = 1});
    int rc = subproc_popen(argv, &o, &p, &e);
    subproc__set_test_flags(0);
    ASSERT_EQ(rc, -ENOTTY);
    ASSERT(p == NULL);
    ASSERT_EQ(e.step, SUBPROC_STEP_TCSETPGRP);
    ASSERT_CONTAINS(e.message, "tcsetpgrp: foreground needs a controlling "
                               "terminal");
  }
}

TEST_POSIX(limits_foreground_no_terminal) {
  in_pty_session(no_terminal_session);
}

/* ------------------------------------------------------------------ */
/* Everything at once, and nothing left behind                         */
/* ------------------------------------------------------------------ */

TEST_POSIX(limits_all_together) {
  const subproc_rlimit lim[] = {{RLIMIT_NOFILE, 10, 10}, SUBPROC_RLIMIT_END};
  for (size_t i = 0; i < N_METHODS; i++) {
    int fds = test_count_fds();
    char *s = helper_on(&methods[i],
                        (subproc_options){.rlimits = lim,
                                          .parent_death_signal = SIGKILL,
                                          .no_new_privs = 1},
                        "openmax", NULL);
    ASSERT_STREQ(s, "7 EMFILE\n");
    free(s);
    s = helper_on(&methods[i],
                  (subproc_options){.rlimits = lim,
                                    .parent_death_signal = SIGKILL,
                                    .no_new_privs = 1},
                  "status", "NoNewPrivs");
    ASSERT_STREQ(s, "1\n");
    free(s);
    ASSERT_EQ(test_count_fds(), fds);
    ASSERT_NO_CHILDREN();
  }
}
#endif

/* Windows has none of them: each is refused, naming itself. */
TEST_WINDOWS(limits_refused_on_windows) {
  static const subproc_rlimit one[] = {{2, 0, 0}, SUBPROC_RLIMIT_END};
  const subproc_options opts[] = {
      {.rlimits = one},
      {.parent_death_signal = 9},
      {.no_new_privs = 1},
      {.foreground = 1},
  };
  const subproc_step steps[] = {
      SUBPROC_STEP_RLIMITS, SUBPROC_STEP_PARENT_DEATH_SIGNAL,
      SUBPROC_STEP_NO_NEW_PRIVS, SUBPROC_STEP_FOREGROUND};
  const char *argv[] = {"cmd.exe", "/c", "exit 0", NULL};
  for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
    subproc *p = NULL;
    subproc_error e;
    ASSERT_EQ(subproc_popen(argv, &opts[i], &p, &e), SUBPROC_EINVAL);
    ASSERT(p == NULL);
    ASSERT_EQ(e.step, steps[i]);
    ASSERT_CONTAINS(e.message, "not supported");
  }
}
