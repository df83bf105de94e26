#!/usr/bin/env python3
"""Tests of the subproc command-line tool: each case runs the real binary.

    python3 tests/cli/test_cli.py --binary PATH CASE...   run the named cases
    python3 tests/cli/test_cli.py --binary PATH           run every case
    python3 tests/cli/test_cli.py --list                  list the cases

A case is a function test_CASE; tests/cli/CMakeLists.txt registers each one
as the ctest test cli.CASE. Exit status: 0 passed, 1 failed, 77 skipped.
Only the standard library is used.
"""

import argparse
import base64
import errno
import json
import os
import random
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

BINARY = None
PY = sys.executable
SKIPPED = 77

RUN_KEYS = {"args", "returncode", "timed_out", "stdout", "stdout_truncated",
            "stderr", "stderr_truncated", "duration_s", "rusage", "cgroup",
            "pty", "pid", "error"}
PIPE_KEYS = {"args", "returncode", "timed_out", "stages", "stdout",
             "stdout_truncated", "stderr", "stderr_truncated", "duration_s",
             "error"}
ERROR_KEYS = {"code", "name", "errno", "step", "path", "message"}


class Skip(Exception):
    pass


def slow(seconds):
    """An upper bound on a duration: seconds times SUBPROC_TEST_SLOWDOWN
    (default 1, as in tests/test.h). A child whose run must not reach the
    bound sleeps for a scaled time too (LONG)."""
    try:
        factor = float(os.environ.get("SUBPROC_TEST_SLOWDOWN", "1"))
    except ValueError:
        factor = 1.0
    return seconds * (factor if factor > 0 else 1.0)


# ---- helpers ---------------------------------------------------------------

# A sleep that a timeout, a kill or a wait delay must cut short.
LONG = "%g" % slow(10)
LONGER = "%g" % slow(30)


def wait_gone(pid, what):
    """Up to slow(5) s for pid to be gone; killed and an error if not."""
    end = time.monotonic() + slow(5)
    while pid_alive(pid):
        if time.monotonic() > end:
            os.kill(pid, signal.SIGKILL)
            raise AssertionError(what)
        time.sleep(0.1)


def sp(*args, timeout=None, **kw):
    """Run the tool with ARGS; stdout and stderr are captured as bytes."""
    kw.setdefault("stdin", subprocess.DEVNULL)
    if "input" in kw:
        del kw["stdin"]
    return subprocess.run([BINARY, *args], capture_output=True,
                          timeout=timeout or slow(60), **kw)


def describe(p):
    return (f"\n  command: {shlex.join(p.args)}\n  status:  {p.returncode}"
            f"\n  stdout:  {p.stdout[:2000]!r}\n  stderr:  {p.stderr[:2000]!r}")


def eq(actual, expected, what="value"):
    if actual != expected:
        raise AssertionError(f"{what}: got {actual!r}, expected {expected!r}")


def expect(p, code=0, out=None, err=None):
    """Check status, and stdout/stderr when given (bytes or str)."""
    def as_bytes(v):
        return v.encode() if isinstance(v, str) else v
    if p.returncode != code:
        raise AssertionError(f"status {p.returncode}, expected {code}"
                             + describe(p))
    if out is not None and p.stdout != as_bytes(out):
        raise AssertionError(f"stdout {p.stdout!r}, expected "
                             f"{as_bytes(out)!r}" + describe(p))
    if err is not None and p.stderr != as_bytes(err):
        raise AssertionError(f"stderr {p.stderr!r}, expected "
                             f"{as_bytes(err)!r}" + describe(p))
    return p


def expect_usage_error(*args):
    """Status 125 and exactly one line on stderr starting with subproc:."""
    p = expect(sp(*args), 125, out=b"")
    lines = p.stderr.decode().splitlines()
    if len(lines) != 1 or not lines[0].startswith("subproc: "):
        raise AssertionError("expected one error line" + describe(p))
    return lines[0]


def load_json(p, keys):
    try:
        d = json.loads(p.stdout)
    except ValueError as e:
        raise AssertionError(f"stdout is not JSON ({e})" + describe(p))
    extra = {k for k in d if k.endswith("_base64")}
    eq(set(d) - extra, keys, "JSON keys")
    return d


def run_json(*args, code=0, **kw):
    """`subproc run --json ARGS`: the parsed object, status checked."""
    p = expect(sp("run", "--json", *args, **kw), code)
    d = load_json(p, RUN_KEYS)
    if d["error"] is not None:
        eq(set(d["error"]), ERROR_KEYS, "error keys")
    return d


def pipe_json(*args, code=0, **kw):
    p = expect(sp("pipe", "--json", *args, **kw), code)
    return load_json(p, PIPE_KEYS)


def py(code, *args):
    """argv running a Python snippet."""
    return [PY, "-c", code, *args]


def decoded_output(d, name):
    """The exact bytes a JSON report carries for stdout or stderr."""
    if d.get(name + "_base64") is not None:
        return base64.b64decode(d[name + "_base64"], validate=True)
    return d[name].encode()


def check_lossless(d, name, raw):
    """d[name] is raw decoded with errors=replace; base64 iff not UTF-8."""
    eq(d[name], raw.decode("utf-8", "replace"), name)
    try:
        raw.decode("utf-8")
        valid = True
    except UnicodeDecodeError:
        valid = False
    eq(name + "_base64" in d, not valid, name + "_base64 present")
    eq(decoded_output(d, name), raw, name + " bytes")


def temp_dir():
    return tempfile.TemporaryDirectory(prefix="subproc-cli-")


def linux_only():
    if not os.path.exists("/proc/self/status"):
        raise Skip("needs /proc")


# ---- top level ---------------------------------------------------------------

def test_help():
    for args in (["--help"], ["-h"], ["help"]):
        p = expect(sp(*args), 0, err=b"")
        text = p.stdout.decode()
        for word in ("Usage: subproc", "run", "pipe", "split", "quote",
                     "cmdline", "124", "125", "126", "127"):
            if word not in text:
                raise AssertionError(f"{word!r} missing" + describe(p))


def test_command_help():
    for cmd in ("run", "pipe", "split", "quote", "cmdline"):
        for args in ([cmd, "--help"], [cmd, "-h"], ["help", cmd]):
            p = expect(sp(*args), 0, err=b"")
            if not p.stdout.startswith(f"Usage: subproc {cmd}".encode()):
                raise AssertionError("bad help" + describe(p))
    text = sp("run", "--help").stdout.decode()
    for option in ("--timeout", "--kill-tree", "--cwd", "--env", "--unset",
                   "--env-clear", "--executable", "--shell", "--stdin",
                   "--input", "--input-file", "--stdout", "--stderr",
                   "--capture", "--check", "--text", "--encoding", "--errors",
                   "--umask", "--user", "--group", "--extra-groups",
                   "--new-session", "--process-group", "--pass-fd",
                   "--keep-fds", "--keep-signals", "--pipesize",
                   "--max-output", "--json", "--wait-delay", "--rlimit",
                   "--pdeathsig", "--no-new-privs", "--foreground", "--pty",
                   "--pty-size", "--pty-raw"):
        if option not in text:
            raise AssertionError(f"run --help does not mention {option}")


def test_version():
    expect(sp("--version"), 0, out="subproc 0.1.0\n", err=b"")
    expect(sp("-V"), 0, out="subproc 0.1.0\n", err=b"")


def test_no_command():
    p = expect(sp(), 125, out=b"")
    if b"Usage: subproc" not in p.stderr:
        raise AssertionError("no usage on stderr" + describe(p))


def test_unknown_command():
    eq(expect_usage_error("frobnicate"),
       "subproc: unknown command 'frobnicate' (see 'subproc --help')",
       "message")
    expect_usage_error("--frobnicate")
    expect_usage_error("help", "frobnicate")


# ---- run: status ---------------------------------------------------------------

def test_run_exit_status():
    expect(sp("run", "true"), 0, out=b"", err=b"")
    expect(sp("run", "false"), 1, out=b"", err=b"")
    for code in (2, 3, 100, 123, 124, 125, 126, 127, 255):
        expect(sp("run", "--", "sh", "-c", f"exit {code}"), code, err=b"")


def test_run_stdio_inherited():
    expect(sp("run", "--", "sh", "-c", "echo out; echo err >&2"), 0,
           out="out\n", err="err\n")
    expect(sp("run", "cat", input=b"fed through\n"), 0, out="fed through\n")


def test_run_options_stop_at_program():
    """getopt stops at PROGRAM: its own options pass through untouched."""
    show = "import sys; print(sys.argv[1:])"
    expect(sp("run", PY, "-c", show, "-l", "--json", "--timeout", "x"), 0,
           out="['-l', '--json', '--timeout', 'x']\n", err=b"")
    expect(sp("run", "--", PY, "-c", show, "--"), 0, out="['--']\n")
    expect(sp("run", "echo", "-n", "hi"), 0, out="hi")


def test_run_signal_status():
    expect(sp("run", "--", "sh", "-c", "kill -TERM $$"), 128 + signal.SIGTERM)
    expect(sp("run", "--", "sh", "-c", "kill -KILL $$"), 128 + signal.SIGKILL)
    d = run_json("--", "sh", "-c", "kill -INT $$", code=128 + signal.SIGINT)
    eq(d["returncode"], -signal.SIGINT, "returncode")
    eq(d["error"], None, "error")


def test_run_not_found():
    expect(sp("run", "subproc-no-such-program"), 127, out=b"",
           err="subproc: cannot execute 'subproc-no-such-program': "
               "No such file or directory\n")
    expect(sp("run", "/nonexistent/dir/prog"), 127, out=b"",
           err="subproc: cannot execute '/nonexistent/dir/prog': "
               "No such file or directory\n")


def test_run_not_executable():
    with temp_dir() as d:
        path = os.path.join(d, "script")
        with open(path, "w") as f:
            f.write("#!/bin/sh\necho hi\n")
        os.chmod(path, 0o644)  # no x bit: EACCES, even for root
        expect(sp("run", path), 126, out=b"",
               err=f"subproc: cannot execute '{path}': Permission denied\n")
        expect(sp("run", d), 126, out=b"")


