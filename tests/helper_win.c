/* The child program the Windows tests run: `subproc_helper MODE [ARGS...]`,
 * the counterpart of helper.c. Output is UTF-8 with "\n" line ends (stdout
 * and stderr are binary); arguments are the C runtime's wide argv. */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <fcntl.h>
#include <io.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

static char *utf8(const wchar_t *w) {
  int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
  char *s = malloc(n > 0 ? (size_t)n : 1);
  if (n <= 0 || !WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL))
    s[0] = '\0';
  return s;
}

static void put(const char *s) { fputs(s, stdout); }

static void put_w(const wchar_t *w) {
  char *s = utf8(w);
  put(s);
  free(s);
}

static void put_hex(const wchar_t *w) {
  char *s = utf8(w);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    printf("%02x", *p);
  printf("\n");
  free(s);
}

static int write_all(HANDLE h, const char *p, DWORD n) {
  while (n) {
    DWORD w = 0;
    if (!WriteFile(h, p, n, &w, NULL))
      return -1;
    p += w;
    n -= w;
  }
  return 0;
}

/* stdin to stdout (and stderr with both = 1), at most chunk bytes a read. */
static int cat(int both, DWORD chunk) {
  char buf[65536];
  DWORD n;
  HANDLE in = GetStdHandle(STD_INPUT_HANDLE);
  if (chunk == 0 || chunk > sizeof buf)
    chunk = sizeof buf;
  while (ReadFile(in, buf, chunk, &n, NULL) && n > 0) {
    if (write_all(GetStdHandle(STD_OUTPUT_HANDLE), buf, n) < 0)
      return 1;
    if (both && write_all(GetStdHandle(STD_ERROR_HANDLE), buf, n) < 0)
      return 1;
  }
  return 0;
}

static void sleep_s(const wchar_t *s) { Sleep((DWORD)(_wtof(s) * 1000)); }

/* Start this program again as `MODE ARG` (a grandchild); inherit = 1
 * passes every inheritable handle, the standard ones included. */
