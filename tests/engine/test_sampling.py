"""Parameter designs: plain Monte Carlo, Latin hypercube and Sobol' (replicate-based standard
errors, chunk invariance), Iman-Conover rank correlation and the nearest-correlation repair.

Tolerances are 4 standard errors, each derived in the test (Fisher z for rank correlations,
F and chi-square bands for variances)."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from scipy import stats

import okma_sim
from okma_sim import BLOCK_SIZE
from okma_sim.params import Distribution
from okma_sim.plan import Correlations, Objective, Plan
from okma_sim.engine import (ParameterDesign, check_correlation, iman_conover, nearest_correlation,
                             spearman_to_normal)

Z = 4.0
TARGET = np.array([[1.0, 0.6, -0.3], [0.6, 1.0, 0.2], [-0.3, 0.2, 1.0]])


def toy_plan(effort: float = 1.0, target: float = 1.2, noise=1.0, corr=None, **kw) -> Plan:
    params = {"noise": Distribution("fixed", {"value": noise})} if isinstance(noise, float) \
        else {"noise": noise}
    return Plan("toy", "2027-01", 12, model="linear_toy",
                objectives=(Objective("s", "score", target, aggregate="mean"),),
                actions={"effort": effort}, parameters=params, correlations=corr, **kw)


# -- Iman-Conover ---------------------------------------------------------------------------
def test_iman_conover_keeps_marginals_exactly():
    rng = np.random.default_rng(1)
    u = rng.random((500, 3))
    v = iman_conover(u, TARGET)
    for j in range(3):
        assert np.array_equal(np.sort(u[:, j]), np.sort(v[:, j]))
    assert not np.array_equal(u, v)


def test_iman_conover_mean_rank_correlation_is_the_target():
    # across 100 independent samples the mean Spearman correlation must equal the target to
    # within 4 SE of that mean (without the Spearman -> normal-score adjustment it would be
    # off by about 0.018 at 0.6, some 25 SE)
    n, reps = 1024, 100
    rs = np.array([stats.spearmanr(iman_conover(np.random.default_rng(s).random((n, 3)),
                                                TARGET)).statistic for s in range(reps)])
    mean, se = rs.mean(axis=0), rs.std(axis=0, ddof=1) / math.sqrt(reps)
    iu = np.triu_indices(3, 1)
    assert np.all(np.abs(mean[iu] - TARGET[iu]) <= Z * se[iu] + 1e-4), (mean[iu], se[iu])


def test_spearman_to_normal_inverts_pearsons_relation():
    rho = np.linspace(-0.95, 0.95, 11)
    r = spearman_to_normal(rho)
    np.testing.assert_allclose(6 / np.pi * np.arcsin(r / 2), rho, atol=1e-12)


@pytest.mark.parametrize("sampler", ["mc", "lhs", "sobol"])
def test_engine_applies_rank_correlations(sampler):
    # gain, bias and noise correlated as TARGET; Fisher z of a Spearman coefficient has
    # standard error about sqrt(1.06 / (n - 3)) (Fieller, Hartley & Pearson 1957) under
    # independent sampling; Iman-Conover is at least that precise
    n = 2 * BLOCK_SIZE
    plan = toy_plan(noise=Distribution("uniform", {"low": 0.5, "high": 1.5}),
                    corr=Correlations(("gain", "bias", "noise"),
                                      tuple(map(tuple, TARGET.tolist()))))
    res = okma_sim.simulate(plan, n, seed=3, sampler=sampler, progress=False)
    assert not any("repaired" in w for w in res.warnings)
    r = stats.spearmanr(res.params[["gain", "bias", "noise"]].to_numpy()).statistic
    se = math.sqrt(1.06 / (n - 3))
    iu = np.triu_indices(3, 1)
    assert np.all(np.abs(np.arctanh(r[iu]) - np.arctanh(TARGET[iu])) <= Z * se), r[iu]
    # marginals unchanged: the correlated gain is still Normal(1, 0.2)
    assert stats.kstest(res.params["gain"], stats.norm(1.0, 0.2).cdf).pvalue > 1e-4


# -- nearest correlation ----------------------------------------------------------------------
def test_nearest_correlation_leaves_a_valid_matrix_alone():
    c, repaired = nearest_correlation(TARGET)
    assert not repaired
    np.testing.assert_array_equal(c, TARGET)


def test_nearest_correlation_higham_example():
    # Higham (2002), section 4: the nearest correlation matrix to [[1,1,0],[1,1,1],[0,1,1]]
    a = np.array([[1.0, 1, 0], [1, 1, 1], [0, 1, 1]])
    c, repaired = nearest_correlation(a)
    assert repaired
    expect = np.array([[1, 0.7607, 0.1573], [0.7607, 1, 0.7607], [0.1573, 0.7607, 1]])
    np.testing.assert_allclose(c, expect, atol=2e-4)
    assert np.linalg.eigvalsh(c).min() > 0
    np.testing.assert_allclose(np.diag(c), 1.0)
    np.linalg.cholesky(c)


@pytest.mark.parametrize("bad,key,value", [
    ([[1, 0.5, 0.1], [0.5, 1, 0.2]], "correlations.matrix", "shape (2, 3)"),
    ([[1, 1.5], [1.5, 1]], "correlations.matrix[0][1]", 1.5),
    ([[1, 0.5], [0.5, 0.9]], "correlations.matrix[1][1]", 0.9),
    ([[1, 0.5], [0.4, 1]], "correlations.matrix[0][1]", 0.5),
])
def test_check_correlation_names_the_entry(bad, key, value):
    with pytest.raises(okma_sim.PlanError) as info:
        check_correlation(bad)
    assert info.value.key == key and info.value.value == value


def test_engine_warns_when_it_repairs_the_matrix():
    bad = ((1.0, 0.9, -0.9), (0.9, 1.0, 0.9), (-0.9, 0.9, 1.0))
    plan = toy_plan(noise=Distribution("uniform", {"low": 0.5, "high": 1.5}),
                    corr=Correlations(("gain", "bias", "noise"), bad))
    res = okma_sim.simulate(plan, 500, seed=1, progress=False)
    assert any(w.startswith("correlation matrix repaired") for w in res.warnings)


# -- designs ------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 3, 5, 33, 100])
def test_replicates_are_never_empty(n):
    d = ParameterDesign(["a", "b"], n, np.random.SeedSequence(1), "lhs", replicates=16)
    idx = d.replicate_index()
    assert idx.size == n
    counts = np.bincount(idx)
    assert counts.min() >= 1 and counts.size == d.replicates
    if n >= 4:
        assert counts.min() >= 2


def test_unknown_sampler_is_rejected():
    with pytest.raises(okma_sim.PlanError, match="unknown sampler"):
        okma_sim.simulate(toy_plan(), 10, seed=1, sampler="halton")


@pytest.mark.parametrize("sampler", ["lhs", "sobol"])
def test_designs_identical_for_any_chunking_and_executor(sampler):
    plan = toy_plan()
    n = 2 * BLOCK_SIZE + 100
    ref = okma_sim.simulate(plan, n, seed=5, sampler=sampler, progress=False)
    small = okma_sim.simulate(plan, n, seed=5, sampler=sampler, chunk_size=1,
                              progress=False)
    with ThreadPoolExecutor(2) as ex:
        par = okma_sim.simulate(plan, n, seed=5, sampler=sampler, chunk_size=BLOCK_SIZE,
                                executor=ex, progress=False)
    for other in (small, par):
        np.testing.assert_array_equal(ref.values["s"], other.values["s"])
        np.testing.assert_array_equal(ref.params.to_numpy(), other.params.to_numpy())
        np.testing.assert_array_equal(ref.replicate_index, other.replicate_index)
    other_seed = okma_sim.simulate(plan, n, seed=6, sampler=sampler, progress=False)
    assert not np.array_equal(ref.values["s"], other_seed.values["s"])


def test_lhs_and_sobol_beat_mc_for_a_smooth_metric():
    # score with no monthly noise: the mean over paths is gain * effort + bias, smooth in the
    # uniforms. The variance of the estimated mean across 40 seeds must be lower for LHS and
    # Sobol' than for MC beyond an F test at level 1e-4 (they are far lower in fact).
    plan = toy_plan(noise=0.0, effort=2.0)
    n, seeds = 256, 40

    def spread(sampler):
        return np.var([okma_sim.simulate(plan, n, seed=s, sampler=sampler,
                                         progress=False).values["s"].mean()
                       for s in range(seeds)], ddof=1)

    v_mc = spread("mc")
    crit = stats.f.ppf(1e-4, seeds - 1, seeds - 1)
    # MC agrees with the analytic variance of the mean, (0.04 * 4 + 0.25) / n
    chi = (seeds - 1) * v_mc / ((0.04 * 4 + 0.25) / n)
    assert stats.chi2.ppf(1e-4, seeds - 1) < chi < stats.chi2.ppf(1 - 1e-4, seeds - 1)
    for sampler in ("lhs", "sobol"):
        assert spread(sampler) / v_mc < crit, sampler


@pytest.mark.parametrize("sampler", ["lhs", "sobol"])
def test_replicate_standard_errors_are_calibrated(sampler):
    # across 60 seeds the variance of the estimated probability must agree with the mean
    # reported SE^2: a chi-square band at level 1e-4 on 59 degrees of freedom for the variance,
    # widened by 4 standard errors of the mean SE^2 (each SE^2 is estimated from R replicate
    # means: relative standard error sqrt(2 / (R - 1)), over the seeds divided by sqrt(60))
    plan = toy_plan(target=1.2)
    seeds = 60
    ps, ses = [], []
    for s in range(seeds):
        r = okma_sim.simulate(plan, 512, seed=s, sampler=sampler, progress=False)
        e = r.probability("s")
        ps.append(e.probability)
        ses.append(e.stderr)
    ratio = np.var(ps, ddof=1) / np.mean(np.square(ses))
    R = int(r.replicate_index.max()) + 1
    slack = 1 + Z * math.sqrt(2 / (R - 1) / seeds)
    lo = stats.chi2.ppf(1e-4, seeds - 1) / (seeds - 1)
    hi = stats.chi2.ppf(1 - 1e-4, seeds - 1) / (seeds - 1)
    assert lo / slack < ratio < hi * slack, ratio
    # and they are replicate-based, not the binomial formula
    p = ps[0]
    assert not math.isclose(ses[0], math.sqrt(p * (1 - p) / 512), rel_tol=1e-6)
