"""How the report words its numbers, on top of the tool's one formatter
(:mod:`okma_sim._core.formatting`) and its statements of targets
(:func:`okma_sim.results.target_label`)."""

from __future__ import annotations

import math
from typing import Any

from okma_sim._core.formatting import format_chance, format_estimate, format_percent
from okma_sim.results import value_text
from okma_sim.viz import PERCENT_METRICS

__all__ = ["CONFIDENCE", "chance", "value", "verdict", "unit_of", "baseline_revenue"]

#: the confidence the report reads achievable and joint targets at
CONFIDENCE = 0.8
#: metrics whose values are amounts of money
MONEY = ("revenue", "cumulative_revenue", "cost")


def chance(p: float, se: float | None = None) -> str:
    """A probability in %, with its standard error (:func:`format_estimate`).

    Examples
    --------
    >>> chance(0.041, 0.0044), chance(0.48), chance(math.nan)
    ('4% ± 0.4%', '48%', 'not known')
    """
    if not math.isfinite(p):
        return "not known"
    return format_percent(p) if se is None else format_estimate(p, se)


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


def value(t: Any, x: float, plan: Any) -> str:
    """A value of an objective's or KR's aggregated metric, as the tool writes values
    (:func:`okma_sim.results.value_text`), revenue growth with the amount it means:
    ``+9.1% (30.35 M CNY)``.

    Examples
    --------
    >>> import okma_sim
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> value(plan.target("revenue"), 0.3, plan), value(plan.target("csat"), 0.9, plan)
    ('+30% (36.15 M CNY)', '90%')
    """
    if x is None or not math.isfinite(x):
        return "not known"
    raw, shown = value_text(t, x, plan, raw=True), value_text(t, x, plan)
    return raw if raw == shown else f"{raw} ({shown})"


def baseline_revenue(result: Any) -> float | None:
    """Last year's revenue the run was anchored to (None when it was not anchored)."""
    anchor = (getattr(result, "extra", None) or {}).get("anchor") or {}
    rev = (anchor.get("figures") or {}).get("revenue")
    return None if rev is None else float(rev)


def verdict(what: str, p: float, se: float) -> str:
    """One plain verdict line.

    Examples
    --------
    >>> verdict("+30% revenue", 0.04, 0.001)
    '+30% revenue: 4% chance (± 0.1%), about 1 in 25'
    """
    if not math.isfinite(p):
        return f"{what}: not known"
    return f"{what}: {format_chance(p, se)}"
