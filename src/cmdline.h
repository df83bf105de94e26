/* Command-line parsing shared by src/shlex.c and src/cmdline.c, and the
 * reference decoder of Windows command lines used by tests and fuzzers. */
#ifndef SUBPROC_CMDLINE_H
#define SUBPROC_CMDLINE_H

#include <stddef.h>

/*
 * Turn n NUL-terminated words stored back to back in the len bytes at words
 * into a NULL-terminated argv in one allocation (the pointer array followed
 * by the strings; release it with subproc_buffer_free). Returns 0 or
 * -ENOMEM; argc may be NULL.
 */
int subproc__argv_pack(const char *words, size_t len, size_t n, char ***argv,
                       size_t *argc);

/*
 * The MS C runtime's command line -> argv rules, the inverse of
 * subproc_list2cmdline: decode(list2cmdline(x)) == x for every x.
 * Every argument, argv[0] included, follows the general rules (the CRT
 * reads argv[0] without backslash escapes; list2cmdline does not quote for
 * that either). Inside quotes, "" is a literal quote (the CRT since 2008);
 * an unterminated quote ends at the end of the line. *argv is one
 * allocation as for subproc__argv_pack. Returns 0, -ENOMEM, or
 * SUBPROC_EINVAL for NULL arguments.
 */
int subproc__cmdline_decode(const char *cmdline, char ***argv, size_t *argc);

#endif
