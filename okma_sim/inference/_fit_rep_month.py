"""The rep-month fit: every parameter a rep-month history identifies, group by group
(acquisition and revenue jointly, churn, follow-up reach, CSAT, surveys, rep attrition), then
the roster and baseline of the calibrated scenario."""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import pandas as pd

from okma_sim._core.calendar import calendar_month, month_number, month_numbers, month_text
from okma_sim._core.errors import DataError
from okma_sim.analysis import lever_level
from okma_sim.models import REFERENCE_PROSPECT_VISITS, WEEKS_PER_MONTH, survey_month
from okma_sim.params import Distribution
from okma_sim.plan import Plan, Rep

from ._discrepancy import discrepancy_from_fit
from ._entries import Collector
from ._features import complete_quarters, rep_month_features
from ._fit_result import FitResult, scenario_baseline
from ._laplace import Laplace, Term, laplace
from ._nested import nested_marginals
from ._likelihoods import (ACQUISITION, REVENUE, SEASON, AcquisitionData, ChurnData, CsatData,
                           ReachData, RevenueData, log_marketing)
from ._priors import grid_beta, is_fixed, model_and_priors, ppf, prior_mean, support
from ._dispersion import fit_dispersion, season_from_totals
from ._seasonal import choose_and_refit, normalise_factors, record_form, season_notes
from ._vacancies import (hiring_delay, open_departures, seat_book, vacancy_warning,
                         vacant_reps)

__all__ = ["fit_rep_month"]

_SKILL_COLUMNS = ["rep_id", "months", "new_customers", "exposure", "raw", "shrunk", "sd"]
#: customer visits per rep-month must vary by at least this coefficient of variation (over the
#: rep-months with customers) for the history to identify the visits' effect on orders
VISITS_VARY_CV = 0.05
#: the levers a rep-month history records: lever -> (its column, the column's units per lever
#: unit: visits a month per visit a week at 52/12 weeks a month)
OBSERVED_LEVERS = {"prospect_visits_per_week": ("prospect_visits", WEEKS_PER_MONTH),
                   "customer_visits_per_week": ("customer_visits", WEEKS_PER_MONTH),
                   "training_hours_per_month": ("training_hours", 1.0)}


def fit_rep_month(hist: pd.DataFrame, plan: Plan | None = None, *, model: Any = None,
                  through: str | None = None) -> FitResult:
    """Fit the model's parameters to a rep-month history.

    Parameters
    ----------
    hist : DataFrame
        From :func:`okma_sim.io.load_rep_month`.
    plan : Plan, optional
        Supplies the priors (its ``[parameters]`` over the model's), the levers the history
        does not record (marketing events, CSAT surveys a year: assumed at the plan's levels),
        and the working assumptions (tenure of reps already present). Default: the case study.
    model : Model, optional
        Default: the plan's (the sales-team model).
    through : str, optional
        Last month (``YYYY-MM``) to use; later rows are ignored (backtests).

    Returns
    -------
    FitResult

    Examples
    --------
    >>> import okma_sim
    >>> from okma_sim.inference import fit_rep_month, load_history
    >>> fit = fit_rep_month(load_history(okma_sim.data_path("sales_history.csv")))
    >>> fit.entry("base_win_rate").source
    'fitted'
    """
    plan, model, priors = model_and_priors(plan, model)
    col = Collector(priors, dict(getattr(model, "parameter_bounds", {})))
    source = hist.attrs.get("source")
    history_start = str(hist["month"].min())
    if through is not None:
        hist = hist[month_numbers(hist) <= month_number(through)]
        if hist.empty:
            raise DataError("no history rows up to this month", file=source, key="cutoff",
                            value=through)
    plugins = _plugins(plan, model, priors)
    df = rep_month_features(hist, retention=plugins["training_retention"],
                            ramp_full=_ramp_full(priors), start_tenure=plan.team.tenure_months,
                            history_start=history_start)
    yms = np.arange(int(df["ym"].min()), int(df["ym"].max()) + 1)
    lmkt = log_marketing(plugins["marketing_effect"], plugins["marketing_events_per_quarter"])
    skills = _fit_acquisition_revenue(col, df, priors, lmkt)
    _fit_customers(col, df)
    _fit_surveys(col, df, yms, plugins["csat_surveys_per_year"])
    _fit_attrition(col, df, priors)
    for n in ("training_retention", "coaching_effect", "marketing_effect",
              "hiring_delay_months", "ramp_months", "order_value_cv"):
        if n not in col.entries:
            col.prior(n, "not identified by rep-month data")
    for n in priors:
        if n not in col.entries:
            col.prior(n)
    return _result(col, model, df, yms, skills, source, plugins)


