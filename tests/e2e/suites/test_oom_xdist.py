"""Two tests on two xdist workers share one memory cgroup: test_holder keeps a large block,
test_grower (on the other worker) then allocates bit by bit. The charge that fails is the
grower's; the OOM killer picks the largest process, the holder's worker."""
import os
import time
from pathlib import Path

import numpy as np

HOLD = int(os.environ["E2E_HOLD"])      # the holder's block
CHUNK = int(os.environ["E2E_CHUNK"])    # the grower's step
GROW_MAX = int(os.environ["E2E_GROW_MAX"])  # the grower never goes past this
FLAG = Path("holder-ready.txt")


def record(name, request):
    Path(f"nodeid-{name}.txt").write_text(request.node.nodeid)
    Path(f"pid-{name}.txt").write_text(f"{os.getpid()} {os.environ.get('PYTEST_XDIST_WORKER')}")


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_holder(request):
    record("holder", request)
    block = np.ones(HOLD, dtype=np.uint8)
    tmp = Path("holder-ready.tmp")
    tmp.write_text(str(os.getpid()))
    tmp.rename(FLAG)  # the grower sees the whole pid or nothing
    deadline = time.time() + 60
    while time.time() < deadline:  # the grower's OOM kill ends this
        time.sleep(0.1)
    assert block[-1] == 1, "the holder should have been OOM-killed"


def test_grower(request):
    record("grower", request)
    deadline = time.time() + 60
    while not FLAG.exists():
        assert time.time() < deadline, "the holder never got ready"
        time.sleep(0.05)
    holder = int(FLAG.read_text())
    chunks = []
    while alive(holder):
        assert len(chunks) * CHUNK < GROW_MAX, "the holder was never OOM-killed"
        chunks.append(np.ones(CHUNK, dtype=np.uint8))
    Path("grower-done.txt").write_text(str(len(chunks) * CHUNK))
