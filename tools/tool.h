/* Internal interfaces of the subproc command-line tool (tools/). The tool
 * uses only the public API in subproc.h. */
#ifndef CLI_H
#define CLI_H

#include <stddef.h>

#include "json.h"
#include "subproc.h"

/* Exit statuses of the tool itself (GNU timeout and env conventions). */
#define CLI_EXIT_TIMEOUT 124
#define CLI_EXIT_FAILURE 125
#define CLI_EXIT_CANNOT_INVOKE 126
#define CLI_EXIT_NOT_FOUND 127
/* Returned by the option parser when the command should go on. */
#define CLI_CONTINUE (-1)

#if defined(__GNUC__)
#define CLI_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CLI_PRINTF(f, a)
#endif

typedef struct cli_env_edit {
  const char *text; /* NAME=VALUE to set, or NAME to unset */
  int set;
} cli_env_edit;

/* Everything `run` and `pipe` take on their command line. */
typedef struct cli_config {
  const char *cmd; /* "run" or "pipe", for messages */
  subproc_options opts;
  int json, capture;
  const char *stdin_spec, *stdout_spec, *stderr_spec; /* NULL: inherit */
  const char *input_text, *input_file;
  char *input_buf; /* the contents of input_file */
  cli_env_edit *env_edits;
  size_t n_env_edits;
  int env_clear;
  const char **env; /* built from environ and the edits */
  int *pass_fds;    /* -1-ended, as opts.pass_fds */
  size_t n_pass_fds;
  char *groups_buf; /* --extra-groups, split in place */
  const char **extra_groups;
  subproc_rlimit *rlimits; /* --rlimit, ended by resource -1 */
  size_t n_rlimits;
  char **args; /* PROGRAM [ARG...] (pipe: every stage and its '|') */
  size_t n_args;
} cli_config;

/* Parse `run`/`pipe` options (argv[0] is the command name) and prepare
 * the options struct: CLI_CONTINUE, or the status to exit with
 * (0 after --help, 125 after a usage error already reported). */
int cli_parse(cli_config *c, int argc, char **argv);
void cli_config_free(cli_config *c);

/* --rlimit RESOURCE=SOFT[:HARD] and --pdeathsig SIG (tools/limits.c):
 * CLI_CONTINUE, or 125 after a usage error. */
int cli_add_rlimit(cli_config *c, const char *text);
int cli_set_pdeathsig(cli_config *c, const char *text);

/* "subproc: CMD: <message>" on stderr; returns 125. */
int cli_usage_error(const char *cmd, const char *fmt, ...) CLI_PRINTF(2, 3);
/* Flush stdout; a write error is reported and turns status into 125. */
int cli_finish(int status);
/* Forward SIGINT/SIGTERM/SIGHUP/SIGQUIT to the children o starts (to their
 * process groups when group_leader). */
void cli_forward_signals(subproc_options *o, int group_leader);
/* The help text of one command ("" = the overview); 0 if unknown. */
int cli_help(const char *cmd, FILE *to);

/* Commands: each takes its own argv (argv[0] is the command name). */
int cli_cmd_run(int argc, char **argv);
int cli_cmd_pipe(int argc, char **argv);
int cli_cmd_split(int argc, char **argv);
int cli_cmd_quote(int argc, char **argv);
int cli_cmd_cmdline(int argc, char **argv);
int cli_cmd_parallel(int argc, char **argv);

/* Reporting (tools/report.c). */
/* The exit status for a finished call: 124, the child's status, 128+N,
 * 126/127 for exec failures, 125 for anything else. */
int cli_exit_status(int rc, const subproc_error *e, int returncode,
                    int timed_out);
/* The one-line error message for a failed call. */
void cli_print_error(int rc, const subproc_error *e, const char *program);
void cli_json_args(cli_json *j, const char *const *args);
void cli_json_error(cli_json *j, int rc, const subproc_error *e);
/* A result's fields: "stdout"/"stderr" (+ _truncated, _base64), its
 * "returncode" (null: unknown), "rusage"; r may be NULL. */
void cli_json_outputs(cli_json *j, const subproc_result *r);
void cli_json_returncode(cli_json *j, int returncode);
void cli_json_rusage(cli_json *j, const subproc_result *r);
/* "cgroup": {"memory_peak", "usage_usec", "user_usec", "system_usec"}
 * (each null if unknown), or null without a cgroup of the child's own. */
void cli_json_cgroup(cli_json *j, const subproc_result *r);
/* Seconds on the monotonic clock. */
double cli_now(void);
/* The captured stdout to stdout, then stderr to stderr. */
void cli_write_captured(const subproc_result *r);
/* Write j (plus a newline) to stdout, or report that it could not be
 * built; returns 0 or 125. */
int cli_json_print(cli_json *j);

#endif
