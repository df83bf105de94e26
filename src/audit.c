/* The process-wide spawn audit hook (Python's "subprocess.Popen" audit
 * event), for every backend. */
#include <stdatomic.h>

#include "internal.h"

/* Set rarely, read on every spawn: a two-load critical section under a
 * spin lock costs less than a mutex and needs no platform threads API. */
static atomic_flag hook_lock = ATOMIC_FLAG_INIT;
static subproc_audit_fn hook_fn;
static void *hook_arg;

static void lock_hook(void) {
  while (atomic_flag_test_and_set_explicit(&hook_lock, memory_order_acquire)) {
  }
}

static void unlock_hook(void) {
  atomic_flag_clear_explicit(&hook_lock, memory_order_release);
}

void subproc_set_audit_hook(subproc_audit_fn fn, void *arg) {
  lock_hook();
  hook_fn = fn;
  hook_arg = arg;
  unlock_hook();
}

int subproc__audit(const char *executable, const char *const *argv,
                   const char *cwd, const char *const *env,
                   subproc_error *err) {
  lock_hook();
  subproc_audit_fn fn = hook_fn;
  void *arg = hook_arg;
  unlock_hook();
  if (!fn || fn(arg, executable, argv, cwd, env) == 0)
    return 0;
  return subproc__fail(err, SUBPROC_ESUBPROCESS, 0, "audit", NULL, -1,
                       "audit: the hook refused to run '%s'", executable);
}
