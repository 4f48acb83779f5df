"""Data for test_memory.py: a COMMAND whose main thread exits first (the raw exit system call,
what pthread_exit ends with) while another thread keeps the process running in its cgroup,
holding E2E_HOLD bytes, for E2E_HOLD_S seconds. The process is alive all along: tktrace's
waitpid returns only when the last thread is gone."""
import ctypes
import os
import platform
import threading
import time
from pathlib import Path

HOLD = int(os.environ["E2E_HOLD"])
HOLD_S = float(os.environ["E2E_HOLD_S"])
SYS_EXIT = {"x86_64": 60, "aarch64": 93}[platform.machine()]
ready = threading.Event()


def worker():
    block = bytearray(HOLD)
    ready.set()
    time.sleep(HOLD_S)
    Path("worker-done.txt").write_text(f"{os.getpid()} {len(block)}")
    os._exit(0)


threading.Thread(target=worker).start()
ready.wait()
Path("leader-exiting.txt").write_text(str(os.getpid()))
# ctypes releases the GIL around the call, and the call never returns: only this thread ends.
ctypes.CDLL(None).syscall(SYS_EXIT, 0)
