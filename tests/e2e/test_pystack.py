"""Python stacks taken in the kernel at a kill, end to end, on every CPython installed here:
the inner suite (suites/pystack) allocates on lines marked '# AT-NAME' inside a 200 MiB memory
cgroup; the report must name exactly that file and line (not the main thread's frame, not a
neighbouring line). Interpreters: Debian's /usr/bin/python3 and pyenv's 3.8-3.13 builds (with
Debian's pure-Python pytest on PYTHONPATH); an absent one is a skipped test with the reason."""
import glob
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from conftest import (PYTHON, REPO, SUITES, TKTRACE, inner_env, need_root, run_tktrace)

LIMIT = 200 << 20
PYENV = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
DIST = "/usr/lib/python3/dist-packages"


def interpreters():
    """(id, python, extra env): Debian's, then one pyenv build per minor version 3.8-3.13."""
    out = [pytest.param((PYTHON, {}), id="debian")]
    for minor in range(8, 14):
        found = sorted(glob.glob(str(PYENV / f"3.{minor}.*" / "bin" / f"python3.{minor}")))
        out.append(pytest.param((found[-1] if found else None, {"PYTHONPATH": DIST}),
                                id=f"3.{minor}"))
    return out


@pytest.fixture(params=interpreters())
def py(request):
    exe, extra = request.param
    if exe is None:
        pytest.skip(f"no pyenv build of python {request.node.callspec.id.split('-')[-1]} "
                    f"under {PYENV}")
    env = inner_env({"E2E_LIMIT": str(LIMIT), **extra})
    probe = subprocess.run([exe, "-c", "import pytest, xdist"], env=env, capture_output=True,
                           text=True)
    if probe.returncode:
        pytest.skip(f"{exe} cannot import pytest and xdist: {probe.stderr.strip()[-200:]}")
    return exe, env


def marker_line(path, name):
    """The line number of '# AT-NAME' in path."""
    for i, line in enumerate(Path(path).read_text().splitlines(), 1):
        if line.rstrip().endswith(f"# AT-{name}"):
            return i
    raise AssertionError(f"no # AT-{name} in {path}")


def frame_at(frame, work, file, name):
    assert frame["file"] == str(work / file), frame
    assert frame["line"] == marker_line(work / file, name), frame


def inner(exe, *args):
    return [exe, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args]


def one_oom(run):
    assert run.report is not None, run
    ooms = run.report["oom_kills"]
    assert len(ooms) == 1, f"{ooms}\n{run!r}"
    return ooms[0]


def stack_of(party):
    assert party["python_stack"], f"no stack: {party.get('python_stack_error')}: {party}"
    assert party["python_stack_error"] is None, party
    return party["python_stack"]


def at_line_shown(run, work, file, name):
    """The text report's 'at' line: FILE:LINE and the source line read from disk."""
    line = marker_line(work / file, name)
    src = (work / file).read_text().splitlines()[line - 1].strip()
    want = f"  at       {file}:{line}  {src}"
    assert want in run.stderr + run.stdout, f"{want!r} not in the report:\n{run.stderr}"


