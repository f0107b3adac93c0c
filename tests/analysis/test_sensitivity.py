"""Sensitivity: tornado swings, Sobol' indices against a known variance decomposition, and KR
importance against an independent long run."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import stats

import okma_sim
from okma_sim.params import Distribution
from okma_sim.plan import KeyResult, Objective, Plan
from okma_sim.analysis import kr_importance, sensitivity, sobol, tornado, uncertain_parameters

Z = 4.0
M = 12
Z90 = stats.norm.ppf(0.9)


def toy_plan(effort=1.0, noise=None, target=1.2) -> Plan:
    noise = Distribution("fixed", {"value": 1.0}) if noise is None else noise
    return Plan("toy", "2027-01", M, model="linear_toy",
                objectives=(Objective("s", "score", target, aggregate="mean"),),
                key_results=(KeyResult("h", "hit", 0.6, aggregate="mean", objective=("s",)),
                             KeyResult("m", "score", -0.8, aggregate="min",
                                       objective=("s",))),
                actions={"effort": effort}, parameters={"noise": noise})


# -- Sobol' ---------------------------------------------------------------------------------
def test_sobol_recovers_the_known_decomposition():
    # Y = gain * 2 + bias + noise * Zbar, Zbar ~ N(0, 1/12) per path (monthly randomness),
    # gain ~ N(1, 0.2), bias ~ N(0, 0.5), noise ~ U(0.5, 1.5), independent:
    #   Var(Y) = 0.16 + 0.25 + E[noise^2] / 12,
    #   first(gain) = 0.16 / V, first(bias) = 0.25 / V, first(noise) = 0 (E[Y | noise] const),
    #   totals equal firsts for gain and bias; total(noise) = Var(noise) / 12 / V (its
    #   interaction with the monthly randomness); unexplained = E[noise^2] / 12 / V.
    plan = toy_plan(effort=2.0, noise=Distribution("uniform", {"low": 0.5, "high": 1.5}))
    e_n2 = 1 / 12 + 1.0
    V = 0.16 + 0.25 + e_n2 / M
    first = {"gain": 0.16 / V, "bias": 0.25 / V, "noise": 0.0}
    total = {"gain": 0.16 / V, "bias": 0.25 / V, "noise": (1 / 12) / M / V}
    unexplained = e_n2 / M / V
    idx = sobol(plan, 4096, seed=5)["s"]
    assert set(idx.first) == {"gain", "bias", "noise"}
    assert abs(idx.variance - V) < 0.05 * V
    for k in first:
        assert abs(idx.first[k] - first[k]) <= Z * idx.first_stderr[k], (k, idx.first[k])
        assert abs(idx.total[k] - total[k]) <= Z * idx.total_stderr[k], (k, idx.total[k])
        assert idx.first_stderr[k] > 0 and idx.total_stderr[k] > 0
    assert abs(idx.unexplained - unexplained) <= Z * idx.unexplained_stderr
    # the unexplained share is not hidden: the first-order indices sum to 0.82 and the
    # unexplained share adds the missing 0.18 (the checks above imply the sum is 1 within
    # 4 x the sum of the SEs; the bootstrap gives no covariances for a tighter bound)


def test_sobol_rejects_bad_n_and_parameters():
    with pytest.raises(okma_sim.OkmaError) as info:
        sobol(toy_plan(), 100, seed=1)
    assert info.value.key == "sobol_n" and info.value.value == 100
    with pytest.raises(okma_sim.OkmaError) as info:
        sobol(toy_plan(), 64, seed=1, parameters=["noise"])  # fixed here
    assert info.value.key == "parameters"


# -- tornado ----------------------------------------------------------------------------------
def test_tornado_rejects_a_parameter_listed_twice():
    with pytest.raises(okma_sim.OkmaError) as info:
        tornado(toy_plan(), 50, seed=1, parameters=["gain", "bias", "gain"])
    assert info.value.key == "parameters" and info.value.value == "gain"


def test_tornado_on_the_toy():
    plan = toy_plan()
    t = tornado(plan, 4000, seed=3).set_index("parameter")
    assert set(t.index) == {"gain", "bias"}  # noise is fixed
    sd_rest = math.sqrt(0.04 + 1 / M)
    for b, p, se in ((t.loc["bias", "low"], t.loc["bias", "p_low"], t.loc["bias", "stderr_low"]),
                     (t.loc["bias", "high"], t.loc["bias", "p_high"],
                      t.loc["bias", "stderr_high"])):
        assert abs(abs(b) - 0.5 * Z90) < 1e-9
        assert abs(p - stats.norm.sf((1.2 - 1 - b) / sd_rest)) <= Z * se
    # common random numbers: X_high - X_low = p90 - p10 of bias on every path, so the
    # medians swing by exactly that
    assert math.isclose(t.loc["bias", "median_swing:s"], 2 * 0.5 * Z90, rel_tol=1e-9)
    assert math.isclose(t.loc["gain", "median_swing:s"], 2 * 0.2 * Z90, rel_tol=1e-9)
    # the swing's SE is the paired one, sd(met_high - met_low) / sqrt(n); with common random
    # numbers a path met at p10 is met at p90, so it is below the unpaired SE
    lo = okma_sim.simulate(plan, 4000, seed=3, pinned={"bias": t.loc["bias", "low"]},
                           progress=False).all_met_flags()
    hi = okma_sim.simulate(plan, 4000, seed=3, pinned={"bias": t.loc["bias", "high"]},
                           progress=False).all_met_flags()
    assert np.all(hi >= lo)
    d = hi.astype(float) - lo
    assert math.isclose(t.loc["bias", "swing_stderr"], d.std(ddof=1) / math.sqrt(d.size))
    for k in ("bias", "gain"):
        unpaired = math.hypot(t.loc[k, "stderr_low"], t.loc[k, "stderr_high"])
        assert t.loc[k, "swing_stderr"] < unpaired
    assert t.loc["bias", "swing"] == t.loc["bias", "p_high"] - t.loc["bias", "p_low"]
    # largest swing first
    order = tornado(plan, 500, seed=3)["swing"].abs().to_numpy()
    assert np.all(np.diff(order) <= 0)


def test_uncertain_parameters_of_the_case_study():
    plan = okma_sim.load_plan(okma_sim.case_study_path())
    unc = uncertain_parameters(plan)
    assert "order_value_cv" not in unc and "csat_base" in unc
    assert unc["order_value"] == plan.parameters["order_value"]  # the scenario's override


# -- KR importance ------------------------------------------------------------------------------
def test_kr_importance_matches_a_long_independent_run():
    plan = toy_plan()
    small = okma_sim.simulate(plan, 3000, seed=1, progress=False)
    big = okma_sim.simulate(plan, 60_000, seed=2, progress=False)
    a, b = kr_importance(small), kr_importance(big)
    assert list(a["key_result"]) == ["h", "m"]
    for (_, r), (_, q) in zip(a.iterrows(), b.iterrows()):
        assert abs(r["difference"] - q["difference"]) <= Z * math.hypot(r["stderr"],
                                                                        q["stderr"])
        # definition, by hand
        o, k = small.met("s"), small.met(r["key_result"])
        assert math.isclose(r["difference"], o[k].mean() - o[~k].mean())
        assert r["stderr"] > 0


def test_kr_importance_with_replicates():
    plan = toy_plan()
    small = okma_sim.simulate(plan, 2048, seed=1, sampler="lhs", progress=False)
    big = okma_sim.simulate(plan, 60_000, seed=2, progress=False)
    a, b = kr_importance(small), kr_importance(big)
    for (_, r), (_, q) in zip(a.iterrows(), b.iterrows()):
        assert abs(r["difference"] - q["difference"]) <= Z * math.hypot(r["stderr"],
                                                                        q["stderr"])


def test_kr_importance_undefined_when_a_kr_never_misses():
    res = okma_sim.simulate(toy_plan(), 500, seed=1, progress=False)
    vals = dict(res.values)
    vals["m"] = np.full(res.n_paths, 10.0)  # always met
    t = kr_importance(dataclasses.replace(res, values=vals)).set_index("key_result")
    assert math.isnan(t.loc["m", "difference"]) and math.isnan(t.loc["m", "stderr"])


def test_sensitivity_bundle_on_the_case_study():
    plan = okma_sim.load_plan(okma_sim.case_study_path())
    s = sensitivity(plan, 400, seed=1, sobol_n=16,
                    tornado_parameters=["csat_base", "repeat_order_rate"])
    doc = s.to_json_dict()
    assert [e["parameter"] for e in doc["tornado"]][0] in ("csat_base", "repeat_order_rate")
    for e in doc["tornado"]:
        assert set(e) >= {"parameter", "low", "high", "p_low", "p_high", "swing"}
        assert set(e["median"]) == {"revenue", "csat"}
    assert set(doc["sobol"]) == {"revenue", "csat"}
    for v in doc["sobol"].values():
        assert set(v) >= {"first", "total", "unexplained"}
        assert set(v["first"]) == set(uncertain_parameters(plan))
    pairs = [(e["objective"], e["key_result"]) for e in doc["kr_importance"]]
    assert pairs == [("revenue", "new_customers"), ("revenue", "revisit_rate"),
                     ("csat", "revisit_rate"), ("csat", "quarterly_survey")]
    # the revenue swing of csat_base is nil: it does not enter revenue
    t = s.tornado.set_index("parameter")
    assert t.loc["csat_base", "median_swing:revenue"] == 0.0
    assert t.loc["csat_base", "swing"] > 0
