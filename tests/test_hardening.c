/* Issue 10's defects, each with a regression test that failed before the
 * fix: real children, every spawn method the defect applies to. */
#ifndef _WIN32 /* POSIX only: /bin/sh, signals, fds, epoll */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#if defined(__has_include)
#if __has_include(<linux/filter.h>) && __has_include(<linux/seccomp.h>)
#include <linux/filter.h>
#include <linux/seccomp.h>
#define HAVE_SECCOMP_HEADERS 1 /* musl-gcc sees no kernel headers */
#endif
#endif
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "subproc.h"
#include "test.h"
#include "testing.h"

/* A generous bound for a machine that is slow (valgrind, load). */
static double slow(double seconds) {
  const char *f = getenv("SUBPROC_TEST_SLOWDOWN");
  double k = f ? atof(f) : 1;
  return seconds * (k > 1 ? k : 1);
}

static const subproc_spawn_method methods[] = {
    SUBPROC_SPAWN_AUTO, SUBPROC_SPAWN_VFORK, SUBPROC_SPAWN_FORK,
    SUBPROC_SPAWN_POSIX_SPAWN};
#define N_METHODS (sizeof methods / sizeof methods[0])

static const char *method_name(subproc_spawn_method m) {
  static const char *const names[] = {"auto", "vfork", "posix_spawn", "fork"};
  return names[m];
}

/* Runs sh -c script with o; stdout captured unless o says otherwise. */
static int sh(const char *script, subproc_options o, subproc_result **r,
              subproc_error *e) {
  const char *argv[] = {"/bin/sh", "-c", script, NULL};
  if (o.out.kind == SUBPROC_INHERIT && !o.capture_output)
    o.out = SUBPROC_REDIRECT_PIPE;
  return subproc_run(argv, &o, r, e);
}

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  ASSERT(f);
  static char buf[4096];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static void sigpipe_default(void) { signal(SIGPIPE, SIG_DFL); }

/* ------------------------------------------------------------------ */
/* 1. Numeric ids                                                      */
/* ------------------------------------------------------------------ */

static void expect_bad_id(subproc_options o, const char *field,
                          const char *id) {
  const char *argv[] = {"/bin/true", NULL};
  subproc *p = NULL;
  subproc_error e;
  int rc = subproc_popen(argv, &o, &p, &e);
  if (rc != SUBPROC_EINVAL)
    TEST_FAIL("%s '%s': %d (%s), want SUBPROC_EINVAL", field, id, rc,
              e.message);
  ASSERT(p == NULL);
  ASSERT_STREQ(subproc_step_name(e.step), field);
  ASSERT_CONTAINS(e.message, id);
}

TEST_POSIX(hard_ids_out_of_range) {
  static const char *const bad[] = {"4294967296", /* wrapped to 0: root */
                                    "4294967295", /* (uid_t)-1: "unchanged" */
                                    "18446744073709551616", /* beyond 64 bits */
                                    "99999999999999999999999",
                                    "-1",
                                    "+0",
                                    " 0",
                                    "0x10",
                                    ""};
  for (size_t m = 0; m < N_METHODS; m++)
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
      const char *groups[] = {bad[i], NULL};
      expect_bad_id(
          (subproc_options){.spawn_method = methods[m], .user = bad[i]}, "user",
          bad[i]);
      expect_bad_id(
          (subproc_options){.spawn_method = methods[m], .group = bad[i]},
          "group", bad[i]);
      expect_bad_id(
          (subproc_options){.spawn_method = methods[m], .extra_groups = groups},
          "extra_groups", bad[i]);
    }
}

TEST_POSIX(hard_ids_largest_valid) {
  if (geteuid() != 0)
    SKIP("needs root to switch ids");
  for (size_t m = 0; m < N_METHODS; m++) {
    const char *groups[] = {"4294967294", NULL};
    subproc_result *r = NULL;
    subproc_error e;
    ASSERT_OK(sh("echo $(id -u) $(id -g) $(id -G)",
                 (subproc_options){.spawn_method = methods[m],
                                   .user = "4294967294",
                                   .group = "4294967294",
                                   .extra_groups = groups},
                 &r, &e),
              &e);
    ASSERT_STREQ(r->out, "4294967294 4294967294 4294967294\n");
    subproc_result_free(r);
  }
}

/* ERANGE from getpwnam_r/getgrnam_r (an entry larger than the buffer, as
 * with large LDAP groups) grows the buffer instead of "no such user". */
TEST_POSIX(hard_ids_database_buffer_grows) {
  subproc__set_test_flags(SUBPROC__TINY_DB_BUFFER);
  const char *groups[] = {"root", NULL};
  subproc_result *r = NULL;
  subproc_error e;
  int rc = sh("id -u",
              (subproc_options){
                  .user = "root", .group = "root", .extra_groups = groups},
              &r, &e);
  subproc__set_test_flags(0);
  if (geteuid() != 0) {
    ASSERT(rc != SUBPROC_EINVAL); /* found; EPERM at setgroups is fine */
    subproc_result_free(r);
    return;
  }
  ASSERT_OK(rc, &e);
  ASSERT_STREQ(r->out, "0\n");
  subproc_result_free(r);
  ASSERT_EQ(
      sh("true", (subproc_options){.user = "no-such-user-subproc"}, &r, &e),
      SUBPROC_EINVAL);
  ASSERT_CONTAINS(e.message, "no such user");
}

