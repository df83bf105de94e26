/* The Popen object: spawning, every option, every error, fd hygiene. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#ifndef _WIN32
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "subproc.h"
#include "subproc_config.h"
#include "test.h"
#include "testing.h"
#include "util.h"

static subproc_options none;

/* ---- basics ---- */

TEST(popen_argv_verbatim) {
  char *s = HELPER_OUT(none, "echo", "a b", "$HOME", "*", ";|&", "'\"", "",
                       "h\xc3\xa9llo \xe6\x97\xa5");
  ASSERT_STREQ(s, "a b\n$HOME\n*\n;|&\n'\"\n\nh\xc3\xa9llo \xe6\x97\xa5\n");
  free(s);
}

/* The child sees exactly the argv that was given (on Windows: its C
 * runtime decodes list2cmdline's command line back into it). */
TEST(popen_argv_round_trip) {
  const char *argv[64] = {test_helper, "argv"};
  size_t n = 2;
  for (size_t i = 0; tricky_args[i]; i++)
    argv[n++] = tricky_args[i];
  argv[n] = NULL;
  subproc_result *r = run_ok(argv, (subproc_options){.capture_output = 1});
  ASSERT_EQ(r->returncode, 0);
  char *p = r->out, buf[4096];
  for (size_t i = 0; i < n; i++) {
    ASSERT(next_hex_line(&p, buf) != NULL);
    ASSERT_STREQ(buf, argv[i]);
  }
  ASSERT_STREQ(p, "");
  subproc_result_free(r);
}

TEST(popen_exit_status) {
  const char *argv[] = {test_helper, "exit", "3", NULL};
  subproc *p = start(argv, NULL);
  subproc_error e;
  ASSERT(subproc_pid(p) > 0);
  ASSERT_EQ(subproc_returncode(p), SUBPROC_NO_RETURNCODE);
  int rc = -1;
  ASSERT_OK(subproc_wait(p, SUBPROC_FOREVER, &rc, &e), &e);
  ASSERT_EQ(rc, 3);
  ASSERT_EQ(subproc_returncode(p), 3);
  subproc_free(p);
}

TEST_POSIX(popen_signal_status) {
  const char *argv[] = {test_helper, "raise", "9", NULL};
  int rc = 0;
  subproc_error e;
  ASSERT_OK(subproc_call(argv, NULL, &rc, &e), &e);
  ASSERT_EQ(rc, -9);
}

TEST_POSIX(popen_shell_string) {
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_run_cmd("echo $((1+2)) | tr 3 x",
                            &(subproc_options){.shell = 1, .capture_output = 1},
                            &r, &e),
            &e);
  ASSERT_STREQ(r->out, "x\n");
  ASSERT_STREQ(r->args[0], "/bin/sh");
  ASSERT_STREQ(r->args[1], "-c");
  subproc_result_free(r);
}

TEST_POSIX(popen_shell_extra_args) {
  /* Popen(['echo $0 $1', 'a', 'b'], shell=True): extra items are $0, $1. */
  const char *argv[] = {"echo \"$0\" \"$1\"", "a", "b c", NULL};
  subproc_result *r =
      run_ok(argv, (subproc_options){.shell = 1, .capture_output = 1});
  ASSERT_STREQ(r->out, "a b c\n");
  subproc_result_free(r);
}

TEST_POSIX(popen_shell_executable) {
  const char *argv[] = {"echo $0", NULL};
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_run(argv,
                        &(subproc_options){.shell = 1,
                                           .executable = "/bin/sh",
                                           .capture_output = 1},
                        &r, &e),
            &e);
  ASSERT_STREQ(r->args[0], "/bin/sh");
  subproc_result_free(r);
  /* A replacement shell that does not exist names itself in the error. */
  ASSERT_EQ(subproc_run(
                argv,
                &(subproc_options){.shell = 1, .executable = "/nonexistent/sh"},
                &r, &e),
            -ENOENT);
  ASSERT_STREQ(e.path, "/nonexistent/sh");
  subproc_result_free(r);
}

TEST(popen_executable_keeps_argv0) {
  const char *argv[] = {"fakename", "argv0", NULL};
  subproc_result *r = run_ok(
      argv, (subproc_options){.capture_output = 1, .executable = test_helper});
  ASSERT_STREQ(r->out, "fakename\n");
  subproc_result_free(r);
}

TEST(popen_cmd_is_program_without_shell) {
  subproc *p = NULL;
  subproc_error e;
  /* Without shell the whole string is the program name, not a command. */
  ASSERT_EQ(subproc_popen_cmd("echo hi", NULL, &p, &e), -ENOENT);
  ASSERT_STREQ(subproc_step_name(e.step), "exec");
  ASSERT_STREQ(e.path, "echo hi");
  ASSERT_OK(subproc_popen_cmd(test_helper, NULL, &p, &e), &e);
  int rc;
  ASSERT_OK(subproc_wait(p, SUBPROC_FOREVER, &rc, &e), &e);
  ASSERT_EQ(rc, 2); /* the helper without a mode: usage error */
  subproc_free(p);
}

/* ---- PATH search (POSIX: os.execvpe's rules) ---- */

static char helper_dir[4096];
static const char *helper_base(void) {
  snprintf(helper_dir, sizeof helper_dir, "%s", test_helper);
  char *slash = strrchr(helper_dir, '/');
  *slash = '\0';
  return slash + 1;
}

TEST_POSIX(popen_path_from_child_env) {
  const char *base = helper_base();
  char path[4200];
  snprintf(path, sizeof path, "PATH=/nonexistent:%s", helper_dir);
  const char *env[] = {path, NULL};
  const char *argv[] = {base, "echo", "found", NULL};
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_run(argv,
                        &(subproc_options){.env = env, .capture_output = 1}, &r,
                        &e),
            &e);
  ASSERT_STREQ(r->out, "found\n");
  subproc_result_free(r);
  /* An env without PATH searches os.defpath (/bin:/usr/bin) only. */
  const char *env2[] = {"X=1", NULL};
  ASSERT_EQ(subproc_run(argv, &(subproc_options){.env = env2}, &r, &e),
            -ENOENT);
  ASSERT_STREQ(e.path, base);
  subproc_result_free(r);
}

#ifndef _WIN32
TEST_POSIX(popen_relative_executable_uses_cwd) {
  const char *base = helper_base();
  char rel[4200];
  snprintf(rel, sizeof rel, "./%s", base);
  const char *argv[] = {rel, "cwd", NULL};
  subproc_result *r =
      run_ok(argv, (subproc_options){.cwd = helper_dir, .capture_output = 1});
  char want[4300];
  char real[4096];
  ASSERT(realpath(helper_dir, real));
  snprintf(want, sizeof want, "%s\n", real);
  ASSERT_STREQ(r->out, want);
  subproc_result_free(r);
}

