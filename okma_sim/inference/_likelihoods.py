"""Likelihoods of the fits, vectorised over a batch of parameter values (every parameter
array is ``(B,)``): acquisition with the rep-skill random effect integrated out (both fits),
and for a rep-month history revenue given new and kept customers, churn, follow-up reach and
CSAT."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd
from scipy import special

from okma_sim.models import (REFERENCE_REVISIT_RATE, SEASON_QUARTER, SEASON_YEAR, revisit_hazard,
                             season_factors)

#: parameters of the seasonal factor (docs/model.md 5.9), shared by acquisition and revenue
SEASON = ("quarter_end_uplift",) + SEASON_QUARTER + SEASON_YEAR
#: parameters of the acquisition block, in order
ACQUISITION = ("base_win_rate", "skill_cv", "visit_elasticity", "training_effect") + SEASON
#: parameters of the revenue block (besides the shared seasonal factor)
REVENUE = ("order_value", "repeat_order_rate", "visit_order_effect", "order_value_cv")
#: Gauss-Hermite nodes for the rep-skill integral (adaptive: centred on each rep's mode)
_GH_X, _GH_W = np.polynomial.hermite.hermgauss(12)


def log_marketing(effect: float, events_per_quarter: float) -> float:
    """log of the marketing multiplier on acquisition (assumed constant over a fit)."""
    return math.log1p(effect * math.log2(1.0 + events_per_quarter))


@dataclass
class AcquisitionData:
    """Acquisition rows: wins ~ Poisson(bwr * skill_rep * x), skill ~ lognormal(mean 1, cv)."""

    rep: np.ndarray  # rep index per row
    n: np.ndarray  # wins per row
    lpv: np.ndarray  # log(visits / reference)
    g: np.ndarray  # saturating training stock, (1 - exp(-stock)) / (1 - exp(-1))
    cm: np.ndarray  # calendar month, 1..12
    lmkt: float  # log marketing multiplier (assumed, constant)
    n_reps: int
    rep_ids: list[str]
    ym: np.ndarray | None = None  # month number of each row (the monthly totals)

    def __post_init__(self) -> None:
        self.onehot = np.zeros((self.n.size, self.n_reps))
        self.onehot[np.arange(self.n.size), self.rep] = 1.0
        self.N = self.onehot.T @ self.n
        self.lgam = float(special.gammaln(self.n + 1).sum())

    def log_x(self, th: Mapping[str, np.ndarray]) -> np.ndarray:
        e = th["visit_elasticity"][:, None]
        te = th["training_effect"][:, None]
        season = season_factors(th)[..., self.cm - 1]
        return e * self.lpv[None, :] + np.log1p(te * self.g[None, :]) + np.log(season) \
            + self.lmkt

    def expected(self, th: Mapping[str, float], skills: np.ndarray,
                 season: bool = True) -> np.ndarray:
        """Each row's expected new customers at ``th`` with the reps' ``skills`` (without
        the seasonal factor unless ``season``)."""
        one = {k: np.array([float(v)]) for k, v in th.items()}
        lx = self.log_x(one)[0]
        if not season:
            lx = lx - np.log(season_factors(one)[0, self.cm - 1])
        return float(th["base_win_rate"]) * skills[self.rep] * np.exp(lx)

    def _mode(self, a: np.ndarray, s2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mode and curvature of N*y - a*e^y - (y - m)^2 / (2 s2), per rep (Newton)."""
        N = self.N[None, :]
        m = -s2 / 2.0
        with np.errstate(divide="ignore"):
            ell = np.log((N + 0.5) / np.maximum(a, 1e-300))
        y = (N * ell + m / s2) / (N + 1.0 / s2)
        for _ in range(12):
            ey = a * np.exp(y)
            grad = N - ey - (y - m) / s2
            curv = ey + 1.0 / s2
            y = y + grad / curv
        curv = a * np.exp(y) + 1.0 / s2
        return y, curv

    def rep_integral(self, a: np.ndarray, s2: np.ndarray, moment: bool = False):
        """log of the integral over log-skill y of exp(N y - a e^y) N(y; -s2/2, s2), per rep;
        with ``moment`` also the posterior mean and sd of skill e^y."""
        y0, curv = self._mode(a, s2)
        scale = np.sqrt(2.0 / curv)
        y = y0[..., None] + scale[..., None] * _GH_X  # (B, R, Q)
        m = (-s2 / 2.0)[..., None]
        h = (self.N[None, :, None] * y - a[..., None] * np.exp(y)
             - (y - m) ** 2 / (2.0 * s2[..., None]))
        lw = np.log(_GH_W) + _GH_X ** 2 + h
        logI = (special.logsumexp(lw, axis=-1) + np.log(scale)
                - 0.5 * np.log(2 * np.pi * s2))
        if not moment:
            return logI
        w = np.exp(lw - lw.max(axis=-1, keepdims=True))
        w = w / w.sum(axis=-1, keepdims=True)
        mean = np.sum(w * np.exp(y), axis=-1)
        sd = np.sqrt(np.maximum(np.sum(w * np.exp(2 * y), axis=-1) - mean ** 2, 0.0))
        return logI, mean, sd

    def loglik(self, th: Mapping[str, np.ndarray]) -> np.ndarray:
        bwr = th["base_win_rate"]
        cv = th["skill_cv"]
        lx = self.log_x(th)
        X = np.exp(lx) @ self.onehot  # (B, R)
        C = (lx * self.n[None, :]).sum(1)
        s2 = np.log1p(cv * cv)[:, None] * np.ones((1, self.n_reps))
        a = bwr[:, None] * X
        logI = self.rep_integral(a, s2)
        return self.N.sum() * np.log(bwr) + C - self.lgam + logI.sum(1)

    def skills(self, th: Mapping[str, float]) -> pd.DataFrame:
        one = {k: np.array([float(v)]) for k, v in th.items()}
        lx = self.log_x(one)
        X = (np.exp(lx) @ self.onehot)[0]
        cv = float(th["skill_cv"])
        s2 = np.full((1, self.n_reps), math.log1p(cv * cv))
        a = float(th["base_win_rate"]) * X[None, :]
        _, mean, sd = self.rep_integral(a, s2, moment=True)
        months = self.onehot.sum(0)
        with np.errstate(divide="ignore", invalid="ignore"):
            raw = np.where(a[0] > 0, self.N / a[0], np.nan)
        return pd.DataFrame({"rep_id": self.rep_ids, "months": months.astype(int),
                             "new_customers": self.N.astype(int), "exposure": a[0],
                             "raw": raw, "shrunk": mean[0], "sd": sd[0]})


