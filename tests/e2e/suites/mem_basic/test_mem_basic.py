"""Data for test_memory.py: tests that touch a known amount of memory and free it again.

Each test records its own node id and pid (nodeid-NAME.txt, pid-NAME.txt). The blocks are
held for E2E_HOLD_S seconds so that tktrace's cgroup sampler (every 100 ms) sees them."""
import os
import time
from pathlib import Path

import numpy as np
import pytest

SIZE = int(os.environ["E2E_SIZE"])
HOLD_S = float(os.environ.get("E2E_HOLD_S", "0"))


def record(name, request):
    Path(f"nodeid-{name}.txt").write_text(request.node.nodeid)
    Path(f"pid-{name}.txt").write_text(f"{os.getpid()} {os.environ.get('PYTEST_XDIST_WORKER')}")


def status():
    """VmRSS and VmHWM of this process, in bytes, as the kernel reports them."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, val = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(val.split()[0]) * 1024  # "kB"
    return out["VmRSS"], out["VmHWM"]


class Vm:
    """The kernel's own figures at known moments of a test: its call's start (the high-water
    mark reset there: clear_refs 5), while the block is held, after it is freed."""

    def __init__(self, name):
        self.name = name
        Path("/proc/self/clear_refs").write_text("5")
        self.start = status()

    def hold(self):
        self.held = status()

    def done(self):
        end = status()
        Path(f"vm-{self.name}.txt").write_text(" ".join(
            str(v) for v in (*self.start, *self.held, *end)))


def touched_bytearray():
    # bytearray(n) is malloc (an mmap of its own at this size) plus a memset: every 4 KiB
    # page is written, and no huge pages (THP is "madvise", and glibc does not madvise).
    block = bytearray(SIZE)
    assert len(block) == SIZE
    return block


def test_numpy(request):
    record("numpy", request)
    vm = Vm("numpy")
    # np.ones writes every byte; numpy madvises big buffers for huge pages.
    a = np.ones(SIZE, dtype=np.uint8)
    vm.hold()
    time.sleep(HOLD_S)
    assert int(a[0]) + int(a[-1]) == 2
    del a
    vm.done()


def test_bytearray(request):
    record("bytearray", request)
    vm = Vm("bytearray")
    b = touched_bytearray()
    vm.hold()
    time.sleep(HOLD_S)
    del b
    vm.done()


@pytest.fixture
def block_in_setup():
    b = touched_bytearray()  # lives only while the fixture sets up
    del b
    yield


def test_fixture_setup(request, block_in_setup):
    record("setup", request)


@pytest.fixture
def block_in_teardown():
    yield
    b = touched_bytearray()
    del b


def test_fixture_teardown(request, block_in_teardown):
    record("teardown", request)


def test_noop(request):
    record("noop", request)
