"""The plan report's sections, built from one simulation. ``SECTIONS`` is the registry: a
section is one function ``(result) -> Section | None`` (None: nothing to show for this run),
and the report holds them in the registry's order."""

from __future__ import annotations

import math
from typing import Any, Callable

from okma_sim._core.formatting import format_amount, format_number, format_share
from okma_sim.analysis import action_cost, lever_level
from okma_sim.models import get_model
from okma_sim.results import achievable_target, capacity_text, target_label
from okma_sim.viz import achievability_curve, fan_chart, probability_bars

from ._blocks import Bullets, Paragraph, Section, Table, draw
from ._facts import assumption_rows, per_rep_rows, target_rows, unpriced_hours
from ._glossary import GLOSSARY
from ._answers import joint_section, levers_section
from ._text import CONFIDENCE, baseline_revenue, chance, value, verdict

__all__ = ["SECTIONS", "glossary_section", "CONFIDENCE"]

def verdicts(result: Any) -> Section:
    """The verdicts: each objective's and KR's chance, then all of them together."""
    rows = target_rows(result)
    objectives = [verdict(r.statement, r.probability, r.stderr)
                  for r in rows.itertuples() if r.kind == "objective"]
    krs = [verdict(r.statement, r.probability, r.stderr)
           for r in rows.itertuples() if r.kind == "key result"]
    a, k = result.all_met(), result.all_key_results_met()
    blocks = [Paragraph("How likely each objective is to be met, out of "
                        f"{result.n_paths:,} simulated runs of the year:"),
              Bullets(tuple(objectives)),
              Paragraph(verdict("All objectives together", a.probability, a.stderr) + "."),
              Paragraph("The key results:"), Bullets(tuple(krs)),
              Paragraph(verdict("All key results together", k.probability, k.stderr) + ".")]
    base = baseline_revenue(result)
    if base is not None:
        blocks.append(Paragraph("The model is set so that, at last year's actions, it books "
                                f"last year's revenue of {format_amount(base, result.plan.currency)}."))
    return Section("verdicts", "Will the plan be met?", tuple(blocks))


def odds_chart(result: Any) -> Section:
    """The probability bars."""
    fig = draw("The chance of meeting each objective and key result, and all objectives "
               "together (bars: ±1.96 standard errors).", probability_bars, result,
               confidence=CONFIDENCE)
    return Section("odds", "The odds at a glance", (fig,))


def outlook(result: Any) -> Section:
    """The fan charts of the objectives' metrics and the p05/p50/p95 table."""
    plan = result.plan
    table = []
    for t in plan.targets:
        qs = result.quantiles(t.id)
        table.append((target_label(t, plan), *(value(t, qs[q], plan)
                                               for q in ("p05", "p50", "p95"))))
    figs = []
    for metric in dict.fromkeys(o.metric for o in result.plan.objectives):
        if metric in result.monthly:
            figs.append(draw(f"Month by month: the median run and the 50% and 90% ranges of "
                             f"{metric.replace('_', ' ')}, against the target.", fan_chart,
                             result, metric))
    return Section("outlook", "Where the year is heading", (
        Paragraph("Where each objective and key result ends, over the simulated runs: one "
                  "run in twenty ends below the low figure, half below the middle one, one in "
                  "twenty above the high one."),
        Table(("Target", "Low (p05)", "Middle (p50)", "High (p95)"), tuple(table),
              numeric=(1, 2, 3)), *figs))


def curves(result: Any) -> Section:
    """An achievability curve per objective, and the targets achievable at 80%."""
    plan = result.plan
    rows = []
    for t in plan.targets:
        a = achievable_target(result, t.id, CONFIDENCE)
        e = result.probability(t.id)
        rows.append((target_label(t, plan), chance(e.probability, e.stderr),
                     value(t, a, plan)))
    figs = [draw(f"How likely each level of '{o.id}' is: the curve falls as the target "
                 "rises; the green line marks the level met in 80% of the runs.",
                 achievability_curve, result, o.id, confidence=CONFIDENCE)
            for o in plan.objectives]
    return Section("curves", "What is achievable", (
        Paragraph(f"Each target beside the most ambitious level met in {CONFIDENCE:.0%} of "
                  "the simulated runs (each objective on its own: together they hold less "
                  "often)."),
        Table(("Target", "Chance of the plan's level", f"Achievable at {CONFIDENCE:.0%}"),
              tuple(rows), numeric=(1, 2)), *figs))


