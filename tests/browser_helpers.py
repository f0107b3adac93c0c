"""Debian's Chromium for the real-browser tests (the dashboard under Voila, the report's HTML
file): where it is, how it is launched, and what a missing browser gets (a skip with the
install hint, or a failure under OKMA_REQUIRE_BROWSER=1, as .ci/run sets)."""

from __future__ import annotations

import os

import pytest

CHROMIUM = os.environ.get("OKMA_CHROMIUM", "/usr/bin/chromium")  # Debian's Chromium
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]


def unavailable(reason: str) -> None:
    """Skip (or, under OKMA_REQUIRE_BROWSER=1, fail) a test that has no browser to run."""
    hint = (f"{reason}. Install Debian's Chromium with `apt-get install -y chromium` "
            f"(do not run `playwright install`).")
    if os.environ.get("OKMA_REQUIRE_BROWSER") == "1":
        pytest.fail(f"OKMA_REQUIRE_BROWSER=1 but {hint}", pytrace=False)
    pytest.skip(hint)
