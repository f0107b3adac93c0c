"""OKR grading: each key result's 0-to-1 score, linear from its ``baseline`` to its target and
capped at 1 (the way Google grades OKRs), and a label from its probability of being met."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._estimate import mean_stderr
from ._views import direction

__all__ = ["scores", "grade", "grading_text", "label", "score_distribution"]


def scores(values: np.ndarray, baseline: float, target: float, comparison: str = ">="
           ) -> np.ndarray:
    """Per-path score: 0 at (or short of) the baseline, 1 at (or past) the target.

    Works for ``<=`` key results too (target below baseline). NaN values score 0. When the
    baseline equals the target the score is 1 exactly when the target is met (``comparison``).

    Examples
    --------
    >>> scores(np.array([7.0, 8.5, 10.0, 12.0]), baseline=7, target=10)
    array([0. , 0.5, 1. , 1. ])
    """
    v = np.asarray(values, dtype=float)
    if target == baseline:
        with np.errstate(invalid="ignore"):
            met = v >= target if comparison == ">=" else v <= target
        return np.where(met, 1.0, 0.0)  # NaN compares False: score 0
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


def score_distribution(result, id: str, bins: int = 10) -> pd.DataFrame:
    """The distribution of a key result's 0-to-1 score: the share of paths in each of ``bins``
    equal bins of [0, 1], plus a bin for exactly 0 and one for exactly 1 (capped scores pile
    up there). Columns: low, high, share.

    Examples
    --------
    >>> import okma_sim
    >>> res = okma_sim.simulate(okma_sim.load_plan(okma_sim.case_study_path()), 500, seed=1)
    >>> d = score_distribution(res, "new_customers")
    >>> round(float(d["share"].sum()), 6)
    1.0
    """
    k = result.plan.target(id)
    if getattr(k, "baseline", None) is None:
        raise KeyError(f"key result {id!r} has no baseline, so it has no score")
    s = scores(result.values[id], k.baseline, k.target, direction(k))
    w = np.ones_like(s) if result.weights is None else np.asarray(result.weights, float)
    w = w / w.sum()
    edges = np.linspace(0.0, 1.0, bins + 1)
    inner = (s > 0) & (s < 1)
    hist, _ = np.histogram(s[inner], bins=edges, weights=w[inner])
    rows = [{"low": 0.0, "high": 0.0, "share": float(w[s <= 0].sum())}]
    rows += [{"low": float(a), "high": float(b), "share": float(h)}
             for a, b, h in zip(edges[:-1], edges[1:], hist)]
    rows.append({"low": 1.0, "high": 1.0, "share": float(w[s >= 1].sum())})
    return pd.DataFrame(rows, columns=["low", "high", "share"])


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
        s = scores(result.values[k.id], k.baseline, k.target, direction(k))
        e = result.probability(k.id)
        mean, se = mean_stderr(s, result.replicate_index, result.weights)
        if result.weights is None:
            q10, q50, q90 = np.quantile(s, [0.1, 0.5, 0.9])
        else:  # weighted quantiles (a review's reweighted paths)
            q10, q50, q90 = np.quantile(s, [0.1, 0.5, 0.9], method="inverted_cdf",
                                        weights=np.asarray(result.weights, float))
        rows.append({"id": k.id, "baseline": k.baseline, "target": k.target,
                     "expected_score": mean, "expected_score_stderr": se,
                     "score_p10": float(q10), "score_p50": float(q50), "score_p90": float(q90),
                     "probability": e.probability, "stderr": e.stderr,
                     "label": label(e.probability, committed, stretch)})
    return pd.DataFrame(rows, columns=["id", "baseline", "target", "expected_score",
                                       "expected_score_stderr", "score_p10", "score_p50",
                                       "score_p90", "probability", "stderr", "label"])


#: what each label means, for people
_LABELS = {"committed": "a committed goal (met in at least {c} of the simulated runs)",
           "stretch": "a stretch goal (met in {s} to {c} of the simulated runs)",
           "unrealistic": "unrealistic as planned (met in under {s} of the simulated runs)"}


def grading_text(result, graded: pd.DataFrame | None = None) -> str:
    """The grading as sentences, one per key result with a baseline ("" when none has one).

    Each says how far from its baseline towards its target the key result is expected to get
    (the OKR score in %, with its Monte Carlo standard error), the middle 80% of the runs, the
    chance of full marks and the label in words.

    Examples
    --------
    >>> import okma_sim
    >>> res = okma_sim.simulate(okma_sim.load_plan(okma_sim.case_study_path()), 500, seed=1)
    >>> print(grading_text(res).splitlines()[0])
    Grading (the OKR score: 0% at the baseline, 100% at the target):
    """
    from okma_sim._core.formatting import format_chance, format_percent

    from ._plain import target_name, value_text
    g = grade(result) if graded is None else graded
    if g.empty:
        return ""
    plan = result.plan
    words = {k: v.format(c=format_percent(plan.grading.committed),
                         s=format_percent(plan.grading.stretch)) for k, v in _LABELS.items()}
    lines = ["Grading (the OKR score: 0% at the baseline, 100% at the target):"]
    for _, r in g.iterrows():
        k = plan.target(r["id"])
        lines.append(
            f"  {target_name(k, plan)} (from {value_text(k, r['baseline'], plan)} to "
            f"{value_text(k, r['target'], plan)}): expected to get "
            f"{format_percent(r['expected_score'])} of the way "
            f"(± {format_percent(r['expected_score_stderr'], digits=1)}), 8 in 10 simulated "
            f"runs between {format_percent(r['score_p10'])} and "
            f"{format_percent(r['score_p90'])}; full marks: "
            f"{format_chance(r['probability'], r['stderr'])}; {words[r['label']]}")
    return "\n".join(lines)
