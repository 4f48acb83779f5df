"""Fork-heavy: tests spawning many short subprocesses."""
import subprocess

import pytest


@pytest.mark.parametrize("i", range(250))
def test_spawn(i):
    for _ in range(20):
        subprocess.run(["/bin/true"], check=True)
