"""Parameter designs: plain Monte Carlo, Latin hypercube and scrambled Sobol, plus rank
correlation by Iman-Conover.

Plain Monte Carlo draws each block's uniforms from that block's own stream, so any chunking
gives the same paths. Latin hypercube and Sobol designs depend on n: they are built for the full
run, as ``replicates`` independent randomised designs of ``n / replicates`` points each (path i
belongs to replicate ``i // (n / replicates)``); standard errors come from the spread of the
replicate estimates, never from the binomial formula.
"""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
from scipy import linalg, special
from scipy.stats import qmc

from okma_sim._core.errors import PlanError
from okma_sim.plan import SAMPLERS

__all__ = ["ParameterDesign", "check_correlation", "iman_conover",
           "nearest_correlation", "spearman_to_normal"]

#: spawn-key slot of the design's seed, apart from the block streams (0, 1, 2, ...)
_DESIGN_KEY = 2**31 - 1


def nearest_correlation(c: np.ndarray, *, tol: float = 1e-10, key: str = "correlations.matrix"
                        ) -> tuple[np.ndarray, bool]:
    """The nearest positive-definite correlation matrix, and whether a repair was needed.

    A matrix whose smallest eigenvalue exceeds ``tol`` is returned as is. Otherwise Higham's
    (2002) alternating projections with Dykstra's correction find the nearest correlation
    matrix in the Frobenius norm; its eigenvalues are then floored at 1e-6 (and the diagonal
    reset to 1) so that a Cholesky factor exists.

    Parameters
    ----------
    c : array_like, (k, k)
        Square, symmetric, entries in [-1, 1], unit diagonal (else ``PlanError``).
    tol : float
        Smallest eigenvalue accepted without repair.
    key : str
        Key path named in errors.

    Examples
    --------
    >>> c = np.array([[1, .9, -.9], [.9, 1, .9], [-.9, .9, 1.]])
    >>> fixed, repaired = nearest_correlation(c)
    >>> repaired, bool(np.all(np.linalg.eigvalsh(fixed) > 0))
    (True, True)
    """
    c = check_correlation(c, key=key)
    if np.linalg.eigvalsh(c).min() > tol:
        return c, False
    y = c.copy()
    ds = np.zeros_like(c)
    for _ in range(500):
        r = y - ds
        w, v = np.linalg.eigh(r)
        x = (v * np.maximum(w, 0.0)) @ v.T  # projection onto the PSD cone
        ds = x - r  # Dykstra's correction
        y_new = x.copy()
        np.fill_diagonal(y_new, 1.0)  # projection onto unit-diagonal matrices
        done = np.linalg.norm(y_new - y) <= 1e-12 * max(1.0, np.linalg.norm(y))
        y = y_new
        if done:
            break
    # floor the eigenvalues so Cholesky works, keeping the unit diagonal
    w, v = np.linalg.eigh((y + y.T) / 2)
    y = (v * np.maximum(w, 1e-6)) @ v.T
    d = np.sqrt(np.diag(y))
    y = y / np.outer(d, d)
    return (y + y.T) / 2, True


def check_correlation(c: np.ndarray, *, key: str = "correlations.matrix") -> np.ndarray:
    """Validate a correlation matrix: square, finite, symmetric, entries in [-1, 1] and a unit
    diagonal. Returns it as a float array; raises ``PlanError`` naming the entry.

    Examples
    --------
    >>> check_correlation([[1, 0.5], [0.5, 1]]).shape
    (2, 2)
    """
    a = np.asarray(c, dtype=float)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise PlanError("must be a square matrix", key=key, value=f"shape {a.shape}")
    bad = ~np.isfinite(a) | (np.abs(a) > 1)
    if bad.any():
        i, j = map(int, np.argwhere(bad)[0])
        raise PlanError("entries must lie in [-1, 1]", key=f"{key}[{i}][{j}]",
                        value=float(a[i, j]))
    diag = np.diag(a)
    if np.any(diag != 1):
        i = int(np.flatnonzero(diag != 1)[0])
        raise PlanError("diagonal entries must be 1", key=f"{key}[{i}][{i}]",
                        value=float(a[i, i]))
    asym = np.abs(a - a.T) > 1e-12
    if asym.any():
        i, j = map(int, np.argwhere(asym)[0])
        raise PlanError(f"matrix must be symmetric ([{j}][{i}] is {a[j, i]})",
                        key=f"{key}[{i}][{j}]", value=float(a[i, j]))
    return a


def spearman_to_normal(rho: np.ndarray) -> np.ndarray:
    """Pearson correlation of normal scores that gives Spearman rank correlation ``rho``:
    ``2 sin(pi rho / 6)`` (the inverse of Pearson's 1907 relation for the bivariate normal).

    Examples
    --------
    >>> round(float(spearman_to_normal(0.5)), 4)
    0.5176
    """
    return 2.0 * np.sin(np.pi * np.asarray(rho, dtype=float) / 6.0)