def test_run_usage_errors():
    cases = [
        ["run"],
        ["run", "--"],
        ["run", "--json"],
        ["run", "--shell"],
        ["run", "--no-such-option", "true"],
        ["run", "-Z", "true"],
        ["run", "--json=1", "true"],
        ["run", "--timeout"],
        ["run", "--timeout", "abc", "true"],
        ["run", "--timeout", "-1", "true"],
        ["run", "--timeout", "nan", "true"],
        ["run", "--timeout", "inf", "true"],
        ["run", "--timeout", "5x", "true"],
        ["run", "--timeout", "", "true"],
        ["run", "--wait-delay", "x", "true"],
        ["run", "--umask", "999", "true"],
        ["run", "--umask", "08", "true"],
        ["run", "--umask", "-1", "true"],
        ["run", "--max-output", "-5", "true"],
        ["run", "--max-output", "0", "true"],
        ["run", "--max-output", "10X", "true"],
        ["run", "--max-output", "99999999999999999999", "true"],
        ["run", "--memory-max", "0", "true"],
        ["run", "--memory-max", "10X", "true"],
        ["run", "--memory-max", "-1", "true"],
        ["run", "--pids-max", "0", "true"],
        ["run", "--pids-max", "abc", "true"],
        ["run", "--cpu-max", "0.001", "true"],
        ["run", "--cpu-max", "abc", "true"],
        ["run", "--cpu-max", "nan", "true"],
        ["run", "--cgroup"],
        ["run", "--pass-fd", "x", "true"],
        ["run", "--pass-fd", "-1", "true"],
        ["run", "--process-group", "x", "true"],
        ["run", "--process-group", "-2", "true"],
        ["run", "--pipesize", "-1", "true"],
        ["run", "--pipesize", "1k", "true"],
        ["run", "--env", "NOEQUALS", "true"],
        ["run", "--env", "=value", "true"],
        ["run", "--unset", "A=B", "true"],
        ["run", "--unset", "", "true"],
        ["run", "--extra-groups", "a,,b", "true"],
        ["run", "--input", "x", "--input-file", "/dev/null", "cat"],
        ["run", "--input", "x", "--stdin", "null", "cat"],
        ["run", "--stdout", "", "true"],
    ]
    for args in cases:
        line = expect_usage_error(*args)
        if not line.startswith("subproc: run: "):
            raise AssertionError(f"{args}: {line!r}")
    eq(expect_usage_error("run", "--timeout", "abc", "true"),
       "subproc: run: invalid value 'abc' for --timeout (expected seconds "
       ">= 0, e.g. 1.5, 2m, 1h) (see 'subproc run --help')", "message")
    eq(expect_usage_error("run", "--bogus"),
       "subproc: run: invalid option '--bogus' (see 'subproc run --help')",
       "message")
    eq(expect_usage_error("run", "--e", "X=1", "true"),
       "subproc: run: option '--e' is ambiguous (see 'subproc run --help')",
       "message")
    expect(sp("run", "--time", "5", "--max-out", "3", "--capture", "--",
              "echo", "abbreviated"), 0, out="abb")
    eq(expect_usage_error("run", "--cwd"),
       "subproc: run: option '--cwd' needs a value "
       "(see 'subproc run --help')", "message")


def test_run_library_rejects_options():
    """Option values only the library can judge still give 125."""
    expect_one_line(sp("run", "--encoding", "no-such-encoding-xyz",
                       "--capture", "true"), 125)
    expect_one_line(sp("run", "--errors", "no-such-mode", "--capture",
                       "true"), 125)
    expect_one_line(sp("run", "--user", "subproc-no-such-user", "true"), 125)
    expect_one_line(sp("run", "--group", "subproc-no-such-group", "true"),
                    125)


def expect_one_line(p, code):
    expect(p, code, out=b"")
    lines = p.stderr.decode(errors="replace").splitlines()
    if len(lines) != 1 or not lines[0].startswith("subproc: "):
        raise AssertionError("expected one error line" + describe(p))
    return lines[0]


# ---- run: timeout and kill-tree ---------------------------------------------

def test_run_timeout():
    start = time.monotonic()
    expect(sp("run", "--timeout", "0.5", "--", "sleep", LONG), 124,
           out=b"", err=b"")
    elapsed = time.monotonic() - start
    if elapsed > slow(4):
        raise AssertionError(f"timeout took {elapsed:.1f}s")
    expect(sp("run", "--timeout", "0.01m", "--", "sleep", LONG), 124)
    expect(sp("run", "--timeout", "5", "--", "sh", "-c", "exit 4"), 4)
    expect(sp("run", "--timeout", "0", "--", "true"), 0)
    expect(sp("run", "--timeout", "1h", "--", "true"), 0)


def test_run_timeout_json():
    start = time.monotonic()
    d = run_json("--capture", "--timeout", "0.5", "--", "sh", "-c",
                 "echo partial; echo err >&2; sleep " + LONG, code=124)
    if time.monotonic() - start > slow(4):
        raise AssertionError("timeout too slow")
    eq(d["timed_out"], True, "timed_out")
    eq(d["stdout"], "partial\n", "stdout")
    eq(d["stderr"], "err\n", "stderr")
    eq(d["error"]["name"], "SUBPROC_ETIMEDOUT", "error.name")
    eq(d["error"]["code"], -30002, "error.code")
    if d["returncode"] is not None and d["returncode"] >= 0:
        raise AssertionError(f"returncode {d['returncode']}")
    if not 0.4 < d["duration_s"] < slow(4):
        raise AssertionError(f"duration {d['duration_s']}")


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return True


def test_run_kill_tree():
    start = time.monotonic()
    d = run_json("--capture", "--kill-tree", "--timeout", "0.5", "--", "sh",
                 "-c", "sleep " + LONGER + " & echo $!; wait", code=124)
    if time.monotonic() - start > slow(10):
        raise AssertionError("the grandchild kept the tool waiting")
    wait_gone(int(d["stdout"]), "the grandchild survived --kill-tree")


def test_run_wait_delay():
    """A daemonised grandchild holding stdout does not keep us waiting."""
    start = time.monotonic()
    d = run_json("--capture", "--wait-delay", "0.3", "--", "sh", "-c",
                 "echo hi; sleep " + LONG + " & exit 0")
    if time.monotonic() - start > slow(4):
        raise AssertionError("--wait-delay did not stop the read")
    eq(d["returncode"], 0, "returncode")
    eq(d["stdout"], "hi\n", "stdout")


# ---- run: JSON ----------------------------------------------------------------

def test_run_json_fields():
    d = run_json("--capture", "--", "sh", "-c",
                 "printf out; printf err >&2; exit 5", code=5)
    eq(d["args"], ["sh", "-c", "printf out; printf err >&2; exit 5"], "args")
    eq(d["returncode"], 5, "returncode")
    eq(d["timed_out"], False, "timed_out")
    eq(d["stdout"], "out", "stdout")
    eq(d["stderr"], "err", "stderr")
    eq(d["stdout_truncated"], False, "stdout_truncated")
    eq(d["stderr_truncated"], False, "stderr_truncated")
    eq(d["error"], None, "error")
    if not isinstance(d["duration_s"], float) or not 0 <= d["duration_s"] < slow(30):
        raise AssertionError(f"duration_s {d['duration_s']!r}")
    eq(set(d["rusage"]), {"user_s", "system_s", "max_rss_kb"}, "rusage")
    for k in ("user_s", "system_s"):
        if not isinstance(d["rusage"][k], float) or d["rusage"][k] < 0:
            raise AssertionError(f"rusage.{k} {d['rusage'][k]!r}")
    if not isinstance(d["rusage"]["max_rss_kb"], int) or \
            d["rusage"]["max_rss_kb"] <= 0:
        raise AssertionError(f"max_rss_kb {d['rusage']['max_rss_kb']!r}")
    if not isinstance(d["pid"], int) or d["pid"] <= 0:
        raise AssertionError(f"pid {d['pid']!r}")


def test_run_json_rusage():
    burn = "import time\nt=time.process_time()\n" \
           "while time.process_time()-t<0.3: pass"
    d = run_json("--", *py(burn))
    if d["rusage"]["user_s"] + d["rusage"]["system_s"] < 0.2:
        raise AssertionError(f"rusage {d['rusage']}")
    grow = "b=bytearray(64<<20)\nfor i in range(0,len(b),4096): b[i]=1"
    d = run_json("--", *py(grow))
    if d["rusage"]["max_rss_kb"] < 60 * 1024:
        raise AssertionError(f"max_rss_kb {d['rusage']['max_rss_kb']}")


def test_run_json_not_captured():
    p = expect(sp("run", "--json", "--", "sh", "-c", "exit 0"), 0, err=b"")
    d = load_json(p, RUN_KEYS)
    eq(d["stdout"], None, "stdout")
    eq(d["stderr"], None, "stderr")
    eq(d["returncode"], 0, "returncode")
    # The child's own output comes first, the JSON line last.
    p = expect(sp("run", "--json", "--", "echo", "hello"), 0)
    first, rest = p.stdout.split(b"\n", 1)
    eq(first, b"hello", "child output")
    eq(json.loads(rest)["stdout"], None, "stdout")


def test_run_json_spawn_error():
    p = expect(sp("run", "--json", "subproc-no-such-program"), 127,
               err="subproc: cannot execute 'subproc-no-such-program': "
                   "No such file or directory\n")
    d = load_json(p, RUN_KEYS)
    eq(d["args"], ["subproc-no-such-program"], "args")
    eq(d["returncode"], None, "returncode")
    eq(d["stdout"], None, "stdout")
    eq(d["duration_s"], None, "duration_s")
    eq(d["rusage"], None, "rusage")
    eq(d["pid"], None, "pid")
    e = d["error"]
    eq(e["name"], "ENOENT", "error.name")
    eq(e["code"], -errno.ENOENT, "error.code")
    eq(e["errno"], errno.ENOENT, "error.errno")
    eq(e["step"], "exec", "error.step")
    eq(e["path"], "subproc-no-such-program", "error.path")
    if not e["message"]:
        raise AssertionError("empty error.message")


def test_run_json_escapes():
    """Control characters, quotes and backslashes; valid UTF-8 verbatim."""
    raw = bytes(range(0, 0x80)) + "é 日本 🎉 \u2028".encode()
    code = "import sys; sys.stdout.buffer.write(bytes.fromhex(sys.argv[1]))"
    p = expect(sp("run", "--json", "--capture", "--", *py(code, raw.hex())),
               0)
    d = load_json(p, RUN_KEYS)
    check_lossless(d, "stdout", raw)
    eq(d["stderr"], "", "stderr")
    if "é 日本 🎉".encode() not in p.stdout:
        raise AssertionError("valid UTF-8 was escaped")
    if b"\x00" in p.stdout or b"\x1f" in p.stdout:
        raise AssertionError("raw control characters in JSON")