/* A group entry larger than the 8 KiB the lookup used to have (large
 * LDAP groups): added to /etc/group for the test, then removed. */
static char group_backup[] = "/etc/group.subproc-test";

static void restore_group_file(void) { rename(group_backup, "/etc/group"); }

TEST_POSIX(hard_ids_large_group_entry) {
  if (geteuid() != 0)
    SKIP("needs root to add a group to /etc/group");
  FILE *in = fopen("/etc/group", "r"), *out = fopen("/etc/group.new", "w");
  ASSERT(in && out);
  char line[65536];
  while (fgets(line, sizeof line, in))
    fputs(line, out);
  fclose(in);
  fputs("subproc-big:x:4242:", out);
  for (int i = 0; i < 2000; i++)
    fprintf(out, "%smember-with-a-long-name-%04d", i ? "," : "", i);
  fputs("\n", out);
  fclose(out);
  ASSERT_EQ(link("/etc/group", group_backup), 0);
  atexit(restore_group_file);
  ASSERT_EQ(rename("/etc/group.new", "/etc/group"), 0);
  const char *groups[] = {"subproc-big", NULL};
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_OK(
      sh("id -G",
         (subproc_options){.group = "subproc-big", .extra_groups = groups}, &r,
         &e),
      &e);
  ASSERT_STREQ(r->out, "4242\n");
  subproc_result_free(r);
}

/* ------------------------------------------------------------------ */
/* 2. Internal fds above 2; error reports checked                      */
/* ------------------------------------------------------------------ */

typedef struct saved_std {
  int fd[2];
} saved_std;

static saved_std close_std01(void) {
  saved_std s;
  fflush(stdout);
  for (int i = 0; i < 2; i++) {
    s.fd[i] = fcntl(i, F_DUPFD_CLOEXEC, 10);
    close(i);
  }
  return s;
}

static void restore_std01(saved_std s) {
  for (int i = 0; i < 2; i++) {
    dup2(s.fd[i], i);
    close(s.fd[i]);
  }
}

static int preexec_ok(void *arg) {
  (void)arg;
  return 0;
}

/* With fds 0 and 1 closed in the parent, stdout to a file and
 * stderr=STDOUT: both lines land in the file, nothing in an error pipe. */
TEST_POSIX(hard_closed_std_fds_stderr_to_stdout) {
  char path[] = "/tmp/subproc-hard-XXXXXX";
  int tmp = mkstemp(path);
  ASSERT(tmp >= 0);
  close(tmp);
  for (size_t m = 0; m < N_METHODS + 1; m++) {
    subproc_options o = {.out = SUBPROC_REDIRECT_PATH(path),
                         .err = SUBPROC_REDIRECT_STDOUT};
    if (m < N_METHODS)
      o.spawn_method = methods[m];
    else
      o.preexec = preexec_ok;
    const char *argv[] = {"/bin/sh", "-c", "echo out; echo err >&2", NULL};
    int code = -1;
    subproc_error e;
    saved_std s = close_std01();
    int rc = subproc_call(argv, &o, &code, &e);
    restore_std01(s);
    ASSERT_OK(rc, &e);
    ASSERT_EQ(code, 0);
    ASSERT_STREQ(read_file(path), "out\nerr\n");
  }
  unlink(path);
}

/* A failing exec is an error at step exec, not a "started" child with
 * the report in its stdout file. */
TEST_POSIX(hard_closed_std_fds_failed_exec) {
  char path[] = "/tmp/subproc-hard-XXXXXX";
  int tmp = mkstemp(path);
  ASSERT(tmp >= 0);
  close(tmp);
  for (size_t m = 0; m < N_METHODS + 1; m++) {
    subproc_options o = {.out = SUBPROC_REDIRECT_PATH(path),
                         .err = SUBPROC_REDIRECT_STDOUT};
    if (m < N_METHODS)
      o.spawn_method = methods[m];
    else
      o.preexec = preexec_ok;
    const char *argv[] = {"/nonexistent/subproc-prog", NULL};
    subproc *p = NULL;
    subproc_error e;
    saved_std s = close_std01();
    int rc = subproc_popen(argv, &o, &p, &e);
    restore_std01(s);
    if (rc != -ENOENT)
      TEST_FAIL("%s: %d (%s)", method_name(o.spawn_method), rc, e.message);
    ASSERT_STREQ(subproc_step_name(e.step), "exec");
    ASSERT_STREQ(read_file(path), "");
  }
  unlink(path);
}

/* stdin=PIPE with fds 0/1 closed: the child must not get the write end of
 * its own stdin as stdout/stderr (cat would never see EOF). */
TEST_POSIX(hard_closed_std_fds_stdin_pipe) {
  for (size_t m = 0; m < N_METHODS + 1; m++) {
    subproc_options o = {.input = "ping",
                         .input_len = 4,
                         .out = SUBPROC_REDIRECT_PIPE,
                         .err = SUBPROC_REDIRECT_STDOUT};
    if (m < N_METHODS)
      o.spawn_method = methods[m];
    else
      o.preexec = preexec_ok;
    const char *argv[] = {"/bin/cat", NULL};
    subproc_result *r = NULL;
    subproc_error e;
    saved_std s = close_std01();
    int rc = subproc_run(argv, &o, &r, &e);
    restore_std01(s);
    ASSERT_OK(rc, &e);
    ASSERT_STREQ(r->out, "ping");
    ASSERT_EQ(r->returncode, 0);
    subproc_result_free(r);
    /* stderr=STDOUT where STDOUT is the parent's own, closed, stdout. */
    o.out = (subproc_redirect){0};
    s = close_std01();
    rc = subproc_run(argv, &o, &r, &e);
    restore_std01(s);
    ASSERT_EQ(rc, -EBADF);
    ASSERT_STREQ(subproc_step_name(e.step), "stderr");
    subproc_result_free(r);
  }
}

