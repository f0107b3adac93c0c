"""The built-in sales-team model (docs/model.md states every formula and default).

Contents
--------
SalesTeamModel
    The model: metrics, levers, parameters, responses, and ``simulate`` (``_model.py``), which
    runs the monthly step of ``_month.py`` (effort and capacity of ``_capacity.py`` ->
    acquisition -> customers -> revenue -> survey -> staffing of ``_staffing.py``) and the
    management reviews of ``_rules.py``.
SalesState
    The state between months, from which a run resumes (``_state.py``).
PARAMETERS, METRICS, LEVERS, RESPONSES
    The uncertain parameters (priors with their sources), metrics, levers and management
    responses (``_priors.py``).
WEEKS_PER_MONTH, REFERENCE_PROSPECT_VISITS, REFERENCE_TRAINING_HOURS, REFERENCE_REVISIT_RATE
    The constants the model's equations are stated at (``_priors.py``).
season_factor, season_factors, survey_month
    Seasonality and the CSAT survey schedule (``_month.py``).
revisit_reach, revisit_hazard
    The revisit curve: the share of a book that follow-up visits reach (``_reach.py``).
baseline_plan, anchor_figures, ANCHORED
    Anchoring an uncalibrated plan's draws to its baseline year (``_anchor.py``).
"""

from __future__ import annotations

from ._anchor import ANCHORED, anchor_figures, baseline_plan
from ._model import SalesTeamModel
from ._month import season_factor, season_factors, survey_month
from ._priors import (LEVERS, METRICS, PARAMETERS, REFERENCE_PROSPECT_VISITS,
                      REFERENCE_REVISIT_RATE, REFERENCE_TRAINING_HOURS, RESPONSES,
                      SEASON_QUARTER, SEASON_YEAR, WEEKS_PER_MONTH)
from ._reach import revisit_hazard, revisit_reach
from ._state import SalesState

__all__ = ["ANCHORED", "LEVERS", "METRICS", "PARAMETERS", "REFERENCE_PROSPECT_VISITS",
           "REFERENCE_REVISIT_RATE", "REFERENCE_TRAINING_HOURS", "RESPONSES", "SalesState",
           "SEASON_QUARTER", "SEASON_YEAR", "SalesTeamModel", "WEEKS_PER_MONTH", "revisit_hazard",
           "revisit_reach", "season_factor", "season_factors", "survey_month", "anchor_figures",
           "baseline_plan"]
