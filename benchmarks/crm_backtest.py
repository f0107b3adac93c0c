"""Forecast skill by horizon (issue 13's target): the rolling backtest on the CRM export and
on the bundled rep-month history, scored at each step after the cutoff.

    python benchmarks/crm_backtest.py [--paths 2000] [--seed 1] [--horizon 3]
                                      [--out FILE.md [--force]]

For each history it runs ``rolling_backtest`` (every feasible cutoff, ``--horizon`` months
ahead) and prints a markdown table with one row per metric and step (months after the cutoff):
the metric-months compared (n), how many of them fell inside the forecast's central 50 / 80 /
95% ranges (k/n), the mean CRPS of the forecast and of the naive baseline (the trailing mean
with its empirical spread), and the skill 1 - CRPS / naive CRPS. The issue's target is a skill
of at least 0.10 for CRM revenue and wins at every step 1 to 3.

A second table gives each horizon's own rolling backtest (``--horizon`` 1, 2, ... each with
every cutoff it allows, all its steps pooled), the way the issue's "today" figures and
docs/calibration.md's CRM table were measured. Its horizon-1 row has more cutoffs than step 1
of the first table (the last months of the export are forecast only one month ahead there).

``--out`` writes the same markdown to a file (through a temporary file and a rename).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import okma_sim
from okma_sim._core.files import atomic_write
from okma_sim._core.formatting import format_number
from okma_sim.inference import load_history, rolling_backtest

ROOT = Path(__file__).resolve().parents[1]
#: (title, path, format) of each history
HISTORIES = (("CRM export", ROOT / "data" / "crm_sales_opportunities", "opportunities"),
             ("sales_history.csv", ROOT / "data" / "sales_history.csv", "rep-month"))
LEVELS = ("50", "80", "95")


def _skill(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{x:+.2f}"


def _by_step_table(doc: dict) -> list[str]:
    """One row per metric and step of a rolling backtest's ``by_step``."""
    rows = ["| metric | step | n | 50% | 80% | 95% | CRPS | naive CRPS | skill |",
            "|---|---|---|---|---|---|---|---|---|"]
    metrics = list(dict.fromkeys(e["metric"] for e in doc["metrics"]))
    for m in metrics:
        for step, sc in doc["by_step"].items():
            n = sum(1 for e in doc["metrics"] if e["metric"] == m and e["step"] == int(step))
            cov = sc["coverage_by_metric"][m]
            held = " | ".join(f"{round(cov[L] * n)}/{n}" for L in LEVELS)
            rows.append(f"| {m} | {step} | {n} | {held} | {format_number(sc['crps'][m])} | "
                        f"{format_number(sc['baseline_crps'][m])} | "
                        f"{_skill(sc['crps_skill'][m])} |")
    return rows


def _pooled_row(h: int, doc: dict, m: str) -> str:
    n = sum(1 for e in doc["metrics"] if e["metric"] == m)
    cov = doc["coverage_by_metric"][m]
    held = " | ".join(f"{round(cov[L] * n)}/{n}" for L in LEVELS)
    return (f"| {m} | {h} | {doc['cutoffs'][0]} to {doc['cutoffs'][-1]} | {n} | {held} | "
            f"{format_number(doc['crps'][m])} | {format_number(doc['baseline_crps'][m])} | "
            f"{_skill(doc['crps_skill'][m])} |")


def report(paths: int, seed: int, horizon: int) -> str:
    """The benchmark's markdown."""
    t0 = time.perf_counter()
    out = ["# Rolling backtest by horizon", "",
           f"okma_sim {okma_sim.__version__}, {paths:,} paths, seed {seed}, horizon {horizon}; "
           "k/n: metric-months whose actual fell inside the forecast's central range; "
           "skill = 1 - CRPS / naive CRPS (naive: the trailing mean with its spread)."]
    for title, path, fmt in HISTORIES:
        hist = load_history(path, fmt)
        doc = rolling_backtest(hist, horizon, fmt=fmt, n_paths=paths, seed=seed).to_json_dict()
        out += ["", f"## {title}: steps 1 to {horizon} of the horizon-{horizon} backtest "
                f"({len(doc['cutoffs'])} cutoffs, {doc['cutoffs'][0]} to {doc['cutoffs'][-1]})",
                ""]
        out += _by_step_table(doc)
        pooled = {horizon: doc}
        for h in range(1, horizon):
            pooled[h] = rolling_backtest(hist, h, fmt=fmt, n_paths=paths,
                                         seed=seed).to_json_dict()
        out += ["", f"## {title}: each horizon's own rolling backtest, steps pooled", "",
                "| metric | horizon | cutoffs | n | 50% | 80% | 95% | CRPS | naive CRPS | "
                "skill |", "|---|---|---|---|---|---|---|---|---|---|"]
        for m in doc["crps"]:
            out += [_pooled_row(h, pooled[h], m) for h in sorted(pooled)]
    out += ["", f"({time.perf_counter() - t0:.0f} s)"]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", type=int, default=2000, help="paths per forecast (2000)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the backtests (1)")
    ap.add_argument("--horizon", type=int, default=3, help="months ahead (3)")
    ap.add_argument("--out", type=Path, default=None, help="also write the markdown here")
    ap.add_argument("--force", action="store_true", help="replace an existing --out file")
    args = ap.parse_args(argv)
    text = report(args.paths, args.seed, args.horizon)
    print(text, end="")
    if args.out is not None:
        atomic_write(args.out, text, overwrite=args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
