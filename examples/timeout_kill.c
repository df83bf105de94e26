/* The spec's recipe: proc = Popen(...); try: communicate(timeout=...)
 * except TimeoutExpired: proc.kill(); communicate() */
#include <stdio.h>

#include "subproc.h"

int main(void) {
  const char *argv[] = {"sh", "-c", "echo started; exec sleep 10", NULL};
  subproc *p = NULL;
  subproc_error e;
  if (subproc_popen(argv, &(subproc_options){.out = SUBPROC_REDIRECT_PIPE}, &p,
                    &e) < 0) {
    fprintf(stderr, "timeout_kill: %s\n", e.message);
    return 1;
  }
  subproc_result *r = NULL;
  int rc = subproc_communicate(p, NULL, 0, 0.5, &r, &e);
  if (rc == SUBPROC_ETIMEDOUT) {
    printf("timed out after %g s with %zu bytes so far\n", e.timeout,
           r ? r->out_len : 0);
    subproc_result_free(r);
    subproc_kill(p);
    rc = subproc_communicate(p, NULL, 0, SUBPROC_FOREVER, &r, &e);
  }
  if (rc == 0)
    printf("returncode %d, output: %s", r->returncode, r->out);
  subproc_result_free(r);
  subproc_free(p);
  return rc == 0 ? 0 : 1;
}
