/* `subproc run --pty`: the child's terminal streams on a pseudo-terminal
 * (SUBPROC_PTY). When the tool's stdin is a terminal (and nothing asks for
 * the output or gives input), the child gets the pty on all three streams
 * and the tool relays its own terminal: the size copied (and kept in step
 * on SIGWINCH), the terminal in raw mode while relaying (put back on every
 * way out, fatal signals included), keys to the child, its output to
 * stdout. Otherwise stdout and stderr are on the pty and the tool reads
 * it: printed as it comes, or captured (--capture, --json). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
#endif

#include "tool.h"

/* How long output is still relayed after a timeout's kill, at most (a
 * grandchild may hold the terminal). */
#define DRAIN_AFTER_KILL_S 0.5

/* on_output when the pty is neither relayed nor captured: the terminal's
 * output as it comes (stream 2 only when stdout went elsewhere). */
static int print_chunk(void *arg, int stream, const char *data, size_t len) {
  FILE *to = stream == 2 ? stderr : stdout;
  (void)arg;
  if (fwrite(data, 1, len, to) != len || fflush(to) != 0)
    return errno ? -errno : -EIO;
  return 0;
}

#ifndef _WIN32
/* The size of the first of the tool's standard fds that is a terminal:
 * 1 if there is one. */
static int terminal_size(unsigned short *rows, unsigned short *cols) {
  struct winsize ws;
  int fd;
  for (fd = 0; fd < 3; fd++)
    if (isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0) {
      *rows = ws.ws_row;
      *cols = ws.ws_col;
      return 1;
    }
  return 0;
}
#endif

int cli_pty_setup(cli_config *c) {
  subproc_options *o = &c->opts;
  if (!c->pty)
    return CLI_CONTINUE;
#ifndef _WIN32
  c->pty_relay = isatty(0) && !c->capture && !c->json && !c->stdin_spec &&
                 !c->input_text && !c->input_file;
#endif
  if (!c->stdout_spec)
    o->out = SUBPROC_REDIRECT_PTY;
  if (!c->stderr_spec)
    o->err = SUBPROC_REDIRECT_PTY;
  if (c->pty_relay)
    o->in = SUBPROC_REDIRECT_PTY;
  if (o->out.kind != SUBPROC_PTY && o->err.kind != SUBPROC_PTY &&
      o->in.kind != SUBPROC_PTY)
    return cli_usage_error(c->cmd, "--pty: --stdout and --stderr "
                                   "leave nothing on the terminal");
#ifndef _WIN32
  /* The terminal's size unless --pty-size gave one; a relay follows it. */
  if (!o->pty.rows && !o->pty.cols)
    c->pty_follow = terminal_size(&o->pty.rows, &o->pty.cols) && c->pty_relay;
#endif
  if (!c->pty_relay && !c->capture && !c->json)
    o->on_output = print_chunk;
  return CLI_CONTINUE;
}

void cli_json_pty(cli_json *j, const cli_config *c) {
  cli_json_key(j, "pty");
  if (!c->pty) {
    cli_json_null(j);
    return;
  }
  cli_json_open(j, '{');
  cli_json_key(j, "rows");
  cli_json_int(j, c->opts.pty.rows);
  cli_json_key(j, "cols");
  cli_json_int(j, c->opts.pty.cols);
  cli_json_key(j, "raw");
  cli_json_bool(j, c->opts.pty.raw);
  cli_json_close(j, '}');
}

#ifdef _WIN32
/* Never called: pty_setup leaves pty_relay 0 on Windows. */
int cli_pty_relay(cli_config *c, int *returncode, int *timed_out,
                  subproc_error *e) {
  (void)c, (void)e;
  *returncode = SUBPROC_NO_RETURNCODE;
  *timed_out = 0;
  return SUBPROC_EINVAL;
}
#else

/* ---- the caller's terminal, raw while relaying ---- */

static struct termios saved_tty, raw_tty;
static volatile sig_atomic_t tty_is_raw;
static int winch_pipe[2] = {-1, -1};

/* Async-signal-safe: also called from the handlers below. */
static void restore_tty(void) {
  if (tty_is_raw) {
    tcsetattr(0, TCSADRAIN, &saved_tty);
    tty_is_raw = 0;
  }
}

static void notify_winch(void) {
  int e = errno;
  ssize_t w = write(winch_pipe[1], "", 1);
  (void)w;
  errno = e;
}

