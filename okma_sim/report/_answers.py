"""The report's two "what would it take" sections: the targets that hold together at 80%
(:func:`okma_sim.analysis.joint_targets`) and what each lever alone changes
(:func:`okma_sim.analysis.lever_effects`). Both re-simulate, so their run sizes are capped:
the report stays a matter of seconds on the case study."""

from __future__ import annotations

from typing import Any

from okma_sim._core.formatting import format_amount, format_points
from okma_sim.analysis import joint_targets, lever_effects
from okma_sim.viz import joint_heatmap

from ._blocks import Paragraph, Section, Table, draw
from ._text import CONFIDENCE, chance

__all__ = ["joint_section", "levers_section", "JOINT_PATHS", "LEVER_PATHS"]

#: at most this many simulated runs choose the joint targets (and as many check them)
JOINT_PATHS = 10_000
#: simulated runs per lever setting (each lever is two runs, plus the plan as written)
LEVER_PATHS = 2_000


def joint_section(result: Any) -> Section | None:
    """The targets that hold together at 80%, checked on fresh simulated runs, and the heat map
    of the chance that all objectives hold over the first two objectives' targets."""
    plan = result.plan
    if not plan.objectives:
        return None
    n = min(result.n_paths, JOINT_PATHS)
    jt = joint_targets(plan, confidence=CONFIDENCE, n_paths=n, seed=result.seed, progress=False)
    rows = tuple((jt.statement(i), chance(jt.per_objective[i]["probability"],
                                          jt.per_objective[i]["stderr"]))
                 for i in jt.targets)
    blocks = [Paragraph(
        f"Achievable targets read one objective at a time do not hold together: set all at "
        f"once, they are met together less often. These targets are chosen so that all of them "
        f"hold together in {CONFIDENCE:.0%} of the simulated runs; checked on {jt.verify_paths:,}"
        f" fresh runs, they hold together in {chance(jt.probability, jt.stderr)}."),
        Table(("Target (all together)", "Chance on its own"), rows, numeric=(1,))]
    if len(jt.targets) >= 2:
        blocks.append(draw("The chance that every objective is met, over the targets of the "
                           "first two; the line marks the targets met together in "
                           f"{CONFIDENCE:.0%} of the runs, the dot the targets above.",
                           joint_heatmap, jt, size=(8, 6)))
    return Section("joint", f"Targets that hold together at {CONFIDENCE:.0%}", tuple(blocks))


def levers_section(result: Any) -> Section | None:
    """Each lever from its low to its high bound, alone, on the same simulated runs."""
    plan = result.plan
    if not plan.levers or not plan.objectives:
        return None
    le = lever_effects(plan, n_paths=min(result.n_paths, LEVER_PATHS), seed=result.seed,
                       progress=False)
    cur = plan.currency or ""
    per_year = 12 / plan.horizon_months
    rows = []
    for _, r in le.table().iterrows():
        for end in ("low", "high"):
            rows.append((le.names.get(r["lever"], r["lever"]) if end == "low" else "",
                         f"{r[end]:g}", chance(r[f"p_{end}"], r[f"stderr_{end}"]),
                         format_amount(r[f"cost_{end}"] * per_year, cur)))
        rows.append(("", "change", format_points(r["swing"], r["swing_stderr"]), ""))
    b = le.base
    return Section("levers", "What can be changed", (
        Paragraph(f"Each lever the plan may move, from its lowest to its highest setting, the "
                  f"others as planned, on the same {le.n_paths:,} simulated runs (so the change "
                  f"is measured to the paired standard error). The plan as written: all "
                  f"objectives met in {chance(b.probability, b.stderr)}, for "
                  f"{format_amount(le.base_cost * per_year, cur)} a year."),
        Table(("Lever", "Setting", "All objectives met", "Cost a year"), tuple(rows),
              numeric=(1, 2, 3))))
