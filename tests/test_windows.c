/* Windows-only behaviour: command lines, the environment block, handle
 * inheritance, STARTUPINFO and creationflags, the shell, batch files, job
 * objects. Built on Windows only (tests/CMakeLists.txt); the child is
 * tests/helper_win.c. */
#include "test.h"
#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "hex.h"
#include "subproc.h"
#include "test.h"

#ifndef SIGKILL
#define SIGKILL 9 /* not in the Windows C runtime; subproc maps it */
#endif

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* Runs argv with stdout and stderr captured; fails the test on error. */
static subproc_result *capture(const char *const *argv, subproc_options o) {
  subproc_result *r = NULL;
  subproc_error e;
  if (o.out.kind == SUBPROC_INHERIT && o.err.kind == SUBPROC_INHERIT)
    o.capture_output = 1;
  ASSERT_OK(subproc_run(argv, &o, &r, &e), &e);
  return r;
}

static const char *temp_dir(void) {
  static char dir[3 * MAX_PATH];
  if (!dir[0]) {
    wchar_t base[MAX_PATH], w[MAX_PATH];
    GetTempPathW(MAX_PATH, base);
    swprintf(w, MAX_PATH, L"%lssubproc-test-%lu", base,
             (unsigned long)GetCurrentProcessId());
    CreateDirectoryW(w, NULL);
    WideCharToMultiByte(CP_UTF8, 0, w, -1, dir, sizeof dir, NULL, NULL);
  }
  return dir;
}

static char *temp_path(const char *name) {
  size_t n = strlen(temp_dir()) + strlen(name) + 2;
  char *p = malloc(n);
  snprintf(p, n, "%s\\%s", temp_dir(), name);
  return p;
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  ASSERT(f != NULL);
  fputs(text, f);
  fclose(f);
}

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  ASSERT(f != NULL);
  static char buf[4096];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

/* One line of hex from *p, decoded into out. */
static char *next_hex_line(char **p, char *out) {
  const char *end;
  if (!**p)
    return NULL;
  out[hex_decode(*p, out, &end)] = '\0';
  *p = (char *)(*end ? end + 1 : end);
  return out;
}

static int process_gone(DWORD pid, DWORD ms) {
  HANDLE h = OpenProcess(SYNCHRONIZE | PROCESS_TERMINATE, FALSE, pid);
  if (!h)
    return 1;
  int gone = WaitForSingleObject(h, ms) == WAIT_OBJECT_0;
  if (!gone)
    TerminateProcess(h, 1);
  CloseHandle(h);
  return gone;
}

static int on_wine(void) {
  HMODULE ntdll = GetModuleHandleA("ntdll.dll");
  return ntdll && GetProcAddress(ntdll, "wine_get_version") != NULL;
}

/* Arguments that exercise every list2cmdline rule, and UTF-8. */
static const char *const tricky[] = {"plain",
                                     "",
                                     "a b",
                                     "a\tb",
                                     "a\"b",
                                     "\"",
                                     "\"\"",
                                     "a\\b",
                                     "a\\\\b",
                                     "a\\\"b",
                                     "a\\",
                                     "a b\\",
                                     "a b\\\\",
                                     "\\\\server\\share\\",
                                     "\\\"",
                                     "x\\\\\"y z",
                                     " lead",
                                     "trail ",
                                     "two  spaces",
                                     "a\"b c\"d",
                                     "h\xc3\xa9llo w\xc3\xb6rld",
                                     "\xe6\x97\xa5\xe6\x9c\xac",
                                     "&|<>^%!()",
                                     NULL};

/* ------------------------------------------------------------------ */
/* Command lines                                                       */
/* ------------------------------------------------------------------ */

TEST_WINDOWS(echo_args) {
  const char *argv[] = {test_helper, "echo", "a", "b c", NULL};
  subproc_result *r = capture(argv, (subproc_options){0});
  ASSERT_EQ(r->returncode, 0);
  ASSERT_STREQ(r->out, "a\nb c\n");
  subproc_result_free(r);
}

/* The child's C runtime sees exactly the argv that was given. */
TEST_WINDOWS(argv_round_trip) {
  const char *argv[64] = {test_helper, "argv"};
  size_t n = 2;
  for (size_t i = 0; tricky[i]; i++)
    argv[n++] = tricky[i];
  argv[n] = NULL;
  subproc_result *r = capture(argv, (subproc_options){0});
  ASSERT_EQ(r->returncode, 0);
  char *p = r->out, buf[4096];
  for (size_t i = 0; i < n; i++) {
    ASSERT(next_hex_line(&p, buf) != NULL);
    ASSERT_STREQ(buf, argv[i]);
  }
  ASSERT_STREQ(p, "");
  subproc_result_free(r);
}

/* CreateProcess gets list2cmdline's string unchanged, and the reference
 * decoder reads it back as the argv. */
TEST_WINDOWS(cmdline_round_trip) {
  const char *argv[64] = {test_helper, "cmdline"};
  size_t n = 2;
  for (size_t i = 0; tricky[i]; i++)
    argv[n++] = tricky[i];
  argv[n] = NULL;
  subproc_result *r = capture(argv, (subproc_options){0});
  char *expect = subproc_list2cmdline(argv);
  ASSERT_STREQ(r->out, expect);
  char **decoded = NULL;
  size_t argc = 0;
  ASSERT_EQ(subproc__cmdline_decode(r->out, &decoded, &argc), 0);
  ASSERT_EQ(argc, n);
  for (size_t i = 0; i < n; i++)
    ASSERT_STREQ(decoded[i], argv[i]);
  subproc_buffer_free(decoded);
  subproc_buffer_free(expect);
  subproc_result_free(r);
}

TEST_WINDOWS(popen_cmd_verbatim) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "\"%s\"   cmdline  a\\\\\"b  \"c d\"", test_helper);
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_OK(
      subproc_run_cmd(cmd, &(subproc_options){.capture_output = 1}, &r, &e),
      &e);
  ASSERT_STREQ(r->out, cmd);
  subproc_result_free(r);
}

TEST_WINDOWS(executable_replaces_program) {
  const char *argv[] = {"display-name", "argv", NULL};
  subproc_result *r =
      capture(argv, (subproc_options){.executable = test_helper});
  char *p = r->out, buf[4096];
  ASSERT_STREQ(next_hex_line(&p, buf), "display-name");
  subproc_result_free(r);
}