TEST_POSIX(popen_path_eacces_reported_first) {
  /* A non-executable candidate earlier on PATH: EACCES, as execvp says. */
  char *file = test_temp_path("prog");
  test_write_file(file, "#!/bin/sh\necho no\n");
  chmod(file, 0644);
  char path[4200];
  snprintf(path, sizeof path, "PATH=%s:/bin:/usr/bin", test_temp_dir());
  const char *env[] = {path, NULL};
  const char *argv[] = {"prog", NULL};
  subproc_result *r = NULL;
  subproc_error e;
  int rc = subproc_run(argv, &(subproc_options){.env = env}, &r, &e);
  test_remove_file(file);
  free(file);
  if (geteuid() == 0 && rc == 0)
    SKIP("root may execute a file without x bits on this filesystem");
  ASSERT_EQ(rc, -EACCES);
  ASSERT_STREQ(subproc_step_name(e.step), "exec");
  subproc_result_free(r);
}
#endif

/* ---- errors with a step and a path ---- */

TEST(popen_not_found) {
  const char *argv[] = {"subproc-no-such-program", NULL};
  subproc *p = (subproc *)1;
  subproc_error e;
  ASSERT_EQ(subproc_popen(argv, NULL, &p, &e), -ENOENT);
  ASSERT(p == NULL);
  ASSERT_EQ(e.code, -ENOENT);
  ASSERT_STREQ(subproc_step_name(e.step), "exec");
  ASSERT_STREQ(e.path, "subproc-no-such-program");
  ASSERT_OS_MESSAGE(e.message, "exec 'subproc-no-such-program'", ENOENT);
#ifdef _WIN32
  ASSERT_CONTAINS(e.message, "[WinError 2]"); /* ERROR_FILE_NOT_FOUND */
#else
  ASSERT_EQ(e.os_errno, ENOENT);
#endif
}

#ifndef _WIN32
TEST_POSIX(popen_not_executable) {
  char *file = test_temp_path("noexec");
  test_write_file(file, "");
  chmod(file, 0644);
  const char *argv[] = {file, NULL};
  subproc *p = NULL;
  subproc_error e;
  int rc = subproc_popen(argv, NULL, &p, &e);
  test_remove_file(file);
  ASSERT_EQ(rc, -EACCES);
  ASSERT_STREQ(subproc_step_name(e.step), "exec");
  ASSERT_STREQ(e.path, file);
  free(file);
}
#endif

TEST_POSIX(popen_directory_as_executable) {
  const char *argv[] = {"/tmp", NULL};
  subproc *p = NULL;
  subproc_error e;
  ASSERT_EQ(subproc_popen(argv, NULL, &p, &e), -EACCES);
  ASSERT_STREQ(e.message, "exec '/tmp': Permission denied");
}

TEST(popen_bad_cwd) {
  const char *argv[] = {test_helper, "exit", "0", NULL};
  subproc *p = NULL;
  subproc_error e;
  ASSERT_EQ(subproc_popen(argv,
                          &(subproc_options){.cwd = "/nope",
                                             .out = SUBPROC_REDIRECT_PIPE},
                          &p, &e),
            TEST_EBADCWD);
  ASSERT_STREQ(subproc_step_name(e.step), "chdir");
  ASSERT_STREQ(e.path, "/nope");
  ASSERT_OS_MESSAGE(e.message, "chdir '/nope'", -TEST_EBADCWD);
}

TEST(popen_bad_arguments) {
  subproc *p = NULL;
  subproc_error e;
  const char *empty[] = {NULL};
  ASSERT_EQ(subproc_popen(empty, NULL, &p, &e), SUBPROC_EINVAL);
  ASSERT_CONTAINS(e.message, "empty");
  ASSERT_EQ(subproc_popen(NULL, NULL, &p, &e), SUBPROC_EINVAL);
  const char *argv[] = {test_helper, NULL};
  ASSERT_EQ(subproc_popen(argv, NULL, NULL, &e), SUBPROC_EINVAL);
  ASSERT_EQ(subproc_popen(argv,
                          &(subproc_options){.in = SUBPROC_REDIRECT_STDOUT}, &p,
                          &e),
            SUBPROC_EINVAL);
  ASSERT_CONTAINS(e.message, "STDOUT");
  ASSERT_EQ(subproc_popen(argv, &(subproc_options){.pipesize = -2}, &p, &e),
            SUBPROC_EINVAL);
  ASSERT_STREQ(subproc_step_name(e.step), "pipesize");
  ASSERT_EQ(subproc_popen(argv,
                          &(subproc_options){.pass_fds = (const int[]){-5, -1}},
                          &p, &e),
            SUBPROC_EINVAL);
  ASSERT_CONTAINS(e.message, "[0]");
  ASSERT(p == NULL);
}

/* The Windows-only options are refused (windows.unsupported_options: the
 * other way round). */
TEST_POSIX(popen_windows_options_refused) {
  const char *argv[] = {test_helper, NULL};
  subproc *p = NULL;
  subproc_error e;
  ASSERT_EQ(
      subproc_popen(argv, &(subproc_options){.creationflags = 0x10}, &p, &e),
      SUBPROC_EINVAL);
  ASSERT_CONTAINS(e.message, "Windows");
  ASSERT(p == NULL);
}

TEST(popen_bad_env) {
  const char *argv[] = {test_helper, "exit", "0", NULL};
  subproc *p = NULL;
  subproc_error e;
  const char *noeq[] = {"A=1", "NOEQUALS", NULL};
  ASSERT_EQ(subproc_popen(argv, &(subproc_options){.env = noeq}, &p, &e),
            SUBPROC_EINVAL);
  ASSERT_STREQ(subproc_step_name(e.step), "env");
  ASSERT_CONTAINS(e.message, "NOEQUALS");
  const char *noname[] = {"=value", NULL};
  ASSERT_EQ(subproc_popen(argv, &(subproc_options){.env = noname}, &p, &e),
            SUBPROC_EINVAL);
  ASSERT_CONTAINS(e.message, "illegal environment variable name");
}

TEST(popen_bad_fds) {
  const char *argv[] = {test_helper, "exit", "0", NULL};
  subproc *p = NULL;
  subproc_error e;
  ASSERT_EQ(subproc_popen(argv,
                          &(subproc_options){.in = SUBPROC_REDIRECT_PIPE,
                                             .out = SUBPROC_REDIRECT_FD(987)},
                          &p, &e),
            -EBADF);
  ASSERT_STREQ(subproc_step_name(e.step), "stdout");
  ASSERT_EQ(e.fd, 987);
  ASSERT_EQ(
      subproc_popen(
          argv, &(subproc_options){.err = SUBPROC_REDIRECT_FILE(NULL)}, &p, &e),
      SUBPROC_EINVAL);
}

