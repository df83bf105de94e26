/* The child program the tests run, on POSIX and on Windows alike:
 * `subproc_helper MODE [ARGS...]`. Every mode writes a small, exactly
 * checkable result: bytes with "\n" line ends (stdout and stderr are
 * binary), arguments as UTF-8 (Windows converts its wide argv). The modes
 * are one table; a mode of one platform only sits in it under its guard.
 * Below the table's functions, a small shim per platform. */
#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <fcntl.h>
#include <io.h>
#include <wchar.h>
#else
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#endif
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"

/* ---- the platform shim ---- */

static int write_all(int fd, const char *p, size_t n);
/* Bytes read, 0 at the end of the input (or on an error). */
static size_t read_some(int fd, char *buf, size_t n);
static void sleep_s(const char *seconds);
static void close_fd(int fd);
/* The variable's value as UTF-8, NULL if unset. */
static const char *env_value(const char *name);
/* Each variable on its own line, as the child got them. */
static void print_environ(void);
static void print_cwd(void);
/* Starts this program again as `sleep SECONDS` (a grandchild): holding
 * this one's standard streams, or with none of them. Returns its pid. */
static long spawn_sleeper(const char *seconds, int inherit_std);
static void binary_std_streams(void);

/* ---- portable modes ---- */

/* each argument on its own line */
static int mode_echo(int argc, char **argv) {
  for (int i = 2; i < argc; i++)
    printf("%s\n", argv[i]);
  return 0;
}

static int mode_argv0(int argc, char **argv) {
  (void)argc;
  printf("%s\n", argv[0]);
  return 0;
}

/* argv[0..], one per line, in hex */
static int mode_argv(int argc, char **argv) {
  for (int i = 0; i < argc; i++) {
    for (const unsigned char *p = (const unsigned char *)argv[i]; *p; p++)
      printf("%02x", *p);
    printf("\n");
  }
  return 0;
}

/* exit CODE (decimal, or 0x... for a Windows NTSTATUS) */
static int mode_exit(int argc, char **argv) {
  (void)argc;
  fflush(stdout);
  exit((int)strtoul(argv[2], NULL, 0));
}

static int cat(int both) {
  char buf[65536];
  size_t n;
  while ((n = read_some(0, buf, sizeof buf)) > 0)
    if (write_all(1, buf, n) < 0 || (both && write_all(2, buf, n) < 0))
      return 1;
  return 0;
}

static int drain(void) {
  char buf[65536];
  while (read_some(0, buf, sizeof buf) > 0) {
  }
  return 0;
}

/* stdin to stdout */
static int mode_cat(int argc, char **argv) {
  (void)argc, (void)argv;
  return cat(0);
}

/* stdin to stdout and stderr */
static int mode_cat2(int argc, char **argv) {
  (void)argc, (void)argv;
  return cat(1);
}

/* stdin to stdout in hex, two digits a byte, no newline */
static int mode_tohex(int argc, char **argv) {
  (void)argc, (void)argv;
  char buf[65536];
  size_t n;
  while ((n = read_some(0, buf, sizeof buf)) > 0)
    for (size_t i = 0; i < n; i++)
      printf("%02x", (unsigned char)buf[i]);
  return 0;
}

/* grep TEXT: the lines of stdin that contain TEXT; status 1 if none */
static int mode_grep(int argc, char **argv) {
  (void)argc;
  char line[4096];
  int found = 0;
  while (fgets(line, sizeof line, stdin))
    if (strstr(line, argv[2])) {
      fputs(line, stdout);
      found = 1;
    }
  return found ? 0 : 1;
}

static int mode_cwd(int argc, char **argv) {
  (void)argc, (void)argv;
  print_cwd();
  return 0;
}

/* env NAME: its value or <unset> */
static int mode_env(int argc, char **argv) {
  (void)argc;
  const char *v = env_value(argv[2]);
  printf("%s\n", v ? v : "<unset>");
  return 0;
}

