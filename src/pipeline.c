/* a | b | c without a shell: each stage's stdout feeds the next stage's
 * stdin; the parent keeps none of the inner pipe ends, so a stage that
 * exits early gives its writer SIGPIPE as in a shell. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "process.h"

static const subproc_options no_options;

/* What the stages share: the pipeline's streams as every stage may be
 * given them (a PATH opened once, a PIPE as one pipe all stages write),
 * the fds the pipeline opened for that, and the parent's ends of shared
 * pipes, which the last stage's object adopts (its communicate reads
 * them). */
typedef struct shared {
  subproc_redirect out, err; /* the last stage's stdout; every stderr */
  int own[2];                /* opened here for the children, or -1 */
  int parent_end[3];         /* [1], [2]: a shared pipe's read end, or -1 */
} shared;

static void shared_close(shared *sh) {
  for (int i = 0; i < 2; i++)
    if (sh->own[i] >= 0)
      subproc__os_close_fd(sh->own[i]);
  for (int i = 1; i <= 2; i++)
    if (sh->parent_end[i] >= 0)
      subproc__os_close_fd(sh->parent_end[i]);
  *sh = (shared){.own = {-1, -1}, .parent_end = {-1, -1, -1}};
}

/* r (the pipeline's stream i) as one end several children can be given. */
static int share(shared *sh, int i, const subproc_redirect *r, long pipesize,
                 subproc_redirect *out, subproc_error *err) {
  int fd, rc = 0;
  if (r->kind == SUBPROC_PATH)
    rc = subproc__os_open_redirect(r, i, &fd, err);
  else if (r->kind == SUBPROC_PIPE)
    rc = subproc__os_output_pipe(pipesize, &sh->parent_end[i], &fd, err);
  else {
    *out = *r;
    return 0;
  }
  if (rc < 0)
    return rc;
  sh->own[i - 1] = fd;
  *out = (subproc_redirect){.kind = SUBPROC_FD, .fd = fd};
  return 0;
}

/* The last stage's stdout and every stage's stderr. stderr = STDOUT is
 * the whole pipeline's, as `(a | b) 2>&1`: every stage's stderr goes where
 * the last stage's stdout goes. */
static int share_streams(shared *sh, const subproc_options *po,
                         subproc_error *err) {
  *sh = (shared){.own = {-1, -1}, .parent_end = {-1, -1, -1}};
  int rc = 0;
  if (po->err.kind != SUBPROC_STDOUT) {
    sh->out = po->out; /* only the last stage writes it */
    rc = share(sh, 2, &po->err, po->pipesize, &sh->err, err);
  } else if (po->out.kind == SUBPROC_INHERIT) {
    sh->out = po->out;
    sh->err = (subproc_redirect){.kind = SUBPROC_FD, .fd = 1};
  } else {
    rc = share(sh, 1, &po->out, po->pipesize, &sh->out, err);
    sh->err = sh->out;
  }
  if (rc < 0)
    shared_close(sh);
  return rc;
}

/* A stage's own options give its process; what the pipeline as a whole
 * does (its streams, input, output handling, timeout) is opts'. */
static int check_stage(const subproc_options *s, size_t i, subproc_error *err) {
  const char *field = s->in.kind != SUBPROC_INHERIT         ? "stdin"
                      : s->out.kind != SUBPROC_INHERIT      ? "stdout"
                      : s->input || s->input_len            ? "input"
                      : s->capture_output                   ? "capture_output"
                      : s->timeout != 0                     ? "timeout"
                      : s->check                            ? "check"
                      : s->text || s->encoding || s->errors ? "text"
                      : s->max_output || s->on_output       ? "max_output"
                      : s->wait_delay != 0                  ? "wait_delay"
                                                            : NULL;
  if (field)
    return subproc__fail(err, SUBPROC_EINVAL, 0, field, NULL, -1,
                         "pipeline: stage %zu: .%s belongs to the whole "
                         "pipeline (set it in opts)",
                         i, field);
  if (s->err.kind == SUBPROC_PIPE) /* nothing would read it */
    return subproc__fail(err, SUBPROC_EINVAL, 0, "stderr", NULL, -1,
                         "pipeline: stage %zu: stderr = PIPE would not be "
                         "read (opts.err = PIPE collects every stage's)",
                         i);
  return 0;
}