TEST_POSIX(popen_unknown_user_group) {
  const char *argv[] = {test_helper, "exit", "0", NULL};
  subproc *p = NULL;
  subproc_error e;
  ASSERT_EQ(
      subproc_popen(argv, &(subproc_options){.user = "no-such-user-x"}, &p, &e),
      SUBPROC_EINVAL);
  ASSERT_STREQ(subproc_step_name(e.step), "user");
  ASSERT_STREQ(e.message, "user 'no-such-user-x': no such user");
  ASSERT_EQ(subproc_popen(argv, &(subproc_options){.group = "no-such-group-x"},
                          &p, &e),
            SUBPROC_EINVAL);
  ASSERT_STREQ(subproc_step_name(e.step), "group");
  const char *groups[] = {"0", "no-such-group-y", NULL};
  ASSERT_EQ(
      subproc_popen(argv, &(subproc_options){.extra_groups = groups}, &p, &e),
      SUBPROC_EINVAL);
  ASSERT_STREQ(subproc_step_name(e.step), "extra_groups");
  ASSERT_STREQ(e.path, "no-such-group-y");
}

TEST(popen_bad_redirect_path) {
  const char *argv[] = {test_helper, "exit", "0", NULL};
  subproc *p = NULL;
  subproc_error e;
  ASSERT_EQ(subproc_popen(argv,
                          &(subproc_options){
                              .in = SUBPROC_REDIRECT_PATH("/nonexistent/in")},
                          &p, &e),
            -ENOENT);
  ASSERT_STREQ(subproc_step_name(e.step), "open");
  ASSERT_OS_MESSAGE(e.message, "open '/nonexistent/in'", ENOENT);
}

/* ---- redirections ---- */

TEST(popen_devnull) {
  char *s =
      HELPER_OUT(((subproc_options){.in = SUBPROC_REDIRECT_DEVNULL}), "cat");
  ASSERT_STREQ(s, "");
  free(s);
  const char *argv[] = {test_helper, "echo", "lost", NULL};
  subproc_result *r =
      run_ok(argv, (subproc_options){.out = SUBPROC_REDIRECT_DEVNULL});
  ASSERT(r->out == NULL);
  ASSERT(r->err == NULL);
  subproc_result_free(r);
}

TEST(popen_redirect_fd_file_path) {
  char *path = test_temp_path("redir");
  int fd = test_create_file(path);
  const char *argv[] = {test_helper, "outerr", "OUT", "ERR", NULL};
  subproc_error e;
  int rc;
  /* stdout to an fd, stderr to the same place through STDOUT */
  ASSERT_OK(subproc_call(argv,
                         &(subproc_options){.out = SUBPROC_REDIRECT_FD(fd),
                                            .err = SUBPROC_REDIRECT_STDOUT},
                         &rc, &e),
            &e);
  ASSERT_EQ(close(fd), 0);
  ASSERT_FILE_EQ(path, "OUTERR");
  /* FILE *: buffered data written before the spawn comes first */
  FILE *f = fopen(path, "wb");
  fputs("first;", f);
  ASSERT_OK(subproc_call(argv,
                         &(subproc_options){.out = SUBPROC_REDIRECT_FILE(f),
                                            .err = SUBPROC_REDIRECT_DEVNULL},
                         &rc, &e),
            &e);
  fclose(f);
  ASSERT_FILE_EQ(path, "first;OUT");
  /* a path opened for the child, for stdin and for stderr */
  const char *cat[] = {test_helper, "cat2", NULL};
  char *errpath = test_temp_path("redir.err");
  subproc_result *r =
      run_ok(cat, (subproc_options){.in = SUBPROC_REDIRECT_PATH(path),
                                    .out = SUBPROC_REDIRECT_PIPE,
                                    .err = SUBPROC_REDIRECT_PATH(errpath)});
  ASSERT_STREQ(r->out, "first;OUT");
  subproc_result_free(r);
  ASSERT_FILE_EQ(errpath, "first;OUT");
  test_remove_file(errpath);
  test_remove_file(path);
  free(errpath);
  free(path);
}

TEST(popen_stderr_to_stdout_pipe) {
  const char *argv[] = {test_helper, "outerr", "O", "E", NULL};
  subproc_result *r =
      run_ok(argv, (subproc_options){.out = SUBPROC_REDIRECT_PIPE,
                                     .err = SUBPROC_REDIRECT_STDOUT});
  ASSERT_STREQ(r->out, "OE");
  ASSERT(r->err == NULL);
  subproc_result_free(r);
}

#ifndef _WIN32
/* Replace this process's 0, 1, 2 with three files, as CPython's
 * test_swap_fds does, and rotate them for the child. */
TEST_POSIX(popen_swap_std_fds) {
  char *names[3];
  int fds[3];
  for (int i = 0; i < 3; i++) {
    char name[16];
    snprintf(name, sizeof name, "swap%d", i);
    names[i] = test_temp_path(name);
    fds[i] = test_create_file(names[i]);
  }
  int saved[3];
  for (int i = 0; i < 3; i++) {
    saved[i] = dup(i);
    dup2(fds[i], i);
  }
  const char *argv[] = {test_helper, "outerr", "to-stdout", "to-stderr", NULL};
  subproc_error e;
  int rc = -1;
  /* stdout -> our fd 0's file, stderr -> our fd 1's file */
  int r = subproc_call(argv,
                       &(subproc_options){.in = SUBPROC_REDIRECT_FD(2),
                                          .out = SUBPROC_REDIRECT_FD(0),
                                          .err = SUBPROC_REDIRECT_FD(1)},
                       &rc, &e);
  for (int i = 0; i < 3; i++) {
    dup2(saved[i], i);
    close(saved[i]);
  }
  ASSERT_OK(r, &e);
  const char *want[] = {"to-stdout", "to-stderr", ""};
  for (int i = 0; i < 3; i++) {
    ASSERT_FILE_EQ(names[i], want[i]);
    close(fds[i]);
    test_remove_file(names[i]);
    free(names[i]);
  }
}

/* With the parent's 0, 1 and 2 closed, new pipes land on 0..2 (CPython's
 * test_close_fd_* family). */
TEST_POSIX(popen_parent_std_fds_closed) {
  int saved[3];
  for (int i = 0; i < 3; i++)
    saved[i] = fcntl(i, F_DUPFD_CLOEXEC, 10);
  for (int i = 0; i < 3; i++)
    close(i);
  const char *argv[] = {test_helper, "cat2", NULL};
  subproc_result *r = NULL;
  subproc_error e;
  int rc = subproc_run(
      argv,
      &(subproc_options){.input = "ping", .input_len = 4, .capture_output = 1},
      &r, &e);
  for (int i = 0; i < 3; i++) {
    dup2(saved[i], i);
    close(saved[i]);
  }
  ASSERT_OK(rc, &e);
  ASSERT_STREQ(r->out, "ping");
  ASSERT_STREQ(r->err, "ping");
  subproc_result_free(r);
}

