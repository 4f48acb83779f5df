"""Per-test memory, end to end: the real tktrace (real BPF programs) traces small pytest
suites (tests/e2e/suites/mem_*) that touch known amounts of memory, and its JSON report is
compared with those amounts and with what the inner tests recorded themselves (their own
node ids, pids, xdist workers, a child's own high-water mark), never with hard-coded results.

Everything that allocates runs in a memory cgroup of at most 1 GiB: one this harness creates
(ROOMY for runs that do not aim at an OOM) or tktrace's own --memory-limit.

Tolerances, and why they are what they are:
  * TOUCH_TOL (10%): a block of N bytes that the test writes end to end makes the process
    N bytes bigger, give or take its allocator's header page, the huge page rounding at the
    ends of a THP-backed numpy buffer (2 MiB at most) and the slack below. Measured: +60.0 and
    +60.1 MiB for 60 MiB. Counting the whole process (about 40 MiB more) or nothing fails.
  * RESIDUE (3 MiB): what a test that frees its block may still leave or appear to leave.
    Blocks this big are mmaps of their own (glibc's mmap threshold is at most 32 MiB) and go
    back whole on free; pytest's own bookkeeping per test (reports, captured output) stays,
    measured at most 100 KiB. tktrace reads the kernel's per-CPU rss counters without
    summing them (as the OOM report does), so each reading may lag by up to 31 pages per CPU
    and counter: 3 counters x 2 CPUs x 31 x 4 KiB = 0.7 MiB a reading, 1.5 MiB for a
    difference of two. A blind "retained" (the whole process: about 40 MiB, or the peak)
    fails by far.
  * NOOP_GROWTH (5 MiB): a test that allocates nothing; same reasons as RESIDUE, plus pytest's
    transient allocations while it runs and reports a test.
  * ABS_TOL (1 MiB): absolute figures against the kernel's VmRSS/VmHWM read by the test
    itself. Measured over 4 runs (Linux 6.18, 2 CPUs): peak_rss_bytes - VmHWM 0.00 MiB,
    rss_start_bytes - VmRSS at the call's start -0.18 to 0.00 (pytest's setup between the
    two), rss_end_bytes - VmRSS after the free -0.07 to 0.00. The per-CPU counter lag above
    (0.7 MiB a reading) bounds it; leaving out file pages (about 15 MiB) fails by far.
"""
import json
import os
import platform
import shutil
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from conftest import (MAX_LIMIT, PYTHON, SUITES, MemCgroup, check_replay, inner_env,
                      inner_pytest, kernel_peak_usage, memcg_root, need_root, nodeids_written,
                      record_opts, run_tktrace)

MiB = 1 << 20
ROOMY = 900 * MiB  # the cgroup for runs that do not aim at an OOM
TOUCH_TOL = 0.10
RESIDUE = 3 * MiB
NOOP_GROWTH = 5 * MiB
ABS_TOL = 1 * MiB

try:
    THP_MODE = Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text()
except OSError:
    THP_MODE = "[never]"

BASIC_SIZE = 60 * MiB
BASIC_HOLD_S = 0.3  # long enough for tktrace's cgroup sampler (every 100 ms) to see a block


# ---------------------------------------------------------------------------------------------
# helpers


def report_of(run):
    assert run.report is not None, f"no JSON report: {run!r}"
    return run.report


def by_nodeid(rep):
    """The report's test records by node id; each node id exactly once."""
    out = {}
    for t in rep["tests"]:
        assert t["nodeid"] not in out, f"two records for {t['nodeid']}: {rep['tests']}"
        out[t["nodeid"]] = t
    return out


def read_words(work, name):
    return (Path(work) / f"pid-{name}.txt").read_text().split()


def mib(n):
    return None if n is None else round(n / MiB, 2)


def show(t):
    """A record with sizes in MiB, for assertion messages."""
    return {k: (mib(v) if k.endswith("_bytes") and isinstance(v, int) else v) for k, v in t.items()}


def near(value, expected, tol=TOUCH_TOL):
    return value is not None and abs(value - expected) <= tol * expected