def test_run_json_invalid_utf8():
    raw_out = b"ok\xff\xfe\xe2\x82 \xed\xa0\x80 \xc0\xaf end\xf0\x9f"
    raw_err = b"fine \xe2\x82\xac"
    code = ("import sys; sys.stdout.buffer.write(bytes.fromhex(sys.argv[1]));"
            "sys.stderr.buffer.write(bytes.fromhex(sys.argv[2]))")
    d = run_json("--capture", "--", *py(code, raw_out.hex(), raw_err.hex()))
    check_lossless(d, "stdout", raw_out)
    check_lossless(d, "stderr", raw_err)
    if "\ufffd" not in d["stdout"]:
        raise AssertionError("no U+FFFD")
    eq("stderr_base64" in d, False, "stderr_base64 present")


def test_run_json_args_not_utf8():
    d = run_json("--", "true", "caf\xe9".encode("latin-1").decode(
        "utf-8", "surrogateescape"))
    eq(d["args"], ["true", "caf\ufffd"], "args")


RANDOM_WRITER = r"""
import random, sys
def gen(seed):
    r = random.Random(seed)
    pool = [b"\x00", b"\x1f", b"\x7f", b"\"", b"\\", b"a", b"\n", b"\r",
            b"\x80", b"\xbf", b"\xc0", b"\xc2", b"\xdf", b"\xe0", b"\xed",
            b"\xef", b"\xf0", b"\xf4", b"\xf5", b"\xff", b"\xa0", b"\x9f",
            "é".encode(), "€".encode(), "🎉".encode(), "\ufffd".encode()]
    def one():
        n = r.choice([0, 1, 2, 7, 50, 500, 5000])
        if r.random() < 0.3:
            return bytes(r.randrange(256) for _ in range(n))
        return b"".join(r.choice(pool) for _ in range(n))
    return one(), one()
if __name__ == "__main__":
    out, err = gen(int(sys.argv[1]))
    sys.stdout.buffer.write(out); sys.stdout.flush()
    sys.stderr.buffer.write(err)
"""


def test_run_json_fuzz():
    """Random bytes from a child: the JSON always parses, and the text and
    base64 fields give back exactly the bytes written."""
    scope = {"__name__": "gen"}
    exec(RANDOM_WRITER, scope)
    seed0 = int(os.environ.get("SUBPROC_CLI_SEED", "20240601"))
    for seed in range(seed0, seed0 + 150):
        out, err = scope["gen"](seed)
        p = sp("run", "--json", "--capture", "--",
               *py(RANDOM_WRITER, str(seed)))
        try:
            expect(p, 0)
            d = load_json(p, RUN_KEYS)
            check_lossless(d, "stdout", out)
            check_lossless(d, "stderr", err)
        except AssertionError as e:
            raise AssertionError(f"seed {seed}: {e}")


def test_run_json_large_binary():
    code = ("import sys, random; r = random.Random(7); "
            "sys.stdout.buffer.write(bytes(r.randrange(256) "
            "for _ in range(1 << 20)))")
    r = random.Random(7)
    raw = bytes(r.randrange(256) for _ in range(1 << 20))
    d = run_json("--capture", "--", *py(code))
    check_lossless(d, "stdout", raw)


# ---- run: containment in a cgroup v2 --------------------------------------

def own_cgroup_dir():
    """This process's cgroup v2 directory, from mountinfo and
    /proc/self/cgroup, or None."""
    mnt = root = None
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                left, _, right = line.partition(" - ")
                if right.split(" ")[0] == "cgroup2":
                    root, mnt = left.split(" ")[3:5]
                    break
        with open("/proc/self/cgroup") as f:
            own = [l[3:].strip() for l in f if l.startswith("0::")]
    except OSError:
        return None
    if mnt is None or not own:
        return None
    path = own[0]
    if root != "/" and path.startswith(root):
        path = path[len(root):]
    return mnt + ("" if path == "/" else path)


class TestCgroup:
    """A parent cgroup of the test's own, removed with all it holds."""
    def __enter__(self):
        own = own_cgroup_dir()
        if own is None:
            raise Skip("no cgroup v2 hierarchy in /proc/self/mountinfo")
        self.path = f"{own}/subproc-cli-test-{os.getpid()}"
        try:
            os.mkdir(self.path)
        except OSError as e:
            raise Skip(f"no writable cgroup v2 hierarchy: {e}")
        return self

    def children(self):
        return sorted(e.name for e in os.scandir(self.path) if e.is_dir())

    def __exit__(self, *exc):
        for name in self.children() + [""]:
            d = os.path.join(self.path, name) if name else self.path
            try:
                with open(os.path.join(d, "cgroup.kill"), "w") as f:
                    f.write("1")
            except OSError:
                pass
            for _ in range(200):
                try:
                    os.rmdir(d)
                    break
                except OSError:
                    time.sleep(0.01)


def need_clone_into(path):
    """The clone3 trampoline is x86_64 only: elsewhere starting a child
    inside a cgroup is -ENOSYS, as documented (only --cgroup-move-fallback
    contains there). An x86_64 build never skips."""
    with open(BINARY, "rb") as f:  # ELF e_machine 62: x86_64
        if f.read(20)[18:20] == b"\x3e\x00":
            return
    p = sp("run", "--json", "--cgroup", path, "--", "true")
    if p.returncode == 125 and b'"ENOSYS"' in p.stdout:
        raise Skip("no clone3 trampoline for this build")


def test_run_cgroup_parent():
    """A fresh cgroup: a grandchild that left the session dies with the
    timeout, the statistics are in the JSON, the cgroup is removed."""
    with TestCgroup() as cg:
        need_clone_into(cg.path)
        d = run_json("--capture", "--cgroup-parent", cg.path, "--timeout",
                     "0.5", "--", "sh", "-c",
                     "setsid sh -c 'sleep " + LONGER + " >/dev/null 2>&1 "
                     "</dev/null & echo $!'; cat /proc/self/cgroup; sleep "
                     + LONG, code=124)
        lines = d["stdout"].splitlines()
        wait_gone(int(lines[0]), "the escaped grandchild survived")
        if not any(l.startswith("0::") and
                   f"/subproc-cli-test-{os.getpid()}/subproc-" in l
                   for l in lines):
            raise AssertionError(f"not in a fresh cgroup: {lines}")
        eq(set(d["cgroup"]), {"memory_peak", "usage_usec", "user_usec",
                              "system_usec"}, "cgroup keys")
        if not isinstance(d["cgroup"]["usage_usec"], int):
            raise AssertionError(f"cgroup {d['cgroup']}")
        eq(cg.children(), [], "cgroups left")
        d = run_json("--capture", "--", "true")
        eq(d["cgroup"], None, "cgroup without one")


def test_run_cgroup_given():
    with TestCgroup() as cg:
        given = os.path.join(cg.path, "given")
        os.mkdir(given)
        need_clone_into(given)
        d = run_json("--capture", "--cgroup", given, "--", "cat",
                     "/proc/self/cgroup")
        if not d["stdout"].rstrip("\n").endswith(
                f"/subproc-cli-test-{os.getpid()}/given"):
            raise AssertionError(f"stdout {d['stdout']!r}")
        eq(d["cgroup"], None, "statistics of a given cgroup")
        eq(cg.children(), ["given"], "the given cgroup stays")


def test_run_cgroup_errors():
    line = expect_one_line(sp("run", "--cgroup", "/tmp", "true"), 125)
    if "not a cgroup v2 directory" not in line:
        raise AssertionError(line)
    line = expect_one_line(sp("run", "--pids-max", "5", "true"), 125)
    if "cgroup_parent" not in line:
        raise AssertionError(line)
    d = run_json("--cgroup", "/nonexistent-cgroup", "--", "true", code=125)
    eq(d["error"]["step"], "cgroup", "error.step")
    eq(d["error"]["path"], "/nonexistent-cgroup", "error.path")
    with TestCgroup() as cg:
        ctl = open(os.path.join(cg.path, "cgroup.controllers")).read().split()
        if "pids" not in ctl:
            line = expect_one_line(sp("run", "--cgroup-parent", cg.path,
                                      "--pids-max", "5", "true"), 125)
            if cg.path + "/cgroup.subtree_control" not in line:
                raise AssertionError(line)
        eq(cg.children(), [], "cgroups left")


# ---- run: --check, --capture, --max-output ---------------------------------

def test_run_check():
    expect(sp("run", "--check", "true"), 0, out=b"", err=b"")
    p = expect(sp("run", "--check", "--", "sh", "-c", "exit 3"), 3, out=b"")
    if p.stderr.count(b"\n") != 1 or not p.stderr.startswith(b"subproc: "):
        raise AssertionError("expected one error line" + describe(p))
    expect(sp("run", "--", "sh", "-c", "exit 3"), 3, err=b"")
    d = run_json("--check", "--capture", "--", "sh", "-c", "echo o; exit 2",
                 code=2)
    eq(d["error"]["name"], "SUBPROC_ECALLED", "error.name")
    eq(d["error"]["code"], -30003, "error.code")
    eq(d["returncode"], 2, "returncode")
    eq(d["stdout"], "o\n", "stdout")
    d = run_json("--check", "--", "sh", "-c", "kill -KILL $$", code=137)
    eq(d["error"]["name"], "SUBPROC_ECALLED", "error.name")


def test_run_capture():
    expect(sp("run", "--capture", "--", "sh", "-c",
              "echo o; echo e >&2; exit 6"), 6, out="o\n", err="e\n")
    d = run_json("--capture", "--", "true")
    eq(d["stdout"], "", "stdout")
    eq(d["stderr"], "", "stderr")


def test_run_max_output():
    gen = "import sys; sys.stdout.write('x' * 100000); " \
          "sys.stderr.write('y' * 5)"
    d = run_json("--capture", "--max-output", "10", "--", *py(gen))
    eq(d["stdout"], "x" * 10, "stdout")
    eq(d["stdout_truncated"], True, "stdout_truncated")
    eq(d["stderr"], "yyyyy", "stderr")
    eq(d["stderr_truncated"], False, "stderr_truncated")
    eq(d["returncode"], 0, "returncode")
    d = run_json("--capture", "--max-output", "1K", "--", *py(gen))
    eq(len(d["stdout"]), 1024, "1K")
    d = run_json("--capture", "--max-output", "1m", "--", *py(gen))
    eq(len(d["stdout"]), 100000, "1m")
    eq(d["stdout_truncated"], False, "stdout_truncated")
    expect(sp("run", "--capture", "--max-output", "3", "--", *py(gen)), 0,
           out="xxx", err="yyy")


