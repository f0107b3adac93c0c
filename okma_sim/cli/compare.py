"""``okma-sim compare A.toml B.toml [...]``: policies under common random numbers."""

from __future__ import annotations

import argparse

from .common import (add_json, add_sim_options, emit_json, envelope, executor_from_args,
                     load_scenario, sim_kwargs)


def register(sub) -> None:
    p = sub.add_parser(
        "compare", help="compare scenarios (policies) under common random numbers",
        description="Simulate two or more scenarios with the same seed (common random "
                    "numbers) and report P(all objectives met) for each, its difference from "
                    "the first with a paired standard error, each objective's P, and each "
                    "policy's cost (the lever units its run executed x unit_cost + "
                    "expected priced hours and rule costs).")
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO",
                   help="two or more scenario TOML files; the first is the reference")
    add_sim_options(p, adaptive=False)
    add_json(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from okma_sim._core.errors import OkmaError
    from okma_sim.analysis import compare

    if len(args.scenarios) < 2:
        raise OkmaError("compare needs at least two scenarios (the first is the reference)",
                        key="SCENARIO", value=args.scenarios)
    loaded = [load_scenario(s) for s in args.scenarios]
    plans = [lo[0] for lo in loaded]
    kw = sim_kwargs(args, plans[0])
    with executor_from_args(args) as ex:
        cmp = compare(plans, names=[lo[1] for lo in loaded], executor=ex, **kw)
    if args.json:
        warnings = list(cmp.warnings)
        for (_, path, _), r in zip(loaded, cmp.results):
            warnings += [f"{path}: {w}" for w in r.warnings]
        doc = envelope(loaded[0][1], loaded[0][2], cmp.n_paths, cmp.seed, warnings)
        body = cmp.to_json_dict()
        for entry, (_, _, sha) in zip(body["scenarios"], loaded):
            entry["scenario_sha256"] = sha
        doc.update(body)
        emit_json(doc)
    else:
        print(cmp.table())
    return 0
