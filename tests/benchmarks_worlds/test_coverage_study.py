"""The coverage study of benchmarks/worlds/study.py, small and fast.

1. **The scoring is exact on a forecast that is the truth.** A world's own forward runs,
   drawn twice independently (2,000 as the "forecast", 400 as the truth), must score the
   nominal coverage of the 50% and 80% intervals of growth and of the monthly new customers
   (discrete: scored by the expected randomised PIT) within 4 SE, and P(growth >= g) must
   agree at the truth's percentiles within 4 SE.

2. **A small study of the model** (configuration ``steady``, ``SEEDS`` seeds, small paths).
   Bounds from the binomial SE of the number of seeds: a seed's coverage c_s is a share in
   [0, 1]; under a calibrated forecast its mean over seeds is the nominal p, and a variable in
   [0, 1] with mean p has variance at most p (1 - p) (the Bernoulli case). The mean of
   ``SEEDS`` independent seeds therefore has SE at most sqrt(p (1 - p) / SEEDS), and the test
   asks the mean coverage to lie within 4 of those SEs of p: for 16 seeds, 0.8 +- 0.40 and
   0.5 +- 0.50. The forecast paths and forward runs add their own noise, which the binomial
   bound covers (it is the worst case of the spread across seeds). The bound is loose (16
   seeds, to stay fast), but the 80% checks fail where a forecast misses most of the world's
   outcomes (a coverage under 0.40); the full study (benchmarks/worlds/RESULTS.md) measures
   the coverages to about 0.03.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

WORLDS = Path(__file__).resolve().parents[2] / "benchmarks" / "worlds"
Z = 4.0
SEEDS = 16


def _load(name: str):
    if name in sys.modules and Path(sys.modules[name].__file__).parent == WORLDS:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, WORLDS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


g = _load("generator")
study = _load("study")


def test_a_forecast_that_is_the_truth_scores_the_nominal_coverage():
    w = g.draw_world("seasonal-heavy", 2)
    rows, end = w.history(24)
    levels = np.array([w.params.pv_ref, w.params.cv_ref, w.params.th_ref]) * 1.25
    fc = w.forward(end, levels, 12, 2000)
    truth = w.forward(end, levels, 12, 400)
    base = fc["revenue"][:, :12].sum(1).mean()
    gf, gw = fc["revenue"].sum(1) / base, truth["revenue"].sum(1) / base
    for lv in (0.5, 0.8):
        # the truth's 400 runs and the forecast's 2,000 (its interval ends) both add noise
        se = math.sqrt(lv * (1 - lv) * (1 / 400 + 1 / 2000))
        assert abs(study.interval_coverage(gf, gw, lv).mean() - lv) < Z * se, lv
        cov = [study.interval_coverage(fc["new_customers"][:, j], truth["new_customers"][:, j],
                                       lv) for j in range(12)]
        # 12 months of the same runs: SE at most the one-month SE
        assert abs(np.mean(cov) - lv) < Z * se, (lv, np.mean(cov))
    for q in np.percentile(gw, study.PERCENTILES):
        pf, pw = (gf >= q).mean(), (gw >= q).mean()
        assert abs(pf - pw) < Z * math.sqrt(pw * (1 - pw) / 400 + pf * (1 - pf) / 2000)


def test_interval_coverage_scores_a_tie_by_its_share_of_the_step():
    fc = np.array([0.0] * 10 + [1.0] * 80 + [2.0] * 10)  # F(0) = 0.1, F(1) = 0.9
    np.testing.assert_allclose(study.interval_coverage(fc, np.array([0.0, 1.0, 2.0]), 0.8),
                               [0.0, 1.0, 0.0], atol=1e-12)
    # the 50% interval [0.25, 0.75] holds half of the step of 1, [0.1, 0.9]
    assert study.interval_coverage(fc, np.array([1.0]), 0.5)[0] == pytest.approx(0.5 / 0.8)


@pytest.fixture(scope="module")
def small_study(tmp_path_factory):
    d = tmp_path_factory.mktemp("worlds")
    rows = [study.run_seed("steady", s, paths=400, forward_runs=100, discrepancy=True,
                           workdir=d) for s in range(SEEDS)]
    return study.summarise(rows)


def _bound(p: float) -> float:
    return Z * math.sqrt(p * (1 - p) / SEEDS)


@pytest.mark.parametrize("what", ["growth", "new"])
@pytest.mark.parametrize("level", [0.5, 0.8])
def test_small_study_coverage_within_the_binomial_bound(small_study, what, level):
    got = small_study[f"{what}{int(level * 100)}"][0]
    assert small_study["n"] == SEEDS
    assert abs(got - level) <= _bound(level), (what, level, got, _bound(level))