static int mode_environ(int argc, char **argv) {
  (void)argc, (void)argv;
  print_environ();
  return 0;
}

/* sleep S */
static int mode_sleep(int argc, char **argv) {
  (void)argc;
  sleep_s(argv[2]);
  return 0;
}

/* cat-by N: stdin to stdout, at most N bytes per read (a slow reader) */
static int mode_cat_by(int argc, char **argv) {
  (void)argc;
  char buf[65536];
  size_t want = (size_t)atol(argv[2]), n;
  if (want < 1 || want > sizeof buf)
    want = sizeof buf;
  while ((n = read_some(0, buf, want)) > 0)
    if (write_all(1, buf, n) < 0)
      return 1;
  return 0;
}

/* burst ID N CODE: "child ID", N bytes 'x', exit CODE */
static int mode_burst(int argc, char **argv) {
  (void)argc;
  printf("child %s\n", argv[2]);
  for (long long n = atoll(argv[3]); n > 0; n--)
    putchar('x');
  fflush(stdout);
  return atoi(argv[4]);
}

/* sleep-cat S: sleep S, then stdin to stdout */
static int mode_sleep_cat(int argc, char **argv) {
  (void)argc;
  sleep_s(argv[2]);
  return cat(0);
}

/* print-sleep TEXT S */
static int mode_print_sleep(int argc, char **argv) {
  (void)argc;
  printf("%s\n", argv[2]);
  fflush(stdout);
  sleep_s(argv[3]);
  return 0;
}

/* N bytes of 'a'..'z', restarting every 64 KiB, to fd */
static int write_pattern(long long n, int fd) {
  static char buf[65536];
  for (size_t i = 0; i < sizeof buf; i++)
    buf[i] = (char)('a' + i % 26);
  while (n > 0) {
    size_t k = n > (long long)sizeof buf ? sizeof buf : (size_t)n;
    if (write_all(fd, buf, k) < 0)
      return 1;
    n -= (long long)k;
  }
  return 0;
}

/* write N [FD]: the pattern to stdout (or FD) */
static int mode_write(int argc, char **argv) {
  return write_pattern(atoll(argv[2]), argc > 3 ? atoi(argv[3]) : 1);
}

static int write_hex(int fd, const char *hex) {
  char *b = malloc(strlen(hex) / 2 + 1);
  size_t n = hex_decode(hex, b, NULL);
  int rc = write_all(fd, b, n) < 0;
  free(b);
  return rc;
}

/* hex HEX: the decoded bytes to stdout */
static int mode_hex(int argc, char **argv) {
  (void)argc;
  return write_hex(1, argv[2]);
}

/* outerr OUT ERR */
static int mode_outerr(int argc, char **argv) {
  (void)argc;
  fputs(argv[2], stdout);
  fflush(stdout);
  fputs(argv[3], stderr);
  return 0;
}

/* grandchild S TEXT: print TEXT, leave a grandchild holding stdout and
 * stderr open for S seconds, exit 0 at once */
static int mode_grandchild(int argc, char **argv) {
  (void)argc;
  printf("%s\n", argv[3]);
  fflush(stdout);
  spawn_sleeper(argv[2], 1);
  return 0;
}

/* tree S: a grandchild sleeping S seconds that holds none of the standard
 * streams; print its pid, then sleep S too */
static int mode_tree(int argc, char **argv) {
  (void)argc;
  printf("%ld\n", spawn_sleeper(argv[2], 0));
  fflush(stdout);
  sleep_s(argv[2]);
  return 0;
}

/* closeout S: close stdout, then sleep S */
static int mode_closeout(int argc, char **argv) {
  (void)argc;
  close_fd(1);
  sleep_s(argv[2]);
  return 0;
}

/* noread S: never read stdin; sleep S */
static int mode_noread(int argc, char **argv) { return mode_sleep(argc, argv); }

