#!/usr/bin/env bash
# CI stage: the Debian packages (debian/). Runs as root on a brand-new
# Debian 12 machine, like .ci/run:
#   1. checks that debian/changelog's version is CMake's project() version;
#   2. installs what it needs with apt-get (only what is missing);
#   3. builds libsubproc0, libsubproc-dev and subproc with dpkg-buildpackage
#      out of a copy of the tree in a temporary directory (nothing is
#      written to the source tree);
#   4. runs lintian on the .changes (source and binaries): any error or
#      warning fails the stage;
#   5. installs the three .debs, then builds and runs a consumer that
#      spawns a real child through the library, with pkg-config and with
#      CMake's find_package(subproc); checks that pkg-config --modversion
#      and subproc --version (the header's SUBPROC_VERSION_STRING) say
#      CMake's version too, that man -w finds subproc(1) and subproc(3),
#      and that every page of docs/man/*.3 (one per public function) is
#      installed, links included;
#   6. purges the three packages again (also on failure); the tools it
#      installed (debhelper, lintian, ...) stay, as with .ci/run's.
# The package build skips the test suite (DEB_BUILD_OPTIONS=nocheck and the
# nocheck build profile): the other CI stages run it. SUBPROC_DEB_CHECK=1
# runs it inside the package build too (it then needs python3);
# SUBPROC_DEB_KEEP=1 keeps the temporary directory (packages, logs).
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
start=$SECONDS
export DEBIAN_FRONTEND=noninteractive
export LC_ALL=C.UTF-8

say() { printf '\n--- %s\n' "$*"; }
trap 'echo "deb.sh: FAILED at line $LINENO: $BASH_COMMAND" >&2' ERR
die() {
  printf 'deb.sh: FAILED: %s\n' "$*" >&2
  exit 1
}
# Runs a command, showing its output only if it fails.
quiet() {
  local log
  log=$(mktemp)
  if ! "$@" >"$log" 2>&1; then
    cat "$log"
    rm -f "$log"
    die "$*"
  fi
  rm -f "$log"
}