# --------------------------------------------------------------------------------------------
# what the history does not record
# --------------------------------------------------------------------------------------------
def _plugins(plan: Plan, model: Any, priors: Mapping[str, Any]) -> dict[str, float]:
    """Values assumed for what the history does not record: training retention, marketing
    effect and events, CSAT surveys a year (the plan's levels, the priors' means)."""
    return {"training_retention": prior_mean(priors["training_retention"]),
            "marketing_effect": prior_mean(priors["marketing_effect"]),
            "marketing_events_per_quarter": lever_level(plan, model,
                                                        "marketing_events_per_quarter"),
            "csat_surveys_per_year": lever_level(plan, model, "csat_surveys_per_year")}


def _ramp_full(priors: Mapping[str, Any]) -> int:
    """Months after which every rep is fully ramped (the ramp prior's upper end)."""
    ramp_hi = support(priors["ramp_months"])[1]
    if not np.isfinite(ramp_hi):
        ramp_hi = ppf(priors["ramp_months"], 0.999)
    return math.ceil(ramp_hi)


# --------------------------------------------------------------------------------------------
# acquisition and revenue (joint: they share the quarter-end uplift)
# --------------------------------------------------------------------------------------------
def _acquisition_data(df: pd.DataFrame, lmkt: float,
                      warn: list[str]) -> tuple[AcquisitionData | None, int]:
    """Ramped rep-months with prospect visits, and their number."""
    acq_rows = df[df["ramped"] & (df["prospect_visits"] > 0)]
    dropped = df[(df["prospect_visits"] == 0) & (df["new_customers"] > 0)]
    if len(dropped):
        warn.append(f"{len(dropped)} rep-months with new customers but no prospect visits were "
                    "left out of the win-rate fit")
    reps = sorted(acq_rows["rep_id"].unique())
    rep_index = {r: i for i, r in enumerate(reps)}
    acq = None
    if len(acq_rows):
        acq = AcquisitionData(rep=acq_rows["rep_id"].map(rep_index).to_numpy(int),
                              n=acq_rows["new_customers"].to_numpy(float),
                              lpv=np.log(acq_rows["prospect_visits"].to_numpy(float)
                                         / REFERENCE_PROSPECT_VISITS),
                              g=acq_rows["g"].to_numpy(float),
                              cm=calendar_month(acq_rows["ym"]), lmkt=lmkt, n_reps=len(reps),
                              rep_ids=reps, ym=acq_rows["ym"].to_numpy(int))
    return acq, len(acq_rows)


def _visits_cv(df: pd.DataFrame) -> float:
    """Coefficient of variation of the customer visits over the rep-months with customers (0
    when there are none, or no visits)."""
    cv = df.loc[df["active_customers"] > 0, "customer_visits"].to_numpy(float)
    mean = float(cv.mean()) if cv.size else 0.0
    return float(cv.std()) / mean if mean > 0 else 0.0


def _constant_visits_note(vcv: float) -> str:
    """Why a parameter that only varying customer visits identify keeps its prior."""
    return (f"customer visits do not vary in the history (coefficient of variation {vcv:.3f}, "
            f"{VISITS_VARY_CV:g} needed)")


