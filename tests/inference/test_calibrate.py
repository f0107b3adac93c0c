"""Tests for okma_sim.inference: parameter recovery, shrinkage, the fitted scenario, the
opportunity-export mapping, and the pieces the fit is built from."""

from __future__ import annotations

import importlib.util
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import okma_sim
from okma_sim import Distribution as D
from okma_sim.inference import (FitResult, fit_history, fit_opportunities, fit_rep_month,
                                history_from_simulation, load_history)
from okma_sim.inference._priors import Prior, beta_posterior, named_from_quantiles
from okma_sim.io import REP_MONTH_COLUMNS, load_rep_month

ROOT = Path(__file__).resolve().parents[2]
HISTORY = ROOT / "data" / "sales_history.csv"
CRM = ROOT / "data" / "crm_sales_opportunities"


def _generator():
    spec = importlib.util.spec_from_file_location("generate_sales_history",
                                                  ROOT / "data" / "generate_sales_history.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


G = _generator()

# Priors the recovery test draws each replication's true values from, and fits with (the fit's
# prior is the plan's). Parameters the rep-month data cannot identify are held at known values,
# since the fit plugs in their prior mean (training retention, marketing effect) or the
# generator needs them fixed (a hiring delay of at least 1 marks a new rep).
RECOVERY_PRIORS = {
    "base_win_rate": D("gamma", {"shape": 16.0, "scale": 0.05}),
    "visit_elasticity": D("normal", {"mu": 0.34, "sigma": 0.08, "low": 0.0, "high": 1.0}),
    "skill_cv": D("uniform", {"low": 0.1, "high": 0.6}),
    "training_effect": D("normal", {"mu": 0.1, "sigma": 0.04}),
    "training_retention": 0.7,
    "coaching_effect": 0.08,
    "followup_targeting": D("lognormal", {"median": 1.6, "sigma": 0.25}),
    "churn_base": D("beta", {"a": 6.0, "b": 144.0}),
    "churn_revisit_effect": D("beta", {"a": 12.0, "b": 8.0}),
    "repeat_order_rate": D("gamma", {"shape": 25.0, "scale": 0.02}),
    "order_value": D("lognormal", {"median": 11500.0, "sigma": 0.25}),
    "order_value_cv": 0.8,
    "quarter_end_uplift": D("normal", {"mu": 0.15, "sigma": 0.1, "low": -0.5, "high": 1.5}),
    "marketing_effect": 0.05,
    "csat_base": D("beta", {"a": 17.0, "b": 3.0}),
    "csat_coverage_effect": D("normal", {"mu": 2.0, "sigma": 0.7}),
    "csat_training_effect": D("normal", {"mu": 0.2, "sigma": 0.1}),
    "survey_completion": D("beta", {"a": 18.0, "b": 2.0}),
    "survey_response_rate": D("beta", {"a": 6.0, "b": 14.0}),
    "rep_attrition_annual": D("beta", {"a": 32.0, "b": 68.0}),
    "hiring_delay_months": 2.0,
    "ramp_months": D("triangular", {"low": 3.0, "mode": 5.0, "high": 8.0}),
}
N_REPLICATIONS = 160
RECOVERY_REPS, RECOVERY_MONTHS = 8, 18


@pytest.fixture(scope="module")
def sales_fit() -> FitResult:
    return fit_history(load_history(HISTORY))


# ---------------------------------------------------------------------------------------------
# parameter recovery
# ---------------------------------------------------------------------------------------------
@pytest.mark.slow  # ~45 s: 160 fits
def test_parameter_recovery_coverage():
    """Histories made by the model itself (one path = one replication, all in one vectorised
    simulate call), each with its own true parameters drawn from the priors the fit uses:
    the fitted 90% intervals must hold the truth at a rate within 4 binomial SE of 0.90 for
    every parameter the data identify (and, as the fit is Bayesian with those priors, for the
    prior-only ones too). Identified parameters must also shrink the prior interval."""
    plan = G.build_plan(RECOVERY_PRIORS, reps=RECOVERY_REPS, months=RECOVERY_MONTHS)
    res = okma_sim.simulate(plan, n_paths=N_REPLICATIONS, seed=20240607, record_reps=True,
                            progress=False)
    hist = history_from_simulation(res)
    rows = []
    for path, h in hist.groupby("path", sort=True):
        fit = fit_rep_month(h.drop(columns="path").reset_index(drop=True), plan)
        for e in fit.entries:
            rows.append({"path": path, "name": e.name, "source": e.source, "low": e.low90,
                         "high": e.high90, "truth": float(res.params[e.name].iloc[path])})
    df = pd.DataFrame(rows)
    df["covered"] = (df["truth"] >= df["low"]) & (df["truth"] <= df["high"])
    free = [n for n, v in RECOVERY_PRIORS.items() if isinstance(v, D)]
    summary = df[df["name"].isin(free)].groupby("name").agg(
        coverage=("covered", "mean"), fitted=("source", lambda s: (s == "fitted").mean()))
    # mean width of the fitted intervals (where the data moved the prior)
    summary["width"] = (df[df["name"].isin(free) & (df["source"] == "fitted")]
                        .assign(w=lambda d: d["high"] - d["low"]).groupby("name")["w"].mean())
    se = math.sqrt(0.9 * 0.1 / N_REPLICATIONS)
    identified = summary.index[summary["fitted"] >= 0.5]
    # the data of this design identify at least these (the others are weak or prior-only)
    for name in ("base_win_rate", "skill_cv", "followup_targeting", "churn_base",
                 "repeat_order_rate", "order_value", "quarter_end_uplift", "csat_base",
                 "survey_response_rate"):
        assert name in identified, summary
    report = summary.assign(z=(summary["coverage"] - 0.9) / se)
    print("\n" + report.to_string())
    for name, row in summary.iterrows():
        assert abs(row["coverage"] - 0.9) <= 4 * se, (name, report)
    for name in identified:
        prior = RECOVERY_PRIORS[name]
        prior_width = float(prior.ppf(0.95) - prior.ppf(0.05))
        assert summary.loc[name, "width"] < prior_width, (name, report)


# ---------------------------------------------------------------------------------------------
# shrinkage
# ---------------------------------------------------------------------------------------------
def _synthetic_history(seed: int = 3) -> pd.DataFrame:
    """12 ordinary reps over 24 months, plus two reps who win twice the team rate: RX for
    only the first three months, RY for all 24."""
    rng = np.random.default_rng(seed)
    months = [f"2025-{m:02d}" for m in range(1, 13)] + [f"2026-{m:02d}" for m in range(1, 13)]
    rate = 0.8  # prospect visits at the reference (26 a month), no training: E[wins] = rate
    rows = []
    for r in range(12):
        for m in months:
            rows.append((m, f"R{r:02d}", rng.poisson(rate)))
    for m in months[:3]:
        rows.append((m, "RX", 2))  # 6 wins in 3 months
    for m in months:
        rows.append((m, "RY", 2))  # 48 wins in 24 months: the same ratio
    df = pd.DataFrame(rows, columns=["month", "rep_id", "new_customers"])
    df["prospect_visits"] = 26
    df["customer_visits"] = 30
    df["active_customers"] = 30
    df["revisited_customers"] = 24
    df["churned_customers"] = 1
    df["revenue"] = 100000.0
    df["training_hours"] = 0.0
    df["csat_responses"] = 0
    df["csat_satisfied"] = 0
    return df[list(REP_MONTH_COLUMNS)]


def test_shrinkage_pulls_short_histories_toward_the_team_mean(tmp_path):
    path = tmp_path / "h.csv"
    _synthetic_history().to_csv(path, index=False)
    plan = okma_sim.load_plan(okma_sim.case_study_path()).with_parameters(
        marketing_effect=0.0, training_effect=0.0, quarter_end_uplift=0.0,
        visit_elasticity=0.34)
    fit = fit_rep_month(load_rep_month(path), plan)
    sk = fit.skills.set_index("rep_id")
    x, y = sk.loc["RX"], sk.loc["RY"]
    assert x["months"] == 3 and y["months"] == 24
    # both win at about twice the team rate; the short history is pulled harder
    assert x["raw"] == pytest.approx(y["raw"], rel=1e-9)
    assert 1.0 < x["shrunk"] < x["raw"]
    assert 1.0 < y["shrunk"] < y["raw"]
    assert (x["shrunk"] - 1.0) < 0.7 * (y["shrunk"] - 1.0)
    # the shrunk value is the posterior mean of a lognormal random effect; a gamma one with
    # the same mean and CV gives (k + N) / (k + exposure), k = 1 / cv^2: close to it
    cv = fit.entry("skill_cv").estimate
    k = 1.0 / cv ** 2
    for row in (x, y):
        gamma_mean = (k + row["new_customers"]) / (k + row["exposure"])
        assert row["shrunk"] == pytest.approx(gamma_mean, rel=0.06)
    # the team mean: ordinary reps average about 1
    ordinary = sk.drop(index=["RX", "RY"])
    assert abs(ordinary["shrunk"].mean() - 1.0) < 0.1
    # the less data, the larger the posterior sd
    assert x["sd"] > y["sd"]


# ---------------------------------------------------------------------------------------------
# the fitted scenario
# ---------------------------------------------------------------------------------------------
def test_calibrated_scenario_is_valid_and_complete(sales_fit, tmp_path):
    hist = load_history(HISTORY)
    base = okma_sim.load_plan(okma_sim.case_study_path())
    plan = sales_fit.to_plan(base)
    out = tmp_path / "fitted.toml"
    okma_sim.save_plan(plan, out)
    back = okma_sim.load_plan(out)
    assert okma_sim.check_plan(back)[0] == []
    assert back.start_month == "2027-01"  # the month after 2026-12
    assert [o.id for o in back.objectives] == [o.id for o in base.objectives]
    assert dict(back.actions) == dict(base.actions)
    # baseline: team revenue of the last 12 months, calendar-aligned with the horizon
    last12 = hist[hist["month"] >= "2026-01"].groupby("month")["revenue"].sum()
    assert back.baseline.monthly_revenue == pytest.approx(tuple(last12.round(2)), rel=1e-9)
    # roster: the reps of the last month, with the book they carry into the next one
    end = hist[hist["month"] == "2026-12"].set_index("rep_id")
    assert {r.id for r in back.team.reps} == set(end.index)
    r0 = back.team.reps[0]
    row = end.loc[r0.id]
    assert r0.customers == row.active_customers - row.churned_customers + row.new_customers
    # every fitted parameter is written; prior ones keep the plan's value
    for e in sales_fit.entries:
        if e.source == "fitted":
            assert back.parameters[e.name] == e.distribution
        elif e.name in base.parameters:
            assert back.parameters[e.name] == base.parameters[e.name]
    if back.correlations is not None:
        m = np.array(back.correlations.matrix)
        assert np.linalg.eigvalsh(m).min() > 0


def test_fit_report_entries(sales_fit):
    entries = [e.to_dict() for e in sales_fit.entries]
    names = [e["name"] for e in entries]
    assert names == list(okma_sim.SalesTeamModel.parameters)
    for e in entries:
        assert {"name", "estimate", "low90", "high90", "rows_used", "source"} <= set(e)
        assert e["source"] in ("fitted", "prior")
        assert e["low90"] <= e["estimate"] <= e["high90"]
        d = e["distribution"]
        if e["source"] == "prior":
            assert e["rows_used"] == 0
        else:
            assert e["rows_used"] > 0
            dist = okma_sim.Distribution(d["dist"], {k: v for k, v in d.items() if k != "dist"})
            assert float(dist.ppf(0.05)) == pytest.approx(e["low90"], rel=1e-9)
    by = {e["name"]: e for e in entries}
    hist = load_history(HISTORY)
    # rows_used: the conversion rows are ramped rep-months with visits, the reach rows
    # ramped rep-months with customers, the CSAT rows those with responses
    reach_rows = by["followup_targeting"]["rows_used"]
    assert reach_rows == by["base_win_rate"]["rows_used"]  # every ramped rep made visits
    assert 0 < reach_rows < int((hist["active_customers"] > 0).sum())
    assert by["csat_base"]["rows_used"] == int((hist["csat_responses"] > 0).sum())
    assert 0 < by["base_win_rate"]["rows_used"] < len(hist)
    # a parameter rep-month data cannot identify keeps its prior
    for name in ("coaching_effect", "marketing_effect", "ramp_months", "hiring_delay_months"):
        assert by[name]["source"] == "prior"


def test_true_values_of_the_bundled_history_are_recovered(sales_fit):
    """data/sales_history.csv was generated with G.TRUE: every fitted parameter whose truth is
    not pulled by a confident, wrong prior of the case study must lie within its central 99.9%
    interval (a single-dataset check; the recovery test above is the calibrated one).

    Why 99.9%: k parameters are checked at once (10 of the 12 fitted today). If each interval
    is calibrated (which the recovery test checks at 90%), a correct fit on a newly generated
    history misses one with probability 0.001, so the family-wise false-alarm rate is at most
    k * 0.001 = 1% (Bonferroni, whatever the dependence between the parameters).

    Why order_value and repeat_order_rate are left out of that check: the data identify only
    their product (revenue per kept customer-month; posterior correlation about -0.96), and
    the split comes from the case study's prior on order_value, lognormal(median 21,000,
    sigma 0.1), which puts the truth 11,500 six prior sds away (docs/calibration.md, section 6).
    Their marginal intervals then carry no coverage guarantee (today they hold the truth, at
    estimates 13,270 and 0.427). What the data do identify is checked instead: the product, and
    the strong negative correlation."""
    for e in sales_fit.entries:
        if e.source != "fitted" or e.name in ("order_value", "repeat_order_rate"):
            continue
        lo, hi = e.distribution.ppf(0.0005), e.distribution.ppf(0.9995)
        assert lo <= G.TRUE[e.name] <= hi, (e.name, G.TRUE[e.name], lo, hi)
    # order value and repeat-order rate are identified through their product (revenue per
    # kept customer-month), whatever the case study's prior says about each; rel=0.1 is about
    # 5 posterior sds of the product (the sd of its log is about 0.019)
    ov, ror = sales_fit.entry("order_value"), sales_fit.entry("repeat_order_rate")
    assert ov.estimate * ror.estimate == pytest.approx(
        G.TRUE["order_value"] * G.TRUE["repeat_order_rate"], rel=0.1)
    assert sales_fit.correlations is not None
    names = sales_fit.correlations.parameters
    i, j = names.index("order_value"), names.index("repeat_order_rate")
    assert sales_fit.correlations.matrix[i][j] < -0.8


def test_fewer_than_12_months_warns_and_keeps_seasonality_prior():
    hist = load_history(HISTORY)
    fit = fit_rep_month(hist, through="2025-08")
    assert fit.start_month == "2025-09"
    assert fit.baseline.annual_revenue is not None
    assert any("only 8 months" in w for w in fit.warnings)
    e = fit.entry("quarter_end_uplift")
    assert e.source == "prior" and "complete quarters" in e.note


# ---------------------------------------------------------------------------------------------
# opportunity export
# ---------------------------------------------------------------------------------------------
def test_opportunities_mapping():
    opps = load_history(CRM, "opportunities")
    fit = fit_opportunities(opps)
    by = {e.name: e for e in fit.entries}
    # order value: the mean won deal value of the window (2017-04 on: March holds a backlog)
    won = opps[(opps["deal_stage"] == "Won") & (opps["close_date"] >= "2017-04-01")]
    assert by["order_value"].estimate == pytest.approx(won["close_value"].mean(), rel=1e-12)
    se = won["close_value"].std(ddof=1) / math.sqrt(len(won))
    assert by["order_value"].high90 - by["order_value"].low90 == pytest.approx(
        2 * 1.6449 * se, rel=0.02)
    cv = won["close_value"].std(ddof=1) / won["close_value"].mean()
    assert by["order_value_cv"].estimate == pytest.approx(cv, rel=1e-9)
    assert by["repeat_order_rate"].distribution.args == {"value": 0.0}
    # wins per agent-month: the fitted rate times the effort term reproduces the total
    for name in ("base_win_rate", "skill_cv", "quarter_end_uplift"):
        assert by[name].source == "fitted", name
    for name in ("churn_base", "csat_base", "followup_targeting", "survey_completion",
                 "rep_attrition_annual", "training_effect"):
        assert by[name].source == "prior", name
    assert any("backlog" in w for w in fit.warnings)
    assert fit.first_month == "2017-04" and fit.start_month == "2018-01"
    d = fit.details
    assert d["win_rate"]["low90"] < d["win_rate"]["estimate"] < d["win_rate"]["high90"]
    assert set(d["by_group"]) == {"sales_agent", "manager", "regional_office"}
    # agents with more wins get larger shrunk skills, all pulled toward 1
    sk = fit.skills
    assert np.corrcoef(sk["new_customers"], sk["shrunk"])[0, 1] > 0.95
    # (near 1 the pull is toward the lognormal's median, just under 1: test the others)
    far = (sk["raw"] - 1).abs() > 0.1
    assert far.sum() > 10
    assert ((sk["shrunk"] - 1).abs() < (sk["raw"] - 1).abs())[far].all()
    plan = fit.to_plan(okma_sim.load_plan(okma_sim.case_study_path()))
    assert okma_sim.check_plan(plan)[0] == []


def test_export_with_one_close_month_is_a_one_line_error(tmp_path):
    """Only the backlog month closes deals: calibrate (which has no cutoff) exits 2 with one
    line naming the pipeline file and the month, and no --cutoff key; nothing is written."""
    export = tmp_path / "crm"
    shutil.copytree(CRM, export)
    pipeline = export / "sales_pipeline.csv"
    lines = pipeline.read_text(encoding="utf-8").splitlines(keepends=True)
    close = lines[0].rstrip("\r\n").split(",").index("close_date")
    # open deals (no close date) and the deals closed in 2017-03, the backlog month
    keep = [ln for ln in lines[1:] if not ln.split(",")[close].strip()
            or ln.split(",")[close].startswith("2017-03")]
    pipeline.write_text(lines[0] + "".join(keep), encoding="utf-8")
    out = tmp_path / "fitted.toml"
    proc = subprocess.run([sys.executable, "-m", "okma_sim.cli", "calibrate", str(export),
                           "--format", "opportunities", "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert str(pipeline) in err[0] and "(got '2017-03')" in err[0], err[0]
    assert "close month after the first" in err[0] and "cutoff" not in err[0], err[0]
    assert not out.exists()


# ---------------------------------------------------------------------------------------------
# building blocks
# ---------------------------------------------------------------------------------------------
def test_history_from_simulation_round_trips(tmp_path):
    plan = G.build_plan(months=12, reps=6)
    res = okma_sim.simulate(plan, n_paths=3, seed=5, record_reps=True, progress=False)
    hist = history_from_simulation(res)
    filled = res.per_rep["filled"]
    assert len(hist) == int(filled.sum())
    for p, h in hist.groupby("path"):
        path = tmp_path / f"h{p}.csv"
        h.drop(columns="path").to_csv(path, index=False)
        back = load_rep_month(path)
        assert len(back) == len(h)
        # team new customers per month equal the simulation's over filled seats
        sim = (res.per_rep["new_customers"][p] * filled[p]).sum(0)
        got = back.groupby("month")["new_customers"].sum().reindex(plan.months(), fill_value=0)
        assert np.array_equal(got.to_numpy(), sim)
        # a rep id never works two seats in one month
        assert not back.duplicated(["rep_id", "month"]).any()


@pytest.mark.parametrize("prior", [
    D("lognormal", {"median": 1.5, "sigma": 0.3}),
    D("normal", {"mu": 2.0, "sigma": 0.7}),
    D("beta", {"a": 12.0, "b": 8.0}),
    D("normal", {"mu": 0.15, "sigma": 0.1, "low": -0.5, "high": 1.5}),
    D("uniform", {"low": 0.1, "high": 0.6}),
])
def test_named_distribution_matches_the_posterior_interval(prior):
    p = Prior.of("x", prior, (-math.inf, math.inf))
    q05, q95 = p.phi_med - 0.3, p.phi_med + 0.5  # a skewed interval on the fitting scale
    d = named_from_quantiles(p, q05, q95)
    lo, hi = float(d.ppf(0.05)), float(d.ppf(0.95))
    assert lo == pytest.approx(float(p.scale.theta(q05)), rel=1e-4, abs=1e-6)
    assert hi == pytest.approx(float(p.scale.theta(q95)), rel=1e-4, abs=1e-6)


def test_conjugate_beta_posterior_is_exact():
    prior = D("beta", {"a": 18.0, "b": 2.0})
    post = beta_posterior(prior, 6, 8)
    assert post.args == {"a": 24.0, "b": 4.0}
    # a non-beta prior goes through the grid: compare with the analytic beta posterior of a
    # uniform prior (a beta(1, 1) in disguise)
    grid = beta_posterior(D("uniform", {"low": 0.0, "high": 1.0}), 6, 8)
    exact = stats.beta(7, 3)
    assert float(grid.mean()) == pytest.approx(exact.mean(), abs=1e-4)
    assert float(grid.frozen().std()) == pytest.approx(exact.std(), rel=1e-3)


def test_laplace_line_marginal_matches_exact_posterior():
    """A Poisson rate with a gamma prior has an exact gamma posterior: the fitted lognormal
    must carry the same 90% interval to within the log-normal vs gamma shape difference."""
    from okma_sim.inference._laplace import laplace
    prior = D("gamma", {"shape": 4.0, "scale": 0.25})
    counts = np.array([3, 0, 2, 1, 4, 2, 1, 0, 2, 3], dtype=float)
    p = Prior.of("rate", prior, (0.0, math.inf))

    def loglik(th):
        lam = th["rate"][:, None]
        return (counts[None, :] * np.log(lam) - lam).sum(1)

    lap = laplace([p], [(("rate",), loglik)], {})
    exact = stats.gamma(4.0 + counts.sum(), scale=1.0 / (4.0 + counts.size))
    d = named_from_quantiles(p, lap.q[0, 0], lap.q[0, 2])
    assert float(d.ppf(0.05)) == pytest.approx(exact.ppf(0.05), rel=0.01)
    assert float(d.ppf(0.95)) == pytest.approx(exact.ppf(0.95), rel=0.01)