/* ---- fds ---- */

TEST_POSIX(popen_close_fds_default) {
  int leak = open("/dev/null", O_RDONLY); /* inheritable on purpose */
  ASSERT(leak > 2);
  char *s = HELPER_OUT(none, "fds");
  ASSERT_STREQ(s, "0 1 2\n");
  free(s);
  /* keep_fds (close_fds=False) lets it through */
  char num[16];
  snprintf(num, sizeof num, "%d", leak);
  s = HELPER_OUT(((subproc_options){.keep_fds = 1}), "isfd", num);
  ASSERT_STREQ(s, "open\n");
  free(s);
  s = HELPER_OUT(none, "isfd", num);
  ASSERT_STREQ(s, "closed\n");
  free(s);
  close(leak);
}

TEST_POSIX(popen_pass_fds) {
  int p[2];
  ASSERT(pipe2(p, O_CLOEXEC) == 0); /* pass_fds makes it inheritable */
  int fds[] = {p[1], -1};
  char num[16];
  snprintf(num, sizeof num, "%d", p[1]);
  char *s = HELPER_OUT(((subproc_options){.pass_fds = fds}), "writefd", num,
                       "secret");
  free(s);
  close(p[1]);
  char buf[32] = {0};
  ASSERT_EQ(read(p[0], buf, sizeof buf), 6);
  ASSERT_STREQ(buf, "secret");
  close(p[0]);
  /* the child sees exactly 0, 1, 2 and the passed fd */
  int q = open("/dev/null", O_RDONLY);
  int other = open("/dev/null", O_RDONLY);
  int keep[] = {q, -1};
  s = HELPER_OUT(((subproc_options){.pass_fds = keep}), "fds");
  char want[32];
  snprintf(want, sizeof want, "0 1 2 %d\n", q);
  ASSERT_STREQ(s, want);
  free(s);
  close(q);
  close(other);
  /* a passed fd that is not open */
  const char *argv[] = {test_helper, "exit", "0", NULL};
  subproc *c = NULL;
  subproc_error e;
  int bad[] = {986, -1};
  ASSERT_EQ(subproc_popen(argv, &(subproc_options){.pass_fds = bad}, &c, &e),
            -EBADF);
  ASSERT_STREQ(subproc_step_name(e.step), "pass_fds");
}
#endif

/* The runner checks that 50 runs leave no fd (handle) open. */
TEST(popen_no_fd_leak) {
  const char *argv[] = {test_helper, "cat2", NULL};
  for (int i = 0; i < 50; i++) {
    subproc_result *r = run_ok(
        argv,
        (subproc_options){.capture_output = 1, .input = "x", .input_len = 1});
    ASSERT_STREQ(r->out, "x");
    subproc_result_free(r);
  }
}

/* The parent's pipe ends are not inheritable: a sibling started with
 * keep_fds (close_fds=False) does not hold the first child's stdin open. */
TEST(popen_pipe_ends_not_inherited) {
  const char *cat[] = {test_helper, "cat", NULL};
  const char *sleeper[] = {test_helper, "sleep", "30", NULL};
  subproc *p = start(cat, &(subproc_options){.in = SUBPROC_REDIRECT_PIPE,
                                             .out = SUBPROC_REDIRECT_PIPE});
  subproc *q = start(sleeper, &(subproc_options){.keep_fds = 1});
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_communicate(p, "ping", 4, test_slow(10), &r, &e), &e);
  ASSERT_STREQ(r->out, "ping");
  subproc_result_free(r);
  subproc_free(p);
  finish_killed(q);
}

/* 4 threads spawn at once: every child gets its own output back, sees EOF
 * on its stdin as soon as its own parent closes it and (POSIX) has only
 * 0, 1, 2 open: no pipe of a sibling spawn leaks into it. */
typedef struct spawner {
  int id;
  char fail[1400];
} spawner;

/* Runs argv with stdout captured and input (may be NULL): 1 if it ran and
 * printed want, else 0 with sp->fail saying why. */
static int spawn_check(spawner *sp, const char *const *argv, const char *input,
                       const char *want) {
  subproc_result *r = NULL;
  subproc_error e;
  int rc =
      subproc_run(argv,
                  &(subproc_options){.input = input,
                                     .input_len = input ? strlen(input) : 0,
                                     .capture_output = 1,
                                     .timeout = test_slow(60)},
                  &r, &e);
  if (rc < 0)
    snprintf(sp->fail, sizeof sp->fail, "%s: %s", argv[1], e.message);
  else if (strcmp(r->out, want) != 0)
    snprintf(sp->fail, sizeof sp->fail, "%s: \"%s\", not \"%s\"", argv[1],
             r->out, want);
  subproc_result_free(r);
  return !sp->fail[0];
}

static void *spawn_thread(void *arg) {
  spawner *sp = arg;
  for (int i = 0; i < 100; i++) {
    char token[32], line[40];
    snprintf(token, sizeof token, "t%d-%d", sp->id, i);
    snprintf(line, sizeof line, "%s\n", token);
    const char *echo[] = {test_helper, "echo", token, NULL};
    const char *cat[] = {test_helper, "cat", NULL};
#ifndef _WIN32
    const char *fds[] = {test_helper, "fds", NULL};
    if (!spawn_check(sp, fds, NULL, "0 1 2\n")) /* a sibling's fd leaked? */
      return sp;
#endif
    if (!spawn_check(sp, echo, NULL, line) || /* crossed output? */
        !spawn_check(sp, cat, token, token))  /* no EOF, crossed input? */
      return sp;
  }
  return NULL;
}

TEST(popen_threads_concurrent) {
  pthread_t t[4];
  spawner sp[4];
  for (int i = 0; i < 4; i++) {
    sp[i] = (spawner){.id = i};
    pthread_create(&t[i], NULL, spawn_thread, &sp[i]);
  }
  for (int i = 0; i < 4; i++) {
    void *res;
    pthread_join(t[i], &res);
    if (res)
      TEST_FAIL("thread %d: %s", i, sp[i].fail);
  }
}

/* ---- options ---- */

TEST(popen_cwd) {
  char *s = HELPER_OUT(((subproc_options){.cwd = test_temp_dir()}), "cwd");
  char want[4200];
  snprintf(want, sizeof want, "%s\n", test_temp_dir());
  ASSERT_STREQ(s, want);
  free(s);
}

