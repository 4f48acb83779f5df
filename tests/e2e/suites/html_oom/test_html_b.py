"""Data for test_html.py: the other worker's side, tests that come and go without leaking."""
import os
import time
from pathlib import Path

import numpy as np


def record(name, request):
    Path(f"nodeid-{name}.txt").write_text(request.node.nodeid)
    Path(f"pid-{name}.txt").write_text(f"{os.getpid()} {os.environ.get('PYTEST_XDIST_WORKER')}")


def test_quick(request):
    record("quick", request)
    time.sleep(0.3)


def test_temporary(request):
    record("temporary", request)
    a = np.ones(int(os.environ["E2E_TEMP"]), dtype=np.uint8)
    time.sleep(0.4)
    del a


def test_steady(request):
    record("steady", request)
    time.sleep(0.5)