static int step_is(const char *step, size_t len, const char *name) {
  return len == strlen(name) && strncmp(step, name, len) == 0;
}

/* script STEP...: the steps in order, for what a test would otherwise
 * write as a shell command: out:TEXT and err:TEXT write TEXT to stdout or
 * stderr, hex:HEX the decoded bytes to stdout, write:N and write:N:FD the
 * pattern of `write`; sleep:S; cat copies stdin to stdout, drain reads it
 * to its end; closein closes stdin; env:NAME writes NAME's value (or
 * <unset>) and a newline; exit:CODE exits. */
static int mode_script(int argc, char **argv) {
  for (int i = 2; i < argc; i++) {
    const char *s = argv[i], *arg = strchr(s, ':') ? strchr(s, ':') + 1 : "";
    const char *fd = strchr(arg, ':');
    size_t len = strcspn(s, ":");
    int rc = 0;
    if (step_is(s, len, "out") || step_is(s, len, "err"))
      rc = write_all(s[0] == 'o' ? 1 : 2, arg, strlen(arg));
    else if (step_is(s, len, "hex"))
      rc = write_hex(1, arg);
    else if (step_is(s, len, "write"))
      rc = write_pattern(atoll(arg), fd ? atoi(fd + 1) : 1);
    else if (step_is(s, len, "sleep"))
      sleep_s(arg);
    else if (step_is(s, len, "cat"))
      rc = cat(0);
    else if (step_is(s, len, "drain"))
      rc = drain();
    else if (step_is(s, len, "env")) {
      const char *v = env_value(arg);
      v = v ? v : "<unset>";
      rc = write_all(1, v, strlen(v)) || write_all(1, "\n", 1);
    } else if (step_is(s, len, "closein"))
      close_fd(0);
    else if (step_is(s, len, "exit"))
      exit((int)strtoul(arg, NULL, 0));
    else {
      fprintf(stderr, "helper: unknown script step %s\n", s);
      return 2;
    }
    if (rc)
      return 1;
  }
  return 0;
}

/* ---- POSIX-only modes ---- */
#ifndef _WIN32

/* Open fds, space-separated, ascending (excluding the directory's own). */
static int mode_fds(int argc, char **argv) {
  (void)argc, (void)argv;
  DIR *d = opendir("/proc/self/fd");
  if (!d)
    return 3;
  int own = dirfd(d), fds[4096], n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 4096)
    if (e->d_name[0] != '.' && atoi(e->d_name) != own)
      fds[n++] = atoi(e->d_name);
  closedir(d);
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++)
      if (fds[j] < fds[i]) {
        int t = fds[i];
        fds[i] = fds[j];
        fds[j] = t;
      }
  for (int i = 0; i < n; i++)
    printf(i ? " %d" : "%d", fds[i]);
  printf("\n");
  return 0;
}

/* isfd N: "open" or "closed" */
static int mode_isfd(int argc, char **argv) {
  (void)argc;
  printf("%s\n", fcntl(atoi(argv[2]), F_GETFD) >= 0 ? "open" : "closed");
  return 0;
}

/* writefd N TEXT */
static int mode_writefd(int argc, char **argv) {
  (void)argc;
  return write_all(atoi(argv[2]), argv[3], strlen(argv[3])) < 0;
}

static int mode_umask(int argc, char **argv) {
  (void)argc, (void)argv;
  mode_t u = umask(0);
  printf("%03o\n", (unsigned)u);
  return 0;
}

/* uid euid gid egid groups... */
static int mode_ids(int argc, char **argv) {
  (void)argc, (void)argv;
  gid_t g[256];
  int n = getgroups(256, g);
  printf("%d %d %d %d", (int)getuid(), (int)geteuid(), (int)getgid(),
         (int)getegid());
  for (int i = 0; i < n; i++)
    printf(" %d", (int)g[i]);
  printf("\n");
  return 0;
}

