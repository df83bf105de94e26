/* The test harness's Windows side: each test process puts itself in a job
 * that dies with it (so a test that times out or crashes leaves no child
 * behind), and the equivalents of the POSIX fd and zombie checks. */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <io.h>

#include "test.h"

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

/* Open handles plus C runtime fds (Wine counts no handles: the fds still
 * show a leaked pipe end). */
int test_count_fds(void) {
  int n = 0;
  for (int fd = 0; fd < 2048; fd++)
    if (_get_osfhandle(fd) != -1)
      n++;
  DWORD handles = 0;
  if (GetProcessHandleCount(GetCurrentProcess(), &handles))
    n += (int)handles;
  return n;
}

/* No zombies on Windows; the nearest thing is a child still running that
 * nobody waits for: the job counts them (this process is one). */
void test_assert_no_zombies(void) {
  if (!harness_job)
    return;
  JOBOBJECT_BASIC_ACCOUNTING_INFORMATION acct;
  for (int tries = 0; tries < 50; tries++) {
    memset(&acct, 0, sizeof acct);
    if (!QueryInformationJobObject(harness_job,
                                   JobObjectBasicAccountingInformation, &acct,
                                   sizeof acct, NULL))
      return;
    if (acct.ActiveProcesses <= 1)
      return;
    Sleep(20); /* a process leaves the job a moment after it is signalled */
  }
  TEST_FAIL("%lu processes still running in the test's job",
            (unsigned long)acct.ActiveProcesses - 1);
}

double test_now(void) {
  LARGE_INTEGER count, freq;
  QueryPerformanceCounter(&count);
  QueryPerformanceFrequency(&freq);
  return (double)count.QuadPart / (double)freq.QuadPart;
}
