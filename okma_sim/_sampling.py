"""Monotone samplers: counts drawn by inverse CDF from a common uniform (or normal), so that
on each path a count moves monotonically with its rate. That is what keeps scenario differences
and the action solver's objective smooth under common random numbers (DESIGN.md section 4)."""

from __future__ import annotations

import numpy as np
from scipy import special

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


def _poisson_search(u: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Exact Poisson quantiles by summing the pmf, as float counts.

    While most elements are still searching it runs whole-array, in place and without masks:
    F(k) only grows with k, so the count of k with F(k) < u is the quantile. The few
    stragglers are then compacted and finished one step at a time. The arithmetic is the same
    sequence of operations either way, so results do not depend on the switch-over point.
    """
    p = np.exp(-lam)
    F = p.copy()
    hit = u > F
    cnt = hit.astype(np.int16)
    tmp = np.empty_like(F)
    k = 0
    na = np.count_nonzero(hit)
    # (k < 64: past that only stalls near u = 1 remain; the compacted loop ends them exactly)
    while na * 16 >= u.size and k < 64:
        for _ in range(4):  # checking the active count costs a pass: do it every 4 steps
            k += 1
            np.divide(lam, k, out=tmp)
            p *= tmp
            F += p
            np.greater(u, F, out=hit)
            cnt += hit
        na = np.count_nonzero(hit)
    out = cnt.astype(float)
    if na:
        flat_out = out.reshape(-1)
        idx = np.flatnonzero(hit)
        ua, la = u.reshape(-1)[idx], lam.reshape(-1)[idx]
        p, F = p.reshape(-1)[idx], F.reshape(-1)[idx]
        keep = p > 0
        idx, ua, la, p, F = idx[keep], ua[keep], la[keep], p[keep], F[keep]
        while idx.size and k < 399:  # counts are capped at 400
            k += 1
            p *= la / k
            F += p
            # F can stall just below u when u is within rounding of 1; the cap ends the search
            keep = (ua > F) & (p > 0)
            idx, ua, la, p, F = idx[keep], ua[keep], la[keep], p[keep], F[keep]
            flat_out[idx] = k + 1
    return out


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


def _binomial_count(u: np.ndarray, n: np.ndarray, q: np.ndarray, *, strict: bool
                    ) -> np.ndarray:
    """#{k >= 0 : F(k; n, q) < u} (``strict``) or ``<= u``, capped at n, for q <= 1/2.

    Whole-array and in place while most elements are searching (F grows with k, so the count
    needs no mask); the stragglers are then compacted, as in :func:`_poisson_search`.
    """
    cmp = np.greater if strict else np.greater_equal
    p = np.exp(n * np.log1p(-q))  # pmf at 0
    F = p.copy()
    ratio = q / (1.0 - q)
    hit = cmp(u, F)
    cnt = hit.astype(np.int16)
    tmp = np.empty_like(F)
    k = 0
    na = np.count_nonzero(hit)
    while na * 16 >= u.size and k < 64:
        for _ in range(4):
            k += 1
            p *= ratio
            np.subtract(n, k - 1, out=tmp)
            p *= tmp
            p /= k
            F += p
            cmp(u, F, out=hit)
            cnt += hit
        na = np.count_nonzero(hit)
    out = np.minimum(cnt, n)
    hit &= k < n
    if hit.any():
        idx = np.flatnonzero(hit)
        ua, nn, p, F, ratio = u[idx], n[idx], p[idx], F[idx], ratio[idx]
        while idx.size:
            k += 1
            p = p * ratio * (nn - k + 1) / k
            F += p
            # rounding can leave F just below u near 1: stop at n
            keep = cmp(ua, F) & (k < nn)
            out[idx[keep]] = k + 1
            idx, ua, nn, p, F, ratio = idx[keep], ua[keep], nn[keep], p[keep], F[keep], \
                ratio[keep]
    return out


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
