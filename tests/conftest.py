import os, pytest

def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: minutes-long checks, run with `make test-slow`')

def pytest_collection_modifyitems(config, items):
    if 'slow' in os.environ.get('RLHF_T2I_TEST_FLAGS', '').split(): return
    skip = pytest.mark.skip(reason='slow: run with `make test-slow`')
    for item in items:
        if 'slow' in item.keywords: item.add_marker(skip)
