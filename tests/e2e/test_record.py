"""--record FILE, `tktrace report` and `tktrace explain-kmsg`, end to end: a real OOM kill in a
memory cgroup (<= 1 GiB) is recorded, the recording re-renders the live reports byte for byte,
cut copies report what they hold, a SIGKILLed tracer leaves a readable file, and the kernel's
own OOM lines are mapped back to the test through the recording."""
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import time
import zlib
from pathlib import Path

import pytest

from conftest import (MAX_LIMIT, PYTHON, TKTRACE, inner_env, inner_pytest, kernel_log_now,
                      nodeids_written, run_tktrace)

MiB = 1 << 20
LIMIT = 400 * MiB
ALLOC = LIMIT + 200 * MiB  # always killed, never more than 1 GiB
assert ALLOC <= MAX_LIMIT
PREFIX = 12  # magic, version, reserved


def tktrace(*args, timeout=60):
    return subprocess.run([TKTRACE, *args], capture_output=True, text=True, timeout=timeout)


def records(data):
    """(type, payload) of every whole record in a recording (docs/recording.md)."""
    assert data[:8] == b"TKTRACE\x1a"
    raw = zlib.decompressobj().decompress(data[PREFIX:])
    out, off = [], 0
    while off + 8 <= len(raw):
        typ, _flags, ln = struct.unpack_from("<HHI", raw, off)
        if off + 8 + ln > len(raw):
            break
        out.append((typ, raw[off + 8:off + 8 + ln]))
        off += 8 + ln
    return out


def assert_one_line_error(proc):
    assert proc.returncode == 125, proc
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tktrace: "), proc
    assert "Sanitizer" not in proc.stderr and "Traceback" not in proc.stderr


@pytest.fixture
def recorded_oom(root, memcg, suite, tmp_path):
    """A recorded run whose pytest is OOM-killed in the call phase of test_hog."""
    cg = memcg(LIMIT)
    work = suite("test_oom_call.py")
    rec = tmp_path / "run.tkt"
    run = run_tktrace(inner_pytest("test_oom_call.py"), work, cgroup=cg,
                      opts=["--record", str(rec), "--per-test-file", str(tmp_path / "live.jsonl"),
                            "--html", str(tmp_path / "live.html")],
                      env=inner_env({"E2E_ALLOC": str(ALLOC)}))
    assert run.report is not None, run
    assert len(run.report["oom_kills"]) == 1, run
    live_json = sorted(Path(work).glob("report-*.json"))[0].read_bytes()
    return run, cg, work, rec, live_json


def test_report_reproduces_the_live_json_and_text(recorded_oom, tmp_path):
    run, cg, work, rec, live_json = recorded_oom
    out = tmp_path / "replayed.json"
    rep = tktrace("report", str(rec), "--json", str(out))
    assert rep.returncode == 0 and rep.stderr == "", rep
    assert out.read_bytes() == live_json  # byte for byte
    nodeid = nodeids_written(work)["call"]
    assert json.loads(out.read_text())["oom_kills"][0]["victim"]["test"] == nodeid

    # The per-test file too.
    pt = tktrace("report", str(rec), "--per-test-file", str(tmp_path / "replayed.jsonl"))
    assert pt.returncode == 0 and pt.stdout == "", pt
    live_pt = (tmp_path / "live.jsonl").read_bytes()
    assert live_pt and (tmp_path / "replayed.jsonl").read_bytes() == live_pt

    # The HTML report too (its memory timelines are recorded inputs as well).
    ht = tktrace("report", str(rec), "--html", str(tmp_path / "replayed.html"))
    assert ht.returncode == 0 and ht.stdout == "", ht
    live_html = (tmp_path / "live.html").read_bytes()
    assert b"OOM kill" in live_html and (tmp_path / "replayed.html").read_bytes() == live_html

    # The human report is what the live run wrote after COMMAND's own output.
    txt = tktrace("report", str(rec))
    assert txt.returncode == 0, txt
    assert txt.stdout.startswith("tktrace: ") and "killed by the OOM killer" in txt.stdout, txt
    assert nodeid in txt.stdout
    assert run.stderr.endswith(txt.stdout), (run.stderr, txt.stdout)

    # Both at once, JSON on stdout: the text goes to stderr as live.
    both = tktrace("report", str(rec), "--text", "--json", "-")
    assert both.returncode == 0
    assert both.stdout.encode() == live_json and both.stderr == txt.stdout

    # The header says what ran, where, and when.
    recs = records(rec.read_bytes())
    assert recs[0][0] == 64 and recs[-1][0] == 65  # META first, END last
    meta = recs[0][1]
    assert os.uname().release.encode() in meta
    assert b"test_oom_call.py" in meta
    start_unix = struct.unpack_from("<Q", meta, 16)[0] / 1e9
    assert abs(start_unix - time.time()) < 600


