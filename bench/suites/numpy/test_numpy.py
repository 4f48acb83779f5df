"""Realistic memory-heavy tests: 100 MB numpy arrays filled and reduced (numpy asks for huge
pages on large arrays, so far fewer faults than the worst case in suites/faults)."""
import numpy as np
import pytest


@pytest.mark.parametrize("i", range(300))
def test_array_100mb(i):
    a = np.full(100 * 2**20 // 8, float(i))
    assert a.sum() == float(i) * a.size
