/* Scenarios (5)-(7): capture throughput, a timed wait, and many children
 * alive at once. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "subproc.h"

#define MIB (1024L * 1024)

/* ------------------------------------------------------------------ */
/* (5) capturing a large output                                        */
/* ------------------------------------------------------------------ */

typedef enum cap_kind {
  RAW_DISCARD, /* read(1 MiB) and throw away: the floor */
  RAW_KEEP,    /* read straight into a buffer grown by doubling */
  SP_KEEP,     /* subproc_run(capture_output) */
  SP_STREAM,   /* subproc_run(on_output) discarding */
  PY_KEEP      /* subprocess.run(capture_output=True) */
} cap_kind;

typedef struct cap_method {
  const char *name;
  cap_kind kind;
  long pipesize; /* 0 = the system default; GROW_PIPE: see pipe_max() */
  int n, failed;
  double secs[BENCH_MAX_REPS], peak[BENCH_MAX_REPS];
} cap_method;

static char *cap_argv[4];
static char cap_bytes[32];

/* The prototype of a library idea: start with the default pipe and, once
 * a capture has filled it (64 KiB read), raise it once with F_SETPIPE_SZ
 * to /proc/sys/fs/pipe-max-size. Small outputs keep the small pipe (and
 * the user's pipe-user-pages budget); large ones get big hand-overs. */
#define GROW_PIPE (-1L)
#define GROW_AFTER (64 * 1024)

static int pipe_max(void) {
  static int max;
  if (max == 0) {
    FILE *f = fopen("/proc/sys/fs/pipe-max-size", "r");
    if (!f || fscanf(f, "%d", &max) != 1)
      max = 1 << 20;
    if (f)
      fclose(f);
  }
  return max;
}

static double raw_capture(const cap_method *c) {
  spawn_spec spec = {.argv = cap_argv, .stdin_fd = -1, .capture = 1};
  static char *chunk;
  if (!chunk && !(chunk = malloc(MIB)))
    return -1;
  char *keep = NULL;
  size_t len = 0, cap = 0;
  int fd;
  double t0 = bench_now();
  pid_t pid = raw_start_vfork(&spec, &fd);
  if (pid < 0)
    return -1;
  if (c->pipesize > 0)
    fcntl(fd, F_SETPIPE_SZ, (int)c->pipesize);
  size_t seen = 0;
  int pipe_grown = c->pipesize != GROW_PIPE;
  for (;;) {
    char *dst = chunk;
    size_t room = MIB;
    if (c->kind == RAW_KEEP) {
      if (cap - len < MIB) {
        cap = cap ? cap * 2 : MIB;
        char *grown = realloc(keep, cap);
        if (!grown)
          break;
        keep = grown;
      }
      dst = keep + len;
      room = cap - len;
    }
    ssize_t n = read(fd, dst, room);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    len += c->kind == RAW_KEEP ? (size_t)n : 0;
    seen += (size_t)n;
    if (!pipe_grown && seen >= GROW_AFTER) {
      fcntl(fd, F_SETPIPE_SZ, pipe_max());
      pipe_grown = 1;
    }
  }
  int rc = raw_finish(pid, fd);
  double t = bench_now() - t0;
  free(keep);
  return rc == 0 ? t : -1;
}

static int discard(void *arg, int stream, const char *data, size_t len) {
  (void)stream;
  (void)data;
  *(size_t *)arg += len;
  return 0;
}

static double subproc_capture(const cap_method *c) {
  size_t streamed = 0;
  subproc_options o = {.capture_output = 1, .pipesize = c->pipesize};
  if (c->kind == SP_STREAM) {
    o.on_output = discard;
    o.on_output_arg = &streamed;
  }
  subproc_result *r = NULL;
  double t0 = bench_now();
  int rc = subproc_run((const char *const *)cap_argv, &o, &r, NULL);
  double t = bench_now() - t0;
  size_t got = c->kind == SP_STREAM ? streamed : r ? r->out_len : 0;
  int ok = rc == 0 && r->returncode == 0 && got == bench.capture_bytes;
  subproc_result_free(r);
  return ok ? t : -1;
}

/* Seconds for one capture; *peak receives the growth of the resident
 * set over the call. */
