"""The model discrepancy's scale and persistence, fitted from the history's monthly residuals
(docs/calibration.md, "Model discrepancy"; docs/model.md 5.13).

After the rates are fitted, each month's team total is set against what the fitted model
expects of it: new customers ``N_m`` against ``mu_m`` (the fitted rates with the season), and
revenue ``R_m`` against ``Rhat_m`` (the fitted order value times the new customers' first
orders and the kept customers' expected repeat orders). The relative residuals

    y_m = N_m / mu_m - 1  ~=  c + d_m + noise_m

carry the model's own noise (Poisson and the market shock for new customers: variance
``1 / mu + dispersion``; orders and order values for revenue: ``ov^2 (cv^2 O + Or) / Rhat^2``)
plus whatever the model misses, ``d_m``: the discrepancy's log shock, an AR(1) of sd ``s`` and
persistence ``rho`` (on revenue weighted by the repeat orders' share of it, which is all it
multiplies). ``c`` is a level per series, integrated out under a flat prior (restricted
likelihood): the fit's own rates were set from these months.

The Gaussian likelihood of a series is the product of its one-step forecast densities, each
month predicted from the months before it only (the prediction-error decomposition), and
``rho`` sets how the errors carry to two and three months ahead: the fit is one of rolling
origin forecast errors, on the history itself. The posterior of (s, rho) is computed on a grid
with their priors; each is written from its marginal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
from scipy import optimize, stats

from okma_sim.models import season_factors
from okma_sim.params import Distribution

from ._entries import entry
from ._seasonal import fitted_totals
from ._priors import _beta_from_quantiles, frozen, is_fixed, ppf

__all__ = ["Residuals", "acquisition_residuals", "discrepancy_from_fit", "fit_discrepancy",
           "gamma_from_quantiles", "revenue_residuals"]

SCALE, PERSISTENCE = "discrepancy_scale", "discrepancy_persistence"
#: months a series needs to enter the fit
MIN_MONTHS = 6
#: the 90% interval must shrink below this share of the prior's to count as fitted
_CONTRACTION = 0.9


@dataclass(frozen=True)
class Residuals:
    """One monthly series: relative residuals ``y``, the model's own noise variance of each,
    the weight of the shock in each (1 for new customers, the repeat orders' share for
    revenue) and the month numbers (gaps allowed)."""

    name: str
    y: np.ndarray
    noise: np.ndarray
    weight: np.ndarray
    month: np.ndarray

    def loglik(self, s: np.ndarray, rho: np.ndarray) -> np.ndarray:
        """Restricted (level integrated out) Gaussian log likelihood at each (s, rho) pair
        (1-D arrays of one length), by the Kalman filter of the AR(1) state: the sum over
        months of each month's one-step forecast density given the months before it. The
        same filter run on a series of ones gives what the level's integral needs."""
        s2 = np.asarray(s, dtype=float) ** 2
        rho = np.asarray(rho, dtype=float)
        P = s2.copy()  # the state's variance before the first month: its stationary law
        m_y = np.zeros_like(P)  # the state's mean given the months so far (y, and ones)
        m_1 = np.zeros_like(P)
        a = b = c = logdet = 0.0
        for t in range(self.y.size):
            if t:
                phi = rho ** float(self.month[t] - self.month[t - 1])
                m_y, m_1 = phi * m_y, phi * m_1
                P = phi * phi * P + s2 * (1.0 - phi * phi)
            w = float(self.weight[t])
            F = w * w * P + float(self.noise[t])
            v_y, v_1 = float(self.y[t]) - w * m_y, 1.0 - w * m_1
            K = P * w / F
            m_y, m_1 = m_y + K * v_y, m_1 + K * v_1
            P = P * (1.0 - K * w)
            a, b, c = a + v_y * v_y / F, b + v_y * v_1 / F, c + v_1 * v_1 / F
            logdet = logdet + np.log(F)
        return -0.5 * (logdet + np.log(c) + a - b * b / c)

    def summary(self) -> str:
        excess = float(np.var(self.y) - np.mean(self.noise))
        return (f"{self.name}: residual sd {math.sqrt(max(np.var(self.y), 0.0)):.1%} a month, "
                f"the model's own noise {math.sqrt(float(np.mean(self.noise))):.1%}"
                + ("" if excess > 0 else " (no excess)"))


