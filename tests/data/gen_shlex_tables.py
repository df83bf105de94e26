#!/usr/bin/env python3
"""Write the expected results of shlex.split/quote/join and
subprocess.list2cmdline, computed by this Python, as C tables:

    tests/data/shlex_cases.inc    (tests/test_shlex.c)
    tests/data/cmdline_cases.inc  (tests/test_cmdline.c)

Run it from anywhere after changing the inputs below, and commit the output;
the build does not run it.
"""
import os
import platform
import shlex
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))

# C11 only promises 4095 bytes per string literal (-Woverlength-strings).
MAX_LITERAL = 4000

SPLIT_INPUTS = [
    # whitespace
    "", " ", "   ", " \t\r\n ", "a", "a b c", "  lead and trail  ",
    "a\tb\nc\rd", "a\r\nb", "a\x0bb\x0cc", "a\u00a0b", "a\u2003b",
    # single and double quotes
    "'a b'", '"a b"', "'a\"b'", '"a\'b"', "a'b c'd", 'a"b c"d', "'a'\"b\"c",
    "''", '""', "'' ''", '"" ""', "a '' b", "''''", '""""', "x''", "''x",
    "'\"'", '"\'"', "'a\tb\nc'", '"a\tb\nc"', "' '", '" "', "'''a'''",
    "a' 'b", 'a" "b', "'$HOME' \"$HOME\"", "'a' 'b'c'd' e",
    # backslashes outside quotes
    "a\\ b", "\\'", '\\"', "\\\\", "a\\\\b", "\\a\\b\\c", "\\ ", "\\\t",
    "a\\\nb", "\\\n", "x \\\n y", "\\ \\ ", "\\$HOME", "\\#", "\\\\\\\\",
    "a\\'b", 'a\\"b', "\\\\'a b'", '\\\\"a b"',
    # backslashes inside single quotes are literal
    "'a\\b'", "'a\\'", "'\\\\'", "'a\\\nb'", "'\\\"'",
    # backslashes inside double quotes: only \\ and \" are escapes
    '"a\\"b"', '"a\\\\b"', '"a\\$b"', '"a\\`b"', '"\\n"', '"a\\\nb"',
    '"\\\\\\""', '"\\\\"', '"\\ "', '"\\\'"', '"\\a\\b"', '"a\\\\\\\\b"',
    "\\\\\\\\\"a b\"", '"x\\\\" y', '"\\"" "\\\\"',
    # adjacent and mixed parts
    "a'b'\"c\"\\d e", "'a'\"b\"'c'", "\"a\"'b'\"c\"", "a\"\"b''c",
    'echo "hello, world" \'it\'"\'"\'s\' done',
    "ab'c d'ef\"g h\"ij", "--opt='a b' --x=\"c d\"",
    # shell metacharacters are ordinary characters
    "a|b; c && d > e < f", "$HOME `ls` $(pwd) ${x}", "a#b # c", "#",
    "*.c ?x [ab] {a,b} ~user", "a=b c=d", "(a) {b}", "!x !!", "a&b&",
    "2>&1 >/dev/null", "a;b", "'a|b' \"c;d\"", "%PATH% ^x",
    # control characters and DEL
    "a\x01b", "\x7f", "\x1b[0m x", "a\x08b",
    # UTF-8
    "\u00e9 \u00e0", "'h\u00e9llo w\u00f6rld'", "\u65e5\u672c \u8a9e",
    "emoji \U0001f600 'x\U0001f600y'", "\"\u00e9\\\u00e9\"", "\\\u00e9",
    "\u00df\u00e0\u00ff \u0391\u03b2", "caf\u00e9\\'s 'na\u00efve'",
    # long inputs
    "word " * 500,
    "'" + "x" * 3000 + "'",
    '"' + "\\\"" * 900 + '"',
    " ".join("'%d'\"%d\"%d" % (i, i, i) for i in range(150)),
    "a" * 3500,
    "\\ " * 1500,
]

