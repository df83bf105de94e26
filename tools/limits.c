/* --rlimit, --pdeathsig, --no-new-privs and --foreground: the values of
 * the options for resource limits, the parent-death signal and the
 * terminal (the names of resources and signals, numbers range-checked).
 * The library refuses them where the system has no such thing. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <sys/resource.h>
#endif

#include "tool.h"

/* ---- names ---- */

typedef struct named {
  const char *name;
  int value;
} named;

/* prlimit(1)'s names, lower case. */
static const named resources[] = {
#ifdef RLIMIT_AS
    {"as", RLIMIT_AS},
#endif
#ifdef RLIMIT_CORE
    {"core", RLIMIT_CORE},
#endif
#ifdef RLIMIT_CPU
    {"cpu", RLIMIT_CPU},
#endif
#ifdef RLIMIT_DATA
    {"data", RLIMIT_DATA},
#endif
#ifdef RLIMIT_FSIZE
    {"fsize", RLIMIT_FSIZE},
#endif
#ifdef RLIMIT_LOCKS
    {"locks", RLIMIT_LOCKS},
#endif
#ifdef RLIMIT_MEMLOCK
    {"memlock", RLIMIT_MEMLOCK},
#endif
#ifdef RLIMIT_MSGQUEUE
    {"msgqueue", RLIMIT_MSGQUEUE},
#endif
#ifdef RLIMIT_NICE
    {"nice", RLIMIT_NICE},
#endif
#ifdef RLIMIT_NOFILE
    {"nofile", RLIMIT_NOFILE},
#endif
#ifdef RLIMIT_NPROC
    {"nproc", RLIMIT_NPROC},
#endif
#ifdef RLIMIT_RSS
    {"rss", RLIMIT_RSS},
#endif
#ifdef RLIMIT_RTPRIO
    {"rtprio", RLIMIT_RTPRIO},
#endif
#ifdef RLIMIT_RTTIME
    {"rttime", RLIMIT_RTTIME},
#endif
#ifdef RLIMIT_SIGPENDING
    {"sigpending", RLIMIT_SIGPENDING},
#endif
#ifdef RLIMIT_STACK
    {"stack", RLIMIT_STACK},
#endif
    {NULL, 0}};

/* Without the SIG prefix, as kill -l lists them (C's own six first). */
static const named signals[] = {{"ABRT", SIGABRT},
                                {"FPE", SIGFPE},
                                {"ILL", SIGILL},
                                {"INT", SIGINT},
                                {"SEGV", SIGSEGV},
                                {"TERM", SIGTERM},
#ifdef SIGALRM
                                {"ALRM", SIGALRM},
#endif
#ifdef SIGBUS
                                {"BUS", SIGBUS},
#endif
#ifdef SIGCHLD
                                {"CHLD", SIGCHLD},
#endif
#ifdef SIGCONT
                                {"CONT", SIGCONT},
#endif
#ifdef SIGHUP
                                {"HUP", SIGHUP},
#endif
#ifdef SIGKILL
                                {"KILL", SIGKILL},
#endif
#ifdef SIGPIPE
                                {"PIPE", SIGPIPE},
#endif
#ifdef SIGPROF
                                {"PROF", SIGPROF},
#endif
#ifdef SIGPWR
                                {"PWR", SIGPWR},
#endif
#ifdef SIGQUIT
                                {"QUIT", SIGQUIT},
#endif
#ifdef SIGSTOP
                                {"STOP", SIGSTOP},
#endif
#ifdef SIGSYS
                                {"SYS", SIGSYS},
#endif
#ifdef SIGTRAP
                                {"TRAP", SIGTRAP},
#endif
#ifdef SIGTSTP
                                {"TSTP", SIGTSTP},
#endif
#ifdef SIGTTIN
                                {"TTIN", SIGTTIN},
#endif
#ifdef SIGTTOU
                                {"TTOU", SIGTTOU},
#endif
#ifdef SIGURG
                                {"URG", SIGURG},
#endif
#ifdef SIGUSR1
                                {"USR1", SIGUSR1},
#endif
#ifdef SIGUSR2
                                {"USR2", SIGUSR2},
#endif
#ifdef SIGVTALRM
                                {"VTALRM", SIGVTALRM},
#endif
#ifdef SIGWINCH
                                {"WINCH", SIGWINCH},
#endif
#ifdef SIGXCPU
                                {"XCPU", SIGXCPU},
#endif
#ifdef SIGXFSZ
                                {"XFSZ", SIGXFSZ},
#endif
                                {NULL, 0}};

/* Case-insensitive; prefix (e.g. "rlimit_", "sig") optional. */
static int lookup(const named *table, const char *prefix, const char *s,
                  int *out) {
  size_t n = strlen(prefix), i;
  for (i = 0; i < n && tolower((unsigned char)s[i]) == prefix[i]; i++) {
  }
  if (i == n)
    s += n;
  for (; table->name; table++) {
    const char *a = table->name, *b = s;
    while (*a && tolower((unsigned char)*a) == tolower((unsigned char)*b))
      a++, b++;
    if (!*a && !*b) {
      *out = table->value;
      return 0;
    }
  }
  return -1;
}

