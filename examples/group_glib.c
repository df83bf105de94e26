/* subproc_group nested in a GLib main loop: g_unix_fd_add on the group's
 * fd, a timeout source for its next timer, run_once(g, 0) from either.
 * Built when GLib (Debian: libglib2.0-dev) is found. */
#include <glib-unix.h>
#include <glib.h>
#include <stdio.h>

#include "subproc.h"

typedef struct host {
  subproc_group *g;
  GMainLoop *loop;
  guint timer;
  int finished;
} host;

static void on_exit_cb(void *arg, subproc *p, int rc, subproc_result *r,
                       const subproc_error *e) {
  host *h = arg;
  if (rc < 0)
    printf("%s: %s\n", subproc_args(p)[2], e->message);
  else
    printf("%s: exit %d, stdout %.*s", subproc_args(p)[2], r->returncode,
           (int)r->out_len, r->out);
  h->finished++;
  subproc_result_free(r);
  subproc_free(p);
}

static void drive(host *h);

static gboolean on_timer(gpointer data) {
  host *h = data;
  h->timer = 0;
  drive(h);
  return G_SOURCE_REMOVE;
}

static gboolean on_fd(gint fd, GIOCondition cond, gpointer data) {
  (void)fd, (void)cond;
  drive(data);
  return G_SOURCE_CONTINUE;
}

static void drive(host *h) {
  subproc_group_run_once(h->g, SUBPROC_POLL, NULL);
  if (h->timer)
    g_source_remove(h->timer);
  h->timer = 0;
  if (!subproc_group_count(h->g)) {
    g_main_loop_quit(h->loop);
    return;
  }
  int ms = subproc_group_timeout_ms(h->g);
  if (ms >= 0)
    h->timer = g_timeout_add((guint)ms, on_timer, h);
}

int main(void) {
  host h = {0};
  subproc_error e;
  if (subproc_group_new(&h.g, &e) < 0) {
    fprintf(stderr, "group: %s\n", e.message);
    return 1;
  }
  const char *scripts[] = {"echo one", "sleep 0.1; echo two",
                           "echo three; exit 3"};
  for (int i = 0; i < 3; i++) {
    const char *argv[] = {"/bin/sh", "-c", scripts[i], NULL};
    subproc *p = NULL;
    subproc_watch w = {.on_exit = on_exit_cb, .arg = &h};
    if (subproc_popen(argv, &(subproc_options){.out = {.kind = SUBPROC_PIPE}},
                      &p, &e) < 0 ||
        subproc_group_add(h.g, p, &w, &e) < 0) {
      fprintf(stderr, "start: %s\n", e.message);
      return 1;
    }
  }
  h.loop = g_main_loop_new(NULL, FALSE);
  guint src = g_unix_fd_add(subproc_group_fd(h.g), G_IO_IN, on_fd, &h);
  drive(&h);
  if (subproc_group_count(h.g))
    g_main_loop_run(h.loop);
  g_source_remove(src);
  g_main_loop_unref(h.loop);
  subproc_group_free(h.g);
  return h.finished == 3 ? 0 : 1;
}
