"""Backtests: fit on the history up to a cutoff, forecast the next months, compare with what
happened.

For a cutoff month and a horizon of K months, :func:`backtest`

1. fits the model to the history up to and including the cutoff (:mod:`okma_sim.inference`);
2. simulates the next K months with what is recorded for them: the roster (who worked which
   month; a new rep takes a vacated seat and its customer book) and the team's average
   prospect visits, follow-up visits and training hours of each month. Parameters are drawn
   from the fitted distributions (with their rank correlations), so the forecast carries the
   estimation uncertainty as well as the month-to-month noise;
3. compares, for each metric the data support and each month, the actual value with the
   forecast's p05, p50, p95 and its PIT (probability integral transform, randomised for
   counts so that it is uniform under a calibrated forecast); reports the coverage of the
   central 50/80/95% intervals (the share of metric-months whose PIT falls inside them), and
   the CRPS of the forecast against a naive baseline: the trailing (up to 12) months' values
   of the metric as an ensemble, i.e. the trailing mean with its empirical spread.

Metrics: ``revenue``, ``new_customers``, ``revisit_rate`` and ``csat`` (survey months only)
for a rep-month history; ``revenue`` and ``wins`` for an opportunity export. Each is the team
total (or team ratio) over the reps who worked the month, as the history CSV defines it.

Each rep (an export's ``by`` group) is also scored on its own months after the cutoff,
against the seat standing for it and its own trailing months (``agent_metrics``).

:func:`rolling_backtest` repeats this at every feasible cutoff and pools the metric-months.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import pandas as pd

from okma_sim._core.calendar import (is_month, month_number, month_numbers, month_ordinal,
                                     month_text)
from okma_sim._core.errors import DataError
from okma_sim._core.paths import case_study_path
from okma_sim.models import get_model
from okma_sim.plan import Plan, load_plan

from ._backtest_result import BacktestResult, BacktestRun
from ._calibrate import fit_history, history_format
from ._fit_result import FitResult
from ._forecast import (actual_rep_month, draw_params, metric_series, opportunity_setup,
                        rep_month_setup, rep_totals, simulate_window, trailing)
from ._scores import crps_ensemble, randomized_pit

__all__ = ["backtest", "rolling_backtest", "history_months", "check_cutoff"]

#: default number of months the fit needs before the first rolling cutoff
MIN_TRAIN = {"rep-month": 6, "opportunities": 3}


# --------------------------------------------------------------------------------------------
# the history's months and cutoff checks
# --------------------------------------------------------------------------------------------
def history_months(history: pd.DataFrame, fmt: str | None = None) -> tuple[int, int]:
    """(first fitted month, last month) as month numbers (``Period[M]`` ordinals).

    For an opportunity export the months are close months, and the first one (a backlog)
    is not fitted.
    """
    fmt = history_format(history, fmt)
    if fmt == "rep-month":
        ym = month_numbers(history)
        return int(ym.min()), int(ym.max())
    closed = history.loc[history["deal_stage"].isin(["Won", "Lost"]), "close_date"].dropna()
    if closed.empty:
        raise DataError("the export has no closed (Won or Lost) deals",
                        file=history.attrs.get("source"))
    ym = month_ordinal(closed)
    return int(ym.min()) + 1, int(ym.max())


def check_cutoff(history: pd.DataFrame, cutoff: str, horizon: int, fmt: str | None = None,
                 min_train: int = 1) -> int:
    """Validate a cutoff (``YYYY-MM``) and horizon against the history; returns the cutoff's
    month number. Raises DataError naming the file, the option and the bad value."""
    src = history.attrs.get("source")
    if not is_month(cutoff):
        raise DataError("must be a month written YYYY-MM", file=src, key="--cutoff",
                        value=cutoff)
    first, last = history_months(history, fmt)
    c = month_number(cutoff)
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise DataError("--horizon must be a positive whole number of months", file=src,
                        key="--horizon", value=horizon)
    if c < first + min_train - 1 or c > last:
        what = "fitted months" if history_format(history, fmt) == "opportunities" else "months"
        raise DataError(f"cutoff outside the data: the history's {what} run "
                        f"{month_text(first)} to {month_text(last)}"
                        + (f" and the fit needs {min_train} of them" if min_train > 1 else ""),
                        file=src, key="--cutoff", value=cutoff)
    if c + horizon > last:
        raise DataError(f"horizon longer than the data after the cutoff: {last - c} month(s) "
                        f"follow {cutoff} (to {month_text(last)})", file=src, key="--horizon",
                        value=int(horizon))
    return c


# --------------------------------------------------------------------------------------------
# backtests
# --------------------------------------------------------------------------------------------
def backtest(history: pd.DataFrame, cutoff: str, horizon: int = 3, *, fmt: str | None = None,
             plan: Plan | None = None, n_paths: int = 2000, seed: int = 0,
             by: str = "sales_agent", model: Any = None, sampler: str = "mc",
             executor: Any = None) -> BacktestResult:
    """Fit on the history up to and including ``cutoff``, forecast the next ``horizon``
    months with what was recorded for them, and score the forecast against what happened.

    Parameters
    ----------
    history : DataFrame
        From :func:`okma_sim.inference.load_history` (rep-month or opportunity export).
    cutoff : str
        Last month (``YYYY-MM``) the fit sees.
    horizon : int
        Months forecast after the cutoff.
    fmt : {"rep-month", "opportunities"}, optional
        Detected from the columns when omitted.
    plan : Plan, optional
        Priors, working assumptions and the levels of levers the history does not record
        (default: the bundled case study).
    n_paths, seed : int
        Monte Carlo paths and the seed that fixes every draw.
    by : str
        Panel grouping of an opportunity export.
    sampler : {"mc", "lhs", "sobol"}
        Design of the parameter draws.
    executor : concurrent.futures.Executor or dask.distributed.Client, optional
        Runs the backtest there; the result is identical to in-process.

    Returns
    -------
    BacktestResult

    Examples
    --------
    >>> import okma_sim
    >>> from okma_sim.inference import load_history
    >>> h = load_history(okma_sim.data_path("sales_history.csv"))
    >>> bt = backtest(h, "2026-06", 3, n_paths=500, seed=1)
    >>> sorted(bt.coverage)
    ['50', '80', '95']
    """
    kw = dict(fmt=fmt, plan=plan, n_paths=n_paths, seed=seed, by=by, model=model, min_train=1,
              sampler=sampler)
    if executor is None:
        return _backtest_one(history, cutoff, horizon, **kw)
    return executor.submit(_backtest_one, history, cutoff, horizon, **kw).result()


def _backtest_one(history, cutoff, horizon, *, fmt, plan, n_paths, seed, by, model,
                  min_train, sampler="mc") -> BacktestResult:
    """One backtest in this process (``executor`` runs this)."""
    fmt = history_format(history, fmt)
    if plan is None:
        plan = load_plan(case_study_path())
    model = get_model(plan.model) if model is None else model
    c = check_cutoff(history, cutoff, horizon, fmt, min_train)
    fit = fit_history(history, plan, fmt, through=cutoff, by=by, seed=seed, model=model)
    months = [c + 1 + g for g in range(horizon)]
    ss = np.random.SeedSequence(seed)
    s_par, s_sim, s_pit = ss.spawn(3)
    pinned = {"rep_attrition_annual": 0.0,  # the recorded roster says who works
              "marketing_effect": fit.plugins.get("marketing_effect", 0.0)}
    params = draw_params(fit, n_paths, np.random.default_rng(s_par), pinned, sampler)
    # the fit's notes about the scenario it would write (roster vacancies, a short baseline)
    # do not concern a backtest, which follows the recorded roster
    warn = [w for w in fit.warnings if "vacant in" not in w and "baseline" not in w]
    sim_rep: dict[str, dict[str, np.ndarray]] = {}
    sim_t, actual_t = _forecast(history, fit, plan, fmt, c, horizon, by, params,
                                int(s_sim.generate_state(1)[0]), model, sim_rep)
    entries = _score(metric_series(sim_t, fmt), metric_series(actual_t, fmt), months,
                     monthly=fit.monthly, n_paths=n_paths,
                     v_rng=np.random.default_rng(s_pit), warn=warn)
    # the agents' PIT draws come from a fourth child: the team's streams stay as they were
    rep_entries = _score_reps(sim_rep, rep_totals(history, fmt, by), fmt, months,
                              fit_months=set(month_numbers(fit.monthly)), n_paths=n_paths,
                              v_rng=np.random.default_rng(ss.spawn(1)[0]))
    run = BacktestRun(cutoff=cutoff, horizon=horizon, metrics=tuple(entries),
                      warnings=tuple(warn), agent_metrics=tuple(rep_entries),
                      agent_level=_level(fmt, by))
    return BacktestResult(runs=(run,), rolling=False, format=fmt, n_paths=n_paths, seed=seed,
                          warnings=tuple(dict.fromkeys(warn)), fit=fit)


def _forecast(history: pd.DataFrame, fit: FitResult, plan: Plan, fmt: str, c: int,
              horizon: int, by: str, params: Mapping[str, np.ndarray], seed: int,
              model: Any, sim_rep: dict[str, dict[str, np.ndarray]] | None = None
              ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Team totals of the months after cutoff ``c``: forecast (paths, months) and actual;
    each rep's forecast totals into ``sim_rep``."""
    if fmt == "rep-month":
        seats, roster, levers, info = rep_month_setup(history, fit, plan, c, horizon)
        actual_t = actual_rep_month(history, [c + 1 + g for g in range(horizon)])
    else:
        seats, roster, levers, actual_t = opportunity_setup(history, fit, plan, c, horizon, by)
        info = {}
        actual_t = {**actual_t, "active": np.zeros(horizon)}
    sim_t = simulate_window(plan, seats, roster, levers, params, month_text(c + 1), seed, model,
                            info, by_rep=sim_rep)
    return sim_t, actual_t


