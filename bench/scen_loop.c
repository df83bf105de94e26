/* Scenario (9): N children that each write their index and 64 KiB and
 * exit, all started, then collected from one thread's loop; N = 10 to
 * 10,000. subproc_group against libuv, GLib and a loop written here with
 * nothing but system calls (clone, pipe2, pidfd_open, epoll). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "subproc.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif

extern char **environ;

#define LOOP_SIZES 4
/* The prototype keeps its long-lived fds at this number and above. */
#define LOOP_FLOOR 1024
/* Each sample spawns at least this many children (small N repeat). */
#define LOOP_MIN_KIDS 1000
/* GLib polls every fd at every iteration: quadratic, left out above (and
 * so is (e), which is (c) again, quadratic in the same way). */
#define GLIB_MAX_N 1000

/* ------------------------------------------------------------------ */
/* Checking what each child sent                                       */
/* ------------------------------------------------------------------ */

void kid_check_feed(kid_check *c, const char *data, size_t len) {
  size_t i = 0;
  while (!c->header_done && i < len) {
    char ch = data[i++];
    if (ch == '\n')
      c->header_done = 1;
    else if (ch >= '0' && ch <= '9' && c->digits < 12)
      c->index = c->index * 10 + (ch - '0'), c->digits++;
    else
      c->bad = 1;
  }
  c->body += len - i;
}

int kid_check_ok(const kid_check *c) {
  return !c->bad && c->header_done && c->digits && c->index == c->want &&
         c->body == LOOP_BYTES && c->exited_ok;
}

void loop_spawned(loop_run *lr) {
  lr->spawn_done = bench_now();
  lr->spawn_cpu = bench_process_cpu();
}

/* ------------------------------------------------------------------ */
/* (c) the loop written with system calls                              */
/* ------------------------------------------------------------------ */

/* Where the raw loop reads to (raw_room). */
typedef enum raw_buffer { BUF_STATIC, BUF_FRESH, BUF_KEPT } raw_buffer;

typedef struct raw_kid {
  int fd, pidfd;
  raw_buffer mode;
  char *buf; /* BUF_FRESH, BUF_KEPT: this child's own */
  size_t len, cap;
} raw_kid;

typedef struct kid_arg {
  char *const *argv;
  int w;             /* the pipe's write end, for stdout */
  int unshare_below; /* > 0: CLONE_FILES, take a copy of fds below this */
} kid_arg;

static int kid_entry(void *arg) {
  const kid_arg *a = arg;
  if (a->unshare_below > 0 &&
      syscall(SYS_close_range, (unsigned)a->unshare_below, ~0U,
              CLOSE_RANGE_UNSHARE) < 0)
    _exit(126);
  if (dup2(a->w, 1) < 0)
    _exit(126);
  execve(a->argv[0], a->argv, environ);
  _exit(127);
}

/* A long-lived fd moves to LOOP_FLOOR or above: the low fds stay free for
 * the next child's pipe, so its unshare copies a handful of entries. */
static int lift(int fd) {
  if (fd < 0)
    return fd;
  int hi = fcntl(fd, F_DUPFD_CLOEXEC, LOOP_FLOOR);
  close(fd);
  return hi;
}

static int epoll_add(int ep, int fd, uint64_t tag) {
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag};
  return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* low: the prototype (CLONE_FILES + CLOSE_RANGE_UNSHARE, fds lifted). */
static int raw_kid_start(raw_kid *k, uint64_t i, int ep, char *const *argv,
                         int low) {
  int p[2];
  k->fd = k->pidfd = -1;
  if (pipe2(p, O_CLOEXEC) < 0)
    return -1;
  char stack[16384] __attribute__((aligned(16)));
  kid_arg a = {argv, p[1], low ? p[1] + 1 : 0};
  int flags = CLONE_VM | CLONE_VFORK | SIGCHLD | (low ? CLONE_FILES : 0);
  pid_t pid = clone(kid_entry, stack + sizeof stack, flags, &a);
  close(p[1]);
  if (pid < 0) {
    close(p[0]);
    return -1;
  }
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  k->fd = low ? lift(p[0]) : p[0];
  k->pidfd = low ? lift(pidfd) : pidfd;
  if (k->fd < 0 || k->pidfd < 0 || epoll_add(ep, k->fd, i << 1) < 0 ||
      epoll_add(ep, k->pidfd, i << 1 | 1) < 0) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    if (k->fd >= 0)
      close(k->fd);
    if (k->pidfd >= 0)
      close(k->pidfd);
    return -1;
  }
  return 0;
}

