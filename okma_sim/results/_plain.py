"""Plain language for people: readable names, values in % and currency amounts, one-line
verdicts. Numbers go through :mod:`okma_sim._core.formatting`, the one formatter."""

from __future__ import annotations

import math
from typing import Any

from okma_sim._core.formatting import (format_amount, format_chance, format_number,
                                       format_percent)

__all__ = ["aggregate_phrase", "baseline_total", "level_text", "metric_name", "rule_name",
           "target_label", "target_name", "value_text", "verdict"]

#: names that are acronyms, not words joined by underscores
_ACRONYMS = {"csat": "CSAT"}
_SYMBOLS = {">=": "≥", "<=": "≤", ">": ">", "<": "<"}


def metric_name(metric: str) -> str:
    """A metric's name for people.

    Examples
    --------
    >>> metric_name("revisit_rate"), metric_name("csat"), metric_name("csat_responses")
    ('revisit rate', 'CSAT', 'CSAT responses')
    """
    return " ".join(_ACRONYMS.get(w, w) for w in metric.split("_"))


def _metric_info(plan, metric: str) -> Any:
    from okma_sim._core.errors import OkmaError
    from okma_sim.models import get_model
    try:
        return get_model(plan.model).metrics.get(metric)
    except OkmaError:  # an unknown model: no unit, the value reads as a number
        return None


def _kind(plan, metric: str) -> str:
    """``growth``, ``share``, ``money`` or ``number``: how a metric's values read."""
    info = _metric_info(plan, metric)
    unit = getattr(info, "unit", "")
    if unit == "ratio" or metric.endswith("growth"):
        return "growth"
    if unit == "share" or getattr(info, "bounds", None) == (0.0, 1.0):
        return "share"
    return "money" if unit == "currency" else "number"


def baseline_total(plan) -> float | None:
    """The baseline revenue over the plan's horizon (what a growth of 0 at the end means),
    or None without a baseline.

    Examples
    --------
    >>> import okma_sim
    >>> baseline_total(okma_sim.load_plan(okma_sim.case_study_path()))
    27810000.0
    """
    if plan.baseline is None:
        return None
    from okma_sim.models import get_model
    model = get_model(plan.model)
    if hasattr(model, "baseline_revenue"):
        total = float(sum(model.baseline_revenue(plan)))
        return total if math.isfinite(total) else None
    return plan.baseline.annual


def _revenue_amounts(t, plan) -> float | None:
    """The baseline total when ``t``'s values convert to revenue amounts (revenue growth at
    the plan's end), else None."""
    if t.metric == "revenue_growth" and t.aggregate == "final":
        return baseline_total(plan)
    return None


def aggregate_phrase(t, plan) -> str:
    """How an objective's monthly values are summed up, in words ("at year end", "monthly
    average").

    Examples
    --------
    >>> import okma_sim
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> [aggregate_phrase(plan.target(i), plan) for i in ("csat", "new_customers")]
    ['at year end', 'monthly average']
    """
    year = plan.horizon_months == 12
    a = t.aggregate
    if a == "share_of_months":
        sym = _SYMBOLS.get(t.comparison, t.comparison)
        return f"share of months with {metric_name(t.metric)} {sym} " \
               f"{value_text(t, t.threshold, plan, raw=True)}"
    return {"final": "at year end" if year else "at the plan's end",
            "mean": "monthly average",
            "sum": "total over the year" if year else "total over the plan",
            "min": "in the weakest month", "max": "in the best month"}.get(a, a)


def value_text(t, x: float, plan, *, raw: bool = False) -> str:
    """A value of ``t``'s aggregated metric for people: growth as a signed %, rates and
    shares of months in %, money as an amount in the plan's currency; revenue growth at the
    plan's end as the revenue amount it means (``raw``: as the growth itself).

    Examples
    --------
    >>> import okma_sim
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> value_text(plan.target("revenue"), 0.3, plan), value_text(plan.target("csat"), 0.9, plan)
    ('36.15 M CNY', '90%')
    >>> value_text(plan.target("revenue"), -0.074, plan, raw=True)
    '-7.4%'
    """
    if x is None or not math.isfinite(float(x)):
        return "nan"
    if t.aggregate == "share_of_months" and not raw:
        return format_percent(x)
    kind = _kind(plan, t.metric)
    base = None if raw else _revenue_amounts(t, plan)
    if base is not None:
        return format_amount((1.0 + x) * base, plan.currency)
    if kind == "growth":
        return format_percent(x, digits=1, signed=True).replace(".0%", "%")
    if kind == "share" and t.aggregate != "sum":
        return format_percent(x, digits=1).replace(".0%", "%")
    if kind == "money":
        return format_amount(x, plan.currency)
    return format_number(x, digits=1)


