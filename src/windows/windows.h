/* Windows backend internals: the Popen object, the spawn entry point and
 * the UTF-8/UTF-16 and error helpers shared by the backend's files. */
#ifndef SUBPROC_WINDOWS_H
#define SUBPROC_WINDOWS_H

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef _WIN32_WINNT
#define _WIN32_WINNT 0x0601 /* Windows 7: PROC_THREAD_ATTRIBUTE_HANDLE_LIST */
#endif
#include <windows.h>

#include <stdio.h>

#include "internal.h"

struct subproc {
  HANDLE process; /* kept until free, so the pid is never reused under us */
  DWORD pid;
  HANDLE job;     /* kill_tree: the job holding the child's tree, or NULL */
  int new_group;  /* CREATE_NEW_PROCESS_GROUP: console events can reach it */
  int returncode; /* SUBPROC_NO_RETURNCODE until the child has exited */
  int fds[3];     /* the parent's pipe ends as C runtime fds, -1 if none */
  FILE *streams[3];
  char **args; /* argv after shell expansion, one allocation */
  double start_time, end_time;
  double user_s, system_s;
  long max_rss_kb;
  subproc__comm_state cs; /* communicate: options and state */
};

/* Start the child per opts; fills process, pid, job, new_group, fds, args.
 * verbatim: argv[0] is a whole command line (subproc_popen_cmd). */
int subproc__spawn(subproc *p, const char *const *argv, int verbatim,
                   const subproc_options *opts, subproc_error *err);

/* 1 if the child has exited (status collected), 0 if still running, <0 on
 * error. block = 1 waits. */
int subproc__reap(subproc *p, int block);

/* The parent's end of stream i as an OS handle (a pipe opened for
 * overlapped I/O), or INVALID_HANDLE_VALUE. */
HANDLE subproc__pipe_handle(const subproc *p, int i);

/* fdopen honouring bufsize (streams are binary on Windows). */
FILE *subproc__open_stream(int fd, const char *mode,
                           const subproc__comm_opts *co);

/* A pipe end opened for overlapped I/O that a child is to get, replaced by
 * a synchronous pipe and a copying thread (src/windows/relay.c). */
typedef struct subproc__relay {
  HANDLE from, to;
} subproc__relay;
/* 1 if h is a pipe opened for overlapped I/O. */
int subproc__relay_needed(HANDLE h);
/* A synchronous pipe standing for h; *child_end is the child's end (owned
 * by the caller), r the rest. */
int subproc__relay_prepare(subproc__relay *r, HANDLE h, int child_reads,
                           HANDLE *child_end, subproc_error *err);
/* Once the child runs: the thread takes r's handles over. */
void subproc__relay_start(subproc__relay *r);
void subproc__relay_discard(subproc__relay *r);

/* UTF-8 -> UTF-16 (malloc'ed, NULL on invalid UTF-8 or no memory) and back. */
wchar_t *subproc__to_wide(const char *s);
char *subproc__to_utf8(const wchar_t *w);

/* The errno closest to a Windows error code (EINVAL when there is none). */
int subproc__errno_of(DWORD winerr);
/* subproc__fail_os for a Windows error: -errno, with the system's message
 * and the code in the text ("exec 'x.exe': ... [WinError 2]"). */
int subproc__fail_win(subproc_error *err, DWORD winerr, const char *step,
                      const char *path);

#endif