static char loop_buf[LOOP_BYTES];

/* Where a raw child's output is read to. BUF_STATIC: one buffer for all
 * (the floor). As a library must do it: BUF_FRESH, a 128 KiB buffer per
 * child (malloc'ed at its first read, freed when it is done; (c) with
 * --loop-raw-buffer fresh), or BUF_KEPT, the output kept in a buffer grown
 * by doubling from 64 bytes, as subproc's capture does ((e)). */
static char *raw_room(raw_kid *k, size_t *room) {
  if (k->mode == BUF_STATIC) {
    *room = sizeof loop_buf;
    return loop_buf;
  }
  if (k->mode == BUF_FRESH) {
    *room = 128 * 1024;
    return k->buf ? k->buf : (k->buf = malloc(*room));
  }
  if (k->cap - k->len < LOOP_BYTES) {
    size_t cap = k->cap ? k->cap : 64;
    while (cap - k->len < LOOP_BYTES)
      cap *= 2;
    char *grown = realloc(k->buf, cap);
    if (!grown)
      return NULL;
    k->buf = grown, k->cap = cap;
  }
  *room = k->cap - k->len;
  return k->buf + k->len;
}

static raw_buffer flag_buffer(void) {
  const char *b = bench.loop_raw_buffer;
  return !b                        ? BUF_STATIC
         : strcmp(b, "fresh") == 0 ? BUF_FRESH
         : strcmp(b, "kept") == 0  ? BUF_KEPT
                                   : BUF_STATIC;
}

/* Out of the epoll set, then closed. The close alone would not do: a
 * child spawned a moment ago may still hold a copy of the fd (the kernel
 * wakes a vfork parent at exec_mmap, before do_close_on_exec), and epoll
 * drops a registration only when the last copy of its file is closed. */
static void unwatch(int ep, int *fd) {
  epoll_ctl(ep, EPOLL_CTL_DEL, *fd, NULL);
  close(*fd);
  *fd = -1;
}

/* One event for k: 1 when the child is done (EOF read and reaped). */
static int raw_event(int ep, raw_kid *k, kid_check *c, int is_exit) {
  if (!is_exit && k->fd >= 0) {
    size_t room = 0;
    char *dst = raw_room(k, &room);
    ssize_t r = dst ? read(k->fd, dst, room) : -1;
    if (r > 0) {
      kid_check_feed(c, dst, (size_t)r);
      k->len += k->cap ? (size_t)r : 0;
      return 0;
    }
    if (r < 0 && errno == EINTR)
      return 0;
    c->bad |= r < 0;
    unwatch(ep, &k->fd);
  } else if (is_exit && k->pidfd >= 0) {
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (syscall(SYS_waitid, P_PIDFD, k->pidfd, &si, WEXITED, NULL) == 0)
      c->exited_ok = si.si_code == CLD_EXITED && si.si_status == 0;
    unwatch(ep, &k->pidfd);
  } else {
    return 0;
  }
  if (k->fd >= 0 || k->pidfd >= 0)
    return 0;
  free(k->buf);
  k->buf = NULL;
  return 1;
}

static int raw_collect(loop_run *lr, raw_kid *k, int ep, int left) {
  struct epoll_event ev[256];
  while (left > 0) {
    int m = epoll_wait(ep, ev, 256, -1);
    if (m < 0 && errno == EINTR)
      continue;
    if (m < 0)
      return -1;
    lr->events += m;
    for (int j = 0; j < m; j++) {
      uint64_t i = ev[j].data.u64 >> 1;
      left -= raw_event(ep, &k[i], &lr->chk[i], (int)(ev[j].data.u64 & 1));
    }
  }
  return 0;
}