# 1. One version: debian/changelog must carry project(subproc VERSION ...).
cmake_version=$(sed -n 's/^project(subproc VERSION \([0-9][0-9.]*\).*/\1/p' CMakeLists.txt)
deb_version=$(sed -n '1s/^subproc (\([^)]*\)).*/\1/p' debian/changelog)
upstream=${deb_version#*:} # no epoch
upstream=${upstream%-*}    # no Debian revision (none while native)
[ -n "$cmake_version" ] || die "no version in CMakeLists.txt's project()"
[ -n "$deb_version" ] || die "cannot read the version in debian/changelog"
[ "$upstream" = "$cmake_version" ] ||
  die "debian/changelog says $deb_version, CMakeLists.txt says $cmake_version (add a debian/changelog entry)"
echo "version $deb_version (CMakeLists.txt: $cmake_version)"

# 2. Tools. devscripts is not needed: dpkg-buildpackage is in dpkg-dev.
check=${SUBPROC_DEB_CHECK:-0}
want=(build-essential dpkg-dev debhelper cmake pkgconf lintian man-db)
[ "$check" = 1 ] && want+=(python3)
need=()
for p in "${want[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  say "apt-get install ${need[*]}"
  quiet apt-get update -q
  quiet apt-get install -y -q --no-install-recommends "${need[@]}"
fi

pkgs=(libsubproc0 libsubproc-dev subproc)
work=$(mktemp -d /tmp/subproc-deb.XXXXXX)
chmod 755 "$work" # the suite (SUBPROC_DEB_CHECK=1) runs its helper as nobody
installed=0
cleanup() {
  local rc=$?
  if [ "$installed" = 1 ]; then
    dpkg --purge "${pkgs[@]}" >/dev/null 2>&1 || rc=1
  fi
  if [ "${SUBPROC_DEB_KEEP:-0}" = 1 ]; then
    echo "kept $work"
  else
    rm -rf "$work"
  fi
  exit $rc
}
trap cleanup EXIT
# A copy left by a run that was killed before its purge: purge it first.
for p in "${pkgs[@]}"; do
  if dpkg -s "$p" >/dev/null 2>&1; then
    echo "note: $p is installed already (a killed earlier run?): purging it"
    quiet dpkg --purge "$p"
  fi
done

# 3. Build out of a copy (no .git, nothing that .gitignore ignores, such as
#    build/), so that the source package is what the tree holds.
say "dpkg-buildpackage (in $work)"
tree=$work/subproc-$cmake_version
mkdir "$tree"
tar -C "$src" --exclude-vcs --exclude-vcs-ignores --exclude=./build -cf - . |
  tar -C "$tree" -xf -
if [ "$check" = 1 ]; then
  opts="parallel=2" profiles=""
else
  opts="nocheck parallel=2" profiles="nocheck"
fi
t=$SECONDS
if ! (cd "$tree" && DEB_BUILD_OPTIONS=$opts DEB_BUILD_PROFILES=$profiles \
  dpkg-buildpackage -us -uc) >"$work/build.log" 2>&1; then
  tail -n 60 "$work/build.log"
  die "dpkg-buildpackage (log above)"
fi
build_time=$((SECONDS - t))
# dpkg-gensymbols fails the build on a symbol that disappeared but only
# warns on an added one: fail here too, so that the symbols file (and with
# it the version each function appeared in) stays exact.
symbols="match debian/libsubproc0.symbols"
if grep -q 'dpkg-gensymbols: warning' "$work/build.log"; then
  sed -n '/dpkg-gensymbols: warning/,/^ *dh_/p' "$work/build.log"
  die "the library's symbols differ from debian/libsubproc0.symbols (diff above)"
fi
changes=$(ls "$work"/subproc_"$deb_version"_*.changes) || die "no .changes"
debs=()
for p in "${pkgs[@]}"; do
  f=$(ls "$work"/"$p"_"$deb_version"_*.deb) || die "no $p .deb"
  debs+=("$f")
done
for f in "${debs[@]}"; do
  printf '%s  %s KiB\n' "${f##*/}" $(($(stat -c %s "$f") / 1024))
  dpkg-deb -c "$f" | awk '{print "    " $6 ($7 ? " " $7 " " $8 : "")}'
done

# 4. lintian: errors and warnings fail; info and pedantic tags are shown
#    too. (Its stderr only says that running as root is not recommended.)
say "lintian ${changes##*/}"
t=$SECONDS
lintian_rc=0
lintian --display-info --pedantic --fail-on error,warning "$changes" \
  >"$work/lintian.log" 2>"$work/lintian.err" || lintian_rc=$?
grep -v 'running with root privileges is not recommended' "$work/lintian.err" >&2 || true
if [ -s "$work/lintian.log" ]; then cat "$work/lintian.log"; else echo "(no tags)"; fi
lintian_time=$((SECONDS - t))
[ $lintian_rc = 0 ] || die "lintian (rc $lintian_rc)"
lintian_summary="clean (no errors, no warnings)"
if [ -s "$work/lintian.log" ]; then
  lintian_summary="no errors or warnings; $(wc -l <"$work/lintian.log") info/pedantic line(s)"
fi

# 5. Install and use the packages.
say "apt-get install ${debs[*]##*/}"
installed=1
quiet apt-get install -y -q --no-install-recommends "${debs[@]}"

multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
libdir=/usr/lib/$multiarch
[ "$(pkg-config --modversion subproc)" = "$cmake_version" ] ||
  die "pkg-config --modversion subproc: $(pkg-config --modversion subproc)"
# The system directories must come out as such (pkg-config then drops them).
pc_flags=$(pkg-config --cflags --libs subproc)
echo "pkg-config --cflags --libs subproc: $pc_flags"
case $pc_flags in *..*) die "pkg-config gives unnormalised paths: $pc_flags" ;; esac

mkdir "$work/consumer"
cd "$work/consumer"
cat >consumer.c <<'EOF'
/* .ci/deb.sh: a program built against the installed libsubproc-dev. */
#include <stdio.h>
#include <string.h>

#include <subproc.h>

int main(void) {
  const char *argv[] = {"echo", "hello from the package", NULL};
  subproc_options o = {.capture_output = 1, .text = 1};
  subproc_result *r = NULL;
  int rc = subproc_run(argv, &o, &r, NULL);
  int ok = rc == 0 && r && r->returncode == 0 && r->out &&
           strcmp(r->out, "hello from the package\n") == 0;
  printf("rc=%d returncode=%d out=%s", rc, r ? r->returncode : -1,
         r && r->out ? r->out : "(none)\n");
  subproc_result_free(r);
  return ok ? 0 : 1;
}
EOF
cat >CMakeLists.txt <<'EOF'
cmake_minimum_required(VERSION 3.16)
project(consumer C)
find_package(subproc REQUIRED)
add_executable(consumer consumer.c)
target_link_libraries(consumer subproc::subproc)
add_executable(consumer_static consumer.c)
target_link_libraries(consumer_static subproc::subproc_static)
EOF
# The binary must use the packaged shared library.
# (/lib is /usr/lib on Debian 12: compare the resolved paths.)
uses_packaged_so() {
  local so
  so=$(ldd "$1" | sed -n 's/^[[:space:]]*libsubproc\.so\.0 => \([^ ]*\) .*/\1/p')
  if [ -z "$so" ] || [ "$(readlink -f "$so")" != "$(readlink -f "$libdir/libsubproc.so.0")" ]; then
    die "$1 does not load $libdir/libsubproc.so.0: $(ldd "$1")"
  fi
}

