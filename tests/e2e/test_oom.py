"""OOM kills, end to end: the real tktrace (real BPF programs) traces small pytest suites
(tests/e2e/suites/test_oom_*.py) that are OOM-killed inside a memory cgroup of at most 1 GiB,
and its JSON report is compared with what the inner tests recorded themselves (their own
request.node.nodeid, pids and xdist worker), never with hard-coded values."""
import os
import re
import shlex
import shutil
import signal
import time
from pathlib import Path

import pytest

from conftest import (MAX_LIMIT, PYTHON, SUITES, MemCgroup, check_replay, headline, inner_env,
                      junit_counts, memcg_root, need_root, nodeids_written, inner_pytest,
                      record_opts, run_tktrace)

MiB = 1 << 20
LIMIT = 400 * MiB
OVERSHOOT = 200 * MiB  # the hogs ask for limit + this: always killed, never more than 1 GiB
COMM = os.path.basename(PYTHON)[:15]  # what the kernel calls an exec'd PYTHON


def alloc_env(limit):
    """The inner suites' environment: how much their hog allocates (and touches)."""
    alloc = limit + OVERSHOOT
    assert alloc <= MAX_LIMIT
    return inner_env({"E2E_ALLOC": str(alloc)})


def report_of(run):
    assert run.report is not None, f"no JSON report: {run!r}"
    return run.report


def single_oom(run):
    rep = report_of(run)
    assert len(rep["oom_kills"]) == 1, f"{rep}\n{run!r}"
    return rep, rep["oom_kills"][0]


def read_pids(work, name):
    """pid-NAME.txt as written by the inner test: one or more ints (or a worker name)."""
    return (Path(work) / f"pid-{name}.txt").read_text().split()


def own_oom_score_adj():
    return int(Path("/proc/self/oom_score_adj").read_text())


def check_party(p, *, pid, test, phase, worker=None, comm=COMM):
    assert p["pid"] == pid, p
    assert p["comm"] == comm, p
    assert p["test"] == test, p
    assert p["phase"] == phase, p
    assert p["worker"] == worker, p
    assert p["traced"] is True, p


def check_cgroup(o, cg):
    assert o["cgroup"] == str(cg.path), o
    assert o["limit_bytes"] == cg.limit == cg.read_limit(), o
    # The charge that failed had brought the cgroup to its limit.
    assert cg.limit - 64 * MiB <= o["cgroup_usage_bytes"] <= cg.limit, o


def check_victim_rss(o, limit):
    """The victim's anonymous memory (charged to the limited cgroup) is within the limit and
    more than half of it. rss_bytes also counts mapped files (libpython, numpy's .so files):
    their page cache may be charged to whichever cgroup read it first, so rss_bytes can pass
    the limit by that much (the kernel's own OOM report counts the same way)."""
    v = o["victim"]
    split = o["victim_rss"]
    assert limit // 2 < split["anon_bytes"] <= limit, o
    assert split["anon_bytes"] + split["file_bytes"] + split["shmem_bytes"] == v["rss_bytes"], o
    assert split["file_bytes"] + split["shmem_bytes"] < 64 * MiB, o
    assert limit // 2 < v["rss_bytes"] <= limit + split["file_bytes"] + split["shmem_bytes"], o


def check_rerun(o, work, nodeid):
    assert o["rerun"] is not None, o
    assert shlex.split(o["rerun"]) == ["cd", os.path.realpath(work), "&&", PYTHON, "-m", "pytest",
                                       nodeid], o


def check_complete(rep):
    assert rep["kills"] == [], rep  # the OOM killer's own SIGKILL is part of the OOM record
    assert rep["lost_events"] == 0, rep
    for o in rep["oom_kills"]:
        assert 0 < o["time_s"] <= rep["duration_s"] + 0.01, rep


def check_pytest_oom_killed(run, work, cg, limit, *, phase, test):
    """COMMAND's own pytest process was the OOM victim (and its own allocation the trigger)."""
    rep, o = single_oom(run)
    assert run.rc == 137, run
    assert rep["exit_code"] == 137, rep
    assert rep["cause"] == "oom-kill", rep
    assert rep["signal"] == signal.SIGKILL, rep
    # The cgroup prefix execs pytest: COMMAND's pid is the pytest process.
    assert o["victim"]["pid"] == o["trigger"]["pid"] == rep["pid"], o
    check_party(o["victim"], pid=rep["pid"], test=test, phase=phase)
    check_party(o["trigger"], pid=rep["pid"], test=test, phase=phase)
    if cg is not None:
        check_cgroup(o, cg)
    assert o["limit_bytes"] == limit, o
    check_victim_rss(o, limit)
    assert o["oom_score_adj"] == own_oom_score_adj(), o  # tktrace's -1000 did not leak
    if test is None:
        assert o["rerun"] is None, o
    else:
        check_rerun(o, work, test)
    check_complete(rep)
    return rep, o