/* A preexec that writes to every fd reaches the error pipe: whatever it
 * writes is checked, never parsed blindly. */
static int preexec_scribble(void *arg) {
  const char *what = arg;
  int fake[3] = {99, 5, 0};
  for (int fd = 3; fd < 256; fd++) {
    if (!strcmp(what, "short"))
      write(fd, "junk!", 5);
    else if (!strcmp(what, "step"))
      write(fd, fake, sizeof fake);
  }
  if (!strcmp(what, "step"))
    _exit(127);
  return 0;
}

TEST_POSIX(hard_bad_error_report) {
  static const char *const kinds[] = {"short", "step"};
  for (size_t k = 0; k < 2; k++) {
    const char *argv[] = {"/bin/sleep", "30", NULL};
    subproc *p = NULL;
    subproc_error e;
    double t0 = test_now();
    int rc = subproc_popen(argv,
                           &(subproc_options){.preexec = preexec_scribble,
                                              .preexec_arg = (void *)kinds[k]},
                           &p, &e);
    ASSERT_EQ(rc, SUBPROC_ESUBPROCESS);
    ASSERT_CONTAINS(e.message, "bad error report from child");
    /* The child (maybe running sleep) was killed, not waited for. */
    ASSERT(test_now() - t0 < 20);
  }
}

/* ------------------------------------------------------------------ */
/* 3. PID and PGID reuse                                               */
/* ------------------------------------------------------------------ */

static int zombie(long pid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f)
    return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *close_paren = strrchr(buf, ')');
  return close_paren && close_paren[1] == ' ' && close_paren[2] == 'Z';
}

/* A process with exactly this pid (made by setting ns_last_pid), pausing;
 * in a group of its own when new_group. -1 if the pid could not be had. */
static pid_t decoy_with_pid(pid_t want, int new_group) {
  for (int tries = 0; tries < 200; tries++) {
    FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "w");
    if (!f)
      return -1;
    fprintf(f, "%d", (int)want - 1);
    fclose(f);
    pid_t pid = fork();
    if (pid == 0) {
      if (new_group)
        setpgid(0, 0);
      for (;;)
        pause();
    }
    if (pid == want)
      return pid;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
  }
  return -1;
}

static void reaped_by_someone_else(int new_session) {
  if (geteuid() != 0)
    SKIP("needs root to steer pid allocation (ns_last_pid)");
  const char *argv[] = {"/bin/true", NULL};
  subproc *p = NULL;
  subproc_error e;
  ASSERT_OK(subproc_popen(argv,
                          &(subproc_options){.start_new_session = new_session},
                          &p, &e),
            &e);
  if (subproc__test_pidfd(p) < 0)
    SKIP("no pidfds on this kernel: the pid is used, as in Python");
  pid_t pid = (pid_t)subproc_pid(p);
  while (!zombie(pid))
    usleep(1000);
  ASSERT_EQ(waitpid(pid, NULL, 0), pid); /* an event loop's waitpid(-1) */
  pid_t decoy = decoy_with_pid(pid, new_session);
  if (decoy < 0)
    SKIP("could not get pid %d back", (int)pid);
  if (new_session) {
    ASSERT_EQ(subproc_send_signal_group(p, SIGKILL), -ESRCH);
  } else {
    ASSERT_OK(subproc_kill(p), NULL);
  }
  usleep(20000);
  ASSERT_EQ(waitpid(decoy, NULL, WNOHANG), 0); /* the decoy lives */
  int rc = -1;
  int w = subproc_wait(p, 5.0, &rc, &e);
  ASSERT(w == 0 || w == -ECHILD); /* the real status, or "lost": promptly */
  if (w == 0)
    ASSERT_EQ(rc, 0);
  ASSERT_EQ(waitpid(decoy, NULL, WNOHANG), 0);
  subproc_free(p);
  kill(decoy, SIGKILL);
  waitpid(decoy, NULL, 0);
}

TEST_POSIX(hard_pid_reuse_kill_and_wait) { reaped_by_someone_else(0); }
TEST_POSIX(hard_pgid_reuse_send_signal_group) { reaped_by_someone_else(1); }

/* A pipeline's kill-all after a stage leader exited: the zombie leader
 * keeps its group id, so a grandchild in the group dies too. */
TEST_POSIX(hard_pipeline_kill_reaches_group_of_exited_stage) {
  const char *s1[] = {"/bin/sh", "-c", "sleep 30 & exit 0", NULL};
  const char *s2[] = {"/bin/sleep", "30", NULL};
  const char *const *argvs[] = {s1, s2};
  const subproc_options *stage[2] = {&(subproc_options){.start_new_session = 1},
                                     NULL};
  subproc_pipeline_result *r = NULL;
  subproc_error e;
  double t0 = test_now();
  ASSERT_EQ(subproc_pipeline(argvs, 2, &(subproc_options){.timeout = 0.5},
                             stage, &r, &e),
            SUBPROC_ETIMEDOUT);
  ASSERT(test_now() - t0 < slow(10));
  ASSERT(r->timed_out);
  subproc_pipeline_result_free(r);
}

