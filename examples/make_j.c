/* A mini `make -j`: targets with prerequisites and a command each, run
 * by a pool with at most N jobs at once; a target starts once its
 * prerequisites are done, and the build stops at the first failure
 * (halt soon, as make without -k). */
#include <stdio.h>
#include <string.h>

#include "subproc.h"

typedef struct target {
  const char *name;
  const char *deps[3]; /* NULL-terminated */
  const char *command;
  int queued, done;
} target;

static target targets[] = {
    {"a.o", {NULL}, "sleep 0.1; echo compiled a", 0, 0},
    {"b.o", {NULL}, "sleep 0.2; echo compiled b", 0, 0},
    {"c.o", {NULL}, "sleep 0.1; echo compiled c", 0, 0},
    {"lib.a", {"a.o", "b.o", NULL}, "echo archived lib.a", 0, 0},
    {"app", {"lib.a", "c.o", NULL}, "echo linked app", 0, 0},
};
enum { N_TARGETS = sizeof targets / sizeof targets[0] };

typedef struct build {
  subproc_pool *pool;
  const char *argv[N_TARGETS][4];
  size_t job_target[N_TARGETS]; /* pool job index -> target */
  size_t n_jobs;
  int failed;
} build;

static target *find(const char *name) {
  for (int i = 0; i < N_TARGETS; i++)
    if (strcmp(targets[i].name, name) == 0)
      return &targets[i];
  return NULL;
}

static int ready(const target *t) {
  for (int k = 0; t->deps[k]; k++)
    if (!find(t->deps[k])->done)
      return 0;
  return 1;
}

/* Queue every target whose prerequisites are all done. */
static void queue_ready(build *b) {
  for (int i = 0; i < N_TARGETS; i++) {
    target *t = &targets[i];
    if (t->queued || !ready(t) || b->failed)
      continue;
    const char **argv = b->argv[b->n_jobs];
    argv[0] = "/bin/sh";
    argv[1] = "-c";
    argv[2] = t->command;
    argv[3] = NULL;
    size_t job;
    if (subproc_pool_add(b->pool, argv, NULL, &job, NULL) == 0) {
      b->job_target[job] = (size_t)i;
      b->n_jobs++;
      t->queued = 1;
    }
  }
}

static void on_done(void *arg, size_t job, int rc, const subproc_result *r,
                    const subproc_error *e) {
  build *b = arg;
  target *t = &targets[b->job_target[job]];
  if (rc < 0 || r->returncode != 0) {
    fprintf(stderr, "make: *** [%s] %s\n", t->name,
            rc < 0 ? e->message : "Error");
    b->failed = 1;
    return;
  }
  printf("%-6s done in %.2f s\n", t->name, r->duration_s);
  t->done = 1;
  queue_ready(b); /* jobs added from on_done run in the same pool */
}

int main(void) {
  build b = {0};
  subproc_pool_options po = {.max_parallel = 2,
                             .halt = SUBPROC_HALT_SOON,
                             .on_done = on_done,
                             .on_done_arg = &b};
  subproc_error e;
  if (subproc_pool_new(&b.pool, &po, &e) < 0) {
    fprintf(stderr, "make: %s\n", e.message);
    return 2;
  }
  queue_ready(&b);
  int rc = subproc_pool_run(b.pool, NULL, &e);
  subproc_pool_free(b.pool);
  if (rc < 0)
    fprintf(stderr, "make: %s\n", e.message);
  return rc < 0 || !find("app")->done ? 1 : 0;
}
