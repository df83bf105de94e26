/* Containment in a cgroup v2 (issue 12): the child starts inside the
 * cgroup on every spawn method, a grandchild that left the process group
 * (setsid, double fork) still dies with a timeout, the fresh cgroup is
 * removed after the reap, limits and statistics.
 *
 * Every case works under a parent cgroup of its own,
 * <cgroup2 mount>/<this process's cgroup>/subproc-test-<pid>, removed at
 * exit with everything in it; no other cgroup is touched. A case skips
 * where no writable cgroup v2 hierarchy exists, and a limit's case where
 * its controller is not available to that parent. */
#ifndef _WIN32
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "subproc.h"
#include "test.h"
#include "testing.h"
#include "util.h"

#ifndef _WIN32

/* snprintf that must not truncate: a cut path would name another file. */
#define PATHF(buf, size, ...)                                                  \
  ASSERT((size_t)snprintf(buf, size, __VA_ARGS__) < (size_t)(size))

/* ---- the test's own cgroup ---- */

static char test_parent[4300];

/* The mount point of the cgroup2 file system and the root it shows, from
 * /proc/self/mountinfo: "id parent dev root mountpoint opts ... - cgroup2
 * src opts". */
static int cgroup2_mount(char *mnt, size_t n, char *root, size_t rn) {
  FILE *f = fopen("/proc/self/mountinfo", "r");
  char line[8192];
  int found = 0;
  if (!f)
    return 0;
  while (!found && fgets(line, sizeof line, f)) {
    char *dash = strstr(line, " - ");
    if (!dash || strncmp(dash + 3, "cgroup2 ", 8) != 0)
      continue;
    char r[4096], m[4096];
    if (sscanf(line, "%*s %*s %*s %4095s %4095s", r, m) != 2)
      continue;
    PATHF(mnt, n, "%s", m);
    PATHF(root, rn, "%s", r);
    found = 1;
  }
  fclose(f);
  return found;
}

/* This process's cgroup v2 directory ("0::/path" in /proc/self/cgroup). */
static int own_cgroup_dir(char *out, size_t n) {
  char mnt[4096], root[4096], line[4096], *path = NULL;
  if (!cgroup2_mount(mnt, sizeof mnt, root, sizeof root))
    return 0;
  FILE *f = fopen("/proc/self/cgroup", "r");
  if (!f)
    return 0;
  while (!path && fgets(line, sizeof line, f))
    if (strncmp(line, "0::", 3) == 0)
      path = line + 3;
  fclose(f);
  if (!path)
    return 0;
  path[strcspn(path, "\n")] = '\0';
  size_t rl = strlen(root);
  if (strcmp(root, "/") != 0 && strncmp(path, root, rl) == 0)
    path += rl; /* the mount shows a subtree */
  PATHF(out, n, "%s%s", mnt, strcmp(path, "/") == 0 ? "" : path);
  return 1;
}

static int populated(const char *dir) {
  char p[4200], buf[256];
  PATHF(p, sizeof p, "%s/cgroup.events", dir);
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  ssize_t got = read(fd, buf, sizeof buf - 1);
  close(fd);
  buf[got > 0 ? got : 0] = '\0';
  return strstr(buf, "populated 1") != NULL;
}

static void write_to(const char *dir, const char *file, const char *text) {
  char p[4200];
  PATHF(p, sizeof p, "%s/%s", dir, file);
  int fd = open(p, O_WRONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t w = write(fd, text, strlen(text));
    (void)w;
    close(fd);
  }
}

/* Empty a cgroup the test made and remove it. */
static void remove_cgroup(const char *dir) {
  write_to(dir, "cgroup.kill", "1");
  for (int i = 0; i < 200 && populated(dir); i++)
    usleep(10000);
  rmdir(dir);
}

