"""``okma-sim sweep SCENARIO... [--grid lever=v1,v2,...]... --out results.csv``: every scenario
at every grid point, one CSV row per run, resumable."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from .common import add_sim_options, check_output_path, executor_from_args, reword_help


def register(sub) -> None:
    p = sub.add_parser(
        "sweep", help="run scenarios over a grid of lever levels (resumable, Dask-ready)",
        description="Run every SCENARIO at every point of the --grid. One row per run, in a "
                    "fixed order, with P(all objectives met) and P(each objective met) and "
                    "their standard errors. Each row's seed derives from --seed and the row "
                    "(scenario SHA-256 and grid values), so rows do not depend on each other. "
                    "The CSV is rewritten atomically after every finished row; --resume "
                    "finishes an interrupted sweep.")
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO", help="scenario TOML files")
    p.add_argument("--grid", action="append", default=[], metavar="LEVER=V1,V2,...",
                   help="lever levels to try (repeat for more levers; the last varies "
                        "fastest)")
    add_sim_options(p, adaptive=False)
    reword_help(p, "seed", "base seed; each row's seed derives from it (default 0)")
    p.add_argument("--out", required=True, metavar="RESULTS.csv", help="results CSV")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--resume", action="store_true",
                   help="keep the finished rows of --out and run the rest")
    g.add_argument("--force", action="store_true", help="replace an existing --out")
    p.add_argument("--common-random-numbers", action="store_true",
                   help="share random draws across the grid points of each scenario")
    p.set_defaults(func=run, counts_steps=True)


def parse_grid(items: list[str]) -> dict[str, list[float]]:
    """``["lever=1,2", ...]`` -> ``{"lever": [1.0, 2.0]}``; raises OkmaError naming the item."""
    from okma_sim._core.errors import OkmaError
    grid: dict[str, list[float]] = {}
    for item in items:
        lever, sep, text = item.partition("=")
        lever = lever.strip()
        if not sep or not lever:
            raise OkmaError("expected LEVER=V1,V2,...", key="--grid", value=item)
        if lever in grid:
            raise OkmaError("lever given twice", key="--grid", value=lever)
        values = []
        for t in text.split(","):
            try:
                v = float(t.replace("_", ""))
            except ValueError:
                raise OkmaError("values must be numbers", key=f"--grid {lever}",
                                value=t) from None
            if not math.isfinite(v):
                raise OkmaError("values must be finite numbers", key=f"--grid {lever}",
                                value=t)
            values.append(v)
        grid[lever] = values
    return grid


def run(args: argparse.Namespace) -> int:
    import sys

    from okma_sim.analysis import sweep, sweep_rows
    from okma_sim.plan import load_plan, unit_warnings

    grid = parse_grid(args.grid)
    seed = 0 if args.seed is None else args.seed
    # validate scenarios, levers, values and --out before starting any cluster
    rows = sweep_rows(args.scenarios, grid, seed=seed, n_paths=args.paths,
                      common_random_numbers=args.common_random_numbers)
    out = check_output_path(args.out, args.force or args.resume, "--out",
                            inputs=[("SCENARIO", s) for s in args.scenarios],
                            hint="pass --resume to finish that sweep or --force to replace it")
    from okma_sim.engine import check_memory
    for r in {r.scenario: r for r in rows}.values():  # the paths and team of each scenario
        check_memory(r.plan, r.paths, keep_monthly=(), workers=args.workers or 0,
                     paths_key="--paths" if args.paths else f"{r.scenario}: simulation.paths")
    show = not args.no_progress and sys.stderr.isatty()
    with executor_from_args(args) as ex:
        df = sweep(args.scenarios, grid, n_paths=args.paths, seed=seed, sampler=args.sampler,
                   executor=ex, out=out, resume=args.resume, force=args.force, progress=show,
                   common_random_numbers=args.common_random_numbers, rows=rows)
    if len(df) <= 40:
        print(_readable(df, list(grid)))
    for scenario in args.scenarios:  # validate's unit warnings, as every simulation repeats
        for w in unit_warnings(load_plan(scenario)):
            print(f"warning: {scenario}: {w}")
    print(f"wrote {len(df)} rows to {out}")
    return 0


def _readable(df, levers: list[str]) -> str:
    """The sweep's rows for people: the scenario file's name, the grid's levels, the simulated
    runs, and each chance in % with its standard error (the CSV keeps the exact fractions)."""
    import pandas as pd

    from okma_sim._core.formatting import format_estimate
    out = pd.DataFrame({"scenario": [Path(s).name for s in df["scenario"]]})
    for lever in levers:
        out[lever] = [f"{v:g}" for v in df[lever]]
    out["simulated runs"] = [f"{int(n):,}" for n in df["paths"]]
    for c in df.columns:
        if c.endswith("_stderr") and c[:-7] in df.columns:
            name = "all objectives" if c[:-7] == "all_met" else c[:-7]
            out[name] = [format_estimate(p, se)
                         for p, se in zip(df[c[:-7]], df[c])]
    return out.to_string(index=False)
