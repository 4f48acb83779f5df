"""A forked test runner (as pytest-forked does): the child sets PYTEST_CURRENT_TEST at once,
before any tracer could have attached anything to it, and records its pid in child.pid."""
import os
import time


def test_parent():
    pid = os.fork()
    if pid == 0:
        try:
            os.environ["PYTEST_CURRENT_TEST"] = "test_forked.py::test_in_child (call)"
            with open("child.pid", "w") as f:
                f.write(str(os.getpid()))
            # Alive until tktrace has followed it: a poll or two, over a second on a busy
            # machine (measured 1.2 s with the end-to-end suite running beside it).
            time.sleep(3.0)
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert status == 0


def test_spawn():
    """A Python this test starts inherits its PYTEST_CURRENT_TEST: that is not a test of its
    own (it counts as spawned under this one)."""
    import subprocess
    import sys
    subprocess.run([sys.executable, "-c", "import time; time.sleep(1.0)"], check=True)