/* ------------------------------------------------------------------ */
/* Status and errors                                                   */
/* ------------------------------------------------------------------ */

TEST_WINDOWS(exit_codes) {
  int rc = -1;
  const char *three[] = {test_helper, "exit", "3", NULL};
  ASSERT_OK(subproc_call(three, NULL, &rc, NULL), (subproc_error *)NULL);
  ASSERT_EQ(rc, 3);
  /* An NTSTATUS such as STATUS_ACCESS_VIOLATION: the DWORD's bits. */
  const char *av[] = {test_helper, "exit", "0xC0000005", NULL};
  ASSERT_OK(subproc_call(av, NULL, &rc, NULL), (subproc_error *)NULL);
  ASSERT_EQ((unsigned)rc, 0xC0000005u);
}

TEST_WINDOWS(check_message) {
  const char *argv[] = {test_helper, "exit", "2", NULL};
  subproc_error e;
  ASSERT_EQ(subproc_check_call(argv, NULL, &e), SUBPROC_ECALLED);
  ASSERT_EQ(e.returncode, 2);
  ASSERT_CONTAINS(e.message, "returned non-zero exit status 2.");
}

TEST_WINDOWS(not_found) {
  const char *argv[] = {"no-such-program-subproc.exe", NULL};
  subproc *p = NULL;
  subproc_error e;
  ASSERT_EQ(subproc_popen(argv, NULL, &p, &e), -ENOENT);
  ASSERT_STREQ(e.step, "exec");
  ASSERT_STREQ(e.path, "no-such-program-subproc.exe");
  ASSERT_CONTAINS(e.message, "[WinError 2]");
  ASSERT(p == NULL);
}

TEST_WINDOWS(bad_cwd) {
  const char *argv[] = {test_helper, "cwd", NULL};
  subproc *p = NULL;
  subproc_error e;
  int rc = subproc_popen(argv, &(subproc_options){.cwd = "Z:\\no\\such\\dir"},
                         &p, &e);
  ASSERT(rc == -ENOTDIR);
  ASSERT_STREQ(e.step, "chdir");
  ASSERT_STREQ(e.path, "Z:\\no\\such\\dir");
}

TEST_WINDOWS(cwd) {
  const char *argv[] = {test_helper, "cwd", NULL};
  subproc_result *r = capture(argv, (subproc_options){.cwd = temp_dir()});
  char expect[4096];
  snprintf(expect, sizeof expect, "%s\n", temp_dir());
  ASSERT(_stricmp(r->out, expect) == 0);
  subproc_result_free(r);
}

TEST_WINDOWS(unsupported_options) {
  const char *argv[] = {test_helper, "exit", "0", NULL};
  subproc *p = NULL;
  subproc_error e;
  int fds[] = {0};
  ASSERT_EQ(subproc_popen(argv,
                          &(subproc_options){.pass_fds = fds, .n_pass_fds = 1},
                          &p, &e),
            SUBPROC_EINVAL);
  ASSERT_STREQ(e.step, "pass_fds");
  ASSERT_EQ(subproc_popen(argv, &(subproc_options){.user = "nobody"}, &p, &e),
            SUBPROC_EINVAL);
  ASSERT_CONTAINS(e.message, "'user' parameter is not supported");
  ASSERT_EQ(subproc_popen(argv, &(subproc_options){.group = "0"}, &p, &e),
            SUBPROC_EINVAL);
  const char *none[] = {NULL};
  ASSERT_EQ(
      subproc_popen(argv, &(subproc_options){.extra_groups = none}, &p, &e),
      SUBPROC_EINVAL);
  ASSERT(p == NULL);
}

static int preexec_never(void *arg) {
  (void)arg;
  return 0;
}

TEST_WINDOWS(preexec_refused) {
  const char *argv[] = {test_helper, "exit", "0", NULL};
  subproc *p = NULL;
  subproc_error e;
  ASSERT_EQ(
      subproc_popen(argv, &(subproc_options){.preexec = preexec_never}, &p, &e),
      SUBPROC_EINVAL);
  ASSERT_STREQ(e.message, "preexec_fn is not supported on Windows platforms");
}

/* ------------------------------------------------------------------ */
/* Environment                                                         */
/* ------------------------------------------------------------------ */

TEST_WINDOWS(env_block) {
  const char *argv[] = {test_helper, "environ", NULL};
  const char *env[] = {"zeta=1",   "Alpha=2", "beta=old",
                       "BETA=new", "path=x",  NULL};
  subproc_result *r = capture(argv, (subproc_options){.env = env});
  /* Sorted without regard to case; the last of a name wins. (Wine appends
   * variables of its own after the block.) */
  const char *expect = "Alpha=2\nBETA=new\npath=x\nzeta=1\n";
  if (strncmp(r->out, expect, strlen(expect)) != 0)
    ASSERT_STREQ(r->out, expect);
  subproc_result_free(r);
}

TEST_WINDOWS(env_unicode_value) {
  const char *argv[] = {test_helper, "env", "GREETING", NULL};
  const char *env[] = {"SystemRoot=C:\\windows",
                       "GREETING=h\xc3\xa9llo \xe6\x97\xa5", NULL};
  subproc_result *r = capture(argv, (subproc_options){.env = env});
  ASSERT_STREQ(r->out, "h\xc3\xa9llo \xe6\x97\xa5\n");
  subproc_result_free(r);
}

/* ------------------------------------------------------------------ */
/* Standard streams                                                    */
/* ------------------------------------------------------------------ */

TEST_WINDOWS(devnull) {
  const char *argv[] = {test_helper, "cat", NULL};
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_run(argv,
                        &(subproc_options){.in = SUBPROC_REDIRECT_DEVNULL,
                                           .out = SUBPROC_REDIRECT_PIPE},
                        &r, &e),
            &e);
  ASSERT_EQ(r->out_len, 0);
  ASSERT(r->err == NULL);
  subproc_result_free(r);
  const char *print[] = {test_helper, "echo", "gone", NULL};
  ASSERT_OK(subproc_run(print,
                        &(subproc_options){.out = SUBPROC_REDIRECT_DEVNULL}, &r,
                        &e),
            &e);
  ASSERT(r->out == NULL);
  subproc_result_free(r);
  const char *types[] = {test_helper, "stdtypes", NULL};
  ASSERT_OK(subproc_run(types,
                        &(subproc_options){.in = SUBPROC_REDIRECT_DEVNULL,
                                           .out = SUBPROC_REDIRECT_PIPE},
                        &r, &e),
            &e);
  ASSERT(strncmp(r->out, "char pipe ", 10) ==
         0); /* NUL is a character device */
  subproc_result_free(r);
}