say "consumer: cc ... \$(pkg-config --cflags --libs subproc)"
# shellcheck disable=SC2046 # pkg-config's output is a list of words
cc -std=c11 -Wall -Wextra -Werror consumer.c -o consumer_pc $(pkg-config --cflags --libs subproc)
uses_packaged_so ./consumer_pc
./consumer_pc || die "consumer (pkg-config) failed"

say "consumer: CMake find_package(subproc), subproc::subproc and subproc::subproc_static"
cmake -S . -B build >/dev/null
cmake --build build >/dev/null
uses_packaged_so build/consumer
build/consumer || die "consumer (find_package, shared) failed"
build/consumer_static || die "consumer (find_package, static) failed"
if ldd build/consumer_static | grep -q libsubproc; then
  die "consumer_static loads libsubproc.so"
fi

# What a package built against libsubproc-dev would depend on.
mkdir -p debian && touch debian/control
shlibdeps=$(dpkg-shlibdeps -O build/consumer 2>/dev/null | sed -n 's/^shlibs:Depends=//p' || true)
echo "dpkg-shlibdeps: $shlibdeps"
case $shlibdeps in
*"libsubproc0 (>= "*) ;;
*) die "dpkg-shlibdeps gives no versioned libsubproc0 dependency" ;;
esac

say "subproc --version; man -w"
v=$(subproc --version) || die "subproc --version failed: $v"
echo "$v"
case $v in *"$cmake_version"*) ;; *) die "subproc --version does not say $cmake_version" ;; esac
if grep -qs '^path-exclude=*/usr/share/man' /etc/dpkg/dpkg.cfg.d/*; then
  echo "note: /etc/dpkg/dpkg.cfg.d excludes /usr/share/man (a slim image): man -w cannot pass"
fi
man1=$(man -w subproc) || die "man -w subproc"
man3=$(man -w 3 subproc) || die "man -w 3 subproc"
echo "$man1"
echo "$man3"
# A page per public function: a full page (subproc_run) and a link
# (subproc_check_call, .so in docs/man, a symlink once packaged) resolve;
# every page of docs/man is in libsubproc-dev.
for f in subproc_run subproc_check_call; do
  page=$(man -w 3 "$f") || die "man -w 3 $f"
  echo "$page"
  text=$(man 3 "$f" 2>/dev/null) || die "man 3 $f failed"
  case $text in *"$f"*) ;; *) die "man 3 $f does not show $f" ;; esac
done
want_pages=$(ls "$src"/docs/man/*.3 | wc -l)
got_pages=$(dpkg -L libsubproc-dev | grep -c '/usr/share/man/man3/.*\.3\.gz$')
[ "$got_pages" = "$want_pages" ] ||
  die "libsubproc-dev has $got_pages section-3 pages, docs/man has $want_pages"

# 6. Purge (the trap purges too if anything above failed).
say "dpkg --purge ${pkgs[*]}"
cd /
dpkg --purge "${pkgs[@]}" >/dev/null
installed=0
for p in "${pkgs[@]}"; do
  ! dpkg -s "$p" >/dev/null 2>&1 || die "$p is still installed"
done
for f in /usr/include/subproc.h "$libdir/libsubproc.so.0" /usr/bin/subproc; do
  [ ! -e "$f" ] || die "$f is left after the purge"
done

printf '\n==== deb.sh summary ====\n'
printf 'version        %s\n' "$deb_version"
printf 'packages       %s\n' "${debs[*]##*/}"
printf 'build          %ds (%s)\n' "$build_time" "DEB_BUILD_OPTIONS=$opts"
printf 'lintian        %s (%ds)\n' "$lintian_summary" "$lintian_time"
printf 'consumers      pkg-config, find_package (shared and static): ok\n'
printf 'symbols        %s\n' "$symbols"
printf 'dependents get %s\n' "$shlibdeps"
printf 'cli, man       subproc --version, man -w subproc, man 3 subproc*: ok (%s pages)\n' "$got_pages"
printf 'purged         %s\n' "${pkgs[*]}"
printf 'total          %ds\n' $((SECONDS - start))
