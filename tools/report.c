/* What the tool tells its caller: exit statuses, error lines, JSON. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tool.h"

static int status_of(int returncode) {
  return returncode < 0 ? 128 - returncode : returncode;
}

static int is_step(const subproc_error *e, subproc_step step) {
  return e->step == step;
}

static int error_errno(int rc, const subproc_error *e) {
  if (e->os_errno)
    return e->os_errno;
  return rc < 0 && rc > -4096 ? -rc : 0;
}

int subproc_tool_exit_status(int rc, const subproc_error *e, int returncode,
                             int timed_out) {
  if (timed_out || rc == SUBPROC_ETIMEDOUT)
    return SUBPROC_TOOL_EXIT_TIMEOUT;
  if ((rc == 0 || rc == SUBPROC_ECALLED) && returncode != SUBPROC_NO_RETURNCODE)
    return status_of(returncode);
  if (rc < 0 && is_step(e, SUBPROC_STEP_EXEC))
    return error_errno(rc, e) == ENOENT ? SUBPROC_TOOL_EXIT_NOT_FOUND
                                        : SUBPROC_TOOL_EXIT_CANNOT_INVOKE;
  return rc < 0 ? SUBPROC_TOOL_EXIT_FAILURE : 0;
}

/* The wording of env(1) and timeout(1) for the steps users meet most. */
static const char *step_phrase(const subproc_error *e) {
    static const struct {
    subproc_step step;
    const char *phrase;
  } phrases[] = {
      {SUBPROC_STEP_EXEC, "cannot execute"},
      {SUBPROC_STEP_CHDIR, "cannot change directory to"},
      {SUBPROC_STEP_OPEN, "cannot open"},
  };
  size_t i;
  for (i = 0; i < sizeof phrases / sizeof *phrases; i++)
    if (is_step(e, phrases[i].step))
      return phrases[i].phrase;
  return NULL;
}

void subproc_tool_print_error(int rc, const subproc_error *e,
                              const char *program) {
  const char *phrase = step_phrase(e);
  const char *path = e->path ? e->path : program;
  int err = error_errno(rc, e);
  if (phrase && path && err)
    fprintf(stderr, "subproc: %s '%s': %s\n", phrase, path, strerror(err));
  else if (e->message[0])
    fprintf(stderr, "subproc: %s\n", e->message);
  else
    fprintf(stderr, "subproc: %s\n", subproc_strerror(rc));
}

void subproc_tool_json_args(subproc_tool_json *j, const char *const *args) {
  subproc_tool_json_open(j, '[');
  while (args && *args)
    subproc_tool_json_cstring(j, *args++);
  subproc_tool_json_close(j, ']');
}

void subproc_tool_json_error(subproc_tool_json *j, int rc,
                             const subproc_error *e) {
  subproc_tool_json_key(j, "error");
  if (rc == 0) {
    subproc_tool_json_null(j);
    return;
  }
  subproc_tool_json_open(j, '{');
  subproc_tool_json_key(j, "code");
  subproc_tool_json_int(j, rc);
  subproc_tool_json_key(j, "name");
  subproc_tool_json_cstring(j, subproc_errname(rc));
  subproc_tool_json_key(j, "errno");
  subproc_tool_json_int(j, e->os_errno);
  subproc_tool_json_key(j, "step");
  subproc_tool_json_cstring(j, subproc_step_name(e->step));
  subproc_tool_json_key(j, "path");
  subproc_tool_json_cstring(j, e->path ? e->path : "");
  subproc_tool_json_key(j, "message");
  subproc_tool_json_cstring(j,
                            e->message[0] ? e->message : subproc_strerror(rc));
  subproc_tool_json_close(j, '}');
}

int subproc_tool_json_print(subproc_tool_json *j) {
  if (j->failed) {
    fprintf(stderr, "subproc: cannot build the JSON report: %s\n",
            strerror(ENOMEM));
    return SUBPROC_TOOL_EXIT_FAILURE;
  }
  fwrite(j->data, 1, j->len, stdout);
  putchar('\n');
  return 0;
}

/* ---- results ---- */

static void json_output(subproc_tool_json *j, const char *name,
                        const char *data, size_t len, int truncated) {
  char key[32];
  subproc_tool_json_bytes(j, name, data, len);
  snprintf(key, sizeof key, "%s_truncated", name);
  subproc_tool_json_key(j, key);
  subproc_tool_json_bool(j, truncated);
}

void subproc_tool_json_outputs(subproc_tool_json *j, const subproc_result *r) {
  json_output(j, "stdout", r ? r->out : NULL, r ? r->out_len : 0,
              r && r->out_truncated);
  json_output(j, "stderr", r ? r->err : NULL, r ? r->err_len : 0,
              r && r->err_truncated);
}

void subproc_tool_json_returncode(subproc_tool_json *j, int returncode) {
  subproc_tool_json_key(j, "returncode");
  if (returncode == SUBPROC_NO_RETURNCODE)
    subproc_tool_json_null(j);
  else
    subproc_tool_json_int(j, returncode);
}

void subproc_tool_json_rusage(subproc_tool_json *j, const subproc_result *r) {
  subproc_tool_json_key(j, "rusage");
  if (!r) {
    subproc_tool_json_null(j);
    return;
  }
  subproc_tool_json_open(j, '{');
  subproc_tool_json_key(j, "user_s");
  subproc_tool_json_double(j, r->user_s);
  subproc_tool_json_key(j, "system_s");
  subproc_tool_json_double(j, r->system_s);
  subproc_tool_json_key(j, "max_rss_kb");
  subproc_tool_json_int(j, r->max_rss_kb);
  subproc_tool_json_close(j, '}');
}

static void json_count(subproc_tool_json *j, const char *key, long long v) {
  subproc_tool_json_key(j, key);
  if (v < 0)
    subproc_tool_json_null(j);
  else
    subproc_tool_json_int(j, v);
}

/* The child's own cgroup (--cgroup-parent): null without one. */
void subproc_tool_json_cgroup(subproc_tool_json *j, const subproc_result *r) {
  subproc_tool_json_key(j, "cgroup");
  if (!r || (r->cgroup_usage_usec < 0 && r->cgroup_memory_peak < 0)) {
    subproc_tool_json_null(j);
    return;
  }
  subproc_tool_json_open(j, '{');
  json_count(j, "memory_peak", r->cgroup_memory_peak);
  json_count(j, "usage_usec", r->cgroup_usage_usec);
  json_count(j, "user_usec", r->cgroup_user_usec);
  json_count(j, "system_usec", r->cgroup_system_usec);
  subproc_tool_json_close(j, '}');
}

void subproc_tool_write_captured(const subproc_result *r) {
  if (r && r->out)
    fwrite(r->out, 1, r->out_len, stdout);
  if (r && r->err) {
    fflush(stdout);
    fwrite(r->err, 1, r->err_len, stderr);
  }
}

double subproc_tool_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
