/* Built against an installed copy of subproc by tests/install/run.sh. */
#include <stdio.h>
#include <string.h>

#include <subproc.h>

int main(void) {
  const char *argv[] = {"echo", "installed", NULL};
  subproc_result *r = NULL;
  subproc_error e;
  if (subproc_run(argv, &(subproc_options){.capture_output = 1}, &r, &e) < 0) {
    fprintf(stderr, "hello: %s\n", e.message);
    return 1;
  }
  int ok = strcmp(r->out, "installed\n") == 0;
  printf("%s %s", subproc_version(), r->out);
  subproc_result_free(r);
  return ok ? 0 : 1;
}
