"""The review's likelihood terms against independent computations: the CSAT binomial with
its training term (scipy.stats), the skill integral against numerical quadrature, the new
customers' per-rep rate (ramp, training uplift, coaching) written out cell by cell, and a
probability at the edge that leaves observed counts unlikely, not impossible."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, special, stats

import okma_sim
from okma_sim.inference import load_actuals
from okma_sim.inference._review_likelihood import (_NewCustomers, _binom_logpmf, _ll_csat,
                                                   _log_skill_integral)

ACTUALS = okma_sim.data_path("case_study_actuals.csv")


@pytest.fixture(scope="module")
def act(case):
    return load_actuals(ACTUALS, case)


def test_binomial_at_an_edge_probability_is_finite():
    """q = 1 (or 0) is moved 1e-12 inside: 2 of 3 at q = 1 has the log-probability of
    q = 1 - 1e-12, not -inf."""
    assert _binom_logpmf(2, 3, 1.0) == pytest.approx(stats.binom.logpmf(2, 3, 1 - 1e-12))
    assert _binom_logpmf(1, 3, 0.0) == pytest.approx(stats.binom.logpmf(1, 3, 1e-12))


def test_csat_term_is_the_binomial_with_coverage_and_training(act):
    """Satisfied ~ Binomial(responses, expit(logit cb + cce (rr - 0.8) + cte min(stock, 3)))
    summed over the surveyed rep-months, for two paths with different training stocks."""
    S, T = act.n_seats, act.T
    cb = np.array([0.7, 0.8])[:, None, None]
    cce = np.array([1.0, 2.0])[:, None, None]
    cte = np.array([0.3, 0.5])[:, None, None]
    stock = np.stack([np.full((S, T), 1.5), np.arange(S * T, dtype=float).reshape(S, T) / 7])
    got = _ll_csat(act, cb, cce, cte, stock)
    c = act.cols
    for m in range(2):
        want = 0.0
        for s in range(S):
            for t in range(T):
                if act.worked[s, t] and c["csat_responses"][s, t] > 0:
                    a = c["active_customers"][s, t]
                    rr = c["revisited_customers"][s, t] / a if a > 0 else 0.0
                    lg = (math.log(cb[m, 0, 0] / (1 - cb[m, 0, 0])) + cce[m, 0, 0] * (rr - 0.8)
                          + cte[m, 0, 0] * min(stock[m, s, t], 3.0))
                    want += stats.binom.logpmf(c["csat_satisfied"][s, t],
                                               c["csat_responses"][s, t], special.expit(lg))
        assert want != 0.0
        assert got[m, 0] == pytest.approx(want, rel=1e-9)


@pytest.mark.parametrize("N,A,sig", [(0.0, 0.0, 0.3), (3.0, 2.0, 0.5), (30.0, 10.0, 0.8),
                                     (1.0, 25.0, 1.2), (12.0, 3.0, 0.2)])
def test_skill_integral_against_quadrature(N, A, sig):
    """log E[s^N exp(-s A)], s lognormal with mean 1 and log-sd sig, equals the integral
    over the normal density done by scipy's quad (to 1e-5, the Gauss-Hermite rule's
    accuracy on these smooth log-concave integrands)."""
    def f(z):
        ls = -sig * sig / 2 + sig * z
        return stats.norm.pdf(z) * math.exp(N * ls - A * math.exp(ls))
    want = math.log(integrate.quad(f, -12, 12, points=[0.0], epsabs=0, epsrel=1e-12,
                                   limit=200)[0])
    got = float(_log_skill_integral(np.array([N]), np.array([A]), np.array([sig]))[0])
    assert got == pytest.approx(want, abs=1e-5)


def test_new_customer_rates_cell_by_cell(case, act):
    """Each rep's summed acquisition rate A and sum of n log(rate) - log n!: the rate of a
    rep-month is base x ramp x training uplift x coaching x visits^elasticity x season x
    marketing, with ramp = min(1, (tenure + 1) / ramp_months) and the uplift
    1 + effect (1 - exp(-stock)) / (1 - exp(-1))."""
    S, T = act.n_seats, act.T
    n = 2
    rng = np.random.default_rng(5)
    cm = 1.0 + 0.3 * (rng.random((n, S, T)) < 0.5)
    season = 1.0 + 0.1 * rng.random((n, T))
    stock = rng.random((n, S, T + 1)) * 2.0
    mkt_events = np.zeros((n, T))
    nc = _NewCustomers(case, act, cm, season, stock, mkt_events)
    g = {"base_win_rate": np.array([[0.05], [0.08]]),
         "ramp_months": np.array([[40.0], [60.0]]),  # above the tenures: the ramp binds
         "training_effect": np.array([[0.2], [0.4]]),
         "marketing_effect": np.array([[0.1], [0.0]]),
         "visit_elasticity": np.array([[0.7], [0.9]])}
    A, const = nc.parts(slice(0, n), g)
    from okma_sim.models import REFERENCE_PROSPECT_VISITS
    from okma_sim.models.sales import SalesTeamModel
    mkt_plan = SalesTeamModel().lever(case, "marketing_events_per_quarter")
    c = act.cols
    nrep = len(act.reps)
    for m in range(n):
        wantA, wantC = np.zeros(nrep), np.zeros(nrep)
        for s in range(S):
            for t in range(T):
                pv = c["prospect_visits"][s, t]
                if not (act.worked[s, t] and pv > 0):
                    continue
                ramp = min(1.0, (act.tenure_start[s, t] + 1.0) / g["ramp_months"][m, 0])
                up = 1.0 + g["training_effect"][m, 0] * (1 - math.exp(-stock[m, s, t])) \
                    / (1 - math.exp(-1.0))
                mk = 1.0 + g["marketing_effect"][m, 0] * math.log2(1.0 + mkt_plan)
                rate = (g["base_win_rate"][m, 0] * ramp * up * cm[m, s, t]
                        * (pv / REFERENCE_PROSPECT_VISITS) ** g["visit_elasticity"][m, 0]
                        * season[m, t] * mk)
                r = act.occupant[s, t]
                k = c["new_customers"][s, t]
                wantA[r] += rate
                wantC[r] += k * math.log(rate) - math.lgamma(k + 1.0)
        assert (act.tenure_start + 1 < 40).any()
        np.testing.assert_allclose(A[m, 0], wantA, rtol=1e-10)
        np.testing.assert_allclose(const[m, 0], wantC, rtol=1e-10)
