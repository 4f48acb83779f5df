"""Data for test_memory.py (--per-test-file): tests defined (and run) in an order that is
not the order of their node ids; test_alpha touches E2E_SIZE bytes."""
import os

import pytest

SIZE = int(os.environ["E2E_SIZE"])


def record(request):
    with open("nodeids.txt", "a", encoding="utf-8") as f:
        f.write(request.node.nodeid + "\n")


def test_zeta(request):
    record(request)


def test_alpha(request):
    record(request)
    b = bytearray(SIZE)
    del b


class TestMiddle:
    def test_mid(self, request):
        record(request)


@pytest.mark.parametrize("p", ["b", "a", "10", "2"])
def test_param(p, request):
    record(request)
