"""The plan: what the analyst declares (objectives, key results, management rules, actions,
team, uncertain parameters). Pure data, validated on construction; TOML round trip; SMART
checks.

Key paths in error messages count from 0, as in Python: ``key_results[2].target`` is the third
``[[key_results]]`` table.

_model   the frozen dataclasses and the vocabularies their fields take
_parse   dict -> Plan, checking types and ranges
_checks  SMART checks against the model
_extrapolation  lever levels outside the range the calibration history observed
_toml    TOML round trip
"""

from ._checks import check_plan, unit_warnings
from ._extrapolation import EXTRAPOLATION_MARGIN, Extrapolation, extrapolation
from ._model import (AGGREGATES, COMPARISONS, NEW_REP_BOOKS, SAMPLERS, VACANCY_MODES, Baseline, Calibration,
                     Correlations, Grading, KeyResult, Lever, Management, Objective, Plan, Rep, Rule, Simulation,
                     Team)
from ._parse import plan_from_dict
from ._toml import dumps_plan, load_plan, loads_plan, plan_to_dict, save_plan

__all__ = ["AGGREGATES", "COMPARISONS", "EXTRAPOLATION_MARGIN", "NEW_REP_BOOKS", "SAMPLERS",
           "VACANCY_MODES", "Baseline", "Calibration", "Correlations", "Extrapolation", "Grading",
           "KeyResult", "Lever", "Management", "Objective", "Plan", "Rep", "Rule", "Simulation",
           "Team", "check_plan", "dumps_plan", "extrapolation", "load_plan", "loads_plan",
           "plan_from_dict", "plan_to_dict", "save_plan", "unit_warnings"]
