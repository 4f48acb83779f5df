"""Helpers the inner tests call: the stack's innermost project frame is in here."""
import os
import time

CHUNK = 8 << 20


def hog(limit):
    held = []
    for _ in range(3 * limit // CHUNK):
        held.append(b"\x01" * CHUNK)  # AT-HELPER
    return held


def wait_forever():
    with open("sleeping.txt", "w") as f:
        f.write(str(os.getpid()))
    for _ in range(600):
        time.sleep(0.5)  # AT-SLEEP
