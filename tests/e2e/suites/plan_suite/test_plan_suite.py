"""Data for test_plan.py: a suite that a memory cgroup cannot hold at -n 4. The heavy tests come
first, so xdist's round-robin start hands one to each worker at once; the light ones are many
and slow, so parallelism pays; one test keeps memory after it ends (a leak to be named)."""
import mmap
import os
import time

import pytest

HEAVY = int(os.environ["E2E_HEAVY"])  # bytes a heavy test holds
LIGHT = int(os.environ["E2E_LIGHT"])  # bytes a light test holds
LEAK = int(os.environ["E2E_LEAK"])    # bytes the leaky test keeps
HOLD = float(os.environ["E2E_HOLD"])  # seconds a light test holds its block
HEAVY_HOLD = float(os.environ["E2E_HEAVY_HOLD"])  # a heavy one: long enough to overlap
KEEP = []


def touched(nbytes):
    """An anonymous mapping with every page written: resident until closed. (Through malloc,
    glibc's adaptive mmap threshold would keep freed blocks in the heap for the next test.)"""
    m = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    for off in range(0, nbytes, mmap.PAGESIZE):
        m[off] = 1
    return m


def hold(nbytes, secs):
    block = touched(nbytes)
    time.sleep(secs)
    n = len(block)
    block.close()
    return n


@pytest.mark.parametrize("i", range(3))
def test_heavy(i):
    assert hold(HEAVY, HEAVY_HOLD) == HEAVY


@pytest.mark.parametrize("i", range(12))
def test_light(i):
    assert hold(LIGHT, HOLD) == LIGHT


def test_leaky():
    KEEP.append(touched(LEAK))
    time.sleep(HOLD)
