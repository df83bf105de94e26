/* subproc_pool: jobs at most N at a time on a group, each result as it
 * completes, an early stop after a failure, cancellation from a signal
 * handler (forward the signal, then collect). */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "process.h"

#define DEFAULT_GRACE_S 2.0

typedef struct job {
  struct subproc_pool *pool;
  size_t index;
  const char *const *argv;
  const subproc_options *opts;
  subproc *p; /* while it runs */
} job;

struct subproc_pool {
  subproc_pool_options po;
  subproc_group *g;
  job **jobs; /* pointers: on_done may add jobs while one is referenced */
  size_t n_jobs, cap_jobs;
  size_t next; /* the first job not started yet */
  size_t running, failed;
  int halted;        /* start nothing more */
  atomic_int cancel; /* the signal asked for, 0 = none */
  int cancelled;     /* the loop forwarded it */
  double kill_at;    /* after a cancel: SIGKILL the rest then */
};

int subproc_pool_new(subproc_pool **out, const subproc_pool_options *po,
                     subproc_error *err) {
  if (!out)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "pool", NULL, -1,
                         "pool_new: out is NULL");
  *out = NULL;
  int rc = po ? SUBPROC__RESERVED_ZERO(po, "subproc_pool_options", err) : 0;
  if (rc < 0)
    return rc;
  subproc_pool *pl = calloc(1, sizeof *pl);
  if (!pl)
    return subproc__fail_os(err, ENOMEM, "pool", NULL, -1);
  if (po)
    pl->po = *po;
  if (!pl->po.max_parallel)
    pl->po.max_parallel = (size_t)subproc__os_cpu_count();
  if (!(pl->po.cancel_grace > 0))
    pl->po.cancel_grace = DEFAULT_GRACE_S;
  pl->kill_at = -1.0;
  atomic_init(&pl->cancel, 0);
  rc = subproc_group_new(&pl->g, err);
  if (rc < 0) {
    free(pl);
    return rc;
  }
  *out = pl;
  return 0;
}

void subproc_pool_free(subproc_pool *pl) {
  if (!pl)
    return;
  subproc_group_free(pl->g);
  for (size_t i = 0; i < pl->n_jobs; i++) {
    subproc_free(pl->jobs[i]->p); /* a job still running is orphaned */
    free(pl->jobs[i]);
  }
  free(pl->jobs);
  free(pl);
}

int subproc_pool_add(subproc_pool *pl, const char *const *argv,
                     const subproc_options *opts, size_t *index,
                     subproc_error *err) {
  if (!pl || !argv || !argv[0])
    return subproc__fail(err, SUBPROC_EINVAL, 0, "pool", NULL, -1,
                         "pool_add: NULL pool or empty argument list");
  if (pl->n_jobs == pl->cap_jobs) {
    size_t cap = pl->cap_jobs ? 2 * pl->cap_jobs : 64;
    job **grown = realloc(pl->jobs, cap * sizeof *grown);
    if (!grown)
      return subproc__fail_os(err, ENOMEM, "pool", NULL, -1);
    pl->jobs = grown;
    pl->cap_jobs = cap;
  }
  job *j = calloc(1, sizeof *j);
  if (!j)
    return subproc__fail_os(err, ENOMEM, "pool", NULL, -1);
  *j = (job){.pool = pl, .index = pl->n_jobs, .argv = argv, .opts = opts};
  pl->jobs[pl->n_jobs++] = j;
  if (index)
    *index = j->index;
  return 0;
}

/* ------------------------------------------------------------------ */
/* Stopping jobs                                                       */
/* ------------------------------------------------------------------ */

/* sig to what the job started: its group (every job leads one unless
 * its options joined another), else the child. */
static void signal_job(job *j, int sig) {
  if (!j->p)
    return;
  if (subproc_send_signal_group(j->p, sig) < 0 &&
      subproc_send_signal(j->p, sig) < 0)
    subproc_kill(j->p);
}

static void signal_running(subproc_pool *pl, int sig) {
  for (size_t i = 0; i < pl->next; i++)
    signal_job(pl->jobs[i], sig);
}

static int failed(int rc, const subproc_result *r) {
  return rc < 0 || !r || r->returncode != 0;
}

static void job_done(subproc_pool *pl, job *j, int rc, subproc_result *r,
                     const subproc_error *err) {
  if (failed(rc, r)) {
    pl->failed++;
    if (pl->po.halt != SUBPROC_HALT_NEVER)
      pl->halted = 1;
    if (pl->po.halt == SUBPROC_HALT_NOW) {
      subproc__group_kill_trees(pl->g);
      signal_running(pl, SIGKILL);
    }
  }
  if (pl->po.on_done)
    pl->po.on_done(pl->po.on_done_arg, j->index, rc, r, err);
}