def capacity(result: Any) -> Section | None:
    """The reps' hours and the plan's cost."""
    cap = result.capacity()
    blocks = []
    if cap is not None and math.isfinite(cap["hours_planned"]):
        blocks.append(Paragraph(capacity_text(cap).capitalize() + "."))
        blocks.append(Table(("Hours per rep and month", "Hours"), (
            ("available for selling", f"{cap['hours_available']:.0f}"),
            ("asked for by the plan", f"{cap['hours_planned']:.0f}"),
            ("worked", f"{cap['hours_executed']:.0f}"),
            ("rep-months over capacity", format_share(cap["share_rep_months_capped"]))),
            numeric=(1,)))
    cost = action_cost(result.plan, result)
    if cost["total"] > 0:
        cur = result.plan.currency
        blocks.append(Paragraph(
            f"The plan's actions cost {format_amount(cost['total'], cur)} over its "
            f"{result.plan.horizon_months} months: {format_amount(cost['levers'], cur)} for "
            f"the levers and {format_amount(cost['hours_cost'], cur)} of selling time spent on "
            "training and coaching."))
    if unpriced_hours(result):
        blocks.append(Paragraph("The training and coaching hours are not priced here: the "
                                "run kept no training hours (simulate it with "
                                "okma_sim.report.report_options)."))
    return Section("capacity", "Capacity and cost", tuple(blocks)) if blocks else None


def per_rep(result: Any) -> Section | None:
    """Each rep's outlook (when the run kept the per-rep history)."""
    df = per_rep_rows(result)
    if df is None:
        return None
    cur = result.plan.currency
    rows = tuple((r.rep, format_share(r.share_of_months_filled),
                  f"{format_amount(r.revenue_p05, cur)} to {format_amount(r.revenue_p95, cur)}",
                  format_amount(r.revenue_p50, cur), format_number(r.new_customers_per_month),
                  format_share(r.revisit_rate) if math.isfinite(r.revisit_rate) else "none")
                 for r in df.itertuples())
    return Section("per_rep", "Per rep outlook", (
        Paragraph("Each seat over the period, across the simulated runs: the revenue its "
                  "customers bring (90% range and middle), its new customers a month and its "
                  "revisit rate (middle run). A seat is named after its rep today; it stands "
                  "empty for a while when the rep leaves, and its customers still order."),
        Table(("Seat (rep today)", "Months filled", "Revenue, 90% range", "Revenue, middle",
               "New customers a month", "Revisit rate"), rows, numeric=(1, 2, 3, 4, 5))))


def assumptions(result: Any) -> Section:
    """Every parameter, its distribution and its source."""
    df = assumption_rows(result.plan)
    cur = result.plan.currency
    rows = tuple((r.parameter, r.description, r.distribution, _range(r, cur), r.source)
                 for r in df.itertuples())
    plan = result.plan
    model = get_model(plan.model)
    actions = tuple((k.replace("_", " "), model.levers[k].description,
                     f"{format_number(lever_level(plan, model, k))} {model.levers[k].unit}")
                    for k in model.levers)
    return Section("assumptions", "The plan's assumptions", (
        Paragraph("What the plan has the team do (its levers):"),
        Table(("Lever", "What it is", "Level"), actions, numeric=(2,)),
        Paragraph("Every uncertain figure the model draws, its distribution, its 90% range "
                  "and where it comes from. Each simulated run draws its own values."),
        Table(("Parameter", "What it is", "Distribution", "90% range", "Source"), rows)))


def _range(r: Any, currency: str) -> str:
    """A parameter's 90% range with its unit (a fixed value as itself)."""
    unit = currency if r.unit == "currency" else r.unit
    text = format_number(r.p05) if r.p05 == r.p95 else \
        f"{format_number(r.p05)} to {format_number(r.p95)}"
    return f"{text} {unit}".strip()


def glossary_section(_: Any = None) -> Section:
    """The glossary."""
    return Section("glossary", "Glossary", (
        Table(("Term", "Meaning"), tuple(GLOSSARY.items())),))


#: the plan report's sections, in order: each builds one section from a SimulationResult
SECTIONS: list[Callable[[Any], Section | None]] = [
    verdicts, odds_chart, outlook, curves, joint_section, levers_section, capacity, per_rep,
    assumptions, glossary_section]
