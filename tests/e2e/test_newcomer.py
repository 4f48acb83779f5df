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

import pytest

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
    path = subprocess.run([PY, "-c", f"import {module}; print({module}.__file__)"],
                          capture_output=True, text=True, check=True).stdout.strip()
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
