"""Laplace approximation of a joint posterior on the fitting scale: the posterior mode (with
vague priors where the data dominate), the covariance from the Hessian, and each parameter's
marginal quantiles from the posterior along its conditional line."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
from scipy import differentiate, optimize
from scipy.interpolate import CubicSpline

from ._priors import VAGUE_SD, Z95, Prior

#: data information above this multiple of the prior's replaces the prior by a vague one
VAGUE_ABOVE = 10.0

#: a likelihood term: (parameter names, loglik of a dict of parameter arrays)
Term = tuple[Sequence[str], Callable[[dict[str, np.ndarray]], np.ndarray]]


@dataclass
class Laplace:
    """A fitted group: posterior mode and covariance on the fitting scale, the priors (and
    which were replaced by vague ones), and the line marginals ``q``."""

    names: list[str]
    mode: np.ndarray  # on the fitting scale
    cov: np.ndarray
    priors: list[Prior]
    vague: np.ndarray
    ok: bool = True
    q: np.ndarray | None = None  # (m, 3): marginal 5%, 50%, 95% on the fitting scale

    def sd(self, i: int) -> float:
        """Posterior sd on the fitting scale (from the marginal's 90% interval)."""
        if self.q is not None:
            return float((self.q[i, 2] - self.q[i, 0]) / (2 * Z95))
        return float(math.sqrt(max(self.cov[i, i], 0.0)))

    def theta(self) -> dict[str, float]:
        return {n: float(p.scale.theta(self.mode[i]))
                for i, (n, p) in enumerate(zip(self.names, self.priors))}


def laplace(priors: list[Prior], terms: Sequence[Term] | Callable,
            fixed: Mapping[str, float], x0: np.ndarray | None = None) -> Laplace:
    """Posterior mode and Laplace covariance on the fitting scale.

    ``terms`` is a list of ``(parameter names, loglik)``: each ``loglik`` takes a dict of
    parameter arrays of one shape (a batch of parameter values) and returns the
    log-likelihood of each; a bare callable is one term over every parameter. Terms that share
    no parameter need no cross derivatives, so the Hessian is assembled term by term, each in
    its own (smaller) dimension. ``fixed`` holds the values of parameters not fitted.
    """
    names = [p.name for p in priors]
    if callable(terms):
        terms = [(names, terms)]
    post = _Posterior(priors, terms, fixed)
    x = np.array([p.phi_med for p in priors], dtype=float) if x0 is None else np.asarray(x0)
    x, H = _find_mode(post, x)
    ok, cov = _covariance(H, priors)
    q = _line_marginals(post.along_line, x, cov) if ok else None
    return Laplace(names, x, cov, priors, post.vague, ok, q)


class _Posterior:
    """The negative log posterior on the fitting scale, term by term, with its gradient and
    Hessian; ``vague`` marks the priors replaced by vague ones."""

    def __init__(self, priors: list[Prior], terms: Sequence[Term],
                 fixed: Mapping[str, float]) -> None:
        self.priors = priors
        self.names = [p.name for p in priors]
        self.vague = np.zeros(len(priors), dtype=bool)
        self.negs = []
        for tnames, fn in terms:
            idx = [self.names.index(n) for n in tnames if n in self.names]
            if idx:
                self.negs.append((idx, self._term_neg(idx, fn, fixed)))

    def _term_neg(self, idx: list[int], fn: Callable,
                  fixed: Mapping[str, float]) -> Callable[[np.ndarray], np.ndarray]:
        """The term's negative log-likelihood at points ``X`` of shape ``(len(idx), ...)``."""
        names, priors = self.names, self.priors

        def f(X: np.ndarray) -> np.ndarray:
            X = np.asarray(X, dtype=float)
            shape = X.shape[1:]
            Xf = X.reshape(len(idx), -1)
            B = Xf.shape[1]
            th = {k: np.full(B, float(v)) for k, v in fixed.items()}
            for r, i in enumerate(idx):
                th[names[i]] = priors[i].scale.theta(Xf[r])
            with np.errstate(all="ignore"):
                ll = fn(th)
            ll = np.where(np.isfinite(ll), ll, -1e12)
            return (-ll).reshape(shape)
        return f

    def prior_derivs(self, v: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        m = len(self.priors)
        lp, d1, d2 = 0.0, np.zeros(m), np.zeros(m)
        for i, p in enumerate(self.priors):
            a, b, c = p.derivs(float(v[i]), bool(self.vague[i]))
            lp += float(a)
            d1[i], d2[i] = float(b), float(c)
        return lp, d1, d2

    def fun(self, v: np.ndarray) -> float:
        out = -self.prior_derivs(v)[0]
        for idx, f in self.negs:
            out += float(f(v[idx][:, None])[0])
        return out

    def jac(self, v: np.ndarray) -> np.ndarray:
        # central differences in one batched call per term: BFGS asks for many gradients,
        # and scipy.differentiate's adaptive machinery costs more than these evaluations
        g = -self.prior_derivs(v)[1]
        for idx, f in self.negs:
            k = len(idx)
            step = 1e-5 * np.maximum(1.0, np.abs(v[idx]))
            pts = np.repeat(v[idx][:, None], 2 * k, axis=1)
            pts[np.arange(k), np.arange(k)] += step
            pts[np.arange(k), k + np.arange(k)] -= step
            val = f(pts)
            g[idx] += (val[:k] - val[k:]) / (2 * step)
        return g

    def hess(self, v: np.ndarray) -> np.ndarray:
        h = -np.diag(self.prior_derivs(v)[2])
        for idx, f in self.negs:
            # central differences of central differences: (2k + 1)^2 points, batched
            hk = np.asarray(differentiate.hessian(f, v[idx], initial_step=0.01, order=2,
                                                  maxiter=1).ddf, dtype=float)
            h[np.ix_(idx, idx)] += (hk + hk.T) / 2
        return h

    def along_line(self, X: np.ndarray, moving: np.ndarray) -> np.ndarray:
        """The negative log posterior at the columns of ``X``, up to a constant."""
        # terms and priors whose parameters do not move along the line add a constant
        out = np.zeros(X.shape[1])
        for i, p in enumerate(self.priors):
            if moving[i]:
                out -= p.derivs(X[i], bool(self.vague[i]))[0]
        for idx, f in self.negs:
            if moving[idx].any():
                out += f(X[idx])
        return out


def _pd_inverse(h: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(h)
    w = np.maximum(w, max(np.abs(w).max(), 1.0) * 1e-6)
    inv = (v / w) @ v.T
    return (inv + inv.T) / 2


def _find_mode(post: _Posterior, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The posterior mode and the Hessian there, switching to a vague prior each parameter
    the data alone pin down far better than its prior."""
    prior_prec = np.array([1.0 / p.phi_sd ** 2 for p in post.priors])
    H = post.hess(x)
    for _ in range(3):  # at most two switches to vague priors
        # quasi-Newton started from the true (numerical) Hessian: a few cheap gradient steps
        # instead of many on these small, often ill-conditioned problems
        res = optimize.minimize(post.fun, x, jac=post.jac, method="BFGS",
                                options={"gtol": 1e-4, "maxiter": 200,
                                         "hess_inv0": _pd_inverse(H)})
        x = res.x
        H = post.hess(x)
        # the data's information about each parameter on its own (marginal: a parameter
        # pinned only jointly with another, such as order value with the repeat-order rate,
        # keeps its prior)
        marg = 1.0 / np.maximum(np.diag(_pd_inverse(H)), 1e-300)
        data_info = marg - np.where(post.vague, 1.0 / VAGUE_SD ** 2, prior_prec)
        switch = (~post.vague) & (data_info > VAGUE_ABOVE * prior_prec)
        if not switch.any():
            break
        d2_old = post.prior_derivs(x)[2]
        post.vague |= switch
        H = H + np.diag(d2_old) - np.diag(post.prior_derivs(x)[2])  # same data part, new prior
    return x, H


def _covariance(H: np.ndarray, priors: list[Prior]) -> tuple[bool, np.ndarray]:
    """The Laplace covariance (the inverse Hessian) and whether the Hessian was positive
    definite; the priors' variances when it is not finite."""
    ok = bool(np.all(np.isfinite(H)))
    if ok:
        w, v = np.linalg.eigh(H)
        if w.min() <= 0:
            ok = False
            w = np.maximum(w, 1e-8 + np.abs(w).max() * 1e-10)
        cov = (v / w) @ v.T
    else:
        cov = np.diag([p.phi_sd ** 2 for p in priors])
    return ok, cov


def _line_marginals(negpost: Callable[[np.ndarray, np.ndarray], np.ndarray], mode: np.ndarray,
                    cov: np.ndarray, n: int = 41) -> np.ndarray:
    """Marginal 5/50/95% points of each parameter, from the posterior along its conditional
    line ``mode + t * cov[:, i] / cov[i, i]`` (the other parameters at their conditional
    modes under the Laplace fit).

    The Laplace normal alone is symmetric on the fitting scale; a variance component such as
    ``skill_cv`` from a dozen reps has a skewed posterior, and the normal's interval then
    misses the truth far more often than 10%. The line (profile) posterior keeps the skew at
    the cost of one batched evaluation of ``n`` points per parameter.
    """
    m = mode.size
    out = np.empty((m, 3))
    for i in range(m):
        sd = math.sqrt(max(cov[i, i], 1e-300))
        slope = cov[:, i] / cov[i, i]
        # a parameter moving by under 1e-3 of its own sd changes f by ~1e-6: treat as fixed
        own = np.sqrt(np.maximum(np.diag(cov), 1e-300))
        moving = np.abs(slope) * sd * 20.0 > 1e-3 * own
        moving[i] = True
        # where the posterior is normal along the line (f rises by 2 at +-2 sd), the
        # Laplace interval stands: two points decide it
        X2 = mode[:, None] + np.outer(slope, np.array([-2.0, 0.0, 2.0]) * sd)
        f2 = negpost(X2, moving)
        if np.all(np.abs(f2[[0, 2]] - f2[1] - 2.0) < 0.1):
            out[i] = mode[i] + np.array([-Z95, 0.0, Z95]) * sd
            continue
        for width in (6.0, 12.0, 24.0):
            t = np.linspace(-width, width, n) * sd
            X = mode[:, None] + np.outer(slope, t)
            f = negpost(X, moving)
            w = np.exp(-(f - np.min(f)))
            if w[0] < 1e-6 * w.max() and w[-1] < 1e-6 * w.max():
                break
        out[i] = mode[i] + slope[i] * _line_quantiles(t, f, n)
    return out


def _line_quantiles(t: np.ndarray, f: np.ndarray, n: int) -> np.ndarray:
    """The 5/50/95% points in ``t`` of the density ``exp(-f)`` known at the points ``t``."""
    # the log density is smooth: a cubic spline through the n points, then a fine grid
    fine = np.linspace(t[0], t[-1], 20 * n)
    # (capped: a failed evaluation returns 1e12, and a spline through that overshoots)
    g = np.minimum(f - np.min(f), 60.0)
    wf = np.exp(-np.clip(CubicSpline(t, g)(fine), 0.0, 60.0))
    seg = (wf[1:] + wf[:-1]) / 2
    cdf = np.concatenate([[0.0], np.cumsum(seg)])
    cdf /= cdf[-1]
    return np.interp([0.05, 0.5, 0.95], cdf, fine)