# The allocation that hits the limit: (inner test file, file of the frame, marker, phase).
CASES = {
    "line": ("test_line.py", "test_line.py", "LINE", "call"),
    "helper": ("test_helper.py", "helpers.py", "HELPER", "call"),
    "setup": ("test_fixture_setup.py", "conftest.py", "SETUP", "setup"),
    "teardown": ("test_fixture_teardown.py", "conftest.py", "TEARDOWN", "teardown"),
    "thread": ("test_thread.py", "test_thread.py", "THREAD", "call"),
    "leader": ("test_leader.py", "test_leader.py", "LEADER", "call"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_trigger_stack(root, stacks, memcg, suite, py, case):
    exe, env = py
    test_file, file, name, phase = CASES[case]
    work = suite("pystack")
    html = work / "report.html"
    run = run_tktrace(inner(exe, test_file), work, cgroup=memcg(LIMIT), env=env,
                      opts=["--html", str(html)])
    assert run.rc == 137, run
    oom = one_oom(run)
    trig = oom["trigger"]
    assert trig["phase"] == phase, trig
    stack = stack_of(trig)
    # The innermost frame is the allocating line itself (the allocation is C code).
    frame_at(stack[0], work, file, name)
    at_line_shown(run, work, file, name)
    # The HTML kill box: the same place, the whole stack folded under it.
    assert f"<th>at</th><td><details><summary><code>{file}:{marker_line(work / file, name)}" \
        "</code>" in html.read_text(), html.read_text()[-3000:]
    if case == "helper":
        frame_at(stack[1], work, "test_helper.py", "HELPER-CALL")
        assert stack[1]["function"] == "test_helper", stack[1]
    if case == "thread":
        # That thread's stack, not the main thread's (which waits in join()).
        assert trig["python_stack_tid"] != trig["pid"], trig
        join = marker_line(work / "test_thread.py", "JOIN")
        assert all(f["line"] != join for f in stack), stack
        assert stack[0]["function"] == "grow", stack[0]
    if case == "leader":
        # The main thread had left: the process ended with its last thread, and the kill,
        # its test and the allocating thread's stack are still the process's.
        assert trig["python_stack_tid"] != trig["pid"], trig
        assert oom["victim"]["pid"] == trig["pid"], oom
        assert stack[0]["function"] == "grow", stack[0]
    if case in ("setup", "teardown"):
        assert stack[0]["function"] == f"hog_{case}", stack[0]


def test_forked_child(root, stacks, memcg, suite, py):
    """multiprocessing's fork: the child runs its parent's interpreter without an exec of its
    own; its stack is the child's (grow), not the parent's (waiting in join)."""
    exe, env = py
    work = suite("pystack")
    run = run_tktrace(inner(exe, "test_mp.py"), work, cgroup=memcg(LIMIT), env=env)
    assert run.rc == 0, run  # the child was killed, the test saw it and passed
    oom = one_oom(run)
    trig = oom["trigger"]
    assert trig["pid"] != run.report["pid"] and trig["pid"] == oom["victim"]["pid"], oom
    stack = stack_of(trig)
    frame_at(stack[0], work, "test_mp.py", "MP")
    join = marker_line(work / "test_mp.py", "MP-JOIN")
    assert all(f["line"] != join for f in stack), stack


def test_numpy_caller_is_innermost(root, stacks, memcg, suite):
    """numpy allocates in C: the innermost Python frame is the test's line calling it."""
    env = inner_env({"E2E_LIMIT": str(LIMIT)})
    if subprocess.run([PYTHON, "-c", "import numpy"], env=env).returncode:
        pytest.skip(f"{PYTHON} has no numpy (Debian: python3-numpy)")
    work = suite("pystack")
    run = run_tktrace(inner(PYTHON, "test_numpy.py"), work, cgroup=memcg(LIMIT), env=env)
    assert run.rc == 137, run
    stack = stack_of(one_oom(run)["trigger"])
    frame_at(stack[0], work, "test_numpy.py", "NUMPY")
    at_line_shown(run, work, "test_numpy.py", "NUMPY")


def xdist_holder_grower(work, exe, env, memcg, opts_of):
    """Run the holder and the grower on two workers until the grower is the trigger; return
    (run, oom, holder pid, grower pid, attempt). Near the limit any process's allocation can
    be the one that fails (the controller's, rarely); the kernel picks, not the test: then run
    again, at most twice more. opts_of(attempt) gives tktrace's options."""
    limit = 2 * LIMIT  # three interpreters (the controller, two workers) besides the blocks
    env = {**env, "E2E_LIMIT": str(limit)}
    for attempt in range(3):
        for name in ("holder.txt", "grower.txt"):
            (work / name).unlink(missing_ok=True)
        run = run_tktrace(inner(exe, "-n", "2", "--dist", "loadfile", "test_xholder.py",
                                "test_xgrower.py"), work, cgroup=memcg(limit), env=env,
                          timeout=120, opts=opts_of(attempt))
        assert run.report is not None, run
        # The holder's kill; the kernel may follow it with one more (the grower, when the
        # holder's memory is not uncharged in time), which is not what this test is about.
        oom = run.report["oom_kills"][0]
        holder = int((work / "holder.txt").read_text())
        grower = int((work / "grower.txt").read_text())
        assert oom["victim"]["pid"] == holder, oom
        if oom["trigger"]["pid"] == grower:
            break
        for old in work.glob("report-*.json"):
            old.unlink()
    assert oom["trigger"]["pid"] == grower, oom
    return run, oom, holder, grower, attempt


def test_xdist_trigger_and_victim(root, stacks, memcg, suite, py, tmp_path):
    """Two workers: the holder (victim, asleep) and the grower (trigger), each its own stack;
    the victim's is taken when its SIGKILL is delivered, in its own context. The recording
    replays both stacks byte for byte."""
    exe, env = py
    work = suite("pystack")
    run, oom, _, _, attempt = xdist_holder_grower(
        work, exe, env, memcg, lambda a: ["--record", str(tmp_path / f"run-{a}.tkt")])
    rec = tmp_path / f"run-{attempt}.tkt"
    assert oom["victim"]["worker"] != oom["trigger"]["worker"], oom
    frame_at(stack_of(oom["victim"])[0], work, "test_xholder.py", "HOLD")
    frame_at(stack_of(oom["trigger"])[0], work, "test_xgrower.py", "GROW")
    at_line_shown(run, work, "test_xholder.py", "HOLD")
    at_line_shown(run, work, "test_xgrower.py", "GROW")
    replayed = tmp_path / "replayed.json"
    rep = subprocess.run([TKTRACE, "report", str(rec), "--json", str(replayed)],
                         capture_output=True, text=True, timeout=60)
    assert rep.returncode == 0 and rep.stderr == "", rep
    live = sorted(work.glob("report-*.json"))[0].read_bytes()
    assert replayed.read_bytes() == live
    txt = subprocess.run([TKTRACE, "report", str(rec)], capture_output=True, text=True, timeout=60)
    assert txt.returncode == 0 and run.stderr.endswith(txt.stdout), (run.stderr, txt.stdout)


def test_xdist_workers_followed_late(root, stacks, memcg, suite, tmp_path):
    """xdist workers whose probes are not attached yet when the OOM kill comes (a busy
    machine; here the follow delay is raised past the run): the victim and the trigger are
    still named with their worker and test, read from each one's environment at the kill."""
    work = suite("pystack")
    run, oom, holder, grower, _ = xdist_holder_grower(work, PYTHON, inner_env(LATE_ENV), memcg,
                                                      lambda a: ["-vv"])
    for pid in (holder, grower):
        not_followed(run, pid)
    victim, trig = oom["victim"], oom["trigger"]
    assert (victim["test"], victim["phase"]) == ("test_xholder.py::test_holder", "call"), victim
    assert (trig["test"], trig["phase"]) == ("test_xgrower.py::test_grower", "call"), trig
    assert {victim["worker"], trig["worker"]} == {"gw0", "gw1"}, oom
    # Each OOM victim's test, killed: the holder's, and the grower's when the kernel killed it
    # too (its charge went on failing before the holder's memory was uncharged).
    killed = {(t["nodeid"], t["worker"]) for t in run.report["tests"] if t["outcome"] == "killed"}
    assert ("test_xholder.py::test_holder", victim["worker"]) in killed, run.report["tests"]
    assert killed == {(o["victim"]["test"], o["victim"]["worker"])
                      for o in run.report["oom_kills"]}, run.report


def test_kill9_in_sleep(root, stacks, suite, py, tmp_path):
    """A test stuck in time.sleep inside a helper, killed by kill -9 from outside."""
    exe, env = py
    work = suite("pystack")
    report = work / f"report-{uuid.uuid4().hex[:8]}.json"
    proc = subprocess.Popen([TKTRACE, "--json", str(report), "--", *inner(exe, "test_sleep.py")],
                            cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        deadline = time.time() + 60
        while not (work / "sleeping.txt").exists() and time.time() < deadline:
            time.sleep(0.05)
        assert (work / "sleeping.txt").exists(), "the inner test never reached its sleep"
        time.sleep(0.3)  # into time.sleep itself
        os.kill(int((work / "sleeping.txt").read_text()), signal.SIGKILL)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 137, err
    import json
    rep = json.loads(report.read_text())
    assert len(rep["kills"]) == 1, rep["kills"]
    stack = stack_of(rep["kills"][0]["target"])
    frame_at(stack[0], work, "helpers.py", "SLEEP")
    frame_at(stack[1], work, "test_sleep.py", "SLEEP-CALL")


@pytest.mark.parametrize("minor", range(8, 14))
def test_offsets_match_headers(minor, tmp_path):
    """tktrace's offset table against each installed version's own headers."""
    inc = sorted(glob.glob(str(PYENV / f"3.{minor}.*" / "include" / f"python3.{minor}")))
    if not inc or not Path(inc[-1], "internal").is_dir():
        pytest.skip(f"no headers of python 3.{minor} with internal/ under {PYENV}")
    exe = tmp_path / "check"
    core = REPO / "user" / "core"  # pystack.c and util.c, the pure layer
    cc = subprocess.run(["cc", "-I", str(REPO / "include"), "-I", str(core), "-I", inc[-1],
                         str(REPO / "tests/pyoffsets/check.c"), str(core / "pystack.c"),
                         str(core / "util.c"), "-o", str(exe)], capture_output=True, text=True)
    assert cc.returncode == 0, cc.stderr
    res = subprocess.run([str(exe)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout
    assert res.stdout.count("ok ") >= 20, res.stdout


def test_why_no_stack(root, kernel_stacks, memcg, tmp_path):
    """Without a stack the report says why: a C program ("not a python process"), a CPython
    without offsets ("unsupported python 3.7", when pyenv has one), and, on a kernel without
    bpf_loop, any process ("no stacks on this kernel"), in the JSON and with -v."""
    cg = memcg(LIMIT)
    run = run_tktrace(["dd", "if=/dev/zero", "of=/dev/null", f"bs={2 * LIMIT}", "count=1"],
                      tmp_path, cgroup=cg)
    trig = one_oom(run)["trigger"]
    hog = "x = []\nwhile True:\n    x.append(b'\\x01' * (8 << 20))\n"
    if not kernel_stacks[0]:
        why = "no stacks on this kernel (bpf_loop: 5.17+)"
        assert trig["python_stack"] is None and trig["python_stack_error"] == why, trig
        run = run_tktrace([PYTHON, "-c", hog], tmp_path, cgroup=memcg(LIMIT), opts=["-v"])
        trig = one_oom(run)["trigger"]
        assert trig["python_stack"] is None and trig["python_stack_error"] == why, trig
        assert f"(no python stack: {why})" in run.stderr, run.stderr
        return
    assert trig["python_stack"] is None and trig["python_stack_error"] == "not a python process", trig
    old = sorted(glob.glob(str(PYENV / "3.7.*" / "bin" / "python3.7")))
    if not old:
        pytest.skip(f"no pyenv build of python 3.7 under {PYENV}")
    run = run_tktrace([old[-1], "-c", hog], tmp_path, cgroup=memcg(LIMIT))
    trig = one_oom(run)["trigger"]
    assert trig["python_stack"] is None, trig
    assert trig["python_stack_error"] == "unsupported python 3.7", trig


@pytest.fixture(scope="module")
def refusing_tktrace(tmp_path_factory):
    """tktrace built with stack programs that every verifier refuses (make
    BPF_CFLAGS=-DTKT_TEST_REFUSE_STACKS: they load through a number), in a build directory of
    its own."""
    need_root()
    missing = [t for t in ("make", "clang", "bpftool") if not shutil.which(t)]
    if missing:
        pytest.skip(f"cannot build the refusing variant of tktrace: no {', '.join(missing)}")
    build = tmp_path_factory.mktemp("refuse")
    made = subprocess.run(["make", "-C", str(REPO), f"BUILD={build}",
                           "BPF_CFLAGS=-DTKT_TEST_REFUSE_STACKS", f"{build}/tktrace"],
                          capture_output=True, text=True, timeout=900)
    assert made.returncode == 0, made.stdout[-2000:] + made.stderr[-3000:]
    return str(build / "tktrace")


def test_refused_stack_programs(root, stacks, memcg, suite, refusing_tktrace):
    """A kernel whose verifier refuses the stack programs (Debian's 6.1 did) still traces: one
    warning line, the OOM kill named by test and phase through the libc probes, and the
    reports say why no stack came instead of 'not captured'."""
    exe, env = PYTHON, inner_env({"E2E_LIMIT": str(LIMIT)})
    work = suite("pystack")
    run = run_tktrace(inner(exe, "test_line.py"), work, cgroup=memcg(LIMIT), env=env,
                      binary=refusing_tktrace)
    warned = [l for l in run.stderr.splitlines() if "refused the optional BPF programs" in l]
    assert len(warned) == 1, run.stderr
    assert "kills are reported without Python stacks" in warned[0], warned
    assert run.rc == 137, run
    trig = one_oom(run)["trigger"]
    assert trig["test"] == "test_line.py::test_line", trig
    assert trig["phase"] == "call", trig
    why = "no stacks on this kernel (its verifier refused the stack programs)"
    assert trig["python_stack"] is None and trig["python_stack_error"] == why, trig
    # The same build without the test flag takes the stack (the refusal is the flag's doing).
    run = run_tktrace(inner(exe, "test_line.py"), work, cgroup=memcg(LIMIT), env=env)
    assert "refused the optional BPF programs" not in run.stderr, run.stderr
    frame_at(stack_of(one_oom(run)["trigger"])[0], work, "test_line.py", "LINE")


# A Python that sets pytest's variables itself, as an xdist worker does, then is killed: by the
# OOM killer (its own allocation), or by kill -9 while it sleeps; or one that only inherited
# PYTEST_CURRENT_TEST from its parent, which is not a test of its own.
LATE = f"""import os, sys, time
if sys.argv[1] != "inherit":
    os.environ["PYTEST_XDIST_WORKER"] = "gw7"
    os.environ["PYTEST_CURRENT_TEST"] = "tests/test_late.py::test_late[x] (call)"
if sys.argv[1] == "kill":
    open(sys.argv[2], "w").write(str(os.getpid()))
    time.sleep(60)
b = bytearray({2 * LIMIT})
"""
LATE_ENV = {"TKTRACE_FOLLOW_DELAY_MS": "60000"}  # its probes come after its kill


def not_followed(run, pid):
    """The kill came before the process's libc probes: what names its test is the read at
    the kill (tktrace -vv says when it attaches them)."""
    assert f"pid {pid} (" in run.stderr or str(pid) in run.stderr, run.stderr
    assert not re.search(rf"pid {pid} \([^)]*\): libc probes attached", run.stderr), run.stderr


@pytest.mark.parametrize("how", ["oom", "inherit"])
def test_env_read_at_oom_kill(root, stacks, memcg, tmp_path, how):
    """The test and worker of a Python OOM-killed before its probes were attached (on a busy
    machine an xdist worker's come 0.5 s or more after it starts; here the follow delay is
    raised) come from its environment, read in the kernel as it is killed; a value it only
    inherited names nothing."""
    (tmp_path / "late.py").write_text(LATE)
    run = run_tktrace(["sh", "-c", f"{PYTHON} late.py {how}; exit 3"], tmp_path,
                      cgroup=memcg(LIMIT), opts=["-vv"],
                      env=inner_env({**LATE_ENV, "PYTEST_CURRENT_TEST": "a.py::t (call)"}
                                    if how == "inherit" else LATE_ENV))
    oom = one_oom(run)
    victim, trig = oom["victim"], oom["trigger"]
    assert victim["pid"] == trig["pid"], oom
    not_followed(run, victim["pid"])
    if how == "inherit":
        assert victim["test"] is None and trig["test"] is None, oom
        assert run.report["tests"] == [], run.report["tests"]
        return
    for party in (victim, trig):
        assert (party["test"], party["phase"], party["worker"]) == \
            ("tests/test_late.py::test_late[x]", "call", "gw7"), party
    tests = run.report["tests"]
    assert [(t["nodeid"], t["worker"], t["outcome"]) for t in tests] == \
        [("tests/test_late.py::test_late[x]", "gw7", "killed")], tests
    assert "rerun" in run.stderr and "tests/test_late.py::test_late[x]" in run.stderr


def test_env_read_at_sigkill(root, stacks, tmp_path):
    """The same for a kill -9 from outside, read at the signal's delivery."""
    (tmp_path / "late.py").write_text(LATE)
    pidfile = tmp_path / "pid.txt"
    report = tmp_path / "report.json"
    errfile = tmp_path / "stderr.txt"
    with open(errfile, "w") as errf:  # -vv says much: a pipe nobody reads would fill
        proc = subprocess.Popen([TKTRACE, "-vv", "--json", str(report), "--", "sh", "-c",
                                 f"{PYTHON} late.py kill {pidfile}; exit 3"], cwd=tmp_path,
                                env=inner_env(LATE_ENV), stdout=subprocess.DEVNULL,
                                stderr=errf)
    try:
        deadline = time.time() + 60
        while not (pidfile.exists() and pidfile.read_text()) and time.time() < deadline:
            time.sleep(0.01)
        pid = int(pidfile.read_text())
        os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = errfile.read_text()
    import json
    rep = json.loads(report.read_text())
    assert len(rep["kills"]) == 1, rep["kills"]
    target = rep["kills"][0]["target"]
    assert target["pid"] == pid, target
    assert not re.search(rf"pid {pid} \([^)]*\): libc probes attached", err), err
    assert (target["test"], target["phase"], target["worker"]) == \
        ("tests/test_late.py::test_late[x]", "call", "gw7"), target
    assert [(t["nodeid"], t["outcome"]) for t in rep["tests"]] == \
        [("tests/test_late.py::test_late[x]", "killed")], rep["tests"]
