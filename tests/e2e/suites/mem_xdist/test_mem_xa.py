"""Data for test_memory.py (xdist, --dist loadfile puts this file and test_mem_xb.py on
different workers): test_a_leak keeps E2E_LEAK bytes while test_b_watch on the other worker
is running; both wait for each other, so the leak happens inside test_b_watch's window."""
import os
import time
from pathlib import Path

LEAK = int(os.environ["E2E_LEAK"])
KEEP = []


def record(name, request):
    Path(f"nodeid-{name}.txt").write_text(request.node.nodeid)
    Path(f"pid-{name}.txt").write_text(f"{os.getpid()} {os.environ.get('PYTEST_XDIST_WORKER')}")


def wait_for(name):
    deadline = time.time() + 20
    while not Path(name).exists():
        assert time.time() < deadline, f"{name} never appeared (both files on one worker?)"
        time.sleep(0.02)


def test_a_leak(request):
    record("a_leak", request)
    wait_for("b-started.txt")
    KEEP.append(bytearray(LEAK))
    Path("a-leaked.txt").write_text("1")


def test_a_after(request):
    record("a_after", request)
