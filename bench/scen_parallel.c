/* Scenario (10): job runners. `subproc parallel -j 2` against `xargs -P 2`
 * and GNU parallel, each running the same jobs (`true ARG`, one a line on
 * stdin) two at a time, started from the bench and timed interleaved. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "subproc.h"

#define PAR_METHODS 3

typedef struct par_method {
  const char *name;
  const char *argv[12];
  int n, failed;
  double wall[BENCH_MAX_REPS], cpu[BENCH_MAX_REPS];
} par_method;

static const char *on_path(const char *a, const char *b) {
  return access(a, X_OK) == 0 ? a : access(b, X_OK) == 0 ? b : NULL;
}

/* moreutils ships a parallel too: only GNU's is measured. */
static int is_gnu_parallel(const char *path) {
  const char *argv[] = {path, "--version", NULL};
  subproc_options o = {.out = SUBPROC_REDIRECT_PIPE,
                       .err = SUBPROC_REDIRECT_DEVNULL};
  subproc_result *r = NULL;
  int ok = subproc_run(argv, &o, &r, NULL) == 0 && r->out &&
           strstr(r->out, "GNU parallel") != NULL;
  subproc_result_free(r);
  return ok;
}

/* A file of n lines, 1 to n: every runner reads its jobs from it. */
static int jobs_file(int n, char *path, size_t len) {
  snprintf(path, len, "/tmp/subproc_bench_jobs_XXXXXX");
  int fd = mkstemp(path);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!f)
    return -1;
  for (int i = 1; i <= n; i++)
    fprintf(f, "%d\n", i);
  return fclose(f) == 0 ? 0 : -1;
}

/* One run of m over the jobs in path: wall and CPU (the runner and every
 * job, as its rusage counts them). */
static int par_once(par_method *m, const char *path) {
  int in = open(path, O_RDONLY | O_CLOEXEC);
  if (in < 0)
    return -1;
  subproc_options o = {.in = SUBPROC_REDIRECT_FD(in),
                       .out = SUBPROC_REDIRECT_DEVNULL,
                       .err = SUBPROC_REDIRECT_DEVNULL};
  subproc_result *r = NULL;
  double t0 = bench_now();
  int rc = subproc_run(m->argv, &o, &r, NULL);
  double t = bench_now() - t0;
  close(in);
  int ok = rc == 0 && r->returncode == 0;
  if (ok && m->n < BENCH_MAX_REPS) {
    m->wall[m->n] = t;
    m->cpu[m->n++] = r->user_s + r->system_s;
  }
  if (!ok)
    fprintf(stderr, "(10) %s: rc %d, exit status %d\n", m->name, rc,
            r ? r->returncode : -1);
  subproc_result_free(r);
  return ok ? 0 : -1;
}

static int par_methods(par_method *m, const char *jobs) {
  int n = 0;
  const char *cli = BENCH_SUBPROC_CLI[0] && access(BENCH_SUBPROC_CLI, X_OK) == 0
                        ? BENCH_SUBPROC_CLI
                        : NULL;
  const char *xargs = on_path("/usr/bin/xargs", "/bin/xargs");
  const char *gnu = on_path("/usr/bin/parallel", "/usr/local/bin/parallel");
  if (cli)
    m[n++] = (par_method){.name = "subproc parallel -j 2",
                          .argv = {cli, "parallel", "-j", jobs, "--", "true"}};
  else
    bench_note("(10): the subproc CLI was not built: its row is left out");
  if (xargs)
    m[n++] = (par_method){.name = "xargs -P 2 -n 1",
                          .argv = {xargs, "-P", jobs, "-n", "1", "true"}};
  if (gnu && is_gnu_parallel(gnu))
    m[n++] = (par_method){.name = "GNU parallel -j 2",
                          .argv = {gnu, "--will-cite", "-j", jobs, "true"}};
  else
    bench_note("(10): GNU parallel not found (apt-get install parallel)");
  return n;
}

static double med_of(const double *a, int n) {
  double v[BENCH_MAX_REPS];
  memcpy(v, a, (size_t)n * sizeof *v);
  return bench_median(v, n);
}

static void par_table(par_method *m, int n) {
  printf("| %-28s | %8s | %8s | %8s | %8s | %10s | %10s |\n", "method",
         "wall, s", "min", "max", "jobs/s", "CPU, s", "vs subproc");
  printf("|------------------------------|---------:|---------:|---------:|"
         "---------:|-----------:|-----------:|\n");
  double base = m[0].n && !m[0].failed ? med_of(m[0].wall, m[0].n) : 0;
  for (int i = 0; i < n; i++) {
    par_method *x = &m[i];
    if (x->failed || !x->n) {
      printf("| %-28s | %8s | %8s | %8s | %8s | %10s | %10s |\n", x->name,
             "failed", "", "", "", "", "");
      continue;
    }
    double w = med_of(x->wall, x->n), lo = x->wall[0], hi = x->wall[0];
    for (int k = 1; k < x->n; k++)
      lo = x->wall[k] < lo ? x->wall[k] : lo,
      hi = x->wall[k] > hi ? x->wall[k] : hi;
    char ratio[16] = "";
    if (base > 0)
      snprintf(ratio, sizeof ratio, "%.2fx", w / base);
    printf("| %-28s | %8.3f | %8.3f | %8.3f | %8.0f | %10.2f | %10s |\n",
           x->name, w, lo, hi, bench.par_jobs / w, med_of(x->cpu, x->n), ratio);
    if (i > 0 && base > 0) {
      char what[128];
      snprintf(what, sizeof what, "(10) subproc parallel / %s", x->name);
      bench_target(what, base / w, 1.0, 0, "x");
    }
  }
  fflush(stdout);
}

void scenario_parallel(void) {
  char path[64];
  if (jobs_file(bench.par_jobs, path, sizeof path) < 0)
    bench_die("(10) jobs file");
  static par_method m[PAR_METHODS];
  int n = par_methods(m, "2");
  char note[320];
  snprintf(note, sizeof note,
           "%d jobs `true N` (N = 1 ... %d, one a line on stdin), 2 at a "
           "time; stdout and stderr to /dev/null; %d repetitions, "
           "interleaved. CPU: the runner and all its jobs (rusage).",
           bench.par_jobs, bench.par_jobs, bench.par_reps);
  bench_heading("(10) parallel job runners", note);
  for (int r = 0; r < bench.par_reps; r++)
    for (int j = 0; j < n; j++) {
      par_method *x = &m[(j + r) % n];
      if (!x->failed && par_once(x, path) < 0)
        x->failed = 1;
    }
  unlink(path);
  par_table(m, n);
}
