/* Signals sent to the tool reach the child too (as with GNU timeout):
 * SIGINT, SIGTERM, SIGHUP and SIGQUIT are forwarded to every child the
 * library starts, or to its process group when it leads one. */
#include <signal.h>
#include <string.h>

#include "tool.h"

#if defined(_WIN32)
/* A console's Ctrl-C already reaches every process attached to it. */
void subproc_tool_forward_signals(subproc_options *o, int group_leader) {
  (void)o;
  (void)group_leader;
}
#else

#define MAX_CHILDREN 256

static volatile sig_atomic_t pids[MAX_CHILDREN];
static volatile sig_atomic_t n_pids;
static volatile sig_atomic_t to_group;
static volatile sig_atomic_t pending; /* arrived before any child ran */

static void send_all(int sig) {
  for (sig_atomic_t i = 0; i < n_pids; i++)
    kill(to_group ? -pids[i] : pids[i], sig);
}

static void forward(int sig) {
  if (n_pids == 0)
    pending = sig;
  send_all(sig);
}

static void record(void *arg, long pid) {
  (void)arg;
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  if (n_pids < MAX_CHILDREN)
    pids[n_pids++] = (sig_atomic_t)pid;
  if (pending)
    kill(to_group ? -(pid_t)pid : (pid_t)pid, pending);
  sigprocmask(SIG_SETMASK, &old, NULL);
}

void subproc_tool_forward_signals(subproc_options *o, int group_leader) {
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
