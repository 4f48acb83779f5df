from helpers import wait_forever


def test_sleep():
    wait_forever()  # AT-SLEEP-CALL