TEST_WINDOWS(stderr_to_stdout) {
  const char *argv[] = {test_helper, "outerr", "out;", "err;", NULL};
  subproc_result *r =
      capture(argv, (subproc_options){.out = SUBPROC_REDIRECT_PIPE,
                                      .err = SUBPROC_REDIRECT_STDOUT});
  ASSERT_STREQ(r->out, "out;err;");
  ASSERT(r->err == NULL);
  subproc_result_free(r);
}

/* Both pipes fill while stdin is still being written: no deadlock. */
TEST_WINDOWS(big_input_no_deadlock) {
  size_t n = 3 * 1024 * 1024;
  char *in = malloc(n);
  for (size_t i = 0; i < n; i++)
    in[i] = (char)('A' + i % 23);
  const char *argv[] = {test_helper, "cat2", NULL};
  subproc_result *r = capture(
      argv, (subproc_options){.input = in, .input_len = n, .timeout = 60});
  ASSERT_EQ(r->out_len, n);
  ASSERT_EQ(r->err_len, n);
  ASSERT(memcmp(r->out, in, n) == 0 && memcmp(r->err, in, n) == 0);
  subproc_result_free(r);
  free(in);
}

/* A child that exits without reading its input is not an error. */
TEST_WINDOWS(input_to_exited_child) {
  size_t n = 4 * 1024 * 1024;
  char *in = calloc(1, n);
  const char *argv[] = {test_helper, "exit", "7", NULL};
  subproc_result *r =
      capture(argv, (subproc_options){.input = in, .input_len = n});
  ASSERT_EQ(r->returncode, 7);
  subproc_result_free(r);
  free(in);
}

TEST_WINDOWS(text_mode_newlines) {
  /* "a\r\nb\rc\n" and a UTF-8 character */
  const char *argv[] = {test_helper, "hex", "610d0a620d630ac3a9", NULL};
  subproc_result *r =
      capture(argv, (subproc_options){.text = 1, .encoding = "utf-8"});
  ASSERT_STREQ(r->out, "a\nb\nc\n\xc3\xa9");
  subproc_result_free(r);
}

/* Code pages go through the Windows conversion API, both ways. */
TEST_WINDOWS(text_mode_code_page) {
  const char *hex[] = {test_helper, "hex", "e90d0a80", NULL};
  subproc_result *r = capture(hex, (subproc_options){.encoding = "cp1252"});
  ASSERT_STREQ(r->out, "\xc3\xa9\n\xe2\x82\xac"); /* é, \r\n -> \n, € */
  subproc_result_free(r);
  char *path = temp_path("encoded.txt");
  const char *cat[] = {test_helper, "cat", NULL};
  subproc_error e;
  ASSERT_OK(subproc_run(cat,
                        &(subproc_options){.input = "\xc3\xa9\xe2\x82\xac",
                                           .input_len = 5,
                                           .encoding = "cp1252",
                                           .out = SUBPROC_REDIRECT_PATH(path)},
                        &r, &e),
            &e);
  ASSERT_STREQ(read_file(path), "\xe9\x80");
  subproc_result_free(r);
  DeleteFileA(path);
  free(path);
  const char *bad[] = {test_helper, "hex", "61ff62", NULL};
  r = capture(bad, (subproc_options){.encoding = "utf-8", .errors = "replace"});
  ASSERT_STREQ(r->out, "a\xef\xbf\xbd"
                       "b");
  subproc_result_free(r);
}

TEST_WINDOWS(stream_reads) {
  const char *argv[] = {test_helper, "echo", "one", "two", NULL};
  subproc *p = NULL;
  subproc_error e;
  ASSERT_OK(subproc_popen(
                argv, &(subproc_options){.out = SUBPROC_REDIRECT_PIPE}, &p, &e),
            &e);
  FILE *f = subproc_stream(p, 1);
  ASSERT(f != NULL);
  char line[64];
  ASSERT(fgets(line, sizeof line, f) != NULL);
  ASSERT_STREQ(line, "one\n");
  ASSERT(fgets(line, sizeof line, f) != NULL);
  ASSERT_STREQ(line, "two\n");
  ASSERT(fgets(line, sizeof line, f) == NULL);
  int rc = -1;
  ASSERT_OK(subproc_close(p, &rc), (subproc_error *)NULL);
  ASSERT_EQ(rc, 0);
  subproc_free(p);
}

TEST_WINDOWS(stream_writes) {
  const char *argv[] = {test_helper, "cat", NULL};
  subproc *p = NULL;
  subproc_error e;
  ASSERT_OK(subproc_popen(argv,
                          &(subproc_options){.in = SUBPROC_REDIRECT_PIPE,
                                             .out = SUBPROC_REDIRECT_PIPE},
                          &p, &e),
            &e);
  FILE *in = subproc_stream(p, 0);
  fputs("through a FILE\n", in);
  ASSERT_EQ(subproc_close_stream(p, 0), 0);
  subproc_result *r = NULL;
  ASSERT_OK(subproc_communicate(p, NULL, 0, 30, &r, &e), &e);
  ASSERT_STREQ(r->out, "through a FILE\n");
  subproc_result_free(r);
  subproc_free(p);
}

