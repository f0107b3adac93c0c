"""okma_sim: test sales targets for achievability before anyone commits to them.

Layers, bottom to top (imports point down only; see docs/architecture.md): ``_core``
(errors, months, formatting, files, seeds), ``params``, ``models``, ``plan``, ``io``,
``results``, ``engine``, ``analysis``, ``inference``, ``viz``, and at the top ``dashboard``
and ``cli``.
"""

from __future__ import annotations

from okma_sim._core.errors import DataError, OkmaError, PlanError
from okma_sim._core.paths import case_study_path, data_path
from okma_sim._core.seeds import BLOCK_SIZE
from okma_sim._core.version import __version__
from okma_sim.params import Distribution
from okma_sim.models import LinearToyModel, SalesTeamModel, get_model, register_model
from okma_sim.plan import (KeyResult, Lever, Objective, Plan, Rule, check_plan, dumps_plan,
                           load_plan, save_plan)
from okma_sim.results import (Estimate, SimulationResult, achievability_curve, achievable_target,
                              achievable_targets, grade)
from okma_sim.engine import simulate
# analysis: questions asked over many runs
from okma_sim.analysis import (compare, joint_targets, kr_importance, lever_effects, sensitivity,
                               sobol, solve_actions, sweep, tornado)
from okma_sim.inference import (backtest, calibrate, fit_history, load_history, review,
                                rolling_backtest)
# the .plot accessors are registered from above; matplotlib loads on the first figure
from okma_sim.viz import accessor as _accessor  # noqa: F401

__all__ = [
    # plan
    "Plan", "Objective", "KeyResult", "Lever", "Rule", "Distribution", "load_plan", "save_plan",
    "dumps_plan", "check_plan", "case_study_path", "data_path",
    # models
    "SalesTeamModel", "LinearToyModel", "get_model", "register_model",
    # engine and results
    "simulate", "BLOCK_SIZE", "SimulationResult", "Estimate", "grade",
    # analysis
    "achievable_target", "achievable_targets", "achievability_curve", "solve_actions",
    "tornado", "sobol", "kr_importance", "sensitivity", "calibrate", "fit_history",
    "load_history", "backtest", "rolling_backtest", "review", "compare", "sweep",
    "joint_targets", "lever_effects",
    # errors
    "OkmaError", "PlanError", "DataError", "__version__",
]
