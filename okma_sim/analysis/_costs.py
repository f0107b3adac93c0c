"""What a plan's actions and operations cost: lever levels x unit costs, priced training and
coaching hours (the action solver's cost), and the expected operating cost of a run (the
policy comparison's and the review's)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from okma_sim.plan import Plan

__all__ = ["action_cost", "lever_level", "operating_cost"]


def lever_level(plan: Plan, model: Any, name: str) -> float:
    """A lever's level in the plan's actions, else the model's default, else 0."""
    if name in plan.actions:
        return float(plan.actions[name])
    levers = getattr(model, "levers", {}) or {}
    return float(levers[name].default) if name in levers else 0.0


def action_cost(plan: Plan, result=None, *, model: Any = None) -> dict[str, float]:
    """The cost of a plan's actions, as the action solver counts it.

    ``levers`` = sum over the levers with a ``[levers.NAME]`` table of level x ``unit_cost``
    (the cost of one unit of the level over the whole horizon); ``hours`` = the expected
    training and coaching hours over the horizon (the mean over paths of the sum over months of
    the model's ``training_hours`` metric, which includes coaching ordered by management
    rules) x ``team.hourly_cost``, i.e. the selling time they take; ``total`` = their sum.
    ``hours`` is 0 for a model without a ``training_hours`` metric or when ``result`` (a
    simulation of this plan that kept ``training_hours``) is not given.

    Examples
    --------
    >>> from okma_sim.plan import Lever, Objective, Plan
    >>> plan = Plan("toy", "2027-01", 12, model="linear_toy", actions={"effort": 2.0},
    ...             objectives=(Objective("s", "score", 1.2, aggregate="mean"),),
    ...             levers={"effort": Lever(0.0, 5.0, unit_cost=100.0)})
    >>> action_cost(plan)["levers"]
    200.0
    """
    if model is None:
        from okma_sim.models import get_model
        model = get_model(plan.model)
    lev = float(sum(lever_level(plan, model, k) * lv.unit_cost for k, lv in plan.levers.items()))
    hours = 0.0
    if result is not None and "training_hours" in result.monthly:
        th = np.asarray(result.monthly["training_hours"], dtype=float)
        hours = float(np.nansum(th, axis=1).mean()) if th.size else 0.0
    hours_cost = hours * float(plan.team.hourly_cost)
    return {"levers": lev, "hours": hours, "hours_cost": hours_cost, "total": lev + hours_cost}


def operating_cost(result) -> float:
    """Expected sum over the months of the ``cost`` metric (NaN when it was not kept),
    weighted by ``result.weights`` when set (a review's re-forecast)."""
    c = result.monthly.get("cost")
    if c is None:
        return math.nan
    tot = np.nansum(np.asarray(c, dtype=float), axis=1)
    if result.weights is None:
        return float(tot.mean())
    w = np.asarray(result.weights, dtype=float)
    return float(np.sum(w * tot) / np.sum(w))
