"""What figures and the dashboard say: metric names in words with their units, target levels
as people read them, and the target a chart marks.

Labels speak to a sales manager: metric names in words, units with the scenario's currency.
"""

from __future__ import annotations

from typing import Any

from okma_sim._core.formatting import format_amount, format_number, format_percent

__all__ = ["PERCENT_METRICS", "SYMBOL", "fmt_level", "main_target", "metric_label",
           "metric_name", "in_sentence", "cost_label", "percent_text", "value_label",
           "YEAR_TO_DATE_METRICS"]

_LABELS = {
    "revenue": "Revenue per month",
    "cumulative_revenue": "Revenue year to date",
    "revenue_growth": "Revenue growth year to date vs last year",
    "new_customers": "New customers per month",
    "active_customers": "Active customers",
    "revisited_customers": "Customers revisited per month",
    "revisit_rate": "Revisit rate",
    "churned_customers": "Customers lost per month",
    "csat": "CSAT (share satisfied)",
    "quarters_surveyed": "Quarters with a completed CSAT survey",
    "headcount": "Reps in seat",
    "cost": "Training and coaching cost per month",
}
#: metrics whose values are shares, shown as percentages
PERCENT_METRICS = {"revenue_growth", "revisit_rate", "csat"}
#: metrics in money, labelled with the scenario's currency
MONEY_METRICS = ("revenue", "cumulative_revenue", "cost")

#: metrics summed from the first month: their January is one month's worth, not a year's
YEAR_TO_DATE_METRICS = {"revenue_growth", "cumulative_revenue"}
#: short names, for titles, where the axis label is too long
_NAMES = {"revenue_growth": "Revenue growth", "csat": "CSAT",
          "cumulative_revenue": "Revenue", "new_customers": "New customers a month",
          "quarters_surveyed": "Quarters with a CSAT survey"}
#: what an aggregated value is, on an axis
_AGGREGATE_AXIS = {"final": "at the end of the plan", "mean": "average over the months",
                   "sum": "total over the months", "min": "lowest month",
                   "max": "highest month"}

#: how a target's comparison reads
SYMBOL = {">=": "≥", "<=": "≤"}


def metric_label(metric: str, currency: str = "") -> str:
    """Human label of a metric, with its unit.

    Examples
    --------
    >>> metric_label("revenue", "CNY"), metric_label("csat")
    ('Revenue per month (CNY)', 'CSAT (share satisfied) (%)')
    """
    base = _LABELS.get(metric, metric.replace("_", " ").capitalize())
    if metric in MONEY_METRICS and currency:
        base += f" ({currency})"
    elif metric in PERCENT_METRICS:
        base += " (%)"
    return base


def fmt_level(x: float, metric: str, currency: str = "") -> str:
    """A level of ``metric`` for reading: a percentage for rate metrics, an amount with
    ``currency`` for money metrics, else :func:`okma_sim._core.formatting.format_number`.

    Examples
    --------
    >>> fmt_level(0.3, "revenue_growth"), fmt_level(2_500_000, "revenue", "CNY")
    ('30%', '2.5 M CNY')
    >>> fmt_level(0.825, "csat"), fmt_level(10, "new_customers"), fmt_level(1.2, "score")
    ('82.5%', '10', '1.2')
    """
    if metric in PERCENT_METRICS:
        return percent_text(x)
    if metric in MONEY_METRICS:
        return format_amount(x, currency)
    text = format_number(x)
    # a target of 1.2 reads "1.2", not format_number's "1.200"
    return text.rstrip("0").rstrip(".") if "." in text and text[-1].isdigit() else text


def main_target(plan: Any, metric: str) -> float | None:
    """The target a fan chart of ``metric`` draws: that of the first objective or KR on the
    metric whose aggregate is ``final`` or ``mean`` (a level the monthly path can be read
    against), else None.

    Examples
    --------
    >>> import okma_sim
    >>> main_target(okma_sim.load_plan(okma_sim.case_study_path()), "revenue_growth")
    0.3
    """
    return next((t.target for t in plan.targets
                 if t.metric == metric and t.aggregate in ("final", "mean")), None)


def metric_name(metric: str) -> str:
    """A metric's readable name, without its unit.

    Examples
    --------
    >>> metric_name("revisit_rate"), metric_name("csat"), metric_name("pipeline_value")
    ('Revisit rate', 'CSAT', 'Pipeline value')
    """
    return _NAMES.get(metric, _LABELS.get(metric, metric.replace("_", " ").capitalize()))


def percent_text(x: float, *, sign: bool = False) -> str:
    """A share as a percentage with no needless ``.0`` (``80%``, ``82.5%``; ``+30%`` with
    ``sign``), from :func:`okma_sim._core.formatting.format_percent`.

    Examples
    --------
    >>> percent_text(0.8), percent_text(0.825), percent_text(0.3, sign=True)
    ('80%', '82.5%', '+30%')
    """
    return format_percent(x, digits=1, signed=sign).replace(".0%", "%")


def value_label(t: Any, currency: str = "") -> str:
    """What an objective's or KR's value is, for an axis: the metric with its unit and how the
    months are aggregated (the share of months past the threshold for ``share_of_months``).

    Examples
    --------
    >>> import okma_sim
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> value_label(plan.target("new_customers"))
    'New customers per month, average over the months'
    """
    if t.aggregate == "share_of_months":
        return (f"Share of months with {metric_name(t.metric).lower()} "
                f"{SYMBOL[t.comparison]} {fmt_level(t.threshold, t.metric, currency)} (%)")
    return f"{metric_label(t.metric, currency)}, {_AGGREGATE_AXIS[t.aggregate]}"


def in_sentence(name: str) -> str:
    """A label to use inside a sentence: its first letter in lower case, unless it starts an
    acronym.

    Examples
    --------
    >>> in_sentence("Revisit rate"), in_sentence("CSAT (share satisfied)")
    ('revisit rate', 'CSAT (share satisfied)')
    """
    return name if name[:2].isupper() else name[:1].lower() + name[1:]


def cost_label(plan: Any) -> str:
    """A cost axis: ``Plan cost, CNY per year`` (no currency when the plan, or its absence,
    gives none).

    Examples
    --------
    >>> import okma_sim
    >>> cost_label(okma_sim.load_plan(okma_sim.case_study_path())), cost_label(None)
    ('Plan cost, CNY per year', 'Plan cost per year')
    """
    cur = getattr(plan, "currency", "")
    return f"Plan cost, {cur} per year" if cur else "Plan cost per year"
