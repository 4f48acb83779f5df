"""Data for test_memory.py: a test whose child process (a separate Python) touches
E2E_CHILD bytes; the child records its pid and its own high-water mark (VmHWM)."""
import os
import subprocess
import sys
from pathlib import Path

CHILD = int(os.environ["E2E_CHILD"])

CODE = f"""
import os
from pathlib import Path
block = bytearray({CHILD})  # malloc + memset: every page touched
hwm = [l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM:")][0]
Path("child.txt").write_text(f"{{os.getpid()}} {{int(hwm) * 1024}}")
"""


def record(name, request):
    Path(f"nodeid-{name}.txt").write_text(request.node.nodeid)
    Path(f"pid-{name}.txt").write_text(str(os.getpid()))


def test_spawns_child(request):
    record("spawner", request)
    assert subprocess.run([sys.executable, "-c", CODE]).returncode == 0


def test_after(request):
    record("after", request)
