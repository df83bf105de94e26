/* The peers, each compiled in when CMake found it with pkg-config:
 * GLib's g_spawn_sync and libuv's uv_spawn, used the way their
 * documentation shows for "run this and wait". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "bench.h"

#if defined(BENCH_HAVE_GLIB)
#include <glib.h>
#endif
#if defined(BENCH_HAVE_LIBUV)
#include <uv.h>
#endif

int peers_have_glib(void) {
#if defined(BENCH_HAVE_GLIB)
  return !bench.no_glib;
#else
  return 0;
#endif
}

int peers_have_libuv(void) {
#if defined(BENCH_HAVE_LIBUV)
  return !bench.no_libuv;
#else
  return 0;
#endif
}

const char *peers_note(void) {
  static char note[256];
  snprintf(note, sizeof note, "GLib: %s; libuv: %s",
#if defined(BENCH_HAVE_GLIB)
           bench.no_glib ? "disabled (--no-glib)" : BENCH_GLIB_VERSION,
#else
           "not found at configure time (install libglib2.0-dev)",
#endif
#if defined(BENCH_HAVE_LIBUV)
           bench.no_libuv ? "disabled (--no-libuv)" : BENCH_LIBUV_VERSION
#else
           "not found at configure time (install libuv1-dev)"
#endif
  );
  return note;
}

/* ------------------------------------------------------------------ */
/* GLib                                                                */
/* ------------------------------------------------------------------ */

int op_glib(void *spec) {
#if defined(BENCH_HAVE_GLIB)
  const spawn_spec *s = spec;
  gchar *out = NULL;
  gint status = -1;
  GError *error = NULL;
  gboolean ok =
      g_spawn_sync(NULL, (gchar **)s->argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                   s->capture ? &out : NULL, NULL, &status, &error);
  g_free(out);
  if (!ok) {
    g_error_free(error);
    return -1;
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
#else
  (void)spec;
  return -1;
#endif
}

/* ------------------------------------------------------------------ */
/* libuv                                                               */
/* ------------------------------------------------------------------ */

#if defined(BENCH_HAVE_LIBUV)
/* A fresh loop per batch: closing it removes libuv's SIGCHLD handler, so
 * the other methods never run with it installed. */
static uv_loop_t loop;

typedef struct uv_job {
  uv_process_t proc;
  uv_pipe_t out;
  int64_t status;
  int term_signal;
  char buf[65536];
} uv_job;

static void on_exit_cb(uv_process_t *p, int64_t status, int term_signal) {
  uv_job *j = p->data;
  j->status = status;
  j->term_signal = term_signal;
  uv_close((uv_handle_t *)p, NULL);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)hint;
  uv_job *j = h->data;
  *buf = uv_buf_init(j->buf, sizeof j->buf);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  (void)buf;
  if (n < 0)
    uv_close((uv_handle_t *)s, NULL);
}
#endif

void libuv_before(void *spec) {
  (void)spec;
#if defined(BENCH_HAVE_LIBUV)
  uv_loop_init(&loop);
#endif
}

void libuv_after(void *spec) {
  (void)spec;
#if defined(BENCH_HAVE_LIBUV)
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
#endif
}

int op_libuv(void *spec) {
#if defined(BENCH_HAVE_LIBUV)
  const spawn_spec *s = spec;
  uv_job j;
  memset(&j, 0, sizeof j);
  j.status = -1;
  uv_stdio_container_t stdio[3];
  stdio[0].flags = UV_INHERIT_FD;
  stdio[0].data.fd = s->stdin_fd >= 0 ? s->stdin_fd : 0;
  stdio[1].flags = UV_INHERIT_FD;
  stdio[1].data.fd = 1;
  stdio[2].flags = UV_INHERIT_FD;
  stdio[2].data.fd = 2;
  if (s->capture) {
    uv_pipe_init(&loop, &j.out, 0);
    j.out.data = &j;
    stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[1].data.stream = (uv_stream_t *)&j.out;
  }
  uv_process_options_t o;
  memset(&o, 0, sizeof o);
  o.file = s->argv[0];
  o.args = (char **)s->argv;
  o.exit_cb = on_exit_cb;
  o.stdio = stdio;
  o.stdio_count = 3;
  j.proc.data = &j;
  int rc = uv_spawn(&loop, &j.proc, &o);
  if (rc != 0) {
    uv_close((uv_handle_t *)&j.proc, NULL);
    if (s->capture)
      uv_close((uv_handle_t *)&j.out, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    return -1;
  }
  if (s->capture && uv_read_start((uv_stream_t *)&j.out, on_alloc, on_read))
    uv_close((uv_handle_t *)&j.out, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  return j.status == 0 && j.term_signal == 0 ? 0 : -1;
#else
  (void)spec;
  return -1;
#endif
}
