"""``okma-sim sensitivity [SCENARIO]``: tornado (p10/p90 swings), Sobol' indices of each
objective metric, and KR importance; with ``--levers``, what each lever a manager controls
changes, from its low to its high bound."""

from __future__ import annotations

import argparse

from .common import (add_json, add_sim_options, check_output_path, check_paths_memory,
                     emit_result, envelope, executor_from_args, load_scenario, nonempty,
                     reword_help)

#: paths of the base run and of each tornado run unless --paths is given
DEFAULT_PATHS = 2000


def register(sub) -> None:
    p = sub.add_parser("sensitivity", help="tornado, Sobol' indices and KR importance",
                       description="Which uncertain parameters and which key results drive "
                                   "P(all objectives met).")
    p.add_argument("scenario", nargs="?", default=None, help="scenario TOML file")
    p.add_argument("--sobol-n", type=int, default=512, metavar="N",
                   help="rows of each Sobol' design matrix, a power of 2 (0 skips; default "
                        "512; the model runs (parameters + 3) x N paths)")
    p.add_argument("--parameters", default=None, metavar="a,b,...",
                   help="tornado only these uncertain parameters")
    # a bare --levers is True (every lever with bounds), not "": an empty value, e.g. an unset
    # shell variable, is an error as for `solve --levers`, not a silent "every lever"
    p.add_argument("--levers", nargs="?", const=True, default=None, metavar="a,b,...",
                   help="also move each lever (default: every lever with bounds, new_reps "
                        "included) from its low to its high bound alone, on the same simulated "
                        "runs: the chance of each objective and the cost at each end")
    p.add_argument("--figure", type=nonempty, metavar="FILE.png", default=None,
                   help="write the tornado chart")
    p.add_argument("--force", action="store_true", help="overwrite an existing --figure")
    add_sim_options(p, adaptive=False)
    reword_help(p, "paths",
                f"paths of the base run and of each tornado run (default {DEFAULT_PATHS})")
    add_json(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from okma_sim._core.errors import OkmaError
    from okma_sim.analysis import sensitivity

    plan, path, sha = load_scenario(args.scenario)
    n = args.sobol_n
    if n != 0 and (n < 4 or n & (n - 1)):
        raise OkmaError("must be 0 or a power of 2 (at least 4)", key="--sobol-n", value=n)
    params = None if args.parameters is None else [s.strip() for s in
                                                    args.parameters.split(",")]
    if params is not None:
        from okma_sim.analysis import uncertain_parameters
        unc = uncertain_parameters(plan)
        for k in params:
            if k not in unc:
                raise OkmaError(f"not an uncertain parameter of this scenario; uncertain: "
                                f"{', '.join(unc)}", key="--parameters", value=k)
        if len(set(params)) != len(params):
            dup = next(k for k in params if params.count(k) > 1)
            raise OkmaError("parameter listed twice", key="--parameters", value=dup)
    levers = _lever_names(args.levers, plan)
    if args.figure is not None:
        check_output_path(args.figure, args.force, "--figure", inputs=[("scenario", path)])
    check_paths_memory(args, plan, **{"--paths": args.paths or DEFAULT_PATHS})
    with executor_from_args(args) as ex:
        s = sensitivity(plan, args.paths or DEFAULT_PATHS, args.seed, sampler=args.sampler,
                        sobol_n=n, tornado_parameters=params, executor=ex)
        le = None
        if args.levers is not None:
            from okma_sim.analysis import lever_effects
            le = lever_effects(plan, levers=levers, n_paths=s.n_paths, seed=s.seed,
                               sampler=args.sampler, executor=ex,
                               progress=False if args.no_progress or args.json else None)
    written = []
    if args.figure is not None:
        import matplotlib
        matplotlib.use("Agg")

        from okma_sim.viz import save_png
        ax = s.plot_tornado()
        written.append(save_png(ax.figure, args.figure, overwrite=args.force, dpi=120,
                                bbox_inches="tight"))
    doc = envelope(path, sha, s.n_paths, s.seed, list(s.warnings))
    doc.update(s.to_json_dict())
    text = s.table()
    if le is not None:
        doc["levers"] = le.to_dict()
        doc["warnings"] += [w for w in le.warnings if w not in doc["warnings"]]
        text += "\n\n" + le.text()
    return emit_result(args, doc, text, written)


def _lever_names(text: str | bool | None, plan) -> list[str] | None:
    """``--levers``: the lever names (every lever with bounds for a bare flag, True), checked
    before anything runs; None without the flag."""
    if text is None:
        return None
    from okma_sim.analysis import solver_levers
    from okma_sim.models import get_model
    return solver_levers(plan, get_model(plan.model), None if text is True else text.split(","),
                         "--levers")
