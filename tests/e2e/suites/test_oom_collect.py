"""A module-level allocation: the OOM kill happens while pytest collects, before any test."""
import os
from pathlib import Path

import numpy as np

ALLOC = int(os.environ["E2E_ALLOC"])
Path("pid-collect.txt").write_text(str(os.getpid()))
_BIG = np.ones(ALLOC, dtype=np.uint8)


def test_never_runs():
    Path("ran.txt").write_text("yes")
