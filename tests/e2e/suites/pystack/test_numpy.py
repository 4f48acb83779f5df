import numpy as np

from conftest import CHUNK, LIMIT


def test_numpy():
    held = []
    for _ in range(3 * LIMIT // CHUNK):
        held.append(np.arange(CHUNK // 8, dtype=np.float64))  # AT-NUMPY
