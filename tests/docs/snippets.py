#!/usr/bin/env python3
"""Every code block of the documentation, compiled and run (ctest
docs.snippet.* and docs.example.*), so that no snippet rots.

    snippets.py list [--root DIR]
    snippets.py run ID --lib libsubproc.a --cc CC [--cflags ...] [--ldflags ...]
                       [--cxx CXX] [--cxxflags ...] [--root DIR]

Where the blocks come from:
  - README.md and docs/*.md: fenced blocks of language c, and of cpp (also
    c++, cxx). Blocks of any other language (sh, python, text, none) are
    not code to run and are left alone.
  - docs/man/*.3: the .EX/.EE blocks of EXAMPLES that are programs (they
    define main).

The conventions of a Markdown block:
  ```c            a whole program: compiled, linked with the library from
                  the build tree, and run; it must exit with status 0.
  ```c fragment   statements: compiled as the body of int main(void), after
                  the includes every fragment gets (<errno.h>, <signal.h>,
                  <stdio.h>, <stdlib.h>, <string.h>, <subproc.h>; for C++
                  their <c...> forms), and run. A fragment declares what it
                  uses: copied alone, it still compiles.
  An HTML comment on the line before the fence changes that, and says why:
  <!-- snippet: compile-only: REASON -->   compiled, not run (it needs
                  something a test machine does not have, such as a
                  delegated cgroup).
  <!-- snippet: needs-git-checkout: REASON -->   run in the source tree,
                  and skipped (SKIP) when that is not a git checkout or git
                  is missing.
  <!-- snippet: skip: REASON -->   not even compiled (keep these rare).
A C++ block whose #include names a header that the compiler cannot find
(say <subproc.hpp> before it exists) is skipped with SKIP and the header's
name, as is every C++ block when no C++ compiler links with this build.

A man page's example may be followed by a block marked with the roff
comment .\\" check: output -- the program's standard output must then be
exactly that block.

Warnings are errors (-Wall -Wextra -Werror; fragments may leave variables
unused). Errors point into the documentation file (#line).
"""
import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
import roff  # noqa: E402

