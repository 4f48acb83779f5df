"""tktrace watch, end to end: the real BPF programs log kills of processes that tktrace did not
start (an OOM kill in a memory cgroup this test creates, a SIGKILL), while watch runs in the
background."""
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import TKTRACE, inner_env, inner_pytest, kernel_log_now, memcg_root, need_root

HOG_SUITE = '''
def test_small():
    assert True

def test_hog():
    import os
    open("hog.txt", "w").write(f"{os.getpid()} {os.environ.get('PYTEST_XDIST_WORKER')}")
    chunks = []
    while True:
        chunks.append(b"x" * (16 << 20))  # written, so really resident
'''


class Watch:
    """tktrace watch [args] --output FILE, started in the background and ready to log."""

    def __init__(self, out, *args):
        self.out = Path(out)
        self.proc = subprocess.Popen([TKTRACE, "watch", "--output", str(self.out), *args],
                                     stderr=subprocess.PIPE, text=True)
        self.pid = self.proc.pid
        self.stderr = []
        ready = threading.Event()

        def read():
            for line in self.proc.stderr:
                self.stderr.append(line)
                if "watch: ready" in line:
                    ready.set()

        self.reader = threading.Thread(target=read, daemon=True)
        self.reader.start()
        deadline = time.time() + 30
        while not ready.is_set() and self.proc.poll() is None and time.time() < deadline:
            ready.wait(0.1)
        if not ready.is_set():
            self.stop()
            pytest.fail(f"watch did not get ready: {''.join(self.stderr)}")

    def rss_kib(self, field="VmRSS"):
        """VmRSS includes the BPF rings mapped read-only (fixed kernel memory, ~10 MiB);
        RssAnon is watch's own heap."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise AssertionError(f"no {field}")

    def stop(self):
        """SIGTERM (our own child, by pid); returns the JSON objects it wrote."""
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
        self.rc = self.proc.wait(timeout=30)
        self.reader.join(5)
        return self.lines()

    def lines(self):
        text = self.out.read_text() if self.out.exists() else ""
        assert text == "" or text.endswith("\n"), "a line was left unfinished"
        return [json.loads(l) for l in text.splitlines()]


@pytest.fixture
def watch(tmp_path):
    need_root()
    started = []

    def start(*args, out=None):
        w = Watch(out or tmp_path / f"watch-{len(started)}.jsonl", *args)
        started.append(w)
        return w

    yield start
    for w in started:
        if w.proc.poll() is None:
            w.stop()


def rel_path(cg):
    """The cgroup as /proc/PID/cgroup and watch name it: relative to the hierarchy's mount."""
    return "/" + str(cg.path.relative_to(memcg_root()[1]))


def one(lines, **match):
    found = [l for l in lines if all(_get(l, k) == v for k, v in match.items())]
    assert len(found) == 1, f"{len(found)} lines match {match}"
    return found[0]


def _get(obj, dotted):
    for k in dotted.split("."):
        obj = obj.get(k) if isinstance(obj, dict) else None
    return obj


def check_rss_is_the_kernels(victim):
    """The victim's rss is the kernel's own at the kill: anon + file + shmem of its OOM report
    ("Killed process PID ..."). Both read the same per-CPU counters at the kill; measured equal
    to the KiB; 1 MiB allowed for their lag (see test_memory.py)."""
    m = re.search(rb"Killed process %d \(.*?anon-rss:(\d+)kB, file-rss:(\d+)kB, "
                  rb"shmem-rss:(\d+)kB" % victim["pid"], kernel_log_now())
    assert m, f"no OOM report of pid {victim['pid']} in the kernel log"
    kernel = sum(int(x) for x in m.groups()) * 1024
    assert abs(victim["rss_bytes"] - kernel) <= 1 << 20, (victim["rss_bytes"], kernel)


