"""End-to-end harness: runs the real tktrace binary (real BPF programs) on small pytest suites
that are OOM-killed inside memory cgroups this harness creates, limits (<= 1 GiB) and removes."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

# Inner suites are data for tktrace, not tests of this suite.
collect_ignore_glob = ["suites/*"]

HERE = Path(__file__).resolve().parent
SUITES = HERE / "suites"
REPO = HERE.parent.parent
TKTRACE = os.environ.get("TKTRACE") or str(REPO / "build" / "tktrace")
PYTHON = sys.executable  # the interpreter that has pytest, xdist and numpy
MAX_LIMIT = 1 << 30  # never more than 1 GiB for anything that allocates


def _mounts():
    with open("/proc/self/mounts") as f:
        return [line.split() for line in f]


def memcg_root():
    """(version, mount) of the hierarchy that holds the memory controller."""
    for dev, mnt, fstype, opts, *_ in _mounts():
        if fstype == "cgroup" and "memory" in opts.split(","):
            return 1, mnt
    for dev, mnt, fstype, opts, *_ in _mounts():
        if fstype == "cgroup2":
            try:
                if "memory" in Path(mnt, "cgroup.controllers").read_text().split():
                    return 2, mnt
            except OSError:
                pass
    return 0, None


class MemCgroup:
    """A memory cgroup created for one test and removed after it."""

    def __init__(self, limit):
        assert 0 < limit <= MAX_LIMIT, "tests may not allow more than 1 GiB"
        self.version, root = memcg_root()
        if not self.version:
            pytest.skip("no memory cgroup controller mounted")
        self.path = Path(root) / f"tktrace-e2e-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        if self.version == 2:
            ctl = Path(root, "cgroup.subtree_control")
            if "memory" not in ctl.read_text().split():
                ctl.write_text("+memory")
        self.path.mkdir()
        self.limit = limit
        if self.version == 1:
            (self.path / "memory.limit_in_bytes").write_text(str(limit))
            for name, val in (("memory.memsw.limit_in_bytes", str(limit)), ("memory.swappiness", "0")):
                try:
                    (self.path / name).write_text(val)
                except OSError:
                    pass
        else:
            (self.path / "memory.max").write_text(str(limit))
            try:
                (self.path / "memory.swap.max").write_text("0")
            except OSError:
                pass
        # The limit must really be in force before anything allocates.
        assert self.read_limit() == limit

    def read_limit(self):
        name = "memory.limit_in_bytes" if self.version == 1 else "memory.max"
        return int((self.path / name).read_text())

    def pids(self):
        try:
            return [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
        except OSError:
            return []

    def remove(self, started_pids=()):
        # End only processes this test started (they are all in here), by pid.
        deadline = time.time() + 10
        while self.path.exists() and time.time() < deadline:
            for pid in self.pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                self.path.rmdir()
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.05)
        assert not self.path.exists(), f"could not remove {self.path}"

    def join_cmd(self):
        """A shell prefix that moves itself into this cgroup, then execs the command."""
        return ["/bin/sh", "-c", f'echo $$ > {self.path}/cgroup.procs && exec "$@"', "sh"]


def kernel_peak_usage(cg):
    """The cgroup's own high-water mark (v1 max_usage_in_bytes; v2 memory.peak, 5.19+)."""
    name = "memory.max_usage_in_bytes" if cg.version == 1 else "memory.peak"
    try:
        return int((cg.path / name).read_text())
    except (OSError, ValueError):
        return None


@pytest.fixture
def memcg(request):
    made = []

    def make(limit=400 << 20):
        cg = MemCgroup(limit)
        made.append(cg)
        return cg

    yield make
    for cg in made:
        cg.remove()


def need_root():
    if os.geteuid() != 0:
        pytest.skip("end-to-end tests load BPF programs: run them as root")
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        pytest.skip("kernel has no BTF (/sys/kernel/btf/vmlinux)")
    if not os.path.exists(TKTRACE):
        pytest.fail(f"tktrace binary not found at {TKTRACE}: run make first")


@pytest.fixture
def root():
    need_root()


@pytest.fixture(scope="session")
def kernel_stacks():
    """(True, None) where tktrace takes Python stacks at kills, else (False, the line tktrace
    -v says why). Stacks need bpf_loop (5.17+, probed by tktrace); on 5.17+ tktrace must not
    say it lacks it."""
    need_root()
    run = subprocess.run([TKTRACE, "-v", "--", "true"], capture_output=True, text=True,
                         timeout=120)
    said = [l for l in run.stderr.splitlines() if "has no bpf_loop" in l]
    rel = os.uname().release
    if tuple(int(x) for x in re.findall(r"\d+", rel)[:2]) >= (5, 17):
        assert not said, run.stderr
        return True, None
    assert run.returncode == 0 and said, run.stderr
    return False, said[0]


@pytest.fixture
def stacks(kernel_stacks):
    """A test that needs a Python stack skips, with tktrace's reason, where none is taken."""
    if not kernel_stacks[0]:
        pytest.skip(kernel_stacks[1])


