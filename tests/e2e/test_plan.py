"""tktrace plan, end to end: a suite that a memory cgroup (<= 1 GiB) cannot hold at -n 4 is
OOM-killed under tktrace --record; the plan made from that recording, with the cgroup's limit as
its budget, runs the same suite in the same cgroup to the end, faster than -n 1; its shards each
pass and run every test exactly once. Sizes are the suite's own (env), never the plan's."""
import json
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import (MemCgroup, SUITES, TKTRACE, inner_env, inner_pytest, need_root,
                      run_tktrace)

MiB = 1 << 20
LIMIT = 640 * MiB  # the cgroup: any two heavy tests at once (2 x 330 MiB) do not fit, one does
SIZES = {"E2E_HEAVY": 330 * MiB, "E2E_LIGHT": 16 * MiB, "E2E_LEAK": 15 * MiB, "E2E_HOLD": 0.5,
         "E2E_HEAVY_HOLD": 1.0}
HEAVY = {f"test_plan_suite.py::test_heavy[{i}]" for i in range(3)}
ALL = HEAVY | {f"test_plan_suite.py::test_light[{i}]" for i in range(12)} | {
    "test_plan_suite.py::test_leaky"}


def env():
    return inner_env({k: str(v) for k, v in SIZES.items()})


def copy_suite(dst):
    dst.mkdir()
    for f in (SUITES / "plan_suite").iterdir():
        if f.suffix == ".py":
            (dst / f.name).write_bytes(f.read_bytes())
    return dst


def reset_peak(cg):
    """Start the cgroup's high-water mark afresh where the kernel allows it (v1)."""
    try:
        (cg.path / "memory.max_usage_in_bytes").write_text("0")
    except OSError:
        pass


def read_peak(cg):
    for name in ("memory.max_usage_in_bytes", "memory.peak"):
        try:
            return int((cg.path / name).read_text())
        except (OSError, ValueError):
            pass
    return None


def pytest_in(cg, work, args, extra_env=None, junit=None):
    """Run the inner suite in cg without tktrace; (returncode, seconds, output)."""
    cmd = [*cg.join_cmd(), *inner_pytest(*args)]
    if junit:
        cmd += ["--junitxml", str(junit)]
    e = env()
    e.update(extra_env or {})
    reset_peak(cg)
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=work, env=e, capture_output=True, text=True, timeout=180)
    return proc.returncode, time.monotonic() - t0, proc.stdout + proc.stderr


GROUP = "@tktrace_heavy"  # xdist's loadgroup appends the group to the node ids it runs


def junit_ids(path, grouped=None):
    """Node ids of the tests a JUnit file says ran (one entry per run); those that ran in the
    heavy xdist group are also added to grouped."""
    out = []
    for case in ET.parse(path).getroot().iter("testcase"):
        nid = f"{case.get('classname').replace('.', '/')}.py::{case.get('name')}"
        if nid.endswith(GROUP):
            nid = nid[:-len(GROUP)]
            if grouped is not None:
                grouped.add(nid)
        out.append(nid)
    return out


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """The suite OOM-killed at -n 4 in a LIMIT cgroup, recorded; the cgroup stays for reuse."""
    need_root()
    cg = MemCgroup(LIMIT)
    try:
        work = copy_suite(tmp_path_factory.mktemp("plan") / "suite")
        rec = work.parent / "run.tkt"
        run = run_tktrace(inner_pytest("-n", "4"), work, opts=["--record", str(rec)], cgroup=cg,
                          env=env())
        assert run.rc != 0, run
        assert run.report and run.report["oom_kills"], run
        # The kills hit the heavy tests, which all started at once.
        assert {k["victim"]["test"] for k in run.report["oom_kills"]} & HEAVY, run.report["oom_kills"]
        yield cg, work, rec
    finally:
        cg.remove()


