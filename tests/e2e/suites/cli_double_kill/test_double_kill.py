"""Data for tktrace's CLI tests: one kill(1) sends SIGKILL twice to the same child of a test.

Sender and target share one CPU and the sender runs SCHED_FIFO, so the target cannot run (and
exit) between the two kill() calls: the kernel delivers the first SIGKILL and drops the second
(the target is already dying). Only one process is killed, once."""
import os
import subprocess
import time
from pathlib import Path


def test_double_kill(request):
    Path("nodeid-double.txt").write_text(request.node.nodeid, encoding="utf-8")
    cpu = str(min(os.sched_getaffinity(0)))
    child = subprocess.Popen(["taskset", "-c", cpu, "sleep", "10"])
    Path("pid-sleep.txt").write_text(str(child.pid))
    deadline = time.time() + 10
    while Path(f"/proc/{child.pid}/comm").read_text().strip() != "sleep":
        assert time.time() < deadline, "taskset never became sleep"
        time.sleep(0.01)
    pid = str(child.pid)
    # taskset and chrt exec what follows: the sender kill(1) keeps the pid started here.
    sender = subprocess.Popen(["taskset", "-c", cpu, "chrt", "-f", "1", "/bin/kill", "-9", pid, pid])
    assert sender.wait() == 0
    Path("pid-kill.txt").write_text(str(sender.pid))
    assert child.wait(timeout=30) == -9
