/* `subproc run` and `subproc pipe`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tool.h"

/* ---- run ---- */

static int print_run_json(const subproc_tool_config *c, int rc,
                          const subproc_error *e, const subproc_result *r) {
  subproc_tool_json j;
  int st;
  subproc_tool_json_init(&j);
  subproc_tool_json_open(&j, '{');
  subproc_tool_json_key(&j, "args");
  subproc_tool_json_args(&j,
                         r && r->args ? r->args : (const char *const *)c->args);
  subproc_tool_json_returncode(&j, r ? r->returncode : SUBPROC_NO_RETURNCODE);
  subproc_tool_json_key(&j, "timed_out");
  subproc_tool_json_bool(&j, r ? r->timed_out : rc == SUBPROC_ETIMEDOUT);
  subproc_tool_json_outputs(&j, r);
  subproc_tool_json_key(&j, "duration_s");
  if (r)
    subproc_tool_json_double(&j, r->duration_s);
  else
    subproc_tool_json_null(&j);
  subproc_tool_json_rusage(&j, r);
  subproc_tool_json_cgroup(&j, r);
  subproc_tool_json_key(&j, "pid");
  if (r)
    subproc_tool_json_int(&j, r->pid);
  else
    subproc_tool_json_null(&j);
  subproc_tool_json_error(&j, rc, e);
  subproc_tool_json_close(&j, '}');
  st = subproc_tool_json_print(&j);
  subproc_tool_json_free(&j);
  return st;
}

/* --capture pipes whichever of stdout and stderr is not redirected. */
static void apply_capture(subproc_tool_config *c) {
  if (!c->capture)
    return;
  if (!c->stdout_spec)
    c->opts.out = SUBPROC_REDIRECT_PIPE;
  if (!c->stderr_spec)
    c->opts.err = SUBPROC_REDIRECT_PIPE;
}

static int leads_group(const subproc_options *o) {
  return o->start_new_session || o->set_process_group ||
         o->kill_tree == SUBPROC_KILL_TREE_ON;
}

static int run(subproc_tool_config *c) {
  subproc_result *r = NULL;
  subproc_error e;
  int rc, st;
  memset(&e, 0, sizeof e);
  apply_capture(c);
  subproc_tool_forward_signals(&c->opts, leads_group(&c->opts));
  rc = subproc_run((const char *const *)c->args, &c->opts, &r, &e);
  st = subproc_tool_exit_status(
      rc, &e, r ? r->returncode : SUBPROC_NO_RETURNCODE, r && r->timed_out);
  if (c->json && print_run_json(c, rc, &e, r) != 0)
    st = SUBPROC_TOOL_EXIT_FAILURE;
  if (!c->json)
    subproc_tool_write_captured(r);
  if (rc < 0 && rc != SUBPROC_ETIMEDOUT)
    subproc_tool_print_error(rc, &e, c->args[0]);
  subproc_result_free(r);
  return subproc_tool_finish(st);
}

int subproc_tool_cmd_run(int argc, char **argv) {
  subproc_tool_config c;
  int st = subproc_tool_parse(&c, argc, argv);
  if (st == SUBPROC_TOOL_CONTINUE)
    st = run(&c);
  subproc_tool_config_free(&c);
  return st;
}

/* ---- pipe ---- */

typedef struct pipeline {
  const char **words;          /* every stage's argv, each NULL-ended */
  const char *const **argvs;   /* n pointers into words */
  subproc_options *stage_opts; /* n */
  subproc_options opts;        /* the whole pipeline's */
  size_t n;
  FILE *err_file; /* --stderr FILE, opened once for all */
} pipeline;

static void pipeline_free(pipeline *p) {
  free(p->words);
  free(p->argvs);
  free(p->stage_opts);
  if (p->err_file)
    fclose(p->err_file);
}

static int is_bar(const char *s) { return strcmp(s, "|") == 0; }

/* CMD ARG... | CMD ARG... -> argvs; an empty stage is a usage error. */
static int split_stages(const subproc_tool_config *c, pipeline *p) {
  size_t i, w = 0, n = 1;
  for (i = 0; i < c->n_args; i++)
    n += (size_t)is_bar(c->args[i]);
  p->words = malloc((c->n_args + 1) * sizeof *p->words);
  p->argvs = malloc(n * sizeof *p->argvs);
  if (!p->words || !p->argvs)
    return subproc_tool_usage_error(c->cmd, "out of memory");
  p->argvs[p->n++] = p->words;
  for (i = 0; i < c->n_args; i++) {
    int bar = is_bar(c->args[i]);
    if (bar && p->argvs[p->n - 1] == p->words + w)
      return subproc_tool_usage_error(c->cmd, "empty command before '|'");
    p->words[w++] = bar ? NULL : c->args[i];
    if (bar)
      p->argvs[p->n++] = p->words + w;
  }
  p->words[w] = NULL;
  if (p->argvs[p->n - 1] == p->words + w)
    return subproc_tool_usage_error(c->cmd, "empty command after '|'");
  return SUBPROC_TOOL_CONTINUE;
}

/* The options that belong to the pipeline as a whole move to p->opts; every
 * stage gets the rest, with stdin for the first and stdout for the last,
 * and --capture pipes whichever of the last stage's stdout and stderr is
 * not redirected, as for run. */
