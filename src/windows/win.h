/* Windows backend internals shared by its files: the system headers, the
 * relay threads for overlapped pipe ends given to a child, and the
 * UTF-8/UTF-16 and error helpers. */
#ifndef SUBPROC_WIN_H
#define SUBPROC_WIN_H

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef _WIN32_WINNT
#define _WIN32_WINNT 0x0601 /* Windows 7: PROC_THREAD_ATTRIBUTE_HANDLE_LIST */
#endif
#include <windows.h>

#include <stdio.h>

#include "os.h"
#include "testing.h"

/* subproc__os.flags: the child leads a console process group
 * (CREATE_NEW_PROCESS_GROUP), so console events can reach it. */
#define SUBPROC__WIN_NEW_GROUP 1

/* The OS handle of a C runtime fd, or INVALID_HANDLE_VALUE. */
HANDLE subproc__win_handle(int fd);

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

/* A write end that a group's poller watches (SUBPROC__POLL_OUT) waits for
 * room with the poller's one-byte write, which stays in flight on its
 * completion port across subproc__os_io calls (src/windows/room.c). */
enum { SUBPROC__ROOM_NONE, SUBPROC__ROOM_BUSY, SUBPROC__ROOM_ENDED };
/* Before writing to fd: NONE (write as usual), BUSY (the poller's byte is
 * in flight: write nothing now) or ENDED (a byte's write ended: *n bytes
 * of what is offered went, *err is its error or 0). */
int subproc__win_room_take(int fd, DWORD *n, DWORD *err);
/* Nothing fits: NONE (not watched: wait for room yourself), BUSY (the
 * poller waits, with *byte in flight) or ENDED (it failed at once: *err). */
int subproc__win_room_wait(int fd, const char *byte, DWORD *err);
/* A write to fd moved data: room is reported again (level-triggered). */
void subproc__win_room_wrote(int fd);
/* fd is being closed: a byte carried for it (room.c) goes with it. */
void subproc__win_room_forget(int fd);
/* PIPE_WAIT (wait = 1) or PIPE_NOWAIT for a byte-mode pipe end: 0 or -1
 * with GetLastError set. */
int subproc__win_set_wait_mode(HANDLE h, int wait);

/* SUBPROC_PTY (src/windows/pty.c): if fd is a pty object's fd, the
 * hang-up (1, or a negative code); 0 if it is not. */
int subproc__conpty_close_fd(int fd);

/* UTF-8 -> UTF-16 (malloc'ed, NULL on invalid UTF-8 or no memory) and back. */
wchar_t *subproc__to_wide(const char *s);
char *subproc__to_utf8(const wchar_t *w);

/* The errno closest to a Windows error code (EINVAL when there is none). */
int subproc__errno_of(DWORD winerr);
/* subproc__fail_os for a Windows error: -errno, with the system's message
 * and the code in the text ("exec 'x.exe': ... [WinError 2]"). */
int subproc__fail_win(subproc_error *err, DWORD winerr, const char *step,
                      const char *path);
/* The same for a name the library built: in the message, not in path. */
int subproc__fail_win_named(subproc_error *err, DWORD winerr,
                            const char *step, const char *name);

#endif
