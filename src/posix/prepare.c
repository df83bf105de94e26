/* Preparation in the parent: argv, the PATH candidates as os.execvpe builds
 * them, resolved ids, the fd plan (pipes, files, /dev/null), the fds to
 * keep. Everything the child needs exists before it is created. */
#include "subproc_config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "spawn.h"

extern char **environ;

static int track(subproc__plan *pr, int fd) {
  pr->own[pr->n_own++] = fd;
  return fd;
}

/* ---- argv and the PATH candidates ---- */

static char **build_argv(const char *const *argv, const subproc_options *o) {
  if (!o->shell)
    return subproc__argv_dup(argv);
  size_t n = subproc__argv_len(argv);
  const char **v = malloc((n + 3) * sizeof *v);
  if (!v)
    return NULL;
  v[0] = o->executable ? o->executable : "/bin/sh";
  v[1] = "-c";
  for (size_t i = 0; i <= n; i++)
    v[i + 2] = argv[i];
  char **out = subproc__argv_dup(v);
  free(v);
  return out;
}

static const char *env_get(char *const *envp, const char *name) {
  size_t n = strlen(name);
  for (; envp && *envp; envp++)
    if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
      return *envp + n + 1;
  return NULL;
}

/* dir + "/" + exe for each PATH entry, as NUL-separated strings in b;
 * offs[i] is where entry i starts. */
static int join_path(const char *path, const char *exe, subproc__buf *b,
                     size_t *offs) {
  size_t i = 0;
  for (const char *dir = path;; i++) {
    const char *end = strchr(dir, ':');
    size_t len = end ? (size_t)(end - dir) : strlen(dir);
    offs[i] = b->len;
    if ((len && (subproc__buf_append(b, dir, len) < 0 ||
                 (dir[len - 1] != '/' && subproc__buf_putc(b, '/') < 0))) ||
        subproc__buf_append(b, exe, strlen(exe) + 1) < 0)
      return -ENOMEM;
    if (!end)
      return 0;
    dir = end + 1;
  }
}

/* os.get_exec_path + os.path.join, as subprocess builds executable_list. */
static char **build_exec_list(const char *exe, char *const *envp) {
  if (strchr(exe, '/')) {
    const char *one[] = {exe, NULL};
    return subproc__argv_dup(one);
  }
  const char *path = env_get(envp ? envp : environ, "PATH");
  if (!path)
    path = "/bin:/usr/bin";
  size_t n = 1;
  for (const char *c = path; *c; c++)
    n += *c == ':';
  subproc__buf b = {0};
  size_t *offs = malloc(n * sizeof *offs);
  const char **v = malloc((n + 1) * sizeof *v);
  char **out = NULL;
  if (offs && v && join_path(path, exe, &b, offs) == 0) {
    for (size_t k = 0; k < n; k++)
      v[k] = b.data + offs[k];
    v[n] = NULL;
    out = subproc__argv_dup(v);
  }
  free(v);
  free(offs);
  subproc__buf_free(&b);
  return out;
}

/* ---- ids ---- */

static int prep_ids(subproc__plan *pr, const subproc_options *o,
                    subproc_error *err) {
  subproc__child_plan *pl = &pr->pl;
  int rc;
  if (o->user) {
    if ((rc = subproc__resolve_uid(o->user, &pl->uid, err)) < 0)
      return rc;
    pl->set_uid = 1;
  }
  if (o->group) {
    if ((rc = subproc__resolve_gid(o->group, "group", &pl->gid, err)) < 0)
      return rc;
    pl->set_gid = 1;
  }
  if (o->extra_groups) {
    size_t n = subproc__argv_len(o->extra_groups);
    pl->groups = malloc((n ? n : 1) * sizeof *pl->groups);
    if (!pl->groups)
      return subproc__fail_os(err, ENOMEM, "extra_groups", NULL, -1);
    for (size_t i = 0; i < n; i++)
      if ((rc = subproc__resolve_gid(o->extra_groups[i], "extra_groups",
                                     &pl->groups[i], err)) < 0)
        return rc;
    pl->n_groups = n;
    pl->set_groups = 1;
  }
  return 0;
}

/* ---- fds ---- */

static int check_fd(int fd, const char *step, subproc_error *err) {
  if (fd < 0 || fcntl(fd, F_GETFD) < 0)
    return subproc__fail(err, -EBADF, EBADF, step, NULL, fd,
                         "%s: fd %d is not open", step, fd);
  return 0;
}

static int set_pipesize(int fd, long pipesize, subproc_error *err) {
#if defined(HAVE_F_SETPIPE_SZ)
  if (pipesize > 0 && fcntl(fd, F_SETPIPE_SZ, (int)pipesize) < 0)
    return subproc__fail_os(err, errno, "pipesize", NULL, fd);
#else
  (void)fd, (void)pipesize;
#endif
  return 0;
}

