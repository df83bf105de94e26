#!/usr/bin/env bash
# The library and the POSIX tests built with musl (musl-gcc, Debian's
# musl-tools) in build/musl, statically linked, and run: nothing may depend
# on glibc. musl's posix_spawn reports errors through a pipe rather than
# shared memory and has no posix_spawn_file_actions_addclosefrom_np, so
# posix_spawn runs here for keep_fds spawns: the tests ask for it with
# SUBPROC_SPAWN_POSIX_SPAWN, and reliability.rel_posix_spawn_path checks
# that it was used.
#
# Not built: the CLI (its tests drive it from Python), the examples and
# the benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export DEBIAN_FRONTEND=noninteractive
need=()
for p in musl-tools cmake make; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -q && apt-get install -y -q "${need[@]}"
fi

build=$root/build/musl
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=musl-gcc \
  -DCMAKE_EXE_LINKER_FLAGS=-static -DSUBPROC_WERROR=ON \
  -DSUBPROC_BUILD_TOOLS=OFF -DSUBPROC_BUILD_EXAMPLES=OFF \
  -DSUBPROC_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j 2 >/dev/null

# Built against musl, not glibc.
if ! file -L "$build/tests/subproc_tests" | grep -q 'statically linked'; then
  echo "musl: subproc_tests is not a static musl binary" >&2
  exit 1
fi
ctest --test-dir "$build" -j 2 --output-on-failure -E "^(cli|install)\."

