"""pytest --pyargs on a package of our own: from the project directory (node ids relative to
the rootdir) and from elsewhere with the package on PYTHONPATH (node ids relative to the
package, which only the process's own Python, with its environment, can locate). Either way
the printed rerun command, pasted into a shell with the same environment, runs that test
alone and it is killed again under the same limit."""
import re
import subprocess

from conftest import PYTHON, TKTRACE, inner_env

TEST_M = '''
def test_small():
    pass

def test_grow():
    b = bytearray(600 << 20)
    for i in range(0, len(b), 4096):
        b[i] = 1
'''


def make_pkg(tmp_path):
    proj = tmp_path / "proj"
    (proj / "mypkg" / "tests").mkdir(parents=True)
    (proj / "mypkg" / "__init__.py").write_text("")
    (proj / "mypkg" / "tests" / "__init__.py").write_text("")
    (proj / "mypkg" / "tests" / "test_m.py").write_text(TEST_M)
    return proj


def traced(cwd, cmd, env):
    return subprocess.run([TKTRACE, "--memory-limit", "300M", "--", *cmd], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def check(cwd, env, victim, rerun_part):
    r = traced(cwd, [PYTHON, "-m", "pytest", "-p", "no:cacheprovider", "-v", "--pyargs",
                     "mypkg"], env)
    assert r.returncode == 137, r.stderr
    assert re.search(r"victim .* test " + re.escape(victim) + r" \[call\]", r.stderr), r.stderr
    rerun = re.search(r"^  rerun    (.*)$", r.stderr, re.M).group(1)
    assert rerun.endswith(rerun_part), rerun
    again = traced(cwd, ["/bin/sh", "-c", rerun + " -v"], env)
    assert again.returncode == 137, again.stderr
    assert "collected 1 item" in again.stdout, again.stdout
    assert "test_small" not in again.stdout, again.stdout


def test_pyargs_from_the_project(root, tmp_path):
    proj = make_pkg(tmp_path)
    check(proj, inner_env(), "mypkg/tests/test_m.py::test_grow",
          " -m pytest mypkg/tests/test_m.py::test_grow")


def test_pyargs_from_elsewhere_on_pythonpath(root, tmp_path):
    proj = make_pkg(tmp_path)
    other = tmp_path / "elsewhere"
    other.mkdir()
    check(other, inner_env({"PYTHONPATH": str(proj)}), "tests/test_m.py::test_grow",
          " -m pytest --pyargs mypkg.tests.test_m::test_grow")
