"""OKR grading: scores linear from baseline to target capped at 1, expected score against a
closed form, labels and their configurable cut points, and standard errors by sampler."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import integrate, stats

import okma_sim
from okma_sim.results import grade, label, mean_stderr, score_distribution, scores
from okma_sim.params import Distribution
from okma_sim.plan import Grading, KeyResult, Objective, Plan

Z = 4.0
M = 12
MU, SIGMA = 1.0, math.sqrt(0.04 + 0.25 + 1 / M)  # the toy's mean score at effort 1


def toy_plan(**kw) -> Plan:
    return Plan("toy", "2027-01", M, model="linear_toy",
                objectives=(Objective("s", "score", 1.0, aggregate="mean"),),
                key_results=(
                    KeyResult("up", "score", 1.5, aggregate="mean", objective=("s",),
                              baseline=0.5),
                    KeyResult("down", "score", 0.5, aggregate="mean", comparison="<=",
                              objective=("s",), baseline=1.5),
                    KeyResult("nobase", "score", 0.0, aggregate="mean", objective=("s",))),
                actions={"effort": 1.0},
                parameters={"noise": Distribution("fixed", {"value": 1.0})}, **kw)


def expected_score(b: float, t: float) -> float:
    """E[clip((X - b) / (t - b), 0, 1)] for X ~ Normal(MU, SIGMA)."""
    lo, hi = sorted((b, t))
    f = stats.norm(MU, SIGMA)
    inner = integrate.quad(lambda x: (x - b) / (t - b) * f.pdf(x), lo, hi)[0]
    tail = f.sf(t) if t > b else f.cdf(t)
    return inner + tail


def test_scores():
    np.testing.assert_allclose(scores(np.array([6, 7, 8.5, 10, 12, np.nan]), 7, 10),
                               [0, 0, 0.5, 1, 1, 0])
    # <= key result: target below baseline
    np.testing.assert_allclose(scores(np.array([0.9, 0.8, 0.7, 0.6]), 0.8, 0.6),
                               [0, 0, 0.5, 1])
    # baseline = target: a step at the target, by comparison
    np.testing.assert_array_equal(scores(np.array([1.0, 2.0, np.nan]), 1.0, 1.0), [1, 1, 0])
    np.testing.assert_array_equal(scores(np.array([1.0, 2.0]), 1.0, 1.0, "<="), [1, 0])


def test_labels_and_cut_points():
    assert [label(p) for p in (0.95, 0.9, 0.89, 0.3, 0.29)] == [
        "committed", "committed", "stretch", "stretch", "unrealistic"]
    assert label(0.75, committed=0.7, stretch=0.5) == "committed"
    assert label(0.45, committed=0.7, stretch=0.5) == "unrealistic"


def test_expected_score_matches_the_closed_form():
    res = okma_sim.simulate(toy_plan(), 20_000, seed=4, progress=False)
    g = grade(res).set_index("id")
    assert list(g.index) == ["up", "down"]  # only key results with a baseline
    for kr, (b, t) in {"up": (0.5, 1.5), "down": (1.5, 0.5)}.items():
        assert abs(g.loc[kr, "expected_score"] - expected_score(b, t)) <= \
            Z * g.loc[kr, "expected_score_stderr"]
        s = scores(res.values[kr], b, t)
        assert g.loc[kr, "score_p50"] == np.quantile(s, 0.5)
        e = res.probability(kr)
        assert g.loc[kr, "probability"] == e.probability and g.loc[kr, "stderr"] == e.stderr
    # P(score = 1) is P(met)
    assert math.isclose((scores(res.values["up"], 0.5, 1.5) >= 1).mean(),
                        g.loc["up", "probability"])


def test_labels_follow_the_scenario_cut_points():
    res = okma_sim.simulate(toy_plan(), 2000, seed=1, progress=False)
    p_up = res.probability("up").probability  # about 0.2
    p_down = res.probability("down").probability  # about 0.2
    g = grade(res).set_index("id")
    assert g.loc["up", "label"] == label(p_up)
    custom = dataclasses.replace(res, plan=res.plan.replace(
        grading=Grading(committed=0.15, stretch=0.1)))
    g2 = grade(custom).set_index("id")
    assert g2.loc["up", "label"] == ("committed" if p_up >= 0.15 else "stretch")
    assert g2.loc["down", "label"] == label(p_down, 0.15, 0.1)


def test_grading_cut_points_from_toml(tmp_path):
    text = okma_sim.case_study_path().read_text() + "\n[grading]\ncommitted = 0.6\nstretch = 0.2\n"
    p = tmp_path / "g.toml"
    p.write_text(text)
    plan = okma_sim.load_plan(p)
    assert plan.grading == Grading(0.6, 0.2)
    res = okma_sim.simulate(plan, 1000, seed=2, progress=False)
    for _, r in res.grading().iterrows():
        assert r["label"] == label(r["probability"], 0.6, 0.2)


def test_standard_error_follows_the_sampler():
    res = okma_sim.simulate(toy_plan(), 2048, seed=3, sampler="lhs", progress=False)
    g = grade(res).set_index("id")
    s = scores(res.values["up"], 0.5, 1.5)
    m, se = mean_stderr(s, res.replicate_index)
    assert g.loc["up", "expected_score_stderr"] == se
    assert not math.isclose(se, s.std(ddof=1) / math.sqrt(s.size), rel_tol=1e-3)
    # weighted paths: the delta-method form
    w = np.random.default_rng(1).gamma(2.0, size=res.n_paths)
    wres = dataclasses.replace(res, weights=w, replicate_index=None)
    m_w, se_w = mean_stderr(s, None, w)
    assert math.isclose(m_w, np.sum(w * s) / w.sum())
    gw = grade(wres).set_index("id").loc["up"]
    assert gw["expected_score"] == m_w and gw["expected_score_stderr"] == se_w
    # equal weights: the delta-method SE is the plain one without Bessel's correction
    assert math.isclose(mean_stderr(s, None, np.ones(s.size))[1],
                        s.std(ddof=0) / math.sqrt(s.size))
    # an independent check: the bootstrap SE of the weighted mean (resampling (w, s) pairs).
    # With B resamples its relative error is about 1 / sqrt(2 (B - 1)); 4 of those
    rng = np.random.default_rng(2)
    B = 4000
    boot = np.empty(B)
    for j in range(B):
        i = rng.integers(0, s.size, s.size)
        boot[j] = np.sum(w[i] * s[i]) / w[i].sum()
    assert abs(boot.std(ddof=1) / se_w - 1) <= 4 / math.sqrt(2 * (B - 1))


def test_score_distribution():
    res = okma_sim.simulate(toy_plan(), 3000, seed=5, progress=False)
    d = score_distribution(res, "up", bins=5)
    assert math.isclose(d["share"].sum(), 1.0)
    s = scores(res.values["up"], 0.5, 1.5)
    assert math.isclose(d["share"].iloc[0], (s <= 0).mean())
    assert math.isclose(d["share"].iloc[-1], (s >= 1).mean())
    assert math.isclose(d["share"].iloc[-1], res.probability("up").probability)
    assert math.isclose(d["share"].iloc[1], ((s > 0) & (s < 0.2)).mean())
    with pytest.raises(KeyError, match="baseline"):
        score_distribution(res, "nobase")