TEST_WINDOWS(redirect_path_fd_file) {
  char *a = temp_path("path.txt"), *b = temp_path("fd.txt"),
       *c = temp_path("file.txt");
  const char *argv[] = {test_helper, "echo", "x", NULL};
  subproc_error e;
  ASSERT_OK(subproc_call(argv,
                         &(subproc_options){.out = SUBPROC_REDIRECT_PATH(a)},
                         NULL, &e),
            &e);
  ASSERT_STREQ(read_file(a), "x\n");
  int fd = _open(b, _O_WRONLY | _O_CREAT | _O_TRUNC | _O_BINARY, 0666);
  ASSERT(fd >= 0);
  ASSERT_OK(subproc_call(argv,
                         &(subproc_options){.out = SUBPROC_REDIRECT_FD(fd)},
                         NULL, &e),
            &e);
  _close(fd);
  ASSERT_STREQ(read_file(b), "x\n");
  FILE *f = fopen(c, "wb");
  fputs("before\n", f); /* flushed before the spawn */
  ASSERT_OK(subproc_call(argv,
                         &(subproc_options){.out = SUBPROC_REDIRECT_FILE(f)},
                         NULL, &e),
            &e);
  fclose(f);
  ASSERT_STREQ(read_file(c), "before\nx\n");
  const char *cat[] = {test_helper, "cat", NULL};
  subproc_result *r =
      capture(cat, (subproc_options){.in = SUBPROC_REDIRECT_PATH(a),
                                     .out = SUBPROC_REDIRECT_PIPE});
  ASSERT_STREQ(r->out, "x\n");
  subproc_result_free(r);
  ASSERT_EQ(subproc_call(argv,
                         &(subproc_options){.out = SUBPROC_REDIRECT_FD(999)},
                         NULL, &e),
            -EBADF);
  DeleteFileA(a);
  DeleteFileA(b);
  DeleteFileA(c);
  free(a);
  free(b);
  free(c);
}

TEST_WINDOWS(redirect_handle) {
  char *path = temp_path("handle.txt");
  HANDLE h = CreateFileA(path, GENERIC_WRITE, FILE_SHARE_READ, NULL,
                         CREATE_ALWAYS, 0, NULL);
  ASSERT(h != INVALID_HANDLE_VALUE);
  const char *argv[] = {test_helper, "echo", "via handle", NULL};
  subproc_error e;
  ASSERT_OK(subproc_call(argv,
                         &(subproc_options){
                             .out = {.kind = SUBPROC_HANDLE, .handle = h}},
                         NULL, &e),
            &e);
  CloseHandle(h);
  ASSERT_STREQ(read_file(path), "via handle\n");
  DeleteFileA(path);
  free(path);
}

/* ------------------------------------------------------------------ */
/* Timeouts and termination                                            */
/* ------------------------------------------------------------------ */

TEST_WINDOWS(communicate_timeout_retry) {
  const char *argv[] = {test_helper, "print-sleep", "first", "1.5", NULL};
  subproc *p = NULL;
  subproc_error e;
  ASSERT_OK(subproc_popen(
                argv, &(subproc_options){.out = SUBPROC_REDIRECT_PIPE}, &p, &e),
            &e);
  subproc_result *r = NULL;
  ASSERT_EQ(subproc_communicate(p, NULL, 0, 0.7, &r, &e), SUBPROC_ETIMEDOUT);
  ASSERT(r != NULL && r->timed_out);
  ASSERT_STREQ(r->out, "first\n");
  ASSERT_EQ(e.timeout * 10, 7);
  subproc_result_free(r);
  ASSERT_OK(subproc_communicate(p, NULL, 0, 30, &r, &e), &e);
  ASSERT_STREQ(r->out, "first\n");
  ASSERT_EQ(r->returncode, 0);
  subproc_result_free(r);
  subproc_free(p);
}

/* Input after communication started is refused, even once stdin is closed;
 * a pipe that never runs dry does not defeat the timeout. */
TEST_WINDOWS(communicate_retry_rules) {
  const char *argv[] = {test_helper, "cat", NULL};
  subproc *p = NULL;
  subproc_error e;
  ASSERT_OK(subproc_popen(argv,
                          &(subproc_options){.in = SUBPROC_REDIRECT_PIPE,
                                             .out = SUBPROC_REDIRECT_PIPE},
                          &p, &e),
            &e);
  subproc_result *r = NULL;
  ASSERT_OK(subproc_communicate(p, "x", 1, 30, &r, &e), &e);
  subproc_result_free(r);
  ASSERT_EQ(subproc_communicate(p, "y", 1, 30, &r, &e), SUBPROC_EINVAL);
  subproc_free(p);
  const char *flood[] = {test_helper, "write", "4000000000", NULL};
  ASSERT_OK(subproc_popen(flood,
                          &(subproc_options){.out = SUBPROC_REDIRECT_PIPE,
                                             .max_output = 1},
                          &p, &e),
            &e);
  double t0 = test_now();
  ASSERT_EQ(subproc_communicate(p, NULL, 0, 0.5, &r, &e), SUBPROC_ETIMEDOUT);
  ASSERT(test_now() - t0 < 5.0);
  subproc_result_free(r);
  subproc_kill(p);
  subproc_wait(p, SUBPROC_FOREVER, NULL, NULL);
  subproc_free(p);
}

TEST_WINDOWS(run_timeout_kills) {
  const char *argv[] = {test_helper, "print-sleep", "started", "30", NULL};
  subproc_result *r = NULL;
  subproc_error e;
  double t0 = test_now();
  ASSERT_EQ(subproc_run(argv,
                        &(subproc_options){.capture_output = 1, .timeout = 0.5},
                        &r, &e),
            SUBPROC_ETIMEDOUT);
  ASSERT(test_now() - t0 < 10);
  ASSERT(r->timed_out);
  ASSERT_EQ(r->returncode, 1); /* TerminateProcess(handle, 1) */
  ASSERT_STREQ(r->out, "started\n");
  subproc_result_free(r);
  ASSERT_NO_CHILDREN();
}

TEST_WINDOWS(wait_timeout_terminate) {
  const char *argv[] = {test_helper, "sleep", "30", NULL};
  subproc *p = NULL;
  subproc_error e;
  ASSERT_OK(subproc_popen(argv, NULL, &p, &e), &e);
  ASSERT_EQ(subproc_poll(p, NULL), 0);
  ASSERT_EQ(subproc_wait(p, 0.2, NULL, &e), SUBPROC_ETIMEDOUT);
  ASSERT_EQ(subproc_returncode(p), SUBPROC_NO_RETURNCODE);
  ASSERT_EQ(subproc_terminate(p), 0);
  int rc = 0;
  ASSERT_OK(subproc_wait(p, 10, &rc, &e), &e);
  ASSERT_EQ(rc, 1);
  /* Once reaped, signals are a no-op (Python). */
  ASSERT_EQ(subproc_kill(p), 0);
  subproc_free(p);
}

