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

Each history also gets the same two tables for its agent-months (``agent_months``: every rep,
or the export's ``sales_agent``, in each month they worked after a cutoff, against the seat
standing for them and their own trailing months), the level issue 14's bands apply to.

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


def _by_step_table(summary: dict, entries: list[dict]) -> list[str]:
    """One row per metric and step of a rolling backtest's ``by_step`` (``summary``: the JSON
    document, or its ``agent_months``; ``entries``: the metric-months or agent-months)."""
    rows = ["| metric | step | n | 50% | 80% | 95% | CRPS | naive CRPS | skill |",
            "|---|---|---|---|---|---|---|---|---|"]
    for m in summary["crps"]:
        for step, sc in summary["by_step"].items():
            n = sum(1 for e in entries if e["metric"] == m and e["step"] == int(step))
            cov = sc["coverage_by_metric"][m]
            held = " | ".join(f"{round(cov[L] * n)}/{n}" for L in LEVELS)
            rows.append(f"| {m} | {step} | {n} | {held} | {format_number(sc['crps'][m])} | "
                        f"{format_number(sc['baseline_crps'][m])} | "
                        f"{_skill(sc['crps_skill'][m])} |")
    return rows


def _pooled_row(h: int, summary: dict, entries: list[dict], cutoffs: list[str], m: str) -> str:
    n = sum(1 for e in entries if e["metric"] == m)
    cov = summary["coverage_by_metric"][m]
    held = " | ".join(f"{round(cov[L] * n)}/{n}" for L in LEVELS)
    return (f"| {m} | {h} | {cutoffs[0]} to {cutoffs[-1]} | {n} | {held} | "
            f"{format_number(summary['crps'][m])} | "
            f"{format_number(summary['baseline_crps'][m])} | {_skill(summary['crps_skill'][m])} |")


def _tables(title: str, level: str, horizon: int, res: dict) -> list[str]:
    """The by-step table of the ``horizon`` backtest and the pooled table of each horizon's
    own backtest (``res``: horizon -> BacktestResult), at the team or the agent level."""
    agent = level != "team"
    docs = {h: r.to_json_dict() for h, r in res.items()}
    summ = {h: d["agent_months"] if agent else d for h, d in docs.items()}
    ents = {h: r.agent_entries if agent else r.entries for h, r in res.items()}
    cut = docs[horizon]["cutoffs"]
    what = f"{'rep' if level == 'rep_id' else level}-months" if agent else "team months"
    out = ["", f"## {title}, {what}: steps 1 to {horizon} of the horizon-{horizon} backtest "
           f"({len(cut)} cutoffs, {cut[0]} to {cut[-1]})", ""]
    out += _by_step_table(summ[horizon], ents[horizon])
    out += ["", f"## {title}, {what}: each horizon's own rolling backtest, steps pooled", "",
            "| metric | horizon | cutoffs | n | 50% | 80% | 95% | CRPS | naive CRPS | "
            "skill |", "|---|---|---|---|---|---|---|---|---|---|"]
    for m in summ[horizon]["crps"]:
        out += [_pooled_row(h, summ[h], ents[h], docs[h]["cutoffs"], m) for h in sorted(res)]
    return out


def report(paths: int, seed: int, horizon: int) -> str:
    """The benchmark's markdown."""
    t0 = time.perf_counter()
    out = ["# Rolling backtest by horizon", "",
           f"okma_sim {okma_sim.__version__}, {paths:,} paths, seed {seed}, horizon {horizon}; "
           "k/n: metric-months whose actual fell inside the forecast's central range; "
           "skill = 1 - CRPS / naive CRPS (naive: the trailing mean with its spread)."]
    for title, path, fmt in HISTORIES:
        hist = load_history(path, fmt)
        res = {h: rolling_backtest(hist, h, fmt=fmt, n_paths=paths, seed=seed)
               for h in range(1, horizon + 1)}
        out += _tables(title, "team", horizon, res)
        out += _tables(title, res[horizon].agent_level, horizon, res)
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