# 1. ------------------------------------------------------------------------------------------

def test_oom_in_call_phase(root, memcg, suite):
    cg = memcg(LIMIT)
    work = suite("test_oom_call.py")
    run = run_tktrace(inner_pytest("test_oom_call.py"), work, cgroup=cg, env=alloc_env(cg.limit))
    nodeid = nodeids_written(work)["call"]
    assert nodeid == "test_oom_call.py::test_hog"
    pid, _ = map(int, read_pids(work, "call"))
    rep, o = check_pytest_oom_killed(run, work, cg, cg.limit, phase="call", test=nodeid)
    assert rep["pid"] == pid

    # The human report on stderr says the same.
    lines = run.stderr.splitlines()
    assert lines, run
    # The headline, after any live --warn-at block (the limit is crossed just before a kill).
    head = headline(run.stderr)
    assert "killed by the OOM killer" in head, run
    assert f"pid {pid}" in head, run
    assert nodeid in run.stderr, run
    reruns = [line for line in lines if line.strip().startswith("rerun ")]
    assert len(reruns) == 1, run
    assert reruns[0].split(None, 1)[1] == o["rerun"], run


# 2. ------------------------------------------------------------------------------------------

def test_oom_in_fixture_setup(root, memcg, suite):
    cg = memcg(LIMIT)
    work = suite("test_oom_setup.py")
    run = run_tktrace(inner_pytest("test_oom_setup.py"), work, cgroup=cg, env=alloc_env(cg.limit))
    nodeid = nodeids_written(work)["setup"]
    assert nodeid == "test_oom_setup.py::test_uses_hog"
    check_pytest_oom_killed(run, work, cg, cg.limit, phase="setup", test=nodeid)


# 3. ------------------------------------------------------------------------------------------

def test_oom_in_fixture_teardown(root, memcg, suite):
    cg = memcg(LIMIT)
    work = suite("test_oom_teardown.py")
    run = run_tktrace(inner_pytest("test_oom_teardown.py"), work, cgroup=cg,
                      env=alloc_env(cg.limit))
    nodeid = nodeids_written(work)["teardown"]
    assert nodeid == "test_oom_teardown.py::test_light"
    assert (work / "called.txt").exists(), "the test body ran before the teardown"
    check_pytest_oom_killed(run, work, cg, cg.limit, phase="teardown", test=nodeid)


# 4. ------------------------------------------------------------------------------------------

def test_oom_during_collection(root, memcg, suite):
    cg = memcg(LIMIT)
    work = suite("test_oom_collect.py")
    run = run_tktrace(inner_pytest("test_oom_collect.py"), work, cgroup=cg,
                      env=alloc_env(cg.limit))
    assert nodeids_written(work) == {}
    assert not (work / "ran.txt").exists()
    (pid,) = map(int, read_pids(work, "collect"))
    rep, _ = check_pytest_oom_killed(run, work, cg, cg.limit, phase="collection", test=None)
    assert rep["pid"] == pid


# 5. ------------------------------------------------------------------------------------------

class XdistRun:
    """One traced xdist run (scenario 5), shared by the two tests below."""

    def __init__(self, run, work):
        self.run = run
        self.work = work
        self.ids = nodeids_written(work)
        self.holder_pid, self.holder_worker = read_pids(work, "holder")
        self.grower_pid, self.grower_worker = read_pids(work, "grower")


