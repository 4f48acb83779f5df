"""What a new user meets first: the README's quick start and `make demo` (issue 13).

The demo must install everything its suite needs on a fresh machine. That is checked against
an empty dpkg database (TKT_DPKG_ADMINDIR) in dry-run mode (TKT_DRY_RUN): what the script
would install must cover the Debian packages of every module the demo's pytest run imports,
found from the suite's own imports, so a new import in the demo suite cannot slip by.
"""
import ast
import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import TKTRACE

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY = "/usr/bin/python3"


def test_make_demo_runs_a_script_that_exists():
    out = subprocess.run(["make", "-n", "demo"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    scripts = re.findall(r"\bsh\s+(\S+\.sh)\b", out)
    assert scripts, f"make -n demo runs no script:\n{out}"
    for s in scripts:
        assert os.path.isfile(os.path.join(ROOT, s)), f"make demo runs {s}, which does not exist"
    assert "scripts/demo.sh" in scripts


def demo_modules():
    """Top-level modules the demo's `python3 -m pytest examples/oom-suite` imports."""
    mods = {"pytest"}
    suite = os.path.join(ROOT, "examples", "oom-suite")
    for name in os.listdir(suite):
        if not name.endswith(".py"):
            continue
        with open(os.path.join(suite, name)) as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                mods.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                mods.add(node.module.split(".")[0])
    return mods


def debian_package_of(module):
    """The Debian package that ships module for /usr/bin/python3 (None: standard library)."""
    r = subprocess.run([PY, "-c", f"import {module}; print({module}.__file__)"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        # Only an installed module tells which package ships it (dpkg -S).
        pytest.skip(f"{PY} cannot import {module}, which the demo suite imports: "
                    "run sh scripts/install-deps.sh --test first")
    path = r.stdout.strip()
    if "/dist-packages/" not in path:
        return None
    r = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
    assert r.returncode == 0, f"{module} ({path}) comes from no Debian package: {r.stderr}"
    return r.stdout.split(":")[0]


@pytest.mark.skipif(not shutil.which("dpkg-query"), reason="no dpkg here (not Debian/Ubuntu)")
def test_demo_installs_what_its_suite_needs_on_a_fresh_machine(tmp_path):
    fresh = tmp_path / "dpkg"
    (fresh / "info").mkdir(parents=True)
    (fresh / "updates").mkdir()
    (fresh / "status").write_text("")
    env = dict(os.environ, TKT_DRY_RUN="1", TKT_DPKG_ADMINDIR=str(fresh))
    r = subprocess.run(["sh", "scripts/demo.sh"], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    m = re.search(r"^tktrace: would install:(.*)$", r.stdout + r.stderr, re.M)
    assert m, f"demo.sh did not say what it installs:\n{r.stdout}{r.stderr}"
    would = set(m.group(1).split())
    needed = {p for p in map(debian_package_of, sorted(demo_modules())) if p}
    assert "python3-pytest" in needed
    assert needed <= would, f"the demo needs {sorted(needed - would)} but does not install it"
    assert {"clang", "libbpf-dev", "make"} <= would


# -- tktrace's live messages at a terminal ---------------------------------------------------

MiB = 1 << 20
# pytest -v prints the node id, runs the test, then prints PASSED: while the test runs the
# cursor is mid-line. This stands in for it: no newline until the memory has crossed --warn-at.
MIDLINE = r'''
import sys, time
sys.stdout.write("tests/test_big.py::test_big "); sys.stdout.flush()
b = bytearray(200 << 20)
for i in range(0, len(b), 4096): b[i] = 1
time.sleep(1.0)
sys.stdout.write("PASSED\n")
'''


def run_in_pty(args, timeout=60):
    """Run args with a pseudo-terminal as stdin, stdout and stderr; return what it printed."""
    import pty  # noqa: F401 (os.openpty needs the pty support it documents)
    master, slave = os.openpty()
    proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, cwd=ROOT,
                            start_new_session=True)
    os.close(slave)
    out = b""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every writer closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    proc.wait(timeout=10)
    return proc.returncode, out.decode(errors="replace").replace("\r\n", "\n")


def test_live_warning_starts_on_its_own_line_at_a_terminal(root):
    args = [TKTRACE, "--memory-limit", "300M", "--warn-at", "50", "--", PY, "-c", MIDLINE]
    rc, out = run_in_pty(args)
    assert rc == 0, out
    lines = out.split("\n")
    warn = [line for line in lines if "tktrace: warning: memory cgroup" in line]
    assert len(warn) == 1, out
    assert warn[0].startswith("tktrace: warning:"), f"glued to COMMAND's line:\n{out}"
    # COMMAND's unfinished line is kept, not erased.
    assert any(line.startswith("tests/test_big.py::test_big") for line in lines), out


def test_live_warning_adds_no_newline_in_a_pipe(root):
    args = [TKTRACE, "--memory-limit", "300M", "--warn-at", "50", "--", PY, "-c", MIDLINE]
    r = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stderr.startswith("tktrace: warning: memory cgroup"), r.stderr
