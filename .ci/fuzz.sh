#!/usr/bin/env bash
# A short libFuzzer run of every fuzz target (fuzz/run.sh: clang, ASan and
# UBSan, build/fuzz), SUBPROC_FUZZ_SECONDS each (default 10). Prints the
# executions per target and a closing "N passed, N failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export DEBIAN_FRONTEND=noninteractive
need=()
for p in clang libclang-rt-14-dev cmake make; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -q && apt-get install -y -q "${need[@]}"
fi

seconds=${SUBPROC_FUZZ_SECONDS:-10}
log=$root/build/fuzz-ci.log
mkdir -p "$root/build"
status=0
sh fuzz/run.sh "$seconds" 2>&1 | tee "$log" || status=$?

# "== fuzz_NAME: 10s" starts a target; libFuzzer's final stats follow.
awk '
  /^== fuzz_[a-z0-9_]+: / { name = $2; sub(":", "", name); order[++n] = name }
  /^== fuzz_[a-z0-9_]+ FAILED/ { failed[$2] = 1 }
  /stat::number_of_executed_units:/ { execs[name] = $2 }
  END {
    total = 0; bad = 0
    for (i = 1; i <= n; i++) {
      t = order[i]
      printf "fuzz: %-24s %12s executions%s\n", t, execs[t] + 0,
             failed[t] ? "  FAILED" : ""
      total += execs[t]; bad += failed[t] ? 1 : 0
    }
    printf "fuzz: %d executions in total\n", total
    printf "%d passed, %d failed\n", n - bad, bad
  }' "$log"
exit "$status"