@pytest.fixture(scope="module")
def xdist_oom(tmp_path_factory):
    """The holder (~450 MiB) is the largest process, so the OOM killer picks it when the
    grower's 20 MiB step on the other worker no longer fits under 700 MiB. The grower stops
    once the holder is gone (and never passes 500 MiB); the xdist controller lives on and
    reports the crash."""
    need_root()
    cg = MemCgroup(700 * MiB)
    try:
        work = tmp_path_factory.mktemp("xdist") / "suite"
        work.mkdir()
        shutil.copy(SUITES / "test_oom_xdist.py", work)
        env = inner_env({"E2E_HOLD": str(450 * MiB), "E2E_CHUNK": str(20 * MiB),
                         "E2E_GROW_MAX": str(500 * MiB)})
        run = run_tktrace(inner_pytest("-n", "2", "--dist", "load", "test_oom_xdist.py"), work,
                          cgroup=cg, env=env, opts=record_opts(work.parent))
        yield XdistRun(run, work), cg
    finally:
        cg.remove()


def xdist_first_oom(x, cg):
    """The holder's OOM kill. The kernel may follow it with one more: the grower's charge
    keeps retrying until the holder's memory is uncharged, and once the holder's last thread
    has begun to exit, the memcg OOM killer no longer sees it as a pending victim while
    exit_mmap() is still freeing its pages; a retry in that window (a few ms; about 1 run in
    40 here) kills the largest process left, the grower, by its own charge. tktrace must then
    report exactly that as a second record."""
    rep = report_of(x.run)
    ooms = rep["oom_kills"]
    assert len(ooms) in (1, 2), rep
    if len(ooms) == 2:
        second = ooms[1]
        check_party(second["victim"], pid=int(x.grower_pid), test=x.ids["grower"],
                    phase="call", worker=second["victim"]["worker"])
        assert second["trigger"]["pid"] == int(x.grower_pid), second
        assert second["cgroup"] == str(cg.path) and second["limit_bytes"] == cg.limit, second
        assert 0 < second["time_s"] - ooms[0]["time_s"] < 1.0, rep
    else:
        assert (x.work / "grower-done.txt").exists(), x.run
    return rep, ooms[0]


def test_oom_xdist_replays_byte_for_byte(xdist_oom):
    x, _ = xdist_oom
    assert report_of(x.run)["oom_kills"], x.run
    check_replay(x.run, x.work.parent)


def test_oom_xdist_victim_and_trigger_are_different_tests(xdist_oom):
    x, cg = xdist_oom
    run = x.run
    assert x.ids == {"holder": "test_oom_xdist.py::test_holder",
                     "grower": "test_oom_xdist.py::test_grower"}, run
    assert x.holder_pid != x.grower_pid

    rep, o = xdist_first_oom(x, cg)
    # The controller survived and reported the holder's crash as a failure.
    assert run.rc == 1, run
    assert rep["exit_code"] == run.rc, rep
    assert rep["cause"] == "exit", rep
    assert rep["signal"] is None, rep
    v, t = o["victim"], o["trigger"]
    # (The worker fields are checked by the next test.)
    check_party(v, pid=int(x.holder_pid), test=x.ids["holder"], phase="call", worker=v["worker"])
    check_party(t, pid=int(x.grower_pid), test=x.ids["grower"], phase="call", worker=t["worker"])
    assert v["worker"] is not None and t["worker"] is not None, o
    assert rep["pid"] not in (v["pid"], t["pid"])
    check_cgroup(o, cg)
    assert o["victim_rss"]["anon_bytes"] > 400 * MiB, o
    assert v["rss_bytes"] > t["rss_bytes"], o
    check_rerun(o, x.work, x.ids["holder"])
    check_complete(rep)
    assert x.ids["holder"] in run.stderr and x.ids["grower"] in run.stderr, run


def test_oom_xdist_victim_and_trigger_on_different_workers(xdist_oom):
    x, cg = xdist_oom
    assert re.fullmatch(r"gw\d+", x.holder_worker) and re.fullmatch(r"gw\d+", x.grower_worker)
    assert x.holder_worker != x.grower_worker, "xdist ran both tests on one worker"
    rep, o = xdist_first_oom(x, cg)
    v, t = o["victim"], o["trigger"]
    assert v["worker"] == x.holder_worker, o
    assert t["worker"] == x.grower_worker, o
    assert v["worker"] != t["worker"], o
    for later in rep["oom_kills"][1:]:  # the grower, if the kernel killed it too
        assert later["victim"]["worker"] == later["trigger"]["worker"] == x.grower_worker, later


# 6. ------------------------------------------------------------------------------------------

