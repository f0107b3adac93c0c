"""Marginals of a two-parameter posterior by nested integration: a grid over the weakly
identified parameter, and at each of its points a Laplace fit of the other (well identified
given it). For posteriors along a curved ridge, where the Laplace fit's straight conditional
lines cut the marginals too narrow (the revisit curve's targeting and heterogeneity)."""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np
from scipy import special
from scipy.interpolate import CubicSpline

from ._laplace import Laplace, _line_quantiles

#: points of the outer grid
_N = 81
#: the outer grid spans where the log marginal is within this of its maximum
_SPAN = 20.0


def nested_marginals(lap: Laplace, loglik: Callable[[dict[str, np.ndarray]], np.ndarray],
                     fixed: Mapping[str, float], outer: int) -> Laplace:
    """``lap`` (a Laplace fit of two parameters) with its marginal quantiles, covariance and
    mode replaced by those of the posterior integrated over a grid of parameter ``outer``;
    the priors (vague or not) are the Laplace fit's.

    The inner parameter given the outer one is taken as normal around its conditional mode
    (its conditional Laplace fit), so its marginal is a mixture of normals over the grid, and
    the outer one's marginal density is ``exp(-f(u*(v), v)) / sqrt(f''(u*(v)))``.
    """
    inner = 1 - outer
    post = _Conditional(lap, loglik, fixed, inner)
    sd = float(np.sqrt(max(lap.cov[outer, outer], 1e-12)))
    slope = float(lap.cov[inner, outer] / max(lap.cov[outer, outer], 1e-300))
    lo_cap, hi_cap = post.outer_range(outer, sd)
    lo, hi = max(lap.mode[outer] - 8 * sd, lo_cap), min(lap.mode[outer] + 8 * sd, hi_cap)
    for _ in range(8):
        v = np.linspace(lo, hi, _N)
        u, h, m = post.profile(v, lap.mode[inner] + slope * (v - lap.mode[outer]))
        keep = m > m.max() - _SPAN
        # widen an edge that still holds mass (up to the prior's range), else trim to the mass
        grow_lo, grow_hi = keep[0] and lo > lo_cap, keep[-1] and hi < hi_cap
        if not (grow_lo or grow_hi):
            break
        width = hi - lo
        lo = max(lo - width, lo_cap) if grow_lo else lo
        hi = min(hi + width, hi_cap) if grow_hi else hi
    # the final grid spans the mass (the Newton starts from the coarse grid's modes)
    idx = np.flatnonzero(keep)
    fine = np.linspace(v[max(idx[0] - 1, 0)], v[min(idx[-1] + 1, _N - 1)], _N)
    u, h, m = post.profile(fine, np.interp(fine, v, u))
    return _summarise(lap, fine, u, h, m, inner, outer)


class _Conditional:
    """The negative log posterior of the two parameters on the fitting scale, and the inner
    parameter's conditional modes and curvatures along a grid of the outer one."""

    def __init__(self, lap: Laplace, loglik: Callable, fixed: Mapping[str, float],
                 inner: int) -> None:
        self.lap, self.loglik, self.fixed, self.inner = lap, loglik, fixed, inner

    def f(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        lap, i = self.lap, self.inner
        x = {i: u, 1 - i: v}
        th = {k: np.full(u.shape, float(val)) for k, val in self.fixed.items()}
        out = np.zeros(u.shape)
        for k in (0, 1):
            p = lap.priors[k]
            th[lap.names[k]] = p.scale.theta(x[k])
            out -= p.derivs(x[k], bool(lap.vague[k]))[0]
        with np.errstate(all="ignore"):
            ll = self.loglik(th)
        return out - np.where(np.isfinite(ll), ll, -1e12)

    def outer_range(self, outer: int, sd: float) -> tuple[float, float]:
        """Where the outer grid may go: the prior's tabulated range (a vague prior's: 40
        posterior sds either side of the mode)."""
        p = self.lap.priors[outer]
        if self.lap.vague[outer]:
            m = float(self.lap.mode[outer])
            return m - 40 * sd, m + 40 * sd
        return p.tabulated_range()

    def profile(self, v: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                             np.ndarray]:
        """Conditional modes ``u*(v)`` (Newton from ``u``), curvatures and log marginal."""
        step = 1e-3
        for _ in range(40):
            f0, fp, fm = self.f(u, v), self.f(u + step, v), self.f(u - step, v)
            g = (fp - fm) / (2 * step)
            h = (fp - 2 * f0 + fm) / step ** 2
            du = np.clip(-g / np.where(h > 0, h, np.inf), -0.5, 0.5)
            # where the curvature is not positive, walk downhill
            du = np.where(h > 0, du, -0.5 * np.sign(g))
            u = u + du
            if np.max(np.abs(du)) < 1e-7:
                break
        f0, fp, fm = self.f(u, v), self.f(u + step, v), self.f(u - step, v)
        h = np.maximum((fp - 2 * f0 + fm) / step ** 2, 1e-12)
        return u, h, -f0 - 0.5 * np.log(h)


def _summarise(lap: Laplace, v: np.ndarray, u: np.ndarray, h: np.ndarray, m: np.ndarray,
               inner: int, outer: int) -> Laplace:
    """The Laplace object with the integrated marginals, covariance and mode."""
    fine = np.linspace(v[0], v[-1], 20 * v.size)
    mf = CubicSpline(v, m - m.max())(fine)
    w = np.exp(np.minimum(mf, 0.0))
    w /= w.sum()
    uf, hf = np.interp(fine, v, u), np.exp(np.interp(fine, v, np.log(h)))
    q = np.empty((2, 3))
    q[outer] = _line_quantiles(v, -(m - m.max()), v.size)
    # the inner marginal: a mixture of the conditional normals (every 5th point of the fine
    # grid, its weights pooled: their means step by a small part of their sd), its CDF on a
    # grid
    wm = np.add.reduceat(w, np.arange(0, w.size, 5))
    um, sm = uf[2::5], 1.0 / np.sqrt(hf[2::5])
    grid = np.linspace((um - 6 * sm).min(), (um + 6 * sm).max(), 800)
    cdf = (wm[:, None] * special.ndtr((grid[None, :] - um[:, None]) / sm[:, None])).sum(0)
    q[inner] = np.interp([0.05, 0.5, 0.95], cdf, grid)
    ev, eu = float(w @ fine), float(w @ uf)
    cov = np.empty((2, 2))
    cov[outer, outer] = float(w @ (fine - ev) ** 2)
    cov[inner, inner] = float(w @ (1.0 / hf + (uf - eu) ** 2))
    cov[inner, outer] = cov[outer, inner] = float(w @ ((uf - eu) * (fine - ev)))
    j = int(np.argmax(mf))
    mode = np.empty(2)
    mode[outer], mode[inner] = fine[j], uf[j]
    return Laplace(list(lap.names), mode, cov, lap.priors, lap.vague, lap.ok, q)
