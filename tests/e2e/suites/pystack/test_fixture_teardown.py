def test_fixture_teardown(hog_teardown):
    pass