def check_junit_passed_but_killed(junit, nodeid):
    """The test passed (its child's kill was expected) but tktrace adds the kill as an
    <error>: the suite's counts must say so (pytest wrote errors="0")."""
    said, held = junit_counts(junit)
    assert said == held, (said, held, junit.read_text())
    assert held == [(1, 1, 0)], held
    assert "tktrace: killed by the OOM killer" in junit.read_text()


# The cgroup is joined by tktrace itself (--cgroup DIR), not by a shell prefix, and the kill of
# a passing test's child goes into pytest's JUnit XML (--junitxml-merge).
def test_oom_of_subprocess_attributed_to_spawning_test(root, memcg, suite):
    cg = memcg(LIMIT)
    work = suite("test_oom_subprocess.py")
    junit = work / "junit.xml"
    run = run_tktrace(inner_pytest("test_oom_subprocess.py", f"--junitxml={junit}"), work,
                      cgroup=cg, join="tktrace", opts=("--junitxml-merge", str(junit)),
                      env=alloc_env(cg.limit))
    nodeid = nodeids_written(work)["subprocess"]
    assert nodeid == "test_oom_subprocess.py::test_spawns_hog"
    (child,) = map(int, read_pids(work, "child"))
    (pytest_pid,) = map(int, read_pids(work, "pytest"))

    rep, o = single_oom(run)
    assert run.rc == 0, run  # the inner test saw its child die of SIGKILL and passed
    assert rep["exit_code"] == 0 and rep["cause"] == "exit" and rep["signal"] is None, rep
    assert rep["pid"] == pytest_pid
    assert child != pytest_pid
    check_party(o["victim"], pid=child, test=nodeid, phase="call")
    check_party(o["trigger"], pid=child, test=nodeid, phase="call")
    check_cgroup(o, cg)
    check_victim_rss(o, cg.limit)
    check_rerun(o, work, nodeid)
    check_complete(rep)
    check_junit_passed_but_killed(junit, nodeid)


# 7. ------------------------------------------------------------------------------------------

def test_oom_of_multiprocessing_child_attributed_to_spawning_test(root, memcg, suite):
    cg = memcg(LIMIT)
    work = suite("test_oom_mp.py")
    junit = work / "junit.xml"
    run = run_tktrace(inner_pytest("test_oom_mp.py", f"--junitxml={junit}"), work, cgroup=cg,
                      join="tktrace", opts=("--junitxml-merge", str(junit)),
                      env=alloc_env(cg.limit))
    nodeid = nodeids_written(work)["mp"]
    assert nodeid == "test_oom_mp.py::test_forks_hog"
    (child,) = map(int, read_pids(work, "child"))
    (pytest_pid,) = map(int, read_pids(work, "pytest"))

    rep, o = single_oom(run)
    assert run.rc == 0, run
    assert rep["exit_code"] == 0 and rep["cause"] == "exit" and rep["signal"] is None, rep
    assert rep["pid"] == pytest_pid
    assert child != pytest_pid
    # A fork without exec: same comm as pytest, and the test pytest ran when it forked.
    check_party(o["victim"], pid=child, test=nodeid, phase="call")
    check_party(o["trigger"], pid=child, test=nodeid, phase="call")
    check_cgroup(o, cg)
    check_victim_rss(o, cg.limit)
    check_rerun(o, work, nodeid)
    check_complete(rep)
    check_junit_passed_but_killed(junit, nodeid)


# 8. ------------------------------------------------------------------------------------------

def test_oom_under_wrapper_shell(root, memcg, suite):
    cg = memcg(LIMIT)
    work = suite("test_oom_call.py")
    script = (f"{shlex.quote(PYTHON)} -m pytest -p no:cacheprovider -q test_oom_call.py; "
              "echo done")
    run = run_tktrace(["/bin/sh", "-c", script], work, cgroup=cg, env=alloc_env(cg.limit))
    nodeid = nodeids_written(work)["call"]
    pytest_pid, pytest_ppid = map(int, read_pids(work, "call"))

    rep, o = single_oom(run)
    # COMMAND is the shell: it survived pytest's death and ran echo, whose status it returns.
    assert run.stdout.rstrip().endswith("done"), run
    assert run.rc == 0, run
    assert rep["exit_code"] == 0 and rep["cause"] == "exit" and rep["signal"] is None, rep
    assert rep["command"][:2] == ["/bin/sh", "-c"], rep
    assert pytest_ppid == rep["pid"] != pytest_pid  # pytest was the shell's child
    check_party(o["victim"], pid=pytest_pid, test=nodeid, phase="call")
    check_party(o["trigger"], pid=pytest_pid, test=nodeid, phase="call")
    check_cgroup(o, cg)
    check_victim_rss(o, cg.limit)
    check_rerun(o, work, nodeid)
    check_complete(rep)
    # The shell reported pytest's death ("Killed") before tktrace wrote its report.
    head = headline(run.stderr)
    assert head == ("tktrace: /bin/sh exited with status 0 after the OOM killer killed 1 "
                    "traced process"), run


