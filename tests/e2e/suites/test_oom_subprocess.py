"""A test starts a separate Python (subprocess.run) that is OOM-killed; pytest survives."""
import os
import signal
import subprocess
import sys
from pathlib import Path

ALLOC = int(os.environ["E2E_ALLOC"])

CHILD = f"""
import os
from pathlib import Path
Path("pid-child.txt").write_text(str(os.getpid()))
big = b"\\x01" * {ALLOC}  # a memset: every page touched
print(len(big))
"""


def test_spawns_hog(request):
    Path("nodeid-subprocess.txt").write_text(request.node.nodeid)
    Path("pid-pytest.txt").write_text(str(os.getpid()))
    proc = subprocess.run([sys.executable, "-c", CHILD])
    assert proc.returncode == -signal.SIGKILL
