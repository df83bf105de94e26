/*
 * subproc: Python's subprocess module for C and C++.
 *
 * One header, one library. Every call returns 0 (or a documented
 * non-negative value) on success and a negative code on failure: -errno for
 * an operating-system error, or one of the SUBPROC_E* library codes below.
 * Functions that can fail take an optional `subproc_error *` (NULL is fine)
 * that receives the detail a Python exception would carry: the failing step,
 * the path or fd involved and a readable message.
 *
 * Options are plain structs in which all-zero means Python's defaults, so the
 * intended call style is designated initializers:
 *
 *     subproc_result *r = NULL;
 *     subproc_error e;
 *     const char *argv[] = {"ls", "-l", NULL};
 *     int rc = subproc_run(argv, &(subproc_options){.capture_output = 1,
 *                                                  .timeout = 5.0},
 *                          &r, &e);
 *     if (rc < 0) fprintf(stderr, "%s\n", e.message);
 *     else printf("%d: %s", r->returncode, r->out);
 *     subproc_result_free(r);
 *
 * Strings are bytes (UTF-8 recommended). Every array in the options, and
 * every argv, carries its own end instead of a count: arrays of strings
 * (argv, env, extra_groups) and of handles (handle_list) end with NULL,
 * arrays of fds (pass_fds) with -1. Counts go only with byte buffers (input,
 * input_len) and with the two arrays of objects a call takes as a whole
 * (subproc_wait_any's procs, which may hold NULLs, and subproc_pipeline's
 * stages). The library is thread-safe: any number of threads may spawn at
 * once. On one subproc object, subproc_wait,
 * subproc_poll, the signal calls, subproc_returncode and subproc_pid may be
 * called from several threads at once (exactly one reaps; all see the same
 * returncode); the other calls on one object are for one thread at a time.
 *
 * ABI: the structs a caller allocates (options, error, startupinfo, watch,
 * pool_options) keep their size across versions: each ends with a
 * reserved tail that later fields take their room from, zero by
 * zero-initialisation. A library older than the header refuses a set
 * field it does not know (SUBPROC_EINVAL, step "reserved") rather than
 * ignore it. Rules and the abidiff check: docs/abi.md.
 *
 * C++: this header compiles as C++11 and later (see the SUBPROC_REDIRECT_*
 * shorthands for the one difference); include/subproc.hpp is a C++17 layer
 * over it (ownership, std::chrono timeouts, exceptions).
 *
 * Licence: MIT. See docs/python-mapping.md for the name-by-name mapping
 * from Python's subprocess module.
 */
#ifndef SUBPROC_H
#define SUBPROC_H

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------- */
/* Version and export                                                      */
/* ---------------------------------------------------------------------- */

#define SUBPROC_VERSION_MAJOR 0
#define SUBPROC_VERSION_MINOR 1
#define SUBPROC_VERSION_PATCH 0
#define SUBPROC_VERSION_STRING "0.1.0"
/* 0xMMmmpp: compare with SUBPROC_VERSION_HEX >= 0x000100 */
#define SUBPROC_VERSION_HEX                                                    \
  ((SUBPROC_VERSION_MAJOR << 16) | (SUBPROC_VERSION_MINOR << 8) |              \
   SUBPROC_VERSION_PATCH)

/* Windows: exported while building (the objects serve both libraries);
 * imported by users of the DLL (the CMake target defines SUBPROC_SHARED);
 * plain for users of the static library. */
#if defined(_WIN32) && defined(SUBPROC_BUILDING)
#define SUBPROC_API __declspec(dllexport)
#elif defined(_WIN32) && defined(SUBPROC_SHARED)
#define SUBPROC_API __declspec(dllimport)
#elif defined(__GNUC__) && defined(SUBPROC_BUILDING)
#define SUBPROC_API __attribute__((visibility("default")))
#else
#define SUBPROC_API
#endif

/* The version of the library actually linked (may differ from the header). */
SUBPROC_API const char *subproc_version(void);

/* ---------------------------------------------------------------------- */
/* Errors                                                                  */
/* ---------------------------------------------------------------------- */

/*
 * Library error codes. OS errors are returned as -errno (e.g. -ENOENT); the
 * codes below lie far outside the errno range.
 *
 *   SUBPROC_EINVAL     ValueError / TypeError: bad arguments or options.
 *   SUBPROC_ETIMEDOUT  TimeoutExpired: a timeout elapsed.
 *   SUBPROC_ECALLED    CalledProcessError: check was requested and the child
 *                      exited non-zero (subproc_error.returncode has it).
 *   SUBPROC_ESUBPROCESS SubprocessError: a failure with no errno, such as the
 *                      preexec callback or the audit hook refusing a spawn.
 *   SUBPROC_EDECODE    UnicodeDecodeError/UnicodeEncodeError in text mode
 *                      with errors="strict" (subproc_error.offset has it).
 *   SUBPROC_ELIMIT     output exceeded max_output with SUBPROC_LIMIT_KILL.
 *   SUBPROC_ECANCELED  a pool was cancelled (subproc_pool_cancel).
 */
#define SUBPROC_ERRNO_MAP(X)                                                   \
  X(EINVAL, -30001, "invalid argument (ValueError)")                           \
  X(ETIMEDOUT, -30002, "timeout expired (TimeoutExpired)")                     \
  X(ECALLED, -30003, "child exited with non-zero status (CalledProcessError)") \
  X(ESUBPROCESS, -30004, "subprocess error (SubprocessError)")                 \
  X(EDECODE, -30005, "text encoding or decoding error (UnicodeError)")         \
  X(ELIMIT, -30006, "output limit exceeded")                                   \
  X(ECANCELED, -30007, "cancelled")

enum {
#define SUBPROC__ERRNO_ENUM(name, value, text) SUBPROC_##name = value,
  SUBPROC_ERRNO_MAP(SUBPROC__ERRNO_ENUM)
#undef SUBPROC__ERRNO_ENUM
};

/* Static text for any code returned by this library (library or -errno). */
SUBPROC_API const char *subproc_strerror(int code);
/* Symbolic name: "SUBPROC_ETIMEDOUT", "ENOENT", ... */
SUBPROC_API const char *subproc_errname(int code);

/*
 * The step a failure happened at: what the call was doing (a system call in
 * the child, an option being checked, a wait). subproc_step_name() gives
 * its name ("exec", "chdir", "user", ...), which is also the first word of
 * the message.
 */
