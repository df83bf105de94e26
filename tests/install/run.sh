#!/bin/sh
# Installs the build tree into a fresh prefix, then builds and runs a tiny
# program against it: `run.sh BUILD_DIR pkgconfig|find_package [CXX]`; or
# `run.sh SOURCE_DIR subproject`: a parent project builds subproc itself.
# With CXX (a C++17 compiler) a C++ program including <subproc.hpp> is
# built and run too.
set -eu
build=$1 mode=$2 cxx=${3-}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ "$mode" = subproject ]; then
  cmake -S "$here/subproject" -B "$work/parent" -DSUBPROC_SOURCE_DIR="$build" \
    >"$work/log" 2>&1 || { cat "$work/log"; exit 1; }
  cmake --build "$work/parent" -j 2 >"$work/log" 2>&1 || { cat "$work/log"; exit 1; }
  "$work/parent/hello"
  if cmake --install "$work/parent" --prefix "$work/prefix" >/dev/null 2>&1 &&
     [ -e "$work/prefix/include/subproc.h" ]; then
    echo "subproject: installed headers" >&2
    exit 1
  fi
  exit 0
fi
cmake --install "$build" --prefix "$work/prefix" >/dev/null
prefix=$work/prefix
# lib, lib64 or lib/<triplet> (Debian's multiarch): wherever it went.
lib=$(dirname "$(find "$prefix" -name libsubproc.so.0 | head -n 1)")
test -f "$prefix/include/subproc.h"
test -f "$prefix/include/subproc.hpp"
# The man pages: every page of docs/man (one per public function, links
# included) in <mandir>/man3, and man finds a function's page there.
man3=$(find "$prefix" -type d -path '*/man/man3' | head -n 1)
want=$(ls "$here"/../../docs/man/*.3 | wc -l)
got=$(ls "$man3"/*.3 | wc -l)
[ "$got" = "$want" ] || { echo "installed $got section-3 pages, docs/man has $want"; exit 1; }
if command -v man >/dev/null; then
  MANPATH=$(dirname "$man3") man -w 3 subproc_check_call >/dev/null
fi
ls "$lib"/libsubproc.so.0 "$lib"/libsubproc.a >/dev/null
case $mode in
pkgconfig)
  command -v pkg-config >/dev/null || { echo "SKIP: pkg-config not installed"; exit 77; }
  export PKG_CONFIG_PATH="$lib/pkgconfig"
  cc -std=c11 -Wall -Werror $(pkg-config --cflags subproc) "$here/hello.c" \
    -o "$work/hello" $(pkg-config --libs subproc)
  LD_LIBRARY_PATH="$lib" "$work/hello"
  cc -std=c11 -Wall -Werror $(pkg-config --cflags subproc) "$here/hello.c" \
    -o "$work/hello_static" "$lib/libsubproc.a" -pthread
  "$work/hello_static"
  if [ -n "$cxx" ]; then
    "$cxx" -std=c++17 -Wall -Werror $(pkg-config --cflags subproc) \
      "$here/hello.cpp" -o "$work/hello_cpp" $(pkg-config --libs subproc)
    LD_LIBRARY_PATH="$lib" "$work/hello_cpp"
  fi
  ;;
find_package)
  set --
  [ -n "$cxx" ] && set -- -DSUBPROC_CONSUMER_CXX=ON -DCMAKE_CXX_COMPILER="$cxx"
  cmake -S "$here" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$prefix" "$@" >/dev/null
  cmake --build "$work/consumer" >/dev/null
  LD_LIBRARY_PATH="$lib" "$work/consumer/hello"
  "$work/consumer/hello_static"
  if [ -n "$cxx" ]; then
    LD_LIBRARY_PATH="$lib" "$work/consumer/hello_cpp"
    "$work/consumer/hello_cpp_static"
  fi
  ;;
*) echo "usage: run.sh BUILD_DIR pkgconfig|find_package [CXX]" >&2; exit 2 ;;
esac
