"""xdist: this worker holds 60% of the limit, then sleeps: the OOM killer's victim."""
import os
import time

import pytest

from conftest import LIMIT, note


def test_holder():
    if os.path.exists("holder.txt"):
        pytest.skip("xdist reruns a crashed worker's test: the OOM kill already happened")
    held = b"\x01" * (LIMIT * 6 // 10)
    note("holder", os.getpid())
    deadline = time.time() + 60
    while time.time() < deadline:  # the grower's OOM kill ends this
        time.sleep(0.1)  # AT-HOLD
    assert not held, "the holder should have been OOM-killed"
