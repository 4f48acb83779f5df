def pytest_configure(config):
    # Registered, so pytest does not warn about an unknown mark.
    config.addinivalue_line("markers", "memory_intensive: needs a lot of memory")