/* ------------------------------------------------------------------ */
/* 5. preexec changes to the environment                               */
/* ------------------------------------------------------------------ */

static int preexec_setenv(void *arg) {
  (void)arg;
  char name[32];
  /* Enough new variables that environ is reallocated. */
  for (int i = 0; i < 300; i++) {
    snprintf(name, sizeof name, "SUBPROC_FILL_%d", i);
    setenv(name, "x", 1);
  }
  return setenv("SUBPROC_FROM_PREEXEC", "yes", 1) == 0 ? 0 : errno;
}

TEST_POSIX(hard_preexec_environment_kept) {
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_OK(sh("echo $SUBPROC_FROM_PREEXEC $SUBPROC_FILL_299",
               (subproc_options){.preexec = preexec_setenv}, &r, &e),
            &e);
  ASSERT_STREQ(r->out, "yes x\n");
  subproc_result_free(r);
  ASSERT(getenv("SUBPROC_FROM_PREEXEC") == NULL); /* the child's only */
}

/* ------------------------------------------------------------------ */
/* 6-8, 10. FILE streams                                               */
/* ------------------------------------------------------------------ */

static subproc *start(const char *const *argv, subproc_options o) {
  subproc *p = NULL;
  subproc_error e;
  ASSERT_OK(subproc_popen(argv, &o, &p, &e), &e);
  return p;
}

/* Writing to a child that has exited is EPIPE, never SIGPIPE. */
TEST_POSIX(hard_stream_write_no_sigpipe) {
  sigpipe_default();
  for (int text = 0; text <= 1; text++) {
    const char *argv[] = {"/bin/true", NULL};
    subproc *p = start(
        argv, (subproc_options){.in = SUBPROC_REDIRECT_PIPE, .text = text});
    ASSERT_OK(subproc_wait(p, 30, NULL, NULL), NULL);
    FILE *f = subproc_stream(p, 0);
    ASSERT(f);
    static char block[65536];
    memset(block, 'x', sizeof block);
    errno = 0;
    size_t n = fwrite(block, 1, sizeof block, f);
    int flushed = fflush(f);
    ASSERT(n < sizeof block || flushed != 0);
    ASSERT_EQ(errno, EPIPE);
    ASSERT_EQ(subproc_close_stream(p, 0), 0); /* the error was reported */
    subproc_free(p);
  }
}

static int readable_within(int fd, int ms) {
  struct pollfd pfd = {.fd = fd, .events = POLLIN};
  return poll(&pfd, 1, ms) == 1;
}

/* bufsize > 1 is a buffer of that size: 50,000 bytes stay in it. */
TEST_POSIX(hard_stream_bufsize_allocated) {
  const char *argv[] = {"/bin/cat", NULL};
  for (long bufsize = 0; bufsize <= 100000; bufsize += 100000) {
    subproc *p = start(argv, (subproc_options){.in = SUBPROC_REDIRECT_PIPE,
                                               .out = SUBPROC_REDIRECT_PIPE,
                                               .bufsize = bufsize});
    FILE *f = subproc_stream(p, 0);
    static char block[50000];
    memset(block, 'b', sizeof block);
    ASSERT_EQ(fwrite(block, 1, sizeof block, f), sizeof block);
    int early = readable_within(subproc_fd(p, 1), 300);
    if (bufsize)
      ASSERT(!early); /* nothing written yet */
    else
      ASSERT(early); /* the default buffer (BUFSIZ) flushed some */
    ASSERT_OK(subproc_close_stream(p, 0), NULL);
    subproc_result *r = NULL;
    subproc_error e;
    ASSERT_OK(subproc_communicate(p, NULL, 0, 30, &r, &e), &e);
    ASSERT_EQ(r->out_len, sizeof block);
    subproc_result_free(r);
    subproc_free(p);
  }
}

/* What fgets read ahead comes first in communicate's output. */
TEST_POSIX(hard_stream_read_ahead_kept) {
  const char *argv[] = {"/bin/sh", "-c",
                        "echo first; echo second; head -c 200000 /dev/zero "
                        "| tr '\\0' z; echo; echo last",
                        NULL};
  for (int text = 0; text <= 1; text++) {
    subproc *p = start(
        argv, (subproc_options){.out = SUBPROC_REDIRECT_PIPE, .text = text});
    char line[64];
    ASSERT(fgets(line, sizeof line, subproc_stream(p, 1)));
    ASSERT_STREQ(line, "first\n");
    subproc_result *r = NULL;
    subproc_error e;
    ASSERT_OK(subproc_communicate(p, NULL, 0, 30, &r, &e), &e);
    ASSERT_EQ(r->out_len, strlen("second\n") + 200000 + strlen("\nlast\n"));
    ASSERT(!strncmp(r->out, "second\nzzz", 10));
    ASSERT_STREQ(r->out + r->out_len - 6, "\nlast\n");
    subproc_result_free(r);
    subproc_free(p);
  }
}

/* free() while the child is blocked writing stdout and stdin holds
 * unflushed data: returns at once instead of waiting forever. */
