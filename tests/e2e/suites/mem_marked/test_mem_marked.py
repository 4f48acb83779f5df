"""Data for test_memory.py (--intensive-threshold): two tests over the threshold, one of
them marked memory_intensive, and one under it."""
import os
from pathlib import Path

import pytest

BIG = int(os.environ["E2E_BIG"])
SMALL = int(os.environ["E2E_SMALL"])


def record(name, request):
    Path(f"nodeid-{name}.txt").write_text(request.node.nodeid)


def touch(n):
    b = bytearray(n)
    assert len(b) == n


@pytest.mark.memory_intensive
def test_marked_big(request):
    record("marked_big", request)
    touch(BIG)


def test_unmarked_big(request):
    record("unmarked_big", request)
    touch(BIG)


def test_unmarked_small(request):
    record("unmarked_small", request)
    touch(SMALL)
