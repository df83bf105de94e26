/* Option checks shared by every backend. */
#include <limits.h>
#include <string.h>

#include "internal.h"

static int not_a_number(subproc_error *err, const char *name) {
  return subproc__fail(err, SUBPROC_EINVAL, 0, name, NULL, -1,
                       "%s: not a number", name);
}

/* Values no platform accepts: NaN times, sizes beyond what the OS takes,
 * negative fds (Python's ValueError). */
static int check_values(const subproc_options *o, subproc_error *err) {
  if (subproc__isnan(o->timeout))
    return not_a_number(err, "timeout");
  if (subproc__isnan(o->wait_delay))
    return not_a_number(err, "wait_delay");
  if (o->pipesize < 0 || o->pipesize > INT_MAX)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "pipesize", NULL, -1,
                         "pipesize: %ld is out of range [0, %d]", o->pipesize,
                         INT_MAX);
  if (o->n_pass_fds && !o->pass_fds)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "pass_fds", NULL, -1,
                         "pass_fds: NULL array with %zu entries",
                         o->n_pass_fds);
  for (size_t i = 0; i < o->n_pass_fds; i++)
    if (o->pass_fds[i] < 0)
      return subproc__fail(err, SUBPROC_EINVAL, 0, "pass_fds", NULL, -1,
                           "pass_fds: bad value %d", o->pass_fds[i]);
  return 0;
}

static int bad_cgroup(subproc_error *err, const char *what) {
  return subproc__fail(err, SUBPROC_EINVAL, 0, "cgroup", NULL, -1, "cgroup: %s",
                       what);
}

/* The cgroup block: the combinations and ranges (the backend checks the
 * directories themselves). */
static int check_cgroup(const subproc_options *o, subproc_error *err) {
  int limits =
      o->cgroup_memory_max || o->cgroup_pids_max || o->cgroup_cpu_max != 0;
  if (o->cgroup && o->cgroup_parent)
    return bad_cgroup(err, "cgroup and cgroup_parent exclude each other");
  if ((o->cgroup && !*o->cgroup) || (o->cgroup_parent && !*o->cgroup_parent))
    return bad_cgroup(err, "empty path");
  if (limits && !o->cgroup_parent)
    return bad_cgroup(err, "limits need cgroup_parent (a cgroup of the "
                           "child's own): a given cgroup is not changed");
  if (o->cgroup_memory_max < 0)
    return bad_cgroup(err, "cgroup_memory_max is negative");
  if (o->cgroup_pids_max < 0)
    return bad_cgroup(err, "cgroup_pids_max is negative");
  double cpu = o->cgroup_cpu_max;
  if (subproc__isnan(cpu) || cpu < 0 || (cpu > 0 && cpu < 0.01) || cpu > 1e6)
    return bad_cgroup(err, "cgroup_cpu_max must be 0 (none) or CPUs in "
                           "[0.01, 1000000]");
  return 0;
}

int subproc__options_validate(const char *const *argv, const subproc_options *o,
                              subproc_error *err) {
  if (!argv || !argv[0])
    return subproc__fail(err, SUBPROC_EINVAL, 0, "args", NULL, -1,
                         "args: empty argument list");
  if (o->in.kind == SUBPROC_STDOUT || o->out.kind == SUBPROC_STDOUT)
    return subproc__fail(err, SUBPROC_EINVAL, 0,
                         o->in.kind == SUBPROC_STDOUT ? "stdin" : "stdout",
                         NULL, -1, "STDOUT is only valid for stderr");
  if (o->bufsize < SUBPROC_BUFSIZE_UNBUFFERED)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "bufsize", NULL, -1,
                         "bufsize: %ld is not valid", o->bufsize);
  if (o->input && o->in.kind != SUBPROC_INHERIT)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "input", NULL, -1,
                         "stdin and input arguments may not both be used");
  if (o->capture_output &&
      (o->out.kind != SUBPROC_INHERIT || o->err.kind != SUBPROC_INHERIT))
    return subproc__fail(err, SUBPROC_EINVAL, 0, "capture_output", NULL, -1,
                         "stdout and stderr arguments may not be used with "
                         "capture_output");
  int rc = check_values(o, err);
  if (rc == 0)
    rc = check_cgroup(o, err);
  return rc < 0 ? rc : subproc__env_validate(o->env, err);
}

int subproc__env_validate(const char *const *env, subproc_error *err) {
  for (size_t i = 0; env && env[i]; i++) {
    const char *eq = strchr(env[i], '=');
    if (!eq)
      return subproc__fail(err, SUBPROC_EINVAL, 0, "env", env[i], -1,
                           "env: entry '%s' has no '='", env[i]);
    if (eq == env[i])
      return subproc__fail(err, SUBPROC_EINVAL, 0, "env", env[i], -1,
                           "env: illegal environment variable name in '%s'",
                           env[i]);
  }
  return 0;
}
