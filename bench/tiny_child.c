/* The smallest child the spawn primitive can exec: no libc, no dynamic
 * loader, no start-up code. It isolates the cost of creating and reaping
 * a process from the child's own start-up (compare with /bin/true).
 *
 *   tiny_child              exit 0
 *   tiny_child -e TEXT      write TEXT and a newline to stdout, exit 0
 *   tiny_child -n BYTES     write BYTES bytes to stdout in 1 MiB writes
 *   tiny_child -i N BYTES   write "N\n", then BYTES bytes (scenario 9)
 *   tiny_child -r           read stdin until EOF, then exit 0 */

#define CHUNK (1024 * 1024)

#if defined(__x86_64__)
#define NR_READ 0
#define NR_WRITE 1
#define NR_EXIT_GROUP 231
// clang-format off
__asm__(".text\n"
        ".global _start\n"
        "_start:\n"
        "  xor %rbp, %rbp\n"
        "  mov %rsp, %rdi\n"
        "  and $-16, %rsp\n"
        "  call tiny_main\n"
        "  hlt\n");
// clang-format on

static long sys3(long n, long a, long b, long c) {
  long r;
  __asm__ volatile("syscall"
                   : "=a"(r)
                   : "a"(n), "D"(a), "S"(b), "d"(c)
                   : "rcx", "r11", "memory");
  return r;
}
#elif defined(__aarch64__)
#define NR_READ 63
#define NR_WRITE 64
#define NR_EXIT_GROUP 94
// clang-format off
__asm__(".text\n"
        ".global _start\n"
        "_start:\n"
        "  mov x29, #0\n"
        "  mov x30, #0\n"
        "  mov x0, sp\n"
        "  bl tiny_main\n"
        "  brk #0\n");
// clang-format on

static long sys3(long n, long a, long b, long c) {
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
  return x0;
}
#else
#error "tiny_child: x86_64 and aarch64 only (CMake falls back to /bin/true)"
#endif

static char chunk[CHUNK];

void tiny_main(long *sp) __attribute__((noreturn, used));

static __attribute__((noreturn)) void leave(int code) {
  for (;;)
    sys3(NR_EXIT_GROUP, code, 0, 0);
}

static int write_all(const char *p, unsigned long n) {
  while (n > 0) {
    long w = sys3(NR_WRITE, 1, (long)p, (long)n);
    if (w == -4) /* -EINTR */
      continue;
    if (w <= 0)
      return -1;
    p += w;
    n -= (unsigned long)w;
  }
  return 0;
}

static unsigned long str_len(const char *s) {
  unsigned long n = 0;
  while (s[n])
    n++;
  return n;
}

static unsigned long parse_ulong(const char *s) {
  unsigned long v = 0;
  for (; *s >= '0' && *s <= '9'; s++)
    v = v * 10 + (unsigned long)(*s - '0');
  return v;
}

/* Not a constant fill, so the compiler emits no memset call: the pages
 * must hold real data (reading the shared zero page would flatter the
 * pipe throughput). */
static void fill_chunk(unsigned long n) {
  for (unsigned long i = 0; i < n; i++)
    chunk[i] = (char)('a' + i % 26);
}

static void write_bytes(unsigned long total) {
  fill_chunk(total < CHUNK ? total : CHUNK);
  while (total > 0) {
    unsigned long n = total < CHUNK ? total : CHUNK;
    if (write_all(chunk, n) < 0)
      leave(1);
    total -= n;
  }
}

void tiny_main(long *sp) {
  long argc = sp[0];
  char **argv = (char **)(sp + 1);
  if (argc < 2)
    leave(0);
  const char *opt = argv[1];
  if (opt[0] == '-' && opt[1] == 'e' && argc > 2) {
    if (write_all(argv[2], str_len(argv[2])) < 0 || write_all("\n", 1) < 0)
      leave(1);
  } else if (opt[0] == '-' && opt[1] == 'n' && argc > 2) {
    write_bytes(parse_ulong(argv[2]));
  } else if (opt[0] == '-' && opt[1] == 'i' && argc > 3) {
    char line[32];
    unsigned long n = 0;
    for (const char *c = argv[2]; *c && n < sizeof line - 1; c++)
      line[n++] = *c;
    line[n++] = '\n';
    if (write_all(line, n) < 0)
      leave(1);
    write_bytes(parse_ulong(argv[3]));
  } else if (opt[0] == '-' && opt[1] == 'r') {
    long r;
    while ((r = sys3(NR_READ, 0, (long)chunk, CHUNK)) > 0 || r == -4) {
    }
  }
  leave(0);
}
