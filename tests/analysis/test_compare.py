"""Policy comparison under common random numbers: paired differences and their standard errors,
policy costs, and the ``okma-sim compare`` contract (in a subprocess)."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from cli_helpers import one_error_line, run_cli
import okma_sim
from okma_sim.analysis import action_cost, compare, paired_difference, policy_cost
from okma_sim.plan import loads_plan

POLICIES = ("policy_no_reviews.toml", "policy_quarterly.toml", "policy_monthly_coaching.toml")


def policy(name):
    return okma_sim.load_plan(okma_sim.data_path("scenarios", name))


def test_paired_difference_by_hand():
    a = np.array([1, 1, 0, 1, 0, 1, 1, 0], dtype=bool)
    b = np.array([1, 0, 0, 1, 0, 0, 1, 1], dtype=bool)
    d = a.astype(float) - b
    e = paired_difference(a, b)
    assert e.probability == pytest.approx(d.mean())
    assert e.stderr == pytest.approx(d.std(ddof=1) / math.sqrt(d.size))
    # replicates: the spread of the replicate mean differences
    rep = np.repeat(np.arange(4), 2)
    er = paired_difference(a, b, rep)
    means = [d[rep == r].mean() for r in range(4)]
    assert er.stderr == pytest.approx(np.std(means, ddof=1) / 2)


TOY = """
schema_version = 1
name = "toy"
model = "linear_toy"
start_month = "2027-01"
horizon_months = 6
[[objectives]]
id = "score"
metric = "score"
aggregate = "mean"
target = 1.0
[actions]
effort = {effort}
"""


def test_paired_standard_error_matches_the_spread_over_seeds():
    # the toy model is cheap: 200 seeds of a CRN comparison; the reported paired SE must match
    # the spread of the estimated differences (SD of a sample SD over 200 seeds: about 5%)
    a = loads_plan(TOY.format(effort=1.0))
    b = loads_plan(TOY.format(effort=1.15))
    diffs, ses = [], []
    for s in range(200):
        cmp = compare([a, b], n_paths=400, seed=1000 + s, progress=False)
        d = cmp.difference(1)
        diffs.append(d.probability)
        ses.append(d.stderr)
    sd = np.std(diffs, ddof=1)
    assert np.mean(ses) == pytest.approx(sd, rel=0.2)
    # and the difference is the exact one: P(gain * 1.15 + bias >= 1) - P(gain + bias >= 1),
    # with gain ~ N(1, 0.2), bias ~ N(0, 0.5), monthly noise 1 over 6 months
    from scipy.stats import norm
    def p(e):
        return norm.sf((1.0 - e) / math.sqrt((0.2 * e) ** 2 + 0.25 + 1 / 6))
    exact = p(1.15) - p(1.0)
    assert np.mean(diffs) == pytest.approx(exact, abs=4 * sd / math.sqrt(200))


def test_identical_plans_differ_by_exactly_zero():
    plan = policy("policy_quarterly.toml")
    cmp = compare([plan, plan], n_paths=800, seed=3)
    d = cmp.difference(1)
    assert d.probability == 0.0 and d.stderr == 0.0


def test_plans_naming_other_samplers_run_with_the_first_ones():
    # the same plan but for its sampler: under common random numbers, a difference of 0
    a = loads_plan(TOY.format(effort=1.0))
    b = a.replace(simulation=dataclasses.replace(a.simulation, sampler="sobol"))
    cmp = compare([a, b], n_paths=1024, seed=3)
    assert [r.sampler for r in cmp.results] == ["mc", "mc"]
    d = cmp.difference(1)
    assert d.probability == 0.0 and d.stderr == 0.0
    assert any("different samplers" in w for w in cmp.warnings)
    # a sampler given applies to all
    cmp = compare([a, b], n_paths=1024, seed=3, sampler="sobol")
    assert [r.sampler for r in cmp.results] == ["sobol", "sobol"] and not cmp.warnings


@pytest.fixture(scope="module")
def three():
    # +10% revenue: anchored to the baseline year, +30% is out of reach for every policy
    plans = [policy(n).with_targets({"revenue": 0.10}) for n in POLICIES]
    return compare(plans, n_paths=3000, seed=5, names=list(POLICIES))


def test_policies_under_common_random_numbers(three):
    r0 = three.results[0]
    for i in (1, 2):
        r = three.results[i]
        d = three.difference(i)
        assert d.probability == pytest.approx(r.all_met().probability
                                              - r0.all_met().probability, abs=1e-12)
        # pairing removes most of the noise of two independent runs
        indep = math.hypot(r.all_met().stderr, r0.all_met().stderr)
        assert d.stderr < 0.6 * indep
    # the same parameter draws on every path
    for r in three.results[1:]:
        assert np.array_equal(r.params.to_numpy(), r0.params.to_numpy())


def test_monthly_coaching_beats_no_reviews(three):
    d = three.difference(2)
    assert d.probability > 4 * d.stderr


def expected_operating(res) -> float:
    """Independently of the cost metric: the same plan, seed and paths (the same draws) run
    again keeping the training hours (coaching hours included), priced at the hourly cost,
    plus each rule's money per firing x its firings per path."""
    plan = res.plan
    again = okma_sim.simulate(plan, n_paths=res.n_paths, seed=res.seed,
                              keep_monthly=["training_hours"])
    hours = np.asarray(again.monthly["training_hours"], dtype=float).sum(1).mean()
    money = sum((rule.cost or 0.0) * again.diagnostics[f"rule:{rule.id or f'rule{i}'}:fired"]
                for i, rule in enumerate(plan.management.rules)) / res.n_paths
    return hours * plan.team.hourly_cost + money


