/* Command-line options of `subproc run` and `subproc pipe`. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"

extern char **environ;

enum {
  OPT_TIMEOUT = 256,
  OPT_KILL_TREE,
  OPT_WAIT_DELAY,
  OPT_ENV,
  OPT_EXECUTABLE,
  OPT_SHELL,
  OPT_STDIN,
  OPT_INPUT,
  OPT_INPUT_FILE,
  OPT_STDOUT,
  OPT_STDERR,
  OPT_CAPTURE,
  OPT_CHECK,
  OPT_TEXT,
  OPT_ENCODING,
  OPT_ERRORS,
  OPT_UMASK,
  OPT_USER,
  OPT_GROUP,
  OPT_EXTRA_GROUPS,
  OPT_NEW_SESSION,
  OPT_PROCESS_GROUP,
  OPT_PASS_FD,
  OPT_KEEP_FDS,
  OPT_KEEP_SIGNALS,
  OPT_PIPESIZE,
  OPT_MAX_OUTPUT,
  OPT_JSON,
  /* limits, parent death, privileges (tools/limits.c) */
  OPT_RLIMIT,
  OPT_PDEATHSIG,
  OPT_NO_NEW_PRIVS,
  OPT_FOREGROUND,
  /* containment (cgroup v2) */
  OPT_CGROUP,
  OPT_CGROUP_PARENT,
  OPT_CGROUP_MOVE,
  OPT_MEMORY_MAX,
  OPT_PIDS_MAX,
  OPT_CPU_MAX
};

static const struct option long_options[] = {
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"kill-tree", no_argument, NULL, OPT_KILL_TREE},
    {"wait-delay", required_argument, NULL, OPT_WAIT_DELAY},
    {"cwd", required_argument, NULL, 'C'},
    {"env", required_argument, NULL, OPT_ENV},
    {"unset", required_argument, NULL, 'u'},
    {"env-clear", no_argument, NULL, 'i'},
    {"executable", required_argument, NULL, OPT_EXECUTABLE},
    {"shell", no_argument, NULL, OPT_SHELL},
    {"stdin", required_argument, NULL, OPT_STDIN},
    {"input", required_argument, NULL, OPT_INPUT},
    {"input-file", required_argument, NULL, OPT_INPUT_FILE},
    {"stdout", required_argument, NULL, OPT_STDOUT},
    {"stderr", required_argument, NULL, OPT_STDERR},
    {"capture", no_argument, NULL, OPT_CAPTURE},
    {"check", no_argument, NULL, OPT_CHECK},
    {"text", no_argument, NULL, OPT_TEXT},
    {"encoding", required_argument, NULL, OPT_ENCODING},
    {"errors", required_argument, NULL, OPT_ERRORS},
    {"umask", required_argument, NULL, OPT_UMASK},
    {"user", required_argument, NULL, OPT_USER},
    {"group", required_argument, NULL, OPT_GROUP},
    {"extra-groups", required_argument, NULL, OPT_EXTRA_GROUPS},
    {"new-session", no_argument, NULL, OPT_NEW_SESSION},
    {"process-group", required_argument, NULL, OPT_PROCESS_GROUP},
    {"pass-fd", required_argument, NULL, OPT_PASS_FD},
    {"keep-fds", no_argument, NULL, OPT_KEEP_FDS},
    {"keep-signals", no_argument, NULL, OPT_KEEP_SIGNALS},
    {"pipesize", required_argument, NULL, OPT_PIPESIZE},
    {"max-output", required_argument, NULL, OPT_MAX_OUTPUT},
    {"json", no_argument, NULL, OPT_JSON},
    {"rlimit", required_argument, NULL, OPT_RLIMIT},
    {"pdeathsig", required_argument, NULL, OPT_PDEATHSIG},
    {"no-new-privs", no_argument, NULL, OPT_NO_NEW_PRIVS},
    {"foreground", no_argument, NULL, OPT_FOREGROUND},
    {"cgroup", required_argument, NULL, OPT_CGROUP},
    {"cgroup-parent", required_argument, NULL, OPT_CGROUP_PARENT},
    {"cgroup-move-fallback", no_argument, NULL, OPT_CGROUP_MOVE},
    {"memory-max", required_argument, NULL, OPT_MEMORY_MAX},
    {"pids-max", required_argument, NULL, OPT_PIDS_MAX},
    {"cpu-max", required_argument, NULL, OPT_CPU_MAX},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};

