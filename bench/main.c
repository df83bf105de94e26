/* subproc_bench: issue 5's benchmark suite. See docs/performance.md. */
#include <errno.h>
#if defined(__GLIBC__)
#include <gnu/libc-version.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "subproc.h"

bench_config bench;
const char *bench_tiny;
const char *bench_true;
const char *bench_echo;
const char *bench_sleep;

#define MIB ((size_t)1024 * 1024)

static void set_mode(const char *mode) {
  bench.mode = mode;
  bench.n_fds = 19990;
  bench.many = 1000;
  bench.loop_max = 10000;
  bench.profile_count = 2000;
  bench.par_jobs = 2000;
  bench.big_bytes = 2048 * MIB;
  if (strcmp(mode, "quick") == 0) {
    bench.reps = 7;
    bench.batch_s = 0.01;
    bench.big_reps = 2;
    bench.slow_reps = 3;
    bench.capture_bytes = 256 * MIB;
    bench.capture_reps = 3;
    bench.thread_s = 0.3;
    bench.loop_reps = 3;
    bench.loop_big_reps = 1;
    bench.loop_max = 1000;
    bench.par_reps = 1;
  } else if (strcmp(mode, "full") == 0) {
    bench.reps = 31;
    bench.batch_s = 0.03;
    bench.big_reps = 9;
    bench.slow_reps = 9;
    bench.capture_bytes = 2048 * MIB;
    bench.capture_reps = 7;
    bench.thread_s = 2.0;
    bench.loop_reps = 9;
    bench.loop_big_reps = 5;
    bench.par_reps = 5;
  } else {
    bench.reps = 15;
    bench.batch_s = 0.02;
    bench.big_reps = 5;
    bench.slow_reps = 5;
    bench.capture_bytes = 1024 * MIB;
    bench.capture_reps = 5;
    bench.thread_s = 1.0;
    bench.loop_reps = 5;
    bench.loop_big_reps = 3;
    bench.par_reps = 3;
  }
}

static void usage(FILE *f) {
  fprintf(f, "usage: subproc_bench [--quick | --full] [options]\n"
             "  --quick          fewer repetitions, 256 MiB capture, (9) to "
             "N = 1000\n"
             "  (default)        1 GiB capture, (9) to N = 10000\n"
             "  --full           longer batches, more repetitions, 2 GiB "
             "capture\n"
             "  --reps N         repetitions per method (median reported)\n"
             "  --batch-ms N     wall time of one timed batch\n"
             "  --big-mib N      (3) size of the big parent (default 2048)\n"
             "  --capture-mib N  (5) bytes captured through communicate\n"
             "  --fds N          (4) open fds (default 19990)\n"
             "  --many N         (7) children alive at once (default 1000)\n"
             "  --loop-max N     (9) the largest N (default 10000, quick "
             "1000)\n"
             "  --loop-reps N    (9) repetitions (default 5, and 3 above N = "
             "1000)\n"
             "  --loop-methods L (9) only these, e.g. a,c (tags in the "
             "table)\n"
             "  --loop-raw-buffer fresh|kept  (9) (c) reads into a buffer "
             "per child\n"
             "  --par-jobs N     (10) jobs per run (default 2000)\n"
             "  --par-reps N     (10) repetitions (quick 1, default 3)\n"
             "  --only LIST      scenarios to run, e.g. 1,2,5\n"
             "  --profile OP     run OP in a loop, measure nothing (for "
             "strace -c, perf):\n"
             "                   raw raw-pipe raw-2pipes run popen-wait "
             "popen-comm\n"
             "                   popen-comm-result run-pipe run-capture\n"
             "  --profile-count N  iterations for --profile (default "
             "2000)\n"
             "  --no-python --no-glib --no-libuv   leave a peer out\n");
}

/* --profile OP: one operation in a loop, nothing measured, for strace -c
 * and perf (docs/performance.md, "Where the time goes"). */
typedef struct profile_op {
  const char *name;
  int (*op)(void *spec);
  int capture; /* the static child writes "hello" to a pipe */
} profile_op;

