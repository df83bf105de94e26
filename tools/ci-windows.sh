#!/usr/bin/env bash
# The Windows build in CI: cross-compile with mingw-w64 (the `mingw` preset)
# and run the ctest suite under Wine. Installs what it needs with apt-get;
# exits non-zero when a test fails. Ends with "wine: N passed, N failed,
# N skipped".
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
need=()
# g++-mingw-w64-x86-64: the C++ example, so include/subproc.hpp is
# compiled for Windows too (the C++ tests are POSIX programs).
for p in cmake make gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64 wine wine64; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${need[@]}"
fi

# A prefix of our own, created once before the tests start in parallel, and
# one wineserver for the whole run (each test is a new wine process).
export WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
export WINEPREFIX="${WINEPREFIX:-$PWD/build/wine-prefix}"
mkdir -p "$WINEPREFIX"
wineserver -p
trap 'wineserver -k >/dev/null 2>&1 || true' EXIT
wine cmd /c exit >/dev/null 2>&1 || true

cmake --preset mingw
cmake --build --preset mingw

# Wine now and then fails to start a process under load (the preloader):
# a test gets up to three runs, so only a failure that repeats counts.
log=build/mingw/ctest-wine.log
set +e
ctest --preset mingw --repeat until-pass:3 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

passed=$(grep -cE '^ *([0-9]+/[0-9]+ )?Test +#[0-9]+: .* +Passed' "$log" || true)
skipped=$(grep -cE '^ *([0-9]+/[0-9]+ )?Test +#[0-9]+: .*\*\*\*Skipped' "$log" || true)
# A test that failed and then passed on a rerun is listed twice: it counts
# as passed.
failed=0
for t in $(grep -E '^ *([0-9]+/[0-9]+ )?Test +#[0-9]+: .*\*\*\*(Failed|Timeout|Exception)' "$log" |
           sed -E 's/.*Test +#[0-9]+: ([^ ]+).*/\1/' | sort -u); do
  grep -qE "Test +#[0-9]+: $t +\.* +Passed" "$log" || failed=$((failed + 1))
done
echo
echo "wine: $passed passed, $failed failed, $skipped skipped"
exit "$status"
