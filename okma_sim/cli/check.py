"""``okma-sim check [SCENARIO]``: P(each KR, each objective, all) with standard errors."""

from __future__ import annotations

import argparse
import contextlib
import itertools
from pathlib import Path
from typing import Sequence

from .common import (add_extrapolation, add_json, add_sim_options, check_output_folder,
                     check_output_path, emit_result, envelope, executor_from_args, load_scenario,
                     nonempty, sim_kwargs)

#: what --figures writes into its folder: the fan chart and the probability bars
FIGURES = ("fan_chart.png", "probabilities.png")


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
    from okma_sim.plan import extrapolation
    from okma_sim.results import grade, grading_text

    plan, path, sha = load_scenario(args.scenario)
    # check every output before the (possibly long) run, so bad paths fail fast and nothing,
    # not even the figures folder, is created
    inputs = [("scenario", path)]
    fig_dir = None if args.figures is None else check_output_folder(args.figures, "--figures")
    fig_paths = []
    if fig_dir is not None:
        fig_paths = [fig_dir / n for n in FIGURES]
        if fig_dir.exists():
            for f in fig_paths:
                check_output_path(f, args.force, "--figures", inputs=inputs)
    if args.export is not None:
        export = check_output_path(args.export, args.force, "--export", inputs=inputs)
        if fig_dir is not None:
            where = fig_dir.resolve()
            if export.resolve() in {where, *where.parents, *(f.resolve() for f in fig_paths)}:
                raise OkmaError("--export names the --figures folder (or a folder it is in, "
                                "or a figure in it); write to another file", file=args.export)
    kw = sim_kwargs(args, plan)
    with executor_from_args(args) as ex:
        res = okma_sim.simulate(plan, executor=ex, **kw)
    # everything is drawn and formatted before the first file is written
    outputs = list(zip(fig_paths, viz.check_figures(res))) if fig_paths else []
    if args.export is not None:
        outputs.append((args.export, res.to_frame().to_csv(index=False)))
    written = _write_all(outputs, overwrite=args.force, folder=fig_dir if fig_paths else None)
    doc = envelope(path, sha, res.n_paths, res.seed, list(res.warnings))
    doc.update(res.to_json_dict())
    text = res.table()
    if any(k.baseline is not None for k in plan.key_results):
        graded = grade(res)
        doc["grading"] = graded.to_dict(orient="records")
        text += "\n\n" + grading_text(res, graded)
    text = "\n".join([text, *add_extrapolation(doc, extrapolation(plan))])
    return emit_result(args, doc, text, written)


def _write_all(outputs: Sequence[tuple], *, overwrite: bool, folder: Path | None) -> list:
    """Write every ``(path, data)`` all or nothing (:func:`atomic_write_all`).

    ``folder`` (the --figures folder, with its missing parents) is created first; if a write
    fails (no space left, a folder that vanished) or the run is interrupted, no output changes
    and the folders made here are removed again. Returns the paths, as given.
    """
    from okma_sim._core.errors import OkmaError
    from okma_sim._core.files import atomic_write_all
    made: list[Path] = []  # folders created here, deepest first
    try:
        if folder is not None:
            made = list(itertools.takewhile(lambda a: not a.exists(),
                                            (folder, *folder.parents)))
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:  # e.g. no permission to create it
                raise OkmaError(f"--figures: cannot create the folder "
                                f"({exc.strerror or exc})", file=str(folder)) from None
        atomic_write_all(outputs, overwrite=overwrite)
    except BaseException:  # an error, or an interrupt: take back the folders made
        for d in made:
            with contextlib.suppress(OSError):
                d.rmdir()
        raise
    return [path for path, _ in outputs]
