"""Data for test_html.py (xdist --dist loadfile: this file on one worker): tests that each
keep E2E_LEAK bytes in a module cache, slowly enough for the timeline to show the staircase,
then a test that grows in E2E_STEP steps until the cgroup's limit kills its worker."""
import os
import time
from pathlib import Path

import numpy as np
import pytest

LEAK = int(os.environ["E2E_LEAK"])
STEP = int(os.environ["E2E_STEP"])
GROW_MAX = int(os.environ["E2E_GROW_MAX"])
CACHE = []


def record(name, request):
    Path(f"nodeid-{name}.txt").write_text(request.node.nodeid)
    Path(f"pid-{name}.txt").write_text(f"{os.getpid()} {os.environ.get('PYTEST_XDIST_WORKER')}")


@pytest.mark.parametrize("size", ["small<&>", "big \"q\" \u00e9"])
def test_cache(size, request):
    record(f"cache{len(CACHE)}", request)
    CACHE.append(np.ones(LEAK, dtype=np.uint8))
    time.sleep(0.4)


def test_cache_again(request):
    record("cache2", request)
    CACHE.append(np.ones(LEAK, dtype=np.uint8))
    time.sleep(0.4)


def test_innocent(request):
    record("innocent", request)
    chunks = []
    while len(chunks) * STEP < GROW_MAX:  # killed on the way
        chunks.append(np.ones(STEP, dtype=np.uint8))
        time.sleep(0.05)
    Path("innocent-survived.txt").write_text(str(len(chunks) * STEP))