static void cleanup_parent(void) {
  if (!test_parent[0])
    return;
  DIR *d = opendir(test_parent);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      char p[4600];
      if (e->d_type != DT_DIR || e->d_name[0] == '.')
        continue;
      PATHF(p, sizeof p, "%s/%s", test_parent, e->d_name);
      remove_cgroup(p);
    }
    closedir(d);
  }
  remove_cgroup(test_parent);
  test_parent[0] = '\0';
}

/* The case's parent cgroup, created on first call; skips without one. */
static const char *parent(void) {
  if (test_parent[0])
    return test_parent;
  char own[4096];
  if (!own_cgroup_dir(own, sizeof own))
    SKIP("no cgroup v2 hierarchy in /proc/self/mountinfo");
  char tmp[4200];
  PATHF(tmp, sizeof tmp, "%s/subproc-test-%ld", own, (long)getpid());
  if (mkdir(tmp, 0755) < 0)
    SKIP("no writable cgroup v2 hierarchy: mkdir %s: %s", tmp, strerror(errno));
  PATHF(test_parent, sizeof test_parent, "%s", tmp);
  atexit(cleanup_parent);
  return test_parent;
}

/* Starting the child inside (clone3 with CLONE_INTO_CGROUP) needs the
 * library's clone3 path, which this build may lack (documented: the spawn
 * is then -ENOSYS, and only the move fallback contains), and a clone3 in
 * the kernel. Otherwise the cases assert. */
static void need_clone_into(void) {
  if (!subproc__test_clone_into_built())
    SKIP("this build has no clone3 path (not x86_64, or TSan: every spawn "
         "forks without clone3); only cgroup_move_fallback contains here");
  /* clone3 itself missing: a kernel before 5.3, or an emulator that does
   * not know it (valgrind 3.19 answers ENOSYS). */
  errno = 0;
  if (syscall(SYS_clone3, NULL, (size_t)0) < 0 && errno == ENOSYS)
    SKIP("no clone3 system call here (Linux < 5.3, or valgrind)");
}

/* Subdirectories of the parent (the fresh cgroups and any made here). */
static int count_children(void) {
  DIR *d = opendir(parent());
  ASSERT(d != NULL);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    n += e->d_type == DT_DIR && e->d_name[0] != '.';
  closedir(d);
  return n;
}

static const char *make_child(const char *name) {
  static char p[4200];
  PATHF(p, sizeof p, "%s/%s", parent(), name);
  ASSERT_EQ(mkdir(p, 0755), 0);
  return p;
}

/* The cgroup v2 path of a process, as /proc/<pid>/cgroup names it. */
static char *cgroup_of(long pid) {
  char p[64];
  PATHF(p, sizeof p, "/proc/%ld/cgroup", pid);
  char *s = test_read_file(p), *line = strstr(s, "0::");
  ASSERT(line != NULL);
  line += 3;
  line[strcspn(line, "\n")] = '\0';
  memmove(s, line, strlen(line) + 1);
  return s;
}

/* The parent's path as /proc/<pid>/cgroup shows it (relative to the
 * mount's root). */
static const char *parent_rel(void) {
  char mnt[4096], root[4096];
  ASSERT(cgroup2_mount(mnt, sizeof mnt, root, sizeof root));
  return parent() + strlen(mnt);
}

static int controller_available(const char *ctl) {
  char p[4200];
  PATHF(p, sizeof p, "%s/cgroup.controllers", parent());
  char *s = test_read_file(p);
  int found = 0;
  for (char *w = strtok(s, " \n"); w; w = strtok(NULL, " \n"))
    found |= strcmp(w, ctl) == 0;
  free(s);
  return found;
}

/* ---- processes ---- */

/* Gone, or a zombie that nobody reaped yet (it runs no more). */
static int process_dead(long pid) {
  char p[64], buf[512];
  PATHF(p, sizeof p, "/proc/%ld/stat", pid);
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return 1;
  buf[n] = '\0';
  char *rp = strrchr(buf, ')');
  return rp && (rp[2] == 'Z' || rp[2] == 'X');
}

static long read_pid_file(const char *path) {
  char *s = test_read_file(path);
  long pid = strtol(s, NULL, 10);
  free(s);
  ASSERT(pid > 0);
  return pid;
}

