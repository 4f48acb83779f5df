"""The main thread leaves first (pthread_exit); the process lives on in another thread, which
then allocates past the limit. The kill and its stack are still the process's."""
import ctypes
import os
import threading
import time

from conftest import CHUNK, LIMIT

held = []


def leader_gone():
    """The main thread is a zombie in /proc/self/task (it stays listed until the group ends)."""
    with open(f"/proc/self/task/{os.getpid()}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")


def grow():
    while not leader_gone():
        time.sleep(0.01)
    for _ in range(3 * LIMIT // CHUNK):
        held.append(b"\x01" * CHUNK)  # AT-LEADER


def test_leader():
    threading.Thread(target=grow).start()
    # CDLL releases the GIL around the call, so grow() runs on.
    ctypes.CDLL(None).pthread_exit(None)
