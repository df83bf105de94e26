/* check_output with check: a failing command gives SUBPROC_ECALLED with
 * the returncode and the output. */
#include <stdio.h>

#include "subproc.h"

int main(void) {
  const char *ok[] = {"echo", "hello", NULL};
  const char *bad[] = {"sh", "-c", "echo partial; exit 3", NULL};
  subproc_result *r = NULL;
  subproc_error e;
  if (subproc_check_output(ok, NULL, &r, &e) < 0) {
    fprintf(stderr, "check_output: %s\n", e.message);
    return 1;
  }
  printf("ok: %s", r->out);
  subproc_result_free(r);
  int rc = subproc_check_output(bad, NULL, &r, &e);
  printf("bad: %s (%s), returncode %d, output: %s", subproc_errname(rc),
         e.message, e.returncode, r ? r->out : "");
  subproc_result_free(r);
  return rc == SUBPROC_ECALLED ? 0 : 1;
}
