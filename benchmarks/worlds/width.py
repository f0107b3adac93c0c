"""Intervals no wider than needed (issue 14): on worlds that ``SalesTeamModel`` itself generates,
with a plan inside the history, the calibrated forecast's mean 80% width with the discrepancy
term on should be at most 1.10 times its width with the term off.

For each seed: 24 months of rep-month history from data/generate_sales_history.py (its true
parameters, no discrepancy: the model is the truth here), calibrated with ``okma_sim.calibrate``;
the next 12 months forecast at the history's own actions, once as calibrated (the fitted
discrepancy) and once with ``discrepancy_scale`` pinned to 0, under one seed (common random
numbers); the width of the central 80% interval of the 12 months' revenue and of each month's
new customers.

Run from the repository root::

    python benchmarks/worlds/width.py --seeds 20 --paths 2000 [--out FILE.md]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import okma_sim  # noqa: E402
from okma_sim._core.files import atomic_write  # noqa: E402
from okma_sim.inference import history_from_simulation  # noqa: E402
from okma_sim.params import Distribution  # noqa: E402


def _generator():
    spec = importlib.util.spec_from_file_location(
        "generate_sales_history", ROOT / "data" / "generate_sales_history.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _width80(x: np.ndarray) -> float:
    lo, hi = np.percentile(x, [10, 90])
    return float(hi - lo)


def run_seed(gen, seed: int, paths: int, workdir: Path) -> dict[str, float]:
    """One world: its history, the fit, and the two forecasts' 80% widths."""
    res = okma_sim.simulate(gen.build_plan(months=24), n_paths=1, seed=seed, record_reps=True,
                            progress=False)
    csv = workdir / f"history-{seed}.csv"
    history_from_simulation(res).drop(columns="path").to_csv(csv, index=False)
    plan, fit = okma_sim.calibrate(csv)
    plan = plan.with_actions(**gen.ACTIONS)
    off = plan.replace(parameters={**plan.parameters,
                                   "discrepancy_scale": Distribution("fixed", {"value": 0.0})})
    out = {"seed": seed,
           "scale_p50": float(fit.entry("discrepancy_scale").estimate)}
    for name, p in (("on", plan), ("off", off)):
        r = okma_sim.simulate(p, paths, seed=1000 + seed, progress=False,
                              keep_monthly=["revenue", "new_customers"])
        rev = np.asarray(r.monthly["revenue"], float).sum(1)
        new = np.asarray(r.monthly["new_customers"], float)
        out[f"revenue_{name}"] = _width80(rev)
        out[f"new_{name}"] = float(np.mean([_width80(new[:, j]) for j in range(new.shape[1])]))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--paths", type=int, default=2000)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--force", action="store_true", help="replace an existing --out file")
    args = ap.parse_args(argv)
    if args.out is not None and args.out.exists() and not args.force:
        ap.error(f"{args.out} exists (--force replaces it)")
    gen = _generator()
    t0 = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for s in range(args.seeds):
            rows.append(run_seed(gen, s, args.paths, Path(tmp)))
            print(rows[-1], flush=True)
    lines = [f"Intervals no wider than needed: {args.seeds} worlds of SalesTeamModel itself "
             f"(data/generate_sales_history.py, no discrepancy), {args.paths:,} paths, plan "
             f"at the history's actions; {time.perf_counter() - t0:.0f} s", "",
             "| forecast | mean 80% width, on | off | on / off (target <= 1.10) |",
             "|---|---|---|---|"]
    for key, what in (("revenue", "12 months' revenue (CNY)"),
                      ("new", "new customers in a month")):
        on = np.mean([r[f"{key}_on"] for r in rows])
        off = np.mean([r[f"{key}_off"] for r in rows])
        lines.append(f"| {what} | {on:,.1f} | {off:,.1f} | {on / off:.3f} |")
    scale = np.array([r["scale_p50"] for r in rows])
    lines.append("")
    lines.append(f"Fitted discrepancy scale (its estimate) across the worlds: median "
                 f"{np.nanmedian(scale):.3f}, range {np.nanmin(scale):.3f}-{np.nanmax(scale):.3f}.")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        atomic_write(args.out, text, overwrite=args.force)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
