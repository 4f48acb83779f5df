import multiprocessing

from conftest import CHUNK, LIMIT


def grow():
    held = []
    for _ in range(3 * LIMIT // CHUNK):
        held.append(b"\x01" * CHUNK)  # AT-MP


def test_mp():
    # A forked child without exec: the same interpreter, at the same addresses, its own pid.
    p = multiprocessing.get_context("fork").Process(target=grow)
    p.start()
    p.join()  # AT-MP-JOIN
    assert p.exitcode == -9, "the child should have been OOM-killed"