def check_consistent(t):
    """The derived numbers agree with the raw ones in the same record."""
    assert t["peak_growth_bytes"] == t["peak_rss_bytes"] - t["rss_start_bytes"], show(t)
    assert t["peak_rss_bytes"] >= t["rss_start_bytes"], show(t)
    if t["outcome"] == "completed":
        assert t["retained_bytes"] == t["rss_end_bytes"] - t["rss_start_bytes"], show(t)
        assert t["peak_rss_bytes"] >= t["rss_end_bytes"], show(t)
    # A pytest process (with numpy or xdist imported) is never tiny: real snapshots.
    assert t["rss_start_bytes"] > 10 * MiB, show(t)


def check_touched(t, size):
    """A completed test that touched `size` bytes and freed them again."""
    check_consistent(t)
    assert t["outcome"] == "completed", show(t)
    assert near(t["peak_growth_bytes"], size), show(t)
    assert abs(t["retained_bytes"]) <= RESIDUE, show(t)
    assert t["children_peak_rss_bytes"] == 0, show(t)


def check_idle(t):
    """A completed test that allocated nothing."""
    check_consistent(t)
    assert t["outcome"] == "completed", show(t)
    assert 0 <= t["peak_growth_bytes"] < NOOP_GROWTH, show(t)
    assert abs(t["retained_bytes"]) <= RESIDUE, show(t)
    assert t["children_peak_rss_bytes"] == 0, show(t)


def check_cgroup_view(rep, path, limit, *, at_least, true_peak=None):
    """report.cgroup: COMMAND's memory cgroup, its limit and its usage over time."""
    c = rep["cgroup"]
    assert c["path"] == str(path), c["path"]
    assert c["limit_bytes"] == limit, c
    samples = c["samples"]
    assert samples, c
    times = [s[0] for s in samples]
    assert all(a < b for a, b in zip(times, times[1:])), times
    assert 0 <= times[0] and times[-1] <= rep["duration_s"] + 0.01, (times, rep["duration_s"])
    assert all(0 < s[1] <= limit for s in samples), samples
    assert c["peak_usage_bytes"] == max(s[1] for s in samples), c
    assert 0 < c["peak_usage_bytes"] <= limit, c
    # The sampler saw the block the run held for several of its periods.
    assert c["peak_usage_bytes"] >= at_least, (mib(c["peak_usage_bytes"]), mib(at_least))
    if true_peak is not None:  # sampled usage can never exceed the kernel's own high-water mark
        assert c["peak_usage_bytes"] <= true_peak, (c["peak_usage_bytes"], true_peak)


def basic_env():
    return inner_env({"E2E_SIZE": str(BASIC_SIZE), "E2E_HOLD_S": str(BASIC_HOLD_S)})


def copy_suite(tmp_path_factory, name):
    work = tmp_path_factory.mktemp(name) / "suite"
    shutil.copytree(SUITES / name, work)
    return work


# ---------------------------------------------------------------------------------------------
# 1. + 7. tests that touch 60 MiB, in a cgroup this harness made or in --memory-limit's


@pytest.fixture(scope="module")
def basic(tmp_path_factory):
    """One traced run of suites/mem_basic inside a ROOMY cgroup (shared by several tests)."""
    need_root()
    cg = MemCgroup(ROOMY)
    try:
        work = copy_suite(tmp_path_factory, "mem_basic")
        run = run_tktrace(inner_pytest("test_mem_basic.py"), work, cgroup=cg, env=basic_env())
        peak = kernel_peak_usage(cg)
        yield run, work, cg, peak
    finally:
        cg.remove()


def test_touching_60mib_grows_by_60mib(basic):
    run, work, _, _ = basic
    assert run.rc == 0, run
    rep = report_of(run)
    tests = by_nodeid(rep)
    ids = nodeids_written(work)
    assert set(tests) == set(ids.values()), (sorted(tests), ids)
    pid = int(read_words(work, "numpy")[0])
    assert all(t["pid"] == pid and t["worker"] is None for t in tests.values()), rep["tests"]

    numpy_t, bytes_t = tests[ids["numpy"]], tests[ids["bytearray"]]
    check_touched(numpy_t, BASIC_SIZE)  # huge pages (numpy madvises, THP is "madvise")
    check_touched(bytes_t, BASIC_SIZE)  # 4 KiB pages
    # Both blocks were mmaps of their own, seen by the big-mmap counter.
    for t in (numpy_t, bytes_t):
        assert BASIC_SIZE <= t["mmap_bytes"] < 2 * BASIC_SIZE, show(t)
        assert t["duration_s"] >= BASIC_HOLD_S, show(t)
    # With 4 KiB pages every page of the block was one fault of the test's thread (unless THP
    # is "always", when the bytearray gets huge pages too; it is "madvise" on Debian).
    if "[always]" not in THP_MODE:
        assert bytes_t["page_faults"] >= 0.9 * BASIC_SIZE / 4096, show(bytes_t)


