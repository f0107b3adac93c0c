"""Shared by the calibration tests: the bundled history's generator
(data/generate_sales_history.py, a script rather than a module) and the priors the recovery
tests draw their true parameters from (``RECOVERY_PRIORS`` of tests/inference/test_calibrate.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_module(name: str, path: Path):
    """Import a file by its path."""
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def generator():
    """data/generate_sales_history.py as a module."""
    return load_module("generate_sales_history", ROOT / "data" / "generate_sales_history.py")


def recovery_priors() -> dict:
    """A copy of the recovery tests' priors."""
    return dict(load_module("test_calibrate_priors", ROOT / "tests" / "inference"
                            / "test_calibrate.py").RECOVERY_PRIORS)