def _revisited_kept(rows: pd.DataFrame, vary: bool) -> np.ndarray:
    """The revisited kept customers of each row, min(revisited, kept) (the month's churn is
    counted among the unrevisited first, as in the model). Where the customer visits do not
    vary, the revisited share of the kept customers varies only with the book size and
    chance, not by anyone's choice: every row then gets the history's overall share s, so
    that only the repeat-order rate at that share, repeat_order_rate x (1 + effect x s) /
    (1 + 0.8 effect), is identified and the effect keeps its prior."""
    keep = rows["keep"].to_numpy(float)
    rk = np.minimum(rows["revisited_customers"].to_numpy(float), keep)
    if vary or keep.sum() <= 0:
        return rk
    return keep * (rk.sum() / keep.sum())


def _revenue_data(df: pd.DataFrame, priors: Mapping[str, Any], warn: list[str],
                  vary: bool) -> tuple[RevenueData | None, int]:
    """Rep-months with revenue (or no new customers), and their number (0 without revenue);
    ``vary``: whether the history varies the customer visits."""
    rev_ok = ~((df["revenue"] <= 0) & (df["new_customers"] > 0))
    if (~rev_ok).any():
        warn.append(f"{int((~rev_ok).sum())} rep-months with new customers but no revenue were "
                    "left out of the revenue fit")
    rev_rows = df[rev_ok]
    if not (len(rev_rows) and rev_rows["revenue"].sum() > 0):
        return None, 0
    vprior = priors["order_value_cv"]
    rev = RevenueData(new=rev_rows["new_customers"].to_numpy(float),
                      keep=rev_rows["keep"].to_numpy(float),
                      rk=_revisited_kept(rev_rows, vary), cm=calendar_month(rev_rows["ym"]),
                      rev=rev_rows["revenue"].to_numpy(float),
                      v=float(vprior.args["value"]) if is_fixed(vprior) else None,
                      ym=rev_rows["ym"].to_numpy(int))
    return rev, len(rev_rows)


def _fit_acquisition_revenue(col: Collector, df: pd.DataFrame, priors: Mapping[str, Any],
                             lmkt: float) -> pd.DataFrame:
    """Fit the acquisition and revenue parameters; returns the reps' shrunk skills."""
    acq, n_acq = _acquisition_data(df, lmkt, col.warnings)
    vcv = _visits_cv(df)
    vary = vcv >= VISITS_VARY_CV
    rev, n_rev = _revenue_data(df, priors, col.warnings, vary)
    n_quarters = complete_quarters(df["ym"].to_numpy())
    rows = {"base_win_rate": n_acq, "skill_cv": n_acq, "visit_elasticity": n_acq,
            "training_effect": n_acq, "order_value": n_rev, "repeat_order_rate": n_rev,
            "visit_order_effect": n_rev, "order_value_cv": n_rev}
    rows.update({k: n_acq + n_rev for k in SEASON})
    what = {k: "ramped rep-months with prospect visits" for k in ACQUISITION}
    what.update({k: "rep-months (revenue vs new and kept customers)" for k in REVENUE})
    what["visit_order_effect"] = "rep-months (revenue vs new, kept and revisited customers)"
    what.update({k: "rep-months of the acquisition and revenue fits" for k in SEASON})
    notes = {"quarter_end_uplift": "" if n_quarters >= 3 else
             f"only {n_quarters} complete quarters (3 needed)",
             "visit_order_effect": "" if vary else _constant_visits_note(vcv)}
    skills = pd.DataFrame(columns=_SKILL_COLUMNS)
    names = [n for n in (ACQUISITION if acq is not None else ())
             + (REVENUE if rev is not None else ()) if not is_fixed(priors[n])]
    if acq is None:
        for n in ACQUISITION:
            col.prior(n, "no ramped rep-months with prospect visits")
    if rev is None:
        for n in REVENUE:
            col.prior(n, "no revenue rows")
    th, choice = None, None
    if names:
        lap, th = _fit_joint(names, col.priors, col, acq, rev)
        choice, names, lap, th = choose_and_refit(
            col, acq, names, lap, th, lambda nm, pri: _fit_joint(nm, pri, col, acq, rev))
        notes = season_notes(choice, notes)
        col.from_laplace(lap, rows, what, notes=notes,
                         require={"quarter_end_uplift": n_quarters >= 3,
                                  "visit_order_effect": vary})
        normalise_factors(col, lap)
        season_from_totals(col, acq, th, priors)
        if acq is not None:
            skills = acq.skills(th)
    for n in ACQUISITION + REVENUE:
        if n not in col.entries:
            col.prior(n, notes.get(n, ""))
    record_form(col, choice, rows["quarter_end_uplift"], what["quarter_end_uplift"])
    if th is not None:
        fit_dispersion(col, acq, th, "months (team new customers of the ramped rep-months "
                       "vs the fitted rates)", priors)
        discrepancy_from_fit(col, acq, rev, th, "months (team new customers and revenue vs "
                             "the fitted model: residuals beyond its own noise)")
    return skills


