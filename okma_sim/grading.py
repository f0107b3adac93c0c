"""OKR grading: each key result's 0-to-1 score, linear from its ``baseline`` to its target and
capped at 1 (the way Google grades OKRs), and a label from its probability of being met."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["scores", "grade", "label"]


def scores(values: np.ndarray, baseline: float, target: float) -> np.ndarray:
    """Per-path score: 0 at (or short of) the baseline, 1 at (or past) the target.

    Works for ``<=`` key results too (target below baseline). NaN values score 0.

    Examples
    --------
    >>> scores(np.array([7.0, 8.5, 10.0, 12.0]), baseline=7, target=10)
    array([0. , 0.5, 1. , 1. ])
    """
    v = np.asarray(values, dtype=float)
    if target == baseline:
        return np.where(np.nan_to_num(v, nan=-np.inf) >= target, 1.0, 0.0)
    s = (v - baseline) / (target - baseline)
    return np.clip(np.nan_to_num(s, nan=0.0), 0.0, 1.0)


def label(probability: float, committed: float = 0.9, stretch: float = 0.3) -> str:
    """``committed`` (P >= committed), ``stretch`` (stretch <= P < committed) or
    ``unrealistic``.

    Examples
    --------
    >>> label(0.95), label(0.5), label(0.1)
    ('committed', 'stretch', 'unrealistic')
    """
    if probability >= committed:
        return "committed"
    if probability >= stretch:
        return "stretch"
    return "unrealistic"


def grade(result, *, committed: float | None = None, stretch: float | None = None
          ) -> pd.DataFrame:
    """Grading table for the key results that have a ``baseline``.

    Columns: id, baseline, target, expected_score (with its standard error), score_p10,
    score_p50, score_p90, probability, stderr, label.
    """
    g = result.plan.grading
    committed = g.committed if committed is None else committed
    stretch = g.stretch if stretch is None else stretch
    rows = []
    for k in result.plan.key_results:
        if k.baseline is None:
            continue
        s = scores(result.values[k.id], k.baseline, k.target)
        e = result.probability(k.id)
        q10, q50, q90 = np.quantile(s, [0.1, 0.5, 0.9])
        rows.append({"id": k.id, "baseline": k.baseline, "target": k.target,
                     "expected_score": float(s.mean()),
                     "expected_score_stderr": float(s.std(ddof=1) / np.sqrt(s.size)),
                     "score_p10": float(q10), "score_p50": float(q50), "score_p90": float(q90),
                     "probability": e.probability, "stderr": e.stderr,
                     "label": label(e.probability, committed, stretch)})
    return pd.DataFrame(rows, columns=["id", "baseline", "target", "expected_score",
                                       "expected_score_stderr", "score_p10", "score_p50",
                                       "score_p90", "probability", "stderr", "label"])
