#!/bin/sh
# Build every fuzz target with clang (libFuzzer, ASan, UBSan, the library
# coverage-instrumented) in build/fuzz and run each for SECONDS_EACH seconds.
# New inputs go to build/fuzz/corpus/NAME (the committed fuzz/corpus/NAME is
# read, not written); a crashing input is saved as build/fuzz/crash/NAME-*.
# Exits non-zero if any target fails.
set -eu

if [ $# -ne 1 ]; then
  echo "usage: $0 SECONDS_EACH" >&2
  exit 2
fi
seconds=$1
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build/fuzz
jobs=$(nproc 2>/dev/null || echo 2)

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER="${CC:-clang}" -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link \
  -DSUBPROC_SANITIZE=address,undefined -DSUBPROC_BUILD_FUZZ=ON \
  -DBUILD_TESTING=OFF -DSUBPROC_BUILD_TOOLS=OFF -DSUBPROC_BUILD_EXAMPLES=OFF \
  -DSUBPROC_BUILD_BENCH=OFF >/dev/null

targets=
for src in "$root"/fuzz/fuzz_*.c; do
  [ -e "$src" ] || continue
  name=$(basename "$src" .c)
  targets="$targets $name"
done
# shellcheck disable=SC2086
cmake --build "$build" -j "$jobs" --target $targets

status=0
mkdir -p "$build/crash"
for target in $targets; do
  name=${target#fuzz_}
  corpus=$build/corpus/$name
  mkdir -p "$corpus"
  seeds=
  [ -d "$root/fuzz/corpus/$name" ] && seeds=$root/fuzz/corpus/$name
  echo "== $target: ${seconds}s"
  # shellcheck disable=SC2086
  if ! "$build/fuzz/$target" -max_total_time="$seconds" -print_final_stats=1 \
       -artifact_prefix="$build/crash/$name-" "$corpus" $seeds; then
    echo "== $target FAILED" >&2
    status=1
  fi
done
exit $status
