"""xdist: this worker grows once the holder holds its share, and stops once the holder is gone:
the trigger, never the victim."""
import os
import time

import pytest

from conftest import LIMIT, note

STEP = 8 << 20


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def test_grower():
    if os.path.exists("grower.txt"):
        # As the holder: xdist reruns a crashed worker's test on its replacement, which
        # must not take the grower's place (grower.txt names the process that grew).
        pytest.skip("xdist reruns a crashed worker's test: the OOM kill already happened")
    deadline = time.time() + 60
    while not os.path.exists("holder.txt"):
        assert time.time() < deadline, "the holder never got ready"
        time.sleep(0.05)
    holder = int(open("holder.txt").read())
    note("grower", os.getpid())
    held = []
    while alive(holder):
        assert len(held) * STEP < LIMIT * 6 // 10, "the holder was never OOM-killed"
        held.append(b"\x01" * STEP)  # AT-GROW
