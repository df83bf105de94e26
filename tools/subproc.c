/* subproc: Python's subprocess module from the shell.
 *
 *   subproc run [OPTIONS] [--] PROGRAM [ARG...]
 *   subproc pipe [OPTIONS] -- CMD [ARG...] '|' CMD [ARG...] ...
 *   subproc split|quote|cmdline ...
 *
 * Uses only the public API in subproc.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tool.h"

static const char help_overview[] =
    "Usage: subproc COMMAND [OPTIONS] [ARG...]\n"
    "Run programs the way Python's subprocess module does, from the shell.\n"
    "\n"
    "Commands:\n"
    "  run [OPTIONS] [--] PROGRAM [ARG...]\n"
    "                      run PROGRAM and exit with its status\n"
    "  pipe [OPTIONS] -- CMD [ARG...] '|' CMD [ARG...] ...\n"
    "                      run a pipeline without a shell (pipefail status)\n"
    "  parallel [-j N] [OPTIONS] [-- CMD [ARG...] [::: VALUE...]]\n"
    "                      run jobs N at a time (xargs -P, GNU parallel)\n"
    "  split [-0] [--] STRING\n"
    "                      shlex.split: print one word per line\n"
    "  quote [--] ARG...   shlex.join: print the ARGs as one shell-safe line\n"
    "  cmdline [--] ARG... list2cmdline: print one Windows command line\n"
    "  help [COMMAND]      show the help of COMMAND\n"
    "\n"
    "Options:\n"
    "  -h, --help          show this help and exit\n"
    "  -V, --version       show the version and exit\n"
    "\n"
    "Exit status of run and pipe: the child's status, 128+N if it died from\n"
    "signal N, 124 if the timeout expired, 125 if subproc itself failed (bad\n"
    "usage, bad option value), 126 if PROGRAM could not be executed, 127 if\n"
    "it was not found. See subproc(1).\n";

static const char help_run[] =
    "Usage: subproc run [OPTIONS] [--] PROGRAM [ARG...]\n"
    "       subproc run [OPTIONS] --shell [--] 'COMMAND' [ARG0 ARG...]\n"
    "Run PROGRAM with stdin, stdout and stderr inherited unless redirected,\n"
    "and exit with its status. Options stop at the first non-option.\n"
    "\n"
    "Time and termination:\n"
    "  --timeout SECONDS     kill the child after SECONDS (1.5, 2m, 1h; 0 = "
    "none)\n"
    "                        and exit with 124\n"
    "  --kill-tree           on timeout, kill the child's whole process group\n"
    "  --wait-delay SECONDS  once the child has exited, stop reading output\n"
    "                        held open by its descendants after SECONDS\n"
    "Program and environment:\n"
    "  -C, --cwd DIR         run in DIR\n"
    "  --env NAME=VALUE      set a variable (repeatable)\n"
    "  -u, --unset NAME      remove a variable (repeatable)\n"
    "  -i, --env-clear       start from an empty environment\n"
    "  --executable PATH     execute PATH, with PROGRAM as argv[0]\n"
    "  --shell               run 'COMMAND' with /bin/sh -c\n"
    "Standard streams:\n"
    "  --stdin FILE|null     read stdin from FILE or /dev/null\n"
    "  --input TEXT          write TEXT to the child's stdin, then close it\n"
    "  --input-file FILE     the same with the bytes of FILE (- = stdin)\n"
    "  --stdout FILE|null    write stdout to FILE (truncated) or /dev/null\n"
    "  --stderr FILE|null|stdout\n"
    "                        write stderr to FILE, /dev/null or stdout\n"
    "  --capture             capture stdout and stderr, print them at the "
    "end\n"
    "  --max-output BYTES    keep at most BYTES (64K, 1M) of each captured\n"
    "                        stream; the rest is read and dropped\n"
    "  --text                text mode: decode output to UTF-8, universal\n"
    "                        newlines\n"
    "  --encoding ENC        the child's encoding (implies --text)\n"
    "  --errors MODE         strict, replace, ignore, backslashreplace or\n"
    "                        surrogateescape\n"
    "  --pipesize N          pipe buffer size in bytes (Linux)\n"
    "Process attributes:\n"
    "  --umask OCTAL         set the umask\n"
    "  --user U              run as user U (name or uid)\n"
    "  --group G             run as group G (name or gid)\n"
    "  --extra-groups G,G    supplementary groups ('' = none)\n"
    "  --new-session         run in a new session (setsid)\n"
    "  --process-group PGID  join process group PGID (0 = a new one)\n"
    "  --pass-fd N           keep file descriptor N open (repeatable)\n"
    "  --keep-fds            keep every inheritable descriptor open\n"
    "  --keep-signals        keep ignored signals (SIGPIPE...) ignored\n"
    "Limits and privileges (POSIX):\n"
    "  --rlimit RES=SOFT[:HARD]\n"
    "                        set a resource limit (repeatable): nofile, cpu,\n"
    "                        as, core, nproc, fsize, stack, memlock, ... or a\n"
    "                        number; values are numbers or 'unlimited'; one\n"
    "                        value sets both, an empty one keeps the current\n"
    "  --pdeathsig SIG       send SIG (KILL, TERM, 9...) to the child if\n"
    "                        subproc dies first (Linux)\n"
    "  --no-new-privs        exec can never grant privileges (Linux)\n"
    "  --foreground          give the terminal to the child's process group\n"
    "                        until it exits (job control, as a shell does)\n"
    "Containment (Linux, cgroup v2):\n"
    "  --cgroup DIR          start the child in the existing cgroup DIR\n"
    "  --cgroup-parent DIR   start it in a fresh cgroup under DIR: a timeout\n"
    "                        kills everything in it, even what left the\n"
    "                        process group; removed when the child ends\n"
    "  --cgroup-move-fallback  where clone3 cannot start it inside, let the\n"
    "                        child move itself in before it runs anything\n"
    "  --memory-max BYTES    limits of the fresh cgroup (64M, 1G); each needs\n"
    "  --pids-max N          its controller in DIR/cgroup.subtree_control\n"
    "  --cpu-max CPUS        (0.5 = half a CPU)\n"
    "Result:\n"
    "  --check               report a non-zero exit status as an error\n"
    "  --json                print one JSON object describing the run\n"
    "  -h, --help            show this help and exit\n"
    "\n"
    "Exit status: the child's status, 128+N if it died from signal N, 124 on\n"
    "timeout, 125 if subproc failed, 126 if PROGRAM could not be executed,\n"
    "127 if it was not found. See subproc(1) for the JSON fields.\n";

static const char help_pipe[] =
    "Usage: subproc pipe [OPTIONS] -- CMD [ARG...] '|' CMD [ARG...] ...\n"
    "Run CMD | CMD | ... without a shell: each '|' (quoted, so the shell\n"
    "passes it through) starts the next stage. The exit status is pipefail's:\n"
    "the last non-zero stage status, or 0.\n"
    "\n"
    "Options are those of 'subproc run' except --shell, --executable and\n"
    "--foreground:\n"
    "--stdin and --input feed the first stage, --stdout takes the last\n"
    "stage's output, --stderr applies to every stage, --capture takes the\n"
    "last stage's stdout and every stage's stderr, --timeout applies to\n"
    "the whole pipeline, --check fails on a pipefail status, and --json\n"
    "prints every stage's status.\n";

static const char help_parallel[] =
    "Usage: subproc parallel [OPTIONS] -- CMD [ARG...] ::: VALUE...\n"
    "       subproc parallel [OPTIONS] -- CMD [ARG...] < VALUES\n"
    "       subproc parallel [OPTIONS] < COMMANDS\n"
    "Run one job per VALUE (given after ':::', else one per line of stdin),\n"
    "N at a time: CMD ARG... VALUE, or with '{}' in a word, VALUE put there.\n"
    "Without CMD each line of stdin is a command for /bin/sh -c. Each job's\n"
    "stdout and stderr are kept and written when it ends, so the outputs of\n"
    "two jobs never interleave (completion order).\n"
    "\n"
    "  -j, --jobs N          at most N jobs at once (default: the CPUs)\n"
    "  --timeout SECONDS     kill a job (and its process group) after SECONDS\n"
    "  --halt never|soon|now[,fail=1]\n"
    "                        after the first failure start no new job (soon)\n"
    "                        or also kill the running ones (now)\n"
    "  --json                one JSON object per job, as each completes\n"
    "  --progress, --no-progress\n"
    "                        a progress line on stderr (default: when it is a\n"
    "                        terminal): done, running, failed, ETA\n"
    "  -h, --help            show this help and exit\n"
    "\n"
    "SIGINT, SIGTERM and SIGHUP are forwarded to every running job's process\n"
    "group; no job starts after them and the running ones are collected.\n"
    "Exit status (as GNU parallel): the number of failed jobs (101 for more\n"
    "than 100); with --halt, the status of the job that failed first; 125 if\n"
    "subproc itself failed.\n";

static const char help_split[] =
    "Usage: subproc split [-0] [--] STRING\n"
    "Split STRING like a POSIX shell (Python's shlex.split) and print one\n"
    "word per line.\n"
    "\n"
    "  -0, --null    end each word with a NUL byte instead of a newline\n"
    "  -h, --help    show this help and exit\n";

static const char help_quote[] =
    "Usage: subproc quote [--] ARG...\n"
    "Print the ARGs as one line that a POSIX shell splits back into them\n"
    "(Python's shlex.join).\n";

static const char help_cmdline[] =
    "Usage: subproc cmdline [--] ARG...\n"
    "Print the ARGs as one Windows command line, quoted by the MS C runtime\n"
    "rules (Python's subprocess.list2cmdline).\n";

static const struct command {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *help;
} commands[] = {
    {"run", cli_cmd_run, help_run},
    {"pipe", cli_cmd_pipe, help_pipe},
    {"parallel", cli_cmd_parallel, help_parallel},
    {"split", cli_cmd_split, help_split},
    {"quote", cli_cmd_quote, help_quote},
    {"cmdline", cli_cmd_cmdline, help_cmdline},
};

static const struct command *find_command(const char *name) {
  size_t i;
  for (i = 0; i < sizeof commands / sizeof *commands; i++)
    if (strcmp(commands[i].name, name) == 0)
      return &commands[i];
  return NULL;
}

int cli_help(const char *cmd, FILE *to) {
  const struct command *c = *cmd ? find_command(cmd) : NULL;
  if (*cmd && !c)
    return 0;
  fputs(c ? c->help : help_overview, to);
  return 1;
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "subproc: %s%s", cmd ? cmd : "", cmd ? ": " : "");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, " (see 'subproc %s%s--help')\n", cmd ? cmd : "",
          cmd ? " " : "");
  return CLI_EXIT_FAILURE;
}

int cli_finish(int status) {
  if (fflush(stdout) == 0 && !ferror(stdout))
    return status;
  fprintf(stderr, "subproc: write error: %s\n", strerror(errno));
  return CLI_EXIT_FAILURE;
}

static int help_command(int argc, char **argv) {
  if (argc > 2)
    return cli_usage_error("help", "expected at most one COMMAND");
  if (!cli_help(argc == 2 ? argv[1] : "", stdout))
    return cli_usage_error(NULL, "unknown command '%s'", argv[1]);
  return cli_finish(0);
}

static int is_arg(const char *arg, const char *short_name,
                  const char *long_name) {
  return strcmp(arg, short_name) == 0 || strcmp(arg, long_name) == 0;
}

int main(int argc, char **argv) {
  const struct command *c;
  if (argc < 2) {
    fputs(help_overview, stderr);
    return CLI_EXIT_FAILURE;
  }
  if (is_arg(argv[1], "-h", "--help") || strcmp(argv[1], "help") == 0)
    return help_command(argc - 1, argv + 1);
  if (is_arg(argv[1], "-V", "--version")) {
    printf("subproc %s\n", subproc_version());
    return cli_finish(0);
  }
  if ((c = find_command(argv[1])) != NULL)
    return c->run(argc - 1, argv + 1);
  if (argv[1][0] == '-')
    return cli_usage_error(NULL, "invalid option '%s'", argv[1]);
  return cli_usage_error(NULL, "unknown command '%s'", argv[1]);
}
