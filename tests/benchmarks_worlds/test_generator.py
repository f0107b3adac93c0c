"""The independent world generator (benchmarks/worlds/generator.py) against its own stated
mechanisms: the forward runs reproduce the analytic means of acquisition (ramp, saturating
visit response, fading training, seasonal curve), churn driven by the months since the last
visit, purchases with the visit boost, rep attrition and vacancies; the customers' purchase
rates have the stated gamma heterogeneity. Random checks are within 4 standard errors at fixed
seeds. Also: the generator imports nothing of okma_sim, and its history is a rep-month CSV that
okma_sim's loader accepts."""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from okma_sim.io import REP_MONTH_COLUMNS, load_rep_month

WORLDS = Path(__file__).resolve().parents[2] / "benchmarks" / "worlds"
Z = 4.0


def _load_generator():
    if "generator" in sys.modules and Path(sys.modules["generator"].__file__).parent == WORLDS:
        return sys.modules["generator"]
    spec = importlib.util.spec_from_file_location("generator", WORLDS / "generator.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["generator"] = mod
    spec.loader.exec_module(mod)
    return mod


g = _load_generator()

#: a world with everything that blurs the analytic mean switched off
QUIET = dict(skill_cv=0.0, purchase_shape=math.inf, shock_sd=0.0, attrition_annual=0.0,
             action_team_sd=0.0, action_rep_sd=0.0, action_month_sd=0.0, season_amp=0.0,
             holiday_dip=0.0)


def _world(**kw) -> "g.World":
    return g.World(dataclasses.replace(g.WorldParams(), **{**QUIET, **kw}), seed=7)


def test_the_generator_imports_nothing_of_okma_sim():
    tree = ast.parse((WORLDS / "generator.py").read_text(encoding="utf-8"))
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert names and not [m for m in names if m.split(".")[0] == "okma_sim"]


def test_the_history_is_a_rep_month_csv_okma_sim_reads(tmp_path):
    w = g.draw_world("churny", 1)
    rows, end = w.history(24)
    path = tmp_path / "h.csv"
    g.write_history_csv(rows, path)
    df = load_rep_month(path)
    assert list(df.columns[:len(REP_MONTH_COLUMNS)]) == list(REP_MONTH_COLUMNS)
    assert df["month"].nunique() == 24 and "tenure_months" in df.columns
    # one row per filled seat and month: vacancies (a churny world has some) leave gaps
    per_month = df.groupby("month").size()
    assert per_month.max() <= w.params.seats and per_month.min() < w.params.seats
    assert df["rep_id"].nunique() > w.params.seats  # leavers were replaced by new reps
    assert end.month == 24 and end.alive.shape[:2] == (1, w.params.seats)


def test_the_visit_response_is_saturating_with_the_stated_elasticity():
    p = g.WorldParams(elasticity_ref=0.3, pv_ref=26.0)
    h = 1e-4
    f = g.acquisition_response(np.array([26.0 * (1 - h), 26.0 * (1 + h)]), p)
    assert math.log(f[1] / f[0]) / math.log((1 + h) / (1 - h)) == pytest.approx(0.3, abs=1e-6)
    more = g.acquisition_response(np.array([26.0, 52.0, 104.0]), p)
    # concave and bounded: doubling adds less each time, less than a power law 0.3 would
    assert more[1] - more[0] > more[2] - more[1] > 0 and more[1] < 2 ** 0.3


def test_the_training_effect_wears_off_linearly_over_its_fade():
    fade = 4
    pulse = np.zeros((fade + 2, 8))
    for k in range(fade + 2):
        pulse[k, k] = 8.0  # 8 hours taken k + 1 months ago
    stock = g.training_stock(pulse, fade)
    w = np.arange(fade, 0, -1) / np.arange(fade, 0, -1).sum()
    np.testing.assert_allclose(stock[:fade], w)
    assert stock[fade] == stock[fade + 1] == 0.0
    assert g.training_stock(np.full(8, 8.0), fade) == pytest.approx(1.0)


def test_the_season_is_a_smooth_curve_with_a_holiday_month():
    p = g.WorldParams(season_amp=0.2, season_peak=3.0, holiday_month=8, holiday_dip=0.3)
    s = g.season_factors(p)
    assert s.mean() == pytest.approx(1.0)
    raw = 1 + 0.2 * np.cos(2 * np.pi * (np.arange(1, 13) - 3.0) / 12)
    raw[7] *= 0.7
    np.testing.assert_allclose(s, raw / raw.mean())
    np.testing.assert_allclose(g.season_factors(p, lag=2), np.roll(s, 2))


def test_forward_new_customers_match_the_analytic_rate():
    """Ramp, visit response, a fading training pulse and the season, all at once: the team's
    mean new customers in each of 6 months is sum over seats of acq_base x ramp(tenure) x
    f(pv)/f(pv_ref) x (1 + te x 2s/(1+s)) x season(month), s the stock of the pulse."""
    w = _world(seats=6, acq_base=1.5, elasticity_ref=0.4, ramp_tau=3.0, training_effect=0.25,
               training_fade=5, season_amp=0.3, season_peak=2.0, holiday_month=4,
               holiday_dip=0.4, pv_ref=26.0, th_ref=0.0)
    p, rng = w.params, np.random.default_rng(1)
    st = w.initial_state(rng)
    st.tenure[:] = np.arange(6)  # ramping reps
    st.hours[:] = 0.0
    st.hours[..., 0] = 16.0  # a pulse of 16 hours last month
    runs, months, pv = 4000, 6, 39.0
    out = w.forward(st, np.array([pv, 30.0, 0.0]), months=months, runs=runs)
    season = g.season_factors(p)
    for m in range(months):
        hours = np.zeros(8)
        hours[m] = 16.0
        stock = g.training_stock(hours, p.training_fade)
        ramp = -np.expm1(-(np.arange(6) + m + 1.0) / p.ramp_tau)
        lam = (p.acq_base * ramp * g.acquisition_response(pv, p)
               * (1 + p.training_effect * 2 * stock / (1 + stock)) * season[m]).sum()
        got = out["new_customers"][:, m]
        assert abs(got.mean() - lam) < Z * math.sqrt(lam / runs), (m, got.mean(), lam)


def test_churn_follows_the_months_since_the_last_visit():
    """No visits and no new customers: a customer last visited this month survives K months
    with probability prod_{k=1..K} (1 - h(k)), h the stated hazard of the months since."""
    w = _world(seats=4, book0=50, acq_base=0.0, churn_min=0.01, churn_max=0.3, churn_tau=2.0)
    st = w.initial_state(np.random.default_rng(2))
    st.since[:] = 0.0
    n0 = int(st.alive.sum())
    runs, K = 400, 4
    fst = st.repeat(runs)
    rng = np.random.default_rng(3)
    for _ in range(K):
        w.step(fst, np.array([26.0, 0.0, 0.0]), rng)
    surv = np.prod(1 - g.churn_hazard(np.arange(1, K + 1), w.params))
    share = fst.alive.sum() / (n0 * runs)
    assert abs(share - surv) < Z * math.sqrt(surv * (1 - surv) / (n0 * runs)), (share, surv)
    # a visit every month keeps the hazard at its floor
    fst = st.repeat(runs)
    r = w.step(fst, np.array([26.0, 5000.0, 0.0]), rng)
    rate = r["churned"].sum() / r["active"].sum()
    assert abs(rate - 0.01) < Z * math.sqrt(0.01 * 0.99 / r["active"].sum())


def test_purchases_have_the_stated_mean_and_heterogeneity():
    """One month, no churn, no visits: E[revenue] = order_value x sum_i value_i x rate_i x
    (1 + boost x exp(-(since_i + 1) / tau)); the rates are gamma(shape k, mean mu)."""
    w = _world(seats=3, book0=40, acq_base=0.0, churn_min=0.0, churn_max=0.0,
               purchase_shape=2.0, purchase_mean=0.6, visit_boost=0.5, boost_tau=1.5,
               order_value=1000.0, order_cv=0.8)
    p = w.params
    st = w.initial_state(np.random.default_rng(4))
    alive = st.alive
    exp_rev = p.order_value * (st.value * st.rate
                               * (1 + p.visit_boost * np.exp(-(st.since + 1) / p.boost_tau))
                               )[alive].sum()
    runs = 3000
    r = w.forward(st, np.array([26.0, 0.0, 0.0]), months=1, runs=runs)["revenue"][:, 0]
    assert abs(r.mean() - exp_rev) < Z * r.std() / math.sqrt(runs), (r.mean(), exp_rev)
    rates = w._rates(np.random.default_rng(5), (200_000,))
    assert abs(rates.mean() - 0.6) < Z * math.sqrt(0.6 ** 2 / 2 / rates.size)
    assert rates.var() == pytest.approx(0.6 ** 2 / 2.0, rel=0.02)  # mu^2 / k; 4 SE: 4 sqrt(5 / n) = 2%


def test_reps_leave_at_the_stated_hazard_and_seats_wait_the_stated_delay():
    w = _world(seats=10, attrition_annual=0.5, vacancy_mean=3.0)
    st = w.initial_state(np.random.default_rng(6)).repeat(5000)
    w.step(st, np.array([26.0, 30.0, 8.0]), np.random.default_rng(7))
    h = 1 - 0.5 ** (1 / 12)
    left = ~st.filled
    n = left.size
    assert abs(left.mean() - h) < Z * math.sqrt(h * (1 - h) / n)
    d = st.vacant_left[left]
    assert abs(d.mean() - 3.0) < Z * math.sqrt(2.0 / d.size)  # 1 + Poisson(2): variance 2
    # a seat stays empty exactly its delay, then a new rep (tenure 0) takes it
    one = w.initial_state(np.random.default_rng(8))
    one.filled[0, 0], one.vacant_left[0, 0] = False, 2
    rng = np.random.default_rng(9)
    seen = [bool(w.step(one, np.array([26.0, 30.0, 8.0]), rng)["filled"][0, 0])
            for _ in range(3)]
    assert seen == [False, False, True] and one.tenure[0, 0] == 1
