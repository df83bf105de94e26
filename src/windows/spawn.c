/* The Windows spawn: the options only Windows refuses, the job of
 * kill_tree, and CreateProcessW from the plan (src/windows/spawn.h). */
#include "spawn.h"

#include <errno.h>
#include <io.h>
#include <stdlib.h>
#include <string.h>

void subproc__os_plan_free(subproc__plan *pr) {
  if (!pr)
    return;
  for (int i = 0; i < pr->n_own; i++)
    CloseHandle(pr->own[i]);
  for (int i = 0; i < 3; i++) {
    if (pr->crt_own[i] >= 0)
      _close(pr->crt_own[i]);
    if (pr->parent_fd[i] >= 0)
      _close(pr->parent_fd[i]);
    subproc__relay_discard(&pr->relay[i]);
  }
  if (pr->attrs) {
    DeleteProcThreadAttributeList(pr->attrs);
    free(pr->attrs);
  }
  subproc__conpty_discard(pr->pty);
  if (pr->job)
    CloseHandle(pr->job);
  free(pr->args);
  free(pr->shell);
  free(pr->cmdline8);
  free(pr->app);
  free(pr->cmdline);
  free(pr->env);
  free(pr->cwd);
  free(pr->list);
  free(pr);
}

/* ------------------------------------------------------------------ */
/* Validation: what Python rejects on Windows                          */
/* ------------------------------------------------------------------ */

static int unsupported(subproc_error *err, const char *name) {
  return subproc__fail(err, SUBPROC_EINVAL, 0, name, NULL, -1,
                       "The '%s' parameter is not supported on the current "
                       "platform",
                       name);
}

static int validate(const subproc_options *o, subproc_error *err) {
  /* A pseudo console has no terminal modes of its own to set: the child
   * sets its console's (SetConsoleMode). Refused, never ignored. */
  if (subproc__pty_streams(o) && o->pty.raw)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "pty", NULL, -1,
                         "pty: raw mode has no ConPTY equivalent (the child "
                         "sets its console's input mode itself)");
  if (subproc__pty_streams(o) &&
      (o->creationflags & (CREATE_NEW_CONSOLE | DETACHED_PROCESS)))
    return subproc__fail(err, SUBPROC_EINVAL, 0, "pty", NULL, -1,
                         "pty: creationflags CREATE_NEW_CONSOLE or "
                         "DETACHED_PROCESS cannot be used with SUBPROC_PTY "
                         "(the child's console is the pseudo console)");
  if (o->preexec)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "preexec", NULL, -1,
                         "preexec_fn is not supported on Windows platforms");
  if (subproc__n_pass_fds(o))
    return subproc__fail(err, SUBPROC_EINVAL, 0, "pass_fds", NULL, -1,
                         "pass_fds is not supported on Windows: use "
                         "startupinfo->handle_list");
  if (o->user)
    return unsupported(err, "user");
  if (o->group)
    return unsupported(err, "group");
  if (o->extra_groups)
    return unsupported(err, "extra_groups");
  if (o->sigmask)
    return unsupported(err, "sigmask");
  /* limits, parent death, privileges: POSIX only */
  if (o->rlimits)
    return unsupported(err, "rlimits");
  if (o->parent_death_signal)
    return unsupported(err, "parent_death_signal");
  if (o->no_new_privs)
    return unsupported(err, "no_new_privs");
  if (o->foreground)
    return unsupported(err, "foreground");
  if (o->cgroup || o->cgroup_parent || o->cgroup_move_fallback ||
      o->cgroup_memory_max || o->cgroup_pids_max || o->cgroup_cpu_max != 0)
    return subproc__fail(err, SUBPROC_EINVAL, 0, "cgroup", NULL, -1,
                         "cgroup: containment in a cgroup v2 is only "
                         "supported on Linux (kill_tree's job object is "
                         "Windows' counterpart)");
  return 0;
}

