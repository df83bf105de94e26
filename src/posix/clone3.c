/* clone3() running a function on a stack of its own in the child, as
 * glibc's clone() does for clone(2). After the system call the child is on
 * the new stack and must never return into the caller's frame, so the
 * switch is a few instructions of assembly. spawn.c wants clone3 for
 * CLONE_CLEAR_SIGHAND (the kernel resets every handled signal in the child,
 * where the clone() path needs a sigaction call per signal) and for
 * CLONE_PIDFD with its own field. */
#include "subproc_config.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>

#include "posix.h"

#if defined(SUBPROC__HAVE_CLONE3)

/* struct clone_args: CLONE_ARGS_SIZE_VER0 (Linux 5.3) is up to tls;
 * VER2 (Linux 5.7) adds set_tid and the cgroup of CLONE_INTO_CGROUP. */
typedef struct clone3_args {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size,
      tls;
  uint64_t set_tid, set_tid_size, cgroup;
} clone3_args;
#define CLONE3_SIZE_VER0 64
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

#define CLONE3_XSTR(x) #x
#define CLONE3_STR(x) CLONE3_XSTR(x)

long subproc__clone3_raw(clone3_args *args, size_t size, int (*fn)(void *),
                         void *arg);

/* rdi = args, rsi = size, rdx = fn, rcx = arg. The system call clobbers
 * only rax, rcx and r11, and the child starts with the parent's registers
 * on the new stack, or without one (stack 0: a fork-style copy of the
 * memory) on the copy of this frame: rsp is aligned to 16 bytes first, so
 * that the call below leaves fn the usual entry alignment either way. */
// clang-format off
__asm__(".text\n"
        ".globl subproc__clone3_raw\n"
        ".hidden subproc__clone3_raw\n"
        ".type subproc__clone3_raw, @function\n"
        "subproc__clone3_raw:\n"
        "  mov %rdx, %r8\n"
        "  mov %rcx, %r9\n"
        "  mov $" CLONE3_STR(SYS_clone3) ", %eax\n"
        "  syscall\n"
        "  test %rax, %rax\n"
        "  jz 1f\n"
        "  ret\n"
        "1:\n"
        "  xor %ebp, %ebp\n"
        "  and $-16, %rsp\n"
        "  mov %r9, %rdi\n"
        "  call *%r8\n"
        "  mov %eax, %edi\n"
        "  mov $" CLONE3_STR(SYS_exit) ", %eax\n"
        "  syscall\n"
        "  hlt\n"
        ".size subproc__clone3_raw, .-subproc__clone3_raw\n");
// clang-format on

pid_t subproc__clone3_into(uint64_t flags, int *pidfd, int cgroup_fd,
                           void *stack, size_t stack_size, int (*fn)(void *),
                           void *arg) {
  clone3_args a;
  memset(&a, 0, sizeof a);
  a.flags = flags;
  a.pidfd = (uint64_t)(uintptr_t)pidfd;
  a.exit_signal = SIGCHLD;
  a.stack = (uint64_t)(uintptr_t)stack;
  a.stack_size = stack_size;
  size_t size = CLONE3_SIZE_VER0; /* what every kernel with clone3 takes */
  if (cgroup_fd >= 0) {
    a.flags |= CLONE_INTO_CGROUP;
    a.cgroup = (uint64_t)cgroup_fd;
    size = sizeof a;
  }
  long r = subproc__clone3_raw(&a, size, fn, arg);
  if (r < 0) {
    errno = (int)-r;
    return -1;
  }
  return (pid_t)r;
}

pid_t subproc__clone3(uint64_t flags, int *pidfd, void *stack,
                      size_t stack_size, int (*fn)(void *), void *arg) {
  return subproc__clone3_into(flags, pidfd, -1, stack, stack_size, fn, arg);
}

#endif
