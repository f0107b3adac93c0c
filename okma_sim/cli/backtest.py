"""``okma-sim backtest HISTORY --cutoff YYYY-MM``: fit on the history up to the cutoff,
forecast the next months with what was recorded for them, and score the forecast (actual vs
p05/p50/p95 and PIT per metric and month, coverage of the 50/80/95% intervals, CRPS against a
naive trailing-mean baseline). ``--rolling`` repeats it at every feasible cutoff."""

from __future__ import annotations

import argparse

from .calibrate import add_history_options, parse_columns
from .common import (add_dask_options, add_json, add_unit_warnings, check_paths_memory,
                     emit_json, envelope, executor_from_args, load_scenario, positive_int,
                     seed_int, sha256_file)


def register(sub) -> None:
    p = sub.add_parser("backtest", help="forecast held-out months and score the forecast",
                       description="Fit on the history up to --cutoff, simulate the next "
                                   "--horizon months with the recorded roster and effort, and "
                                   "compare with what happened.")
    add_history_options(p)
    p.add_argument("--cutoff", default=None, metavar="YYYY-MM",
                   help="last month the fit sees (with --rolling: the first cutoff; default "
                        "the first feasible one)")
    p.add_argument("--horizon", type=positive_int, default=3,
                   help="months forecast after the cutoff (default 3)")
    p.add_argument("--rolling", action="store_true",
                   help="repeat at every feasible cutoff and pool the scores")
    p.add_argument("--min-train", type=positive_int, default=None, metavar="M",
                   help="--rolling: fitted months needed before the first cutoff (default 6 "
                        "for rep-month, 3 for opportunity exports)")
    p.add_argument("--paths", type=positive_int, default=2000,
                   help="Monte Carlo paths per forecast (default 2000)")
    p.add_argument("--seed", type=seed_int, default=None,
                   help="random seed (default: the plan's, else fresh entropy, reported)")
    p.add_argument("--sampler", choices=("mc", "lhs", "sobol"), default="mc",
                   help="how parameter values are drawn for the paths (default mc)")
    add_dask_options(p)
    p.add_argument("--no-progress", action="store_true", help="no progress line on the terminal")
    add_json(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from okma_sim._core.errors import OkmaError
    from okma_sim.inference import backtest, rolling_backtest
    from okma_sim.inference import load_history
    from okma_sim._core.seeds import normalize_seed

    if not args.rolling and args.min_train is not None:
        raise OkmaError("applies only with --rolling", key="--min-train", value=args.min_train)
    plan, plan_path, sha = load_scenario(args.plan)
    hist = load_history(args.history, args.fmt, columns=parse_columns(args.columns))
    check_paths_memory(args, plan, **{"--paths": args.paths})
    seed = args.seed if args.seed is not None else plan.simulation.seed
    if seed is None:
        seed = normalize_seed(None)
    kw = dict(fmt=args.fmt, plan=plan, n_paths=args.paths, seed=seed, by=args.by,
              sampler=args.sampler)
    if not args.rolling and args.cutoff is None:
        raise OkmaError("--cutoff is required (or pass --rolling)", key="--cutoff", value=None)
    with executor_from_args(args) as ex:
        if args.rolling:
            res = rolling_backtest(hist, args.horizon, first_cutoff=args.cutoff,
                                   min_train=args.min_train, executor=ex, **kw)
        else:
            res = backtest(hist, args.cutoff, args.horizon, executor=ex, **kw)
    if args.json:
        doc = envelope(plan_path, sha, args.paths, seed, list(res.warnings))
        src = hist.attrs.get("source") or args.history
        doc.update({"history": str(src), "history_sha256": sha256_file(src),
                    "format": args.fmt, "sampler": args.sampler})
        doc.update(res.to_json_dict())
        add_unit_warnings(doc, plan)
        emit_json(doc)
    else:
        print("\n".join([res.table(), *add_unit_warnings({"warnings": list(res.warnings)},
                                                          plan)]))
    return 0
