"""``okma-sim validate SCENARIO``: the SMART checks, without simulating."""

from __future__ import annotations

import argparse

from .common import add_json, emit_json, fail


def register(sub) -> None:
    p = sub.add_parser("validate", help="check a scenario file (SMART checks)",
                       description="Check a scenario: keys, types, ranges, metrics, references.")
    p.add_argument("scenario", help="scenario TOML file")
    add_json(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from okma_sim._core.errors import PlanError
    from okma_sim.plan import check_plan, load_plan

    try:
        plan = load_plan(args.scenario, check=False)
        errors, warnings = check_plan(plan)
        errors = [str(e) for e in errors]
    except PlanError as exc:
        errors, warnings = [str(exc)], []
    ok = not errors
    if args.json:
        emit_json({"scenario": args.scenario, "ok": ok, "errors": errors, "warnings": warnings})
    else:
        for w in warnings:
            print(f"warning: {w}")
        if ok:
            print(f"{args.scenario}: ok")
    if not ok:
        return fail(errors[0])
    return 0
