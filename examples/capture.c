/* output = check_output(["uname", "-s"]); run with capture_output. */
#include <stdio.h>

#include "subproc.h"

int main(void) {
  const char *argv[] = {"uname", "-s", NULL};
  subproc_result *r = NULL;
  subproc_error e;
  int rc = subproc_run(argv, &(subproc_options){.capture_output = 1}, &r, &e);
  if (rc < 0) {
    fprintf(stderr, "capture: %s\n", e.message);
    return 1;
  }
  printf("exit %d, stdout: %s", r->returncode, r->out);
  subproc_result_free(r);
  return 0;
}