/* clang-format off */
#define SUBPROC_STEP_MAP(X)                                                   \
  X(NONE, "")                                                                 \
  X(OTHER, "other")                                                           \
  /* arguments and options */                                                 \
  X(ARGS, "args")                                                             \
  X(EXECUTABLE, "executable")                                                 \
  X(SHELL, "shell")                                                           \
  X(ENV, "env")                                                               \
  X(STDIN, "stdin")                                                           \
  X(STDOUT, "stdout")                                                         \
  X(STDERR, "stderr")                                                         \
  X(INPUT, "input")                                                           \
  X(CAPTURE_OUTPUT, "capture_output")                                         \
  X(TIMEOUT, "timeout")                                                       \
  X(CHECK, "check")                                                           \
  X(WAIT_DELAY, "wait_delay")                                                 \
  X(PIPESIZE, "pipesize")                                                     \
  X(BUFSIZE, "bufsize")                                                       \
  X(PASS_FDS, "pass_fds")                                                     \
  X(USER, "user")                                                             \
  X(GROUP, "group")                                                           \
  X(EXTRA_GROUPS, "extra_groups")                                             \
  X(PROCESS_GROUP, "process_group")                                           \
  X(SIGMASK, "sigmask")                                                       \
  X(STARTUPINFO, "startupinfo")                                               \
  X(TEXT, "text")                                                             \
  X(ENCODING, "encoding")                                                     \
  X(ERRORS, "errors")                                                         \
  X(MAX_OUTPUT, "max_output")                                                 \
  X(ON_OUTPUT, "on_output")                                                   \
  X(PREEXEC, "preexec")                                                       \
  X(AUDIT, "audit")                                                           \
  /* creating the child */                                                    \
  X(POPEN, "popen")                                                           \
  X(OPEN, "open")                                                             \
  X(PIPE, "pipe")                                                             \
  X(JOB, "job")                                                               \
  X(FORK, "fork")                                                             \
  X(CLONE, "clone")                                                           \
  X(POSIX_SPAWN, "posix_spawn")                                               \
  /* in the child, before exec */                                             \
  X(DUP2, "dup2")                                                             \
  X(CHDIR, "chdir")                                                           \
  X(SETSID, "setsid")                                                         \
  X(SETPGID, "setpgid")                                                       \
  X(SETGROUPS, "setgroups")                                                   \
  X(SETGID, "setgid")                                                         \
  X(SETUID, "setuid")                                                         \
  X(CLOSE_FDS, "close_fds")                                                   \
  X(EXEC, "exec")                                                             \
  /* talking to it */                                                         \
  X(READ, "read")                                                             \
  X(WRITE, "write")                                                           \
  X(POLL, "poll")                                                             \
  X(WAIT, "wait")                                                             \
  X(KILL, "kill")                                                             \
  X(COMMUNICATE, "communicate")                                               \
  X(DECODE, "decode")                                                         \
  X(ENCODE, "encode")                                                         \
  X(PIPELINE, "pipeline")                                                     \
  X(GROUP_LOOP, "group")                                                      \
  X(POOL, "pool")                                                             \
  X(SPLIT, "split")                                                           \
  /* limits, parent death, privileges: the options, then the child's calls */ \
  X(RLIMITS, "rlimits")                                                       \
  X(PARENT_DEATH_SIGNAL, "parent_death_signal")                               \
  X(NO_NEW_PRIVS, "no_new_privs")                                             \
  X(FOREGROUND, "foreground")                                                 \
  X(SETRLIMIT, "setrlimit")                                                   \
  X(PRCTL, "prctl")                                                           \
  X(TCSETPGRP, "tcsetpgrp")                                                   \
  /* containment (cgroup v2) */                                               \
  X(CGROUP, "cgroup")                                                         \
  /* a reserved field set: built against a newer header (docs/abi.md) */      \
  X(RESERVED, "reserved")                                                     \
  /* pseudo-terminals: opening one, then the child taking it */               \
  X(PTY, "pty")                                                               \
  X(TIOCSCTTY, "tiocsctty")
/* clang-format on */

typedef enum subproc_step {
#define SUBPROC__STEP_ENUM(name, text) SUBPROC_STEP_##name,
  SUBPROC_STEP_MAP(SUBPROC__STEP_ENUM)
#undef SUBPROC__STEP_ENUM
} subproc_step;

/* The step's name, "" for SUBPROC_STEP_NONE. */
SUBPROC_API const char *subproc_step_name(subproc_step step);

/*
 * The detail of a failure, filled by any function that takes one (only when
 * it fails, except where stated). Caller-owned; needs no freeing; small
 * enough to keep on the stack or in an object (about 300 bytes).
 */
typedef struct subproc_error {
  int code;          /* the negative code the function returned */
  int os_errno;      /* errno of the failing system call, 0 if none */
  subproc_step step; /* where it failed: subproc_step_name(step) */
  int fd;            /* the fd involved, -1 if none */
  int returncode;    /* SUBPROC_ECALLED: the child's status (-N: signal N) */
  double timeout;    /* SUBPROC_ETIMEDOUT: the timeout that elapsed */
  long long offset;  /* SUBPROC_EDECODE: byte offset of the bad input */
  /* The path or name that the failing call was given (the program, cwd, a
   * redirection's path, a user or group, an encoding, an environment
   * entry), in full: it points into that call's arguments, so it is valid
   * as long as they are. NULL if none. */
  const char *path;
  /* One line naming the step and the path or fd: "chdir '/nope': No such
   * file or directory" (a very long path is shortened here, not in path). */
  char message[256];
  void *reserved[sizeof(void *) == 8 ? 10 : 14]; /* docs/abi.md */
} subproc_error;

/* ---------------------------------------------------------------------- */
/* Options                                                                 */
/* ---------------------------------------------------------------------- */

/* Where a standard stream of the child goes (Python: stdin=/stdout=/stderr=).
 */
typedef enum subproc_redirect_kind {
  SUBPROC_INHERIT = 0, /* None: the parent's own stream */
  SUBPROC_PIPE,        /* PIPE: a new pipe; the parent gets the other end */
  SUBPROC_DEVNULL,     /* DEVNULL: /dev/null (NUL on Windows) */
  SUBPROC_STDOUT,      /* STDOUT: only for stderr: same place as stdout */
  SUBPROC_FD,          /* an existing file descriptor (.fd) */
  SUBPROC_FILE,        /* an existing FILE * (.file; flushed before spawn) */
  SUBPROC_PATH,        /* beyond Python: a path opened for the child */
  SUBPROC_HANDLE,      /* Windows only: an inheritable HANDLE (.handle) */
  /* Beyond Python: a pseudo-terminal (see the .pty options).
   * Every stream given SUBPROC_PTY shares one new pty pair: the child gets
   * the slave, starts a new session (implied: so set_process_group and
   * foreground are SUBPROC_EINVAL with it, and kill_tree's AUTO is on)
   * and takes the slave as its controlling terminal, on every spawn
   * method; subproc_fd(p, i) is the master. stderr on the same pty as
   * stdout is merged into stdout (one terminal is one stream:
   * subproc_fd(p, 2) is -1, the result's err NULL). Not for pipelines
   * (SUBPROC_EINVAL naming the stream: the stages cannot share one
   * terminal's session). On Windows a pseudo console (ConPTY, Windows 10
   * 1809+; docs/windows.md): the output is VT sequences, the child's pty
   * streams are the console's, closing stdin types ^Z and Enter, and the
   * console closes (EOF) when the child exits; where ConPTY is missing
   * -ENOSYS (step "pty"), never pipes. */
  SUBPROC_PTY
} subproc_redirect_kind;

typedef struct subproc_redirect {
  subproc_redirect_kind kind;
  int fd;           /* SUBPROC_FD */
  FILE *file;       /* SUBPROC_FILE */
  const char *path; /* SUBPROC_PATH */
  int flags;        /* SUBPROC_PATH: open(2) flags; 0 = O_RDONLY for stdin,
                       O_WRONLY|O_CREAT|O_TRUNC for stdout/stderr */
  int mode;         /* SUBPROC_PATH: creation mode; 0 = 0666 (umask applies) */
  void *handle;     /* SUBPROC_HANDLE */
} subproc_redirect;

/*
 * Shorthands for the common redirections, one spelling for C and C++:
 *
 *     o.out = SUBPROC_REDIRECT_PIPE;
 *     o.err = SUBPROC_REDIRECT_FD(3);
 *
 * compiles as C (they are compound literals there) and as C++11 and later
 * (there they are calls of the constexpr function below, C++ linkage, so
 * usable in constant expressions too). What stays C only is the compound
 * literal of a whole struct, `&(subproc_options){.timeout = 5}`: in C++
 * name the struct (`subproc_options o{}; o.timeout = 5;`, or C++20
 * designated initializers, which must follow the declaration order of the
 * fields). include/subproc.hpp is the C++17 layer over this header.
 */