/* ---- option values ---- */

static int bad_value(const cli_config *c, const char *opt, const char *value,
                     const char *expected) {
  return cli_usage_error(c->cmd, "invalid value '%s' for %s (%s)", value, opt,
                         expected);
}

/* Seconds with an optional unit, as GNU timeout takes them: 1.5, 2m, 1h. */
static int parse_seconds(const char *s, double *out) {
  char *end;
  double v;
  errno = 0;
  v = strtod(s, &end);
  if (end == s || errno == ERANGE || v != v || v - v != 0 || v < 0)
    return -1;
  if (*end && end[1])
    return -1;
  switch (*end) {
  case '\0':
  case 's':
    break;
  case 'm':
    v *= 60;
    break;
  case 'h':
    v *= 3600;
    break;
  case 'd':
    v *= 86400;
    break;
  default:
    return -1;
  }
  *out = v;
  return 0;
}

/* A whole decimal (or octal, base 8) number in [min, max]. */
static int parse_integer(const char *s, int base, long long min, long long max,
                         long long *out) {
  char *end;
  long long v;
  if (!isdigit((unsigned char)*s) && *s != '-')
    return -1;
  errno = 0;
  v = strtoll(s, &end, base);
  if (end == s || *end || errno == ERANGE || v < min || v > max)
    return -1;
  *out = v;
  return 0;
}

/* Bytes with an optional binary unit: 4096, 64K, 10M, 1G. */
static int parse_bytes(const char *s, size_t *out) {
  static const char units[] = "KMG";
  char *end;
  unsigned long long v, scale = 1;
  const char *unit;
  if (!isdigit((unsigned char)*s))
    return -1;
  errno = 0;
  v = strtoull(s, &end, 10);
  if (end == s || errno == ERANGE)
    return -1;
  if (*end) {
    unit = strchr(units, toupper((unsigned char)*end));
    if (!unit || end[1])
      return -1;
    scale = 1ULL << (10 * (unit - units + 1));
  }
  if (v > ((size_t)-1) / scale)
    return -1;
  *out = (size_t)(v * scale);
  return 0;
}

/* The cgroup limits: bytes (64M), a count, CPUs (0.5). */
static int set_cgroup_limit(cli_config *c, int opt, const char *text) {
  subproc_options *o = &c->opts;
  long long v;
  size_t bytes;
  char *end;
  double cpus;
  if (opt == OPT_MEMORY_MAX) {
    if (parse_bytes(text, &bytes) < 0 || bytes == 0 ||
        bytes > (size_t)0x7fffffffffffffffLL)
      return bad_value(c, "--memory-max", text,
                       "expected bytes > 0, e.g. 512M");
    o->cgroup_memory_max = (long long)bytes;
  } else if (opt == OPT_PIDS_MAX) {
    if (parse_integer(text, 10, 1, 0x7fffffff, &v) < 0)
      return bad_value(c, "--pids-max", text, "expected a count > 0");
    o->cgroup_pids_max = v;
  } else {
    errno = 0;
    cpus = strtod(text, &end);
    if (end == text || *end || errno == ERANGE || !(cpus >= 0.01) || cpus > 1e6)
      return bad_value(c, "--cpu-max", text,
                       "expected CPUs in [0.01, 1000000], e.g. 0.5");
    o->cgroup_cpu_max = cpus;
  }
  return CLI_CONTINUE;
}

/* ---- accumulating options ---- */

static int add_env_edit(cli_config *c, const char *text, int set) {
  const char *eq = strchr(text, '=');
  cli_env_edit *p;
  if (set && (!eq || eq == text))
    return bad_value(c, "--env", text, "expected NAME=VALUE");
  if (!set && (eq || !*text))
    return bad_value(c, "--unset", text, "expected a NAME without '='");
  p = realloc(c->env_edits, (c->n_env_edits + 1) * sizeof *p);
  if (!p)
    return cli_usage_error(c->cmd, "out of memory");
  c->env_edits = p;
  c->env_edits[c->n_env_edits].text = text;
  c->env_edits[c->n_env_edits++].set = set;
  return CLI_CONTINUE;
}

