"""Every branch of the inverse-CDF samplers against scipy.stats and the documented formulas.

test_samplers.py checks the exact searches on random rates; this file visits each branch by
construction: the large-rate Poisson approximation, the binomial's normal branch, its
certain (q = 1), empty (n = 0, q = 0), high-q (searched from the short side) and u = 0
corners, and the thresholds between branches.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from okma_sim._core.counts import (BINOMIAL_EXACT_BELOW, POISSON_EXACT_BELOW, binomial_icdf,
                                   binomial_normal_icdf, poisson_icdf)

U = np.random.default_rng(17).random(4000)


def test_poisson_large_rates_follow_the_documented_cornish_fisher_formula():
    lam = np.linspace(POISSON_EXACT_BELOW, 3000.0, U.size)
    got = poisson_icdf(U, lam)
    z = stats.norm.ppf(U)
    expected = np.maximum(0.0, np.rint(lam + np.sqrt(lam) * z + (z * z - 1.0) / 6.0))
    np.testing.assert_array_equal(got, expected)
    # against scipy's exact quantile: the error is the rounding (0.5) plus the Cornish-Fisher
    # terms left out, [(z^3 - 3z) / 24 - (2 z^3 - 5 z) / 36] / sqrt(lam), under 0.5 for these
    # draws (|z| up to 4, lam >= 30): together under one count
    exact = stats.poisson.ppf(U, lam)
    left_out = np.abs((z**3 - 3 * z) / 24 - (2 * z**3 - 5 * z) / 36) / np.sqrt(lam)
    assert left_out.max() < 0.5
    assert np.max(np.abs(got - exact)) <= 1.0


def test_poisson_threshold_between_the_branches():
    u = np.array([0.3, 0.7, 0.999])
    below = np.full(3, np.nextafter(POISSON_EXACT_BELOW, 0.0))
    np.testing.assert_array_equal(poisson_icdf(u, below), stats.poisson.ppf(u, below))
    at = np.full(3, POISSON_EXACT_BELOW)
    z = stats.norm.ppf(u)
    np.testing.assert_array_equal(poisson_icdf(u, at), np.rint(at + np.sqrt(at) * z
                                                                 + (z * z - 1) / 6))


def test_poisson_mixed_rates_put_each_element_in_its_branch():
    lam = np.where(np.arange(U.size) % 2 == 0, 4.0, 400.0)
    got = poisson_icdf(U, lam)
    small = lam < POISSON_EXACT_BELOW
    np.testing.assert_array_equal(got[small], stats.poisson.ppf(U[small], lam[small]))
    z = stats.norm.ppf(U[~small])
    np.testing.assert_array_equal(got[~small], np.rint(400 + 20 * z + (z * z - 1) / 6))


def test_poisson_zero_rate_is_zero():
    np.testing.assert_array_equal(poisson_icdf(U[:50], np.zeros(50)), np.zeros(50))


@pytest.mark.parametrize("n,q", [(200.0, 0.5), (1000.0, 0.1), (1000.0, 0.93), (5000.0, 0.6)])
def test_binomial_normal_branch(n, q):
    assert n * q * (1 - q) >= BINOMIAL_EXACT_BELOW
    got = binomial_icdf(U, np.full(U.size, n), np.full(U.size, q))
    mu, sd = n * q, np.sqrt(n * q * (1 - q))
    expected = np.clip(np.ceil(mu + stats.norm.ppf(U) * sd - 0.5), 0, n)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(binomial_normal_icdf(stats.norm.ppf(U), np.full(U.size, n),
                                                       np.full(U.size, q)), expected)
    # against scipy's exact quantile: the rounding (0.5, plus the continuity correction's 0.5)
    # and the skew the normal leaves out, |1 - 2q| (z^2 - 1) / 6 in counts, bound the error
    z = stats.norm.ppf(U)
    bound = 1.0 + np.max(np.abs(1 - 2 * q) * np.abs(z * z - 1) / 6) * 1.1  # +10%: higher terms
    assert np.max(np.abs(got - stats.binom.ppf(U, n, q))) <= np.floor(bound)


def test_binomial_normal_icdf_clips_to_zero_and_n():
    z = np.array([-50.0, 50.0])
    np.testing.assert_array_equal(binomial_normal_icdf(z, np.array([40.0, 40.0]),
                                                       np.array([0.5, 0.5])), [0.0, 40.0])


def test_binomial_threshold_between_exact_and_normal():
    # n q (1 - q) just below the threshold is exact (scipy), at it the normal formula
    q = 0.5
    n_exact = 119.0  # variance 29.75
    n_normal = 120.0  # variance 30
    got = binomial_icdf(U, np.full(U.size, n_exact), q)
    np.testing.assert_array_equal(got, stats.binom.ppf(U, n_exact, q))
    got = binomial_icdf(U, np.full(U.size, n_normal), q)
    expected = np.ceil(60.0 + stats.norm.ppf(U) * np.sqrt(30.0) - 0.5)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("q", [0.55, 0.8, 0.97, 0.999999])
def test_binomial_high_q_searched_from_the_short_side(q):
    n = np.rint(np.linspace(1, 60, U.size))
    got = binomial_icdf(U, n, np.full(U.size, q))
    exact = n * q * (1 - q) < BINOMIAL_EXACT_BELOW
    assert exact.all()
    np.testing.assert_array_equal(got, stats.binom.ppf(U, n, q))


def test_binomial_corners():
    u = np.array([0.0, 0.2, 0.9, 0.999, 0.5, 0.5, 0.0, 0.0])
    n = np.array([10.0, 10.0, 10.0, 10.0, 0.0, 7.0, 30.0, 30.0])
    q = np.array([1.0, 1.0, 1.0, 1.0, 0.6, 0.0, 0.3, 0.7])
    # q = 1: every trial succeeds; n = 0 or q = 0: none; u = 0: the smallest count, 0
    np.testing.assert_array_equal(binomial_icdf(u, n, q), [10, 10, 10, 10, 0, 0, 0, 0])
    # q outside [0, 1] is clipped, n is rounded
    np.testing.assert_array_equal(binomial_icdf(np.array([0.5, 0.5]), np.array([9.6, 10.0]),
                                                np.array([1.5, -0.2])), [10.0, 0.0])


def test_binomial_mixed_branches_in_one_call():
    k = np.arange(U.size) % 4
    n = np.choose(k, [20.0, 20.0, 400.0, 15.0])
    q = np.choose(k, [0.2, 0.85, 0.5, 1.0])
    got = binomial_icdf(U, n, q)
    exact = k < 2
    np.testing.assert_array_equal(got[exact], stats.binom.ppf(U[exact], n[exact], q[exact]))
    z = stats.norm.ppf(U[k == 2])
    np.testing.assert_array_equal(got[k == 2], np.ceil(200 + 10 * z - 0.5))
    np.testing.assert_array_equal(got[k == 3], 15.0)



def test_poisson_u_within_rounding_of_one_never_returns_the_stopping_cap():
    """``random()`` can return 1 - 2**-53, where the summed pmf can stall below u: the search
    runs on past the stopping cap, ceil(lam + 10 sqrt(lam) + 40), and such counts must be
    replaced by scipy's quantile. For rates under 0.0097, P(X >= 10) < 1e-26 is far below
    2**-53, so any count at 10 or more is wrong (about one in 60 of these rates stalls)."""
    lam = np.concatenate([np.linspace(1e-6, 0.0097, 20_000), np.linspace(0.0097, 29.9, 2000)])
    u = np.full(lam.size, np.nextafter(1.0, 0.0))
    got = poisson_icdf(u, lam)
    assert np.all(got < np.ceil(lam + 10.0 * np.sqrt(lam) + 40.0))
    assert np.all(got[:20_000] < 10)
    assert stats.poisson.sf(9, 0.0097) < 1e-26