/* pid pgid sid */
static int mode_sid(int argc, char **argv) {
  (void)argc, (void)argv;
  printf("%d %d %d\n", (int)getpid(), (int)getpgid(0), (int)getsid(0));
  return 0;
}

static const char *disp(int sig) {
  struct sigaction sa;
  sigaction(sig, NULL, &sa);
  if (sa.sa_handler == SIG_DFL)
    return "default";
  if (sa.sa_handler == SIG_IGN)
    return "ignore";
  return "handler";
}

/* dispositions and the blocked mask */
static int mode_signals(int argc, char **argv) {
  (void)argc, (void)argv;
  sigset_t set;
  sigprocmask(SIG_BLOCK, NULL, &set);
  int blocked = 0;
  for (int s = 1; s < 32; s++)
    if (sigismember(&set, s))
      blocked++;
  printf("PIPE=%s XFSZ=%s INT=%s USR1=%s blocked=%d\n", disp(SIGPIPE),
         disp(SIGXFSZ), disp(SIGINT), disp(SIGUSR1), blocked);
  return 0;
}

/* raise SIG */
static int mode_raise(int argc, char **argv) {
  (void)argc;
  raise(atoi(argv[2]));
  sleep_s("5");
  return 0;
}

/* ---- limits, parent death, privileges ---- */

/* openmax: opens /dev/null until that fails; "N ERRNO" (7 EMFILE) */
static int mode_openmax(int argc, char **argv) {
  (void)argc, (void)argv;
  int n = 0;
  while (open("/dev/null", O_RDONLY) >= 0 && n < 1000000)
    n++;
  printf("%d %s\n", n, errno == EMFILE ? "EMFILE" : strerror(errno));
  return 0;
}

/* spin: burns CPU until killed */
static int mode_spin(int argc, char **argv) {
  (void)argc, (void)argv;
  for (volatile unsigned long i = 0;; i++) {
  }
}

static void print_limit(rlim_t v) {
  if (v == RLIM_INFINITY)
    printf("unlimited");
  else
    printf("%llu", (unsigned long long)v);
}

/* getrlimit RESOURCE (a number): "SOFT HARD" */
static int mode_getrlimit(int argc, char **argv) {
  (void)argc;
  struct rlimit rl;
  if (getrlimit(atoi(argv[2]), &rl) < 0)
    return 3;
  print_limit(rl.rlim_cur);
  printf(" ");
  print_limit(rl.rlim_max);
  printf("\n");
  return 0;
}

/* status FIELD: the value of FIELD in /proc/self/status ("1") */
static int mode_status(int argc, char **argv) {
  (void)argc;
  FILE *f = fopen("/proc/self/status", "r");
  char line[512];
  size_t n = strlen(argv[2]);
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, argv[2], n) == 0 && line[n] == ':') {
      char *v = line + n + 1;
      v += strspn(v, " \t");
      printf("%s", v);
      fclose(f);
      return 0;
    }
  if (f)
    fclose(f);
  printf("none\n");
  return 0;
}

/* fg: "FOREGROUND_PGRP PGRP" of the controlling terminal, or "none" */
static int mode_fg(int argc, char **argv) {
  (void)argc, (void)argv;
  int tty = open("/dev/tty", O_RDWR | O_NOCTTY);
  if (tty < 0) {
    printf("none\n");
    return 0;
  }
  printf("%d %d\n", (int)tcgetpgrp(tty), (int)getpgrp());
  close(tty);
  return 0;
}

/* ---- pseudo-terminals (tests/test_pty.c) ---- */

/* The window size of the first standard fd that is a terminal. */
static struct winsize tty_size(void) {
  struct winsize ws;
  memset(&ws, 0, sizeof ws);
  for (int fd = 0; fd < 3; fd++)
    if (isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0)
      break;
  return ws;
}