def _fit_joint(names: list[str], priors: Mapping[str, Any], col: Collector,
               acq: AcquisitionData | None,
               rev: RevenueData | None) -> tuple[Laplace, dict[str, float]]:
    """Joint fit of acquisition and revenue (they share the seasonal factor)."""
    pri = [col.prior_of(n) for n in names]
    fixed = {n: float(priors[n].args["value"]) if is_fixed(priors[n]) else prior_mean(priors[n])
             for n in ACQUISITION + REVENUE if n not in names}

    terms: list[Term] = []
    if acq is not None:
        terms.append((ACQUISITION, acq.loglik))
    if rev is not None:
        terms.append((REVENUE + SEASON, rev.loglik))
    lap = laplace(pri, terms, fixed)
    th = {**fixed, **lap.theta()}
    for width in (80, 160):
        if rev is None or rev.window_ok(th):
            break
        # the windows missed the mass at the mode: recentre on it, widen, refit from there
        rev.recenter(float(th["order_value"]), width)
        lap = laplace(pri, terms, fixed, x0=lap.mode)
        th = {**fixed, **lap.theta()}
    return lap, th


# --------------------------------------------------------------------------------------------
# the customer book, surveys and the roster
# --------------------------------------------------------------------------------------------
def _fit_customers(col: Collector, df: pd.DataFrame) -> None:
    """Churn, follow-up reach and CSAT, each group on its own."""
    ch = df[df["active_customers"] > 0]
    col.fit_group(("churn_base", "churn_revisit_effect"),
                  ChurnData(A=ch["active_customers"].to_numpy(float), rr=ch["rr"].to_numpy(float),
                            c=ch["churned_customers"].to_numpy(float)) if len(ch) else None,
                  len(ch), "rep-months with customers")
    _fit_reach(col, ch)
    cs = df[df["csat_responses"] > 0]
    col.fit_group(("csat_base", "csat_coverage_effect", "csat_training_effect"),
                  CsatData(resp=cs["csat_responses"].to_numpy(float),
                           sat=cs["csat_satisfied"].to_numpy(float), rr=cs["rr"].to_numpy(float),
                           stock=cs["stock"].to_numpy(float)) if len(cs) else None,
                  len(cs), "rep-months with survey responses")


def _fit_reach(col: Collector, ch: pd.DataFrame) -> None:
    """Targeting and the revisit curve's heterogeneity, jointly. The curve's shape shows only
    where visits per customer vary by someone's choice: with constant customer visits they
    vary with the book size alone, and the heterogeneity keeps its prior (its posterior
    correlation with the targeting then carries what the data say about the reach there)."""
    # a ramping rep's book receives only the ramp share of the visits (docs/model.md 5.1),
    # and the ramp is itself uncertain: reach is fitted on ramped reps' months
    rc = ch[ch["ramped"]]
    names = ("followup_targeting", "revisit_heterogeneity")
    free = [n for n in names if not is_fixed(col.priors[n])]
    if not len(rc) or not free:
        for n in names:
            col.prior(n, "" if len(rc) else "no rows")
        return
    vcv = _visits_cv(ch)
    vary = vcv >= VISITS_VARY_CV
    data = ReachData(A=rc["active_customers"].to_numpy(float),
                     cv=rc["customer_visits"].to_numpy(float),
                     r=rc["revisited_customers"].to_numpy(float))
    fixed = {n: float(col.priors[n].args["value"]) for n in names if n not in free}
    lap = laplace([col.prior_of(n) for n in free], data.loglik, fixed)
    if len(free) == 2 and lap.ok:
        # the two lie on a curved ridge (many pairs give the same reach at the history's
        # visits): integrate over the heterogeneity rather than along a straight line
        lap = nested_marginals(lap, data.loglik, fixed, outer=1)
    col.from_laplace(lap, {n: len(rc) for n in free},
                     {n: "ramped rep-months with customers" for n in free},
                     require={"revisit_heterogeneity": vary},
                     notes={"revisit_heterogeneity": "" if vary else _constant_visits_note(vcv)})
    for n in names:
        if n not in col.entries:
            col.prior(n)