#ifdef __cplusplus
extern "C++" {
/* Internal: what the macros expand to in C++. */
constexpr subproc_redirect subproc__redirect(subproc_redirect_kind kind, int fd,
                                             FILE *file, const char *path) {
  return subproc_redirect{kind, fd, file, path, 0, 0, nullptr};
}
}
#define SUBPROC_REDIRECT_PIPE                                                  \
  (subproc__redirect(SUBPROC_PIPE, 0, nullptr, nullptr))
#define SUBPROC_REDIRECT_DEVNULL                                               \
  (subproc__redirect(SUBPROC_DEVNULL, 0, nullptr, nullptr))
#define SUBPROC_REDIRECT_STDOUT                                                \
  (subproc__redirect(SUBPROC_STDOUT, 0, nullptr, nullptr))
#define SUBPROC_REDIRECT_FD(n)                                                 \
  (subproc__redirect(SUBPROC_FD, (n), nullptr, nullptr))
#define SUBPROC_REDIRECT_FILE(f)                                               \
  (subproc__redirect(SUBPROC_FILE, 0, (f), nullptr))
#define SUBPROC_REDIRECT_PATH(p)                                               \
  (subproc__redirect(SUBPROC_PATH, 0, nullptr, (p)))
#define SUBPROC_REDIRECT_PTY                                                   \
  (subproc__redirect(SUBPROC_PTY, 0, nullptr, nullptr))
#else
#define SUBPROC_REDIRECT_PIPE ((subproc_redirect){.kind = SUBPROC_PIPE})
#define SUBPROC_REDIRECT_DEVNULL ((subproc_redirect){.kind = SUBPROC_DEVNULL})
#define SUBPROC_REDIRECT_STDOUT ((subproc_redirect){.kind = SUBPROC_STDOUT})
#define SUBPROC_REDIRECT_FD(n)                                                 \
  ((subproc_redirect){.kind = SUBPROC_FD, .fd = (n)})
#define SUBPROC_REDIRECT_FILE(f)                                               \
  ((subproc_redirect){.kind = SUBPROC_FILE, .file = (f)})
#define SUBPROC_REDIRECT_PATH(p)                                               \
  ((subproc_redirect){.kind = SUBPROC_PATH, .path = (p)})
#define SUBPROC_REDIRECT_PTY ((subproc_redirect){.kind = SUBPROC_PTY})
#endif

/* How the child is created (Python's _USE_VFORK / _USE_POSIX_SPAWN). */
typedef enum subproc_spawn_method {
  SUBPROC_SPAWN_AUTO = 0,    /* the fastest method the options allow */
  SUBPROC_SPAWN_VFORK,       /* clone(CLONE_VM|CLONE_VFORK) or vfork() */
  SUBPROC_SPAWN_POSIX_SPAWN, /* posix_spawn(3), when the options allow it;
                                otherwise the next best method is used (so
                                always with SUBPROC_PTY: posix_spawn cannot
                                give the child a controlling terminal) */
  SUBPROC_SPAWN_FORK         /* plain fork(); always used with preexec */
} subproc_spawn_method;

/* bufsize values (Python: -1 default, 0 unbuffered, 1 line, N > 1 size). */
#define SUBPROC_BUFSIZE_DEFAULT 0
#define SUBPROC_BUFSIZE_UNBUFFERED (-1)
#define SUBPROC_BUFSIZE_LINE 1

/* kill_tree values. */
typedef enum subproc_kill_tree {
  SUBPROC_KILL_TREE_AUTO = 0, /* on when start_new_session, process_group
                                 or foreground */
  SUBPROC_KILL_TREE_ON,       /* on; puts the child in a new process group
                                 unless a session or group was requested */
  SUBPROC_KILL_TREE_OFF       /* only the direct child is killed (Python) */
} subproc_kill_tree;

/* max_output policies. */
typedef enum subproc_limit_policy {
  SUBPROC_LIMIT_TRUNCATE = 0, /* keep the first max_output bytes, drain rest */
  SUBPROC_LIMIT_KILL          /* kill the child, fail with SUBPROC_ELIMIT */
} subproc_limit_policy;

/* Windows STARTUPINFO (Python's subprocess.STARTUPINFO). Rejected on POSIX. */
typedef struct subproc_startupinfo {
  unsigned long dwFlags;
  void *hStdInput, *hStdOutput, *hStdError; /* used with STARTF_USESTDHANDLES */
  unsigned short wShowWindow;
  void *const *handle_list; /* lpAttributeList["handle_list"]: NULL-ended */
  void *reserved[8];        /* zero (docs/abi.md) */
} subproc_startupinfo;

/*
 * Streaming output (beyond Python): called from communicate/run with each
 * chunk read from the child's stdout (stream == 1) or stderr (stream == 2)
 * instead of keeping it in memory; in text mode the chunk is decoded UTF-8.
 * Return 0 to continue, or a negative code to stop (the child is killed and
 * the call fails with that code).
 */
typedef int (*subproc_output_fn)(void *arg, int stream, const char *data,
                                 size_t len);

/*
 * A resource limit for the child (beyond Python, POSIX): what
 * preexec_fn=lambda: resource.setrlimit(resource, (soft, hard)) does, but
 * on the fast spawn path. resource is an RLIMIT_* number of
 * <sys/resource.h> (RLIMIT_NOFILE, RLIMIT_CPU, ...); an array of them ends
 * with an entry whose resource is -1 (SUBPROC_RLIMIT_END).
 */
#define SUBPROC_RLIM_INFINITY (~0ULL) /* RLIM_INFINITY: no limit */
typedef struct subproc_rlimit {
  int resource;            /* RLIMIT_*; -1 ends the array */
  unsigned long long soft; /* the current limit, <= hard */
  unsigned long long hard; /* the ceiling: raising it needs privilege */
} subproc_rlimit;
#define SUBPROC_RLIMIT_END {-1, 0, 0}

/* The preexec_fn callback: runs in the child after fork, before exec.
 * Return 0 on success; non-zero fails the spawn (SUBPROC_ESUBPROCESS, with
 * the returned value as os_errno if it is positive). */
typedef int (*subproc_preexec_fn)(void *arg);

/*
 * Every Popen argument, plus the run()/communicate() ones. All-zero means
 * Python's defaults. Fields marked [run] are used by subproc_run() and the
 * functions built on it, and by subproc_communicate() where noted. The
 * four that only run can honour (input, capture_output, timeout, check)
 * are refused by subproc_popen: SUBPROC_EINVAL, err->step naming the field
 * (Python's Popen has no such arguments; a timeout it ignored would never
 * fire).
 */
