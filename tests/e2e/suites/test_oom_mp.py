"""A test forks a multiprocessing child (fork start method) that is OOM-killed."""
import multiprocessing
import os
import signal
from pathlib import Path

import numpy as np

ALLOC = int(os.environ["E2E_ALLOC"])


def hog():
    Path("pid-child.txt").write_text(str(os.getpid()))
    big = np.ones(ALLOC, dtype=np.uint8)
    print(big[-1])


def test_forks_hog(request):
    Path("nodeid-mp.txt").write_text(request.node.nodeid)
    Path("pid-pytest.txt").write_text(str(os.getpid()))
    p = multiprocessing.get_context("fork").Process(target=hog)
    p.start()
    p.join(120)
    assert p.exitcode == -signal.SIGKILL