TEST_POSIX(hard_free_never_blocks) {
  const char *argv[] = {"/bin/sh", "-c", "head -c 10000000 /dev/zero", NULL};
  subproc *p = start(argv, (subproc_options){.in = SUBPROC_REDIRECT_PIPE,
                                             .out = SUBPROC_REDIRECT_PIPE,
                                             .bufsize = 1 << 20});
  alarm((unsigned)slow(30)); /* the old free hung: fail, do not hang */
  FILE *f = subproc_stream(p, 0);
  static char block[300000]; /* more than the stdin pipe holds */
  memset(block, 'n', sizeof block);
  fwrite(block, 1, sizeof block, f); /* stays in the FILE buffer */
  usleep(100000); /* the child fills the stdout pipe and blocks */
  subproc_free(p);
  alarm(0);
  for (int i = 0; i < 1000 && subproc_reap_orphans() > 0; i++)
    usleep(10000);
  ASSERT_EQ(subproc_reap_orphans(), 0);
}

/* ------------------------------------------------------------------ */
/* 9. A strict decoding error                                          */
/* ------------------------------------------------------------------ */

TEST_POSIX(hard_decode_error_keeps_status_and_other_stream) {
  /* stdout ends (and fails to decode) while the child still runs */
  const char *script =
      "printf 'ok\\377'; exec 1>&-; sleep 0.3; printf late >&2; exit 3";
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_EQ(
      sh(script, (subproc_options){.capture_output = 1, .text = 1}, &r, &e),
      SUBPROC_EDECODE);
  ASSERT_EQ(e.offset, 2);
  ASSERT(r != NULL);
  ASSERT_EQ(r->returncode, 3); /* not -9: the child was not killed */
  ASSERT_STREQ(r->err, "late");
  subproc_result_free(r);
}

/* ------------------------------------------------------------------ */
/* 11. A kill that fails                                               */
/* ------------------------------------------------------------------ */

/* kill(2) and friends fail with EPERM from here on (this process only). */
#if defined(HAVE_SECCOMP_HEADERS)
static void deny_kill(void) {
#define DENY(nr)                                                               \
  BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1),                             \
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM)
  struct sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      DENY(SYS_kill),
      DENY(SYS_tgkill),
      DENY(SYS_tkill),
#ifdef SYS_pidfd_send_signal
      DENY(SYS_pidfd_send_signal),
#endif
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
#undef DENY
  struct sock_fprog prog = {.len = sizeof code / sizeof code[0],
                            .filter = code};
  ASSERT_EQ(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
  ASSERT_EQ(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), 0);
}
#else
static void deny_kill(void) {}
#endif

static void report_pid(void *arg, long pid) {
  write(*(int *)arg, &pid, sizeof pid);
}

TEST_POSIX(hard_failed_kill_reported_at_once) {
#if !defined(HAVE_SECCOMP_HEADERS)
  SKIP("no <linux/seccomp.h> here");
#endif
  int pp[2];
  ASSERT_EQ(pipe(pp), 0);
  pid_t tester = fork();
  if (tester == 0) {
    deny_kill();
    const char *argv[] = {"/bin/sleep", "60", NULL};
    subproc_result *r = NULL;
    subproc_error e;
    int rc = subproc_run(argv,
                         &(subproc_options){.timeout = 0.05,
                                            .on_spawn = report_pid,
                                            .on_spawn_arg = &pp[1]},
                         &r, &e);
    _exit(rc == -EPERM && !strcmp(subproc_step_name(e.step), "kill") && r &&
                  r->timed_out
              ? 0
              : 1);
  }
  close(pp[1]);
  long child = 0;
  ASSERT_EQ(read(pp[0], &child, sizeof child), (ssize_t)sizeof child);
  close(pp[0]);
  double t0 = test_now();
  int st;
  ASSERT_EQ(waitpid(tester, &st, 0), tester);
  ASSERT(test_now() - t0 < slow(20)); /* not the child's 60 s */
  kill((pid_t)child, SIGKILL);
  ASSERT(WIFEXITED(st));
  ASSERT_EQ(WEXITSTATUS(st), 0);
}

/* ------------------------------------------------------------------ */
/* 12-13. Calls that used to hang                                      */
/* ------------------------------------------------------------------ */

TEST_POSIX(hard_pipeline_inner_stderr_pipe_refused) {
  const char *a[] = {"/bin/echo", "x", NULL}, *b[] = {"/bin/cat", NULL};
  const char *const *argvs[] = {a, b};
  const subproc_options *stage[2] = {
      &(subproc_options){.err = SUBPROC_REDIRECT_PIPE}, NULL};
  subproc_pipeline_result *r = NULL;
  subproc_error e;
  ASSERT_EQ(subproc_pipeline(argvs, 2, NULL, stage, &r, &e), SUBPROC_EINVAL);
  ASSERT_STREQ(subproc_step_name(e.step), "stderr");
  ASSERT_CONTAINS(e.message, "stage 0");
}

TEST_POSIX(hard_wait_any_only_null) {
  subproc *procs[3] = {NULL, NULL, NULL};
  size_t index;
  subproc_error e;
  ASSERT_EQ(subproc_wait_any(procs, 3, SUBPROC_FOREVER, &index, &e),
            SUBPROC_EINVAL);
}