def vm_figures(work, name):
    """What the inner test read from /proc/self/status: (VmRSS, VmHWM) at its call's start
    (VmHWM reset there), while it held its block, and after it freed it."""
    v = [int(x) for x in (Path(work) / f"vm-{name}.txt").read_text().split()]
    return v[0:2], v[2:4], v[4:6]


def test_absolute_figures_match_the_kernels(basic):
    """peak_rss_bytes, rss_start_bytes and rss_end_bytes against the kernel's VmRSS/VmHWM,
    read by the test itself at known moments (differences alone would hide a bias)."""
    run, work, _, _ = basic
    tests = by_nodeid(report_of(run))
    ids = nodeids_written(work)
    for name in ("numpy", "bytearray"):
        t = tests[ids[name]]
        (rss0, _), (rss_held, hwm_held), (rss_end, hwm_end) = vm_figures(work, name)
        print(name, {k: mib(v) for k, v in dict(
            peak_minus_hwm=t["peak_rss_bytes"] - hwm_end,
            start_minus_rss0=t["rss_start_bytes"] - rss0,
            end_minus_rss_end=t["rss_end_bytes"] - rss_end,
            hwm_minus_held=hwm_end - rss_held).items()})
        assert abs(t["peak_rss_bytes"] - hwm_end) <= ABS_TOL, show(t)
        assert abs(t["rss_start_bytes"] - rss0) <= ABS_TOL, show(t)
        assert abs(t["rss_end_bytes"] - rss_end) <= ABS_TOL, show(t)


def test_growth_counts_setup_and_teardown(basic):
    """The period is setup + call + teardown: a block that lives only while a fixture sets up,
    or only while it tears down, counts for its test."""
    run, work, _, _ = basic
    tests = by_nodeid(report_of(run))
    ids = nodeids_written(work)
    check_touched(tests[ids["setup"]], BASIC_SIZE)
    check_touched(tests[ids["teardown"]], BASIC_SIZE)


def test_noop_test_grows_by_almost_nothing(basic):
    run, work, _, _ = basic
    tests = by_nodeid(report_of(run))
    noop = tests[nodeids_written(work)["noop"]]
    check_idle(noop)
    assert noop["mmap_bytes"] < BASIC_SIZE // 2, show(noop)


def test_cgroup_view_of_the_harness_cgroup(basic):
    """COMMAND ran in the harness's cgroup (v1 or v2, whichever the machine has)."""
    run, _, cg, true_peak = basic
    rep = report_of(run)
    assert cg.version == memcg_root()[0]
    assert cg.read_limit() == cg.limit
    check_cgroup_view(rep, cg.path, cg.limit, at_least=BASIC_SIZE, true_peak=true_peak)


def test_cgroup_view_of_own_memory_limit(root, suite, tmp_path):
    """--memory-limit 300M: tktrace makes the cgroup (on this machine's cgroup version),
    reports it the same way, and removes it."""
    version, mount = memcg_root()
    if not version:
        pytest.skip("no memory cgroup controller mounted: --memory-limit cannot work here")
    limit = 300 * MiB
    assert limit <= MAX_LIMIT
    work = suite("mem_basic")
    pid_file = tmp_path / "tktrace.pid"

    def note_pid():  # in the child, just before it execs tktrace: tktrace's own pid
        pid_file.write_text(str(os.getpid()))

    cg_path = None
    try:
        run = run_tktrace(inner_pytest("test_mem_basic.py"), work, opts=["--memory-limit", "300M"],
                          env=basic_env(), preexec_fn=note_pid)
        cg_path = Path(mount) / f"tktrace-{int(pid_file.read_text())}"
        assert run.rc == 0, run
        rep = report_of(run)
        assert not cg_path.exists(), "tktrace left its cgroup behind"
        # The per-test numbers do not depend on which cgroup the suite ran in.
        tests = by_nodeid(rep)
        ids = nodeids_written(work)
        check_touched(tests[ids["numpy"]], BASIC_SIZE)
        check_touched(tests[ids["bytearray"]], BASIC_SIZE)
        check_cgroup_view(rep, cg_path, limit, at_least=BASIC_SIZE)
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