typedef struct subproc_options {
  const char *executable; /* program to execute instead of argv[0];
                             with shell: the replacement for /bin/sh */
  int shell;              /* run through /bin/sh -c (cmd.exe /c on Windows) */
  subproc_redirect in, out, err; /* stdin, stdout, stderr */
  const char *cwd;               /* working directory of the child */
  const char *const *env;        /* "NAME=VALUE" strings; NULL = inherit */

  int keep_fds;        /* close_fds=False: inherit every inheritable fd */
  const int *pass_fds; /* fds kept open (and made inheritable), ended by -1:
                          (const int[]){3, 4, -1} */
  int keep_signals;    /* restore_signals=False */
  /* Beyond Python, POSIX only: a const sigset_t * (void * so that this
   * header needs no POSIX feature macros): the child's signal mask, e.g.
   * the one a program had before it blocked SIGINT for itself; NULL = an
   * empty mask, or with keep_signals the caller's. */
  const void *sigmask;
  int start_new_session; /* setsid() in the child */
  int set_process_group; /* with process_group: Python's process_group=N */
  int process_group;     /* 0 = a new group led by the child */
  const char *user;      /* name or numeric uid (setreuid); a number is a plain
                          decimal in [0, 4294967294], anything else numeric
                          is SUBPROC_EINVAL */
  const char *group;     /* name or numeric gid (setregid), the same */
  const char *const *extra_groups; /* names or numeric gids (setgroups);
                                      NULL = unchanged, {NULL} = none */
  int set_umask;                   /* with umask: Python's umask=N */
  unsigned umask;
  long pipesize; /* F_SETPIPE_SZ for each pipe; 0 = system default;
                  outside [0, INT_MAX] is SUBPROC_EINVAL */
  long bufsize;  /* for the FILE * streams: SUBPROC_BUFSIZE_* or N (a
                  buffer of N bytes is allocated) */
  subproc_preexec_fn preexec; /* preexec_fn (forces fork; avoid with threads) */
  void *preexec_arg;
  subproc_spawn_method spawn_method;

  /* Text mode: output decoded to UTF-8 with universal newlines, input
   * encoded from UTF-8. text is universal_newlines's modern name. */
  int text;
  const char *encoding; /* any iconv name; NULL = the locale's (implies text) */
  const char *errors;   /* "strict" (default), "replace", "ignore",
                           "backslashreplace", "surrogateescape" (bad byte
                           0xNN -> U+DCNN, encoded back on input; the
                           output is then not valid UTF-8); non-NULL
                           implies text */

  /* Windows only (SUBPROC_EINVAL elsewhere when set, as in Python). */
  unsigned long creationflags;
  const subproc_startupinfo *startupinfo;

  /* [run] input for stdin (implies stdin=PIPE); input_len bytes, may be 0. */
  const void *input;
  size_t input_len;
  int capture_output;          /* [run] stdout and stderr to PIPE */
  double timeout;              /* [run] seconds; 0 = none (SUBPROC_FOREVER) */
  int check;                   /* [run] non-zero status -> SUBPROC_ECALLED */
  subproc_kill_tree kill_tree; /* [run] on timeout, kill the process group */
  double wait_delay;           /* [run, communicate] beyond Python: once the
                                  child has exited, stop reading after this many
                                  seconds even if grandchildren hold the pipes;
                                  0 = read to EOF (Python); negative: stop at
                                  the exit (the timeout rule below) */
  size_t max_output; /* [run, communicate] per-stream byte cap; 0 = none */
  subproc_limit_policy max_output_policy;
  subproc_output_fn on_output; /* [run, communicate] stream instead of keep */
  void *on_output_arg;
  /* Beyond Python: called in the parent with each new child's pid as soon
   * as it runs (for every stage of a pipeline too), e.g. to forward
   * signals to a child started by subproc_run. */
  void (*on_spawn)(void *arg, long pid);
  void *on_spawn_arg;

  /* ---- Beyond Python: limits, parent death, privileges (POSIX) ----
   * All zero = off. Applied in the child between fork and exec with raw
   * system calls on every spawn method, the clone/vfork fast path
   * included (Python needs preexec_fn, and so fork, for each of them);
   * SUBPROC_SPAWN_POSIX_SPAWN cannot apply them and takes the clone path
   * instead (subproc_method tells). SUBPROC_EINVAL on Windows when set.
   * Off, they cost the spawn nothing. */
  /* setrlimit (prlimit64 on Linux) for each entry, in order, up to the
   * one with resource -1; NULL = none. Applied before user/group/
   * extra_groups take effect, so a privileged parent can also raise
   * limits for an unprivileged child. An unknown resource or soft > hard
   * is SUBPROC_EINVAL (step "rlimits", the index in the message); a
   * refusal in the child (EPERM: raising the hard limit without
   * CAP_SYS_RESOURCE) fails the spawn with step "setrlimit". */
  const subproc_rlimit *rlimits;
  /* Linux PR_SET_PDEATHSIG: the child receives this signal (e.g. SIGKILL)
   * when its parent dies; 0 = off. Race-free: if the parent died before
   * the setting took effect, the child sends the signal to itself at
   * once. Caveat (Linux): the "parent" is the thread that spawned the
   * child (with clone(CLONE_VM|CLONE_VFORK) too, the child's parent is
   * the spawning thread): the signal fires when that thread exits, even
   * if the process lives on, so spawn from a thread that outlives the
   * child. Set after user/group (a change of credentials clears it) and
   * after preexec; cleared by exec of a set-user-ID program. */
  int parent_death_signal;
  /* Linux PR_SET_NO_NEW_PRIVS: exec can never grant privileges to the
   * child or anything it runs (set-user-ID bits and file capabilities are
   * ignored); shows as "NoNewPrivs: 1" in /proc/<pid>/status. */
  int no_new_privs;
  /* For shells (Go's Foreground): the child's process group becomes the
   * foreground group of the caller's controlling terminal (/dev/tty).
   * Implies a process group: a new one led by the child, or the group of
   * set_process_group/process_group; with start_new_session it is
   * SUBPROC_EINVAL (a new session has no terminal). No controlling
   * terminal: -ENOTTY, step "tcsetpgrp". The previous foreground group is
   * restored when the child is reaped (wait, poll, run...), not when it
   * stops. kill_tree's AUTO counts it as a process group. */
  int foreground;
  /* ---- Beyond Python, Linux: containment in a cgroup v2 ----
   * The child starts inside the cgroup (clone3 with CLONE_INTO_CGROUP,
   * Linux 5.7), so nothing it forks can leave it: not a grandchild that
   * calls setsid() or setpgid(), not a double-forked daemon. Elsewhere
   * (Windows, other systems) setting any field of this block is
   * SUBPROC_EINVAL. Paths are directories of the cgroup2 file system
   * (find its mount in /proc/self/mountinfo), which the caller must be
   * allowed to write (root, or a delegated subtree). */
  /* An existing cgroup to start the child in. It stays the caller's: the
   * library neither kills through it nor removes it, and reports none of
   * its statistics. */
  const char *cgroup;
  /* Create a fresh cgroup under this one, named subproc-<pid>-<n>, for
   * this child alone (not together with .cgroup). Its own cgroup makes
   * every kill of the run family (a timeout, max_output's kill, a
   * failed callback; pipelines, groups and pools alike) a kill of
   * everything in it (cgroup.kill, Linux 5.14; before that SIGKILL to
   * each pid in cgroup.procs); when the child is reaped, whatever it left
   * behind is killed the same way, its statistics are read into the
   * result, and the cgroup is removed. */
  const char *cgroup_parent;
  /* Where the child cannot be started inside the cgroup (no clone3 or no
   * CLONE_INTO_CGROUP: Linux < 5.7, a seccomp filter, or a build for
   * another architecture than x86_64, which has the only clone3
   * trampoline so far; or the fork
   * method, which preexec forces), the spawn fails (-ENOSYS, or
   * SUBPROC_EINVAL for the fork method; step "cgroup") unless this is
   * set: then the child moves itself in (writes cgroup.procs) as its
   * first step, before it runs preexec or the program, so nothing it
   * starts escapes either. The difference: for the first instructions
   * it is counted in the caller's cgroup, and the move is slower. */
  int cgroup_move_fallback;
  /* Limits of the fresh cgroup (cgroup_parent only; 0 = none). Each needs
   * its controller in cgroup_parent's cgroup.subtree_control (memory,
   * pids, cpu): where it is missing the spawn fails with SUBPROC_EINVAL
   * naming that file (enable it with "echo +memory > .../cgroup.subtree_
   * control"; the library never changes a cgroup it did not create). */
  long long cgroup_memory_max; /* bytes (memory.max) */
  long long cgroup_pids_max;   /* processes and threads (pids.max) */
  double cgroup_cpu_max;       /* CPUs, e.g. 0.5 or 2 (cpu.max: that share
                                  of each 100 ms period); >= 0.01 */
  /* ---- end of the cgroup block ---- */

  /* ---- Beyond Python: the pseudo-terminal of the SUBPROC_PTY streams
   * ----
   * Python's idiom: pty.openpty(), then Popen with the slave as
   * stdin/stdout/stderr, start_new_session and a TIOCSCTTY in preexec_fn
   * (so a fork); here the vfork path does it. Set on the slave in the
   * parent before the spawn; setting any of them without a SUBPROC_PTY
   * stream is SUBPROC_EINVAL (step "pty").
   *   rows, cols: the window size (TIOCSWINSZ); 0 leaves that one as the
   *     system makes it (Linux: 0). Resize later: subproc_set_winsize.
   *   raw: cfmakeraw's settings (no echo, no line editing, no signal
   *     characters, no output processing: bytes go through unchanged).
   *     0 = the system's cooked mode: what is written to the child is
   *     echoed into its output (as on a terminal), "\n" it writes reads
   *     "\r\n", input goes to it a line at a time (at most 4095 bytes
   *     per line on Linux) and ^C, ^Z, ^\ raise signals.
   * Ownership: subproc_fd(p, i) of each SUBPROC_PTY stream is its own fd
   * on the master, and p holds one more: closing a stream (communicate
   * closing stdin, subproc_close_stream) never hangs the terminal up;
   * subproc_close and subproc_free do (the child gets SIGHUP, as when a
   * terminal window closes). Reading the master once no process has the
   * slave open fails with EIO: communicate, run, groups, pools and
   * subproc_stream take that as EOF. Closing stdin (communicate after its
   * input, or without any; subproc_close_stream) sends the terminal's EOF
   * character (VEOF, ^D) in cooked mode, twice after input that does not
   * end a line, so the child reads end of file; in raw mode a terminal has
   * no end of file to send. input (run) may be given with stdin =
   * SUBPROC_PTY: it is typed into the terminal.
   * Windows (ConPTY): rows, cols are the console's size (0: 25 rows, 80
   * columns); raw is SUBPROC_EINVAL (step "pty": the child sets its own
   * console mode); Enter is "\r" and closing stdin types ^Z and Enter. */
  struct {
    unsigned short rows, cols;
    int raw;
  } pty;
  /* ---- end of the pty block ---- */
  /* Room for fields of later versions (docs/abi.md): must stay zero, as
   * zero-initialisation leaves it. */
  void *reserved[sizeof(void *) == 8 ? 68 : 115];
} subproc_options;

