"""What figures and the dashboard say: metric names in words with their units, target levels
as people read them, and the target a chart marks.

Labels speak to a sales manager: metric names in words, units with the scenario's currency.
"""

from __future__ import annotations

from typing import Any

from okma_sim._core.formatting import format_number

__all__ = ["PERCENT_METRICS", "SYMBOL", "fmt_level", "main_target", "metric_label"]

_LABELS = {
    "revenue": "Revenue per month",
    "cumulative_revenue": "Cumulative revenue",
    "revenue_growth": "Revenue growth vs baseline year",
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


def fmt_level(x: float, metric: str) -> str:
    """A target level of ``metric`` for reading: a percentage for rate metrics, else
    :func:`okma_sim._core.formatting.format_number`.

    Examples
    --------
    >>> fmt_level(0.3, "revenue_growth"), fmt_level(2_500_000, "revenue")
    ('30.0%', '2.50M')
    """
    return f"{x:.1%}" if metric in PERCENT_METRICS else format_number(x)


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