TEST_POSIX(popen_cwd_root_and_umask) {
  char *s = HELPER_OUT(((subproc_options){.cwd = "/"}), "cwd");
  ASSERT_STREQ(s, "/\n");
  free(s);
  s = HELPER_OUT(((subproc_options){.set_umask = 1, .umask = 077}), "umask");
  ASSERT_STREQ(s, "077\n");
  free(s);
  s = HELPER_OUT(((subproc_options){.set_umask = 1, .umask = 0}), "umask");
  ASSERT_STREQ(s, "000\n");
  free(s);
}

TEST(popen_env_replaces) {
  const char *env[] = {"FOO=bar baz",
                       "EMPTY=", "GREETING=h\xc3\xa9llo \xe6\x97\xa5", NULL};
  test_setenv("SUBPROC_INHERITED", "yes");
  subproc_options o = {.env = env};
  char *s = HELPER_OUT(o, "env", "FOO");
  ASSERT_STREQ(s, "bar baz\n");
  free(s);
  s = HELPER_OUT(o, "env", "GREETING");
  ASSERT_STREQ(s, "h\xc3\xa9llo \xe6\x97\xa5\n");
  free(s);
  s = HELPER_OUT(o, "env", "SUBPROC_INHERITED");
  ASSERT_STREQ(s, "<unset>\n");
  free(s);
#ifndef _WIN32
  /* Exactly the given block, in order (Windows sorts it and adds to it:
   * windows.env_block). */
  s = HELPER_OUT(o, "environ");
  ASSERT_STREQ(s, "FOO=bar baz\nEMPTY=\nGREETING=h\xc3\xa9llo \xe6\x97\xa5\n");
  free(s);
#endif
  /* Without env, the parent's own. */
  s = HELPER_OUT(none, "env", "SUBPROC_INHERITED");
  ASSERT_STREQ(s, "yes\n");
  free(s);
}

#ifndef _WIN32
TEST_POSIX(popen_new_session_and_group) {
  int pid, pgid, sid;
  char *s = HELPER_OUT(((subproc_options){.start_new_session = 1}), "sid");
  ASSERT_EQ(sscanf(s, "%d %d %d", &pid, &pgid, &sid), 3);
  ASSERT_EQ(sid, pid);
  ASSERT_EQ(pgid, pid);
  free(s);
  s = HELPER_OUT(
      ((subproc_options){.set_process_group = 1, .process_group = 0}), "sid");
  ASSERT_EQ(sscanf(s, "%d %d %d", &pid, &pgid, &sid), 3);
  ASSERT_EQ(pgid, pid);
  ASSERT_EQ(sid, getsid(0));
  free(s);
  s = HELPER_OUT(none, "sid");
  ASSERT_EQ(sscanf(s, "%d %d %d", &pid, &pgid, &sid), 3);
  ASSERT_EQ(pgid, getpgid(0));
  free(s);
  /* kill_tree=ON puts the child in a group of its own */
  s = HELPER_OUT(((subproc_options){.kill_tree = SUBPROC_KILL_TREE_ON}), "sid");
  ASSERT_EQ(sscanf(s, "%d %d %d", &pid, &pgid, &sid), 3);
  ASSERT_EQ(pgid, pid);
  free(s);
  /* no such group */
  const char *argv[] = {test_helper, "exit", "0", NULL};
  subproc *p = NULL;
  subproc_error e;
  ASSERT_EQ(subproc_popen(
                argv,
                &(subproc_options){.set_process_group = 1, .process_group = -5},
                &p, &e),
            SUBPROC_EINVAL);
  ASSERT(p == NULL);
}

TEST_POSIX(popen_user_group_as_root) {
  if (geteuid() != 0)
    SKIP("needs root to switch user and groups");
  const char *groups[] = {"65534", "4", NULL};
  char *s = HELPER_OUT(((subproc_options){.user = "65534",
                                          .group = "65534",
                                          .extra_groups = groups}),
                       "ids");
  /* uid euid gid egid groups...: setgroups, then setregid, then setreuid */
  ASSERT_STREQ(s, "65534 65534 65534 65534 4 65534\n");
  free(s);
  const char *none_groups[] = {NULL};
  s = HELPER_OUT(((subproc_options){.extra_groups = none_groups}), "ids");
  ASSERT_STREQ(s, "0 0 0 0\n");
  free(s);
  /* a name resolved in the parent */
  s = HELPER_OUT(((subproc_options){.user = "nobody"}), "ids");
  ASSERT(strncmp(s, "65534 65534 0 0", 15) == 0);
  free(s);
}

TEST_POSIX(popen_setuid_failure_reported) {
  if (geteuid() == 0)
    SKIP("root may switch to any uid");
  const char *argv[] = {test_helper, "exit", "0", NULL};
  subproc *p = NULL;
  subproc_error e;
  ASSERT_EQ(subproc_popen(argv, &(subproc_options){.user = "0"}, &p, &e),
            -EPERM);
  ASSERT_STREQ(subproc_step_name(e.step), "setuid");
}

static int preexec_umask(void *arg) {
  umask((mode_t)(intptr_t)arg);
  return 0;
}

static int preexec_fail(void *arg) {
  (void)arg;
  return EPERM;
}

TEST_POSIX(popen_preexec) {
  char *s =
      HELPER_OUT(((subproc_options){.preexec = preexec_umask,
                                    .preexec_arg = (void *)(intptr_t)0027}),
                 "umask");
  ASSERT_STREQ(s, "027\n");
  free(s);
  const char *argv[] = {test_helper, "exit", "0", NULL};
  subproc *p = start(argv, &(subproc_options){.preexec = preexec_umask});
  subproc_error e;
  ASSERT_EQ(subproc_method(p), SUBPROC_SPAWN_FORK);
  subproc_wait(p, SUBPROC_FOREVER, NULL, &e);
  subproc_free(p);
  ASSERT_EQ(
      subproc_popen(argv, &(subproc_options){.preexec = preexec_fail}, &p, &e),
      SUBPROC_ESUBPROCESS);
  ASSERT_STREQ(subproc_step_name(e.step), "preexec");
  ASSERT_EQ(e.os_errno, EPERM);
}