static int raw_loop(loop_run *lr, int low, raw_buffer mode) {
  raw_kid *k = calloc((size_t)lr->n, sizeof *k);
  for (int i = 0; k && i < lr->n; i++)
    k[i].mode = mode;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (low)
    ep = lift(ep);
  int started = 0, rc = k && ep >= 0 ? 0 : -1;
  while (rc == 0 && started < lr->n) {
    if (raw_kid_start(&k[started], (uint64_t)started, ep, lr->argvs[started],
                      low) < 0)
      rc = -1;
    else
      started++;
  }
  loop_spawned(lr);
  if (raw_collect(lr, k, ep, started) < 0)
    rc = -1;
  if (ep >= 0)
    close(ep);
  free(k);
  return rc;
}

static int loop_raw(loop_run *lr) { return raw_loop(lr, 0, flag_buffer()); }
static int loop_raw_low(loop_run *lr) { return raw_loop(lr, 1, flag_buffer()); }
static int loop_raw_kept(loop_run *lr) { return raw_loop(lr, 0, BUF_KEPT); }

/* ------------------------------------------------------------------ */
/* (a) subproc_group                                                   */
/* ------------------------------------------------------------------ */

static void sp_on_exit(void *arg, subproc *p, int rc, subproc_result *r,
                       const subproc_error *err) {
  (void)err;
  kid_check *c = arg;
  c->exited_ok = rc == 0 && r && r->returncode == 0;
  if (r && r->out)
    kid_check_feed(c, r->out, r->out_len);
  subproc_result_free(r);
  subproc_free(p);
}

static int sp_on_output(void *arg, int stream, const char *data, size_t len) {
  (void)stream;
  kid_check_feed(arg, data, len);
  return 0;
}

static int sp_add(subproc_group *g, loop_run *lr, int i, int streamed) {
  subproc_options o = {.out = SUBPROC_REDIRECT_PIPE};
  if (streamed) {
    o.on_output = sp_on_output;
    o.on_output_arg = &lr->chk[i];
  }
  subproc *p = NULL;
  if (subproc_popen((const char *const *)lr->argvs[i], &o, &p, NULL) < 0)
    return -1;
  subproc_watch w = {.on_exit = sp_on_exit, .arg = &lr->chk[i]};
  if (subproc_group_add(g, p, &w, NULL) == 0)
    return 0;
  subproc_kill(p);
  subproc_wait(p, SUBPROC_FOREVER, NULL, NULL);
  subproc_free(p);
  return -1;
}

static int group_loop(loop_run *lr, int streamed) {
  subproc_group *g = NULL;
  if (subproc_group_new(&g, NULL) < 0)
    return -1;
  int rc = 0;
  for (int i = 0; i < lr->n && rc == 0; i++)
    rc = sp_add(g, lr, i, streamed);
  loop_spawned(lr);
  if (subproc_group_run(g, SUBPROC_FOREVER, NULL) < 0)
    rc = -1;
  subproc_group_free(g);
  return rc;
}

static int loop_group_kept(loop_run *lr) { return group_loop(lr, 0); }
static int loop_group_streamed(loop_run *lr) { return group_loop(lr, 1); }

/* ------------------------------------------------------------------ */
/* Measuring                                                           */
/* ------------------------------------------------------------------ */

typedef struct loop_method {
  const char *name;
  int (*fn)(loop_run *lr);
  int max_n; /* 0: every N */
  int failed[LOOP_SIZES];
  int ns[LOOP_SIZES];
  /* Per child, seconds: wall, spawn phase, parent CPU, CPU after spawn. */
  double wall[LOOP_SIZES][BENCH_MAX_REPS], spawn[LOOP_SIZES][BENCH_MAX_REPS];
  double cpu[LOOP_SIZES][BENCH_MAX_REPS], cpu_col[LOOP_SIZES][BENCH_MAX_REPS];
  double events[LOOP_SIZES]; /* per child, the last sample */
} loop_method;

typedef struct loop_kids {
  int max;
  char ***argvs;
  char (*index)[16];
  char bytes[16];
  kid_check *chk;
} loop_kids;

