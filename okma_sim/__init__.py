"""okma_sim: test sales targets for achievability before anyone commits to them.

Layers, top to bottom: plan (what the analyst declares), models (how actions become outcomes),
engine (seeds, blocks, samplers, executors), results (verdicts with standard errors), analysis
(targets, solver, sensitivity, calibration, review) and surface (CLI, plots, widgets).
"""

from __future__ import annotations

from pathlib import Path

from ._errors import DataError, OkmaError, PlanError
from .engine import BLOCK_SIZE, simulate
from .models import LinearToyModel, SalesTeamModel, get_model, register_model
from .params import Distribution
from .plan import (KeyResult, Lever, Objective, Plan, Rule, check_plan, dumps_plan, load_plan,
                   save_plan)
from .results import Estimate, SimulationResult
# analysis: questions asked over many runs
from .targets import achievability_curve, achievable_target, achievable_targets, solve_actions
from .sensitivity import kr_importance, sensitivity, sobol, tornado
from .calibrate import calibrate, fit_history, load_history
from .backtest import backtest, rolling_backtest
from .review import review
from .compare import compare
from .sweep import sweep
from .grading import grade

__version__ = "0.1.0"

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
    # errors
    "OkmaError", "PlanError", "DataError", "__version__",
]


def data_path(*parts: str) -> Path:
    """A path inside the bundled ``data/`` folder (scenarios, histories, the CRM dataset)."""
    return Path(__file__).resolve().parent.parent.joinpath("data", *parts)


def case_study_path() -> Path:
    """The bundled case study scenario (``data/scenarios/case_study.toml``)."""
    return data_path("scenarios", "case_study.toml")