TEST_POSIX(popen_spawn_methods) {
  const subproc_spawn_method methods[] = {
      SUBPROC_SPAWN_AUTO, SUBPROC_SPAWN_VFORK, SUBPROC_SPAWN_POSIX_SPAWN,
      SUBPROC_SPAWN_FORK};
  for (int m = 0; m < 4; m++) {
    subproc_options o = {
        .spawn_method = methods[m], .cwd = "/", .out = SUBPROC_REDIRECT_PIPE};
    const char *argv[] = {test_helper, "cwd", NULL};
    subproc *p = NULL;
    subproc_error e;
    ASSERT_OK(subproc_popen(argv, &o, &p, &e), &e);
    subproc_spawn_method want =
        methods[m] == SUBPROC_SPAWN_AUTO ? SUBPROC_SPAWN_VFORK : methods[m];
#if !defined(HAVE_POSIX_SPAWN_ADDCLOSEFROM_NP)
    /* close_fds needs posix_spawn_file_actions_addclosefrom_np (not in
     * musl): posix_spawn is then used only with keep_fds. */
    if (want == SUBPROC_SPAWN_POSIX_SPAWN)
      want = SUBPROC_SPAWN_VFORK;
#endif
    ASSERT_EQ(subproc_method(p), want);
    subproc_result *r = NULL;
    ASSERT_OK(subproc_communicate(p, NULL, 0, SUBPROC_FOREVER, &r, &e), &e);
    ASSERT_STREQ(r->out, "/\n");
    subproc_result_free(r);
    subproc_free(p);
    /* every method reports a missing program and a bad cwd the same way */
    const char *missing[] = {"subproc-missing", NULL};
    ASSERT_EQ(subproc_popen(missing, &o, &p, &e), -ENOENT);
    ASSERT_STREQ(subproc_step_name(e.step), "exec");
    ASSERT_STREQ(e.path, "subproc-missing");
    o.cwd = "/nope";
    ASSERT_EQ(subproc_popen(argv, &o, &p, &e), -ENOENT);
    ASSERT_STREQ(subproc_step_name(e.step), "chdir");
    ASSERT_NO_CHILDREN();
  }
  /* posix_spawn cannot switch users: the call falls back to clone */
  const char *argv[] = {test_helper, "exit", "0", NULL};
  subproc *p =
      start(argv, &(subproc_options){.spawn_method = SUBPROC_SPAWN_POSIX_SPAWN,
                                     .set_umask = 1,
                                     .umask = 022});
  subproc_error e;
  ASSERT_EQ(subproc_method(p), SUBPROC_SPAWN_VFORK);
  subproc_wait(p, SUBPROC_FOREVER, NULL, &e);
  subproc_free(p);
}

TEST_POSIX(popen_pipesize) {
  const char *argv[] = {test_helper, "cat", NULL};
  subproc *p = start(argv, &(subproc_options){.in = SUBPROC_REDIRECT_PIPE,
                                              .out = SUBPROC_REDIRECT_PIPE,
                                              .pipesize = 1 << 20});
  ASSERT_EQ(fcntl(subproc_fd(p, 0), F_GETPIPE_SZ), 1 << 20);
  ASSERT_EQ(fcntl(subproc_fd(p, 1), F_GETPIPE_SZ), 1 << 20);
  ASSERT_EQ(subproc_fd(p, 2), -1);
  subproc_close(p, NULL);
  subproc_free(p);
}
#endif

TEST(popen_streams_bufsize) {
  const char *argv[] = {test_helper, "cat", NULL};
  subproc *p =
      start(argv, &(subproc_options){.in = SUBPROC_REDIRECT_PIPE,
                                     .out = SUBPROC_REDIRECT_PIPE,
                                     .bufsize = SUBPROC_BUFSIZE_UNBUFFERED});
  subproc_error e;
  FILE *in = subproc_stream(p, 0), *out = subproc_stream(p, 1);
  ASSERT(in && out);
  ASSERT(subproc_stream(p, 2) == NULL);
  /* unbuffered: the line reaches the child without fflush */
  fputs("hello\n", in);
  char line[32];
  ASSERT(fgets(line, sizeof line, out));
  ASSERT_STREQ(line, "hello\n");
  int rc = -1;
  ASSERT_OK(subproc_close(p, &rc), &e);
  ASSERT_EQ(rc, 0);
  ASSERT_EQ(subproc_fd(p, 0), -1);
  subproc_free(p);
}

/* ---- the audit hook ---- */

static char audited[8192];
static int audit_record(void *arg, const char *exe, const char *const *argv,
                        const char *cwd, const char *const *env) {
  snprintf(audited, sizeof audited, "%s|%s|%s|%s|%s", exe, argv[0],
           argv[1] ? argv[1] : "", cwd ? cwd : "-", env ? env[0] : "-");
  return arg && strcmp(argv[1], "exit") == 0 ? -1 : 0;
}

TEST(popen_audit_hook) {
  const char *argv[] = {test_helper, "echo", "x", NULL};
  const char *env[] = {"X=1", NULL};
  subproc_set_audit_hook(audit_record, NULL);
  subproc_error e;
  int rc;
  ASSERT_OK(subproc_call(argv,
                         &(subproc_options){.cwd = test_temp_dir(),
                                            .env = env,
                                            .out = SUBPROC_REDIRECT_DEVNULL},
                         &rc, &e),
            &e);
  char want[8192];
  snprintf(want, sizeof want, "%s|%s|echo|%s|X=1", test_helper, test_helper,
           test_temp_dir());
  ASSERT_STREQ(audited, want);
  /* A refusal: the spawn fails, nothing is started. */
  subproc_set_audit_hook(audit_record, (void *)1);
  const char *refused[] = {test_helper, "exit", "0", NULL};
  subproc *p = (subproc *)&e;
  ASSERT_EQ(subproc_popen(refused, NULL, &p, &e), SUBPROC_ESUBPROCESS);
  ASSERT_STREQ(subproc_step_name(e.step), "audit");
  ASSERT(p == NULL);
  audited[0] = '\0';
  subproc_set_audit_hook(NULL, NULL);
  ASSERT_OK(subproc_call(refused, NULL, &rc, &e), &e);
  ASSERT_STREQ(audited, ""); /* removed */
}

/* With shell, the event names the shell (Python: /bin/sh). */
TEST_POSIX(popen_audit_hook_shell) {
  const char *argv[] = {"echo $X", NULL};
  const char *env[] = {"X=1", NULL};
  subproc_set_audit_hook(audit_record, NULL);
  subproc_error e;
  int rc;
  ASSERT_OK(subproc_call(argv,
                         &(subproc_options){.shell = 1,
                                            .cwd = "/",
                                            .env = env,
                                            .out = SUBPROC_REDIRECT_DEVNULL},
                         &rc, &e),
            &e);
  ASSERT_STREQ(audited, "/bin/sh|/bin/sh|-c|/|X=1");
  subproc_set_audit_hook(NULL, NULL);
}

/* ---- waiting and signals ---- */

