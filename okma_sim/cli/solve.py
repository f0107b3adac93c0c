"""``okma-sim solve [SCENARIO] --confidence C``: the cheapest action plan within the lever
bounds for which P(all objectives met) >= C, verified with a fresh seed, and its cost
frontier."""

from __future__ import annotations

import argparse

from .common import (add_extrapolation, add_json, add_sim_options, add_unit_warnings,
                     check_output_path, check_paths_memory, emit_result, envelope,
                     executor_from_args,
                     load_scenario, nonempty, positive_int, probability_arg, reword_help)

#: paths per solver evaluation unless --paths is given
DEFAULT_SEARCH_PATHS = 2000


def register(sub) -> None:
    p = sub.add_parser("solve", help="cheapest action plan reaching a confidence",
                       description="Search the [levers.*] bounds for the cheapest actions with "
                                   "P(all objectives met) >= C (common random numbers, "
                                   "COBYLA), verify the answer with a fresh seed, and give "
                                   "the cost frontier.")
    p.add_argument("scenario", nargs="?", default=None, help="scenario TOML file")
    p.add_argument("--confidence", type=probability_arg, default=0.7, metavar="C",
                   help="required P(all objectives met), in (0, 1) (default 0.7)")
    p.add_argument("--levers", default=None, metavar="a,b,...",
                   help="levers to search (default: every lever with a [levers.NAME] table)")
    p.add_argument("--verify-paths", type=positive_int, default=None, metavar="N",
                   help="paths of the fresh-seed verification (default max(4 x paths, 8000))")
    p.add_argument("--max-evaluations", type=positive_int, default=120, metavar="N",
                   help="cap on the search's simulations (default 120)")
    p.add_argument("--out", type=nonempty, metavar="FILE.toml", default=None,
                   help="write the scenario with the solved actions")
    p.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    add_sim_options(p, adaptive=False)
    reword_help(p, "paths", f"paths per search simulation (default {DEFAULT_SEARCH_PATHS})")
    reword_help(p, "seed", "seed of the search (default: the scenario's, else fresh entropy)")
    add_json(p)
    p.set_defaults(func=run, counts_steps=True)


def run(args: argparse.Namespace) -> int:
    from okma_sim.analysis import solve_actions, solver_levers
    from okma_sim.models import get_model
    from okma_sim.plan import extrapolation, save_plan

    plan, path, sha = load_scenario(args.scenario)
    levers = None if args.levers is None else args.levers.split(",")
    if levers is not None:
        solver_levers(plan, get_model(plan.model), levers, "--levers")
    if args.out is not None:
        check_output_path(args.out, args.force, "--out", inputs=[("scenario", path)])
    n = args.paths or DEFAULT_SEARCH_PATHS
    if args.verify_paths is None:  # the verification then runs max(4 x --paths, 8000) paths
        check_paths_memory(args, plan, **{"--paths": max(4 * n, 8000)})
    else:
        check_paths_memory(args, plan, **{"--paths": n, "--verify-paths": args.verify_paths})
    with executor_from_args(args) as ex:
        sol = solve_actions(plan, args.confidence, levers,
                            n_paths=args.paths or DEFAULT_SEARCH_PATHS, seed=args.seed,
                            verify_paths=args.verify_paths, sampler=args.sampler,
                            max_evaluations=args.max_evaluations, executor=ex,
                            progress=False if args.no_progress or args.json else None)
    written = []
    if args.out is not None:
        save_plan(sol.plan, args.out, overwrite=args.force)
        written.append(args.out)
    doc = envelope(path, sha, sol.n_paths, sol.seed, list(sol.warnings))
    doc.update(sol.to_json_dict())
    # the search is not kept inside the observed range: the answer is checked, and warned
    solved = sol.plan if sol.plan is not None else plan.with_actions(**sol.actions)
    text = "\n".join([sol.table(), *add_unit_warnings(doc, plan),
                      *add_extrapolation(doc, extrapolation(solved))])
    return emit_result(args, doc, text, written)