/* ------------------------------------------------------------------ */
/* 14. Many freed running children                                     */
/* ------------------------------------------------------------------ */

TEST_POSIX(hard_orphans_bounded_and_reaped) {
  enum { N = 1500 };
  int gate[2];
  ASSERT_EQ(pipe2(gate, O_CLOEXEC), 0);
  const char *argv[] = {"/bin/cat", NULL};
  for (int i = 0; i < N; i++) {
    subproc *p =
        start(argv, (subproc_options){.in = SUBPROC_REDIRECT_FD(gate[0])});
    subproc_free(p); /* still running: an orphan */
  }
  ASSERT_EQ(subproc_reap_orphans(), N);
  close(gate[1]); /* they all see EOF and exit */
  close(gate[0]);
  int left = N;
  for (int i = 0; i < 3000 && left > 0; i++) {
    left = subproc_reap_orphans();
    usleep(10000);
  }
  ASSERT_EQ(left, 0);
}

/* ------------------------------------------------------------------ */
/* 15. Two threads waiting on one child (CPython's test_threadsafe_wait) */
/* ------------------------------------------------------------------ */

typedef struct waiter {
  subproc *p;
  int first_poll, after_wait, after_second_wait;
} waiter;

static void *kill_then_wait(void *arg) {
  waiter *w = arg;
  usleep(200000);
  w->first_poll = subproc_poll(w->p, NULL);
  subproc_kill(w->p);
  int rc = 0;
  subproc_wait(w->p, SUBPROC_FOREVER, &rc, NULL);
  w->after_wait = rc;
  subproc_wait(w->p, SUBPROC_FOREVER, &rc, NULL);
  w->after_second_wait = rc;
  return NULL;
}

TEST_POSIX(hard_threadsafe_wait) {
  for (size_t m = 0; m < N_METHODS; m++) {
    const char *argv[] = {"/bin/sleep", "12", NULL};
    waiter w = {.p =
                    start(argv, (subproc_options){.spawn_method = methods[m]})};
    ASSERT_EQ(subproc_returncode(w.p), SUBPROC_NO_RETURNCODE);
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, kill_then_wait, &w), 0);
    int rc = 0;
    subproc_error e;
    ASSERT_OK(subproc_wait(w.p, SUBPROC_FOREVER, &rc, &e), &e);
    pthread_join(t, NULL);
    ASSERT_EQ(rc, -SIGKILL);
    ASSERT_EQ(w.first_poll, 0);
    ASSERT_EQ(w.after_wait, -SIGKILL);
    ASSERT_EQ(w.after_second_wait, -SIGKILL);
    ASSERT_EQ(subproc_returncode(w.p), -SIGKILL);
    subproc_free(w.p);
  }
}

/* ------------------------------------------------------------------ */
/* 16. A stopped (traced) child                                        */
/* ------------------------------------------------------------------ */

TEST_POSIX(hard_stopped_child_returncode) {
  /* PTRACE_TRACEME then SIGSTOP: the parent's wait sees the stop. */
  const char *argv[] = {
      "python3", "-c",
      "import ctypes, os, signal\n"
      "ctypes.CDLL(None, use_errno=True).ptrace(0, 0, None, None)\n"
      "os.kill(os.getpid(), signal.SIGSTOP)\n",
      NULL};
  subproc *p = start(argv, (subproc_options){0});
  int rc = 0;
  subproc_error e;
  /* A blocking wait, as Python's wait(): a timed one polls the pidfd,
   * which only an exit makes readable, and sees the stop at its end. */
  ASSERT_OK(subproc_wait(p, SUBPROC_FOREVER, &rc, &e), &e);
  ASSERT_EQ(rc, -SIGSTOP); /* Python: -WSTOPSIG, not the raw 4991 */
  pid_t pid = (pid_t)subproc_pid(p);
  subproc_free(p);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
}

/* ------------------------------------------------------------------ */
/* 17. close() reports EPIPE, after waiting                            */
/* ------------------------------------------------------------------ */

TEST_POSIX(hard_close_reports_broken_pipe) {
  sigpipe_default();
  const char *argv[] = {"/bin/true", NULL};
  subproc *p = start(argv, (subproc_options){.in = SUBPROC_REDIRECT_PIPE});
  fputs("lost", subproc_stream(p, 0)); /* stays in the FILE buffer */
  ASSERT_OK(subproc_wait(p, 30, NULL, NULL), NULL);
  int code = -1;
  ASSERT_EQ(subproc_close(p, &code), -EPIPE); /* BrokenPipeError */
  ASSERT_EQ(code, 0);                         /* and it waited */
  ASSERT_EQ(subproc_returncode(p), 0);
  subproc_free(p);
}

/* ------------------------------------------------------------------ */
/* 20. posix_spawn's failures attributed to their step                 */
/* ------------------------------------------------------------------ */

TEST_POSIX(hard_failure_steps_every_method) {
  for (size_t m = 0; m < N_METHODS; m++) {
    subproc *p = NULL;
    subproc_error e;
    const char *argv[] = {"/bin/true", NULL};
    /* Group 1 is init's, in another session: setpgid gives EPERM. */
    int rc = subproc_popen(argv,
                           &(subproc_options){.spawn_method = methods[m],
                                              .set_process_group = 1,
                                              .process_group = 1},
                           &p, &e);
    if (rc != -EPERM)
      TEST_FAIL("%s: %d (%s)", method_name(methods[m]), rc, e.message);
    ASSERT_STREQ(subproc_step_name(e.step), "setpgid");
    rc = subproc_popen(argv,
                       &(subproc_options){.spawn_method = methods[m],
                                          .cwd = "/nonexistent-subproc-dir"},
                       &p, &e);
    ASSERT_EQ(rc, -ENOENT);
    ASSERT_STREQ(subproc_step_name(e.step), "chdir");
  }
}

