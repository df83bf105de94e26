/* The runner's Windows side: each test process puts itself in a job that
 * dies with it (so a case that times out or crashes leaves no child
 * behind, and the job counts the case's children); open fds are the C
 * runtime's, plus the process's handles where GetProcessHandleCount counts
 * them (Wine's does not: the fds still show a leaked pipe end). */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <io.h>

#include "runner.h"
#include "test.h"

#define MAX_CRT_FDS 2048

struct test_fd_set {
  unsigned char open[MAX_CRT_FDS];
  DWORD handles;
};

static HANDLE harness_job;

/* CMake names the helper by its build path; under Wine a Unix path is
 * reached through drive Z:. */
static void helper_to_windows_path(void) {
  static char path[4096];
  snprintf(path, sizeof path, "%s%s", test_helper[0] == '/' ? "Z:" : "",
           test_helper);
  for (char *c = path; *c; c++)
    if (*c == '/')
      *c = '\\';
  test_helper = path;
}

void test_platform_init(void) {
  SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX);
  harness_job = CreateJobObjectW(NULL, NULL);
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION info;
  memset(&info, 0, sizeof info);
  info.BasicLimitInformation.LimitFlags =
      JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | JOB_OBJECT_LIMIT_BREAKAWAY_OK;
  if (harness_job &&
      (!SetInformationJobObject(harness_job, JobObjectExtendedLimitInformation,
                                &info, sizeof info) ||
       !AssignProcessToJobObject(harness_job, GetCurrentProcess()))) {
    /* Already in a job that cannot nest: run without one. */
    CloseHandle(harness_job);
    harness_job = NULL;
  }
  helper_to_windows_path();
}

double test_now(void) {
  LARGE_INTEGER count, freq;
  QueryPerformanceCounter(&count);
  QueryPerformanceFrequency(&freq);
  return (double)count.QuadPart / (double)freq.QuadPart;
}

static DWORD handle_count(void) {
  DWORD n = 0;
  return GetProcessHandleCount(GetCurrentProcess(), &n) ? n : 0;
}

test_fd_set *test_fds_snapshot(void) {
  test_fd_set *s = calloc(1, sizeof *s);
  if (!s)
    TEST_FAIL("out of memory");
  for (int fd = 0; fd < MAX_CRT_FDS; fd++)
    s->open[fd] = _get_osfhandle(fd) != -1;
  s->handles = handle_count();
  return s;
}

void test_fds_free(test_fd_set *s) { free(s); }

int test_fds_leaked(const test_fd_set *before) {
  test_fd_set *now = test_fds_snapshot();
  int leaked = 0;
  for (int fd = 0; fd < MAX_CRT_FDS; fd++)
    if (now->open[fd] && !before->open[fd]) {
      fprintf(stderr, "runner: fd %d is still open\n", fd);
      leaked++;
    }
  if (before->handles && now->handles > before->handles) {
    fprintf(stderr, "runner: %lu handles open, %lu before\n",
            (unsigned long)now->handles, (unsigned long)before->handles);
    leaked += (int)(now->handles - before->handles);
  }
  test_fds_free(now);
  return leaked;
}

/* No zombies on Windows; the nearest thing is a child still running that
 * nobody waits for: the job counts them (this process is one). A process
 * leaves the job a moment after it is signalled. */
int test_children_left(void) {
  if (!harness_job)
    return 0;
  JOBOBJECT_BASIC_ACCOUNTING_INFORMATION acct;
  for (double end = test_now() + test_slow(1.0);;) {
    memset(&acct, 0, sizeof acct);
    if (!QueryInformationJobObject(harness_job,
                                   JobObjectBasicAccountingInformation, &acct,
                                   sizeof acct, NULL))
      return 0;
    if (acct.ActiveProcesses <= 1)
      return 0;
    if (test_now() > end)
      break;
    Sleep(20);
  }
  fprintf(stderr, "runner: %lu processes still running in the case's job\n",
          (unsigned long)acct.ActiveProcesses - 1);
  return (int)acct.ActiveProcesses - 1;
}

void test_kill_children(void) {
  static ULONG_PTR buf[2 + 1024]; /* the list's header, then the pids */
  JOBOBJECT_BASIC_PROCESS_ID_LIST *ids = (void *)buf;
  if (!harness_job ||
      !QueryInformationJobObject(harness_job, JobObjectBasicProcessIdList, ids,
                                 sizeof buf, NULL))
    return;
  for (DWORD i = 0; i < ids->NumberOfProcessIdsInList; i++) {
    DWORD pid = (DWORD)ids->ProcessIdList[i];
    HANDLE h = pid == GetCurrentProcessId()
                   ? NULL
                   : OpenProcess(PROCESS_TERMINATE, FALSE, pid);
    if (h) {
      TerminateProcess(h, 1);
      CloseHandle(h);
    }
  }
}

int test_count_fds(void) {
  test_fd_set *s = test_fds_snapshot();
  int n = (int)s->handles;
  for (int fd = 0; fd < MAX_CRT_FDS; fd++)
    n += s->open[fd];
  test_fds_free(s);
  return n;
}
