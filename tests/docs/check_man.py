#!/usr/bin/env python3
"""The man pages of docs/man against include/subproc.h (ctest docs.man_pages).

    check_man.py [--root DIR] [--lib libsubproc.so] [--self-test]

The public functions are the SUBPROC_API declarations of the header;
with --lib they are cross-checked with the shared library's exported
symbols (nm -D --defined-only), both ways. The rules:

 1. Every public function has a page docs/man/<function>.3 (so that
    `man 3 <function>` works), which is either a full page or a link page
    holding only ".so man3/<page>.3"; the page it resolves to names the
    function in its NAME section. (Types may have link pages too.)
 2. A link page points to an existing full page (no chains).
 3. A full page: .TH <FILE NAME IN CAPITALS> 3 ... "subproc <version>"
    with the header's SUBPROC_VERSION_STRING; its NAME section lists the
    page's own name first, then names that exist in the header (functions,
    types), and only names whose link pages exist (one per function).
 4. SYNOPSIS holds "#include <subproc.h>" and, for each function of NAME,
    its prototype exactly as in the header (compared token by token, so
    only whitespace may differ). Every prototype, #define and typedef the
    SYNOPSIS shows must be the header's (token by token; a typedef written
    with "..." is an abridgement and only its name is checked).
 5. Every identifier subproc_* and SUBPROC_* a page mentions exists in the
    header; every reference name(3) to a subproc page has a file.
 6. subproc.3 (the overview) refers to every public function as name(3);
    subproc_error.3 names every code of SUBPROC_ERRNO_MAP and every step of
    SUBPROC_STEP_MAP.
 7. groff -man -ww -z gives no warning for any page (link pages resolved
    as installed, from a man3/ directory), where groff is installed; nor
    does man --warnings at 80 and 120 columns (lintian's check), where man
    is installed.

--self-test breaks copies of the pages and the header in several ways and
checks that each breakage is caught, so that the check itself cannot rot
into one that always passes.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
import roff  # noqa: E402

TOKEN = re.compile(r'"(?:\\.|[^"\\])*"|[A-Za-z_][A-Za-z0-9_]*|\d[\w.]*|\.\.\.|<<|>>|->|\S')


def tokens(text):
    return TOKEN.findall(text)


# ---------------------------------------------------------------------------
# The header


class Header:
    def __init__(self, text):
        text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
        text = re.sub(r"//[^\n]*", "", text)
        text = text.replace("\\\n", " ")
        self.defines = {}  # name -> tokens of the whole directive
        code = []
        stack = []  # one entry per open #if: is its block kept?
        for line in text.split("\n"):
            s = line.strip()
            if s.startswith("#"):
                d = s[1:].strip()
                if re.match(r"if(n?def)?\b", d):
                    stack.append("__cplusplus" not in d)
                elif d.startswith("else"):
                    stack[-1] = not stack[-1]
                elif d.startswith("elif"):
                    stack[-1] = True
                elif d.startswith("endif"):
                    stack.pop()
                elif d.startswith("define") and all(stack):
                    m = re.match(r"define\s+([A-Za-z_]\w*)", d)
                    self.defines[m.group(1)] = tokens("#" + d)
                continue
            if all(stack):
                code.append(line)
        self.statements = split_statements(tokens("\n".join(code)))
        self.functions = {}  # name -> prototype tokens (without SUBPROC_API)
        self.types = set()
        self.constants = set(self.defines)
        for st in self.statements:
            if "SUBPROC_API" in st:
                proto = [t for t in st if t != "SUBPROC_API"]
                self.functions[function_name(proto)] = proto
            elif st[:1] == ["typedef"]:
                self.types.add(typedef_name(st))
                for i, t in enumerate(st[:-1]):
                    if t in ("struct", "enum") and re.match(r"[a-z_]\w*$", st[i + 1]):
                        self.types.add(st[i + 1])
            for name in enum_constants(st):
                self.constants.add(name)
        self.generated = {}  # X-macro map -> names it generates
        for m in re.finditer(r"#define (SUBPROC_\w+_MAP)\(X\)(.*?)(?=\n\s*(?:#|typedef|enum|/\*\s*-))",
                             text, re.S):
            prefix = "SUBPROC_STEP_" if "STEP" in m.group(1) else "SUBPROC_"
            names = [prefix + n for n in re.findall(r"X\((\w+),", m.group(2))]
            self.generated[m.group(1)] = names
            self.constants.update(names)
        self.identifiers = set(self.functions) | self.types | self.constants
        for st in self.statements:
            self.identifiers.update(t for t in st if t.startswith(("subproc", "SUBPROC")))
        v = self.defines.get("SUBPROC_VERSION_STRING")
        self.version = v[-1].strip('"') if v else None


def split_statements(toks):
    """Top-level statements ending in ';' (a struct body is part of its
    statement); an extern "C" block is transparent."""
    out, cur, depth = [], [], 0
    for t in toks:
        cur.append(t)
        if t == "{":
            depth += 1
        elif t == "}":
            depth -= 1
        elif t == ";" and depth == 0:
            out.append(cur)
            cur = []
    return out


def function_name(st):
    i = st.index("(")
    return st[i - 1]


def typedef_name(st):
    if "{" in st:
        return st[-2]  # typedef struct tag { ... } name;
    if "(" in st and st[st.index("(") + 1:st.index("(") + 2] == ["*"]:
        return st[st.index("(") + 2]  # typedef int (*name)(...);
    return st[-2]


def enum_constants(st):
    """The enumerators of the enum bodies in a statement."""
    out, depth, in_enum, prev = [], 0, False, None
    for i, t in enumerate(st):
        if t == "{":
            depth += 1
            in_enum = in_enum or "enum" in st[:i]
        elif t == "}":
            depth -= 1
        elif in_enum and depth == 1 and re.match(r"[A-Z_][A-Z0-9_]*$", t) and prev in ("{", ","):
            out.append(t)
        prev = t
    return out


# ---------------------------------------------------------------------------
# The pages


class Problems(list):
    def add(self, page, msg):
        self.append(f"{page}: {msg}")


def page_synopsis(lines, where):
    """The SYNOPSIS as (directives, statements): the text between .nf and
    .fi, rendered."""
    body, on = [], False
    for line in lines:
        if line.startswith(".nf"):
            on = True
        elif line.startswith(".fi"):
            on = False
        elif on:
            t = roff.render_line(line, where)
            if t is not None:
                body.append(t)
    directives = [l.strip() for l in body if l.strip().startswith("#")]
    code = "\n".join(l for l in body if not l.strip().startswith("#"))
    return directives, split_statements(tokens(code))


def name_section(lines, where):
    text = " ".join(t for t in (roff.render_line(l, where) for l in lines) if t)
    if " - " not in text:
        return None, text
    names = [n.strip() for n in text.split(" - ", 1)[0].split(",")]
    return names, text


def check(root, lib=None, problems=None, groff=True, nm="nm"):
    root = Path(root)
    P = Problems() if problems is None else problems
    header = Header((root / "include/subproc.h").read_text())
    mandir = root / "docs/man"
    pages = {p.name[:-2]: p.read_text() for p in sorted(mandir.glob("*.3"))}
    if not header.functions:
        P.add("include/subproc.h", "no SUBPROC_API declaration found")

    # The shared library's exports against the header.
    if lib:
        try:
            out = subprocess.run([nm, "-D", "--defined-only", lib], check=True,
                                 capture_output=True, text=True).stdout
        except (OSError, subprocess.CalledProcessError) as e:
            P.add(lib, f"nm -D --defined-only failed: {e}")
            out = ""
        exported = {f[2] for f in (l.split() for l in out.splitlines())
                    if len(f) == 3 and f[1] in "TWiV" and f[2].startswith("subproc")}
        for name in sorted(exported - set(header.functions)):
            P.add(lib, f"exports {name}, which include/subproc.h does not declare")
        for name in sorted(set(header.functions) - exported):
            P.add(lib, f"does not export {name}, which include/subproc.h declares")

    links, full = {}, {}
    for name, text in pages.items():
        m = re.fullmatch(r"\.so man3/([\w.-]+)\.3\n?", text)
        if m:
            links[name] = m.group(1)
        elif text.lstrip().startswith(".so"):
            P.add(f"{name}.3", "a link page holds exactly one line: .so man3/<page>.3")
        else:
            full[name] = text

    named = {}  # full page -> names of its NAME section
    for name, text in full.items():
        page = f"{name}.3"
        try:
            check_full_page(name, text, header, pages, P, named)
        except roff.RoffError as e:
            P.add(page, str(e))

    for name, target in links.items():
        if target not in full:
            P.add(f"{name}.3", f".so man3/{target}.3: no such full page")
        elif name not in named.get(target, []):
            P.add(f"{name}.3", f"links to {target}.3, whose NAME does not list {name}")

    for fn in header.functions:
        if fn not in pages:
            P.add("docs/man", f"no page for {fn} (add {fn}.3, or a link page "
                  f"'.so man3/<page>.3' to the page that documents it)")

    overview = full.get("subproc")
    if overview is None:
        P.add("docs/man", "no overview page subproc.3")
    else:
        text = roff.render(overview.split("\n"), "subproc.3")
        refs = set(re.findall(r"\b(subproc_\w+)\(3\)", text))
        for fn in header.functions:
            if fn not in refs:
                P.add("subproc.3", f"FUNCTIONS does not list {fn}(3)")

    err_page = full.get("subproc_error")
    if err_page is not None:
        words = set(re.findall(r"\bSUBPROC_\w+", roff.render(err_page.split("\n"))))
        for names in header.generated.values():
            for n in names:
                if n not in words:
                    P.add("subproc_error.3", f"does not list {n}")

    if groff:
        groff_check(mandir, P)
    return P


def check_full_page(name, text, header, pages, P, named):
    page = f"{name}.3"
    lines = text.split("\n")
    th = [l for l in lines if l.startswith(".TH ")]
    if not th:
        P.add(page, "no .TH line")
    else:
        a = roff.macro_args(th[0][4:])
        if a[:2] != [name.upper(), "3"]:
            P.add(page, f".TH {' '.join(a[:2])}: expected .TH {name.upper()} 3")
        if len(a) < 4 or a[3] != f"subproc {header.version}":
            P.add(page, f".TH source {a[3] if len(a) > 3 else '(none)'!r}: "
                  f"expected 'subproc {header.version}' (SUBPROC_VERSION_STRING)")
    secs = roff.sections(text)
    for s in ("NAME", "SYNOPSIS", "DESCRIPTION", "SEE ALSO"):
        if s not in secs:
            P.add(page, f"no {s} section")
    names, name_text = name_section(secs.get("NAME", []), page)
    if not names:
        P.add(page, f"NAME is not 'name, ... \\- description': {name_text!r}")
        names = []
    named[name] = names
    if names and names[0] != name:
        P.add(page, f"NAME lists {names[0]} first; a page is named after its first name")
    for n in names:
        if n == "subproc" and name == "subproc":
            continue
        if n not in header.functions and n not in header.types:
            P.add(page, f"NAME names {n}, which include/subproc.h does not declare")
        elif n in header.functions and n not in pages:
            P.add(page, f"NAME names {n}, which has no page {n}.3 (add a link page)")

    directives, statements = page_synopsis(secs.get("SYNOPSIS", []), page)
    if "#include <subproc.h>" not in directives:
        P.add(page, "SYNOPSIS lacks #include <subproc.h>")
    shown = set()
    for d in directives:
        m = re.match(r"#\s*define\s+(\w+)", d)
        if not m:
            continue
        want = header.defines.get(m.group(1))
        if want is None:
            P.add(page, f"SYNOPSIS defines {m.group(1)}, which the header does not")
        elif tokens(d) != want:
            P.add(page, f"SYNOPSIS: {d!r} differs from the header's #define {m.group(1)}")
    for st in statements:
        text_st = " ".join(st)
        if st[:1] == ["typedef"]:
            tname = typedef_name(st) if "..." not in st else next(
                (t for t in reversed(st) if re.match(r"[a-z_]\w*$", t)), "")
            shown.add(tname)
            if tname not in header.types:
                P.add(page, f"SYNOPSIS: typedef {tname}: no such type in the header")
            elif "..." not in st and st not in header.statements:
                P.add(page, f"SYNOPSIS: the typedef of {tname} differs from the header's")
        elif "(" in st and "..." not in st:
            fn = function_name(st)
            shown.add(fn)
            want = header.functions.get(fn)
            if want is None:
                P.add(page, f"SYNOPSIS declares {fn}, which include/subproc.h does not")
            elif st != want:
                P.add(page, f"SYNOPSIS: the prototype of {fn} differs from the header's:\n"
                      f"    page:   {text_st}\n    header: {' '.join(want)}")
            elif name != "subproc" and fn not in names:
                P.add(page, f"SYNOPSIS declares {fn}, which NAME does not list")
        elif "..." not in st:
            P.add(page, f"SYNOPSIS: a statement that is neither a prototype nor a "
                  f"typedef: {text_st}")
    for n in names:
        if n in header.functions and n not in shown:
            P.add(page, f"SYNOPSIS lacks the prototype of {n}")

    rendered = roff.render(lines, page)
    for ident in sorted(set(re.findall(r"(?<![\w:])(?:subproc|SUBPROC)_\w*", rendered))):
        if ident in header.identifiers:
            continue
        # SUBPROC_REDIRECT_* and the like: a prefix of known names.
        if ident.endswith("_") and any(i.startswith(ident) for i in header.identifiers):
            continue
        P.add(page, f"mentions {ident}, which include/subproc.h does not have")
    for ref in sorted(set(re.findall(r"\b(subproc\w*)\(3\)", rendered))):
        if ref not in pages:
            P.add(page, f"refers to {ref}(3), which has no page")


def groff_check(mandir, P):
    if not shutil.which("groff"):
        print("note: groff not installed: the pages are not run through groff -ww")
        return
    with tempfile.TemporaryDirectory() as tmp:
        os.symlink(mandir.resolve(), Path(tmp) / "man3")
        for p in sorted(mandir.glob("*.3")):
            r = subprocess.run(["groff", "-man", "-ww", "-z", f"man3/{p.name}"],
                               cwd=tmp, capture_output=True, text=True)
            msg = (r.stderr + r.stdout).strip()
            if r.returncode != 0 or msg:
                P.add(p.name, f"groff -man -ww: {msg or 'exit %d' % r.returncode}")
            # As lintian runs it (at 120 columns), and at 80.
            if not shutil.which("man"):
                continue
            for width in ("80", "120"):
                env = {"PATH": os.environ.get("PATH", ""), "LC_ALL": "C.UTF-8",
                       "MANROFFSEQ": "", "MANWIDTH": width}
                r = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8",
                                    "-Z", f"man3/{p.name}"], cwd=tmp, env=env,
                                   capture_output=True, text=True)
                msg = r.stderr.strip()
                if r.returncode != 0 or msg:
                    P.add(p.name, f"man --warnings (MANWIDTH={width}): "
                          f"{msg or 'exit %d' % r.returncode}")


# ---------------------------------------------------------------------------
# Self-test: each breakage must be caught.

def self_test(root):
    root = Path(root)
    breakages = [
        ("a function's page removed", "docs/man/subproc_kill.3", None, None,
         "no page for subproc_kill"),
        ("a full page removed (its link pages dangle)", "docs/man/subproc_wait.3", None, None,
         ".so man3/subproc_wait.3: no such full page"),
        ("a prototype changed", "docs/man/subproc_run.3", '", subproc_error *" err );',
         '", subproc_error *" error );', "the prototype of subproc_run differs"),
        ("a function that does not exist in NAME", "docs/man/subproc_wait.3",
         "subproc_wait, subproc_poll ", "subproc_wait, subproc_poll, subproc_waitpid ",
         "NAME names subproc_waitpid"),
        ("a prototype of a function that does not exist", "docs/man/subproc_wait.3",
         '.BI "int subproc_poll(subproc *" p ", int *" returncode );',
         '.BI "int subproc_poll(subproc *" p ", int *" returncode );\n'
         '.BI "int subproc_poll2(subproc *" p );', "declares subproc_poll2"),
        ("a function missing from the overview", "docs/man/subproc.3",
         '.BR subproc_version (3)\n', '.B subproc_version\n',
         "does not list subproc_version(3)"),
        ("a constant that does not exist", "docs/man/subproc_wait.3",
         "SUBPROC_STEP_WAIT", "SUBPROC_STEP_WAITING", "mentions SUBPROC_STEP_WAITING"),
        ("a typedef that differs", "docs/man/subproc_options.3",
         "    int shell;\n", "    int shell, login;\n", "the typedef of subproc_options differs"),
        ("a step missing from subproc_error.3", "docs/man/subproc_error.3",
         ".BR SUBPROC_STEP_SPLIT .", ".B split.", "does not list SUBPROC_STEP_SPLIT"),
        ("a new function in the header", "include/subproc.h",
         "SUBPROC_API const char *subproc_version(void);",
         "SUBPROC_API const char *subproc_version(void);\n"
         "SUBPROC_API int subproc_new_thing(int x);", "no page for subproc_new_thing"),
        ("a stale version", "include/subproc.h", '#define SUBPROC_VERSION_STRING "',
         '#define SUBPROC_VERSION_STRING "9.', "expected 'subproc 9."),
        ("a groff warning", "docs/man/subproc_pid.3", ".SH DESCRIPTION",
         ".SH DESCRIPTION\n.XY bogus", "groff -man -ww"),
    ]
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for what, rel, old, new, expect in breakages:
            copy = Path(tmp) / "tree"
            shutil.rmtree(copy, ignore_errors=True)
            (copy / "include").mkdir(parents=True)
            shutil.copy(root / "include/subproc.h", copy / "include")
            shutil.copytree(root / "docs/man", copy / "docs/man")
            target = copy / rel
            if old is None:
                target.unlink()
            else:
                text = target.read_text()
                if old not in text:
                    print(f"self-test: {what}: {old!r} not found in {rel}: update the self-test")
                    failures += 1
                    continue
                target.write_text(text.replace(old, new, 1))
            if what == "a groff warning" and not shutil.which("groff"):
                print(f"self-test: {what}: skipped (no groff)")
                continue
            # groff only where the breakage is groff's: it takes a while.
            found = check(copy, groff=what == "a groff warning")
            if any(expect in p for p in found):
                print(f"self-test: {what}: caught")
            else:
                print(f"self-test: {what}: NOT caught (expected {expect!r}); got:")
                for p in found:
                    print("    " + p)
                failures += 1
    print(f"self-test: {len(breakages) - failures} of {len(breakages)} breakages caught")
    return failures == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=Path(__file__).resolve().parents[2])
    ap.add_argument("--lib", help="the shared library, checked with nm -D")
    ap.add_argument("--nm", default="nm", help="the nm program (default: nm)")
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args()
    if a.self_test:
        sys.exit(0 if self_test(a.root) else 1)
    problems = check(a.root, a.lib, nm=a.nm)
    for p in problems:
        print(p)
    root = Path(a.root)
    header = Header((root / "include/subproc.h").read_text())
    n_pages = len(list((root / "docs/man").glob("*.3")))
    print(f"{len(header.functions)} public functions, {n_pages} pages in docs/man; "
          f"exports {'checked with nm' if a.lib else 'not checked (no --lib)'}; "
          f"{len(problems)} problem(s)")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
