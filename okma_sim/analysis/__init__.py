"""Questions asked over many runs: the cheapest action plan (solver), costs, sensitivity
(tornado, Sobol, KR importance), policy comparison and portfolio sweeps."""

from ._compare import PolicyComparison, compare, paired_difference, policy_cost
from ._costs import action_cost, lever_level, lever_units, operating_cost
from ._sensitivity import (SensitivityResult, SobolIndices, kr_importance, sensitivity, sobol,
                           tornado, uncertain_parameters)
from ._search import MAX_CAPPED_SHARE
from ._solver import SolveResult, solve_actions, solver_levers
from ._sweep import SweepRow, format_value, row_seed, sweep, sweep_rows

__all__ = ["MAX_CAPPED_SHARE", "PolicyComparison", "SensitivityResult", "SobolIndices", "SolveResult", "SweepRow",
           "action_cost", "compare", "format_value", "kr_importance", "lever_level", "lever_units",
           "operating_cost", "paired_difference", "policy_cost", "row_seed", "sensitivity",
           "sobol", "solve_actions", "solver_levers", "sweep", "sweep_rows", "tornado",
           "uncertain_parameters"]