def iman_conover(u: np.ndarray, corr: np.ndarray) -> np.ndarray:
    """Reorder each column of ``u`` so that its Spearman rank correlation approaches ``corr``,
    keeping every column's values (and so its marginal distribution) exactly (Iman & Conover,
    1982).

    The van der Waerden scores of the ranks are decorrelated (Cholesky of their sample
    correlation), then given the normal-score correlation that corresponds to the requested
    rank correlation (:func:`spearman_to_normal`); each column of ``u`` is reordered to the
    ranks of the result. ``corr`` must be positive definite (see :func:`nearest_correlation`).

    Examples
    --------
    >>> from scipy import stats
    >>> rng = np.random.default_rng(0)
    >>> u = rng.random((2000, 2))
    >>> v = iman_conover(u, np.array([[1, 0.6], [0.6, 1]]))
    >>> round(float(stats.spearmanr(v).statistic), 1)
    0.6
    """
    u = np.asarray(u, dtype=float)
    n, d = u.shape
    if n <= d or d < 2:
        return u  # too few rows to decorrelate: leave the draws independent
    target = spearman_to_normal(corr)
    np.fill_diagonal(target, 1.0)
    try:
        p = np.linalg.cholesky(target)
    except np.linalg.LinAlgError:
        # the transformed matrix can lose definiteness at the boundary; the caller already
        # warned about (and repaired) the declared matrix
        p = np.linalg.cholesky(nearest_correlation(target)[0])
    scores = special.ndtri(np.arange(1, n + 1) / (n + 1))
    ranks = np.argsort(np.argsort(u, axis=0, kind="stable"), axis=0, kind="stable")
    x = scores[ranks]
    e = np.corrcoef(x, rowvar=False)
    try:
        q = np.linalg.cholesky(e)
    except np.linalg.LinAlgError:
        return u  # degenerate sample (n barely above d)
    # x q^-T has identity sample correlation; times p^T it has correlation p p^T = target
    t = linalg.solve_triangular(q, x.T, lower=True).T @ p.T
    out = np.empty_like(u)
    for j in range(d):
        order = np.argsort(np.argsort(t[:, j], kind="stable"), kind="stable")
        out[:, j] = np.sort(u[:, j])[order]
    return out


class ParameterDesign:
    """Uniforms for the uncertain parameters of a run.

    Parameters
    ----------
    names : sequence of str
        Parameter names (columns).
    n_paths : int
    root : numpy.random.SeedSequence
        The run's root seed; block k draws from child k.
    sampler : {"mc", "lhs", "sobol"}
    replicates : int
        Independent randomised designs for LHS and Sobol.
    corr : ndarray, optional
        Rank-correlation matrix over ``corr_names`` (a subset of ``names``).
    block_size : int
    """

    def __init__(self, names: Sequence[str], n_paths: int, root: np.random.SeedSequence,
                 sampler: str = "mc", replicates: int = 16, corr: np.ndarray | None = None,
                 corr_names: Sequence[str] = (), block_size: int = 4096) -> None:
        if sampler not in SAMPLERS:
            raise PlanError(f"unknown sampler; use one of {', '.join(SAMPLERS)}",
                            key="sampler", value=sampler)
        self.names = list(names)
        self.n_paths = int(n_paths)
        self.root = root
        self.sampler = sampler
        self.block_size = block_size
        self.corr = corr
        unknown = [c for c in corr_names if c not in self.names]
        if unknown:
            raise PlanError("unknown parameter", key="correlations.parameters",
                            value=unknown[0])
        self.corr_idx = [self.names.index(c) for c in corr_names]
        # at least 2 paths per replicate, and never an empty replicate
        self.replicates = 1 if sampler == "mc" else max(
            min(max(2, int(replicates)), self.n_paths // 2), min(2, self.n_paths))
        self._design: np.ndarray | None = None

    # replicate of each path (None for MC: SE by the binomial formula)
    def replicate_index(self) -> np.ndarray | None:
        if self.sampler == "mc":
            return None
        sizes = self._sizes()
        return np.repeat(np.arange(self.replicates), sizes)

    def _sizes(self) -> np.ndarray:
        base, extra = divmod(self.n_paths, self.replicates)
        return np.array([base + (i < extra) for i in range(self.replicates)])

    def _build(self) -> np.ndarray:
        d = len(self.names)
        parts = []
        for r, m in enumerate(self._sizes()):
            ss = np.random.SeedSequence(self.root.entropy,
                                        spawn_key=tuple(self.root.spawn_key) + (_DESIGN_KEY, r))
            if d == 0:
                parts.append(np.zeros((m, 0)))
                continue
            if self.sampler == "lhs":
                pts = qmc.LatinHypercube(d, seed=np.random.default_rng(ss)).random(m)
            else:
                with warnings.catch_warnings():
                    # a non-power-of-2 n loses some balance but stays a valid design
                    warnings.simplefilter("ignore", UserWarning)
                    pts = qmc.Sobol(d, scramble=True, seed=np.random.default_rng(ss)).random(m)
            parts.append(self._correlate(pts))
        return np.vstack(parts)

    def _correlate(self, u: np.ndarray) -> np.ndarray:
        if self.corr is None or len(self.corr_idx) < 2:
            return u
        u = u.copy()
        u[:, self.corr_idx] = iman_conover(u[:, self.corr_idx], self.corr)
        return u

    def uniforms(self, block: int, rng: np.random.Generator, size: int) -> np.ndarray:
        """Uniforms for block ``block`` (``size`` paths), in (0, 1)."""
        if self.sampler == "mc":
            u = rng.random((size, len(self.names)))
            u = self._correlate(u)
        else:
            if self._design is None:
                self._design = self._build()
            start = block * self.block_size
            u = self._design[start:start + size]
        # keep ppf finite at the edges
        return np.clip(u, 1e-12, 1 - 1e-12)