TEST_WINDOWS(send_signal_values) {
  const char *argv[] = {test_helper, "sleep", "30", NULL};
  subproc *p = NULL;
  subproc_error e;
  ASSERT_OK(subproc_popen(argv, NULL, &p, &e), &e);
  ASSERT_EQ(subproc_send_signal(p, 2), SUBPROC_EINVAL); /* unsupported */
  ASSERT_EQ(subproc_send_signal_group(p, SIGTERM), SUBPROC_EINVAL);
  ASSERT_EQ(subproc_send_signal(p, SIGKILL), 0);
  int rc = 0;
  ASSERT_OK(subproc_wait(p, 10, &rc, &e), &e);
  ASSERT_EQ(rc, 1);
  subproc_free(p);
}

TEST_WINDOWS(ctrl_break_new_group) {
  const char *argv[] = {test_helper, "sleep", "30", NULL};
  subproc *p = NULL;
  subproc_error e;
  ASSERT_OK(
      subproc_popen(
          argv,
          &(subproc_options){.creationflags = SUBPROC_CREATE_NEW_PROCESS_GROUP},
          &p, &e),
      &e);
  int rc = subproc_send_signal(p, SUBPROC_CTRL_BREAK_EVENT);
  if (rc < 0) {
    subproc_kill(p);
    subproc_wait(p, 10, NULL, NULL);
    subproc_free(p);
    SKIP("no console to deliver CTRL_BREAK_EVENT (%s)", subproc_strerror(rc));
  }
  int status = 0;
  ASSERT_OK(subproc_wait(p, 10, &status, &e), &e);
  ASSERT_EQ((unsigned)status, 0xC000013Au); /* STATUS_CONTROL_C_EXIT */
  subproc_free(p);
}

TEST_WINDOWS(wait_any) {
  const char *slow[] = {test_helper, "sleep", "30", NULL};
  const char *fast[] = {test_helper, "sleep", "0.1", NULL};
  subproc *p[2] = {NULL, NULL};
  ASSERT_OK(subproc_popen(slow, NULL, &p[0], NULL), (subproc_error *)NULL);
  ASSERT_OK(subproc_popen(fast, NULL, &p[1], NULL), (subproc_error *)NULL);
  size_t index = 9;
  subproc_error e;
  ASSERT_OK(subproc_wait_any(p, 2, 20, &index, &e), &e);
  ASSERT_EQ(index, 1);
  ASSERT_EQ(subproc_returncode(p[1]), 0);
  ASSERT_EQ(subproc_wait_any(p, 1, 0.1, &index, &e), SUBPROC_ETIMEDOUT);
  subproc_kill(p[0]);
  subproc_wait(p[0], 10, NULL, NULL);
  subproc_free(p[0]);
  subproc_free(p[1]);
}

TEST_WINDOWS(freed_child_is_an_orphan) {
  const char *argv[] = {test_helper, "sleep", "0.5", NULL};
  subproc *p = NULL;
  ASSERT_OK(subproc_popen(argv, NULL, &p, NULL), (subproc_error *)NULL);
  subproc_free(p);
  ASSERT_EQ(subproc_reap_orphans(), 1);
  double t0 = test_now();
  while (subproc_reap_orphans() > 0 && test_now() - t0 < 10)
    Sleep(50);
  ASSERT_EQ(subproc_reap_orphans(), 0);
}

TEST_WINDOWS(no_handle_leak) {
  const char *argv[] = {test_helper, "cat2", NULL};
  subproc_result *r =
      capture(argv, (subproc_options){.input = "x", .input_len = 1});
  subproc_result_free(r);
  int before = test_count_fds();
  for (int i = 0; i < 5; i++) {
    r = capture(argv, (subproc_options){.input = "x", .input_len = 1});
    ASSERT_STREQ(r->out, "x");
    subproc_result_free(r);
  }
  ASSERT_EQ(test_count_fds(), before);
}

TEST_WINDOWS(max_output_truncates) {
  const char *argv[] = {test_helper, "write", "200000", NULL};
  subproc_result *r = capture(argv, (subproc_options){.max_output = 1000});
  ASSERT_EQ(r->out_len, 1000);
  ASSERT(r->out_truncated);
  ASSERT_EQ(r->returncode, 0);
  subproc_result_free(r);
}

/* ------------------------------------------------------------------ */
/* Shell                                                               */
/* ------------------------------------------------------------------ */

TEST_WINDOWS(shell_cmd_exe) {
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_run_cmd(
                "echo hello& echo world",
                &(subproc_options){.shell = 1, .text = 1, .capture_output = 1},
                &r, &e),
            &e);
  ASSERT_STREQ(r->out, "hello\nworld\n");
  ASSERT_STREQ(r->args[1], "/c");
  ASSERT_STREQ(r->args[2], "echo hello& echo world");
  subproc_result_free(r);
  char *out = NULL;
  ASSERT_OK(subproc_getoutput("echo got it", &out, &e), &e);
  ASSERT_STREQ(out, "got it");
  subproc_buffer_free(out);
  int status = -1;
  ASSERT_OK(subproc_getstatusoutput("exit 5", &status, &out, &e), &e);
  ASSERT_EQ(status, 5);
  subproc_buffer_free(out);
}

/* %ComSpec% names the shell, given "/c" and the quoted command, with its
 * window hidden. */
TEST_WINDOWS(comspec) {
  ASSERT(SetEnvironmentVariableA("ComSpec", test_helper));
  subproc_result *r = NULL;
  subproc_error e;
  const char *argv[] = {"dir", "a b", NULL};
  ASSERT_OK(subproc_run(argv,
                        &(subproc_options){.shell = 1, .capture_output = 1}, &r,
                        &e),
            &e);
  ASSERT_STREQ(r->args[0], test_helper);
  unsigned long flags = 0;
  unsigned show = 99;
  const char *tail = strstr(r->out, " flags=");
  ASSERT(tail && sscanf(tail, " flags=%lu show=%u", &flags, &show) == 2);
  ASSERT_EQ(flags & SUBPROC_STARTF_USESHOWWINDOW, SUBPROC_STARTF_USESHOWWINDOW);
  ASSERT_EQ(show, SUBPROC_SW_HIDE);
  char expect[4096];
  snprintf(expect, sizeof expect,
           "shell %s /c \"dir \"a b\"\" flags=", test_helper);
  ASSERT(strncmp(r->out, expect, strlen(expect)) == 0);
  subproc_result_free(r);
}

