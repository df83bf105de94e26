/* Internal interfaces shared by the portable core and the backends.
 * Every non-static name here starts with subproc__. */
#ifndef SUBPROC_INTERNAL_H
#define SUBPROC_INTERNAL_H

#include <stdarg.h>
#include <signal.h>
#include <stddef.h>

#include "subproc.h"

#if defined(__MINGW32__)
/* mingw's printf archetype is msvcrt's unless the C99 stdio is selected. */
#define SUBPROC__PRINTF(f, a)                                                  \
  __attribute__((format(__MINGW_PRINTF_FORMAT, f, a)))
#elif defined(__GNUC__)
#define SUBPROC__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define SUBPROC__PRINTF(f, a)
#endif

/* Windows has no SIGKILL: its send_signal maps it to TerminateProcess. */
#ifndef SIGKILL
#define SIGKILL 9
#endif

/* ---- growable byte buffer (always NUL-terminated when data != NULL) ---- */
typedef struct subproc__buf {
  char *data;
  size_t len, cap;
} subproc__buf;

/* 0 or -ENOMEM. */
int subproc__buf_reserve(subproc__buf *b, size_t extra);
int subproc__buf_append(subproc__buf *b, const void *p, size_t n);
int subproc__buf_putc(subproc__buf *b, char c);
/* Hands the data over (never NULL on success: "" for an empty buffer). */
char *subproc__buf_take(subproc__buf *b, size_t *len);
void subproc__buf_free(subproc__buf *b);

/* ---- errors ---- */
/* Fill err (if not NULL) and return code. step is a name of
 * SUBPROC_STEP_MAP. path may be NULL, fd -1; path is kept by pointer, so it
 * must be the caller's argument (or static): a string the library made is
 * named in the message only (subproc__fail_os_named, or the fmt).
 * The message is "<fmt...>" when fmt is given, else built from step, path
 * and the code: "chdir '/nope': No such file or directory". */
int subproc__fail(subproc_error *err, int code, int os_errno, const char *step,
                  const char *path, int fd, const char *fmt, ...)
    SUBPROC__PRINTF(7, 8);
/* The same with a ready message built from step/path/os_errno. */
int subproc__fail_os(subproc_error *err, int os_errno, const char *step,
                     const char *path, int fd);
/* The same, with name in the message only (err->path stays NULL). */
int subproc__fail_os_named(subproc_error *err, int os_errno, const char *step,
                           const char *name, int fd);
/* The enum of a step name (SUBPROC_STEP_OTHER if unknown). */
subproc_step subproc__step_of(const char *name);
void subproc__error_clear(subproc_error *err);

/* ---- monotonic clock and deadlines ---- */
/* Seconds on a monotonic clock (implemented by the backend). */
double subproc__now(void);
/* NaN, without <math.h>'s isnan (mingw's trips -Wconversion). */
static inline int subproc__isnan(double x) { return x != x; }
/* A timeout (SUBPROC_FOREVER = 0: none; negative: look once) as a
 * deadline on subproc__now(): -1 = none, 0.0 = already passed. */
double subproc__deadline(double timeout);
/* Milliseconds left until deadline for poll(); -1 when deadline < 0. */
int subproc__ms_left(double deadline);
/* The same for whichever of two deadlines comes first. */
int subproc__ms_left2(double a, double b);

/* ---- text mode (src/text.c) ---- */
typedef struct subproc__decoder subproc__decoder;
/* encoding NULL = the locale's; errors NULL = "strict". Returns 0,
 * SUBPROC_EINVAL (unknown encoding or errors mode) or -ENOMEM. */
int subproc__decoder_new(const char *encoding, const char *errors,
                         int universal_newlines, subproc__decoder **out,
                         subproc_error *err);
/* Decode len bytes (a chunk may end inside a character or between \r and
 * \n) and append UTF-8 to out; final = 1 flushes at EOF. Returns 0,
 * SUBPROC_EDECODE (errors=strict; err->offset = byte offset in the whole
 * stream) or -ENOMEM. */
int subproc__decoder_feed(subproc__decoder *d, const char *in, size_t len,
                          int final, subproc__buf *out, subproc_error *err);
void subproc__decoder_free(subproc__decoder *d);
/* Encode UTF-8 input to encoding (NULL = locale) for a child's stdin. */
int subproc__encode(const char *encoding, const char *errors, const char *in,
                    size_t len, subproc__buf *out, subproc_error *err);
/* The locale's encoding as Python sees it (ASCII "C" locale -> UTF-8). */
const char *subproc__locale_encoding(void);

/* ---- the audit hook (src/audit.c) ---- */
/* Calls the hook, if any: 0, or SUBPROC_ESUBPROCESS when it refuses. */
int subproc__audit(const char *executable, const char *const *argv,
                   const char *cwd, const char *const *env, subproc_error *err);

/* ---- option checks every backend makes (src/options.c) ---- */
/* The argument and option combinations Python rejects on every platform;
 * a backend then checks what only it refuses. */
int subproc__options_validate(const char *const *argv, const subproc_options *o,
                              subproc_error *err);
/* run's options as popen takes them: the [run] fields checked (Python's
 * ValueErrors), input as a stdin PIPE, capture_output as two PIPEs, and
 * every [run] field cleared. */
/* The reserved tail of a public struct (n pointers) is all zero; else
 * SUBPROC_EINVAL, step "reserved": the caller was built against a newer
 * header and set a field this version does not know. */