/* ------------------------------------------------------------------ */
/* The plan                                                            */
/* ------------------------------------------------------------------ */

/* The child's tree lives in a job that dies with its last handle, so not
 * even a crash of this process leaves the tree behind. */
static int prep_job(subproc__plan *pr, subproc_error *err) {
  HANDLE job = CreateJobObjectW(NULL, NULL);
  if (!job)
    return subproc__fail_win(err, GetLastError(), "job", NULL);
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION info;
  memset(&info, 0, sizeof info);
  info.BasicLimitInformation.LimitFlags =
      JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | JOB_OBJECT_LIMIT_BREAKAWAY_OK;
  if (!SetInformationJobObject(job, JobObjectExtendedLimitInformation, &info,
                               sizeof info)) {
    DWORD e = GetLastError();
    CloseHandle(job);
    return subproc__fail_win(err, e, "job", NULL);
  }
  pr->job = job;
  return 0;
}

static int prep_cwd(subproc__plan *pr, const char *cwd, subproc_error *err) {
  pr->cwd8 = cwd; /* the caller's: errors point at it */
  if (!(pr->cwd = subproc__to_wide(cwd)))
    return subproc__fail(err, SUBPROC_EINVAL, 0, "chdir", cwd, -1,
                         "chdir '%s': not valid UTF-8", cwd);
  return 0;
}

static void fill_startupinfo(subproc__plan *pr, const subproc_options *o) {
  STARTUPINFOEXW *six = &pr->six;
  STARTUPINFOW *si = &six->StartupInfo;
  si->cb =
      (pr->flags & EXTENDED_STARTUPINFO_PRESENT) ? sizeof *six : sizeof *si;
  six->lpAttributeList = pr->attrs;
  if (o->startupinfo) {
    si->dwFlags = o->startupinfo->dwFlags;
    si->wShowWindow = o->startupinfo->wShowWindow;
    si->hStdInput = o->startupinfo->hStdInput;
    si->hStdOutput = o->startupinfo->hStdOutput;
    si->hStdError = o->startupinfo->hStdError;
  }
  if (pr->use_std) {
    si->dwFlags |= STARTF_USESTDHANDLES;
    si->hStdInput = pr->child[0];
    si->hStdOutput = pr->child[1];
    si->hStdError = pr->child[2];
  }
  if (o->shell) {
    si->dwFlags |= STARTF_USESHOWWINDOW;
    si->wShowWindow = SW_HIDE;
  }
}

static int prep_all(subproc__plan *pr, const char *const *argv, int verbatim,
                    const subproc_options *o, int tree, subproc_error *err) {
  int rc = validate(o, err);
  if (rc == 0)
    rc = subproc__plan_command(pr, argv, verbatim, o, err);
  if (rc == 0 && o->env)
    rc = subproc__plan_env(pr, o->env, err);
  if (rc == 0 && o->cwd)
    rc = prep_cwd(pr, o->cwd, err);
  if (rc == 0)
    rc = subproc__plan_handles(pr, o, err);
  if (rc == 0 && tree)
    rc = prep_job(pr, err);
  pr->flags |= o->creationflags;
  if (o->start_new_session || o->set_process_group)
    pr->flags |= CREATE_NEW_PROCESS_GROUP;
  fill_startupinfo(pr, o);
  return rc;
}

int subproc__os_prepare(const char *const *argv, int verbatim,
                        const subproc_options *o, int tree,
                        subproc__plan **plan, subproc__plan_info *info,
                        subproc_error *err) {
  subproc__plan *pr = calloc(1, sizeof *pr);
  if (!pr)
    return subproc__fail_os(err, ENOMEM, "popen", NULL, -1);
  for (int i = 0; i < 3; i++)
    pr->crt_own[i] = pr->parent_fd[i] = -1;
  int rc = prep_all(pr, argv, verbatim, o, tree, err);
  if (rc < 0) {
    subproc__os_plan_free(pr);
    return rc;
  }
  info->executable = pr->target;
  info->argv = (const char *const *)pr->args;
  *plan = pr;
  return 0;
}