/* A grandchild that leaves the process group and the session (setsid)
 * and whose parent exits (a double fork): its pid goes to pidfile. */
static const char *const escape_script =
    "setsid sh -c 'sleep 30 </dev/null >/dev/null 2>&1 & echo $! > \"$1\"' "
    "sh \"$0\"; exec sleep 30";

static int run_escape(subproc_options o, const char *pidfile) {
  const char *argv[] = {"/bin/sh", "-c", escape_script, pidfile, NULL};
  subproc_result *r = NULL;
  subproc_error e;
  o.timeout = 1.0;
  int rc = subproc_run(argv, &o, &r, &e);
  ASSERT_EQ(rc, SUBPROC_ETIMEDOUT);
  ASSERT(r && r->timed_out);
  subproc_result_free(r);
  return rc;
}

TEST_POSIX(cgroup_escape_dies_with_timeout) {
  need_clone_into();
  char *pidfile = test_temp_path("escape.pid");
  run_escape((subproc_options){.cgroup_parent = parent()}, pidfile);
  long pid = read_pid_file(pidfile);
  ASSERT(process_dead(pid));
  ASSERT_EQ(count_children(), 0); /* the fresh cgroup is gone */
  test_remove_file(pidfile);
  free(pidfile);
}

TEST_POSIX(cgroup_escape_survives_process_group) {
  /* The contrast: kill_tree alone kills the process group, which the
   * grandchild has left. */
  char *pidfile = test_temp_path("escape.pid");
  run_escape((subproc_options){.kill_tree = SUBPROC_KILL_TREE_ON}, pidfile);
  long pid = read_pid_file(pidfile);
  ASSERT(!process_dead(pid));
  ASSERT_EQ(kill((pid_t)pid, SIGKILL), 0);
  double t0 = test_now();
  while (!process_dead(pid) && test_now() - t0 < test_slow(5))
    usleep(10000);
  ASSERT(process_dead(pid));
  test_remove_file(pidfile);
  free(pidfile);
}

/* ---- where the child runs ---- */

static char *cgroup_seen(subproc_options o) {
  const char *argv[] = {"cat", "/proc/self/cgroup", NULL};
  subproc_result *r = NULL;
  subproc_error e;
  o.out = SUBPROC_REDIRECT_PIPE;
  ASSERT_OK(subproc_run(argv, &o, &r, &e), &e);
  ASSERT_EQ(r->returncode, 0);
  char *line = strstr(r->out, "0::");
  ASSERT(line != NULL);
  line += 3;
  line[strcspn(line, "\n")] = '\0';
  char *s = strdup(line);
  subproc_result_free(r);
  return s;
}

TEST_POSIX(cgroup_given_directory) {
  need_clone_into();
  const char *dir = make_child("given");
  char want[4200];
  PATHF(want, sizeof want, "%s/given", parent_rel());
  char *seen = cgroup_seen((subproc_options){.cgroup = dir});
  ASSERT_STREQ(seen, want);
  free(seen);
  /* The caller's cgroup stays, with no statistics reported. */
  struct stat st;
  ASSERT_EQ(stat(dir, &st), 0);
  const char *argv[] = {"true", NULL};
  subproc_result *r = run_ok(argv, (subproc_options){.cgroup = dir});
  ASSERT_EQ(r->cgroup_usage_usec, -1);
  ASSERT_EQ(r->cgroup_memory_peak, -1);
  subproc_result_free(r);
  ASSERT_EQ(stat(dir, &st), 0);
}

