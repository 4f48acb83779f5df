def test_fixture_setup(hog_setup):
    pass
