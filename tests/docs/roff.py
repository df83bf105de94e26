"""Just enough of man(7) for the documentation tests: the macro arguments,
the escapes the pages use, and the text a section renders to. Shared by
check_man.py (the pages against include/subproc.h) and snippets.py (the
EXAMPLES of the pages, compiled and run)."""
import re

# The escapes the pages use, and what they stand for in the text.
ESCAPES = {
    "\\-": "-",
    "\\e": "\\",
    "\\(aq": "'",
    "\\(dq": '"',
    "\\(ti": "~",
    "\\(bu": "*",
    "\\(em": "--",
    "\\(en": "-",
    "\\&": "",
    "\\ ": " ",
    "\\fB": "",
    "\\fI": "",
    "\\fR": "",
    "\\fP": "",
    "\\fC": "",
    "\\%": "",
    "\\:": "",
}
_KNOWN = sorted(ESCAPES, key=len, reverse=True)


class RoffError(Exception):
    pass


def unescape(s, where=""):
    """The text of a roff line: the known escapes replaced; an unknown one
    is an error (the tests would silently compare the wrong text)."""
    out, i = [], 0
    while i < len(s):
        j = s.find("\\", i)
        if j < 0:
            out.append(s[i:])
            break
        out.append(s[i:j])
        for k in _KNOWN:
            if s.startswith(k, j):
                out.append(ESCAPES[k])
                i = j + len(k)
                break
        else:
            raise RoffError(f"{where}: escape {s[j:j + 4]!r} unknown to "
                            "tests/docs/roff.py")
    return "".join(out)


def macro_args(rest):
    """roff's argument splitting: blanks separate, double quotes group, and
    "" inside quotes is one literal quote."""
    args, cur, i, quoted, have = [], [], 0, False, False
    while i < len(rest):
        c = rest[i]
        if quoted:
            if c == "\\":
                cur.append(rest[i:i + 2])
                i += 2
                continue
            if c == '"':
                if rest[i + 1:i + 2] == '"':
                    cur.append('"')
                    i += 2
                    continue
                quoted = False
            else:
                cur.append(c)
        elif c == '"' and not cur:
            quoted, have = True, True
        elif c in " \t":
            if cur or have:
                args.append("".join(cur))
                cur, have = [], False
        elif c == "\\" and rest[i + 1:i + 2] == '"':  # a comment
            break
        elif c == "\\":  # an escape: never split inside one
            cur.append(rest[i:i + 2])
            have = True
            i += 2
            continue
        else:
            cur.append(c)
            have = True
        i += 1
    if cur or have:
        args.append("".join(cur))
    return args


# Font macros: the first set joins its arguments with blanks, the second
# alternates fonts and joins them with nothing in between.
_JOIN_BLANK = {"B", "I", "SM", "SB"}
_JOIN_TIGHT = {"BI", "IB", "BR", "RB", "IR", "RI"}


def render_line(line, where=""):
    """A source line as text: a font macro's arguments joined as roff joins
    them, a text line unescaped; None for other requests and comments."""
    if line.startswith(('.\\"', "'\\\"")) or line.strip() == ".":
        return None
    if line[:1] and line[0] in ".'":
        m = re.match(r"[.'](\S+)\s*(.*)", line)
        if not m:
            return None
        name, rest = m.group(1), m.group(2)
        args = [unescape(a, where) for a in macro_args(rest)]
        if name in _JOIN_BLANK:
            return " ".join(args)
        if name in _JOIN_TIGHT:
            return "".join(args)
        return None
    return unescape(line, where)


def sections(text):
    """{section name: [source lines]} of a page, in order."""
    out, cur = {}, None
    for line in text.split("\n"):
        m = re.match(r'\.SH\s+"?([^"]*)"?\s*$', line)
        if m:
            cur = m.group(1).strip()
            out[cur] = []
        elif cur is not None:
            out[cur].append(line)
    return out


def render(lines, where=""):
    """The text of some source lines, one output line per input line that
    produces text (requests other than font macros produce none)."""
    out = []
    for n, line in enumerate(lines):
        t = render_line(line, f"{where}:{n}")
        if t is not None:
            out.append(t)
    return "\n".join(out)


def example_blocks(lines, where=""):
    """The .EX/.EE blocks of some source lines, as text, each with the
    marker that came before it since the previous block (".\\" check:
    output" marks a block that is the expected output of the one before)."""
    blocks, cur, marker = [], None, None
    for n, line in enumerate(lines):
        if line.startswith(".EX"):
            cur = []
        elif line.startswith(".EE"):
            blocks.append((marker, "\n".join(cur) + "\n"))
            cur, marker = None, None
        elif cur is not None:
            if line.startswith('.\\"'):
                continue
            if line[:1] and line[0] in ".'":
                raise RoffError(f"{where}:{n}: request inside .EX: {line!r}")
            cur.append(unescape(line, f"{where}:{n}"))
        else:
            m = re.match(r'\.\\"\s*check:\s*(\S+)', line)
            if m:
                marker = m.group(1)
    return blocks
