"""Achievable targets and achievability curves."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import stats

import okma_sim
from okma_sim.params import Distribution
from okma_sim.plan import KeyResult, Objective, Plan
from okma_sim.results import estimate
from okma_sim.results import achievability_curve, achievable_target, achievable_targets

Z = 4.0
M = 12
SIGMA = math.sqrt(0.04 + 0.25 + 1 / M)  # sd of the toy's mean score at effort 1


def toy_plan() -> Plan:
    return Plan("toy", "2027-01", M, model="linear_toy",
                objectives=(Objective("s", "score", 1.2, aggregate="mean"),
                            Objective("low", "score", 0.5, aggregate="mean", comparison="<=")),
                key_results=(KeyResult("h", "hit", 0.6, aggregate="mean", objective=("s",),
                                       baseline=0.4),),
                actions={"effort": 1.0},
                parameters={"noise": Distribution("fixed", {"value": 1.0})})


@pytest.fixture(scope="module")
def toy():
    return okma_sim.simulate(toy_plan(), 1001, seed=8, progress=False)


@pytest.fixture(scope="module")
def case():
    plan = okma_sim.load_plan(okma_sim.case_study_path())
    return plan, okma_sim.simulate(plan, 4000, seed=1, progress=False)


@pytest.mark.parametrize("c", [0.5, 0.8, 0.9, 0.95])
def test_matches_the_empirical_quantile(toy, c):
    # n = 1001 so that (1 - C) n is never a whole number
    x = toy.values["s"]
    assert achievable_target(toy, "s", c) == np.quantile(x, 1 - c, method="inverted_cdf")
    # mirrored for <=: the C quantile
    y = toy.values["low"]
    assert achievable_target(toy, "low", c) == np.quantile(y, c, method="inverted_cdf")


@pytest.mark.parametrize("c", [0.1, 0.5, 0.8, 0.99])
def test_is_the_most_ambitious_target_meeting_c(toy, c):
    x = toy.values["s"]
    t = achievable_target(toy, "s", c)
    assert (x >= t).mean() >= c and (x > t).mean() < c
    y = toy.values["low"]
    t = achievable_target(toy, "low", c)
    assert (y <= t).mean() >= c and (y < t).mean() < c


def test_discrete_metric_and_ties(case):
    _, res = case
    # quarters surveyed takes 0..4: the answer is one of those values and still meets C
    t = achievable_target(res, "quarterly_survey", 0.8)
    x = res.values["quarterly_survey"]
    assert t in set(np.unique(x)) and (x >= t).mean() >= 0.8 and (x > t).mean() < 0.8


def test_toy_agrees_with_the_normal_quantile():
    # X ~ Normal(1, SIGMA): the achievable target at C is 1 + SIGMA * Phi^-1(1 - C); the
    # sample quantile has SE sqrt(C (1 - C) / n) / density
    res = okma_sim.simulate(toy_plan(), 8000, seed=21, progress=False)
    for c in (0.5, 0.8, 0.95):
        t_true = 1 + SIGMA * stats.norm.ppf(1 - c)
        se = math.sqrt(c * (1 - c) / res.n_paths) / stats.norm(1, SIGMA).pdf(t_true)
        assert abs(achievable_target(res, "s", c) - t_true) < Z * se


def test_fresh_seed_recheck(case):
    # at t = achievable_target, an independent run gives P(X >= t) >= C - 4 SE and
    # P(X > t) < C + 4 SE; the SE combines the two runs (t itself is an estimate)
    plan, res = case
    c = 0.8
    fresh = okma_sim.simulate(plan, 4000, seed=2, progress=False)
    se = math.sqrt(c * (1 - c) / res.n_paths + c * (1 - c) / fresh.n_paths)
    for t in plan.targets:
        a = achievable_target(res, t.id, c)
        x = fresh.values[t.id]
        with np.errstate(invalid="ignore"):
            ge = np.mean(x >= a) if t.comparison == ">=" else np.mean(x <= a)
            gt = np.mean(x > a) if t.comparison == ">=" else np.mean(x < a)
        assert ge >= c - Z * se, (t.id, ge)
        assert gt < c + Z * se, (t.id, gt)


def test_nan_paths_never_meet(toy):
    x = toy.values["s"].copy()
    x[:300] = np.nan  # 30% of the paths have no value
    res = dataclasses.replace(toy, values={**toy.values, "s": x})
    t = achievable_target(res, "s", 0.6)
    with np.errstate(invalid="ignore"):
        assert np.mean(x >= t) >= 0.6  # NaN counted as not met
    assert math.isnan(achievable_target(res, "s", 0.75))  # only 70% have a value


def test_weighted_paths(toy):
    w = np.random.default_rng(0).gamma(2.0, size=toy.n_paths)
    res = dataclasses.replace(toy, weights=w)
    t = achievable_target(res, "s", 0.7)
    x = toy.values["s"]
    share = lambda f: w[f].sum() / w.sum()  # noqa: E731
    assert share(x >= t) >= 0.7 and share(x > t) < 0.7


def test_achievable_targets_table(case):
    plan, res = case
    tab = achievable_targets(res, 0.8)
    assert list(tab["id"]) == [t.id for t in plan.targets]
    assert (tab["achievable_probability"] >= 0.8).all()
    for _, r in tab.iterrows():
        e = res.probability(r["id"])
        assert r["probability"] == e.probability and r["stderr"] == e.stderr
        assert r["achievable_target"] == achievable_target(res, r["id"], 0.8)
    assert tab.set_index("id").loc["revisit_rate", "objective"] == ["revenue", "csat"]


@pytest.mark.parametrize("bad", [0, 1, -0.5, 1.5, float("nan")])
def test_bad_confidence(toy, bad):
    with pytest.raises(okma_sim.OkmaError) as info:
        achievable_target(toy, "s", bad)
    assert info.value.key == "confidence"


def test_curve(toy):
    cur = achievability_curve(toy, "s", n_points=21)
    assert cur["probability"].is_monotonic_decreasing
    assert cur["current"].sum() == 1
    assert cur.loc[cur["current"], "target"].item() == 1.2
    x = toy.values["s"]
    for _, r in cur.iterrows():
        e = estimate(x >= r["target"])
        assert r["probability"] == e.probability and r["stderr"] == e.stderr
    mirrored = achievability_curve(toy, "low", targets=[0.0, 0.5, 1.0])
    assert list(mirrored["probability"]) == [np.mean(toy.values["low"] <= t)
                                             for t in (0.0, 0.5, 1.0)]


def test_curve_uses_replicate_standard_errors():
    res = okma_sim.simulate(toy_plan(), 1024, seed=3, sampler="lhs", progress=False)
    cur = achievability_curve(res, "s", targets=[0.8, 1.2])
    for _, r in cur.iterrows():
        e = estimate(res.values["s"] >= r["target"], res.replicate_index)
        assert r["stderr"] == e.stderr


def test_share_of_months_target_is_a_share_to_reach():
    # the share of months with score <= 1.5 must reach the target: the monthly comparison is
    # "<=", but the share itself is compared with ">="
    kr = KeyResult("calm", "score", 0.5, aggregate="share_of_months", threshold=1.5,
                   comparison="<=", objective=("s",))
    plan = toy_plan().replace(key_results=(kr,))
    res = okma_sim.simulate(plan, 2000, seed=4, progress=False)
    x = res.values["calm"]
    t = achievable_target(res, "calm", 0.7)
    assert (x >= t).mean() >= 0.7 and (x > t).mean() < 0.7
    tab = achievable_targets(res, 0.7).set_index("id")
    assert tab.loc["calm", "probability"] == res.probability("calm").probability
    cur = achievability_curve(res, "calm", targets=[t])
    assert cur["probability"].item() == (x >= t).mean()
