"""The OOM kill happens in a fixture's teardown, after the test body passed."""
import os
from pathlib import Path

import numpy as np
import pytest

ALLOC = int(os.environ["E2E_ALLOC"])


@pytest.fixture
def hog_at_teardown(request):
    yield
    Path("nodeid-teardown.txt").write_text(request.node.nodeid)
    big = np.ones(ALLOC, dtype=np.uint8)
    assert big[-1] == 1


def test_light(hog_at_teardown):
    Path("called.txt").write_text("yes")