TEST_POSIX(cgroup_fresh_created_and_removed) {
  need_clone_into();
  const char *argv[] = {"sleep", "30", NULL};
  subproc *p = start(argv, &(subproc_options){.cgroup_parent = parent()});
  char *cg = cgroup_of(subproc_pid(p));
  char want[4200];
  PATHF(want, sizeof want, "%s/subproc-%ld-", parent_rel(), (long)getpid());
  ASSERT(strncmp(cg, want, strlen(want)) == 0);
  ASSERT_EQ(count_children(), 1);
  free(cg);
  ASSERT_OK(subproc_kill(p), NULL);
  int rc;
  ASSERT_OK(subproc_wait(p, SUBPROC_FOREVER, &rc, NULL), NULL);
  ASSERT_EQ(rc, TEST_RC_KILLED);
  ASSERT_EQ(count_children(), 0); /* removed at the reap */
  subproc_free(p);
}

TEST_POSIX(cgroup_leftovers_die_at_reap) {
  need_clone_into();
  /* The child starts a daemon and exits: its reap ends the daemon too,
   * and then the cgroup can go. */
  char *pidfile = test_temp_path("daemon.pid");
  const char *argv[] = {"/bin/sh", "-c",
                        "setsid sh -c 'sleep 30 </dev/null >/dev/null 2>&1 & "
                        "echo $! > \"$1\"' sh \"$0\"",
                        pidfile, NULL};
  subproc_result *r =
      run_ok(argv, (subproc_options){.cgroup_parent = parent()});
  ASSERT_EQ(r->returncode, 0);
  subproc_result_free(r);
  ASSERT(process_dead(read_pid_file(pidfile)));
  ASSERT_EQ(count_children(), 0);
  test_remove_file(pidfile);
  free(pidfile);
}

/* ---- every spawn method ---- */

static int preexec_ok(void *arg) {
  *(volatile int *)arg = 1; /* a fork: the parent does not see this */
  return 0;
}

static void expect_in_fresh(subproc_options o, subproc_spawn_method want) {
  const char *argv[] = {"sh", "-c", "cat /proc/self/cgroup", NULL};
  subproc *p = NULL;
  subproc_error e;
  o.cgroup_parent = parent();
  o.out = SUBPROC_REDIRECT_PIPE;
  ASSERT_OK(subproc_popen(argv, &o, &p, &e), &e);
  if (!subproc__test_vm_shared()) /* valgrind, TSan: always the fork path */
    want = SUBPROC_SPAWN_FORK;
  ASSERT_EQ(subproc_method(p), want);
  subproc_result *r = NULL;
  ASSERT_OK(subproc_communicate(p, NULL, 0, SUBPROC_FOREVER, &r, &e), &e);
  char want_prefix[4200];
  PATHF(want_prefix, sizeof want_prefix, "0::%s/subproc-%ld-", parent_rel(),
        (long)getpid());
  ASSERT_CONTAINS(r->out, want_prefix);
  ASSERT_GE(r->cgroup_usage_usec, 0);
  subproc_result_free(r);
  subproc_free(p);
  ASSERT_EQ(count_children(), 0);
}

static void expect_refused(subproc_options o, int code, const char *text) {
  const char *argv[] = {"true", NULL};
  subproc *p = NULL;
  subproc_error e;
  o.cgroup_parent = parent();
  ASSERT_EQ(subproc_popen(argv, &o, &p, &e), code);
  ASSERT(p == NULL);
  ASSERT_EQ(e.step, SUBPROC_STEP_CGROUP);
  ASSERT_CONTAINS(e.message, text);
  ASSERT_EQ(count_children(), 0); /* nothing left behind */
}

TEST_POSIX(cgroup_spawn_methods) {
  need_clone_into();
  /* clone3(CLONE_INTO_CGROUP) with CLONE_VM on the default path;
   * posix_spawn cannot, so the next best method does (as documented);
   * the fork method without preexec is clone3 without CLONE_VM. */
  expect_in_fresh((subproc_options){0}, SUBPROC_SPAWN_VFORK);
  expect_in_fresh((subproc_options){.spawn_method = SUBPROC_SPAWN_VFORK},
                  SUBPROC_SPAWN_VFORK);
  expect_in_fresh((subproc_options){.spawn_method = SUBPROC_SPAWN_POSIX_SPAWN},
                  SUBPROC_SPAWN_VFORK);
  expect_in_fresh((subproc_options){.spawn_method = SUBPROC_SPAWN_FORK},
                  SUBPROC_SPAWN_FORK);
  /* With the move fallback allowed, the atomic way is still taken. */
  expect_in_fresh((subproc_options){.cgroup_move_fallback = 1},
                  SUBPROC_SPAWN_VFORK);
}

