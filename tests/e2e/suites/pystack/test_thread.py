import threading

from conftest import CHUNK, LIMIT

held = []


def grow():
    for _ in range(3 * LIMIT // CHUNK):
        held.append(b"\x01" * CHUNK)  # AT-THREAD


def test_thread():
    t = threading.Thread(target=grow)
    t.start()
    t.join()  # AT-JOIN
