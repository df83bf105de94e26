#!/usr/bin/env bash
# The whole C test suite under valgrind memcheck, in build/valgrind.
#
# Every ctest command that runs a built program (the unit tests, the fuzz
# corpus replays) goes through this script again as CMake's
# CROSSCOMPILING_EMULATOR: `.ci/valgrind.sh --wrap PROGRAM ARGS...`. The
# children the tests start are not traced (--trace-children=no); under
# valgrind, which runs clone(CLONE_VM|CLONE_VFORK) as a plain fork, the
# library detects that and spawns through fork and an error pipe.
#
# Fails on: any memcheck error, any definite leak (--error-exitcode=99), and
# for subproc_tests (--track-fds=yes) any fd that the library opened (its
# allocation stack has a frame in src/) still open when the test exits.
#
# Scaled down / excluded, and why:
#   - SUBPROC_TEST_SLOWDOWN=10: every upper bound on a duration in the tests
#     is ten times the ordinary one (tests/test.h: test_slow).
#   - SUBPROC_STRESS_SCALE=0.1: the stress tests run 1,000 instead of 10,000
#     spawns, 100 instead of 1,000 children at once (the parent runs ~30x
#     slower under valgrind; full scale runs in the ordinary builds).
#   - popen.popen_spawn_methods: asserts that the clone fast path was used,
#     which valgrind cannot run (see above).
#   - communicate.comm_256mib_through_cat, comm_stdout_stderr_both_large:
#     hundreds of MiB through memcheck take longer than their 120 s limit;
#     the same code paths run with small data in the other tests.
#   - reliability.rel_nproc_eagain: the test's forked process, once it has
#     switched to uid 65534 and lifted RLIMIT_NPROC again, is killed by
#     SIGSEGV inside valgrind 3.19's fork emulation of the library's
#     memory-sharing probe (clone(CLONE_VM|CLONE_VFORK)) when its stdout is
#     a pipe, as under ctest; valgrind logs no error. Natively, and in the
#     ASan, TSan, musl and i386 builds, it passes.
#   - limits.limits_rlimit_nofile, limits_rlimit_order_and_infinity,
#     limits_all_together: valgrind refuses any change of RLIMIT_NOFILE in
#     the processes it runs (it keeps fds above the limit for itself), and
#     a forked child runs under it until exec: the child's setrlimit fails
#     with EPERM. The other limits cases run.
#   - reliability.rel_emfile_each_step skips itself: valgrind does not pass
#     RLIMIT_NOFILE to the kernel.
#   - the CLI tests (python3 driving the tool) and the install tests (sh)
#     run natively: only built programs are wrapped.
set -uo pipefail

if [ "${1-}" = --wrap ]; then
  shift
  exe=$1
  base=$(basename "$exe")
  tag=$(printf '%s' "$base ${2-}" | tr -c 'A-Za-z0-9_.-' _)
  logdir=${SUBPROC_VALGRIND_LOGS:?}
  fds=()
  [ "$base" = subproc_tests ] && fds=(--track-fds=yes)
  # --run-libc-freeres=no: a child that the library's memory-sharing probe
  # clones (no glibc fork handlers) can inherit glibc's stdio list lock
  # held by another thread inside fork(); valgrind's exit-time
  # __libc_freeres would wait on it for ever.
  valgrind -q --error-exitcode=99 --leak-check=full \
    --errors-for-leak-kinds=definite --show-leak-kinds=definite \
    --run-libc-freeres=no --trace-children=no "${fds[@]}" \
    --log-file="$logdir/$tag.%p.log" \
    "$@" &
  pid=$!
  wait $pid
  status=$?
  main=$logdir/$tag.$pid.log
  # Noise: valgrind 3.19 does not know pidfd_open (the library falls back).
  noise='unhandled amd64-linux syscall: 434|write your own handler|README_MISSING_SYSCALL|Nevertheless we consider|valgrind.org/support/bug'
  # A forked child that reached exec: only memcheck errors matter there.
  for log in "$logdir/$tag".*.log; do
    [ "$log" = "$main" ] && continue
    if grep -Eq 'Invalid (read|write|free)|uninitialised|Conditional jump|definitely lost|Syscall param' "$log"; then
      echo "valgrind: errors in a forked child ($log):" >&2
      grep -Ev "$noise" "$log" >&2
      status=99
    fi
  done
  if [ -f "$main" ] && [ ${#fds[@]} -gt 0 ] && [ "$status" -ne 77 ]; then
    # Open fds at exit that the library opened (a frame in src/): leaks.
    # The tests' own fds and the inherited ones are not the library's.
    root=$(cd "$(dirname "$0")/.." && pwd)
    lib=$(cd "$root/src" && ls ./*.c posix/*.c | sed 's|.*/||; s|\.c$||' |
          paste -sd'|')
    leaked=$(awk -v lib="[( ](${lib})\\.c:" '
      function done() { if (fd != "" && fd + 0 > 2 && ours) print fd }
      /Open file descriptor [0-9]+/ {
        done(); fd = $5; sub(":", "", fd); ours = 0; next }
      $0 ~ lib { ours = 1 }
      END { done() }' "$main" | tr '\n' ' ')
    if [ -n "$leaked" ]; then
      echo "valgrind: fds the library opened are still open at exit: $leaked" >&2
      [ "$status" -eq 0 ] && status=98
    fi
  fi
  if [ "$status" -ne 0 ] && [ "$status" -ne 77 ] && [ -f "$main" ]; then
    grep -Ev "$noise" "$main" >&2
  fi
  exit "$status"
fi

set -e
cd "$(dirname "$0")/.."
root=$PWD
export DEBIAN_FRONTEND=noninteractive
need=()
for p in valgrind cmake build-essential python3; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -q && apt-get install -y -q "${need[@]}"
fi

build=$root/build/valgrind
export SUBPROC_VALGRIND_LOGS=$build/valgrind-logs
export SUBPROC_STRESS_SCALE=${SUBPROC_STRESS_SCALE:-0.1}
export SUBPROC_TEST_SLOWDOWN=${SUBPROC_TEST_SLOWDOWN:-10}
rm -rf "$SUBPROC_VALGRIND_LOGS"
mkdir -p "$SUBPROC_VALGRIND_LOGS"
# Tests that switch to uid 65534 fork under valgrind: their logs go here.
chmod 1777 "$SUBPROC_VALGRIND_LOGS"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=gcc \
  -DSUBPROC_WERROR=ON -DSUBPROC_BUILD_EXAMPLES=OFF -DSUBPROC_BUILD_BENCH=OFF \
  -DCMAKE_CROSSCOMPILING_EMULATOR="$root/.ci/valgrind.sh;--wrap" >/dev/null
cmake --build "$build" -j 2 >/dev/null
excluded='^(popen\.popen_spawn_methods|limits\.limits_rlimit_nofile|limits\.limits_rlimit_order_and_infinity|limits\.limits_all_together|reliability\.rel_nproc_eagain|communicate\.comm_256mib_through_cat|communicate\.comm_stdout_stderr_both_large)$'
start=$(date +%s)
ctest --test-dir "$build" -j 2 --output-on-failure -E "$excluded"
echo "valgrind: $(ls "$SUBPROC_VALGRIND_LOGS" | wc -l) logs, $(( $(date +%s) - start )) s"
