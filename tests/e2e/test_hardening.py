"""Hardening, end to end: kills reported right under fork and allocation storms, a long xdist
run with nothing lost, every terminating signal passed through, COMMAND not left running
when the tracer dies, and each environment error as one line with exit 125.

Everything that allocates runs in a memory cgroup of at most 1 GiB made by the test."""
import json
import os
import shutil
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from conftest import (PYTHON, TKTRACE, inner_env, inner_pytest, nodeids_written, run_tktrace,
                      tktrace_returncode)

MiB = 1 << 20
LIMIT = 400 * MiB
ALLOC = LIMIT + 200 * MiB  # always over the limit, never near 1 GiB

# The hog test starts a storm as its own child, waits until it runs, then allocates past the
# limit. The storm keeps going until its parent is gone, so the kill lands in the middle of it.
STORM_SUITE = '''
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

STORM = r"""
import mmap, os, sys, time
kind, parent = sys.argv[1], os.getppid()
n, t0, blocks = 0, time.monotonic(), []
open(f"storm-started-{os.getpid()}", "w").close()
while os.getppid() == parent and time.monotonic() - t0 < 60:
    if kind == "fork":
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
    else:
        m = mmap.mmap(-1, 8 << 20)  # fresh pages each time (malloc would reuse its heap)
        for off in range(0, 8 << 20, 4096):
            m[off] = 1  # 2048 page faults
        m.close()
    n += 1
with open(f"tmp-{os.getpid()}", "w") as f:  # renamed whole: the test may look at any time
    f.write(f"{n} {time.monotonic() - t0:.3f}")
os.rename(f"tmp-{os.getpid()}", f"storm-count-{os.getpid()}")
"""


STORMS = 3


def test_hog(request):
    Path("nodeid-call.txt").write_text(request.node.nodeid)
    Path("pid-call.txt").write_text(str(os.getpid()))
    # A fork storm from C when a compiler built one (Python's fork is slow), else Python's.
    argv = (["./forker"] if os.environ["E2E_STORM"] == "fork" and os.path.exists("forker") else
            [sys.executable, "-c", STORM, os.environ["E2E_STORM"]])
    storms = [subprocess.Popen(argv) for _ in range(STORMS)]
    while len(list(Path().glob("storm-started-*"))) < STORMS:
        time.sleep(0.01)
    time.sleep(0.5)  # let it reach full speed
    big = np.ones(int(os.environ["E2E_ALLOC"]), dtype=np.uint8)
    assert big[-1] == 1, "the allocation should have been OOM-killed"
'''


