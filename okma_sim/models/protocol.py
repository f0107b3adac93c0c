"""The model protocol: how a model declares its metrics, parameters and levers, and runs.

A model is anything with ``name``, ``metrics``, ``parameters`` and ``simulate``. The engine draws
the uncertain parameters (one value per path) and hands them to ``simulate``; the model never
sees a target. ``levers`` and ``responses`` are optional: they tell the plan checker which
actions and management responses the model understands.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol, runtime_checkable

import numpy as np

__all__ = ["MetricInfo", "ParameterInfo", "LeverInfo", "Outcomes", "Model"]


@dataclass(frozen=True)
class MetricInfo:
    """What a metric is.

    ``kind`` is ``"total"`` (a team total per month, e.g. new customers), ``"rate"`` (a team-level
    ratio in [0, 1] per month), ``"level"`` (a stock or running value such as headcount or
    cumulative growth). ``per_rep`` says whether management rules can test it per rep.
    """

    unit: str
    description: str
    kind: str = "total"
    bounds: tuple[float, float] = (0.0, math.inf)
    per_rep: bool = False


@dataclass(frozen=True)
class ParameterInfo:
    """An uncertain parameter's default prior, valid range, unit and where the default comes from."""

    prior: Any
    description: str
    bounds: tuple[float, float] = (-math.inf, math.inf)
    unit: str = ""
    source: str = "assumption"


@dataclass(frozen=True)
class LeverInfo:
    """An action lever: default level, unit, and whether it applies per rep."""

    default: float
    unit: str
    description: str
    per_rep: bool = True
    bounds: tuple[float, float] = (0.0, math.inf)
    allowed: tuple[float, ...] | None = None  # the only valid levels, when restricted
    integer: bool = False  # whole levels only (a headcount)
    # the lever's cost counts what a run executed, not the plan's level: level x
    # diagnostics[executed] / diagnostics[nominal] (a pair of diagnostic names), when a run is
    # at hand and its nominal count is positive
    cost_units: tuple[str, str] | None = None
    # the parameters that carry the outcome's response to this lever: beyond the levels a
    # history observed, the data no longer pin it and these parameters' priors carry the answer
    # (extrapolation warnings name them)
    response_parameters: tuple[str, ...] = ()


@dataclass
class Outcomes:
    """What one simulate() call produced for a block of paths.

    Attributes
    ----------
    metrics : dict of str -> ndarray, shape (n_paths, n_months)
    state : the model's final state (for resuming), or None
    diagnostics : dict of str -> float
        Counters summed over paths (they merge exactly across blocks), e.g. capped rep-months.
    per_rep : dict of str -> ndarray, shape (n_paths, n_reps, n_months), or None
        Rep-level history columns, only when asked for.
    """

    metrics: dict[str, np.ndarray]
    state: Any = None
    diagnostics: dict[str, float] = field(default_factory=dict)
    per_rep: dict[str, np.ndarray] | None = None


@runtime_checkable
class Model(Protocol):
    """The model protocol (keep it this small)."""

    name: str
    metrics: Mapping[str, MetricInfo]
    parameters: Mapping[str, Any]  # name -> default prior (Distribution or scipy frozen)

    def simulate(self, plan: Any, params: Mapping[str, np.ndarray], rng: np.random.Generator,
                 initial_state: Any = None) -> Outcomes:
        ...
