"""The opportunity-export fit: what a CRM export identifies (win rate, rep spread and
quarter-end bunching from wins per group-month; deal values), mapped onto the model;
everything else keeps its prior."""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import pandas as pd
from scipy import stats

from okma_sim._core.calendar import (calendar_month, month_number, month_numbers, month_ordinal,
                                     month_text)
from okma_sim._core.errors import DataError
from okma_sim.analysis import lever_level
from okma_sim.io import opportunities_to_panel, opportunity_summary
from okma_sim.models import REFERENCE_PROSPECT_VISITS
from okma_sim.params import Distribution
from okma_sim.plan import Plan, Rep

from ._entries import Collector, entry
from ._features import complete_quarters, crm_effort
from ._fit_result import FitResult, scenario_baseline
from ._laplace import laplace
from ._discrepancy import discrepancy_from_fit
from ._likelihoods import ACQUISITION, SEASON, AcquisitionData, log_marketing
from ._priors import is_fixed, model_and_priors, prior_mean
from ._dispersion import fit_dispersion, season_from_totals
from ._seasonal import choose_and_refit, normalise_factors, record_form, season_notes
from ._vacancies import hiring_delay, open_departures, vacancy_warning, vacant_reps

__all__ = ["fit_opportunities"]

#: bootstrap resamples of the deal values (the CV's uncertainty)
_BOOTSTRAP = 400


def fit_opportunities(opps: pd.DataFrame, plan: Plan | None = None, *, model: Any = None,
                      by: str = "sales_agent", through: str | None = None,
                      seed: int = 0) -> FitResult:
    """Fit what an opportunity-level CRM export identifies; everything else keeps its prior.

    The mapping (docs/calibration.md): a won deal is a new customer and its one order, so
    ``base_win_rate`` comes from wins per agent-month, with opportunities engaged per
    agent-month (trailing 3-month mean, :func:`crm_effort`) standing in for prospect visits;
    ``skill_cv`` and the shrunk skills from the spread of wins between agents;
    the seasonal form chosen by held-out likelihood over the close months (quarter end, or
    month of quarter; the uplift counts as fitted when the window holds three complete
    quarters) and ``new_customer_dispersion`` from the monthly team wins; ``order_value``
    and ``order_value_cv`` from the won deal values (mean with its standard error, CV with a
    bootstrap); ``repeat_order_rate`` is 0 (repeat business
    is booked as new deals). The first close month is left out: it holds a backlog.

    Parameters
    ----------
    opps : DataFrame
        From :func:`okma_sim.io.load_opportunities`.
    plan : Plan, optional
        Priors and working assumptions (default: the case study).
    by : str
        Grouping of the panel: ``sales_agent`` (a rep), ``manager`` or ``regional_office``.
    through : str, optional
        Last close month to use.
    seed : int
        Seed of the deal-value bootstrap.

    Examples
    --------
    >>> import okma_sim
    >>> from okma_sim.inference import fit_opportunities, load_history
    >>> opps = load_history(okma_sim.data_path("crm_sales_opportunities"), "opportunities")
    >>> fit = fit_opportunities(opps)
    >>> fit.entry("order_value").source, fit.entry("churn_base").source
    ('fitted', 'prior')
    """
    plan, model, priors = model_and_priors(plan, model)
    col = Collector(priors, dict(getattr(model, "parameter_bounds", {})))
    source = opps.attrs.get("source")
    panel = opportunities_to_panel(opps, by=by)
    panel["ym"] = month_numbers(panel)
    first_close, end = _close_window(opps, through, source, col.warnings)
    win = panel[(panel["ym"] > first_close) & (panel["ym"] <= end)].copy()
    yms = np.arange(first_close + 1, end + 1)
    effort = crm_effort(panel)
    plugins = _plugins(plan, model, priors, float(effort.reindex(yms).mean()))
    skills = _fit_win_rate(col, win, effort, plugins, by, complete_quarters(yms))
    won = opps[(opps["deal_stage"] == "Won") & opps["close_date"].notna()]
    won_ym = month_ordinal(won["close_date"])
    won = won[(won_ym > first_close) & (won_ym <= end)]
    _fit_deal_values(col, won["close_value"].to_numpy(float), seed)
    for n in priors:
        if n not in col.entries:
            col.prior(n, "not in an opportunity export")
    monthly, details = _details(opps, panel, by, first_close, end,
                                plugins["engaged_per_rep_month"])
    return _result(col, model, plan, win, skills, monthly, details, plugins, first_close, end,
                   source)


