/* The library under test, through its public API only. */
#include <stddef.h>

#include "bench.h"
#include "subproc.h"

static subproc_options options_for(const spawn_spec *s) {
  subproc_options o = {0};
  if (s->capture)
    o.out = SUBPROC_REDIRECT_PIPE;
  if (s->stdin_fd >= 0)
    o.in = SUBPROC_REDIRECT_FD(s->stdin_fd);
  return o;
}

static int run_with(const spawn_spec *s, const subproc_options *o) {
  subproc_result *r = NULL;
  int rc = subproc_run((const char *const *)s->argv, o, &r, NULL);
  rc = rc == 0 && r->returncode == 0 ? 0 : -1;
  subproc_result_free(r);
  return rc;
}

int op_subproc_run(void *spec) {
  subproc_options o = options_for(spec);
  return run_with(spec, &o);
}

int op_subproc_run_keepfds(void *spec) {
  subproc_options o = options_for(spec);
  o.keep_fds = 1;
  return run_with(spec, &o);
}

int op_subproc_run_capture_output(void *spec) {
  subproc_options o = options_for(spec);
  o.out.kind = SUBPROC_INHERIT;
  o.capture_output = 1;
  return run_with(spec, &o);
}

int op_subproc_popen_wait(void *spec) {
  const spawn_spec *s = spec;
  subproc_options o = options_for(s);
  subproc *p = NULL;
  int status = -1;
  if (subproc_popen((const char *const *)s->argv, &o, &p, NULL) < 0)
    return -1;
  int rc = subproc_wait(p, SUBPROC_FOREVER, &status, NULL);
  subproc_free(p);
  return rc == 0 && status == 0 ? 0 : -1;
}

/* What run adds to popen+wait, one piece at a time: communicate without
 * a result object, then with one. */
int op_subproc_popen_comm(void *spec) {
  const spawn_spec *s = spec;
  subproc_options o = options_for(s);
  subproc *p = NULL;
  int status = -1;
  if (subproc_popen((const char *const *)s->argv, &o, &p, NULL) < 0)
    return -1;
  int rc = subproc_communicate(p, NULL, 0, SUBPROC_FOREVER, NULL, NULL);
  if (rc == 0)
    rc = subproc_wait(p, SUBPROC_FOREVER, &status, NULL);
  subproc_free(p);
  return rc == 0 && status == 0 ? 0 : -1;
}

int op_subproc_popen_comm_result(void *spec) {
  const spawn_spec *s = spec;
  subproc_options o = options_for(s);
  subproc *p = NULL;
  subproc_result *r = NULL;
  if (subproc_popen((const char *const *)s->argv, &o, &p, NULL) < 0)
    return -1;
  int rc = subproc_communicate(p, NULL, 0, SUBPROC_FOREVER, &r, NULL);
  rc = rc == 0 && r && r->returncode == 0 ? 0 : -1;
  subproc_result_free(r);
  subproc_free(p);
  return rc;
}