TEST_POSIX(cgroup_preexec_needs_fallback) {
  int ran = 0;
  expect_refused((subproc_options){.preexec = preexec_ok, .preexec_arg = &ran},
                 SUBPROC_EINVAL, "cgroup_move_fallback");
  /* Allowed: fork(), and the child moves itself before preexec runs. */
  expect_in_fresh((subproc_options){.preexec = preexec_ok,
                                    .preexec_arg = &ran,
                                    .cgroup_move_fallback = 1},
                  SUBPROC_SPAWN_FORK);
}

TEST_POSIX(cgroup_no_clone3_fails_clearly) {
  subproc__set_test_flags(SUBPROC__NO_CLONE3);
  expect_refused((subproc_options){0}, -ENOSYS, "CLONE_INTO_CGROUP");
  expect_refused((subproc_options){.spawn_method = SUBPROC_SPAWN_FORK}, -ENOSYS,
                 "cgroup_move_fallback");
  subproc__set_test_flags(0);
}

TEST_POSIX(cgroup_no_clone3_move_fallback) {
  subproc__set_test_flags(SUBPROC__NO_CLONE3);
  expect_in_fresh((subproc_options){.cgroup_move_fallback = 1},
                  SUBPROC_SPAWN_VFORK);
  expect_in_fresh((subproc_options){.cgroup_move_fallback = 1,
                                    .spawn_method = SUBPROC_SPAWN_FORK},
                  SUBPROC_SPAWN_FORK);
  /* close_fds through the shared fd table or a copy of it, alike. */
  subproc__set_test_flags(SUBPROC__NO_CLONE3 | SUBPROC__NO_CLONE_FILES);
  expect_in_fresh((subproc_options){.cgroup_move_fallback = 1},
                  SUBPROC_SPAWN_VFORK);
  /* A given cgroup through the fallback too. */
  const char *dir = make_child("given");
  char want[4200];
  PATHF(want, sizeof want, "%s/given", parent_rel());
  char *seen =
      cgroup_seen((subproc_options){.cgroup = dir, .cgroup_move_fallback = 1});
  ASSERT_STREQ(seen, want);
  free(seen);
  subproc__set_test_flags(0);
}

TEST_POSIX(cgroup_spawn_failure_leaves_nothing) {
  need_clone_into();
  const char *argv[] = {"/nonexistent/program", NULL};
  subproc *p = NULL;
  subproc_error e;
  ASSERT_EQ(subproc_popen(argv, &(subproc_options){.cgroup_parent = parent()},
                          &p, &e),
            -ENOENT);
  ASSERT_EQ(e.step, SUBPROC_STEP_EXEC);
  ASSERT_EQ(count_children(), 0);
  subproc__set_test_flags(SUBPROC__NO_CLONE3);
  ASSERT_EQ(subproc_popen(argv,
                          &(subproc_options){.cgroup_parent = parent(),
                                             .cgroup_move_fallback = 1},
                          &p, &e),
            -ENOENT);
  subproc__set_test_flags(0);
  ASSERT_EQ(count_children(), 0);
}

/* ---- errors ---- */

static void expect_error(subproc_options o, int code, const char *path,
                         const char *text) {
  const char *argv[] = {"true", NULL};
  subproc *p = NULL;
  subproc_error e;
  ASSERT_EQ(subproc_popen(argv, &o, &p, &e), code);
  ASSERT_EQ(e.step, SUBPROC_STEP_CGROUP);
  if (path)
    ASSERT_STREQ(e.path, path);
  ASSERT_CONTAINS(e.message, text);
}