def _fit_surveys(col: Collector, df: pd.DataFrame, yms: np.ndarray, surveys: float) -> None:
    """Survey completion (team level, against the plan's schedule) and response rate."""
    resp_by_month = df.groupby("ym")["csat_responses"].sum().reindex(yms, fill_value=0)
    done = resp_by_month > 0
    sched = np.array([survey_month(int(c), surveys) for c in calendar_month(yms)])
    if (done & ~sched).any():
        bad = month_text(int(yms[np.flatnonzero(done.to_numpy() & ~sched)[0]]))
        col.warnings.append(f"survey responses in {bad}, a month the plan's schedule "
                            f"({surveys:g} surveys a year) does not include: survey_completion "
                            "keeps its prior")
        col.prior("survey_completion", "survey schedule of the history unknown")
    elif sched.sum() == 0:
        col.prior("survey_completion", "no survey scheduled in the history's months")
    else:
        col.conjugate("survey_completion", float(done[sched].sum()), float(sched.sum()),
                      int(sched.sum()), "scheduled survey months (team level)")
    sv = df[df["ym"].isin(yms[done.to_numpy()])]
    if len(sv) and sv["active_customers"].sum() > 0:
        col.conjugate("survey_response_rate", float(sv["csat_responses"].sum()),
                      float(sv["active_customers"].sum()), len(sv),
                      "rep-months of completed survey months")
    else:
        col.prior("survey_response_rate", "no completed surveys")


def _fit_attrition(col: Collector, df: pd.DataFrame, priors: Mapping[str, Any]) -> None:
    """Rep attrition from the roster: a rep's last month before the end is a departure."""
    at_risk = df[df["ym"] < df["ym"].max()]
    D = float(at_risk["departed"].sum())
    M = float(len(at_risk))
    if M > 0 and not is_fixed(priors["rep_attrition_annual"]):
        prior = priors["rep_attrition_annual"]
        post: Distribution = grid_beta(prior, lambda a: _attrition_loglik(a, D, M))
        col.keep_if_contracted("rep_attrition_annual", post, int(M),
                               "rep-months before the last month (a rep's last month before "
                               "the end counts as a departure)")
    else:
        col.prior("rep_attrition_annual")


def _attrition_loglik(a: np.ndarray, D: float, M: float) -> np.ndarray:
    h = 1.0 - (1.0 - a) ** (1.0 / 12.0)
    return D * np.log(h) + (M - D) * np.log1p(-h)


