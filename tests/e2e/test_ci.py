"""CI features end to end, with the real tktrace on real OOM kills in memory cgroups of at most
1 GiB: GitHub Actions annotations and job summary, the static binary, --best-effort, --warn-at
and --junitxml-merge. Expected values come from what the inner tests record themselves
(their node ids, pids, workers) and from the test sources, never hard-coded."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import (MAX_LIMIT, PYTHON, REPO, SUITES, TKTRACE, MemCgroup, inner_env,
                      inner_pytest, kernel_peak_usage, need_root, nodeids_written, run_tktrace)

MiB = 1 << 20
LIMIT = 400 * MiB
NOBODY = 65534

# A suite in a sub-directory, the hog a parametrized method of a class, with a namesake
# function before the class: the annotation must point at the method's def line.
CLASS_SUITE = '''\
import os
from pathlib import Path

import numpy as np
import pytest

ALLOC = int(os.environ["E2E_ALLOC"])


def test_hog():
    pass


class TestBig:
    def test_small(self):
        pass

    @pytest.mark.parametrize("n", [1])
    def test_hog(self, request, n):
        Path("nodeid-hog.txt").write_text(request.node.nodeid)
        big = np.ones(ALLOC, dtype=np.uint8)  # every page touched
        assert big[-1] == 1, "should have been OOM-killed"
'''


def def_line(path, func, cls=None):
    """1-based line of `def func` (inside `class cls` when given), read from the source."""
    lines = Path(path).read_text().splitlines()
    start = 0
    if cls:
        start = next(i for i, l in enumerate(lines) if re.match(rf"class {cls}\b", l))
    for i in range(start, len(lines)):
        if re.match(rf"\s*(async\s+)?def {func}\(", lines[i]):
            return i + 1
    raise AssertionError(f"no def {func} in {path}")


def gha_env(work, summary, extra=None):
    env = inner_env({"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary),
                     "GITHUB_WORKSPACE": str(work), "E2E_ALLOC": str(LIMIT + 200 * MiB)})
    if extra:
        env.update(extra)
    return env


def workflow_commands(stdout):
    return [l for l in stdout.splitlines() if l.startswith("::")]


def parse_command(line):
    """'::error file=a,line=3,title=t::msg' -> ('error', {'file': 'a', ...}, 'msg')."""
    m = re.match(r"::(\w+) ?([^:]*)::(.*)$", line)
    assert m, line
    props = dict(p.split("=", 1) for p in m.group(2).split(",") if p)
    unesc = lambda s: s.replace("%0A", "\n").replace("%0D", "\r").replace("%3A", ":") \
        .replace("%2C", ",").replace("%25", "%")
    return m.group(1), {k: unesc(v) for k, v in props.items()}, unesc(m.group(3))


# -- GitHub Actions ---------------------------------------------------------------------------

def test_github_actions_error_and_summary(root, stacks, memcg, tmp_path):
    cg = memcg(LIMIT)
    work = tmp_path / "proj"
    (work / "tests").mkdir(parents=True)
    (work / "tests" / "test_big.py").write_text(CLASS_SUITE)
    summary = tmp_path / "summary.md"
    summary.write_text("# earlier step\n")  # the runner's file: appended to, not replaced
    run = run_tktrace(inner_pytest("tests/test_big.py"), work, cgroup=cg,
                      env=gha_env(work, summary))
    nodeid = nodeids_written(work)["hog"]
    assert nodeid == "tests/test_big.py::TestBig::test_hog[1]"
    assert run.report and len(run.report["oom_kills"]) == 1, run
    assert run.rc == 137, run

    cmds = [parse_command(l) for l in workflow_commands(run.stdout)]
    errors = [c for c in cmds if c[0] == "error"]
    assert len(errors) == 1, run.stdout
    _, props, msg = errors[0]
    assert props["file"] == "tests/test_big.py", props  # relative to GITHUB_WORKSPACE
    # At the line that was allocating when the limit was hit (its Python stack, taken in the
    # kernel), not at either test_hog's def line.
    src = (work / "tests/test_big.py").read_text().splitlines()
    want = next(i + 1 for i, l in enumerate(src) if "big = np.ones(" in l)
    assert want != def_line(work / "tests/test_big.py", "test_hog", cls="TestBig")
    assert int(props["line"]) == want, props
    assert nodeid in msg and "OOM killer" in msg and "call phase" in msg, msg
    assert run.report["oom_kills"][0]["rerun"] in msg, msg

    text = summary.read_text()
    assert text.startswith("# earlier step\n### tktrace: "), text
    assert "was killed by the OOM killer" in text.splitlines()[1], text
    assert f"| victim | `{nodeid}` | call |" in text, text
    assert "#### Tests by memory needed" in text, text
    # The summary is the job's, readable as Markdown: no workflow commands in it.
    assert "::error" not in text

    # Plain text elsewhere: the same run without GITHUB_ACTIONS prints no workflow command.
    env = gha_env(work, summary)
    del env["GITHUB_ACTIONS"]
    before = summary.read_text()
    run2 = run_tktrace(inner_pytest("tests/test_big.py"), work, cgroup=memcg(LIMIT), env=env)
    assert run2.rc == 137, run2
    assert workflow_commands(run2.stdout) == [], run2.stdout
    assert summary.read_text() == before
    assert "killed by the OOM killer" in run2.stderr


# -- static binary ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def static_bin():
    """build/tktrace-static next to the tested binary (made here if missing)."""
    path = Path(os.environ.get("TKTRACE_STATIC") or Path(TKTRACE).parent / "tktrace-static")
    if not path.exists():
        build = path.parent
        proc = subprocess.run(["make", "-C", str(REPO), f"BUILD={build}", "static"],
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
    assert path.exists()
    return path


def test_static_binary_is_static(static_bin):
    if not shutil.which("ldd"):
        pytest.skip("ldd is not installed")
    proc = subprocess.run(["ldd", str(static_bin)], capture_output=True, text=True)
    assert "not a dynamic executable" in proc.stdout + proc.stderr, proc
    # No program interpreter (PT_INTERP) among its ELF program headers.
    import struct
    data = static_bin.read_bytes()
    assert data[:4] == b"\x7fELF" and data[4] == 2, "not a 64-bit ELF"
    end = "<" if data[5] == 1 else ">"
    phoff, = struct.unpack_from(end + "Q", data, 0x20)
    phentsize, phnum = struct.unpack_from(end + "HH", data, 0x36)
    types = [struct.unpack_from(end + "I", data, phoff + i * phentsize)[0] for i in range(phnum)]
    assert types and 3 not in types, types


def test_static_binary_traces_oom_without_its_libraries(root, memcg, suite, static_bin):
    """Under an empty LD_LIBRARY_PATH and with libbpf and libelf hidden (a mount namespace
    binds /dev/null over them), the dynamic tktrace cannot start; the static one traces."""
    if not shutil.which("unshare"):
        pytest.skip("unshare (util-linux) is not installed")
    libs = []
    for name in ("libbpf.so.1", "libelf.so.1"):
        for d in ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
                  "/usr/lib64", "/lib64"):
            p = Path(d) / name
            if p.exists():
                libs.append(str(p.resolve()))
                break
    # A machine with none of them installed (the case the static binary is for) needs no hiding.
    hide = " && ".join(["true"] + [f"mount --bind /dev/null {l}" for l in libs])

    def hidden(binary, cg, work):
        args = [str(binary), "--json", str(work / "r.json"), "--", *cg.join_cmd(),
                *inner_pytest("test_oom_call.py")]
        env = inner_env({"E2E_ALLOC": str(LIMIT + 200 * MiB), "LD_LIBRARY_PATH": ""})
        return subprocess.run(["unshare", "-m", "sh", "-c",
                               f"mount --make-rprivate / && {hide} && exec \"$@\"", "sh", *args],
                              cwd=work, env=env, capture_output=True, text=True, timeout=180)

    work = suite("test_oom_call.py")
    if libs and Path(TKTRACE).resolve() != static_bin.resolve():
        dyn = hidden(TKTRACE, memcg(LIMIT), work)
        assert dyn.returncode == 127 and "error while loading shared libraries" in dyn.stderr, dyn
    proc = hidden(static_bin, memcg(LIMIT), work)
    assert proc.returncode == 137, proc
    rep = json.loads((work / "r.json").read_text())
    assert len(rep["oom_kills"]) == 1, rep
    assert rep["oom_kills"][0]["victim"]["test"] == nodeids_written(work)["call"], rep


def test_static_binary_drops_privileges_without_nss(root, static_bin, tmp_path):
    """Under sudo (SUDO_UID/SUDO_GID) the static binary runs COMMAND as that user with its
    groups from /etc/group, without loading any NSS module."""
    if not shutil.which("strace"):
        pytest.skip("strace is not installed: cannot see which files are opened")
    import pwd
    try:
        nobody = pwd.getpwuid(NOBODY)
    except KeyError:
        pytest.skip("no user 65534 in /etc/passwd")
    out = tmp_path / "strace.txt"
    env = inner_env({"SUDO_UID": str(NOBODY), "SUDO_GID": str(nobody.pw_gid)})
    proc = subprocess.run(["strace", "-o", str(out), "-e", "trace=openat", str(static_bin), "-q",
                           "--", "/bin/sh", "-c", "id -u; id -g; echo $USER $HOME"],
                          cwd="/", env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc
    assert proc.stdout.split() == [str(NOBODY), str(nobody.pw_gid), nobody.pw_name,
                                   nobody.pw_dir], proc
    opened = out.read_text()
    assert "/etc/passwd" in opened and "/etc/group" in opened, opened
    assert "libnss" not in opened, opened


# -- --best-effort ----------------------------------------------------------------------------

def as_nobody(args, env=None):
    setpriv = shutil.which("setpriv")
    if not setpriv:
        pytest.skip("setpriv (util-linux) is not installed: cannot run tktrace as nobody")
    return subprocess.run([setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                           *args], cwd="/", env=env or inner_env(), capture_output=True,
                          text=True, timeout=60)


@pytest.fixture
def nobody_bin():
    """A copy of tktrace nobody can reach, whatever the permissions of the checkout."""
    d = Path(tempfile.mkdtemp(prefix="tktrace-ci-"))
    d.chmod(0o755)
    exe = d / "tktrace"
    shutil.copy2(TKTRACE, exe)
    exe.chmod(0o755)
    yield exe
    shutil.rmtree(d)


def test_best_effort_without_privileges_runs_command(root, nobody_bin):
    # Without --best-effort: tktrace's own failure, nothing run.
    proc = as_nobody([str(nobody_bin), "--", "/bin/sh", "-c", "echo ran; exit 7"])
    assert proc.returncode == 125 and "ran" not in proc.stdout, proc
    # With it: COMMAND runs, as nobody, untraced, and its status passes through exactly.
    for status in (0, 7, 255):
        proc = as_nobody([str(nobody_bin), "--best-effort", "--", "/bin/sh", "-c",
                          f"id -u; exit {status}"])
        assert proc.returncode == status, proc
        assert proc.stdout.split() == [str(NOBODY)], proc
        assert "--best-effort: running /bin/sh untraced" in proc.stderr, proc
        assert "no privileges" in proc.stderr, proc
    # A signal too: tktrace has become COMMAND, so COMMAND's death is its own.
    proc = as_nobody([str(nobody_bin), "--best-effort", "--", "/bin/sh", "-c", "kill -TERM $$"])
    assert proc.returncode == -15, proc
    proc = as_nobody([str(nobody_bin), "--best-effort", "--", "/nonexistent/cmd"])
    assert proc.returncode == 127, proc
    # In GitHub Actions the job shows why the tests ran untraced.
    proc = as_nobody([str(nobody_bin), "--best-effort", "--", "/bin/sh", "-c", "exit 4"],
                     env=inner_env({"GITHUB_ACTIONS": "true"}))
    assert proc.returncode == 4, proc
    cmds = [parse_command(l) for l in workflow_commands(proc.stdout)]
    assert len(cmds) == 1 and cmds[0][0] == "warning", proc.stdout
    assert "no privileges" in cmds[0][2] and "untraced" in cmds[0][2], cmds


def test_best_effort_without_btf(root, tmp_path):
    """As root on a kernel without BTF (a tmpfs hides /sys/kernel/btf in a mount namespace)."""
    if not shutil.which("unshare"):
        pytest.skip("unshare (util-linux) is not installed")
    report = tmp_path / "r.json"

    def no_btf(*opts):
        return subprocess.run(["unshare", "-m", "sh", "-c",
                               "mount --make-rprivate / && mount -t tmpfs none /sys/kernel/btf "
                               "&& exec \"$@\"", "sh", TKTRACE, *opts, "--", "/bin/sh", "-c",
                               "echo ran; exit 3"],
                              env=inner_env(), capture_output=True, text=True, timeout=60)

    proc = no_btf("--json", str(report))
    assert proc.returncode == 125 and "ran" not in proc.stdout, proc
    assert "no BTF" in proc.stderr, proc
    proc = no_btf("--best-effort", "--json", str(report))
    assert proc.returncode == 3 and proc.stdout == "ran\n", proc
    assert "no BTF" in proc.stderr and "untraced" in proc.stderr, proc
    assert not report.exists(), "an empty report file was left behind"


# -- --warn-at --------------------------------------------------------------------------------

WARN_SUITE = '''\
import os
import time
from pathlib import Path

import numpy as np

GROW = int(os.environ["E2E_GROW"])


def record(name, request):
    Path(f"nodeid-{name}.txt").write_text(request.node.nodeid)
    Path(f"worker-{name}.txt").write_text(os.environ.get("PYTEST_XDIST_WORKER", ""))
    Path(f"pid-{name}.txt").write_text(str(os.getpid()))


def saw_live_warning():
    """tktrace's stderr (a file, E2E_TKTRACE_STDERR) shows the warning while this test still
    runs: printed live, not at exit."""
    path = os.environ.get("E2E_TKTRACE_STDERR")
    if not path:
        return
    deadline = time.time() + 20
    while "tktrace: warning: memory cgroup" not in Path(path).read_text():
        if time.time() > deadline:
            Path("live-warning.txt").write_text("not seen in 20 s")
            return
        time.sleep(0.05)
    Path("live-warning.txt").write_text("seen")


def test_grower(request):
    record("grower", request)
    deadline = time.time() + 60
    while not Path("sleeper-ready.txt").exists():
        assert time.time() < deadline
        time.sleep(0.05)
    chunks = []
    for _ in range(GROW // (10 << 20)):
        chunks.append(np.ones(10 << 20, dtype=np.uint8))
        time.sleep(0.02)
    saw_live_warning()
    time.sleep(1.5)  # held above the threshold for many samples: still one warning
    Path("grower-done.txt").write_text("1")


def test_sleeper(request):
    record("sleeper", request)
    Path("sleeper-ready.txt").write_text("1")
    deadline = time.time() + 60
    while not Path("grower-done.txt").exists():
        assert time.time() < deadline
        time.sleep(0.05)
'''


def test_warn_at_reports_resident_tests(root, memcg, tmp_path):
    work = tmp_path / "suite"
    work.mkdir()
    (work / "test_warn.py").write_text(WARN_SUITE)
    limit = 600 * MiB
    cg = memcg(limit)  # the harness's, so that the kernel's own peak can be read after
    # Three Pythons (controller, two workers) take ~150 MiB; the grower adds 300 MiB more:
    # past 50 % of the limit, far from an OOM kill.
    stderr = work / "tktrace.err"
    summary = tmp_path / "summary.md"
    env = gha_env(work, summary, {"E2E_GROW": str(300 * MiB), "E2E_TKTRACE_STDERR": str(stderr)})
    run = run_tktrace(inner_pytest("-n", "2", "--dist", "load", "test_warn.py"), work,
                      cgroup=cg, join="tktrace", opts=("--warn-at", "50"), env=env,
                      stderr_path=stderr)
    kernel_peak = kernel_peak_usage(cg)
    assert run.rc == 0, run
    # The grower saw the warning on tktrace's stderr while it still ran.
    assert (work / "live-warning.txt").read_text() == "seen", run
    ids = nodeids_written(work)
    workers = {n: (work / f"worker-{n}.txt").read_text() for n in ("grower", "sleeper")}
    assert workers["grower"] != workers["sleeper"], "xdist ran both tests on one worker"
    rep = run.report
    assert rep["oom_kills"] == [], run
    warnings = rep["warnings"]
    assert len(warnings) == 1, warnings  # once per crossing
    w = warnings[0]
    assert w["threshold_percent"] == 50 and w["limit_bytes"] == limit, w
    assert w["usage_bytes"] >= limit // 2, w
    if kernel_peak is not None:  # a sample can never exceed the kernel's high-water mark
        assert w["usage_bytes"] <= kernel_peak, (w, kernel_peak)
    running = {r["test"]: r for r in w["running"] if r["test"]}
    for name in ("grower", "sleeper"):
        r = running.get(ids[name])
        assert r, f"{ids[name]} not resident in {w}"
        assert r["worker"] == workers[name] and r["phase"] == "call", r
    # Printed live, once, with the same tests.
    assert run.stderr.count("tktrace: warning: memory cgroup") == 1, run
    block = run.stderr.split("tktrace: warning: memory cgroup", 1)[1]
    assert f"worker {workers['grower']}: {ids['grower']} [call]" in block, run
    assert f"worker {workers['sleeper']}: {ids['sleeper']} [call]" in block, run
    # GitHub Actions: one ::warning annotation naming both tests, and the summary's section
    # with each test's pid and worker.
    warns = [parse_command(l) for l in workflow_commands(run.stdout)]
    warns = [c for c in warns if c[0] == "warning"]
    assert len(warns) == 1, run.stdout
    _, props, msg = warns[0]
    assert props["title"] == "tktrace: memory limit nearly reached", props
    assert msg.startswith("Memory cgroup at "), msg
    assert ids["grower"] in msg and ids["sleeper"] in msg, msg
    md = summary.read_text()
    assert md.count("#### Memory limit nearly reached") == 1, md
    section = md.split("#### Memory limit nearly reached", 1)[1]
    for name in ("grower", "sleeper"):
        pid = (work / f"pid-{name}.txt").read_text()
        assert f"- pid {pid} worker {workers[name]}: `{ids[name]}` [call]" in section, md


def test_warn_at_off(root, tmp_path):
    work = tmp_path / "suite"
    work.mkdir()
    (work / "test_warn.py").write_text(WARN_SUITE)
    run = run_tktrace(inner_pytest("-n", "2", "test_warn.py"), work,
                      opts=("--memory-limit", "600M", "--warn-at", "0"),
                      env=inner_env({"E2E_GROW": str(300 * MiB)}))
    assert run.rc == 0, run
    assert run.report["warnings"] == [], run.report["warnings"]
    assert "tktrace: warning: memory cgroup" not in run.stderr


# -- --junitxml-merge -------------------------------------------------------------------------

def junit_cases(path):
    root = ET.parse(path).getroot()  # well-formed, or this raises
    return root, {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}


def test_junitxml_merge_xdist_worker_killed(root, tmp_path):
    """pytest-xdist records the test a crashed worker ran as a failure; tktrace adds why."""
    need_root()
    cg = MemCgroup(700 * MiB)
    try:
        work = tmp_path / "suite"
        work.mkdir()
        shutil.copy(SUITES / "test_oom_xdist.py", work)
        env = inner_env({"E2E_HOLD": str(450 * MiB), "E2E_CHUNK": str(20 * MiB),
                         "E2E_GROW_MAX": str(500 * MiB)})
        junit = work / "junit.xml"
        run = run_tktrace(inner_pytest("-n", "2", "--dist", "load", "test_oom_xdist.py",
                                       f"--junitxml={junit}"), work, cgroup=cg, env=env,
                          opts=("--junitxml-merge", str(junit)))
    finally:
        cg.remove()
    ids = nodeids_written(work)
    rep = run.report
    assert rep and rep["oom_kills"], run
    victim = rep["oom_kills"][0]["victim"]
    assert victim["test"] == ids["holder"], rep
    root_el, cases = junit_cases(junit)
    case = cases[("test_oom_xdist", "test_holder")]
    # xdist reports the crash as an error ("failed on setup with ...") or a failure.
    fail = case.find("failure") if case.find("failure") is not None else case.find("error")
    assert fail is not None, ET.tostring(case)
    assert "crashed" in fail.get("message"), fail.attrib  # xdist's own, kept
    text = fail.text or ""
    assert text.startswith("tktrace: killed by the OOM killer in its call phase on worker "
                           f"{victim['worker']}"), text
    assert rep["oom_kills"][0]["rerun"] in text, text
    assert "crashed" in text  # xdist's text follows
    # The grower's case is pytest's own, untouched unless it was killed too.
    if len(rep["oom_kills"]) == 1:
        assert cases[("test_oom_xdist", "test_grower")].find("error") is None


def test_junitxml_merge_pytest_killed(root, memcg, suite):
    """pytest itself OOM-killed writes no XML: tktrace writes one with the killed test as an
    error, replacing a previous run's file."""
    cg = memcg(LIMIT)
    work = suite("test_oom_call.py")
    junit = work / "junit.xml"
    junit.write_text("<testsuites><testsuite tests='9'/></testsuites>")
    old = time.time() - 3600
    os.utime(junit, (old, old))
    run = run_tktrace(inner_pytest("test_oom_call.py", f"--junitxml={junit}"), work, cgroup=cg,
                      env=inner_env({"E2E_ALLOC": str(LIMIT + 200 * MiB)}),
                      opts=("--junitxml-merge", str(junit)))
    assert run.rc == 137, run
    nodeid = nodeids_written(work)["call"]
    root_el, cases = junit_cases(junit)
    suite_el = root_el.find("testsuite")
    assert suite_el.get("tests") == "1" and suite_el.get("errors") == "1", ET.tostring(root_el)
    assert list(cases) == [("test_oom_call", "test_hog")], cases
    err = cases[("test_oom_call", "test_hog")].find("error")
    assert err.get("message").startswith("tktrace: killed by the OOM killer in its call phase")
    assert nodeid in err.text and "rerun" in err.text, err.text
    assert "killed before it wrote its JUnit XML" in junit.read_text()