SPLIT_ERRORS = [
    "'", '"', "'abc", '"abc', "a 'b", 'a "b', "abc'", "x 'y' 'z",
    '"a\\"', "'''", '"""', "a'b'c'", "\\", "abc\\", "a b \\",
    '"abc\\', '"\\', "'a' \"b\\", "\u00e9'", '"\\\\\\"',
]

QUOTE_INPUTS = [
    "", "a", "abc", "ABC_xyz-0.9/%+=:,@", "-", "--opt=1", "/usr/bin/x",
    "a b", "a\tb", "a\nb", "a'b", "'", "''", "\"", "a\"b", "$x", "`x`",
    "\\", "a\\b", "~", "*", "?", "!", "#", "&", ";", "|", "<", ">", "(", ")",
    "{", "}", "[", "]", "^", "a'b'c", "'a'", "\u00e9", "caf\u00e9",
    "\U0001f600", "a\x01b", "\x7f", "it's", "don't 'x'", "x" * 1000, "'" * 50,
    "a b" * 300,
]

JOIN_INPUTS = [
    [], [""], ["", ""], ["a"], ["a", "b"], ["a b", "c"], ["it's", "x"],
    ["echo", "hello world", "$HOME", "a'b\"c"], ["", "x", ""],
    ["\u00e9", "caf\u00e9 au lait"], ["a\tb", "c\nd", "e\\f"],
    ["'", "\"", "\\", "''", "\"\""], ["--x=1", "-y", "/p/q.r"],
    ["a"] * 100, ["x y"] * 50,
]

CMDLINE_INPUTS = [
    [], [""], ["", ""], ["a"], ["a", "b"], ["a", "", "b"], ["a b"],
    ["a\tb"], ["a\nb"], ["a\rb"], ["a\x0bb"], ['a"b'], ['a\\"b'],
    ['a\\\\"b'], ['a\\\\\\"b'], ["a\\"], ["a\\\\"], ["a b\\"], ["a b\\\\"],
    ["\\"], ["\\\\"], [" \\"], ['"'], ['""'], ['\\"'], ['"\\'], ['" "'],
    ["a\\b"], ["a\\\\b"], ["a\\\\\\b"], ["\\a b\\c d\\"], ['"a b"'],
    ["C:\\Program Files\\x\\"], ["C:\\dir\\"], ["ab\"c", "\\", "d"],
    ["a\\\\\\b", "de fg", "h"], ["a\\\"b", "c", "d"], ["a\\\\b c", "d", "e"],
    ["\u00e9", "caf\u00e9 au lait"], ["x", " ", "\t", "  "],
    ["%PATH%", "^", "&", "|", "<>"], ["'a b'", "'"],
    ["\\\\server\\share\\", "a \\\\\\\\\""], ["\"\"\"", "\\\\\\\\"],
    ["a" * 1000, "b c" * 300], ["\\" * 100 + " " + "\\" * 99],
    ['\\"' * 200],
]


def c_literal(s):
    """A C string literal for the UTF-8 bytes of s, split every 70 bytes."""
    data = s.encode("utf-8")
    assert b"\0" not in data
    if len(data) > MAX_LITERAL:
        raise SystemExit("input too long for a C literal: %d bytes" % len(data))
    parts, cur, width = [], [], 0
    for byte in data:
        ch = chr(byte)
        if ch == "\\":
            piece = "\\\\"
        elif ch == '"':
            piece = '\\"'
        elif ch == "?":  # no trigraphs with -std=c11
            piece = "\\?"
        elif ch == "\n":
            piece = "\\n"
        elif ch == "\t":
            piece = "\\t"
        elif ch == "\r":
            piece = "\\r"
        elif 0x20 <= byte < 0x7F:
            piece = ch
        else:
            piece = "\\%03o" % byte  # octal: at most 3 digits, never greedy
        cur.append(piece)
        width += len(piece)
        if width >= 70:
            parts.append('"' + "".join(cur) + '"')
            cur, width = [], 0
    if cur or not parts:
        parts.append('"' + "".join(cur) + '"')
    return "\n    ".join(parts)