static double capture_once(const cap_method *c, double *peak) {
  if (c->kind == PY_KEEP) {
    double v[2];
    if (py_call(v, 2,
                "{\"op\":\"bigcap\",\"bytes\":%zu,\"pipesize\":%ld,"
                "\"argv\":%s}",
                bench.capture_bytes, c->pipesize > 0 ? c->pipesize : -1,
                py_argv_json(cap_argv)) != 2)
      return -1;
    *peak = v[1];
    return v[0];
  }
  size_t base = bench_rss();
  bench_reset_peak();
  double t = c->kind == RAW_DISCARD || c->kind == RAW_KEEP ? raw_capture(c)
                                                           : subproc_capture(c);
  size_t hwm = bench_peak_rss();
  *peak = hwm > base ? (double)(hwm - base) : 0;
  return t;
}

static const cap_method *cap_find(const cap_method *m, int n, cap_kind kind,
                                  long pipesize) {
  for (int i = 0; i < n; i++)
    if (m[i].kind == kind && m[i].pipesize == pipesize && !m[i].failed)
      return &m[i];
  return NULL;
}

static double cap_median(const cap_method *c, int peak) {
  double v[BENCH_MAX_REPS];
  memcpy(v, peak ? c->peak : c->secs, (size_t)c->n * sizeof *v);
  return bench_median(v, c->n);
}

static double gbps(const cap_method *c) {
  return (double)bench.capture_bytes / cap_median(c, 0) / 1e9;
}

static void throughput_targets(const cap_method *m, int n, long ps) {
  const char *sz = ps ? "1 MiB pipe" : "default pipe";
  char what[128];
  const cap_method *keep = cap_find(m, n, SP_KEEP, ps);
  const cap_method *py = cap_find(m, n, PY_KEEP, ps);
  const cap_method *stream = cap_find(m, n, SP_STREAM, ps);
  const cap_method *raw = cap_find(m, n, RAW_DISCARD, ps);
  if (keep && py) {
    snprintf(what, sizeof what, "(5) kept, %s: subproc / Python throughput",
             sz);
    bench_target(what, gbps(keep) / gbps(py), 2.0, 1, "x");
  }
  if (keep) {
    snprintf(what, sizeof what, "(5) kept, %s: peak RSS - output", sz);
    bench_target(what,
                 (cap_median(keep, 1) - (double)bench.capture_bytes) / MIB, 32,
                 0, " MiB");
  }
  if (stream && raw) {
    snprintf(what, sizeof what, "(5) streamed, %s: subproc / raw discard", sz);
    bench_target(what, gbps(stream) / gbps(raw), 0.9, 1, "x");
    snprintf(what, sizeof what, "(5) streamed, %s: peak RSS growth", sz);
    bench_target(what, cap_median(stream, 1) / MIB, 8, 0, " MiB");
  }
}