def plan(rec, work, *extra):
    out = work / "plan.json"
    proc = subprocess.run([TKTRACE, "plan", "--record", str(rec), "--budget", str(LIMIT),
                           "--max-workers", "4", "--apply", str(work), "--json", str(out), *extra],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc
    assert out.exists(), proc
    return json.loads(out.read_text()), proc.stdout


def test_plan_runs_the_suite_that_was_oom_killed(recorded, capsys):
    cg, work, rec = recorded
    p, text = plan(rec, work)
    assert p["fits"] and p["budget_bytes"] == LIMIT, p
    assert p["files"] == [str(work / "tktrace_plan.py")], p
    assert p["predicted_peak_bytes"] <= p["usable_bytes"] < LIMIT, p
    heavy = {t["nodeid"] for t in p["tests"] if t["heavy"]}
    assert HEAVY <= heavy, heavy  # the tests that cannot share the cgroup go one at a time
    assert set(t["nodeid"] for t in p["tests"]) == ALL, p["tests"]
    leaks = [t["nodeid"] for t in p["tests"] if t["leak"]]
    assert leaks == ["test_plan_suite.py::test_leaky"], p["tests"]
    assert "test_plan_suite.py::test_leaky keeps" in text, text
    assert p["pytest_args"][:2] == ["-p", "tktrace_plan"], p
    # Without --budget: the limit of the cgroup the recorded pytest ran in.
    proc = subprocess.run([TKTRACE, "plan", "--record", str(rec), "--json", "-"],
                          capture_output=True, text=True, timeout=60)
    dflt = json.loads(proc.stdout)
    assert (dflt["budget_bytes"], dflt["budget_from"]) == (LIMIT, "the recorded memory limit"), dflt

    # The plan applied, in the same cgroup: every test passes.
    rc, planned_s, out = pytest_in(cg, work, p["pytest_args"], junit=work / "planned.xml")
    planned_peak = read_peak(cg)
    assert rc == 0, out
    grouped = set()
    assert sorted(junit_ids(work / "planned.xml", grouped)) == sorted(ALL), out
    assert grouped == heavy, (grouped, heavy)  # xdist ran exactly the plan's heavy tests as a group

    # Without the plan: -n 1, and the largest -n below the one that was killed that passes.
    rc1, serial_s, out1 = pytest_in(cg, work, ["-n", "1"])
    assert rc1 == 0, out1
    best_n, best_s = 1, serial_s
    for n in (3, 2):
        rcn, secs, _ = pytest_in(cg, work, ["-x", "-n", str(n)])
        if rcn == 0:
            best_n, best_s = n, secs
            break
    with capsys.disabled():
        print(f"\n[plan] budget {LIMIT // MiB} MiB: plan -n {p['workers']} "
              f"({p['heavy_tests']} heavy in one group) passed in {planned_s:.1f} s, "
              f"predicted peak {p['predicted_peak_bytes'] / MiB:.0f} MiB, cgroup peak "
              f"{(planned_peak or 0) / MiB:.0f} MiB; without the plan: -n 1 {serial_s:.1f} s, "
              f"largest passing -n {best_n} {best_s:.1f} s (-n 4 was OOM-killed)")
    # The point of the plan: the limit holds and the suite finishes sooner than one worker.
    assert p["workers"] >= 2, p
    assert planned_s < serial_s, (planned_s, serial_s)


def test_plan_shards_each_pass_and_cover_every_test_once(recorded, tmp_path, capsys):
    cg, _, rec = recorded
    work = copy_suite(tmp_path / "suite")
    p, text = plan(rec, work, "--shards", "2")
    assert p["fits"], p
    assert len(p["shards"]) == 2, p
    assert "shard 2/2" in text, text
    ran = []
    for i, sh in enumerate(p["shards"], 1):
        assert sh["env"] == {"TKTRACE_SHARD": str(i)}, sh
        assert sh["pytest_args"][:2] == ["-p", "tktrace_plan"], sh
        assert sh["predicted_peak_bytes"] <= p["usable_bytes"], sh
        junit = work / f"shard{i}.xml"
        rc, secs, out = pytest_in(cg, work, sh["pytest_args"], sh["env"], junit=junit)
        assert rc == 0, out
        ids = junit_ids(junit)
        assert len(ids) == sh["tests"], (ids, sh)
        ran += ids
        with capsys.disabled():
            print(f"\n[plan] shard {i}/2: {len(ids)} tests, -n {sh['workers']}, {secs:.1f} s, "
                  f"cgroup peak {(read_peak(cg) or 0) / MiB:.0f} MiB")
    # Every test in exactly one shard.
    assert sorted(ran) == sorted(ALL), sorted(ran)
    # The plan's own view agrees with what ran.
    by_shard = {t["nodeid"]: t["shard"] for t in p["tests"]}
    assert sorted(by_shard) == sorted(ALL)
    # The heavy tests do not all land in one shard: durations are balanced.
    assert len({by_shard[h] for h in HEAVY}) == 2, by_shard


def test_plan_bad_input_is_one_line_and_125(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"nodeid": "a::b"}\n')
    cases = [
        ["plan"],
        ["plan", "--per-test-file", str(bad)],
        ["plan", "--per-test-file", str(tmp_path / "missing")],
        ["plan", "--record", str(bad)],
        ["plan", "--per-test-file", str(bad), "--budget", "lots"],
        ["plan", "--shards", "0"],
        ["plan", "--frobnicate"],
    ]
    for args in cases:
        proc = subprocess.run([TKTRACE, *args], capture_output=True, text=True, timeout=30)
        assert proc.returncode == 125, (args, proc)
        assert proc.stdout == "", (args, proc)
        lines = proc.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("tktrace: "), (args, proc.stderr)
    proc = subprocess.run([TKTRACE, "plan", "--help"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0 and "--shards K" in proc.stdout and "Examples:" in proc.stdout


def test_plan_names_a_test_larger_than_the_budget(tmp_path):
    """From a per-test file: one test cannot fit even alone; the plan says so with its numbers
    and exits 1, and does not hide it in a schedule."""
    f = tmp_path / "pt.jsonl"
    rows = [("t.py::small", 40, 10), ("t.py::huge", 2000, 1900)]
    f.write_text("".join(
        json.dumps({"nodeid": n, "worker": "gw0", "duration_s": 1.0, "peak_rss_bytes": peak * MiB,
                    "peak_growth_bytes": growth * MiB, "retained_bytes": 0,
                    "children_peak_rss_bytes": 0}) + "\n" for n, peak, growth in rows))
    proc = subprocess.run([TKTRACE, "plan", "--per-test-file", str(f), "--budget", "1G",
                           "--json", "-"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1, proc
    p = json.loads(proc.stdout)
    assert not p["fits"]
    huge = next(t for t in p["tests"] if t["nodeid"] == "t.py::huge")
    assert huge["impossible"] and huge["cost_bytes"] == 1900 * MiB, huge
    assert "IMPOSSIBLE" in proc.stderr and "t.py::huge  +1.9 GiB" in proc.stderr, proc.stderr
