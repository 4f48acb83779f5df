"""A small analysis suite; one test needs far more memory than the CI runner gives it."""
import numpy as np


def test_mean(samples):
    assert abs(samples.mean()) < 0.01


def test_histogram(samples):
    counts, _ = np.histogram(samples, bins=100)
    assert counts.sum() == samples.size


def test_pairwise_distances(samples):
    # 4000 x 4000 x 8 float64 blocks: ~1 GB, the kind of test nobody marked memory_intensive.
    x = samples[:4000]
    d = np.abs(x[:, None] - x[None, :])
    stacked = np.stack([d * k for k in range(1, 9)])
    assert stacked.shape == (8, 4000, 4000)


def test_after_the_big_one(samples):
    assert samples.std() > 0.9