# 9. ------------------------------------------------------------------------------------------

def test_oom_with_long_non_ascii_param_id(root, memcg, suite):
    cg = memcg(LIMIT)
    work = suite("test_oom_longid.py")
    run = run_tktrace(inner_pytest("test_oom_longid.py"), work, cgroup=cg,
                      env=alloc_env(cg.limit))
    nodeid = nodeids_written(work)["long"]
    # What pytest made of it: an id of several KiB, non-ASCII escaped, in several chunks.
    param = nodeid[nodeid.index("[") + 1:-1]
    assert len(param) > 3000
    assert "caf\\xe9" in param and "\\u65e5\\u672c" in param
    assert len(nodeid.encode()) > 3 * 1024
    check_pytest_oom_killed(run, work, cg, cg.limit, phase="call", test=nodeid)
    assert nodeid in run.stderr, run


# 10. -----------------------------------------------------------------------------------------

def test_oom_under_own_memory_limit(root, suite, tmp_path):
    version, mount = memcg_root()
    if not version:
        pytest.skip("no memory cgroup controller mounted: --memory-limit cannot work here")
    limit = 300 * MiB
    assert limit + OVERSHOOT <= MAX_LIMIT
    work = suite("test_oom_call.py")
    pid_file = tmp_path / "tktrace.pid"

    def note_pid():  # in the child, just before it execs tktrace: tktrace's own pid
        pid_file.write_text(str(os.getpid()))

    cg_path = None
    try:
        run = run_tktrace(inner_pytest("test_oom_call.py"), work, opts=["--memory-limit", "300M"],
                          env=alloc_env(limit), preexec_fn=note_pid)
        tktrace_pid = int(pid_file.read_text())
        cg_path = Path(mount) / f"tktrace-{tktrace_pid}"
        nodeid = nodeids_written(work)["call"]
        rep, o = check_pytest_oom_killed(run, work, None, limit, phase="call", test=nodeid)
        assert o["limit_bytes"] == 300 * MiB
        assert o["cgroup"].startswith(mount.rstrip("/") + "/"), o
        assert "tktrace-" in o["cgroup"], o
        assert o["cgroup"] == str(cg_path), o
        assert limit - 64 * MiB <= o["cgroup_usage_bytes"] <= limit, o
        assert not cg_path.exists(), "tktrace left its cgroup behind"
    finally:
        # Never leave a limited cgroup behind, even when tktrace failed to remove it.
        if cg_path is not None and cg_path.exists():
            for _ in range(200):
                try:
                    for p in (cg_path / "cgroup.procs").read_text().split():
                        try:
                            os.kill(int(p), signal.SIGKILL)
                        except ProcessLookupError:
                            pass
                    cg_path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)


# 11. -----------------------------------------------------------------------------------------

def test_oom_with_tracer_inside_the_limited_cgroup(root, memcg, suite, tmp_path):
    """The CI-container case: tktrace itself runs in the cgroup whose limit the suite hits."""
    cg = memcg(LIMIT)
    work = suite("test_oom_call.py")
    pid_file = tmp_path / "tktrace.pid"

    def join_cgroup():  # in the child, before it execs tktrace
        (cg.path / "cgroup.procs").write_text(str(os.getpid()))
        pid_file.write_text(str(os.getpid()))

    run = run_tktrace(inner_pytest("test_oom_call.py"), work, env=alloc_env(cg.limit),
                      preexec_fn=join_cgroup)
    tktrace_pid = int(pid_file.read_text())
    nodeid = nodeids_written(work)["call"]
    rep, o = check_pytest_oom_killed(run, work, cg, cg.limit, phase="call", test=nodeid)
    assert tktrace_pid not in (rep["pid"], o["victim"]["pid"], o["trigger"]["pid"])
    lines = run.stderr.splitlines()
    head = headline(run.stderr)
    assert "killed by the OOM killer" in head, run
