/* subproc_group: many children from one loop. Each pipe end and each
 * child's exit is registered with the backend's poller (epoll on Linux);
 * an event runs one non-blocking communicate round for that child only, so
 * the cost per event does not grow with the number of children. Timers
 * (a child's timeout, the drain after a kill, wait_delay) sit in a binary
 * heap ordered by when they fall due. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "process.h"

/* After a timeout kill, output still in the pipes is collected this long. */
#define KILL_DRAIN_S 0.2
/* Children without a pidfd are looked at this often for their exit. */
#define BLIND_TICK_S 0.01
#define EXIT_SLOT 3
#define NOT_IN_HEAP SIZE_MAX

typedef struct member member;

/* What a poller registration points at: the member and which handle. */
typedef struct slot {
  member *m;
  int which; /* 0-2: the pipe end of that stream; EXIT_SLOT: the exit */
} slot;

struct member {
  subproc_group *g;
  subproc *p;
  subproc_watch w;
  slot slots[4];
  int registered[4];
  int blind;          /* no exit handle: the group looks for the exit */
  double timeout_at;  /* -1: none */
  double drain_until; /* after a timeout kill: stop reading then */
  int timed_out;
  size_t heap_at;
  int finished;
  int removed; /* subproc_group_remove: no callback */
  int rc;
  subproc_error err;
  subproc_result *res;
  member *prev, *next; /* every member */
  member *done_next;   /* finished in this run_once */
  member *kick_next;   /* to be looked at without an event */
  int kicked;
};

struct subproc_group {
  subproc__poller *poller;
  member *members;
  size_t count;
  member **heap;
  size_t n_heap, cap_heap;
  member *kicks;
  member *done;
  size_t n_blind;
  int kill_trees; /* kill each child's tree as it exits */
};

/* ------------------------------------------------------------------ */
/* The timer heap                                                      */
/* ------------------------------------------------------------------ */

/* The next time something is due for m: its timeout, the end of its
 * drain, or its wait_delay; -1 if nothing. */
static double due(const member *m) {
  double t = m->timed_out ? m->drain_until : m->timeout_at;
  double d = m->p->cs.delay_deadline;
  return t < 0 ? d : d < 0 || t < d ? t : d;
}

static void heap_set(subproc_group *g, size_t i, member *m) {
  g->heap[i] = m;
  m->heap_at = i;
}

static void heap_up(subproc_group *g, size_t i) {
  member *m = g->heap[i];
  while (i > 0 && due(g->heap[(i - 1) / 2]) > due(m)) {
    heap_set(g, i, g->heap[(i - 1) / 2]);
    i = (i - 1) / 2;
  }
  heap_set(g, i, m);
}

static void heap_down(subproc_group *g, size_t i) {
  member *m = g->heap[i];
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= g->n_heap)
      break;
    if (c + 1 < g->n_heap && due(g->heap[c + 1]) < due(g->heap[c]))
      c++;
    if (due(g->heap[c]) >= due(m))
      break;
    heap_set(g, i, g->heap[c]);
    i = c;
  }
  heap_set(g, i, m);
}

static void heap_remove(subproc_group *g, member *m) {
  size_t i = m->heap_at;
  if (i == NOT_IN_HEAP)
    return;
  m->heap_at = NOT_IN_HEAP;
  member *last = g->heap[--g->n_heap];
  if (i == g->n_heap)
    return;
  heap_set(g, i, last);
  heap_down(g, i);
  heap_up(g, last->heap_at);
}

/* Puts m where its due time says (in, out or moved). */
static int heap_update(subproc_group *g, member *m) {
  if (due(m) < 0 || m->finished) {
    heap_remove(g, m);
    return 0;
  }
  if (m->heap_at == NOT_IN_HEAP) {
    if (g->n_heap == g->cap_heap) {
      size_t cap = g->cap_heap ? 2 * g->cap_heap : 16;
      member **h = realloc(g->heap, cap * sizeof *h);
      if (!h)
        return -ENOMEM;
      g->heap = h;
      g->cap_heap = cap;
    }
    heap_set(g, g->n_heap++, m);
  }
  heap_down(g, m->heap_at);
  heap_up(g, m->heap_at);
  return 0;
}

/* ------------------------------------------------------------------ */
/* Registrations                                                       */
/* ------------------------------------------------------------------ */

static void unregister(member *m, int which) {
  if (!m->registered[which])
    return;
  m->registered[which] = 0;
  if (which == EXIT_SLOT)
    subproc__os_poller_del(m->g->poller, -1, &m->p->os);
  else
    subproc__os_poller_del(m->g->poller, m->p->streams[which].fd, NULL);
}

