"""What can I change: each lever low to high under one seed, against the closed form of the
linear test model, its paired standard error against the unpaired one, the costs against
analysis/_costs at each end; and Sobol' indices shown as estimated."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import okma_sim
from okma_sim._core.errors import OkmaError
from okma_sim.analysis import (SensitivityResult, SobolIndices, action_cost, lever_effects,
                               tornado)
from okma_sim.params import Distribution
from okma_sim.plan import Lever, Objective, Plan
from okma_sim.results import Estimate

Z = 4.0
M = 12


def toy_plan(low=1.0, high=1.3) -> Plan:
    return Plan("toy", "2027-01", M, model="linear_toy",
                objectives=(Objective("s", "score", 1.2, aggregate="mean"),),
                actions={"effort": 1.1}, parameters={"noise": Distribution("fixed",
                                                                           {"value": 1.0})},
                levers={"effort": Lever(low, high, unit_cost=100.0)})


def p_exact(effort: float, target: float = 1.2) -> float:
    # mean score over M months = gain * effort + bias + Zbar, gain ~ N(1, 0.2),
    # bias ~ N(0, 0.5), Zbar ~ N(0, 1 / M), independent
    sd = math.sqrt(0.04 * effort ** 2 + 0.25 + 1 / M)
    return float(stats.norm.sf((target - effort) / sd))


def test_a_lever_moves_the_chance_as_the_closed_form_says_with_a_paired_se():
    le = lever_effects(toy_plan(), n_paths=6000, seed=4, progress=False)
    r = le.table().iloc[0]
    assert r["lever"] == "effort" and (r["low"], r["high"]) == (1.0, 1.3)
    for end, effort in (("low", 1.0), ("high", 1.3)):
        assert abs(r[f"p_{end}"] - p_exact(effort)) < Z * r[f"stderr_{end}"]
        # one objective: P(it) is P(all)
        assert r[f"p_{end}:s"] == r[f"p_{end}"]
    # a monotone lever moves P the right way, well beyond its paired SE
    assert r["swing"] > Z * r["swing_stderr"]
    assert r["swing:s"] == pytest.approx(r["swing"])
    # the pairing (one seed for both ends): more effort never loses a run its target (gain > 0
    # on every path but a 1e-7 share), so the per-run differences are 0 or 1 and the paired SE
    # is sqrt(swing (1 - swing) / n), well below two independent runs' SE
    unpaired = math.hypot(r["stderr_low"], r["stderr_high"])
    n = le.n_paths
    assert r["swing_stderr"] == pytest.approx(math.sqrt(r["swing"] * (1 - r["swing"]) / (n - 1)),
                                              rel=1e-3)
    # paired against unpaired: sqrt(s (1 - s)) / sqrt(pL (1 - pL) + pH (1 - pH)), with both
    # ends' run-to-run variances
    s, lo, hi = r["swing"], r["p_low"], r["p_high"]
    ratio = math.sqrt(s * (1 - s)) / math.sqrt(lo * (1 - lo) + hi * (1 - hi))
    assert r["swing_stderr"] / unpaired == pytest.approx(ratio, rel=1e-3) and ratio < 1
    # costs: level x unit_cost (no hours on this model), as analysis/_costs counts them
    assert r["cost_low"] == action_cost(toy_plan().with_actions(effort=1.0))["total"] == 100.0
    assert r["cost_high"] == pytest.approx(130.0)
    assert le.base_cost == pytest.approx(110.0)


def test_the_swing_is_the_tornado_s_arithmetic_on_the_same_runs():
    # the paired difference of the all-met flags: recomputed from two runs with the same seed
    plan = toy_plan()
    le = lever_effects(plan, n_paths=1000, seed=9, progress=False)
    r = le.table().iloc[0]
    lo = okma_sim.simulate(plan.with_actions(effort=1.0), 1000, seed=9, progress=False)
    hi = okma_sim.simulate(plan.with_actions(effort=1.3), 1000, seed=9, progress=False)
    d = hi.all_met_flags().astype(float) - lo.all_met_flags()
    assert r["swing"] == pytest.approx(d.mean())
    assert r["swing_stderr"] == pytest.approx(d.std(ddof=1) / math.sqrt(d.size))
    assert r["median_high:s"] == pytest.approx(np.median(hi.values["s"]))
    # the JSON entry carries the tornado's keys, plus the costs and the objectives
    entry = le.to_dict()[0]
    torn = tornado(plan, 200, seed=1).to_dict(orient="records")
    keys = set(torn[0]) - {c for c in torn[0] if c.startswith("median_")} | {"median"}
    assert set(entry) == keys | {"lever", "cost_low", "cost_high", "objectives"}
    assert entry["parameter"] == entry["lever"] == "effort"
    assert set(entry["objectives"]["s"]) == {"p_low", "p_high", "stderr_low", "stderr_high",
                                             "swing", "swing_stderr"}


@pytest.fixture(scope="module")
def case_levers():
    plan = okma_sim.load_plan(okma_sim.case_study_path())
    le = lever_effects(plan, levers=["new_reps", "training_hours_per_month"], n_paths=600,
                       seed=2, progress=False)
    return plan, le


def test_case_study_levers_move_their_objectives_and_cost_what_costs_say(case_levers):
    plan, le = case_levers
    t = le.table().set_index("lever")
    # six more reps: more revenue; more training: higher CSAT (docs/model.md), each beyond
    # four paired standard errors
    reps, train = t.loc["new_reps"], t.loc["training_hours_per_month"]
    assert reps["swing:revenue"] > Z * reps["swing_stderr:revenue"]
    assert train["swing:csat"] > Z * train["swing_stderr:csat"]
    for name in ("new_reps", "training_hours_per_month"):
        r = t.loc[name]
        assert r["swing_stderr"] < math.hypot(r["stderr_low"], r["stderr_high"])
        # the cost at each end is action_cost of that plan and its run (executed units, hours)
        for end in ("low", "high"):
            p_end = plan.with_actions(**{name: r[end]})
            run = okma_sim.simulate(p_end, 600, seed=2, progress=False,
                                    keep_monthly=["training_hours"])
            assert r[f"cost_{end}"] == action_cost(p_end, run)["total"]
            assert r[f"p_{end}"] == run.all_met().probability
    assert t.loc["new_reps", "cost_high"] > t.loc["new_reps", "cost_low"]


def test_the_text_reads_in_percent_and_currency_a_year(case_levers):
    plan, le = case_levers
    text = le.text()
    r = le.table().set_index("lever").loc["new_reps"]
    assert f"{r['p_high:revenue']:.1%}" in text
    # the horizon is 12 months: a year's cost is the horizon's, in millions to two decimals
    assert f"{r['cost_high'] / 1e6:.2f}".rstrip("0").rstrip(".") + " M CNY" in text
    assert f"{100 * r['swing']:+.1f} ± {100 * r['swing_stderr']:.1f} points" in text
    assert "cost a year" in text and "simulated runs" in text and "paths" not in text


def test_every_lever_by_default_and_unknown_levers_refused():
    plan = okma_sim.load_plan(okma_sim.case_study_path())
    le = lever_effects(plan, n_paths=100, seed=1, progress=False)
    assert set(le.table()["lever"]) == set(plan.levers) and "new_reps" in set(plan.levers)
    with pytest.raises(OkmaError, match="levers.*new_repz"):
        lever_effects(plan, levers=["new_repz"], n_paths=100, seed=1)


def test_sobol_indices_below_zero_are_shown_as_estimated_with_their_interval():
    idx = SobolIndices(objective="s", metric="score", first={"a": -0.05, "b": 0.4},
                       total={"a": 0.01, "b": 0.5}, unexplained=0.2,
                       first_stderr={"a": 0.03, "b": 0.02}, total_stderr={"a": 0.005, "b": 0.02},
                       unexplained_stderr=0.01, variance=1.0, n=64)
    frame = idx.to_frame().set_index("parameter")
    assert frame.loc["a", "first"] == -0.05
    assert frame.loc["a", "first_low"] == pytest.approx(-0.05 - 1.96 * 0.03)
    assert frame.loc["a", "first_high"] == pytest.approx(-0.05 + 1.96 * 0.03)
    s = SensitivityResult(tornado=pd.DataFrame(), sobol={"s": idx},
                          kr_importance=pd.DataFrame(columns=["objective", "key_result",
                                                              "difference", "stderr"]),
                          base=Estimate(0.5, 0.01), n_paths=100, sobol_n=64, seed=1)
    line = next(x for x in s.table().splitlines() if x.strip().startswith("a "))
    assert "-5.0%" in line and "[-10.9%, 0.9%]" in line  # the shares in %, as estimated
    assert "shown as estimated" in s.table()