static int open_pipe(subproc__plan *pr, int fds[2], long pipesize,
                     subproc_error *err) {
  if (subproc__pipe(fds) < 0)
    return subproc__fail_os(err, errno, "pipe", NULL, -1);
  track(pr, fds[0]);
  track(pr, fds[1]);
  return set_pipesize(fds[0], pipesize, err);
}

int subproc__os_output_pipe(long pipesize, int *parent_fd, int *child_fd,
                            subproc_error *err) {
  int fds[2];
  if (subproc__pipe(fds) < 0)
    return subproc__fail_os(err, errno, "pipe", NULL, -1);
  int rc = set_pipesize(fds[0], pipesize, err);
  if (rc < 0) {
    subproc__close_quietly(fds[0]);
    subproc__close_quietly(fds[1]);
    return rc;
  }
  *parent_fd = fds[0];
  *child_fd = fds[1];
  return 0;
}

static int get_devnull(subproc__plan *pr, subproc_error *err) {
  if (pr->devnull < 0) {
    int fd = subproc__devnull_acquire();
    if (fd < 0)
      return subproc__fail_os(err, errno, "open", "/dev/null", -1);
    pr->devnull = fd; /* released with the plan, or by the child's object */
  }
  return pr->devnull;
}

int subproc__os_open_redirect(const subproc_redirect *r, int i, int *fd,
                              subproc_error *err) {
  int dflt = i == 0 ? O_RDONLY : O_WRONLY | O_CREAT | O_TRUNC;
  *fd = subproc__open(r->path, r->flags ? r->flags : dflt,
                      r->mode ? (mode_t)r->mode : 0666);
  return *fd < 0 ? subproc__fail_os(err, errno, "open", r->path, -1) : 0;
}

static int open_path(subproc__plan *pr, int i, const subproc_redirect *r,
                     subproc_error *err) {
  int fd;
  int rc = subproc__os_open_redirect(r, i, &fd, err);
  return rc < 0 ? rc : track(pr, fd);
}

static const char *const stream_names[] = {"stdin", "stdout", "stderr"};

/* Resolves one redirection to the fd the child gets (-1 = inherit). */
static int prep_stream(subproc__plan *pr, int i, const subproc_redirect *r,
                       long pipesize, subproc_error *err) {
  const char *name = stream_names[i];
  int fds[2], rc;
  switch (r->kind) {
  case SUBPROC_INHERIT:
    return -1;
  case SUBPROC_PIPE:
    if ((rc = open_pipe(pr, fds, pipesize, err)) < 0)
      return rc;
    pr->parent_end[i] = i == 0 ? fds[1] : fds[0];
    return i == 0 ? fds[0] : fds[1];
  case SUBPROC_DEVNULL:
    return get_devnull(pr, err);
  case SUBPROC_FD:
    return (rc = check_fd(r->fd, name, err)) < 0 ? rc : r->fd;
  case SUBPROC_FILE:
    if (!r->file)
      return subproc__fail(err, SUBPROC_EINVAL, 0, name, NULL, -1,
                           "%s: FILE * is NULL", name);
    fflush(r->file);
    rc = check_fd(fileno(r->file), name, err);
    return rc < 0 ? rc : fileno(r->file);
  case SUBPROC_PATH:
    if (!r->path)
      return subproc__fail(err, SUBPROC_EINVAL, 0, name, NULL, -1,
                           "%s: path is NULL", name);
    return open_path(pr, i, r, err);
  default:
    return subproc__fail(err, SUBPROC_EINVAL, 0, name, NULL, -1,
                         "%s: redirection kind %d is not valid here", name,
                         (int)r->kind);
  }
}

/* Python: stderr=STDOUT follows stdout's fd, or the parent's own stdout,
 * which must then be open. */
static int prep_stderr_to_stdout(subproc__plan *pr, subproc_error *err) {
  if (pr->pl.src[1] >= 0)
    return pr->pl.src[2] = pr->pl.src[1];
  if (fcntl(1, F_GETFD) < 0)
    return subproc__fail(err, -EBADF, EBADF, "stderr", NULL, 1,
                         "stderr: STDOUT is the parent's stdout (fd 1), "
                         "which is not open");
  return pr->pl.src[2] = 1;
}

static int prep_fds(subproc__plan *pr, const subproc_options *o,
                    subproc_error *err) {
  const subproc_redirect *r[3] = {&o->in, &o->out, &o->err};
  for (int i = 0; i < 3; i++) {
    int fd = i == 2 && r[2]->kind == SUBPROC_STDOUT
                 ? prep_stderr_to_stdout(pr, err)
                 : prep_stream(pr, i, r[i], o->pipesize, err);
    if (fd < -1)
      return fd;
    pr->pl.src[i] = fd;
  }
  return 0;
}

