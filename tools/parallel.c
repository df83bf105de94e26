/* `subproc parallel`: jobs N at a time, as xargs -P and GNU parallel run
 * them, on the library's pool.
 *
 *   subproc parallel [OPTIONS] -- CMD [ARG...] ::: A B C   CMD ARG... A, ...
 *   subproc parallel [OPTIONS] -- CMD [ARG...] < args      one job a line
 *   subproc parallel [OPTIONS] < commands                  sh -c each line
 *
 * A word containing {} has it replaced by the job's argument; otherwise the
 * argument is appended. Each job's output is captured and written when it
 * completes, so the outputs of two jobs never interleave. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"

enum {
  OPT_JOBS = 'j',
  OPT_TIMEOUT = 256,
  OPT_HALT,
  OPT_JSON,
  OPT_PROGRESS,
  OPT_NO_PROGRESS
};

static const struct option long_options[] = {
    {"jobs", required_argument, NULL, OPT_JOBS},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"halt", required_argument, NULL, OPT_HALT},
    {"json", no_argument, NULL, OPT_JSON},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};

/* GNU parallel's exit statuses: the number of failed jobs, 101 for more
 * than 100; with --halt, the failing job's status. */
#define MAX_FAILED_STATUS 101

typedef struct config {
  size_t jobs;
  double timeout;
  subproc_halt halt;
  int json, progress;
  char **cmd; /* CMD [ARG...] before :::, NULL-terminated; NULL = none */
  size_t n_cmd;
  char **values; /* after :::, or read from stdin */
  size_t n_values;
  char *stdin_buf;
} config;

typedef struct state {
  const config *c;
  char ***argvs; /* per job */
  size_t n_done, n_failed, n_total;
  int first_failure_status; /* the halting job's exit status */
  double start;
  subproc_options opts;
} state;

static subproc_pool *running_pool;

static void on_signal(int sig) { subproc_pool_cancel(running_pool, sig); }

#if defined(_WIN32)
/* The C runtime's SIGINT (Ctrl-C) and SIGTERM. */
static void forward_signals(void) {
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
}
#else
static void forward_signals(void) {
  static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
    struct sigaction old;
    if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
      continue; /* nohup */
    sigaction(sigs[i], &sa, NULL);
  }
}
#endif

/* ---- options ---- */

static int parse_halt(config *c, const char *v) {
  if (strcmp(v, "never") == 0)
    c->halt = SUBPROC_HALT_NEVER;
  else if (strcmp(v, "now") == 0 || strcmp(v, "now,fail=1") == 0)
    c->halt = SUBPROC_HALT_NOW;
  else if (strcmp(v, "soon") == 0 || strcmp(v, "soon,fail=1") == 0)
    c->halt = SUBPROC_HALT_SOON;
  else
    return cli_usage_error("parallel",
                           "--halt: expected never, soon[,fail=1] "
                           "or now[,fail=1], not '%s'",
                           v);
  return 0;
}

static int parse_number(const char *opt, const char *v, double *out) {
  char *end;
  errno = 0;
  double d = strtod(v, &end);
  if (errno || end == v || *end || !(d >= 0) || d > 1e9)
    return cli_usage_error("parallel", "%s: bad value '%s'", opt, v);
  *out = d;
  return 0;
}

static int parse_options(config *c, int argc, char **argv) {
  int ch;
  double v = 0;
  optind = 1;
  while ((ch = getopt_long(argc, argv, "+j:h", long_options, NULL)) != -1) {
    switch (ch) {
    case OPT_JOBS:
      /* parse_number caps v at 1e9: the cast is exact */
      if (parse_number("--jobs", optarg, &v) || v < 1 || v != (double)(size_t)v)
        return cli_usage_error("parallel", "--jobs: expected a count >= 1");
      c->jobs = (size_t)v;
      break;
    case OPT_TIMEOUT:
      if (parse_number("--timeout", optarg, &c->timeout))
        return CLI_EXIT_FAILURE;
      break;
    case OPT_HALT:
      if (parse_halt(c, optarg))
        return CLI_EXIT_FAILURE;
      break;
    case OPT_JSON:
      c->json = 1;
      break;
    case OPT_PROGRESS:
      c->progress = 1;
      break;
    case OPT_NO_PROGRESS:
      c->progress = 0;
      break;
    case 'h':
      cli_help("parallel", stdout);
      return cli_finish(0);
    default:
      return CLI_EXIT_FAILURE;
    }
  }
  return CLI_CONTINUE;
}

