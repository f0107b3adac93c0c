"""Edges of the estimates: the normal interval of an Estimate is p -/+ z SE with z from
scipy, no paths give NaN with a NaN standard error, and the achievable target when
(1 - C) n is a whole number is still the most ambitious one met by a share C of the paths."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import okma_sim
from okma_sim.results import Estimate, achievable_target, estimate

from test_targets import toy_plan


@pytest.mark.parametrize("level", [0.8, 0.9, 0.95, 0.99])
def test_interval_is_p_plus_minus_z_stderr(level):
    """Estimate.interval(level) = p -/+ z_{(1+level)/2} SE, clipped to [0, 1]."""
    z = stats.norm.ppf((1 + level) / 2)
    lo, hi = Estimate(0.5, 0.05, 100).interval(level)
    assert lo == pytest.approx(0.5 - z * 0.05, rel=1e-12)
    assert hi == pytest.approx(0.5 + z * 0.05, rel=1e-12)
    lo, hi = Estimate(0.02, 0.05, 100).interval(level)
    assert lo == 0.0 and hi == pytest.approx(0.02 + z * 0.05, rel=1e-12)


def test_no_paths_give_nan_with_nan_stderr():
    """estimate of no flags: the chance and its standard error are both unknown, n = 0."""
    e = estimate(np.array([], dtype=bool))
    assert math.isnan(e.probability) and math.isnan(e.stderr) and e.n == 0


@pytest.mark.parametrize("c", [0.5, 0.8, 0.9])
def test_achievable_target_when_the_tail_count_is_whole(c):
    """With n = 1000 and C n a whole number, the target t is met by at least C of the paths
    and exceeded by fewer than C of them (the rounding slack must not skip a path)."""
    res = okma_sim.simulate(toy_plan(), 1000, seed=8, progress=False)
    x = res.values["s"]
    assert np.unique(x).size == x.size  # no ties: the order statistic is unique
    t = achievable_target(res, "s", c)
    assert (x >= t).mean() >= c and (x > t).mean() < c
    assert t == np.sort(x)[::-1][round(c * 1000) - 1]
