/* Scenarios (1)-(4) and (8): the cost of one spawn+wait, with and without
 * a pipe, from a big parent, with many open fds, and from two threads. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define MAX_METHODS 16

typedef struct method_set {
  bench_method m[MAX_METHODS];
  size_t n;
  py_job py;
} method_set;

static bench_method *add(method_set *s, const char *name, bench_op_fn op,
                         void *ctx) {
  bench_method *m = &s->m[s->n++];
  memset(m, 0, sizeof *m);
  m->name = name;
  m->op = op;
  m->ctx = ctx;
  return m;
}

static void add_glib(method_set *s, spawn_spec *spec) {
  if (peers_have_glib())
    add(s, "GLib g_spawn_sync", op_glib, spec);
}

static void add_libuv(method_set *s, spawn_spec *spec) {
  if (!peers_have_libuv())
    return;
  bench_method *m = add(s, "libuv uv_spawn", op_libuv, spec);
  m->before = libuv_before;
  m->after = libuv_after;
}

static void add_python(method_set *s, const char *name, spawn_spec *spec,
                       const char *mode, py_job *job) {
  if (!py_available())
    return;
  *job = (py_job){mode, spec, -1};
  bench_method *m = add(s, name, NULL, job);
  m->batch = py_batch;
}

/* median(a) / median(b), or 0 when either is missing. */
static double ratio(const method_set *s, const char *a, const char *b) {
  const bench_method *x = bench_find(s->m, s->n, a);
  const bench_method *y = bench_find(s->m, s->n, b);
  return x && y && y->median > 0 ? x->median / y->median : 0;
}

static void target_ratio(const method_set *s, const char *what, const char *a,
                         const char *b, double limit, int at_least) {
  double r = ratio(s, a, b);
  if (r > 0)
    bench_target(what, r, limit, at_least, "x");
}

/* ------------------------------------------------------------------ */
/* (1) spawn+wait                                                      */
/* ------------------------------------------------------------------ */

static void spawn_case(const char *title, char *const *argv, int is_tiny) {
  spawn_spec spec = {.argv = argv, .stdin_fd = -1};
  method_set s;
  s.n = 0;
  add(&s, "raw vfork+execve+waitpid", op_raw_vfork, &spec);
  add(&s, "raw clone(CLONE_VM|CLONE_VFORK)", op_raw_clone, &spec);
  add(&s, "glibc posix_spawn", op_raw_posix_spawn, &spec);
  add(&s, "fork+execve+waitpid", op_raw_fork, &spec);
  add(&s, "subproc_run", op_subproc_run, &spec);
  add(&s, "subproc_run, close_fds off", op_subproc_run_keepfds, &spec);
  add(&s, "subproc_popen+subproc_wait", op_subproc_popen_wait, &spec);
  if (is_tiny) {
    add(&s, "popen+communicate(no result)+wait", op_subproc_popen_comm, &spec);
    add(&s, "popen+communicate(result)", op_subproc_popen_comm_result, &spec);
  }
  add_glib(&s, &spec);
  add_libuv(&s, &spec);
  add_python(&s, "Python subprocess.run", &spec, "plain", &s.py);
  bench_heading(title, NULL);
  bench_measure(s.m, s.n, bench.reps);
  bench_table(s.m, s.n, 0, "us", 1e6);
  if (is_tiny) {
    target_ratio(&s, "(1) static child: subproc_run / raw vfork", "subproc_run",
                 "raw vfork+execve+waitpid", 1.15, 0);
    target_ratio(&s, "(1) static child: subproc_run / raw vfork (issue 13)",
                 "subproc_run", "raw vfork+execve+waitpid", 1.05, 0);
    target_ratio(&s, "(1) static child: posix_spawn / subproc_run",
                 "glibc posix_spawn", "subproc_run", 1.3, 1);
    target_ratio(&s, "(1) static child: Python / subproc_run",
                 "Python subprocess.run", "subproc_run", 2.0, 1);
    target_ratio(&s, "(1) static child: GLib / subproc_run",
                 "GLib g_spawn_sync", "subproc_run", 2.0, 1);
    target_ratio(&s, "(1) static child: libuv / subproc_run", "libuv uv_spawn",
                 "subproc_run", 2.0, 1);
  } else {
    target_ratio(&s, "(1) /bin/true: subproc_run / raw vfork", "subproc_run",
                 "raw vfork+execve+waitpid", 1.05, 0);
  }
}