/* isatty: "tty ABC size RxC ctty C leader L fg F": isatty(0), (1), (2),
 * the window size, whether /dev/tty opens (a controlling terminal),
 * whether this process leads its session, and whether its group is the
 * terminal's foreground group. */
static int mode_isatty(int argc, char **argv) {
  (void)argc, (void)argv;
  struct winsize ws = tty_size();
  int tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  int fg = tty >= 0 && tcgetpgrp(tty) == getpgrp();
  printf("tty %d%d%d size %dx%d ctty %d leader %d fg %d\n", isatty(0),
         isatty(1), isatty(2), ws.ws_row, ws.ws_col, tty >= 0,
         getsid(0) == getpid(), fg);
  if (tty >= 0)
    close(tty);
  return 0;
}

/* readline: one line of stdin back as "got:LINE" ("eof" if none). */
static int mode_readline(int argc, char **argv) {
  (void)argc, (void)argv;
  char line[4096];
  if (!fgets(line, sizeof line, stdin)) {
    printf("eof\n");
    return 0;
  }
  line[strcspn(line, "\n")] = '\0';
  printf("got:%s\n", line);
  return 0;
}

static volatile sig_atomic_t winched;
static void on_winch(int sig) { (void)sig, winched = 1; }

/* winch: "size RxC", then after a SIGWINCH (10 s at most) "winch RxC". */
static int mode_winch(int argc, char **argv) {
  (void)argc, (void)argv;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_winch;
  sigaction(SIGWINCH, &sa, NULL);
  struct winsize ws = tty_size();
  printf("size %dx%d\n", ws.ws_row, ws.ws_col);
  fflush(stdout);
  for (int i = 0; i < 1000 && !winched; i++) {
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  ws = tty_size();
  printf(winched ? "winch %dx%d\n" : "no winch %dx%d\n", ws.ws_row, ws.ws_col);
  return 0;
}

#endif
/* ---- Windows-only modes ---- */
#ifdef _WIN32

static void put_w(const wchar_t *w);

static void print_startupinfo(void) {
  STARTUPINFOW si;
  GetStartupInfoW(&si);
  printf("flags=%lu show=%u\n", (unsigned long)si.dwFlags,
         (unsigned)si.wShowWindow);
}

/* posing as %ComSpec% (MODE is "/c"): the raw command line */
static int mode_shell(int argc, char **argv) {
  (void)argc, (void)argv;
  printf("shell ");
  put_w(GetCommandLineW());
  printf(" ");
  print_startupinfo();
  return 0;
}

/* the raw command line */
static int mode_cmdline(int argc, char **argv) {
  (void)argc, (void)argv;
  put_w(GetCommandLineW());
  return 0;
}

static int mode_startupinfo(int argc, char **argv) {
  (void)argc, (void)argv;
  print_startupinfo();
  return 0;
}

static int mode_priority(int argc, char **argv) {
  (void)argc, (void)argv;
  printf("0x%lx\n", (unsigned long)GetPriorityClass(GetCurrentProcess()));
  return 0;
}

static const char *file_type(HANDLE h) {
  if (h == NULL || h == INVALID_HANDLE_VALUE)
    return "none";
  switch (GetFileType(h)) {
  case FILE_TYPE_PIPE:
    return "pipe";
  case FILE_TYPE_CHAR:
    return "char";
  case FILE_TYPE_DISK:
    return "disk";
  default:
    return "unknown";
  }
}

/* the types of the three standard handles */
static int mode_stdtypes(int argc, char **argv) {
  (void)argc, (void)argv;
  printf("%s %s %s\n", file_type(GetStdHandle(STD_INPUT_HANDLE)),
         file_type(GetStdHandle(STD_OUTPUT_HANDLE)),
         file_type(GetStdHandle(STD_ERROR_HANDLE)));
  return 0;
}

/* "sync" or "async": how the handle's file object does I/O. */
static const char *io_mode(HANDLE h) {
  typedef LONG(WINAPI * query_fn)(HANDLE, void *, void *, ULONG, int);
  query_fn q = (query_fn)(void (*)(void))GetProcAddress(
      GetModuleHandleW(L"ntdll.dll"), "NtQueryInformationFile");
  ULONG_PTR io[2];
  ULONG mode = 0;
  if (!q || q(h, io, &mode, sizeof mode, 16 /* FileModeInformation */) < 0)
    return "unknown";
  return mode & 0x30 ? "sync" : "async";
}

/* the I/O modes of stdin and stdout, then cat stdin to stdout */
static int mode_iomodes(int argc, char **argv) {
  (void)argc, (void)argv;
  printf("in=%s out=%s\n", io_mode(GetStdHandle(STD_INPUT_HANDLE)),
         io_mode(GetStdHandle(STD_OUTPUT_HANDLE)));
  fflush(stdout);
  return cat(0);
}

/* readhandle H: the text of the file that handle value H opens */
static int mode_readhandle(int argc, char **argv) {
  (void)argc;
  HANDLE h = (HANDLE)(uintptr_t)strtoull(argv[2], NULL, 10);
  char buf[256];
  DWORD n = 0;
  if (SetFilePointer(h, 0, NULL, FILE_BEGIN) == INVALID_SET_FILE_POINTER ||
      !ReadFile(h, buf, sizeof buf - 1, &n, NULL)) {
    printf("<not inherited>\n");
    return 0;
  }
  buf[n] = '\0';
  printf("%s\n", buf);
  return 0;
}

static void con_printf(HANDLE out, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  DWORD w;
  if (n > 0)
    WriteFile(out, buf, (DWORD)n, &w, NULL);
}

static int con_size(HANDLE out, int *rows, int *cols) {
  CONSOLE_SCREEN_BUFFER_INFO ci;
  if (!GetConsoleScreenBufferInfo(out, &ci))
    return -1;
  *rows = ci.srWindow.Bottom - ci.srWindow.Top + 1;
  *cols = ci.srWindow.Right - ci.srWindow.Left + 1;
  return 0;
}

/* Lines read from the console (CONIN$, line input) until ^Z: "got LINE"
 * each, then "eof"; at most 10 s. */
static int console_read(HANDLE out) {
  HANDLE in = CreateFileW(L"CONIN$", GENERIC_READ | GENERIC_WRITE,
                          FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                          OPEN_EXISTING, 0, NULL);
  if (in == INVALID_HANDLE_VALUE) {
    con_printf(out, "no CONIN$ %lu\r\n", (unsigned long)GetLastError());
    return 3;
  }
  char line[256];
  DWORD n;
  while (ReadFile(in, line, sizeof line - 1, &n, NULL) && n > 0) {
    line[n] = '\0';
    if (line[0] == 0x1a) {
      con_printf(out, "eof\r\n");
      return 0;
    }
    line[strcspn(line, "\r\n")] = '\0';
    con_printf(out, "got %s\r\n", line);
  }
  con_printf(out, "read ended %lu\r\n", (unsigned long)GetLastError());
  return 4;
}

/* Until the window size changes (10 s at most): "size ROWS COLS". */
static int console_watch(HANDLE out, int rows, int cols) {
  for (int k = 0; k < 1000; k++) {
    int r, c;
    if (con_size(out, &r, &c) == 0 && (r != rows || c != cols)) {
      con_printf(out, "size %d %d\r\n", r, c);
      return 0;
    }
    Sleep(10);
  }
  con_printf(out, "size unchanged\r\n");
  return 5;
}

/* console [read|watch|sleep S]: the child's console as its CONOUT$ shows
 * it ("console rows=R cols=C stdout=console|TYPE"), then that action. */
static int mode_console(int argc, char **argv) {
  HANDLE out = CreateFileW(L"CONOUT$", GENERIC_READ | GENERIC_WRITE,
                           FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                           OPEN_EXISTING, 0, NULL);
  if (out == INVALID_HANDLE_VALUE) {
    printf("no CONOUT$ %lu\n", (unsigned long)GetLastError());
    return 3;
  }
  int rows = 0, cols = 0;
  con_size(out, &rows, &cols);
  DWORD mode;
  HANDLE std = GetStdHandle(STD_OUTPUT_HANDLE);
  con_printf(out, "console rows=%d cols=%d stdout=%s\r\n", rows, cols,
             GetConsoleMode(std, &mode) ? "console" : file_type(std));
  if (argc > 2 && strcmp(argv[2], "read") == 0)
    return console_read(out);
  if (argc > 2 && strcmp(argv[2], "watch") == 0)
    return console_watch(out, rows, cols);
  if (argc > 3 && strcmp(argv[2], "sleep") == 0)
    sleep_s(argv[3]);
  return 0;
}

#endif

static const struct mode {
  const char *name;
  int (*fn)(int argc, char **argv);
} modes[] = {
    {"echo", mode_echo},
    {"argv0", mode_argv0},
    {"argv", mode_argv},
    {"exit", mode_exit},
    {"cat", mode_cat},
    {"cat2", mode_cat2},
    {"tohex", mode_tohex},
    {"grep", mode_grep},
    {"cwd", mode_cwd},
    {"env", mode_env},
    {"environ", mode_environ},
    {"sleep", mode_sleep},
    {"print-sleep", mode_print_sleep},
    {"cat-by", mode_cat_by},
    {"burst", mode_burst},
    {"sleep-cat", mode_sleep_cat},
    {"write", mode_write},
    {"hex", mode_hex},
    {"outerr", mode_outerr},
    {"grandchild", mode_grandchild},
    {"tree", mode_tree},
    {"closeout", mode_closeout},
    {"noread", mode_noread},
    {"script", mode_script},
#ifndef _WIN32
    {"fds", mode_fds},
    {"isfd", mode_isfd},
    {"writefd", mode_writefd},
    {"umask", mode_umask},
    {"ids", mode_ids},
    {"sid", mode_sid},
    {"signals", mode_signals},
    {"raise", mode_raise},
    {"openmax", mode_openmax},
    {"spin", mode_spin},
    {"getrlimit", mode_getrlimit},
    {"status", mode_status},
    {"fg", mode_fg},
    {"isatty", mode_isatty},
    {"readline", mode_readline},
    {"winch", mode_winch},
#else
    {"/c", mode_shell},
    {"cmdline", mode_cmdline},
    {"startupinfo", mode_startupinfo},
    {"priority", mode_priority},
    {"stdtypes", mode_stdtypes},
    {"iomodes", mode_iomodes},
    {"readhandle", mode_readhandle},
    {"console", mode_console},
#endif
};

static int run(int argc, char **argv) {
  binary_std_streams();
  if (argc < 2) {
    fprintf(stderr, "usage: helper MODE ...\n");
    return 2;
  }
  for (size_t i = 0; i < sizeof modes / sizeof *modes; i++)
    if (strcmp(argv[1], modes[i].name) == 0) {
      int rc = modes[i].fn(argc, argv);
      fflush(stdout);
      return rc;
    }
  fprintf(stderr, "helper: unknown mode %s\n", argv[1]);
  return 2;
}

/* ---- the shims ---- */
#ifndef _WIN32

extern char **environ;

static int write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static size_t read_some(int fd, char *buf, size_t n) {
  ssize_t r;
  while ((r = read(fd, buf, n)) < 0 && errno == EINTR) {
  }
  return r > 0 ? (size_t)r : 0;
}

static void sleep_s(const char *seconds) {
  double s = atof(seconds);
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
  }
}

