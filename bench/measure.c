/* Timing, interleaved measurement, tables and the targets summary. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double bench_thread_cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double bench_process_cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Each time the thread blocks and is woken counts one voluntary context
 * switch. */
long bench_thread_wakeups(void) {
  struct rusage ru;
  getrusage(RUSAGE_THREAD, &ru);
  return ru.ru_nvcsw;
}

static size_t status_kb(const char *key) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f)
    return 0;
  char line[256];
  size_t kb = 0, klen = strlen(key);
  while (fgets(line, sizeof line, f))
    if (strncmp(line, key, klen) == 0) {
      kb = (size_t)strtoull(line + klen, NULL, 10);
      break;
    }
  fclose(f);
  return kb * 1024;
}

size_t bench_rss(void) { return status_kb("VmRSS:"); }
size_t bench_peak_rss(void) { return status_kb("VmHWM:"); }

void bench_reset_peak(void) {
  int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (write(fd, "5", 1) < 0) {
      /* older kernel: the peak then covers the whole run */
    }
    close(fd);
  }
}

void bench_die(const char *what) {
  fprintf(stderr, "subproc_bench: %s: %s\n", what, strerror(errno));
  exit(1);
}

/* ------------------------------------------------------------------ */
/* Measurement                                                         */
/* ------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double bench_median(double *v, int n) {
  if (n <= 0)
    return 0;
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double children_cpu(void) {
  struct rusage ru;
  getrusage(RUSAGE_CHILDREN, &ru);
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Seconds per operation over one batch of k operations; cpu[0], cpu[1]:
 * this thread's and the reaped children's CPU per operation (-1: the
 * method timed itself). */
static double run_batch(bench_method *m, int k, double cpu[2]) {
  if (m->before)
    m->before(m->ctx);
  double per;
  cpu[0] = cpu[1] = -1;
  if (m->batch) {
    per = m->batch(m->ctx, k);
  } else {
    double c0 = bench_thread_cpu(), k0 = children_cpu(), t0 = bench_now();
    int bad = 0;
    for (int i = 0; i < k; i++)
      bad |= m->op(m->ctx) != 0;
    double t1 = bench_now();
    per = bad ? -1 : (t1 - t0) / k;
    cpu[0] = (bench_thread_cpu() - c0) / k;
    cpu[1] = (children_cpu() - k0) / k;
  }
  if (m->after)
    m->after(m->ctx);
  return per;
}

static void calibrate(bench_method *m) {
  if (m->per_batch > 0)
    return;
  double cpu[2];
  double one = run_batch(m, 1, cpu); /* also warms caches and lazy set-up */
  if (one < 0) {
    m->failed = 1;
    return;
  }
  one = run_batch(m, 1, cpu);
  if (one <= 0)
    one = 1e-6;
  double k = bench.batch_s / one;
  m->per_batch = k < 1 ? 1 : k > 100000 ? 100000 : (int)k;
}

void bench_finish(bench_method *m) {
  if (m->n_samples == 0) {
    m->failed = 1;
    return;
  }
  double v[BENCH_MAX_REPS];
  memcpy(v, m->samples, (size_t)m->n_samples * sizeof *v);
  m->median = bench_median(v, m->n_samples);
  m->min = v[0];
  m->max = v[m->n_samples - 1];
  memcpy(v, m->cpu_self, (size_t)m->n_samples * sizeof *v);
  m->median_self = bench_median(v, m->n_samples);
  memcpy(v, m->cpu_kids, (size_t)m->n_samples * sizeof *v);
  m->median_kids = bench_median(v, m->n_samples);
}

void bench_measure_rep(bench_method *m, size_t n, int r) {
  for (size_t i = 0; i < n; i++)
    calibrate(&m[i]);
  for (size_t j = 0; j < n; j++) {
    bench_method *x = &m[(j + (size_t)r) % n];
    if (x->failed || x->n_samples == BENCH_MAX_REPS)
      continue;
    double cpu[2];
    double per = run_batch(x, x->per_batch, cpu);
    if (per < 0) {
      x->failed = 1;
    } else {
      x->cpu_self[x->n_samples] = cpu[0];
      x->cpu_kids[x->n_samples] = cpu[1];
      x->samples[x->n_samples++] = per;
    }
  }
}

