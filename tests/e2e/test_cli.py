"""End-to-end tests of tktrace's command line: SIGKILL attribution outside OOM, exit status
passthrough, usage errors, privilege drop under sudo, signal forwarding and the launch gate.

Nothing here allocates much memory; inner suites live in suites/cli_*."""
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import (PYTHON, SUITES, TKTRACE, inner_env, need_root, nodeids_written, inner_pytest,
                      run_tktrace, tktrace_returncode)

NOBODY = 65534


# ---------------------------------------------------------------------------------------------
# helpers


@pytest.fixture
def tktrace_bin():
    """The binary, for tests that need no root (usage errors are found before any BPF)."""
    if not os.path.exists(TKTRACE):
        pytest.fail(f"tktrace binary not found at {TKTRACE}: run make first")
    return TKTRACE


def run_plain(args, cwd=None, env=None, timeout=60):
    """tktrace ARGS exactly as given (no --json, no --), with output captured."""
    return subprocess.run([TKTRACE, *args], cwd=cwd, env=env or inner_env(),
                          capture_output=True, text=True, timeout=timeout)


def assert_one_line_error(proc, rc, *needles):
    """tktrace failed by itself: exit rc, one line on stderr starting 'tktrace: ', no stdout."""
    assert proc.returncode == rc, (proc.returncode, proc.stderr)
    err = proc.stderr
    assert err.startswith("tktrace: "), err
    assert err.endswith("\n") and err.count("\n") == 1, f"not a single line: {err!r}"
    for needle in needles:
        assert needle in err, (needle, err)
    assert proc.stdout == ""
    return err


def read_int(path):
    return int(Path(path).read_text().strip())


def first_line(text):
    return text.splitlines()[0] if text else ""


def kills_of(report, pid):
    return [k for k in report["kills"] if k["target"]["pid"] == pid]


# ---------------------------------------------------------------------------------------------
# 1. a SIGKILL that is not an OOM kill


def test_kill9_of_pytest_is_attributed_to_the_test(root, suite):
    work = suite("cli_selfkill")
    run = run_tktrace(inner_pytest("test_selfkill.py"), work)
    rep = run.report
    assert rep is not None, run
    nodeid = nodeids_written(work)["selfkill"]
    pytest_pid = read_int(work / "pid-selfkill.txt")

    assert run.rc == 137, run
    assert rep["exit_code"] == 137
    assert rep["cause"] == "sigkill"
    assert rep["signal"] == 9
    assert rep["pid"] == pytest_pid  # COMMAND is the pytest process itself
    assert rep["oom_kills"] == []
    assert len(rep["kills"]) == 1, rep["kills"]
    k = rep["kills"][0]
    t, s = k["target"], k["sender"]
    assert t["pid"] == pytest_pid
    assert t["comm"] == os.path.basename(PYTHON)[:15]
    assert nodeid.endswith("test_selfkill.py::test_selfkill")
    assert t["test"] == nodeid
    assert t["phase"] == "call"
    assert t["worker"] is None
    assert t["traced"] is True
    assert t["rss_bytes"] > 0
    assert s["comm"] == "kill"
    assert s["pid"] == read_int(work / "pid-kill.txt")
    assert s["kernel"] is False
    assert 0 <= k["time_s"] <= rep["duration_s"] + 0.01
    assert rep["tests_seen"] == 1
    assert rep["lost_events"] == 0
    assert rep["processes_traced"] >= 2  # pytest and kill
    assert (f"was killed by SIGKILL from pid {s['pid']} (kill)" in first_line(run.stderr)), run
    assert first_line(run.stderr).startswith("tktrace: ")


# ---------------------------------------------------------------------------------------------
# 2. a SIGKILL to a descendant, sent by another descendant