static void close_fd(int fd) { close(fd); }

static const char *env_value(const char *name) { return getenv(name); }

static void print_environ(void) {
  for (char **e = environ; *e; e++)
    printf("%s\n", *e);
}

static void print_cwd(void) {
  char buf[4096];
  printf("%s\n", getcwd(buf, sizeof buf) ? buf : "?");
}

static long spawn_sleeper(const char *seconds, int inherit_std) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    int null = inherit_std ? -1 : open("/dev/null", O_RDWR);
    for (int fd = 0; fd < 3 && null >= 0; fd++)
      dup2(null, fd);
    sleep_s(seconds);
    _exit(0);
  }
  return (long)pid;
}

static void binary_std_streams(void) {}

int main(int argc, char **argv) { return run(argc, argv); }

#else

static char *utf8(const wchar_t *w) {
  int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
  char *s = malloc(n > 0 ? (size_t)n : 1);
  if (n <= 0 || !WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL))
    s[0] = '\0';
  return s;
}

static void put_w(const wchar_t *w) {
  char *s = utf8(w);
  fputs(s, stdout);
  free(s);
}

static int write_all(int fd, const char *p, size_t n) {
  HANDLE h = (HANDLE)_get_osfhandle(fd);
  while (n) {
    DWORD w = 0;
    if (!WriteFile(h, p, n > 1u << 30 ? 1u << 30 : (DWORD)n, &w, NULL))
      return -1;
    p += w;
    n -= w;
  }
  return 0;
}

