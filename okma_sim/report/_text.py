"""How the report words its numbers: percentages, odds, currency amounts and the targets as
statements a sales manager reads."""

from __future__ import annotations

import math
from typing import Any

from okma_sim._core.formatting import format_amount, format_number, format_share
from okma_sim.viz import PERCENT_METRICS, SYMBOL, metric_label

__all__ = ["CONFIDENCE", "chance", "odds", "money", "level", "statement", "verdict", "unit_of",
           "baseline_revenue"]

#: the confidence the report reads achievable and joint targets at
CONFIDENCE = 0.8
#: metrics whose values are amounts of money
MONEY = ("revenue", "cumulative_revenue", "cost")
_AGGREGATE = {"final": "at the end of the period", "mean": "monthly average",
              "sum": "total over the period", "min": "lowest month", "max": "best month"}


def chance(p: float, se: float | None = None) -> str:
    """A probability in words, with its standard error.

    Examples
    --------
    >>> chance(0.041, 0.0044), chance(0.48, 0.011), chance(0.0004, 0.0004)
    ('4% (± 0.4%)', '48% (± 1.1%)', '<0.1% (± <0.1%)')
    """
    if not math.isfinite(p):
        return "not known"
    text = f"{p:.0%}" if 0.01 <= p <= 0.99 else format_share(p)
    if se is not None and math.isfinite(se):
        text += f" (± {format_share(se)})"
    return text


def odds(p: float) -> str:
    """A probability as plain odds.

    Examples
    --------
    >>> odds(0.041), odds(0.48), odds(0.7), odds(0.0), odds(1.0)
    ('about 1 in 24', 'about 1 in 2', 'about 7 in 10', 'in none of the simulated runs', 'in every simulated run')
    """
    if not math.isfinite(p):
        return "not known"
    if p <= 0:
        return "in none of the simulated runs"
    if p >= 1:
        return "in every simulated run"
    if p <= 0.5:
        return f"about 1 in {max(2, round(1 / p)):,}"
    return f"about {min(9, max(5, round(p * 10)))} in 10"


def money(x: float, currency: str = "") -> str:
    """An amount of money: ``36.15 M CNY`` (:func:`okma_sim._core.formatting.format_amount`,
    as every text of the tool writes amounts).

    Examples
    --------
    >>> money(36_153_000, "CNY")
    '36.15 M CNY'
    """
    return format_amount(x, currency)


def unit_of(metric: str) -> str:
    """How a metric's values read: ``"percent"``, ``"currency"`` or ``"number"``.

    Examples
    --------
    >>> unit_of("csat"), unit_of("revenue"), unit_of("new_customers")
    ('percent', 'currency', 'number')
    """
    if metric in PERCENT_METRICS:
        return "percent"
    return "currency" if metric in MONEY else "number"


def level(x: float, metric: str, currency: str = "") -> str:
    """A value of ``metric`` for reading: growth with its sign, rates in %, money with the
    currency.

    Examples
    --------
    >>> level(0.3, "revenue_growth"), level(0.9, "csat"), level(2.5e6, "revenue", "CNY")
    ('+30%', '90%', '2.5 M CNY')
    """
    if not math.isfinite(x):
        return "not known"
    if metric in PERCENT_METRICS:
        whole = abs(x * 100 - round(x * 100)) < 1e-9
        sign = "+" if metric == "revenue_growth" else ""
        return f"{x:{sign}.{0 if whole else 1}%}"
    if metric in MONEY:
        return money(x, currency)
    text = format_number(x)
    # no trailing zeros: 9.5 new customers a month, not 9.500
    return text.rstrip("0").rstrip(".") if "." in text and text[-1].isdigit() else text


def baseline_revenue(result: Any) -> float | None:
    """Last year's revenue the run was anchored to (None when it was not anchored)."""
    anchor = (getattr(result, "extra", None) or {}).get("anchor") or {}
    rev = (anchor.get("figures") or {}).get("revenue")
    return None if rev is None else float(rev)


def statement(t: Any, currency: str = "", baseline: float | None = None) -> str:
    """An objective or key result as a statement: ``+30% revenue (36.15 M CNY or more)``,
    ``CSAT (share satisfied) ≥ 90%``.

    Examples
    --------
    >>> import okma_sim
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> statement(plan.target("revenue"), "CNY", 27.81e6)
    '+30% revenue (36.15 M CNY or more)'
    >>> statement(plan.target("new_customers"))
    'New customers per month ≥ 10 (monthly average)'
    """
    more = "or more" if t.comparison == ">=" else "or less"
    if t.metric == "revenue_growth" and t.aggregate == "final":
        text = f"{level(t.target, t.metric)} revenue"
        if baseline is not None:
            text += f" ({money(baseline * (1 + t.target), currency)} {more})"
        return text
    name = metric_label(t.metric).split(" (")[0]
    if t.aggregate == "share_of_months":
        return (f"{name} {SYMBOL[t.comparison]} {level(t.threshold, t.metric, currency)} "
                f"in at least {t.target:.0%} of the months")
    text = f"{name} {SYMBOL[t.comparison]} {level(t.target, t.metric, currency)}"
    how = _AGGREGATE.get(t.aggregate)
    return text if t.aggregate == "final" or how is None else f"{text} ({how})"


def verdict(what: str, p: float, se: float) -> str:
    """One plain verdict line.

    Examples
    --------
    >>> verdict("+30% revenue", 0.04, 0.001)
    '+30% revenue: 4% chance (± 0.1%), about 1 in 25'
    """
    if not math.isfinite(p):
        return f"{what}: not known"
    return f"{what}: {chance(p)} chance (± {format_share(se)}), {odds(p)}"
