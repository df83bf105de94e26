/* `subproc split`, `subproc quote` and `subproc cmdline`: shlex.split,
 * shlex.join and subprocess.list2cmdline for shell scripts. */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

static const struct option word_options[] = {{"null", no_argument, NULL, '0'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};

/* Options end at the first non-option or "--": `subproc quote -- -x`.
 * *first receives the index of the first operand. */
static int parse_word_options(int argc, char **argv, const char *optstring,
                              int *null_terminated, int *first) {
  int ch;
  optind = 1;
  opterr = 0;
  while ((ch = getopt_long(argc, argv, optstring, word_options, NULL)) != -1) {
    if (ch == 'h') {
      cli_help(argv[0], stdout);
      return cli_finish(0);
    }
    if (ch == '0' && null_terminated) {
      *null_terminated = 1;
      continue;
    }
    if (optopt > 0 && optopt < 128 && isprint(optopt))
      return cli_usage_error(argv[0], "invalid option -- '%c'", optopt);
    return cli_usage_error(argv[0], "invalid option '%s'", argv[optind - 1]);
  }
  *first = optind;
  return CLI_CONTINUE;
}

static void print_words(char **words, size_t n, int null_terminated) {
  size_t i;
  for (i = 0; i < n; i++) {
    fputs(words[i], stdout);
    putchar(null_terminated ? '\0' : '\n');
  }
}

int cli_cmd_split(int argc, char **argv) {
  int null_terminated = 0, first = 0;
  char **words = NULL;
  size_t n;
  subproc_error e;
  int st = parse_word_options(argc, argv, "+h0", &null_terminated, &first);
  if (st != CLI_CONTINUE)
    return st;
  if (argc - first != 1)
    return cli_usage_error(argv[0], "expected one STRING, got %d",
                           argc - first);
  memset(&e, 0, sizeof e);
  if (subproc_split(argv[first], &words, &n, &e) < 0) {
    fprintf(stderr, "subproc: split: %s\n",
            e.message[0] ? e.message : "cannot split the string");
    return CLI_EXIT_FAILURE;
  }
  print_words(words, n, null_terminated);
  subproc_buffer_free(words);
  return cli_finish(0);
}

/* quote and cmdline: every operand joined into one line. */
static int print_joined(int argc, char **argv,
                        char *(*join)(const char *const *)) {
  int first = 0;
  int st = parse_word_options(argc, argv, "+h", NULL, &first);
  char *line;
  if (st != CLI_CONTINUE)
    return st;
  line = join((const char *const *)(argv + first));
  if (!line) {
    fprintf(stderr, "subproc: %s: out of memory\n", argv[0]);
    return CLI_EXIT_FAILURE;
  }
  puts(line);
  subproc_buffer_free(line);
  return cli_finish(0);
}

int cli_cmd_quote(int argc, char **argv) {
  return print_joined(argc, argv, subproc_join);
}

int cli_cmd_cmdline(int argc, char **argv) {
  return print_joined(argc, argv, subproc_list2cmdline);
}
