"""Why a review's probability disagrees with the pace so far: the projected monthly path of
the objective's or KR's metric against its target, and the driver behind it.

A KR on pace after five months can still be unlikely: in the case study the revisit rate ran
at 82% a month, yet the book grows through the year while the planned visits stay the same,
so the same visits cover less of it. :func:`explanations` says so with the numbers.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping

import numpy as np

from okma_sim._core.formatting import format_chance, format_number, format_percent
from okma_sim.results import target_label, value_text

__all__ = ["explanations"]

#: ratio metrics and what they divide, in words: numerator, denominator, their names, and
#: what a denominator growing faster than its numerator means
_RATIOS: dict[str, tuple[str, str, str, str, str]] = {
    "revisit_rate": ("revisited_customers", "active_customers", "customers revisited",
                     "the customer book", "the book grows and the same visits cover less of it"),
    "csat": ("csat_satisfied", "csat_responses", "satisfied responses", "survey responses",
             "more customers answer than are satisfied"),
}


def _driver_metrics(plan: Any, model: Any) -> list[str]:
    """The monthly metrics a review keeps to explain its ratio targets (their numerators and
    denominators).

    Examples
    --------
    >>> import okma_sim
    >>> from okma_sim.models import get_model
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> _driver_metrics(plan, get_model(plan.model))
    ['active_customers', 'csat_responses', 'csat_satisfied', 'revisited_customers']
    """
    found = {m for t in plan.targets if t.metric in _RATIOS for m in _RATIOS[t.metric][:2]}
    return sorted(m for m in found if m in model.metrics)


def _on_pace(t: Any, to_date: float, months: int, horizon: int) -> bool | None:
    """Whether the value so far meets the target at its pace (None: no pace to speak of, a
    stock's final value such as quarters surveyed)."""
    if t.aggregate == "sum":  # a total so far against the target's share of the horizon
        paced = dataclasses.replace(t, target=t.target * months / horizon)
        return bool(paced.met(np.array([float(to_date)]))[0])
    if t.aggregate == "final" and not (t.metric.endswith("growth") or t.metric in _RATIOS
                                       or t.metric.endswith("rate")):
        return None
    return bool(t.met(np.array([float(to_date)]))[0])


def explanations(rv: Any) -> list[dict[str, Any]]:
    """The objectives and KRs whose probability disagrees with their pace so far beyond the
    Monte Carlo noise (on pace, yet under 50% by more than 2 standard errors; or behind, yet
    over 50% by more than 2 standard errors), each with its projected monthly path
    (``months``: ``month``, ``p05``, ``p50``, ``p95``, ``observed``) against its target and,
    for a ratio, the ``driver``. Empty once the actuals cover the horizon.

    Examples
    --------
    >>> import okma_sim
    >>> from okma_sim.inference import review
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> rv = review(plan, okma_sim.data_path("case_study_actuals.csv"), n_paths=400, seed=1,
    ...             recommend=False)
    >>> found = {e["id"]: e for e in explanations(rv)}
    >>> found["revisit_rate"]["on_pace"], found["revisit_rate"]["probability"] < 0.5
    (True, True)
    """
    if rv.complete:
        return []
    res, T, plan = rv.result, rv.months_observed, rv.plan
    out = []
    for t in plan.targets:
        td = rv.to_date.get(t.id)
        if td is None or not math.isfinite(td) or t.metric not in res.monthly:
            continue
        pace = _on_pace(t, td, T, plan.horizon_months)
        e = rv.probability(t.id)
        # a chance within 2 SE of one half says nothing against the pace: no explanation
        if pace is None or not (e.probability + 2 * e.stderr < 0.5 if pace
                                else e.probability - 2 * e.stderr > 0.5):
            continue
        bands = res.bands(t.metric, q=(0.05, 0.5, 0.95))
        months = [{"month": str(m), "p05": float(r["p05"]), "p50": float(r["p50"]),
                   "p95": float(r["p95"]), "observed": i < T}
                  for i, (m, r) in enumerate(bands.iterrows())]
        entry = {"id": t.id, "to_date": float(td), "target": t.target, "on_pace": pace,
                 "probability": e.probability, "stderr": e.stderr, "months": months,
                 "driver": _driver(rv, t, months)}
        entry["text"] = _headline(rv, t, entry)
        out.append(entry)
    return out


def _headline(rv: Any, t: Any, entry: Mapping[str, Any]) -> str:
    plan = rv.plan
    so_far = value_text(t, entry["to_date"], plan, raw=True)
    pace = "on pace" if entry["on_pace"] else "behind pace"
    rest = [m for m in entry["months"] if not m["observed"]]
    ahead = sum(bool(t.met(np.array([m["p50"]]))[0]) for m in rest)
    return (f"{target_label(t, plan)}: {so_far} so far ({pace}), yet "
            f"{format_chance(entry['probability'], entry['stderr'])}; the projected median "
            f"meets the target in {ahead} of the {len(rest)} months left")


def _projected(rv: Any, metric: str) -> tuple[float, float] | None:
    """A metric's monthly mean so far and its projected median over the months left."""
    res, T = rv.result, rv.months_observed
    if metric not in res.monthly or metric not in rv.observed:
        return None
    so_far = float(np.mean(np.asarray(rv.observed[metric], dtype=float)[:T]))
    ahead = float(res.bands(metric, q=(0.5,))["p50"].iloc[T:].mean())
    return so_far, ahead


def _driver(rv: Any, t: Any, months: list[Mapping[str, Any]]) -> str:
    """What moves the projection: for a ratio, how its denominator grows against its
    numerator; otherwise the projected months against the months so far."""
    if t.metric in _RATIOS:
        num, den, num_words, den_words, meaning = _RATIOS[t.metric]
        a, b = _projected(rv, num), _projected(rv, den)
        if a is not None and b is not None and a[0] > 0 and b[0] > 0:
            ga, gb = a[1] / a[0] - 1, b[1] / b[0] - 1
            text = (f"{den_words} goes from {format_number(b[0], digits=1)} a month so far "
                    f"to {format_number(b[1], digits=1)} projected "
                    f"({format_percent(gb, digits=1, signed=True)}), while {num_words} go "
                    f"from {format_number(a[0], digits=1)} to {format_number(a[1], digits=1)} "
                    f"({format_percent(ga, digits=1, signed=True)})")
            return text + (f": {meaning}" if gb > ga else "")
    seen = [m["p50"] for m in months if m["observed"]]
    rest = [m["p50"] for m in months if not m["observed"]]
    if not seen or not rest:
        return ""
    ahead, so_far = (value_text(t, float(np.mean(x)), rv.plan, raw=True) for x in (rest, seen))
    return f"the months left run at a median of {ahead} against {so_far} so far"


def _explanation_lines(rv: Any, found: list[Mapping[str, Any]] | None = None) -> list[str]:
    """The review text's section on :func:`explanations` (no lines when there is none)."""
    found = explanations(rv) if found is None else found
    if not found:
        return []
    lines = ["", "Why a chance disagrees with the pace so far:"]
    for e in found:
        t = rv.plan.target(e["id"])
        lines.append(f"  {e['text']}")
        lines.append(f"    {'month':<9}{'p05':>10}{'median':>10}{'p95':>10}   target "
                     f"{value_text(t, t.target, rv.plan, raw=True)}")
        for m in e["months"]:
            if m["observed"]:
                continue
            cells = "".join(f"{value_text(t, m[q], rv.plan, raw=True):>10}"
                            for q in ("p05", "p50", "p95"))
            met = "meets" if t.met(np.array([m["p50"]]))[0] else "short"
            lines.append(f"    {m['month']:<9}{cells}   median {met}")
        if e["driver"]:
            lines.append(f"    why: {e['driver']}")
    return lines
