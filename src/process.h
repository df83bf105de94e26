/* The Popen object, owned by the portable core (src/process.c), and the
 * internal calls the rest of the core makes on it. */
#ifndef SUBPROC_PROCESS_H
#define SUBPROC_PROCESS_H

#include <stdatomic.h>

#include "os.h"

/* One of the parent's three pipe ends. */
typedef struct subproc__stream {
  int fd;        /* -1 if not a pipe or closed; while file is open, its fd */
  FILE *file;    /* subproc_stream(), created on first call */
  void *cookie;  /* the FILE's cookie (stream.c), NULL for a plain FILE */
  char *setvbuf; /* bufsize > 1: the FILE's buffer, freed after fclose */
  int pty;       /* fd is on a pty master (SUBPROC_PTY): EIO reads as EOF */
} subproc__stream;

enum subproc__state {
  SUBPROC__RUNNING = 0, /* not reaped */
  SUBPROC__REAPED,      /* reaped: returncode and exit are set */
  SUBPROC__LOST         /* reaped by someone else, status unknown */
};

struct subproc {
  subproc__os os;
  atomic_int returncode; /* SUBPROC_NO_RETURNCODE until reaped */
  atomic_int state;      /* enum subproc__state, written under lock */
  atomic_flag lock;      /* serialises reaping and signalling */
  subproc__exit exit;    /* set before state becomes REAPED */
  subproc__stream streams[3];
  char **args; /* argv after shell expansion, one allocation */
  subproc_spawn_method method;
  int tree; /* kill_tree: a timeout or an abandon kills os.group / job */
  double start_time, end_time;
  subproc__comm_state cs; /* communicate: options and state */
  struct subproc *orphan_prev, *orphan_next; /* freed while running */
  void *group_member; /* its entry in a subproc_group, NULL if none */
  int pty; /* SUBPROC_PTY: the master held until close/free (hang-up), -1 */
};

/* stdin is a pty (SUBPROC_PTY): tell the child its input ended, as a
 * terminal does (flushes a stdin FILE first); partial: the input did not
 * end a line. A no-op for a pipe. Called before stdin is closed. */
void subproc__pty_input_end(subproc *p, int partial);

/* Wait for the exit until deadline (-1 = forever) without reaping: 1 it
 * has exited (or was reaped), 0 not yet, <0 error. */
int subproc__observe_exit(subproc *p, double deadline);
/* Wait until deadline and reap: 1 reaped, 0 not yet, <0 error (-ECHILD: it
 * was reaped by someone else and its status is lost). */
int subproc__wait_until(subproc *p, double deadline);
/* Kill the child, and its group or job when kill_tree is on (never once
 * it has been reaped). 0 or the error of the kill. */
int subproc__kill_all(subproc *p);

/* -ECHILD with "wait 'prog': the child was reaped by someone else ...". */
int subproc__lost_error(subproc *p, subproc_error *err, const char *step);
/* communicate() for run and pipelines: the output moves into *res (no
 * copy is kept for a later call). */
int subproc__communicate_final(subproc *p, const void *input, size_t input_len,
                               double timeout, subproc_result **res,
                               subproc_error *err);

/* communicate driven by an event loop (src/group.c): begin once, then a
 * non-blocking round whenever a pipe or the exit may have news (*done = 1
 * once every pipe reached EOF and the child was reaped), then end for the
 * result (moved, not copied). closing (may be NULL) hears of every pipe end
 * before it is closed. On an error, abandon kills and reaps the child. */
typedef struct subproc__closing {
  void (*fn)(void *arg, subproc *p, int stream, int fd);
  /* May be NULL: called once the child has exited, before it is reaped
   * (its group id still cannot be reused). */
  void (*before_reap)(void *arg, subproc *p);
  void *arg;
} subproc__closing;
int subproc__communicate_begin(subproc *p, const void *input, size_t input_len,
                               subproc_error *err);
int subproc__communicate_round(subproc *p, const subproc__closing *closing,
                               int *done, subproc_error *err);
int subproc__communicate_end(subproc *p, subproc_result **res,
                             subproc_error *err);
void subproc__communicate_abandon(subproc *p, const subproc__closing *closing,
                                  subproc_result **res);

/* From now on, each child's process group (kill_tree) is killed as the
 * child exits, before it is reaped: a pool's cancel reaches what a job
 * left behind. */
void subproc__group_kill_trees(subproc_group *g);

/* FILE streams (src/stream.c). */
FILE *subproc__stream_open(subproc__stream *s, int writing,
                           const subproc__comm_opts *co);
/* fclose (or close) and release; a flush error is returned (-EPIPE when
 * the child stopped reading). nonblocking: a flush must not block. */
int subproc__stream_close(subproc__stream *s, int nonblocking);
/* Hand what a FILE read ahead over to communicate (and its decoder state,
 * for a text stream), so nothing is lost. */
int subproc__stream_drain(subproc__stream *s, subproc__comm *c, int stream,
                          subproc_error *err);

#endif
