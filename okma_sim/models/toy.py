"""A small test model that plugs in through the protocol, with closed-form answers.

``score[m] = gain * effort + bias + noise * Z[m]`` with ``Z`` standard normal per path and month,
``gain`` and ``bias`` uncertain per path. The monthly mean of ``score`` over M months is then
Normal(gain * effort + bias, noise / sqrt(M)) given the parameters, so probabilities, solver
answers and variance decompositions are known exactly (see tests).
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from okma_sim.params import Distribution
from .protocol import LeverInfo, MetricInfo, Outcomes

__all__ = ["LinearToyModel"]


class LinearToyModel:
    """``score = gain * effort + bias + noise * Z`` per month (see module docstring).

    Examples
    --------
    >>> m = LinearToyModel()
    >>> sorted(m.parameters)
    ['bias', 'gain', 'noise']
    """

    name = "linear_toy"
    metrics = {
        "score": MetricInfo("points", "gain * effort + bias + noise", "total",
                            (-math.inf, math.inf)),
        "hit": MetricInfo("share", "1 when score > 0", "rate", (0.0, 1.0)),
    }
    parameters = {
        "gain": Distribution("normal", {"mu": 1.0, "sigma": 0.2}),
        "bias": Distribution("normal", {"mu": 0.0, "sigma": 0.5}),
        "noise": Distribution("fixed", {"value": 1.0}),
    }
    parameter_bounds = {"gain": (-math.inf, math.inf), "bias": (-math.inf, math.inf),
                        "noise": (0.0, math.inf)}
    levers = {"effort": LeverInfo(1.0, "units", "effort level", False, (0.0, 100.0))}

    def simulate(self, plan: Any, params: Mapping[str, np.ndarray], rng: np.random.Generator,
                 initial_state: Any = None) -> Outcomes:
        n = len(params["gain"])
        M = plan.horizon_months
        effort = float(plan.actions.get("effort", self.levers["effort"].default))
        z = rng.standard_normal((n, M))
        score = (params["gain"] * effort + params["bias"])[:, None] + params["noise"][:, None] * z
        return Outcomes(metrics={"score": score, "hit": (score > 0).astype(float)},
                        diagnostics={"paths": float(n)})