TEST(popen_wait_timeout) {
  const char *argv[] = {test_helper, "sleep", "30", NULL};
  subproc *p = start(argv, NULL);
  subproc_error e;
  ASSERT_EQ(subproc_poll(p, NULL), 0);
  double t0 = test_now();
  ASSERT_EQ(subproc_wait(p, 0.2, NULL, &e), SUBPROC_ETIMEDOUT);
  double dt = test_now() - t0;
  ASSERT_GE(dt, 0.19);
  ASSERT_LT(dt, 0.2 + test_slow(2.0));
  ASSERT(e.timeout == (double)0.2); /* x87: the literal is long double */
  ASSERT_STREQ(subproc_step_name(e.step), "wait");
  ASSERT_EQ(subproc_poll(p, NULL), 0);
  ASSERT_EQ(subproc_returncode(p), SUBPROC_NO_RETURNCODE);
  ASSERT_EQ(subproc_wait(p, SUBPROC_POLL, NULL, &e), SUBPROC_ETIMEDOUT);
  ASSERT_OK(subproc_kill(p), &e);
  int rc = 0;
  ASSERT_OK(subproc_wait(p, test_slow(5.0), &rc, &e), &e);
  ASSERT_EQ(rc, TEST_RC_KILLED);
  ASSERT_EQ(subproc_poll(p, &rc), 1);
  /* signalling a reaped child is a no-op, as in Python */
  ASSERT_OK(subproc_terminate(p), &e);
  ASSERT_OK(subproc_kill(p), &e);
  subproc_free(p);
}

TEST(popen_terminate) {
  const char *argv[] = {test_helper, "sleep", "30", NULL};
  subproc *p = start(argv, NULL);
  subproc_error e;
  ASSERT_OK(subproc_terminate(p), &e);
  int rc = 0;
  ASSERT_OK(subproc_wait(p, SUBPROC_FOREVER, &rc, &e), &e);
  ASSERT_EQ(rc, TEST_RC_TERMINATED);
  subproc_free(p);
  /* not a group leader: no group to signal, running or reaped */
  p = start(argv, NULL);
  ASSERT_EQ(subproc_send_signal_group(p, SIGTERM), SUBPROC_EINVAL);
  ASSERT_OK(subproc_kill(p), &e);
  ASSERT_OK(subproc_wait(p, SUBPROC_FOREVER, &rc, &e), &e);
  ASSERT_EQ(subproc_send_signal_group(p, SIGTERM), SUBPROC_EINVAL);
  subproc_free(p);
}

#ifndef _WIN32
TEST_POSIX(popen_send_signal) {
  const char *argv[] = {test_helper, "sleep", "30", NULL};
  subproc *p = start(argv, NULL);
  subproc_error e;
  ASSERT_OK(subproc_send_signal(p, SIGUSR1), &e);
  int rc = 0;
  ASSERT_OK(subproc_wait(p, SUBPROC_FOREVER, &rc, &e), &e);
  ASSERT_EQ(rc, -SIGUSR1);
  subproc_free(p);
}

/* With SIGCHLD ignored the kernel reaps the child. Holding its pidfd we
 * still learn its status (Linux 6.15: PIDFD_GET_INFO), or are told that it
 * is lost; only without pidfds is it Python's returncode 0. */
static int wait_sigchld_ignored(int test_flags, int *rc, subproc_error *e) {
  subproc__set_test_flags(test_flags);
  signal(SIGCHLD, SIG_IGN);
  const char *argv[] = {test_helper, "exit", "5", NULL};
  subproc *p = start(argv, NULL);
  *rc = -1;
  int w = subproc_wait(p, SUBPROC_FOREVER, rc, e);
  ASSERT_EQ(subproc_poll(p, NULL), w == 0 ? 1 : w); /* the same again */
  subproc_free(p);
  return w;
}

TEST_POSIX(popen_sigchld_ignored) {
  int rc;
  subproc_error e;
  if (!test_have_pidfd())
    SKIP("no pidfd_open here (valgrind has none): see the no_pidfd test");
  int w = wait_sigchld_ignored(0, &rc, &e);
  if (w == -ECHILD)
    SKIP("no PIDFD_GET_INFO (Linux < 6.15): covered by the next test");
  ASSERT_OK(w, &e);
  ASSERT_EQ(rc, 5);
}

TEST_POSIX(popen_sigchld_ignored_status_lost) {
  if (!test_have_pidfd())
    SKIP("no pidfd_open here (valgrind has none): see the no_pidfd test");
  int rc;
  subproc_error e;
  ASSERT_EQ(wait_sigchld_ignored(SUBPROC__NO_PIDFD_INFO, &rc, &e), -ECHILD);
  ASSERT_EQ(e.os_errno, ECHILD);
  ASSERT_CONTAINS(e.message, "reaped by someone else");
}

TEST_POSIX(popen_sigchld_ignored_no_pidfd) {
  int rc;
  subproc_error e;
  ASSERT_OK(wait_sigchld_ignored(SUBPROC__NO_PIDFD, &rc, &e), &e);
  ASSERT_EQ(rc, 0); /* Python's answer */
}
#endif

/* A freed running child is neither killed nor waited for; it is reaped
 * once it has exited, and never stays a zombie. */
TEST(popen_free_running_child_no_zombie) {
  char seconds[32];
  snprintf(seconds, sizeof seconds, "%g", test_slow(0.5));
  const char *argv[] = {test_helper, "sleep", seconds, NULL};
  subproc *p = start(argv, &(subproc_options){.out = SUBPROC_REDIRECT_PIPE});
  long pid = subproc_pid(p);
  subproc_free(p);
  ASSERT(test_process_running(pid));
  ASSERT_EQ(subproc_reap_orphans(), 1);
  double end = test_now() + test_slow(10);
  while (subproc_reap_orphans() > 0 && test_now() < end)
    test_sleep(0.05);
  ASSERT_EQ(subproc_reap_orphans(), 0);
}

TEST(popen_wait_any) {
  const char *slow[] = {test_helper, "sleep", "30", NULL};
  const char *fast[] = {test_helper, "sleep", "0.05", NULL};
  subproc *ps[3] = {start(slow, NULL), start(fast, NULL), start(slow, NULL)};
  subproc_error e;
  size_t idx = 99;
  ASSERT_OK(subproc_wait_any(ps, 3, test_slow(10.0), &idx, &e), &e);
  ASSERT_EQ(idx, 1);
  ASSERT_EQ(subproc_returncode(ps[1]), 0);
  /* an already-reaped child counts as exited at once */
  ASSERT_OK(subproc_wait_any(ps, 3, SUBPROC_POLL, &idx, &e), &e);
  ASSERT_EQ(idx, 1);
  subproc *rest[2] = {ps[0], ps[2]};
  ASSERT_EQ(subproc_wait_any(rest, 2, 0.1, &idx, &e), SUBPROC_ETIMEDOUT);
  ASSERT_EQ(subproc_wait_any(rest, 0, 0.1, &idx, &e), SUBPROC_EINVAL);
  finish_killed(ps[0]);
  subproc_free(ps[1]);
  finish_killed(ps[2]);
}

