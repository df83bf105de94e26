#!/usr/bin/env bash
# A 32-bit x86 build (gcc -m32) running the suite: the id system calls
# must be the *32 variants there (16-bit ones would truncate uids), and
# every size and time computation must hold with a 32-bit long. The
# install tests are left out: their consumer build is not -m32.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
if ! dpkg -s gcc-multilib >/dev/null 2>&1; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends gcc-multilib
fi
build=build/i386
# pkg-config must not offer the 64-bit libuv and GLib (the examples
# nesting the group in them are then left out, unless the :i386 -dev
# packages are installed).
export PKG_CONFIG_LIBDIR=/usr/lib/i386-linux-gnu/pkgconfig:/usr/share/pkgconfig
CFLAGS=-m32 LDFLAGS=-m32 cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug \
  -DSUBPROC_WERROR=ON -DSUBPROC_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$(nproc)"
file "$build/tests/subproc_tests" | grep -q 'Intel 80386'
ctest --test-dir "$build" -j 2 --timeout 300 --output-on-failure -E '^install\.'
