#!/bin/sh
# make demo: the subproc command-line tool on real commands.
#   sh tools/demo.sh BUILD_DIR
# POSIX sh and coreutils only. Prints each command before running it and
# exits non-zero if any command's exit status is not the expected one.
set -u

if [ $# -ne 1 ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
bin=$1/tools/subproc
if [ ! -x "$bin" ]; then
  echo "demo: $bin not found: build first (make build)" >&2
  exit 1
fi

failed=0

section() {
  printf '\n# %s\n' "$*"
}

# show STATUS ARG...: print `subproc ARG...` quoted as a shell reads it
# (by subproc quote itself), run it, and check its exit status.
show() {
  expected=$1
  shift
  printf '$ subproc %s\n' "$("$bin" quote -- "$@")"
  "$bin" "$@"
  status=$?
  if [ "$status" -ne 0 ]; then
    printf '[exit status %d]\n' "$status"
  fi
  if [ "$status" -ne "$expected" ]; then
    printf 'demo: expected exit status %d, got %d\n' "$expected" "$status" >&2
    failed=1
  fi
}

printf '%s, from %s\n' "$("$bin" --version)" "$bin"

section "Run a program: stdio inherited, its exit status becomes ours"
show 0 run -- echo "hello from a child"
show 3 run -- sh -c 'echo "exiting with 3"; exit 3'

section "Capture to JSON: status, output, duration, rusage, error"
show 0 run --json --capture -- uname -a

section "Output that is not UTF-8 is kept exactly, in stdout_base64"
show 0 run --json --capture -- printf 'caf\351\n'

section "A timeout kills the child; the exit status is 124"
show 124 run --timeout 0.5 -- sleep 5
show 124 run --json --capture --timeout 0.5 -- sh -c 'echo started; sleep 5'

section "Errors: one line naming the step and the path (127, 125)"
show 127 run -- no-such-program
show 125 run --cwd /no/such/dir -- true

section "Environment, working directory and a new session in one command"
show 0 run --env-clear --env GREETING=hello --cwd / --new-session \
  -- /bin/sh -c 'echo "$GREETING from $(pwd), env has $(env | wc -l) entries"'

section "A pipeline without a shell (pipefail exit status)"
show 0 pipe -- printf 'b\na\n' '|' sort
show 3 pipe --json --capture -- sh -c 'echo data; exit 3' '|' sort

section "Many jobs at once, output kept per job (subproc parallel, on the pool)"
show 0 parallel -j 4 --no-progress -- sh -c 'sleep 0.$1; echo "job $1 done"' sh ::: 3 1 2
show 0 parallel -j 2 --no-progress --json -- echo ::: one two
# the exit status is the number of failed jobs (GNU parallel's rule)
show 2 parallel -j 4 --no-progress -- sh -c 'exit $1' sh ::: 0 1 0 1
show 124 parallel --timeout 0.3 --halt now,fail=1 --no-progress -- sleep ::: 5 5

section "Shell words for scripts: shlex.split, shlex.join, list2cmdline"
show 0 split "ls -l 'My Documents' \"it's\""
show 0 quote -- ls -l 'My Documents' "it's"
show 0 cmdline -- dir 'C:\Program Files' 'say "hi"'

if [ "$failed" -ne 0 ]; then
  printf '\ndemo: FAILED\n' >&2
  exit 1
fi
printf '\ndemo: all commands behaved as expected\n'
