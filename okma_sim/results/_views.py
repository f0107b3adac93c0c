"""One-result views: achievable targets and achievability curves read off one simulation."""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import pandas as pd

import dataclasses

from okma_sim._core.errors import OkmaError
from okma_sim.plan import KeyResult

__all__ = ["achievable_target", "achievable_targets", "achievability_curve", "direction",
           "check_confidence"]


def check_confidence(confidence: Any, key: str = "confidence") -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float, np.floating)) \
            or not math.isfinite(confidence) or not 0 < confidence < 1:
        raise OkmaError("must lie strictly between 0 and 1", key=key, value=confidence)
    return float(confidence)


# --------------------------------------------------------------------------------------------
# achievable targets
# --------------------------------------------------------------------------------------------
def achievable_target(result, id: str, confidence: float) -> float:
    """The most ambitious target met with probability at least ``confidence``.

    For a ``>=`` objective or key result this is the largest t with P̂(X >= t) >= C, where X is
    its aggregated metric on each path and P̂ the share of paths (weighted, if the result is
    reweighted); for ``<=`` the smallest t with P̂(X <= t) >= C (a ``share_of_months`` target
    is a share to reach, so ``>=``, whatever its monthly comparison). A path whose X is NaN (a
    metric with no data) never meets any target. It is an order statistic of X: for ``>=`` and
    unweighted paths, ``np.quantile(X, 1 - C, method="inverted_cdf")`` whenever ``(1 - C) n`` is
    not a whole number. NaN when fewer than a share C of the paths have a value.

    Parameters
    ----------
    result : SimulationResult
    id : str
        An objective's or key result's id.
    confidence : float
        C, strictly between 0 and 1.

    Examples
    --------
    >>> import okma_sim
    >>> res = okma_sim.simulate(okma_sim.load_plan(okma_sim.case_study_path()), 2000, seed=1)
    >>> t = achievable_target(res, "revenue", 0.8)
    >>> bool((res.values["revenue"] >= t).mean() >= 0.8)
    True
    """
    c = check_confidence(confidence)
    t = result.plan.target(id)
    x = np.asarray(result.values[id], dtype=float)
    w = np.ones(x.size) if result.weights is None else np.asarray(result.weights, dtype=float)
    total = w.sum()
    ok = ~np.isnan(x)
    x, w = x[ok], w[ok]
    order = np.argsort(-x if direction(t) == ">=" else x, kind="stable")
    cum = np.cumsum(w[order]) / total
    # the first order statistic whose tail share reaches C (a relative slack absorbs rounding)
    i = int(np.searchsorted(cum, c * (1 - 1e-12), side="left"))
    if i >= x.size:
        return math.nan
    return float(x[order][i])


def achievable_targets(result, confidence: float) -> pd.DataFrame:
    """For every objective and key result: its current target with P(met) and standard error,
    and the target achievable at ``confidence`` (see :func:`achievable_target`), with the
    probability of meeting that target.

    Columns: id, kind, objective (key results), metric, aggregate, comparison, target,
    probability, stderr, achievable_target, achievable_probability, achievable_stderr.

    Examples
    --------
    >>> import okma_sim
    >>> res = okma_sim.simulate(okma_sim.load_plan(okma_sim.case_study_path()), 2000, seed=1)
    >>> tab = achievable_targets(res, 0.8)
    >>> bool((tab["achievable_probability"] >= 0.8).all())
    True
    """
    c = check_confidence(confidence)
    rows = []
    for t in result.plan.targets:
        e = result.probability(t.id)
        a = achievable_target(result, t.id, c)
        if math.isnan(a):
            ea_p, ea_se = math.nan, math.nan
        else:
            ea = result._est(_met(t, result.values[t.id], a))
            ea_p, ea_se = ea.probability, ea.stderr
        is_kr = isinstance(t, KeyResult)
        rows.append({"id": t.id, "kind": "key_result" if is_kr else "objective",
                     "objective": (t.objective[0] if len(t.objective) == 1 else list(t.objective))
                     if is_kr else None,
                     "metric": t.metric, "aggregate": t.aggregate, "comparison": t.comparison,
                     "target": t.target, "probability": e.probability, "stderr": e.stderr,
                     "achievable_target": a, "achievable_probability": ea_p,
                     "achievable_stderr": ea_se})
    return pd.DataFrame(rows)


def direction(t) -> str:
    """How the aggregated value is compared with the target: a ``share_of_months`` target is
    a share that must be reached (its ``comparison`` applies to each month's threshold)."""
    return ">=" if t.aggregate == "share_of_months" else t.comparison


def _met(t, values: np.ndarray, target: float) -> np.ndarray:
    """Whether ``values`` meet ``target`` the way ``t`` meets its own (NaN never does)."""
    return dataclasses.replace(t, target=float(target)).met(values)


def achievability_curve(result, id: str, targets: Sequence[float] | None = None,
                        n_points: int = 41) -> pd.DataFrame:
    """Target level against the probability of meeting it, with its standard error.

    Parameters
    ----------
    result : SimulationResult
    id : str
        An objective's or key result's id.
    targets : sequence of float, optional
        Target levels (default: ``n_points`` quantiles of the aggregated metric from 1% to 99%,
        plus the current target; duplicates dropped).
    n_points : int

    Returns
    -------
    DataFrame
        Columns id, target, probability, stderr (binomial, replicate-based or weighted, as for
        every probability of the result), sorted by target; ``current`` marks the current
        target's row.

    Examples
    --------
    >>> import okma_sim
    >>> res = okma_sim.simulate(okma_sim.load_plan(okma_sim.case_study_path()), 1000, seed=1)
    >>> cur = achievability_curve(res, "revenue")
    >>> bool(cur["probability"].is_monotonic_decreasing)
    True
    """
    t = result.plan.target(id)
    x = np.asarray(result.values[id], dtype=float)
    if targets is None:
        fin = x[~np.isnan(x)]
        grid = np.quantile(fin, np.linspace(0.01, 0.99, int(n_points))) if fin.size else []
        levels = np.unique(np.r_[grid, t.target])
    else:
        levels = np.unique(np.asarray(list(targets), dtype=float))
    rows = []
    for lv in levels:
        e = result._est(_met(t, x, lv))
        rows.append({"id": id, "target": float(lv), "probability": e.probability,
                     "stderr": e.stderr, "current": bool(lv == t.target)})
    return pd.DataFrame(rows, columns=["id", "target", "probability", "stderr", "current"])