class RevenueData:
    """Revenue rows: orders = new + Poisson((keep + effect * rk) * ror / (1 + 0.8 effect)
    * season), rk the revisited kept customers; revenue | orders ~ Gamma(orders / v^2,
    scale = order_value * v^2) (the model's own draw).

    The sum over repeat orders runs over a window of ``width`` counts per row, centred where
    the row's revenue puts it (from a rough moment estimate of the order value), so the cost
    does not grow with the book size.
    """

    def __init__(self, new: np.ndarray, keep: np.ndarray, rk: np.ndarray, cm: np.ndarray,
                 rev: np.ndarray, v: float | None, width: int = 48,
                 ym: np.ndarray | None = None) -> None:
        self.new, self.keep, self.rk, self.cm, self.rev = new, keep, rk, cm, rev
        self.ym = ym  # month numbers of the rows (the discrepancy's monthly totals)
        self.logrev = np.log(np.where(rev > 0, rev, 1.0))
        self.width = width
        self._center(v if v is not None else 0.8)

    def _center(self, v: float) -> None:
        # rough moments: rev ~ ov * new + (ov * ror) * keep; var ~ ov^2 (1 + v^2) E[orders]
        X = np.column_stack([self.new, self.keep])
        coef, *_ = np.linalg.lstsq(X, self.rev, rcond=None)
        fit = np.maximum(X @ coef, 1e-9)
        disp = float(np.sum((self.rev - fit) ** 2) / np.sum(fit))
        ov0 = max(disp / (1.0 + v * v), 1e-9)
        if not np.isfinite(ov0) or ov0 <= 0:
            ov0 = max(float(self.rev.mean()) / max(float((self.new + self.keep).mean()), 1.0),
                      1e-9)
        self._window(ov0, v)

    def _window(self, ov: float, v: float) -> None:
        """Centre each row's window of repeat-order counts where order value ``ov`` puts it."""
        c = np.maximum(self.rev / ov - self.new, 0.0)
        lo = np.maximum(np.rint(c) - self.width // 2, 0.0)
        self.j = lo[:, None] + np.arange(self.width)[None, :]  # (R, W)
        self.lgj = special.gammaln(self.j + 1.0)
        self.O = self.new[:, None] + self.j
        self._prep_v(v)

    def _prep_v(self, v: float) -> None:
        self._v = v
        s = self.O / (v * v)
        with np.errstate(all="ignore"):
            G = (s - 1.0) * self.logrev[:, None] - special.gammaln(np.where(s > 0, s, 1.0))
        zero = self.O == 0
        bad = (~zero) & (self.rev[:, None] == 0)
        G = np.where(zero, np.where(self.rev[:, None] == 0, 0.0, -np.inf), G)
        self.G = np.where(bad, -np.inf, G)
        self.K = self.G - self.lgj
        self.s = s
        self.zero = zero

    def loglik(self, th: Mapping[str, np.ndarray]) -> np.ndarray:
        vv = np.asarray(th["order_value_cv"], dtype=float)
        if np.all(vv == vv[0]):
            if vv[0] != self._v:
                self._prep_v(float(vv[0]))
            return self._loglik(th, float(vv[0]) ** 2)
        out = np.empty(vv.size)
        for b in range(vv.size):  # order_value_cv varies across the batch: one at a time
            one = {k: np.asarray(x)[b:b + 1] for k, x in th.items()}
            self._prep_v(float(vv[b]))
            out[b] = self._loglik(one, float(vv[b]) ** 2)[0]
        return out

    def _loglik(self, th: Mapping[str, np.ndarray], v2: float) -> np.ndarray:
        # log term of repeat-order count j (orders O = new + j), rearranged so that only two
        # operations touch the (batch, rows, window) array before the log-sum-exp:
        #   j log(mu) - mu - log j! + G(O) - rev / (ov v2) - (O / v2) log(ov v2)
        # = j * [log(mu) - log(ov v2) / v2] + [G - log j!] + [-mu - rev/(ov v2) - new log(ov v2)/v2]
        ov = th["order_value"][:, None]
        mu = self._mu(th)  # (B, R)
        lsc = np.log(ov * v2)
        c = np.log(np.maximum(mu, 1e-300)) - lsc / v2
        d = -mu - self.rev[None, :] / (ov * v2) - self.new[None, :] * lsc / v2
        x = self.j[None] * c[..., None] + self.K[None]
        mx = np.max(x, axis=-1, keepdims=True)
        mx = np.where(np.isfinite(mx), mx, 0.0)
        with np.errstate(divide="ignore"):
            lse = np.log(np.sum(np.exp(x - mx), axis=-1)) + mx[..., 0]
        return (lse + d).sum(1)

    def _mu(self, th: Mapping[str, np.ndarray]) -> np.ndarray:
        """Expected repeat orders per batch member and row, (B, R)."""
        season = season_factors(th)[..., self.cm - 1]
        e = th["visit_order_effect"][:, None]
        booked = self.keep[None, :] + e * self.rk[None, :]
        return booked * (th["repeat_order_rate"][:, None] / (1.0 + e * REFERENCE_REVISIT_RATE)) \
            * season

    def expected_repeat(self, th: Mapping[str, float]) -> np.ndarray:
        """Expected repeat orders of each row at the values ``th``."""
        return self._mu({k: np.array([float(v)]) for k, v in th.items()})[0]

    def window_ok(self, th: Mapping[str, float]) -> bool:
        """Whether every row's window holds its mass at ``th`` (else recentre and refit):
        the terms at the window's edges must be negligible next to the largest."""
        one = {k: np.array([float(v)]) for k, v in th.items()}
        v2 = float(one["order_value_cv"][0]) ** 2
        ov = one["order_value"][:, None, None]
        mu = self._mu(one)[..., None]
        with np.errstate(divide="ignore", invalid="ignore"):
            lpois = self.j[None] * np.log(mu) - mu - self.lgj[None]
            x = (lpois + self.G[None] - self.rev[None, :, None] / (ov * v2)
                 - np.where(self.zero[None], 0.0, self.s[None] * np.log(ov * v2)))[0]
        mx = np.max(x, axis=1)
        ok = np.isfinite(mx)
        low_edge = (x[:, 0] < mx - 12.0) | (self.j[:, 0] == 0)
        high_edge = x[:, -1] < mx - 12.0
        return bool(np.all(~ok | (low_edge & high_edge)))

    def recenter(self, ov: float, width: int) -> None:
        self.width = width
        self._window(ov, self._v)


@dataclass
class ChurnData:
    """churned ~ Poisson(active * churn_base * (1 - churn_revisit_effect * revisit rate))."""

    A: np.ndarray
    rr: np.ndarray
    c: np.ndarray

    def loglik(self, th: Mapping[str, np.ndarray]) -> np.ndarray:
        cb = th["churn_base"][:, None]
        ce = th["churn_revisit_effect"][:, None]
        lam = self.A[None, :] * cb * (1.0 - ce * self.rr[None, :])
        lam = np.maximum(lam, 1e-300)
        return (self.c[None, :] * np.log(lam) - lam).sum(1) - special.gammaln(self.c + 1).sum()


@dataclass
class ReachData:
    """revisited ~ Binomial(active, reach), reach on the revisit curve of targeting t and
    heterogeneity h at x = customer visits / active: 1 - (1 + h t x) ** (-1 / h)."""

    A: np.ndarray
    cv: np.ndarray
    r: np.ndarray

    def loglik(self, th: Mapping[str, np.ndarray]) -> np.ndarray:
        # log(1 - reach) = -H, the curve's cumulative hazard: both logs without cancellation
        H = revisit_hazard(th["followup_targeting"][:, None],
                           self.cv[None, :] / np.maximum(self.A[None, :], 1.0),
                           th["revisit_heterogeneity"][:, None])
        lq = np.log(-np.expm1(-np.maximum(H, 1e-300)))
        return (self.r[None, :] * lq - (self.A - self.r)[None, :] * H).sum(1)


@dataclass
class CsatData:
    """satisfied ~ Binomial(responses, expit(logit(csat_base) + coverage * (rr - 0.8)
    + training * min(stock, 3)))."""

    resp: np.ndarray
    sat: np.ndarray
    rr: np.ndarray
    stock: np.ndarray

    def loglik(self, th: Mapping[str, np.ndarray]) -> np.ndarray:
        cb = np.clip(th["csat_base"], 1e-12, 1 - 1e-12)[:, None]
        eta = (special.logit(cb) + th["csat_coverage_effect"][:, None]
               * (self.rr[None, :] - REFERENCE_REVISIT_RATE)
               + th["csat_training_effect"][:, None] * np.minimum(self.stock, 3.0)[None, :])
        return (self.sat[None, :] * special.log_expit(eta)
                + (self.resp - self.sat)[None, :] * special.log_expit(-eta)).sum(1)