def inner_env(extra=None):
    """Environment for the traced suite: none of the outer pytest's own variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("SUDO_UID", None)
    env.pop("SUDO_GID", None)
    if extra:
        env.update(extra)
    return env


class Run:
    def __init__(self, proc, report, workdir, report_path=None):
        self.report_path = report_path
        self.proc = proc
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.report = report
        self.workdir = workdir

    def __repr__(self):
        return f"Run(rc={self.rc}, stderr={self.stderr[-3000:]!r})"


@pytest.fixture
def suite(tmp_path):
    """Copy suites/NAME (a .py file or a directory) into a fresh directory; return its path."""

    def copy(*names):
        work = tmp_path / "suite"
        work.mkdir(exist_ok=True)
        for name in names:
            src = SUITES / name
            if src.is_dir():
                shutil.copytree(src, work, dirs_exist_ok=True)
            else:
                shutil.copy(src, work / src.name)
        return work

    return copy


def inner_pytest(*args):
    return [PYTHON, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args]


def run_tktrace(cmd, cwd, *, opts=(), cgroup=None, timeout=180, env=None, json_out=True,
                preexec_fn=None, join="shell", stderr_path=None, binary=None):
    """Run tktrace [opts] --json FILE -- [cgroup join] cmd; return Run with the parsed report.
    join="tktrace": tktrace joins the cgroup itself (--cgroup DIR), no shell prefix.
    stderr_path: tktrace's stderr goes to that file as it is written (the traced tests may
    read it while they run). binary: another build of tktrace (a test variant)."""
    report_path = Path(cwd) / f"report-{uuid.uuid4().hex[:8]}.json"
    args = [binary or TKTRACE, *opts]
    if cgroup is not None and join == "tktrace":
        args += ["--cgroup", str(cgroup.path)]
    if json_out:
        args += ["--json", str(report_path)]
    args.append("--")
    if cgroup is not None and join == "shell":
        args += cgroup.join_cmd()
    args += list(cmd)
    if stderr_path is None:
        proc = subprocess.run(args, cwd=cwd, env=env or inner_env(), capture_output=True,
                              text=True, timeout=timeout, preexec_fn=preexec_fn)
    else:
        with open(stderr_path, "w") as err:
            proc = subprocess.run(args, cwd=cwd, env=env or inner_env(), stdout=subprocess.PIPE,
                                  stderr=err, text=True, timeout=timeout, preexec_fn=preexec_fn)
        proc.stderr = Path(stderr_path).read_text()
    report = None
    if json_out and report_path.exists() and report_path.stat().st_size:
        report = json.loads(report_path.read_text())
    return Run(proc, report, cwd, report_path if report is not None else None)


def record_opts(dest):
    """Options that record the run and write every other output, into directory dest."""
    dest = Path(dest)
    return ["--record", str(dest / "run.tkt"), "--per-test-file", str(dest / "live.jsonl"),
            "--html", str(dest / "live.html")]


def check_replay(run, dest):
    """`tktrace report` of the recording gives every output of the live run (record_opts)
    byte for byte: JSON, per-test file, HTML and the human report."""
    dest = Path(dest)
    rec = dest / "run.tkt"
    outs = {"--json": (dest / "replayed.json", run.report_path),
            "--per-test-file": (dest / "replayed.jsonl", dest / "live.jsonl"),
            "--html": (dest / "replayed.html", dest / "live.html")}
    args = [TKTRACE, "report", str(rec)]
    for opt, (replayed, _) in outs.items():
        args += [opt, str(replayed)]
    r = subprocess.run(args + ["--text"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r
    for opt, (replayed, live) in outs.items():
        live_bytes = Path(live).read_bytes()
        assert live_bytes, f"the live run wrote no {opt}"
        assert replayed.read_bytes() == live_bytes, f"{opt}: replay differs from the live run"
    assert r.stdout.startswith("tktrace: ") and run.stderr.endswith(r.stdout), (run.stderr,
                                                                                r.stdout)


def junit_counts(path):
    """Each <testsuite>'s tests/errors/failures attributes and the elements it holds, as two
    lists of (tests, errors, failures), for comparing (CI dashboards read the attributes)."""
    import xml.etree.ElementTree as ET
    root = ET.parse(path).getroot()  # well-formed, or this raises
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    said = [tuple(int(s.get(a, -1)) for a in ("tests", "errors", "failures")) for s in suites]
    held = [(len(s.findall("testcase")), len(s.findall("testcase/error")),
             len(s.findall("testcase/failure"))) for s in suites]
    return said, held


def kernel_log_now():
    """The kernel log as /dev/kmsg gives it (raw records), read without blocking."""
    fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
    out = []
    try:
        while True:
            try:
                out.append(os.read(fd, 8192))
            except BlockingIOError:
                break
            except BrokenPipeError:
                continue
    finally:
        os.close(fd)
    return b"".join(out)


def nodeids_written(workdir):
    """Node ids the inner tests recorded themselves (request.node.nodeid), by short name."""
    out = {}
    for p in Path(workdir).glob("nodeid-*.txt"):
        nid = p.read_text(encoding="utf-8")
        out[p.stem[len("nodeid-"):]] = nid
    return out


def headline(stderr):
    """tktrace's report headline: its first line that is not a live --warn-at warning (the
    limit is often crossed just before a kill, so a warning block can come first)."""
    return next(line for line in stderr.splitlines()
                if line.startswith("tktrace: ") and not line.startswith("tktrace: warning:"))


# COMMAND died of one of these: tktrace dies of it too (after its report), so the calling
# shell sees the signal; of any other signal S, tktrace exits 128+S.
RERAISED = {1, 2, 13, 15}  # SIGHUP, SIGINT, SIGPIPE, SIGTERM


def tktrace_returncode(sig, exit_code):
    """What subprocess reports for tktrace when COMMAND died of sig (None: it exited)."""
    return -sig if sig in RERAISED else exit_code


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "realsuite: runs a third-party test suite from a Debian package (numpy's "
        "own tests); `-m 'not realsuite'` leaves them out")