def test_sigkill_of_descendant_by_timeout(root, suite):
    work = suite("cli_descendant_kill")
    run = run_tktrace(inner_pytest("test_descendant_kill.py"), work)
    rep = run.report
    assert rep is not None, run
    nodeid = nodeids_written(work)["timeout"]
    sleep_pid = read_int(work / "pid-sleep.txt")
    timeout_pid = read_int(work / "pid-timeout.txt")
    assert nodeid.endswith("test_descendant_kill.py::test_timeout_kills_sleep")
    # pytest itself ran to the end and passed.
    assert run.rc == 0, run
    assert rep["exit_code"] == 0
    assert rep["cause"] == "exit"
    assert rep["signal"] is None
    assert "1 passed" in run.stdout
    assert rep["oom_kills"] == []
    assert kills_of(rep, rep["pid"]) == []  # pytest was never SIGKILLed
    sleeps = kills_of(rep, sleep_pid)
    assert sleeps, rep["kills"]
    for k in sleeps:
        t, s = k["target"], k["sender"]
        assert t["comm"] == "sleep"
        assert t["test"] == nodeid
        assert t["phase"] == "call"
        assert t["worker"] is None
        assert t["traced"] is True
        assert s["comm"] == "timeout"
        assert s["pid"] == timeout_pid
        assert s["kernel"] is False
    # Every SIGKILL in this run came from timeout, to a process of this test.
    for k in rep["kills"]:
        assert k["sender"]["comm"] == "timeout" and k["sender"]["pid"] == timeout_pid, k
        assert k["target"]["test"] == nodeid, k
    assert rep["tests_seen"] == 1
    assert rep["lost_events"] == 0
    assert first_line(run.stderr).startswith("tktrace: ")
    assert "exited with status 0 after" in first_line(run.stderr), run


def _can_run_fifo():
    if not (shutil.which("chrt") and shutil.which("taskset")):
        return False
    return subprocess.run(["chrt", "-f", "1", "true"], capture_output=True).returncode == 0


def test_sigkill_reported_once_per_process(root, suite):
    if not _can_run_fifo():
        pytest.skip("needs chrt and taskset (util-linux) and SCHED_FIFO to order the two kills")
    work = suite("cli_double_kill")
    run = run_tktrace(inner_pytest("test_double_kill.py"), work)
    rep = run.report
    # Failures of the setup are failures, not the expected one (raises=AssertionError).
    if rep is None or run.rc != 0 or "1 passed" not in run.stdout:
        pytest.fail(f"the inner double-kill test did not run as planned: {run!r} {run.stdout}")
    nodeid = nodeids_written(work)["double"]
    sleep_pid = read_int(work / "pid-sleep.txt")
    if rep["cause"] != "exit" or rep["oom_kills"]:
        pytest.fail(f"unexpected report: {rep}")
    assert all(k["sender"]["comm"] == "kill" for k in rep["kills"]), rep["kills"]
    # One process died of one SIGKILL: one entry, whatever else the sender sent.
    assert len(rep["kills"]) == 1, rep["kills"]
    k = rep["kills"][0]
    assert k["target"]["pid"] == sleep_pid
    assert k["target"]["comm"] == "sleep"
    assert k["target"]["test"] == nodeid
    assert k["target"]["phase"] == "call"
    assert k["sender"]["kernel"] is False
    assert k["sender"]["pid"] == read_int(work / "pid-kill.txt")
    assert "after 1 SIGKILL of traced processes" in first_line(run.stderr), run


# ---------------------------------------------------------------------------------------------
# 3. a clean pass


def test_clean_pass_one_summary_line(root, suite):
    work = suite("cli_pass")
    run = run_tktrace(inner_pytest("test_pass.py"), work)
    rep = run.report
    assert rep is not None, run
    assert run.rc == 0, run
    assert "3 passed" in run.stdout
    assert rep["exit_code"] == 0
    assert rep["cause"] == "exit"
    assert rep["signal"] is None
    assert rep["kills"] == [] and rep["oom_kills"] == []
    assert rep["tests_seen"] == 3
    assert rep["lost_events"] == 0
    assert rep["processes_traced"] >= 2  # pytest and the child of test_two_spawns_a_child
    assert run.stderr.count("\n") == 1 and run.stderr.endswith("\n"), run
    assert run.stderr.startswith("tktrace: ")
    assert "exited with status 0; no kills" in run.stderr
    assert ", 3 tests," in run.stderr


