/* The run family: run, call, check_call, check_output, getoutput,
 * getstatusoutput, built on popen + communicate, for every backend. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const subproc_options no_options;

static int kill_tree_enabled(const subproc_options *o) {
  if (o->kill_tree == SUBPROC_KILL_TREE_AUTO)
    return o->start_new_session || o->set_process_group;
  return o->kill_tree == SUBPROC_KILL_TREE_ON;
}

/* "Command 'ls -l' returned non-zero exit status 2." as Python says it.
 * args as the caller gave them (before the shell is added): one item is
 * shown as it is, as Python shows a string command; more are joined. */
static int called_error(const char *const *args, int returncode,
                        subproc_error *err) {
  char *cmd = args[1] ? subproc_join(args) : NULL;
  const char *shown = cmd ? cmd : args[0];
#if defined(_WIN32)
  /* No signals: the status is a DWORD (0xC0000005 reads as negative). */
  subproc__fail(err, SUBPROC_ECALLED, 0, "check", args[0], -1,
                "Command '%s' returned non-zero exit status %u.", shown,
                (unsigned)returncode);
#else
  if (returncode < 0)
    subproc__fail(err, SUBPROC_ECALLED, 0, "check", args[0], -1,
                  "Command '%s' died with signal %d (%s).", shown, -returncode,
                  strsignal(-returncode));
  else
    subproc__fail(err, SUBPROC_ECALLED, 0, "check", args[0], -1,
                  "Command '%s' returned non-zero exit status %d.", shown,
                  returncode);
#endif
  if (err)
    err->returncode = returncode;
  free(cmd);
  return SUBPROC_ECALLED;
}

int subproc_check_returncode(const subproc_result *r, subproc_error *err) {
  if (!r)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "check", NULL, -1,
                         "check_returncode: NULL result");
  if (r->returncode == 0)
    return 0;
  return called_error(r->args, r->returncode, err);
}

/* Timeout: end the work (the tree too when asked), keep what was read. */
/* err keeps communicate's TimeoutExpired detail: nothing here writes it. */
static int finish_timeout(subproc *p, const subproc_options *o,
                          subproc_result **res) {
  if (kill_tree_enabled(o))
    subproc_send_signal_group(p, SIGKILL);
  subproc_kill(p);
  subproc__drain_after_kill(p, NULL);
  subproc_wait(p, SUBPROC_FOREVER, NULL, NULL);
  subproc_result_free(*res);
  *res = NULL;
  if (subproc__make_result(p, 0, res) == 0)
    (*res)->timed_out = 1;
  return SUBPROC_ETIMEDOUT;
}

/* cmd: the string form (Popen("...")), which the Windows backend passes
 * through as the command line; else argv. */
static int run_impl(const char *const *argv, const char *cmd,
                    const subproc_options *opts, subproc_result **res,
                    subproc_error *err) {
  const subproc_options *o = opts ? opts : &no_options;
  subproc_result *local = NULL;
  subproc_result **out = res ? res : &local;
  *out = NULL;
  subproc *p = NULL;
  int rc = cmd ? subproc_popen_cmd(cmd, o, &p, err)
               : subproc_popen(argv, o, &p, err);
  if (rc < 0)
    return rc;
  double timeout = o->timeout > 0 ? o->timeout : SUBPROC_FOREVER;
  rc = subproc_communicate(p, o->input, o->input_len, timeout, out, err);
  if (rc == SUBPROC_ETIMEDOUT) {
    rc = finish_timeout(p, o, out);
  } else if (rc < 0) {
    /* Python's run kills the child on any exception. */
    subproc_kill(p);
    subproc_wait(p, SUBPROC_FOREVER, NULL, NULL);
    if (!*out) /* the child was started: a result all the same */
      subproc__make_result(p, 0, out);
  } else if (o->check && (*out)->returncode != 0) {
    const char *const cmd_argv[] = {cmd, NULL};
    rc = called_error(argv ? argv : cmd_argv, (*out)->returncode, err);
  }
  subproc_free(p);
  subproc_result_free(local);
  return rc;
}

int subproc_run(const char *const *argv, const subproc_options *opts,
                subproc_result **res, subproc_error *err) {
  return run_impl(argv, NULL, opts, res, err);
}

int subproc_run_cmd(const char *cmd, const subproc_options *opts,
                    subproc_result **res, subproc_error *err) {
  return run_impl(NULL, cmd, opts, res, err);
}

int subproc_call(const char *const *argv, const subproc_options *opts,
                 int *returncode, subproc_error *err) {
  subproc_options o = opts ? *opts : no_options;
  o.check = 0;
  subproc_result *r = NULL;
  int rc = subproc_run(argv, &o, &r, err);
  if (rc == 0 && returncode)
    *returncode = r->returncode;
  subproc_result_free(r);
  return rc;
}

int subproc_check_call(const char *const *argv, const subproc_options *opts,
                       subproc_error *err) {
  int status = 0;
  int rc = subproc_call(argv, opts, &status, err);
  if (rc < 0)
    return rc;
  if (status == 0)
    return 0;
  char **args = subproc__argv_dup(argv);
  rc = called_error(args ? (const char *const *)args : argv, status, err);
  free(args);
  return rc;
}

int subproc_check_output(const char *const *argv, const subproc_options *opts,
                         subproc_result **res, subproc_error *err) {
  subproc_options o = opts ? *opts : no_options;
  if (o.out.kind != SUBPROC_INHERIT || o.capture_output)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "stdout", NULL, -1,
                         "stdout argument not allowed, it will be overridden");
  o.out.kind = SUBPROC_PIPE;
  o.check = 1;
  return subproc_run(argv, &o, res, err);
}

int subproc_getstatusoutput(const char *cmd, int *status, char **output,
                            subproc_error *err) {
  if (output)
    *output = NULL;
  if (!cmd)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "args", NULL, -1,
                         "getstatusoutput: NULL command");
  subproc_options o = {.shell = 1, .text = 1};
  o.out.kind = SUBPROC_PIPE;
  o.err.kind = SUBPROC_STDOUT;
  subproc_result *r = NULL;
  int rc = subproc_run_cmd(cmd, &o, &r, err);
  if (rc < 0) {
    subproc_result_free(r);
    return rc;
  }
  if (r->out_len && r->out[r->out_len - 1] == '\n')
    r->out[--r->out_len] = '\0';
  if (status)
    *status = r->returncode;
  if (output) {
    *output = r->out;
    r->out = NULL;
  }
  subproc_result_free(r);
  return 0;
}

int subproc_getoutput(const char *cmd, char **output, subproc_error *err) {
  return subproc_getstatusoutput(cmd, NULL, output, err);
}
