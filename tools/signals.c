/* Signals sent to the tool reach the child too (as with GNU timeout):
 * SIGINT, SIGTERM, SIGHUP and SIGQUIT are forwarded to every child the
 * library starts, or to its process group when it leads one. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

#if defined(_WIN32)
/* A console's Ctrl-C already reaches every process attached to it. */
void cli_forward_signals(subproc_options *o, int group_leader) {
  (void)o;
  (void)group_leader;
}
#else

/* Every child started so far (a pipe of any length); grown with signals
 * blocked, so the handler never sees it half-updated. */
static pid_t *volatile pids;
static volatile sig_atomic_t n_pids;
static size_t cap_pids;
static volatile sig_atomic_t to_group;
/* The last signal forwarded: a child recorded after it (started just
 * before the signal came, or after) gets it too. */
static volatile sig_atomic_t pending;

static void send_all(int sig) {
  for (sig_atomic_t i = 0; i < n_pids; i++)
    kill(to_group ? -pids[i] : pids[i], sig);
}

static void forward(int sig) {
  pending = sig;
  send_all(sig);
}

static void record(void *arg, long pid) {
  (void)arg;
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  if ((size_t)n_pids == cap_pids) {
    size_t cap = cap_pids ? cap_pids * 2 : 16;
    pid_t *grown = realloc(pids, cap * sizeof *grown);
    if (grown) {
      pids = grown;
      cap_pids = cap;
    }
  }
  if ((size_t)n_pids < cap_pids)
    pids[n_pids++] = (pid_t)pid;
  if (pending)
    kill(to_group ? -(pid_t)pid : (pid_t)pid, pending);
  sigprocmask(SIG_SETMASK, &old, NULL);
}

void cli_forward_signals(subproc_options *o, int group_leader) {
  static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = forward;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  to_group = group_leader;
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    struct sigaction old;
    /* A signal ignored by whoever started us stays ignored (nohup). */
    if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
      continue;
    sigaction(sigs[i], &sa, NULL);
  }
  o->on_spawn = record;
  o->on_spawn_arg = NULL;
}
#endif
