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
from scipy import stats
from scipy.stats import qmc

from ._errors import PlanError

__all__ = ["SAMPLERS", "ParameterDesign", "iman_conover", "nearest_correlation"]

SAMPLERS = ("mc", "lhs", "sobol")
#: spawn-key slot of the design's seed, apart from the block streams (0, 1, 2, ...)
_DESIGN_KEY = 2**31 - 1


def nearest_correlation(c: np.ndarray, *, tol: float = 1e-10) -> tuple[np.ndarray, bool]:
    """The nearest positive-definite correlation matrix (eigenvalue clipping, then unit
    diagonal), and whether a repair was needed.

    Examples
    --------
    >>> c = np.array([[1, .9, -.9], [.9, 1, .9], [-.9, .9, 1.]])
    >>> fixed, repaired = nearest_correlation(c)
    >>> repaired, bool(np.all(np.linalg.eigvalsh(fixed) > 0))
    (True, True)
    """
    c = np.asarray(c, dtype=float)
    c = (c + c.T) / 2
    w, v = np.linalg.eigh(c)
    if w.min() > tol:
        return c, False
    for _ in range(100):  # alternating projections (Higham 2002, simplified)
        w, v = np.linalg.eigh(c)
        c = (v * np.maximum(w, 1e-6)) @ v.T
        d = np.sqrt(np.diag(c))
        c = c / np.outer(d, d)
        if np.linalg.eigvalsh(c).min() > tol:
            break
    return c, True


def iman_conover(u: np.ndarray, corr: np.ndarray) -> np.ndarray:
    """Reorder each column of ``u`` so its rank correlation approaches ``corr``, keeping every
    column's values (and so its marginal distribution) exactly (Iman & Conover, 1982).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> u = rng.random((2000, 2))
    >>> v = iman_conover(u, np.array([[1, 0.6], [0.6, 1]]))
    >>> round(float(stats.spearmanr(v).statistic), 1)
    0.6
    """
    n, d = u.shape
    if n < 3 or d < 2:
        return u
    # van der Waerden scores, decorrelated, then given the target correlation
    scores = stats.norm.ppf(np.arange(1, n + 1) / (n + 1))
    ranks = np.argsort(np.argsort(u, axis=0), axis=0)
    x = scores[ranks]
    e = np.corrcoef(x, rowvar=False)
    try:
        q = np.linalg.cholesky(e)
        p = np.linalg.cholesky(corr)
    except np.linalg.LinAlgError:
        return u
    t = x @ np.linalg.inv(q).T @ p.T
    out = np.empty_like(u)
    for j in range(d):
        order = np.argsort(np.argsort(t[:, j]))
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
        self.corr_idx = [self.names.index(c) for c in corr_names]
        self.replicates = 1 if sampler == "mc" else max(2, int(replicates))
        if sampler != "mc" and self.n_paths < 2 * self.replicates:
            self.replicates = max(2, self.n_paths // 2)
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
