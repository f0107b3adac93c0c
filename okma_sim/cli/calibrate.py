"""``okma-sim calibrate HISTORY --out FITTED.toml``: fit the model to CRM history and write a
calibrated scenario (fitted parameters, roster and baseline from the history, start month after
it; objectives, key results, levers, actions and management from ``--plan``)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from .common import (add_json, check_output_path, emit_json, envelope, load_scenario, seed_int,
                     sha256_file)

#: groupings of an opportunity export (one "rep" per agent, manager or office)
GROUPINGS = ("sales_agent", "manager", "regional_office")


def add_history_options(p: argparse.ArgumentParser) -> None:
    """Options shared by ``calibrate`` and ``backtest``."""
    p.add_argument("history", help="rep-month history CSV, or an opportunity export "
                   "(a folder with sales_pipeline.csv, or that file)")
    p.add_argument("--format", dest="fmt", choices=("rep-month", "opportunities"),
                   default="rep-month", help="history format (default: rep-month)")
    p.add_argument("--plan", default=None, metavar="PLAN.toml",
                   help="scenario giving priors, objectives, KRs, levers, actions and "
                        "management (default: the bundled case study)")
    p.add_argument("--columns", default=None, metavar="FILE=OURS,...",
                   help="rename the file's columns to ours, e.g. 'Month=month,Rep=rep_id'")
    p.add_argument("--by", choices=GROUPINGS, default="sales_agent",
                   help="opportunity export: what a 'rep' is (default: sales_agent)")


def parse_columns(text: str | None) -> dict[str, str] | None:
    """``'A=a,B=b'`` -> ``{'A': 'a', 'B': 'b'}`` (OkmaError on bad syntax)."""
    from okma_sim._core.errors import OkmaError
    if not text:
        return None
    out: dict[str, str] = {}
    for part in text.split(","):
        if part.count("=") != 1 or not all(x.strip() for x in part.split("=")):
            raise OkmaError("each mapping must read FILE_COLUMN=OUR_COLUMN", key="--columns",
                            value=part)
        a, b = (x.strip() for x in part.split("="))
        out[a] = b
    return out


def register(sub) -> None:
    p = sub.add_parser("calibrate", help="fit the model to CRM history; write a scenario",
                       description="Fit the sales-team model to a rep-month history or an "
                                   "opportunity export and write a calibrated scenario.")
    add_history_options(p)
    p.add_argument("--out", required=True, metavar="FITTED.toml",
                   help="the calibrated scenario to write")
    p.add_argument("--seed", type=seed_int, default=0,
                   help="seed of the deal-value bootstrap (opportunity exports; default 0)")
    p.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    add_json(p)
    p.set_defaults(func=run)


def _inputs(args: argparse.Namespace) -> list[tuple[str, Path]]:
    """The files calibrate reads, which --out must not name: the history (for an opportunity
    export, the pipeline and the side files joined to it) and the plan."""
    import okma_sim
    h = Path(args.history)
    files = [("HISTORY", h)]
    if args.fmt == "opportunities":  # the files load_opportunities reads
        folder = h if os.path.isdir(h) else h.parent
        files += [("HISTORY", folder / name)
                  for name in ("sales_pipeline.csv", "sales_teams.csv", "products.csv")]
    return files + [("--plan", Path(args.plan) if args.plan else okma_sim.case_study_path())]


def _history_error(e, hist, src: str):
    """The error of a fitted scenario that would be invalid, located in the history: a
    baseline month is the team's revenue in one of the history's last 12 months."""
    import re

    from okma_sim._core.errors import OkmaError
    m = re.fullmatch(r"baseline\.monthly_revenue\[(\d+)\]", e.key or "")
    if m and "month" in hist.columns and hist["month"].nunique() >= 12:
        month = sorted(hist["month"].unique())[-12:][int(m.group(1))]
        return OkmaError(f"the team's revenue in {month} becomes the calibrated scenario's "
                         f"{e.key}: {e.message}", file=src,
                         key=f"column revenue, month {month}", value=e.value)
    where = ": ".join(p for p in (e.key, e.message) if p)
    return OkmaError(f"the calibrated scenario would be invalid: {where}", file=src,
                     value=e.value)


def run(args: argparse.Namespace) -> int:
    from okma_sim._core.errors import PlanError
    from okma_sim.inference import fit_history, load_history
    from okma_sim._core.files import atomic_write
    from okma_sim.plan import loads_plan

    out = check_output_path(args.out, args.force, "--out",  # fail before any work
                            inputs=_inputs(args))
    plan, plan_path, sha = load_scenario(args.plan)
    hist = load_history(args.history, args.fmt, columns=parse_columns(args.columns))
    src = hist.attrs.get("source") or args.history
    hist_sha = sha256_file(src)  # now, before --out is written
    fit = fit_history(hist, plan, args.fmt, by=args.by, seed=args.seed)
    fitted = fit.to_plan(plan)
    text = fit.scenario_toml(fitted)  # with the identification report as comments
    # the file must load back as a valid scenario (loads_plan runs the checks) before it is
    # written; the plan passed them, so what fails came from the history
    try:
        loads_plan(text, str(out))
    except PlanError as e:
        raise _history_error(e, hist, str(src)) from None
    atomic_write(out, text, overwrite=args.force)
    if args.json:
        doc = envelope(plan_path, sha, 0, args.seed, list(fit.warnings))
        doc.update({"history": str(src), "history_sha256": hist_sha,
                    "out": str(out)})
        doc.update(fit.to_json_dict())
        emit_json(doc)
    else:
        print(fit.table())
        print(f"wrote {out}")
    return 0
