/* subproc_group nested in a libuv loop: the group's fd under a uv_poll_t,
 * its next timer under a uv_timer_t, run_once(g, 0) when either fires.
 * Built when libuv (Debian: libuv1-dev) is found. */
#include <stdio.h>
#include <uv.h>

#include "subproc.h"

typedef struct host {
  subproc_group *g;
  uv_poll_t poll;
  uv_timer_t timer;
  int finished;
} host;

static void on_exit_cb(void *arg, subproc *p, int rc, subproc_result *r,
                       const subproc_error *e) {
  host *h = arg;
  if (rc < 0)
    printf("%s: %s\n", subproc_args(p)[2], e->message);
  else
    printf("%s: exit %d, %zu bytes\n", subproc_args(p)[2], r->returncode,
           r->out_len);
  h->finished++;
  subproc_result_free(r);
  subproc_free(p);
}

static void drive(host *h);

static void on_readable(uv_poll_t *w, int status, int events) {
  (void)status, (void)events;
  drive(w->data);
}

static void on_timer(uv_timer_t *t) { drive(t->data); }

/* Let the group handle what is ready, then re-arm the timer for its next
 * deadline; stop watching once it is empty. */
static void drive(host *h) {
  subproc_group_run_once(h->g, SUBPROC_POLL, NULL);
  if (!subproc_group_count(h->g)) {
    uv_poll_stop(&h->poll);
    uv_timer_stop(&h->timer);
    return;
  }
  int ms = subproc_group_timeout_ms(h->g);
  if (ms >= 0)
    uv_timer_start(&h->timer, on_timer, (uint64_t)ms, 0);
}

int main(void) {
  host h = {0};
  subproc_error e;
  if (subproc_group_new(&h.g, &e) < 0) {
    fprintf(stderr, "group: %s\n", e.message);
    return 1;
  }
  const char *scripts[] = {"echo hello", "head -c 100000 /dev/zero",
                           "sleep 0.2; echo late", "exec sleep 30"};
  for (int i = 0; i < 4; i++) {
    const char *argv[] = {"/bin/sh", "-c", scripts[i], NULL};
    subproc *p = NULL;
    subproc_watch w = {
        .on_exit = on_exit_cb, .arg = &h, .timeout = i == 3 ? 0.3 : 0};
    if (subproc_popen(argv, &(subproc_options){.out = {.kind = SUBPROC_PIPE}},
                      &p, &e) < 0 ||
        subproc_group_add(h.g, p, &w, &e) < 0) {
      fprintf(stderr, "start: %s\n", e.message);
      return 1;
    }
  }
  uv_loop_t *loop = uv_default_loop();
  uv_poll_init(loop, &h.poll, subproc_group_fd(h.g));
  uv_timer_init(loop, &h.timer);
  h.poll.data = h.timer.data = &h;
  uv_poll_start(&h.poll, UV_READABLE, on_readable);
  drive(&h);
  uv_run(loop, UV_RUN_DEFAULT);
  uv_close((uv_handle_t *)&h.poll, NULL);
  uv_close((uv_handle_t *)&h.timer, NULL);
  uv_run(loop, UV_RUN_DEFAULT);
  subproc_group_free(h.g);
  return h.finished == 4 ? 0 : 1;
}
