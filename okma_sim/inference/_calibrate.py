"""Calibration: fit the sales-team model's parameters to history, with honest uncertainty.

Two inputs are understood (see :mod:`okma_sim.io` for the loaders):

* the **rep-month history** CSV (docs/calibration.md, section 1): every parameter it identifies is fitted;
* the **opportunity-level CRM export**: wins per agent-month, deal values, rep spread and
  quarter-end bunching are mapped onto the model; everything else keeps its prior.

How the fit works (docs/calibration.md has the full story and every row rule):

* Each group of parameters that share data is fitted jointly by its posterior mode on an
  unconstrained scale (log, logit or identity, from the prior's support), with a Laplace
  (Fisher information plus prior) approximation of the joint uncertainty: acquisition and
  revenue (``base_win_rate``, ``skill_cv``, ``visit_elasticity``, ``training_effect``,
  ``quarter_end_uplift``, ``order_value``, ``repeat_order_rate``, ``visit_order_effect``: the
  last only where the history's customer visits vary), churn, follow-up reach
  (``followup_targeting`` and ``revisit_heterogeneity``, the curve's shape: again only where
  the customer visits vary) and CSAT. Each parameter's marginal interval then comes from the
  posterior along its conditional line, which keeps the skew the symmetric Laplace normal
  loses (a variance component such as ``skill_cv`` from a dozen reps); the reach pair's, from
  a grid over the heterogeneity. Survey completion and response rate use conjugate beta
  posteriors, rep attrition a grid posterior.
* Rep skill is a random effect (lognormal, mean 1): the acquisition likelihood integrates it out
  per rep (adaptive Gauss-Hermite), so ``skill_cv`` is fitted from the between-rep spread, and
  each rep's skill is partially pooled (empirical Bayes): a rep with three months is pulled
  toward the team mean.
* The prior of each parameter is the plan's (or the model's). Where the data carry more than
  ten times the prior's information about a parameter on its own, a vague prior replaces it, so
  a generic default never drags a well-measured quantity.
* A parameter is reported ``"fitted"`` when the data shrank its uncertainty (posterior sd under
  0.9 of the prior's, on the fitting scale), or when it is identified jointly with another
  (posterior correlation of 0.5 or more and a shrunk joint spread: order value and repeat-order
  rate are pinned mostly as their product). Otherwise it keeps its prior, is written unchanged
  and is reported with ``source = "prior"``. Posterior correlations within a group are written
  to the scenario's ``[correlations]`` (rank correlations, applied by Iman-Conover).
"""

from __future__ import annotations

import os
from typing import Any, Mapping

import pandas as pd

from okma_sim._core.errors import OkmaError
from okma_sim._core.paths import case_study_path
from okma_sim.io import load_opportunities, load_rep_month
from okma_sim.plan import Plan, load_plan

from ._fit_opportunities import fit_opportunities
from ._fit_rep_month import fit_rep_month
from ._fit_result import FitResult

__all__ = ["FORMATS", "load_history", "fit_history", "calibrate"]

#: history formats the CLI and :func:`load_history` understand
FORMATS = ("rep-month", "opportunities")


def history_format(history: pd.DataFrame, fmt: str | None = None) -> str:
    """``fmt``, or the format of a loaded history detected from its columns."""
    if fmt is None:
        return "opportunities" if "deal_stage" in history.columns else "rep-month"
    return fmt


def load_history(path: str | os.PathLike, fmt: str = "rep-month", *,
                 columns: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Load and validate a history file in one of :data:`FORMATS`.

    Examples
    --------
    >>> import okma_sim
    >>> h = load_history(okma_sim.data_path("sales_history.csv"))
    >>> h["month"].min(), h["month"].max()
    ('2025-01', '2026-12')
    """
    if fmt == "rep-month":
        return load_rep_month(path, columns=columns)
    if fmt == "opportunities":
        return load_opportunities(path, columns=columns)
    raise OkmaError(f"unknown history format; use one of {', '.join(FORMATS)}", key="--format",
                    value=fmt)


def fit_history(history: pd.DataFrame, plan: Plan | None = None, fmt: str | None = None, *,
                model: Any = None, through: str | None = None, by: str = "sales_agent",
                seed: int = 0) -> FitResult:
    """Fit a loaded history (the format is detected from its columns unless given).

    Examples
    --------
    >>> import okma_sim
    >>> fit = fit_history(load_history(okma_sim.data_path("sales_history.csv")))
    >>> fit.format, fit.start_month
    ('rep-month', '2027-01')
    """
    fmt = history_format(history, fmt)
    if fmt == "rep-month":
        return fit_rep_month(history, plan, model=model, through=through)
    if fmt == "opportunities":
        return fit_opportunities(history, plan, model=model, by=by, through=through, seed=seed)
    raise OkmaError(f"unknown history format; use one of {', '.join(FORMATS)}", key="--format",
                    value=fmt)


def calibrate(history: str | os.PathLike, plan: Plan | str | os.PathLike | None = None, *,
              fmt: str = "rep-month", columns: Mapping[str, str] | None = None,
              by: str = "sales_agent", seed: int = 0) -> tuple[Plan, FitResult]:
    """Fit a history file and build the calibrated scenario.

    Parameters
    ----------
    history : path
        A rep-month CSV, or an opportunity export (directory or ``sales_pipeline.csv``).
    plan : Plan or path, optional
        Objectives, key results, levers, actions, management and priors (default: the bundled
        case study).
    fmt : {"rep-month", "opportunities"}
    columns : mapping, optional
        Renames the file's columns to ours.
    by : str
        Panel grouping for the opportunity export.
    seed : int
        Seed of any bootstrap (the fit is otherwise deterministic).

    Returns
    -------
    (Plan, FitResult)

    Examples
    --------
    >>> import okma_sim
    >>> plan, fit = calibrate(okma_sim.data_path("sales_history.csv"))
    >>> okma_sim.check_plan(plan)[0]
    []
    """
    if plan is None or isinstance(plan, (str, os.PathLike)):
        plan = load_plan(case_study_path() if plan is None else plan)
    hist = load_history(history, fmt, columns=columns)
    fit = fit_history(hist, plan, fmt, by=by, seed=seed)
    return fit.to_plan(plan), fit
