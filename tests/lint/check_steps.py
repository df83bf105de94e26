#!/usr/bin/env python3
"""Every step name the library passes to subproc__fail* is one of
SUBPROC_STEP_MAP in include/subproc.h (an unknown name would reach users as
SUBPROC_STEP_OTHER). Reads the sources: the literal step argument of each
call, and the tables of step names the calls index."""
import re
import sys
from pathlib import Path

root = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
header = (root / "include/subproc.h").read_text()
known = set(re.findall(r'X\([A-Z_0-9]+, "([a-z_0-9]*)"\)', header))

calls = re.compile(
    r'subproc__fail(?:_os|_os_named|_win|_win_named)?\(\s*[^,]+,\s*'
    r'(?:[^,()]+(?:\([^()]*\))?,\s*){0,2}"([a-z_0-9]+)"')
tables = re.compile(r'(?:step_names|stream_names)\[[^\]]*\]\s*=\s*\{([^}]*)\}',
                    re.S)
bad = []
for f in sorted((root / "src").rglob("*.c")):
    text = f.read_text()
    names = calls.findall(text)
    for t in tables.findall(text):
        names += re.findall(r'"([a-z_0-9]*)"', t)
    for n in names:
        if n and n not in known:
            bad.append(f"{f.relative_to(root)}: step '{n}'")
for b in sorted(set(bad)):
    print(b)
print(f"{len(known)} steps known, {len(bad)} unknown uses")
sys.exit(1 if bad else 0)
