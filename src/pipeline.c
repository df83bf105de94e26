/* a | b | c without a shell: each stage's stdout feeds the next stage's
 * stdin; the parent keeps none of the inner pipe ends, so a stage that
 * exits early gives its writer SIGPIPE as in a shell. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "process.h"

static const subproc_options no_options;

/* The options of stage i: its own, with the pipeline's plumbing on top. */
static subproc_options stage_options(const subproc_options *stage_opts,
                                     const subproc_options *o, size_t i,
                                     size_t n, int prev_fd) {
  subproc_options s = stage_opts ? stage_opts[i] : no_options;
  s.input = NULL;
  s.capture_output = 0;
  s.check = 0;
  s.timeout = 0;
  if (!s.on_spawn) {
    s.on_spawn = o->on_spawn;
    s.on_spawn_arg = o->on_spawn_arg;
  }
  if (s.kill_tree == SUBPROC_KILL_TREE_AUTO)
    s.kill_tree = o->kill_tree; /* the pipeline's, unless the stage chose */
  if (!s.cgroup && !s.cgroup_parent) { /* the same for the cgroup block */
    s.cgroup = o->cgroup;
    s.cgroup_parent = o->cgroup_parent; /* each stage a fresh one */
    s.cgroup_move_fallback = o->cgroup_move_fallback;
    s.cgroup_memory_max = o->cgroup_memory_max;
    s.cgroup_pids_max = o->cgroup_pids_max;
    s.cgroup_cpu_max = o->cgroup_cpu_max;
  }
  if (i == 0 && o->input)
    s.in = (subproc_redirect){.kind = SUBPROC_PIPE};
  if (i > 0)
    s.in = (subproc_redirect){.kind = SUBPROC_FD, .fd = prev_fd};
  if (i + 1 < n) {
    s.out = (subproc_redirect){.kind = SUBPROC_PIPE};
    return s;
  }
  if (o->capture_output) {
    s.out = (subproc_redirect){.kind = SUBPROC_PIPE};
    s.err = (subproc_redirect){.kind = SUBPROC_PIPE};
  }
  /* The last stage's communicate does the reading: text and limits. */
  s.text = o->text;
  s.encoding = o->encoding;
  s.errors = o->errors;
  s.max_output = o->max_output;
  s.max_output_policy = o->max_output_policy;
  s.on_output = o->on_output;
  s.on_output_arg = o->on_output_arg;
  s.wait_delay = o->wait_delay;
  return s;
}

static int validate(const char *const *const *argvs, size_t n,
                    const subproc_options *stage_opts, const subproc_options *o,
                    subproc_pipeline_result **res, subproc_error *err) {
  if (!res)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "pipeline", NULL, -1,
                         "pipeline: res is NULL");
  *res = NULL;
  if (!argvs || n == 0)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "pipeline", NULL, -1,
                         "pipeline: no stages");
  for (size_t i = 0; i < n; i++)
    if (!argvs[i] || !argvs[i][0])
      return subproc__fail(err, SUBPROC_EINVAL, 0, "pipeline", NULL, -1,
                           "pipeline: stage %zu has an empty argument list", i);
  /* Nothing would read it: the pipeline would hang once it filled. */
  for (size_t i = 0; stage_opts && i + 1 < n; i++)
    if (stage_opts[i].err.kind == SUBPROC_PIPE)
      return subproc__fail(err, SUBPROC_EINVAL, 0, "stderr", NULL, -1,
                           "pipeline: stage %zu's stderr is a PIPE that "
                           "nothing reads (only the last stage's is read)",
                           i);
  /* As in run (Python's ValueError), not a silent override. */
  if (stage_opts && o->input && stage_opts[0].in.kind != SUBPROC_INHERIT)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "input", NULL, -1,
                         "stdin and input arguments may not both be used");
  if (stage_opts && o->capture_output &&
      (stage_opts[n - 1].out.kind != SUBPROC_INHERIT ||
       stage_opts[n - 1].err.kind != SUBPROC_INHERIT))
    return subproc__fail(err, SUBPROC_EINVAL, 0, "capture_output", NULL, -1,
                         "stdout and stderr arguments may not be used with "
                         "capture_output");
  return 0;
}

