"""Scores of an ensemble forecast against what happened: the CRPS, the randomised PIT, and
the coverage of central intervals over many metric-months."""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

__all__ = ["LEVELS", "crps_ensemble", "randomized_pit"]

#: central interval levels whose coverage is reported
LEVELS = (0.5, 0.8, 0.95)


def crps_ensemble(samples: np.ndarray, y: float) -> float:
    """CRPS of an ensemble forecast at the outcome ``y`` (sample formula).

    ``CRPS = mean|X - y| - 0.5 mean|X - X'|`` over the ensemble members, with
    ``mean|X - X'| = (2 / n^2) sum_i (2i - n - 1) x_(i)`` for the sorted members.

    Examples
    --------
    >>> round(crps_ensemble(np.array([0.0, 1.0]), 0.0), 4)
    0.25
    """
    x = np.sort(np.asarray(samples, dtype=float))
    x = x[np.isfinite(x)]
    n = x.size
    if n == 0 or not np.isfinite(y):
        return math.nan
    i = np.arange(1, n + 1)
    spread = 2.0 * np.sum((2 * i - n - 1) * x) / (n * n)
    return float(np.mean(np.abs(x - y)) - 0.5 * spread)


def randomized_pit(samples: np.ndarray, y: float, v: float) -> float:
    """Randomised PIT: ``F(y-) + v (F(y) - F(y-))`` for a uniform ``v``; for counts this is
    uniform under a calibrated forecast (Czado, Gneiting & Held 2009), for continuous
    outcomes it is the plain PIT.

    Examples
    --------
    >>> randomized_pit(np.array([0.0, 1.0, 1.0, 2.0]), 1.0, 0.5)
    0.5
    """
    x = np.asarray(samples, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0 or not np.isfinite(y):
        return math.nan
    below = float(np.mean(x < y))
    at = float(np.mean(x == y))
    return below + v * at


def _finite_pits(entries: Sequence[Mapping[str, Any]]) -> np.ndarray:
    return np.array([e["pit"] for e in entries if e["pit"] is not None
                     and np.isfinite(e["pit"])], dtype=float)


def held(entries: Sequence[Mapping[str, Any]], level: float) -> tuple[int, int]:
    """How many metric-months' PIT lies in the central ``level`` interval (the actual fell
    inside the forecast's range), and out of how many with a PIT.

    Examples
    --------
    >>> held([{"pit": 0.5}, {"pit": 0.95}, {"pit": None}], 0.8)
    (1, 2)
    """
    pits = _finite_pits(entries)
    return int(np.sum(np.abs(pits - 0.5) <= level / 2)), int(pits.size)


def _coverage(entries: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    out = {}
    for L in LEVELS:
        k, n = held(entries, L)
        out[f"{round(L * 100)}"] = k / n if n else math.nan
    return out


def summarize(entries: Sequence[Mapping[str, Any]]) -> tuple[dict, dict, dict, dict]:
    """Coverage of the central intervals over the metric-months, and per metric the mean
    CRPS, the naive baseline's mean CRPS and the skill ``1 - crps / baseline``."""
    crps: dict[str, float] = {}
    base: dict[str, float] = {}
    skill: dict[str, float] = {}
    for m in dict.fromkeys(e["metric"] for e in entries):
        c = [e["crps"] for e in entries if e["metric"] == m and np.isfinite(e["crps"])]
        b = [e["baseline_crps"] for e in entries if e["metric"] == m
             and np.isfinite(e["baseline_crps"])]
        crps[m] = float(np.mean(c)) if c else math.nan
        base[m] = float(np.mean(b)) if b else math.nan
        skill[m] = 1.0 - crps[m] / base[m] if base[m] and np.isfinite(base[m]) else math.nan
    return _coverage(entries), crps, base, skill


def scores(entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The JSON summary of metric-months: ``coverage`` (pooled over metrics),
    ``coverage_by_metric``, ``crps``, ``baseline_crps``, ``crps_skill`` and ``n``."""
    cov, crps, base, skill = summarize(entries)
    by_metric = {m: _coverage([e for e in entries if e["metric"] == m]) for m in crps}
    return {"coverage": cov, "coverage_by_metric": by_metric, "crps": crps,
            "baseline_crps": base, "crps_skill": skill, "n": len(entries)}


def scores_by_step(entries: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """:func:`scores` of the metric-months of each horizon step (months after the cutoff),
    keyed ``"1"``, ``"2"``, ... in order."""
    steps = sorted({int(e["step"]) for e in entries})
    return {str(s): scores([e for e in entries if e["step"] == s]) for s in steps}