static int validate(const char *const *const *argvs, size_t n,
                    const subproc_options *const *stage_opts,
                    subproc_pipeline_result **res, subproc_error *err) {
  if (!res)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "pipeline", NULL, -1,
                         "pipeline: res is NULL");
  *res = NULL;
  if (!argvs || n == 0)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "pipeline", NULL, -1,
                         "pipeline: no stages");
  for (size_t i = 0; i < n; i++) {
    if (!argvs[i] || !argvs[i][0])
      return subproc__fail(err, SUBPROC_EINVAL, 0, "pipeline", NULL, -1,
                           "pipeline: stage %zu has an empty argument list", i);
    int rc =
        stage_opts && stage_opts[i] ? check_stage(stage_opts[i], i, err) : 0;
    if (rc < 0)
      return rc;
  }
  return 0;
}

/* The options of stage i: its own (else the pipeline's process fields),
 * with the pipeline's plumbing on top. */
static subproc_options stage_options(const subproc_options *const *stage_opts,
                                     const subproc_options *po,
                                     const shared *sh, size_t i, size_t n,
                                     int prev_fd) {
  const subproc_options *own = stage_opts ? stage_opts[i] : NULL;
  subproc_options s = own ? *own : *po;
  if (!s.on_spawn) {
    s.on_spawn = po->on_spawn;
    s.on_spawn_arg = po->on_spawn_arg;
  }
  if (s.kill_tree == SUBPROC_KILL_TREE_AUTO)
    s.kill_tree = po->kill_tree; /* the pipeline's, unless the stage chose */
  if (!s.cgroup && !s.cgroup_parent) { /* the same for the cgroup block */
    s.cgroup = po->cgroup;
    s.cgroup_parent = po->cgroup_parent; /* each stage a fresh one */
    s.cgroup_move_fallback = po->cgroup_move_fallback;
    s.cgroup_memory_max = po->cgroup_memory_max;
    s.cgroup_pids_max = po->cgroup_pids_max;
    s.cgroup_cpu_max = po->cgroup_cpu_max;
  }
  s.in =
      i == 0 ? po->in : (subproc_redirect){.kind = SUBPROC_FD, .fd = prev_fd};
  s.out = i + 1 < n ? (subproc_redirect){.kind = SUBPROC_PIPE} : sh->out;
  if (!own || own->err.kind == SUBPROC_INHERIT)
    s.err = sh->err;
  /* Only the last stage's communicate reads: text and limits are its. */
  s.text = 0;
  s.encoding = s.errors = NULL;
  s.max_output = 0;
  s.on_output = NULL;
  s.wait_delay = 0;
  if (i + 1 == n) {
    s.text = po->text;
    s.encoding = po->encoding;
    s.errors = po->errors;
    s.bufsize = po->bufsize;
    s.max_output = po->max_output;
    s.max_output_policy = po->max_output_policy;
    s.on_output = po->on_output;
    s.on_output_arg = po->on_output_arg;
    s.wait_delay = po->wait_delay;
  }
  return s;
}

static int start_stages(const char *const *const *argvs, size_t n,
                        const subproc_options *const *stage_opts,
                        const subproc_options *po, shared *sh, subproc **procs,
                        subproc_error *err) {
  int prev_fd = -1;
  for (size_t i = 0; i < n; i++) {
    subproc_options s = stage_options(stage_opts, po, sh, i, n, prev_fd);
    int rc = subproc_popen(argvs[i], &s, &procs[i], err);
    if (i > 0)
      subproc_close_stream(procs[i - 1], 1); /* only the stages hold it */
    if (rc < 0)
      return rc;
    prev_fd = subproc_fd(procs[i], 1);
  }
  /* The last stage's communicate feeds (or, without input, closes) the
   * first stage's stdin pipe, and reads the shared pipes: nothing else can
   * reach them. */
  if (n > 1 && subproc_fd(procs[0], 0) >= 0)
    subproc__move_stdin(procs[0], procs[n - 1]);
  for (int i = 1; i <= 2; i++)
    if (sh->parent_end[i] >= 0) {
      subproc__adopt_pipe(procs[n - 1], i, sh->parent_end[i]);
      sh->parent_end[i] = -1;
    }
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
                     const subproc_options *opts,
                     const subproc_options *const *stage_opts,
                     subproc_pipeline_result **res, subproc_error *err) {
  const subproc_options *o = opts ? opts : &no_options;
  subproc_options po;
  int rc = validate(argvs, n, stage_opts, res, err);
  if (rc == 0)
    rc = subproc__run_options(o, &po, err);
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
  shared sh;
  rc = share_streams(&sh, &po, err);
  if (rc == 0) {
    rc = start_stages(argvs, n, stage_opts, &po, &sh, procs, err);
    shared_close(&sh); /* the stages hold what they need */
  }
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