/* CMD [ARG...] [::: VALUE...] from what follows the options. */
static void split_operands(config *c, int argc, char **argv) {
  int i = optind, sep = -1;
  for (int k = i; k < argc; k++)
    if (strcmp(argv[k], ":::") == 0) {
      sep = k;
      break;
    }
  int end = sep >= 0 ? sep : argc;
  if (end > i) {
    c->cmd = argv + i;
    c->n_cmd = (size_t)(end - i);
  }
  if (sep >= 0) {
    c->values = argv + sep + 1;
    c->n_values = (size_t)(argc - sep - 1);
  }
}

/* One job a line of stdin (without its newline; empty lines skipped). */
static int read_values(config *c) {
  size_t len = 0, cap = 0;
  char *buf = NULL;
  for (;;) {
    if (len + 4096 > cap) {
      cap = cap ? 2 * cap : 65536;
      char *grown = realloc(buf, cap);
      if (!grown)
        return free(buf), -1;
      buf = grown;
    }
    size_t n = fread(buf + len, 1, cap - len - 1, stdin);
    len += n;
    if (n == 0)
      break;
  }
  buf[len] = '\0';
  c->stdin_buf = buf;
  size_t lines = 1;
  for (size_t i = 0; i < len; i++)
    lines += buf[i] == '\n';
  if (!(c->values = malloc(lines * sizeof *c->values)))
    return -1;
  for (char *line = buf; line && *line;) {
    char *nl = strchr(line, '\n');
    if (nl)
      *nl = '\0';
    if (*line)
      c->values[c->n_values++] = line;
    line = nl ? nl + 1 : NULL;
  }
  return ferror(stdin) ? -1 : 0;
}

/* ---- jobs ---- */

/* word with every {} replaced by value. */
static char *replace_braces(const char *word, const char *value) {
  size_t k = 0, vlen = strlen(value);
  for (const char *at = word; (at = strstr(at, "{}")); at += 2)
    k++;
  char *out = malloc(strlen(word) - 2 * k + k * vlen + 1), *o = out;
  for (const char *w = word; out && *w;)
    if (w[0] == '{' && w[1] == '}') {
      memcpy(o, value, vlen);
      o += vlen, w += 2;
    } else {
      *o++ = *w++;
    }
  if (out)
    *o = '\0';
  return out;
}

/* The argv of the job for value: CMD with {} replaced, or value appended;
 * without CMD, value is a shell command. */
static char **job_argv(const config *c, const char *value) {
  if (!c->cmd) {
    char **v = calloc(4, sizeof *v);
    if (v)
      v[0] = strdup("/bin/sh"), v[1] = strdup("-c"), v[2] = strdup(value);
    return v;
  }
  char **v = calloc(c->n_cmd + 2, sizeof *v);
  int replaced = 0;
  for (size_t i = 0; v && i < c->n_cmd; i++) {
    int has = strstr(c->cmd[i], "{}") != NULL;
    replaced |= has;
    v[i] = has ? replace_braces(c->cmd[i], value) : strdup(c->cmd[i]);
  }
  if (v && !replaced)
    v[c->n_cmd] = strdup(value);
  return v;
}

static void free_argv(char **v) {
  for (size_t i = 0; v && v[i]; i++)
    free(v[i]);
  free(v);
}

/* ---- reporting ---- */

static void print_progress(const state *s, size_t running) {
  double elapsed = cli_now() - s->start;
  double eta =
      s->n_done ? elapsed / (double)s->n_done * (double)(s->n_total - s->n_done)
                : 0;
  fprintf(stderr, "\r\033[K%zu/%zu done, %zu running, %zu failed, ETA %d:%02d",
          s->n_done, s->n_total, running, s->n_failed, (int)eta / 60,
          (int)eta % 60);
  fflush(stderr);
}

