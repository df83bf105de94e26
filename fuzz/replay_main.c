/* Runs a fuzz target without libFuzzer: LLVMFuzzerTestOneInput on every
 * file in the directories (or the files) named on the command line, so the
 * committed corpora replay as ordinary tests on any compiler. */
#include "fuzz.h"

#ifdef _WIN32
#include <windows.h>
#else
#include <dirent.h>
#include <sys/stat.h>
#endif

static int replay_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    return -1;
  }
  size_t len = 0, cap = 4096;
  uint8_t *data = fuzz_alloc(cap);
  size_t got;
  while ((got = fread(data + len, 1, cap - len, f)) > 0) {
    len += got;
    if (len == cap) {
      data = realloc(data, cap *= 2);
      FUZZ_CHECK(data != NULL);
    }
  }
  int failed = ferror(f);
  fclose(f);
  if (failed) {
    fprintf(stderr, "%s: read error\n", path);
  } else {
    /* A copy of exactly len bytes, so that ASan sees any over-read. */
    uint8_t *exact = fuzz_alloc(len);
    if (len)
      memcpy(exact, data, len);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
  }
  free(data);
  return failed ? -1 : 1;
}

static char *join_path(const char *dir, const char *name) {
  size_t a = strlen(dir), b = strlen(name);
  char *path = fuzz_alloc(a + b + 2);
  memcpy(path, dir, a);
  path[a] = '/';
  memcpy(path + a + 1, name, b + 1);
  return path;
}

#ifdef _WIN32
/* The number of files replayed, or -1. */
static int replay_dir(const char *dir) {
  char *pattern = join_path(dir, "*");
  WIN32_FIND_DATAA fd;
  HANDLE h = FindFirstFileA(pattern, &fd);
  free(pattern);
  if (h == INVALID_HANDLE_VALUE)
    return replay_file(dir);
  int n = 0;
  do {
    if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
      continue;
    char *path = join_path(dir, fd.cFileName);
    int rc = replay_file(path);
    free(path);
    if (rc < 0 || n < 0)
      n = -1;
    else
      n += rc;
  } while (FindNextFileA(h, &fd));
  FindClose(h);
  return n;
}
#else
static int is_regular(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The number of files replayed, or -1. */
static int replay_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (!d)
    return replay_file(dir);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    char *path = join_path(dir, e->d_name);
    int rc = is_regular(path) ? replay_file(path) : 0;
    free(path);
    if (rc < 0 || n < 0)
      n = -1;
    else
      n += rc;
  }
  closedir(d);
  return n;
}
#endif

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
    return 2;
  }
  int total = 0;
  for (int i = 1; i < argc; i++) {
    int n = replay_dir(argv[i]);
    if (n < 0)
      return 1;
    total += n;
  }
  printf("replayed %d inputs\n", total);
  return 0;
}