void bench_measure(bench_method *m, size_t n, int reps) {
  for (int r = 0; r < reps; r++)
    bench_measure_rep(m, n, r);
  for (size_t i = 0; i < n; i++)
    if (!m[i].failed)
      bench_finish(&m[i]);
}

const bench_method *bench_find(const bench_method *m, size_t n,
                               const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(m[i].name, name) == 0)
      return m[i].failed ? NULL : &m[i];
  return NULL;
}

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */

void bench_heading(const char *title, const char *note) {
  printf("\n## %s\n", title);
  if (note && *note)
    printf("%s\n", note);
  printf("\n");
  fflush(stdout);
}

void bench_note(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf("\n");
  fflush(stdout);
}

static void cpu_cell(char *out, size_t n, double v) {
  if (v < 0)
    snprintf(out, n, "-");
  else
    snprintf(out, n, "%.1f", v * 1e6);
}

void bench_table(const bench_method *m, size_t n, size_t ref, const char *unit,
                 double scale) {
  printf("| %-44s | %10s | %10s | %10s | %7s | %8s | %8s |\n", "method", unit,
         "min", "max", "ratio", "CPU self", "CPU kids");
  printf("|%.*s|%.*s:|%.*s:|%.*s:|%.*s:|%.*s:|%.*s:|\n", 46,
         "----------------------------------------------", 11, "-----------",
         11, "-----------", 11, "-----------", 8, "--------", 9, "---------", 9,
         "---------");
  double base = m[ref].failed ? 0 : m[ref].median;
  for (size_t i = 0; i < n; i++) {
    if (m[i].failed) {
      printf("| %-44s | %10s | %10s | %10s | %7s | %8s | %8s |\n", m[i].name,
             "failed", "", "", "", "", "");
      continue;
    }
    char ratio[32] = "", self[32], kids[32];
    if (base > 0)
      snprintf(ratio, sizeof ratio, "%.2fx", m[i].median / base);
    cpu_cell(self, sizeof self, m[i].median_self);
    cpu_cell(kids, sizeof kids, m[i].median_kids);
    printf("| %-44s | %10.1f | %10.1f | %10.1f | %7s | %8s | %8s |\n",
           m[i].name, m[i].median * scale, m[i].min * scale, m[i].max * scale,
           ratio, self, kids);
  }
  fflush(stdout);
}

/* ------------------------------------------------------------------ */
/* Targets                                                             */
/* ------------------------------------------------------------------ */

typedef struct target {
  char what[160];
  double value, limit;
  int at_least;
  char unit[16];
} target;

static target targets[64];
static int n_targets;

void bench_target(const char *what, double value, double limit, int at_least,
                  const char *unit) {
  if (n_targets == (int)(sizeof targets / sizeof *targets))
    return;
  target *t = &targets[n_targets++];
  snprintf(t->what, sizeof t->what, "%s", what);
  snprintf(t->unit, sizeof t->unit, "%s", unit);
  t->value = value;
  t->limit = limit;
  t->at_least = at_least;
}

void bench_print_targets(void) {
  bench_heading("Targets (issues 5 and 13)", NULL);
  printf("| %-64s | %10s | %10s | %-6s |\n", "target", "measured", "limit", "");
  printf("|%.*s|%.*s:|%.*s:|%.*s|\n", 66,
         "------------------------------------------------------------------",
         11, "-----------", 11, "-----------", 8, "--------");
  for (int i = 0; i < n_targets; i++) {
    const target *t = &targets[i];
    int met = t->at_least ? t->value >= t->limit : t->value <= t->limit;
    char v[32], l[32];
    snprintf(v, sizeof v, "%.2f%s", t->value, t->unit);
    snprintf(l, sizeof l, "%s%.2f%s", t->at_least ? ">= " : "<= ", t->limit,
             t->unit);
    printf("| %-64s | %10s | %10s | %-6s |\n", t->what, v, l,
           met ? "met" : "MISSED");
  }
  fflush(stdout);
}