TEST_POSIX(cgroup_errors) {
  const char *nope = "/sys/fs/cgroup/no-such-cgroup-for-subproc";
  expect_error((subproc_options){.cgroup = nope}, -ENOENT, nope, nope);
  expect_error((subproc_options){.cgroup_parent = nope}, -ENOENT, nope, nope);
  expect_error((subproc_options){.cgroup = "/tmp"}, SUBPROC_EINVAL, "/tmp",
               "not a cgroup v2 directory");
  expect_error((subproc_options){.cgroup = "/proc"}, SUBPROC_EINVAL, "/proc",
               "not a cgroup v2 directory");
  expect_error((subproc_options){.cgroup = "/etc/passwd"}, -ENOTDIR,
               "/etc/passwd", "/etc/passwd");
  expect_error((subproc_options){.cgroup = "/a", .cgroup_parent = "/b"},
               SUBPROC_EINVAL, NULL, "exclude each other");
  expect_error((subproc_options){.cgroup = ""}, SUBPROC_EINVAL, NULL, "empty");
  expect_error((subproc_options){.cgroup = "/a", .cgroup_pids_max = 5},
               SUBPROC_EINVAL, NULL, "need cgroup_parent");
  expect_error((subproc_options){.cgroup_memory_max = 1 << 20}, SUBPROC_EINVAL,
               NULL, "need cgroup_parent");
  expect_error(
      (subproc_options){.cgroup_parent = "/a", .cgroup_memory_max = -1},
      SUBPROC_EINVAL, NULL, "negative");
  expect_error((subproc_options){.cgroup_parent = "/a", .cgroup_pids_max = -1},
               SUBPROC_EINVAL, NULL, "negative");
  expect_error(
      (subproc_options){.cgroup_parent = "/a", .cgroup_cpu_max = 0.001},
      SUBPROC_EINVAL, NULL, "cgroup_cpu_max");
  expect_error((subproc_options){.cgroup_parent = "/a", .cgroup_cpu_max = -1},
               SUBPROC_EINVAL, NULL, "cgroup_cpu_max");
  double nan = 0.0;
  nan = nan / nan;
  expect_error((subproc_options){.cgroup_parent = "/a", .cgroup_cpu_max = nan},
               SUBPROC_EINVAL, NULL, "cgroup_cpu_max");
}

/* ---- limits and statistics ---- */

/* A limit whose controller the parent does not pass on: a clear error
 * naming the file to change, and no cgroup left behind. */
static void expect_missing_controller(subproc_options o, const char *ctl) {
  char file[4200];
  PATHF(file, sizeof file, "%s/cgroup.subtree_control", parent());
  o.cgroup_parent = parent();
  const char *argv[] = {"true", NULL};
  subproc *p = NULL;
  subproc_error e;
  ASSERT_EQ(subproc_popen(argv, &o, &p, &e), SUBPROC_EINVAL);
  ASSERT_EQ(e.step, SUBPROC_STEP_CGROUP);
  ASSERT_CONTAINS(e.message, file);
  ASSERT_CONTAINS(e.message, ctl);
  ASSERT_EQ(count_children(), 0);
}

/* Enable ctl for the parent's children (a cgroup the test made), or 0
 * where it is not available to it. */
static int enable(const char *ctl) {
  if (!controller_available(ctl))
    return 0;
  char text[64];
  PATHF(text, sizeof text, "+%s", ctl);
  write_to(parent(), "cgroup.subtree_control", text);
  return 1;
}

TEST_POSIX(cgroup_limit_without_controller) {
  expect_missing_controller((subproc_options){.cgroup_memory_max = 1 << 26},
                            "memory");
  expect_missing_controller((subproc_options){.cgroup_pids_max = 10}, "pids");
  expect_missing_controller((subproc_options){.cgroup_cpu_max = 0.5}, "cpu");
}

