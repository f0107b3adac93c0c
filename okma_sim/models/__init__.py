"""Models: how actions become outcomes. The protocol, a registry, the built-in sales-team
model, and a small linear model for tests and examples."""

from __future__ import annotations

from .protocol import LeverInfo, MetricInfo, Model, Outcomes, ParameterInfo
from .registry import get_model, register_model
from .sales import (REFERENCE_PROSPECT_VISITS, REFERENCE_REVISIT_RATE, REFERENCE_TRAINING_HOURS,
                    SEASON_QUARTER, SEASON_YEAR, WEEKS_PER_MONTH, SalesState, SalesTeamModel,
                    revisit_hazard, revisit_reach, season_factor, season_factors, survey_month)
from .toy import LinearToyModel

__all__ = ["LeverInfo", "LinearToyModel", "MetricInfo", "Model", "Outcomes", "ParameterInfo",
           "REFERENCE_PROSPECT_VISITS", "REFERENCE_REVISIT_RATE", "REFERENCE_TRAINING_HOURS",
           "SalesState", "SalesTeamModel", "WEEKS_PER_MONTH", "get_model", "register_model",
           "SEASON_QUARTER", "SEASON_YEAR", "revisit_hazard", "revisit_reach", "season_factor",
           "season_factors", "survey_month"]
