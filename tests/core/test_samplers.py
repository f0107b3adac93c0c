"""The monotone count samplers: exact quantiles, element-wise results, monotone in the rate.

scipy's ``ppf`` is the independent oracle. It computes the CDF another way (incomplete gamma and
beta functions), so the two can disagree only when u lies within rounding of a CDF step; with
random u that has probability of order 1e-15 a draw.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from okma_sim._core.counts import POISSON_EXACT_BELOW, binomial_icdf, poisson_icdf


@pytest.fixture()
def rng():
    return np.random.default_rng(20261129)


@pytest.mark.parametrize("scale", [0.05, 1.0, 12.0, 29.0])
def test_poisson_icdf_equals_scipy_ppf(rng, scale):
    u = rng.random((3000, 7))
    lam = rng.uniform(0.0, 1.0, u.shape) * scale
    got = poisson_icdf(u, lam)
    np.testing.assert_array_equal(got, stats.poisson.ppf(u, lam))


@pytest.mark.parametrize("n_max,q_max", [(5, 0.5), (40, 0.5), (40, 1.0), (200, 0.1)])
def test_binomial_icdf_equals_scipy_ppf(rng, n_max, q_max):
    u = rng.random((3000, 7))
    n = np.rint(rng.uniform(0, n_max, u.shape))
    q = rng.uniform(0, q_max, u.shape)
    exact = n * q * (1 - q) < 30  # above that the documented normal approximation is used
    got = binomial_icdf(u, n, q)
    np.testing.assert_array_equal(got[exact], stats.binom.ppf(u, n, q)[exact])
    assert exact.mean() > 0.5


def test_counts_do_not_depend_on_the_other_elements(rng):
    """The search compacts the elements still searching; an element's count must be what it
    is alone (results may not depend on chunk size or on the other paths of a block)."""
    u = rng.random(400)
    lam = rng.uniform(0, 25, 400)
    whole = poisson_icdf(u, lam)
    alone = np.array([poisson_icdf(u[i:i + 1], lam[i:i + 1])[0] for i in range(400)])
    np.testing.assert_array_equal(whole, alone)
    n = np.rint(rng.uniform(0, 60, 400))
    q = rng.uniform(0, 1, 400)
    whole = binomial_icdf(u, n, q)
    alone = np.array([binomial_icdf(u[i:i + 1], n[i:i + 1], q[i:i + 1])[0]
                      for i in range(400)])
    np.testing.assert_array_equal(whole, alone)


def test_monotone_in_the_rate_for_a_fixed_uniform(rng):
    u = rng.random(2000)
    lam = rng.uniform(0, POISSON_EXACT_BELOW - 1, 2000)
    assert np.all(poisson_icdf(u, lam * 1.1) >= poisson_icdf(u, lam))
    n = np.rint(rng.uniform(0, 50, 2000))
    q = rng.uniform(0, 0.9, 2000)
    assert np.all(binomial_icdf(u, n, q + 0.05) >= binomial_icdf(u, n, q))
    assert np.all(binomial_icdf(u, n + 3, q) >= binomial_icdf(u, n, q))


def test_uniform_at_the_top_of_its_range_gives_a_sane_count():
    """``Generator.random`` can return 1 - 2**-53, where the summed CDF may stall just
    below u: the count must still be the (finite) top quantile, not a runaway."""
    u = np.full(6, 1.0 - 2.0 ** -53)
    lam = np.array([1e-3, 0.5, 3.0, 10.0, 24.4, 29.9])
    got = poisson_icdf(u, lam)
    assert np.all(np.isfinite(got))
    # the count reaches u up to the rounding of a sum of got + 1 terms (each within
    # 2**-53 relative): the true upper tail beyond it is at most 2**-53 plus that error
    assert np.all(stats.poisson.sf(got, lam) <= 2.0 ** -53 + (got + 1) * 2.0 ** -52)
    # and it does not run away: the documented cap for a stalled sum
    assert np.all(got <= np.ceil(lam + 10 * np.sqrt(lam) + 40))
