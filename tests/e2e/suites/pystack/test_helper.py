from conftest import LIMIT
from helpers import hog


def test_helper():
    hog(LIMIT)  # AT-HELPER-CALL
