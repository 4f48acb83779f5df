"""Where the kernel writes the libc uprobes' breakpoints. tktrace probes setenv, unsetenv and
putenv for the processes it traces only (per-process uprobes): an unrelated process started
during a run must keep its C library's code as the file has it (shared page cache pages, no
breakpoint), while the traced pytest process has the breakpoints (else the check proves
nothing). File-wide probes (TKTRACE_LIBC_PROBES=file, the fallback) reach the unrelated
process: the same check fails for them, which shows it can.

Other tktrace runs on the machine (file-wide probes on the system's C library) would put
breakpoints in every process, so both processes here use a private copy of the C library
(LD_LIBRARY_PATH), which only this run's tktrace finds, in its traced pytest's maps."""
import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import PYTHON, SUITES, inner_env, inner_pytest, run_tktrace


def libc_text(pid):
    """(bytes of pid's executable C library mappings that differ from the file, kB of
    anonymous (copied-on-write) pages in them, how many such mappings)."""
    maps, cur = [], None
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        f = line.split()
        if len(f) >= 5 and "-" in f[0] and f[0].replace("-", "").isalnum() and ":" in f[3]:
            cur = None
            if len(f) >= 6 and "x" in f[1] and os.path.basename(f[5]) == "libc.so.6":
                lo, hi = (int(x, 16) for x in f[0].split("-"))
                cur = [lo, hi, int(f[2], 16), f[5], 0]
                maps.append(cur)
        elif cur is not None and f and f[0] == "Anonymous:":
            cur[4] = int(f[1])
    diff = anon = 0
    with open(f"/proc/{pid}/mem", "rb") as mem:
        for lo, hi, off, path, kb in maps:
            mem.seek(lo)
            live = mem.read(hi - lo)
            with open(f"/proc/{pid}/root{path}", "rb") as lib:
                lib.seek(off)
                disk = lib.read(hi - lo)
            diff += sum(a != b for a, b in zip(live, disk))
            anon += kb
    return diff, anon, len(maps)


def run_with_bystander(tmp_path, mode_env):
    """Trace suites/probe_wait with a private libc; while its test waits, start an unrelated
    process on the same libc. Returns (run, traced (diff, anon, n), bystander (diff, anon, n))."""
    lib = tmp_path / "lib"
    lib.mkdir()
    # The C library this Python runs on (glibc's name for it is libc.so.6).
    mapped = {line.split()[-1] for line in Path("/proc/self/maps").read_text().splitlines()
              if line.endswith("/libc.so.6")}
    if not mapped:
        pytest.skip("this Python maps no libc.so.6 to copy")
    libc = Path(sorted(mapped)[0])
    shutil.copy(libc, lib / "libc.so.6")
    work = tmp_path / "suite"
    shutil.copytree(SUITES / "probe_wait", work)
    mark = tmp_path / "mark"
    env = inner_env({"LD_LIBRARY_PATH": str(lib), "PROBE_MARK": str(mark), **mode_env})
    seen = {}

    def look():
        deadline = time.monotonic() + 60
        while not mark.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        if not mark.exists():
            return
        traced = int(mark.read_text())
        # Started now, by this harness: no descendant of tktrace's COMMAND.
        by = subprocess.Popen(["sleep", "30"], env=env)
        try:
            time.sleep(0.5)
            seen["traced"] = libc_text(traced)
            seen["bystander"] = libc_text(by.pid)
        finally:
            by.kill()
            by.wait()
            (tmp_path / "mark.done").write_text("")

    t = threading.Thread(target=look)
    t.start()
    run = run_tktrace(inner_pytest("test_wait.py"), work, opts=["-v"], env=env)
    t.join()
    assert "traced" in seen, run
    return run, seen["traced"], seen["bystander"]


def test_unrelated_process_gets_no_breakpoint(root, tmp_path):
    run, traced, bystander = run_with_bystander(tmp_path, {})
    assert run.rc == 0, run
    assert "libc probes: per process" in run.stderr, run
    # The test was named: the probes were in place before pytest's first PYTEST_CURRENT_TEST.
    assert [t["nodeid"] for t in run.report["tests"]] == ["test_wait.py::test_wait"], run.report
    assert traced[2] >= 1 and bystander[2] >= 1, (traced, bystander)
    # setenv, unsetenv, putenv: one int3 each, on copied-on-write (anonymous) pages.
    assert traced[0] == 3 and traced[1] > 0, traced
    assert bystander == (0, 0, bystander[2]), bystander


