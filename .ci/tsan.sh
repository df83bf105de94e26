#!/usr/bin/env bash
# ThreadSanitizer (clang -fsanitize=thread) build of the library and the
# tests in build/tsan, running the concurrency tests: every test whose name
# says threads or concurrency, the stress tests (4 threads spawning at once,
# 1,000 children from one thread) and the signal-storm test.
#
# SUBPROC_STRESS_SCALE=0.25: 2,500 spawns instead of 10,000 (TSan slows
# the parent 5-15x; full scale runs in the ordinary builds).
# SUBPROC_TEST_SLOWDOWN=5: every upper bound on a duration in the tests is
# five times the ordinary one (tests/test.h: test_slow).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export DEBIAN_FRONTEND=noninteractive
need=()
for p in clang cmake make; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -q && apt-get install -y -q "${need[@]}"
fi

build=$root/build/tsan
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
  -DSUBPROC_SANITIZE=thread -DSUBPROC_WERROR=ON -DSUBPROC_BUILD_TOOLS=OFF \
  -DSUBPROC_BUILD_EXAMPLES=OFF -DSUBPROC_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j 2 --target subproc_tests subproc_helper >/dev/null

export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 ${TSAN_OPTIONS-}"
export SUBPROC_STRESS_SCALE=${SUBPROC_STRESS_SCALE:-0.25}
export SUBPROC_TEST_SLOWDOWN=${SUBPROC_TEST_SLOWDOWN:-5}
tests='thread|concurren|rel_stress|rel_thousand|rel_signals'
# clang 14's TSan cannot map its shadow with the 32-bit mmap randomisation
# of newer kernels ("unexpected memory mapping"): run without ASLR then.
run=()
if [ "$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 0)" -gt 28 ] &&
   command -v setarch >/dev/null; then
  run=(setarch "$(uname -m)" -R)
fi
"${run[@]}" ctest --test-dir "$build" -j 2 --output-on-failure -R "$tests"
