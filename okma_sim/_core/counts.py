"""Monotone samplers: counts drawn by inverse CDF from a common uniform (or normal), so that
on each path a count moves monotonically with its rate. That is what keeps scenario differences
and the action solver's objective smooth under common random numbers (docs/architecture.md,
section 4)."""

from __future__ import annotations

import numpy as np
from scipy import special, stats

__all__ = ["poisson_icdf", "binomial_icdf", "binomial_normal_icdf", "POISSON_EXACT_BELOW",
           "BINOMIAL_EXACT_BELOW"]

#: Rates below this are inverted exactly; above it by a Cornish-Fisher normal approximation
#: (quantile error well under one count at these rates).
POISSON_EXACT_BELOW = 30.0


def poisson_icdf(u: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Poisson(lam) quantile at probability ``u``: the smallest k with F(k; lam) >= u.

    Exact (sequential search over the pmf) for ``lam < 30``; for larger rates
    ``round(lam + sqrt(lam) z + (z**2 - 1) / 6)`` with ``z = Phi^-1(u)``.

    Examples
    --------
    >>> import numpy as np
    >>> poisson_icdf(np.array([0.1, 0.5, 0.9]), np.array([1.0, 1.0, 1.0]))
    array([0., 1., 2.])
    """
    u = np.asarray(u, dtype=float)
    lam = np.broadcast_to(np.asarray(lam, dtype=float), u.shape)
    big = lam >= POISSON_EXACT_BELOW
    if not big.any():
        return _poisson_search(u, lam)
    out = np.empty(u.shape, dtype=float)
    lb = lam[big]
    z = special.ndtri(u[big])
    out[big] = np.maximum(0.0, np.rint(lb + np.sqrt(lb) * z + (z * z - 1.0) / 6.0))
    small = ~big
    out[small] = _poisson_search(u[small], lam[small])
    return out


def _count_steps(u: np.ndarray, p: np.ndarray, live, top: int, step, cmp, *args: np.ndarray
                 ) -> np.ndarray:
    """#{k = 0, 1, ... : cmp(u, F(k))} for a non-decreasing CDF F, each count capped.

    ``p`` is the pmf at 0 (and F(0)); ``step(k, p, tmp, *args)`` turns the pmf at k - 1 into
    the pmf at k in place. ``live(k, *args)`` says which elements are below their cap at k
    (None: all of them); it is asked only when the arrays are compacted, and ``top`` bounds
    every cap. Counts of elements that pass their cap between compactions are not clipped.

    The search runs whole-array, in place and without masks: F only grows, so the number of
    steps with ``cmp(u, F(k))`` is the count, and finished elements need no mask. Once at most
    half the elements are still searching, the finished ones are written out and the rest
    compacted (by index; a boolean gather is several times slower), so late steps cost only
    what the stragglers cost. Every element sees the same sequence of floating-point
    operations whatever the compaction, so its count does not depend on the other elements.
    """
    F = p.copy()
    hit = cmp(u, F)
    cnt = hit.astype(np.int16)
    out = None  # counts written so far (None: none yet)
    idx = None  # positions in ``out`` of the elements still in the arrays
    tmp = np.empty_like(F)
    k = 0
    na = np.count_nonzero(hit)
    while na and k < top:
        if 2 * na <= cnt.size:
            if out is None:
                out = cnt.astype(float)
            else:
                out[idx] = cnt
            # an element at its cap is done too (F stalled just below u, or k reached n)
            below = live(k, *args)
            sel = np.flatnonzero(hit if below is None else hit & below)
            idx = sel if idx is None else idx[sel]
            u, p, F, cnt = u[sel], p[sel], F[sel], cnt[sel]
            args = tuple(a[sel] for a in args)
            tmp, hit = np.empty_like(F), np.empty(F.size, dtype=bool)
            if not sel.size:
                return out
        for _ in range(4):  # checking the active count costs a pass: do it every 4 steps
            k += 1
            step(k, p, tmp, *args)
            F += p
            cmp(u, F, out=hit)
            cnt += hit
        na = np.count_nonzero(hit)
    if out is None:
        return cnt.astype(float)
    out[idx] = cnt
    return out


def _poisson_step(k: int, p: np.ndarray, tmp: np.ndarray, lam: np.ndarray) -> None:
    np.divide(lam, k, out=tmp)
    p *= tmp


def _poisson_search(u: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Exact Poisson quantiles by summing the pmf (see :func:`_count_steps`), as float counts.

    When ``u`` is within rounding of 1 (``random()`` can return 1 - 2**-53) the summed CDF
    can stall just below it; such rare counts stop at ``lam + 10 sqrt(lam) + 40``, far above
    any quantile below 1 - 2**-53, and are then taken from ``scipy.stats.poisson.ppf``.
    """
    shape = u.shape
    u = np.ascontiguousarray(u, dtype=float).reshape(-1)
    lam = np.ascontiguousarray(lam, dtype=float).reshape(-1)
    if not u.size:
        return u.reshape(shape)
    out = _count_steps(u, np.exp(-lam), _poisson_live, int(_poisson_cap(lam.max())),
                       _poisson_step, np.greater, lam)
    big = np.flatnonzero(out >= 41.0)  # every cap is above 40: only these can be at theirs
    if big.size:
        ub, lb = u[big], lam[big]
        cap = _poisson_cap(lb)
        stalled = out[big] >= cap
        # u within rounding of 1: scipy's quantile (the cap where u is 1 itself)
        out[big] = np.where(stalled, np.where(ub < 1.0, stats.poisson.ppf(
            np.minimum(ub, np.nextafter(1.0, 0.0)), lb), cap), out[big])
    return out.reshape(shape)


def _poisson_cap(lam):
    return np.ceil(lam + 10.0 * np.sqrt(lam) + 40.0)


def _poisson_live(k: int, lam: np.ndarray) -> np.ndarray | None:
    return None if k < 40 else _poisson_cap(lam) > k


#: Binomials with variance n q (1 - q) below this are inverted exactly; above it by the
#: continuity-corrected normal approximation.
BINOMIAL_EXACT_BELOW = 30.0


def binomial_icdf(u: np.ndarray, n: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Binomial(n, q) quantile at probability ``u``: the smallest k with F(k; n, q) >= u.

    Exact (sequential search over the pmf) when ``n q (1 - q) < 30``; above that by the
    continuity-corrected normal approximation (:func:`binomial_normal_icdf` of ``Phi^-1(u)``).
    On each path the count is non-decreasing in ``n`` and in ``q`` for a fixed ``u``, which is
    the monotone coupling common random numbers need.

    Examples
    --------
    >>> import numpy as np
    >>> binomial_icdf(np.array([0.1, 0.5, 0.99]), np.array([10.0, 10.0, 10.0]), 0.5)
    array([3., 5., 9.])
    """
    u = np.asarray(u, dtype=float)
    n = np.broadcast_to(np.rint(np.asarray(n, dtype=float)), u.shape)
    q = np.broadcast_to(np.clip(np.asarray(q, dtype=float), 0.0, 1.0), u.shape)
    out = np.zeros(u.shape, dtype=float)
    fu, fn, fq, fo = u.ravel(), n.ravel(), q.ravel(), out.reshape(-1)
    var = fn * fq * (1.0 - fq)
    big = var >= BINOMIAL_EXACT_BELOW
    if big.any():
        ib = np.flatnonzero(big)
        fo[ib] = binomial_normal_icdf(special.ndtri(fu[ib]), fn[ib], fq[ib])
    certain = ~big & (fq >= 1.0)
    fo[certain] = fn[certain]
    search = ~big & (fq < 1.0) & (fn > 0) & (fq > 0)
    low = search & (fq <= 0.5)
    if low.any():
        fo[low] = _binomial_count(fu[low], fn[low], fq[low], strict=True)
    high = search & (fq > 0.5)
    if high.any():
        # X = n - Y with Y ~ Binomial(n, 1 - q): the smallest k with F_X(k) >= u is
        # n - #{j : F_Y(j) <= 1 - u}. Searching from the short side takes fewer steps, and
        # (1 - q)**n cannot underflow to a zero pmf there
        nh, uh = fn[high], fu[high]
        kh = np.maximum(nh - _binomial_count(1.0 - uh, nh, 1.0 - fq[high], strict=False), 0.0)
        kh[uh <= 0.0] = 0.0  # F(0) >= 0 = u, whatever rounding does to F near 1
        fo[high] = kh
    return out


def _binomial_step(k: int, p: np.ndarray, tmp: np.ndarray, n: np.ndarray, ratio: np.ndarray
                   ) -> None:
    p *= ratio
    np.subtract(n, k - 1, out=tmp)
    p *= tmp
    p /= k


def _binomial_live(k: int, n: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    return n > k


def _binomial_count(u: np.ndarray, n: np.ndarray, q: np.ndarray, *, strict: bool
                    ) -> np.ndarray:
    """#{k >= 0 : F(k; n, q) < u} (``strict``) or ``<= u``, capped at n, for q <= 1/2
    (see :func:`_count_steps`)."""
    p = np.exp(n * np.log1p(-q))  # pmf at 0
    counts = _count_steps(u, p, _binomial_live, int(n.max(initial=0)), _binomial_step,
                          np.greater if strict else np.greater_equal, n, q / (1.0 - q))
    return np.minimum(counts, n, out=counts)


def binomial_normal_icdf(z: np.ndarray, n: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Binomial(n, q) count from a standard normal ``z``, by the continuity-corrected normal
    approximation ``ceil(n q + z sqrt(n q (1-q)) - 1/2)`` clipped to [0, n].

    Monotone in ``q`` on each path (for fixed z) over the range that matters, and cheap. Its
    error in P(count <= k) is that of the normal approximation (small for n q (1 - q) >= 5).

    Examples
    --------
    >>> import numpy as np
    >>> binomial_normal_icdf(np.array([0.0]), np.array([40.0]), np.array([0.5]))
    array([20.])
    """
    n = np.asarray(n, dtype=float)
    mu = n * q
    sd = np.sqrt(np.maximum(mu * (1.0 - q), 0.0))
    k = np.asarray(np.ceil(mu + z * sd - 0.5), dtype=float)
    # in place, not np.clip (several times slower on these small arrays)
    np.maximum(k, 0.0, out=k)
    return np.minimum(k, n, out=k)