static int start_stages(const char *const *const *argvs, size_t n,
                        const subproc_options *stage_opts,
                        const subproc_options *o, subproc **procs,
                        subproc_error *err) {
  int prev_fd = -1;
  for (size_t i = 0; i < n; i++) {
    subproc_options s = stage_options(stage_opts, o, i, n, prev_fd);
    int rc = subproc_popen(argvs[i], &s, &procs[i], err);
    if (i > 0)
      subproc_close_stream(procs[i - 1], 1); /* only the stages hold it */
    if (rc < 0)
      return rc;
    prev_fd = subproc_fd(procs[i], 1);
  }
  /* The last stage's communicate feeds (or, without input, closes) the
   * first stage's stdin pipe: nothing else can reach it. */
  if (n > 1 && subproc_fd(procs[0], 0) >= 0)
    subproc__move_stdin(procs[0], procs[n - 1]);
  return 0;
}

/* Each stage with kill_tree on loses its whole group (decided once, at
 * its spawn); a stage already reaped is left alone. */
static void kill_all(subproc **procs, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (procs[i])
      subproc__kill_all(procs[i]);
}

/* The rightmost non-zero status, as bash's pipefail. */
static int pipefail(const int *codes, size_t n) {
  int rc = 0;
  for (size_t i = 0; i < n; i++)
    if (codes[i] != 0)
      rc = codes[i];
  return rc;
}

/* The earlier stages are only seen to exit, not reaped, until every
 * stage is done or killed: a zombie leader keeps its group id from being
 * reused, so a kill after a timeout still reaches the group. */
static int collect(subproc **procs, size_t n, const subproc_options *o,
                   subproc_pipeline_result *r, subproc_error *err) {
  double timeout = o->timeout;
  double deadline = subproc__deadline(timeout);
  int rc = subproc__communicate_final(procs[n - 1], o->input, o->input_len,
                                      timeout, &r->last, err);
  for (size_t i = 0; i + 1 < n && rc == 0; i++)
    if (subproc__observe_exit(procs[i], deadline) == 0)
      rc = subproc__fail(err, SUBPROC_ETIMEDOUT, 0, "wait", NULL, -1,
                         "pipeline timed out after %g seconds", timeout);
  if (rc < 0) {
    kill_all(procs, n);
    subproc__drain_after_kill(procs[n - 1], NULL);
    r->timed_out = rc == SUBPROC_ETIMEDOUT;
  }
  for (size_t i = 0; i < n; i++) {
    subproc__wait_until(procs[i], -1.0);
    r->returncodes[i] = subproc_returncode(procs[i]);
  }
  if (r->timed_out) {
    subproc_result_free(r->last);
    r->last = NULL;
    if (subproc__make_result(procs[n - 1], 0, &r->last) == 0)
      r->last->timed_out = 1;
  }
  r->returncode = pipefail(r->returncodes, n);
  if (rc == 0 && o->check && r->returncode != 0) {
    subproc__fail(err, SUBPROC_ECALLED, 0, "check", NULL, -1,
                  "pipeline stage returned non-zero exit status %d.",
                  r->returncode);
    if (err)
      err->returncode = r->returncode;
    rc = SUBPROC_ECALLED;
  }
  return rc;
}

int subproc_pipeline(const char *const *const *argvs, size_t n,
                     const subproc_options *stage_opts,
                     const subproc_options *opts, subproc_pipeline_result **res,
                     subproc_error *err) {
  const subproc_options *o = opts ? opts : &no_options;
  int rc = validate(argvs, n, stage_opts, o, res, err);
  if (rc < 0)
    return rc;
  subproc_pipeline_result *r = calloc(1, sizeof *r);
  subproc **procs = calloc(n, sizeof *procs);
  if (r)
    r->returncodes = calloc(n, sizeof *r->returncodes);
  if (!r || !procs || !r->returncodes) {
    subproc_pipeline_result_free(r);
    free(procs);
    return subproc__fail_os(err, ENOMEM, "pipeline", NULL, -1);
  }
  r->n = n;
  for (size_t i = 0; i < n; i++)
    r->returncodes[i] = SUBPROC_NO_RETURNCODE;
  rc = start_stages(argvs, n, stage_opts, o, procs, err);
  if (rc < 0) {
    kill_all(procs, n);
    for (size_t i = 0; i < n; i++)
      if (procs[i]) {
        subproc__wait_until(procs[i], -1.0);
        r->returncodes[i] = subproc_returncode(procs[i]);
      }
  } else {
    rc = collect(procs, n, o, r, err);
  }
  for (size_t i = 0; i < n; i++)
    subproc_free(procs[i]);
  free(procs);
  *res = r;
  return rc;
}

void subproc_pipeline_result_free(subproc_pipeline_result *r) {
  if (!r)
    return;
  subproc_result_free(r->last);
  free(r->returncodes);
  free(r);
}
