from conftest import CHUNK, LIMIT


def test_line():
    held = []
    for _ in range(3 * LIMIT // CHUNK):
        held.append(b"\x01" * CHUNK)  # AT-LINE