static const profile_op profile_ops[] = {
    {"raw", op_raw_vfork, 0},
    {"raw-pipe", op_raw_vfork, 1},
    {"raw-2pipes", op_raw_vfork_2pipes, 1},
    {"run", op_subproc_run, 0},
    {"popen-wait", op_subproc_popen_wait, 0},
    {"popen-comm", op_subproc_popen_comm, 0},
    {"popen-comm-result", op_subproc_popen_comm_result, 0},
    {"run-pipe", op_subproc_run, 1},
    {"run-capture", op_subproc_run_capture_output, 1},
};

static int profile(const char *name, int count) {
  char *plain[] = {(char *)bench_tiny, NULL};
  char *hello[] = {(char *)bench_tiny, "-e", "hello", NULL};
  for (size_t i = 0; i < sizeof profile_ops / sizeof *profile_ops; i++) {
    const profile_op *p = &profile_ops[i];
    if (strcmp(p->name, name) != 0)
      continue;
    spawn_spec spec = {.argv = p->capture ? hello : plain,
                       .stdin_fd = -1,
                       .capture = p->capture};
    int bad = 0;
    for (int k = 0; k < count; k++)
      bad |= p->op(&spec) != 0;
    return bad;
  }
  fprintf(stderr,
          "subproc_bench: --profile: unknown operation '%s'; one of:", name);
  for (size_t i = 0; i < sizeof profile_ops / sizeof *profile_ops; i++)
    fprintf(stderr, " %s", profile_ops[i].name);
  fprintf(stderr, "\n");
  return 2;
}

static int clamp(int v, int lo, int hi) {
  return v < lo ? lo : v > hi ? hi : v;
}

static int parse_args(int argc, char **argv) {
  set_mode("default");
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--quick") == 0 || strcmp(argv[i], "--full") == 0)
      set_mode(argv[i] + 2);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    int takes = 1;
    if (strcmp(a, "--reps") == 0 && v)
      bench.reps = atoi(v);
    else if (strcmp(a, "--batch-ms") == 0 && v)
      bench.batch_s = atof(v) / 1000;
    else if (strcmp(a, "--big-mib") == 0 && v)
      bench.big_bytes = (size_t)atol(v) * MIB;
    else if (strcmp(a, "--capture-mib") == 0 && v)
      bench.capture_bytes = (size_t)atol(v) * MIB;
    else if (strcmp(a, "--fds") == 0 && v)
      bench.n_fds = atoi(v);
    else if (strcmp(a, "--many") == 0 && v)
      bench.many = atoi(v);
    else if (strcmp(a, "--loop-max") == 0 && v)
      bench.loop_max = atoi(v);
    else if (strcmp(a, "--loop-methods") == 0 && v)
      bench.loop_methods = v;
    else if (strcmp(a, "--loop-raw-buffer") == 0 && v)
      bench.loop_raw_buffer = v;
    else if (strcmp(a, "--loop-reps") == 0 && v)
      bench.loop_reps = bench.loop_big_reps = atoi(v);
    else if (strcmp(a, "--par-jobs") == 0 && v)
      bench.par_jobs = atoi(v);
    else if (strcmp(a, "--par-reps") == 0 && v)
      bench.par_reps = atoi(v);
    else if (strcmp(a, "--profile") == 0 && v)
      bench.profile = v;
    else if (strcmp(a, "--profile-count") == 0 && v)
      bench.profile_count = atoi(v);
    else if (strcmp(a, "--only") == 0 && v)
      bench.only = v;
    else
      takes = 0;
    if (takes) {
      i++;
      continue;
    }
    if (strcmp(a, "--no-python") == 0)
      bench.no_python = 1;
    else if (strcmp(a, "--no-glib") == 0)
      bench.no_glib = 1;
    else if (strcmp(a, "--no-libuv") == 0)
      bench.no_libuv = 1;
    else if (strcmp(a, "--quick") != 0 && strcmp(a, "--full") != 0) {
      usage(strcmp(a, "--help") == 0 ? stdout : stderr);
      return strcmp(a, "--help") == 0 ? 0 : 2;
    }
  }
  if (bench.reps < 1)
    bench.reps = 1;
  if (bench.reps > BENCH_MAX_REPS)
    bench.reps = BENCH_MAX_REPS;
  if (bench.slow_reps > bench.reps)
    bench.slow_reps = bench.reps;
  bench.loop_reps = clamp(bench.loop_reps, 1, BENCH_MAX_REPS);
  bench.loop_big_reps = clamp(bench.loop_big_reps, 1, bench.loop_reps);
  bench.par_reps = clamp(bench.par_reps, 1, BENCH_MAX_REPS);
  bench.loop_max = clamp(bench.loop_max, 10, 1 << 20);
  bench.par_jobs = clamp(bench.par_jobs, 1, 1 << 20);
  return -1;
}

