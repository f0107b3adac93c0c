"""Every aggregate of a metric's months against a plain per-path computation, with NaN months
(no data that month), all-NaN paths and both comparisons of share_of_months."""

from __future__ import annotations

import math

import numpy as np
import pytest

from okma_sim.results import aggregate

NAN = math.nan
V = np.array([[1.0, 5.0, 3.0, NAN],
              [NAN, NAN, NAN, NAN],
              [4.0, NAN, 2.0, 2.0],
              [0.8, 0.9, 0.7, 0.8]])


def by_hand(row, how, threshold=None, comparison=">="):
    x = [v for v in row if not math.isnan(v)]
    if not x:
        return NAN
    if how == "share_of_months":
        hit = [v >= threshold if comparison == ">=" else v <= threshold for v in x]
        return sum(hit) / len(x)
    return {"final": x[-1], "mean": sum(x) / len(x), "sum": sum(x), "min": min(x),
            "max": max(x)}[how]


@pytest.mark.parametrize("how", ["final", "mean", "sum", "min", "max"])
def test_aggregates_skip_nan_months(how):
    got = aggregate(V, how)
    want = [by_hand(r, how) for r in V]
    np.testing.assert_allclose(got, want, equal_nan=True)


@pytest.mark.parametrize("comparison", [">=", "<="])
def test_share_of_months(comparison):
    got = aggregate(V, "share_of_months", 0.8, comparison)
    want = [by_hand(r, "share_of_months", 0.8, comparison) for r in V]
    np.testing.assert_allclose(got, want, equal_nan=True)


def test_unknown_aggregate():
    with pytest.raises(ValueError, match="unknown aggregate 'median'"):
        aggregate(V, "median")