/* ---------------------------------------------------------------------- */
/* Popen                                                                   */
/* ---------------------------------------------------------------------- */

typedef struct subproc subproc; /* a child process: Python's Popen object */

/*
 * Start a child (Popen(args, ...)). argv is NULL-terminated; with shell,
 * its items go after "/bin/sh -c" exactly as in Python. On success *out
 * receives the new object (free it with subproc_free). opts may be NULL.
 */
SUBPROC_API int subproc_popen(const char *const *argv,
                              const subproc_options *opts, subproc **out,
                              subproc_error *err);
/* Popen("string", ...): a shell command with shell, else a program name. */
SUBPROC_API int subproc_popen_cmd(const char *cmd, const subproc_options *opts,
                                  subproc **out, subproc_error *err);

/*
 * Timeouts, one rule everywhere (options and functions alike): seconds as a
 * double; 0 (SUBPROC_FOREVER, and so the all-zero options) means no limit;
 * a negative value (SUBPROC_POLL) means "do not wait": look once and
 * report, as a deadline that has already passed. NaN is SUBPROC_EINVAL.
 * Python's wait(timeout=0) is subproc_wait(p, SUBPROC_POLL, ...).
 */
#define SUBPROC_FOREVER 0.0
#define SUBPROC_POLL (-1.0)

/* The returncode of a child that has not been reaped yet (Python's None). */
#define SUBPROC_NO_RETURNCODE (-2147483647 - 1)

/* poll(): 1 if the child has exited (*returncode set; may be NULL),
 * 0 if it is still running, negative on error.
 *
 * Every child is held through a pidfd from birth where the kernel has them
 * (Linux 5.3), so no wait or signal can ever name another process, even
 * after someone else reaped the child (SIGCHLD ignored, an event loop's
 * waitpid(-1)) and its pid was reused. Such a foreign reap is reported:
 * with the child's real status where the kernel keeps it (Linux 6.15,
 * PIDFD_GET_INFO), else as -ECHILD ("reaped by someone else") from poll,
 * wait, communicate and run. Without pidfds the status is 0, as in Python.
 * A child stopped under ptrace reads as -WSTOPSIG, as in Python. */
SUBPROC_API int subproc_poll(subproc *p, int *returncode);
/* wait(timeout): 0 with *returncode set, SUBPROC_ETIMEDOUT, or an error.
 * timeout: SUBPROC_FOREVER, seconds, or SUBPROC_POLL (Python's
 * wait(timeout=0)); a NaN timeout is SUBPROC_EINVAL. */
SUBPROC_API int subproc_wait(subproc *p, double timeout, int *returncode,
                             subproc_error *err);
/* send_signal/terminate/kill: no-op once the child is reaped (Python).
 * On Windows, SIGTERM and SIGKILL terminate; CTRL_C_EVENT/CTRL_BREAK_EVENT
 * are sent to the console process group. */
SUBPROC_API int subproc_send_signal(subproc *p, int sig);
SUBPROC_API int subproc_terminate(subproc *p);
SUBPROC_API int subproc_kill(subproc *p);
/* Signal the child's process group (beyond Python; what kill_tree uses):
 * the group it leads (start_new_session, process_group = 0, kill_tree) or
 * the group N it joined (process_group = N). SUBPROC_EINVAL if it has
 * none. Only while the child is not reaped (a zombie leader keeps the id
 * from being reused): afterwards -ESRCH, and nothing is signalled. Signal
 * 0 only checks. */
SUBPROC_API int subproc_send_signal_group(subproc *p, int sig);

SUBPROC_API long subproc_pid(const subproc *p);
/* Python's returncode attribute: SUBPROC_NO_RETURNCODE until reaped,
 * then the exit status, or -N if killed by signal N. */
SUBPROC_API int subproc_returncode(const subproc *p);
/* The argv the child was started with (Python's args, after shell). */
SUBPROC_API const char *const *subproc_args(const subproc *p);
/* Beyond Python: the raw wait status once reaped (the exit code on
 * Windows), -1 before; *core_dumped (may be NULL) says whether it dumped
 * core, which returncode (-N) cannot tell. */
SUBPROC_API int subproc_wait_status(const subproc *p, int *core_dumped);
/* The method actually used to create the child. */
SUBPROC_API subproc_spawn_method subproc_method(const subproc *p);

/* The parent's pipe ends (stream 0 = stdin, 1 = stdout, 2 = stderr):
 * an fd, or -1 if that stream is not a PIPE or was closed. Owned by p.
 * A SUBPROC_PTY stream's is an fd on the pty's master (see .pty). */
