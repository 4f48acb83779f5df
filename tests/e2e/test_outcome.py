"""Each test's outcome in the JSON report: pytest's own verdict read from the JUnit XML it
wrote (--junitxml), `completed` when the run has none, `killed` whatever the XML says."""
import os

import pytest

from conftest import inner_pytest, run_tktrace

SUITE = '''
import pytest

@pytest.fixture
def broken():
    raise RuntimeError("fixture fails")

def test_pass():
    pass

def test_fail():
    assert False

@pytest.mark.skip(reason="marker")
def test_skip_marker():
    pass

def test_skip_inside():
    pytest.skip("inside")

@pytest.mark.xfail(reason="known")
def test_xfail():
    assert False

def test_error(broken):
    pass

class TestC:
    @pytest.mark.parametrize("x", [1, 2])
    def test_param(self, x):
        assert x == 1
'''

EXPECTED = {
    "test_suite.py::test_pass": "passed",
    "test_suite.py::test_fail": "failed",
    "test_suite.py::test_skip_marker": "skipped",
    "test_suite.py::test_skip_inside": "skipped",
    "test_suite.py::test_xfail": "xfailed",
    "test_suite.py::test_error": "error",
    "test_suite.py::TestC::test_param[1]": "passed",
    "test_suite.py::TestC::test_param[2]": "failed",
}


@pytest.mark.parametrize("xdist", [False, True], ids=["plain", "xdist"])
def test_outcomes_from_junitxml(root, tmp_path, xdist):
    (tmp_path / "test_suite.py").write_text(SUITE)
    args = ["--junitxml=out/junit.xml", "test_suite.py"] + (["-n", "2"] if xdist else [])
    run = run_tktrace(inner_pytest(*args), tmp_path)
    assert run.rc == 1, run
    got = {t["nodeid"]: t["outcome"] for t in run.report["tests"]}
    assert got == EXPECTED
    assert run.report["tests_seen"] == len(run.report["tests"]) == len(EXPECTED)


def test_outcome_completed_without_junitxml(root, tmp_path):
    (tmp_path / "test_suite.py").write_text(SUITE)
    run = run_tktrace(inner_pytest("test_suite.py"), tmp_path)
    assert run.rc == 1, run
    assert {t["outcome"] for t in run.report["tests"]} == {"completed"}


def test_stale_junitxml_is_not_read(root, tmp_path):
    """pytest killed before writing its XML: the file of an earlier run says nothing."""
    (tmp_path / "test_suite.py").write_text(SUITE)
    run = run_tktrace(inner_pytest("--junitxml=junit.xml", "test_suite.py"), tmp_path)
    assert run.report["tests"][0]["outcome"] == "passed", run
    os.utime(tmp_path / "junit.xml", (1, 1))  # written long before the next run
    (tmp_path / "test_suite.py").write_text(
        SUITE + "\ndef test_zz_dies():\n    import os, signal\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n")
    run = run_tktrace(inner_pytest("--junitxml=junit.xml", "test_suite.py"), tmp_path)
    assert run.rc == 137, run
    got = {t["nodeid"]: t["outcome"] for t in run.report["tests"]}
    assert got.pop("test_suite.py::test_zz_dies") == "killed"
    assert set(got.values()) == {"completed"}, got