# ---------------------------------------------------------------------------------------------
# 7. (continued) the cgroup view when COMMAND's /proc/PID/cgroup is not simply its cgroup

CG_VERSION = memcg_root()[0]


def test_cgroup_view_while_the_main_thread_has_exited(root, memcg, suite):
    """COMMAND stays in the harness's cgroup all along, but its main thread exits first and
    another thread runs on (holding memory) for several sampling periods."""
    if platform.machine() not in ("x86_64", "aarch64"):
        pytest.skip("leader_exit.py knows the exit system call's number on x86_64 and aarch64")
    cg = memcg(ROOMY)
    work = suite("mem_cgroup")
    hold = 50 * MiB
    run = run_tktrace([PYTHON, "leader_exit.py"], work, cgroup=cg,
                      env=inner_env({"E2E_HOLD": str(hold), "E2E_HOLD_S": "0.6"}))
    assert run.rc == 0, run
    assert (work / "leader-exiting.txt").exists() and (work / "worker-done.txt").exists()
    rep = report_of(run)
    assert rep["pid"] == int((work / "leader-exiting.txt").read_text())
    check_cgroup_view(rep, cg.path, cg.limit, at_least=hold)


def test_cgroup_view_only_has_samples_of_commands_cgroup(root, memcg, tmp_path):
    """tktrace runs in one cgroup where another process holds 200 MiB; COMMAND is a wrapper
    that moves to a cgroup limited to 100 MiB after 0.4 s (four sampling periods), then
    execs a Python that touches 30 MiB."""
    outer = memcg(400 * MiB)
    inner = memcg(100 * MiB)
    held, block = 200 * MiB, 30 * MiB

    def join_outer():
        (outer.path / "cgroup.procs").write_text(str(os.getpid()))

    holder = subprocess.Popen(
        [PYTHON, "-c", f"import time; b = bytearray({held}); print('ready', flush=True); "
                       "time.sleep(60)"],
        stdout=subprocess.PIPE, text=True, preexec_fn=join_outer)
    try:
        assert holder.stdout.readline().strip() == "ready"
        code = f"import time; b = bytearray({block}); time.sleep(0.4)"
        cmd = ["/bin/sh", "-c", f'sleep 0.4; echo $$ > {inner.path}/cgroup.procs && exec "$@"',
               "sh", PYTHON, "-c", code]
        run = run_tktrace(cmd, tmp_path, preexec_fn=join_outer)
        true_peak = kernel_peak_usage(inner)
    finally:
        holder.kill()
        holder.wait()
    assert run.rc == 0, run
    rep = report_of(run)
    check_cgroup_view(rep, inner.path, inner.limit, at_least=block, true_peak=true_peak)


# ---------------------------------------------------------------------------------------------
# 2. leaking tests, and the innocent test that is OOM-killed for them

LEAK_LIMIT = 300 * MiB
LEAKS = 6
LEAK = 40 * MiB
INNOCENT = 60 * MiB
# The pytest process with numpy loaded is charged about 28 MiB before the first test here
# (measured), so the cgroup holds about 270 MiB after the 6 leaking tests (30 MiB under the
# limit) and the innocent test's 60 MiB cannot fit (30 MiB over): the kill lands in the
# innocent test with about 30 MiB of room either way.
PYTEST_CHARGE = 28 * MiB
ROOM = 20 * MiB
assert LEAKS * LEAK + PYTEST_CHARGE + ROOM <= LEAK_LIMIT
assert LEAK_LIMIT + ROOM <= LEAKS * LEAK + PYTEST_CHARGE + INNOCENT
assert LEAK_LIMIT <= MAX_LIMIT