static void job_exited(void *arg, subproc *p, int rc, subproc_result *r,
                       const subproc_error *err) {
  job *j = arg;
  subproc_pool *pl = j->pool;
  j->p = NULL;
  pl->running--;
  job_done(pl, j, rc, r, err);
  subproc_result_free(r);
  subproc_free(p);
}

/* ------------------------------------------------------------------ */
/* Starting jobs                                                       */
/* ------------------------------------------------------------------ */

/* popen's options for a job: the run fields become the watch's; the job
 * leads a group of its own unless it asked for something else. */
static int popen_options(const job *j, subproc_watch *w, subproc_options *o,
                         subproc_error *err) {
  static const subproc_options none;
  const subproc_options *given = j->opts ? j->opts : &none;
  w->input = given->input;
  w->input_len = given->input_len;
  w->timeout = given->timeout;
  int rc = subproc__run_options(given, o, err);
  if (rc == 0 && o->kill_tree == SUBPROC_KILL_TREE_AUTO &&
      !o->start_new_session && !o->set_process_group)
    o->kill_tree = SUBPROC_KILL_TREE_ON;
  return rc;
}

static void start(subproc_pool *pl, job *j) {
  subproc_watch w = {.on_exit = job_exited, .arg = j};
  subproc_options o;
  subproc_error e;
  int rc = popen_options(j, &w, &o, &e);
  if (rc == 0)
    rc = subproc_popen(j->argv, &o, &j->p, &e);
  if (rc == 0 && (rc = subproc_group_add(pl->g, j->p, &w, &e)) < 0) {
    subproc_kill(j->p);
    subproc_wait(j->p, SUBPROC_FOREVER, NULL, NULL);
    subproc_free(j->p);
    j->p = NULL;
  }
  if (rc < 0) {
    job_done(pl, j, rc, NULL, &e);
    return;
  }
  pl->running++;
}

static void start_more(subproc_pool *pl) {
  while (!pl->halted && pl->running < pl->po.max_parallel &&
         pl->next < pl->n_jobs)
    start(pl, pl->jobs[pl->next++]);
}

/* ------------------------------------------------------------------ */
/* The loop                                                            */
/* ------------------------------------------------------------------ */

void subproc_pool_cancel(subproc_pool *pl, int sig) {
  if (!pl)
    return;
  atomic_store(&pl->cancel, sig ? sig : SIGKILL);
  subproc_group_wake(pl->g);
}

/* A cancel asked for (maybe by a signal handler): forwarded once, and the
 * jobs still running after the grace period are killed. */
static void handle_cancel(subproc_pool *pl) {
  int sig = atomic_load(&pl->cancel);
  if (sig && !pl->cancelled) {
    pl->cancelled = pl->halted = 1;
    subproc__group_kill_trees(pl->g);
    signal_running(pl, sig);
    pl->kill_at = subproc__now() + pl->po.cancel_grace;
  }
  if (pl->kill_at >= 0 && subproc__now() >= pl->kill_at) {
    signal_running(pl, SIGKILL);
    pl->kill_at = -1.0;
  }
}

int subproc_pool_run(subproc_pool *pl, size_t *failed_out, subproc_error *err) {
  if (!pl)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "pool", NULL, -1,
                         "pool_run: NULL pool");
  for (;;) {
    handle_cancel(pl);
    start_more(pl);
    if (!pl->running)
      break;
    double t = pl->kill_at < 0 ? SUBPROC_FOREVER : pl->kill_at - subproc__now();
    if (pl->kill_at >= 0 && t <= 0)
      t = SUBPROC_POLL; /* the grace period is over: look, then kill */
    int rc = subproc_group_run_once(pl->g, t, err);
    if (rc < 0)
      return rc;
  }
  if (failed_out)
    *failed_out = pl->failed;
  if (pl->cancelled)
    return subproc__fail(err, SUBPROC_ECANCELED, 0, "pool", NULL, -1,
                         "pool: cancelled (%zu of %zu jobs failed)", pl->failed,
                         pl->n_jobs);
  if (pl->failed)
    return subproc__fail(err, SUBPROC_ECALLED, 0, "pool", NULL, -1,
                         "pool: %zu of %zu jobs failed", pl->failed,
                         pl->n_jobs);
  return 0;
}

int subproc_run_many(const char *const *const *argvs, size_t n,
                     const subproc_options *opts,
                     const subproc_pool_options *po, size_t *failed_out,
                     subproc_error *err) {
  subproc_pool *pl = NULL;
  int rc = subproc_pool_new(&pl, po, err);
  for (size_t i = 0; rc == 0 && i < n; i++)
    rc = subproc_pool_add(pl, argvs[i], opts, NULL, err);
  if (rc == 0)
    rc = subproc_pool_run(pl, failed_out, err);
  subproc_pool_free(pl);
  return rc;
}
