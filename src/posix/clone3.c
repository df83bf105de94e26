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

/* struct clone_args, CLONE_ARGS_SIZE_VER0 (Linux 5.3). */
typedef struct clone3_args {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size,
      tls;
} clone3_args;

#define CLONE3_XSTR(x) #x
#define CLONE3_STR(x) CLONE3_XSTR(x)

long subproc__clone3_raw(clone3_args *args, size_t size, int (*fn)(void *),
                         void *arg);

/* rdi = args, rsi = size, rdx = fn, rcx = arg. The system call clobbers
 * only rax, rcx and r11, and the child starts with the parent's registers
 * on the new stack (16-byte aligned: the call below leaves fn the usual
 * entry alignment). */
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
        "  mov %r9, %rdi\n"
        "  call *%r8\n"
        "  mov %eax, %edi\n"
        "  mov $" CLONE3_STR(SYS_exit) ", %eax\n"
        "  syscall\n"
        "  hlt\n"
        ".size subproc__clone3_raw, .-subproc__clone3_raw\n");
// clang-format on

pid_t subproc__clone3(uint64_t flags, int *pidfd, void *stack,
                      size_t stack_size, int (*fn)(void *), void *arg) {
  clone3_args a;
  memset(&a, 0, sizeof a);
  a.flags = flags;
  a.pidfd = (uint64_t)(uintptr_t)pidfd;
  a.exit_signal = SIGCHLD;
  a.stack = (uint64_t)(uintptr_t)stack;
  a.stack_size = stack_size;
  long r = subproc__clone3_raw(&a, sizeof a, fn, arg);
  if (r < 0) {
    errno = (int)-r;
    return -1;
  }
  return (pid_t)r;
}

#endif