static HANDLE spawn_self(const wchar_t *mode, const wchar_t *arg, int inherit,
                         DWORD *pid) {
  wchar_t me[MAX_PATH], cmd[2 * MAX_PATH];
  GetModuleFileNameW(NULL, me, MAX_PATH);
  swprintf(cmd, sizeof cmd / sizeof *cmd, L"\"%ls\" %ls %ls", me, mode, arg);
  STARTUPINFOW si;
  memset(&si, 0, sizeof si);
  si.cb = sizeof si;
  PROCESS_INFORMATION pi;
  if (!CreateProcessW(NULL, cmd, NULL, NULL, inherit, 0, NULL, NULL, &si, &pi))
    exit(3);
  CloseHandle(pi.hThread);
  *pid = pi.dwProcessId;
  return pi.hProcess;
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

static int hexval(wchar_t c) {
  return c >= L'0' && c <= L'9' ? c - L'0' : (c | 32) - L'a' + 10;
}

static int run(int argc, wchar_t **argv) {
  const wchar_t *m = argv[1];
  if (!wcscmp(m, L"/c")) { /* posing as %ComSpec%: the raw command line */
    STARTUPINFOW si;
    GetStartupInfoW(&si);
    put("shell ");
    put_w(GetCommandLineW());
    printf(" flags=%lu show=%u\n", (unsigned long)si.dwFlags,
           (unsigned)si.wShowWindow);
  } else if (!wcscmp(m, L"echo")) { /* each argument on its own line */
    for (int i = 2; i < argc; i++) {
      put_w(argv[i]);
      put("\n");
    }
  } else if (!wcscmp(m, L"argv")) { /* argv[0..] in hex, one per line */
    for (int i = 0; i < argc; i++)
      put_hex(argv[i]);
  } else if (!wcscmp(m, L"cmdline")) { /* the raw command line */
    put_w(GetCommandLineW());
  } else if (!wcscmp(m, L"exit")) {
    fflush(stdout);
    ExitProcess((UINT)wcstoul(argv[2], NULL, 0));
  } else if (!wcscmp(m, L"cat")) {
    return cat(0, 0);
  } else if (!wcscmp(m, L"cat2")) {
    return cat(1, 0);
  } else if (!wcscmp(m, L"cat-by")) { /* cat, N bytes at a time */
    return cat(0, (DWORD)_wtoi(argv[2]));
  } else if (!wcscmp(m, L"cwd")) {
    wchar_t buf[MAX_PATH];
    GetCurrentDirectoryW(MAX_PATH, buf);
    put_w(buf);
    put("\n");
  } else if (!wcscmp(m, L"env")) { /* env NAME: value or <unset> */
    const wchar_t *v = _wgetenv(argv[2]);
    if (v)
      put_w(v);
    else
      put("<unset>");
    put("\n");
  } else if (!wcscmp(m, L"environ")) { /* the block as the child got it */
    wchar_t *block = GetEnvironmentStringsW();
    for (wchar_t *e = block; *e; e += wcslen(e) + 1) {
      put_w(e);
      put("\n");
    }
    FreeEnvironmentStringsW(block);
  } else if (!wcscmp(m, L"sleep")) {
    sleep_s(argv[2]);
  } else if (!wcscmp(m, L"print-sleep")) { /* print TEXT, then sleep S */
    put_w(argv[2]);
    put("\n");
    fflush(stdout);
    sleep_s(argv[3]);
  } else if (!wcscmp(m, L"write")) { /* write N: N bytes 'a'..'z' */
    long long n = _wtoi64(argv[2]);
    static char buf[65536];
    for (size_t i = 0; i < sizeof buf; i++)
      buf[i] = (char)('a' + i % 26);
    HANDLE out = GetStdHandle(STD_OUTPUT_HANDLE);
    while (n > 0) {
      DWORD k = n > (long long)sizeof buf ? sizeof buf : (DWORD)n;
      if (write_all(out, buf, k) < 0)
        return 1;
      n -= k;
    }
  } else if (!wcscmp(m, L"hex")) { /* hex HEX: write the decoded bytes */
    size_t n = wcslen(argv[2]) / 2;
    char *b = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
      b[i] = (char)(hexval(argv[2][2 * i]) << 4 | hexval(argv[2][2 * i + 1]));
    fwrite(b, 1, n, stdout);
    free(b);
  } else if (!wcscmp(m, L"outerr")) { /* outerr OUT ERR */
    put_w(argv[2]);
    fflush(stdout);
    char *e = utf8(argv[3]);
    fputs(e, stderr);
    free(e);
  } else if (!wcscmp(m, L"startupinfo")) {
    STARTUPINFOW si;
    GetStartupInfoW(&si);
    printf("flags=%lu show=%u\n", (unsigned long)si.dwFlags,
           (unsigned)si.wShowWindow);
  } else if (!wcscmp(m, L"priority")) {
    printf("0x%lx\n", (unsigned long)GetPriorityClass(GetCurrentProcess()));
  } else if (!wcscmp(m, L"stdtypes")) {
    printf("%s %s %s\n", file_type(GetStdHandle(STD_INPUT_HANDLE)),
           file_type(GetStdHandle(STD_OUTPUT_HANDLE)),
           file_type(GetStdHandle(STD_ERROR_HANDLE)));
  } else if (!wcscmp(m, L"iomodes")) { /* then cat stdin to stdout */
    printf("in=%s out=%s\n", io_mode(GetStdHandle(STD_INPUT_HANDLE)),
           io_mode(GetStdHandle(STD_OUTPUT_HANDLE)));
    fflush(stdout);
    return cat(0, 0);
  } else if (!wcscmp(m, L"readhandle")) { /* readhandle H: the file's text */
    HANDLE h = (HANDLE)(uintptr_t)_wtoi64(argv[2]);
    char buf[256];
    DWORD n = 0;
    if (SetFilePointer(h, 0, NULL, FILE_BEGIN) == INVALID_SET_FILE_POINTER ||
        !ReadFile(h, buf, sizeof buf - 1, &n, NULL)) {
      put("<not inherited>\n");
      return 0;
    }
    buf[n] = '\0';
    printf("%s\n", buf);
  } else if (!wcscmp(m, L"tree")) {
    /* tree S: a grandchild sleeping S seconds that inherits nothing; print
     * its pid, then sleep S too. */
    DWORD pid;
    CloseHandle(spawn_self(L"sleep", argv[2], 0, &pid));
    printf("%lu\n", (unsigned long)pid);
    fflush(stdout);
    sleep_s(argv[2]);
  } else if (!wcscmp(m, L"grandchild")) {
    /* grandchild S TEXT: print TEXT, leave a grandchild holding stdout and
     * stderr open for S seconds, exit 0 at once. */
    put_w(argv[3]);
    put("\n");
    fflush(stdout);
    DWORD pid;
    CloseHandle(spawn_self(L"sleep", argv[2], 1, &pid));
  } else if (!wcscmp(m, L"burst")) {
    /* burst ID N CODE: "child ID", N bytes 'x', exit CODE */
    printf("child %ls\n", argv[2]);
    for (long long n = _wtoi64(argv[3]); n > 0; n--)
      putchar('x');
    fflush(stdout);
    ExitProcess((UINT)_wtoi(argv[4]));
  } else if (!wcscmp(m, L"sleep-cat")) { /* sleep S, then cat */
    sleep_s(argv[2]);
    return cat(0, 0);
  } else {
    fprintf(stderr, "helper: unknown mode %s\n", utf8(m));
    return 2;
  }
  return 0;
}

int wmain(int argc, wchar_t **argv);
int wmain(int argc, wchar_t **argv) {
  _setmode(_fileno(stdout), _O_BINARY);
  _setmode(_fileno(stderr), _O_BINARY);
  if (argc < 2) {
    fprintf(stderr, "usage: helper MODE ...\n");
    return 2;
  }
  int rc = run(argc, argv);
  fflush(stdout);
  return rc;
}
