/* run(["sort"], input=..., capture_output=True, text=True) */
#include <stdio.h>
#include <string.h>

#include "subproc.h"

int main(void) {
  const char *argv[] = {"sort", NULL};
  const char *input = "pear\napple\nfig\n";
  subproc_result *r = NULL;
  subproc_error e;
  int rc = subproc_run(argv,
                       &(subproc_options){.input = input,
                                          .input_len = strlen(input),
                                          .capture_output = 1,
                                          .text = 1},
                       &r, &e);
  if (rc < 0) {
    fprintf(stderr, "feed_input: %s\n", e.message);
    return 1;
  }
  fputs(r->out, stdout);
  subproc_result_free(r);
  return 0;
}