static int split_options(const subproc_tool_config *c, pipeline *p) {
  const subproc_options *base = &c->opts;
  subproc_options *o = &p->opts, *last;
  size_t i;
  if (!(p->stage_opts = malloc(p->n * sizeof *p->stage_opts)))
    return subproc_tool_usage_error(c->cmd, "out of memory");
  memset(o, 0, sizeof *o);
  o->input = base->input;
  o->input_len = base->input_len;
  o->timeout = base->timeout;
  o->wait_delay = base->wait_delay;
  o->check = base->check;
  o->text = base->text;
  o->encoding = base->encoding;
  o->errors = base->errors;
  o->max_output = base->max_output;
  o->max_output_policy = base->max_output_policy;
  o->kill_tree = base->kill_tree;
  for (i = 0; i < p->n; i++) {
    subproc_options *s = &p->stage_opts[i];
    *s = *base;
    s->input = NULL;
    s->input_len = 0;
    s->timeout = s->wait_delay = 0;
    s->check = 0;
    if (i > 0)
      s->in = (subproc_redirect){.kind = SUBPROC_INHERIT};
    if (i + 1 < p->n)
      s->out = (subproc_redirect){.kind = SUBPROC_INHERIT};
  }
  /* Every stage writes its stderr to the one file, opened (and truncated)
   * once, as a shell's 2> does for the whole pipeline. */
  if (base->err.kind == SUBPROC_PATH) {
    if (!(p->err_file = fopen(base->err.path, "wb"))) {
      fprintf(stderr, "subproc: %s: cannot open '%s': %s\n", c->cmd,
              base->err.path, strerror(errno));
      return SUBPROC_TOOL_EXIT_FAILURE;
    }
    for (i = 0; i < p->n; i++)
      p->stage_opts[i].err = SUBPROC_REDIRECT_FILE(p->err_file);
  }
  last = &p->stage_opts[p->n - 1];
  if (c->capture && !c->stdout_spec)
    last->out = SUBPROC_REDIRECT_PIPE;
  if (c->capture && !c->stderr_spec)
    last->err = SUBPROC_REDIRECT_PIPE;
  return SUBPROC_TOOL_CONTINUE;
}

static void json_stages(subproc_tool_json *j, const pipeline *p,
                        const subproc_pipeline_result *r) {
  size_t i;
  subproc_tool_json_key(j, "stages");
  subproc_tool_json_open(j, '[');
  for (i = 0; i < p->n; i++) {
    subproc_tool_json_open(j, '{');
    subproc_tool_json_key(j, "args");
    subproc_tool_json_args(j, p->argvs[i]);
    subproc_tool_json_returncode(j, r && i < r->n ? r->returncodes[i]
                                                  : SUBPROC_NO_RETURNCODE);
    subproc_tool_json_close(j, '}');
  }
  subproc_tool_json_close(j, ']');
}

static int print_pipe_json(const pipeline *p, int rc, const subproc_error *e,
                           const subproc_pipeline_result *r, double duration) {
  subproc_tool_json j;
  size_t i;
  int st;
  subproc_tool_json_init(&j);
  subproc_tool_json_open(&j, '{');
  subproc_tool_json_key(&j, "args");
  subproc_tool_json_open(&j, '[');
  for (i = 0; i < p->n; i++)
    subproc_tool_json_args(&j, p->argvs[i]);
  subproc_tool_json_close(&j, ']');
  subproc_tool_json_returncode(&j, r ? r->returncode : SUBPROC_NO_RETURNCODE);
  subproc_tool_json_key(&j, "timed_out");
  subproc_tool_json_bool(&j, r ? r->timed_out : rc == SUBPROC_ETIMEDOUT);
  json_stages(&j, p, r);
  subproc_tool_json_outputs(&j, r ? r->last : NULL);
  subproc_tool_json_key(&j, "duration_s");
  subproc_tool_json_double(&j, duration);
  subproc_tool_json_error(&j, rc, e);
  subproc_tool_json_close(&j, '}');
  st = subproc_tool_json_print(&j);
  subproc_tool_json_free(&j);
  return st;
}

static int run_pipeline(const subproc_tool_config *c, pipeline *p) {
  subproc_pipeline_result *r = NULL;
  subproc_error e;
  double start = subproc_tool_now();
  int rc, st;
  memset(&e, 0, sizeof e);
  subproc_tool_forward_signals(&p->opts, leads_group(&p->stage_opts[0]));
  rc = subproc_pipeline(p->argvs, p->n, p->stage_opts, &p->opts, &r, &e);
  st = subproc_tool_exit_status(
      rc, &e, r ? r->returncode : SUBPROC_NO_RETURNCODE, r && r->timed_out);
  if (c->json && print_pipe_json(p, rc, &e, r, subproc_tool_now() - start) != 0)
    st = SUBPROC_TOOL_EXIT_FAILURE;
  if (!c->json)
    subproc_tool_write_captured(r ? r->last : NULL);
  if (rc < 0 && rc != SUBPROC_ETIMEDOUT)
    subproc_tool_print_error(rc, &e, p->argvs[0][0]);
  subproc_pipeline_result_free(r);
  return subproc_tool_finish(st);
}

int subproc_tool_cmd_pipe(int argc, char **argv) {
  subproc_tool_config c;
  pipeline p;
  int st = subproc_tool_parse(&c, argc, argv);
  memset(&p, 0, sizeof p);
  if (st == SUBPROC_TOOL_CONTINUE && (c.opts.shell || c.opts.executable))
    st = subproc_tool_usage_error(c.cmd, "--shell and --executable are for "
                                         "'subproc run' only");
  if (st == SUBPROC_TOOL_CONTINUE)
    st = split_stages(&c, &p);
  if (st == SUBPROC_TOOL_CONTINUE)
    st = split_options(&c, &p);
  if (st == SUBPROC_TOOL_CONTINUE)
    st = run_pipeline(&c, &p);
  pipeline_free(&p);
  subproc_tool_config_free(&c);
  return st;
}