static int kids_init(loop_kids *k, int max) {
  k->max = max;
  k->argvs = calloc((size_t)max, sizeof *k->argvs);
  k->index = calloc((size_t)max, sizeof *k->index);
  k->chk = calloc((size_t)max, sizeof *k->chk);
  char **slots = calloc((size_t)max * 5, sizeof *slots);
  if (!k->argvs || !k->index || !k->chk || !slots)
    return -1;
  snprintf(k->bytes, sizeof k->bytes, "%d", LOOP_BYTES);
  for (int i = 0; i < max; i++) {
    snprintf(k->index[i], sizeof k->index[i], "%d", i);
    char **a = k->argvs[i] = slots + 5 * i;
    a[0] = (char *)bench_tiny, a[1] = "-i", a[2] = k->index[i];
    a[3] = k->bytes, a[4] = NULL;
  }
  return 0;
}

static void kids_free(loop_kids *k) {
  if (k->argvs)
    free(k->argvs[0]);
  free(k->argvs);
  free(k->index);
  free(k->chk);
}

/* The first child that failed its check, to stderr. */
static int all_ok(const loop_method *m, const kid_check *chk, int n) {
  for (int i = 0; i < n; i++)
    if (!kid_check_ok(&chk[i])) {
      fprintf(stderr,
              "(9) %s: child %d of %d: index %ld (%d digits), %zu bytes, "
              "exit %s%s\n",
              m->name, i, n, chk[i].index, chk[i].digits, chk[i].body,
              chk[i].exited_ok ? "ok" : "not ok", chk[i].bad ? ", bad" : "");
      return 0;
    }
  return 1;
}

/* One sample of m at size z: repeat collections of n children. */
static void loop_sample(loop_method *m, int z, int n, loop_kids *kids) {
  int repeat = n >= LOOP_MIN_KIDS ? 1 : LOOP_MIN_KIDS / n;
  double wall = 0, spawn = 0, cpu = 0, cpu_col = 0;
  long events = 0;
  for (int k = 0; k < repeat; k++) {
    for (int i = 0; i < n; i++)
      kids->chk[i] = (kid_check){.want = i};
    loop_run lr = {n, (char *const *const *)kids->argvs, kids->chk, 0, 0, 0};
    double c0 = bench_process_cpu(), t0 = bench_now();
    int rc = m->fn(&lr);
    double t1 = bench_now(), c1 = bench_process_cpu();
    if (rc < 0 || !all_ok(m, kids->chk, n)) {
      m->failed[z] = 1;
      return;
    }
    wall += t1 - t0, spawn += lr.spawn_done - t0;
    cpu += c1 - c0, cpu_col += c1 - lr.spawn_cpu;
    events += lr.events;
  }
  double per = (double)n * repeat;
  int s = m->ns[z]++;
  m->wall[z][s] = wall / per, m->spawn[z][s] = spawn / per;
  m->cpu[z][s] = cpu / per, m->cpu_col[z][s] = cpu_col / per;
  m->events[z] = (double)events / per;
}

static double med(const double *a, int n) {
  double v[BENCH_MAX_REPS];
  memcpy(v, a, (size_t)n * sizeof *v);
  return bench_median(v, n);
}

static double lo_hi(const double *a, int n, int hi) {
  double x = a[0];
  for (int i = 1; i < n; i++)
    x = hi ? (a[i] > x ? a[i] : x) : (a[i] < x ? a[i] : x);
  return x;
}

static int has(const loop_method *m, int z) {
  return !m->failed[z] && m->ns[z] > 0;
}

/* ------------------------------------------------------------------ */
/* Limits: fds, processes                                              */
/* ------------------------------------------------------------------ */

static long tasks_now(void) {
  FILE *f = fopen("/proc/loadavg", "r");
  double a, b, c;
  long running = 0, total = 0;
  if (f && fscanf(f, "%lf %lf %lf %ld/%ld", &a, &b, &c, &running, &total) != 5)
    total = 0;
  if (f)
    fclose(f);
  return total;
}

static long read_long(const char *path, long fallback) {
  FILE *f = fopen(path, "r");
  long v = fallback;
  if (f && fscanf(f, "%ld", &v) != 1)
    v = fallback;
  if (f)
    fclose(f);
  return v;
}

/* Raises RLIMIT_NOFILE (hard limit too: we may be root) and RLIMIT_NPROC
 * for n children; returns the n that fits, with a note if smaller. */