static int cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

/* pass_fds, sorted, with room for the fork path's error pipe. */
static int prep_keep(subproc__plan *pr, const subproc_options *o,
                     subproc_error *err) {
  size_t n = subproc__n_pass_fds(o);
  pr->pl.keep = malloc((n + 1) * sizeof(int));
  if (!pr->pl.keep)
    return subproc__fail_os(err, ENOMEM, "pass_fds", NULL, -1);
  for (size_t i = 0; i < n; i++) {
    int rc = check_fd(o->pass_fds[i], "pass_fds", err);
    if (rc < 0)
      return rc;
    pr->pl.keep[i] = o->pass_fds[i];
  }
  qsort(pr->pl.keep, n, sizeof(int), cmp_int);
  pr->pl.n_keep = n;
  return 0;
}

/* The fds the child keeps are all below this: a CLONE_FILES child copies
 * only that part of the fd table. */
static int needed_below(const subproc__child_plan *pl) {
  int top = 2;
  for (int i = 0; i < 3; i++)
    top = pl->src[i] > top ? pl->src[i] : top;
  if (pl->n_keep && pl->keep[pl->n_keep - 1] > top)
    top = pl->keep[pl->n_keep - 1];
  if (pl->foreground && pl->fg_tty > top) /* the child's tcsetpgrp uses it */
    top = pl->fg_tty;
  return top + 1;
}

static int max_fd_bound(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
      rl.rlim_cur < (rlim_t)INT_MAX)
    return (int)rl.rlim_cur;
  long m = sysconf(_SC_OPEN_MAX);
  return m > 0 && m < INT_MAX ? (int)m : 65536;
}

/* ---- the plan ---- */

static void prep_process(subproc__plan *pr, const subproc_options *o,
                         int tree) {
  subproc__child_plan *pl = &pr->pl;
  pl->restore_signals = !o->keep_signals;
  pr->sigmask = o->sigmask;
  pl->setsid = o->start_new_session;
  /* kill_tree needs a group to kill: a new one unless one was asked for;
   * so does foreground, to put in the foreground. */
  pl->setpgid =
      o->set_process_group || (tree && !o->start_new_session) || o->foreground;
  pl->pgid = o->set_process_group ? (pid_t)o->process_group : 0;
  pr->group = o->set_process_group && o->process_group > 0 ? o->process_group
              : pl->setsid || pl->setpgid                  ? -1
                                                           : 0;
  pl->set_umask = o->set_umask;
  pl->umask = (mode_t)(o->umask & 07777);
  pl->preexec = o->preexec;
  pl->preexec_arg = o->preexec_arg;
}

int subproc__prepare_plan(subproc__plan *pr, const char *const *argv,
                          const subproc_options *o, int tree,
                          subproc_error *err) {
  subproc__child_plan *pl = &pr->pl;
  int rc;
  pr->tree = tree;
  if (!(pr->argv = build_argv(argv, o)))
    return subproc__fail_os(err, ENOMEM, "args", NULL, -1);
  if (o->env && !(pr->envp = subproc__argv_dup(o->env)))
    return subproc__fail_os(err, ENOMEM, "env", NULL, -1);
  /* The caller's string (errors keep a pointer to it), not the copy. */
  pr->executable = o->executable ? o->executable
                   : o->shell    ? "/bin/sh"
                                 : argv[0];
  if (!(pl->exec_list = build_exec_list(pr->executable, pr->envp)))
    return subproc__fail_os(err, ENOMEM, "exec", NULL, -1);
  pl->argv = pr->argv;
  pl->envp = pr->envp;
  pl->cwd = o->cwd;
  pl->errpipe = -1;
  pl->close_fds = !o->keep_fds || subproc__n_pass_fds(o) > 0;
  pl->max_fd = pl->close_fds ? max_fd_bound() : 0;
  pl->close_skip = subproc__test_flags();
  prep_process(pr, o, tree);
  if ((rc = prep_ids(pr, o, err)) < 0 || (rc = prep_fds(pr, o, err)) < 0 ||
      (rc = prep_keep(pr, o, err)) < 0 ||
      (rc = subproc__limits_prepare(pr, o, err)) < 0)
    return rc;
  pl->unshare_below = needed_below(pl);
  pl->cgroup_dir = pl->cgroup_procs = -1;
  if (o->cgroup || o->cgroup_parent) { /* last: it may create a cgroup */
    pr->cgroup_arg = o->cgroup ? o->cgroup : o->cgroup_parent;
    if ((rc = subproc__cgroup_prepare(o, &pr->cgroup, err)) < 0)
      return rc;
    pl->cgroup_dir = subproc__cgroup_dir(pr->cgroup);
    pl->cgroup_procs = subproc__cgroup_procs(pr->cgroup);
  }
  return 0;
}