def test_clean_pass_quiet_prints_nothing(root, suite):
    work = suite("cli_pass")
    run = run_tktrace(inner_pytest("test_pass.py"), work, opts=["-q"])
    assert run.rc == 0, run
    assert run.stderr == ""
    assert "3 passed" in run.stdout
    assert run.report["cause"] == "exit"
    assert run.report["tests_seen"] == 3
    assert run.report["kills"] == []


# ---------------------------------------------------------------------------------------------
# 4. exit status passthrough


@pytest.mark.parametrize("script,rc,cause,sig,signame", [
    ("exit 3", 3, "exit", None, None),
    ("exit 0", 0, "exit", None, None),
    ("kill -TERM $$", 143, "signal", 15, "SIGTERM"),
    ("kill -SEGV $$", 139, "signal", 11, "SIGSEGV"),
], ids=["exit3", "exit0", "sigterm", "sigsegv"])
def test_exit_status_passthrough(root, tmp_path, script, rc, cause, sig, signame):
    run = run_tktrace(["sh", "-c", script], tmp_path)
    rep = run.report
    assert rep is not None, run
    assert run.rc == tktrace_returncode(sig, rc), run
    assert rep["exit_code"] == rc
    assert rep["cause"] == cause
    assert rep["signal"] == sig
    assert rep["command"] == ["sh", "-c", script]
    assert rep["kills"] == [] and rep["oom_kills"] == []
    line = first_line(run.stderr)
    assert line.startswith("tktrace: ")
    if signame:
        assert f"was killed by {signame}" in line and f"(exit {rc})" in line, run
    else:
        assert f"exited with status {rc}" in line, run


# ---------------------------------------------------------------------------------------------
# 5. bad input


@pytest.mark.parametrize("args", [[], ["--json", "x.json"], ["--json", "x.json", "--"], ["-q"]],
                         ids=["bare", "json-only", "json-dashdash", "quiet-only"])
def test_no_command(tktrace_bin, tmp_path, args):
    proc = run_plain(args, cwd=tmp_path)
    assert_one_line_error(proc, 125, "no command")
    assert not (tmp_path / "x.json").exists()  # a usage error writes nothing


@pytest.mark.parametrize("opt", ["--bogus", "-x", "--jsn=f"])
def test_unknown_option(tktrace_bin, tmp_path, opt):
    proc = run_plain([opt, "--", "true"], cwd=tmp_path)
    err = assert_one_line_error(proc, 125, "unknown option")
    assert opt.split("=")[0] in err


@pytest.mark.parametrize("args", [["--json"], ["--json=", "--", "true"],
                                  ["--memory-limit"], ["--json", "", "--", "true"]],
                         ids=["json-missing", "json-empty-eq", "memlimit-missing", "json-empty"])
def test_option_missing_argument(tktrace_bin, tmp_path, args):
    proc = run_plain(args, cwd=tmp_path)
    assert_one_line_error(proc, 125, args[0].rstrip("="))


@pytest.mark.parametrize("args,rc", [(["--", "no\nsuch-cmd"], 127),
                                     (["--json", "/nonexistent/a\nb", "--", "true"], 125)],
                         ids=["command", "json"])
def test_error_message_single_line_for_odd_names(tktrace_bin, tmp_path, args, rc):
    if "--json" in args:
        need_root()  # the output file is opened after the privilege check
    proc = run_plain(args, cwd=tmp_path)
    assert_one_line_error(proc, rc)


@pytest.mark.parametrize("value", ["abc", "", "-5", "10ms", "3600001"])
def test_follow_delay_bad_value(root, tmp_path, value):
    proc = run_plain(["--", "true"], cwd=tmp_path,
                     env=inner_env({"TKTRACE_FOLLOW_DELAY_MS": value}))
    assert_one_line_error(proc, 125, f"TKTRACE_FOLLOW_DELAY_MS={value}: not a number")