/* ------------------------------------------------------------------ */
/* The launch                                                          */
/* ------------------------------------------------------------------ */

static int create_failed(const subproc__plan *pr, subproc_error *err) {
  DWORD e = GetLastError();
  DWORD attrs = pr->cwd ? GetFileAttributesW(pr->cwd) : 0;
  if (pr->cwd && (e == ERROR_DIRECTORY || attrs == INVALID_FILE_ATTRIBUTES ||
                  !(attrs & FILE_ATTRIBUTE_DIRECTORY)))
    return subproc__fail_win(err, e == ERROR_DIRECTORY ? e : ERROR_DIRECTORY,
                             "chdir", pr->cwd8);
  if (pr->target == pr->shell) /* a path the library built: message only */
    return subproc__fail_win_named(err, e, "exec", pr->target);
  return subproc__fail_win(err, e, "exec", pr->target);
}

/* Into the job while still suspended, so no grandchild escapes it. */
static int start_in_job(subproc__plan *pr, const PROCESS_INFORMATION *pi,
                        int resume, subproc_error *err) {
  if (!AssignProcessToJobObject(pr->job, pi->hProcess)) {
    DWORD e = GetLastError();
    TerminateProcess(pi->hProcess, 1);
    WaitForSingleObject(pi->hProcess, INFINITE);
    return subproc__fail_win(err, e, "job", NULL);
  }
  if (resume)
    ResumeThread(pi->hThread);
  return 0;
}

/* The child runs: the plan's handles go to os and out. */
static void hand_over(subproc__plan *pr, const PROCESS_INFORMATION *pi,
                      DWORD flags, subproc__os *os, subproc__spawned *out) {
  for (int i = 0; i < 3; i++)
    if (pr->relay[i].from)
      subproc__relay_start(&pr->relay[i]);
  os->pid = (long)pi->dwProcessId;
  os->handle = (intptr_t)pi->hProcess;
  os->job = (intptr_t)pr->job;
  os->flags = flags & CREATE_NEW_PROCESS_GROUP ? SUBPROC__WIN_NEW_GROUP : 0;
  os->group = os->flags || pr->job;
  pr->job = NULL;
  out->args = pr->args;
  pr->args = NULL;
  out->method = SUBPROC_SPAWN_AUTO; /* CreateProcess is the only one */
  for (int i = 0; i < 3; i++) {
    out->fds[i] = pr->parent_fd[i];
    pr->parent_fd[i] = -1;
  }
  if (pr->pty)
    out->pty = subproc__conpty_hand_over(pr);
}

int subproc__os_launch(subproc__plan *pr, subproc__os *os,
                       subproc__spawned *out, subproc_error *err) {
  int resume = pr->job && !(pr->flags & CREATE_SUSPENDED);
  DWORD flags = pr->flags | (pr->job ? CREATE_SUSPENDED : 0);
  PROCESS_INFORMATION pi;
  memset(&pi, 0, sizeof pi);
  BOOL ok = CreateProcessW(pr->app, pr->cmdline, NULL, NULL, pr->inherit, flags,
                           pr->env, pr->cwd, &pr->six.StartupInfo, &pi);
  int rc = 0;
  if (!ok)
    return create_failed(pr, err);
  if (pr->pty) /* fires at once if the child has exited already */
    rc = subproc__conpty_start(pr, pi.hProcess, err);
  if (rc < 0) {
    TerminateProcess(pi.hProcess, 1);
    WaitForSingleObject(pi.hProcess, INFINITE);
  } else if (pr->job)
    rc = start_in_job(pr, &pi, resume, err);
  CloseHandle(pi.hThread);
  if (rc < 0) {
    CloseHandle(pi.hProcess);
    return rc;
  }
  hand_over(pr, &pi, flags, os, out);
  return 0;
}