/* communicate tells us before it closes a pipe end: out of the poller
 * first, so no event can name a closed (or reused) fd. */
static void on_closing(void *arg, subproc *p, int stream, int fd) {
  (void)p, (void)fd;
  unregister(arg, stream);
}

/* After subproc__group_kill_trees: what the child left behind in its
 * process group dies with it, while its exited leader still holds the id. */
static void before_reap(void *arg, subproc *p) {
  member *m = arg;
  if (m->g->kill_trees)
    subproc__kill_all(p);
}

static int register_pipes(member *m) {
  for (int i = 0; i < 3; i++) {
    int fd = m->p->streams[i].fd;
    if (fd < 0)
      continue;
    int rc = subproc__os_poller_add(
        m->g->poller, fd, NULL, i == 0 ? SUBPROC__POLL_OUT : SUBPROC__POLL_IN,
        &m->slots[i]);
    if (rc < 0)
      return rc;
    m->registered[i] = 1;
  }
  return 0;
}

/* The exit wakes us once (the pipes may stay open after it, held by
 * grandchildren); a child without a pidfd is looked at now and then. */
static int register_exit(member *m) {
  int rc = subproc__os_poller_add(m->g->poller, -1, &m->p->os,
                                  SUBPROC__POLL_IN | SUBPROC__POLL_ONCE |
                                      SUBPROC__POLL_EXIT,
                                  &m->slots[EXIT_SLOT]);
  if (rc == -ENOSYS) {
    m->blind = 1;
    m->g->n_blind++;
    return 0;
  }
  m->registered[EXIT_SLOT] = rc == 0;
  return rc;
}

/* ------------------------------------------------------------------ */
/* Handling a member                                                   */
/* ------------------------------------------------------------------ */

static void kick(member *m) {
  if (m->kicked || m->finished)
    return;
  m->kicked = 1;
  m->kick_next = m->g->kicks;
  m->g->kicks = m;
}

static void finish(member *m, int rc) {
  if (m->finished)
    return;
  m->finished = 1;
  m->rc = rc;
  m->done_next = m->g->done;
  m->g->done = m;
}

static int timeout_error(member *m) {
  const char *cmd = m->p->args[0];
  subproc__fail(&m->err, SUBPROC_ETIMEDOUT, 0, "communicate", NULL, -1,
                "Command '%s' timed out after %g seconds", cmd, m->w.timeout);
  m->err.timeout = m->w.timeout;
  return SUBPROC_ETIMEDOUT;
}

static void fail(member *m, int rc) {
  subproc__closing c = {on_closing, before_reap, m};
  subproc__communicate_abandon(m->p, &c, &m->res);
  finish(m, rc);
}

/* One non-blocking round for m; done: take its result. */
static void handle(member *m) {
  if (m->finished)
    return;
  subproc__closing c = {on_closing, before_reap, m};
  int done = 0;
  int rc = subproc__communicate_round(m->p, &c, &done, &m->err);
  if (rc < 0) {
    fail(m, rc);
    return;
  }
  if (!done) {
    heap_update(m->g, m);
    return;
  }
  rc = subproc__communicate_end(m->p, &m->res, &m->err);
  if (m->timed_out && m->res)
    m->res->timed_out = 1;
  finish(m, m->timed_out && rc == 0 ? timeout_error(m) : rc);
}

/* A timer of m fell due: its timeout (kill it, then drain a while) or the
 * end of the drain (stop reading, reap). */
static void on_timer(member *m, double now) {
  if (!m->timed_out && m->timeout_at >= 0 && now >= m->timeout_at) {
    m->timed_out = 1;
    m->drain_until = now + KILL_DRAIN_S;
    int rc = subproc__kill_all(m->p);
    if (rc < 0) { /* reported at once, as run() does */
      subproc__fail(&m->err, rc, -rc, "kill", NULL, -1,
                    "kill '%s' after its timeout: %s", m->p->args[0],
                    subproc_strerror(rc));
      finish(m, rc);
      return;
    }
  } else if (m->timed_out && now >= m->drain_until) {
    subproc__closing c = {on_closing, before_reap, m};
    subproc__communicate_abandon(m->p, &c, &m->res);
    if (m->res)
      m->res->timed_out = 1;
    finish(m, timeout_error(m));
    return;
  }
  handle(m);
}

static void run_timers(subproc_group *g) {
  double now = subproc__now();
  while (g->n_heap && due(g->heap[0]) <= now) {
    member *m = g->heap[0];
    heap_remove(g, m);
    on_timer(m, now);
    if (!m->finished && m->heap_at == NOT_IN_HEAP)
      heap_update(g, m);
  }
}

