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
  if (subproc__isnan(o->wait_delay))
    return not_a_number(err, "wait_delay");
  if (o->pipesize < 0 || o->pipesize > INT_MAX)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "pipesize", NULL, -1,
                         "pipesize: %ld is out of range [0, %d]", o->pipesize,
                         INT_MAX);
  for (size_t i = 0; o->pass_fds && o->pass_fds[i] != -1; i++)
    if (o->pass_fds[i] < 0)
      return subproc__fail(err, SUBPROC_EINVAL, 0, "pass_fds", NULL, -1,
                           "pass_fds: bad value %d at [%zu] (the list ends "
                           "with -1)",
                           o->pass_fds[i], i);
  return 0;
}

/* The [run] fields belong to subproc_run and communicate: popen refuses
 * them rather than ignore them (a timeout that never fires is a trap). */
static int refuse_run_fields(const subproc_options *o, subproc_error *err) {
  const char *field = o->input || o->input_len ? "input"
                      : o->capture_output      ? "capture_output"
                      : o->timeout != 0        ? "timeout"
                      : o->check               ? "check"
                                               : NULL;
  if (!field)
    return 0;
  return subproc__fail(err, SUBPROC_EINVAL, 0, field, NULL, -1,
                       "popen: .%s is a [run] option (subproc_run, or the "
                       "argument of subproc_communicate/subproc_wait)",
                       field);
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

/* A pty implies a new session, which a process group cannot join and
 * whose terminal is the pty, not the caller's (foreground); its settings
 * mean nothing without one. */
static int check_pty(const subproc_options *o, subproc_error *err) {
  int pty = subproc__pty_streams(o);
  if (pty && o->set_process_group)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "process_group", NULL, -1,
                         "process_group: cannot be used with SUBPROC_PTY (a "
                         "pseudo-terminal gives the child a new session)");
  if (pty && o->foreground)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "foreground", NULL, -1,
                         "foreground: cannot be used with SUBPROC_PTY (the "
                         "child leads a new session on the pty, not the "
                         "caller's terminal)");
  if (!pty && (o->pty.rows || o->pty.cols || o->pty.raw))
    return subproc__fail(err, SUBPROC_EINVAL, 0, "pty", NULL, -1,
                         "pty: rows, cols or raw set, but no stream is "
                         "SUBPROC_PTY");
  return 0;
}

int subproc__reserved_zero(void *const *reserved, size_t n, const char *what,
                           subproc_error *err) {
  for (size_t i = 0; i < n; i++)
    if (reserved[i])
      return subproc__fail(err, SUBPROC_EINVAL, 0, "reserved", NULL, -1,
                           "reserved: %s has a field this version (%s) does "
                           "not know: built against a newer subproc.h?",
                           what, SUBPROC_VERSION_STRING);
  return 0;
}

int subproc__options_validate(const char *const *argv, const subproc_options *o,
                              subproc_error *err) {
  int rc = SUBPROC__RESERVED_ZERO(o, "subproc_options", err);
  if (rc < 0)
    return rc;
  if (o->startupinfo && (rc = SUBPROC__RESERVED_ZERO(
                             o->startupinfo, "subproc_startupinfo", err)) < 0)
    return rc;
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
  rc = refuse_run_fields(o, err);
  if (rc == 0)
    rc = check_values(o, err);
  if (rc == 0)
    rc = check_cgroup(o, err);
  if (rc == 0)
    rc = check_pty(o, err);
  return rc < 0 ? rc : subproc__env_validate(o->env, err);
}

int subproc__run_options(const subproc_options *o, subproc_options *popen_o,
                         subproc_error *err) {
  /* Beyond Python: input typed into a pty stdin. */
  if (o->input && o->in.kind != SUBPROC_INHERIT && o->in.kind != SUBPROC_PTY)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "input", NULL, -1,
                         "stdin and input arguments may not both be used");
  if (!o->input && o->input_len)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "input", NULL, -1,
                         "input: NULL with input_len %zu", o->input_len);
  if (o->capture_output &&
      (o->out.kind != SUBPROC_INHERIT || o->err.kind != SUBPROC_INHERIT))
    return subproc__fail(err, SUBPROC_EINVAL, 0, "capture_output", NULL, -1,
                         "stdout and stderr arguments may not be used with "
                         "capture_output");
  if (subproc__isnan(o->timeout))
    return not_a_number(err, "timeout");
  *popen_o = *o;
  if (o->input && o->in.kind != SUBPROC_PTY)
    popen_o->in = (subproc_redirect){.kind = SUBPROC_PIPE};
  if (o->capture_output)
    popen_o->out = popen_o->err = (subproc_redirect){.kind = SUBPROC_PIPE};
  popen_o->input = NULL;
  popen_o->input_len = 0;
  popen_o->capture_output = popen_o->check = 0;
  popen_o->timeout = 0;
  return 0;
}

size_t subproc__n_pass_fds(const subproc_options *o) {
  size_t n = 0;
  while (o->pass_fds && o->pass_fds[n] != -1)
    n++;
  return n;
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

/* The public structs keep their size (docs/abi.md): a field added to one
 * takes its room from the reserved tail, on every ABI. */
#define SUBPROC__SIZE(lp64, ilp32) (sizeof(void *) == 8 ? (lp64) : (ilp32))
/* By data model: LP64 (Linux x86_64), LLP64 (Windows x64: its three longs
 * take 4 bytes each), ILP32. */
_Static_assert(sizeof(subproc_options) == (sizeof(long) == 8     ? 1024
                                           : sizeof(void *) == 8 ? 1016
                                                                 : 768),
               "subproc_options changed size: take the room from reserved");
_Static_assert(sizeof(subproc_error) == SUBPROC__SIZE(384, 352),
               "subproc_error changed size: take the room from reserved");
_Static_assert(sizeof(subproc_startupinfo) == SUBPROC__SIZE(112, 56),
               "subproc_startupinfo changed size");
_Static_assert(sizeof(subproc_watch) == SUBPROC__SIZE(104, 56),
               "subproc_watch changed size");
_Static_assert(sizeof(subproc_pool_options) == SUBPROC__SIZE(104, 56),
               "subproc_pool_options changed size");
_Static_assert(sizeof(subproc_redirect) == SUBPROC__SIZE(40, 28),
               "subproc_redirect is part of subproc_options: frozen");
_Static_assert(sizeof(subproc_rlimit) == SUBPROC__SIZE(24, 20),
               "subproc_rlimit arrays are the caller's: frozen");
