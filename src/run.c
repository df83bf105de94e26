/* The run family: run, call, check_call, check_output, getoutput,
 * getstatusoutput, built on popen + communicate, for every backend. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "process.h"

static const subproc_options no_options;

/* "Command 'ls -l' returned non-zero exit status 2." as Python says it.
 * args as the caller gave them (before the shell is added): one item is
 * shown as it is, as Python shows a string command; more are joined. */
static int called_error(const char *const *args, int returncode,
                        subproc_error *err) {
  char *cmd = args[1] ? subproc_join(args) : NULL;
  char how[128];
  subproc__os_status_text(returncode, how, sizeof how);
  subproc__fail(err, SUBPROC_ECALLED, 0, "check", args[0], -1,
                "Command '%s' %s.", cmd ? cmd : args[0], how);
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

/* Timeout: end the work (the tree too when asked), keep what was read.
 * A kill that fails is reported at once: the child may run for long. */
static int finish_timeout(subproc *p, subproc_result **res,
                          subproc_error *err) {
  int rc = subproc__kill_all(p);
  if (rc == 0) {
    subproc__drain_after_kill(p, NULL);
    subproc__wait_until(p, -1.0);
  }
  subproc_result_free(*res);
  *res = NULL;
  if (subproc__make_result(p, 0, res) == 0)
    (*res)->timed_out = 1;
  if (rc < 0)
    return subproc__fail(err, rc, -rc, "kill", NULL, -1,
                         "kill '%s' after its timeout: %s", p->args[0],
                         subproc_strerror(rc));
  return SUBPROC_ETIMEDOUT; /* err keeps communicate's TimeoutExpired */
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
  subproc_options po;
  int rc = subproc__run_options(o, &po, err);
  if (rc == 0)
    rc = cmd ? subproc_popen_cmd(cmd, &po, &p, err)
             : subproc_popen(argv, &po, &p, err);
  if (rc < 0)
    return rc;
  double timeout = o->timeout;
  rc = subproc__communicate_final(p, o->input, o->input_len, timeout, out, err);
  if (rc == SUBPROC_ETIMEDOUT) {
    rc = finish_timeout(p, out, err);
  } else if (rc < 0 && (!*out || (*out)->returncode == SUBPROC_NO_RETURNCODE)) {
    /* Python's run kills the child on any exception. */
    subproc__kill_all(p);
    subproc__wait_until(p, -1.0);
    if (!*out) /* the child was started: a result all the same */
      subproc__make_result(p, 0, out);
  } else if (rc == 0 && o->check && (*out)->returncode != 0) {
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
  return called_error(argv, status, err);
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

int subproc_getstatusoutput(const char *cmd, const char *encoding,
                            const char *errors, int *status, char **output,
                            size_t *output_len, subproc_error *err) {
  if (output)
    *output = NULL;
  if (output_len)
    *output_len = 0;
  if (!cmd)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "args", NULL, -1,
                         "getstatusoutput: NULL command");
  subproc_options o = {
      .shell = 1, .text = 1, .encoding = encoding, .errors = errors};
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
  if (output_len)
    *output_len = r->out_len;
  if (output) {
    *output = r->out;
    r->out = NULL;
  }
  subproc_result_free(r);
  return 0;
}

int subproc_getoutput(const char *cmd, const char *encoding, const char *errors,
                      char **output, size_t *output_len, subproc_error *err) {
  return subproc_getstatusoutput(cmd, encoding, errors, NULL, output,
                                 output_len, err);
}
