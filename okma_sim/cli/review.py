"""``okma-sim review SCENARIO --actuals ACTUALS.csv``: the mid-period re-forecast."""

from __future__ import annotations

import argparse

from .common import (add_extrapolation, add_json, add_sim_options, add_unit_warnings,
                     check_output_path, emit_json, envelope, executor_from_args, load_scenario,
                     nonempty, positive_int, probability_arg, sim_kwargs, unit_arg)


def register(sub) -> None:
    p = sub.add_parser(
        "review", help="re-forecast from the actuals so far: P now vs at plan time",
        description="Read the rep-month actuals of the months done (from the scenario's "
                    "start_month, no gaps), update the parameter uncertainty with them, "
                    "simulate the remaining months from the observed state, and report each "
                    "KR's and objective's probability now beside its plan-time value, the "
                    "ones at risk, the reps behind a KR's pace, and the cheapest lever change "
                    "found that restores P(all objectives met). With actuals for the whole "
                    "horizon: the observed verdicts, no simulation.")
    p.add_argument("scenario", nargs="?", default=None,
                   help="scenario TOML file (default: the bundled case study)")
    p.add_argument("--actuals", required=True, metavar="ACTUALS.csv",
                   help="rep-month CSV of the months done so far")
    add_sim_options(p, adaptive=False)
    add_json(p)
    p.add_argument("--risk-threshold", type=unit_arg, default=0.5, metavar="P",
                   help="at risk when P(met) is below this (default 0.5)")
    p.add_argument("--risk-drop", type=unit_arg, default=0.15, metavar="D",
                   help="... or fell by more than this since plan time (default 0.15)")
    p.add_argument("--confidence", type=probability_arg, default=None, metavar="C",
                   help="goal of the recommendation: P(all objectives met) >= C (default: "
                        "its plan-time value)")
    p.add_argument("--no-recommend", action="store_true",
                   help="skip the search for a lever change (the slow part)")
    p.add_argument("--search-paths", type=positive_int, default=2048, metavar="N",
                   help="paths per evaluation of the lever search (default 2048)")
    p.add_argument("--report", type=nonempty, default=None, metavar="FILE.html",
                   help="also write the review as one self-contained HTML report")
    p.add_argument("--force", action="store_true", help="overwrite an existing --report file")
    p.set_defaults(func=run, counts_steps=True)


def run(args: argparse.Namespace) -> int:
    from okma_sim.inference import load_actuals, review

    plan, path, sha = load_scenario(args.scenario)
    act = load_actuals(args.actuals, plan)  # bad actuals fail before any simulation
    report = None if args.report is None else check_output_path(
        args.report, args.force, "--report", inputs=[("scenario", path),
                                                      ("--actuals", args.actuals)])
    kw = sim_kwargs(args, plan)
    with executor_from_args(args) as ex:
        rv = review(plan, act, n_paths=kw["n_paths"], seed=kw["seed"],
                    sampler=kw.get("sampler"), risk_threshold=args.risk_threshold,
                    risk_drop=args.risk_drop, confidence=args.confidence,
                    recommend=not args.no_recommend, search_paths=args.search_paths,
                    executor=ex, progress=False if args.json else kw["progress"])
    doc = envelope(path, sha, rv.n_paths, rv.seed, list(rv.warnings))
    extra = add_unit_warnings(doc, plan) + add_extrapolation(doc, _extrapolation(rv))
    written = []
    if report is not None:
        from okma_sim._core.files import atomic_write
        from okma_sim.report import render_html, review_report
        written.append(str(atomic_write(report, render_html(review_report(rv)),
                                        overwrite=args.force)))
    if args.json:
        doc["actuals"] = str(args.actuals)
        doc.update(rv.to_json_dict())
        doc["outputs"] = written
        emit_json(doc)
    else:
        print("\n".join([rv.table(), *extra, *(f"wrote {w}" for w in written)]))
    return 0


def _extrapolation(rv) -> list:
    """The re-forecast's levers outside the calibration history's range, then the
    recommendation's (none once the actuals cover the horizon: nothing is forecast)."""
    from okma_sim.plan import extrapolation
    if rv.complete:
        return []
    found = extrapolation(rv.plan)
    changed = dict((rv.recommendation or {}).get("actions") or {})
    found += [e for e in extrapolation(rv.plan, changed, context="recommended")
              if e.lever in changed]
    return found
