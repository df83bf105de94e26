#!/usr/bin/env bash
# The exported ABI of libsubproc.so against the committed baseline
# (abi/libsubproc.abi, written by abidw): fails on any change abidiff
# reports, compatible or not, so that every change of the ABI is made on
# purpose. After an intended change (docs/abi.md says which are allowed
# without a new SOVERSION) regenerate the baseline and commit it:
#   bash .ci/abi.sh --update
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
need=()
for p in abigail-tools cmake build-essential; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -q && apt-get install -y -q --no-install-recommends "${need[@]}"
fi

build=build/abi
# Optimised as shipped, with the debug information abidw reads the types
# from; only the library.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSUBPROC_WERROR=ON \
  -DSUBPROC_BUILD_TESTS=OFF -DSUBPROC_BUILD_EXAMPLES=OFF \
  -DSUBPROC_BUILD_BENCH=OFF -DSUBPROC_BUILD_TOOLS=OFF >/dev/null
cmake --build "$build" -j 2 --target subproc_shared >/dev/null
lib=$(readlink -f "$build/src/libsubproc.so")
current=$build/libsubproc.abi
# Only what the public header declares (the types reachable from it).
abidw --headers-dir include --no-corpus-path --no-comp-dir-path --short-locs \
  --drop-private-types \
  --out-file "$current" "$lib"
if [ "${1-}" = --update ]; then
  cp "$current" abi/libsubproc.abi
  echo "abi: baseline updated: $(grep -c '<elf-symbol ' abi/libsubproc.abi) symbols"
  exit 0
fi
set +e
abidiff abi/libsubproc.abi "$current"
st=$?
set -e
if [ "$st" -ne 0 ]; then
  echo "abi: the exported ABI differs from abi/libsubproc.abi (abidiff exit $st:" \
    "4 = a change, such as an added function; 12 = an incompatible one). If" \
    "intended, see docs/abi.md, then run: bash .ci/abi.sh --update" >&2
  exit 1
fi
echo "abi: libsubproc.so matches abi/libsubproc.abi" \
  "($(grep -c '<elf-symbol ' abi/libsubproc.abi) symbols)"
