"""The review's likelihood: the sales model's probability of the observed counts given the
recorded efforts, one term per kind of data (:data:`LIKELIHOOD_TERMS`).

Each term returns the log-likelihood of every path and candidate, shape (paths, candidates);
the candidates' parameters come in as (paths, candidates) arrays. The new-customer term
integrates each rep's skill out (:class:`_NewCustomers`).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
from scipy import special, stats

from okma_sim.io import Actuals
from okma_sim.models import (REFERENCE_PROSPECT_VISITS, REFERENCE_REVISIT_RATE, SalesTeamModel,
                             revisit_reach, survey_month)
from okma_sim.plan import Plan

__all__ = ["LIKELIHOOD_TERMS"]

#: the data terms of the likelihood (``review(..., likelihood=...)`` may pick some)
LIKELIHOOD_TERMS = ("new_customers", "revisited_customers", "churned_customers", "revenue",
                    "csat", "surveys", "attrition")
#: parameters that enter one term only: refined by K candidates
_LOCAL = {
    "new_customers": ("base_win_rate", "visit_elasticity", "skill_cv", "training_effect",
                      "ramp_months", "marketing_effect"),
    "revisited_customers": ("followup_targeting", "revisit_heterogeneity"),
    "churned_customers": ("churn_base", "churn_revisit_effect"),
    "revenue": ("repeat_order_rate", "visit_order_effect", "order_value", "order_value_cv"),
    "csat": ("csat_base", "csat_coverage_effect", "csat_training_effect"),
    "surveys": ("survey_completion", "survey_response_rate"),
    "attrition": ("rep_attrition_annual",),
}
#: skill grid (standard-normal scale) for integrating and drawing rep skills
_Z = np.linspace(-6.0, 6.0, 121)
_LOG_PHI = -0.5 * _Z**2 - 0.5 * math.log(2 * math.pi)
_DZ = float(_Z[1] - _Z[0])
#: adaptive Gauss-Hermite nodes for a rep's skill integral (the integrand is log-concave)
_GH_X, _GH_W = np.polynomial.hermite.hermgauss(10)

#: a term's log-likelihood of paths ``sl`` given their candidates' parameters
_Term = Callable[[slice, dict], np.ndarray]


def _cells(mask: np.ndarray, *arrays: np.ndarray) -> list[np.ndarray]:
    """The masked cells of (seats, months) arrays, flattened; path arrays (m, S, T) become
    (m, 1, cells) to broadcast against candidates (m, K, 1)."""
    idx = np.flatnonzero(mask.ravel())
    out = []
    for a in arrays:
        a = np.asarray(a)
        out.append(a.reshape(a.shape[0], 1, -1)[:, :, idx] if a.ndim == 3 else a.ravel()[idx])
    return out


def _diff_ndtr(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """Phi(hi) - Phi(lo), computed on the side of the mean that keeps precision."""
    # above the mean Phi(hi) - Phi(lo) = Phi(-lo) - Phi(-hi): swap the arguments there, so
    # only two ndtr calls run (not both branches of a where)
    upper = lo > 0
    return special.ndtr(np.where(upper, -lo, hi)) - special.ndtr(np.where(upper, -hi, lo))


def _binom_logpmf(k, n, q):
    # q clipped off 0 and 1: a probability at the edge would make the observed counts
    # impossible on that path (-inf) rather than merely unlikely
    return stats.binom.logpmf(k, n, np.clip(q, 1e-12, 1 - 1e-12))


def _ll_revisited(act: Actuals, ft: np.ndarray, rh: np.ndarray, cm: np.ndarray) -> np.ndarray:
    """The model's revisit draw is ``ceil(mu + z sd - 1/2)`` clipped to [0, active], so
    P(k) = Phi((k + 1/2 - mu) / sd) - Phi((k - 1/2 - mu) / sd), open at 0 and at active.

    ``ft``, ``rh`` (m, K, 1) candidates' targeting and heterogeneity, ``cm`` (m, S, T) the
    coaching multiplier of each path."""
    A = act.cols["active_customers"]
    mask = act.worked & (A > 0)
    A, k, cv, cm = _cells(mask, A, act.cols["revisited_customers"],
                          act.cols["customer_visits"], cm)
    reach = revisit_reach(ft * cm, cv / np.maximum(A, 1.0), rh)
    mu = A * reach
    sd = np.sqrt(np.maximum(mu * (1.0 - reach), 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        hi = np.where(k >= A, np.inf, (k + 0.5 - mu) / sd)
        lo = np.where(k <= 0, -np.inf, (k - 0.5 - mu) / sd)
        pr = _diff_ndtr(hi, lo)
    # a degenerate binomial (reach 0 or 1) has one outcome
    point = np.clip(np.ceil(mu - 0.5), 0, A)
    pr = np.where(sd > 0, pr, (k == point).astype(float))
    with np.errstate(divide="ignore"):
        return np.maximum(np.log(pr), -700.0).sum(-1)


def _ll_churned(act: Actuals, cb: np.ndarray, cre: np.ndarray) -> np.ndarray:
    """Churned ~ Poisson(active x churn_base x (1 - churn_revisit_effect x revisit rate)),
    capped at the book (churning everyone has the Poisson's upper tail). Uses the sufficient
    statistics of the Poisson part, so its cost does not grow with the seats."""
    A = act.cols["active_customers"]
    mask = act.worked & (A > 0)
    A, k, rv = _cells(mask, A, act.cols["churned_customers"], act.cols["revisited_customers"])
    rr = rv / A
    cap = k >= A
    # sum over cells of k log(lam) - lam (lgamma(k + 1) is the same on every path)
    pos = (k > 0) & ~cap
    ll = np.log(np.maximum(cb, 1e-300))[..., 0] * k[pos].sum() \
        + (k[pos] * np.log(np.maximum(1.0 - cre * rr[pos], 1e-300))).sum(-1) \
        - cb[..., 0] * (A[~cap].sum() - cre[..., 0] * (A * rr)[~cap].sum())
    if cap.any():
        lam = np.maximum(A[cap] * np.clip(cb * (1.0 - cre * rr[cap]), 0.0, 1.0), 1e-300)
        ll = ll + np.log(np.maximum(special.pdtrc(k[cap] - 1.0, lam), 1e-300)).sum(-1)
    return ll


def _ll_csat(act: Actuals, cb, cce, cte, stock) -> np.ndarray:
    """Satisfied ~ Binomial(responses, expit(logit csat_base + coverage x (rr - 0.8) +
    training x min(stock, 3))) per rep-month surveyed; ``stock`` (m, S, T)."""
    A = act.cols["active_customers"]
    mask = act.worked & (act.cols["csat_responses"] > 0)
    A, rv, resp, sat, stock = _cells(mask, A, act.cols["revisited_customers"],
                                     act.cols["csat_responses"], act.cols["csat_satisfied"],
                                     stock)
    with np.errstate(invalid="ignore", divide="ignore"):
        rr = np.where(A > 0, rv / A, 0.0)
    logit = (special.logit(np.clip(cb, 1e-9, 1 - 1e-9)) + cce * (rr - REFERENCE_REVISIT_RATE)
             + cte * np.minimum(stock, 3.0))
    return _binom_logpmf(sat, resp, special.expit(logit)).sum(-1)


def _ll_surveys(plan: Plan, act: Actuals, completion, rate) -> np.ndarray:
    """Each scheduled survey month completes with ``survey_completion``; in a month with a
    survey each rep's responses ~ Binomial(active customers, ``survey_response_rate``)."""
    per_year = SalesTeamModel().lever(plan, "csat_surveys_per_year")
    cal = plan.calendar_months()[:act.T]
    A = act.cols["active_customers"]
    resp = act.cols["csat_responses"]
    done = resp.sum(0) > 0
    sched = np.array([survey_month(int(c), per_year) for c in cal])
    c = np.clip(completion, 1e-12, 1 - 1e-12)[..., 0]
    ll = np.log(c) * (sched & done).sum() + np.log1p(-c) * (sched & ~done).sum()
    mask = act.worked & (A > 0) & done[None, :]
    A, resp = _cells(mask, A, resp)
    return ll + _binom_logpmf(np.minimum(resp, A), A, rate).sum(-1)


def _ll_attrition(act: Actuals, annual) -> np.ndarray:
    """A rep-month followed by an observed month ends in a departure with the monthly hazard
    ``1 - (1 - annual)^(1/12)``."""
    h = 1.0 - (1.0 - np.clip(annual, 0.0, 1.0 - 1e-12)) ** (1.0 / 12.0)
    h = np.clip(h, 1e-12, 1 - 1e-12)[..., 0]
    return act.departures * np.log(h) + (act.exposure - act.departures) * np.log1p(-h)


def _ll_revenue(act: Actuals, rate, effect, value, vcv, season) -> np.ndarray:
    """Team revenue per month ~ Normal: orders = new + Poisson(repeat), each order's value
    has mean ``value`` and CV ``vcv`` (the model's gamma), so the mean is value x (new + rep)
    and the variance value^2 x ((new + rep) vcv^2 + rep). A revisited kept customer orders
    ``1 + effect`` times what one not revisited does (docs/model.md 5.8)."""
    w = act.worked
    kept = act.cols["active_customers"] - act.cols["churned_customers"]
    keep = (kept * w).sum(0)
    # the revisited kept customers, min(revisited, kept) per rep-month
    rk = (np.minimum(act.cols["revisited_customers"], kept) * w).sum(0)
    new = (act.cols["new_customers"] * w).sum(0)
    rev = (act.cols["revenue"] * w).sum(0)
    rep = rate / (1.0 + effect * REFERENCE_REVISIT_RATE) * season * (keep + effect * rk)
    orders = new + rep
    mu = value * orders
    var = value**2 * (orders * vcv**2 + rep)
    ok = orders > 0
    var = np.where(ok, np.maximum(var, 1e-12), 1.0)
    ll = np.where(ok, -0.5 * (rev - mu) ** 2 / var - 0.5 * np.log(2 * np.pi * var), 0.0)
    return ll.sum(-1)


def _local_terms(plan: Plan, act: Actuals, cm: np.ndarray, season: np.ndarray,
                stock: np.ndarray) -> dict[str, _Term]:
    """The terms other than new customers, in the order they are refined: each maps paths
    ``sl`` and their candidates' parameters ``g`` to the log-likelihood.

    ``cm`` (n, S, T) coaching multiplier, ``season`` (n, T), ``stock`` (n, S, T + 1)."""
    T = act.T
    x3 = lambda v: v[:, :, None]  # noqa: E731  (paths, K) -> (paths, K, 1)
    return {
        "revisited_customers":
            lambda sl, g: _ll_revisited(act, x3(g["followup_targeting"]),
                                        x3(g["revisit_heterogeneity"]), cm[sl]),
        "churned_customers":
            lambda sl, g: _ll_churned(act, x3(g["churn_base"]), x3(g["churn_revisit_effect"])),
        "revenue":
            lambda sl, g: _ll_revenue(act, x3(g["repeat_order_rate"]),
                                      x3(g["visit_order_effect"]), x3(g["order_value"]),
                                      g["order_value_cv"][:, :, None], season[sl][:, None, :]),
        "csat":
            lambda sl, g: _ll_csat(act, x3(g["csat_base"]), x3(g["csat_coverage_effect"]),
                                   x3(g["csat_training_effect"]), stock[sl, :, :T]),
        "surveys":
            lambda sl, g: _ll_surveys(plan, act, x3(g["survey_completion"]),
                                      x3(g["survey_response_rate"])),
        "attrition": lambda sl, g: _ll_attrition(act, x3(g["rep_attrition_annual"])),
    }


def _log_skill_integral(N: np.ndarray, A: np.ndarray, sig: np.ndarray) -> np.ndarray:
    """log E[s^N exp(-s A)] for s lognormal with mean 1 and log-sd ``sig``.

    In z = (log s + sig^2 / 2) / sig the integrand exp(f(z)) with
    f = -z^2/2 + N log s - A s is log-concave; Newton finds its mode and adaptive
    Gauss-Hermite (10 nodes, scaled by the curvature there) integrates it.

    Examples
    --------
    >>> v = _log_skill_integral(np.array([0.0]), np.array([0.0]), np.array([0.3]))
    >>> abs(float(v[0])) < 1e-9
    True
    """
    N, A, sig = np.broadcast_arrays(np.asarray(N, float), np.asarray(A, float),
                                    np.asarray(sig, float))
    z = np.zeros(N.shape)
    for _ in range(30):
        e = A * np.exp(-sig * sig / 2 + sig * z)
        g = -z + N * sig - sig * e
        h = -1.0 - sig * sig * e
        step = g / h
        z = z - step
        if np.all(np.abs(step) < 1e-10):
            break
    e = A * np.exp(-sig * sig / 2 + sig * z)
    sd = 1.0 / np.sqrt(1.0 + sig * sig * e)
    zz = z[..., None] + math.sqrt(2.0) * sd[..., None] * _GH_X
    ls = -sig[..., None] ** 2 / 2 + sig[..., None] * zz
    f = -0.5 * zz**2 + N[..., None] * ls - A[..., None] * np.exp(ls) + _GH_X**2
    mx = f.max(-1, keepdims=True)
    return (mx[..., 0] + np.log(np.sum(_GH_W * np.exp(f - mx), -1))
            + np.log(math.sqrt(2.0) * sd) - 0.5 * math.log(2 * math.pi))


class _NewCustomers:
    """New customers ~ Poisson per rep-month with the model's acquisition rate times the
    rep's skill; given the parameters, a rep's likelihood in the skill s is
    ``s^N exp(-s A)``, integrated over the lognormal skill prior (a rep of known skill: none).

    Months without prospect visits are left out: nothing the model can explain.
    ``cm`` (n, S, T) coaching multiplier, ``season`` (n, T), ``stock`` (n, S, T + 1),
    ``mkt_events`` (n, T) extra events of a running marketing push.
    """

    def __init__(self, plan: Plan, act: Actuals, cm: np.ndarray, season: np.ndarray,
                 stock: np.ndarray, mkt_events: np.ndarray) -> None:
        self.act, self.cm, self.season, self.stock = act, cm, season, stock
        self.mkt_events = mkt_events
        self.mkt_plan = SalesTeamModel().lever(plan, "marketing_events_per_quarter")
        S, T = act.n_seats, act.T
        nrep = len(act.reps)
        pv = act.cols["prospect_visits"]
        self.newc = act.cols["new_customers"]
        self.mask = act.worked & (pv > 0)
        occ = np.where(self.mask, act.occupant, -1).ravel()
        self.ind = np.zeros((S * T, nrep))  # rep-month cells -> reps
        self.ind[np.flatnonzero(occ >= 0), occ[occ >= 0]] = 1.0
        self.N = self.ind.T @ self.newc.ravel()  # each rep's new customers
        self.vis_base = np.where(pv > 0, pv / REFERENCE_PROSPECT_VISITS, 1.0)
        self.log_fact = special.gammaln(self.newc + 1.0)
        self.known = act.rep_known_skill
        self.kk = np.isfinite(self.known)
        #: elements per path and candidate of the likelihood's arrays (for chunking)
        self.width = nrep * (len(_GH_X) + 8) + S * T

    def parts(self, sl: slice, g: dict) -> tuple[np.ndarray, np.ndarray]:
        """Each rep's summed rate A and sum of n log(rate) - log n! over its months, for
        candidates (m, K): shapes (m, K, reps)."""
        act, T = self.act, self.act.T
        sat_norm = 1.0 - math.exp(-1.0)
        m_, K_ = g["base_win_rate"].shape
        x = lambda v: v[:, :, None, None]  # noqa: E731
        ramp = np.minimum(1.0, (act.tenure_start + 1.0) / np.maximum(x(g["ramp_months"]),
                                                                      1e-9))
        up = 1.0 + x(g["training_effect"]) * (1.0 - np.exp(-self.stock[sl, None, :, :T])) / \
            sat_norm
        mkt = 1.0 + x(g["marketing_effect"])[..., 0] * np.log2(
            1.0 + self.mkt_plan + self.mkt_events[sl, None, :])  # (m, K, T)
        rate = (x(g["base_win_rate"]) * ramp * up * self.cm[sl, None] * self.vis_base **
                x(g["visit_elasticity"]) * self.season[sl, None, None, :] * mkt[:, :, None, :])
        rate = np.where(self.mask, np.maximum(rate, 1e-300), 0.0).reshape(m_, K_, -1)
        A = rate @ self.ind
        const = np.where(self.mask.ravel(), self.newc.ravel()
                         * np.log(np.maximum(rate, 1e-300)) - self.log_fact.ravel(),
                         0.0) @ self.ind
        return A, const

    def log_grid(self, A: np.ndarray, sig: np.ndarray) -> np.ndarray:
        """log of prior x skill^N exp(-skill A) on the grid: (m, K, reps, grid)."""
        ls = -sig[:, :, None, None] ** 2 / 2 + sig[:, :, None, None] * _Z
        return _LOG_PHI + self.N[:, None] * ls - A[..., None] * np.exp(ls)

    def loglik(self, sl: slice, g: dict) -> np.ndarray:
        """The term's log-likelihood, the skills integrated out: (m, K)."""
        A, const = self.parts(sl, g)
        sig = np.sqrt(np.log1p(g["skill_cv"] ** 2))
        marg = _log_skill_integral(self.N, A, sig[:, :, None])
        kk = self.kk
        if kk.any():  # a rep of known skill: no integral
            marg[:, :, kk] = self.N[kk] * np.log(self.known[kk]) - A[:, :, kk] * self.known[kk]
        return (const + marg).sum(-1)
