/* communicate(): write the input, read stdout and stderr to EOF, wait. One
 * loop over subproc__os_io for every platform; what happens to the bytes
 * is src/capture.c's business. State is kept across timeouts, so a call
 * that times out loses nothing and a later call continues. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "process.h"

/* After a kill, output still in the pipes is collected for this long at
 * most, even when grandchildren keep the pipes open. */
#define KILL_DRAIN_S 0.2

typedef struct loop {
  subproc *p;
  subproc__comm *c;
  double deadline; /* the call's timeout, -1 = none */
  int got_epipe;
  int flush_failed; /* a stdin FILE could not be flushed: its close fails */
  const subproc__closing *closing; /* told before a pipe end is closed */
} loop;

static int fd_of(const loop *l, int i) { return l->p->streams[i].fd; }

static int close_pipe(loop *l, int i, int nonblocking) {
  if (l->closing && fd_of(l, i) >= 0)
    l->closing->fn(l->closing->arg, l->p, i, fd_of(l, i));
  return subproc__stream_close(&l->p->streams[i], nonblocking);
}

/* All input written, or the child stopped reading: EOF for the child. A
 * child that stopped reading is not an error (Python ignores it here). */
static int close_stdin(loop *l) {
  int rc = close_pipe(l, 0, 0);
  if (rc == -EPIPE)
    l->got_epipe = 1;
  return rc == -EPIPE || l->flush_failed ? 0 : rc;
}

static int finish_stream(loop *l, int i, subproc_error *err) {
  int rc = subproc__comm_eof(l->c, i, err);
  close_pipe(l, i, 0);
  return rc;
}

/* Once the child has exited, the wait_delay clock starts (kept across
 * calls: a timeout does not restart it). */
static void note_exit(loop *l) {
  subproc__comm_state *cs = &l->p->cs;
  if (cs->opts.wait_delay != 0 && cs->delay_deadline < 0 &&
      subproc__observe_exit(l->p, 0) == 1)
    cs->delay_deadline =
        subproc__now() + (cs->opts.wait_delay > 0 ? cs->opts.wait_delay : 0);
}

/* Grandchildren hold the pipes after wait_delay: stop reading (Go). */
static int give_up_reading(loop *l, subproc_error *err) {
  for (int i = 1; i <= 2; i++)
    if (fd_of(l, i) >= 0) {
      int rc = finish_stream(l, i, err);
      if (rc < 0)
        return rc;
    }
  return 0;
}

/* The entries of one round: stdin while input is left, the open outputs
 * reading into the space capture.c hands out. */
static int build(loop *l, subproc__io *io, int *which, size_t *n,
                 subproc_error *err) {
  *n = 0;
  size_t len;
  const char *in = subproc__comm_input(l->c, &len);
  if (fd_of(l, 0) >= 0 && len == 0) {
    int rc = close_stdin(l);
    if (rc < 0)
      return subproc__fail_os(err, -rc, "write", NULL, -1);
  }
  if (fd_of(l, 0) >= 0) {
    io[*n] = (subproc__io){
        .fd = fd_of(l, 0), .writing = 1, .buf = (char *)in, .len = len};
    which[(*n)++] = 0;
  }
  for (int i = 1; i <= 2; i++) {
    if (fd_of(l, i) < 0)
      continue;
    char *dst;
    size_t room;
    if (subproc__comm_space(l->c, i, &dst, &room) < 0)
      return subproc__fail_os(err, ENOMEM, "read", NULL, fd_of(l, i));
    io[*n] = (subproc__io){.fd = fd_of(l, i), .buf = dst, .len = room};
    which[(*n)++] = i;
  }
  return 0;
}

/* Account for what one entry moved. */
static int settle(loop *l, const subproc__io *io, int i, subproc_error *err) {
  if (io->os_errno && !(i == 0 && io->os_errno == EPIPE))
    return subproc__fail_os(err, io->os_errno, i ? "read" : "write", NULL,
                            io->fd);
  if (i == 0) {
    subproc__comm_input_advance(l->c, io->done);
    if (io->eof || io->os_errno == EPIPE) {
      l->got_epipe = 1;
      return close_stdin(l);
    }
    return 0;
  }
  int rc = io->done ? subproc__comm_commit(l->c, i, io->done, err) : 0;
  if (rc == 0 && io->eof)
    rc = finish_stream(l, i, err);
  return rc;
}

/* The earlier of two deadlines (-1 = none). */
static double earlier(double a, double b) {
  return a < 0 ? b : b < 0 || a < b ? a : b;
}

