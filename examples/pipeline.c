/* output = `dmesg | grep hda`, the spec's pipeline recipe, without a shell
 * (with printf standing in for dmesg, which needs privileges). */
#include <stdio.h>

#include "subproc.h"

int main(void) {
  const char *dmesg[] = {"printf", "sda: ok\\nhda: found\\nhdb: none\\n", NULL};
  const char *grep[] = {"grep", "hda", NULL};
  const char *const *stages[] = {dmesg, grep};
  subproc_pipeline_result *r = NULL;
  subproc_error e;
  int rc = subproc_pipeline(stages, 2, &(subproc_options){.capture_output = 1},
                            NULL, &r, &e);
  if (rc < 0) {
    fprintf(stderr, "pipeline: %s\n", e.message);
    subproc_pipeline_result_free(r);
    return 1;
  }
  printf("statuses %d %d, output: %s", r->returncodes[0], r->returncodes[1],
         r->last->out);
  subproc_pipeline_result_free(r);
  return 0;
}
