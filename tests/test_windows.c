/* Windows-only behaviour: command lines, exit codes, the environment
 * block, handle inheritance, STARTUPINFO and creationflags, console events,
 * code pages, the shell, batch files, job objects. What both platforms do
 * alike is tested once, in the other files. */
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
#include "subproc.h"
#include "util.h"

#ifndef SIGKILL
#define SIGKILL 9 /* not in the Windows C runtime; subproc maps it */
#endif

static int on_wine(void) {
  HMODULE ntdll = GetModuleHandleA("ntdll.dll");
  return ntdll && GetProcAddress(ntdll, "wine_get_version") != NULL;
}

/* ------------------------------------------------------------------ */
/* Command lines                                                       */
/* ------------------------------------------------------------------ */

/* CreateProcess gets list2cmdline's string unchanged, and the reference
 * decoder reads it back as the argv. */
TEST_WINDOWS(cmdline_round_trip) {
  const char *argv[64] = {test_helper, "cmdline"};
  size_t n = 2;
  for (size_t i = 0; tricky_args[i]; i++)
    argv[n++] = tricky_args[i];
  argv[n] = NULL;
  subproc_result *r = run_ok(argv, (subproc_options){.capture_output = 1});
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

/* ------------------------------------------------------------------ */
/* Status and errors                                                   */
/* ------------------------------------------------------------------ */

TEST_WINDOWS(exit_code_ntstatus) {
  int rc = -1;
  /* An NTSTATUS such as STATUS_ACCESS_VIOLATION: the DWORD's bits. */
  const char *av[] = {test_helper, "exit", "0xC0000005", NULL};
  ASSERT_OK(subproc_call(av, NULL, &rc, NULL), (subproc_error *)NULL);
  ASSERT_EQ((unsigned)rc, 0xC0000005u);
}

TEST_WINDOWS(unsupported_options) {
  const char *argv[] = {test_helper, "exit", "0", NULL};
  subproc *p = NULL;
  subproc_error e;
  int fds[] = {0, -1};
  ASSERT_EQ(subproc_popen(argv, &(subproc_options){.pass_fds = fds}, &p, &e),
            SUBPROC_EINVAL);
  ASSERT_STREQ(subproc_step_name(e.step), "pass_fds");
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
  subproc_result *r =
      run_ok(argv, (subproc_options){.capture_output = 1, .env = env});
  /* Sorted without regard to case; the last of a name wins. (Wine appends
   * variables of its own after the block.) */
  const char *expect = "Alpha=2\nBETA=new\npath=x\nzeta=1\n";
  if (strncmp(r->out, expect, strlen(expect)) != 0)
    ASSERT_STREQ(r->out, expect);
  subproc_result_free(r);
}

/* ------------------------------------------------------------------ */
/* Standard streams                                                    */
/* ------------------------------------------------------------------ */

/* NUL is a character device. */
TEST_WINDOWS(devnull_is_char_device) {
  const char *types[] = {test_helper, "stdtypes", NULL};
  subproc_result *r =
      run_ok(types, (subproc_options){.in = SUBPROC_REDIRECT_DEVNULL,
                                      .out = SUBPROC_REDIRECT_PIPE});
  ASSERT(strncmp(r->out, "char pipe ", 10) == 0);
  subproc_result_free(r);
}

/* Code pages go through the Windows conversion API, both ways. */
TEST_WINDOWS(text_mode_code_page) {
  const char *hex[] = {test_helper, "hex", "e90d0a80", NULL};
  subproc_result *r =
      run_ok(hex, (subproc_options){.capture_output = 1, .encoding = "cp1252"});
  ASSERT_STREQ(r->out, "\xc3\xa9\n\xe2\x82\xac"); /* é, \r\n -> \n, € */
  subproc_result_free(r);
  char *path = test_temp_path("encoded.txt");
  const char *cat[] = {test_helper, "cat", NULL};
  subproc_error e;
  ASSERT_OK(subproc_run(cat,
                        &(subproc_options){.input = "\xc3\xa9\xe2\x82\xac",
                                           .input_len = 5,
                                           .encoding = "cp1252",
                                           .out = SUBPROC_REDIRECT_PATH(path)},
                        &r, &e),
            &e);
  ASSERT_FILE_EQ(path, "\xe9\x80");
  subproc_result_free(r);
  test_remove_file(path);
  free(path);
  const char *bad[] = {test_helper, "hex", "61ff62", NULL};
  r = run_ok(bad, (subproc_options){.capture_output = 1,
                                    .encoding = "utf-8",
                                    .errors = "replace"});
  ASSERT_STREQ(r->out, "a\xef\xbf\xbd"
                       "b");
  subproc_result_free(r);
}

TEST_WINDOWS(redirect_handle) {
  char *path = test_temp_path("handle.txt");
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
  ASSERT_FILE_EQ(path, "via handle\n");
  test_remove_file(path);
  free(path);
}

/* ------------------------------------------------------------------ */
/* Timeouts and termination                                            */
/* ------------------------------------------------------------------ */

TEST_WINDOWS(send_signal_values) {
  const char *argv[] = {test_helper, "sleep", "30", NULL};
  subproc *p = start(argv, NULL);
  subproc_error e;
  ASSERT_EQ(subproc_send_signal(p, 2), SUBPROC_EINVAL); /* unsupported */
  ASSERT_EQ(subproc_send_signal(p, SIGKILL), 0);
  int rc = 0;
  ASSERT_OK(subproc_wait(p, test_slow(10), &rc, &e), &e);
  ASSERT_EQ(rc, 1);
  subproc_free(p);
}

TEST_WINDOWS(ctrl_break_new_group) {
  const char *argv[] = {test_helper, "sleep", "30", NULL};
  subproc *p =
      start(argv, &(subproc_options){.creationflags =
                                         SUBPROC_CREATE_NEW_PROCESS_GROUP});
  subproc_error e;
  int rc = subproc_send_signal(p, SUBPROC_CTRL_BREAK_EVENT);
  if (rc < 0) {
    subproc_kill(p);
    subproc_wait(p, test_slow(10), NULL, NULL);
    subproc_free(p);
    SKIP("no console to deliver CTRL_BREAK_EVENT (%s)", subproc_strerror(rc));
  }
  int status = 0;
  ASSERT_OK(subproc_wait(p, test_slow(10), &status, &e), &e);
  ASSERT_EQ((unsigned)status, 0xC000013Au); /* STATUS_CONTROL_C_EXIT */
  subproc_free(p);
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
  ASSERT_OK(subproc_getoutput("echo got it", NULL, NULL, &out, NULL, &e), &e);
  ASSERT_STREQ(out, "got it");
  subproc_buffer_free(out);
  int status = -1;
  ASSERT_OK(
      subproc_getstatusoutput("exit 5", NULL, NULL, &status, &out, NULL, &e),
      &e);
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
      run_ok(argv, (subproc_options){.capture_output = 1,
                                     .creationflags =
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
      run_ok(argv, (subproc_options){.capture_output = 1,
                                     .creationflags = SUBPROC_DETACHED_PROCESS,
                                     .input = "detached",
                                     .input_len = 8});
  ASSERT_STREQ(r->out, "detached");
  subproc_result_free(r);
}

TEST_WINDOWS(creationflags_suspended_passes_through) {
  const char *argv[] = {test_helper, "echo", "resumed", NULL};
  subproc *p =
      start(argv, &(subproc_options){.out = SUBPROC_REDIRECT_PIPE,
                                     .creationflags = CREATE_SUSPENDED});
  subproc_error e;
  ASSERT_EQ(subproc_wait(p, 0.3, NULL, &e), SUBPROC_ETIMEDOUT);
  /* The caller asked for a suspended child: it is theirs to resume. */
  subproc_kill(p);
  ASSERT_OK(subproc_wait(p, test_slow(10), NULL, &e), &e);
  subproc_free(p);
}

TEST_WINDOWS(startupinfo_show_window) {
  subproc_startupinfo si = {.dwFlags = SUBPROC_STARTF_USESHOWWINDOW,
                            .wShowWindow = 3};
  const char *argv[] = {test_helper, "startupinfo", NULL};
  subproc_result *r =
      run_ok(argv, (subproc_options){.capture_output = 1, .startupinfo = &si});
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
  char *path = test_temp_path("si-out.txt");
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
  ASSERT_FILE_EQ(path, "to the file\n");
  /* A redirection wins over startupinfo's handle for that stream. */
  subproc_result *r =
      run_ok(argv, (subproc_options){.startupinfo = &si,
                                     .out = SUBPROC_REDIRECT_PIPE});
  ASSERT_STREQ(r->out, "to the file\n");
  subproc_result_free(r);
  test_remove_file(path);
  free(path);
}

/* An inheritable handle of a file holding "secret", its value as text for
 * the helper. */
static HANDLE secret_handle(char *value, size_t size) {
  char *path = test_temp_path("secret.txt");
  test_write_file(path, "secret");
  SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
  HANDLE h =
      CreateFileA(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_DELETE, &sa,
                  OPEN_EXISTING, 0, NULL);
  ASSERT(h != INVALID_HANDLE_VALUE);
  test_remove_file(path); /* gone once the handle is closed */
  snprintf(value, size, "%llu", (unsigned long long)(uintptr_t)h);
  free(path);
  return h;
}

TEST_WINDOWS(handle_list) {
  char value[32];
  HANDLE h = secret_handle(value, sizeof value);
  const char *argv[] = {test_helper, "readhandle", value, NULL};
  void *const list[] = {h, NULL};
  subproc_startupinfo si = {.handle_list = list};
  subproc_result *r =
      run_ok(argv, (subproc_options){.capture_output = 1, .startupinfo = &si});
  ASSERT_STREQ(r->out, "secret\n");
  subproc_result_free(r);
  CloseHandle(h);
}

/* close_fds: an inheritable handle not named anywhere stays behind. */
TEST_WINDOWS(inheritable_handle_not_inherited) {
  char value[32];
  HANDLE h = secret_handle(value, sizeof value);
  const char *argv[] = {test_helper, "readhandle", value, NULL};
  subproc_result *r = run_ok(argv, (subproc_options){.capture_output = 1});
  ASSERT(strcmp(r->out, "secret\n") != 0);
  subproc_result_free(r);
  /* keep_fds (close_fds=False) passes every inheritable handle. */
  r = run_ok(argv, (subproc_options){.capture_output = 1, .keep_fds = 1});
  ASSERT_STREQ(r->out, "secret\n");
  subproc_result_free(r);
  CloseHandle(h);
}

/* ------------------------------------------------------------------ */
/* Batch files                                                         */
/* ------------------------------------------------------------------ */

static char *make_batch(const char *name) {
  char *path = test_temp_path(name);
  test_write_file(path,
                  "@echo off\r\necho [%1] [%2] [%3] [%4]\r\nexit /b 4\r\n");
  return path;
}

/* Metacharacters reach the script quoted, never as cmd.exe syntax. */
TEST_WINDOWS(batch_args_quoted) {
  char *bat = make_batch("args.bat");
  char *marker = test_temp_path("pwned.txt");
  char inject[4096];
  snprintf(inject, sizeof inject, "x&echo pwned>%s", marker);
  const char *argv[] = {bat, "a b", inject, "(z)", "", NULL};
  subproc_result *r =
      run_ok(argv, (subproc_options){.capture_output = 1, .text = 1});
  ASSERT_EQ(r->returncode, 4);
  char expect[8192];
  snprintf(expect, sizeof expect, "[\"a b\"] [\"%s\"] [\"(z)\"] [\"\"]\n",
           inject);
  ASSERT_STREQ(r->out, expect);
  ASSERT_EQ(GetFileAttributesA(marker), INVALID_FILE_ATTRIBUTES);
  subproc_result_free(r);
  test_remove_file(bat);
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
    ASSERT_STREQ(subproc_step_name(e.step), "args");
    ASSERT_CONTAINS(e.message, "batch file");
    ASSERT(p == NULL);
  }
  test_remove_file(bat);
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
  subproc_result *r = run_ok(
      safe,
      (subproc_options){.capture_output = 1, .executable = bat, .text = 1});
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
  test_remove_file(bat);
  free(bat);
  free(dotted);
}

/* ------------------------------------------------------------------ */
/* Trees and jobs                                                      */
/* ------------------------------------------------------------------ */

TEST_WINDOWS(send_signal_group_job) {
  const char *argv[] = {test_helper, "tree", "30", NULL};
  subproc *p = start(argv, &(subproc_options){.out = SUBPROC_REDIRECT_PIPE,
                                              .start_new_session = 1});
  subproc_error e;
  char line[64];
  ASSERT(fgets(line, sizeof line, subproc_stream(p, 1)) != NULL);
  DWORD pid = (DWORD)strtoul(line, NULL, 10);
  ASSERT_EQ(subproc_send_signal_group(p, SIGTERM), 0);
  int rc = 0;
  ASSERT_OK(subproc_wait(p, test_slow(10), &rc, &e), &e);
  ASSERT_EQ(rc, 1);
  ASSERT(test_process_gone((long)pid, 5.0));
  subproc_free(p);
}

/* ------------------------------------------------------------------ */
/* Pipelines and the audit hook                                        */
/* ------------------------------------------------------------------ */

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
  ASSERT_OK(subproc_communicate(pb, NULL, 0, test_slow(20), &r, &e), &e);
  ASSERT_STREQ(r->out, "in=sync out=sync\nchained\n");
  subproc_result_free(r);
  ASSERT_OK(subproc_wait(pa, test_slow(20), NULL, &e), &e);
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
  ASSERT_OK(subproc_communicate(pc, NULL, 0, test_slow(20), &r, &e), &e);
  ASSERT_STREQ(r->out, "in=sync out=sync\ninto stdin\n");
  subproc_result_free(r);
  ASSERT_OK(subproc_wait(pd, test_slow(20), NULL, &e), &e);
  subproc_free(pc);
  subproc_free(pd);
}

#endif