/* One wait (until deadline) and what it made possible: 1 when every pipe
 * is done, 0 if some remain, or an error. */
static int one_round(loop *l, double deadline, subproc_error *err) {
  subproc__io io[3];
  int which[3];
  size_t n;
  int rc = build(l, io, which, &n, err);
  if (rc < 0 || n == 0)
    return rc < 0 ? rc : 1;
  note_exit(l);
  subproc__comm_state *cs = &l->p->cs;
  if (cs->delay_deadline >= 0 && subproc__ms_left(cs->delay_deadline) == 0)
    return (rc = give_up_reading(l, err)) < 0 ? rc : 1;
  subproc__os *watch =
      cs->opts.wait_delay != 0 && cs->delay_deadline < 0 ? &l->p->os : NULL;
  int r = subproc__os_io(io, n, watch, earlier(deadline, cs->delay_deadline));
  if (r < 0)
    return subproc__fail_os(err, -r, "poll", NULL, -1);
  for (size_t k = 0; k < n && r > 0; k++)
    if ((rc = settle(l, &io[k], which[k], err)) < 0)
      return rc;
  return fd_of(l, 0) < 0 && fd_of(l, 1) < 0 && fd_of(l, 2) < 0;
}

/* 0 when every pipe is done, SUBPROC_ETIMEDOUT, or an error. */
static int pump(loop *l, subproc_error *err) {
  for (;;) {
    int rc = one_round(l, l->deadline, err);
    if (rc != 0)
      return rc < 0 ? rc : 0;
    /* Checked whatever the wait returned (as Python checks before each
     * select): a pipe that is never empty must not defeat the timeout. */
    if (l->deadline >= 0 && subproc__ms_left(l->deadline) == 0)
      return SUBPROC_ETIMEDOUT;
  }
}

/* stdin: what a FILE holds is flushed first; without input it is closed
 * at once (the child sees EOF, as in Python); writes must not block. */
static int prepare_stdin(loop *l) {
  subproc__stream *s = &l->p->streams[0];
  if (s->fd < 0)
    return 0;
  /* The child stopped reading (Python ignores BrokenPipeError here, and
   * EINVAL, which Windows gives for a pipe being closed). */
  if (s->file && fflush(s->file) != 0) {
    l->flush_failed = 1;
    l->got_epipe = errno == EPIPE;
  }
  size_t pending;
  if (!subproc__comm_input(l->c, &pending) || pending == 0)
    return close_stdin(l);
  subproc__os_set_nonblocking(s->fd, 1);
  return 0;
}

static int run_pump(subproc *p, double deadline, subproc_error *err) {
  loop l = {.p = p, .c = p->cs.comm, .deadline = deadline};
  subproc__sigpipe g;
  subproc__os_sigpipe_begin(&g);
  int rc = prepare_stdin(&l);
  if (rc == 0)
    rc = pump(&l, err);
  subproc__os_sigpipe_end(&g, l.got_epipe);
  return rc;
}

int subproc__drain_after_kill(subproc *p, subproc_error *err) {
  if (!p->cs.comm)
    return 0;
  loop l = {.p = p, .c = p->cs.comm, .deadline = subproc__now() + KILL_DRAIN_S};
  subproc__stream_close(&p->streams[0], 1);
  int rc = pump(&l, err);
  for (int i = 1; i <= 2; i++)
    if (fd_of(&l, i) >= 0)
      finish_stream(&l, i, NULL);
  return rc == SUBPROC_ETIMEDOUT ? 0 : rc;
}

void subproc__move_stdin(subproc *from, subproc *to) {
  to->streams[0] = from->streams[0];
  from->streams[0] = (subproc__stream){.fd = -1};
}

void subproc__adopt_pipe(subproc *p, int i, int fd) {
  p->streams[i] = (subproc__stream){.fd = fd};
}

/* ------------------------------------------------------------------ */
/* The result                                                          */
/* ------------------------------------------------------------------ */

static double duration(const subproc *p) {
  int done = atomic_load(&((subproc *)p)->state) != SUBPROC__RUNNING;
  return (done ? p->end_time : subproc__now()) - p->start_time;
}

