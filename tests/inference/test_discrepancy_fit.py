"""The model discrepancy's fit (docs/calibration.md, "Model discrepancy"): its scale and
persistence recovered with honest 90% intervals from the monthly residuals, on series drawn
from the fit's own Gaussian law (fast, many replications) and on histories the model made with
a planted discrepancy (end to end, slow); its report entries, the written scenario, and the
switch that turns it off."""

from __future__ import annotations

import math

import numpy as np
import pytest

import okma_sim
from okma_sim import Distribution as D
from okma_sim.inference import fit_rep_month, history_from_simulation, load_history
from okma_sim.inference._discrepancy import Residuals, fit_discrepancy, gamma_from_quantiles
from okma_sim.inference._entries import Collector
from okma_sim.models.sales import PARAMETERS
from history_helpers import ROOT, coverage_rows, coverage_summary, generator, recovery_priors

G = generator()
SCALE, PERSISTENCE = "discrepancy_scale", "discrepancy_persistence"
#: the planted values' priors, which the fits use too (so 90% intervals hold the truth 90% of
#: the time when the fit is right)
PLANT = {SCALE: D("gamma", {"shape": 2.0, "scale": 0.05}),
         PERSISTENCE: D("beta", {"a": 6.0, "b": 4.0})}


def _ar1(rng, s: float, rho: float, T: int) -> np.ndarray:
    z = np.empty(T)
    z[0] = rng.standard_normal()
    for t in range(1, T):
        z[t] = rho * z[t - 1] + math.sqrt(1 - rho * rho) * rng.standard_normal()
    return s * z


def test_gamma_from_quantiles_hits_both_points():
    for lo, hi in ((0.02, 0.16), (0.001, 0.3), (0.05, 0.07)):
        d = gamma_from_quantiles(lo, hi)
        assert float(d.ppf(0.05)) == pytest.approx(lo, rel=1e-4)
        assert float(d.ppf(0.95)) == pytest.approx(hi, rel=1e-4)


def test_the_fit_recovers_a_planted_scale_from_series_of_its_own_law():
    """200 replications of two 24-month residual series (new customers: noise sd 25%; revenue:
    8%, the shock weighted 0.85), each with its level and its (s, rho) drawn from the priors
    the fit uses: the 90% intervals hold the planted scale and persistence in 80-97% of them
    (binomial SE 0.021 at 0.90: the band is about -4.7 and +3.3 SE), and the scale's interval
    is narrower than the prior's on average."""
    rng = np.random.default_rng(20270601)
    n_rep, T = 200, 24
    month = np.arange(T)
    rows = []
    s_true = PLANT[SCALE].ppf(rng.random(n_rep))
    r_true = PLANT[PERSISTENCE].ppf(rng.random(n_rep))
    for i in range(n_rep):
        s, rho = float(s_true[i]), float(r_true[i])
        n_noise, r_noise, w = 0.25 ** 2, 0.08 ** 2, 0.85
        yn = 0.1 * rng.standard_normal() + _ar1(rng, s, rho, T) \
            + math.sqrt(n_noise) * rng.standard_normal(T)
        yr = 0.1 * rng.standard_normal() + w * _ar1(rng, s, rho, T) \
            + math.sqrt(r_noise) * rng.standard_normal(T)
        series = [Residuals("new customers", yn, np.full(T, n_noise), np.ones(T), month),
                  Residuals("revenue", yr, np.full(T, r_noise), np.full(T, w), month)]
        col = Collector(dict(PLANT), {})
        fit_discrepancy(col, series, "months")
        for name, truth in ((SCALE, s), (PERSISTENCE, rho)):
            e = col.entries[name]
            rows.append({"name": name, "source": e.source, "low": e.low90, "high": e.high90,
                         "truth": truth})
    summary = coverage_summary(rows)
    for name in (SCALE, PERSISTENCE):
        assert 0.80 <= summary.loc[name, "coverage"] <= 0.97, summary
    prior_width = float(PLANT[SCALE].ppf(0.95) - PLANT[SCALE].ppf(0.05))
    assert summary.loc[SCALE, "width"] < 0.8 * prior_width, summary
    assert summary.loc[SCALE, "fitted"] > 0.5, summary


def test_pinned_to_0_the_fit_keeps_it_off():
    """A scenario that pins the scale to 0 keeps it there: the entry says so, and the
    calibrated scenario writes no discrepancy."""
    case = okma_sim.load_plan(okma_sim.case_study_path())
    off = case.with_parameters(discrepancy_scale=0.0)
    fit = fit_rep_month(load_history(ROOT / "data" / "sales_history.csv"), off)
    e = fit.entry(SCALE)
    assert e.source == "prior" and e.estimate == 0.0 and "off" in e.note
    assert fit.to_plan(off).parameters[SCALE] == D("fixed", {"value": 0.0})


def test_the_bundled_history_reports_the_discrepancy(tmp_path):
    """data/sales_history.csv was made with no discrepancy: its fitted scale is small (its
    median under the prior's 25% point, its 95% point under the prior's 75%) and reported with its interval, width ratio and
    identified flag in the JSON and the table; the written scenario carries it."""
    case = okma_sim.load_plan(okma_sim.case_study_path())
    fit = fit_rep_month(load_history(ROOT / "data" / "sales_history.csv"), case)
    e = fit.entry(SCALE)
    prior = PARAMETERS[SCALE].prior
    assert e.source == "fitted" and e.estimate < float(prior.ppf(0.25))
    assert e.high90 < float(prior.ppf(0.75))
    assert e.width_ratio is not None and e.width_ratio < 0.9 and e.identified
    assert "revenue: residual sd" in e.note
    js = {p["name"]: p for p in fit.to_json_dict()["parameters"]}
    assert js[SCALE]["source"] == "fitted" and js[SCALE]["identified"] is True
    assert any(line.startswith(SCALE) for line in fit.table().splitlines())
    assert fit.to_plan(case).parameters[SCALE] == e.distribution


@pytest.mark.slow  # ~90 s: 60 histories made by the model, fitted
def test_the_fit_recovers_a_planted_discrepancy_from_model_histories():
    """End to end: 60 histories made by the model itself (12 reps, 24 months, no rules), each
    with its true scale and persistence drawn from ``PLANT`` (and the other parameters from
    the recovery tests' priors), fitted with those priors: the 90% intervals of the scale hold
    the planted value in 80-97% of the 60 (binomial SE 0.039 at 0.90), and the persistence's
    too."""
    priors = {**recovery_priors(), **PLANT}
    plan = G.build_plan(priors, reps=12, months=24, rules=())
    res = okma_sim.simulate(plan, n_paths=60, seed=20270602, record_reps=True, progress=False)
    hist = history_from_simulation(res)
    rows = []
    for path, h in hist.groupby("path", sort=True):
        fit = fit_rep_month(h.drop(columns="path").reset_index(drop=True), plan)
        rows += coverage_rows(fit, (SCALE, PERSISTENCE), res.params.iloc[path])
    summary = coverage_summary(rows)
    for name in (SCALE, PERSISTENCE):
        assert 0.80 <= summary.loc[name, "coverage"] <= 0.97, summary
