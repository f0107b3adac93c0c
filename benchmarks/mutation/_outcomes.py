"""A pytest plugin for the coverage pass (``-p _outcomes``): each test phase's outcome and
duration, one JSON line each, to the file named by ``OKMA_MUT_OUTCOMES`` (written by the
controlling process only, which receives every worker's reports)."""

from __future__ import annotations

import json
import os


def pytest_runtest_logreport(report):
    path = os.environ.get("OKMA_MUT_OUTCOMES")
    if not path or os.environ.get("PYTEST_XDIST_WORKER"):
        return
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"test": report.nodeid, "when": report.when, "outcome": report.outcome,
                             "seconds": report.duration}) + "\n")