static void print_json(const state *s, size_t job, int rc,
                       const subproc_result *r, const subproc_error *e) {
  cli_json j;
  cli_json_init(&j);
  cli_json_open(&j, '{');
  cli_json_key(&j, "job");
  cli_json_int(&j, (long long)job);
  cli_json_key(&j, "args");
  cli_json_args(&j, (const char *const *)s->argvs[job]);
  cli_json_returncode(&j, r ? r->returncode : SUBPROC_NO_RETURNCODE);
  cli_json_key(&j, "timed_out");
  cli_json_bool(&j, rc == SUBPROC_ETIMEDOUT);
  cli_json_outputs(&j, r);
  cli_json_key(&j, "duration_s");
  if (r)
    cli_json_double(&j, r->duration_s);
  else
    cli_json_null(&j);
  cli_json_rusage(&j, r);
  cli_json_cgroup(&j, r);
  cli_json_error(&j, rc < 0 ? rc : 0, e);
  cli_json_close(&j, '}');
  cli_json_print(&j);
  cli_json_free(&j);
}

static void on_done(void *arg, size_t job, int rc, const subproc_result *r,
                    const subproc_error *e) {
  state *s = arg;
  s->n_done++;
  int bad = rc < 0 || !r || r->returncode != 0;
  if (bad && !s->n_failed++)
    s->first_failure_status =
        cli_exit_status(rc, e, r ? r->returncode : SUBPROC_NO_RETURNCODE,
                        rc == SUBPROC_ETIMEDOUT);
  if (s->c->progress)
    fputs("\r\033[K", stderr);
  if (s->c->json) {
    print_json(s, job, rc, r, e);
  } else {
    cli_write_captured(r);
    fflush(stderr);
    if (rc < 0 && rc != SUBPROC_ETIMEDOUT)
      cli_print_error(rc, e, s->argvs[job][0]);
  }
  fflush(stdout);
  if (s->c->progress)
    print_progress(s, 0);
}

static int exit_status(const state *s, int rc) {
  if (rc < 0 && rc != SUBPROC_ECALLED && rc != SUBPROC_ECANCELED)
    return CLI_EXIT_FAILURE;
  if (s->c->halt != SUBPROC_HALT_NEVER && s->n_failed)
    return s->first_failure_status;
  return s->n_failed > 100 ? MAX_FAILED_STATUS : (int)s->n_failed;
}

static int run_jobs(config *c) {
  state s = {.c = c, .n_total = c->n_values, .start = cli_now()};
  s.opts.capture_output = 1;
  s.opts.timeout = c->timeout;
  subproc_pool_options po = {.max_parallel = c->jobs,
                             .halt = c->halt,
                             .on_done = on_done,
                             .on_done_arg = &s};
  subproc_error e;
  subproc_pool *pl = NULL;
  int rc = subproc_pool_new(&pl, &po, &e);
  if (rc == 0 && !(s.argvs = calloc(c->n_values + 1, sizeof *s.argvs)))
    rc = -ENOMEM;
  for (size_t i = 0; rc == 0 && i < c->n_values; i++) {
    if (!(s.argvs[i] = job_argv(c, c->values[i])))
      rc = -ENOMEM;
    else
      rc = subproc_pool_add(pl, (const char *const *)s.argvs[i], &s.opts, NULL,
                            &e);
  }
  if (rc == 0) {
    running_pool = pl;
    forward_signals();
    rc = subproc_pool_run(pl, NULL, &e);
  }
  if (c->progress)
    fputs("\r\033[K", stderr);
  if (rc < 0 && rc != SUBPROC_ECALLED && rc != SUBPROC_ECANCELED)
    cli_print_error(rc, &e, "parallel");
  subproc_pool_free(pl);
  for (size_t i = 0; s.argvs && i < c->n_values; i++)
    free_argv(s.argvs[i]);
  free(s.argvs);
  return cli_finish(exit_status(&s, rc));
}

int cli_cmd_parallel(int argc, char **argv) {
  config c = {.progress = isatty(2)};
  int st = parse_options(&c, argc, argv);
  if (st != CLI_CONTINUE)
    return st;
  split_operands(&c, argc, argv);
  if (!c.values && read_values(&c) < 0) {
    fprintf(stderr, "subproc: parallel: cannot read the jobs from stdin: %s\n",
            strerror(errno));
    st = CLI_EXIT_FAILURE;
  } else {
    if (c.json)
      c.progress = 0;
    st = run_jobs(&c);
  }
  if (c.stdin_buf)
    free(c.values);
  free(c.stdin_buf);
  return st;
}
