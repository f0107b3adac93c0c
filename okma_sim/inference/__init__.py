"""Inference for the built-in sales-team model: calibration from rep-month or CRM history,
backtests on held-out months, and the mid-period review (re-forecast from actuals). These fit
:class:`okma_sim.models.SalesTeamModel`'s parameters; another model needs its own."""

from ._backtest import (LEVELS, BacktestResult, BacktestRun, backtest, check_cutoff,
                        crps_ensemble, history_months, randomized_pit, rolling_backtest)
from ._calibrate import (FORMATS, FitEntry, FitResult, calibrate, crm_effort, fit_history,
                         fit_opportunities, fit_rep_month, history_from_simulation, load_history,
                         rep_month_features)
from okma_sim.io import Actuals, load_actuals  # re-exported: the loader lives in io
from ._review import ReviewResult, review
from ._review_flags import flag_reps
from ._review_likelihood import LIKELIHOOD_TERMS
from ._review_replay import observed_metrics, observed_state

__all__ = ["FORMATS", "LEVELS", "LIKELIHOOD_TERMS", "Actuals", "BacktestResult", "BacktestRun",
           "FitEntry", "FitResult", "ReviewResult", "backtest", "calibrate", "check_cutoff",
           "crm_effort", "crps_ensemble", "fit_history", "fit_opportunities", "fit_rep_month",
           "flag_reps", "history_from_simulation", "history_months", "load_actuals",
           "load_history", "observed_metrics", "observed_state", "randomized_pit", "review",
           "rep_month_features", "rolling_backtest"]
