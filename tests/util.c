/* Helpers shared by the test files: see tests/util.h. */
#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <fcntl.h>
#include <io.h>
#else
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#include <sys/syscall.h>
#endif
#endif

#include "hex.h"
#include "util.h"

/* ---- what differs between the platforms ---- */

void assert_os_message_at(const char *file, int line, const char *message,
                          const char *what, int errno_value) {
  char want[1400];
  snprintf(want, sizeof want, "%s: %s", what, strerror(errno_value));
  if (strcmp(message, want) == 0)
    return;
#ifdef _WIN32
  /* or the system's text for the Windows error */
  size_t n = strlen(message), prefix = strlen(what) + 2;
  if (strncmp(message, want, prefix) == 0 && strstr(message, " [WinError ") &&
      message[n - 1] == ']')
    return;
  fprintf(stderr,
          "%s:%d: message \"%s\" is neither \"%s\" nor \"%.*s<text> "
          "[WinError N]\"\n",
          file, line, message, want, (int)prefix, want);
#else
  fprintf(stderr, "%s:%d: message \"%s\" is not \"%s\"\n", file, line, message,
          want);
#endif
  test_fail_exit();
}

/* ---- running children ---- */

char *run_out(const char *const *argv, subproc_options o, int *rc,
              subproc_error *e) {
  o.out = SUBPROC_REDIRECT_PIPE;
  subproc_result *r = NULL;
  int code = subproc_run(argv, &o, &r, e);
  if (rc)
    *rc = code;
  char *s = NULL;
  if (code == 0) {
    s = r->out;
    r->out = NULL;
  }
  subproc_result_free(r);
  return s;
}

char *helper_out(const char *const *args, subproc_options o) {
  const char *argv[64] = {test_helper};
  size_t n = 1;
  for (; args[n - 1] && n < 63; n++)
    argv[n] = args[n - 1];
  argv[n] = NULL;
  int rc;
  subproc_error e;
  char *s = run_out(argv, o, &rc, &e);
  if (!s)
    TEST_FAIL("helper %s: %d (%s): %s", args[0], rc, subproc_errname(rc),
              e.message);
  return s;
}

subproc_result *run_ok(const char *const *argv, subproc_options o) {
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_run(argv, &o, &r, &e), &e);
  return r;
}

subproc *start(const char *const *argv, const subproc_options *o) {
  subproc *p = NULL;
  subproc_error e;
  ASSERT_OK(subproc_popen(argv, o, &p, &e), &e);
  ASSERT(p != NULL);
  return p;
}

void finish_killed(subproc *p) {
  subproc_error e;
  subproc_result *r = NULL;
  ASSERT_OK(subproc_kill(p), &e);
  ASSERT_OK(subproc_communicate(p, NULL, 0, test_slow(10.0), &r, &e), &e);
  ASSERT_EQ(r->returncode, TEST_RC_KILLED);
  subproc_result_free(r);
  subproc_free(p);
}

/* ---- output ---- */

const char *const tricky_args[] = {"plain",
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

int write_pattern_ok(const char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != (char)('a' + (i % 65536) % 26))
      return 0;
  return 1;
}

char *pattern(size_t n) {
  char *b = malloc(n ? n : 1);
  ASSERT(b != NULL);
  for (size_t i = 0; i < n; i++)
    b[i] = (char)(i ^ (i >> 8) ^ (i >> 16) ^ (i >> 24) ^ (i >> 5));
  return b;
}

long long first_diff(const char *got, const char *want, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (got[i] != want[i])
      return (long long)i;
  return -1;
}

void assert_argv_eq(const char *what, char **got, size_t n,
                    const char *const *want) {
  size_t want_n = 0;
  while (want[want_n])
    want_n++;
  if (n != want_n)
    TEST_FAIL("[%s]: %zu items, expected %zu", what, n, want_n);
  for (size_t i = 0; i < n; i++)
    if (strcmp(got[i], want[i]) != 0)
      TEST_FAIL("[%s]: item %zu is [%s], expected [%s]", what, i, got[i],
                want[i]);
  if (got[n] != NULL)
    TEST_FAIL("[%s]: not NULL-terminated", what);
}

