#!/usr/bin/python3
"""tktrace benchmark: wall time of `pytest SUITE` with and without `tktrace -q --`, median of
paired runs (alternating order), plus BPF program costs and tracer memory from --stats.
Run as root: sudo make bench [BENCH_RUNS=7] [BENCH_SUITES="faults numpy many forks"] [BENCH_XDIST=1]."""
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TKTRACE = os.environ.get("TKTRACE", str(HERE.parent / "build" / "tktrace"))
PYTHON = os.environ.get("PYTHON", "/usr/bin/python3")
RUNS = int(os.environ.get("BENCH_RUNS", "7"))
SUITES = os.environ.get("BENCH_SUITES", "faults numpy many forks").split()
XDIST = os.environ.get("BENCH_XDIST", "1") == "1"
STATS = "/proc/sys/kernel/bpf_stats_enabled"


def pytest_argv(suite, xdist):
    argv = [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(HERE / "suites" / suite)]
    if xdist:
        argv += ["-n", "2"]
    return argv


def timed(argv):
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    t = time.perf_counter()
    p = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    dt = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"bench: {argv} failed with {p.returncode}: {p.stderr[-2000:]}")
    return dt, p.stderr


def paired(suite, xdist):
    base, traced, ratios = [], [], []
    argv = pytest_argv(suite, xdist)
    timed(argv)  # warm the page cache and bytecode
    for i in range(RUNS):
        order = [False, True] if i % 2 == 0 else [True, False]
        res = {}
        for with_tracer in order:
            res[with_tracer], _ = timed(([TKTRACE, "-q", "--"] if with_tracer else []) + argv)
        base.append(res[False])
        traced.append(res[True])
        ratios.append(res[True] / res[False])
    return statistics.median(base), statistics.median(traced), statistics.median(ratios)


def stats_run(suite, xdist):
    _, err = timed([TKTRACE, "-q", "--stats", "--"] + pytest_argv(suite, xdist))
    rows = {}
    for line in err.splitlines():
        if not line.startswith("tktrace stats: "):
            continue
        parts = line[len("tktrace stats: "):].split()
        if len(parts) == 4 and parts[0] != "program":
            rows[parts[0]] = (int(parts[1]), float(parts[3]))
        elif len(parts) == 2:
            rows[parts[0]] = parts[1]
        elif parts[0] == "tests":
            rows["report_ready_ms"] = parts[-1]
    return rows


def main():
    if os.geteuid() != 0:
        sys.exit("bench: needs root (tktrace loads BPF programs): sudo make bench")
    old = Path(STATS).read_text().strip()
    print(f"tktrace benchmark: {RUNS} paired runs per row, median; machine: {os.uname().release}, "
          f"{os.cpu_count()} CPUs")
    print(f"{'suite':<14}{'pytest s':>10}{'traced s':>10}{'ratio':>8}{'target':>8}")
    results = []
    try:
        for suite in SUITES:
            for xdist in ([False, True] if XDIST else [False]):
                b, t, r = paired(suite, xdist)
                name = suite + (" -n 2" if xdist else "")
                ok = "ok" if r <= 1.03 else "OVER"
                print(f"{name:<14}{b:>10.3f}{t:>10.3f}{r:>8.3f}{ok:>8}", flush=True)
                results.append((name, r))
        Path(STATS).write_text("1")
        print("\nBPF programs (kernel.bpf_stats_enabled; includes the stats' own clock reads), "
              "tracer memory:")
        for suite in SUITES:
            rows = stats_run(suite, False)
            progs = {k: v for k, v in rows.items() if isinstance(v, tuple) and v[0] > 0}
            hot = max(progs.items(), key=lambda kv: kv[1][0])
            print(f"  {suite}: " + ", ".join(f"{k} {v[1]:.0f} ns x{v[0]}" for k, v in
                                             sorted(progs.items(), key=lambda kv: -kv[1][0])))
            print(f"  {suite}: hottest {hot[0]} {hot[1][1]:.0f} ns/run; maps "
                  f"{int(rows.get('map_memory_bytes', 0)) / 2**20:.1f} MiB; tracer peak rss "
                  f"{int(rows.get('tracer_peak_rss_bytes', 0)) / 2**20:.1f} MiB; report ready "
                  f"{rows.get('report_ready_ms')} ms")
    finally:
        Path(STATS).write_text(old)
    return 0


if __name__ == "__main__":
    sys.exit(main())