def _score(sim: Mapping[str, np.ndarray], act: Mapping[str, np.ndarray], months: list[int], *,
           monthly: pd.DataFrame, n_paths: int, v_rng: np.random.Generator,
           warn: list[str]) -> list[dict[str, Any]]:
    """One entry per metric and month with a value: the month's step after the cutoff
    (1 to the horizon), the actual, the forecast's quantiles, PIT and CRPS, and the naive
    baseline's CRPS."""
    entries = []
    for metric in sim:
        base = trailing(monthly, metric)
        for g, m in enumerate(months):
            y = float(act[metric][g])
            v = float(v_rng.random())  # drawn for every metric-month: fixed by the seed
            if not np.isfinite(y):
                continue  # no survey this month, say
            x = sim[metric][:, g]
            x = x[np.isfinite(x)]
            if x.size < max(20, n_paths // 20):
                warn.append(f"{metric} {month_text(m)}: only {x.size} of {n_paths} paths have "
                            "a value (e.g. no survey scheduled that month): not compared")
                continue
            entries.append({"metric": metric, "month": month_text(m), "step": g + 1,
                            **_compare(x, y, base, v)})
    return entries


def _compare(x: np.ndarray, y: float, base: np.ndarray, v: float) -> dict[str, float]:
    """The actual ``y`` against the forecast ensemble ``x`` (finite values) and the naive
    ensemble ``base``: quantiles, randomised PIT (uniform ``v``), CRPS of both."""
    q05, q50, q95 = np.quantile(x, [0.05, 0.5, 0.95])
    return {"actual": y, "p05": float(q05), "p50": float(q50), "p95": float(q95),
            "pit": randomized_pit(x, y, v), "crps": crps_ensemble(x, y),
            "baseline_crps": crps_ensemble(base, y) if base.size >= 2 else math.nan}


def _level(fmt: str, by: str) -> str:
    """What one forecast seat stands for: a rep of a rep-month history, a ``by`` group of an
    export."""
    return "rep_id" if fmt == "rep-month" else by


def _score_reps(sim_rep: Mapping[str, Mapping[str, np.ndarray]], totals: pd.DataFrame,
                fmt: str, months: list[int], *, fit_months: set[int], n_paths: int,
                v_rng: np.random.Generator) -> list[dict[str, Any]]:
    """One entry per rep, metric and month the rep worked after the cutoff: the rep's actual
    against the forecast of the seat standing for them, and against the rep's own naive
    baseline (the team's rule: the metric's last, up to 12, fitted months of that rep, all
    at or before the cutoff). Rep-months whose forecast has too few values (a CSAT month
    without a survey) are left out silently: the team level warns about them."""
    entries = []
    cutoff = months[0] - 1
    for rep in sorted(sim_rep):
        rows = totals[totals["rep_id"] == rep]
        past = rows[(rows["ym"] <= cutoff) & rows["ym"].isin(fit_months)]
        cols = [k for k in rows.columns if k not in ("ym", "rep_id")]
        base_m = metric_series({k: past[k].to_numpy(float) for k in cols}, fmt)
        act = rows.set_index("ym")
        sim_m = metric_series(sim_rep[rep], fmt)
        for metric in sim_m:
            base = base_m[metric][np.isfinite(base_m[metric])][-12:]
            for g, m in enumerate(months):
                v = float(v_rng.random())  # drawn for every rep-month: fixed by the seed
                if m not in act.index:
                    continue  # not working this month
                y = float(metric_series({k: act.loc[m, k] for k in cols}, fmt)[metric])
                x = sim_m[metric][:, g]
                x = x[np.isfinite(x)]
                if not np.isfinite(y) or x.size < max(20, n_paths // 20):
                    continue
                entries.append({"metric": metric, "month": month_text(m), "step": g + 1,
                                "agent": rep, **_compare(x, y, base, v)})
    return entries


def rolling_backtest(history: pd.DataFrame, horizon: int = 3, *, fmt: str | None = None,
                     plan: Plan | None = None, n_paths: int = 2000, seed: int = 0,
                     by: str = "sales_agent", first_cutoff: str | None = None,
                     min_train: int | None = None, model: Any = None,
                     sampler: str = "mc", executor: Any = None) -> BacktestResult:
    """:func:`backtest` at every feasible cutoff, pooled.

    Cutoffs run from the first month that leaves ``min_train`` fitted months (or
    ``first_cutoff``) to the last that leaves ``horizon`` months after it. Run k uses seed
    ``SeedSequence(seed)`` child k, so with an ``executor`` (a concurrent.futures Executor or
    a Dask client) the cutoffs run in parallel and the result is identical to in-process.

    Examples
    --------
    >>> import okma_sim
    >>> from okma_sim.inference import load_history
    >>> h = load_history(okma_sim.data_path("sales_history.csv"))
    >>> bt = rolling_backtest(h, 3, n_paths=300, seed=2, first_cutoff="2026-08")
    >>> [r.cutoff for r in bt.runs]
    ['2026-08', '2026-09']
    """
    fmt = history_format(history, fmt)
    given = min_train is not None
    min_train = MIN_TRAIN[fmt] if min_train is None else int(min_train)
    first, last = history_months(history, fmt)
    start = first + min_train - 1
    if first_cutoff is not None:
        start = check_cutoff(history, first_cutoff, horizon, fmt, min_train)
    if start + horizon > last:
        # a --min-train given that leaves no month to compare is the culprit, else --horizon
        key, value = ("--min-train", min_train) if given and start >= last else \
            ("--horizon", horizon)
        raise DataError(f"no feasible cutoff: {last - first + 1} fitted months, {min_train} "
                        f"needed to fit and {horizon} to compare",
                        file=history.attrs.get("source"), key=key, value=value)
    cutoffs = list(range(start, last - horizon + 1))
    seeds = np.random.SeedSequence(seed).spawn(len(cutoffs))
    runs, warn = [], []
    calls = [((history, month_text(c), horizon),
              dict(fmt=fmt, plan=plan, n_paths=n_paths, seed=int(s.generate_state(1)[0]),
                   by=by, model=model, min_train=min_train, sampler=sampler))
             for c, s in zip(cutoffs, seeds)]
    if executor is None:
        results = [_backtest_one(*a, **k) for a, k in calls]
    else:
        futures = [executor.submit(_backtest_one, *a, **k) for a, k in calls]
        results = [f.result() for f in futures]  # in cutoff order, whatever finished first
    for r in results:
        runs.append(r.runs[0])
        warn += list(r.warnings)
    return BacktestResult(runs=tuple(runs), rolling=True, format=fmt, n_paths=n_paths,
                          seed=seed, warnings=tuple(dict.fromkeys(warn)))
