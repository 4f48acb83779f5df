"""Test-count-heavy: thousands of trivial tests (each one is three PYTEST_CURRENT_TEST changes)."""
import pytest


@pytest.mark.parametrize("i", range(15000))
def test_trivial(i):
    assert i >= 0