def test_file_wide_probes_reach_unrelated_processes(root, tmp_path):
    run, traced, bystander = run_with_bystander(tmp_path, {"TKTRACE_LIBC_PROBES": "file"})
    assert run.rc == 0, run
    assert "libc probes: file-wide" in run.stderr, run
    assert [t["nodeid"] for t in run.report["tests"]] == ["test_wait.py::test_wait"], run.report
    assert traced[0] == 3 and traced[1] > 0, traced
    assert bystander[0] == 3 and bystander[1] > 0, bystander


@pytest.mark.parametrize("mode", ["process", "file"])
def test_value_set_before_the_probes_is_caught_up(root, tmp_path, mode):
    """A forked child sets PYTEST_CURRENT_TEST before it can be followed: per-process probes
    miss the setenv itself, and tktrace reads the value from the child's memory once it has
    attached (file-wide probes see the setenv)."""
    work = tmp_path / "suite"
    shutil.copytree(SUITES / "probe_fork", work)
    run = run_tktrace(inner_pytest("test_forked.py"), work, opts=["-vv"],
                      env=inner_env({"TKTRACE_LIBC_PROBES": mode}))
    assert run.rc == 0, run
    child = int((work / "child.pid").read_text())
    tests = {t["nodeid"]: t for t in run.report["tests"]}
    assert "test_forked.py::test_in_child" in tests, (sorted(tests), run.stderr[-3000:])
    assert tests["test_forked.py::test_in_child"]["pid"] == child, tests
    # The spawned Python's inherited value made no test of it: one record per test, each in
    # the process that ran it.
    assert sorted(t["nodeid"] for t in run.report["tests"]) == [
        "test_forked.py::test_in_child", "test_forked.py::test_parent",
        "test_forked.py::test_spawn"], run.report["tests"]
    assert tests["test_forked.py::test_spawn"]["pid"] == tests["test_forked.py::test_parent"]["pid"]
    if mode == "process":
        assert f"pid {child}: PYTEST_CURRENT_TEST was set before its probes" in run.stderr, run


SLOW_EXEC_SUITE = '''
import os, subprocess, time

def test_spawn_and_fork():
    # posix_spawn's child (clone with CLONE_VM|CLONE_VFORK, as Python's subprocess uses) runs
    # its file actions before its exec: opening a FIFO holds it there until a writer comes, a
    # process of its own (os.posix_spawn keeps the GIL, so no thread of this one could run).
    os.mkfifo("gate.fifo")
    writer = subprocess.Popen(["sh", "-c", "sleep 0.5; : > gate.fifo"])
    spawned = os.posix_spawn("/bin/true", ["true"], dict(os.environ),
                             file_actions=[(os.POSIX_SPAWN_OPEN, 3, "gate.fifo", os.O_RDONLY, 0)])
    writer.wait()
    os.waitpid(spawned, 0)
    # A forked worker: Python code of its own, no exec.
    forked = os.fork()
    if forked == 0:
        time.sleep(1)
        os._exit(0)
    os.waitpid(forked, 0)
    with open("pids.txt", "w") as f:
        f.write(f"{spawned} {forked}")
'''


def test_spawned_child_is_not_followed_before_its_exec(root, tmp_path):
    """A child that shares its parent's memory until its exec (posix_spawn, vfork, Python's
    subprocess) is no worker: however late its exec comes (0.5 s here; a slow machine's xdist
    worker start), it gets no probes of its own. A forked child that runs on without exec
    does, which shows the check can see an attach."""
    work = tmp_path / "suite"
    work.mkdir()
    (work / "test_spawn.py").write_text(SLOW_EXEC_SUITE)
    run = run_tktrace(inner_pytest("test_spawn.py"), work, opts=["-vv"], timeout=60)
    assert run.rc == 0, run
    spawned, forked = (int(x) for x in (work / "pids.txt").read_text().split())
    attached = {int(p) for p in re.findall(r"pid (\d+) \([^)]*\): libc probes attached",
                                           run.stderr)}
    assert forked in attached, (forked, attached)
    assert spawned not in attached, (spawned, attached)