/* The status part of a result: args (a copy), pid, returncode, times. */
static int status_into(const subproc *p, subproc_result *r) {
  r->returncode = subproc_returncode(p);
  r->pid = p->os.pid;
  r->duration_s = duration(p);
  r->wait_status = subproc_wait_status(p, &r->core_dumped);
  if (r->returncode != SUBPROC_NO_RETURNCODE) {
    r->user_s = p->exit.user_s;
    r->system_s = p->exit.system_s;
    r->max_rss_kb = p->exit.max_rss_kb;
  }
  int cg = r->returncode != SUBPROC_NO_RETURNCODE && p->exit.has_cgroup;
  r->cgroup_memory_peak = cg ? p->exit.cg_memory_peak : -1;
  r->cgroup_usage_usec = cg ? p->exit.cg_usage_usec : -1;
  r->cgroup_user_usec = cg ? p->exit.cg_user_usec : -1;
  r->cgroup_system_usec = cg ? p->exit.cg_system_usec : -1;
  r->args =
      (const char *const *)subproc__argv_dup((const char *const *)p->args);
  return r->args ? 0 : -ENOMEM;
}

int subproc__make_result(subproc *p, int snapshot, subproc_result **res) {
  subproc_result *r = calloc(1, sizeof *r);
  if (!r)
    return -ENOMEM;
  subproc__comm_state *cs = &p->cs;
  int rc = status_into(p, r);
  if (rc == 0 && cs->comm)
    rc = subproc__comm_output(cs->comm, r, cs->captured, snapshot);
  if (rc < 0) {
    subproc_result_free(r);
    return rc;
  }
  *res = r;
  return 0;
}

void subproc_result_free(subproc_result *r) {
  if (!r)
    return;
  free(r->out);
  free(r->err);
  free((void *)r->args);
  free(r);
}

/* ------------------------------------------------------------------ */
/* communicate()                                                       */
/* ------------------------------------------------------------------ */

/* TimeoutExpired: the child keeps running, nothing read is lost, and the
 * result carries a copy of the output so far. */
static int timed_out(subproc *p, double timeout, subproc_result **res,
                     subproc_error *err) {
  subproc__comm_input_own(p->cs.comm);
  if (res && subproc__make_result(p, 1, res) == 0)
    (*res)->timed_out = 1;
  const char *cmd = p->args[0];
  subproc__fail(err, SUBPROC_ETIMEDOUT, 0, "communicate", NULL, -1,
                "Command '%s' timed out after %g seconds", cmd, timeout);
  if (err)
    err->timeout = timeout;
  return SUBPROC_ETIMEDOUT;
}

/* Stop a child whose output broke a limit or a callback (its tree too,
 * when kill_tree is on). */
static void abandon(subproc *p) {
  subproc__kill_all(p);
  for (int i = 0; i <= 2; i++)
    subproc__stream_close(&p->streams[i], 1);
  subproc__wait_until(p, -1.0);
}

/* What a FILE already read of stdout or stderr comes first. */
static int take_read_ahead(subproc *p, subproc_error *err) {
  for (int i = 1; i <= 2; i++) {
    int rc = subproc__stream_drain(&p->streams[i], p->cs.comm, i, err);
    if (rc < 0)
      return rc;
  }
  return 0;
}

/* Input errors (encoding) come before any I/O: the child keeps running,
 * as Python raises before writing. */
static int comm_start(subproc *p, const void *input, size_t input_len,
                      subproc_error *err) {
  subproc__comm_state *cs = &p->cs;
  /* Python: once communication has started, even if it completed. */
  if (input && cs->started)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "input", NULL, -1,
                         "Cannot send input after starting communication");
  cs->started = 1;
  if (!cs->comm) {
    cs->captured[0] = p->streams[1].fd >= 0;
    cs->captured[1] = p->streams[2].fd >= 0;
    int rc = subproc__comm_new(&cs->comm, &cs->opts, err);
    if (rc == 0)
      rc = take_read_ahead(p, err);
    if (rc < 0)
      return rc;
  }
  /* Without a stdin pipe the input goes nowhere (Python ignores it). */
  const void *in = p->streams[0].fd >= 0 ? input : NULL;
  int rc = subproc__comm_set_input(cs->comm, in, input_len, err);
  return rc < 0 ? rc : 0;
}

/* The child is waited for (w from subproc__wait_until: 1 or an error):
 * the result and any decoding error. keep: the object keeps the output for
 * a later call and *res gets a copy. */
static int completed(subproc *p, int w, int keep, subproc_result **res,
                     subproc_error *err) {
  if (w < 0 && w != -ECHILD)
    return subproc__fail_os(err, -w, "wait", NULL, -1);
  p->cs.completed = 1;
  int rc = res ? subproc__make_result(p, keep, res) : 0;
  if (rc < 0)
    return subproc__fail_os(err, -rc, "communicate", NULL, -1);
  if (w == -ECHILD)
    return subproc__lost_error(p, err, "wait");
  return subproc__comm_decode_error(p->cs.comm, err);
}