/* An EACCES entry early on PATH does not stop the search (os.execvpe). */
TEST_POSIX(hard_path_search_past_eacces) {
  char dir[] = "/tmp/subproc-path-XXXXXX";
  ASSERT(mkdtemp(dir));
  char a[512], b[512], prog[600], path[1100];
  snprintf(a, sizeof a, "%s/a", dir);
  snprintf(b, sizeof b, "%s/b", dir);
  mkdir(a, 0755);
  mkdir(b, 0755);
  snprintf(prog, sizeof prog, "%s/prog", a);
  FILE *f = fopen(prog, "w");
  fputs("#!/bin/sh\necho wrong\n", f);
  fclose(f);
  chmod(prog, 0644); /* not executable: EACCES */
  snprintf(prog, sizeof prog, "%s/prog", b);
  f = fopen(prog, "w");
  fputs("#!/bin/sh\necho right\n", f);
  fclose(f);
  chmod(prog, 0755);
  snprintf(path, sizeof path, "PATH=%s:%s", a, b);
  const char *env[] = {path, NULL};
  for (size_t m = 0; m < N_METHODS; m++) {
    const char *argv[] = {"prog", NULL};
    subproc_result *r = NULL;
    subproc_error e;
    ASSERT_OK(subproc_run(argv,
                          &(subproc_options){.spawn_method = methods[m],
                                             .env = env,
                                             .out = SUBPROC_REDIRECT_PIPE},
                          &r, &e),
              &e);
    ASSERT_STREQ(r->out, "right\n");
    subproc_result_free(r);
  }
  snprintf(prog, sizeof prog, "rm -rf %s", dir);
  ASSERT_EQ(system(prog), 0);
}

/* ------------------------------------------------------------------ */
/* 21. Bad values and EINTR                                            */
/* ------------------------------------------------------------------ */

TEST_POSIX(hard_bad_values) {
  const char *argv[] = {"/bin/true", NULL};
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_EQ(subproc_run(argv, &(subproc_options){.timeout = NAN}, &r, &e),
            SUBPROC_EINVAL);
  ASSERT_STREQ(subproc_step_name(e.step), "timeout");
  ASSERT_EQ(subproc_run(argv, &(subproc_options){.wait_delay = NAN}, &r, &e),
            SUBPROC_EINVAL);
#if LONG_MAX > INT_MAX /* where a long can hold it */
  ASSERT_EQ(subproc_run(argv,
                        &(subproc_options){.pipesize = (long)INT_MAX + 1,
                                           .out = SUBPROC_REDIRECT_PIPE},
                        &r, &e),
            SUBPROC_EINVAL);
  ASSERT_STREQ(subproc_step_name(e.step), "pipesize");
#endif
  const int neg[] = {-2, -1};
  ASSERT_EQ(subproc_run(argv, &(subproc_options){.pass_fds = neg}, &r, &e),
            SUBPROC_EINVAL);
  ASSERT_STREQ(subproc_step_name(e.step), "pass_fds");
  subproc *p = start(argv, (subproc_options){.out = SUBPROC_REDIRECT_PIPE});
  ASSERT_EQ(subproc_wait(p, NAN, NULL, &e), SUBPROC_EINVAL);
  ASSERT_EQ(subproc_communicate(p, NULL, 0, NAN, &r, &e), SUBPROC_EINVAL);
  size_t index;
  ASSERT_EQ(subproc_wait_any(&p, 1, NAN, &index, &e), SUBPROC_EINVAL);
  ASSERT_OK(subproc_wait(p, 30, NULL, &e), &e);
  subproc_free(p);
}

static void on_alarm(int sig) { (void)sig; }

static void *open_fifo_later(void *arg) {
  usleep(300000);
  int fd = open(arg, O_WRONLY | O_CLOEXEC);
  if (fd >= 0) {
    write(fd, "through", 7);
    close(fd);
  }
  return NULL;
}

/* open() of a FIFO blocks until a writer comes; a signal on the way is
 * retried, not an error. */
TEST_POSIX(hard_fifo_open_eintr) {
  char fifo[] = "/tmp/subproc-fifo-XXXXXX";
  int tmp = mkstemp(fifo);
  close(tmp);
  unlink(fifo);
  ASSERT_EQ(mkfifo(fifo, 0600), 0);
  struct sigaction sa = {.sa_handler = on_alarm}; /* no SA_RESTART */
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {.it_interval = {0, 50000}, .it_value = {0, 50000}};
  setitimer(ITIMER_REAL, &it, NULL);
  pthread_t t;
  pthread_create(&t, NULL, open_fifo_later, fifo);
  const char *argv[] = {"/bin/cat", NULL};
  subproc_result *r = NULL;
  subproc_error e;
  int rc = subproc_run(argv,
                       &(subproc_options){.in = SUBPROC_REDIRECT_PATH(fifo),
                                          .out = SUBPROC_REDIRECT_PIPE},
                       &r, &e);
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  pthread_join(t, NULL);
  unlink(fifo);
  ASSERT_OK(rc, &e);
  ASSERT_STREQ(r->out, "through");
  subproc_result_free(r);
}

