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


def coverage_rows(fit, names, truth) -> list[dict]:
    """One row per parameter of a fit: its source, 90% interval and the true value
    (``truth``: name -> value)."""
    rows = []
    for name in names:
        e = fit.entry(name)
        rows.append({"name": name, "source": e.source, "low": e.low90, "high": e.high90,
                     "truth": float(truth[name])})
    return rows


def coverage_summary(rows: list[dict]):
    """Per parameter over the replications: the share of 90% intervals holding the truth,
    the share below it, the mean width and the share fitted (printed for the log)."""
    import pandas as pd

    df = pd.DataFrame(rows)
    df["covered"] = (df["truth"] >= df["low"]) & (df["truth"] <= df["high"])
    df["below"] = df["truth"] < df["low"]
    df["width"] = df["high"] - df["low"]
    summary = df.groupby("name").agg(coverage=("covered", "mean"), below=("below", "mean"),
                                     width=("width", "mean"),
                                     fitted=("source", lambda s: (s == "fitted").mean()))
    print("\n" + summary.to_string())
    return summary
