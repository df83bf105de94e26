/* A loop of one's own driving subproc_communicate_step: one epoll set over
 * every child's pipe ends and exit fd, a step for the child whose fd is
 * ready. (subproc_group does all of this for you; see group_libuv.c.) */
#include <stdio.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "subproc.h"

enum { N = 3 };

typedef struct child {
  subproc *p;
  int watched[4]; /* the fds registered: stdin, stdout, stderr, exit */
} child;

/* Register what the child has open now; an fd the last step closed has
 * left the epoll set by itself. The exit fires once: its pipes may stay
 * open after it, and the step that reads their end finishes the job. */
static void watch(int ep, child *c) {
  for (int i = 0; i < 4; i++) {
    int fd = i < 3 ? subproc_fd(c->p, i) : subproc_exit_fd(c->p);
    if (fd == c->watched[i])
      continue;
    c->watched[i] = -1;
    struct epoll_event ev = {.events = i == 0   ? EPOLLOUT
                                       : i == 3 ? EPOLLIN | EPOLLONESHOT
                                                : EPOLLIN,
                             .data.ptr = c};
    if (fd >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0)
      c->watched[i] = fd;
  }
}

static int start(child *c, const char *script, const char *input) {
  const char *argv[] = {"/bin/sh", "-c", script, NULL};
  subproc_options o = {.out = {.kind = SUBPROC_PIPE},
                       .err = {.kind = SUBPROC_PIPE}};
  o.in.kind = input ? SUBPROC_PIPE : SUBPROC_DEVNULL;
  subproc_error e;
  int done = 0;
  if (subproc_popen(argv, &o, &c->p, &e) < 0 ||
      subproc_communicate_step(c->p, input, input ? 6 : 0, &done, NULL, &e) <
          0) {
    fprintf(stderr, "start: %s\n", e.message);
    return -1;
  }
  for (int i = 0; i < 4; i++)
    c->watched[i] = -1;
  return 0;
}

int main(void) {
  const char *scripts[N] = {"tr a-z A-Z", "sleep 0.2; echo second",
                            "echo third >&2; exit 3"};
  child kids[N];
  int ep = epoll_create1(EPOLL_CLOEXEC), left = N;
  for (int i = 0; i < N; i++) {
    if (start(&kids[i], scripts[i], i == 0 ? "hello\n" : NULL) < 0)
      return 1;
    watch(ep, &kids[i]);
  }
  while (left > 0) {
    struct epoll_event ev[8];
    int n = epoll_wait(ep, ev, 8, 10000);
    for (int k = 0; k < n; k++) {
      child *c = ev[k].data.ptr;
      if (!c->p)
        continue; /* finished earlier in this batch */
      int done = 0;
      subproc_result *r = NULL;
      subproc_error e;
      if (subproc_communicate_step(c->p, NULL, 0, &done, &r, &e) < 0) {
        fprintf(stderr, "step: %s\n", e.message);
        return 1;
      }
      if (!done) {
        watch(ep, c);
        continue;
      }
      printf("child %d: exit %d, stdout '%.*s', stderr '%.*s'\n",
             (int)(c - kids), r->returncode, (int)r->out_len, r->out,
             (int)r->err_len, r->err);
      subproc_result_free(r);
      if (c->watched[3] >= 0)
        epoll_ctl(ep, EPOLL_CTL_DEL, c->watched[3], NULL);
      subproc_free(c->p);
      c->p = NULL;
      left--;
    }
  }
  close(ep);
  return 0;
}