SUBPROC_API int subproc_fd(const subproc *p, int stream);
/* The same as a FILE * honouring bufsize (and the text settings where the
 * C library has fopencookie, as glibc and musl do: decoded UTF-8 with
 * universal newlines; elsewhere, and on Windows, a binary stream), created
 * on first call; NULL if not a pipe. Owned by p: close it with
 * subproc_close_stream. Writing to a child that is gone fails with EPIPE,
 * never SIGPIPE (where fopencookie exists). What a stdout/stderr FILE has
 * read ahead is not lost: subproc_communicate returns it first (and then
 * owns the pipe: do not read the FILE after that). */
SUBPROC_API FILE *subproc_stream(subproc *p, int stream);
/* Close the parent's end of one pipe (stdin: flushes, sends EOF). -EPIPE
 * when the flush found the child gone (Python's BrokenPipeError). */
SUBPROC_API int subproc_close_stream(subproc *p, int stream);

/* Beyond Python: resize the pseudo-terminal of a child started with
 * SUBPROC_PTY streams (TIOCSWINSZ on the master; the kernel sends SIGWINCH
 * to the terminal's foreground process group). A 0 leaves that dimension
 * as it is. SUBPROC_EINVAL (step "pty") when p has no pty, or after
 * subproc_close; an error of the ioctl as -errno. Windows:
 * ResizePseudoConsole; -EIO once the child has exited (its console is
 * closed), -ENOSYS where it is not implemented (Wine 8). */
SUBPROC_API int subproc_set_winsize(subproc *p, unsigned short rows,
                                    unsigned short cols, subproc_error *err);

/* Captured output of communicate/run. Buffers are NUL-terminated for
 * convenience but binary-safe: use the lengths. Allocated by the library
 * and freed with subproc_result_free; later versions may add fields at
 * the end, so never allocate one or copy it by value (docs/abi.md). */
typedef struct subproc_result {
  const char *const *args; /* the argv run (Python's args) */
  int returncode;          /* SUBPROC_NO_RETURNCODE if unknown (timeout) */
  char *out;               /* captured stdout, NULL if not captured */
  size_t out_len;
  char *err; /* captured stderr, NULL if not captured */
  size_t err_len;
  int out_truncated, err_truncated; /* max_output was reached */
  int timed_out;
  int wait_status;   /* beyond Python: the raw wait status (POSIX; Windows:
                      the exit code), -1 if not reaped */
  int core_dumped;   /* it died of a signal and dumped core */
  double duration_s; /* wall clock from spawn to reap */
  double user_s, system_s; /* the child's CPU time (rusage) */
  long max_rss_kb;         /* the child's peak resident set */
  long pid;
  /* Beyond Python, Linux: statistics of the child's own cgroup
   * (cgroup_parent), read once everything in it has ended: -1 when not
   * known (no own cgroup, not reaped, or the file is absent: memory.peak
   * needs the memory controller and Linux 5.19). Unlike user_s/system_s
   * they count every process that ran in the cgroup, waited for or not. */
  long long cgroup_memory_peak; /* bytes, memory.peak */
  long long cgroup_usage_usec;  /* cpu.stat usage_usec: user + system */
  long long cgroup_user_usec;   /* cpu.stat user_usec */
  long long cgroup_system_usec; /* cpu.stat system_usec */
} subproc_result;

SUBPROC_API void subproc_result_free(subproc_result *r);

/*
 * communicate(input, timeout): write input (may be NULL), read stdout and
 * stderr to EOF, wait (timeout: SUBPROC_FOREVER, seconds or SUBPROC_POLL,
 * which does what is ready without blocking). On SUBPROC_ETIMEDOUT the child is
 * left running and nothing is lost: *res (if res is not NULL) receives a copy
 * of the output so far and a later call continues (input may only be given on
 * the first call, as in Python). On success *res receives the whole output; a
 * later call returns the same output again (the object keeps it, and each *res
 * is a copy: for large outputs prefer subproc_run, which does not copy).
 * A strict decoding error (SUBPROC_EDECODE) is returned after both streams
 * reached EOF and the child was waited for: *res then has the status, the
 * other stream, and the bad stream's text up to the error (err->offset).
 */
SUBPROC_API int subproc_communicate(subproc *p, const void *input,
                                    size_t input_len, double timeout,
                                    subproc_result **res, subproc_error *err);

/* Context-manager exit: close stdout and stderr, then stdin (flushing it),
 * then wait. A flush error (-EPIPE: the child did not read) is returned
 * after the wait, with *returncode set. */
SUBPROC_API int subproc_close(subproc *p, int *returncode);

/*
 * Release p (NULL is fine). Pipe ends and streams are closed. A child that
 * is still running is NOT killed or waited for (as with a discarded Popen
 * object in Python): it is reaped without blocking when it has exited, by
 * a later spawn, free or subproc_reap_orphans() call, so it never stays a
 * zombie longer than that (a spawn or free checks a few freed children,
 * round-robin; subproc_reap_orphans all of them). Never blocks: input still
 * buffered in a stdin FILE that the child does not read is dropped.
 */
SUBPROC_API void subproc_free(subproc *p);
/* Reap every freed child that has exited; returns how many remain. */
SUBPROC_API int subproc_reap_orphans(void);

/*
 * Wait for the first of n children to exit (beyond Python). Returns 0 with
 * *index set, SUBPROC_ETIMEDOUT, or an error. Children already reaped count
 * as exited; NULL entries are skipped, but at least one must be given
 * (else SUBPROC_EINVAL). Uses one poll() over pidfds where available.
 */
SUBPROC_API int subproc_wait_any(subproc *const *procs, size_t n,
                                 double timeout, size_t *index,
                                 subproc_error *err);

/* ---------------------------------------------------------------------- */
/* Event loops (asyncio's subprocess for C)                                */
/* ---------------------------------------------------------------------- */

/*
 * The handle a loop of one's own (epoll, poll, kqueue, libuv, GLib, IOCP)
 * watches for the child's exit: readable (signalled) once it has exited.
 * POSIX: the child's pidfd (Linux 5.3; -1 without pidfds: then call
 * subproc_poll now and then). Windows: the process HANDLE (NULL on POSIX).
 * Owned by p and valid until subproc_free(p): do not close it. Once it is
 * readable, subproc_poll (or a communicate step) reaps the child.
 */
SUBPROC_API int subproc_exit_fd(const subproc *p);
SUBPROC_API void *subproc_exit_handle(const subproc *p);

/*
 * communicate() without blocking, for a loop that watches the pipe ends
 * itself (subproc_fd(p, 0) for writing while input remains, 1 and 2 for
 * reading) and subproc_exit_fd(p): each call does whatever reading,
 * writing and reaping is possible now and returns 0 with *done = 0 (call
 * again when an fd is ready; pipe ends that were closed read -1 from
 * subproc_fd) or *done = 1 with *res (if not NULL) the CompletedProcess,
 * exactly as subproc_communicate would return it: input written, outputs
 * captured or streamed to on_output, max_output, text decoding across
 * chunks, nothing lost. input is taken on the first call only. Errors as
 * for subproc_communicate (the child is then killed and reaped).
 */
SUBPROC_API int subproc_communicate_step(subproc *p, const void *input,
                                         size_t input_len, int *done,
                                         subproc_result **res,
                                         subproc_error *err);