def test_leaks_are_retained_and_blamed_for_a_later_oom(root, memcg, suite):
    cg = memcg(LEAK_LIMIT)
    work = suite("mem_leak")
    env = inner_env({"E2E_LEAKS": str(LEAKS), "E2E_LEAK": str(LEAK),
                     "E2E_INNOCENT": str(INNOCENT)})
    run = run_tktrace(inner_pytest("test_mem_leak.py"), work, cgroup=cg, env=env,
                      opts=record_opts(work.parent))
    check_replay(run, work.parent)  # recorded: every output again, byte for byte
    ids = nodeids_written(work)
    leak_ids = [ids[f"leak{i}"] for i in range(LEAKS)]
    innocent_id = ids["innocent"]
    (pid,) = map(int, read_words(work, "innocent"))
    assert not (work / "innocent-survived.txt").exists(), "the innocent test was not killed"
    assert run.rc == 137, run

    rep = report_of(run)
    assert rep["pid"] == pid
    tests = by_nodeid(rep)
    assert set(tests) == set(leak_ids) | {innocent_id}, sorted(tests)

    # Each leaking test grew by its block and kept it.
    for nid in leak_ids:
        t = tests[nid]
        check_consistent(t)
        assert t["outcome"] == "completed", show(t)
        assert t["pid"] == pid, show(t)
        assert near(t["peak_growth_bytes"], LEAK), show(t)
        assert near(t["retained_bytes"], LEAK), show(t)
    # What one test kept is where the next one started.
    for a, b in zip(leak_ids, leak_ids[1:]):
        assert abs(tests[b]["rss_start_bytes"] - tests[a]["rss_end_bytes"]) <= RESIDUE, (
            show(tests[a]), show(tests[b]))

    # The innocent test was killed while it ran: no end, no retained.
    inn = tests[innocent_id]
    check_consistent(inn)
    assert inn["outcome"] == "killed", show(inn)
    assert inn["retained_bytes"] is None and inn["rss_end_bytes"] is None, show(inn)
    assert inn["pid"] == pid, show(inn)
    assert abs(inn["rss_start_bytes"] - tests[leak_ids[-1]]["rss_end_bytes"]) <= RESIDUE, show(inn)
    assert 0 < inn["peak_growth_bytes"] <= INNOCENT * (1 + TOUCH_TOL), show(inn)

    # The OOM record blames the cache.
    assert len(rep["oom_kills"]) == 1, rep["oom_kills"]
    o = rep["oom_kills"][0]
    assert o["victim"]["pid"] == pid and o["victim"]["test"] == innocent_id, o
    assert o["victim"]["phase"] == "call", o
    b = o["blame"]
    assert b is not None, o
    assert b["pid"] == pid, b
    assert b["running_test"] == innocent_id, b
    assert b["retained_tests"] == LEAKS, b
    retained = {nid: tests[nid]["retained_bytes"] for nid in leak_ids}
    assert b["retained_total_bytes"] == sum(retained.values()), (b, retained)
    assert near(b["retained_total_bytes"], LEAKS * LEAK), b
    assert 0 < b["running_test_growth_bytes"] <= INNOCENT * (1 + TOUCH_TOL), b
    assert b["running_test_growth_bytes"] < b["retained_total_bytes"], b
    assert b["running_test_is_main_culprit"] is False, b
    top = b["largest_retained"]
    assert len(top) == min(5, LEAKS), b  # the report lists the 5 largest
    assert len({e["nodeid"] for e in top}) == len(top), b
    for e in top:
        assert e["nodeid"] in leak_ids, (e, leak_ids)
        assert e["retained_bytes"] == retained[e["nodeid"]], (e, retained)
    sizes = [e["retained_bytes"] for e in top]
    assert sizes == sorted(sizes, reverse=True), b
    assert sizes[0] == max(retained.values()), (b, retained)

    # And so does the text on stderr.
    lines = run.stderr.splitlines()
    before = [ln for ln in lines if ln.strip().startswith("before ")]
    assert len(before) == 1, run.stderr
    assert f"{LEAKS} earlier tests on this process left " in before[0], before[0]
    assert "resident" in before[0] and top[0]["nodeid"] in before[0], before[0]
    verdict = [ln for ln in lines if ln.strip().startswith("verdict ")]
    assert len(verdict) == 1, run.stderr
    assert "probably not the main culprit" in verdict[0], verdict[0]
    # The table of tests that left memory resident (shown by default after a kill) lists
    # leaking tests only.
    hdr = next(i for i, ln in enumerate(lines) if ln.startswith("Tests that left memory resident"))
    rows = lines[hdr + 2: hdr + 2 + min(5, LEAKS)]
    assert all(any(r.rstrip().endswith(nid) for nid in leak_ids) for r in rows), rows


# ---------------------------------------------------------------------------------------------
# 3. xdist: per-process records


