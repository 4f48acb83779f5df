"""Data for tktrace's CLI tests: three tests that pass and kill nothing."""
import subprocess

import pytest


def test_one():
    assert 1 + 1 == 2


def test_two_spawns_a_child():
    assert subprocess.run(["true"]).returncode == 0


@pytest.mark.parametrize("n", [3])
def test_three(n):
    assert n == 3