void scenario_spawn(void) {
  char *tiny[] = {(char *)bench_tiny, NULL};
  char *tru[] = {(char *)bench_true, NULL};
  spawn_case("(1a) spawn+wait, no pipes: static child", tiny, 1);
  spawn_case("(1b) spawn+wait, no pipes: /bin/true", tru, 0);
}

/* ------------------------------------------------------------------ */
/* (2) spawn+wait with stdout captured                                 */
/* ------------------------------------------------------------------ */

static void capture_case(const char *title, char *const *argv,
                         const char *label) {
  spawn_spec spec = {.argv = argv, .stdin_fd = -1, .capture = 1};
  method_set s;
  py_job py2;
  s.n = 0;
  add(&s, "raw vfork+pipe, read to EOF", op_raw_vfork, &spec);
  add(&s, "raw clone(CLONE_VM|CLONE_VFORK)+pipe", op_raw_clone, &spec);
  add(&s, "raw vfork+2 pipes, poll (capture_output)", op_raw_vfork_2pipes,
      &spec);
  add(&s, "glibc posix_spawn+pipe", op_raw_posix_spawn, &spec);
  add(&s, "fork+pipe", op_raw_fork, &spec);
  add(&s, "subproc_run, stdout=PIPE", op_subproc_run, &spec);
  add(&s, "subproc_run, capture_output", op_subproc_run_capture_output, &spec);
  add_glib(&s, &spec);
  add_libuv(&s, &spec);
  add_python(&s, "Python run(stdout=PIPE)", &spec, "stdout", &s.py);
  add_python(&s, "Python run(capture_output=True)", &spec, "capture_output",
             &py2);
  bench_heading(title, NULL);
  bench_measure(s.m, s.n, bench.reps);
  bench_table(s.m, s.n, 0, "us", 1e6);
  char what[128];
  snprintf(what, sizeof what, "(2) %s: subproc_run stdout=PIPE / raw", label);
  target_ratio(&s, what, "subproc_run, stdout=PIPE",
               "raw vfork+pipe, read to EOF", 1.08, 0);
  snprintf(what, sizeof what, "(2) %s: subproc_run capture_output / raw",
           label);
  target_ratio(&s, what, "subproc_run, capture_output",
               "raw vfork+pipe, read to EOF", 1.08, 0);
}

void scenario_capture(void) {
  char *tiny[] = {(char *)bench_tiny, "-e", "hello", NULL};
  char *echo[] = {(char *)bench_echo, "hello", NULL};
  if (strcmp(bench_tiny, bench_true) != 0)
    capture_case("(2a) spawn+wait, stdout captured: static child", tiny,
                 "static child");
  capture_case("(2b) spawn+wait, stdout captured: /bin/echo", echo,
               "/bin/echo");
}

/* ------------------------------------------------------------------ */
/* (3) from a parent holding 2 GiB of touched heap                     */
/* ------------------------------------------------------------------ */

/* Rounds per allocation cycle: touching 2 GiB takes about a second. */
#define BIG_ROUNDS 3

static void *big_alloc(size_t n) {
  char *p =
      mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    bench_die("mmap (--big-mib too large?)");
  /* Small pages, as a heap of many allocations has. */
  madvise(p, n, MADV_NOHUGEPAGE);
  for (size_t off = 0; off < n; off += 4096)
    p[off] = 1;
  return p;
}

static void spawn_methods(method_set *s, spawn_spec *spec) {
  s->n = 0;
  add(s, "raw vfork+execve+waitpid", op_raw_vfork, spec);
  add(s, "glibc posix_spawn", op_raw_posix_spawn, spec);
  add(s, "fork+execve+waitpid", op_raw_fork, spec);
  add(s, "subproc_run", op_subproc_run, spec);
  add_glib(s, spec);
  add_libuv(s, spec);
  add_python(s, "Python subprocess.run", spec, "plain", &s->py);
}

