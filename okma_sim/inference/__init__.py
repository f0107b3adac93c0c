"""Inference for the built-in sales-team model: calibration from rep-month or CRM history,
backtests on held-out months, and the mid-period review (re-forecast from actuals). These fit
:class:`okma_sim.models.SalesTeamModel`'s parameters; another model needs its own."""

from ._backtest import backtest, check_cutoff, history_months, rolling_backtest
from ._backtest_result import BacktestResult, BacktestRun
from ._calibrate import FORMATS, calibrate, fit_history, load_history
from ._features import crm_effort, rep_month_features
from ._fit_opportunities import fit_opportunities
from ._fit_rep_month import fit_rep_month
from ._fit_result import FitEntry, FitResult
from ._scores import LEVELS, crps_ensemble, randomized_pit
from ._simulated_history import history_from_simulation
from ._review import (LIKELIHOOD_TERMS, Actuals, ReviewResult, flag_reps, load_actuals,
                      observed_metrics, observed_state, review)

__all__ = ["FORMATS", "LEVELS", "LIKELIHOOD_TERMS", "Actuals", "BacktestResult", "BacktestRun",
           "FitEntry", "FitResult", "ReviewResult", "backtest", "calibrate", "check_cutoff",
           "crm_effort", "crps_ensemble", "fit_history", "fit_opportunities", "fit_rep_month",
           "flag_reps", "history_from_simulation", "history_months", "load_actuals",
           "load_history", "observed_metrics", "observed_state", "randomized_pit", "review",
           "rep_month_features", "rolling_backtest"]