void scenario_throughput(void) {
  snprintf(cap_bytes, sizeof cap_bytes, "%zu", bench.capture_bytes);
  cap_argv[0] = (char *)bench_tiny;
  cap_argv[1] = "-n";
  cap_argv[2] = cap_bytes;
  cap_argv[3] = NULL;
  if (strcmp(bench_tiny, bench_true) == 0) {
    bench_note("(5) skipped: needs the static child");
    return;
  }
  cap_method m[12];
  int n = 0;
  for (int big = 0; big < 2; big++) {
    long ps = big ? MIB : 0;
    m[n++] = (cap_method){big ? "raw read-and-discard, 1 MiB pipe"
                              : "raw read-and-discard, default pipe",
                          RAW_DISCARD,
                          ps,
                          0,
                          0,
                          {0},
                          {0}};
    m[n++] = (cap_method){big ? "raw read into memory, 1 MiB pipe"
                              : "raw read into memory, default pipe",
                          RAW_KEEP,
                          ps,
                          0,
                          0,
                          {0},
                          {0}};
    m[n++] = (cap_method){big ? "subproc kept, 1 MiB pipe"
                              : "subproc kept, default pipe",
                          SP_KEEP,
                          ps,
                          0,
                          0,
                          {0},
                          {0}};
    m[n++] = (cap_method){big ? "subproc streamed (on_output), 1 MiB pipe"
                              : "subproc streamed (on_output), default pipe",
                          SP_STREAM,
                          ps,
                          0,
                          0,
                          {0},
                          {0}};
    if (py_available())
      m[n++] = (cap_method){big ? "Python capture_output, 1 MiB pipe"
                                : "Python capture_output, default pipe",
                            PY_KEEP,
                            ps,
                            0,
                            0,
                            {0},
                            {0}};
    if (!big) {
      m[n++] = (cap_method){.name = "raw read-and-discard, grown at 64 KiB",
                            .kind = RAW_DISCARD,
                            .pipesize = GROW_PIPE};
      m[n++] = (cap_method){.name = "raw read into memory, grown at 64 KiB",
                            .kind = RAW_KEEP,
                            .pipesize = GROW_PIPE};
    }
  }
  char note[256];
  snprintf(note, sizeof note,
           "The static child writes %zu MiB in 1 MiB writes; %d "
           "repetitions, interleaved. Peak RSS: growth of the resident set "
           "over the call (VmHWM after clear_refs).",
           bench.capture_bytes >> 20, bench.capture_reps);
  bench_heading("(5) capturing a large output through communicate", note);
  for (int r = 0; r < bench.capture_reps; r++)
    for (int j = 0; j < n; j++) {
      cap_method *c = &m[(j + r) % n];
      if (c->failed)
        continue;
      double peak = 0, t = capture_once(c, &peak);
      if (t < 0) {
        c->failed = 1;
        continue;
      }
      c->secs[c->n] = t;
      c->peak[c->n++] = peak;
    }
  printf("| %-44s | %8s | %8s | %13s | %7s |\n", "method", "GB/s", "s",
         "peak RSS, MiB", "vs raw");
  printf("|----------------------------------------------|---------:|------"
         "---:|--------------:|--------:|\n");
  for (int i = 0; i < n; i++) {
    const cap_method *c = &m[i];
    const cap_method *raw = cap_find(m, n, RAW_DISCARD, c->pipesize);
    if (c->failed || c->n == 0) {
      printf("| %-44s | %8s | %8s | %13s | %7s |\n", c->name, "failed", "", "",
             "");
      continue;
    }
    char vs[32] = "";
    if (raw)
      snprintf(vs, sizeof vs, "%.2fx", gbps(c) / gbps(raw));
    printf("| %-44s | %8.2f | %8.3f | %13.1f | %7s |\n", c->name, gbps(c),
           cap_median(c, 0), cap_median(c, 1) / MIB, vs);
  }
  fflush(stdout);
  throughput_targets(m, n, 0);
  throughput_targets(m, n, MIB);
  const cap_method *grown = cap_find(m, n, RAW_KEEP, GROW_PIPE);
  const cap_method *py = cap_find(m, n, PY_KEEP, 0);
  const cap_method *kept = cap_find(m, n, RAW_KEEP, 0);
  if (grown && kept)
    bench_note("\n(5) prototype: growing the pipe once 64 KiB were read "
               "(F_SETPIPE_SZ to %d): raw kept %.2f -> %.2f GB/s (%.2fx)",
               pipe_max(), gbps(kept), gbps(grown), gbps(grown) / gbps(kept));
  if (grown && py)
    bench_target("(5) prototype: raw kept, pipe grown / Python default pipe",
                 gbps(grown) / gbps(py), 2.0, 1, "x");
}

/* ------------------------------------------------------------------ */
/* (6) a 100 ms timeout on sleep 10                                    */
/* ------------------------------------------------------------------ */

#define TIMEOUT_S 0.1

typedef enum wait_kind {
  W_RAW,
  W_SP_WAIT,
  W_SP_COMM,
  W_PY_WAIT,
  W_PY_COMM
} wait_kind;

typedef struct wait_method {
  const char *name;
  wait_kind kind;
  int n, failed;
  double over[BENCH_MAX_REPS], cpu[BENCH_MAX_REPS], wake[BENCH_MAX_REPS];
} wait_method;

static char *sleep_argv[3];

