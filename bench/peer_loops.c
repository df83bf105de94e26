/* Scenario (9) for the peers: n children started, then collected from one
 * loop, the way each library's documentation shows it. libuv: uv_spawn
 * with a UV_CREATE_PIPE stdout read by uv_read_start, and the exit
 * callback. GLib: g_spawn_async_with_pipes, a g_unix_fd_source on the
 * pipe and a child watch, in a GMainContext of their own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#if defined(BENCH_HAVE_GLIB)
#include <glib-unix.h>
#include <glib.h>
#endif
#if defined(BENCH_HAVE_LIBUV)
#include <uv.h>
#endif

/* Both loops hand every read the same buffer: each callback consumes it
 * before the next read. */
static char read_buf[LOOP_BYTES];

/* ------------------------------------------------------------------ */
/* libuv                                                               */
/* ------------------------------------------------------------------ */

#if defined(BENCH_HAVE_LIBUV)
typedef struct uv_kid {
  uv_process_t proc;
  uv_pipe_t out;
  kid_check *chk;
} uv_kid;

static void uvk_exit(uv_process_t *p, int64_t status, int term_signal) {
  uv_kid *k = p->data;
  k->chk->exited_ok = status == 0 && term_signal == 0;
  uv_close((uv_handle_t *)p, NULL);
}

static void uvk_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)h, (void)hint;
  *buf = uv_buf_init(read_buf, sizeof read_buf);
}

static void uvk_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  uv_kid *k = s->data;
  if (n > 0)
    kid_check_feed(k->chk, buf->base, (size_t)n);
  else if (n < 0)
    uv_close((uv_handle_t *)s, NULL);
}

static int uvk_start(uv_loop_t *loop, uv_kid *k, char *const *argv) {
  uv_stdio_container_t stdio[3];
  stdio[0].flags = UV_INHERIT_FD;
  stdio[0].data.fd = 0;
  stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  stdio[1].data.stream = (uv_stream_t *)&k->out;
  stdio[2].flags = UV_INHERIT_FD;
  stdio[2].data.fd = 2;
  uv_process_options_t o;
  memset(&o, 0, sizeof o);
  o.file = argv[0];
  o.args = (char **)argv;
  o.exit_cb = uvk_exit;
  o.stdio = stdio;
  o.stdio_count = 3;
  uv_pipe_init(loop, &k->out, 0);
  k->out.data = k;
  k->proc.data = k;
  if (uv_spawn(loop, &k->proc, &o) != 0) {
    uv_close((uv_handle_t *)&k->proc, NULL);
    uv_close((uv_handle_t *)&k->out, NULL);
    return -1;
  }
  if (uv_read_start((uv_stream_t *)&k->out, uvk_alloc, uvk_read) != 0) {
    uv_close((uv_handle_t *)&k->out, NULL);
    return -1;
  }
  return 0;
}
#endif

int peers_loop_libuv(loop_run *lr) {
#if defined(BENCH_HAVE_LIBUV)
  uv_loop_t loop;
  uv_kid *kids = calloc((size_t)lr->n, sizeof *kids);
  if (!kids || uv_loop_init(&loop) != 0) {
    free(kids);
    return -1;
  }
  int rc = 0;
  for (int i = 0; i < lr->n && rc == 0; i++) {
    kids[i].chk = &lr->chk[i];
    rc = uvk_start(&loop, &kids[i], lr->argvs[i]);
  }
  loop_spawned(lr);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  free(kids);
  return rc;
#else
  (void)lr;
  return -1;
#endif
}

/* ------------------------------------------------------------------ */
/* GLib                                                                */
/* ------------------------------------------------------------------ */

#if defined(BENCH_HAVE_GLIB)
typedef struct g_kid {
  kid_check *chk;
  int *left;
  int fd, exited;
} g_kid;

static void gk_done(g_kid *k) {
  if (k->fd < 0 && k->exited)
    (*k->left)--;
}

static gboolean gk_read(gint fd, GIOCondition cond, gpointer data) {
  (void)cond;
  g_kid *k = data;
  ssize_t n = read(fd, read_buf, sizeof read_buf);
  if (n > 0) {
    kid_check_feed(k->chk, read_buf, (size_t)n);
    return G_SOURCE_CONTINUE;
  }
  close(fd);
  k->fd = -1;
  gk_done(k);
  return G_SOURCE_REMOVE;
}

static void gk_exit(GPid pid, gint status, gpointer data) {
  g_kid *k = data;
  k->chk->exited_ok = g_spawn_check_wait_status(status, NULL);
  k->exited = 1;
  g_spawn_close_pid(pid);
  gk_done(k);
}

static int gk_start(GMainContext *ctx, g_kid *k, char *const *argv) {
  GPid pid;
  GError *error = NULL;
  if (!g_spawn_async_with_pipes(NULL, (gchar **)argv, NULL,
                                G_SPAWN_DO_NOT_REAP_CHILD |
                                    G_SPAWN_CHILD_INHERITS_STDIN,
                                NULL, NULL, &pid, NULL, &k->fd, NULL, &error)) {
    g_error_free(error);
    return -1;
  }
  GSource *s = g_unix_fd_source_new(k->fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
  g_source_set_callback(s, G_SOURCE_FUNC(gk_read), k, NULL);
  g_source_attach(s, ctx);
  g_source_unref(s);
  s = g_child_watch_source_new(pid);
  g_source_set_callback(s, G_SOURCE_FUNC(gk_exit), k, NULL);
  g_source_attach(s, ctx);
  g_source_unref(s);
  return 0;
}
#endif

int peers_loop_glib(loop_run *lr) {
#if defined(BENCH_HAVE_GLIB)
  GMainContext *ctx = g_main_context_new();
  g_kid *kids = calloc((size_t)lr->n, sizeof *kids);
  int left = 0, rc = kids ? 0 : -1;
  for (int i = 0; i < lr->n && rc == 0; i++) {
    kids[i] = (g_kid){.chk = &lr->chk[i], .left = &left, .fd = -1};
    if ((rc = gk_start(ctx, &kids[i], lr->argvs[i])) == 0)
      left++;
  }
  loop_spawned(lr);
  while (left > 0)
    g_main_context_iteration(ctx, TRUE);
  g_main_context_unref(ctx);
  free(kids);
  return rc;
#else
  (void)lr;
  return -1;
#endif
}