def _close_window(opps: pd.DataFrame, through: str | None, source: str | None,
                  warn: list[str]) -> tuple[int, int]:
    """The first close month (a backlog, left out) and the last fitted one."""
    closes = opps.loc[opps["deal_stage"].isin(["Won", "Lost"]), "close_date"].dropna()
    if closes.empty:
        raise DataError("the export has no closed (Won or Lost) deals", file=source)
    close_ym = month_ordinal(closes)
    first_close, last_close = int(close_ym.min()), int(close_ym.max())
    end = last_close if through is None else month_number(through)
    if end < first_close + 1:
        # a cutoff (backtests) is named as the bad value; without one the export itself is short
        raise DataError("needs at least one close month after the first "
                        f"({month_text(first_close)}, which holds a backlog)", file=source,
                        key=None if through is None else "cutoff", value=month_text(end))
    warn.append(f"the first close month ({month_text(first_close)}) holds a backlog of older "
                "deals and is left out of the fit")
    return first_close, end


def _plugins(plan: Plan, model: Any, priors: Mapping[str, Any],
             engaged: float) -> dict[str, float]:
    """Values assumed for what the export does not record (and the effort it does)."""
    return {"marketing_effect": prior_mean(priors["marketing_effect"]),
            "marketing_events_per_quarter": lever_level(plan, model,
                                                        "marketing_events_per_quarter"),
            "engaged_per_rep_month": engaged, "training_retention":
            prior_mean(priors["training_retention"]), "csat_surveys_per_year": 0.0}


def _fit_win_rate(col: Collector, win: pd.DataFrame, effort: pd.Series,
                  plugins: Mapping[str, float], by: str, n_quarters: int) -> pd.DataFrame:
    """Fit the acquisition parameters to wins per group-month; returns the shrunk skills."""
    priors = col.priors
    engaged = plugins["engaged_per_rep_month"]
    lmkt = log_marketing(plugins["marketing_effect"], plugins["marketing_events_per_quarter"])
    reps = sorted(win["rep_id"].unique())
    rep_index = {r: i for i, r in enumerate(reps)}
    e_row = effort.reindex(win["ym"]).to_numpy(float)
    acq = AcquisitionData(rep=win["rep_id"].map(rep_index).to_numpy(int),
                          n=win["won"].to_numpy(float),
                          lpv=np.log(np.maximum(e_row, 1e-9) / REFERENCE_PROSPECT_VISITS),
                          g=np.zeros(len(win)), cm=calendar_month(win["ym"]), lmkt=lmkt,
                          n_reps=len(reps), rep_ids=reps, ym=win["ym"].to_numpy(int))

    def refit(names: list[str], pri: Mapping[str, Any]):
        fixed = {n: (float(pri[n].args["value"]) if is_fixed(pri[n]) else prior_mean(pri[n]))
                 for n in ACQUISITION if n not in names}
        # no training is recorded: the win rate is that of the team as trained
        fixed["training_effect"] = 0.0
        lap = laplace([col.prior_of(n) for n in names], acq.loglik, fixed)
        return lap, {**fixed, **lap.theta()}

    names = [n for n in ("base_win_rate", "skill_cv", "visit_elasticity", "quarter_end_uplift")
             if not is_fixed(priors[n])]
    lap, th = refit(names, priors)
    choice, names, lap, th = choose_and_refit(col, acq, names, lap, th, refit)
    n_rows = len(win)
    what = f"{by}-months of the close window (wins)"
    notes = {"quarter_end_uplift": "" if n_quarters >= 3 else
             f"only {n_quarters} complete quarters (3 needed)",
             "base_win_rate": f"wins per {by}-month; opportunities engaged (trailing 3-month "
             f"mean, {engaged:.1f} per {by}-month) stand in for prospect visits"}
    notes = season_notes(choice, notes)
    col.from_laplace(lap, {n: n_rows for n in names}, {n: what for n in names},
                     require={"quarter_end_uplift": n_quarters >= 3}, notes=notes)
    normalise_factors(col, lap)
    season_from_totals(col, acq, th, priors)
    for n in SEASON:
        if n not in col.entries:
            col.prior(n, notes.get(n, ""))
    record_form(col, choice, n_rows, what)
    fit_dispersion(col, acq, th, "close months (team wins vs the fitted rates)", priors)
    discrepancy_from_fit(col, acq, None, th, "close months (team wins vs the fitted rates: "
                         "residuals beyond the model's own noise)")
    return acq.skills(th)


def _fit_deal_values(col: Collector, vals: np.ndarray, seed: int) -> None:
    """Order value (mean with its standard error) and its CV (bootstrap) from the won deals;
    no repeat orders."""
    if not (vals.size >= 2 and vals.mean() > 0):
        col.prior("order_value", "fewer than 2 won deals")
        col.prior("order_value_cv", "fewer than 2 won deals")
        return
    mean, se = float(vals.mean()), float(vals.std(ddof=1) / math.sqrt(vals.size))
    d = Distribution("lognormal", {"median": mean, "sigma": max(se / mean, 1e-9)})
    col.entries["order_value"] = entry("order_value", d, vals.size, "fitted",
                                       "won deals of the close window (close_value)",
                                       "a won deal is one order")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, vals.size, size=(_BOOTSTRAP, vals.size))
    boot = vals[idx]
    cvs = boot.std(axis=1, ddof=1) / boot.mean(axis=1)
    cv = float(vals.std(ddof=1) / mean)
    sig = float(np.std(np.log(cvs)))
    col.entries["order_value_cv"] = entry(
        "order_value_cv", Distribution("lognormal", {"median": cv, "sigma": max(sig, 1e-9)}),
        vals.size, "fitted", "won deals of the close window (close_value)",
        f"coefficient of variation of deal values (bootstrap, {_BOOTSTRAP} resamples)")
    col.flat.update(("order_value", "order_value_cv"))  # no prior enters these two
    # every order is a won deal (repeat business is booked as new deals in the export)
    col.entries["repeat_order_rate"] = entry(
        "repeat_order_rate", Distribution("fixed", {"value": 0.0}), vals.size, "fitted",
        "won deals of the close window", "mapping: every order is a won deal (repeat "
        "business is booked as new deals), so no repeat orders")


