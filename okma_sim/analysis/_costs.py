"""What a plan's actions and operations cost: lever levels x unit costs, priced training and
coaching hours (the action solver's cost), and the expected operating cost of a run (the
policy comparison's and the review's)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from okma_sim.plan import Plan

__all__ = ["action_cost", "cost_metrics", "lever_level", "lever_units", "operating_cost"]


def cost_metrics(model: Any) -> list[str]:
    """The monthly metrics a run must keep for :func:`action_cost` to price its hours (the
    model's ``training_hours``, when it has that metric).

    Examples
    --------
    >>> from okma_sim.models import get_model
    >>> cost_metrics(get_model("sales_team")), cost_metrics(get_model("linear_toy"))
    (['training_hours'], [])
    """
    return [m for m in ("training_hours",) if m in (getattr(model, "metrics", None) or {})]


def lever_level(plan: Plan, model: Any, name: str) -> float:
    """A lever's level in the plan's actions, else the model's default, else 0."""
    if name in plan.actions:
        return float(plan.actions[name])
    levers = getattr(model, "levers", {}) or {}
    return float(levers[name].default) if name in levers else 0.0


def lever_units(plan: Plan, model: Any, name: str, result=None) -> float:
    """The units of a lever its cost counts: its level, or, for a lever whose model info
    names ``cost_units`` and given a run of the plan, the level times the share the run
    executed (``diagnostics[executed] / diagnostics[nominal]``; 0 when nothing was nominal).

    Examples
    --------
    >>> import okma_sim
    >>> from okma_sim.models import get_model
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path()).with_actions(new_reps=2)
    >>> lever_units(plan, get_model("sales_team"), "new_reps")  # no run: the level
    2.0
    """
    level = lever_level(plan, model, name)
    info = (getattr(model, "levers", {}) or {}).get(name)
    pair = getattr(info, "cost_units", None)
    if result is None or pair is None or pair[0] not in result.diagnostics:
        return level
    done, nominal = (float(result.diagnostics.get(k, 0.0)) for k in pair)
    return level * done / nominal if nominal > 0 else 0.0


def action_cost(plan: Plan, result=None, *, model: Any = None) -> dict[str, float]:
    """The cost of a plan's actions, as the action solver counts it.

    ``levers`` = sum over the levers with a ``[levers.NAME]`` table of units x ``unit_cost``
    (the cost of one unit of the level over the whole horizon), the units being the level,
    or with a run at hand what it executed (:func:`lever_units`: visits and training the
    reps' hours allowed; a new rep's months on payroll / 12); ``hours`` = the expected
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
    lev = float(sum(lever_units(plan, model, k, result) * lv.unit_cost
                    for k, lv in plan.levers.items()))
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
