"""tktrace on a suite nobody here wrote: numpy's own tests, as Debian's python3-numpy ships them
(with python3-hypothesis), run with `pytest --pyargs` from an unrelated directory.

Under a 400 MiB memory cgroup, numpy.lib's tests/test_format.py::test_large_archive (it saves a
2 GiB array; numpy's requires_memory decorator looks at the machine's free memory, not the
cgroup's) is OOM-killed. The checks compare tktrace with pytest's own account of the run:
the test `-v` shows running (plain) or xdist's crash report names (`-n 2`), every test pytest
reports, once, and the printed rerun command, pasted into a shell under the same limit.
About 40 s in all on 2 cores.
"""
import json
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from conftest import PYTHON, TKTRACE, inner_env, need_root

pytestmark = pytest.mark.realsuite

LIMIT = "400M"
KILLED = "tests/test_format.py::test_large_archive"
# numpy.lib's test_format.py only: the kill, and 40-odd tests around it, in seconds.
SELECT = ["--pyargs", "numpy.lib", "-k", "test_format"]
RESULT = r"(PASSED|FAILED|SKIPPED|XFAIL|XPASS|ERROR)"


def have_numpy_tests():
    r = subprocess.run([PYTHON, "-c", "import hypothesis, numpy.lib.tests.test_format"],
                       capture_output=True, text=True)
    return r.returncode == 0, r.stderr.strip().splitlines()[-1:] or [""]


@pytest.fixture
def numpy_suite(tmp_path):
    need_root()
    ok, why = have_numpy_tests()
    if not ok:
        pytest.skip(f"numpy's tests need python3-numpy and python3-hypothesis: {why[0]} "
                    "(sh scripts/install-deps.sh --test)")
    # The inner runs' temporary files (TMPDIR, so pytest's basetemp too) stay under this test
    # and go with it: the killed test_large_archive leaves a 2.1 GB file behind each time.
    (tmp_path / "tmp").mkdir()
    yield tmp_path
    shutil.rmtree(tmp_path / "tmp", ignore_errors=True)