TEST_WINDOWS(comspec_unset_uses_system_root) {
  ASSERT(SetEnvironmentVariableA("ComSpec", NULL));
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_run_cmd(
                "echo from system32",
                &(subproc_options){.shell = 1, .text = 1, .capture_output = 1},
                &r, &e),
            &e);
  ASSERT_STREQ(r->out, "from system32\n");
  ASSERT_CONTAINS(r->args[0], "\\System32\\cmd.exe");
  subproc_result_free(r);
  ASSERT(SetEnvironmentVariableA("SystemRoot", NULL));
  ASSERT_EQ(subproc_run_cmd("echo x", &(subproc_options){.shell = 1}, &r, &e),
            -ENOENT);
  ASSERT_CONTAINS(e.message, "shell not found");
}

/* ------------------------------------------------------------------ */
/* creationflags and STARTUPINFO                                       */
/* ------------------------------------------------------------------ */

TEST_WINDOWS(creationflags_priority) {
  const char *argv[] = {test_helper, "priority", NULL};
  subproc_result *r =
      capture(argv, (subproc_options){.creationflags =
                                          SUBPROC_BELOW_NORMAL_PRIORITY_CLASS |
                                          SUBPROC_CREATE_NO_WINDOW});
  if (strcmp(r->out, "0x20\n") == 0 && on_wine())
    SKIP("Wine runs every process at NORMAL_PRIORITY_CLASS");
  ASSERT_STREQ(r->out, "0x4000\n");
  subproc_result_free(r);
}

/* No console for the child: redirected streams still work. */
TEST_WINDOWS(creationflags_detached_with_pipes) {
  const char *argv[] = {test_helper, "cat", NULL};
  subproc_result *r =
      capture(argv, (subproc_options){.creationflags = SUBPROC_DETACHED_PROCESS,
                                      .input = "detached",
                                      .input_len = 8});
  ASSERT_STREQ(r->out, "detached");
  subproc_result_free(r);
}

TEST_WINDOWS(creationflags_suspended_passes_through) {
  const char *argv[] = {test_helper, "echo", "resumed", NULL};
  subproc *p = NULL;
  subproc_error e;
  ASSERT_OK(subproc_popen(argv,
                          &(subproc_options){.out = SUBPROC_REDIRECT_PIPE,
                                             .creationflags = CREATE_SUSPENDED},
                          &p, &e),
            &e);
  ASSERT_EQ(subproc_wait(p, 0.3, NULL, &e), SUBPROC_ETIMEDOUT);
  /* The caller asked for a suspended child: it is theirs to resume. */
  subproc_kill(p);
  ASSERT_OK(subproc_wait(p, 10, NULL, &e), &e);
  subproc_free(p);
}

TEST_WINDOWS(startupinfo_show_window) {
  subproc_startupinfo si = {.dwFlags = SUBPROC_STARTF_USESHOWWINDOW,
                            .wShowWindow = 3};
  const char *argv[] = {test_helper, "startupinfo", NULL};
  subproc_result *r = capture(argv, (subproc_options){.startupinfo = &si});
  unsigned long flags = 0;
  unsigned show = 0;
  ASSERT(sscanf(r->out, "flags=%lu show=%u", &flags, &show) == 2);
  ASSERT_EQ(flags & SUBPROC_STARTF_USESHOWWINDOW, SUBPROC_STARTF_USESHOWWINDOW);
  ASSERT_EQ(flags & SUBPROC_STARTF_USESTDHANDLES, SUBPROC_STARTF_USESTDHANDLES);
  ASSERT_EQ(show, 3);
  subproc_result_free(r);
}

/* STARTF_USESTDHANDLES: startupinfo's handles stand for inherited streams
 * (they need not be inheritable: the child gets duplicates). */
TEST_WINDOWS(startupinfo_std_handles) {
  char *path = temp_path("si-out.txt");
  HANDLE h = CreateFileA(path, GENERIC_WRITE, FILE_SHARE_READ, NULL,
                         CREATE_ALWAYS, 0, NULL);
  ASSERT(h != INVALID_HANDLE_VALUE);
  subproc_startupinfo si = {.dwFlags = SUBPROC_STARTF_USESTDHANDLES,
                            .hStdOutput = h};
  const char *argv[] = {test_helper, "echo", "to the file", NULL};
  subproc_error e;
  ASSERT_OK(
      subproc_call(argv, &(subproc_options){.startupinfo = &si}, NULL, &e), &e);
  CloseHandle(h);
  ASSERT_STREQ(read_file(path), "to the file\n");
  /* A redirection wins over startupinfo's handle for that stream. */
  subproc_result *r =
      capture(argv, (subproc_options){.startupinfo = &si,
                                      .out = SUBPROC_REDIRECT_PIPE});
  ASSERT_STREQ(r->out, "to the file\n");
  subproc_result_free(r);
  DeleteFileA(path);
  free(path);
}

/* An inheritable file handle, its value as text for the helper. */
static HANDLE secret_handle(char *value, size_t size) {
  char *path = temp_path("secret.txt");
  write_file(path, "secret");
  SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
  HANDLE h =
      CreateFileA(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_DELETE, &sa,
                  OPEN_EXISTING, 0, NULL);
  ASSERT(h != INVALID_HANDLE_VALUE);
  snprintf(value, size, "%llu", (unsigned long long)(uintptr_t)h);
  free(path);
  return h;
}

TEST_WINDOWS(handle_list) {
  char value[32];
  HANDLE h = secret_handle(value, sizeof value);
  const char *argv[] = {test_helper, "readhandle", value, NULL};
  void *const list[] = {h};
  subproc_startupinfo si = {.handle_list = list, .n_handle_list = 1};
  subproc_result *r = capture(argv, (subproc_options){.startupinfo = &si});
  ASSERT_STREQ(r->out, "secret\n");
  subproc_result_free(r);
  CloseHandle(h);
}

/* close_fds: an inheritable handle not named anywhere stays behind. */
TEST_WINDOWS(inheritable_handle_not_inherited) {
  char value[32];
  HANDLE h = secret_handle(value, sizeof value);
  const char *argv[] = {test_helper, "readhandle", value, NULL};
  subproc_result *r = capture(argv, (subproc_options){0});
  ASSERT(strcmp(r->out, "secret\n") != 0);
  subproc_result_free(r);
  /* keep_fds (close_fds=False) passes every inheritable handle. */
  r = capture(argv, (subproc_options){.keep_fds = 1});
  ASSERT_STREQ(r->out, "secret\n");
  subproc_result_free(r);
  CloseHandle(h);
}