char *next_hex_line(char **p, char *out) {
  const char *end;
  if (!**p)
    return NULL;
  out[hex_decode(*p, out, &end)] = '\0';
  *p = (char *)(*end ? end + 1 : end);
  return out;
}

static uint32_t next_random(uint32_t *state) {
  *state = *state * 1664525u + 1013904223u;
  return *state >> 8;
}

const char *const *random_argv_next(random_argv *g, const char *alphabet) {
  size_t n = next_random(&g->state) % 9, letters = strlen(alphabet);
  for (size_t i = 0; i < n; i++) {
    size_t len = next_random(&g->state) % sizeof g->text[i];
    for (size_t j = 0; j < len; j++)
      g->text[i][j] = alphabet[next_random(&g->state) % letters];
    g->text[i][len] = '\0';
    g->argv[i] = g->text[i];
  }
  g->argv[n] = NULL;
  return g->argv;
}

/* ---- files, the environment ---- */

char *test_temp_path(const char *name) {
  size_t n = strlen(test_temp_dir()) + strlen(name) + 2;
  char *p = malloc(n);
  ASSERT(p != NULL);
#ifdef _WIN32
  snprintf(p, n, "%s\\%s", test_temp_dir(), name);
#else
  snprintf(p, n, "%s/%s", test_temp_dir(), name);
#endif
  return p;
}

void test_write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  if (!f)
    TEST_FAIL("fopen %s: %s", path, strerror(errno));
  fputs(text, f);
  ASSERT_EQ(fclose(f), 0);
}

char *test_read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    TEST_FAIL("fopen %s: %s", path, strerror(errno));
  size_t len = 0, cap = 4096;
  char *s = malloc(cap);
  ASSERT(s != NULL);
  size_t got;
  while ((got = fread(s + len, 1, cap - len - 1, f)) > 0) {
    len += got;
    if (cap - len == 1) {
      s = realloc(s, cap *= 2);
      ASSERT(s != NULL);
    }
  }
  fclose(f);
  s[len] = '\0';
  return s;
}

/* ---- SIGPIPE ---- */

void test_sigpipe_default(void) {
#ifndef _WIN32
  signal(SIGPIPE, SIG_DFL);
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGPIPE);
  sigprocmask(SIG_UNBLOCK, &s, NULL);
#endif
}

void test_assert_sigpipe_clean(void) {
#ifndef _WIN32
  sigset_t s;
  sigemptyset(&s);
  sigpending(&s);
  ASSERT(!sigismember(&s, SIGPIPE));
  sigemptyset(&s);
  sigprocmask(SIG_BLOCK, NULL, &s);
  ASSERT(!sigismember(&s, SIGPIPE));
  struct sigaction sa;
  sigaction(SIGPIPE, NULL, &sa);
  ASSERT(sa.sa_handler == SIG_DFL);
#endif
}

/* ---- the platforms' own ---- */
#ifndef _WIN32

static char temp_dir[4096];

static void remove_temp_dir(void) { rmdir(temp_dir); }

const char *test_temp_dir(void) {
  if (!temp_dir[0]) {
    char made[] = "/tmp/subproc-test-XXXXXX";
    if (!mkdtemp(made))
      TEST_FAIL("mkdtemp: %s", strerror(errno));
    ASSERT(realpath(made, temp_dir) != NULL);
    atexit(remove_temp_dir);
  }
  return temp_dir;
}

int test_create_file(const char *path) {
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0)
    TEST_FAIL("open %s: %s", path, strerror(errno));
  return fd;
}

void test_remove_file(const char *path) { ASSERT_EQ(unlink(path), 0); }

void test_pipe(int fds[2]) { ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0); }

void test_setenv(const char *name, const char *value) {
  ASSERT_EQ(value ? setenv(name, value, 1) : unsetenv(name), 0);
}

void test_sleep(double seconds) {
  struct timespec ts = {(time_t)seconds,
                        (long)((seconds - (double)(time_t)seconds) * 1e9)};
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
  }
}