static int add_pass_fd(cli_config *c, const char *text) {
  long long fd;
  int *p;
  if (parse_integer(text, 10, 0, 1 << 30, &fd) < 0)
    return bad_value(c, "--pass-fd", text, "expected a file descriptor");
  p = realloc(c->pass_fds, (c->n_pass_fds + 2) * sizeof *p);
  if (!p)
    return cli_usage_error(c->cmd, "out of memory");
  c->pass_fds = p;
  c->pass_fds[c->n_pass_fds++] = (int)fd;
  c->pass_fds[c->n_pass_fds] = -1;
  c->opts.pass_fds = c->pass_fds;
  return CLI_CONTINUE;
}

/* "a,b,c" -> {"a", "b", "c", NULL}; "" -> {NULL}, no supplementary groups. */
static int set_extra_groups(cli_config *c, const char *text) {
  size_t n = 0;
  char *p;
  free(c->groups_buf);
  free(c->extra_groups);
  c->groups_buf = strdup(text);
  c->extra_groups = calloc(strlen(text) + 2, sizeof *c->extra_groups);
  if (!c->groups_buf || !c->extra_groups)
    return cli_usage_error(c->cmd, "out of memory");
  for (p = *text ? c->groups_buf : NULL; p;) {
    c->extra_groups[n++] = p;
    p = strchr(p, ',');
    if (p)
      *p++ = '\0';
    if (!*c->extra_groups[n - 1])
      return bad_value(c, "--extra-groups", text, "expected G,G,...");
  }
  c->opts.extra_groups = c->extra_groups;
  return CLI_CONTINUE;
}

/* ---- one option ---- */

static int set_seconds(cli_config *c, const char *opt, const char *text,
                       double *out) {
  if (parse_seconds(text, out) < 0)
    return bad_value(c, opt, text, "expected seconds >= 0, e.g. 1.5, 2m, 1h");
  return CLI_CONTINUE;
}

static int set_number(cli_config *c, int opt, const char *text) {
  subproc_options *o = &c->opts;
  long long v;
  size_t bytes;
  if (opt == OPT_UMASK) {
    if (parse_integer(text, 8, 0, 0777, &v) < 0)
      return bad_value(c, "--umask", text, "expected octal 0 to 777");
    o->set_umask = 1;
    o->umask = (unsigned)v;
  } else if (opt == OPT_PROCESS_GROUP) {
    if (parse_integer(text, 10, 0, 0x7fffffff, &v) < 0)
      return bad_value(c, "--process-group", text, "expected a PGID >= 0");
    o->set_process_group = 1;
    o->process_group = (int)v;
  } else if (opt == OPT_PIPESIZE) {
    if (parse_integer(text, 10, 0, 0x7fffffff, &v) < 0)
      return bad_value(c, "--pipesize", text, "expected bytes >= 0");
    o->pipesize = (long)v;
  } else {
    if (parse_bytes(text, &bytes) < 0 || bytes == 0)
      return bad_value(c, "--max-output", text, "expected bytes > 0, e.g. 64K");
    o->max_output = bytes;
    o->max_output_policy = SUBPROC_LIMIT_TRUNCATE;
  }
  return CLI_CONTINUE;
}

static int set_flag(cli_config *c, int opt) {
  subproc_options *o = &c->opts;
  switch (opt) {
  case OPT_KILL_TREE:
    o->kill_tree = SUBPROC_KILL_TREE_ON;
    break;
  case 'i':
    c->env_clear = 1;
    break;
  case OPT_SHELL:
    o->shell = 1;
    break;
  case OPT_CAPTURE:
    c->capture = 1;
    break;
  case OPT_CHECK:
    o->check = 1;
    break;
  case OPT_TEXT:
    o->text = 1;
    break;
  case OPT_NEW_SESSION:
    o->start_new_session = 1;
    break;
  case OPT_KEEP_FDS:
    o->keep_fds = 1;
    break;
  case OPT_KEEP_SIGNALS:
    o->keep_signals = 1;
    break;
  case OPT_JSON:
    c->json = 1;
    break;
  case OPT_NO_NEW_PRIVS:
    o->no_new_privs = 1;
    break;
  case OPT_FOREGROUND:
    o->foreground = 1;
    break;
  case OPT_CGROUP_MOVE:
    o->cgroup_move_fallback = 1;
    break;
  }
  return CLI_CONTINUE;
}

