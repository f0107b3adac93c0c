"""Anchoring an uncalibrated plan's parameter draws to its baseline year (docs/model.md 11).

The scenario's ``[baseline]`` states what last year brought (its revenue, and the key results'
``baseline`` values such as 7 new customers a month), and ``[baseline.actions]`` the action
levels it ran at. Each path re-runs that year, from the plan's team at last year's actions,
and rescales the parameter that sets each anchored figure's level so that the path's own
baseline year brings the stated figure:

- new customers (a key result's monthly mean): ``base_win_rate``;
- the revisit rate (a key result's monthly mean): ``followup_targeting``, through the revisit
  curve's inverse;
- revenue (the baseline year's total): ``order_value``.

Counts are matched first (they feed the book, so the revenue), on a second run of the same
draws; revenue last. The factor is the stated figure over the path's *simulated* one, not its
expected one: under a flat prior on the log of the scale, ``stated / simulated`` is a draw from
the scale's posterior given the one observed year (the simulated noise becomes the posterior's
spread), so the forecast keeps last year's month-to-month noise and loses only the ignorance of
the level. Every other parameter keeps its prior draw, so what moves with the plan's actions
(the elasticity, the revisit curve's shape, training) keeps its full uncertainty.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import numpy as np

__all__ = ["ANCHORED", "anchor_figures", "anchor_parameters", "baseline_plan"]

#: anchored metric -> the parameter whose level it sets
ANCHORED = {"new_customers": "base_win_rate", "revisit_rate": "followup_targeting",
            "revenue": "order_value"}


def anchor_figures(plan: Any) -> dict[str, float]:
    """The baseline figures a plan anchors to: metric -> stated value (monthly mean for the
    key results, the year's total for revenue). Empty when nothing anchors."""
    b = plan.baseline
    if b is None or not plan.simulation.anchor or plan.calibration is not None:
        return {}
    out: dict[str, float] = {}
    for kr in plan.key_results:
        ok = kr.baseline is not None and kr.aggregate == "mean" and kr.metric not in out
        if ok and kr.metric == "new_customers" and kr.baseline > 0:
            out["new_customers"] = float(kr.baseline)
        elif ok and kr.metric == "revisit_rate" and 0 < kr.baseline < 1:
            out["revisit_rate"] = float(kr.baseline)
    out["revenue"] = b.annual
    return out


def baseline_plan(plan: Any, levers: Mapping[str, Any]) -> Any:
    """The baseline year as a plan: 12 months in the plan's calendar (the same calendar months,
    so the same seasons and survey months, as the year before the plan; only they matter to
    the model, and no date before the year 1 is needed), the plan's team at last year's
    actions (the levers' defaults where neither names one), no new reps and no management
    rules (this year's rules need not have run last year)."""
    acts = {k: v.default for k, v in levers.items()}
    acts.update(plan.baseline.actions)
    acts["new_reps"] = 0
    return dataclasses.replace(
        plan, horizon_months=12, actions=acts, objectives=(),
        key_results=(), management=dataclasses.replace(plan.management, rules=()),
        team=dataclasses.replace(plan.team, new_reps_month=None))


def _exposure(rate: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """The revisit curve's inverse: the targeted visits per customer ``t x`` that reach a
    share ``rate`` of a book (``revisit_reach(t, x, eta) = rate``, _reach.py)."""
    h = -np.log1p(-np.clip(rate, 1e-6, 1 - 1e-6))
    y = eta * h
    # expm1(eta h) / eta -> h as eta -> 0
    return np.divide(np.expm1(y), eta, out=h.copy(), where=y != 0)


def anchor_parameters(model: Any, plan: Any, params: Mapping[str, np.ndarray],
                      rng_seed: np.random.SeedSequence) -> dict[str, np.ndarray]:
    """Block parameters rescaled so that each path's baseline year brings the stated figures.

    ``rng_seed`` seeds the baseline year's streams (both runs draw the same numbers, so the
    second run's counts land on the stated ones).
    """
    figures = anchor_figures(plan)
    p = {k: np.array(v, dtype=float) for k, v in params.items()}
    if not figures:
        return p
    base = baseline_plan(plan, model.levers)
    if "new_customers" in figures or "revisit_rate" in figures:
        out = model.simulate(base, p, np.random.default_rng(rng_seed)).metrics
        if "new_customers" in figures:
            # half a customer a year: a path that won none still gets a finite factor
            sim = np.maximum(out["new_customers"].mean(1), 0.5 / 12)
            p["base_win_rate"] *= figures["new_customers"] / sim
        _match_revisits(p, out, figures)
    out = model.simulate(base, p, np.random.default_rng(rng_seed)).metrics
    sim = np.maximum(out["revenue"].sum(1), 1e-9 * figures["revenue"])
    p["order_value"] *= figures["revenue"] / sim
    # the book the matched win rate brings changes the visits per customer: match the revisit
    # rate once more on this run (its small effect on revenue, about 0.1%, stays)
    _match_revisits(p, out, figures)
    return p


def _match_revisits(p: dict[str, np.ndarray], out: Mapping[str, np.ndarray],
                    figures: Mapping[str, float]) -> None:
    """Rescale ``followup_targeting`` so that the run's revisit rate becomes the stated one."""
    if "revisit_rate" not in figures:
        return
    eta = p["revisit_heterogeneity"]
    sim = np.nan_to_num(out["revisit_rate"].mean(1), nan=figures["revisit_rate"])
    p["followup_targeting"] *= (_exposure(np.full_like(sim, figures["revisit_rate"]), eta)
                                / _exposure(sim, eta))