static int loop_limits(int n, struct rlimit *saved) {
  getrlimit(RLIMIT_NOFILE, saved);
  rlim_t need = (rlim_t)n * 2 + LOOP_FLOOR + 512;
  if (saved->rlim_cur < need) {
    struct rlimit rl = {need, need > saved->rlim_max ? need : saved->rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
      rl.rlim_cur = saved->rlim_max;
      setrlimit(RLIMIT_NOFILE,
                &(struct rlimit){saved->rlim_max, saved->rlim_max});
    }
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < need) {
      int fit = (int)((rl.rlim_cur - LOOP_FLOOR - 512) / 2);
      fit = fit > 1000 ? fit / 1000 * 1000 : fit;
      bench_note("(9): RLIMIT_NOFILE is %ld and its hard limit cannot be "
                 "raised (no CAP_SYS_RESOURCE): N = %d instead of %d (each "
                 "child holds 2 fds in the parent: its pipe and its pidfd)",
                 (long)rl.rlim_cur, fit, n);
      n = fit;
    }
  }
  struct rlimit np = {RLIM_INFINITY, RLIM_INFINITY};
  if (setrlimit(RLIMIT_NPROC, &np) < 0 && getrlimit(RLIMIT_NPROC, &np) == 0 &&
      np.rlim_cur != RLIM_INFINITY && geteuid() != 0 &&
      (rlim_t)n + 256 > np.rlim_cur) {
    bench_note("(9): RLIMIT_NPROC is %ld: N = %ld", (long)np.rlim_cur,
               (long)np.rlim_cur - 256);
    n = (int)np.rlim_cur - 256;
  }
  long room = read_long("/proc/sys/kernel/pid_max", 32768) - tasks_now() - 1024;
  if (room < n) {
    bench_note("(9): pid_max leaves room for %ld more processes: N = %ld", room,
               room);
    n = (int)room;
  }
  return n;
}

/* ------------------------------------------------------------------ */
/* Tables and targets                                                  */
/* ------------------------------------------------------------------ */

static void size_table(loop_method *m, int nm, const loop_method *ref, int z,
                       int n) {
  printf("\n### (9) N = %d\n\n", n);
  printf("| %-40s | %9s | %8s | %8s | %8s | %8s | %8s | %8s | %8s | %6s |\n",
         "method", "total, ms", "us/child", "min", "max", "spawn", "collect",
         "CPU", "CPU col.", "vs (c)");
  printf("|------------------------------------------|----------:|---------:|"
         "---------:|---------:|---------:|---------:|---------:|---------:|"
         "-------:|\n");
  double base = ref && has(ref, z) ? med(ref->wall[z], ref->ns[z]) : 0;
  for (int i = 0; i < nm; i++) {
    loop_method *x = &m[i];
    if (!has(x, z)) {
      printf(
          "| %-40s | %9s | %8s | %8s | %8s | %8s | %8s | %8s | %8s | %6s |\n",
          x->name, x->max_n && n > x->max_n ? "left out" : "failed", "", "", "",
          "", "", "", "", "");
      continue;
    }
    int k = x->ns[z];
    double w = med(x->wall[z], k), sp = med(x->spawn[z], k);
    char ratio[16] = "";
    if (base > 0)
      snprintf(ratio, sizeof ratio, "%.2fx", w / base);
    printf("| %-40s | %9.1f | %8.1f | %8.1f | %8.1f | %8.1f | %8.1f | %8.1f | "
           "%8.1f | %6s |\n",
           x->name, w * n * 1e3, w * 1e6, lo_hi(x->wall[z], k, 0) * 1e6,
           lo_hi(x->wall[z], k, 1) * 1e6, sp * 1e6, (w - sp) * 1e6,
           med(x->cpu[z], k) * 1e6, med(x->cpu_col[z], k) * 1e6, ratio);
  }
  fflush(stdout);
}