static int wanted(int scenario) {
  if (!bench.only)
    return 1;
  for (const char *p = bench.only; *p; p++)
    if (atoi(p) == scenario && (p == bench.only || p[-1] == ','))
      return 1;
  return 0;
}

static const char *find_exe(const char *a, const char *b) {
  return access(a, X_OK) == 0 ? a : b;
}

static void cpu_model(char *out, size_t n) {
  snprintf(out, n, "unknown CPU");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f)
    return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    char *c = strchr(line, ':');
    if (c && strncmp(line, "model name", 10) == 0) {
      c += 2;
      c[strcspn(c, "\n")] = '\0';
      snprintf(out, n, "%s", c);
      break;
    }
  }
  fclose(f);
}

static void load_avg(char *out, size_t n) {
  snprintf(out, n, "?");
  FILE *f = fopen("/proc/loadavg", "r");
  if (!f)
    return;
  double a, b, c;
  if (fscanf(f, "%lf %lf %lf", &a, &b, &c) == 3)
    snprintf(out, n, "%.2f %.2f %.2f", a, b, c);
  fclose(f);
}

static void raise_fd_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

static void header(void) {
  struct utsname u;
  uname(&u);
  char cpu[256], load[64];
  cpu_model(cpu, sizeof cpu);
  load_avg(load, sizeof load);
  time_t now = time(NULL);
  char date[64];
  strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
  printf("# subproc_bench (%s run, %s)\n\n", bench.mode, date);
#if defined(__GLIBC__)
  const char *libc = gnu_get_libc_version();
#else
  const char *libc = "(not glibc)";
#endif
  printf("- machine: %ld cores (%s), kernel %s %s, glibc %s\n",
         sysconf(_SC_NPROCESSORS_ONLN), cpu, u.release, u.machine, libc);
  printf("- compiler: %s; subproc %s\n", __VERSION__, subproc_version());
  printf("- load average at start: %s\n", load);
  printf("- repetitions: %d (median reported), batches of ~%.0f ms, "
         "interleaved round-robin\n",
         bench.reps, bench.batch_s * 1000);
  printf("- static child: %s\n", bench_tiny);
  printf("- %s\n", peers_note());
  fflush(stdout);
}

int main(int argc, char **argv) {
  int rc = parse_args(argc, argv);
  if (rc >= 0)
    return rc;
  bench_true = find_exe("/bin/true", "/usr/bin/true");
  bench_echo = find_exe("/bin/echo", "/usr/bin/echo");
  bench_sleep = find_exe("/bin/sleep", "/usr/bin/sleep");
  bench_tiny = BENCH_TINY_CHILD[0] && access(BENCH_TINY_CHILD, X_OK) == 0
                   ? BENCH_TINY_CHILD
                   : bench_true;
  raise_fd_limit();
  if (bench.profile)
    return profile(bench.profile, bench.profile_count);
  header();
  if (py_start() < 0)
    bench.no_python = 1;

  if (wanted(1))
    scenario_spawn();
  if (wanted(2))
    scenario_capture();
  if (wanted(3))
    scenario_big_parent();
  if (wanted(4))
    scenario_close_fds();
  if (wanted(5))
    scenario_throughput();
  if (wanted(6))
    scenario_timeout();
  if (wanted(7))
    scenario_many();
  if (wanted(8))
    scenario_threads();
  if (wanted(9))
    scenario_loop();
  if (wanted(10))
    scenario_parallel();

  py_stop();
  bench_print_targets();
  char load[64];
  load_avg(load, sizeof load);
  printf("\nload average at end: %s\n", load);
  return 0;
}