def wrap(items):
    """Comma-separated items, packed into lines of up to 78 columns."""
    lines, cur = [], "   "
    for item in items:
        if len(cur) + len(item) + 2 > 78 and cur.strip():
            lines.append(cur)
            cur = "   "
        cur += " " + item + ","
    lines.append(cur)
    return lines


class Writer:
    def __init__(self, prefix):
        self.prefix = prefix
        self.lines = [
            "/* Generated by tests/data/gen_shlex_tables.py with Python %s;"
            % platform.python_version(),
            " * do not edit. */",
            "",
        ]
        self.argvs = 0

    def argv(self, words):
        """Emit a NULL-terminated array and return its name."""
        name = "%s_argv_%d" % (self.prefix, self.argvs)
        self.argvs += 1
        self.lines.append("static const char *const %s[] = {" % name)
        self.lines += wrap([c_literal(w) for w in words] + ["NULL"])
        self.lines.append("};")
        return name

    def table(self, decl, rows):
        self.lines.append("%s = {" % decl)
        for row in rows:
            self.lines.append("    {%s}," % ",\n     ".join(row))
        self.lines.append("};")
        self.lines.append("")

    def save(self, filename):
        with open(os.path.join(HERE, filename), "w", encoding="ascii") as f:
            f.write("\n".join(self.lines) + "\n")


def split_error(s):
    try:
        shlex.split(s)
    except ValueError as e:
        return str(e)
    raise SystemExit("expected an error for %r" % s)


def write_shlex():
    w = Writer("shlex")
    w.lines += [
        "struct shlex_split_case {",
        "  const char *in;",
        "  const char *const *argv;",
        "};",
        "struct shlex_split_error {",
        "  const char *in;",
        "  const char *message;",
        "};",
        "struct shlex_quote_case {",
        "  const char *in, *out;",
        "};",
        "struct shlex_join_case {",
        "  const char *const *argv;",
        "  const char *out;",
        "};",
        "",
    ]
    rows = [(c_literal(s), w.argv(shlex.split(s))) for s in SPLIT_INPUTS]
    w.table("static const struct shlex_split_case shlex_split_cases[]", rows)
    rows = [(c_literal(s), c_literal(split_error(s))) for s in SPLIT_ERRORS]
    w.table("static const struct shlex_split_error shlex_split_errors[]", rows)
    rows = [(c_literal(s), c_literal(shlex.quote(s))) for s in QUOTE_INPUTS]
    w.table("static const struct shlex_quote_case shlex_quote_cases[]", rows)
    rows = [(w.argv(a), c_literal(shlex.join(a))) for a in JOIN_INPUTS]
    w.table("static const struct shlex_join_case shlex_join_cases[]", rows)
    w.save("shlex_cases.inc")


def write_cmdline():
    w = Writer("cmdline")
    w.lines += [
        "struct cmdline_case {",
        "  const char *const *argv;",
        "  const char *out;",
        "};",
        "",
    ]
    rows = [(w.argv(a), c_literal(subprocess.list2cmdline(a)))
            for a in CMDLINE_INPUTS]
    w.table("static const struct cmdline_case cmdline_cases[]", rows)
    # Every argv above and in the shlex tables, for the round-trip tests.
    argvs = [shlex.split(s) for s in SPLIT_INPUTS] + JOIN_INPUTS
    argvs += [[s] for s in QUOTE_INPUTS]
    names = [w.argv(a) for a in argvs]
    w.lines.append("static const char *const *const cmdline_more_argvs[] = {")
    w.lines += wrap(names)
    w.lines += ["};", ""]
    w.save("cmdline_cases.inc")


if __name__ == "__main__":
    write_shlex()
    write_cmdline()