def test_options_after_command_belong_to_it(root, tmp_path):
    run = run_tktrace(["sh", "-c", 'echo "$@"', "sh", "-q", "--bogus", "--json", "x"], tmp_path,
                      opts=["-q"])
    assert run.rc == 0, run
    assert run.stdout == "-q --bogus --json x\n"
    assert run.stderr == ""
    assert not (tmp_path / "x").exists()
    assert run.report["command"] == ["sh", "-c", 'echo "$@"', "sh", "-q", "--bogus", "--json", "x"]


@pytest.mark.parametrize("cmd", ["tktrace-no-such-command-x", "/nonexistent/dir/cmd"])
def test_command_not_found(tktrace_bin, tmp_path, cmd):
    # A PATH every user can search (root's own may hold directories others cannot enter).
    proc = run_plain(["--", cmd, "arg"], cwd=tmp_path, env=inner_env({"PATH": "/usr/bin:/bin"}))
    err = assert_one_line_error(proc, 127, "command not found")
    assert cmd in err


def test_command_not_executable(tktrace_bin, tmp_path):
    f = tmp_path / "script.sh"
    f.write_text("#!/bin/sh\ntouch ran\n")
    f.chmod(0o644)
    proc = run_plain(["--", str(f)], cwd=tmp_path)
    err = assert_one_line_error(proc, 126)
    assert str(f) in err
    assert not (tmp_path / "ran").exists()


def test_command_is_directory(tktrace_bin, tmp_path):
    d = tmp_path / "adir"
    d.mkdir()
    proc = run_plain(["--", str(d)], cwd=tmp_path)
    err = assert_one_line_error(proc, 126)
    assert str(d) in err


@pytest.mark.parametrize("value", ["lots", "", "0", "1K", "5X", "-1G"])
def test_bad_memory_limit(tktrace_bin, tmp_path, value):
    proc = run_plain(["--memory-limit", value, "--", "touch", "ran"], cwd=tmp_path)
    assert_one_line_error(proc, 125, "--memory-limit")
    assert not (tmp_path / "ran").exists()


def test_json_into_missing_directory(root, tmp_path):
    out = tmp_path / "no" / "such" / "dir" / "r.json"
    proc = run_plain(["--json", str(out), "--", "touch", "ran"], cwd=tmp_path)
    assert_one_line_error(proc, 125, "cannot write", str(out))
    assert not out.exists()
    assert not (tmp_path / "ran").exists()  # COMMAND never started


def test_json_symlink_is_refused(root, tmp_path):
    victim = tmp_path / "precious.txt"
    victim.write_text("do not overwrite\n")
    link = tmp_path / "report.json"
    link.symlink_to(victim)
    proc = run_plain(["--json", str(link), "--", "touch", "ran"], cwd=tmp_path)
    assert_one_line_error(proc, 125, "cannot write", str(link))
    assert link.is_symlink() and os.readlink(link) == str(victim)
    assert victim.read_text() == "do not overwrite\n"
    assert not (tmp_path / "ran").exists()


def test_not_root_is_refused(tktrace_bin, tmp_path):
    if os.geteuid() != 0:
        proc = run_plain(["--", "true"], cwd=tmp_path)
    else:
        setpriv = shutil.which("setpriv")
        if not setpriv:
            pytest.skip("setpriv (util-linux) is not installed: cannot run tktrace as nobody")
        # A copy nobody can reach, whatever the permissions of the checkout.
        d = Path(tempfile.mkdtemp(prefix="tktrace-cli-"))
        try:
            d.chmod(0o755)
            exe = d / "tktrace"
            shutil.copy2(TKTRACE, exe)
            exe.chmod(0o755)
            proc = subprocess.run(
                [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                 str(exe), "--", "true"],
                cwd="/", env=inner_env(), capture_output=True, text=True, timeout=60)
        finally:
            shutil.rmtree(d)
    err = assert_one_line_error(proc, 125, "root")
    assert "sudo" in err


def test_help(tktrace_bin):
    proc = run_plain(["--help"])
    assert proc.returncode == 0, proc
    assert proc.stdout.startswith("Usage: tktrace")
    assert "Examples" in proc.stdout
    assert "--json" in proc.stdout and "--memory-limit" in proc.stdout
    assert proc.stderr == ""
    assert run_plain(["-h"]).stdout == proc.stdout


