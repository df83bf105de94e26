/* The FILE * streams of a Popen object, binary and text mode. */
#include <errno.h>

#include "subproc.h"
#include "test.h"
#include "util.h"

/* Binary streams, on every platform. */

TEST(stream_binary_lines) {
  const char *argv[] = {test_helper, "echo", "one", "two", NULL};
  subproc *p = start(argv, &(subproc_options){.out = SUBPROC_REDIRECT_PIPE});
  FILE *f = subproc_stream(p, 1);
  ASSERT(f != NULL);
  char line[64];
  ASSERT(fgets(line, sizeof line, f) != NULL);
  ASSERT_STREQ(line, "one\n");
  ASSERT(fgets(line, sizeof line, f) != NULL);
  ASSERT_STREQ(line, "two\n");
  ASSERT(fgets(line, sizeof line, f) == NULL);
  int rc = -1;
  ASSERT_OK(subproc_close(p, &rc), (subproc_error *)NULL);
  ASSERT_EQ(rc, 0);
  subproc_free(p);
}

TEST(stream_binary_writes) {
  const char *argv[] = {test_helper, "cat", NULL};
  subproc *p = start(argv, &(subproc_options){.in = SUBPROC_REDIRECT_PIPE,
                                              .out = SUBPROC_REDIRECT_PIPE});
  FILE *in = subproc_stream(p, 0);
  fputs("through a FILE\n", in);
  ASSERT_EQ(subproc_close_stream(p, 0), 0);
  subproc_result *r = NULL;
  subproc_error e;
  ASSERT_OK(subproc_communicate(p, NULL, 0, test_slow(30), &r, &e), &e);
  ASSERT_STREQ(r->out, "through a FILE\n");
  subproc_result_free(r);
  subproc_free(p);
}

TEST(stream_binary_fd_matches) {
  const char *argv[] = {test_helper, "hex", "00ff0d0a", NULL};
  subproc *p = start(
      argv, &(subproc_options){.out = SUBPROC_REDIRECT_PIPE, .bufsize = 4096});
  subproc_error e;
  int fd = subproc_fd(p, 1);
  FILE *out = subproc_stream(p, 1);
  ASSERT_EQ(subproc_fd(p, 1), fd);
  ASSERT(subproc_stream(p, 1) == out);
  unsigned char buf[8];
  ASSERT_EQ(fread(buf, 1, sizeof buf, out), 4);
  ASSERT(buf[0] == 0 && buf[1] == 0xff && buf[2] == 0x0d && buf[3] == 0x0a);
  ASSERT_OK(subproc_close_stream(p, 1), &e);
  ASSERT_EQ(subproc_fd(p, 1), -1);
  ASSERT(subproc_stream(p, 1) == NULL);
  subproc_close(p, NULL);
  subproc_free(p);
}

/* communicate after the caller wrote to the stdin stream (a text stream
 * where there is one): the stream's buffered text is flushed first, input
 * follows. */
TEST(stream_then_communicate) {
  const char *argv[] = {test_helper, "cat", NULL};
  subproc *p = start(argv, &(subproc_options){.in = SUBPROC_REDIRECT_PIPE,
                                              .out = SUBPROC_REDIRECT_PIPE,
                                              .text = 1});
  subproc_error e;
  fputs("one\r\n", subproc_stream(p, 0));
  subproc_result *r = NULL;
  ASSERT_OK(subproc_communicate(p, "two\n", 4, test_slow(5.0), &r, &e), &e);
  ASSERT_STREQ(r->out, "one\ntwo\n");
  subproc_result_free(r);
  subproc_free(p);
}

/* Text streams need fopencookie (glibc, musl): elsewhere, and on Windows,
 * the streams are binary (include/subproc.h). */

TEST_POSIX(stream_text_latin1_roundtrip) {
  const char *argv[] = {test_helper, "cat", NULL};
  subproc *p = start(argv, &(subproc_options){.in = SUBPROC_REDIRECT_PIPE,
                                              .out = SUBPROC_REDIRECT_PIPE,
                                              .encoding = "latin-1"});
  subproc_error e;
  FILE *in = subproc_stream(p, 0);
  ASSERT(in);
  /* UTF-8 "é\r\nü" split across two writes inside the é */
  fputs("caf\xc3", in);
  fputs("\xa9\r\n\xc3\xbc", in);
  ASSERT_OK(subproc_close_stream(p, 0), &e);
  FILE *out = subproc_stream(p, 1);
  char buf[64] = {0};
  size_t n = fread(buf, 1, sizeof buf - 1, out);
  /* the child saw latin-1 bytes; we read UTF-8 with \r\n -> \n */
  ASSERT_EQ(n, 8);
  ASSERT_STREQ(buf, "caf\xc3\xa9\n\xc3\xbc");
  int rc = -1;
  ASSERT_OK(subproc_close(p, &rc), &e);
  ASSERT_EQ(rc, 0);
  subproc_free(p);
}

TEST_POSIX(stream_text_child_sees_encoded_bytes) {
  const char *argv[] = {test_helper, "tohex", NULL};
  subproc *p = start(argv, &(subproc_options){.in = SUBPROC_REDIRECT_PIPE,
                                              .out = SUBPROC_REDIRECT_PIPE,
                                              .encoding = "latin-1"});
  fputs("\xc3\xa9", subproc_stream(p, 0));
  subproc_close_stream(p, 0);
  char line[64] = {0};
  ASSERT(fgets(line, sizeof line, subproc_stream(p, 1)));
  ASSERT_STREQ(line, "e9");
  subproc_close(p, NULL);
  subproc_free(p);
}

TEST_POSIX(stream_text_universal_newlines_lines) {
  const char *argv[] = {test_helper, "hex", "610d0a620d630a", NULL};
  subproc *p =
      start(argv, &(subproc_options){.out = SUBPROC_REDIRECT_PIPE, .text = 1});
  FILE *out = subproc_stream(p, 1);
  char line[16];
  const char *want[] = {"a\n", "b\n", "c\n"};
  for (int i = 0; i < 3; i++) {
    ASSERT(fgets(line, sizeof line, out));
    ASSERT_STREQ(line, want[i]);
  }
  ASSERT(fgets(line, sizeof line, out) == NULL);
  subproc_close(p, NULL);
  subproc_free(p);
}

TEST_POSIX(stream_text_strict_decode_error) {
  const char *argv[] = {test_helper, "hex", "61ff62", NULL};
  subproc *p =
      start(argv, &(subproc_options){.out = SUBPROC_REDIRECT_PIPE, .text = 1});
  char buf[16];
  errno = 0;
  size_t n = fread(buf, 1, sizeof buf, subproc_stream(p, 1));
  ASSERT(n <= 1);
  ASSERT(ferror(subproc_stream(p, 1)));
  ASSERT_EQ(errno, EILSEQ);
  subproc_close(p, NULL);
  subproc_free(p);
}
