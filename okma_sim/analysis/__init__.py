"""Questions asked over many runs: the cheapest action plan (solver), costs, sensitivity
(tornado, Sobol, KR importance), what each lever changes, joint targets, policy comparison
and portfolio sweeps."""

from ._compare import PolicyComparison, compare, paired_difference, policy_cost
from ._costs import action_cost, cost_metrics, lever_level, lever_units, operating_cost
from ._joint import JointTargets, check_weights, joint_level, joint_targets, target_phrase
from ._levers import LeverEffects, lever_effects
from ._sensitivity import (SensitivityResult, SobolIndices, kr_importance, sensitivity, sobol,
                           tornado, uncertain_parameters)
from ._search import MAX_CAPPED_SHARE
from ._solver import SolveResult, solve_actions, solver_levers
from ._sweep import SweepRow, format_value, row_seed, sweep, sweep_rows

__all__ = ["JointTargets", "LeverEffects", "MAX_CAPPED_SHARE", "PolicyComparison",
           "SensitivityResult", "SobolIndices", "SolveResult", "SweepRow",
           "action_cost", "check_weights", "cost_metrics", "compare", "format_value", "joint_level",
           "joint_targets", "kr_importance", "lever_effects", "lever_level", "lever_units",
           "operating_cost", "paired_difference", "policy_cost", "row_seed", "sensitivity",
           "sobol", "solve_actions", "solver_levers", "sweep", "sweep_rows", "target_phrase",
           "tornado", "uncertain_parameters"]
