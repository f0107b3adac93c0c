"""``okma-sim target [SCENARIO] --confidence C``: the target achievable at a confidence, for
every objective and key result, beside the probability of the current target."""

from __future__ import annotations

import argparse

from .common import (add_extrapolation, add_json, add_sim_options, emit_json, envelope,
                     executor_from_args, load_scenario, probability_arg, sim_kwargs)


def register(sub) -> None:
    p = sub.add_parser("target", help="targets achievable at a confidence",
                       description="Simulate a scenario and give, for every objective and key "
                                   "result, the most ambitious target met with probability at "
                                   "least C, beside P(current target).")
    p.add_argument("scenario", nargs="?", default=None, help="scenario TOML file")
    p.add_argument("--confidence", type=probability_arg, default=0.8, metavar="C",
                   help="confidence in (0, 1) (default 0.8)")
    p.add_argument("--curve", action="append", default=[], metavar="ID",
                   help="also give the achievability curve of this objective or key result "
                        "(repeatable)")
    p.add_argument("--points", type=int, default=41, metavar="N",
                   help="target levels of each curve (default 41)")
    add_sim_options(p)
    add_json(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import okma_sim
    from okma_sim._core.errors import OkmaError
    from okma_sim.plan import extrapolation
    from okma_sim.results import achievability_curve, achievable_targets

    plan, path, sha = load_scenario(args.scenario)
    ids = [t.id for t in plan.targets]
    for cid in args.curve:
        if cid not in ids:
            raise OkmaError(f"no objective or key result has this id; ids: {', '.join(ids)}",
                            key="--curve", value=cid)
    if not 2 <= args.points <= 1000:
        raise OkmaError("must lie in [2, 1000]", key="--points", value=args.points)
    kw = sim_kwargs(args, plan)
    with executor_from_args(args) as ex:
        res = okma_sim.simulate(plan, executor=ex, **kw)
    tab = achievable_targets(res, args.confidence)
    curves = {cid: achievability_curve(res, cid, n_points=args.points) for cid in args.curve}
    doc = envelope(path, sha, res.n_paths, res.seed, list(res.warnings))
    extra = add_extrapolation(doc, extrapolation(plan))
    if args.json:
        doc["confidence"] = args.confidence

        def entry(r) -> dict:
            d = {"id": r["id"]}
            if r["kind"] == "key_result":
                d["objective"] = r["objective"]
            d.update({k: r[k] for k in ("metric", "aggregate", "comparison")})
            d.update({k: float(r[k]) for k in ("target", "probability", "stderr",
                                               "achievable_target")})
            d["achievable_probability"] = float(r["achievable_probability"])
            d["achievable_stderr"] = float(r["achievable_stderr"])
            return d

        doc["objectives"] = [entry(r) for _, r in tab.iterrows() if r["kind"] == "objective"]
        doc["key_results"] = [entry(r) for _, r in tab.iterrows() if r["kind"] == "key_result"]
        doc["all_met"] = res.all_met().to_dict()
        doc["sampler"] = res.sampler
        if "adaptive" in res.extra:
            doc["adaptive"] = dict(res.extra["adaptive"])
        if curves:
            doc["curves"] = {cid: c[["target", "probability", "stderr", "current"]]
                             .to_dict(orient="records") for cid, c in curves.items()}
        emit_json(doc)
        return 0
    print(f"{plan.name}: targets achievable with probability >= {args.confidence:g} "
          f"({res.n_paths:,} paths, seed {res.seed}, sampler {res.sampler})")
    print()
    head = (f"{'':3}{'id':<22}{'metric (aggregate)':<34}{'target':>10}  {'P(target)':>15}"
            f"  {'achievable':>11}  {'P(achievable)':>15}")
    print(head)
    print("-" * len(head))
    for _, r in tab.iterrows():
        tag = "O " if r["kind"] == "objective" else "KR"
        metric = f"{r['metric']} ({r['aggregate']})"
        print(f"{tag:<3}{r['id']:<22}{metric:<34}{r['comparison']:>3}{r['target']:>7.4g}  "
              f"{r['probability']:>7.3f} ± {r['stderr']:.3f}  {r['comparison']:>3}"
              f"{r['achievable_target']:>8.4g}  {r['achievable_probability']:>7.3f} ± "
              f"{r['achievable_stderr']:.3f}")
    for cid, c in curves.items():
        print()
        print(f"achievability curve of {cid}:")
        print(c[["target", "probability", "stderr"]].to_string(index=False))
    for w in res.warnings:
        print(f"warning: {w}")
    for line in extra:
        print(line)
    return 0
