/* The child program the tests run: `subproc_helper MODE [ARGS...]`.
 * Every mode writes a small, exactly checkable result. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void sleep_s(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
  }
}

static int write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Open fds, space-separated, ascending (excluding the directory's own). */
static void list_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d)
    exit(3);
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

static int hexval(char c) {
  return c >= '0' && c <= '9' ? c - '0' : (c | 32) - 'a' + 10;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: helper MODE ...\n");
    return 2;
  }
  const char *m = argv[1];
  if (!strcmp(m, "echo")) { /* each argument on its own line */
    for (int i = 2; i < argc; i++)
      printf("%s\n", argv[i]);
  } else if (!strcmp(m, "argv0")) {
    printf("%s\n", argv[0]);
  } else if (!strcmp(m, "exit")) {
    return atoi(argv[2]);
  } else if (!strcmp(m, "cat")) { /* stdin to stdout */
    char buf[65536];
    ssize_t n;
    while ((n = read(0, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
      if (n > 0 && write_all(1, buf, (size_t)n) < 0)
        return 1;
  } else if (!strcmp(m, "cat2")) { /* stdin to stdout and stderr */
    char buf[65536];
    ssize_t n;
    while ((n = read(0, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
      if (n > 0 && (write_all(1, buf, (size_t)n) < 0 ||
                    write_all(2, buf, (size_t)n) < 0))
        return 1;
  } else if (!strcmp(m, "fds")) {
    list_fds();
  } else if (!strcmp(m, "isfd")) { /* isfd N: "open" or "closed" */
    printf("%s\n", fcntl(atoi(argv[2]), F_GETFD) >= 0 ? "open" : "closed");
  } else if (!strcmp(m, "readfd")) { /* readfd N: copy fd N to stdout */
    char buf[4096];
    ssize_t n;
    while ((n = read(atoi(argv[2]), buf, sizeof buf)) > 0)
      write_all(1, buf, (size_t)n);
  } else if (!strcmp(m, "writefd")) { /* writefd N TEXT */
    write_all(atoi(argv[2]), argv[3], strlen(argv[3]));
  } else if (!strcmp(m, "cwd")) {
    char buf[4096];
    printf("%s\n", getcwd(buf, sizeof buf) ? buf : "?");
  } else if (!strcmp(m, "env")) { /* env NAME: value or <unset> */
    const char *v = getenv(argv[2]);
    printf("%s\n", v ? v : "<unset>");
  } else if (!strcmp(m, "environ")) {
    for (char **e = environ; *e; e++)
      printf("%s\n", *e);
  } else if (!strcmp(m, "umask")) {
    mode_t u = umask(0);
    printf("%03o\n", (unsigned)u);
  } else if (!strcmp(m, "ids")) { /* uid gid groups... */
    gid_t g[256];
    int n = getgroups(256, g);
    printf("%d %d %d %d", (int)getuid(), (int)geteuid(), (int)getgid(),
           (int)getegid());
    for (int i = 0; i < n; i++)
      printf(" %d", (int)g[i]);
    printf("\n");
  } else if (!strcmp(m, "sid")) { /* pid pgid sid */
    printf("%d %d %d\n", (int)getpid(), (int)getpgid(0), (int)getsid(0));
  } else if (!strcmp(m, "signals")) { /* dispositions and the blocked mask */
    sigset_t set;
    sigprocmask(SIG_BLOCK, NULL, &set);
    int blocked = 0;
    for (int s = 1; s < 32; s++)
      if (sigismember(&set, s))
        blocked++;
    printf("PIPE=%s XFSZ=%s INT=%s USR1=%s blocked=%d\n", disp(SIGPIPE),
           disp(SIGXFSZ), disp(SIGINT), disp(SIGUSR1), blocked);
  } else if (!strcmp(m, "sleep")) {
    sleep_s(atof(argv[2]));
  } else if (!strcmp(m, "sleep-print")) { /* sleep S then print TEXT */
    sleep_s(atof(argv[2]));
    printf("%s\n", argv[3]);
  } else if (!strcmp(m, "print-sleep")) { /* print TEXT, sleep S */
    printf("%s\n", argv[2]);
    fflush(stdout);
    sleep_s(atof(argv[3]));
  } else if (!strcmp(m, "write")) { /* write N [FD]: N bytes 'a'..'z' */
    long long n = atoll(argv[2]);
    int fd = argc > 3 ? atoi(argv[3]) : 1;
    char buf[65536];
    for (size_t i = 0; i < sizeof buf; i++)
      buf[i] = (char)('a' + i % 26);
    while (n > 0) {
      size_t k = n > (long long)sizeof buf ? sizeof buf : (size_t)n;
      if (write_all(fd, buf, k) < 0)
        return 1;
      n -= (long long)k;
    }
  } else if (!strcmp(m, "hex")) { /* hex HEX: write the decoded bytes */
    const char *h = argv[2];
    size_t n = strlen(h) / 2;
    char *b = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
      b[i] = (char)(hexval(h[2 * i]) << 4 | hexval(h[2 * i + 1]));
    write_all(1, b, n);
    free(b);
  } else if (!strcmp(m, "outerr")) { /* outerr OUT ERR */
    fputs(argv[2], stdout);
    fflush(stdout);
    fputs(argv[3], stderr);
  } else if (!strcmp(m, "raise")) {
    raise(atoi(argv[2]));
    sleep_s(5);
  } else if (!strcmp(m, "grandchild")) {
    /* grandchild S TEXT: print TEXT, leave a grandchild holding stdout and
     * stderr open for S seconds, exit 0 at once. */
    printf("%s\n", argv[3]);
    fflush(stdout);
    if (fork() == 0) {
      sleep_s(atof(argv[2]));
      _exit(0);
    }
  } else if (!strcmp(m, "closeout")) { /* close stdout, then sleep S */
    close(1);
    sleep_s(atof(argv[2]));
  } else if (!strcmp(m, "noread")) { /* never read stdin; sleep S */
    sleep_s(atof(argv[2]));
  } else if (!strcmp(m, "pgid-sleep")) { /* print pgid, sleep */
    printf("%d\n", (int)getpgid(0));
    fflush(stdout);
    sleep_s(atof(argv[2]));
  } else {
    fprintf(stderr, "helper: unknown mode %s\n", m);
    return 2;
  }
  return 0;
}
