"""Adaptive stopping: the reported 95% interval covers the true P at the stated rate, the result
is exactly the plain run it reports, and the max-paths cap is honoured."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import okma_sim
from okma_sim.engine import half_width
from okma_sim.params import Distribution
from okma_sim.plan import Objective, Plan

M = 12
TARGET = 1.2
# score mean over 12 months ~ Normal(effort + 0, sqrt(0.2^2 + 0.5^2 + 1/12)) at effort 1
SIGMA = math.sqrt(0.04 + 0.25 + 1 / M)
P_TRUE = float(stats.norm.sf((TARGET - 1.0) / SIGMA))


def toy_plan() -> Plan:
    return Plan("toy", "2027-01", M, model="linear_toy",
                objectives=(Objective("s", "score", TARGET, aggregate="mean"),),
                actions={"effort": 1.0},
                parameters={"noise": Distribution("fixed", {"value": 1.0})})


def test_true_probability_of_the_toy():
    # the closed form used below, checked against a long run (4 SE)
    res = okma_sim.simulate(toy_plan(), 40_000, seed=99, progress=False)
    e = res.all_met()
    assert abs(e.probability - P_TRUE) < 4 * e.stderr


@pytest.mark.slow  # ~20 s with Sobol': 400 adaptive runs
@pytest.mark.parametrize("sampler,first", [("mc", 100), ("lhs", 100), ("sobol", 100)])
def test_adaptive_interval_coverage(sampler, first):
    # 400 seeds: the share of reported 95% intervals that cover P must lie within 4 binomial
    # SE (0.044) of 0.95. Both edges can fail: below for intervals too narrow (optional
    # stopping), above (0.994 < 1) for intervals 1.5 times too wide (coverage 0.997)
    seeds = 400
    tol = 0.05
    plan = toy_plan()
    covered, paths = 0, []
    for s in range(seeds):
        res = okma_sim.simulate(plan, first, seed=1000 + s, sampler=sampler, tolerance=tol)
        ad = res.extra["adaptive"]
        assert ad["converged"] and ad["half_width"] <= tol
        lo, hi = ad["interval"]
        covered += lo <= P_TRUE <= hi
        paths.append(res.n_paths)
    rate = covered / seeds
    assert abs(rate - 0.95) <= 4 * math.sqrt(0.95 * 0.05 / seeds), (rate, np.mean(paths))
    # the run grew past the pilot
    assert np.mean(paths) > first


@pytest.mark.parametrize("sampler", ["mc", "lhs", "sobol"])
def test_adaptive_result_is_the_plain_run_it_reports(sampler):
    plan = toy_plan()
    res = okma_sim.simulate(plan, 200, seed=4, sampler=sampler, tolerance=0.03)
    ad = res.extra["adaptive"]
    assert res.n_paths == ad["stages"][-1] and len(ad["stages"]) >= 2
    assert ad["paths_simulated"] == sum(ad["stages"])
    again = okma_sim.simulate(plan, res.n_paths, seed=4, sampler=sampler,
                              replicates=ad["replicates"], progress=False)
    np.testing.assert_array_equal(res.values["s"], again.values["s"])
    assert res.all_met() == again.all_met()
    p, se, h = half_width(again.all_met_flags(), again.replicate_index)
    assert math.isclose(h, ad["half_width"]) and h <= 0.03
    if sampler != "mc":
        # whole replicates of a fixed size (a power of 2 for Sobol')
        assert res.n_paths == ad["replicates"] * ad["replicate_size"]
        assert np.bincount(res.replicate_index).min() == ad["replicate_size"]
        if sampler == "sobol":
            assert ad["replicate_size"] & (ad["replicate_size"] - 1) == 0


def test_max_paths_caps_the_run_with_a_warning():
    res = okma_sim.simulate(toy_plan(), 100, seed=1, tolerance=0.005, max_paths=700)
    ad = res.extra["adaptive"]
    assert res.n_paths == 700 and not ad["converged"] and ad["half_width"] > 0.005
    assert any("max_paths" in w for w in res.warnings)


@pytest.mark.parametrize("bad", [0, 0.0005, -0.1, 0.6, float("nan"), True])
def test_bad_tolerance(bad):
    with pytest.raises(okma_sim.OkmaError) as info:
        okma_sim.simulate(toy_plan(), 100, seed=1, tolerance=bad)
    assert info.value.key == "tolerance"


def test_half_width_never_zero_at_the_edges():
    # all paths fail: the binomial SE is 0, but the stopping half-width is the Agresti-Coull
    # one, about 2.7 / n, so a run cannot stop after a lucky pilot
    p, se, h = half_width(np.zeros(1000, bool))
    assert p == 0 and se == 0 and 2.0 / 1000 < h < 4.0 / 1000
    p, se, h = half_width(np.zeros(1000, bool), np.repeat(np.arange(10), 100))
    assert h > 0
    # MC: the normal half-width with the Agresti-Coull centre
    f = np.r_[np.ones(300), np.zeros(700)].astype(bool)
    z = stats.norm.ppf(0.975)
    pt = (300 + z * z / 2) / (1000 + z * z)
    assert math.isclose(half_width(f)[2], z * math.sqrt(pt * (1 - pt) / (1000 + z * z)))
    # replicates: Student's t with R - 1 degrees of freedom times the replicate SE
    rep = np.repeat(np.arange(10), 100)
    p, se, h = half_width(f, rep)
    assert math.isclose(h, stats.t.ppf(0.975, 9) * se)


@pytest.mark.parametrize("name,value", [("record_reps", True), ("initial_state", object()),
                                        ("observed", {"score": [1.0]}),
                                        ("parameter_values", {"noise": np.ones(100)})])
def test_tolerance_refuses_fixed_size_options(name, value):
    # a stage has its own number of paths: per-path inputs and rep records cannot follow it
    with pytest.raises(okma_sim.OkmaError) as info:
        okma_sim.simulate(toy_plan(), 100, seed=1, tolerance=0.05, **{name: value})
    assert info.value.key == name and "tolerance" in str(info.value)


def test_tolerance_keeps_the_chunk_size():
    # chunk_size never changes results, so adaptive stages use it too: one block per unit of
    # work here, where the default would put up to 4 blocks in one
    from concurrent.futures import ThreadPoolExecutor

    blocks_per_chunk: list[int] = []

    class Recording(ThreadPoolExecutor):
        def submit(self, fn, spec, chunk, *args):
            blocks_per_chunk.append(len(chunk))
            return super().submit(fn, spec, chunk, *args)

    plan = toy_plan()
    with Recording(max_workers=2) as ex:
        res = okma_sim.simulate(plan, 100, seed=4, tolerance=0.01, executor=ex,
                                chunk_size=okma_sim.BLOCK_SIZE)
    assert res.n_paths > 2 * okma_sim.BLOCK_SIZE and max(blocks_per_chunk) == 1
    plain = okma_sim.simulate(plan, 100, seed=4, tolerance=0.01)
    np.testing.assert_array_equal(res.values["s"], plain.values["s"])


@pytest.mark.parametrize("sampler", ["lhs", "sobol"])
def test_max_paths_below_the_smallest_design_is_refused(sampler):
    # a replicated design needs 2 replicates of 2 paths: a cap of 3 cannot be honoured
    with pytest.raises(okma_sim.OkmaError) as info:
        okma_sim.simulate(toy_plan(), 1, seed=1, sampler=sampler, tolerance=0.5, max_paths=3)
    assert info.value.key == "max_paths" and sampler in str(info.value)
    res = okma_sim.simulate(toy_plan(), 1, seed=1, sampler=sampler, tolerance=0.5, max_paths=4)
    assert res.n_paths == 4