def target_label(t, plan) -> str:
    """A short statement of the target: ``+30% revenue (36.15 M CNY)``, ``CSAT ≥ 90% at year
    end``, ``New customers ≥ 10 (monthly average)``.

    Examples
    --------
    >>> import okma_sim
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> for t in plan.targets[:3]:
    ...     print(target_label(t, plan))
    +30% revenue (36.15 M CNY)
    CSAT ≥ 90% at year end
    New customers ≥ 10 (monthly average)
    """
    if _revenue_amounts(t, plan) is not None and t.comparison == ">=":
        return (f"{value_text(t, t.target, plan, raw=True)} revenue "
                f"({value_text(t, t.target, plan)})")
    sym = _SYMBOLS.get(t.comparison, t.comparison)
    name = metric_name(t.metric)
    if t.aggregate == "share_of_months":
        text = f"{name} {sym} {value_text(t, t.threshold, plan, raw=True)} in at least " \
               f"{format_percent(t.target)} of months"
    else:
        phrase = aggregate_phrase(t, plan)
        where = f" {phrase}" if t.aggregate == "final" else f" ({phrase})"
        text = f"{name} {sym} {value_text(t, t.target, plan)}{where}"
    return text[0].upper() + text[1:]


def target_name(t, plan) -> str:
    """What people call an objective or key result: its statement, else its target label.

    Examples
    --------
    >>> import okma_sim
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> target_name(plan.target("csat"), plan)
    'Customer satisfaction of at least 90%'
    """
    return t.statement or target_label(t, plan)


def verdict(t, estimate, plan) -> str:
    """One line: the target, its chance with the Monte Carlo standard error, and the odds.

    Examples
    --------
    >>> import okma_sim
    >>> from okma_sim.results import Estimate
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> verdict(plan.target("revenue"), Estimate(0.041, 0.0044), plan)
    '+30% revenue (36.15 M CNY): 4% chance (± 0.4%), about 1 in 25'
    """
    return f"{target_label(t, plan)}: {format_chance(estimate.probability, estimate.stderr)}"


def rule_name(plan, rule_id: str) -> str:
    """A management rule in words: ``the coaching rule``, with its id when two rules share a
    response.

    Examples
    --------
    >>> import okma_sim
    >>> rule_name(okma_sim.load_plan(okma_sim.case_study_path()), "coach_low_revisit")
    'the coaching rule'
    """
    rules = list(plan.management.rules)
    for i, r in enumerate(rules):
        if (r.id or f"rule{i}") == rule_id:
            same = sum(x.response == r.response for x in rules)
            name = f"the {r.response.replace('_', ' ')} rule"
            return name if same == 1 else f"{name} '{rule_id}'"
    return f"the rule '{rule_id}'"


def level_text(t, x: float, plan) -> str:
    """A target's level ``x`` as a table cell: its direction, its value for people and how it
    is aggregated: ``≥ 36.15 M CNY (+30%)``, ``≥ 90% at year end``, ``≥ 10 monthly average``.

    Examples
    --------
    >>> import okma_sim
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> level_text(plan.target("revenue"), 0.3, plan), level_text(plan.target("csat"), 0.9, plan)
    ('≥ 36.15 M CNY (+30%)', '≥ 90% at year end')
    """
    from ._views import direction
    sym = {">=": "≥", "<=": "≤"}.get(direction(t), direction(t))
    text = f"{sym} {value_text(t, x, plan)}"
    if t.metric == "revenue_growth" and t.aggregate == "final":
        return f"{text} ({value_text(t, x, plan, raw=True)})"
    if t.aggregate == "share_of_months":
        return f"{text} of months"
    return f"{text} {aggregate_phrase(t, plan)}"
