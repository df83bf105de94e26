/* `subproc run` and `subproc pipe`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tool.h"

/* ---- run ---- */

static int print_run_json(const cli_config *c, int rc, const subproc_error *e,
                          const subproc_result *r) {
  cli_json j;
  int st;
  cli_json_init(&j);
  cli_json_open(&j, '{');
  cli_json_key(&j, "args");
  cli_json_args(&j, r && r->args ? r->args : (const char *const *)c->args);
  cli_json_returncode(&j, r ? r->returncode : SUBPROC_NO_RETURNCODE);
  cli_json_key(&j, "timed_out");
  cli_json_bool(&j, r ? r->timed_out : rc == SUBPROC_ETIMEDOUT);
  cli_json_outputs(&j, r);
  cli_json_key(&j, "duration_s");
  if (r)
    cli_json_double(&j, r->duration_s);
  else
    cli_json_null(&j);
  cli_json_rusage(&j, r);
  cli_json_cgroup(&j, r);
  cli_json_key(&j, "pid");
  if (r)
    cli_json_int(&j, r->pid);
  else
    cli_json_null(&j);
  cli_json_error(&j, rc, e);
  cli_json_close(&j, '}');
  st = cli_json_print(&j);
  cli_json_free(&j);
  return st;
}

/* --capture pipes whichever of stdout and stderr is not redirected. */
static void apply_capture(cli_config *c) {
  if (!c->capture)
    return;
  if (!c->stdout_spec)
    c->opts.out = SUBPROC_REDIRECT_PIPE;
  if (!c->stderr_spec)
    c->opts.err = SUBPROC_REDIRECT_PIPE;
}

static int leads_group(const subproc_options *o) {
  return o->start_new_session || o->set_process_group || o->foreground ||
         o->kill_tree == SUBPROC_KILL_TREE_ON;
}

static int run(cli_config *c) {
  subproc_result *r = NULL;
  subproc_error e;
  int rc, st;
  memset(&e, 0, sizeof e);
  apply_capture(c);
  cli_forward_signals(&c->opts, leads_group(&c->opts));
  rc = subproc_run((const char *const *)c->args, &c->opts, &r, &e);
  st = cli_exit_status(rc, &e, r ? r->returncode : SUBPROC_NO_RETURNCODE,
                       r && r->timed_out);
  if (c->json && print_run_json(c, rc, &e, r) != 0)
    st = CLI_EXIT_FAILURE;
  if (!c->json)
    cli_write_captured(r);
  if (rc < 0 && rc != SUBPROC_ETIMEDOUT)
    cli_print_error(rc, &e, c->args[0]);
  subproc_result_free(r);
  return cli_finish(st);
}

int cli_cmd_run(int argc, char **argv) {
  cli_config c;
  int st = cli_parse(&c, argc, argv);
  if (st == CLI_CONTINUE)
    st = run(&c);
  cli_config_free(&c);
  return st;
}

/* ---- pipe ---- */

typedef struct pipeline {
  const char **words;        /* every stage's argv, each NULL-ended */
  const char *const **argvs; /* n pointers into words */
  size_t n;
} pipeline;

static void pipeline_free(pipeline *p) {
  free(p->words);
  free(p->argvs);
}

static int is_bar(const char *s) { return strcmp(s, "|") == 0; }

/* CMD ARG... | CMD ARG... -> argvs; an empty stage is a usage error. */
static int split_stages(const cli_config *c, pipeline *p) {
  size_t i, w = 0, n = 1;
  for (i = 0; i < c->n_args; i++)
    n += (size_t)is_bar(c->args[i]);
  p->words = malloc((c->n_args + 1) * sizeof *p->words);
  p->argvs = malloc(n * sizeof *p->argvs);
  if (!p->words || !p->argvs)
    return cli_usage_error(c->cmd, "out of memory");
  p->argvs[p->n++] = p->words;
  for (i = 0; i < c->n_args; i++) {
    int bar = is_bar(c->args[i]);
    if (bar && p->argvs[p->n - 1] == p->words + w)
      return cli_usage_error(c->cmd, "empty command before '|'");
    p->words[w++] = bar ? NULL : c->args[i];
    if (bar)
      p->argvs[p->n++] = p->words + w;
  }
  p->words[w] = NULL;
  if (p->argvs[p->n - 1] == p->words + w)
    return cli_usage_error(c->cmd, "empty command after '|'");
  return CLI_CONTINUE;
}