def test_version(tktrace_bin):
    proc = run_plain(["--version"])
    assert proc.returncode == 0, proc
    assert proc.stdout.startswith("tktrace ") and proc.stdout.count("\n") == 1
    assert len(proc.stdout.split()) == 2 and proc.stdout.split()[1][0].isdigit(), proc.stdout
    assert proc.stderr == ""
    assert run_plain(["-V"]).stdout == proc.stdout


# ---------------------------------------------------------------------------------------------
# 6. privilege drop under sudo, and oom_score_adj


SUDO_NOBODY = {"SUDO_UID": str(NOBODY), "SUDO_GID": str(NOBODY)}


def test_sudo_drops_to_invoking_user(root, tmp_path):
    pw = pwd.getpwuid(NOBODY)
    groups = sorted(os.getgrouplist(pw.pw_name, NOBODY))
    run = run_tktrace(["sh", "-c", 'id -u; id -g; id -G; echo "$HOME"; echo "$USER"'], tmp_path,
                      env=inner_env(SUDO_NOBODY))
    assert run.rc == 0, run
    uid, gid, gids, home, user = run.stdout.splitlines()
    assert int(uid) == NOBODY
    assert int(gid) == NOBODY
    assert sorted(int(g) for g in gids.split()) == groups
    assert home == pw.pw_dir
    assert user == pw.pw_name
    report = next(tmp_path.glob("report-*.json"))
    st = report.stat()
    assert (st.st_uid, st.st_gid) == (NOBODY, NOBODY)
    assert run.report["exit_code"] == 0


def test_sudo_every_written_file_belongs_to_the_invoking_user(root):
    """Under sudo every file tktrace writes is the invoking user's: JSON, HTML, recording,
    per-test file, the JUnit XML it writes for a killed pytest, the step summary."""
    d = Path(tempfile.mkdtemp(prefix="tktrace-sudo-"))  # under /tmp: nobody can reach it
    try:
        d.chmod(0o777)
        src = SUITES / "cli_selfkill" / "test_selfkill.py"
        shutil.copy(src, d / src.name)
        (d / src.name).chmod(0o644)
        out = {name: d / name for name in ("r.json", "r.html", "r.tkt", "per-test.jsonl",
                                           "junit.xml", "summary.md")}
        env = inner_env({**SUDO_NOBODY, "GITHUB_ACTIONS": "true",
                         "GITHUB_STEP_SUMMARY": str(out["summary.md"]),
                         "GITHUB_WORKSPACE": str(d)})
        proc = subprocess.run(
            [TKTRACE, "--json", str(out["r.json"]), "--html", str(out["r.html"]),
             "--record", str(out["r.tkt"]), "--per-test-file", str(out["per-test.jsonl"]),
             "--junitxml-merge", str(out["junit.xml"]), "--",
             *inner_pytest(src.name, f"--junitxml={out['junit.xml']}")],
            cwd=d, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 137, proc  # pytest killed itself: no XML of its own
        assert "killed before it wrote its JUnit XML" in out["junit.xml"].read_text()
        owners = {name: (p.stat().st_uid, p.stat().st_gid) for name, p in out.items()}
        assert owners == {name: (NOBODY, NOBODY) for name in out}, owners
    finally:
        shutil.rmtree(d)


def test_sudo_id_u(root, tmp_path):
    run = run_tktrace(["id", "-u"], tmp_path, env=inner_env(SUDO_NOBODY))
    assert run.rc == 0, run
    assert run.stdout == f"{NOBODY}\n"
    st = next(tmp_path.glob("report-*.json")).stat()
    assert st.st_uid == NOBODY


def test_sudo_as_root_keeps_root(root, tmp_path):
    run = run_tktrace(["id", "-u"], tmp_path, opts=["--as-root"], env=inner_env(SUDO_NOBODY))
    assert run.rc == 0, run
    assert run.stdout == "0\n"
    st = next(tmp_path.glob("report-*.json")).stat()
    assert st.st_uid == 0


def _set_oom_adj(value):
    def fn():
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write(value)
    return fn


def _can_lower_oom_adj():
    probe = subprocess.run(["sh", "-c", "echo -17 > /proc/self/oom_score_adj"],
                           capture_output=True)
    return probe.returncode == 0


@pytest.mark.parametrize("adj", [None, "123", "-17"], ids=["inherited", "raised", "lowered"])
@pytest.mark.parametrize("sudo", [False, True], ids=["root", "sudo"])
def test_command_keeps_oom_score_adj(root, tmp_path, adj, sudo):
    if adj is not None and int(adj) < 0 and not _can_lower_oom_adj():
        pytest.skip("no CAP_SYS_RESOURCE here: cannot lower oom_score_adj to set up the test")
    expected = adj if adj is not None else Path("/proc/self/oom_score_adj").read_text().strip()
    run = run_tktrace(["sh", "-c", "cat /proc/self/oom_score_adj"], tmp_path,
                      env=inner_env(SUDO_NOBODY if sudo else None),
                      preexec_fn=_set_oom_adj(adj) if adj is not None else None)
    assert run.rc == 0, run
    assert run.stdout.strip() == expected


# ---------------------------------------------------------------------------------------------
# 7. signal forwarding


LOOP = "while :; do sleep 0.1; done"


def _start_and_signal(tmp_path, script, sig):
    """Start tktrace on sh -c SCRIPT (which creates 'ready'), send SIG to tktrace's pid only."""
    report = tmp_path / "r.json"
    proc = subprocess.Popen([TKTRACE, "--json", str(report), "--", "sh", "-c", script],
                            cwd=tmp_path, env=inner_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while not (tmp_path / "ready").exists():
            assert proc.poll() is None, proc.communicate()
            assert time.time() < deadline, "COMMAND never started"
            time.sleep(0.02)
        os.kill(proc.pid, sig)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()  # ours, by pid; COMMAND then gets its parent-death SIGTERM
            proc.communicate()
    rep = json.loads(report.read_text()) if report.exists() and report.stat().st_size else None
    return proc.returncode, out, err, rep


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP],
                         ids=["TERM", "INT", "HUP"])