def test_watch_logs_oom_kill_and_sigkill_in_background(watch, memcg, tmp_path):
    w = watch()
    # (a) An OOM kill in a cgroup of its own, of a pytest that tktrace did not start.
    cg = memcg(200 << 20)
    (tmp_path / "test_hog.py").write_text(HOG_SUITE)
    hog = subprocess.Popen(cg.join_cmd() + inner_pytest("test_hog.py"), cwd=tmp_path,
                           env=inner_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    hog_out = hog.communicate(timeout=120)[0].decode(errors="replace")
    assert hog.returncode == -signal.SIGKILL, hog_out
    # (b) A SIGKILL from this test to a process it started.
    sleeper = subprocess.Popen(["sleep", "60"])
    time.sleep(0.2)  # let it exec: the comm is then "sleep"
    os.kill(sleeper.pid, signal.SIGKILL)
    sleeper.wait()
    lines = w.stop()
    assert w.rc == 0, "".join(w.stderr)

    oom = one(lines, type="oom_kill", **{"victim.pid": hog.pid})
    assert oom["victim"]["cgroup"] == rel_path(cg)
    assert oom["victim"]["test"] == "test_hog.py::test_hog"
    assert oom["victim"]["phase"] == "call"
    assert oom["victim"]["test_pid"] == hog.pid
    assert oom["oom"]["constraint"] == "memcg"
    assert oom["oom"]["memcg"] == rel_path(cg)
    assert oom["oom"]["limit_bytes"] == 200 << 20
    check_rss_is_the_kernels(oom["victim"])
    assert oom["time"].endswith("Z") and oom["time"][:4].isdigit()
    # The OOM killer's own SIGKILL is part of the oom_kill line, not a second kill.
    assert not [l for l in lines if l["type"] == "sigkill" and l["target"]["pid"] == hog.pid]

    kill = one(lines, type="sigkill", **{"target.pid": sleeper.pid})
    assert kill["kernel"] is False
    assert kill["target"]["comm"] == "sleep"
    assert kill["sender"]["pid"] == os.getpid()
    assert kill["target"]["ancestry"][0]["pid"] == os.getpid()
    assert os.getpid() not in [a["pid"] for a in kill["sender"]["ancestry"]]
    assert kill["target"]["test"] is None  # no pytest variable in this test's own process
    assert kill["target"]["container"] is None


def test_watch_names_the_test_of_an_ancestor(watch, tmp_path):
    """A test's subprocess killed by SIGKILL: the test comes from the pytest above it."""
    w = watch()
    (tmp_path / "test_sub.py").write_text(
        "import os, signal, subprocess, time\n"
        "def test_kills_child():\n"
        "    p = subprocess.Popen(['sleep', '60'])\n"
        "    time.sleep(0.2)\n"
        "    open('child.pid', 'w').write(str(p.pid))\n"
        "    open('pytest.pid', 'w').write(str(os.getpid()))\n"
        "    os.kill(p.pid, signal.SIGKILL)\n"
        "    p.wait()\n")
    r = subprocess.run(inner_pytest("test_sub.py"), cwd=tmp_path, env=inner_env(),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    child = int((tmp_path / "child.pid").read_text())
    lines = w.stop()
    kill = one(lines, type="sigkill", **{"target.pid": child})
    assert kill["target"]["test"] == "test_sub.py::test_kills_child"
    sender = int((tmp_path / "pytest.pid").read_text())  # the test itself sent it
    assert kill["sender"]["pid"] == sender
    assert kill["target"]["test_pid"] == sender
    assert kill["sender"]["test"] == "test_sub.py::test_kills_child"


def test_watch_cgroup_filters_out_kills_elsewhere(watch, memcg, tmp_path):
    cg = memcg(64 << 20)
    w = watch("--cgroup", str(cg.path))
    inside = subprocess.Popen(cg.join_cmd() + ["sleep", "60"])
    outside = subprocess.Popen(["sleep", "60"])
    deadline = time.time() + 10
    while inside.pid not in cg.pids() and time.time() < deadline:
        time.sleep(0.05)
    for p in (inside, outside):
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
    lines = w.stop()
    assert w.rc == 0
    one(lines, type="sigkill", **{"target.pid": inside.pid})
    assert not [l for l in lines if l.get("target", {}).get("pid") == outside.pid]
    for l in lines:
        who = l.get("target") or l.get("victim")
        assert who["cgroup"] == rel_path(cg), l


def test_watch_sighup_reopens_the_output(watch, tmp_path):
    out = tmp_path / "w.jsonl"
    w = watch(out=out)
    first = subprocess.Popen(["sleep", "60"])
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    deadline = time.time() + 10
    while first.pid not in [l["target"]["pid"] for l in w.lines() if l["type"] == "sigkill"]:
        assert time.time() < deadline, "the first kill never reached the file"
        time.sleep(0.1)
    out.rename(tmp_path / "w.jsonl.1")  # what logrotate does, then SIGHUP
    os.kill(w.pid, signal.SIGHUP)
    time.sleep(0.5)
    second = subprocess.Popen(["sleep", "60"])
    os.kill(second.pid, signal.SIGKILL)
    second.wait()
    lines = w.stop()
    assert w.rc == 0
    assert second.pid in [l["target"]["pid"] for l in lines if l["type"] == "sigkill"]
    assert first.pid not in [l["target"]["pid"] for l in lines if l["type"] == "sigkill"]


def test_watch_memory_stays_bounded_under_a_kill_storm(watch, tmp_path):
    """Thousands of SIGKILLed short processes: every one logged, watch's memory flat."""
    w = watch()
    n, warm = 3000, 300
    pids, rss = [], {}
    for i in range(n):
        pid = os.posix_spawn("/bin/sleep", ["sleep", "60"], os.environ)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pids.append(pid)
        if i + 1 in (warm, n):
            time.sleep(0.5)
            rss[i + 1] = (w.rss_kib(), w.rss_kib("RssAnon"))
    lines = w.stop()
    assert w.rc == 0
    got = {l["target"]["pid"] for l in lines if l["type"] == "sigkill"}
    missing = [p for p in pids if p not in got]
    assert not missing, f"{len(missing)} of {n} kills not logged"
    print(f"watch VmRSS/RssAnon KiB: {rss[warm]} after {warm} kills, {rss[n]} after {n}")
    assert rss[n][0] - rss[warm][0] < 1024, rss
    assert rss[n][1] - rss[warm][1] < 512, rss


def cgroup2_only():
    with open("/proc/self/mounts") as f:
        return any(line.split()[1] == "/sys/fs/cgroup" and line.split()[2] == "cgroup2"
                   for line in f)


@pytest.mark.parametrize("args, msg", [
    (["--cgroup", "relative"], "give an absolute path"),
    pytest.param(["--cgroup", "/sys/fs/cgroup/nonesuch-hierarchy/x"],
                 "is not in the hierarchy watch reports",
                 marks=pytest.mark.skipif(cgroup2_only(), reason="on cgroup v2 every path under "
                                          "/sys/fs/cgroup is in the one hierarchy")),
    (["--output"], "--output needs a value"),
    (["--bogus"], "unknown option '--bogus'"),
    (["extra"], "unexpected argument 'extra'"),
])
def test_watch_bad_arguments(args, msg):
    r = subprocess.run([TKTRACE, "watch", *args], capture_output=True, text=True, timeout=30)
    assert r.returncode == 125
    assert msg in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_watch_missing_cgroup_directory():
    """A directory under the memory hierarchy's mount that does not exist is a typo."""
    with open("/proc/self/mounts") as f:
        mounts = [line.split() for line in f]
    mount = next((m[1] for m in mounts if m[2] == "cgroup2" and m[1] == "/sys/fs/cgroup"), None)
    mount = mount or next((m[1] for m in mounts if m[2] == "cgroup" and "memory" in m[3]), None)
    if mount is None:
        pytest.skip("no memory cgroup hierarchy mounted")
    r = subprocess.run([TKTRACE, "watch", "--cgroup", f"{mount}/tktrace-nonesuch-xyz"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 125, r
    assert "No such file or directory" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_watch_unwritable_output(tmp_path):
    target = tmp_path / "real"
    target.write_text("")
    (tmp_path / "link").symlink_to(target)
    r = subprocess.run([TKTRACE, "watch", "--output", str(tmp_path / "link")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 125
    assert "cannot write" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_watch_help():
    r = subprocess.run([TKTRACE, "watch", "--help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0
    assert "Usage: tktrace watch" in r.stdout and "Examples:" in r.stdout


def test_unit_file_verifies(tmp_path):
    """packaging/tktrace-watch.service parses, every key known (pointed at this build)."""
    import shutil
    from conftest import REPO
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze not installed")
    text = (REPO / "packaging" / "tktrace-watch.service").read_text()
    assert "ExecStart=@BINDIR@/tktrace watch --output /var/log/tktrace/watch.jsonl" in text
    # make install fills in @BINDIR@; the man page may not be installed: this build, no man page.
    text = text.replace("@BINDIR@/tktrace", TKTRACE)
    text = "\n".join(l for l in text.splitlines() if not l.startswith("Documentation="))
    unit = tmp_path / "tktrace-watch.service"
    unit.write_text(text + "\n")
    r = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and not r.stdout.strip() and not r.stderr.strip(), r.stdout + r.stderr


def test_watch_notifies_systemd_when_ready(tmp_path):
    """Type=notify: READY=1 arrives on $NOTIFY_SOCKET once the programs are attached."""
    import socket
    need_root()
    path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(30)
    proc = subprocess.Popen([TKTRACE, "watch", "--output", str(tmp_path / "w.jsonl")],
                            env={**os.environ, "NOTIFY_SOCKET": path}, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert sock.recv(64) == b"READY=1"
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        err = proc.communicate(timeout=30)[1]
        sock.close()
    assert proc.returncode == 0, err
    assert "watch: ready" in err


def test_watch_names_the_xdist_worker_and_its_test(watch, memcg, tmp_path):
    """pytest -n 2: the OOM-killed worker's test and worker id, its ancestry up to pytest."""
    try:
        import xdist  # noqa: F401
    except ImportError:
        pytest.skip("pytest-xdist is not installed")
    w = watch()
    cg = memcg(300 << 20)
    (tmp_path / "test_hog.py").write_text(HOG_SUITE)
    main = subprocess.Popen(cg.join_cmd() + inner_pytest("-n", "2", "-p", "xdist", "test_hog.py"),
                            cwd=tmp_path, env=inner_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    out = main.communicate(timeout=180)[0].decode(errors="replace")
    hog_pid, worker = (tmp_path / "hog.txt").read_text().split()  # as the worker saw itself
    assert main.returncode == 1, out
    assert f"worker '{worker}' crashed while running 'test_hog.py::test_hog'" in out, out
    lines = w.stop()
    ooms = [l for l in lines if l["type"] == "oom_kill" and l["victim"]["cgroup"] == rel_path(cg)]
    assert len(ooms) == 1, ooms
    v = ooms[0]["victim"]
    assert v["pid"] == int(hog_pid)
    assert v["test"] == "test_hog.py::test_hog"
    assert v["worker"] == worker
    assert v["test_pid"] == v["pid"]
    check_rss_is_the_kernels(v)
    assert main.pid in [a["pid"] for a in v["ancestry"]]


def test_watch_probes_a_c_library_that_appears_later(watch, tmp_path):
    """A C library first mapped after watch started (as a new container's) gets probed, and
    the tests of the pytest using it are named."""
    libc = Path("/lib/x86_64-linux-gnu/libc.so.6")
    if not libc.exists():
        pytest.skip("no /lib/x86_64-linux-gnu/libc.so.6 to copy")
    w = watch("-v")
    libdir = tmp_path / "lib"
    libdir.mkdir()
    shutil.copy(libc, libdir / "libc.so.6")  # another inode: a library watch has not seen
    (tmp_path / "test_late.py").write_text(
        "import os, signal, subprocess, time\n"
        "from pathlib import Path\n"
        "def test_wait_for_probe():\n"
        "    deadline = time.time() + 20\n"
        "    while not Path('probed').exists():\n"
        "        assert time.time() < deadline, 'watch never probed the new libc'\n"
        "        time.sleep(0.1)\n"
        "def test_kills_child():\n"
        "    p = subprocess.Popen(['sleep', '60'])\n"
        "    time.sleep(0.2)\n"
        "    open('child.pid', 'w').write(str(p.pid))\n"
        "    open('pytest.pid', 'w').write(str(os.getpid()))\n"
        "    os.kill(p.pid, signal.SIGKILL)\n"
        "    p.wait()\n")
    proc = subprocess.Popen(inner_pytest("test_late.py"), cwd=tmp_path,
                            env=inner_env({"LD_LIBRARY_PATH": str(libdir)}),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 20
    while not any(str(libdir / "libc.so.6") in l and "probing" in l for l in w.stderr):
        assert time.time() < deadline and proc.poll() is None, "".join(w.stderr)
        time.sleep(0.1)
    (tmp_path / "probed").write_text("")
    out = proc.communicate(timeout=120)[0]
    assert proc.returncode == 0, out
    child = int((tmp_path / "child.pid").read_text())
    lines = w.stop()
    kill = one(lines, type="sigkill", **{"target.pid": child})
    assert kill["target"]["test"] == "test_late.py::test_kills_child"


def test_watch_into_a_closed_pipe_ends_cleanly(root):
    """tktrace watch | head -n 1: once the reader has gone, watch ends with 0 and says nothing
    about a broken pipe."""
    proc = subprocess.Popen([TKTRACE, "watch"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        err = []
        for line in proc.stderr:  # "ready" comes before any kill is logged
            err.append(line)
            if "watch: ready" in line:
                break
        assert proc.poll() is None, "".join(err)
        first = subprocess.Popen(["sleep", "60"])
        time.sleep(0.2)
        first.kill()
        first.wait()
        # Kills elsewhere on the machine may come first.
        while _get(json.loads(proc.stdout.readline()), "target.pid") != first.pid:
            pass
        proc.stdout.close()  # what head does after its line
        second = subprocess.Popen(["sleep", "60"])
        time.sleep(0.2)
        second.kill()  # another line to write, into the closed pipe
        second.wait()
        rc = proc.wait(timeout=15)
        rest = proc.stderr.read()
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    assert rc == 0, rest
    assert "Broken pipe" not in rest and "failed" not in rest, rest


@pytest.mark.parametrize("kind", ["fifo", "hardlink"])
def test_watch_output_not_a_file_of_its_own(tmp_path, kind):
    """A FIFO planted at the output path must not hang watch; a hard link must not be
    appended to: a one-line error, exit 125."""
    out = tmp_path / "w.jsonl"
    if kind == "fifo":
        os.mkfifo(out)
        want = "not a regular file"
    else:
        (tmp_path / "other").write_text("")
        os.link(tmp_path / "other", out)
        want = "it has other hard links"
    r = subprocess.run([TKTRACE, "watch", "--output", str(out)], capture_output=True, text=True,
                       timeout=20)
    assert r.returncode == 125, r.stderr
    assert r.stderr.strip() == f"tktrace: watch: cannot write {out}: {want}", r.stderr
    if kind == "hardlink":
        assert (tmp_path / "other").read_text() == ""
