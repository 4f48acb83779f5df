"""Page-fault-heavy: each test touches 100 MB in 4 KiB pages (bytearray: no huge pages)."""
import pytest

MB = 1 << 20


@pytest.mark.parametrize("i", range(100))
def test_touch_100mb(i):
    buf = bytearray(100 * MB)  # calloc + memset: every page faulted in
    buf[::4096] = b"\x01" * (len(buf) // 4096)
    assert buf[4096] == 1