void scenario_big_parent(void) {
  char *tiny[] = {(char *)bench_tiny, NULL};
  spawn_spec spec = {.argv = tiny, .stdin_fd = -1};
  static method_set small, big;
  spawn_methods(&small, &spec);
  spawn_methods(&big, &spec);
  char note[256];
  snprintf(note, sizeof note,
           "Static child, no pipes. Big: %zu MiB anonymous memory, every 4 "
           "KiB page written (MADV_NOHUGEPAGE), in the bench and in the "
           "python3 driver alike. %d cycles of %d rounds small, then %d "
           "rounds big.",
           bench.big_bytes >> 20, bench.big_reps, BIG_ROUNDS, BIG_ROUNDS);
  bench_heading("(3) spawn+wait from a big parent", note);
  for (int r = 0; r < bench.big_reps; r++) {
    for (int k = 0; k < BIG_ROUNDS; k++)
      bench_measure_rep(small.m, small.n, r * BIG_ROUNDS + k);
    void *mem = big_alloc(bench.big_bytes);
    double v;
    if (py_available())
      py_call(&v, 1, "{\"op\":\"alloc\",\"bytes\":%zu}", bench.big_bytes);
    for (int k = 0; k < BIG_ROUNDS; k++)
      bench_measure_rep(big.m, big.n, r * BIG_ROUNDS + k);
    if (py_available())
      py_call(&v, 1, "{\"op\":\"free\"}");
    munmap(mem, bench.big_bytes);
  }
  printf("| %-44s | %10s | %10s | %9s |\n", "method", "small, us", "big, us",
         "big/small");
  printf("|----------------------------------------------|-----------:|------"
         "-----:|----------:|\n");
  for (size_t i = 0; i < small.n; i++) {
    bench_finish(&small.m[i]);
    bench_finish(&big.m[i]);
    if (small.m[i].failed || big.m[i].failed) {
      printf("| %-44s | %10s | %10s | %9s |\n", small.m[i].name, "failed", "",
             "");
      continue;
    }
    double q = big.m[i].median / small.m[i].median;
    printf("| %-44s | %10.1f | %10.1f | %8.2fx |\n", small.m[i].name,
           small.m[i].median * 1e6, big.m[i].median * 1e6, q);
    if (strcmp(small.m[i].name, "subproc_run") == 0)
      bench_target("(3) subproc_run: big parent / small parent", q, 1.05, 0,
                   "x");
  }
  fflush(stdout);
}

/* ------------------------------------------------------------------ */
/* (4) close_fds with 19,990 open fds                                  */
/* ------------------------------------------------------------------ */

static int *open_fds(int n) {
  int *fds = malloc((size_t)n * sizeof *fds);
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (!fds || devnull < 0)
    bench_die("open /dev/null");
  for (int i = 0; i < n; i++)
    if ((fds[i] = dup(devnull)) < 0) /* inheritable, as close_fds expects */
      bench_die("dup (raise the fd limit or lower --fds)");
  close(devnull);
  return fds;
}

void scenario_close_fds(void) {
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  int n = bench.n_fds;
  if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)n + 64 > rl.rlim_cur) {
    n = (int)rl.rlim_cur - 64;
    bench_note("(4): RLIMIT_NOFILE is %ld: %d fds instead of %d",
               (long)rl.rlim_cur, n, bench.n_fds);
  }
  char *tiny[] = {(char *)bench_tiny, NULL};
  int limit = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1 << 20)
                  ? 1 << 20
                  : (int)rl.rlim_cur;
  spawn_spec range = {.argv = tiny, .stdin_fd = -1, .close = CLOSE_RANGE};
  spawn_spec proc = range, loop = range, loop1m = range, none = range;
  proc.close = CLOSE_PROC;
  loop.close = loop1m.close = CLOSE_LOOP;
  loop.loop_limit = limit;
  loop1m.loop_limit = 1 << 20;
  none.close = CLOSE_NONE;
  static char loop_name[96];
  snprintf(loop_name, sizeof loop_name,
           "raw vfork, close() loop to RLIMIT_NOFILE %d", limit);
  static method_set s;
  s.n = 0;
  add(&s, "raw vfork + close_range (reference)", op_raw_vfork, &range);
  add(&s, "raw vfork, /proc/self/fd walk", op_raw_vfork, &proc);
  add(&s, loop_name, op_raw_vfork, &loop);
  if (limit < (1 << 20))
    add(&s, "raw vfork, close() loop to 1,048,576", op_raw_vfork, &loop1m);
  add(&s, "raw vfork, nothing closed (fds inherited)", op_raw_vfork, &none);
  add(&s, "glibc posix_spawn + addclosefrom_np", op_raw_posix_spawn, &range);
  add(&s, "subproc_run (close_fds default)", op_subproc_run, &range);
  add_glib(&s, &range);
  add_python(&s, "Python subprocess.run (close_fds=True)", &range, "plain",
             &s.py);
  char note[200];
  snprintf(note, sizeof note,
           "Static child; %d extra inheritable fds open in the parent (and "
           "in the python3 driver).",
           n);
  bench_heading("(4) close_fds with many open fds", note);
  int *fds = open_fds(n);
  double v;
  if (py_available())
    py_call(&v, 1, "{\"op\":\"fds\",\"n\":%d}", n);
  bench_measure(s.m, s.n, bench.reps);
  if (py_available())
    py_call(&v, 1, "{\"op\":\"closefds\"}");
  for (int i = 0; i < n; i++)
    close(fds[i]);
  free(fds);
  bench_table(s.m, s.n, 0, "us", 1e6);
  target_ratio(&s, "(4) close_fds: subproc_run / raw close_range spawn",
               "subproc_run (close_fds default)",
               "raw vfork + close_range (reference)", 1.05, 0);
}

