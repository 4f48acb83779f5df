"""Fixtures of the demo suite: a session-scoped 10M-sample dataset, as big suites have."""
import numpy as np
import pytest


@pytest.fixture(scope="session")
def samples():
    # 10M float64 samples: 80 MB that stay resident for the whole session.
    return np.random.default_rng(0).standard_normal(10_000_000)
