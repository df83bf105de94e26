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

int cli_exit_status(int rc, const subproc_error *e, int returncode,
                    int timed_out) {
  if (timed_out || rc == SUBPROC_ETIMEDOUT)
    return CLI_EXIT_TIMEOUT;
  if ((rc == 0 || rc == SUBPROC_ECALLED) && returncode != SUBPROC_NO_RETURNCODE)
    return status_of(returncode);
  if (rc < 0 && is_step(e, SUBPROC_STEP_EXEC))
    return error_errno(rc, e) == ENOENT ? CLI_EXIT_NOT_FOUND
                                        : CLI_EXIT_CANNOT_INVOKE;
  return rc < 0 ? CLI_EXIT_FAILURE : 0;
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

void cli_print_error(int rc, const subproc_error *e, const char *program) {
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

void cli_json_args(cli_json *j, const char *const *args) {
  cli_json_open(j, '[');
  while (args && *args)
    cli_json_cstring(j, *args++);
  cli_json_close(j, ']');
}

void cli_json_error(cli_json *j, int rc, const subproc_error *e) {
  cli_json_key(j, "error");
  if (rc == 0) {
    cli_json_null(j);
    return;
  }
  cli_json_open(j, '{');
  cli_json_key(j, "code");
  cli_json_int(j, rc);
  cli_json_key(j, "name");
  cli_json_cstring(j, subproc_errname(rc));
  cli_json_key(j, "errno");
  cli_json_int(j, e->os_errno);
  cli_json_key(j, "step");
  cli_json_cstring(j, subproc_step_name(e->step));
  cli_json_key(j, "path");
  cli_json_cstring(j, e->path ? e->path : "");
  cli_json_key(j, "message");
  cli_json_cstring(j, e->message[0] ? e->message : subproc_strerror(rc));
  cli_json_close(j, '}');
}

int cli_json_print(cli_json *j) {
  if (j->failed) {
    fprintf(stderr, "subproc: cannot build the JSON report: %s\n",
            strerror(ENOMEM));
    return CLI_EXIT_FAILURE;
  }
  fwrite(j->data, 1, j->len, stdout);
  putchar('\n');
  return 0;
}

/* ---- results ---- */

static void json_output(cli_json *j, const char *name, const char *data,
                        size_t len, int truncated) {
  char key[32];
  cli_json_bytes(j, name, data, len);
  snprintf(key, sizeof key, "%s_truncated", name);
  cli_json_key(j, key);
  cli_json_bool(j, truncated);
}

void cli_json_outputs(cli_json *j, const subproc_result *r) {
  json_output(j, "stdout", r ? r->out : NULL, r ? r->out_len : 0,
              r && r->out_truncated);
  json_output(j, "stderr", r ? r->err : NULL, r ? r->err_len : 0,
              r && r->err_truncated);
}

void cli_json_returncode(cli_json *j, int returncode) {
  cli_json_key(j, "returncode");
  if (returncode == SUBPROC_NO_RETURNCODE)
    cli_json_null(j);
  else
    cli_json_int(j, returncode);
}

void cli_json_rusage(cli_json *j, const subproc_result *r) {
  cli_json_key(j, "rusage");
  if (!r) {
    cli_json_null(j);
    return;
  }
  cli_json_open(j, '{');
  cli_json_key(j, "user_s");
  cli_json_double(j, r->user_s);
  cli_json_key(j, "system_s");
  cli_json_double(j, r->system_s);
  cli_json_key(j, "max_rss_kb");
  cli_json_int(j, r->max_rss_kb);
  cli_json_close(j, '}');
}

static void json_count(cli_json *j, const char *key, long long v) {
  cli_json_key(j, key);
  if (v < 0)
    cli_json_null(j);
  else
    cli_json_int(j, v);
}

/* The child's own cgroup (--cgroup-parent): null without one. */
void cli_json_cgroup(cli_json *j, const subproc_result *r) {
  cli_json_key(j, "cgroup");
  if (!r || (r->cgroup_usage_usec < 0 && r->cgroup_memory_peak < 0)) {
    cli_json_null(j);
    return;
  }
  cli_json_open(j, '{');
  json_count(j, "memory_peak", r->cgroup_memory_peak);
  json_count(j, "usage_usec", r->cgroup_usage_usec);
  json_count(j, "user_usec", r->cgroup_user_usec);
  json_count(j, "system_usec", r->cgroup_system_usec);
  cli_json_close(j, '}');
}

void cli_write_captured(const subproc_result *r) {
  if (r && r->out)
    fwrite(r->out, 1, r->out_len, stdout);
  if (r && r->err) {
    fflush(stdout);
    fwrite(r->err, 1, r->err_len, stderr);
  }
}

double cli_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