static void linear_table(loop_method *m, int nm, const int *sizes, int nz) {
  printf("\n### (9) per child, from %d to %d children\n\n", sizes[0],
         sizes[nz - 1]);
  printf("| %-40s |", "method");
  for (int z = 0; z < nz; z++)
    printf(" us @%-6d |", sizes[z]);
  printf(" %-11s | %-11s | %-11s |\n", "big/100", "CPU col@100", "CPU col big");
  printf("|------------------------------------------|");
  for (int z = 0; z < nz; z++)
    printf("-----------:|");
  printf("------------:|------------:|------------:|\n");
  int s100 = nz > 1 ? 1 : 0, big = nz - 1;
  for (int i = 0; i < nm; i++) {
    loop_method *x = &m[i];
    int zb = big;
    while (zb > s100 && !has(x, zb))
      zb--;
    printf("| %-40s |", x->name);
    for (int z = 0; z < nz; z++)
      if (has(x, z))
        printf(" %10.1f |", med(x->wall[z], x->ns[z]) * 1e6);
      else
        printf(" %10s |", "-");
    if (has(x, s100) && has(x, zb))
      printf(" %10.2fx | %11.1f | %11.1f |\n",
             med(x->wall[zb], x->ns[zb]) / med(x->wall[s100], x->ns[s100]),
             med(x->cpu_col[s100], x->ns[s100]) * 1e6,
             med(x->cpu_col[zb], x->ns[zb]) * 1e6);
    else
      printf(" %11s | %11s | %11s |\n", "-", "-", "-");
  }
  printf("\nbig = the largest N measured for the row (%d; (d) and (e) stop "
         "at %d); CPU col = the parent's CPU per child after the last spawn "
         "(collecting).\n",
         sizes[nz - 1],
         sizes[nz - 1] < GLIB_MAX_N ? sizes[nz - 1] : GLIB_MAX_N);
  fflush(stdout);
}

static double ratio_at(loop_method *a, loop_method *b, int z) {
  return has(a, z) && has(b, z)
             ? med(a->wall[z], a->ns[z]) / med(b->wall[z], b->ns[z])
             : 0;
}

static double per_child(const loop_method *x, int z, int cpu) {
  return med(cpu ? x->cpu_col[z] : x->wall[z], x->ns[z]);
}

static void loop_targets(loop_method *ref, loop_method *kept, loop_method *grp,
                         loop_method *uv, const int *sizes, int nz) {
  char what[160];
  int s100 = nz > 1 ? 1 : 0, big = nz - 1;
  if (big > s100 && has(grp, s100) && has(grp, big)) {
    snprintf(what, sizeof what, "(9) group: us/child at %d / at %d", sizes[big],
             sizes[s100]);
    bench_target(what, per_child(grp, big, 0) / per_child(grp, s100, 0), 1.3, 0,
                 "x");
    snprintf(what, sizeof what, "(9) group: collect CPU/child at %d / at %d",
             sizes[big], sizes[s100]);
    bench_target(what, per_child(grp, big, 1) / per_child(grp, s100, 1), 1.3, 0,
                 "x");
  }
  for (int z = 0; uv && z < nz; z++) {
    double r = ratio_at(grp, uv, z);
    if (r > 0) {
      snprintf(what, sizeof what, "(9) N=%d: group / libuv", sizes[z]);
      bench_target(what, r, 1.0, 0, "x");
    }
  }
  for (int z = 0; ref && z < nz; z++) {
    double r = ratio_at(grp, ref, z);
    if (r > 0) {
      snprintf(what, sizeof what, "(9) N=%d: group / raw loop (c)", sizes[z]);
      bench_target(what, r, 1.2, 0, "x");
    }
  }
  for (int z = 0; kept && z < nz; z++) {
    double r = ratio_at(grp, kept, z);
    if (r > 0) {
      snprintf(what, sizeof what, "(9) N=%d: group / raw loop keeping (e)",
               sizes[z]);
      bench_target(what, r, 1.2, 0, "x");
    }
  }
}

/* ------------------------------------------------------------------ */
/* The scenario                                                        */
/* ------------------------------------------------------------------ */

static int loop_sizes(int max, int *sizes) {
  int nz = 0;
  for (int n = 10; n <= max && nz < LOOP_SIZES; n *= 10)
    sizes[nz++] = n;
  if (nz < LOOP_SIZES && (nz == 0 || sizes[nz - 1] < max))
    sizes[nz++] = max;
  return nz;
}

/* --loop-methods a,c: the methods whose tag, "(a)" in the name, is listed. */
static int tag_wanted(const char *name) {
  if (!bench.loop_methods)
    return 1;
  size_t len = strcspn(name + 1, ")");
  for (const char *p = bench.loop_methods; *p;
       p += strcspn(p, ","), p += *p == ',')
    if (strcspn(p, ",") == len && strncmp(p, name + 1, len) == 0)
      return 1;
  return 0;
}