def tktrace(cwd, cmd, *opts, env=None, timeout=300):
    """tktrace --memory-limit 400M --json FILE [opts] -- cmd, in cwd."""
    report = Path(cwd) / f"report-{uuid.uuid4().hex[:8]}.json"
    env = env or inner_env()
    env.pop("NPY_AVAILABLE_MEM", None)  # numpy must think the memory is there
    env["TMPDIR"] = str(Path(cwd) / "tmp")
    proc = subprocess.run([TKTRACE, "--memory-limit", LIMIT, "--json", str(report), *opts,
                           "--", *cmd], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    rep = json.loads(report.read_text()) if report.exists() else None
    return proc, rep


def pytest_cmd(*args):
    return [PYTHON, "-m", "pytest", "-p", "no:cacheprovider", "-v", *args]


def test_plain_run_victim_is_the_test_pytest_shows_running(numpy_suite):
    env = inner_env({"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": "/"})
    rec = numpy_suite / "run.tkt"
    proc, rep = tktrace(numpy_suite, pytest_cmd(*SELECT), "--record", str(rec), env=env)
    assert proc.returncode == 137, proc.stderr[-3000:]
    # pytest -v prints a node id, runs the test, then its result: the line without one is
    # the test running when pytest died.
    lines = [line for line in proc.stdout.splitlines() if re.match(r"^tests/\S+::\S+", line)]
    running = [line.split()[0] for line in lines if not re.search(RESULT, line)]
    assert running == [KILLED], proc.stdout[-3000:]
    (oom,) = rep["oom_kills"]
    assert oom["victim"]["test"] == KILLED and oom["victim"]["phase"] == "call", oom

    # (b) every test pytest reported, once, and no other.
    reported = [line.split()[0] for line in lines]
    nodeids = [t["nodeid"] for t in rep["tests"]]
    assert sorted(nodeids) == sorted(reported), set(nodeids) ^ set(reported)
    assert len(set(nodeids)) == len(nodeids)
    assert rep["tests_seen"] == len(nodeids)

    # The annotation points at the installed file, at the test's def line.
    ann = [line for line in proc.stdout.splitlines()
           if line.startswith("::error ") and "OOM-killed::Test " + KILLED in line]
    assert ann, proc.stdout[-2000:]
    m = re.match(r"::error file=([^,]+),line=(\d+),", ann[0])
    assert m, ann[0]
    path = Path("/", m.group(1))
    assert path.name == "test_format.py" and path.is_file(), ann[0]
    src = path.read_text().splitlines()
    assert src[int(m.group(2)) - 1].startswith("def test_large_archive("), ann[0]

    # (c) the printed rerun command, pasted into a shell under the same limit: only that
    # test runs, and it is killed again.
    rerun = re.search(r"^  rerun    (.*)$", proc.stderr, re.M).group(1)
    assert "--pyargs" in rerun, rerun
    assert oom["rerun"] == rerun
    # The recording says the same (where the package is, is one of its inputs).
    out = numpy_suite / "replayed.json"
    subprocess.run([TKTRACE, "report", str(rec), "--json", str(out)], check=True,
                   capture_output=True)
    assert json.loads(out.read_text())["oom_kills"][0]["rerun"] == rerun
    proc2, rep2 = tktrace(numpy_suite, ["/bin/sh", "-c", rerun])
    assert proc2.returncode == 137, proc2.stderr[-3000:]
    assert [t["nodeid"] for t in rep2["tests"]] == ["::test_large_archive"], rep2["tests"]
    assert rep2["tests"][0]["outcome"] == "killed"
    (oom2,) = rep2["oom_kills"]
    assert oom2["victim"]["test"] == "::test_large_archive", oom2


def test_xdist_victim_is_the_test_xdist_says_crashed(numpy_suite):
    junit = numpy_suite / "junit.xml"
    proc, rep = tktrace(numpy_suite, pytest_cmd("-n", "2", f"--junitxml={junit}", *SELECT))
    assert proc.returncode == 1, proc.stderr[-3000:]  # xdist replaces the worker, goes on
    crashed = re.findall(r"worker '(gw\d+)' crashed while running '([^']+)'", proc.stdout)
    # test_large_archive's worker dies. The other worker's test can die too: after the first
    # kill test_huge_header[r] (whose allocations trigger most of these OOMs) was killed by a
    # second one in CI. Each crash xdist reports must then be one of tktrace's OOM victims.
    assert KILLED in [t for _, t in crashed], proc.stdout[-3000:]
    victims = sorted((o["victim"]["test"], o["victim"]["worker"]) for o in rep["oom_kills"])
    assert victims == sorted((t, w) for w, t in crashed), (victims, crashed)
    (oom,) = [o for o in rep["oom_kills"] if o["victim"]["test"] == KILLED]
    # The worker learnt where numpy.lib is from its controller.
    assert oom["rerun"].endswith(" --pyargs numpy.lib.tests.test_format::test_large_archive"), oom

    # (b) every test pytest reported, once; outcomes from its JUnit XML.
    reported = re.findall(r"\] " + RESULT + r" (\S+::\S+)", proc.stdout)
    nodeids = [t["nodeid"] for t in rep["tests"]]
    assert len(set(nodeids)) == len(nodeids)
    assert sorted(nodeids) == sorted(n for _, n in reported), \
        set(nodeids) ^ {n for _, n in reported}
    outcome = {t["nodeid"]: t["outcome"] for t in rep["tests"]}
    for _, t in crashed:
        assert outcome[t] == "killed", t
    for result, n in reported:
        if n not in [t for _, t in crashed]:
            assert outcome[n] == {"PASSED": "passed", "FAILED": "failed", "SKIPPED": "skipped",
                                  "XFAIL": "xfailed", "XPASS": "passed",
                                  "ERROR": "error"}[result], n