TEST(popen_strerror) {
  ASSERT_STREQ(subproc_errname(SUBPROC_ETIMEDOUT), "SUBPROC_ETIMEDOUT");
  ASSERT_STREQ(subproc_errname(-ENOENT), "ENOENT");
  ASSERT_STREQ(subproc_strerror(-ENOENT), "No such file or directory");
  ASSERT_CONTAINS(subproc_strerror(SUBPROC_ECALLED), "CalledProcessError");
  ASSERT_STREQ(subproc_version(), SUBPROC_VERSION_STRING);
  subproc_free(NULL);
  subproc_result_free(NULL);
}

/* ---- the fallback paths of older kernels, forced through test knobs ---- */

TEST_POSIX(popen_fallback_no_pidfd) {
  subproc__set_test_flags(SUBPROC__NO_PIDFD);
  const char *argv[] = {test_helper, "sleep", "30", NULL};
  subproc *p = start(argv, NULL);
  subproc_error e;
  ASSERT_EQ(subproc__test_pidfd(p), -1);
  double t0 = test_now();
  ASSERT_EQ(subproc_wait(p, 0.2, NULL, &e), SUBPROC_ETIMEDOUT);
  ASSERT_GE(test_now() - t0, 0.19);
  ASSERT_OK(subproc_kill(p), &e);
  int rc = 0;
  ASSERT_OK(subproc_wait(p, test_slow(5), &rc, &e), &e);
  ASSERT_EQ(rc, -9);
  subproc_free(p);
  /* wait_any without pidfds polls the children */
  const char *fast[] = {test_helper, "exit", "4", NULL};
  subproc *ps[2] = {start(argv, NULL), start(fast, NULL)};
  size_t idx = 9;
  ASSERT_OK(subproc_wait_any(ps, 2, test_slow(5), &idx, &e), &e);
  ASSERT_EQ(idx, 1);
  ASSERT_EQ(subproc_returncode(ps[1]), 4);
  finish_killed(ps[0]);
  subproc_free(ps[1]);
}

#ifndef _WIN32
static void check_close_fallback(int flags) {
  subproc__set_test_flags(flags);
  int leak = open("/dev/null", O_RDONLY); /* inheritable on purpose */
  int high = fcntl(leak, F_DUPFD, 200);   /* and one far above it */
  int keep = open("/dev/null", O_RDONLY);
  int fds[] = {keep, -1};
  char *s = HELPER_OUT(((subproc_options){.pass_fds = fds}), "fds");
  char want[32];
  snprintf(want, sizeof want, "0 1 2 %d\n", keep);
  ASSERT_STREQ(s, want);
  free(s);
  close(leak);
  close(high);
  close(keep);
  subproc__set_test_flags(0);
}

TEST_POSIX(popen_fallback_close_proc_fd) {
  check_close_fallback(SUBPROC__NO_CLOSE_RANGE);
}

TEST_POSIX(popen_fallback_close_loop) {
  check_close_fallback(SUBPROC__NO_CLOSE_RANGE | SUBPROC__NO_PROC_FD);
}
#endif

/* The [run] fields are refused by popen, each named (issue 14), not
 * ignored: a timeout there would never fire. */
TEST(popen_refuses_run_fields) {
  const char *argv[] = {test_helper, "exit", "0", NULL};
  static const char data[] = "x";
  struct {
    subproc_options o;
    const char *field;
  } cases[] = {
      {{.input = data, .input_len = 1}, "input"}, {{.input_len = 3}, "input"},
      {{.capture_output = 1}, "capture_output"},  {{.timeout = 5}, "timeout"},
      {{.timeout = SUBPROC_POLL}, "timeout"},     {{.check = 1}, "check"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    subproc *p = (subproc *)&cases; /* must be reset to NULL */
    subproc_error e;
    ASSERT_EQ(subproc_popen(argv, &cases[i].o, &p, &e), SUBPROC_EINVAL);
    ASSERT(p == NULL);
    ASSERT_STREQ(subproc_step_name(e.step), cases[i].field);
    ASSERT(strstr(e.message, cases[i].field) != NULL);
    ASSERT_EQ(subproc_popen_cmd("true", &cases[i].o, &p, &e), SUBPROC_EINVAL);
  }
  /* The same fields are run's: accepted there. */
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_run(argv,
                        &(subproc_options){.input = data,
                                           .input_len = 1,
                                           .capture_output = 1,
                                           .timeout = 30,
                                           .check = 1},
                        &r, &e),
            &e);
  subproc_result_free(r);
}

/* A binary built against a newer header that sets a field this version
 * does not know (it lands in the reserved tail) is refused, never run
 * without it (docs/abi.md). */
TEST(popen_refuses_unknown_fields) {
  const char *argv[] = {test_helper, "exit", "0", NULL};
  int marker;
  subproc_error e;
  subproc_options o = {0};
  o.reserved[0] = &marker;
  subproc *p = NULL;
  ASSERT_EQ(subproc_popen(argv, &o, &p, &e), SUBPROC_EINVAL);
  ASSERT(p == NULL);
  ASSERT_EQ(e.step, SUBPROC_STEP_RESERVED);
  ASSERT_CONTAINS(e.message, "subproc_options");
  subproc_result *r = NULL;
  ASSERT_EQ(subproc_run(argv, &o, &r, &e), SUBPROC_EINVAL);
  ASSERT(r == NULL);
  /* the last slot too */
  o.reserved[0] = NULL;
  o.reserved[sizeof o.reserved / sizeof o.reserved[0] - 1] = &marker;
  ASSERT_EQ(subproc_popen(argv, &o, &p, &e), SUBPROC_EINVAL);
  /* startupinfo is checked wherever it is given */
  subproc_startupinfo si = {0};
  si.reserved[7] = &marker;
  ASSERT_EQ(subproc_popen(argv, &(subproc_options){.startupinfo = &si}, &p, &e),
            SUBPROC_EINVAL);
  ASSERT_CONTAINS(e.message, "subproc_startupinfo");
  /* the group's watch and the pool's options */
  subproc_group *g = NULL;
  ASSERT_OK(subproc_group_new(&g, &e), &e);
  ASSERT_OK(subproc_popen(argv, NULL, &p, &e), &e);
  subproc_watch w = {0};
  w.reserved[3] = &marker;
  ASSERT_EQ(subproc_group_add(g, p, &w, &e), SUBPROC_EINVAL);
  ASSERT_CONTAINS(e.message, "subproc_watch");
  int rc = -1;
  ASSERT_OK(subproc_wait(p, test_slow(10), &rc, &e), &e);
  ASSERT_EQ(rc, 0);
  subproc_free(p);
  subproc_group_free(g);
  subproc_pool_options po = {0};
  po.reserved[0] = &marker;
  subproc_pool *pool = (subproc_pool *)&marker;
  ASSERT_EQ(subproc_pool_new(&pool, &po, &e), SUBPROC_EINVAL);
  ASSERT(pool == NULL);
  ASSERT_CONTAINS(e.message, "subproc_pool_options");
}