def test_xdist_records_are_per_worker_process(root, memcg, suite):
    cg = memcg(ROOMY)
    work = suite("mem_xdist")
    env = inner_env({"E2E_LEAK": str(LEAK)})
    run = run_tktrace(inner_pytest("-n", "2", "--dist", "loadfile", "test_mem_xa.py",
                                   "test_mem_xb.py"), work, cgroup=cg, env=env)
    assert run.rc == 0, run
    rep = report_of(run)
    ids = nodeids_written(work)
    names = ["a_leak", "a_after", "b_watch", "b_after"]
    assert set(ids) == set(names), ids
    who = {n: (int(read_words(work, n)[0]), read_words(work, n)[1]) for n in names}
    # loadfile: one file per worker.
    assert who["a_leak"] == who["a_after"] and who["b_watch"] == who["b_after"], who
    assert {who["a_leak"][1], who["b_watch"][1]} == {"gw0", "gw1"}, who
    assert who["a_leak"][0] != who["b_watch"][0], who

    tests = by_nodeid(rep)
    assert set(tests) == set(ids.values()), sorted(tests)
    for n in names:
        t = tests[ids[n]]
        assert (t["pid"], t["worker"]) == who[n], (n, show(t), who[n])
        assert t["outcome"] == "completed", show(t)
        check_consistent(t)
    assert rep["pid"] not in {p for p, _ in who.values()}  # the controller runs no test

    leak, after = tests[ids["a_leak"]], tests[ids["a_after"]]
    assert near(leak["retained_bytes"], LEAK), show(leak)
    assert near(leak["peak_growth_bytes"], LEAK), show(leak)
    # The next test on the same process starts with the leak still resident ...
    assert after["rss_start_bytes"] >= leak["rss_start_bytes"] + (1 - TOUCH_TOL) * LEAK, (
        show(leak), show(after))
    check_idle(after)
    # ... while the other worker's test, running while the leak happened, saw none of it.
    check_idle(tests[ids["b_watch"]])
    check_idle(tests[ids["b_after"]])


# ---------------------------------------------------------------------------------------------
# 4. a child's memory counts for the test that spawned it

CHILD = 80 * MiB


def test_child_memory_counts_for_spawning_test(root, memcg, suite):
    cg = memcg(ROOMY)
    work = suite("mem_child")
    run = run_tktrace(inner_pytest("test_mem_child.py"), work, cgroup=cg,
                      env=inner_env({"E2E_CHILD": str(CHILD)}))
    assert run.rc == 0, run
    rep = report_of(run)
    ids = nodeids_written(work)
    (pid,) = map(int, read_words(work, "spawner"))
    child_pid, child_hwm = map(int, (work / "child.txt").read_text().split())
    assert child_pid != pid
    tests = by_nodeid(rep)
    assert set(tests) == set(ids.values()), sorted(tests)
    assert all(t["pid"] == pid for t in tests.values()), rep["tests"]  # none for the child

    spawner = tests[ids["spawner"]]
    check_consistent(spawner)
    assert spawner["outcome"] == "completed", show(spawner)
    assert spawner["children_peak_rss_bytes"] >= CHILD, show(spawner)
    # It is the child's own peak (its VmHWM, as the child read it after touching its block),
    # not pytest's memory added to it: the same give or take the counters' lag (RESIDUE).
    assert abs(spawner["children_peak_rss_bytes"] - child_hwm) <= RESIDUE, (
        show(spawner), mib(child_hwm))
    # Spawning costs the pytest process itself next to nothing.
    assert spawner["peak_growth_bytes"] < 10 * MiB, show(spawner)
    assert abs(spawner["retained_bytes"]) <= RESIDUE, show(spawner)

    after = tests[ids["after"]]
    assert after["children_peak_rss_bytes"] == 0, show(after)
    check_idle(after)


# ---------------------------------------------------------------------------------------------
# 5. --per-test-file

ORDER_SIZE = 30 * MiB
PER_TEST_KEYS = {"nodeid", "peak_rss_bytes", "peak_growth_bytes", "retained_bytes"}


def per_test_run(work, cg):
    """Run suites/mem_order with --per-test-file; (node ids in run order, lines, report)."""
    (work / "nodeids.txt").unlink(missing_ok=True)
    out = work / "mem.jsonl"
    run = run_tktrace(inner_pytest("test_mem_order.py"), work, cgroup=cg,
                      opts=["--per-test-file", str(out)],
                      env=inner_env({"E2E_SIZE": str(ORDER_SIZE)}))
    assert run.rc == 0, run
    text = out.read_text(encoding="utf-8")
    assert text.endswith("\n"), text
    lines = [json.loads(ln) for ln in text.split("\n")[:-1]]
    ran = (work / "nodeids.txt").read_text(encoding="utf-8").split("\n")[:-1]
    return ran, lines, report_of(run)


