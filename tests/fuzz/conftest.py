"""The fuzzer's fork server (one per test module) and the ``fuzz_long`` marker: the long run
is skipped unless asked for with ``-m fuzz_long``."""

from __future__ import annotations

import pytest

from fuzz_helpers import ForkServer


def pytest_collection_modifyitems(config, items):
    if "fuzz_long" in (config.option.markexpr or ""):
        return
    skip = pytest.mark.skip(reason="the long fuzz run: pytest -m fuzz_long tests/fuzz")
    for item in items:
        if "fuzz_long" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="module")
def server():
    with ForkServer() as s:
        yield s