def test_junitxml_merge_nothing_killed(root, suite):
    """Nothing killed: pytest's file is left exactly as pytest wrote it. A shell around
    pytest copies the file after pytest exits, before tktrace's merge runs."""
    work = suite("cli_pass")
    junit = work / "junit.xml"
    copy = work / "junit-as-pytest-wrote-it.xml"
    cmd = ["/bin/sh", "-c", 'rc=0; "$@" || rc=$?; cp -p junit.xml ' + copy.name + '; exit $rc',
           "sh", *inner_pytest(f"--junitxml={junit}")]
    run = run_tktrace(cmd, work, opts=("--junitxml-merge", str(junit)))
    assert run.rc == 0, run
    before = copy.read_bytes()
    assert b"<testcase" in before  # pytest really wrote it
    assert junit.read_bytes() == before


# -- kills that fail no test ------------------------------------------------------------------

POPEN_KILL_SUITE = '''\
import subprocess
from pathlib import Path


def test_kills_its_sleep(request):
    Path("nodeid-popen.txt").write_text(request.node.nodeid)
    p = subprocess.Popen(["sleep", "100"])
    Path("pid-sleep.txt").write_text(str(p.pid))
    p.kill()
    assert p.wait() == -9
'''


def popen_kill_run(tmp_path, opts=()):
    work = tmp_path / "proj"
    work.mkdir()
    (work / "test_popen.py").write_text(POPEN_KILL_SUITE)
    summary = tmp_path / "summary.md"
    junit = work / "junit.xml"
    run = run_tktrace(inner_pytest("test_popen.py", f"--junitxml={junit}"), work,
                      env=gha_env(work, summary), opts=opts)
    return work, summary, junit, run