/* A broken pipe (the writer is gone) is the end of the input. */
static size_t read_some(int fd, char *buf, size_t n) {
  DWORD got = 0;
  if (!ReadFile((HANDLE)_get_osfhandle(fd), buf, (DWORD)n, &got, NULL))
    return 0;
  return got;
}

static void sleep_s(const char *seconds) {
  Sleep((DWORD)(atof(seconds) * 1000));
}

static void close_fd(int fd) { _close(fd); }

static const char *env_value(const char *name) {
  wchar_t w[256];
  MultiByteToWideChar(CP_UTF8, 0, name, -1, w, 256);
  const wchar_t *v = _wgetenv(w);
  return v ? utf8(v) : NULL;
}

/* The block as the child got it (Wine appends variables of its own). */
static void print_environ(void) {
  wchar_t *block = GetEnvironmentStringsW();
  for (wchar_t *e = block; *e; e += wcslen(e) + 1) {
    put_w(e);
    printf("\n");
  }
  FreeEnvironmentStringsW(block);
}

static void print_cwd(void) {
  wchar_t buf[MAX_PATH];
  GetCurrentDirectoryW(MAX_PATH, buf);
  put_w(buf);
  printf("\n");
}

static long spawn_sleeper(const char *seconds, int inherit_std) {
  wchar_t me[MAX_PATH], cmd[2 * MAX_PATH], s[64];
  GetModuleFileNameW(NULL, me, MAX_PATH);
  MultiByteToWideChar(CP_UTF8, 0, seconds, -1, s, 64);
  swprintf(cmd, sizeof cmd / sizeof *cmd, L"\"%ls\" sleep %ls", me, s);
  STARTUPINFOW si;
  memset(&si, 0, sizeof si);
  si.cb = sizeof si;
  PROCESS_INFORMATION pi;
  fflush(NULL);
  if (!CreateProcessW(NULL, cmd, NULL, NULL, inherit_std, 0, NULL, NULL, &si,
                      &pi))
    exit(3);
  CloseHandle(pi.hThread);
  CloseHandle(pi.hProcess);
  return (long)pi.dwProcessId;
}

static void binary_std_streams(void) {
  _setmode(_fileno(stdin), _O_BINARY);
  _setmode(_fileno(stdout), _O_BINARY);
  _setmode(_fileno(stderr), _O_BINARY);
}

int wmain(int argc, wchar_t **wargv);
int wmain(int argc, wchar_t **wargv) {
  char **argv = calloc((size_t)argc + 1, sizeof *argv);
  for (int i = 0; i < argc; i++)
    argv[i] = utf8(wargv[i]);
  return run(argc, argv);
}

#endif