static void json_stages(cli_json *j, const pipeline *p,
                        const subproc_pipeline_result *r) {
  size_t i;
  cli_json_key(j, "stages");
  cli_json_open(j, '[');
  for (i = 0; i < p->n; i++) {
    cli_json_open(j, '{');
    cli_json_key(j, "args");
    cli_json_args(j, p->argvs[i]);
    cli_json_returncode(j, r && i < r->n ? r->returncodes[i]
                                         : SUBPROC_NO_RETURNCODE);
    cli_json_close(j, '}');
  }
  cli_json_close(j, ']');
}

static int print_pipe_json(const pipeline *p, int rc, const subproc_error *e,
                           const subproc_pipeline_result *r, double duration) {
  cli_json j;
  size_t i;
  int st;
  cli_json_init(&j);
  cli_json_open(&j, '{');
  cli_json_key(&j, "args");
  cli_json_open(&j, '[');
  for (i = 0; i < p->n; i++)
    cli_json_args(&j, p->argvs[i]);
  cli_json_close(&j, ']');
  cli_json_returncode(&j, r ? r->returncode : SUBPROC_NO_RETURNCODE);
  cli_json_key(&j, "timed_out");
  cli_json_bool(&j, r ? r->timed_out : rc == SUBPROC_ETIMEDOUT);
  json_stages(&j, p, r);
  cli_json_outputs(&j, r ? r->last : NULL);
  cli_json_key(&j, "duration_s");
  cli_json_double(&j, duration);
  cli_json_error(&j, rc, e);
  cli_json_close(&j, '}');
  st = cli_json_print(&j);
  cli_json_free(&j);
  return st;
}

/* The library gives every option its pipeline meaning (--stderr for
 * every stage, opened once; --capture collects every stage's stderr). */
static int run_pipeline(cli_config *c, pipeline *p) {
  subproc_pipeline_result *r = NULL;
  subproc_error e;
  double start = cli_now();
  int rc, st;
  memset(&e, 0, sizeof e);
  cli_forward_signals(&c->opts, leads_group(&c->opts));
  rc = subproc_pipeline(p->argvs, p->n, &c->opts, NULL, &r, &e);
  st = cli_exit_status(rc, &e, r ? r->returncode : SUBPROC_NO_RETURNCODE,
                       r && r->timed_out);
  if (c->json && print_pipe_json(p, rc, &e, r, cli_now() - start) != 0)
    st = CLI_EXIT_FAILURE;
  if (!c->json)
    cli_write_captured(r ? r->last : NULL);
  if (rc < 0 && rc != SUBPROC_ETIMEDOUT)
    cli_print_error(rc, &e, p->argvs[0][0]);
  subproc_pipeline_result_free(r);
  return cli_finish(st);
}

int cli_cmd_pipe(int argc, char **argv) {
  cli_config c;
  pipeline p;
  int st = cli_parse(&c, argc, argv);
  memset(&p, 0, sizeof p);
  if (st == CLI_CONTINUE && (c.opts.shell || c.opts.executable))
    st = cli_usage_error(c.cmd, "--shell and --executable are for "
                                "'subproc run' only");
  /* Each stage leads a group of its own: only one could have the
   * terminal, and the first reaped would take it back from the others. */
  if (st == CLI_CONTINUE && c.opts.foreground)
    st = cli_usage_error(c.cmd, "--foreground is for 'subproc run' only");
  if (st == CLI_CONTINUE)
    st = split_stages(&c, &p);
  if (st == CLI_CONTINUE) {
    apply_capture(&c);
    st = run_pipeline(&c, &p);
  }
  pipeline_free(&p);
  cli_config_free(&c);
  return st;
}