/* The parent's pipe ends are not inheritable: a sibling started with
 * keep_fds does not hold the first child's stdin open. */
TEST_WINDOWS(pipe_ends_not_inherited) {
  const char *cat[] = {test_helper, "cat", NULL};
  const char *sleeper[] = {test_helper, "sleep", "30", NULL};
  subproc *p = NULL, *q = NULL;
  subproc_error e;
  ASSERT_OK(subproc_popen(cat,
                          &(subproc_options){.in = SUBPROC_REDIRECT_PIPE,
                                             .out = SUBPROC_REDIRECT_PIPE},
                          &p, &e),
            &e);
  ASSERT_OK(subproc_popen(sleeper, &(subproc_options){.keep_fds = 1}, &q, &e),
            &e);
  subproc_result *r = NULL;
  ASSERT_OK(subproc_communicate(p, "ping", 4, 10, &r, &e), &e);
  ASSERT_STREQ(r->out, "ping");
  subproc_result_free(r);
  subproc_free(p);
  subproc_kill(q);
  subproc_wait(q, 10, NULL, NULL);
  subproc_free(q);
}

static DWORD WINAPI spawn_many(void *arg) {
  int *failures = arg;
  const char *cat[] = {test_helper, "cat", NULL};
  for (int i = 0; i < 8; i++) {
    subproc_result *r = NULL;
    int rc = subproc_run(
        cat,
        &(subproc_options){
            .input = "abc", .input_len = 3, .capture_output = 1, .timeout = 20},
        &r, NULL);
    if (rc < 0 || !r || strcmp(r->out, "abc") != 0)
      (*failures)++;
    subproc_result_free(r);
  }
  return 0;
}

/* Spawns from several threads at once: each child sees EOF on its stdin
 * as soon as its own parent closes it. */
TEST_WINDOWS(concurrent_spawns) {
  HANDLE t[3];
  int failures[3] = {0, 0, 0};
  for (int i = 0; i < 3; i++)
    t[i] = CreateThread(NULL, 0, spawn_many, &failures[i], 0, NULL);
  WaitForMultipleObjects(3, t, TRUE, INFINITE);
  for (int i = 0; i < 3; i++) {
    CloseHandle(t[i]);
    ASSERT_EQ(failures[i], 0);
  }
}

/* ------------------------------------------------------------------ */
/* Batch files                                                         */
/* ------------------------------------------------------------------ */

static char *make_batch(const char *name) {
  char *path = temp_path(name);
  write_file(path, "@echo off\r\necho [%1] [%2] [%3] [%4]\r\nexit /b 4\r\n");
  return path;
}

/* Metacharacters reach the script quoted, never as cmd.exe syntax. */
TEST_WINDOWS(batch_args_quoted) {
  char *bat = make_batch("args.bat");
  char *marker = temp_path("pwned.txt");
  char inject[4096];
  snprintf(inject, sizeof inject, "x&echo pwned>%s", marker);
  const char *argv[] = {bat, "a b", inject, "(z)", "", NULL};
  subproc_result *r = capture(argv, (subproc_options){.text = 1});
  ASSERT_EQ(r->returncode, 4);
  char expect[8192];
  snprintf(expect, sizeof expect, "[\"a b\"] [\"%s\"] [\"(z)\"] [\"\"]\n",
           inject);
  ASSERT_STREQ(r->out, expect);
  ASSERT_EQ(GetFileAttributesA(marker), INVALID_FILE_ATTRIBUTES);
  subproc_result_free(r);
  DeleteFileA(bat);
  free(bat);
  free(marker);
}

TEST_WINDOWS(batch_refuses_unsafe_args) {
  char *bat = make_batch("refuse.cmd");
  const char *bad[] = {"100%",    "%PATH%",      "a\"b",
                       "\"&calc", "line\nbreak", NULL};
  for (size_t i = 0; bad[i]; i++) {
    const char *argv[] = {bat, "ok", bad[i], NULL};
    subproc *p = NULL;
    subproc_error e;
    ASSERT_EQ(subproc_popen(argv, NULL, &p, &e), SUBPROC_EINVAL);
    ASSERT_STREQ(e.step, "args");
    ASSERT_CONTAINS(e.message, "batch file");
    ASSERT(p == NULL);
  }
  DeleteFileA(bat);
  free(bat);
}

/* "x.bat. . " is x.bat to Windows, and executable= names the script too. */
TEST_WINDOWS(batch_detected_in_every_spelling) {
  char *bat = make_batch("Spell.BaT");
  size_t n = strlen(bat);
  char *dotted = malloc(n + 8);
  snprintf(dotted, n + 8, "%s. . ", bat);
  const char *argv[] = {dotted, "100%", NULL};
  subproc *p = NULL;
  subproc_error e;
  ASSERT_EQ(subproc_popen(argv, NULL, &p, &e), SUBPROC_EINVAL);
  const char *named[] = {"display", "100%", NULL};
  ASSERT_EQ(subproc_popen(named, &(subproc_options){.executable = bat}, &p, &e),
            SUBPROC_EINVAL);
  const char *safe[] = {"display", "safe", NULL};
  subproc_result *r =
      capture(safe, (subproc_options){.executable = bat, .text = 1});
  ASSERT_STREQ(r->out, "[safe] [] [] []\n");
  ASSERT_EQ(r->returncode, 4);
  subproc_result_free(r);
  /* With shell the command line is the caller's: no check. */
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "\"%s\" 100%%", bat);
  ASSERT_OK(subproc_run_cmd(cmd,
                            &(subproc_options){.shell = 1, .capture_output = 1},
                            &r, &e),
            &e);
  subproc_result_free(r);
  DeleteFileA(bat);
  free(bat);
  free(dotted);
}

/* ------------------------------------------------------------------ */
/* Trees and jobs                                                      */
/* ------------------------------------------------------------------ */

/* kill_tree: on timeout the whole job goes, grandchild included. */
TEST_WINDOWS(kill_tree_job) {
  const char *argv[] = {test_helper, "tree", "30", NULL};
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_EQ(subproc_run(argv,
                        &(subproc_options){.capture_output = 1,
                                           .timeout = 1.5,
                                           .kill_tree = SUBPROC_KILL_TREE_ON},
                        &r, &e),
            SUBPROC_ETIMEDOUT);
  DWORD pid = (DWORD)strtoul(r->out, NULL, 10);
  ASSERT(pid != 0);
  ASSERT(process_gone(pid, 5000));
  subproc_result_free(r);
  ASSERT_NO_CHILDREN();
}