/* ------------------------------------------------------------------ */
/* (8) spawns per second from 1 and 2 threads                          */
/* ------------------------------------------------------------------ */

typedef struct worker {
  pthread_t tid;
  bench_method *m;
  atomic_int *stop;
  pthread_barrier_t *start;
  long count;
  int failed;
} worker;

static void *worker_main(void *arg) {
  worker *w = arg;
  pthread_barrier_wait(w->start);
  while (!atomic_load(w->stop)) {
    if (w->m->op(w->m->ctx) != 0)
      w->failed = 1;
    w->count++;
  }
  return NULL;
}

/* Seconds per spawn over all threads (1 / rate), or -1. */
static double spawn_rate(bench_method *m, int threads) {
  worker w[2];
  atomic_int stop = 0;
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
  for (int i = 0; i < threads; i++) {
    w[i] = (worker){.m = m, .stop = &stop, .start = &start};
    pthread_create(&w[i].tid, NULL, worker_main, &w[i]);
  }
  pthread_barrier_wait(&start);
  double t0 = bench_now();
  struct timespec ts = {
      (time_t)bench.thread_s,
      (long)((bench.thread_s - (double)(time_t)bench.thread_s) * 1e9)};
  nanosleep(&ts, NULL);
  atomic_store(&stop, 1);
  long total = 0;
  int failed = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(w[i].tid, NULL);
    total += w[i].count;
    failed |= w[i].failed;
  }
  double t = bench_now() - t0;
  pthread_barrier_destroy(&start);
  return failed || total == 0 ? -1 : t / (double)total;
}

static void record(bench_method *m, double v) {
  if (v < 0)
    m->failed = 1;
  else if (m->n_samples < BENCH_MAX_REPS)
    m->samples[m->n_samples++] = v;
}

void scenario_threads(void) {
  char *tiny[] = {(char *)bench_tiny, NULL};
  spawn_spec spec = {.argv = tiny, .stdin_fd = -1};
  static method_set one, two;
  for (method_set *s = &one; s; s = s == &one ? &two : NULL) {
    s->n = 0;
    add(s, "raw vfork+execve+waitpid", op_raw_vfork, &spec);
    add(s, "glibc posix_spawn", op_raw_posix_spawn, &spec);
    add(s, "subproc_run", op_subproc_run, &spec);
    add_glib(s, &spec);
  }
  int reps = bench.slow_reps;
  char note[160];
  snprintf(note, sizeof note,
           "Static child; each thread spawns+waits in a loop for %.1f s; %d "
           "repetitions, interleaved.",
           bench.thread_s, reps);
  bench_heading("(8) spawns per second from 1 and 2 threads", note);
  for (int r = 0; r < reps; r++)
    for (size_t j = 0; j < one.n; j++) {
      size_t i = (j + (size_t)r) % one.n;
      record(&one.m[i], spawn_rate(&one.m[i], 1));
      record(&two.m[i], spawn_rate(&two.m[i], 2));
    }
  printf("| %-44s | %10s | %10s | %9s |\n", "method", "1 thread/s",
         "2 threads/s", "scaling");
  printf("|----------------------------------------------|-----------:|------"
         "-----:|----------:|\n");
  double raw_scaling = 0;
  for (size_t i = 0; i < one.n; i++) {
    bench_finish(&one.m[i]);
    bench_finish(&two.m[i]);
    if (one.m[i].failed || two.m[i].failed) {
      printf("| %-44s | %10s | %10s | %9s |\n", one.m[i].name, "failed", "",
             "");
      continue;
    }
    double r1 = 1 / one.m[i].median, r2 = 1 / two.m[i].median;
    printf("| %-44s | %10.0f | %10.0f | %8.2fx |\n", one.m[i].name, r1, r2,
           r2 / r1);
    if (i == 0)
      raw_scaling = r2 / r1;
    if (strcmp(one.m[i].name, "subproc_run") == 0 && raw_scaling > 0)
      bench_target("(8) subproc_run 2-thread scaling / raw vfork's",
                   (r2 / r1) / raw_scaling, 0.95, 1, "x");
  }
  fflush(stdout);
}
