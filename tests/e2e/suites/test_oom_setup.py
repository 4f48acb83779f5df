"""The OOM kill happens while a fixture is being set up."""
import os
from pathlib import Path

import numpy as np
import pytest

ALLOC = int(os.environ["E2E_ALLOC"])


@pytest.fixture
def hog(request):
    Path("nodeid-setup.txt").write_text(request.node.nodeid)
    big = np.ones(ALLOC, dtype=np.uint8)
    yield big


def test_before():
    pass


def test_uses_hog(hog):
    assert hog[-1] == 1