/* Python's default: only the direct child is killed. */
TEST_WINDOWS(no_kill_tree_leaves_grandchild) {
  const char *argv[] = {test_helper, "tree", "30", NULL};
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_EQ(subproc_run(argv,
                        &(subproc_options){.capture_output = 1, .timeout = 1.5},
                        &r, &e),
            SUBPROC_ETIMEDOUT);
  DWORD pid = (DWORD)strtoul(r->out, NULL, 10);
  ASSERT(pid != 0);
  ASSERT(!process_gone(pid, 200)); /* was alive: killed by process_gone */
  subproc_result_free(r);
}

TEST_WINDOWS(send_signal_group_job) {
  const char *argv[] = {test_helper, "tree", "30", NULL};
  subproc *p = NULL;
  subproc_error e;
  ASSERT_OK(subproc_popen(argv,
                          &(subproc_options){.out = SUBPROC_REDIRECT_PIPE,
                                             .start_new_session = 1},
                          &p, &e),
            &e);
  char line[64];
  ASSERT(fgets(line, sizeof line, subproc_stream(p, 1)) != NULL);
  DWORD pid = (DWORD)strtoul(line, NULL, 10);
  ASSERT_EQ(subproc_send_signal_group(p, SIGTERM), 0);
  int rc = 0;
  ASSERT_OK(subproc_wait(p, 10, &rc, &e), &e);
  ASSERT_EQ(rc, 1);
  ASSERT(process_gone(pid, 5000));
  subproc_free(p);
}

/* wait_delay: a grandchild holding stdout does not hold communicate. */
TEST_WINDOWS(wait_delay_grandchild) {
  const char *argv[] = {test_helper, "grandchild", "8", "hi", NULL};
  subproc_result *r = NULL;
  subproc_error e;
  double t0 = test_now();
  ASSERT_OK(subproc_run(argv,
                        &(subproc_options){.capture_output = 1,
                                           .wait_delay = 0.5,
                                           .kill_tree = SUBPROC_KILL_TREE_ON},
                        &r, &e),
            &e);
  ASSERT(test_now() - t0 < 6);
  ASSERT_STREQ(r->out, "hi\n");
  ASSERT_EQ(r->returncode, 0);
  subproc_result_free(r);
}

/* ------------------------------------------------------------------ */
/* Pipelines and the audit hook                                        */
/* ------------------------------------------------------------------ */

TEST_WINDOWS(pipeline) {
  const char *a[] = {test_helper, "echo", "through", "two", NULL};
  const char *b[] = {test_helper, "cat", NULL};
  const char *c[] = {test_helper, "cat", NULL};
  const char *const *argvs[] = {a, b, c};
  subproc_pipeline_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_pipeline(
                argvs, 3, NULL,
                &(subproc_options){.capture_output = 1, .timeout = 30}, &r, &e),
            &e);
  ASSERT_STREQ(r->last->out, "through\ntwo\n");
  ASSERT_EQ(r->returncode, 0);
  subproc_pipeline_result_free(r);
}

/* A child never gets an overlapped pipe end: one child's stdout given as
 * another's stdin goes through a synchronous pipe (and a relay). */
TEST_WINDOWS(chained_pipe_is_synchronous) {
  const char *a[] = {test_helper, "echo", "chained", NULL};
  const char *b[] = {test_helper, "iomodes", NULL};
  subproc *pa = NULL, *pb = NULL;
  subproc_error e;
  ASSERT_OK(subproc_popen(a, &(subproc_options){.out = SUBPROC_REDIRECT_PIPE},
                          &pa, &e),
            &e);
  int fd = subproc_fd(pa, 1);
  ASSERT_OK(subproc_popen(b,
                          &(subproc_options){.in = SUBPROC_REDIRECT_FD(fd),
                                             .out = SUBPROC_REDIRECT_PIPE},
                          &pb, &e),
            &e);
  subproc_close_stream(pa, 1);
  subproc_result *r = NULL;
  ASSERT_OK(subproc_communicate(pb, NULL, 0, 20, &r, &e), &e);
  ASSERT_STREQ(r->out, "in=sync out=sync\nchained\n");
  subproc_result_free(r);
  ASSERT_OK(subproc_wait(pa, 20, NULL, &e), &e);
  subproc_free(pa);
  subproc_free(pb);
  /* And the other way: a child writing into another child's stdin. */
  const char *c[] = {test_helper, "iomodes", NULL};
  subproc *pc = NULL, *pd = NULL;
  ASSERT_OK(subproc_popen(c,
                          &(subproc_options){.in = SUBPROC_REDIRECT_PIPE,
                                             .out = SUBPROC_REDIRECT_PIPE},
                          &pc, &e),
            &e);
  const char *d[] = {test_helper, "echo", "into stdin", NULL};
  ASSERT_OK(
      subproc_popen(
          d, &(subproc_options){.out = SUBPROC_REDIRECT_FD(subproc_fd(pc, 0))},
          &pd, &e),
      &e);
  subproc_close_stream(pc, 0);
  ASSERT_OK(subproc_communicate(pc, NULL, 0, 20, &r, &e), &e);
  ASSERT_STREQ(r->out, "in=sync out=sync\ninto stdin\n");
  subproc_result_free(r);
  ASSERT_OK(subproc_wait(pd, 20, NULL, &e), &e);
  subproc_free(pc);
  subproc_free(pd);
}

static int audit_seen;
static int audit_hook(void *arg, const char *executable,
                      const char *const *argv, const char *cwd,
                      const char *const *env) {
  (void)cwd;
  (void)env;
  (void)executable;
  audit_seen++;
  return strcmp(argv[1], "exit") == 0 ? *(int *)arg : 0;
}

TEST_WINDOWS(audit_hook_refuses) {
  int refuse = 1;
  subproc_set_audit_hook(audit_hook, &refuse);
  const char *argv[] = {test_helper, "exit", "0", NULL};
  subproc *p = NULL;
  subproc_error e;
  ASSERT_EQ(subproc_popen(argv, NULL, &p, &e), SUBPROC_ESUBPROCESS);
  ASSERT_STREQ(e.step, "audit");
  subproc_set_audit_hook(NULL, NULL);
  ASSERT_EQ(audit_seen, 1);
}
#endif