static void on_winch(int sig) {
  (void)sig;
  notify_winch();
}

/* A signal that would end the tool: the terminal back first. */
static void on_fatal(int sig) {
  restore_tty();
  signal(sig, SIG_DFL);
  raise(sig);
}

/* Stopped (kill -TSTP: the terminal's own ^Z goes to the child in raw
 * mode): the terminal back while stopped, raw again after SIGCONT. */
static void on_tstp(int sig) {
  int e = errno, was_raw = tty_is_raw;
  (void)sig;
  restore_tty();
  raise(SIGSTOP);
  if (was_raw && tcsetattr(0, TCSADRAIN, &raw_tty) == 0)
    tty_is_raw = 1;
  notify_winch(); /* the size may have changed meanwhile */
  errno = e;
}

static void handle(int sig, void (*fn)(int)) {
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = fn;
  sigemptyset(&sa.sa_mask);
  /* A signal ignored by whoever started us stays ignored. */
  if (sigaction(sig, NULL, &old) == 0 && old.sa_handler == SIG_IGN)
    return;
  sigaction(sig, &sa, NULL);
}

/* Raw mode on the caller's terminal, and everything that puts it back. */
static int enter_raw(void) {
  static const int fatal[] = {SIGALRM, SIGUSR1, SIGUSR2, SIGVTALRM, SIGPROF,
                              SIGXCPU, SIGXFSZ, SIGABRT, SIGSEGV,   SIGBUS,
                              SIGFPE,  SIGILL,  SIGTRAP, SIGSYS};
  size_t i;
  if (pipe(winch_pipe) < 0)
    return -1;
  for (i = 0; i < 2; i++) {
    fcntl(winch_pipe[i], F_SETFD, FD_CLOEXEC);
    fcntl(winch_pipe[i], F_SETFL, O_NONBLOCK);
  }
  if (tcgetattr(0, &saved_tty) < 0)
    return -1;
  raw_tty = saved_tty;
  cfmakeraw(&raw_tty);
  atexit(restore_tty);
  for (i = 0; i < sizeof fatal / sizeof *fatal; i++)
    handle(fatal[i], on_fatal);
  handle(SIGTSTP, on_tstp);
  handle(SIGWINCH, on_winch);
  signal(SIGPIPE, SIG_IGN); /* a closed stdout ends the relay instead */
  if (tcsetattr(0, TCSADRAIN, &raw_tty) < 0)
    return -1;
  tty_is_raw = 1;
  return 0;
}

/* ---- the relay ---- */

typedef struct relay {
  subproc *p;
  int from;       /* the master, the child's output */
  int stdin_open; /* the tool's stdin, until its EOF */
  char in[4096];  /* keys read, not yet written to the child */
  size_t in_len, in_off;
  int follow;      /* keep the pty's size that of the terminal */
  double deadline; /* --timeout; then the end of the drain; -1 none */
  int timed_out;
} relay;

static int write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static void copy_size(relay *r) {
  char drain[64];
  struct winsize ws;
  while (read(winch_pipe[0], drain, sizeof drain) > 0) {
  }
  if (r->follow && ioctl(0, TIOCGWINSZ, &ws) == 0)
    subproc_set_winsize(r->p, ws.ws_row, ws.ws_col, NULL);
}

/* The timeout: the child's whole group is killed, then output is relayed
 * a little longer. */
static void check_deadline(relay *r) {
  if (r->deadline < 0 || cli_now() < r->deadline)
    return;
  if (r->timed_out) {
    r->from = -1; /* drained long enough */
    return;
  }
  r->timed_out = 1;
  subproc_send_signal_group(r->p, SIGKILL);
  subproc_kill(r->p);
  r->deadline = cli_now() + DRAIN_AFTER_KILL_S;
}

/* 0 to go on, 1 at the end of the child's output (EOF, EIO at hang-up, or
 * a stdout that no longer takes it). */
static int from_child(relay *r) {
  char buf[16384];
  ssize_t n = read(r->from, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return 0;
  return n <= 0 || write_all(1, buf, (size_t)n) < 0;
}

static void from_stdin(relay *r) {
  ssize_t n = read(0, r->in, sizeof r->in);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n > 0) {
    r->in_len = (size_t)n;
    r->in_off = 0;
    return;
  }
  r->stdin_open = 0; /* the terminal went away: EOF for the child too */
  subproc_close_stream(r->p, 0);
}

