"""Monotone samplers: counts drawn by inverse CDF from a common uniform (or normal), so that
on each path a count moves monotonically with its rate. That is what keeps scenario differences
and the action solver's objective smooth under common random numbers (DESIGN.md section 4)."""

from __future__ import annotations

import numpy as np
from scipy import special

__all__ = ["poisson_icdf", "binomial_normal_icdf", "POISSON_EXACT_BELOW"]

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
    out = np.zeros(u.shape, dtype=float)
    flat_u, flat_lam, flat_out = u.ravel(), lam.ravel(), out.reshape(-1)
    big = flat_lam >= POISSON_EXACT_BELOW
    if big.any():
        ib = np.flatnonzero(big)
        lb = flat_lam[ib]
        z = special.ndtri(flat_u[ib])
        flat_out[ib] = np.maximum(0.0, np.rint(lb + np.sqrt(lb) * z + (z * z - 1.0) / 6.0))
        small_idx = np.flatnonzero(~big)
    else:
        small_idx = None
    # exact search, shrinking the active set each step
    if small_idx is None:
        ua, la = flat_u, flat_lam
        idx = np.arange(flat_u.size)
    else:
        ua, la, idx = flat_u[small_idx], flat_lam[small_idx], small_idx
    p = np.exp(-la)
    F = p.copy()
    keep = ua > F
    idx, ua, la, p, F = idx[keep], ua[keep], la[keep], p[keep], F[keep]
    k = 0
    while idx.size and k < 400:
        k += 1
        flat_out[idx] = k
        p *= la / k
        F += p
        # F can stall just below u when u is within rounding of 1; the cap ends the search
        keep = (ua > F) & (p > 0)
        idx, ua, la, p, F = idx[keep], ua[keep], la[keep], p[keep], F[keep]
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
    k = np.ceil(mu + z * sd - 0.5)
    return np.clip(k, 0.0, n)