def test_truncated_recordings_report_what_they_hold(recorded_oom, tmp_path):
    run, cg, work, rec, live_json = recorded_oom
    data = rec.read_bytes()
    live = json.loads(live_json)
    cuts = sorted({0, 5, PREFIX, PREFIX + 10, len(data) // 4, len(data) // 2,
                   3 * len(data) // 4, len(data) - 40, len(data) - 1})
    seen = []
    for n in cuts:
        cut = tmp_path / f"cut-{n}.tkt"
        cut.write_bytes(data[:n])
        out = tmp_path / f"cut-{n}.json"
        proc = tktrace("report", str(cut), "--json", str(out))
        if proc.returncode != 0:
            # Only a file cut before its header is whole has nothing to report.
            assert_one_line_error(proc)
            assert not any(t == 64 for t, _ in records(data[:n])) if n >= PREFIX else True
            assert not seen, f"cut at {n} failed after a shorter cut worked"
            continue
        rep = json.loads(out.read_text())
        if rep["exit_code"] is None:
            assert "recording stops at" in proc.stderr, proc
            assert rep["recording_cut_at_s"] <= live["duration_s"] + 0.001
            assert rep["cause"] is None
        else:
            assert out.read_bytes() == live_json  # only the stream's last bytes were lost
        # Everything it holds is what the live run saw, up to the cut.
        live_ids = [t["nodeid"] for t in live["tests"]]
        ids = [t["nodeid"] for t in rep["tests"]]
        assert ids == live_ids[:len(ids)], (n, ids, live_ids)
        assert len(rep["oom_kills"]) <= 1
        if rep["oom_kills"]:
            got, want = rep["oom_kills"][0]["victim"], live["oom_kills"][0]["victim"]
            if got.get("python_stack_error") == "not captured":
                # Cut between the kill's record and its stack's (the next record).
                want = {k: v for k, v in want.items() if not k.startswith("python_stack")}
                got = {k: v for k, v in got.items() if not k.startswith("python_stack")}
            assert got == want
        seen.append((n, len(ids), len(rep["oom_kills"])))
    assert seen, "no cut reported anything"
    assert [s[1] for s in seen] == sorted(s[1] for s in seen)
    # The cut 40 bytes before the end still holds the kill: it was flushed when it happened.
    assert seen[-2][2] == 1, seen


SLOW_SUITE = '''
import os, time
from pathlib import Path
import pytest

@pytest.mark.parametrize("i", range(40))
def test_slow(i):
    Path(f"done-{i}").write_text(str(os.getpid()))
    time.sleep(0.2)
'''


def test_sigkilled_tracer_leaves_a_readable_recording(root, memcg, tmp_path):
    cg = memcg(LIMIT)  # everything the run starts is in here, ended by pid at the end
    work = tmp_path / "slow"
    work.mkdir()
    (work / "test_slow.py").write_text(SLOW_SUITE)
    rec = tmp_path / "killed.tkt"
    tr = subprocess.Popen([TKTRACE, "--record", str(rec), "--", *cg.join_cmd(),
                           *inner_pytest("test_slow.py")], cwd=work, env=inner_env(),
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 60
        while not (work / "done-5").exists() and time.time() < deadline:
            time.sleep(0.05)
        assert (work / "done-5").exists(), "the suite did not start"
        time.sleep(0.1)
        os.kill(tr.pid, signal.SIGKILL)  # tktrace itself, by pid
        tr.wait(timeout=30)
    finally:
        if tr.poll() is None:
            os.kill(tr.pid, signal.SIGKILL)
            tr.wait()
    assert rec.stat().st_size > PREFIX
    out = tmp_path / "killed.json"
    proc = tktrace("report", str(rec), "--json", str(out))
    assert proc.returncode == 0, proc
    assert "recording stops at" in proc.stderr and "tktrace was killed?" in proc.stderr
    rep = json.loads(out.read_text())
    assert rep["exit_code"] is None and rep["recording_cut_at_s"] > 0
    done = {p.name for p in work.glob("done-*")}
    # Tests that ended before the kill (a poll cycle of 100 ms before it at most) are there.
    ended = [t for t in rep["tests"] if t["outcome"] == "completed"]
    assert len(ended) >= 5, rep["tests"]
    assert len(rep["tests"]) <= len(done) + 1
    assert all(t["nodeid"] == f"test_slow.py::test_slow[{i}]" for i, t in enumerate(rep["tests"]))
    txt = tktrace("report", str(rec))
    assert txt.returncode == 0 and "stops at" in txt.stdout, txt


def test_explain_kmsg_maps_the_kernels_oom_lines_to_the_test(recorded_oom, tmp_path):
    run, cg, work, rec, live_json = recorded_oom
    live = json.loads(live_json)
    victim = live["oom_kills"][0]["victim"]
    memcg_name = "/" + cg.path.name  # the kernel's path, relative to the hierarchy's root
    # Saved right away: other suites on this machine fill the kernel's ring.
    raw = kernel_log_now()
    assert f"Killed process {victim['pid']} ".encode() in raw, "the kernel log lost the kill"
    (tmp_path / "kmsg.log").write_bytes(raw)
    logs = [tmp_path / "kmsg.log"]
    if shutil.which("dmesg"):
        d = subprocess.run(["dmesg"], capture_output=True, timeout=30)
        if d.returncode == 0:
            (tmp_path / "dmesg.log").write_bytes(d.stdout)
            logs.append(tmp_path / "dmesg.log")
    # The same lines as journalctl -k prints them.
    journal = [f"Nov 26 05:41:03 host kernel: {line.split(b';', 1)[1].decode(errors='replace')}"
               for line in raw.splitlines() if b";" in line and not line.startswith(b" ")]
    (tmp_path / "journal.log").write_text("\n".join(journal) + "\n")
    logs.append(tmp_path / "journal.log")

    for log in [None, *logs]:  # None: the live kernel log
        args = ["explain-kmsg", "--trace", str(rec)] + ([str(log)] if log else [])
        proc = tktrace(*args)
        assert proc.returncode == 0, (log, proc)
        out = proc.stdout
        assert f"victim   pid {victim['pid']} ({victim['comm']})" in out, (log, out)
        assert f"CONSTRAINT_MEMCG, oom_memcg {memcg_name}, task_memcg {memcg_name}" in out, (log, out)
        assert f"test     {victim['test']} [call]" in out, (log, out)
        assert f"rerun    {live['oom_kills'][0]['rerun']}" in out, (log, out)
        assert out.count("\nOOM kill ") + out.startswith("OOM kill ") == 1, (log, out)
        if log != tmp_path / "journal.log":
            assert " s after boot" in out  # kernel time stamps were read

    # Without a recording: every kill of the log, this one among them, with its rss.
    proc = tktrace("explain-kmsg", str(tmp_path / "kmsg.log"))
    assert proc.returncode == 0
    block = proc.stdout.split(f"victim   pid {victim['pid']} ")[1].split("\nOOM kill")[0]
    assert "oom_memcg " + memcg_name in block
    # The kernel's resident memory of the victim is what the tracer read at the kill.
    m = re.search(r"victim +pid \d+ .*, (rss \S+ \S+ \(anon \S+ \S+, file \S+ \S+, shmem \S+ \S+\))",
                  run.stderr)
    assert m, run.stderr
    assert m.group(1) in block, (m.group(1), block)
    assert "test " not in block


def test_bad_input_is_a_one_line_error(tmp_path, recorded_oom):
    run, cg, work, rec, live_json = recorded_oom
    data = rec.read_bytes()
    cases = {
        "empty": b"",
        "text": b"hello, I am not a recording\n" * 10,
        "version": data[:8] + b"\x09\x00" + data[10:],
        "flipped": data[:PREFIX + 20] + bytes([data[PREFIX + 20] ^ 0xFF]) + data[PREFIX + 21:],
        "junk-after-end": data + b"\x00" * 16,
        "random": os.urandom(4096),
    }
    for name, body in cases.items():
        f = tmp_path / f"{name}.tkt"
        f.write_bytes(body)
        proc = tktrace("report", str(f))
        assert_one_line_error(proc)
    assert_one_line_error(tktrace("report", str(tmp_path / "missing.tkt")))
    assert_one_line_error(tktrace("report"))
    assert_one_line_error(tktrace("report", str(rec), "--nope"))
    (tmp_path / "bin.log").write_bytes(b"\x7fELF\x00\x00binary")
    assert_one_line_error(tktrace("explain-kmsg", str(tmp_path / "bin.log")))
    assert_one_line_error(tktrace("explain-kmsg", "--trace", str(tmp_path / "text.tkt"),
                                  str(tmp_path / "bin.log")))
    for sub in ("report", "explain-kmsg"):
        h = tktrace(sub, "--help")
        assert h.returncode == 0 and "Examples:" in h.stdout