/* Where an option that keeps its text as given stores it, or NULL. */
static const char **string_slot(cli_config *c, int opt) {
  switch (opt) {
  case 'C':
    return &c->opts.cwd;
  case OPT_EXECUTABLE:
    return &c->opts.executable;
  case OPT_ENCODING:
    return &c->opts.encoding;
  case OPT_ERRORS:
    return &c->opts.errors;
  case OPT_USER:
    return &c->opts.user;
  case OPT_GROUP:
    return &c->opts.group;
  case OPT_STDIN:
    return &c->stdin_spec;
  case OPT_STDOUT:
    return &c->stdout_spec;
  case OPT_STDERR:
    return &c->stderr_spec;
  case OPT_INPUT:
    return &c->input_text;
  case OPT_INPUT_FILE:
    return &c->input_file;
  case OPT_CGROUP:
    return &c->opts.cgroup;
  case OPT_CGROUP_PARENT:
    return &c->opts.cgroup_parent;
  default:
    return NULL;
  }
}

static int apply_option(cli_config *c, int opt, const char *arg) {
  const char **slot;
  switch (opt) {
  case OPT_TIMEOUT:
    return set_seconds(c, "--timeout", arg, &c->opts.timeout);
  case OPT_WAIT_DELAY:
    return set_seconds(c, "--wait-delay", arg, &c->opts.wait_delay);
  case OPT_ENV:
    return add_env_edit(c, arg, 1);
  case 'u':
    return add_env_edit(c, arg, 0);
  case OPT_PASS_FD:
    return add_pass_fd(c, arg);
  case OPT_EXTRA_GROUPS:
    return set_extra_groups(c, arg);
  case OPT_RLIMIT:
    return cli_add_rlimit(c, arg);
  case OPT_PDEATHSIG:
    return cli_set_pdeathsig(c, arg);
  case OPT_UMASK:
  case OPT_PROCESS_GROUP:
  case OPT_PIPESIZE:
  case OPT_MAX_OUTPUT:
    return set_number(c, opt, arg);
  case OPT_MEMORY_MAX:
  case OPT_PIDS_MAX:
  case OPT_CPU_MAX:
    return set_cgroup_limit(c, opt, arg);
  default:
    break;
  }
  if ((slot = string_slot(c, opt)) == NULL)
    return set_flag(c, opt);
  *slot = arg;
  return CLI_CONTINUE;
}

/* ---- getopt ---- */

/* getopt_long takes unambiguous abbreviations (--time); name the others. */
static int is_ambiguous(const char *given) {
  size_t len, i, hits = 0;
  if (strncmp(given, "--", 2) != 0)
    return 0;
  given += 2;
  len = strcspn(given, "=");
  for (i = 0; long_options[i].name; i++)
    hits += strncmp(long_options[i].name, given, len) == 0;
  return hits > 1;
}

static int getopt_error(const cli_config *c, int ch, char **argv) {
  const char *given = argv[optind - 1];
  if (ch == ':')
    return cli_usage_error(c->cmd, "option '%s' needs a value", given);
  if (is_ambiguous(given))
    return cli_usage_error(c->cmd, "option '%s' is ambiguous", given);
  if (optopt > 0 && optopt < 128 && isprint(optopt))
    return cli_usage_error(c->cmd, "invalid option -- '%c'", optopt);
  return cli_usage_error(c->cmd, "invalid option '%s'", given);
}

static int parse_options(cli_config *c, int argc, char **argv) {
  int ch, status = CLI_CONTINUE;
  optind = 1;
  opterr = 0;
  while (status == CLI_CONTINUE &&
         (ch = getopt_long(argc, argv, "+:hC:iu:", long_options, NULL)) != -1) {
    if (ch == 'h') {
      cli_help(c->cmd, stdout);
      return cli_finish(0);
    }
    if (ch == '?' || ch == ':')
      return getopt_error(c, ch, argv);
    status = apply_option(c, ch, optarg);
  }
  c->args = argv + optind;
  c->n_args = (size_t)(argc - optind);
  return status;
}

/* ---- preparing the options struct ---- */

static int env_has_name(const char *entry, const char *name, size_t len) {
  return strncmp(entry, name, len) == 0 && entry[len] == '=';
}

static void env_apply(const char **env, size_t *n, const cli_env_edit *edit) {
  const char *eq = strchr(edit->text, '=');
  size_t len = eq ? (size_t)(eq - edit->text) : strlen(edit->text), i, k = 0;
  for (i = 0; i < *n; i++)
    if (!env_has_name(env[i], edit->text, len))
      env[k++] = env[i];
  *n = k;
  if (edit->set)
    env[(*n)++] = edit->text;
}