/* ------------------------------------------------------------------ */
/* 22. A child that joined an existing group                           */
/* ------------------------------------------------------------------ */

TEST_POSIX(hard_joined_group_is_signalled) {
  const char *leader_argv[] = {"/bin/sleep", "30", NULL};
  for (size_t m = 0; m < N_METHODS; m++) {
    subproc *leader =
        start(leader_argv, (subproc_options){.set_process_group = 1});
    long group = subproc_pid(leader);
    const char *argv[] = {"/bin/sleep", "30", NULL};
    subproc *member =
        start(argv, (subproc_options){.spawn_method = methods[m],
                                      .set_process_group = 1,
                                      .process_group = (int)group});
    ASSERT_OK(subproc_send_signal_group(member, SIGKILL), NULL);
    int rc = 0;
    ASSERT_OK(subproc_wait(leader, 30, &rc, NULL), NULL);
    ASSERT_EQ(rc, -SIGKILL); /* group N: the leader too */
    ASSERT_OK(subproc_wait(member, 30, &rc, NULL), NULL);
    ASSERT_EQ(rc, -SIGKILL);
    subproc_free(member);
    subproc_free(leader);
  }
}

TEST_POSIX(hard_joined_group_kill_tree_on_timeout) {
  const char *leader_argv[] = {"/bin/sleep", "30", NULL};
  subproc *leader =
      start(leader_argv, (subproc_options){.set_process_group = 1});
  char script[128];
  snprintf(script, sizeof script, "sleep 30 & sleep 30");
  subproc_result *r = NULL;
  subproc_error e;
  double t0 = test_now();
  ASSERT_EQ(sh(script,
               (subproc_options){.timeout = 0.3,
                                 .set_process_group = 1,
                                 .process_group = (int)subproc_pid(leader)},
               &r, &e),
            SUBPROC_ETIMEDOUT);
  ASSERT(test_now() - t0 < slow(10));
  subproc_result_free(r);
  int rc = 0;
  ASSERT_OK(subproc_wait(leader, 30, &rc, NULL), NULL);
  ASSERT_EQ(rc, -SIGKILL); /* kill_tree (auto: a group was asked for) */
  subproc_free(leader);
}

/* ------------------------------------------------------------------ */
/* 23-24. Python's wording and getstatusoutput                         */
/* ------------------------------------------------------------------ */

TEST_POSIX(hard_called_process_error_signal_names) {
  const char *args[] = {"x", NULL};
  subproc_result r = {.args = args};
  subproc_error e;
  r.returncode = -6;
  ASSERT_EQ(subproc_check_returncode(&r, &e), SUBPROC_ECALLED);
  ASSERT_STREQ(e.message, "Command 'x' died with <Signals.SIGABRT: 6>.");
  r.returncode = -9876543;
  subproc_check_returncode(&r, &e);
  ASSERT_STREQ(e.message, "Command 'x' died with unknown signal 9876543.");
  char want[128];
  r.returncode = -(SIGRTMIN + 1); /* 35 with glibc: Python has no name */
  subproc_check_returncode(&r, &e);
  snprintf(want, sizeof want, "Command 'x' died with unknown signal %d.",
           SIGRTMIN + 1);
  ASSERT_STREQ(e.message, want);
  r.returncode = -SIGRTMIN;
  subproc_check_returncode(&r, &e);
  snprintf(want, sizeof want, "Command 'x' died with <Signals.SIGRTMIN: %d>.",
           SIGRTMIN);
  ASSERT_STREQ(e.message, want);
  r.returncode = -64;
  subproc_check_returncode(&r, &e);
  ASSERT_STREQ(e.message, "Command 'x' died with <Signals.SIGRTMAX: 64>.");
}

TEST_POSIX(hard_getstatusoutput_nul_and_encoding) {
  char *out = NULL;
  size_t len = 0;
  int status = -1;
  subproc_error e;
  ASSERT_OK(subproc_getstatusoutput("printf 'a\\000b\\n'; exit 2", NULL, NULL,
                                    &status, &out, &len, &e),
            &e);
  ASSERT_EQ(status, 2);
  ASSERT_EQ(len, 3);
  ASSERT(!memcmp(out, "a\0b", 4));
  subproc_buffer_free(out);
  ASSERT_OK(subproc_getoutput("printf '\\351t\\351'", "latin-1", NULL, &out,
                              &len, &e),
            &e);
  ASSERT_STREQ(out, "\xc3\xa9t\xc3\xa9"); /* UTF-8 of latin-1's été */
  subproc_buffer_free(out);
  ASSERT_OK(
      subproc_getoutput("printf 'a\\377b'", NULL, "replace", &out, &len, &e),
      &e);
  ASSERT_STREQ(out, "a\xef\xbf\xbd"
                    "b");
  subproc_buffer_free(out);
  ASSERT_EQ(subproc_getoutput("printf 'a\\377b'", NULL, NULL, &out, &len, &e),
            SUBPROC_EDECODE);
  ASSERT(out == NULL);
}

#else
/* Nothing on Windows (ISO C wants a declaration in every file). */
typedef int test_hardening_unused_;
#endif