static void to_child(relay *r) {
  ssize_t w =
      write(subproc_fd(r->p, 0), r->in + r->in_off, r->in_len - r->in_off);
  if (w > 0)
    r->in_off += (size_t)w;
  else if (w < 0 && errno != EINTR && errno != EAGAIN)
    r->in_off = r->in_len; /* the child's terminal is gone: drop the keys */
  if (r->in_off == r->in_len)
    r->in_len = r->in_off = 0;
}

static int poll_ms(const relay *r) {
  double left;
  if (r->deadline < 0)
    return -1;
  left = r->deadline - cli_now();
  return left <= 0 ? 0 : (int)(left * 1000) + 1;
}

static void relay_loop(relay *r) {
  while (r->from >= 0) {
    struct pollfd pfd[4];
    int n = 0, in_at = -1, out_at = -1;
    pfd[n++] = (struct pollfd){r->from, POLLIN, 0};
    pfd[n++] = (struct pollfd){winch_pipe[0], POLLIN, 0};
    if (r->in_len && subproc_fd(r->p, 0) >= 0) {
      out_at = n;
      pfd[n++] = (struct pollfd){subproc_fd(r->p, 0), POLLOUT, 0};
    } else if (r->stdin_open && !r->in_len) {
      in_at = n;
      pfd[n++] = (struct pollfd){0, POLLIN, 0};
    }
    if (poll(pfd, (nfds_t)n, poll_ms(r)) < 0 && errno != EINTR)
      break;
    if (pfd[1].revents)
      copy_size(r);
    if (out_at >= 0 && pfd[out_at].revents)
      to_child(r);
    if (in_at >= 0 && pfd[in_at].revents)
      from_stdin(r);
    if (pfd[0].revents && from_child(r))
      break;
    check_deadline(r);
  }
}

int cli_pty_relay(cli_config *c, int *returncode, int *timed_out,
                  subproc_error *e) {
  relay r;
  /* The [run] fields are the relay's own work: popen refuses them (no
   * input nor capture reaches here; --timeout and --check are kept by the
   * loop and by the exit status). */
  subproc_options po = c->opts;
  int rc;
  po.timeout = SUBPROC_FOREVER;
  po.check = 0;
  rc = subproc_popen((const char *const *)c->args, &po, &r.p, e);
  *returncode = SUBPROC_NO_RETURNCODE;
  *timed_out = 0;
  if (rc < 0)
    return rc;
  r.from = subproc_fd(r.p, 1) >= 0 ? subproc_fd(r.p, 1) : subproc_fd(r.p, 2);
  r.stdin_open = 1;
  r.in_len = r.in_off = 0;
  r.follow = c->pty_follow;
  r.deadline = c->opts.timeout > 0 ? cli_now() + c->opts.timeout : -1;
  r.timed_out = 0;
  /* The fds on the master share one file description: one call. */
  fcntl(subproc_fd(r.p, 0), F_SETFL,
        fcntl(subproc_fd(r.p, 0), F_GETFL) | O_NONBLOCK);
  if (enter_raw() < 0) {
    int err = errno;
    restore_tty();
    subproc_kill(r.p);
    subproc_close(r.p, NULL);
    subproc_free(r.p);
    memset(e, 0, sizeof *e);
    e->code = -err;
    e->os_errno = err;
    e->fd = 0;
    snprintf(e->message, sizeof e->message,
             "--pty: cannot relay the terminal: %s", strerror(err));
    return -err;
  }
  if (r.follow)
    copy_size(&r); /* a resize between the spawn and the handler */
  relay_loop(&r);
  restore_tty();
  /* Hang the terminal up (SIGHUP if the child still runs) and wait. */
  rc = subproc_close(r.p, returncode);
  *timed_out = r.timed_out;
  subproc_free(r.p);
  if (r.timed_out)
    return SUBPROC_ETIMEDOUT;
  if (rc == -EPIPE)
    rc = 0;
  if (rc == 0 && c->opts.check && *returncode != 0) { /* as run's check */
    subproc_result res;
    memset(&res, 0, sizeof res);
    res.args = (const char *const *)c->args;
    res.returncode = *returncode;
    rc = subproc_check_returncode(&res, e);
  }
  return rc;
}
#endif