/* v[0] overshoot (s), v[1] parent CPU (s), v[2] wakeups. */
static int timed_wait_raw(double v[3]) {
  spawn_spec spec = {.argv = sleep_argv, .stdin_fd = -1};
  int fd;
  pid_t pid = raw_start_vfork(&spec, &fd);
  if (pid < 0)
    return -1;
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  long w0 = bench_thread_wakeups();
  double c0 = bench_thread_cpu(), t0 = bench_now();
  struct pollfd p = {.fd = pidfd, .events = POLLIN};
  int r = pidfd >= 0 ? poll(&p, 1, (int)(TIMEOUT_S * 1000)) : -1;
  double t1 = bench_now(), c1 = bench_thread_cpu();
  long w1 = bench_thread_wakeups();
  kill(pid, SIGKILL);
  raw_finish(pid, -1);
  if (pidfd >= 0)
    close(pidfd);
  v[0] = t1 - t0 - TIMEOUT_S;
  v[1] = c1 - c0;
  v[2] = (double)(w1 - w0);
  return r == 0 ? 0 : -1;
}

static int timed_wait_subproc(int comm, double v[3]) {
  subproc_options o = {0};
  if (comm)
    o.out = SUBPROC_REDIRECT_PIPE;
  subproc *p = NULL;
  if (subproc_popen((const char *const *)sleep_argv, &o, &p, NULL) < 0)
    return -1;
  long w0 = bench_thread_wakeups();
  double c0 = bench_thread_cpu(), t0 = bench_now();
  int rc = comm ? subproc_communicate(p, NULL, 0, TIMEOUT_S, NULL, NULL)
                : subproc_wait(p, TIMEOUT_S, NULL, NULL);
  double t1 = bench_now(), c1 = bench_thread_cpu();
  long w1 = bench_thread_wakeups();
  subproc_kill(p);
  if (comm)
    subproc_communicate(p, NULL, 0, SUBPROC_FOREVER, NULL, NULL);
  subproc_wait(p, SUBPROC_FOREVER, NULL, NULL);
  subproc_free(p);
  v[0] = t1 - t0 - TIMEOUT_S;
  v[1] = c1 - c0;
  v[2] = (double)(w1 - w0);
  return rc == SUBPROC_ETIMEDOUT ? 0 : -1;
}

static int timed_wait(const wait_method *w, double v[3]) {
  switch (w->kind) {
  case W_RAW:
    return timed_wait_raw(v);
  case W_SP_WAIT:
  case W_SP_COMM:
    return timed_wait_subproc(w->kind == W_SP_COMM, v);
  case W_PY_WAIT:
  case W_PY_COMM:
    return py_call(v, 3,
                   "{\"op\":\"timeout\",\"timeout\":%g,\"communicate\":%s,"
                   "\"argv\":%s}",
                   TIMEOUT_S, w->kind == W_PY_COMM ? "true" : "false",
                   py_argv_json(sleep_argv)) == 3
               ? 0
               : -1;
  }
  return -1;
}

static double wait_median(const wait_method *w, const double *a) {
  double v[BENCH_MAX_REPS];
  memcpy(v, a, (size_t)w->n * sizeof *v);
  return bench_median(v, w->n);
}