# Forks until its parent is gone (or 60 s), as fast as it can: thousands of processes a second.
FORKER_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(void) {
	pid_t parent = getppid();
	long n = 0;
	double t0 = now();
	char tmp[64], name[64];
	FILE *f;
	snprintf(name, sizeof(name), "storm-started-%d", (int)getpid());
	fclose(fopen(name, "w"));
	while (getppid() == parent && now() - t0 < 60) {
		pid_t p = fork();
		if (p == 0)
			_exit(0);
		if (p > 0 && waitpid(p, NULL, 0) == p)
			n++;
	}
	snprintf(tmp, sizeof(tmp), "tmp-%d", (int)getpid());
	snprintf(name, sizeof(name), "storm-count-%d", (int)getpid());
	f = fopen(tmp, "w");
	fprintf(f, "%ld %.3f", n, now() - t0);
	fclose(f);
	return rename(tmp, name) != 0;
}
"""


def untraced_fork_rate(forker, where):
    """Processes a second that three forkers make untraced in one second, as the storm runs."""
    where.mkdir()
    subprocess.run(["sh", "-c", f"{forker} & {forker} & {forker} & sleep 1; kill -9 $$"],
                   cwd=where, capture_output=True)
    assert wait_for(lambda: len(list(where.glob("storm-count-*"))) == 3), "forkers did not end"
    counts = [f.read_text().split() for f in where.glob("storm-count-*")]
    return sum(int(c) for c, _ in counts) / max(float(t) for _, t in counts)


def write_suite(tmp_path, name, text):
    work = tmp_path / "suite"
    work.mkdir(exist_ok=True)
    (work / name).write_text(textwrap.dedent(text))
    return work


def wait_for(pred, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


@pytest.mark.parametrize("storm", ["fork", "alloc"])
def test_kill_reported_right_during_a_storm(root, memcg, tmp_path, storm):
    cg = memcg(LIMIT)
    work = write_suite(tmp_path, "test_storm.py", STORM_SUITE)
    cc = shutil.which("cc") or shutil.which("gcc")
    if storm == "fork" and not cc:
        pytest.skip("no C compiler for the fork storm (Python's fork is no storm)")
    if storm == "fork":
        (work / "forker.c").write_text(FORKER_C)
        subprocess.run([cc, "-O2", "-o", str(work / "forker"), str(work / "forker.c")], check=True)
        base = untraced_fork_rate(work / "forker", tmp_path / "baseline")
        print(f"untraced: {base:.0f} forks/s")
        if base < 300:
            pytest.skip(f"this machine forks {base:.0f} processes/s untraced: no storm to trace")
    run = run_tktrace(inner_pytest("test_storm.py"), work, cgroup=cg,
                      env=inner_env({"E2E_ALLOC": str(ALLOC), "E2E_STORM": storm}))
    rep = run.report
    assert rep is not None, run
    assert run.rc == 137, run
    nodeid = nodeids_written(work)["call"]
    hog = int((work / "pid-call.txt").read_text())
    assert len(rep["oom_kills"]) == 1, rep["oom_kills"]
    o = rep["oom_kills"][0]
    assert o["victim"]["pid"] == hog, o
    assert o["victim"]["test"] == nodeid and o["victim"]["phase"] == "call", o
    # The charge that failed may be the hog's or a storm process's (a fork's page tables, a
    # touched page): either way a process of the same test.
    assert o["trigger"]["traced"] and o["trigger"]["test"] == nodeid, o
    assert o["cgroup"] == str(cg.path), o
    # The storm saw its parent die and stopped: it really overlapped the kill.
    assert wait_for(lambda: len(list(work.glob("storm-count-*"))) == 3), "storm did not end"
    counts = [f.read_text().split() for f in work.glob("storm-count-*")]
    n = sum(int(c) for c, _ in counts)
    secs = max(float(s) for _, s in counts)
    assert n > 0
    if storm == "fork":
        print(f"fork storm: {n} processes in {secs:.1f} s ({n / secs:.0f}/s)")
        # As fast as half the machine's own untraced rate (measured just before: 1000/s to
        # 8000/s on the dev VM, by day), or the check below would prove little.
        assert n / secs >= max(300, base / 2), f"not a storm ({base:.0f}/s untraced)"
        # Every short process was seen: no lifecycle record was lost.
        assert rep["processes_traced"] >= n + 2, (rep["processes_traced"], n)
    else:
        print(f"alloc storm: {n} x 8 MiB touched in {secs:.1f} s")
        # No per-fault record leaves the kernel (a lost count of 0 would prove nothing): what
        # the storm tests is the in-kernel peak under other processes' faults. The hog's
        # peak is the kernel's own rss of the victim at the kill, give or take file pages the
        # kernel reclaimed under the limit (measured: 2.3 MiB over; 16 MiB allowed).
        (t,) = rep["tests"]
        gap = t["peak_rss_bytes"] - o["victim"]["rss_bytes"]
        assert 0 <= gap <= 16 * MiB, (t, o["victim"])
        assert t["peak_growth_bytes"] >= ALLOC - LIMIT, t  # it grew until killed
    if storm == "fork":
        assert rep["lost_events"] == 0, rep["lost_events"]
    assert rep["kills"] == [], rep["kills"]


# Forks N processes that exit at once, one after another: ~120 bytes of fork and exit records
# each, so 60000 of them overflow the 4 MiB ring when nobody reads it.
FORK_N_C = r"""
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
	long n = atol(argv[1]);
	for (long i = 0; i < n; i++) {
		pid_t p = fork();
		if (p == 0)
			_exit(0);
		if (p < 0 || waitpid(p, NULL, 0) != p)
			return 1;
	}
	return 0;
}
"""
LOST_FORKS = 60000


def test_lost_events_counted_and_warned(root, tmp_path):
    """The tracer stopped (SIGSTOP) during a fork storm: the ring fills, the kernel side
    counts what it could not deliver, and the report says so (lost_events and a warning)."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        pytest.skip("no C compiler: a Python fork storm is too slow to fill the ring")
    work = tmp_path / "lost"
    work.mkdir()
    (work / "forkn.c").write_text(FORK_N_C)
    subprocess.run([cc, "-O2", "-o", str(work / "forkn"), str(work / "forkn.c")], check=True)
    report = work / "report.json"
    script = (f"touch ready; while [ ! -e go ]; do sleep 0.01; done; ./forkn {LOST_FORKS} "
              "&& touch stormed")
    proc = subprocess.Popen([TKTRACE, "--json", str(report), "--", "/bin/sh", "-c", script],
                            cwd=work, env=inner_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        # COMMAND runs only once the programs are attached.
        assert wait_for(lambda: (work / "ready").exists(), 30), "COMMAND never started"
        os.kill(proc.pid, signal.SIGSTOP)
        try:
            (work / "go").touch()
            assert wait_for(lambda: (work / "stormed").exists(), 120), "storm did not finish"
        finally:
            os.kill(proc.pid, signal.SIGCONT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    rep = json.loads(report.read_text())
    lost = rep["lost_events"]
    print(f"lost {lost} events, {rep['processes_traced']} processes traced of {LOST_FORKS + 1}")
    assert lost > 0, rep
    assert f"tktrace: warning: {lost} events were lost; the report may be incomplete" in err, err
    # What was lost was not seen: fewer processes than the storm made.
    assert rep["processes_traced"] < LOST_FORKS, rep["processes_traced"]


def test_soak_10000_tests_with_xdist(root, tmp_path):
    """A long xdist run: every test recorded once, nothing lost."""
    work = write_suite(tmp_path, "test_soak.py", '''
        import os

        import pytest

        @pytest.mark.parametrize("i", range(10000))
        def test_soak(i, request):
            worker = os.environ["PYTEST_XDIST_WORKER"]
            with open(f"seen-{worker}.txt", "a") as f:
                f.write(f"{request.node.nodeid} {worker}\\n")
    ''')
    run = run_tktrace(inner_pytest("-n", "2", "-p", "xdist", "test_soak.py"), work,
                      timeout=600)
    rep = run.report
    assert rep is not None, run
    assert run.rc == 0, run
    assert rep["lost_events"] == 0
    assert rep["tests_seen"] == 10000
    # Each test by its own node id, on the worker that ran it (as the tests wrote them).
    ran = dict(line.split() for p in work.glob("seen-*.txt") for line in p.read_text().splitlines())
    assert len(ran) == 10000 and set(ran.values()) == {"gw0", "gw1"}
    got = [(t["nodeid"], t["worker"]) for t in rep["tests"]]
    assert len(got) == 10000 and dict(got) == ran
    assert all(t["outcome"] == "completed" for t in rep["tests"])


TERMINATING = [s for s in signal.valid_signals()
               if 1 <= s < 32 and s not in (signal.SIGSTOP, signal.SIGTSTP, signal.SIGTTIN,
                                             signal.SIGTTOU, signal.SIGCHLD, signal.SIGCONT,
                                             signal.SIGURG, signal.SIGWINCH)]


@pytest.mark.parametrize("sig", TERMINATING, ids=[signal.Signals(s).name for s in TERMINATING])
def test_every_terminating_signal_passes_through(root, tmp_path, sig):
    # Python resets the handlers it installs, so the command dies of the signal itself.
    cmd = [PYTHON, "-c",
           "import os, signal\n"
           f"try: signal.signal({sig}, signal.SIG_DFL)\n"
           "except (OSError, ValueError): pass\n"  # SIGKILL has no handler to reset
           f"os.kill(os.getpid(), {sig})"]
    run = run_tktrace(cmd, tmp_path)
    assert run.rc == tktrace_returncode(sig, 128 + sig), run
    assert run.report["signal"] == sig
    assert run.report["exit_code"] == 128 + sig
    assert run.report["cause"] == ("sigkill" if sig == signal.SIGKILL else "signal")


def proc_gone(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def test_command_does_not_outlive_a_killed_tracer(root, tmp_path):
    pid_file = tmp_path / "cmd.pid"
    tk = subprocess.Popen([TKTRACE, "-q", "--", "sh", "-c", f"echo $$ > {pid_file}; exec sleep 60"],
                          cwd=tmp_path, env=inner_env(), stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: pid_file.exists() and pid_file.read_text().strip())
        cmd_pid = int(pid_file.read_text())
        assert not proc_gone(cmd_pid)
        tk.send_signal(signal.SIGKILL)
        tk.wait(timeout=10)
        assert wait_for(lambda: proc_gone(cmd_pid), timeout=5), \
            "COMMAND kept running after its tracer was killed"
    finally:
        if tk.poll() is None:
            tk.kill()
            tk.wait()
        if pid_file.exists() and pid_file.read_text().strip():
            pid = int(pid_file.read_text())
            if not proc_gone(pid):
                os.kill(pid, signal.SIGKILL)


def one_line_error(proc, rc, *needles):
    assert proc.returncode == rc, (proc.returncode, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("tktrace: "), lines
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def in_mount_ns(script, tmp_path):
    """Run a shell script as root in a private mount namespace (mounts vanish with it)."""
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare(1) from util-linux for a private mount namespace")
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, text=True)
    if probe.returncode:
        pytest.skip(f"cannot make a mount namespace here: {probe.stderr.strip()}")
    return subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-ec", script],
                          cwd=tmp_path, env=inner_env(), capture_output=True, text=True,
                          timeout=120)


def test_no_btf_is_one_line(root, tmp_path):
    proc = in_mount_ns(f"mount -t tmpfs none /sys/kernel/btf; exec {TKTRACE} -- true", tmp_path)
    one_line_error(proc, 125, "no BTF", "/sys/kernel/btf/vmlinux")


def test_works_without_tracefs(root, memcg, tmp_path):
    """tktrace needs no tracefs: with every usual place for it covered by an empty read-only
    directory, a kill is still named, and tktrace mounted nothing."""
    cg = memcg(LIMIT)
    work = write_suite(tmp_path, "test_hog.py", '''
        import os
        from pathlib import Path
        import numpy as np

        def test_hog(request):
            Path("nodeid-call.txt").write_text(request.node.nodeid)
            big = np.ones(int(os.environ["E2E_ALLOC"]), dtype=np.uint8)
    ''')
    hide = "".join(f"umount -l {d} 2>/dev/null || true; mount -t tmpfs -o ro none {d}; "
                   for d in ("/sys/kernel/tracing", "/sys/kernel/debug") if os.path.isdir(d))
    report = work / "r.json"
    script = (f"{hide}cd {work}; rc=0; E2E_ALLOC={ALLOC} {TKTRACE} --json {report} -- "
              f"/bin/sh -c 'echo $$ > {cg.path}/cgroup.procs && exec \"$@\"' sh "
              + " ".join(inner_pytest("test_hog.py")) + " || rc=$?; "
              "echo tracefs_mounts=$(grep -c ' - tracefs ' /proc/self/mountinfo || true); "
              "exit $rc")
    proc = in_mount_ns(script, tmp_path)
    assert proc.returncode == 137, proc.stderr
    assert "tracefs_mounts=0" in proc.stdout, proc.stdout
    rep = json.loads(report.read_text())
    assert rep["oom_kills"][0]["victim"]["test"] == nodeids_written(work)["call"]


def test_missing_bpf_capabilities_is_one_line(root, tmp_path):
    if shutil.which("setpriv") is None:
        pytest.skip("needs setpriv(1) from util-linux to drop capabilities")
    proc = subprocess.run(["setpriv", "--bounding-set", "-bpf,-perfmon,-sys_admin",
                           "--inh-caps", "-all", TKTRACE, "--", "true"],
                          cwd=tmp_path, env=inner_env(), capture_output=True, text=True)
    if "setpriv:" in proc.stderr:
        pytest.skip(f"setpriv cannot drop capabilities here: {proc.stderr.strip()}")
    one_line_error(proc, 125, "CAP_BPF", "CAP_PERFMON")


@pytest.mark.parametrize("opt", ["--json", "--per-test-file"])
def test_output_on_read_only_filesystem_is_one_line(root, tmp_path, opt):
    """Refused before COMMAND runs, so no run is wasted on a report that cannot be saved."""
    ro = tmp_path / "ro"
    ro.mkdir()
    marker = tmp_path / "ran"
    proc = in_mount_ns(f"mount -t tmpfs -o ro none {ro}; "
                       f"exec {TKTRACE} {opt} {ro}/out -- touch {marker}", tmp_path)
    one_line_error(proc, 125, f"{ro}/out", "Read-only file system")
    assert not marker.exists()


@pytest.mark.parametrize("opt", ["--json", "--per-test-file"])
def test_output_is_a_directory_is_one_line(root, tmp_path, opt):
    proc = subprocess.run([TKTRACE, opt, str(tmp_path), "--", "true"], cwd=tmp_path,
                          env=inner_env(), capture_output=True, text=True)
    one_line_error(proc, 125, str(tmp_path), "Is a directory")


def test_hard_link_at_output_path_is_refused(root, tmp_path):
    """A hard link planted at the output path (in a shared directory) is not written through."""
    precious = tmp_path / "precious.txt"
    precious.write_text("do not overwrite\n")
    planted = tmp_path / "report.json"
    os.link(precious, planted)
    proc = subprocess.run([TKTRACE, "--json", str(planted), "--", "touch", str(tmp_path / "ran")],
                          cwd=tmp_path, env=inner_env(), capture_output=True, text=True)
    one_line_error(proc, 125, str(planted), "hard links")
    assert precious.read_text() == "do not overwrite\n"
    assert not (tmp_path / "ran").exists()


def test_file_of_another_user_at_output_path_is_refused(root, tmp_path):
    planted = tmp_path / "report.json"
    planted.write_text("someone else's\n")
    os.chown(planted, 65534, 65534)  # nobody
    proc = subprocess.run([TKTRACE, "--per-test-file", str(planted), "--", "true"],
                          cwd=tmp_path, env=inner_env(), capture_output=True, text=True)
    one_line_error(proc, 125, str(planted), "another user owns it")
    assert planted.read_text() == "someone else's\n"


def test_json_to_stdout(root, tmp_path):
    """--json -: the report follows COMMAND's own output on stdout (here a pipe)."""
    proc = subprocess.run([TKTRACE, "-q", "--json", "-", "--", "echo", "hi"], cwd=tmp_path,
                          env=inner_env(), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    first, rest = proc.stdout.split("\n", 1)
    assert first == "hi"
    rep = json.loads(rest)
    assert rep["command"] == ["echo", "hi"] and rep["exit_code"] == 0


def test_ctrl_c_at_a_terminal_reaches_command_once(root, tmp_path):
    """At a terminal COMMAND's own process group is in the foreground: it reads the terminal,
    and Ctrl-C reaches it once (not once from the terminal and again from tktrace)."""
    import pty
    (tmp_path / "count.py").write_text(textwrap.dedent('''
        import signal, sys, time
        n = 0
        def on_int(s, f):
            global n
            n += 1
        signal.signal(signal.SIGINT, on_int)
        line = sys.stdin.readline()  # stopped by SIGTTIN unless in the foreground
        open("ready", "w").write(line)
        t = time.monotonic()
        while time.monotonic() - t < 1.5:
            time.sleep(0.05)
        open("count", "w").write(str(n))
    '''))
    pid, fd = pty.fork()
    if pid == 0:  # a new session with the pty as its terminal, like a login
        try:
            os.chdir(tmp_path)
            os.execve(TKTRACE, [TKTRACE, "-q", "--", PYTHON, "count.py"], inner_env())
        finally:
            os._exit(127)
    out = b""
    try:
        os.write(fd, b"hello\n")
        assert wait_for(lambda: (tmp_path / "ready").exists(), timeout=20), "no terminal read"
        os.write(fd, b"\x03")
        end = time.monotonic() + 20
        while time.monotonic() < end:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the session ended
                break
            if not chunk:
                break
            out += chunk
        _, status = os.waitpid(pid, 0)
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)
    assert (tmp_path / "ready").read_text() == "hello\n"
    assert (tmp_path / "count").read_text() == "1", out
    assert os.waitstatus_to_exitcode(status) == 0, out


# Opens a uprobe on this process's own libc setenv with perf_event_open, as libbpf does for
# tktrace; prints OK, or the errno name and exits 1.
UPROBE_OPEN = r"""
import ctypes, errno, platform, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
addr = ctypes.cast(libc.setenv, ctypes.c_void_p).value
for line in open("/proc/self/maps"):
    f = line.split()
    lo, hi = (int(x, 16) for x in f[0].split("-"))
    if lo <= addr < hi and len(f) >= 6:
        path, off = f[5], addr - lo + int(f[2], 16)  # the offset in the file
        break
attr = (ctypes.c_uint8 * 128)()
cpath = ctypes.create_string_buffer(path.encode())
struct.pack_into("IIQ", attr, 0, int(open("/sys/bus/event_source/devices/uprobe/type").read()), 112, 0)
struct.pack_into("QQ", attr, 56, ctypes.addressof(cpath), off)  # config1: path, config2: offset
nr = {"x86_64": 298, "aarch64": 241}[platform.machine()]  # perf_event_open
libc.syscall.restype = ctypes.c_long
fd = libc.syscall(ctypes.c_long(nr), attr, ctypes.c_int(-1), ctypes.c_int(0), ctypes.c_int(-1),
                  ctypes.c_ulong(8))  # any process, CPU 0, no group, PERF_FLAG_FD_CLOEXEC
print("OK" if fd >= 0 else errno.errorcode.get(ctypes.get_errno(), "?"))
sys.exit(fd < 0)
"""


@pytest.mark.parametrize("drop", [True, False], ids=["without_sys_admin", "with_sys_admin"])
def test_without_cap_sys_admin_tests_are_named_or_it_says_why(root, kernel_stacks, tmp_path,
                                                            drop):
    """Some kernels (a 2025 fix, in stable too) want CAP_SYS_ADMIN for uprobes: then tktrace
    must say that tests cannot be followed, never leave them silently unnamed, and a kill is
    named only where the kernel reads the test at the kill (stack programs, 5.17+); where the
    kernel does not want it, tktrace must name them and not claim it. Whether the kernel wants
    it is found apart from tktrace: a uprobe opened directly, under the same capabilities."""
    if shutil.which("setpriv") is None:
        pytest.skip("needs setpriv(1) from util-linux to drop capabilities")
    if not os.path.exists("/sys/bus/event_source/devices/uprobe/type"):
        pytest.skip("no uprobe PMU (/sys/bus/event_source/devices/uprobe)")
    caps = ["setpriv", "--bounding-set", "-sys_admin", "--inh-caps", "-all"] if drop else []
    probe = subprocess.run([*caps, PYTHON, "-c", UPROBE_OPEN], capture_output=True, text=True)
    verdict = probe.stdout.strip()
    assert verdict in ("OK", "EPERM", "EACCES"), (probe.stdout, probe.stderr)
    demands = verdict != "OK"
    print(f"a uprobe opened {'without' if drop else 'with'} CAP_SYS_ADMIN: {verdict}")
    report = tmp_path / "r.json"
    code = ("import os; os.environ['PYTEST_CURRENT_TEST'] = 't.py::hog (call)'; "
            "os.kill(os.getpid(), 9)")
    proc = subprocess.run([*caps, TKTRACE, "--json", str(report), "--", PYTHON, "-c", code],
                          cwd=tmp_path, env=inner_env(), capture_output=True, text=True)
    assert proc.returncode == 137, proc.stderr
    target = json.loads(report.read_text())["kills"][0]["target"]
    said = "uprobes need CAP_SYS_ADMIN" in proc.stderr
    if demands:
        assert said, proc.stderr
        assert target["test"] == ("t.py::hog" if kernel_stacks[0] else None), target
    else:
        assert not said, proc.stderr
        assert target["test"] == "t.py::hog", proc.stderr
