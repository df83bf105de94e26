/* The raw baselines, written here with nothing but system calls: what a
 * spawn costs at the floor, for each primitive. The child side does only
 * what the scenario needs (a dup2 for the pipe, the fd closing under test)
 * and no signal reset: it is the lower bound, not a library. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

extern char **environ;

/* Walk /proc/self/fd with getdents64 (opendir would allocate in a child
 * that shares the parent's memory). */
static void close_proc(void) {
  int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0)
    return;
  char buf[4096] __attribute__((aligned(8)));
  long n;
  while ((n = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0)
    for (long off = 0; off < n;) {
      const char *ent = buf + off;
      unsigned short reclen;
      memcpy(&reclen, ent + 16, sizeof reclen);
      int fd = 0, digits = 0;
      for (const char *c = ent + 19; *c >= '0' && *c <= '9'; c++, digits++)
        fd = fd * 10 + (*c - '0');
      if (digits && fd > 2 && fd != dir)
        close(fd);
      off += reclen;
    }
  close(dir);
}

static void raw_child(const spawn_spec *s, int out_w) __attribute__((noreturn));
static void raw_child(const spawn_spec *s, int out_w) {
  if (s->stdin_fd >= 0 && dup2(s->stdin_fd, 0) < 0)
    _exit(126);
  if (out_w >= 0 && dup2(out_w, 1) < 0)
    _exit(126);
  switch (s->close) {
  case CLOSE_RANGE:
    syscall(SYS_close_range, 3U, ~0U, 0U);
    break;
  case CLOSE_PROC:
    close_proc();
    break;
  case CLOSE_LOOP:
    for (int fd = 3; fd < s->loop_limit; fd++)
      close(fd);
    break;
  case CLOSE_NONE:
    break;
  }
  execve(s->argv[0], s->argv, environ);
  _exit(127);
}

static int open_out(const spawn_spec *s, int p[2]) {
  p[0] = p[1] = -1;
  return s->capture ? pipe2(p, O_CLOEXEC) : 0;
}

static pid_t started(pid_t pid, int p[2], int *out_fd) {
  if (p[1] >= 0)
    close(p[1]);
  if (pid < 0 && p[0] >= 0) {
    close(p[0]);
    p[0] = -1;
  }
  *out_fd = p[0];
  return pid;
}

pid_t raw_start_vfork(const spawn_spec *s, int *out_fd) {
  int p[2];
  if (open_out(s, p) < 0)
    return -1;
  pid_t pid = vfork();
  if (pid == 0)
    raw_child(s, p[1]);
  return started(pid, p, out_fd);
}

pid_t raw_start_fork(const spawn_spec *s, int *out_fd) {
  int p[2];
  if (open_out(s, p) < 0)
    return -1;
  pid_t pid = fork();
  if (pid == 0)
    raw_child(s, p[1]);
  return started(pid, p, out_fd);
}

typedef struct clone_arg {
  const spawn_spec *s;
  int out_w;
} clone_arg;

static int clone_entry(void *arg) {
  const clone_arg *a = arg;
  raw_child(a->s, a->out_w);
}

/* The child runs on a stack in this frame: the parent is suspended until
 * the child execs or exits (musl's posix_spawn does the same). */
pid_t raw_start_clone(const spawn_spec *s, int *out_fd) {
  int p[2];
  if (open_out(s, p) < 0)
    return -1;
  char stack[16384] __attribute__((aligned(16)));
  clone_arg a = {s, p[1]};
  pid_t pid = clone(clone_entry, stack + sizeof stack,
                    CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
  return started(pid, p, out_fd);
}

pid_t raw_start_posix_spawn(const spawn_spec *s, int *out_fd) {
  int p[2];
  if (open_out(s, p) < 0)
    return -1;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (s->stdin_fd >= 0)
    posix_spawn_file_actions_adddup2(&fa, s->stdin_fd, 0);
  if (p[1] >= 0)
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
  if (s->close != CLOSE_NONE)
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
  pid_t pid;
  int rc = posix_spawn(&pid, s->argv[0], &fa, NULL, s->argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  return started(rc == 0 ? pid : -1, p, out_fd);
}

int raw_finish(pid_t pid, int fd) {
  if (fd >= 0) {
    char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    }
    close(fd);
  }
  int st;
  pid_t r;
  while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR) {
  }
  return r == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int op_with(pid_t (*start)(const spawn_spec *, int *), void *spec) {
  int fd;
  pid_t pid = start(spec, &fd);
  return pid < 0 ? -1 : raw_finish(pid, fd);
}

int op_raw_vfork(void *spec) { return op_with(raw_start_vfork, spec); }
int op_raw_clone(void *spec) { return op_with(raw_start_clone, spec); }
int op_raw_posix_spawn(void *spec) {
  return op_with(raw_start_posix_spawn, spec);
}
int op_raw_fork(void *spec) { return op_with(raw_start_fork, spec); }

/* ------------------------------------------------------------------ */
/* capture_output's shape: two pipes, read with poll                   */
/* ------------------------------------------------------------------ */

static void child_2pipes(const spawn_spec *s, int out_w, int err_w)
    __attribute__((noreturn));
static void child_2pipes(const spawn_spec *s, int out_w, int err_w) {
  if (dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0)
    _exit(126);
  execve(s->argv[0], s->argv, environ);
  _exit(127);
}

/* Both pipes to EOF with one poll per round, as communicate reads them. */
static void read_both(int fd[2]) {
  char buf[65536];
  while (fd[0] >= 0 || fd[1] >= 0) {
    struct pollfd p[2] = {{fd[0], POLLIN, 0}, {fd[1], POLLIN, 0}};
    if (poll(p, 2, -1) < 0 && errno != EINTR)
      break;
    for (int i = 0; i < 2; i++)
      if (fd[i] >= 0 && p[i].revents && read(fd[i], buf, sizeof buf) <= 0) {
        close(fd[i]);
        fd[i] = -1;
      }
  }
}

int op_raw_vfork_2pipes(void *spec) {
  const spawn_spec *s = spec;
  int o[2], e[2];
  if (pipe2(o, O_CLOEXEC) < 0)
    return -1;
  if (pipe2(e, O_CLOEXEC) < 0) {
    close(o[0]), close(o[1]);
    return -1;
  }
  pid_t pid = vfork();
  if (pid == 0)
    child_2pipes(s, o[1], e[1]);
  close(o[1]), close(e[1]);
  int fd[2] = {o[0], e[0]};
  if (pid < 0) {
    close(o[0]), close(e[0]);
    return -1;
  }
  read_both(fd);
  return raw_finish(pid, -1);
}
