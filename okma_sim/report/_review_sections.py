"""The review report's sections, built from a mid-period review (:func:`okma_sim.inference.
review`). ``REVIEW_SECTIONS`` is the registry: a section is one function
``(review) -> Section | None``."""

from __future__ import annotations

import math
from typing import Any, Callable

from okma_sim._core.formatting import format_amount, format_number, format_percent
from okma_sim.results import target_label
from okma_sim.viz import fan_chart, probability_bars

from ._blocks import Bullets, Paragraph, Section, Table, draw
from ._sections import CONFIDENCE, glossary_section
from ._text import chance, value, verdict

__all__ = ["REVIEW_SECTIONS"]


def _value(t: Any, x: float, plan: Any) -> str:
    if x is None or not math.isfinite(x):
        return "none yet"
    return value(t, x, plan)


def review_verdicts(rv: Any) -> Section:
    """Each objective's and KR's chance now, beside its chance at plan time."""
    plan = rv.plan
    head = Paragraph(f"After {rv.months_observed} of {plan.horizon_months} months" + (
        ": the period is over, these are the observed results." if rv.complete else
        f", re-forecast from the actuals over {rv.n_paths:,} simulated runs of the months "
        "left."))
    rows, lines = [], []
    for t in plan.targets:
        text = target_label(t, plan)
        if rv.complete:
            rows.append((text, _value(t, rv.to_date.get(t.id), plan),
                         "met" if rv.met(t.id) else "missed"))
            continue
        e, e0 = rv.probability(t.id), rv.plan_probability(t.id)
        lines.append(verdict(text, e.probability, e.stderr)
                     + (" (at risk)" if t.id in rv.at_risk else ""))
        rows.append((text, _value(t, rv.to_date.get(t.id), plan),
                     chance(e0.probability, e0.stderr), chance(e.probability, e.stderr)))
    if rv.complete:
        return Section("review", "The period's results", (
            head, Table(("Target", "Result", "Verdict"), tuple(rows), numeric=(1,))))
    a, a0 = rv.all_met(), rv.plan_result.all_met()
    return Section("review", "Where the plan stands", (
        head, Bullets(tuple(lines)),
        Paragraph(verdict("All objectives together", a.probability, a.stderr)
                  + f" (at plan time {chance(a0.probability, a0.stderr)})."),
        Table(("Target", "So far", "Chance at plan time", "Chance now"), tuple(rows),
              numeric=(1, 2, 3))))


def review_charts(rv: Any) -> Section | None:
    """The re-forecast's probability bars and the fan chart of the first objective."""
    if rv.complete:
        return None
    res = rv.result
    figs = [draw("The chance of meeting each target now, given the months done (bars: ±1.96 "
                 "standard errors).", probability_bars, res, confidence=CONFIDENCE)]
    metric = rv.plan.objectives[0].metric
    if metric in res.monthly:
        figs.append(draw(f"Month by month: the months done and the re-forecast of "
                         f"{metric.replace('_', ' ')}, against the target.", fan_chart, res,
                         metric))
    return Section("review_charts", "The odds now", tuple(figs))


def review_reps(rv: Any) -> Section:
    """The reps behind a key result's pace."""
    df = rv.reps_flagged
    plan = rv.plan
    if not len(df):
        return Section("per_rep", "Per rep outlook", (
            Paragraph("No rep is behind a key result's pace so far."),))
    rows = []
    for r in df.itertuples():
        t = rv.plan.target(r.key_result)
        rows.append((r.rep_id, target_label(t, plan), _value(t, r.value, plan),
                     _value(t, r.target, plan), f"{r.months:g}"))
    return Section("per_rep", "Per rep outlook", (
        Paragraph("Reps behind a key result's pace over the months they worked: a team "
                  "total's pace is its monthly target shared out over the planned reps; a "
                  "rate's pace is the target itself."),
        Table(("Rep", "Key result", "Rep's monthly value", "Pace", "Months"), tuple(rows),
              numeric=(2, 3, 4))))


def review_recommendation(rv: Any) -> Section | None:
    """The cheapest lever change found that restores P(all objectives met)."""
    rec = rv.recommendation
    if rec is None:
        return None
    cur = rv.plan.currency
    if not rec["actions"]:
        text = "No change is needed" + (f": {rec['note']}" if rec.get("note") else "") + "."
        return Section("recommendation", "Recommendation", (Paragraph(text),))
    changes = tuple(f"{k.replace('_', ' ')}: from {format_number(rec['from'][k])} to "
                    f"{format_number(v)}" for k, v in rec["actions"].items())
    cost = (f"costs {format_amount(rec['cost'], cur)} more" if rec["cost"] >= 0
            else f"saves {format_amount(-rec['cost'], cur)}")
    reach = "reaches" if rec["reached"] else "does not reach"
    return Section("recommendation", "Recommendation", (
        Paragraph("For the months left, change:"), Bullets(changes),
        Paragraph(f"This {cost}. With it, all objectives together have a "
                  f"{chance(rec['probability'], rec['stderr'])} chance, which {reach} the "
                  f"goal of {format_percent(rec['goal'])}."),
        *((Paragraph(rec["note"]),) if rec.get("note") else ())))


#: the review report's sections, in order: each builds one section from a ReviewResult
REVIEW_SECTIONS: list[Callable[[Any], Section | None]] = [
    review_verdicts, review_charts, review_reps, review_recommendation, glossary_section]