def test_kill_of_own_subprocess_is_no_error(root, tmp_path):
    """A passing test that kills its own `sleep` (Popen(...).kill()): the kill is in the
    report, but no ::error annotation, and tktrace exits with pytest's 0."""
    work, summary, _, run = popen_kill_run(tmp_path)
    assert run.rc == 0, run
    sleep_pid = int((work / "pid-sleep.txt").read_text())
    kills = run.report["kills"]
    assert [k["target"]["pid"] for k in kills] == [sleep_pid], run.report
    assert kills[0]["target"]["test"] == nodeids_written(work)["popen"]
    cmds = [parse_command(l) for l in workflow_commands(run.stdout)]
    assert [c for c in cmds if c[0] == "error"] == [], run.stdout
    assert "of a test's subprocess" in summary.read_text()


def test_junit_kill_of_own_subprocess_is_no_error(root, tmp_path):
    junit = tmp_path / "proj" / "junit.xml"
    work, _, _, run = popen_kill_run(tmp_path, opts=("--junitxml-merge", str(junit)))
    assert run.rc == 0, run
    assert run.report["kills"], run.report
    _, cases = junit_cases(junit)
    case = cases[("test_popen", "test_kills_its_sleep")]
    assert case.find("error") is None and case.find("failure") is None, ET.tostring(case)
    assert b"tktrace" not in junit.read_bytes()