/* The child's environment: environ (unless --env-clear), then each
 * --env/--unset in the order given. */
static int build_env(cli_config *c) {
  size_t base = 0, n, i;
  if (!c->env_clear && !c->n_env_edits)
    return 0;
  while (!c->env_clear && environ[base])
    base++;
  c->env = malloc((base + c->n_env_edits + 1) * sizeof *c->env);
  if (!c->env)
    return -1;
  for (n = 0; n < base; n++)
    c->env[n] = environ[n];
  for (i = 0; i < c->n_env_edits; i++)
    env_apply(c->env, &n, &c->env_edits[i]);
  c->env[n] = NULL;
  c->opts.env = c->env;
  return 0;
}

static int read_all(FILE *f, char **buf, size_t *len) {
  size_t cap = 0, got;
  char *p;
  for (*len = 0;; *len += got) {
    if (cap - *len < 4096) {
      cap = cap ? cap * 2 : 65536;
      if (!(p = realloc(*buf, cap))) {
        errno = ENOMEM;
        return -1;
      }
      *buf = p;
    }
    got = fread(*buf + *len, 1, cap - *len, f);
    if (got == 0)
      return ferror(f) ? -1 : 0;
  }
}

/* --input-file FILE, or - for the tool's own stdin. */
static int read_input_file(cli_config *c) {
  int from_stdin = strcmp(c->input_file, "-") == 0;
  FILE *f = from_stdin ? stdin : fopen(c->input_file, "rb");
  int rc;
  if (!f)
    return -1;
  rc = read_all(f, &c->input_buf, &c->opts.input_len);
  if (!from_stdin)
    fclose(f);
  c->opts.input = c->input_buf;
  return rc;
}

static int set_redirect(cli_config *c, subproc_redirect *r, const char *spec,
                        int allow_stdout) {
  if (!spec)
    return 0;
  if (strcmp(spec, "null") == 0)
    *r = SUBPROC_REDIRECT_DEVNULL;
  else if (allow_stdout && strcmp(spec, "stdout") == 0)
    *r = SUBPROC_REDIRECT_STDOUT;
  else if (!*spec)
    return bad_value(c, r == &c->opts.in ? "--stdin" : "--stdout/--stderr",
                     spec, "expected FILE or null");
  else
    *r = SUBPROC_REDIRECT_PATH(spec);
  return 0;
}

static int check_input(cli_config *c) {
  if (c->input_text && c->input_file)
    return cli_usage_error(c->cmd,
                           "--input and --input-file cannot be used together");
  if ((c->input_text || c->input_file) && c->stdin_spec)
    return cli_usage_error(
        c->cmd, "--stdin cannot be used with --input or --input-file");
  if (c->input_text) {
    c->opts.input = c->input_text;
    c->opts.input_len = strlen(c->input_text);
  } else if (c->input_file && read_input_file(c) < 0) {
    fprintf(stderr, "subproc: cannot read '%s': %s\n", c->input_file,
            strerror(errno));
    return CLI_EXIT_FAILURE;
  }
  return 0;
}

static int prepare(cli_config *c) {
  subproc_options *o = &c->opts;
  int st;
  if (!c->n_args)
    return cli_usage_error(c->cmd, "missing %s",
                           strcmp(c->cmd, "pipe") == 0 ? "CMD"
                           : o->shell                  ? "COMMAND"
                                                       : "PROGRAM");
  if ((st = check_input(c)) != 0)
    return st;
  if (set_redirect(c, &o->in, c->stdin_spec, 0) ||
      set_redirect(c, &o->out, c->stdout_spec, 0) ||
      set_redirect(c, &o->err, c->stderr_spec, 1))
    return CLI_EXIT_FAILURE;
  if (build_env(c) < 0)
    return cli_usage_error(c->cmd, "out of memory");
  return CLI_CONTINUE;
}

int cli_parse(cli_config *c, int argc, char **argv) {
  int st;
  memset(c, 0, sizeof *c);
  c->cmd = argv[0];
  st = parse_options(c, argc, argv);
  return st == CLI_CONTINUE ? prepare(c) : st;
}

void cli_config_free(cli_config *c) {
  free(c->input_buf);
  free(c->env_edits);
  free(c->env);
  free(c->pass_fds);
  free(c->groups_buf);
  free(c->extra_groups);
  free(c->rlimits);
  memset(c, 0, sizeof *c);
}