/*
 * A group: many children driven from one loop, which nests in any other.
 * Add children started with subproc_popen (pipes as they need: output is
 * captured into the result, or streamed through the .on_output they were
 * started with); subproc_group_run_once waits for what any of them has to
 * say and handles it: communicate's semantics for each child, then its
 * on_exit. The waiting costs O(1) system calls per event (epoll on Linux),
 * not a poll over every child.
 *
 * Threads and callbacks: a group is used by one thread at a time;
 * subproc_group_wake may be called from any thread or signal handler.
 * Callbacks run inside run_once; they may add children, and on_exit may
 * free its child (p), but must not call run_once/run or free the group.
 * Ownership: the children stay the caller's; the group holds each from
 * add until its on_exit (or subproc_group_remove).
 */
typedef struct subproc_group subproc_group;

/* What the group does with one child. */
typedef struct subproc_watch {
  const void *input; /* written to its stdin (a PIPE), then closed */
  size_t input_len;
  double timeout; /* seconds; 0 = none; negative: due at once (the rule
                     of SUBPROC_FOREVER). On expiry the child (and with
                     kill_tree its group) is killed, what the pipes hold is
                     collected for at most 0.2 s, and on_exit gets
                     SUBPROC_ETIMEDOUT with a result (timed_out = 1) */
  /* The child has exited and every pipe reached EOF, or it failed (rc < 0,
   * err says why; the child was killed and reaped). r is its
   * CompletedProcess, owned by the callee (subproc_result_free). NULL
   * on_exit: the result is freed. */
  void (*on_exit)(void *arg, subproc *p, int rc, subproc_result *r,
                  const subproc_error *err);
  void *arg;
  void *reserved[8]; /* zero (docs/abi.md) */
} subproc_watch;

SUBPROC_API int subproc_group_new(subproc_group **out, subproc_error *err);
/* Stops watching every child (none is killed or waited for). NULL is
 * fine. */
SUBPROC_API void subproc_group_free(subproc_group *g);
/* Watch p (started with subproc_popen; not already in a group, and not
 * communicated with yet). */
SUBPROC_API int subproc_group_add(subproc_group *g, subproc *p,
                                  const subproc_watch *w, subproc_error *err);
/* Stop watching p before its end (it is not killed; its pipes stay). */
SUBPROC_API int subproc_group_remove(subproc_group *g, subproc *p);
/* Wait up to timeout seconds (SUBPROC_FOREVER: no limit, SUBPROC_POLL:
 * only look) and handle everything that happened: the number of children
 * that finished (their on_exit ran), 0 if none, or a negative code. */
SUBPROC_API int subproc_group_run_once(subproc_group *g, double timeout,
                                       subproc_error *err);
/* run_once until no child is left: 0, SUBPROC_ETIMEDOUT, or an error. */
SUBPROC_API int subproc_group_run(subproc_group *g, double timeout,
                                  subproc_error *err);
/* Children being watched. */
SUBPROC_API size_t subproc_group_count(const subproc_group *g);
/* For a host loop: the fd (POSIX: an epoll fd) or HANDLE (Windows) that
 * becomes readable when run_once has work, and the milliseconds until a
 * timer of the group (a timeout, wait_delay) falls due, in poll(2)'s
 * convention (-1: none, 0: now): poll the fd with that timeout, then call
 * run_once(g, SUBPROC_POLL). Owned by g. */
SUBPROC_API int subproc_group_fd(const subproc_group *g);
SUBPROC_API void *subproc_group_handle(const subproc_group *g);
SUBPROC_API int subproc_group_timeout_ms(const subproc_group *g);
/* Make a run_once that waits (in another thread, or the next one) return
 * now. Async-signal-safe. */
SUBPROC_API void subproc_group_wake(subproc_group *g);

/*
 * A pool: jobs the way build tools run them (make -j N): at most
 * max_parallel children at once, each job's result delivered as it
 * completes, an early stop after a failure, and cancellation. Built on a
 * group. Every job leads a process group of its own (kill_tree), unless
 * its options ask for a session or group: a stop or a cancel reaches
 * everything it started.
 *
 * SIGINT, the way to handle it: install a handler that calls
 * subproc_pool_cancel(pool, sig) (async-signal-safe): the signal is
 * forwarded to every running job's group, no job is started any more, the
 * running ones are collected (each reported through on_done), and
 * subproc_pool_run returns SUBPROC_ECANCELED. A job still running
 * cancel_grace seconds later is killed.
 */
typedef struct subproc_pool subproc_pool;

typedef enum subproc_halt {
  SUBPROC_HALT_NEVER = 0, /* run every job */
  SUBPROC_HALT_SOON,      /* after the first failure start no new job */
  SUBPROC_HALT_NOW        /* after the first failure also kill the running */
} subproc_halt;

typedef struct subproc_pool_options {
  size_t max_parallel; /* at most this many at once; 0 = the CPUs online */
  subproc_halt halt;   /* a failure: rc < 0 or a non-zero returncode */
  double cancel_grace; /* after a cancel, SIGKILL the rest after this many
                          seconds; 0 = 2 s */
  /* Each job as it completes (in completion order): its index (the order
   * of subproc_pool_add), rc (0, or why it failed: SUBPROC_ETIMEDOUT,
   * -ENOENT, ...) and its CompletedProcess (NULL if it never started),
   * both valid during the call. */
  void (*on_done)(void *arg, size_t job, int rc, const subproc_result *r,
                  const subproc_error *err);
  void *on_done_arg;
  void *reserved[8]; /* zero (docs/abi.md) */
} subproc_pool_options;

SUBPROC_API int subproc_pool_new(subproc_pool **out,
                                 const subproc_pool_options *po,
                                 subproc_error *err);
/* Queue a job; argv and opts (NULL: defaults; .timeout and .input apply
 * per job, as in subproc_run) must stay valid until it is done. *job (may
 * be NULL) receives its index. */
SUBPROC_API int subproc_pool_add(subproc_pool *pl, const char *const *argv,
                                 const subproc_options *opts, size_t *job,
                                 subproc_error *err);
/* Run the queued jobs until every one is done (jobs added from on_done
 * run too): 0 if all succeeded, SUBPROC_ECALLED if some failed (*failed,
 * may be NULL, gets how many), SUBPROC_ECANCELED, or an error of the pool
 * itself. */
SUBPROC_API int subproc_pool_run(subproc_pool *pl, size_t *failed,
                                 subproc_error *err);
/* From anywhere, a signal handler included: forward sig (0: SIGKILL on
 * Windows and POSIX alike, i.e. just stop) to every running job and start
 * no more. */
SUBPROC_API void subproc_pool_cancel(subproc_pool *pl, int sig);
SUBPROC_API void subproc_pool_free(subproc_pool *pl);

/* The whole pool in one call: argvs[0..n) with the same opts. */
SUBPROC_API int subproc_run_many(const char *const *const *argvs, size_t n,
                                 const subproc_options *opts,
                                 const subproc_pool_options *po, size_t *failed,
                                 subproc_error *err);

/* ---------------------------------------------------------------------- */
/* The run family                                                          */
/* ---------------------------------------------------------------------- */

/* run(): *res receives the CompletedProcess, also when the call fails with
 * SUBPROC_ETIMEDOUT or SUBPROC_ECALLED (then it carries the output) and
 * whenever the child was started; free it with subproc_result_free. On a
 * timeout the child (and with kill_tree its group) is killed; if that kill
 * fails the error is returned at once (step "kill", *res->timed_out set)
 * rather than waiting for the child to end by itself. */
SUBPROC_API int subproc_run(const char *const *argv,
                            const subproc_options *opts, subproc_result **res,
                            subproc_error *err);
SUBPROC_API int subproc_run_cmd(const char *cmd, const subproc_options *opts,
                                subproc_result **res, subproc_error *err);