static int communicate(subproc *p, const void *input, size_t input_len,
                       double timeout, int keep, subproc_result **res,
                       subproc_error *err) {
  if (res)
    *res = NULL;
  if (!p)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "communicate", NULL, -1,
                         "communicate: NULL process");
  if (subproc__isnan(timeout))
    return subproc__fail(err, SUBPROC_EINVAL, 0, "communicate", NULL, -1,
                         "communicate: timeout is not a number");
  int rc = comm_start(p, input, input_len, err);
  if (rc < 0)
    return rc;
  if (p->cs.completed)
    return res ? subproc__make_result(p, 1, res) : 0;
  double deadline = subproc__deadline(timeout);
  rc = run_pump(p, deadline, err);
  if (rc == SUBPROC_ETIMEDOUT)
    return timed_out(p, timeout, res, err);
  if (rc < 0) {
    abandon(p);
    if (res)
      subproc__make_result(p, 0, res);
    return rc;
  }
  int w = subproc__wait_until(p, deadline);
  if (w == 0)
    return timed_out(p, timeout, res, err);
  return completed(p, w, keep, res, err);
}

/* Python returns the same output from a later call: the object keeps it
 * and each result is a copy. */
int subproc_communicate(subproc *p, const void *input, size_t input_len,
                        double timeout, subproc_result **res,
                        subproc_error *err) {
  return communicate(p, input, input_len, timeout, 1, res, err);
}

int subproc__communicate_final(subproc *p, const void *input, size_t input_len,
                               double timeout, subproc_result **res,
                               subproc_error *err) {
  return communicate(p, input, input_len, timeout, 0, res, err);
}

/* ------------------------------------------------------------------ */
/* communicate, one step at a time (for event loops)                   */
/* ------------------------------------------------------------------ */

int subproc__communicate_round(subproc *p, const subproc__closing *closing,
                               int *done, subproc_error *err) {
  *done = 0;
  subproc__comm_state *cs = &p->cs;
  if (cs->completed) {
    *done = 1;
    return 0;
  }
  loop l = {.p = p, .c = cs->comm, .deadline = 0.0, .closing = closing};
  subproc__sigpipe g;
  subproc__os_sigpipe_begin(&g);
  int rc = 0;
  if (!cs->prepared) {
    cs->prepared = 1;
    rc = prepare_stdin(&l);
  }
  if (rc == 0)
    rc = one_round(&l, 0.0, err); /* 1: every pipe is done */
  subproc__os_sigpipe_end(&g, l.got_epipe);
  if (rc < 0)
    return rc;
  if (rc == 1 && closing && closing->before_reap &&
      subproc__observe_exit(p, 0) == 1)
    closing->before_reap(closing->arg, p);
  if (rc == 1) {
    int w = subproc__wait_until(p, 0.0);
    *done = w != 0;
    if (w < 0 && w != -ECHILD)
      return subproc__fail_os(err, -w, "wait", NULL, -1);
  }
  return 0;
}

int subproc__communicate_begin(subproc *p, const void *input, size_t input_len,
                               subproc_error *err) {
  return comm_start(p, input, input_len, err);
}

int subproc__communicate_end(subproc *p, subproc_result **res,
                             subproc_error *err) {
  int w = subproc__wait_until(p, 0.0);
  return completed(p, w == 0 ? -EAGAIN : w, 0, res, err);
}

void subproc__communicate_abandon(subproc *p, const subproc__closing *closing,
                                  subproc_result **res) {
  loop l = {.p = p, .c = p->cs.comm, .closing = closing};
  subproc__kill_all(p);
  for (int i = 0; i <= 2; i++)
    close_pipe(&l, i, 1);
  subproc__wait_until(p, -1.0);
  if (res)
    subproc__make_result(p, 0, res);
}

int subproc_communicate_step(subproc *p, const void *input, size_t input_len,
                             int *done, subproc_result **res,
                             subproc_error *err) {
  if (res)
    *res = NULL;
  if (!p || !done)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "communicate", NULL, -1,
                         "communicate_step: NULL process or done");
  *done = 0;
  if (p->cs.completed) {
    *done = 1;
    return res ? subproc__make_result(p, 1, res) : 0;
  }
  int rc = comm_start(p, input, input_len, err);
  if (rc == 0)
    rc = subproc__communicate_round(p, NULL, done, err);
  if (rc < 0) {
    subproc__communicate_abandon(p, NULL, res);
    return rc;
  }
  if (*done)
    return completed(p, subproc__wait_until(p, 0.0), 1, res, err);
  return 0;
}
