/* The python3 process that drives subprocess (see py_driver.py). */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

extern char **environ;

static int sock = -1;
static FILE *replies;
static pid_t py_pid = -1;

int py_available(void) { return sock >= 0; }

int py_start(void) {
  if (bench.no_python) {
    bench_note("Python: disabled (--no-python)");
    return -1;
  }
  if (access(BENCH_PY_DRIVER, R_OK) < 0) {
    bench_note("Python: skipped, %s is missing", BENCH_PY_DRIVER);
    return -1;
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    bench_die("socketpair");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
  posix_spawn_file_actions_adddup2(&fa, sv[1], 1);
  char *argv[] = {"python3", BENCH_PY_DRIVER, NULL};
  int rc = posix_spawnp(&py_pid, "python3", &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(sv[1]);
  if (rc != 0) {
    close(sv[0]);
    bench_note("Python: skipped, python3 not found (%s)", strerror(rc));
    return -1;
  }
  sock = sv[0];
  replies = fdopen(dup(sock), "r");
  double v[3];
  if (!replies || py_call(v, 3, "{\"op\":\"version\"}") != 3) {
    bench_note("Python: skipped, the driver did not answer");
    py_stop();
    return -1;
  }
  bench_note("Python: %d.%d.%d, subprocess driven by one python3 process "
             "(timing loops inside Python)",
             (int)v[0], (int)v[1], (int)v[2]);
  return 0;
}

void py_stop(void) {
  if (sock >= 0) {
    shutdown(sock, SHUT_WR);
    close(sock);
    sock = -1;
  }
  if (replies) {
    fclose(replies);
    replies = NULL;
  }
  if (py_pid > 0) {
    while (waitpid(py_pid, NULL, 0) < 0 && errno == EINTR) {
    }
    py_pid = -1;
  }
}

static int send_all(const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(sock, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int py_call(double *out, int max, const char *fmt, ...) {
  if (sock < 0)
    return -1;
  char cmd[8192];
  va_list ap;
  va_start(ap, fmt);
  int len = vsnprintf(cmd, sizeof cmd - 1, fmt, ap);
  va_end(ap);
  if (len < 0 || len >= (int)sizeof cmd - 1)
    return -1;
  cmd[len++] = '\n';
  char line[1024];
  if (send_all(cmd, (size_t)len) < 0 || !fgets(line, sizeof line, replies))
    return -1;
  int n = 0;
  char *p = line, *end;
  while (n < max) {
    double v = strtod(p, &end);
    if (end == p)
      break;
    out[n++] = v;
    p = end;
  }
  return n >= 1 && out[0] < 0 ? -1 : n;
}

const char *py_argv_json(char *const *argv) {
  static char buf[4096];
  size_t k = 0;
  buf[k++] = '[';
  for (int i = 0; argv[i] && k < sizeof buf - 8; i++) {
    if (i)
      buf[k++] = ',';
    buf[k++] = '"';
    for (const char *c = argv[i]; *c && k < sizeof buf - 8; c++) {
      if (*c == '"' || *c == '\\')
        buf[k++] = '\\';
      buf[k++] = *c;
    }
    buf[k++] = '"';
  }
  buf[k++] = ']';
  buf[k] = '\0';
  return buf;
}

double py_batch(void *job, int n) {
  const py_job *j = job;
  double v;
  if (py_call(&v, 1,
              "{\"op\":\"run\",\"n\":%d,\"mode\":\"%s\",\"pipesize\":%ld,"
              "\"argv\":%s}",
              n, j->mode, j->pipesize, py_argv_json(j->spec->argv)) != 1)
    return -1;
  return v;
}
