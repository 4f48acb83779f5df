"""A parametrized test whose id is very long and made from non-ASCII text (pytest escapes it)."""
import os
from pathlib import Path

import numpy as np
import pytest

ALLOC = int(os.environ["E2E_ALLOC"])
LABEL = "café-日本-" * 400 + "end"  # 3603 characters before pytest escapes them


@pytest.mark.parametrize("label", [LABEL])
def test_long(label, request):
    assert label == LABEL
    Path("nodeid-long.txt").write_text(request.node.nodeid, encoding="utf-8")
    big = np.ones(ALLOC, dtype=np.uint8)
    assert big[-1] == 1
