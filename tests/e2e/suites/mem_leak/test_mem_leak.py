"""Data for test_memory.py: parametrized tests that each leave E2E_LEAK bytes in a module
level cache, then an innocent test that allocates E2E_INNOCENT bytes and, the cache having
used up most of the cgroup's limit, is OOM-killed."""
import os
from pathlib import Path

import numpy as np
import pytest

LEAKS = int(os.environ["E2E_LEAKS"])
LEAK = int(os.environ["E2E_LEAK"])
INNOCENT = int(os.environ["E2E_INNOCENT"])

CACHE = []  # what a careless memoizing helper keeps


def record(name, request):
    Path(f"nodeid-{name}.txt").write_text(request.node.nodeid)
    Path(f"pid-{name}.txt").write_text(str(os.getpid()))


@pytest.mark.parametrize("i", range(LEAKS))
def test_leaky(i, request):
    record(f"leak{i}", request)
    CACHE.append(np.ones(LEAK, dtype=np.uint8))


def test_innocent(request):
    record("innocent", request)
    a = np.ones(INNOCENT, dtype=np.uint8)  # killed here
    Path("innocent-survived.txt").write_text(str(a.nbytes))
