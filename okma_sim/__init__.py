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

__version__ = "0.1.0"

__all__ = [
    "BLOCK_SIZE", "DataError", "Distribution", "Estimate", "KeyResult", "Lever",
    "LinearToyModel", "Objective", "OkmaError", "Plan", "PlanError", "Rule", "SalesTeamModel",
    "SimulationResult", "case_study_path", "check_plan", "data_path", "dumps_plan", "get_model",
    "load_plan", "register_model", "save_plan", "simulate", "__version__",
]


def data_path(*parts: str) -> Path:
    """A path inside the bundled ``data/`` folder (scenarios, histories, the CRM dataset)."""
    return Path(__file__).resolve().parent.parent.joinpath("data", *parts)


def case_study_path() -> Path:
    """The bundled case study scenario (``data/scenarios/case_study.toml``)."""
    return data_path("scenarios", "case_study.toml")