/* The limit file of the child's fresh cgroup while it runs. */
static char *limit_seen(subproc_options o, const char *file) {
  const char *argv[] = {"sleep", "30", NULL};
  o.cgroup_parent = parent();
  subproc *p = start(argv, &o);
  char *cg = cgroup_of(subproc_pid(p));
  char mnt[4096], root[4096], path[8400];
  ASSERT(cgroup2_mount(mnt, sizeof mnt, root, sizeof root));
  PATHF(path, sizeof path, "%s%s/%s", mnt, cg, file);
  char *s = test_read_file(path);
  free(cg);
  finish_killed(p);
  return s;
}

TEST_POSIX(cgroup_limits_written) {
  int any = 0;
  if (enable("memory")) {
    char *s = limit_seen((subproc_options){.cgroup_memory_max = 64 << 20},
                         "memory.max");
    ASSERT_STREQ(s, "67108864\n");
    free(s);
    any = 1;
  }
  if (enable("pids")) {
    char *s = limit_seen((subproc_options){.cgroup_pids_max = 7}, "pids.max");
    ASSERT_STREQ(s, "7\n");
    free(s);
    any = 1;
  }
  if (enable("cpu")) {
    char *s = limit_seen((subproc_options){.cgroup_cpu_max = 0.5}, "cpu.max");
    ASSERT_STREQ(s, "50000 100000\n");
    free(s);
    any = 1;
  }
  ASSERT_EQ(count_children(), 0);
  if (!any)
    SKIP("none of the memory, pids and cpu controllers is available in %s "
         "(cgroup.controllers): v1 may hold them",
         parent());
}

TEST_POSIX(cgroup_pids_max_stops_fork) {
  if (!enable("pids"))
    SKIP("the pids controller is not available in %s/cgroup.controllers",
         parent());
  /* The shell counts as one: with 3 the fourth sleep cannot start. */
  const char *argv[] = {"/bin/sh", "-c",
                        "for i in 1 2 3 4 5; do sleep 5 & done; wait", NULL};
  subproc_result *r = run_ok(argv, (subproc_options){.cgroup_parent = parent(),
                                                     .cgroup_pids_max = 3,
                                                     .capture_output = 1,
                                                     .timeout = 30});
  ASSERT(r->err_len > 0); /* "fork: Resource temporarily unavailable" */
  subproc_result_free(r);
  ASSERT_EQ(count_children(), 0);
}

TEST_POSIX(cgroup_statistics) {
  need_clone_into();
  /* Busy for a while in a grandchild: rusage would not see it (never
   * waited for by the child), the cgroup does. */
  const char *argv[] = {
      "/bin/sh", "-c",
      "(i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done) & wait", NULL};
  subproc_result *r =
      run_ok(argv, (subproc_options){.cgroup_parent = parent()});
  ASSERT_GE(r->cgroup_usage_usec, 1000);
  ASSERT_GE(r->cgroup_user_usec, 0);
  ASSERT_GE(r->cgroup_system_usec, 0);
  ASSERT(r->cgroup_user_usec + r->cgroup_system_usec <=
         r->cgroup_usage_usec + 1000);
  char file[4200];
  PATHF(file, sizeof file, "%s/cgroup.subtree_control", parent());
  char *ctl = test_read_file(file);
  if (strstr(ctl, "memory"))
    ASSERT_GE(r->cgroup_memory_peak, 4096);
  else
    ASSERT_EQ(r->cgroup_memory_peak, -1); /* no memory.peak here */
  free(ctl);
  subproc_result_free(r);
  /* Without a cgroup of its own: -1 throughout. */
  const char *t[] = {"true", NULL};
  r = run_ok(t, (subproc_options){0});
  ASSERT_EQ(r->cgroup_memory_peak, -1);
  ASSERT_EQ(r->cgroup_usage_usec, -1);
  ASSERT_EQ(r->cgroup_user_usec, -1);
  ASSERT_EQ(r->cgroup_system_usec, -1);
  subproc_result_free(r);
}

/* ---- timeouts of the other run-family calls ---- */

