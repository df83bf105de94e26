/* The platform interface: what the portable core (the files of src/) asks of a
 * backend (src/posix/ or src/windows/). A backend works on OS handles only
 * and never calls into the core's process or communicate logic; it may use
 * the leaf helpers of internal.h (buffers, errors, text codecs, the clock).
 * Nothing here needs a platform header. */
#ifndef SUBPROC_OS_H
#define SUBPROC_OS_H

#include <stdint.h>

#include "internal.h"

/* ---- a child ---- */

/* The OS part of a child, embedded in the portable object. */
typedef struct subproc__os {
  long pid;
  intptr_t handle; /* POSIX: the pidfd, -1 without; Windows: process HANDLE */
  intptr_t job;    /* Windows: the kill-on-close job of kill_tree, or 0 */
  long group;      /* POSIX: the process group the child leads or joined
                      (what kill_tree and send_signal_group signal), 0 if
                      none; Windows: 1 if it leads a console process group */
  int flags;       /* backend-private state */
  /* POSIX foreground: the controlling terminal and the process group it
   * goes back to when the child is reaped (with a flag in flags). */
  int tty;
  long tty_pgrp;
  /* POSIX (Linux): the child's own cgroup (cgroup_parent), removed after
   * the reap; NULL if none. */
  struct subproc__cgroup *cgroup;
} subproc__os;
typedef struct subproc__cgroup subproc__cgroup;

/* What a spawn hands back besides the OS part. */
typedef struct subproc__spawned {
  int fds[3];  /* the parent's pipe ends (C runtime fds), -1 if none */
  char **args; /* argv after shell expansion, one allocation (free()) */
  subproc_spawn_method method;
  int pty; /* SUBPROC_PTY: the master the object holds; -1 (preset by the
              core) if none */
} subproc__spawned;

/* A spawn in two steps: everything is prepared (and every error an option
 * can cause is found) before the audit hook sees the command, then the
 * child is started from the plan. */
typedef struct subproc__plan subproc__plan; /* defined by the backend */
typedef struct subproc__plan_info {
  const char *executable;  /* the program to run, as the audit event names */
  const char *const *argv; /* the argv after the shell is applied */
} subproc__plan_info;

/* Prepare a child per o, which subproc__options_validate has accepted.
 * verbatim: argv[0] is a whole command line (subproc_popen_cmd; Windows
 * passes it on unchanged). tree: kill_tree is on, so the child gets a
 * process group (POSIX) or a job (Windows) that can be killed as a whole.
 * 0 with *plan and *info set (valid until plan_free), or a negative code
 * with err filled. */
int subproc__os_prepare(const char *const *argv, int verbatim,
                        const subproc_options *o, int tree,
                        subproc__plan **plan, subproc__plan_info *info,
                        subproc_error *err);
/* Start the child: 0 with *os and *out filled, or a negative code with err
 * filled (nothing is left behind: no fd, no child). Every internal fd the
 * spawn creates sits above 2. */
int subproc__os_launch(subproc__plan *plan, subproc__os *os,
                       subproc__spawned *out, subproc_error *err);
/* Release a plan (NULL is fine), closing whatever launch did not use. */
void subproc__os_plan_free(subproc__plan *plan);

/* How a child ended. */
typedef struct subproc__exit {
  int returncode;  /* Python's: the exit status, -N for signal N (a stopped
                      child: -WSTOPSIG, as Python); Windows: the exit code */
  int raw_status;  /* the wait status (POSIX) or the exit code (Windows) */
  int core_dumped; /* the child dumped core */
  double user_s, system_s;
  long max_rss_kb;
  /* The child's own cgroup, read after the reap (has_cgroup; else 0):
   * memory.peak and cpu.stat's usage, user and system usec, -1 if absent. */
  int has_cgroup;
  long long cg_memory_peak, cg_usage_usec, cg_user_usec, cg_system_usec;
} subproc__exit;

