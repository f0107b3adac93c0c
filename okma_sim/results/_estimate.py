"""Monte Carlo probabilities and means with their standard errors."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Estimate", "estimate", "mean_stderr", "QUANTILES"]

QUANTILES = (0.05, 0.5, 0.95)


@dataclass(frozen=True)
class Estimate:
    """A Monte Carlo probability and its standard error.

    Examples
    --------
    >>> e = estimate(np.array([True, False, True, True]))
    >>> e.probability, round(e.stderr, 4)
    (0.75, 0.2165)
    """

    probability: float
    stderr: float
    n: int = 0

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        """Normal-approximation interval, clipped to [0, 1]."""
        from scipy.stats import norm
        z = float(norm.ppf(0.5 + level / 2))
        return (max(0.0, self.probability - z * self.stderr),
                min(1.0, self.probability + z * self.stderr))

    def to_dict(self) -> dict[str, float]:
        return {"probability": float(self.probability), "stderr": float(self.stderr)}

    def __str__(self) -> str:
        return f"{self.probability:.3f} ± {self.stderr:.3f}"


def mean_stderr(values: np.ndarray, replicate_index: np.ndarray | None = None,
                weights: np.ndarray | None = None) -> tuple[float, float]:
    """Mean of per-path values and its Monte Carlo standard error: ``sd / sqrt(n)`` for plain
    Monte Carlo, the spread of replicate means for LHS/Sobol designs, and the delta-method
    form for weighted paths (:func:`estimate` uses it for probabilities).

    Examples
    --------
    >>> m, se = mean_stderr(np.array([0.0, 0.5, 1.0, 0.5]))
    >>> m, round(se, 4)
    (0.5, 0.2041)
    """
    v = np.asarray(values, dtype=float)
    n = v.size
    if n == 0:
        return float("nan"), float("nan")
    if weights is not None:
        w = np.asarray(weights, dtype=float)
        w = w / w.sum()
        m = float(np.sum(w * v))
        return m, float(np.sqrt(np.sum(w * w * (v - m) ** 2)))
    m = float(v.mean())
    if replicate_index is None:
        return m, float(v.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    R = int(replicate_index.max()) + 1
    means = np.bincount(replicate_index, weights=v, minlength=R) / np.maximum(
        np.bincount(replicate_index, minlength=R), 1)
    return m, float(means.std(ddof=1) / np.sqrt(R)) if R > 1 else float("nan")


def estimate(flags: np.ndarray, replicate_index: np.ndarray | None = None,
             weights: np.ndarray | None = None) -> Estimate:
    """P(flag) with its standard error: binomial for plain MC, the spread of replicate means
    for LHS/Sobol, and the delta-method (effective sample size) form for weighted paths."""
    f = np.asarray(flags, dtype=float)
    n = f.size
    if n == 0:
        return Estimate(math.nan, math.nan, 0)
    if weights is None and replicate_index is None:
        p = float(f.mean())
        return Estimate(p, math.sqrt(p * (1 - p) / n), n)  # binomial: divisor n, not n - 1
    p, se = mean_stderr(f, replicate_index, weights)
    return Estimate(p, se, n)
