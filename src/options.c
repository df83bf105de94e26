/* Option checks shared by every backend. */
#include <string.h>

#include "internal.h"

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