# ---- run: input ---------------------------------------------------------------

def test_run_input():
    expect(sp("run", "--input", "hello\n", "cat"), 0, out="hello\n")
    expect(sp("run", "--input", "", "cat"), 0, out=b"")
    with temp_dir() as d:
        path = os.path.join(d, "in")
        data = bytes(range(256)) * 1000
        with open(path, "wb") as f:
            f.write(data)
        expect(sp("run", "--input-file", path, "cat"), 0, out=data)
        expect(sp("run", "--input-file", "-", "cat", input=b"from stdin"), 0,
               out=b"from stdin")
        p = expect(sp("run", "--input-file", os.path.join(d, "missing"),
                      "cat"), 125, out=b"")
        eq(p.stderr.decode(), f"subproc: cannot read "
           f"'{os.path.join(d, 'missing')}': No such file or directory\n",
           "stderr")
    d = run_json("--capture", "--input", "abc", "--", "wc", "-c")
    eq(d["stdout"].strip(), "3", "wc -c")


# ---- run: environment ---------------------------------------------------------

def env_of(*args, **kw):
    """The child's environment as a dict, read through /usr/bin/env -0."""
    envprog = shutil.which("env") or "/usr/bin/env"
    p = expect(sp("run", *args, "--", envprog, "-0", **kw), 0, err=b"")
    pairs = [x.split("=", 1) for x in p.stdout.decode().split("\0") if x]
    return dict(pairs)


def test_run_env():
    base = dict(os.environ, KEEP="k", DROP="d", OVER="old")
    env = env_of("--env", "NEW=1", "--env", "OVER=new", env=base)
    eq(env["NEW"], "1", "NEW")
    eq(env["OVER"], "new", "OVER")
    eq(env["KEEP"], "k", "KEEP")
    env = env_of("--unset", "DROP", "-u", "KEEP", env=base)
    eq("DROP" in env or "KEEP" in env, False, "unset")
    eq(env["OVER"], "old", "OVER")
    env = env_of("--env", "A=1", "--env", "A=2", env=base)
    eq(env["A"], "2", "last --env wins")
    env = env_of("--env", "A=1", "--unset", "A", env=base)
    eq("A" in env, False, "--unset after --env")
    env = env_of("--env", "EQ=a=b=", "--env", "EMPTY=", env=base)
    eq(env["EQ"], "a=b=", "value with =")
    eq(env["EMPTY"], "", "empty value")


def test_run_env_clear():
    eq(env_of("--env-clear"), {}, "--env-clear")
    eq(env_of("-i", "--env", "A=1", "--env", "B=2"), {"A": "1", "B": "2"},
       "-i --env")
    # Order does not matter: --env-clear empties the base, like env -i.
    eq(env_of("--env", "A=1", "--env-clear"), {"A": "1"}, "--env first")


# ---- run: process attributes ---------------------------------------------------

def test_run_cwd():
    with temp_dir() as d:
        real = os.path.realpath(d)
        expect(sp("run", "--cwd", d, "pwd", "-P"), 0, out=real + "\n")
        expect(sp("run", "-C", d, "pwd", "-P"), 0, out=real + "\n")
        missing = os.path.join(d, "missing")
        p = expect(sp("run", "--cwd", missing, "true"), 125, out=b"")
        eq(p.stderr.decode(), f"subproc: cannot change directory to "
           f"'{missing}': No such file or directory\n", "stderr")


def test_run_new_session():
    code = "import os; print(os.getsid(0) == os.getpid())"
    expect(sp("run", "--new-session", "--", *py(code)), 0, out="True\n")
    expect(sp("run", "--", *py(code), start_new_session=True), 0,
           out="False\n")


def test_run_process_group():
    code = "import os; print(os.getpgrp() == os.getpid())"
    expect(sp("run", "--process-group", "0", "--", *py(code)), 0,
           out="True\n")
    expect(sp("run", "--", *py(code)), 0, out="False\n")
    # Joining an existing group of the same session.
    p = subprocess.Popen(["sleep", "30"], preexec_fn=os.setpgrp)
    try:
        expect(sp("run", "--process-group", str(p.pid), "--", PY, "-c",
                  f"import os; print(os.getpgrp() == {p.pid})"), 0,
               out="True\n")
    finally:
        p.kill()
        p.wait()


def test_run_umask():
    expect(sp("run", "--umask", "027", "--", "sh", "-c", "umask"), 0,
           out="0027\n")
    expect(sp("run", "--umask", "0", "--", "sh", "-c", "umask"), 0,
           out="0000\n")
    with temp_dir() as d:
        expect(sp("run", "--umask", "077", "--cwd", d, "--", "touch", "f"), 0)
        eq(stat.S_IMODE(os.stat(os.path.join(d, "f")).st_mode), 0o600,
           "mode of a file the child creates")


def test_run_user_group():
    uid, gid = os.getuid(), os.getgid()
    expect(sp("run", "--user", str(uid), "--", "id", "-u"), 0,
           out=f"{uid}\n")
    expect(sp("run", "--group", str(gid), "--", "id", "-g"), 0,
           out=f"{gid}\n")
    if os.geteuid() != 0:
        raise Skip("the rest needs root")
    expect(sp("run", "--user", "nobody", "--", "id", "-un"), 0,
           out="nobody\n")
    expect(sp("run", "--user", "65534", "--group", "65534", "--", "id", "-u"),
           0, out="65534\n")
    expect(sp("run", "--extra-groups", "1,2", "--", "id", "-G"), 0,
           out=f"{gid} 1 2\n")
    expect(sp("run", "--extra-groups", "", "--", "id", "-G"), 0,
           out=f"{gid}\n")


def fd_probe(fd):
    return py(f"import os\ntry:\n os.fstat({fd}); print('open')\n"
              f"except OSError: print('closed')")


def test_run_pass_fd():
    r, w = os.pipe()
    try:
        os.set_inheritable(r, True)
        expect(sp("run", "--pass-fd", str(r), "--", *fd_probe(r),
                  pass_fds=[r]), 0, out="open\n")
        expect(sp("run", "--", *fd_probe(r), pass_fds=[r]), 0,
               out="closed\n")
        expect(sp("run", "--pass-fd", str(r), "--pass-fd", str(w), "--",
                  *py(f"import os; os.write({w}, b'via fd'); "
                      f"print(os.read({r}, 6).decode())"),
                  pass_fds=[r, w]), 0, out="via fd\n")
    finally:
        os.close(r)
        os.close(w)


def test_run_keep_fds():
    r, w = os.pipe()
    try:
        expect(sp("run", "--keep-fds", "--", *fd_probe(r), pass_fds=[r]), 0,
               out="open\n")
    finally:
        os.close(r)
        os.close(w)


def sigpipe_ignored_in_child(*args):
    linux_only()

    def ignore_sigpipe():
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    p = expect(sp("run", *args, "--", "grep", "^SigIgn:", "/proc/self/status",
                  preexec_fn=ignore_sigpipe, restore_signals=False), 0)
    mask = int(p.stdout.split()[1], 16)
    return bool(mask & (1 << (signal.SIGPIPE - 1)))


def test_run_keep_signals():
    eq(sigpipe_ignored_in_child(), False, "SIGPIPE restored by default")
    eq(sigpipe_ignored_in_child("--keep-signals"), True,
       "SIGPIPE kept ignored")


def test_run_pipesize():
    linux_only()
    code = "import fcntl; print(fcntl.fcntl(1, 1032))"  # F_GETPIPE_SZ
    d = run_json("--capture", "--pipesize", "131072", "--", *py(code))
    eq(d["stdout"], "131072\n", "pipe size")
    d = run_json("--capture", "--pipesize", "0", "--", *py(code))
    eq(d["returncode"], 0, "returncode")