void scenario_timeout(void) {
  sleep_argv[0] = (char *)bench_sleep;
  sleep_argv[1] = "10";
  sleep_argv[2] = NULL;
  wait_method m[5] = {
      {"raw poll(pidfd, 100 ms)", W_RAW, 0, 0, {0}, {0}, {0}},
      {"subproc_wait(p, 0.1)", W_SP_WAIT, 0, 0, {0}, {0}, {0}},
      {"subproc_communicate(p, timeout 0.1), stdout pipe",
       W_SP_COMM,
       0,
       0,
       {0},
       {0},
       {0}},
      {"Python Popen.wait(timeout=0.1)", W_PY_WAIT, 0, 0, {0}, {0}, {0}},
      {"Python Popen.communicate(timeout=0.1)",
       W_PY_COMM,
       0,
       0,
       {0},
       {0},
       {0}}};
  int n = py_available() ? 5 : 3;
  bench_heading("(6) a 100 ms timeout on `sleep 10`",
                "Overshoot past 100 ms, CPU time of the waiting thread, and "
                "its wakeups (voluntary context switches), per wait.");
  for (int r = 0; r < bench.reps; r++)
    for (int j = 0; j < n; j++) {
      wait_method *w = &m[(j + r) % n];
      double v[3];
      if (w->failed)
        continue;
      if (timed_wait(w, v) < 0) {
        w->failed = 1;
        continue;
      }
      w->over[w->n] = v[0];
      w->cpu[w->n] = v[1];
      w->wake[w->n++] = v[2];
    }
  printf("| %-50s | %13s | %12s | %7s |\n", "method", "overshoot, ms",
         "CPU, us", "wakeups");
  printf("|----------------------------------------------------|-----------"
         "---:|-------------:|--------:|\n");
  for (int i = 0; i < n; i++) {
    wait_method *w = &m[i];
    if (w->failed || !w->n) {
      printf("| %-50s | %13s | %12s | %7s |\n", w->name, "failed", "", "");
      continue;
    }
    double over = wait_median(w, w->over), cpu = wait_median(w, w->cpu);
    double wake = wait_median(w, w->wake);
    printf("| %-50s | %13.3f | %12.1f | %7.0f |\n", w->name, over * 1e3,
           cpu * 1e6, wake);
    if (w->kind == W_SP_WAIT || w->kind == W_SP_COMM) {
      const char *k = w->kind == W_SP_WAIT ? "wait" : "communicate";
      char what[96];
      snprintf(what, sizeof what, "(6) subproc_%s: overshoot", k);
      bench_target(what, over * 1e3, 0.3, 0, " ms");
      snprintf(what, sizeof what, "(6) subproc_%s: wakeups", k);
      bench_target(what, wake, 1, 0, "");
      snprintf(what, sizeof what, "(6) subproc_%s: parent CPU", k);
      bench_target(what, cpu * 1e6, 100, 0, " us");
    }
  }
  fflush(stdout);
}

/* ------------------------------------------------------------------ */
/* (7) many children alive at once                                     */
/* ------------------------------------------------------------------ */

typedef enum many_kind { M_RAW, M_SP_WAIT, M_SP_ANY, M_PY } many_kind;

typedef struct many_method {
  const char *name;
  many_kind kind;
  int failed;
  int n[2];
  double spawn[2][BENCH_MAX_REPS], wait[2][BENCH_MAX_REPS];
} many_method;

static char *block_argv[3];

static int many_raw(int count, int in, int out_w, double *t_spawn) {
  pid_t *pids = malloc((size_t)count * sizeof *pids);
  spawn_spec spec = {.argv = block_argv, .stdin_fd = in};
  int fd, started = 0, rc = 0;
  double t0 = bench_now();
  for (; started < count; started++)
    if ((pids[started] = raw_start_vfork(&spec, &fd)) < 0)
      break;
  *t_spawn = bench_now() - t0;
  close(out_w);
  for (int i = 0; i < started; i++)
    rc |= raw_finish(pids[i], -1);
  free(pids);
  return started == count ? rc : -1;
}

static int many_subproc(int count, int in, int out_w, int any,
                        double *t_spawn) {
  subproc **ps = calloc((size_t)count, sizeof *ps);
  subproc_options o = {.in = SUBPROC_REDIRECT_FD(in)};
  int started = 0, rc = 0;
  double t0 = bench_now();
  for (; started < count; started++)
    if (subproc_popen((const char *const *)block_argv, &o, &ps[started], NULL) <
        0)
      break;
  *t_spawn = bench_now() - t0;
  close(out_w);
  if (any) {
    /* Wait for whichever exits first, as an event loop would. */
    size_t left = (size_t)started;
    subproc **live = malloc(left * sizeof *live);
    memcpy(live, ps, left * sizeof *live);
    while (left > 0 && rc == 0) {
      size_t i;
      if (subproc_wait_any(live, left, SUBPROC_FOREVER, &i, NULL) < 0)
        rc = -1;
      else
        live[i] = live[--left];
    }
    free(live);
  }
  for (int i = 0; i < started; i++) {
    int status = -1;
    rc |= subproc_wait(ps[i], SUBPROC_FOREVER, &status, NULL) < 0 || status;
    subproc_free(ps[i]);
  }
  free(ps);
  return started == count ? rc : -1;
}

/* Spawns count children that block on stdin, releases them all at once
 * and waits: seconds per child for each phase. */