def _details(opps: pd.DataFrame, panel: pd.DataFrame, by: str, first_close: int, end: int,
             engaged: float) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Monthly totals of the close window (the backlog month included) and the export's
    summaries (:attr:`FitResult.details`)."""
    summary = opportunity_summary(opps)
    mon = panel[(panel["ym"] >= first_close) & (panel["ym"] <= end)]
    monthly = (mon.groupby("month").agg(reps=("rep_id", "nunique"), engaged=("engaged", "sum"),
                                        wins=("won", "sum"), lost=("lost", "sum"),
                                        revenue=("revenue", "sum")).reset_index())
    by_group = {}
    for g in ("sales_agent", "manager", "regional_office"):
        if g in opps.columns and opps[g].notna().all():
            p = panel if g == by else opportunities_to_panel(opps, by=g)
            p = p[(month_numbers(p) >= first_close) & (month_numbers(p) <= end)]
            by_group[g] = p[["month", "rep_id", "won", "revenue"]].rename(
                columns={"rep_id": g, "won": "wins"}).to_dict(orient="records")
    wr = summary["win_rate"]
    beta = stats.beta(wr["won"] + 0.5, wr["lost"] + 0.5)
    details = {
        "win_rate": {"estimate": wr["rate"], "low90": float(beta.ppf(0.05)),
                     "high90": float(beta.ppf(0.95)), "won": wr["won"], "lost": wr["lost"]},
        "deal_value": summary["deal_value"],
        "cycle_days": summary["cycle_days"],
        "rep_spread": summary["rep_spread"],
        "engaged_per_rep_month": engaged,
        "monthly": monthly,
        "by_group": by_group,
    }
    return monthly, details


def _result(col: Collector, model: Any, plan: Plan, win: pd.DataFrame, skills: pd.DataFrame,
            monthly: pd.DataFrame, details: dict[str, Any], plugins: dict[str, float],
            first_close: int, end: int, source: str | None) -> FitResult:
    """The fit's result: entries in the model's order, the groups of the last month as the
    roster (no customer book) with the seats vacant in it, the baseline from the fitted
    months."""
    warn = col.warnings
    roster = tuple(Rep(id=str(r), tenure_months=float(plan.team.tenure_months), customers=0.0,
                       skill=float(round(s, 4)))
                   for r, s in zip(skills["rep_id"], skills["shrunk"])
                   if r in set(win.loc[win["ym"] == end, "rep_id"]))
    roster += _vacant_seats(col, win, end)
    warn.append("the export has no customer book: the roster starts with no customers; "
                "repeat orders, churn, follow-ups and CSAT keep their priors")
    rev_monthly = monthly[monthly["month"] > month_text(first_close)]
    baseline = scenario_baseline(rev_monthly.tail(12), warn)
    order = list(model.parameters)
    entries = col.report(order)
    mon_tm = monthly.rename(columns={"wins": "new_customers"})
    return FitResult(entries=entries, correlations=col.correlations(), skills=skills,
                     monthly=mon_tm, roster=roster, baseline=baseline,
                     start_month=month_text(end + 1), first_month=month_text(first_close + 1),
                     last_month=month_text(end), format="opportunities", source=source,
                     warnings=tuple(warn), details=details, plugins=plugins,
                     # an export records deals, not visits or training hours: no lever's
                     # range is observed (its engagements are no visit count), none is written
                     observed={})


def _vacant_seats(col: Collector, win: pd.DataFrame, end: int) -> tuple[Rep, ...]:
    """The seats vacant in the last month, by the rep-month rule (a group whose activity ended
    before it, not replaced by a newcomer), with no book: the export has none."""
    seats = int(win.groupby("ym")["rep_id"].nunique().max())
    open_seats = open_departures(win.groupby("rep_id")["ym"].agg(["min", "max"]), end,
                                 at_most=max(0, seats - int((win["ym"] == end).sum())))
    if not open_seats:
        return ()
    delay = hiring_delay(col.entries["hiring_delay_months"].distribution)
    vacant = vacant_reps(open_seats, end, delay, {r: 0.0 for r, _ in open_seats})
    col.warnings.append(vacancy_warning(vacant, open_seats, end, seats, delay))
    return vacant