C_LANGS = {"c": "c"}
CXX_LANGS = {"cpp": "c++", "c++": "c++", "cxx": "c++"}
MARKER = re.compile(r"<!--\s*snippet:\s*([\w-]+)\s*(?::\s*(.*?))?\s*-->")
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([^\s`]*)\s*(.*)$")

C_PRELUDE = """#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <subproc.h>
"""
CXX_PRELUDE = """#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <subproc.h>
"""


class Block:
    def __init__(self, ident, name, path, line, lang, code, fragment=False,
                 marker=None, reason=None, expect=None):
        self.ident, self.name, self.path, self.line = ident, name, path, line
        self.lang, self.code, self.fragment = lang, code, fragment
        self.marker, self.reason, self.expect = marker, reason, expect


def markdown_blocks(root, rel):
    lines = (root / rel).read_text().split("\n")
    blocks, i, n = [], 0, 0
    stem = Path(rel).stem
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, lang, info = m.groups()
        body, j = [], i + 1
        while j < len(lines):
            c = FENCE.match(lines[j])
            if c and c.group(2)[0] == fence[0] and len(c.group(2)) >= len(fence) \
                    and not c.group(3):
                break
            body.append(lines[j][len(indent):] if lines[j].startswith(indent) else lines[j])
            j += 1
        lang = lang.lower()
        kind = C_LANGS.get(lang) or CXX_LANGS.get(lang)
        if kind:
            n += 1
            marker = reason = None
            k = i - 1
            while k >= 0 and not lines[k].strip():
                k -= 1
            mm = MARKER.search(lines[k]) if k >= 0 else None
            if mm:
                marker, reason = mm.group(1), mm.group(2)
                if marker not in ("compile-only", "needs-git-checkout", "skip"):
                    raise SystemExit(f"{rel}:{k + 1}: unknown snippet marker {marker!r}")
                if not reason:
                    raise SystemExit(f"{rel}:{k + 1}: the marker {marker} needs a reason")
            words = info.split()
            for w in words:
                if w != "fragment":
                    raise SystemExit(f"{rel}:{i + 1}: unknown word {w!r} after ```{lang}")
            blocks.append(Block(f"{rel}#{n}", f"docs.snippet.{stem}.{n}", rel, i + 2,
                                kind, "\n".join(body) + "\n", "fragment" in words,
                                marker, reason))
        i = j + 1
    return blocks


def man_blocks(root, rel):
    text = (root / rel).read_text()
    if text.startswith(".so"):
        return []
    secs = roff.sections(text)
    ex = secs.get("EXAMPLES") or secs.get("EXAMPLE") or []
    found = roff.example_blocks(ex, rel)
    out, n = [], 0
    stem = Path(rel).name[:-2]
    for marker, code in found:
        if marker == "output":
            if not out:
                raise SystemExit(f"{rel}: a 'check: output' block with no program before it")
            out[-1].expect = code
        elif marker is not None:
            raise SystemExit(f"{rel}: unknown marker 'check: {marker}'")
        elif re.search(r"\bint\s+main\s*\(", code):
            n += 1
            suffix = "" if n == 1 else f".{n}"
            out.append(Block(f"{rel}#{n}", f"docs.example.{stem}{suffix}", rel, 1, "c", code))
    return out


def all_blocks(root):
    root = Path(root)
    files = ["README.md"] + sorted(str(p.relative_to(root)) for p in (root / "docs").glob("*.md"))
    blocks = []
    for rel in files:
        if (root / rel).exists():
            blocks += markdown_blocks(root, rel)
    for p in sorted((root / "docs/man").glob("*.3")):
        blocks += man_blocks(root, str(p.relative_to(root)))
    return blocks


# ---------------------------------------------------------------------------


def source_of(b):
    line = f'#line {b.line} "{b.path}"\n'
    if b.fragment:
        prelude = C_PRELUDE if b.lang == "c" else CXX_PRELUDE
        return prelude + "int main(void) {\n" + line + b.code + "  return 0;\n}\n"
    if b.path.endswith(".3"):
        return b.code  # a man page's line numbers mean nothing here
    return line + b.code


def missing_include(compiler, flags, b, tmp):
    """The first #include of the block that the compiler cannot find."""
    for inc in re.findall(r'^\s*#\s*include\s*([<"][^>"]+[>"])', b.code, re.M):
        probe = Path(tmp) / "probe.cpp"
        probe.write_text(f"#include {inc}\n")
        r = subprocess.run([*compiler, *flags, "-E", "-o", os.devnull, str(probe)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            return inc
    return None


def run(a):
    root = Path(a.root)
    blocks = {b.ident: b for b in all_blocks(root)}
    if a.id not in blocks:
        print(f"no block {a.id} (snippets.py list shows them; re-run cmake after "
              "editing the documentation)")
        return 1
    b = blocks[a.id]
    where = f"{b.path}" + (f" line {b.line - 1}" if not b.path.endswith(".3") else " EXAMPLES")
    print(f"{b.ident}: {where}, {'C++' if b.lang == 'c++' else 'C'}"
          f"{' fragment' if b.fragment else ''}")
    if b.marker == "skip":
        print(f"SKIP: {b.reason}")
        return 0
    include = ["-I", str(root / "include")]
    if b.lang == "c":
        compiler = shlex.split(a.cc)
        flags = shlex.split(a.cflags or "") + ["-Wall", "-Wextra", "-Werror"]
        ext = ".c"
    else:
        if not a.cxx:
            print("SKIP: no C++ compiler found")
            return 0
        compiler = shlex.split(a.cxx)
        flags = ["-std=c++20"] + shlex.split(a.cxxflags or "") + ["-Wall", "-Wextra", "-Werror"]
        ext = ".cpp"
    if b.fragment:
        flags += ["-Wno-unused-variable", "-Wno-unused-but-set-variable"]
    link = [a.lib, "-pthread"] + shlex.split(a.ldflags or "")
    with tempfile.TemporaryDirectory(prefix="subproc-snippet.") as tmp:
        if b.lang == "c++":
            probe = Path(tmp) / "probe_link.cpp"
            probe.write_text("#include <subproc.h>\n"
                             "int main() { return subproc_version()[0] == 0; }\n")
            r = subprocess.run([*compiler, *flags, *include, str(probe), "-o",
                                str(Path(tmp) / "probe"), *link],
                               capture_output=True, text=True)
            if r.returncode != 0:
                print("SKIP: the C++ compiler cannot build a program against this "
                      f"build of the library ({' '.join(compiler)}):\n{r.stderr[-2000:]}")
                return 0
            inc = missing_include(compiler, [*flags, *include], b, tmp)
            if inc:
                print(f"SKIP: #include {inc} is not there (yet)")
                return 0
        src = Path(tmp) / f"snippet{ext}"
        src.write_text(source_of(b))
        exe = Path(tmp) / "snippet"
        cmd = [*compiler, *flags, *include, str(src), "-o", str(exe), *link]
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=root)
        if r.returncode != 0:
            print("compile failed: " + " ".join(shlex.quote(c) for c in cmd))
            print(r.stdout + r.stderr)
            print("---- the source compiled ----")
            print(source_of(b))
            return 1
        print("compiled: " + " ".join(shlex.quote(c) for c in cmd))
        if b.marker == "compile-only":
            print(f"not run: {b.reason}")
            return 0
        cwd = tmp
        if b.marker == "needs-git-checkout":
            git = shutil.which("git")
            inside = git and subprocess.run([git, "rev-parse", "--is-inside-work-tree"],
                                            cwd=root, capture_output=True).returncode == 0
            if not inside:
                print(f"SKIP: {root} is not a git checkout (or git is missing): {b.reason}")
                return 0
            cwd = root
        try:
            r = subprocess.run([str(exe)], cwd=cwd, stdin=subprocess.DEVNULL,
                               capture_output=True, text=True, timeout=a.timeout)
        except subprocess.TimeoutExpired:
            print(f"ran for more than {a.timeout} s")
            return 1
        sys.stdout.write(r.stdout)
        sys.stdout.write(r.stderr)
        if r.returncode != 0:
            print(f"exit status {r.returncode} (a snippet must exit with 0)")
            return 1
        if b.expect is not None and r.stdout != b.expect:
            print("the output differs from the page's:")
            print("---- expected ----\n" + b.expect + "---- got ----\n" + r.stdout, end="")
            return 1
        print("ran" + (", output as the page shows" if b.expect is not None else ""))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cmd", choices=["list", "run"])
    ap.add_argument("id", nargs="?")
    ap.add_argument("--root", default=str(Path(__file__).resolve().parents[2]))
    ap.add_argument("--cc", default="cc")
    ap.add_argument("--cflags", default="")
    ap.add_argument("--cxx", default="")
    ap.add_argument("--cxxflags", default="")
    ap.add_argument("--ldflags", default="")
    ap.add_argument("--lib")
    ap.add_argument("--timeout", type=float, default=60)
    a = ap.parse_args()
    if a.cmd == "list":
        for b in all_blocks(a.root):
            print(f"{b.ident}\t{b.name}")
        return 0
    if not a.id or not a.lib:
        ap.error("run needs an ID and --lib")
    return run(a)


if __name__ == "__main__":
    sys.exit(main())