/* ------------------------------------------------------------------ */
/* Members in and out                                                  */
/* ------------------------------------------------------------------ */

static void unlink_member(member *m) {
  subproc_group *g = m->g;
  for (int i = 0; i <= EXIT_SLOT; i++)
    unregister(m, i);
  heap_remove(g, m);
  if (m->prev)
    m->prev->next = m->next;
  else
    g->members = m->next;
  if (m->next)
    m->next->prev = m->prev;
  g->count--;
  g->n_blind -= (size_t)m->blind;
  m->p->group_member = NULL;
}

static member *new_member(subproc_group *g, subproc *p,
                          const subproc_watch *w) {
  member *m = calloc(1, sizeof *m);
  if (!m)
    return NULL;
  m->g = g;
  m->p = p;
  if (w)
    m->w = *w;
  m->heap_at = NOT_IN_HEAP;
  /* The one timeout rule: 0 = none, negative = already due. */
  m->timeout_at = m->w.timeout == 0  ? -1.0
                  : m->w.timeout < 0 ? subproc__now()
                                     : subproc__now() + m->w.timeout;
  m->drain_until = -1.0;
  for (int i = 0; i <= EXIT_SLOT; i++)
    m->slots[i] = (slot){m, i};
  return m;
}

static void link_member(subproc_group *g, member *m) {
  m->next = g->members;
  if (g->members)
    g->members->prev = m;
  g->members = m;
  g->count++;
  m->p->group_member = m;
}

int subproc_group_add(subproc_group *g, subproc *p, const subproc_watch *w,
                      subproc_error *err) {
  if (!g || !p)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "group", NULL, -1,
                         "group_add: NULL group or process");
  if (p->group_member || p->cs.started)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "group", NULL, -1,
                         "group_add: '%s' is already in a group or being "
                         "communicated with",
                         p->args[0]);
  int rc0 = w ? SUBPROC__RESERVED_ZERO(w, "subproc_watch", err) : 0;
  if (rc0 < 0)
    return rc0;
  if (w && subproc__isnan(w->timeout))
    return subproc__fail(err, SUBPROC_EINVAL, 0, "timeout", NULL, -1,
                         "group_add: timeout is not a number");
  member *m = new_member(g, p, w);
  if (!m)
    return subproc__fail_os(err, ENOMEM, "group", NULL, -1);
  int rc = subproc__communicate_begin(p, m->w.input, m->w.input_len, err);
  if (rc < 0) {
    free(m);
    return rc;
  }
  link_member(g, m);
  if ((rc = register_pipes(m)) < 0 || (rc = register_exit(m)) < 0 ||
      (rc = heap_update(g, m)) < 0) {
    unlink_member(m);
    free(m);
    return subproc__fail_os_named(err, -rc, "group", p->args[0], -1);
  }
  kick(m); /* a first round without waiting for an event */
  return 0;
}

int subproc_group_remove(subproc_group *g, subproc *p) {
  member *m = p ? p->group_member : NULL;
  if (!g || !m || m->g != g || m->finished)
    return SUBPROC_EINVAL;
  unlink_member(m);
  m->removed = 1;
  finish(m, 0); /* freed after this batch: an event may still name it */
  return 0;
}

/* ------------------------------------------------------------------ */
/* The loop                                                            */
/* ------------------------------------------------------------------ */

int subproc_group_new(subproc_group **out, subproc_error *err) {
  if (!out)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "group", NULL, -1,
                         "group_new: out is NULL");
  *out = NULL;
  subproc_group *g = calloc(1, sizeof *g);
  if (!g)
    return subproc__fail_os(err, ENOMEM, "group", NULL, -1);
  int rc = subproc__os_poller_new(&g->poller);
  if (rc < 0) {
    free(g);
    return subproc__fail_os(err, -rc, "group", NULL, -1);
  }
  *out = g;
  return 0;
}

static void free_done(subproc_group *g) {
  while (g->done) {
    member *m = g->done;
    g->done = m->done_next;
    free(m);
  }
}

void subproc_group_free(subproc_group *g) {
  if (!g)
    return;
  while (g->members) {
    member *m = g->members;
    unlink_member(m);
    subproc_result_free(m->res);
    free(m);
  }
  free_done(g);
  subproc__os_poller_free(g->poller);
  free(g->heap);
  free(g);
}

/* The finished members leave the group and hear of it, after the batch
 * of events (one may still name them). Their count. */
