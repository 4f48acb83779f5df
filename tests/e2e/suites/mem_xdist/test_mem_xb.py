"""Data for test_memory.py: the other worker's side of test_mem_xa.py."""
import os
import time
from pathlib import Path


def record(name, request):
    Path(f"nodeid-{name}.txt").write_text(request.node.nodeid)
    Path(f"pid-{name}.txt").write_text(f"{os.getpid()} {os.environ.get('PYTEST_XDIST_WORKER')}")


def test_b_watch(request):
    record("b_watch", request)
    Path("b-started.txt").write_text("1")
    deadline = time.time() + 20
    while not Path("a-leaked.txt").exists():
        assert time.time() < deadline, "the other worker never leaked"
        time.sleep(0.02)
    time.sleep(0.1)  # the leak stays while this test still runs


def test_b_after(request):
    record("b_after", request)
