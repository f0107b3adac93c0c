"""Inference for the built-in sales-team model: calibration from rep-month or CRM history,
backtests on held-out months, and the mid-period review (re-forecast from actuals). These fit
:class:`okma_sim.models.SalesTeamModel`'s parameters; another model needs its own."""

from okma_sim.io import Actuals, load_actuals  # re-exported: the loader lives in io

from ._backtest import backtest, check_cutoff, history_months, rolling_backtest
from ._backtest_result import BacktestResult, BacktestRun, range_verdict
from ._calibrate import FORMATS, calibrate, fit_history, load_history
from ._features import crm_effort, rep_month_features
from ._fit_opportunities import fit_opportunities
from ._fit_rep_month import fit_rep_month
from ._fit_result import IDENTIFIED_WIDTH_RATIO, FitEntry, FitResult
from ._review import ReviewResult, review
from ._review_explain import explanations
from ._review_flags import flag_reps
from ._review_likelihood import LIKELIHOOD_TERMS
from ._review_replay import observed_metrics, observed_state
from ._scores import LEVELS, crps_ensemble, randomized_pit
from ._simulated_history import history_from_simulation

__all__ = ["FORMATS", "IDENTIFIED_WIDTH_RATIO", "LEVELS", "LIKELIHOOD_TERMS", "Actuals",
           "BacktestResult", "BacktestRun", "FitEntry", "FitResult", "ReviewResult", "backtest",
           "calibrate", "check_cutoff", "crm_effort", "crps_ensemble", "explanations",
           "fit_history",
           "fit_opportunities", "fit_rep_month", "flag_reps", "history_from_simulation",
           "history_months", "load_actuals", "load_history", "observed_metrics",
           "observed_state", "randomized_pit", "range_verdict", "review",
           "rep_month_features", "rolling_backtest"]