static int many_once(const many_method *m, int count, double *spawn,
                     double *wait) {
  if (m->kind == M_PY) {
    double v[2];
    if (py_call(v, 2, "{\"op\":\"many\",\"n\":%d,\"argv\":%s}", count,
                py_argv_json(block_argv)) != 2)
      return -1;
    *spawn = v[0];
    *wait = v[1];
    return 0;
  }
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0)
    return -1;
  double ts = 0, t0 = bench_now();
  int rc = m->kind == M_RAW
               ? many_raw(count, p[0], p[1], &ts)
               : many_subproc(count, p[0], p[1], m->kind == M_SP_ANY, &ts);
  double total = bench_now() - t0;
  close(p[0]);
  *spawn = ts / count;
  *wait = (total - ts) / count;
  return rc;
}

static double many_median(const many_method *m, int size, int wait) {
  double v[BENCH_MAX_REPS];
  memcpy(v, wait ? m->wait[size] : m->spawn[size],
         (size_t)m->n[size] * sizeof *v);
  return bench_median(v, m->n[size]);
}

void scenario_many(void) {
  block_argv[0] = (char *)bench_tiny;
  block_argv[1] = "-r";
  block_argv[2] = NULL;
  if (strcmp(bench_tiny, bench_true) == 0) {
    bench_note("(7) skipped: needs the static child");
    return;
  }
  int sizes[2] = {bench.many / 10 > 0 ? bench.many / 10 : 1, bench.many};
  many_method m[4] = {
      {"raw vfork, waitpid each", M_RAW, 0, {0, 0}, {{0}}, {{0}}},
      {"subproc_popen, subproc_wait each", M_SP_WAIT, 0, {0, 0}, {{0}}, {{0}}},
      {"subproc_popen, subproc_wait_any loop",
       M_SP_ANY,
       0,
       {0, 0},
       {{0}},
       {{0}}},
      {"Python Popen, wait each", M_PY, 0, {0, 0}, {{0}}, {{0}}}};
  int n = py_available() ? 4 : 3, reps = bench.slow_reps;
  char note[200];
  snprintf(note, sizeof note,
           "Static child blocked on stdin; %d then %d children started, "
           "released together, waited for from one thread; us per child; "
           "%d repetitions.",
           sizes[0], sizes[1], reps);
  bench_heading("(7) many children alive at once", note);
  for (int r = 0; r < reps; r++)
    for (int j = 0; j < n; j++)
      for (int k = 0; k < 2; k++) {
        many_method *x = &m[(j + r) % n];
        double s, w;
        if (x->failed)
          continue;
        if (many_once(x, sizes[k], &s, &w) < 0) {
          x->failed = 1;
          continue;
        }
        x->spawn[k][x->n[k]] = s;
        x->wait[k][x->n[k]++] = w;
      }
  printf("| %-40s | %9s | %9s | %9s | %9s | %9s |\n", "method", "spawn@S",
         "spawn@L", "wait@S", "wait@L", "L/S");
  printf("|------------------------------------------|----------:|---------"
         "-:|----------:|----------:|----------:|\n");
  for (int i = 0; i < n; i++) {
    many_method *x = &m[i];
    if (x->failed || !x->n[0] || !x->n[1]) {
      printf("| %-40s | %9s | %9s | %9s | %9s | %9s |\n", x->name, "failed", "",
             "", "", "");
      continue;
    }
    double s0 = many_median(x, 0, 0), s1 = many_median(x, 1, 0);
    double w0 = many_median(x, 0, 1), w1 = many_median(x, 1, 1);
    double q = (s1 + w1) / (s0 + w0);
    printf("| %-40s | %9.1f | %9.1f | %9.1f | %9.1f | %8.2fx |\n", x->name,
           s0 * 1e6, s1 * 1e6, w0 * 1e6, w1 * 1e6, q);
    if (x->kind == M_SP_WAIT || x->kind == M_SP_ANY) {
      char what[128];
      snprintf(what, sizeof what, "(7) %s: us/child at %d / at %d", x->name,
               sizes[1], sizes[0]);
      bench_target(what, q, 1.2, 0, "x");
    }
  }
  printf("\nS = %d children, L = %d children; L/S = per-child cost at L / "
         "at S (1.00 = linear).\n",
         sizes[0], sizes[1]);
  fflush(stdout);
}
