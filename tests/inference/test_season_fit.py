"""The seasonal form and the dispersion of new customers in calibration (docs/calibration.md,
"Seasonality and overdispersion"): the form chosen by held-out likelihood, the factors and the
dispersion recovered with honest intervals, and nothing read from months after a cutoff."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import okma_sim
from okma_sim import Distribution as D
from okma_sim.inference import fit_opportunities, fit_rep_month, history_from_simulation, \
    load_history
from okma_sim.inference._seasonal import MonthlyTotals, choose_form, nb_loglik
from history_helpers import ROOT, coverage_rows, coverage_summary, generator, recovery_priors

G = generator()
PRIORS = recovery_priors()
MOQ = ("season_q1", "season_q2", "season_q3")
REPS, MONTHS = 20, 24


def _fits(plan, n: int, seed: int, fit_plan=None):
    res = okma_sim.simulate(plan, n_paths=n, seed=seed, record_reps=True, progress=False)
    hist = history_from_simulation(res)
    fits = [fit_rep_month(h.drop(columns="path").reset_index(drop=True), fit_plan or plan)
            for _, h in hist.groupby("path", sort=True)]
    return res, fits


def test_nb_loglik_is_scipys_negative_binomial_and_poisson_its_limit():
    N = np.array([0.0, 3.0, 17.0, 40.0])
    mu = np.array([2.0, 5.0, 20.0, 33.0])
    for phi in (0.02, 0.5, 3.0):
        r = 1 / phi
        want = stats.nbinom.logpmf(N, r, r / (r + mu)).sum()
        assert nb_loglik(N, mu, phi) == pytest.approx(want, rel=1e-10)
    pois = stats.poisson.logpmf(N, mu).sum()
    assert nb_loglik(N, mu, 0.0) == pytest.approx(pois, rel=1e-12)
    assert nb_loglik(N, mu, 1e-8) == pytest.approx(pois, rel=1e-6)


def _chosen(fit) -> str:
    if fit.entry("season_q1").source == "fitted":
        return "month_of_quarter"
    if fit.entry("season_jan").source == "fitted":
        return "month_of_year"
    return "quarter_end"


def _totals(pattern, n_hist: int, seed: int, months: int = 24, level: float = 100.0):
    """Monthly team totals by the model's law (docs/model.md 5.2): Poisson at the expected
    total x the season x a gamma market shock (dispersion 0.01), from January."""
    rng = np.random.default_rng(seed)
    cm = np.arange(months) % 12 + 1
    season = np.asarray(pattern, dtype=float)[(cm - 1) % 3]
    for _ in range(n_hist):
        shock = rng.gamma(100.0, 0.01, months)
        yield MonthlyTotals(cm, rng.poisson(level * season * shock).astype(float),
                            np.full(months, level))


def test_the_held_out_choice_finds_the_quarter_cycle_and_only_it():
    """60 two-year histories of about 100 new customers a month with a three-level cycle in
    every quarter (0.75, 1.0, 1.25 of the mean), and 60 with the two-level quarter-end form
    (an uplift of 0.2): the month-of-quarter form is chosen for at least 48 of the first and
    at most 6 of the second; the twelve-level form, which must gain 10 or more, for at most 3
    of the 120 (a chance calendar pattern twice in a row). Measured over seeds 7, 8 and this
    one: 55, 54, 56 found; 0, 0, 0 false; 0, 0, 1 month of year. The bounds sit 3 binomial
    SDs or more from those rates, so a harmless change of the draws does not trip them but a
    rule that stops finding the cycle (or starts seeing it everywhere) does. At 50 a month
    the cycle was found in 74 of 100: smaller teams need longer histories."""
    priors = {k: v.prior for k, v in okma_sim.SalesTeamModel().parameter_info.items()}
    three = [choose_form(t, priors).form for t in _totals((0.75, 1.0, 1.25), 60, 41)]
    two = [choose_form(t, priors).form for t in _totals((0.9, 0.9, 1.2), 60, 42)]
    assert three.count("month_of_quarter") >= 48, three.count("month_of_quarter")
    assert two.count("month_of_quarter") <= 6, two.count("month_of_quarter")
    assert (three + two).count("month_of_year") <= 3


@pytest.mark.slow  # ~20 s: two histories made by the model, fitted
def test_calibrate_chooses_the_form_of_the_history():
    """End to end: on a history the model made with a three-level cycle, calibrate fits the
    month-of-quarter factors (and fixes the uplift at 0); on one made with the quarter-end
    form it keeps that form."""
    base = {k: (float(v.ppf(0.5)) if isinstance(v, D) else v) for k, v in PRIORS.items()}
    # about 100 new customers a month from a full team at constant effort (no departures,
    # no rules moving the visits), as in the rate test above
    base.update(base_win_rate=10.0, rep_attrition_annual=0.0)
    fit_plan = G.build_plan(PRIORS, reps=10, months=MONTHS, rules=())
    # a strong cycle, so that this one history is a check of the plumbing, not of power
    # (the rate test above measures that)
    three = G.build_plan({**base, "quarter_end_uplift": 0.0, "season_q1": 0.6,
                          "season_q2": 1.0, "season_q3": 1.4}, reps=10, months=MONTHS,
                         rules=())
    two = G.build_plan({**base, "quarter_end_uplift": 0.2}, reps=10, months=MONTHS, rules=())
    (_, (f3,)), (_, (f2,)) = _fits(three, 1, 41, fit_plan), _fits(two, 1, 42, fit_plan)
    assert _chosen(f3) == "month_of_quarter" and _chosen(f2) == "quarter_end"
    note = f3.entry("season_q1").note
    assert "held-out likelihood over 24 months" in note and "quarter end" in note
    e = f3.entry("quarter_end_uplift")
    assert e.distribution == D("fixed", {"value": 0.0}) and e.source == "fitted"
    # and the written scenario carries it: no default uplift stacked on the fitted factors
    written = f3.to_plan(fit_plan).parameters
    assert written["quarter_end_uplift"] == D("fixed", {"value": 0.0})
    assert all(written[n] == f3.entry(n).distribution for n in MOQ)
    q = [f3.entry(n).estimate for n in MOQ]
    assert q[0] < 0.8 < q[1] < 1.2 < q[2], q
    assert f2.entry("quarter_end_uplift").source == "fitted"
    # the report lists the chosen form's factors and sums up the neutral ones in one line
    t3, t2 = f3.table(), f2.table()
    assert all(any(line.startswith(n + " ") for line in t3.splitlines()) for n in MOQ)
    assert "+ 12 seasonal factors" in t3 and "season_jan..dec" in t3
    assert "+ 15 seasonal factors" in t2 and not any(
        line.startswith("season_") for line in t2.splitlines())


@pytest.mark.slow  # ~40 s: 120 fits
def test_factor_and_dispersion_recovery_coverage():
    """Histories made by the model (10 reps, 24 months, about 80 new customers a month) with
    each path's true month-of-quarter factors and dispersion drawn from the priors the fit
    uses: the fitted 90% intervals of the factors (divided by their mean, as the model uses
    them) and of the dispersion hold the truth in 90% of 120 replications within 4 binomial
    SE, and the data narrow the dispersion's prior. Revenue is blanked so that only the
    acquisition side is fitted (the revenue fit is tested elsewhere and costs seconds a
    history).

    The dispersion's intervals are the marginal posterior's, with the level and the factors
    integrated out. Plugging in the fitted ones instead held the truth in only about 82%
    (81-83% on six seeds of 120): 3 SE short at this size, inside the 4 SE allowed, so the
    twelve-seed measurement in docs/calibration.md, not this test alone, shows the fix; the
    test catches a collapse or a gross miss."""
    priors = {**PRIORS, "quarter_end_uplift": 0.0, "rep_attrition_annual": 0.0,
              "base_win_rate": D("gamma", {"shape": 16.0, "scale": 0.5}),
              "new_customer_dispersion": D("gamma", {"shape": 2.0, "scale": 0.05}),
              "season_q1": D("lognormal", {"median": 0.9, "sigma": 0.2}),
              "season_q2": D("lognormal", {"median": 0.9, "sigma": 0.2}),
              "season_q3": D("lognormal", {"median": 1.2, "sigma": 0.2})}
    plan = G.build_plan(priors, reps=10, months=MONTHS, rules=())
    res = okma_sim.simulate(plan, n_paths=120, seed=20260311, record_reps=True,
                            progress=False)
    hist = history_from_simulation(res).assign(revenue=0.0)
    # the factors' truth divided by their mean, as the model uses them (and the fit writes)
    truth = res.params.copy()
    truth[list(MOQ)] = truth[list(MOQ)].div(truth[list(MOQ)].mean(axis=1), axis=0)
    rows = []
    for i, (_, h) in enumerate(hist.groupby("path", sort=True)):
        fit = fit_rep_month(h.drop(columns="path").reset_index(drop=True), plan)
        rows += coverage_rows(fit, MOQ + ("new_customer_dispersion",), truth.iloc[i])
    summary = coverage_summary(rows)
    se = math.sqrt(0.9 * 0.1 / len(truth))
    for name in MOQ + ("new_customer_dispersion",):
        assert abs(summary.loc[name, "coverage"] - 0.90) <= 4 * se, summary
    for name in MOQ + ("new_customer_dispersion",):
        assert summary.loc[name, "fitted"] >= 0.9, summary
    disp = priors["new_customer_dispersion"]
    assert summary.loc["new_customer_dispersion", "width"] < 0.75 * (disp.ppf(0.95)
                                                                     - disp.ppf(0.05))


def test_a_short_history_keeps_the_quarter_end_prior():
    # three months: too few to judge a richer form, or the dispersion
    hist = load_history(ROOT / "data" / "sales_history.csv")
    months = sorted(hist["month"].unique())[:3]
    fit = fit_rep_month(hist[hist["month"].isin(months)].reset_index(drop=True))
    assert fit.entry("season_q1").source == "prior"
    assert "too short to judge a richer seasonal form" in fit.entry("season_q1").note
    e = fit.entry("new_customer_dispersion")
    assert e.source == "prior" and "only 3 months" in e.note


def test_choose_form_needs_two_quarters():
    t = MonthlyTotals(cm=np.array([4, 5, 6]), N=np.array([10.0, 30.0, 50.0]),
                      E=np.full(3, 30.0))
    priors = {k: v.prior for k, v in okma_sim.SalesTeamModel().parameter_info.items()}
    assert choose_form(t, priors).scores == {}


def test_a_backtest_reads_no_season_after_its_cutoff():
    # the factors fitted through a cutoff are the same as those fitted to the export as it
    # stood at the cutoff (later engagements absent, later closes still open): nothing of
    # the pattern after the cutoff reaches the forecast
    path = ROOT / "data" / "crm_sales_opportunities"
    opps = load_history(path, "opportunities")
    cut = "2017-08"
    close = pd.to_datetime(opps["close_date"], errors="coerce")
    engage = pd.to_datetime(opps["engage_date"], errors="coerce")
    end = pd.Period(cut, "M").to_timestamp(how="end")
    early = opps[engage.isna() | (engage <= end)].copy()
    later = (close > end).reindex(early.index, fill_value=False)
    early.loc[later, "deal_stage"] = "Engaging"
    early.loc[later, ["close_date", "close_value"]] = np.nan
    early = early.reset_index(drop=True)
    early.attrs.update(opps.attrs)
    full = fit_opportunities(opps, through=cut)
    trimmed = fit_opportunities(early, through=cut)
    for name in MOQ + ("quarter_end_uplift", "new_customer_dispersion"):
        a, b = full.entry(name), trimmed.entry(name)
        assert (a.source, a.estimate, a.low90, a.high90) == \
            (b.source, b.estimate, b.low90, b.high90), name
    assert math.isfinite(full.entry("season_q1").estimate)


def test_the_win_rate_carries_the_shocks_of_the_months():
    # the shocks of M months add dispersion / M to the variance of the win rate's log: against
    # the same fit with no shock (dispersion fixed at 0), the written log sd grows by exactly
    # that (the prior's mean 0.01, the export's 9 close months)
    opps = load_history(ROOT / "data" / "crm_sales_opportunities", "opportunities")
    plan = okma_sim.load_plan(okma_sim.case_study_path())
    shocked = fit_opportunities(opps, plan).entry("base_win_rate")
    calm = fit_opportunities(opps, plan.with_parameters(new_customer_dispersion=0.0)
                             ).entry("base_win_rate")
    phi = okma_sim.SalesTeamModel().parameters["new_customer_dispersion"].mean()
    s1, s0 = shocked.distribution.args["sigma"], calm.distribution.args["sigma"]
    assert s1 ** 2 - s0 ** 2 == pytest.approx(phi / 9, rel=1e-9)
    assert shocked.distribution.args["median"] == calm.distribution.args["median"]
    assert "widened for the market shock of 9 months" in shocked.note


def test_a_dispersion_prior_near_the_models_bound_is_fitted_inside_it():
    """Calibration with a dispersion prior between 8 and 9 (the model allows up to 10) on a
    simulated two-year history: the fit returns, its 90% interval lies inside the prior and is
    not a point. It used to fail ("sigma: must be 0 or at least 1e-12"): the search stopped at
    7.39, below the whole prior (tests/inference/test_dispersion_marginal.py has the numbers
    against a quadrature)."""
    plan = G.build_plan(PRIORS, reps=10, months=MONTHS, rules=())
    res = okma_sim.simulate(plan, n_paths=1, seed=3, record_reps=True, progress=False)
    hist = history_from_simulation(res).drop(columns="path")
    pri = {**PRIORS, "new_customer_dispersion": D("uniform", {"low": 8.0, "high": 9.0})}
    fit = fit_rep_month(hist, G.build_plan(pri, reps=10, months=MONTHS, rules=()))
    e = fit.entry("new_customer_dispersion")
    assert 8.0 <= e.low90 and e.high90 <= 9.0 and e.high90 - e.low90 > 0.1, e


def test_a_dispersion_prior_narrower_than_the_grid_is_kept():
    """A dispersion prior 1e-7 wide (uniform on [0.05, 0.0500001]), narrower than the fit's
    tabulated prior resolves: the fit keeps the prior and says why. It used to take the
    months' own posterior (its median near 1e-5, outside the prior), truncate it to the prior
    and fail writing a distribution of sd 1.5e-13 ("sigma: must be 0 or at least 1e-12")."""
    plan = G.build_plan(PRIORS, reps=10, months=MONTHS, rules=())
    res = okma_sim.simulate(plan, n_paths=1, seed=3, record_reps=True, progress=False)
    hist = history_from_simulation(res).drop(columns="path")
    prior = D("uniform", {"low": 0.05, "high": 0.0500001})
    pri = {**PRIORS, "new_customer_dispersion": prior}
    fit = fit_rep_month(hist, G.build_plan(pri, reps=10, months=MONTHS, rules=()))
    e = fit.entry("new_customer_dispersion")
    assert e.source == "prior" and e.distribution == prior, e
    assert "narrower than the fit's grid resolves" in e.note, e