/* A plain decimal in [0, max]: no sign, no space, no base prefix. */
static int parse_decimal(const char *s, size_t len, unsigned long long max,
                         unsigned long long *out) {
  unsigned long long v = 0;
  size_t i;
  if (len == 0 || len > 20)
    return -1;
  for (i = 0; i < len; i++) {
    unsigned d;
    if (!isdigit((unsigned char)s[i]))
      return -1;
    d = (unsigned)(s[i] - '0');
    if (v > (max - d) / 10)
      return -1;
    v = v * 10 + d;
  }
  *out = v;
  return 0;
}

/* ---- --rlimit RESOURCE=SOFT[:HARD] ---- */

static int rlimit_error(const cli_config *c, const char *text,
                        const char *why) {
  return cli_usage_error(c->cmd, "invalid value '%s' for --rlimit (%s)", text,
                         why);
}

/* "unlimited" (or "infinity") or a number below it. */
static int parse_limit(const char *s, size_t len, unsigned long long *out) {
  if ((len == 9 && strncmp(s, "unlimited", 9) == 0) ||
      (len == 8 && strncmp(s, "infinity", 8) == 0)) {
    *out = SUBPROC_RLIM_INFINITY;
    return 0;
  }
  return parse_decimal(s, len, SUBPROC_RLIM_INFINITY - 1, out);
}

#ifndef _WIN32
/* glibc's getrlimit takes an enum with _GNU_SOURCE, the others an int. */
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
typedef __rlimit_resource_t resource_t;
#else
typedef int resource_t;
#endif
#endif

/* The limit the child would otherwise inherit: this process's own. */
static int current_limit(int resource, int hard, unsigned long long *out) {
#ifndef _WIN32
  struct rlimit rl;
  rlim_t v;
  if (getrlimit((resource_t)resource, &rl) < 0)
    return -1;
  v = hard ? rl.rlim_max : rl.rlim_cur;
  *out = v == RLIM_INFINITY ? SUBPROC_RLIM_INFINITY : (unsigned long long)v;
  return 0;
#else
  (void)resource, (void)hard, (void)out;
  return -1;
#endif
}

/* SOFT[:HARD]: one value sets both (as prlimit(1)); an empty side keeps
 * the current value. */
static int parse_limits(const char *v, int resource, subproc_rlimit *r) {
  const char *colon = strchr(v, ':');
  size_t soft_len = colon ? (size_t)(colon - v) : strlen(v);
  const char *hard = colon ? colon + 1 : v;
  size_t hard_len = colon ? strlen(hard) : soft_len;
  if (hard_len == 0 && (soft_len == 0 || !colon)) /* "", ":" */
    return -1;
  if (soft_len ? parse_limit(v, soft_len, &r->soft)
               : current_limit(resource, 0, &r->soft))
    return -1;
  if (hard_len ? parse_limit(hard, hard_len, &r->hard)
               : current_limit(resource, 1, &r->hard))
    return -1;
  return 0;
}

int cli_add_rlimit(cli_config *c, const char *text) {
  const char *eq = strchr(text, '=');
  char name[32];
  int resource;
  unsigned long long number;
  subproc_rlimit *grown, r;
  if (!eq || eq == text || (size_t)(eq - text) >= sizeof name)
    return rlimit_error(c, text, "expected RESOURCE=SOFT[:HARD]");
  memcpy(name, text, (size_t)(eq - text));
  name[eq - text] = '\0';
  if (parse_decimal(name, strlen(name), INT_MAX, &number) == 0)
    resource = (int)number;
  else if (lookup(resources, "rlimit_", name, &resource) < 0)
    return rlimit_error(c, text,
                        "unknown resource: nofile, cpu, as, core, "
                        "nproc, fsize, stack, memlock, ...");
  r.resource = resource;
  if (parse_limits(eq + 1, resource, &r) < 0)
    return rlimit_error(c, text, "expected a number or 'unlimited'");
  /* Room for the terminator, kept in place after every entry. */
  grown = realloc(c->rlimits, (c->n_rlimits + 2) * sizeof *grown);
  if (!grown)
    return cli_usage_error(c->cmd, "out of memory");
  c->rlimits = grown;
  c->rlimits[c->n_rlimits++] = r;
  c->rlimits[c->n_rlimits].resource = -1;
  c->opts.rlimits = c->rlimits;
  return CLI_CONTINUE;
}

/* ---- --pdeathsig SIG ---- */

int cli_set_pdeathsig(cli_config *c, const char *text) {
  unsigned long long number;
  int sig;
  if (parse_decimal(text, strlen(text), INT_MAX, &number) == 0 && number > 0)
    sig = (int)number;
  else if (lookup(signals, "sig", text, &sig) < 0)
    return cli_usage_error(
        c->cmd,
        "invalid value '%s' for --pdeathsig (expected a signal: "
        "KILL, TERM, 9, ...)",
        text);
  c->opts.parent_death_signal = sig;
  return CLI_CONTINUE;
}
