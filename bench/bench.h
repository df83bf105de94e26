/* subproc_bench: shared declarations.
 *
 * Every figure is measured interleaved: one repetition runs a timed batch
 * of each method in turn (the starting method rotates), so drift of the
 * machine (frequency, other load) hits every method alike; the reported
 * figure is the median over the repetitions. */
#ifndef SUBPROC_BENCH_H
#define SUBPROC_BENCH_H

#include <stddef.h>
#include <sys/types.h>

#define BENCH_MAX_REPS 64

/* Run length and sizes, set by --quick / (default) / --full and flags. */
typedef struct bench_config {
  const char *mode;     /* "quick", "default", "full" */
  int reps;             /* repetitions per method; the median is reported */
  double batch_s;       /* wall time of one timed batch */
  size_t big_bytes;     /* (3): the big parent's touched heap */
  int big_reps;         /* (3): allocation cycles (each touches big_bytes) */
  int slow_reps;        /* (7), (8): repetitions */
  size_t capture_bytes; /* (5): bytes captured through communicate */
  int capture_reps;     /* (5): repetitions (each moves capture_bytes) */
  int n_fds;            /* (4): open fds during the spawn */
  int many;             /* (7): children alive at once */
  int loop_max;         /* (9): the largest N (10 ... 10,000) */
  int loop_reps;        /* (9): repetitions up to N = 1,000 */
  int loop_big_reps;    /* (9): repetitions above (seconds each) */
  const char *loop_methods;    /* (9): tags to run, e.g. "a,c"; NULL = all */
  const char *loop_raw_buffer; /* (9): (c) reads into "fresh" or "kept" */
  int par_jobs;                /* (10): jobs per run */
  int par_reps;                /* (10): repetitions */
  double thread_s;             /* (8): seconds per sample */
  const char *only;    /* comma-separated scenario numbers, NULL = all */
  const char *profile; /* --profile OP: loop OP, measure nothing */
  int profile_count;
  int no_python, no_glib, no_libuv;
} bench_config;

extern bench_config bench;

/* The children. tiny is the static child (or /bin/true where it cannot be
 * built); the others are absolute paths found at start-up. */
extern const char *bench_tiny;
extern const char *bench_true;
extern const char *bench_echo;
extern const char *bench_sleep;

double bench_now(void);
double bench_thread_cpu(void);
long bench_thread_wakeups(void);
/* Current and peak resident set of this process in bytes; reset_peak
 * makes the peak start again from the current RSS (Linux >= 4.0). */
size_t bench_rss(void);
size_t bench_peak_rss(void);
void bench_reset_peak(void);
void bench_die(const char *what) __attribute__((noreturn));

/* ---- interleaved measurement (measure.c) ---- */

typedef int (*bench_op_fn)(void *ctx);
/* A batch timed by the method itself (Python): seconds per operation,
 * negative on failure. */
typedef double (*bench_batch_fn)(void *ctx, int n);
typedef void (*bench_hook_fn)(void *ctx);

typedef struct bench_method {
  const char *name;
  bench_op_fn op;              /* one operation, timed here... */
  bench_batch_fn batch;        /* ...or a batch timed by the method */
  bench_hook_fn before, after; /* untimed, around every batch */
  void *ctx;
  int per_batch; /* operations per batch (0 = calibrate) */
  int n_samples;
  double samples[BENCH_MAX_REPS]; /* seconds per operation */
  /* CPU per operation in the same batches: this thread, and the children
   * it reaped (RUSAGE_CHILDREN); -1 when the method times itself. */
  double cpu_self[BENCH_MAX_REPS], cpu_kids[BENCH_MAX_REPS];
  double median, min, max;
  double median_self, median_kids;
  int failed;
} bench_method;

/* Calibrates each method's batch to about bench.batch_s, then runs reps
 * repetitions round-robin and fills median/min/max. */
void bench_measure(bench_method *m, size_t n, int reps);
/* One repetition: a batch of each method, starting at method r % n. */
void bench_measure_rep(bench_method *m, size_t n, int r);
void bench_finish(bench_method *m); /* median/min/max from the samples */
double bench_median(double *v, int n);

/* ---- output (measure.c) ---- */

void bench_heading(const char *title, const char *note);
/* One table: median, min, max (scaled by scale, e.g. 1e6 for us), the
 * ratio of each median to m[ref]'s, and the CPU columns (parent thread and
 * children, us per operation). */
void bench_table(const bench_method *m, size_t n, size_t ref, const char *unit,
                 double scale);
void bench_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A target from issue 5: value <= limit (or >= limit with at_least). */
void bench_target(const char *what, double value, double limit, int at_least,
                  const char *unit);
void bench_print_targets(void);
const bench_method *bench_find(const bench_method *m, size_t n,
                               const char *name);

/* ---- raw baselines (baselines.c) ---- */

typedef enum close_mode {
  CLOSE_NONE = 0,
  CLOSE_RANGE, /* close_range(3, ~0U) */
  CLOSE_PROC,  /* walk /proc/self/fd */
  CLOSE_LOOP   /* close() every fd up to RLIMIT_NOFILE */
} close_mode;