def test_policy_cost(three):
    for r in three.results:
        c = policy_cost(r)
        assert c["levers"] == pytest.approx(action_cost(r.plan)["levers"])
        # monthly values are float32: relative rounding ~1e-7 per value
        assert c["operating"] == pytest.approx(expected_operating(r), rel=1e-6)
        assert c["total"] == pytest.approx(c["levers"] + c["operating"])
        assert 0 <= c["rules"] <= c["operating"]
    no_rules = policy_cost(three.results[0])
    assert no_rules["rules"] == 0.0 and no_rules["rules_by_id"] == {}
    # coaching hours cost money: the policies with rules cost more to run
    assert policy_cost(three.results[2])["operating"] > no_rules["operating"]


def test_policy_cost_counts_the_money_of_rules():
    plan = policy("policy_monthly_coaching.toml")
    rules = tuple(dataclasses.replace(r, cost=250.0) for r in plan.management.rules)
    plan = plan.replace(management=dataclasses.replace(plan.management, rules=rules))
    res = okma_sim.simulate(plan, n_paths=800, seed=5, keep_monthly=["cost"])
    c = policy_cost(res)
    assert sum(res.diagnostics[f"rule:{r.id}:fired"] for r in rules) > 0
    assert c["operating"] == pytest.approx(expected_operating(res), rel=1e-6)


def test_policy_cost_counts_what_the_reps_had_hours_for():
    """A plan over its hours is charged for the visits executed, not those planned: each
    visit lever's units are its level x executed / planned visits (the solver's count)."""
    plan = okma_sim.load_plan(okma_sim.case_study_path()).with_actions(
        prospect_visits_per_week=15, customer_visits_per_week=20)
    res = okma_sim.simulate(plan, n_paths=300, seed=4, keep_monthly=["cost"])
    d = res.diagnostics
    assert d["capacity_capped_rep_months"] > 0.5 * d["rep_months"]
    done = {k: d[f"{v}_executed"] / d[f"{v}_planned"] for k, v in (
        ("prospect_visits_per_week", "prospect_visits"),
        ("customer_visits_per_week", "customer_visits"),
        ("training_hours_per_month", "training_hours"))}
    assert 0 < done["prospect_visits_per_week"] < 1 and 0 < done["customer_visits_per_week"] < 1
    expected = sum(plan.actions[k] * lv.unit_cost * done.get(k, 1.0)
                   for k, lv in plan.levers.items())
    c = policy_cost(res)
    assert c["levers"] == pytest.approx(expected, rel=1e-9)
    assert c["levers"] < action_cost(plan)["levers"]


def test_compare_needs_two_plans():
    with pytest.raises(ValueError, match="at least two"):
        compare([policy(POLICIES[0])], n_paths=10, seed=1)


def test_cli_compare_json_contract():
    paths = [str(okma_sim.data_path("scenarios", n)) for n in POLICIES]
    proc = run_cli("compare", *paths, "--json", "--paths", "600", "--seed", "9",
                   "--no-progress")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    for k in ("version", "scenario", "scenario_sha256", "paths", "seed", "warnings"):
        assert k in doc
    assert doc["paths"] == 600 and doc["seed"] == 9 and doc["scenario"] == paths[0]
    assert [s["scenario"] for s in doc["scenarios"]] == paths
    api = compare([policy(n) for n in POLICIES], n_paths=600, seed=9)
    for i, s in enumerate(doc["scenarios"]):
        assert set(s) >= {"scenario", "all_met", "cost", "objectives", "difference_vs_first"}
        assert set(s["all_met"]) >= {"probability", "stderr"}
        assert set(s["difference_vs_first"]) >= {"probability", "stderr"}
        assert {o["id"] for o in s["objectives"]} == {"revenue", "csat"}
        for o in s["objectives"]:
            assert set(o) >= {"id", "probability", "stderr"}
        # the CLI runs what the API runs
        assert s["all_met"]["probability"] == pytest.approx(
            api.results[i].all_met().probability)
        assert s["cost"] == pytest.approx(api.cost(i)["total"])
    assert doc["scenarios"][0]["difference_vs_first"] == {"probability": 0.0, "stderr": 0.0}


def test_cli_compare_bad_input(tmp_path):
    one = str(okma_sim.data_path("scenarios", POLICIES[0]))
    one_error_line(run_cli("compare", one, "--paths", "50"), "at least two")
    missing = str(tmp_path / "nope.toml")
    one_error_line(run_cli("compare", one, missing, "--paths", "50"), "nope.toml")
