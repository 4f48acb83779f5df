"""xdist: this worker grows once the holder holds its share: the trigger."""
import os
import time

from conftest import LIMIT, note


def test_grower():
    for _ in range(600):
        if os.path.exists("holder.txt"):
            break
        time.sleep(0.05)
    note("grower", os.getpid())
    held = []
    for _ in range(3 * LIMIT // (4 << 20)):
        held.append(b"\x01" * (4 << 20))  # AT-GROW
