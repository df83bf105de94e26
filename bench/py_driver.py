"""Python's subprocess, driven for subproc_bench.

One python3 process serves the whole run: subproc_bench sends one JSON
command per line on fd 0 and reads one line of numbers back on fd 1. The
timing loops run inside Python (time.perf_counter), so a figure never
includes the round trip to the bench; the bench interleaves these batches
with its own methods. The children inherit /dev/null as stdin and stdout.
"""
import json
import mmap
import os
import resource
import subprocess
import sys
import time

commands = os.fdopen(os.dup(0), "r")
reply = os.fdopen(os.dup(1), "w")
_null = os.open(os.devnull, os.O_RDWR)
os.dup2(_null, 0)
os.dup2(_null, 1)
os.close(_null)

held_fds = []
big = None


def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    return 0


def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def pipe_kwargs(c):
    size = c.get("pipesize", -1)
    return {"pipesize": size} if size > 0 else {}


def op_run(c):
    argv, n, mode = c["argv"], c["n"], c.get("mode", "plain")
    kw = pipe_kwargs(c)
    if mode == "stdout":
        kw["stdout"] = subprocess.PIPE
    elif mode == "capture_output":
        kw["capture_output"] = True
    run = subprocess.run
    t0 = time.perf_counter()
    for _ in range(n):
        if run(argv, **kw).returncode != 0:
            return [-1]
    return [(time.perf_counter() - t0) / n]


def op_bigcap(c):
    base = status("VmRSS:")
    reset_peak()
    t0 = time.perf_counter()
    r = subprocess.run(c["argv"], capture_output=True, **pipe_kwargs(c))
    t = time.perf_counter() - t0
    if r.returncode != 0 or len(r.stdout) != c["bytes"]:
        return [-1]
    peak = status("VmHWM:") - base
    del r
    return [t, peak]


def op_timeout(c):
    comm = c.get("communicate", False)
    p = subprocess.Popen(c["argv"], stdout=subprocess.PIPE if comm else None)
    w0 = resource.getrusage(resource.RUSAGE_THREAD).ru_nvcsw
    c0 = time.thread_time()
    t0 = time.perf_counter()
    try:
        if comm:
            p.communicate(timeout=c["timeout"])
        else:
            p.wait(timeout=c["timeout"])
    except subprocess.TimeoutExpired:
        pass
    t1 = time.perf_counter()
    c1 = time.thread_time()
    w1 = resource.getrusage(resource.RUSAGE_THREAD).ru_nvcsw
    p.kill()
    if comm:
        p.communicate()
    else:
        p.wait()
    return [t1 - t0 - c["timeout"], c1 - c0, w1 - w0]


def op_many(c):
    n = c["n"]
    r, w = os.pipe()
    t0 = time.perf_counter()
    procs = [subprocess.Popen(c["argv"], stdin=r) for _ in range(n)]
    t1 = time.perf_counter()
    os.close(w)
    bad = sum(p.wait() != 0 for p in procs)
    t2 = time.perf_counter()
    os.close(r)
    return [-1] if bad else [(t1 - t0) / n, (t2 - t1) / n]


def op_alloc(c):
    global big
    size = c["bytes"]
    big = mmap.mmap(-1, size)
    if hasattr(mmap, "MADV_NOHUGEPAGE"):
        big.madvise(mmap.MADV_NOHUGEPAGE)
    big[::4096] = b"\x01" * len(range(0, size, 4096))
    return [status("VmRSS:")]


def op_free(c):
    global big
    if big is not None:
        big.close()
    big = None
    return [status("VmRSS:")]


def op_fds(c):
    for _ in range(c["n"]):
        fd = os.open(os.devnull, os.O_RDONLY)
        os.set_inheritable(fd, True)
        held_fds.append(fd)
    return [len(held_fds)]


def op_closefds(c):
    while held_fds:
        os.close(held_fds.pop())
    return [0]


def op_version(c):
    v = sys.version_info
    return [v.major, v.minor, v.micro]


OPS = {
    "run": op_run,
    "bigcap": op_bigcap,
    "timeout": op_timeout,
    "many": op_many,
    "alloc": op_alloc,
    "free": op_free,
    "fds": op_fds,
    "closefds": op_closefds,
    "version": op_version,
}

for line in commands:
    cmd = json.loads(line)
    try:
        out = OPS[cmd["op"]](cmd)
    except Exception as e:  # reported, and the bench marks the row failed
        print("py_driver:", cmd.get("op"), repr(e), file=sys.stderr)
        out = [-1]
    reply.write(" ".join(repr(float(x)) for x in out) + "\n")
    reply.flush()
