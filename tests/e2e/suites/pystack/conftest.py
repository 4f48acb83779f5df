"""Inner suite for tests/e2e/test_pystack.py: each allocation that must hit the limit sits on a
line marked '# AT-NAME'; the outer test finds the line by its marker and asserts tktrace's
stack points exactly there."""
import os
import time

import pytest

CHUNK = 8 << 20
LIMIT = int(os.environ.get("E2E_LIMIT", str(200 << 20)))


def note(name, value):
    """NAME.txt holds value once it exists (written whole, then renamed)."""
    with open(f"{name}.tmp", "w") as f:
        f.write(str(value))
    os.rename(f"{name}.tmp", f"{name}.txt")


@pytest.fixture
def hog_setup():
    held = []
    for _ in range(3 * LIMIT // CHUNK):
        held.append(b"\x01" * CHUNK)  # AT-SETUP
    yield


@pytest.fixture
def hog_teardown():
    yield
    held = []
    for _ in range(3 * LIMIT // CHUNK):
        held.append(b"\x01" * CHUNK)  # AT-TEARDOWN
