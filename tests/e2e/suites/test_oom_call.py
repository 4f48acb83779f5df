"""One test whose own numpy allocation (bigger than the cgroup limit, every page touched)
gets the pytest process OOM-killed in the call phase."""
import os
from pathlib import Path

import numpy as np

ALLOC = int(os.environ["E2E_ALLOC"])


def test_hog(request):
    Path("nodeid-call.txt").write_text(request.node.nodeid)
    Path("pid-call.txt").write_text(f"{os.getpid()} {os.getppid()}")
    big = np.ones(ALLOC, dtype=np.uint8)  # np.ones writes every page
    assert big[-1] == 1, "the allocation should have been OOM-killed"


def test_after():
    pass
