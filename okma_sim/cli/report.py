"""``okma-sim report [SCENARIO] --out FILE.html [--xlsx FILE.xlsx]``: the plan report to hand
on, as one self-contained HTML page and an Excel workbook."""

from __future__ import annotations

import argparse

from okma_sim._core.errors import OkmaError

from .common import (add_json, add_sim_options, check_output_path, emit_result, envelope,
                     executor_from_args, load_scenario, nonempty, sim_kwargs)


def register(sub) -> None:
    p = sub.add_parser(
        "report", help="write the plan report: one HTML file (and an Excel workbook)",
        description="Simulate a scenario (default: the bundled case study) and write its "
                    "report: the verdicts in plain words, the odds and monthly charts, what "
                    "is achievable, capacity and cost, each rep's outlook, the plan's "
                    "assumptions and a glossary, as one self-contained HTML file; with "
                    "--xlsx also an Excel workbook of the same figures. Both files are "
                    "written, or neither.")
    p.add_argument("scenario", nargs="?", default=None, help="scenario TOML file")
    p.add_argument("--out", required=True, type=nonempty, metavar="FILE.html",
                   help="the HTML report to write")
    p.add_argument("--xlsx", type=nonempty, default=None, metavar="FILE.xlsx",
                   help="also write the Excel workbook")
    add_sim_options(p, adaptive=False)
    add_json(p)
    p.add_argument("--force", action="store_true", help="overwrite existing output files")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import okma_sim
    from okma_sim._core.files import atomic_write_all
    from okma_sim.report import plan_report, render_html, report_options, workbook_bytes

    plan, path, sha = load_scenario(args.scenario)
    # every output is checked before the run: a bad path fails fast and nothing is written
    inputs = [("scenario", path)]
    out = check_output_path(args.out, args.force, "--out", inputs=inputs)
    xlsx = None
    if args.xlsx is not None:
        xlsx = check_output_path(args.xlsx, args.force, "--xlsx", inputs=inputs)
        if xlsx.resolve() == out.resolve():
            raise OkmaError("--xlsx names the same file as --out; give two files",
                            file=args.xlsx)
    kw = sim_kwargs(args, plan)
    with executor_from_args(args) as ex:
        res = okma_sim.simulate(plan, executor=ex, **report_options(plan), **kw)
    # both files are made in memory, then written together: both or neither
    outputs = [(out, render_html(plan_report(res)))]
    if xlsx is not None:
        outputs.append((xlsx, workbook_bytes(res)))
    atomic_write_all(outputs, overwrite=args.force)
    doc = envelope(path, sha, res.n_paths, res.seed, list(res.warnings))
    a = res.all_met()
    doc["all_met"] = a.to_dict()
    text = (f"{plan.name}: {res.n_paths:,} simulated runs, seed {res.seed}; all objectives "
            f"met in {a.probability:.1%} (± {a.stderr:.1%}) of them")
    return emit_result(args, doc, text, [str(o) for o, _ in outputs])