typedef struct spawn_spec {
  char *const *argv; /* argv[0] is an absolute path */
  int capture;       /* stdout to a pipe, read to EOF */
  int stdin_fd;      /* the child's stdin, -1 = inherited */
  close_mode close;
  int loop_limit; /* CLOSE_LOOP bound */
} spawn_spec;

/* Start a child: *out_fd receives the read end of its stdout pipe (with
 * capture) or -1. Return the pid, or -1. */
pid_t raw_start_vfork(const spawn_spec *s, int *out_fd);
pid_t raw_start_clone(const spawn_spec *s, int *out_fd);
pid_t raw_start_posix_spawn(const spawn_spec *s, int *out_fd);
pid_t raw_start_fork(const spawn_spec *s, int *out_fd);
/* Read fd to EOF (discarding), close it, reap pid; 0 if it exited 0. */
int raw_finish(pid_t pid, int fd);

/* bench_op_fn wrappers: ctx is a spawn_spec. */
int op_raw_vfork(void *spec);
int op_raw_clone(void *spec);
int op_raw_posix_spawn(void *spec);
int op_raw_fork(void *spec);
/* capture_output's shape: stdout and stderr each to a pipe, both read to
 * EOF with poll, as communicate does. */
int op_raw_vfork_2pipes(void *spec);

/* ---- subproc (ops.c) ---- */

int op_subproc_run(void *spec);                /* run; capture: stdout=PIPE */
int op_subproc_run_keepfds(void *spec);        /* run with close_fds=False */
int op_subproc_run_capture_output(void *spec); /* capture_output=True */
int op_subproc_popen_wait(void *spec);        /* popen + wait, no communicate */
int op_subproc_popen_comm(void *spec);        /* + communicate, no result */
int op_subproc_popen_comm_result(void *spec); /* + the result object */

/* ---- peers (peers.c) ---- */

int peers_have_glib(void);
int peers_have_libuv(void);
int op_glib(void *spec);
int op_libuv(void *spec);
void libuv_before(void *spec);
void libuv_after(void *spec);
const char *peers_note(void);

/* ---- python (python.c) ---- */

/* Starts the one python3 process that drives subprocess. 0, or -1 with
 * a note printed (then every py_* call fails). */
int py_start(void);
int py_available(void);
void py_stop(void);
/* Sends one JSON command line; reads one reply line of numbers into
 * out[0..max). Returns how many were read, -1 on failure. */
int py_call(double *out, int max, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A bench_batch_fn: ctx is a py_job (below). */
double py_batch(void *job, int n);

typedef struct py_job {
  const char *mode; /* subprocess.run with "plain", "stdout" (=PIPE) or
                       "capture_output" */
  const spawn_spec *spec;
  long pipesize; /* -1 = default */
} py_job;

/* JSON list of a spec's argv, e.g. ["/bin/true"] (static buffer). */
const char *py_argv_json(char *const *argv);

/* ---- scenarios (scen_spawn.c, scen_io.c) ---- */

void scenario_spawn(void);      /* (1) */
void scenario_capture(void);    /* (2) */
void scenario_big_parent(void); /* (3) */
void scenario_close_fds(void);  /* (4) */
void scenario_throughput(void); /* (5) */
void scenario_timeout(void);    /* (6) */
void scenario_many(void);       /* (7) */
void scenario_threads(void);    /* (8) */
void scenario_loop(void);       /* (9) */
void scenario_parallel(void);   /* (10) */

/* ---- many children from one loop (scen_loop.c, peer_loops.c) ---- */

/* Scenario (9)'s children write their index, a newline, then this much. */
#define LOOP_BYTES 65536

/* What one child must have sent: its index line, then LOOP_BYTES bytes;
 * fed with the output as it arrives, in pieces of any size. */
typedef struct kid_check {
  long want;  /* the child's index */
  long index; /* what its first line said */
  int digits, header_done, bad;
  int exited_ok; /* exit status 0 */
  size_t body;   /* bytes after the index line */
} kid_check;

void kid_check_feed(kid_check *c, const char *data, size_t len);
int kid_check_ok(const kid_check *c);

/* One collection of n children: the children's argv (argvs[i] for child
 * i) and where each one's output is checked. The method starts all n,
 * then collects them from this thread; it sets spawn_done (bench_now())
 * when the last one is started. Returns 0, or -1 on any failure. */
typedef struct loop_run {
  int n;
  char *const *const *argvs;
  kid_check *chk;
  double spawn_done, spawn_cpu; /* set by loop_spawned() */
  long events;                  /* readiness events handled, if known */
} loop_run;

/* The method has started all n children. */
void loop_spawned(loop_run *lr);

int peers_loop_libuv(loop_run *lr);
int peers_loop_glib(loop_run *lr);

/* Process CPU time (every thread), seconds. */
double bench_process_cpu(void);

#endif
