"""Extrapolation: lever levels outside the range the calibration history observed.

A calibrated scenario records, in ``[calibration.observed]``, the lowest and highest level of
each lever its history recorded. A plan that sets a lever beyond that range (by more than
:data:`EXTRAPOLATION_MARGIN` of the range's high end) gets an answer the history cannot
confirm: it rests on the priors of the parameters through which the lever acts, which the
model names on its levers (``LeverInfo.response_parameters``). The check needs only the plan
and the model's lever declarations, so it holds for any model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ._model import Plan

__all__ = ["EXTRAPOLATION_MARGIN", "Extrapolation", "extrapolation"]

#: a level counts as outside the observed range [low, high] only beyond low - m or high + m,
#: m = EXTRAPOLATION_MARGIN x high: the history's own month-to-month scatter around a plan
#: level (a rep one visit short) is not extrapolation
EXTRAPOLATION_MARGIN = 0.05


@dataclass(frozen=True)
class Extrapolation:
    """A lever level outside the range the history observed.

    ``parameters`` are the model's parameters whose prior carries the answer there; ``unit``
    is the lever's unit and ``context`` a word placed before the lever's name in the message
    (``"recommended"``).
    """

    lever: str
    value: float
    observed_low: float
    observed_high: float
    parameters: tuple[str, ...] = ()
    unit: str = ""
    context: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The JSON entry (the ``extrapolation`` list of check, target, solve and review)."""
        return {"lever": self.lever, "value": float(self.value),
                "observed_low": float(self.observed_low),
                "observed_high": float(self.observed_high),
                "parameters": list(self.parameters)}

    def message(self) -> str:
        """One line for the ``warnings``: the lever, its level, the range, the priors.

        Examples
        --------
        >>> Extrapolation("prospect_visits_per_week", 9, 4.85, 6.92, ("visit_elasticity",),
        ...               "visits/rep-week").message()  # doctest: +NORMALIZE_WHITESPACE
        'extrapolation: prospect_visits_per_week = 9 lies outside the range the history
        observed (4.85 to 6.92 visits/rep-week); the answer there rests on the prior of
        visit_elasticity'
        """
        unit = f" {self.unit}" if self.unit else ""
        ctx = f"{self.context} " if self.context else ""
        params = list(self.parameters)
        if not params:
            rests = "the model's assumptions"
        elif len(params) == 1:
            rests = f"the prior of {params[0]}"
        else:
            rests = f"the priors of {', '.join(params[:-1])} and {params[-1]}"
        return (f"extrapolation: {ctx}{self.lever} = {self.value:.4g} lies outside the range "
                f"the history observed ({self.observed_low:.4g} to {self.observed_high:.4g}"
                f"{unit}); the answer there rests on {rests}")


def extrapolation(plan: Plan, actions: Mapping[str, float] | None = None, model: Any = None,
                  *, context: str = "") -> list[Extrapolation]:
    """The levers ``plan`` (or ``actions`` on top of it) sets outside the observed ranges of
    its ``[calibration.observed]`` table, beyond :data:`EXTRAPOLATION_MARGIN`.

    Parameters
    ----------
    plan : Plan
        Without ``[calibration.observed]`` nothing is checked (an empty list).
    actions : mapping, optional
        Levels to check instead of the plan's (others keep the plan's, then the model's
        default).
    model : Model, optional
        Default: the model the plan names. Levers it does not know are skipped
        (:func:`check_plan` reports them).
    context : str
        Put before the lever's name in each message (``"recommended"``).

    Returns
    -------
    list of Extrapolation
        In the order of ``[calibration.observed]``.

    Examples
    --------
    >>> import okma_sim
    >>> from okma_sim.plan import Calibration
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path()).replace(
    ...     calibration=Calibration({"prospect_visits_per_week": (4.85, 6.92)}))
    >>> extrapolation(plan)  # 7 a week: within 5% of 6.92
    []
    >>> [e.to_dict() for e in extrapolation(plan, {"prospect_visits_per_week": 8})]
    [{'lever': 'prospect_visits_per_week', 'value': 8.0, 'observed_low': 4.85, 'observed_high': 6.92, 'parameters': ['visit_elasticity']}]
    """
    if plan.calibration is None or not plan.calibration.observed:
        return []
    if model is None:
        from okma_sim.models import get_model
        model = get_model(plan.model)
    levers = getattr(model, "levers", None) or {}
    levels = {**plan.actions, **(actions or {})}
    out = []
    for k, (low, high) in plan.calibration.observed.items():
        info = levers.get(k)
        if info is None:
            continue
        value = levels.get(k, info.default)
        margin = EXTRAPOLATION_MARGIN * high
        if low - margin <= value <= high + margin:
            continue
        out.append(Extrapolation(k, value, low, high,
                                 tuple(getattr(info, "response_parameters", ())),
                                 getattr(info, "unit", ""), context))
    return out