def test_signal_forwarded_to_trapping_command(root, tmp_path, sig):
    name = signal.Signals(sig).name[3:]
    script = f'trap "exit 7" {name}; touch ready; {LOOP}'
    rc, out, err, rep = _start_and_signal(tmp_path, script, sig)
    assert rc == 7, err
    assert rep is not None, err
    assert rep["exit_code"] == 7
    assert rep["cause"] == "exit"
    assert rep["kills"] == []
    # The whole group got it: sh may report its sleep child's death before tktrace's summary.
    assert err.splitlines()[-1].startswith("tktrace: sh exited with status 7"), err


def test_signal_reaches_commands_whole_process_group(root, tmp_path):
    """A forwarded SIGTERM reaches COMMAND's children too (xdist workers, say), not just it."""
    script = f'sleep 60 & echo $! > child; trap "" TERM; touch ready; wait'
    report = tmp_path / "r.json"
    # A new session has no controlling terminal: the CI case, where COMMAND gets its own group.
    proc = subprocess.Popen([TKTRACE, "--json", str(report), "--", "sh", "-c", script],
                            cwd=tmp_path, env=inner_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.time() + 60
        while not (tmp_path / "ready").exists():
            assert proc.poll() is None, proc.communicate()
            assert time.time() < deadline, "COMMAND never started"
            time.sleep(0.02)
        child = int((tmp_path / "child").read_text())
        assert os.getpgid(child) != os.getpgid(0), "COMMAND should not share our group"
        os.kill(proc.pid, signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    # sh ignored it; its child died of it, which ended sh's wait (before, it slept on).
    assert proc.returncode == 0, err
    assert not os.path.exists(f"/proc/{child}") or \
        open(f"/proc/{child}/stat").read().rsplit(")", 1)[1].split()[0] in "ZX"


def test_sigint_kills_untrapping_command(root, tmp_path):
    rc, out, err, rep = _start_and_signal(tmp_path, f"touch ready; {LOOP}", signal.SIGINT)
    assert rc == -2, err  # tktrace, after its report, died of SIGINT like COMMAND
    assert rep is not None, err
    assert rep["exit_code"] == 130
    assert rep["cause"] == "signal"
    assert rep["signal"] == 2
    assert "was killed by SIGINT" in first_line(err), err


# ---------------------------------------------------------------------------------------------
# 8. COMMAND starts only once the probes are attached


EARLY = ("import os, subprocess; "
         "os.environ['PYTEST_XDIST_WORKER'] = 'gw9'; "
         "os.environ['PYTEST_CURRENT_TEST'] = 't.py::early (call)'; "
         "subprocess.run(['/bin/kill', '-9', str(os.getpid())])")


def test_markers_set_at_startup_are_seen(root, tmp_path):
    run = run_tktrace([PYTHON, "-c", EARLY], tmp_path)
    rep = run.report
    assert rep is not None, run
    assert run.rc == 137, run
    assert rep["cause"] == "sigkill"
    assert rep["oom_kills"] == []
    assert len(rep["kills"]) == 1, rep["kills"]
    k = rep["kills"][0]
    assert k["target"]["pid"] == rep["pid"]
    assert k["target"]["worker"] == "gw9"
    assert k["target"]["test"] == "t.py::early"
    assert k["target"]["phase"] == "call"
    assert k["target"]["traced"] is True
    assert k["sender"]["comm"] == "kill"
    assert k["sender"]["kernel"] is False
    assert rep["lost_events"] == 0


# ---------------------------------------------------------------------------------------------
# 9. --top, --marker and --intensive-threshold, --stats


SIZES_SUITE = '''\
from pathlib import Path

import pytest

MiB = 1 << 20


def grow(request, mib):
    Path(f"nodeid-{mib}.txt").write_text(request.node.nodeid)
    b = bytearray(mib * MiB)  # every page written
    del b


def test_10(request):
    grow(request, 10)


def test_30(request):
    grow(request, 30)


@pytest.mark.big
def test_50(request):
    grow(request, 50)
'''


def bpf_stats_on():
    """BPF_ENABLE_STATS: run counts and times on while the returned fd is open (the same as
    kernel.bpf_stats_enabled, but given back when this process closes it or dies)."""
    import ctypes
    import platform
    nr = {"x86_64": 321, "aarch64": 280}.get(platform.machine())
    if nr is None:
        pytest.skip(f"bpf(2) syscall number unknown on {platform.machine()}")
    libc = ctypes.CDLL(None, use_errno=True)
    attr = (ctypes.c_uint8 * 8)()  # enable_stats.type = BPF_STATS_RUN_TIME
    fd = libc.syscall(ctypes.c_long(nr), ctypes.c_int(32), attr, ctypes.c_uint(8))
    if fd < 0:
        pytest.skip(f"BPF_ENABLE_STATS refused: {os.strerror(ctypes.get_errno())}")
    return fd


def test_top_marker_threshold_and_stats(root, tmp_path):
    """Three tests that write 10, 30 and 50 MiB, the 50 marked `big`: --top 2 lists the two
    largest in order, --intensive-threshold 20M --marker big names only the unmarked 30 MiB
    one, --stats counts the programs' runs (the kernel's, while stats are on)."""
    (tmp_path / "test_sizes.py").write_text(SIZES_SUITE)
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    big: memory-hungry\n")
    fd = bpf_stats_on()
    try:
        run = run_tktrace(inner_pytest("test_sizes.py"), tmp_path,
                          opts=("--top", "2", "--marker", "big", "--intensive-threshold", "20M",
                                "--stats"))
    finally:
        os.close(fd)
    assert run.rc == 0, run
    ids = nodeids_written(tmp_path)
    lines = run.stderr.splitlines()
    i = next(n for n, l in enumerate(lines) if l.startswith("Tests by peak memory growth"))
    assert lines[i].startswith("Tests by peak memory growth (top 2 of 3"), lines[i]
    rows = [l.split() for l in lines[i + 2:i + 4]]
    assert [r[-1] for r in rows] == [ids["50"], ids["30"]], run
    assert [r[0] for r in rows] == ["+50.0", "+30.0"], run  # MiB, as measured in the kernel
    assert not lines[i + 4].startswith("  +"), run  # two rows, not three
    j = next(n for n, l in enumerate(lines) if l.startswith("Tests needing more than 20.0 MiB"))
    assert lines[j] == "Tests needing more than 20.0 MiB, not marked big; paste into conftest.py:"
    snippet = lines[j + 1:j + 8]
    assert f'"{ids["30"]}",' in "\n".join(snippet) and ids["50"] not in "\n".join(snippet), run
    assert 'item.add_marker("big")' in [l.strip() for l in snippet], snippet
    stats = {l.split()[2]: l.split()[3:] for l in lines if l.startswith("tktrace stats: ")}
    # Run counts are machine-wide (other processes too): at least this suite's own.
    assert int(stats["tkt_setenv"][0]) >= 9, stats  # PYTEST_CURRENT_TEST: 3 tests x 3 phases
    assert int(stats["tkt_rss_stat"][0]) >= 90 * (1 << 20) // 4096, stats  # a page a fault
    assert int(stats["map_memory_bytes"][0]) > 0, stats
    # Debian's interpreter starts no helper process; a venv's site hooks may (one on the lab
    # machine started three): there the stats must agree with the first line's count.
    m = re.search(r"tktrace stats: tests 3, processes (\d+),", run.stderr)
    assert m, run
    seen = re.search(r"\((\d+) processes, 3 tests,", run.stderr)
    assert seen and seen.group(1) == m.group(1), run
    if PYTHON == "/usr/bin/python3":
        assert m.group(1) == "1", run


def test_ctrl_z_and_fg_at_a_terminal(root, tmp_path):
    """In an interactive shell at a pty, Ctrl-Z stops tktrace and COMMAND together (one job);
    `fg` resumes both; COMMAND finishes and the report is a clean exit."""
    import pty
    bash = shutil.which("bash")
    if not bash:
        pytest.skip("needs bash for job control")
    (tmp_path / "job.py").write_text(
        "import os, time\n"
        "from pathlib import Path\n"
        "Path('pid').write_text(str(os.getpid()))\n"
        "while not Path('go').exists():\n"
        "    time.sleep(0.05)\n"
        "Path('done').write_text('1')\n")
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.chdir(tmp_path)
            os.execve(bash, [bash, "--norc", "--noprofile", "-i"],
                      {**inner_env(), "PS1": "$ ", "TERM": "dumb"})
        finally:
            os._exit(127)
    out = bytearray()

    def read_until(pred, timeout=20):
        end = time.monotonic() + timeout
        while not pred() and time.monotonic() < end:
            import select
            if select.select([fd], [], [], 0.1)[0]:
                try:
                    out.extend(os.read(fd, 4096))
                except OSError:
                    break
        return pred()

    def state(p):
        return Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0]

    try:
        os.write(fd, f"{TKTRACE} -q --json r.json -- {PYTHON} job.py\n".encode())
        assert read_until(lambda: (tmp_path / "pid").exists()), out
        job = int((tmp_path / "pid").read_text())
        tracer = int(Path(f"/proc/{job}/stat").read_text().rsplit(")", 1)[1].split()[1])
        os.write(fd, b"\x1a")  # Ctrl-Z
        assert read_until(lambda: state(job) == "T" and state(tracer) == "T"), out
        (tmp_path / "go").touch()
        time.sleep(0.5)
        assert not (tmp_path / "done").exists(), "COMMAND ran on while stopped"
        os.write(fd, b"fg\n")
        assert read_until(lambda: (tmp_path / "done").exists()), out
        os.write(fd, b"echo rc=$?\n")  # fg's status: the job's
        # The terminal echoes the typed line too: "rc=" and a digit is the shell's output.
        assert read_until(lambda: re.search(rb"rc=\d", out)), out
        assert re.search(rb"rc=0\r?\n", out), out
        os.write(fd, b"exit\n")
        read_until(lambda: False, timeout=1)
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        os.close(fd)
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["exit_code"] == 0 and rep["cause"] == "exit", rep
    assert rep["kills"] == [] and rep["oom_kills"] == [], rep