def forwarded(extra, sig, code):
    """Send SIG to the tool running `sh -c 'echo $$; sleep 30'`: the child
    (and with a group, the whole group) must get it too."""
    p = subprocess.Popen([BINARY, "run", *extra, "--", "sh", "-c",
                          "echo $$; exec sleep " + LONGER],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    child = int(p.stdout.readline())
    start = time.monotonic()
    p.send_signal(sig)
    p.wait(timeout=slow(10))
    if time.monotonic() - start > slow(5):
        raise AssertionError("the child did not get the signal")
    eq(p.returncode, code, "exit status")
    wait_gone(child, f"child {child} still alive")


def test_run_forwards_signals():
    linux_only()
    forwarded([], signal.SIGTERM, 128 + signal.SIGTERM)
    forwarded([], signal.SIGHUP, 128 + signal.SIGHUP)
    forwarded(["--new-session"], signal.SIGINT, 128 + signal.SIGINT)
    forwarded(["--kill-tree"], signal.SIGTERM, 128 + signal.SIGTERM)


# ---- run: program selection ----------------------------------------------------

def test_run_shell():
    expect(sp("run", "--shell", "echo $((6 * 7)) | tr 4 X"), 0, out="X2\n")
    expect(sp("run", "--shell", "--", "echo $0-$1", "a", "b"), 0,
           out="a-b\n")
    expect(sp("run", "--shell", "exit 7"), 7)
    expect(sp("run", "--shell", "kill -TERM $$"), 128 + signal.SIGTERM)
    d = run_json("--shell", "--capture", "echo hi")
    eq(d["stdout"], "hi\n", "stdout")


def test_run_executable():
    expect(sp("run", "--executable", "/bin/sh", "--", "myname", "-c",
              "echo $0"), 0, out="myname\n")
    expect(sp("run", "--executable", "/bin/sh", "--shell", "echo via $0"), 0,
           out="via /bin/sh\n")
    p = expect(sp("run", "--executable", "/nonexistent/prog", "x"), 127,
               out=b"")
    if not p.stderr.startswith(b"subproc: cannot execute '"):
        raise AssertionError(describe(p))


# ---- run: redirections ----------------------------------------------------------

def test_run_redirect_files():
    with temp_dir() as d:
        out, err, inp = (os.path.join(d, n) for n in ("out", "err", "in"))
        with open(out, "w") as f:
            f.write("old content that must be truncated\n")
        expect(sp("run", "--stdout", out, "--stderr", err, "--", "sh", "-c",
                  "echo o; echo e >&2"), 0, out=b"", err=b"")
        eq(open(out).read(), "o\n", "stdout file")
        eq(open(err).read(), "e\n", "stderr file")
        with open(inp, "wb") as f:
            f.write(b"line1\nline2\n")
        expect(sp("run", "--stdin", inp, "cat"), 0, out="line1\nline2\n")
        p = expect(sp("run", "--stdout", os.path.join(d, "no", "such"),
                      "true"), 125, out=b"")
        if not p.stderr.startswith(b"subproc: ") or \
                p.stderr.count(b"\n") != 1:
            raise AssertionError(describe(p))
        expect(sp("run", "--stdin", os.path.join(d, "missing"), "cat"), 125,
               out=b"")


def test_run_redirect_null():
    expect(sp("run", "--stdout", "null", "--", "echo", "x"), 0, out=b"",
           err=b"")
    expect(sp("run", "--stderr", "null", "--", "sh", "-c", "echo x >&2"), 0,
           out=b"", err=b"")
    expect(sp("run", "--stdin", "null", "cat", input=b"not read"), 0,
           out=b"")
    d = run_json("--capture", "--stderr", "null", "--", "sh", "-c",
                 "echo o; echo e >&2")
    eq(d["stdout"], "o\n", "stdout")
    eq(d["stderr"], None, "stderr")


def test_run_stderr_stdout():
    expect(sp("run", "--stderr", "stdout", "--", "sh", "-c",
              "echo a; echo b >&2"), 0, out="a\nb\n", err=b"")
    d = run_json("--capture", "--stderr", "stdout", "--", "sh", "-c",
                 "echo a; echo b >&2; echo c")
    eq(d["stdout"], "a\nb\nc\n", "stdout")
    eq(d["stderr"], None, "stderr")
    with temp_dir() as t:
        path = os.path.join(t, "both")
        expect(sp("run", "--stdout", path, "--stderr", "stdout", "--", "sh",
                  "-c", "echo a; echo b >&2"), 0, out=b"", err=b"")
        eq(open(path).read(), "a\nb\n", "file")


# ---- run: text mode -------------------------------------------------------------

def test_run_text():
    d = run_json("--capture", "--text", "--", "printf", "a\\r\\nb\\rc")
    eq(d["stdout"], "a\nb\nc", "universal newlines")
    d = run_json("--capture", "--", "printf", "a\\r\\nb")
    eq(d["stdout"], "a\r\nb", "binary mode keeps CR")
    d = run_json("--capture", "--encoding", "latin-1", "--", "printf",
                 "caf\\351")
    eq(d["stdout"], "café", "latin-1")
    eq("stdout_base64" in d, False, "decoded text is UTF-8")
    d = run_json("--capture", "--encoding", "utf-8", "--errors", "replace",
                 "--", "printf", "a\\377b")
    eq(d["stdout"], "a\ufffdb", "errors=replace")
    d = run_json("--capture", "--errors", "surrogateescape", "--", "printf",
                 "a\\377b")
    check_lossless(d, "stdout", "a\udcffb".encode("utf-8", "surrogatepass"))
    d = run_json("--capture", "--text", "--input", "x\ny\n", "--", "od",
                 "-An", "-c")
    eq(d["stdout"].split(), ["x", "\\n", "y", "\\n"], "input newlines")
    p = expect(sp("run", "--json", "--capture", "--encoding", "utf-8",
                  "--errors", "strict", "--", "printf", "a\\377b"), 125)
    d = load_json(p, RUN_KEYS)
    eq(d["error"]["name"], "SUBPROC_EDECODE", "error.name")


# ---- pipe -----------------------------------------------------------------------

def test_pipe_basic():
    expect(sp("pipe", "--", "printf", "b\\na\\n", "|", "sort"), 0,
           out="a\nb\n", err=b"")
    expect(sp("pipe", "printf", "b\\na\\nc\\n", "|", "sort", "-r", "|",
              "head", "-n", "2"), 0, out="c\nb\n")
    expect(sp("pipe", "--", "echo", "single"), 0, out="single\n")


def test_pipe_pipefail():
    expect(sp("pipe", "--", "sh", "-c", "exit 3", "|", "cat"), 3)
    expect(sp("pipe", "--", "true", "|", "sh", "-c", "exit 2"), 2)
    expect(sp("pipe", "--", "sh", "-c", "exit 3", "|", "sh", "-c",
              "cat; exit 4"), 4)
    expect(sp("pipe", "--", "sh", "-c", "exit 3", "|", "true", "|", "true"),
           3)
    expect(sp("pipe", "--", "sh", "-c", "kill -KILL $$", "|", "cat"),
           128 + signal.SIGKILL)


def test_pipe_json():
    d = pipe_json("--capture", "--", "sh", "-c", "echo x; exit 3", "|", "cat",
                  code=3)
    eq(d["args"], [["sh", "-c", "echo x; exit 3"], ["cat"]], "args")
    eq(d["returncode"], 3, "returncode")
    eq(d["timed_out"], False, "timed_out")
    eq([s["returncode"] for s in d["stages"]], [3, 0], "stage statuses")
    eq([s["args"] for s in d["stages"]], d["args"], "stage args")
    eq(d["stdout"], "x\n", "stdout")
    eq(d["error"], None, "error")
    if not 0 <= d["duration_s"] < slow(30):
        raise AssertionError(f"duration_s {d['duration_s']}")
    d = pipe_json("--", "true", "|", "sh", "-c", "exit 5", "|", "true",
                  code=5)
    eq(d["returncode"], 5, "pipefail: the last non-zero status")
    d = pipe_json("--", "sh", "-c", "exit 5", "|", "true", "|", "sh", "-c",
                  "exit 6", code=6)
    eq([s["returncode"] for s in d["stages"]], [5, 0, 6], "statuses")
    eq(d["stdout"], None, "stdout not captured")
    raw = b"\xff\xfe binary"
    d = pipe_json("--capture", "--", *py("import sys; sys.stdout.buffer."
                                         f"write(bytes.fromhex('{raw.hex()}'))"),
                  "|", "cat")
    check_lossless(d, "stdout", raw)


def test_pipe_capture():
    """--capture takes the last stage's stdout and every stage's stderr
    (those not redirected), as Python's run("a | b", shell=True,
    capture_output=True) does."""
    stages = ["sh", "-c", "echo x; echo e1 >&2", "|", "sh", "-c",
              "cat; echo e2 >&2"]
    expect(sp("pipe", "--capture", "--", *stages), 0, out="x\n",
           err="e1\ne2\n")
    d = pipe_json("--capture", "--", *stages)
    eq(d["stdout"], "x\n", "stdout")
    eq(d["stderr"], "e1\ne2\n", "stderr")
    shell = "sh -c 'echo x; echo e1 >&2' | sh -c 'cat; echo e2 >&2'"
    py = subprocess.run(["python3", "-c",
                         "import subprocess, sys; r = subprocess.run("
                         "sys.argv[1], shell=True, capture_output=True); "
                         "print(repr(r.stdout), repr(r.stderr))", shell],
                        capture_output=True, text=True)
    eq(py.stdout, "b'x\\n' b'e1\\ne2\\n'\n", "Python's run of the same")
    d = pipe_json("--capture", "--stderr", "null", "--", *stages)
    eq(d["stdout"], "x\n", "stdout")
    eq(d["stderr"], None, "stderr")
    d = pipe_json("--capture", "--max-output", "2", "--", "echo", "hello",
                  "|", "cat")
    eq(d["stdout"], "he", "stdout")
    eq(d["stdout_truncated"], True, "stdout_truncated")
    d = pipe_json("--capture", "--text", "--", "printf", "a\\r\\nb", "|",
                  "cat")
    eq(d["stdout"], "a\nb", "text mode")


def test_pipe_kill_tree():
    start = time.monotonic()
    d = pipe_json("--capture", "--kill-tree", "--timeout", "0.5", "--", "sh",
                  "-c", "sleep " + LONGER + " & echo $!; wait", "|", "cat",
                  code=124)
    if time.monotonic() - start > slow(10):
        raise AssertionError("the grandchild kept the tool waiting")
    eq(d["timed_out"], True, "timed_out")
    wait_gone(int(d["stdout"]), "the grandchild survived --kill-tree")


def test_pipe_input_and_redirects():
    expect(sp("pipe", "--input", "c\nb\na\n", "--", "sort", "|", "head",
              "-n", "1"), 0, out="a\n")
    with temp_dir() as t:
        path = os.path.join(t, "out")
        expect(sp("pipe", "--stdout", path, "--", "echo", "x", "|", "cat"), 0,
               out=b"")
        eq(open(path).read(), "x\n", "--stdout file")
        inp = os.path.join(t, "in")
        with open(inp, "w") as f:
            f.write("2\n1\n")
        expect(sp("pipe", "--stdin", inp, "--", "sort", "|", "cat"), 0,
               out="1\n2\n")
    expect(sp("pipe", "--stderr", "null", "--", "sh", "-c", "echo e >&2",
              "|", "sh", "-c", "echo f >&2"), 0, err=b"")
    expect(sp("pipe", "--env", "X=42", "--", "sh", "-c", "echo $X", "|",
              "cat"), 0, out="42\n")
    with temp_dir() as t:
        expect(sp("pipe", "--cwd", t, "--", "pwd", "-P", "|", "cat"), 0,
               out=os.path.realpath(t) + "\n")


def test_pipe_timeout():
    start = time.monotonic()
    expect(sp("pipe", "--timeout", "0.5", "--", "sleep", LONG, "|", "cat"),
           124, out=b"")
    if time.monotonic() - start > slow(4):
        raise AssertionError("pipe timeout too slow")
    d = pipe_json("--timeout", "0.5", "--", "sleep", LONG, "|", "cat",
                  code=124)
    eq(d["timed_out"], True, "timed_out")
    eq(d["error"]["name"], "SUBPROC_ETIMEDOUT", "error.name")


def test_pipe_check():
    p = expect(sp("pipe", "--check", "--", "false", "|", "cat"), 1, out=b"")
    if not p.stderr.startswith(b"subproc: ") or p.stderr.count(b"\n") != 1:
        raise AssertionError(describe(p))
    d = pipe_json("--check", "--", "false", "|", "cat", code=1)
    eq(d["error"]["name"], "SUBPROC_ECALLED", "error.name")
    expect(sp("pipe", "--check", "--", "true", "|", "cat"), 0, err=b"")


def test_pipe_errors():
    for args in (["pipe"], ["pipe", "--"], ["pipe", "--", "|", "cat"],
                 ["pipe", "--", "cat", "|"], ["pipe", "--", "a", "|", "|",
                                              "b"],
                 ["pipe", "--shell", "echo", "|", "cat"],
                 ["pipe", "--executable", "/bin/sh", "--", "a", "|", "b"],
                 ["pipe", "--timeout", "x", "--", "true"],
                 ["pipe", "--bogus", "--", "true"]):
        line = expect_usage_error(*args)
        if not line.startswith("subproc: pipe: "):
            raise AssertionError(f"{args}: {line}")
    p = expect(sp("pipe", "--", "true", "|", "subproc-no-such-program"), 127)
    eq(p.stderr.decode(), "subproc: cannot execute 'subproc-no-such-program':"
       " No such file or directory\n", "stderr")


# ---- split, quote, cmdline -------------------------------------------------------

SPLIT_CASES = [
    "", "   ", "a", "a b  c", " leading and trailing ", "'a b' c",
    '"a b" c', "a'b'c", 'a"b"c', r'a\ b', r'"a\"b"', r"'a\'", r'"\\"',
    r'"\$x"', r"\\", "a\tb\nc", "'' \"\"", "'multi\nline'", "é 日本",
    "x=1 y='2 3'", r'a\\\ b', "#not a comment", "a#b", "-x --y=z",
    '"$HOME" ${x}', "'it'\"'\"'s'",
]


def test_split():
    for s in SPLIT_CASES:
        p = expect(sp("split", "--", s), 0, err=b"")
        eq(p.stdout.decode(), "".join(w + "\n" for w in shlex.split(s)),
           f"split {s!r}")


def test_split_null():
    for s in SPLIT_CASES:
        for flag in ("-0", "--null"):
            p = expect(sp("split", flag, "--", s), 0, err=b"")
            eq(p.stdout.decode(), "".join(w + "\0" for w in shlex.split(s)),
               f"split -0 {s!r}")


def test_split_errors():
    for s in ("'unterminated", '"unterminated', "trailing\\", "a 'b"):
        p = expect(sp("split", "--", s), 125, out=b"")
        if not p.stderr.startswith(b"subproc: split: ") or \
                p.stderr.count(b"\n") != 1:
            raise AssertionError(describe(p))
    expect_usage_error("split")
    expect_usage_error("split", "a", "b")
    expect_usage_error("split", "-x")
    expect_usage_error("split", "--bogus", "a")


def test_split_random():
    """Random strings of shell metacharacters: same words or same failure
    as Python's shlex.split."""
    r = random.Random(int(os.environ.get("SUBPROC_CLI_SEED", "99")))
    alphabet = " \t\n'\"\\ab$#é"
    for _ in range(300):
        s = "".join(r.choice(alphabet) for _ in range(r.randrange(0, 12)))
        p = sp("split", "-0", "--", s)
        try:
            words = shlex.split(s)
        except ValueError:
            expect(p, 125, out=b"")
            continue
        expect(p, 0, out="".join(w + "\0" for w in words), err=b"")


QUOTE_CASES = [
    [], ["a"], [""], ["a b"], ["it's"], ['say "hi"'], ["$HOME"], ["*"],
    ["a\nb"], ["é"], ["-n"], ["a", "b c", "", "d'e", "\\"], ["@%+=:,./-_"],
    ["!", "~x", "a;b", "a|b", "`x`"],
]


def test_quote():
    for args in QUOTE_CASES:
        p = expect(sp("quote", "--", *args), 0, err=b"")
        eq(p.stdout.decode(), shlex.join(args) + "\n", f"quote {args!r}")
        if "\n" not in "".join(args):
            eq(shlex.split(p.stdout.decode()), args, "round trip")


def test_cmdline():
    cases = [
        [], ["a"], [""], ["a b"], ['a"b'], ["a\\b"], ["a\\"], ["a\\\\"],
        ['a\\"b'], ["a\tb"], ["a", "", "b"], ['"'], ["\\\\server\\share"],
        ["C:\\Program Files\\x"], ['ends with \\'], ["é"],
    ]
    for args in cases:
        p = expect(sp("cmdline", "--", *args), 0, err=b"")
        eq(p.stdout.decode(), subprocess.list2cmdline(args) + "\n",
           f"cmdline {args!r}")


def test_words_option_handling():
    """Options end at the first operand; -- allows a leading dash."""
    expect(sp("quote", "a", "-n"), 0, out="a -n\n")
    expect(sp("quote", "--", "--help"), 0, out="--help\n")
    expect(sp("cmdline", "--", "-x"), 0, out="-x\n")
    expect(sp("split", "--", "-x y"), 0, out="-x\ny\n")
    expect_usage_error("quote", "-x")
    expect_usage_error("cmdline", "--bogus")


# ---- hardening (issue 10) -----------------------------------------------------

def test_run_user_out_of_range():
    """An id that would wrap (to root, or to "unchanged") is refused."""
    for opt in ("--user", "--group", "--extra-groups"):
        for bad in ("4294967295", "4294967296", "-1"):
            p = expect(sp("run", opt, bad, "--", "true"), 125, out=b"")
            if bad.encode() not in p.stderr:
                raise AssertionError("the id is not named" + describe(p))


def test_pipe_stderr_file_shared():
    """--stderr FILE is opened once: no stage truncates another's lines."""
    with temp_dir() as t:
        path = os.path.join(t, "err")
        expect(sp("pipe", "--stderr", path, "--", "sh", "-c",
                  "echo one >&2; echo x", "|", "sh", "-c",
                  "sleep 0.2; cat >/dev/null; echo two >&2", "|", "sh", "-c",
                  "sleep 0.4; cat >/dev/null; echo three >&2"), 0)
        eq(sorted(open(path).read().split()), ["one", "three", "two"],
           "every stage's stderr")


def test_pipe_forwards_signals_to_every_stage():
    """A 300-stage pipe: SIGTERM reaches every stage (no fixed cap)."""
    linux_only()
    n = 300
    args = ["pipe", "--"]
    for i in range(n):
        if i:
            args.append("|")
        args += ["sh", "-c", "echo $$ >&2; exec sleep 60"]
    p = subprocess.Popen([BINARY, *args], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    pids = [int(p.stderr.readline()) for _ in range(n)]
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=60)
    for _ in range(100):
        alive = [c for c in pids if pid_alive(c)]
        if not alive:
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"{len(alive)} stages still alive")