def acquisition_residuals(ym: np.ndarray, N: np.ndarray, E: np.ndarray, cm: np.ndarray,
                          th: Mapping[str, float], dispersion: float) -> Residuals:
    """New customers by month (``ym``: month numbers of the totals ``N``, ``E`` the fitted
    rates' total without the season, ``cm`` the calendar months) against the fitted model."""
    mu = np.maximum(E * season_factors({k: float(v) for k, v in th.items()})[cm - 1], 1e-9)
    return Residuals("new customers", N / mu - 1.0, 1.0 / mu + max(dispersion, 0.0),
                     np.ones_like(mu), np.asarray(ym, dtype=int))


def revenue_residuals(ym: np.ndarray, rev: np.ndarray, new: np.ndarray, repeat: np.ndarray,
                      ov: float, cv: float) -> Residuals | None:
    """Revenue by month against the fitted model, from rows of month ``ym``: their revenue,
    new customers and expected repeat orders (``repeat``, at the fitted rates), the fitted
    order value ``ov`` and the orders' coefficient of variation ``cv``."""
    months, inv = np.unique(np.asarray(ym, dtype=int), return_inverse=True)
    R = np.bincount(inv, weights=rev)
    O_new = np.bincount(inv, weights=new)
    O_rep = np.bincount(inv, weights=repeat)
    Rhat = ov * (O_new + O_rep)
    ok = Rhat > 0
    if ok.sum() < MIN_MONTHS:
        return None
    noise = ov * ov * (cv * cv * (O_new + O_rep) + O_rep) / np.maximum(Rhat, 1e-300) ** 2
    return Residuals("revenue", (R / np.maximum(Rhat, 1e-300) - 1.0)[ok], noise[ok],
                     (ov * O_rep / np.maximum(Rhat, 1e-300))[ok], months[ok])


def gamma_from_quantiles(q05: float, q95: float) -> Distribution:
    """The gamma distribution whose 5% and 95% points are ``q05`` and ``q95``.

    Examples
    --------
    >>> d = gamma_from_quantiles(0.02, 0.16)
    >>> [round(float(d.ppf(q)), 3) for q in (0.05, 0.95)]
    [0.02, 0.16]
    """
    q05, q95 = max(q05, 1e-12), max(q95, q05 * (1 + 1e-9) + 1e-15)
    ratio = q95 / q05

    def gap(log_k: float) -> float:
        g = stats.gamma(math.exp(log_k))
        return math.log(g.ppf(0.95) / g.ppf(0.05)) - math.log(ratio)

    lo, hi = math.log(0.05), math.log(1e5)
    log_k = lo if gap(lo) < 0 else hi if gap(hi) > 0 else optimize.brentq(gap, lo, hi)
    k = math.exp(log_k)
    return Distribution("gamma", {"shape": k, "scale": q95 / stats.gamma(k).ppf(0.95)})


def _grid(prior: Any, lo: float, hi: float, n: int) -> np.ndarray:
    if is_fixed(prior):
        return np.array([float(prior.args["value"])])
    return np.linspace(lo, hi, n)


