"""Soak: a long run of trivial tests (BENCH_SOAK_TESTS, default 10000), for the tracer's
memory per test and lost events over a long xdist run."""
import os

import pytest


@pytest.mark.parametrize("i", range(int(os.environ.get("BENCH_SOAK_TESTS", "10000"))))
def test_soak(i):
    assert i >= 0
