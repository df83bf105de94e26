/* subproc.h from C and from C++11 alike: this one file is compiled as C11
 * and as C++11 (-Wall -Wextra -pedantic -Werror) by tests/cpp/CMakeLists.txt,
 * and spawns real children through every SUBPROC_REDIRECT_* macro. It is
 * written in the common subset: no compound literal of a whole struct, no
 * designated initializer, the options set field by field. */
#if !defined(__cplusplus) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* mkstemp, fileno under -std=c11 */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <subproc.h>

static int failures;

static void expect(int ok, const char *what, const char *got) {
  if (!ok) {
    fprintf(stderr, "c_header: %s (got \"%s\")\n", what, got ? got : "NULL");
    failures++;
  }
}

/* Runs argv with o; returns its stdout (malloc'ed) or NULL. */
static char *run(const char *const *argv, const subproc_options *o) {
  subproc_result *r = NULL;
  subproc_error e;
  char *out = NULL;
  if (subproc_run(argv, o, &r, &e) < 0) {
    fprintf(stderr, "c_header: %s\n", e.message);
    failures++;
  } else if (r->out) {
    out = (char *)malloc(r->out_len + 1);
    if (out)
      memcpy(out, r->out, r->out_len + 1);
  }
  subproc_result_free(r);
  return out;
}

int main(void) {
  subproc_options o;
  char path[] = "/tmp/subproc-c-header-XXXXXX";
  const char *echo_both[] = {"sh", "-c", "cat; echo err >&2", NULL};
  const char *echo[] = {"sh", "-c", "echo \"$0\"", "line", NULL};
  char *out;
  FILE *f;
  char buf[64];
  int fd;

  /* PIPE in and out, STDOUT for stderr: through popen + communicate. */
  subproc *p = NULL;
  subproc_error e;
  subproc_result *r = NULL;
  memset(&o, 0, sizeof o);
  o.in = SUBPROC_REDIRECT_PIPE;
  o.out = SUBPROC_REDIRECT_PIPE;
  o.err = SUBPROC_REDIRECT_STDOUT;
  if (subproc_popen(echo_both, &o, &p, &e) < 0) {
    fprintf(stderr, "c_header: popen: %s\n", e.message);
    return 1;
  }
  if (subproc_communicate(p, "in\n", 3, SUBPROC_FOREVER, &r, &e) < 0) {
    fprintf(stderr, "c_header: communicate: %s\n", e.message);
    failures++;
  } else {
    expect(r->out && strcmp(r->out, "in\nerr\n") == 0, "PIPE + STDOUT", r->out);
  }
  subproc_result_free(r);
  subproc_free(p);

  /* DEVNULL for stdin: cat ends at once. */
  memset(&o, 0, sizeof o);
  o.in = SUBPROC_REDIRECT_DEVNULL;
  o.capture_output = 1;
  out = run(echo_both, &o);
  expect(out && strcmp(out, "") == 0, "DEVNULL", out);
  free(out);

  /* PATH, FILE and FD: three children append to one file. */
  fd = mkstemp(path);
  if (fd < 0) {
    perror("mkstemp");
    return 1;
  }
  close(fd);
  memset(&o, 0, sizeof o);
  o.out = SUBPROC_REDIRECT_PATH(path);
  free(run(echo, &o));
  f = fopen(path, "a+");
  remove(path);
  if (!f) {
    perror("fopen");
    return 1;
  }
  o.out = SUBPROC_REDIRECT_FILE(f);
  free(run(echo, &o));
  o.out = SUBPROC_REDIRECT_FD(fileno(f));
  free(run(echo, &o));
  rewind(f);
  memset(buf, 0, sizeof buf);
  expect(fread(buf, 1, sizeof buf - 1, f) == 15 &&
             strcmp(buf, "line\nline\nline\n") == 0,
         "PATH, FILE and FD", buf);
  fclose(f);

  if (failures == 0)
    printf("c_header (%s): every redirect macro works\n",
#ifdef __cplusplus
           "C++"
#else
           "C"
#endif
    );
  return failures != 0;
}
