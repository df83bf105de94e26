/* Helpers shared by the test files (tests/util.c), on every platform. */
#ifndef SUBPROC_TEST_UTIL_H
#define SUBPROC_TEST_UTIL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "subproc.h"
#include "test.h"

/* ---- what differs between the platforms ---- */

/* The returncode of a child that subproc_kill (a timeout, a limit) or
 * subproc_terminate ended: -SIGKILL, -SIGTERM; on Windows the 1 of
 * TerminateProcess(h, 1). */
#ifdef _WIN32
#define TEST_RC_KILLED 1
#define TEST_RC_TERMINATED 1
#else
#define TEST_RC_KILLED (-9)
#define TEST_RC_TERMINATED (-15)
#endif

/* A cwd that does not exist: ENOENT from chdir; Windows' CreateProcess
 * says ERROR_DIRECTORY, NotADirectoryError in Python. */
#ifdef _WIN32
#define TEST_EBADCWD (-ENOTDIR)
#else
#define TEST_EBADCWD (-ENOENT)
#endif

/* message is "<what>: <the system's text for errno_value>": strerror's, or
 * on Windows the text of a Windows error, ending in " [WinError N]". */
#define ASSERT_OS_MESSAGE(message, what, errno_value)                          \
  assert_os_message_at(__FILE__, __LINE__, (message), (what), (errno_value))
void assert_os_message_at(const char *file, int line, const char *message,
                          const char *what, int errno_value);

/* ---- running children ---- */

/* The helper in a mode with options o, stdout captured (o.out is set):
 * HELPER_OUT(o, "echo", "x"). Returns its stdout (free it); fails the case
 * if the run fails. */
#define HELPER_OUT(o, ...)                                                     \
  helper_out((const char *const[]){__VA_ARGS__, NULL}, (o))
char *helper_out(const char *const *args, subproc_options o);
/* argv with options o and stdout captured (o.out is set): its stdout
 * (free it), or NULL when the run fails, with *rc and *e (either may be
 * NULL) saying why. */
char *run_out(const char *const *argv, subproc_options o, int *rc,
              subproc_error *e);
/* subproc_run that must succeed; the result is the caller's to free. */
subproc_result *run_ok(const char *const *argv, subproc_options o);
/* subproc_popen that must succeed. */
subproc *start(const char *const *argv, const subproc_options *o);
/* Kills a child a case left running, collects it and frees p. */
void finish_killed(subproc *p);

/* ---- output ---- */

/* Arguments that exercise every list2cmdline rule, and UTF-8. */
extern const char *const tricky_args[];

/* The helper's `write N` pattern: 'a'..'z', restarting every 64 KiB. */
int write_pattern_ok(const char *p, size_t n);
/* n bytes (malloc'ed) of a non-periodic pattern: a lost, repeated or
 * shifted block shows. */
char *pattern(size_t n);
/* got[0..got_len) equals want[0..want_len); else the first offset that
 * differs is printed. */
#define ASSERT_MEM(got, got_len, want, want_len)                               \
  do {                                                                         \
    ASSERT_EQ((got_len), (want_len));                                          \
    ASSERT((got) != NULL);                                                     \
    ASSERT_EQ(first_diff((got), (want), (want_len)), -1);                      \
  } while (0)
/* First offset where got differs from want, or -1. */
long long first_diff(const char *got, const char *want, size_t n);
/* Fails unless got (n items, NULL-terminated) equals the NULL-terminated
 * want; what names the input in the message. */
void assert_argv_eq(const char *what, char **got, size_t n,
                    const char *const *want);
/* The next line of hex (the helper's `argv`) at *p, decoded into out;
 * NULL at the end. */
char *next_hex_line(char **p, char *out);

/* Random argvs from a small deterministic generator (no libc rand: the
 * same runs everywhere): up to 8 words of up to 23 characters drawn from
 * alphabet. Seed state, then call random_argv_next for each. */
typedef struct random_argv {
  uint32_t state;
  char text[8][24];
  const char *argv[9];
} random_argv;
const char *const *random_argv_next(random_argv *g, const char *alphabet);

/* ---- files, the environment ---- */

/* A directory of this process's own (removed at exit when empty), and a
 * path in it (malloc'ed). */
const char *test_temp_dir(void);
char *test_temp_path(const char *name);
void test_write_file(const char *path, const char *text);
/* The whole file, NUL-terminated (malloc'ed). */
char *test_read_file(const char *path);
/* The file holds exactly text. */
#define ASSERT_FILE_EQ(path, text)                                             \
  do {                                                                         \
    char *got_ = test_read_file(path);                                         \
    if (strcmp(got_, (text)) != 0)                                             \
      TEST_FAIL("file %s:\n  got:      \"%s\"\n  expected: \"%s\"", (path),    \
                got_, (text));                                                 \
    free(got_);                                                                \
  } while (0)
/* A new file at path open for reading and writing (binary): an fd. */
int test_create_file(const char *path);
void test_remove_file(const char *path);
/* A pipe whose ends are not inherited: fds[0] reads, fds[1] writes. */
void test_pipe(int fds[2]);
void test_setenv(const char *name, const char *value);

/* ---- time, processes ---- */

void test_sleep(double seconds);
/* Process pid exists (POSIX: a zombie too); never reaps it. */
int test_process_running(long pid);
/* Waits up to test_slow(seconds) for process pid to be gone, reaping it
 * if it is this process's child (a subreaper's grandchild); 1 if gone. */
int test_process_gone(long pid, double seconds);
/* Kills process pid and waits for it to be gone. */
void test_kill_process(long pid);
/* POSIX: orphaned grandchildren become this process's children, so that
 * they can be checked and reaped (Linux); Windows: nothing to do. */
void test_become_subreaper(void);
#ifndef _WIN32
/* Waits up to test_slow(5) s for every member of process group pgid to be
 * gone, reaping those that were reparented to this process; 1 if gone. */
int group_gone(long pgid);
/* The kernel (or the emulator: valgrind has no pidfd_open) gives pidfds:
 * 1, or 0 (the library then waits without them). */
int test_have_pidfd(void);
#endif

/* ---- SIGPIPE (POSIX; Windows has none) ---- */

/* The process does not ignore SIGPIPE: a stray one kills it. */
void test_sigpipe_default(void);
/* No SIGPIPE is pending or blocked, and its disposition is the default. */
void test_assert_sigpipe_clean(void);

#endif
