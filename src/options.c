/* Option checks shared by every backend. */
#include <string.h>

#include "internal.h"

int subproc__options_validate(const char *const *argv, const subproc_options *o,
                              subproc_error *err) {
  if (!argv || !argv[0])
    return subproc__fail(err, SUBPROC_EINVAL, 0, "args", NULL, -1,
                         "args: empty argument list");
  if (o->in.kind == SUBPROC_STDOUT || o->out.kind == SUBPROC_STDOUT)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "stdin", NULL, -1,
                         "STDOUT is only valid for stderr");
  if (o->pipesize < 0)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "pipesize", NULL, -1,
                         "pipesize: %ld is negative", o->pipesize);
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
  return subproc__env_validate(o->env, err);
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