/* Wait for the child's exit until deadline (subproc__now() seconds; < 0 =
 * forever; a past deadline only checks). reap = 0 only observes the exit:
 * the child stays a zombie, so neither its pid nor its group id can be
 * reused. reap = 1 collects *ex and releases the pid. Returns 1 when it
 * has exited (and was reaped if asked), 0 if not yet, or a negative code:
 * -ECHILD when someone else reaped it and its status is lost. The core
 * makes every reap = 1 call of one child under its lock. */
int subproc__os_wait(subproc__os *os, double deadline, int reap,
                     subproc__exit *ex);
/* The first of n children (NULL entries skipped) seen to exit before
 * deadline, observed only (not reaped): 1 with *index set, 0 on timeout,
 * or a negative code. */
int subproc__os_wait_any(subproc__os *const *os, size_t n, double deadline,
                         size_t *index);
/* Signal the child / its group (os->group). Called only while the child
 * has not been reaped, so neither can name another process. */
int subproc__os_signal(subproc__os *os, int sig);
int subproc__os_signal_group(subproc__os *os, int sig);
/* SIGKILL everything in the child's own cgroup (POSIX, Linux); 0 if it has
 * none (always on Windows). */
int subproc__os_kill_cgroup(subproc__os *os);
/* What an event loop watches for the exit: the pidfd (POSIX; -1 without
 * pidfds) or the process HANDLE (Windows; NULL elsewhere). */
int subproc__os_exit_fd(const subproc__os *os);
void *subproc__os_exit_handle(const subproc__os *os);
/* Close the OS handles (after the reap, or for an abandoned child). */
void subproc__os_release(subproc__os *os);
/* "returned non-zero exit status 3" or "died with <Signals.SIGKILL: 9>":
 * the end of CalledProcessError's text, as Python words it here. */
void subproc__os_status_text(int returncode, char *buf, size_t size);

/* ---- pipes ---- */

/* One pipe end in a subproc__os_io call. */
typedef struct subproc__io {
  int fd;       /* the parent's end (a C runtime fd); -1: not watched */
  int writing;  /* 1: write buf[0..len) to fd; 0: read up to len into buf */
  char *buf;    /* where read bytes go / the bytes to write */
  size_t len;   /* room / bytes to write; >= 1 */
  size_t done;  /* out: bytes moved */
  int eof;      /* out: end of file (read) or no reader left (write) */
  int os_errno; /* out: errno of a failure, else 0 */
} subproc__io;

/* Wait until at least one entry can make progress (or exit_watch, if not
 * NULL, has exited, or deadline: as for subproc__os_wait), then move what
 * can be moved without blocking: at most one read or write per entry moves
 * data. A writing entry's fd has been made non-blocking with
 * subproc__os_set_nonblocking (Windows: a cancelled pipe write loses what
 * it had written, so writes never wait with more than a byte in flight).
 * Nothing is left pending when it returns, except on Windows for a write
 * end a poller watches for SUBPROC__POLL_OUT: its one-byte wait for room
 * goes to the poller, and a later call counts that byte. Returns the number of
 * entries with done, eof or os_errno set (0 on timeout or a wake-up for the
 * exit) or a negative code for a failure of the wait itself. */
int subproc__os_io(subproc__io *io, size_t n, subproc__os *exit_watch,
                   double deadline);
/* Ends shared by several children (a pipeline's stderr, src/pipeline.c),
 * given to each as SUBPROC_FD and closed by the caller once all are
 * started: a PATH redirect for stream i opened as prepare opens it, and a
 * pipe the parent reads (*parent_fd, an end subproc__os_io takes) and the
 * children write (*child_fd). Neither is inherited by anyone else. */
int subproc__os_open_redirect(const subproc_redirect *r, int i, int *fd,
                              subproc_error *err);
int subproc__os_output_pipe(long pipesize, int *parent_fd, int *child_fd,
                            subproc_error *err);
/* Writes to fd must not block (communicate's stdin). */
int subproc__os_set_nonblocking(int fd, int on);
int subproc__os_close_fd(int fd);
/* Blocking I/O on a pipe end, EINTR retried: read returns the bytes read
 * (0 at EOF) or -1 with errno; write_all writes everything or returns -1
 * with errno (EPIPE when the reader is gone: SIGPIPE is contained). */