/* CompletedProcess.check_returncode(): SUBPROC_ECALLED if non-zero, with
 * Python's text: "Command 'x' returned non-zero exit status 2." or "Command
 * 'x' died with <Signals.SIGKILL: 9>." */
SUBPROC_API int subproc_check_returncode(const subproc_result *r,
                                         subproc_error *err);

/* call(): 0 with *returncode set (the status is not an error). */
SUBPROC_API int subproc_call(const char *const *argv,
                             const subproc_options *opts, int *returncode,
                             subproc_error *err);
/* check_call(): 0, or SUBPROC_ECALLED with err->returncode. */
SUBPROC_API int subproc_check_call(const char *const *argv,
                                   const subproc_options *opts,
                                   subproc_error *err);
/* check_output(): stdout captured into *res (also on SUBPROC_ECALLED). */
SUBPROC_API int subproc_check_output(const char *const *argv,
                                     const subproc_options *opts,
                                     subproc_result **res, subproc_error *err);
/* getoutput(cmd) / getstatusoutput(cmd, encoding=, errors=): shell,
 * stderr folded into stdout, text mode (encoding and errors as in
 * subproc_options; NULL = the defaults), one trailing newline stripped.
 * *output is malloc'ed and NUL-terminated, *output_len (may be NULL) its
 * length, which counts any NUL the output holds: release it with
 * subproc_buffer_free. The status is -N for signal N. */
SUBPROC_API int subproc_getoutput(const char *cmd, const char *encoding,
                                  const char *errors, char **output,
                                  size_t *output_len, subproc_error *err);
SUBPROC_API int subproc_getstatusoutput(const char *cmd, const char *encoding,
                                        const char *errors, int *status,
                                        char **output, size_t *output_len,
                                        subproc_error *err);
SUBPROC_API void subproc_buffer_free(void *buf);

/* ---------------------------------------------------------------------- */
/* Pipelines (beyond Python's recipe: a first-class a | b | c)             */
/* ---------------------------------------------------------------------- */

typedef struct subproc_pipeline_result {
  size_t n;             /* number of stages */
  int *returncodes;     /* each stage's status (-N: signal N) */
  int returncode;       /* pipefail: the last non-zero status, else 0 */
  subproc_result *last; /* the last stage's captured output, if any */
  int timed_out;
} subproc_pipeline_result;

/*
 * Run argvs[0] | argvs[1] | ... | argvs[n-1], as a shell would, with one
 * options struct whose every field means what it means for run():
 *   opts->in feeds the first stage, opts->out takes the last stage's
 *   stdout, opts->err takes every stage's stderr (a PATH is opened once, a
 *   PIPE is one pipe all stages write, STDOUT sends every stage's stderr
 *   where the last stage's stdout goes: `(a | b) 2>&1`); input,
 *   capture_output, timeout (one for all stages), check (pipefail), text,
 *   max_output, wait_delay and on_output apply to the pipeline; the process
 *   fields (cwd, env, user, fds, signals, session, kill_tree, on_spawn...)
 *   apply to every stage. The inner streams are always pipes.
 * stage_opts may be NULL, or n pointers of which any may be NULL: a stage
 * given its own options takes its process fields from them instead of
 * from opts (kill_tree AUTO and a NULL on_spawn still inherit opts'). A
 * stage's own stdin, stdout and the pipeline-wide fields (input,
 * capture_output, timeout, check, text/encoding/errors, max_output,
 * on_output, wait_delay) are SUBPROC_EINVAL naming the field; its own
 * stderr replaces opts->err for that stage (STDOUT: into its stdout, as
 * `a 2>&1 | b`), except PIPE, which nothing would read (SUBPROC_EINVAL).
 * Every stage is waited for; *res receives each one's status. Stages that
 * end early are not reaped before the others are done or killed, so a
 * kill after a timeout still reaches the process group of a stage whose
 * leader has exited.
 */
SUBPROC_API int subproc_pipeline(const char *const *const *argvs, size_t n,
                                 const subproc_options *opts,
                                 const subproc_options *const *stage_opts,
                                 subproc_pipeline_result **res,
                                 subproc_error *err);
SUBPROC_API void subproc_pipeline_result_free(subproc_pipeline_result *r);

/* ---------------------------------------------------------------------- */
/* shlex and Windows command lines (pure functions, every platform)        */
/* ---------------------------------------------------------------------- */

/* shlex.split(s) in POSIX mode (comments=False): *argv receives a
 * NULL-terminated array in one allocation; free with subproc_buffer_free.
 * An unterminated quote or escape is SUBPROC_EINVAL. */
SUBPROC_API int subproc_split(const char *s, char ***argv, size_t *argc,
                              subproc_error *err);
/* shlex.quote(s) / shlex.join(argv): malloc'ed; subproc_buffer_free. */
SUBPROC_API char *subproc_quote(const char *s);
SUBPROC_API char *subproc_join(const char *const *argv);
/* subprocess.list2cmdline(argv): the MS C runtime quoting rules. */
SUBPROC_API char *subproc_list2cmdline(const char *const *argv);

/* ---------------------------------------------------------------------- */
/* Audit hook                                                              */
/* ---------------------------------------------------------------------- */

/* Called before every spawn with what Python's "subprocess.Popen" audit
 * event carries; env is NULL when inherited. Return 0 to allow the spawn,
 * non-zero to refuse it (SUBPROC_ESUBPROCESS, step "audit"). */
typedef int (*subproc_audit_fn)(void *arg, const char *executable,
                                const char *const *argv, const char *cwd,
                                const char *const *env);
/* Install (or with NULL remove) the process-wide hook. */
SUBPROC_API void subproc_set_audit_hook(subproc_audit_fn fn, void *arg);

/* ---------------------------------------------------------------------- */
/* Windows constants (Python's subprocess module attributes)               */
/* ---------------------------------------------------------------------- */

#define SUBPROC_STD_INPUT_HANDLE ((unsigned long)-10)
#define SUBPROC_STD_OUTPUT_HANDLE ((unsigned long)-11)
#define SUBPROC_STD_ERROR_HANDLE ((unsigned long)-12)
#define SUBPROC_SW_HIDE 0
#define SUBPROC_STARTF_USESTDHANDLES 0x00000100UL
#define SUBPROC_STARTF_USESHOWWINDOW 0x00000001UL
#define SUBPROC_CREATE_NEW_CONSOLE 0x00000010UL
#define SUBPROC_CREATE_NEW_PROCESS_GROUP 0x00000200UL
#define SUBPROC_ABOVE_NORMAL_PRIORITY_CLASS 0x00008000UL
#define SUBPROC_BELOW_NORMAL_PRIORITY_CLASS 0x00004000UL
#define SUBPROC_HIGH_PRIORITY_CLASS 0x00000080UL
#define SUBPROC_IDLE_PRIORITY_CLASS 0x00000040UL
#define SUBPROC_NORMAL_PRIORITY_CLASS 0x00000020UL
#define SUBPROC_REALTIME_PRIORITY_CLASS 0x00000100UL
#define SUBPROC_CREATE_NO_WINDOW 0x08000000UL
#define SUBPROC_DETACHED_PROCESS 0x00000008UL
#define SUBPROC_CREATE_DEFAULT_ERROR_MODE 0x04000000UL
#define SUBPROC_CREATE_BREAKAWAY_FROM_JOB 0x01000000UL
/* send_signal() values on Windows (signal.CTRL_C_EVENT/CTRL_BREAK_EVENT). */
#define SUBPROC_CTRL_C_EVENT 0
#define SUBPROC_CTRL_BREAK_EVENT 1

#ifdef __cplusplus
}
#endif

#endif /* SUBPROC_H */