def test_per_test_file_is_sorted_and_stable(root, memcg, suite):
    cg = memcg(ROOMY)
    work = suite("mem_order")
    ran, lines, rep = per_test_run(work, cg)
    ids = [ln["nodeid"] for ln in lines]
    # One line per node id, sorted (bytewise, as strcmp) ...
    assert len(ran) == len(set(ran)) == 7, ran
    assert sorted(ids) == sorted(ran), (ids, ran)
    assert ids == sorted(ids, key=lambda s: s.encode()), ids
    assert ran != ids, "the suite must run in an order that is not the sorted one"
    # ... with the same numbers as the JSON report of the same run.
    tests = by_nodeid(rep)
    for ln in lines:
        assert PER_TEST_KEYS <= set(ln), ln
        t = tests[ln["nodeid"]]
        for k in ln:
            assert ln[k] == t[k], (k, ln, show(t))
    alpha = next(ln for ln in lines if ln["nodeid"].endswith("::test_alpha"))
    assert near(alpha["peak_growth_bytes"], ORDER_SIZE), alpha
    assert abs(alpha["retained_bytes"]) <= RESIDUE, alpha
    for ln in lines:
        if ln is not alpha:
            assert ln["peak_growth_bytes"] < NOOP_GROWTH, ln

    # Stable: a second run lists the same node ids in the same order.
    ran2, lines2, _ = per_test_run(work, cg)
    assert sorted(ran2) == sorted(ran)
    assert [ln["nodeid"] for ln in lines2] == ids


# ---------------------------------------------------------------------------------------------
# 6. --intensive-threshold and the conftest.py snippet

BIG = 80 * MiB
SMALL = 20 * MiB
SNIPPET_HEAD = "not marked memory_intensive; paste into conftest.py:"


class FakeItem:
    def __init__(self, nodeid):
        self.nodeid = nodeid
        self.markers = []

    def add_marker(self, m):
        self.markers.append(m)


def test_intensive_threshold_lists_only_unmarked_tests(root, memcg, suite):
    cg = memcg(ROOMY)
    work = suite("mem_marked")
    run = run_tktrace(inner_pytest("test_mem_marked.py"), work, cgroup=cg,
                      opts=["--intensive-threshold", "50M"],
                      env=inner_env({"E2E_BIG": str(BIG), "E2E_SMALL": str(SMALL)}))
    assert run.rc == 0, run
    assert "warning" not in run.stdout, run.stdout  # the marker is registered
    ids = nodeids_written(work)
    tests = by_nodeid(report_of(run))
    # Preconditions: two tests over the threshold, one under it.
    assert near(tests[ids["marked_big"]]["peak_growth_bytes"], BIG), tests
    assert near(tests[ids["unmarked_big"]]["peak_growth_bytes"], BIG), tests
    assert near(tests[ids["unmarked_small"]]["peak_growth_bytes"], SMALL), tests

    lines = run.stderr.splitlines()
    heads = [i for i, ln in enumerate(lines) if SNIPPET_HEAD in ln]
    assert len(heads) == 1, run.stderr
    assert lines[heads[0]].startswith("Tests needing more than 50.0 MiB, "), lines[heads[0]]
    body = []
    for ln in lines[heads[0] + 1:]:
        if not ln.startswith("  "):
            break
        body.append(ln)
    snippet = textwrap.dedent("\n".join(body))
    assert ids["unmarked_big"] in snippet, snippet
    assert ids["marked_big"] not in snippet, snippet
    assert ids["unmarked_small"] not in snippet, snippet
    # It is Python that marks exactly that test.
    ns = {}
    exec(compile(snippet, "snippet", "exec"), ns)
    assert ns["MEMORY_TESTS"] == {ids["unmarked_big"]}, snippet
    items = [FakeItem(nid) for nid in ids.values()]
    ns["pytest_collection_modifyitems"](items)
    assert {i.nodeid: i.markers for i in items} == {
        nid: (["memory_intensive"] if nid == ids["unmarked_big"] else []) for nid in ids.values()}