def fit_discrepancy(col: Any, series: Sequence[Residuals | None], what: str) -> None:
    """Fit ``discrepancy_scale`` and ``discrepancy_persistence`` to the monthly residual
    ``series`` and write both entries (fitted where the 90% interval shrank, else the prior)."""
    ps, pr = col.priors[SCALE], col.priors[PERSISTENCE]
    series = [r for r in series if r is not None and r.y.size >= MIN_MONTHS]
    if is_fixed(ps) and float(ps.args["value"]) == 0.0:
        col.prior(SCALE, "pinned to 0: the discrepancy is off")
        col.prior(PERSISTENCE, "unused: the discrepancy is off")
        return
    if not series or (is_fixed(ps) and is_fixed(pr)):
        note = "" if series else f"fewer than {MIN_MONTHS} months"
        col.prior(SCALE, note)
        col.prior(PERSISTENCE, note)
        return
    s_hi = max(4.0 * float(ppf(ps, 0.999)) if not is_fixed(ps) else 0.0, 0.6)
    s = _grid(ps, s_hi / 400, s_hi, 160)
    rho = _grid(pr, 0.005, 0.995, 100)
    S, Rh = (a.ravel() for a in np.meshgrid(s, rho, indexing="ij"))
    lp = sum(r.loglik(S, Rh) for r in series)
    with np.errstate(divide="ignore"):
        if not is_fixed(ps):
            lp = lp + frozen(ps).logpdf(S)
        if not is_fixed(pr):
            lp = lp + frozen(pr).logpdf(Rh)
    lp = np.where(np.isfinite(lp), lp, -np.inf).reshape(s.size, rho.size)
    w = np.exp(lp - lp.max())
    w /= w.sum()
    months = max(r.y.size for r in series)
    note = "; ".join(r.summary() for r in series)
    if not is_fixed(ps):
        q05, q95 = _quantiles(s, w.sum(1))
        _write(col, SCALE, gamma_from_quantiles(q05, q95), months, what, note)
    else:
        col.prior(SCALE)
    if not is_fixed(pr):
        q05, q95 = _quantiles(rho, w.sum(0))
        _write(col, PERSISTENCE, _beta_from_quantiles(q05, q95), months, what, note)
    else:
        col.prior(PERSISTENCE)


def _quantiles(x: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """5% and 95% points of a distribution on grid ``x`` with weights ``w`` (each point the
    centre of a cell of even width)."""
    c = np.cumsum(w) / w.sum()
    h = (x[1] - x[0]) / 2.0
    edges = np.concatenate([[x[0] - h], x + h])
    cdf = np.concatenate([[0.0], c])
    lo, hi = np.interp([0.05, 0.95], cdf, edges)
    return max(float(lo), float(x[0]) / 2.0), float(hi)


def _write(col: Any, name: str, post: Distribution, months: int, what: str,
           note: str) -> None:
    """Report ``post`` as fitted if its 90% interval is under ``_CONTRACTION`` of the
    prior's, else the prior (the interval read on the parameter's own scale, as the report's
    width ratio is)."""
    prior = col.priors[name]
    e = entry(name, post, months, "fitted", what, note)
    width = float(ppf(prior, 0.95)) - float(ppf(prior, 0.05))
    if e.high90 - e.low90 < _CONTRACTION * width:
        col.entries[name] = e
    else:
        col.prior(name, "the history's months do not narrow it (" + note + ")")


def discrepancy_from_fit(col: Any, acq: Any, rev: Any, th: Mapping[str, float],
                         what: str) -> None:
    """Fit the discrepancy after the rates: the residuals of the acquisition rows' monthly
    new customers (``acq``, an AcquisitionData, or None) and of the revenue rows' monthly
    revenue (``rev``, a RevenueData with ``ym``, or None) at the fitted values ``th``, the
    market shock's variance taken at the fitted ``new_customer_dispersion``."""
    series: list[Residuals | None] = []
    if acq is not None:
        t = fitted_totals(acq, th)
        d = col.entries["new_customer_dispersion"].distribution
        phi = float(d.args["value"]) if d.dist == "fixed" else float(frozen(d).mean())
        series.append(acquisition_residuals(np.unique(acq.ym), t.N, t.E, t.cm, th, phi))
    if rev is not None and getattr(rev, "ym", None) is not None:
        repeat = rev.expected_repeat(th)
        series.append(revenue_residuals(rev.ym, rev.rev, rev.new, repeat,
                                        float(th["order_value"]), float(th["order_value_cv"])))
    fit_discrepancy(col, series, what)
