"""``okma-sim check [SCENARIO]``: P(each KR, each objective, all) with standard errors."""

from __future__ import annotations

import argparse

from .common import (add_json, add_sim_options, check_output_folder, check_output_path,
                     emit_result, envelope, executor_from_args, load_scenario, nonempty,
                     sim_kwargs)


def register(sub) -> None:
    p = sub.add_parser("check", help="probability of meeting each KR, objective and all",
                       description="Simulate a scenario (default: the bundled case study) and "
                                   "print its achievability table.")
    p.add_argument("scenario", nargs="?", default=None, help="scenario TOML file")
    add_sim_options(p)
    add_json(p)
    p.add_argument("--figures", type=nonempty, metavar="DIR", default=None,
                   help="write fan_chart.png and probabilities.png into DIR")
    p.add_argument("--export", type=nonempty, metavar="FILE.csv", default=None,
                   help="write the per-path table of aggregates as CSV")
    p.add_argument("--force", action="store_true", help="overwrite existing output files")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import okma_sim
    from okma_sim import viz
    from okma_sim._core.errors import OkmaError
    from okma_sim.results import grade
    from okma_sim._core.files import atomic_write

    plan, path, sha = load_scenario(args.scenario)
    # check every output before the (possibly long) run, so bad paths fail fast and nothing,
    # not even the figures folder, is created
    inputs = [("scenario", path)]
    fig_dir = None if args.figures is None else check_output_folder(args.figures, "--figures")
    fig_paths = []
    if fig_dir is not None:
        fig_paths = [fig_dir / n for n in ("fan_chart.png", "probabilities.png")]
        if fig_dir.exists():
            for f in fig_paths:
                check_output_path(f, args.force, "--figures", inputs=inputs)
    if args.export is not None:
        check_output_path(args.export, args.force, "--export", inputs=inputs)
    kw = sim_kwargs(args, plan)
    with executor_from_args(args) as ex:
        res = okma_sim.simulate(plan, executor=ex, **kw)
    written = []
    if fig_paths:
        try:
            fig_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # e.g. no permission to create it
            raise OkmaError(f"--figures: cannot create the folder ({exc.strerror or exc})",
                            file=str(fig_dir)) from None
        written += viz.save_check_figures(res, fig_paths, overwrite=args.force)
    if args.export is not None:
        atomic_write(args.export, res.to_frame().to_csv(index=False), overwrite=args.force)
        written.append(args.export)
    doc = envelope(path, sha, res.n_paths, res.seed, list(res.warnings))
    doc.update(res.to_json_dict())
    text = res.table()
    if any(k.baseline is not None for k in plan.key_results):
        graded = grade(res)
        doc["grading"] = graded.to_dict(orient="records")
        text += "\n\n" + graded.to_string(index=False)
    return emit_result(args, doc, text, written)