# -- node ids relative to pytest's rootdir, not its cwd -----------------------------------------

ROOTDIR_SUITE = '''\
import os
from pathlib import Path

import numpy as np

ALLOC = int(os.environ["E2E_ALLOC"])


def helper():
    pass


def test_hog(request):
    Path("nodeid-hog.txt").write_text(request.node.nodeid)
    big = np.ones(ALLOC, dtype=np.uint8)  # every page touched
    assert big[-1] == 1, "should have been OOM-killed"
'''


@pytest.mark.parametrize("xdist", [(), ("-n", "1")], ids=["plain", "xdist"])
def test_rootdir_above_cwd(root, stacks, memcg, tmp_path, xdist):
    """cd tests && pytest, with pytest.ini one level up: node ids are relative to the rootdir.
    The rerun command must cd there, and the annotation name the file and its def line (with
    xdist each worker finds it)."""
    cg = memcg(LIMIT)
    work = tmp_path / "proj"
    (work / "tests").mkdir(parents=True)
    (work / "pytest.ini").write_text("[pytest]\n")
    (work / "tests" / "test_rootdir.py").write_text(ROOTDIR_SUITE)
    summary = tmp_path / "summary.md"
    run = run_tktrace(inner_pytest(*xdist, "test_rootdir.py"), work / "tests", cgroup=cg,
                      env=gha_env(work, summary))
    assert run.rc == (1 if xdist else 137), run  # xdist reports its crashed worker
    nodeid = nodeids_written(work / "tests")["hog"]
    assert nodeid == "tests/test_rootdir.py::test_hog"  # pytest's own, from the rootdir
    oom = run.report["oom_kills"][0]
    assert oom["victim"]["test"] == nodeid, oom
    rerun = oom["rerun"]
    assert rerun.startswith(f"cd {work} && "), rerun
    # The rerun command finds the test (collected only: no second OOM).
    col = subprocess.run(rerun + " --collect-only -q -p no:cacheprovider", shell=True,
                         capture_output=True, text=True, timeout=120,
                         env=inner_env({"E2E_ALLOC": "1"}))
    assert col.returncode == 0, col.stdout + col.stderr
    assert nodeid in col.stdout, col.stdout

    errors = [parse_command(l) for l in workflow_commands(run.stdout)]
    errors = [c for c in errors if c[0] == "error"]
    assert len(errors) == 1, run.stdout
    _, props, msg = errors[0]
    assert props["file"] == "tests/test_rootdir.py", props
    # The allocating line (from the kernel's Python stack), found through the rootdir too.
    src = (work / "tests/test_rootdir.py").read_text().splitlines()
    want = next(i + 1 for i, l in enumerate(src) if "np.ones(" in l)
    assert want != def_line(work / "tests/test_rootdir.py", "test_hog")
    assert int(props["line"]) == want, props
    assert rerun in msg, msg
