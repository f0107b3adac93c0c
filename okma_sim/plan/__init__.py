"""The plan: what the analyst declares (objectives, key results, management rules, actions,
team, uncertain parameters). Pure data, validated on construction; TOML round trip; SMART
checks."""

from ._model import (AGGREGATES, COMPARISONS, SAMPLERS, Baseline, Correlations, Grading,
                     KeyResult, Lever, Management, Objective, Plan, Rep, Rule, Simulation, Team,
                     check_plan, dumps_plan, load_plan, loads_plan, plan_from_dict, plan_to_dict,
                     save_plan)

__all__ = ["AGGREGATES", "COMPARISONS", "SAMPLERS", "Baseline", "Correlations", "Grading",
           "KeyResult", "Lever", "Management", "Objective", "Plan", "Rep", "Rule", "Simulation",
           "Team", "check_plan", "dumps_plan", "load_plan", "loads_plan", "plan_from_dict",
           "plan_to_dict", "save_plan"]