static loop_method *by_tag(loop_method *m, int nm, const char *tag) {
  size_t len = strlen(tag);
  for (int i = 0; i < nm; i++)
    if (strncmp(m[i].name + 1, tag, len) == 0 && m[i].name[len + 1] == ')')
      return &m[i];
  return NULL;
}

static int keep_wanted(loop_method *m, int nm) {
  int k = 0;
  for (int i = 0; i < nm; i++)
    if (tag_wanted(m[i].name))
      m[k++] = m[i];
  return k;
}

static void loop_header(const int *sizes, int nz, int reps) {
  char note[768];
  snprintf(note, sizeof note,
           "Static child: writes its index and a newline, then %d bytes "
           "(more than a 64 KiB pipe holds: it blocks until read), exits. "
           "All N started, then collected from this thread; every child's "
           "index, length and exit status checked. N = %d ... %d; %d "
           "repetitions (%d above N = %d), interleaved; small N repeated to "
           "%d children per sample. Times per child; total = one collection "
           "of N.",
           LOOP_BYTES, sizes[0], sizes[nz - 1], reps, bench.loop_big_reps,
           LOOP_MIN_KIDS, LOOP_MIN_KIDS);
  bench_heading("(9) many children from one loop", note);
}

void scenario_loop(void) {
  if (strcmp(bench_tiny, bench_true) == 0) {
    bench_note("(9) skipped: needs the static child");
    return;
  }
  struct rlimit saved;
  int sizes[LOOP_SIZES];
  int nz = loop_sizes(loop_limits(bench.loop_max, &saved), sizes);
  static loop_method m[7];
  int nm = 0;
  m[nm++] =
      (loop_method){.name = "(c) raw clone+pipe2+pidfd, epoll", .fn = loop_raw};
  m[nm++] = (loop_method){.name = "(c') raw, CLONE_FILES+unshare, fds high",
                          .fn = loop_raw_low};
  m[nm++] = (loop_method){.name = "(e) raw as (c), output kept per child",
                          .fn = loop_raw_kept,
                          .max_n = LOOP_MIN_KIDS};
  m[nm++] = (loop_method){.name = "(a) subproc_group, output kept",
                          .fn = loop_group_kept};
  m[nm++] = (loop_method){.name = "(a') subproc_group, on_output",
                          .fn = loop_group_streamed};
  if (peers_have_libuv())
    m[nm++] = (loop_method){.name = "(b) libuv uv_spawn+uv_read_start",
                            .fn = peers_loop_libuv};
  if (peers_have_glib())
    m[nm++] = (loop_method){.name = "(d) GLib spawn_async+child watch",
                            .fn = peers_loop_glib,
                            .max_n = GLIB_MAX_N};
  nm = keep_wanted(m, nm);
  loop_kids kids = {0};
  if (kids_init(&kids, sizes[nz - 1]) < 0)
    bench_die("calloc");
  int reps = bench.loop_reps;
  loop_header(sizes, nz, reps);
  for (int r = 0; r < reps; r++)
    for (int z = 0; z < nz; z++)
      for (int j = 0; j < nm; j++) {
        loop_method *x = &m[(j + r) % nm];
        int big = sizes[z] > LOOP_MIN_KIDS;
        if (!x->failed[z] && (!x->max_n || sizes[z] <= x->max_n) &&
            (!big || r < bench.loop_big_reps))
          loop_sample(x, z, sizes[z], &kids);
      }
  kids_free(&kids);
  setrlimit(RLIMIT_NOFILE, &saved);
  loop_method *ref = by_tag(m, nm, "c"), *grp = by_tag(m, nm, "a");
  for (int z = 0; z < nz; z++)
    size_table(m, nm, ref, z, sizes[z]);
  linear_table(m, nm, sizes, nz);
  if (ref)
    printf("\nreadiness events per child in (c): %.2f at N = %d, %.2f at N = "
           "%d\n",
           ref->events[0], sizes[0], ref->events[nz - 1], sizes[nz - 1]);
  if (grp)
    loop_targets(ref, by_tag(m, nm, "e"), grp, by_tag(m, nm, "b"), sizes, nz);
}