long subproc__os_read(int fd, char *buf, size_t n);
int subproc__os_write_all(int fd, const char *buf, size_t n);

/* SIGPIPE contained in this thread around the library's writes (POSIX; a
 * no-op elsewhere): end() consumes the SIGPIPE the writes raised. */
typedef struct subproc__sigpipe {
  int was_pending, was_blocked;
} subproc__sigpipe;
void subproc__os_sigpipe_begin(subproc__sigpipe *g);
void subproc__os_sigpipe_end(subproc__sigpipe *g, int got_epipe);

/* ---- pseudo-terminals (SUBPROC_PTY; POSIX ptys, Windows ConPTY) ---- */

/* TIOCSWINSZ on a master (a 0 keeps that dimension): 0 or -errno. */
int subproc__os_set_winsize(int fd, unsigned short rows, unsigned short cols);
/* End a pty's input as a terminal does: the EOF character (VEOF) in
 * canonical mode, twice when partial (the first ends the line); nothing in
 * raw mode, nor when the terminal has no room (the write never blocks). */
void subproc__os_pty_eof(int fd, int partial);

/* ---- FILE streams ---- */

/* A FILE whose I/O goes through functions of the core. The cookie's first
 * member points at its functions; read/write return bytes moved or -1
 * with errno set. */
typedef struct subproc__cookie_fns {
  long (*read)(void *cookie, char *buf, size_t n);
  long (*write)(void *cookie, const char *buf, size_t n);
  int (*close)(void *cookie);
} subproc__cookie_fns;
/* NULL with errno = ENOSYS where the C library cannot (then the core
 * uses subproc__os_fdopen). */
FILE *subproc__os_fopencookie(const subproc__cookie_fns *const *cookie,
                              const char *mode);
FILE *subproc__os_fdopen(int fd, const char *mode);
/* The C library's fd of a FILE. */
int subproc__os_fileno(FILE *f);

/* ---- a readiness poller for many children (src/group.c) ---- */

/* epoll on Linux: one registration per pipe end and per pidfd, O(1) system
 * calls per event. */
typedef struct subproc__poller subproc__poller;
enum {
  SUBPROC__POLL_IN = 1,   /* readable (a pipe, or a child that exited) */
  SUBPROC__POLL_OUT = 2,  /* writable */
  SUBPROC__POLL_ONCE = 4, /* report once, then stay quiet until rearmed */
  SUBPROC__POLL_EXIT = 8  /* h is a child (subproc__os), not a pipe */
};
typedef struct subproc__poll_event {
  void *data;
  int events; /* SUBPROC__POLL_IN / _OUT */
} subproc__poll_event;

int subproc__os_poller_new(subproc__poller **out);
void subproc__os_poller_free(subproc__poller *pl);
/* What a host loop polls for readability: the epoll fd (-1 elsewhere) or
 * a HANDLE (NULL elsewhere). */
int subproc__os_poller_fd(const subproc__poller *pl);
void *subproc__os_poller_handle(const subproc__poller *pl);
/* Watch a pipe end (fd) or, with SUBPROC__POLL_EXIT, a child's exit (os);
 * data comes back with its events. mod changes the events. */
int subproc__os_poller_add(subproc__poller *pl, int fd, subproc__os *os,
                           int events, void *data);
int subproc__os_poller_mod(subproc__poller *pl, int fd, subproc__os *os,
                           int events, void *data);
/* Stop watching; called before the fd is closed. */
int subproc__os_poller_del(subproc__poller *pl, int fd, subproc__os *os);
/* Up to max events until deadline (as for subproc__os_wait): the count,
 * 0 on timeout or a wake-up, or a negative code. */
int subproc__os_poller_wait(subproc__poller *pl, subproc__poll_event *ev,
                            int max, double deadline);
/* Make a wait in another thread (or the next one) return; safe in a
 * signal handler. */
void subproc__os_poller_wake(subproc__poller *pl);

/* ---- misc ---- */

/* Give the CPU to another thread (a spin lock waiting). */
void subproc__os_yield(void);
/* The CPUs online (at least 1). */
int subproc__os_cpu_count(void);

#endif