# ---- parallel -----------------------------------------------------------------

def test_parallel_values_and_braces():
    p = expect(sp("parallel", "-j", "2", "--", "echo", "x", ":::", "a", "b",
                  "c"), 0)
    eq(sorted(p.stdout.decode().splitlines()), ["x a", "x b", "x c"],
       "appended values")
    p = expect(sp("parallel", "--", "sh", "-c", "echo [{}{}]", ":::", "1",
                  "2"), 0)
    eq(sorted(p.stdout.decode().splitlines()), ["[11]", "[22]"],
       "every {} replaced")


def test_parallel_jobs_from_stdin():
    p = expect(sp("parallel", input=b"echo one\necho two >&2\n\nexit 0\n"), 0)
    eq(p.stdout, b"one\n", "stdout of the shell jobs")
    eq(p.stderr, b"two\n", "stderr of the shell jobs")
    p = expect(sp("parallel", "--", "printf", "<%s>", input=b"a\nb c\n"), 0)
    eq(sorted(p.stdout.decode().replace("><", ">\n<").splitlines()),
       ["<a>", "<b c>"], "one argument a line")


def test_parallel_output_never_interleaved():
    script = ("for i in $(seq 200); do echo {} $i; "
              "[ $((i % 50)) = 0 ] && sleep 0.01; done")
    p = expect(sp("parallel", "-j", "8", "--", "sh", "-c", script, ":::",
                  *[str(i) for i in range(16)]), 0)
    lines = p.stdout.decode().splitlines()
    eq(len(lines), 16 * 200, "every line")
    blocks = [lines[k:k + 200] for k in range(0, len(lines), 200)]
    for b in blocks:
        job = b[0].split()[0]
        if [l.split()[0] for l in b] != [job] * 200:
            raise AssertionError("the lines of two jobs interleave")
        eq([l.split()[1] for l in b], [str(i) for i in range(1, 201)],
           f"job {job} in order")


def test_parallel_exit_status():
    expect(sp("parallel", "--", "sh", "-c", "exit {}", ":::", "0", "3", "0",
              "1"), 2)
    many = ["x"] * 102
    expect(sp("parallel", "-j", "8", "--", "false", ":::", *many), 101)
    expect(sp("parallel", "-j", "1", "--halt", "now,fail=1", "--", "sh", "-c",
              "exit {}", ":::", "0", "7", "0"), 7)
    p = expect(sp("parallel", "-j", "1", "--halt", "soon", "--", "sh", "-c",
                  "echo {}; exit {}", ":::", "0", "5", "0", "0"), 5)
    eq(p.stdout, b"0\n5\n", "nothing started after the failure")
    expect_usage_error("parallel", "-j", "0", "--", "true", ":::", "x")
    expect_usage_error("parallel", "--halt", "maybe", "--", "true", ":::", "x")


def test_parallel_timeout_and_json():
    start = time.monotonic()
    p = expect(sp("parallel", "--json", "--timeout", "0.3", "--", "sh", "-c",
                  "echo {}; exec sleep {}", ":::", "0", "30"), 1)
    if time.monotonic() - start > slow(20):
        raise AssertionError("the timeout did not stop the job")
    jobs = sorted((json.loads(l) for l in p.stdout.decode().splitlines()),
                  key=lambda j: j["job"])
    eq([j["job"] for j in jobs], [0, 1], "one object per job")
    eq(jobs[0]["returncode"], 0, "the quick job")
    eq(jobs[0]["stdout"], "0\n", "its output")
    eq(jobs[1]["timed_out"], True, "the slow job timed out")
    eq(jobs[1]["stdout"], "30\n", "output before the timeout is kept")