static int report_done(subproc_group *g) {
  int n = 0;
  member *done = g->done;
  g->done = NULL;
  while (done) {
    member *m = done;
    done = m->done_next;
    if (!m->removed) {
      unlink_member(m);
      n++;
      if (m->w.on_exit)
        m->w.on_exit(m->w.arg, m->p, m->rc, m->res, m->rc < 0 ? &m->err : NULL);
      else
        subproc_result_free(m->res);
    }
    free(m);
  }
  return n;
}

static void run_kicks(subproc_group *g) {
  while (g->kicks) {
    member *m = g->kicks;
    g->kicks = m->kick_next;
    m->kicked = 0;
    handle(m);
  }
}

/* Children with no exit handle and no pipe left are asked directly. */
static void look_at_blind(subproc_group *g) {
  for (member *m = g->members; g->n_blind && m; m = m->next)
    if (m->blind && !m->finished)
      kick(m);
}

/* Seconds until the group needs run_once again: -1 none, 0 now. */
static double next_due(const subproc_group *g) {
  if (!g || !g->count)
    return -1.0;
  if (g->kicks)
    return 0.0;
  double t = g->n_heap ? due(g->heap[0]) - subproc__now() : -1.0;
  if (g->n_blind && (t < 0 || t > BLIND_TICK_S))
    t = BLIND_TICK_S;
  return t < 0 && g->n_heap ? 0.0 : t;
}

int subproc_group_timeout_ms(const subproc_group *g) {
  double t = next_due(g);
  if (t < 0)
    return -1;
  double ms = t * 1000.0;
  if (ms >= (double)INT_MAX)
    return INT_MAX;
  int whole = (int)ms;
  return whole < ms ? whole + 1 : whole; /* rounded up: never wakes early */
}

/* The earlier of the caller's deadline and the group's next timer. */
static double wait_deadline(const subproc_group *g, double deadline) {
  double t = next_due(g);
  if (t < 0)
    return deadline;
  double mine = subproc__now() + t;
  return deadline < 0 || mine < deadline ? mine : deadline;
}

static void dispatch(subproc__poll_event *ev, int n) {
  for (int i = 0; i < n; i++) {
    slot *s = ev[i].data;
    if (!s->m->finished)
      kick(s->m);
  }
}

int subproc_group_run_once(subproc_group *g, double timeout,
                           subproc_error *err) {
  if (!g || subproc__isnan(timeout))
    return subproc__fail(err, SUBPROC_EINVAL, 0, "group", NULL, -1,
                         "group_run_once: NULL group or NaN timeout");
  enum { MAX_EVENTS = 64 };
  subproc__poll_event ev[MAX_EVENTS];
  if (!g->count) { /* consume a wake-up, so a host loop does not spin */
    int n = subproc__os_poller_wait(g->poller, ev, MAX_EVENTS, 0.0);
    return n < 0 ? subproc__fail_os(err, -n, "poll", NULL, -1) : 0;
  }
  int n = subproc__os_poller_wait(g->poller, ev, MAX_EVENTS,
                                  wait_deadline(g, subproc__deadline(timeout)));
  if (n < 0)
    return subproc__fail_os(err, -n, "poll", NULL, -1);
  dispatch(ev, n);
  if (g->n_blind)
    look_at_blind(g);
  run_kicks(g);
  run_timers(g);
  run_kicks(g);
  return report_done(g);
}

int subproc_group_run(subproc_group *g, double timeout, subproc_error *err) {
  if (!g || subproc__isnan(timeout))
    return subproc__fail(err, SUBPROC_EINVAL, 0, "group", NULL, -1,
                         "group_run: NULL group or NaN timeout");
  double deadline = subproc__deadline(timeout);
  while (g->count) {
    double left = SUBPROC_FOREVER;
    if (deadline >= 0) {
      left = deadline - subproc__now();
      if (left <= 0)
        left = SUBPROC_POLL; /* look once more before reporting */
    }
    int rc = subproc_group_run_once(g, left, err);
    if (rc < 0)
      return rc;
    if (g->count && deadline >= 0 && subproc__now() >= deadline)
      return subproc__fail(err, SUBPROC_ETIMEDOUT, 0, "group", NULL, -1,
                           "group_run: timed out after %g seconds", timeout);
  }
  return 0;
}

size_t subproc_group_count(const subproc_group *g) { return g ? g->count : 0; }

int subproc_group_fd(const subproc_group *g) {
  return g ? subproc__os_poller_fd(g->poller) : -1;
}

void *subproc_group_handle(const subproc_group *g) {
  return g ? subproc__os_poller_handle(g->poller) : NULL;
}

void subproc_group_wake(subproc_group *g) {
  if (g)
    subproc__os_poller_wake(g->poller);
}

void subproc__group_kill_trees(subproc_group *g) { g->kill_trees = 1; }
