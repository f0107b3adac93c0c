"""``okma-sim target [SCENARIO] --confidence C``: the target achievable at a confidence, for
every objective and key result, beside the probability of the current target; with
``--joint``, one target per objective such that all of them hold together with probability C."""

from __future__ import annotations

import argparse

from .common import (add_extrapolation, add_json, add_sim_options, check_output_path,
                     emit_json, emit_result, envelope, executor_from_args, load_scenario,
                     nonempty, probability_arg, sim_kwargs)


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
    p.add_argument("--joint", action="store_true",
                   help="one target per objective, such that all of them hold together with "
                        "probability C (checked on fresh simulated runs)")
    p.add_argument("--weights", default=None, metavar="id=w,...",
                   help="with --joint: a larger weight makes that objective's target more "
                        "ambitious (default 1 each), e.g. revenue=2,csat=1")
    p.add_argument("--figure", type=nonempty, default=None, metavar="FILE.png",
                   help="with --joint: P(all objectives met) as a heat map over the first two "
                        "objectives' targets, with the C contour")
    p.add_argument("--force", action="store_true", help="overwrite an existing --figure")
    add_sim_options(p)
    add_json(p)
    p.set_defaults(func=run)


def parse_weights(text: str, plan) -> dict[str, float]:
    """``--weights revenue=2,csat=1`` as objective id -> positive weight (one-line errors
    naming the flag and the bad part)."""
    import math

    from okma_sim._core.errors import OkmaError
    from okma_sim.analysis import check_weights
    out: dict[str, float] = {}
    for part in text.split(","):
        name, eq, value = part.partition("=")
        name = name.strip()
        try:
            w = float(value)
        except ValueError:
            w = math.nan
        if not eq or not name or not math.isfinite(w):
            raise OkmaError("must be objective=weight pairs separated by commas, e.g. "
                            "revenue=2,csat=1", key="--weights", value=part.strip())
        if name in out:
            raise OkmaError("objective listed twice", key="--weights", value=name)
        if w <= 0:
            raise OkmaError("a weight must be a positive number", key="--weights",
                            value=part.strip())
        out[name] = w
    return check_weights(plan, out, key="--weights")


def _joint_options(args: argparse.Namespace, plan, path: str):
    """Check the options that go with (or not with) --joint; returns the weights."""
    from okma_sim._core.errors import OkmaError
    if not args.joint:
        for flag, v in (("--weights", args.weights), ("--figure", args.figure)):
            if v is not None:
                raise OkmaError("applies only with --joint", key=flag, value=v)
        return None
    for flag, v in (("--curve", args.curve or None), ("--tolerance", args.tolerance)):
        if v is not None:
            raise OkmaError("does not apply with --joint", key=flag, value=v)
    if args.figure is not None:
        if len(plan.objectives) < 2:
            raise OkmaError("the heat map needs two objectives; the scenario has one",
                            key="--figure", value=args.figure)
        check_output_path(args.figure, args.force, "--figure", inputs=[("scenario", path)])
    return parse_weights(args.weights, plan) if args.weights is not None else None


def run_joint(args: argparse.Namespace, plan, path: str, sha: str, weights) -> int:
    """``target --joint``: the joint targets, their check on fresh runs, the heat map."""
    from okma_sim.analysis import joint_targets
    from okma_sim.plan import extrapolation

    kw = sim_kwargs(args, plan)
    with executor_from_args(args) as ex:
        jt = joint_targets(plan, confidence=args.confidence, weights=weights,
                           n_paths=kw["n_paths"], seed=kw["seed"], progress=kw["progress"],
                           sampler=kw.get("sampler"), executor=ex)
    doc = envelope(path, sha, jt.n_paths, jt.seed, list(jt.warnings))
    extra = add_extrapolation(doc, extrapolation(plan))
    doc.update(jt.to_dict())
    written = []
    if args.figure is not None:
        import matplotlib
        matplotlib.use("Agg")

        from okma_sim.viz import joint_heatmap, save_png
        ax = joint_heatmap(jt)
        written.append(save_png(ax.figure, args.figure, overwrite=args.force, dpi=120,
                                bbox_inches="tight"))
    return emit_result(args, doc, "\n".join([jt.text(), *extra]), written)


def run(args: argparse.Namespace) -> int:
    import okma_sim
    from okma_sim._core.errors import OkmaError
    from okma_sim.plan import extrapolation
    from okma_sim._core.formatting import format_estimate
    from okma_sim.results import (achievability_curve, achievable_targets, level_text,
                                  metric_name)

    plan, path, sha = load_scenario(args.scenario)
    ids = [t.id for t in plan.targets]
    for cid in args.curve:
        if cid not in ids:
            raise OkmaError(f"no objective or key result has this id; ids: {', '.join(ids)}",
                            key="--curve", value=cid)
    if not 2 <= args.points <= 1000:
        raise OkmaError("must lie in [2, 1000]", key="--points", value=args.points)
    weights = _joint_options(args, plan, path)
    if args.joint:
        return run_joint(args, plan, path, sha, weights)
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
    print(_table(res, tab, args.confidence))
    for cid, c in curves.items():
        t = plan.target(cid)
        print()
        print(f"How likely each level of {metric_name(t.metric)} is:")
        for _, r in c.iterrows():
            print(f"  {level_text(t, r['target'], plan):<34}"
                  f"{format_estimate(r['probability'], r['stderr'])}")
    for w in res.warnings:
        print(f"warning: {w}")
    for line in extra:
        print(line)
    return 0


def _table(res, tab, confidence: float) -> str:
    """The achievable targets in words: each target now and its chance, beside the most
    ambitious level met in at least ``confidence`` of the simulated runs and its chance."""
    from okma_sim._core.formatting import format_estimate, format_percent
    from okma_sim.results import level_text, target_name
    plan = res.plan
    lines = [f"{plan.name}: the most ambitious targets met in at least "
             f"{format_percent(confidence)} of {res.n_paths:,} simulated runs (seed {res.seed})",
             ""]
    head = (f"{'':3}{'objective / key result':<44}{'target now':<26}{'chance':>13}   "
            f"{'achievable':<26}{'chance':>13}")
    lines += [head, "-" * len(head)]
    for _, r in tab.iterrows():
        t = plan.target(r["id"])
        tag = "O  " if r["kind"] == "objective" else "KR "
        name = target_name(t, plan)
        name = name if len(name) <= 42 else name[:41] + "…"
        lines.append(f"{tag}{name:<44}{level_text(t, r['target'], plan):<26}"
                     f"{format_estimate(r['probability'], r['stderr']):>13}   "
                     f"{level_text(t, r['achievable_target'], plan):<26}"
                     f"{format_estimate(r['achievable_probability'], r['achievable_stderr']):>13}")
    lines.append("-" * len(head))
    lines.append("(each target on its own: set together they hold less often; "
                 "`okma-sim target --joint` gives targets that hold together)")
    return "\n".join(lines)