def test_parallel_sigint_forwarded_then_collected():
    linux_only()
    p = subprocess.Popen([BINARY, "parallel", "-j", "4", "--", "sh", "-c",
                          "echo $$ >&2; exec sleep 60", ":::", "a", "b", "c",
                          "d", "e"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    time.sleep(slow(0.5))
    start = time.monotonic()
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=slow(30))
    if time.monotonic() - start > slow(10):
        raise AssertionError("jobs outlived the SIGINT")
    eq(p.returncode, 4, "the four running jobs failed; none started after")
    for pid in [int(x) for x in err.split()]:
        if pid_alive(pid):
            raise AssertionError(f"job {pid} still alive")


def test_parallel_progress_on_a_terminal():
    linux_only()
    import pty
    master, slave = pty.openpty()
    try:
        p = subprocess.run([BINARY, "parallel", "-j", "2", "--", "true",
                            ":::", "1", "2", "3"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=slave, timeout=60)
        os.close(slave)
        slave = -1
        seen = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    eq(p.returncode, 0, "status")
    if b"3/3 done" not in seen or b"ETA" not in seen:
        raise AssertionError(f"no progress line: {seen!r}")
    p = expect(sp("parallel", "--", "true", ":::", "1"), 0, err=b"")


# ---- limits, parent death, privileges (issue 12.3) ----------------------------

def test_run_rlimit():
    linux_only()
    show = ["--", "sh", "-c", "ulimit -Sn; ulimit -Hn"]
    expect(sp("run", "--rlimit", "nofile=10", *show), 0, out="10\n10\n")
    expect(sp("run", "--rlimit", "nofile=10:20", *show), 0, out="10\n20\n")
    hard = int(subprocess.run(["sh", "-c", "ulimit -Hn"], capture_output=True,
                              check=True).stdout)
    # An empty side keeps the current value; names in any case, with or
    # without RLIMIT_; a number is a resource number.
    expect(sp("run", "--rlimit", "NOFILE=64:", *show), 0,
           out=f"64\n{hard}\n")
    expect(sp("run", "--rlimit", "RLIMIT_NOFILE=32:64", *show), 0,
           out="32\n64\n")
    expect(sp("run", "--rlimit", "7=16", *show), 0, out="16\n16\n")
    # Repeatable, applied in order.
    expect(sp("run", "--rlimit", "nofile=100", "--rlimit", "nofile=50", *show),
           0, out="50\n50\n")
    expect(sp("run", "--rlimit", "core=0:unlimited", "--", "sh", "-c",
              "ulimit -Sc; ulimit -Hc"), 0, out="0\nunlimited\n")


def test_run_rlimit_cpu():
    """A child over its CPU limit dies of SIGXCPU: status 128 + 24."""
    linux_only()
    start = time.monotonic()
    d = run_json("--rlimit", "cpu=1:3", "--rlimit", "core=0", "--", PY, "-c",
                 "while True: pass", code=128 + signal.SIGXCPU)
    eq(d["returncode"], -signal.SIGXCPU, "returncode")
    if time.monotonic() - start > slow(30):
        raise AssertionError("the CPU limit took too long")


def test_run_rlimit_bad_values():
    for bad in ("nofile", "=5", "nofile=", "nofile=:", "bogus=1", "nofile=-1",
                "nofile=1:-1", "nofile= 1", "nofile=0x10", "nofile=1k",
                "nofile=99999999999999999999", "nofile=1:2:3",
                "2147483648=1"):
        line = expect_usage_error("run", "--rlimit", bad, "--", "true")
        if bad not in line or "--rlimit" not in line:
            raise AssertionError(f"{bad!r}: {line}")
    # What the library refuses: soft above hard, a resource it does not
    # know; named with its index.
    d = run_json("--rlimit", "core=0", "--rlimit", "nofile=20:10", "--",
                 "true", code=125)
    eq(d["error"]["name"], "SUBPROC_EINVAL", "error")
    eq(d["error"]["step"], "rlimits", "step")
    if "rlimits[1]" not in d["error"]["message"]:
        raise AssertionError(d["error"]["message"])
    d = run_json("--rlimit", "999=1", "--", "true", code=125)
    eq(d["error"]["step"], "rlimits", "step")


def test_run_rlimit_eperm():
    """Above fs.nr_open no one may raise RLIMIT_NOFILE's hard limit, root
    included: EPERM in the child, reported with step setrlimit."""
    linux_only()
    try:
        with open("/proc/sys/fs/nr_open") as f:
            nr_open = int(f.read())
    except OSError:
        raise Skip("no /proc/sys/fs/nr_open")
    d = run_json("--rlimit", f"nofile=:{nr_open + 1}", "--", "true", code=125)
    eq(d["error"]["name"], "EPERM", "error")
    eq(d["error"]["step"], "setrlimit", "step")
    eq(d["error"]["errno"], errno.EPERM, "errno")
    if "RLIMIT_NOFILE (rlimits[0]" not in d["error"]["message"]:
        raise AssertionError(d["error"]["message"])
    p = expect(sp("run", "--rlimit", f"nofile=:{nr_open + 1}", "--", "true"),
               125, out=b"")
    if not p.stderr.startswith(b"subproc: setrlimit RLIMIT_NOFILE"):
        raise AssertionError("message" + describe(p))


def test_run_pdeathsig():
    """Killing the tool kills the child it started with --pdeathsig."""
    linux_only()
    with temp_dir() as t:
        pidfile = os.path.join(t, "pid")
        for sig in ("KILL", "SIGTERM", "usr1", "9"):
            tool = subprocess.Popen(
                [BINARY, "run", "--pdeathsig", sig, "--", "sh", "-c",
                 f"echo $$ > {pidfile}.tmp; mv {pidfile}.tmp {pidfile}; "
                 f"exec sleep {LONGER}"], stdin=subprocess.DEVNULL)
            end = time.monotonic() + slow(10)
            while not os.path.exists(pidfile):
                if time.monotonic() > end:
                    tool.kill()
                    raise AssertionError("the child did not start")
                time.sleep(0.01)
            with open(pidfile) as f:
                child = int(f.read())
            os.unlink(pidfile)
            tool.kill()
            tool.wait()
            wait_gone(child, f"--pdeathsig {sig}: the child outlived subproc")
    for bad in ("0", "-9", "NOSUCH", "", "SIG", "9x"):
        line = expect_usage_error("run", "--pdeathsig", bad, "--", "true")
        if "--pdeathsig" not in line:
            raise AssertionError(line)
    d = run_json("--pdeathsig", "99999", "--", "true", code=125)
    eq(d["error"]["step"], "parent_death_signal", "step")


def test_run_no_new_privs():
    linux_only()
    expect(sp("run", "--no-new-privs", "--", "grep", "^NoNewPrivs:",
              "/proc/self/status"), 0, out="NoNewPrivs:\t1\n")


def test_run_foreground():
    """In a terminal session (pty.fork: a new session, the pty its
    controlling terminal): the child leads the foreground group while it
    runs; afterwards the shell's group has the terminal again."""
    import pty
    import select
    check = ("import os; fd = os.open('/dev/tty', os.O_RDWR); "
             "print('fg' if os.tcgetpgrp(fd) == os.getpgrp() else 'bg', "
             "'leader' if os.getpgrp() == os.getpid() else 'member')")
    script = (f"{shlex.quote(BINARY)} run --foreground -- {shlex.quote(PY)} "
              f"-c {shlex.quote(check)}; echo status $?; "
              f"{shlex.quote(PY)} -c {shlex.quote(check)}")
    pid, master = pty.fork()
    if pid == 0:
        try:
            os.execv("/bin/sh", ["sh", "-c", script])
        finally:
            os._exit(127)
    out = b""
    end = time.monotonic() + slow(30)
    try:
        while time.monotonic() < end:
            ready, _, _ = select.select([master], [], [], 0.1)
            if not ready:
                continue
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the session's last process is gone
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(master)
        _, status = os.waitpid(pid, 0)
    eq(out.decode().replace("\r\n", "\n"),
       "fg leader\nstatus 0\nfg member\n", "output")
    eq(status, 0, "status")
    # No controlling terminal: 125, the step named.
    p = expect(sp("run", "--foreground", "--", "true", start_new_session=True),
               125, out=b"")
    if b"tcsetpgrp" not in p.stderr:
        raise AssertionError("no tcsetpgrp in the message" + describe(p))
    expect_usage_error("pipe", "--foreground", "--", "true", "|", "true")


# ---- run --pty (issue 12) ---------------------------------------------------

# A child that reports what it sees: isatty of 0, 1, 2 and the size.
SHOW_TTY = ("import os, sys\n"
            "print([os.isatty(i) for i in range(3)], os.get_terminal_size(1))\n"
            "print('\\033[31mred\\033[0m')")


def test_run_pty_capture_keeps_escapes():
    d = run_json("--pty", "--pty-size", "30x100", "--", PY, "-c", SHOW_TTY)
    eq(d["stdout"], "[False, True, True] os.terminal_size(columns=100, "
       "lines=30)\r\n\x1b[31mred\x1b[0m\r\n", "stdout over the pty")
    eq(d["stderr"], None, "stderr is on the pty, merged")
    eq(d["pty"], {"rows": 30, "cols": 100, "raw": False}, "pty in the JSON")
    eq(run_json("true")["pty"], None, "no pty")
    # --capture prints what the terminal showed, escapes included
    p = expect(sp("run", "--pty", "--capture", "--", PY, "-c", SHOW_TTY), 0,
               err=b"")
    if b"\x1b[31mred\x1b[0m\r\n" not in p.stdout:
        raise AssertionError("no colour" + describe(p))
    # ls --color=auto colours only on a terminal (GNU ls)
    if shutil.which("ls") and b"GNU" in sp("run", "ls", "--version").stdout:
        with tempfile.TemporaryDirectory() as tmp:
            os.mkdir(os.path.join(tmp, "sub"))
            p = expect(sp("run", "--pty", "--capture", "--", "ls",
                          "--color=auto", tmp), 0)
            if b"\x1b[" not in p.stdout or b"sub" not in p.stdout:
                raise AssertionError("ls did not colour" + describe(p))
            p = expect(sp("run", "--capture", "--", "ls", "--color=auto",
                          tmp), 0, out=b"sub\n")


def test_run_pty_streams_output_as_it_comes():
    # not captured: the pty is printed as it is read (stderr merged), raw
    # mode passes "\n" through unchanged; stdin stays the tool's own
    p = expect(sp("run", "--pty-raw", "--", PY, "-c",
                  "import os, sys; print(os.isatty(0), os.isatty(1));"
                  "print('e', file=sys.stderr); print(sys.stdin.read())",
                  input=b"piped"), 0, out=b"False True\ne\npiped\n", err=b"")
    # --stdout elsewhere: the pty carries stderr, printed on stderr
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out")
        p = expect(sp("run", "--pty", "--stdout", out, "--", PY, "-c",
                      "import os, sys; print(os.isatty(1));"
                      "print(os.isatty(2), file=sys.stderr)"), 0, out=b"",
                   err=b"True\r\n")
        with open(out, "rb") as f:
            eq(f.read(), b"False\n", "stdout went to the file")


def test_run_pty_size_and_raw_in_json():
    # --pty-size and --pty-raw imply --pty
    d = run_json("--pty-size", "5x7", "--", PY, "-c", SHOW_TTY)
    if not d["stdout"].startswith("[False, True, True] os.terminal_size("
                                  "columns=7, lines=5)\r\n"):
        raise AssertionError(f"stdout {d['stdout']!r}")
    eq(d["pty"], {"rows": 5, "cols": 7, "raw": False}, "pty")
    d = run_json("--pty-raw", "--pty-size", "24x80", "--", PY, "-c",
                 "print('a'); print('b')")
    eq(d["stdout"], "a\nb\n", "raw: no \\r added")
    eq(d["pty"], {"rows": 24, "cols": 80, "raw": True}, "pty")
    # no terminal anywhere and no --pty-size: the system's size (0x0)
    d = run_json("--pty", "--", PY, "-c",
                 "import os; print(os.get_terminal_size(1))")
    eq(d["stdout"], "os.terminal_size(columns=0, lines=0)\r\n", "size")
    eq(d["pty"], {"rows": 0, "cols": 0, "raw": False}, "pty")


def test_run_pty_input_timeout_check():
    # --input goes to a stdin pipe (not typed into the terminal)
    p = expect(sp("run", "--pty", "--capture", "--input", "typed\n", "--",
                  PY, "-c", "import os; print(os.isatty(0), input())"), 0,
               out=b"False typed\r\n")
    # --timeout: the session's group is killed, the output so far kept
    d = run_json("--pty", "--timeout", "%g" % slow(2), "--", "sh", "-c",
                 "echo started; exec sleep " + LONG, code=124)
    eq(d["timed_out"], True, "timed_out")
    eq(d["stdout"], "started\r\n", "output before the timeout")
    eq(d["returncode"], -signal.SIGKILL, "returncode")
    # --check: the child's status, and Python's message
    p = expect(sp("run", "--pty", "--check", "--", "sh", "-c", "exit 3"), 3)
    if b"returned non-zero exit status 3" not in p.stderr:
        raise AssertionError("no check message" + describe(p))


def test_run_pty_refuses_foreground():
    # the child leads a session on the pty: the caller's terminal is not
    # its to take (a library error, the step named)
    d = run_json("--pty", "--foreground", "--", "true", code=125)
    eq(d["error"]["step"], "foreground", "error step")
    if "SUBPROC_PTY" not in d["error"]["message"]:
        raise AssertionError(f"message {d['error']['message']!r}")


def test_run_pty_usage_errors():
    expect_usage_error("pipe", "--pty", "--", "true")
    expect_usage_error("pipe", "--pty-size", "24x80", "--", "true", "|",
                       "cat")
    for bad in ("0x80", "24", "24x", "x80", "24x65536", "axb"):
        expect_usage_error("run", "--pty-size", bad, "true")
    expect_usage_error("run", "--pty", "--stdout", "null", "--stderr",
                       "null", "true")
    d = run_json("--pty", "--process-group", "0", "true", code=125)
    eq(d["error"]["step"], "process_group", "error step")


def read_until(fd, want, seconds, seen=b""):
    """Read a pty master until want shows up (or its end)."""
    end = time.monotonic() + slow(seconds)
    import select
    while want not in seen:
        left = end - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {want!r} in {seen!r}")
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            chunk = b""
        if not chunk:
            raise AssertionError(f"EOF before {want!r}; got {seen!r}")
        seen += chunk
    return seen


def relay_tool(child_code, rows=40, cols=120, tool_args=(), argv=None):
    """The tool as `subproc run --pty` on a terminal of its own (pty.fork:
    a session whose controlling terminal it is), size rows x cols, running
    python -c child_code (or argv). Returns (pid, master)."""
    argv = argv or [PY, "-c", child_code]
    import fcntl
    import pty
    import struct
    import termios
    pid, master = pty.fork()
    if pid == 0:
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ,
                        struct.pack("HHHH", rows, cols, 0, 0))
            os.execv(BINARY, [BINARY, "run", "--pty", *tool_args, "--",
                              *argv])
        finally:
            os._exit(99)
    return pid, master


def wait_status(pid, seconds):
    end = time.monotonic() + slow(seconds)
    while time.monotonic() < end:
        got, st = os.waitpid(pid, os.WNOHANG)
        if got == pid:
            return st
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise AssertionError("the tool did not end")


def lflag(fd):
    import termios
    return termios.tcgetattr(fd)[3]


RELAY_CHILD = (
    "import os, signal, sys, time\n"
    "sizes = []\n"
    "signal.signal(signal.SIGWINCH, lambda s, f: sizes.append(1))\n"
    "print([os.isatty(i) for i in range(3)], os.get_terminal_size(0),\n"
    "      'ready', flush=True)\n"
    "line = sys.stdin.readline().strip()\n"
    "print('got:' + line, flush=True)\n"
    "end = time.monotonic() + 60\n"
    "while not sizes and time.monotonic() < end: time.sleep(0.01)\n"
    "print('winch', os.get_terminal_size(0), flush=True)\n"
    "sys.exit(3)\n")


def test_run_pty_relays_the_terminal():
    import struct
    import termios
    import fcntl
    linux_only()
    pid, master = relay_tool(RELAY_CHILD)
    try:
        seen = read_until(master, b"ready", 30)
        if (b"[True, True, True] os.terminal_size(columns=120, lines=40)"
                not in seen):
            raise AssertionError(f"the child's view: {seen!r}")
        # the tool's terminal is raw while it relays
        eq(lflag(master) & (termios.ICANON | termios.ECHO), 0, "raw mode")
        # keys go to the child ('\r': raw mode keeps it; the child's
        # cooked pty turns it into '\n' and echoes it)
        os.write(master, b"hello\r")
        seen = read_until(master, b"got:hello", 10, seen)
        # the tool's terminal resized: the child's follows (SIGWINCH)
        fcntl.ioctl(master, termios.TIOCSWINSZ,
                    struct.pack("HHHH", 50, 132, 0, 0))
        seen = read_until(master, b"lines=50)", 10, seen)
        if b"winch os.terminal_size(columns=132, lines=50)" not in seen:
            raise AssertionError(f"no resize seen: {seen!r}")
        st = wait_status(pid, 10)
        eq(os.waitstatus_to_exitcode(st), 3, "the child's status")
        # put back as it was
        if not lflag(master) & termios.ICANON:
            raise AssertionError("the terminal was left raw")
    finally:
        os.close(master)


def test_run_pty_relay_check():
    import termios
    linux_only()
    # --check with the terminal relayed: the status and the message, on
    # the terminal put back first
    pid, master = relay_tool("print('ready', flush=True); raise "
                             "SystemExit(4)", tool_args=("--check",))
    try:
        seen = read_until(master, b"exit status 4", 30)
        st = wait_status(pid, 10)
        eq(os.waitstatus_to_exitcode(st), 4, "status")
        if b"ready" not in seen:
            raise AssertionError(f"no output: {seen!r}")
        if not lflag(master) & termios.ICANON:
            raise AssertionError("the terminal was left raw")
    finally:
        os.close(master)


def test_run_pty_relay_restores_on_signals():
    import termios
    linux_only()
    sleeper = "import time; print('ready', flush=True); time.sleep(%s)" % LONG
    # SIGTERM is forwarded: the child dies of it, the tool reports 128+15
    pid, master = relay_tool(sleeper)
    try:
        read_until(master, b"ready", 30)
        eq(lflag(master) & termios.ICANON, 0, "raw mode")
        os.kill(pid, signal.SIGTERM)
        st = wait_status(pid, 10)
        eq(os.waitstatus_to_exitcode(st), 128 + signal.SIGTERM, "status")
        if not lflag(master) & termios.ICANON:
            raise AssertionError("left raw after SIGTERM")
    finally:
        os.close(master)
    # SIGUSR1 kills the tool itself, which puts the terminal back first
    pid, master = relay_tool(sleeper)
    try:
        read_until(master, b"ready", 30)
        eq(lflag(master) & termios.ICANON, 0, "raw mode")
        os.kill(pid, signal.SIGUSR1)
        st = wait_status(pid, 10)
        eq(os.waitstatus_to_exitcode(st), -signal.SIGUSR1, "tool's status")
        if not lflag(master) & termios.ICANON:
            raise AssertionError("left raw after SIGUSR1")
    finally:
        os.close(master)
    # --timeout: the child is killed, the terminal put back, status 124
    # (a shell: ready well before the timeout, even on a loaded machine)
    pid, master = relay_tool(None, tool_args=("--timeout", "%g" % slow(3)),
                             argv=["sh", "-c", "echo ready; exec sleep " +
                                   LONG])
    try:
        read_until(master, b"ready", 30)
        st = wait_status(pid, 15)
        eq(os.waitstatus_to_exitcode(st), 124, "timeout status")
        if not lflag(master) & termios.ICANON:
            raise AssertionError("left raw after the timeout")
    finally:
        os.close(master)


# ---- runner -------------------------------------------------------------------

def cases():
    return {name[5:]: fn for name, fn in sorted(globals().items())
            if name.startswith("test_") and callable(fn)}


def run_case(name, fn):
    try:
        fn()
    except Skip as e:
        print(f"SKIP {name}: {e}")
        return SKIPPED
    except (AssertionError, subprocess.TimeoutExpired) as e:
        print(f"FAIL {name}: {e}")
        return 1
    print(f"ok   {name}")
    return 0


def main():
    global BINARY
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", help="the subproc binary to test")
    ap.add_argument("--list", action="store_true", help="list the cases")
    ap.add_argument("case", nargs="*", help="cases to run (default: all)")
    a = ap.parse_args()
    known = cases()
    if a.list:
        print("\n".join(known))
        return 0
    if not a.binary:
        ap.error("--binary is required")
    BINARY = os.path.abspath(a.binary)
    names = [c[5:] if c.startswith("test_") else c for c in a.case] or known
    unknown = [n for n in names if n not in known]
    if unknown:
        ap.error(f"unknown case(s): {', '.join(unknown)}")
    results = [run_case(n, known[n]) for n in names]
    if any(r == 1 for r in results):
        return 1
    return SKIPPED if all(r == SKIPPED for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
