"""xdist: this worker holds 60% of the limit, then sleeps: the OOM killer's victim."""
import os
import time

from conftest import LIMIT, note


def test_holder():
    held = b"\x01" * (LIMIT * 6 // 10)
    note("holder", os.getpid())
    for _ in range(600):
        time.sleep(0.5)  # AT-HOLD