def _result(col: Collector, model: Any, df: pd.DataFrame, yms: np.ndarray,
            skills: pd.DataFrame, source: str | None, plugins: dict[str, float]) -> FitResult:
    """The fit's result: entries in the model's order, the roster of the last month (its reps
    and the seats vacant in it) and the baseline of the last 12."""
    warn = col.warnings
    monthly = _team_monthly(df, yms)
    last = int(df["ym"].max())
    end = df[df["ym"] == last]
    shrunk = dict(zip(skills["rep_id"], skills["shrunk"])) if len(skills) else {}
    roster = tuple(Rep(id=str(r.rep_id), tenure_months=float(r.tenure + 1),
                       customers=float(r.active_customers - r.churned_customers
                                       + r.new_customers),
                       skill=float(round(shrunk[r.rep_id], 4)) if r.rep_id in shrunk else None)
                   for r in end.itertuples())
    roster += _vacant_seats(col, df, last, int(monthly["reps"].max()), len(end))
    baseline = scenario_baseline(monthly.tail(12), warn)
    order = list(model.parameters)
    entries = col.report(order)
    return FitResult(entries=entries, correlations=col.correlations(), skills=skills,
                     monthly=monthly, roster=roster, baseline=baseline,
                     start_month=month_text(last + 1), first_month=month_text(int(yms[0])),
                     last_month=month_text(last), format="rep-month", source=source,
                     warnings=tuple(warn), plugins=plugins,
                     observed=observed_levels(df, getattr(model, "levers", {})))


def observed_levels(df: pd.DataFrame, levers: Mapping[str, Any]) -> dict[str, tuple[float, float]]:
    """The range of each recorded lever over the history's rows (every rep-month the fit
    used: a row is a filled seat's month, ramping reps' included), in the lever's units, to 4
    decimals; only the ``levers`` the model has."""
    out = {}
    for lever, (column, per) in OBSERVED_LEVERS.items():
        v = df[column].to_numpy(float) / per
        if lever in levers and v.size:
            out[lever] = (round(float(v.min()), 4), round(float(v.max()), 4))
    return out


def _vacant_seats(col: Collector, df: pd.DataFrame, last: int, seats: int,
                  filled: int) -> tuple[Rep, ...]:
    """The seats vacant in the last month (:func:`open_departures`), each with the book its
    rep carried out of their last month (active - churned + new), churned at the fitted
    no-visit rate for the months it has stood empty (:func:`seat_book`)."""
    open_seats = open_departures(df.groupby("rep_id")["ym"].agg(["min", "max"]), last,
                                 at_most=max(0, seats - filled))
    if not open_seats:
        return ()
    rows = df.sort_values("ym", kind="stable").groupby("rep_id").tail(1).set_index("rep_id")
    cb = col.entries["churn_base"].estimate
    books = {r: seat_book(float(rows.at[r, "active_customers"] - rows.at[r, "churned_customers"]
                                + rows.at[r, "new_customers"]), last - left, cb)
             for r, left in open_seats}
    delay = hiring_delay(col.entries["hiring_delay_months"].distribution)
    vacant = vacant_reps(open_seats, last, delay, books)
    col.warnings.append(vacancy_warning(vacant, open_seats, last, seats, delay))
    return vacant


def _team_monthly(df: pd.DataFrame, all_yms: np.ndarray) -> pd.DataFrame:
    """Team totals per month (:attr:`FitResult.monthly`)."""
    g = df.groupby("ym")
    out = pd.DataFrame({"ym": all_yms})
    agg = pd.DataFrame({
        "reps": g.size(),
        "revenue": g["revenue"].sum(),
        "new_customers": g["new_customers"].sum(),
        "active_customers": g["active_customers"].sum(),
        "revisited_customers": g["revisited_customers"].sum(),
        "csat_responses": g["csat_responses"].sum(),
        "csat_satisfied": g["csat_satisfied"].sum(),
    }).reset_index()
    out = out.merge(agg, on="ym", how="left").fillna(0)
    out.insert(0, "month", [month_text(int(v)) for v in out["ym"]])
    with np.errstate(all="ignore"):
        out["revisit_rate"] = np.where(out["active_customers"] > 0, out["revisited_customers"]
                                       / out["active_customers"].where(
                                           out["active_customers"] > 0, 1), np.nan)
        out["csat"] = np.where(out["csat_responses"] > 0, out["csat_satisfied"]
                               / out["csat_responses"].where(out["csat_responses"] > 0, 1),
                               np.nan)
    for c in ("reps", "new_customers", "active_customers", "revisited_customers",
              "csat_responses", "csat_satisfied"):
        out[c] = out[c].astype(np.int64)
    return out.drop(columns="ym")