TEST_POSIX(cgroup_pipeline_timeout_kills_escapes) {
  need_clone_into();
  char *pidfile = test_temp_path("escape.pid");
  const char *a[] = {"/bin/sh", "-c", escape_script, pidfile, NULL};
  const char *b[] = {"cat", NULL};
  const char *const *argvs[] = {a, b};
  subproc_pipeline_result *r = NULL;
  subproc_error e;
  int rc = subproc_pipeline(
      argvs, 2, &(subproc_options){.cgroup_parent = parent(), .timeout = 1.0},
      NULL, &r, &e);
  ASSERT_EQ(rc, SUBPROC_ETIMEDOUT);
  subproc_pipeline_result_free(r);
  ASSERT(process_dead(read_pid_file(pidfile)));
  ASSERT_EQ(count_children(), 0);
  test_remove_file(pidfile);
  free(pidfile);
}

static void on_exit_rc(void *arg, subproc *p, int rc, subproc_result *r,
                       const subproc_error *err) {
  (void)err;
  *(int *)arg = rc;
  subproc_result_free(r);
  subproc_free(p);
}

TEST_POSIX(cgroup_group_timeout_kills_escapes) {
  need_clone_into();
  char *pidfile = test_temp_path("escape.pid");
  const char *argv[] = {"/bin/sh", "-c", escape_script, pidfile, NULL};
  subproc_group *g = NULL;
  subproc_error e;
  ASSERT_OK(subproc_group_new(&g, &e), &e);
  subproc *p = start(argv, &(subproc_options){.cgroup_parent = parent(),
                                              .out = SUBPROC_REDIRECT_PIPE});
  int rc = 1;
  subproc_watch w = {.timeout = 1.0, .on_exit = on_exit_rc, .arg = &rc};
  ASSERT_OK(subproc_group_add(g, p, &w, &e), &e);
  ASSERT_OK(subproc_group_run(g, SUBPROC_FOREVER, &e), &e);
  ASSERT_EQ(rc, SUBPROC_ETIMEDOUT);
  subproc_group_free(g);
  ASSERT(process_dead(read_pid_file(pidfile)));
  ASSERT_EQ(count_children(), 0);
  test_remove_file(pidfile);
  free(pidfile);
}

/* ---- threads ---- */

static void *spawn_some(void *arg) {
  (void)arg;
  const char *argv[] = {"true", NULL};
  for (int i = 0; i < 10; i++) {
    subproc_result *r = NULL;
    subproc_error e;
    int rc = subproc_run(argv, &(subproc_options){.cgroup_parent = parent()},
                         &r, &e);
    if (rc < 0 || r->returncode != 0) {
      fprintf(stderr, "spawn: %s\n", rc < 0 ? e.message : "status");
      subproc_result_free(r);
      return (void *)1;
    }
    subproc_result_free(r);
  }
  return NULL;
}

TEST_POSIX(cgroup_threads_unique_names) {
  need_clone_into();
  parent(); /* before the threads */
  pthread_t t[4];
  for (int i = 0; i < 4; i++)
    ASSERT_EQ(pthread_create(&t[i], NULL, spawn_some, NULL), 0);
  for (int i = 0; i < 4; i++) {
    void *res;
    ASSERT_EQ(pthread_join(t[i], &res), 0);
    ASSERT(res == NULL);
  }
  ASSERT_EQ(count_children(), 0);
}

#endif

/* Windows has no cgroups: each option of the block is refused, clearly. */
TEST_WINDOWS(cgroup_refused_on_windows) {
  const subproc_options opts[] = {
      {.cgroup = "C:\\cgroup"},
      {.cgroup_parent = "C:\\cgroup"},
      {.cgroup_move_fallback = 1},
  };
  const char *argv[] = {"cmd.exe", "/c", "exit 0", NULL};
  for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
    subproc *p = NULL;
    subproc_error e;
    ASSERT_EQ(subproc_popen(argv, &opts[i], &p, &e), SUBPROC_EINVAL);
    ASSERT(p == NULL);
    ASSERT_EQ(e.step, SUBPROC_STEP_CGROUP);
    ASSERT_CONTAINS(e.message, "only supported on Linux");
  }
}