int subproc__reserved_zero(void *const *reserved, size_t n, const char *what,
                           subproc_error *err);
#define SUBPROC__RESERVED_ZERO(s, what, err)                                   \
  subproc__reserved_zero(                                                      \
      (s)->reserved, sizeof(s)->reserved / sizeof(s)->reserved[0], what, err)
/* The entries of pass_fds before its -1. */
size_t subproc__n_pass_fds(const subproc_options *o);
int subproc__run_options(const subproc_options *o, subproc_options *popen_o,
                         subproc_error *err);

/* ---- environment ---- */
/* Validates "NAME=VALUE" entries: '=' present, name not empty. */
int subproc__env_validate(const char *const *env, subproc_error *err);

/* ---- argv helpers (src/buffer.c) ---- */
/* Copies a NULL-terminated string array into one allocation (free()). */
char **subproc__argv_dup(const char *const *argv);
size_t subproc__argv_len(const char *const *argv);

/* ---- communicate state (portable part, src/communicate.c) ---- */
/* What communicate/run keep from the options after popen returns. */
typedef struct subproc__comm_opts {
  int text;
  char *encoding, *errors; /* owned copies, NULL = defaults */
  long bufsize;
  double wait_delay;
  size_t max_output;
  subproc_limit_policy max_output_policy;
  subproc_output_fn on_output;
  void *on_output_arg;
} subproc__comm_opts;

int subproc__comm_opts_init(subproc__comm_opts *co, const subproc_options *o,
                            subproc_error *err);
void subproc__comm_opts_free(subproc__comm_opts *co);

typedef struct subproc__comm subproc__comm;
/* State kept across communicate calls that time out. */
int subproc__comm_new(subproc__comm **out, const subproc__comm_opts *co,
                      subproc_error *err);
void subproc__comm_free(subproc__comm *c);
/* Remembers input on the first call (text mode: encoded). 1 if input was
 * already set by an earlier call (then new input is SUBPROC_EINVAL). */
int subproc__comm_set_input(subproc__comm *c, const void *in, size_t len,
                            subproc_error *err);
/* The unsent rest of the input; advance() after a write of n bytes. */
const char *subproc__comm_input(subproc__comm *c, size_t *len);
void subproc__comm_input_advance(subproc__comm *c, size_t n);
/* Copy the unsent input so the caller's buffer may go (on a timeout). */
int subproc__comm_input_own(subproc__comm *c);
/* Where to read raw bytes of stream (1 or 2) directly: *room >= 1. */
int subproc__comm_space(subproc__comm *c, int stream, char **dst, size_t *room);
/* n bytes were read into the space: account, decode, limit, stream. 0 or
 * SUBPROC_ELIMIT / SUBPROC_EDECODE / the callback's code / -ENOMEM. */
int subproc__comm_commit(subproc__comm *c, int stream, size_t n,
                         subproc_error *err);
/* The stream reached EOF (flushes the decoder). */
int subproc__comm_eof(subproc__comm *c, int stream, subproc_error *err);
/* SUBPROC_EDECODE (err filled) if a stream failed to decode (errors =
 * strict), else 0: reported once the child has been waited for. */
int subproc__comm_decode_error(const subproc__comm *c, subproc_error *err);
/* Move (snapshot = 0) or copy (snapshot = 1) the output into r. captured[i]
 * says whether stream i+1 was a pipe (else r->out/err stay NULL). */
int subproc__comm_output(subproc__comm *c, subproc_result *r,
                         const int captured[2], int snapshot);

/* What the Popen object keeps for communicate. */
typedef struct subproc__comm_state {
  subproc__comm_opts opts; /* what communicate needs from the options */
  subproc__comm *comm;     /* created on first use, kept across timeouts */
  int captured[2];         /* stdout/stderr were pipes at the first call */
  int started;             /* communicate was called: input is refused */
  int completed;           /* it returned the whole output: a later call
                            returns the same again (Python) */
  double delay_deadline;   /* wait_delay since the child's exit, -1 none */
  int prepared;            /* stdin set up for a stepped communicate */
} subproc__comm_state;

/* Text streams hand their state over to communicate (src/stream.c). */
/* Decoded text that a FILE already holds: kept as it is. */
int subproc__comm_deliver_decoded(subproc__comm *c, int stream,
                                  const char *data, size_t n,
                                  subproc_error *err);
/* The stream's decoder from now on (its partial character and pending \r
 * carry over); c takes ownership. */
void subproc__comm_adopt_decoder(subproc__comm *c, int stream,
                                 subproc__decoder *d);

/* The CompletedProcess of p as it stands (snapshot = 1 copies output). */
int subproc__make_result(subproc *p, int snapshot, subproc_result **res);
/* After a kill: collect what the pipes still hold, for a bounded time. */
int subproc__drain_after_kill(subproc *p, subproc_error *err);
/* Pipelines: `to` writes its communicate input to `from`'s stdin pipe. */
void subproc__move_stdin(subproc *from, subproc *to);
/* p reads pipe end fd (not yet watched by anything) as its stream i:
 * a pipeline's shared stderr or stdout. */
void subproc__adopt_pipe(subproc *p, int i, int fd);
/* kill_tree as the options ask: AUTO is on with a new session or group. */
int subproc__kill_tree_on(const subproc_options *o);

#endif