int test_process_running(long pid) { return kill((pid_t)pid, 0) == 0; }

int test_process_gone(long pid, double seconds) {
  for (double end = test_now() + test_slow(seconds);; test_sleep(0.02)) {
    waitpid((pid_t)pid, NULL, WNOHANG);
    if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
      return 1;
    if (test_now() > end)
      return 0;
  }
}

void test_kill_process(long pid) {
  ASSERT_EQ(kill((pid_t)pid, SIGKILL), 0);
  ASSERT(test_process_gone(pid, 5.0));
}

void test_become_subreaper(void) {
#ifdef __linux__
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
#endif
}

int test_have_pidfd(void) {
#if defined(__linux__) && defined(SYS_pidfd_open)
  int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
  if (fd < 0)
    return 0;
  close(fd);
  return 1;
#else
  return 0;
#endif
}

int group_gone(long pgid) {
  for (double end = test_now() + test_slow(5.0);; test_sleep(0.02)) {
    while (waitpid(-(pid_t)pgid, NULL, WNOHANG) > 0) {
    }
    if (kill(-(pid_t)pgid, 0) < 0 && errno == ESRCH)
      return 1;
    if (test_now() > end)
      return 0;
  }
}

#else

static wchar_t temp_dir_w[MAX_PATH];
static char temp_dir[3 * MAX_PATH];

static void remove_temp_dir(void) { RemoveDirectoryW(temp_dir_w); }

const char *test_temp_dir(void) {
  if (!temp_dir[0]) {
    wchar_t base[MAX_PATH];
    GetTempPathW(MAX_PATH, base);
    /* Unique like mkdtemp's: Wine reuses pids, and a case that failed
     * may have left its directory behind. */
    for (unsigned n = 0;; n++) {
      swprintf(temp_dir_w, MAX_PATH, L"%lssubproc-test-%lu-%u", base,
               (unsigned long)GetCurrentProcessId(), n);
      if (CreateDirectoryW(temp_dir_w, NULL))
        break;
      ASSERT(GetLastError() == ERROR_ALREADY_EXISTS && n < 1000);
    }
    WideCharToMultiByte(CP_UTF8, 0, temp_dir_w, -1, temp_dir, sizeof temp_dir,
                        NULL, NULL);
    atexit(remove_temp_dir);
  }
  return temp_dir;
}

int test_create_file(const char *path) {
  int fd = _open(path, _O_RDWR | _O_CREAT | _O_TRUNC | _O_BINARY, 0600);
  if (fd < 0)
    TEST_FAIL("open %s: %s", path, strerror(errno));
  return fd;
}

void test_remove_file(const char *path) { ASSERT(DeleteFileA(path)); }

void test_pipe(int fds[2]) {
  ASSERT_EQ(_pipe(fds, 65536, _O_BINARY | _O_NOINHERIT), 0);
}

void test_setenv(const char *name, const char *value) {
  ASSERT_EQ(_putenv_s(name, value ? value : ""), 0);
}

void test_sleep(double seconds) { Sleep((DWORD)(seconds * 1000)); }

int test_process_running(long pid) {
  HANDLE h = OpenProcess(SYNCHRONIZE, FALSE, (DWORD)pid);
  if (!h)
    return 0;
  int running = WaitForSingleObject(h, 0) == WAIT_TIMEOUT;
  CloseHandle(h);
  return running;
}

int test_process_gone(long pid, double seconds) {
  HANDLE h = OpenProcess(SYNCHRONIZE, FALSE, (DWORD)pid);
  if (!h)
    return 1;
  DWORD ms = (DWORD)(test_slow(seconds) * 1000);
  int gone = WaitForSingleObject(h, ms) == WAIT_OBJECT_0;
  CloseHandle(h);
  return gone;
}

void test_kill_process(long pid) {
  HANDLE h = OpenProcess(PROCESS_TERMINATE, FALSE, (DWORD)pid);
  ASSERT(h != NULL);
  ASSERT(TerminateProcess(h, 1));
  CloseHandle(h);
  ASSERT(test_process_gone(pid, 5.0));
}

void test_become_subreaper(void) {}

#endif
