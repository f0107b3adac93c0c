"""Management rules inside the simulation: a rule that never fires costs nothing and changes
nothing, a coaching rule's own ``effect`` is honoured and raises P(met) under common random
numbers, and every rule is charged what it costs."""

from __future__ import annotations

import numpy as np
import pytest

import okma_sim
from okma_sim.analysis import paired_difference
from okma_sim.plan import Management, Rule, check_plan

PATHS = 3000
SEED = 11


def with_rules(plan, *rules, every=1):
    return plan.replace(management=Management(review_every_months=every, rules=tuple(rules)))


def same_run(a, b) -> bool:
    vals = all(np.array_equal(a.values[k], b.values[k], equal_nan=True) for k in a.values)
    mon = all(np.array_equal(a.monthly[k], b.monthly[k], equal_nan=True) for k in a.monthly)
    return vals and mon and set(a.monthly) == set(b.monthly)


NEVER = {
    # thresholds no value can cross
    "coaching": Rule(metric="revisit_rate", response="coaching", below=-1.0, per_rep=True,
                     id="never", effect=0.5, cost=1000.0),
    "training": Rule(metric="new_customers", response="training", below=-1.0, per_rep=True,
                     id="never", cost=1000.0),
    "shift_visits": Rule(metric="revisit_rate", response="shift_visits", above=2.0,
                         id="never", visits_per_week=3.0),
    "marketing_push": Rule(metric="new_customers", response="marketing_push", below=-1.0,
                           id="never", cost=1000.0),
    # a hiring rule adds seats: their draws must not disturb the roster's
    "hiring": Rule(metric="revisit_rate", response="hiring", below=-1.0, id="never", reps=2,
                   cost=1000.0),
}


@pytest.mark.parametrize("response", sorted(NEVER))
def test_rule_that_never_fires_costs_nothing_and_changes_nothing(case, response):
    base = with_rules(case)
    plan = with_rules(case, NEVER[response])
    a = okma_sim.simulate(base, n_paths=PATHS, seed=SEED, keep_monthly="all")
    b = okma_sim.simulate(plan, n_paths=PATHS, seed=SEED, keep_monthly="all")
    assert same_run(a, b)
    assert b.diagnostics["rule:never:fired"] == 0.0
    assert b.diagnostics["rule:never:cost"] == 0.0
    r = b.rules()
    assert r.loc[r["rule"] == "never", "cost_per_path"].item() == 0.0


def test_review_cadence_zero_means_no_rule_fires(case):
    plan = with_rules(case, Rule(metric="revisit_rate", response="coaching", below=2.0,
                                 per_rep=True, id="always"), every=0)
    a = okma_sim.simulate(with_rules(case), n_paths=1000, seed=SEED, keep_monthly="all")
    b = okma_sim.simulate(plan, n_paths=1000, seed=SEED, keep_monthly="all")
    assert same_run(a, b)
    assert b.diagnostics["rule:always:fired"] == 0.0


def coach(effect, below=0.80):
    return Rule(metric="revisit_rate", response="coaching", below=below, per_rep=True,
                id="coach", hours_per_month=4, duration_months=2, effect=effect)


def test_coaching_effect_raises_p_met_under_common_random_numbers(case):
    # same rule, same hours: only the rule's own effect differs
    weak = okma_sim.simulate(with_rules(case, coach(0.0)), n_paths=4000, seed=SEED)
    strong = okma_sim.simulate(with_rules(case, coach(0.3)), n_paths=4000, seed=SEED)
    for flags_s, flags_w in ((strong.all_met_flags(), weak.all_met_flags()),
                             (strong.met("revenue"), weak.met("revenue"))):
        d = paired_difference(flags_s, flags_w)
        assert d.probability > 4 * d.stderr, d
    # the rule fired (else both runs are the plain case study), and less often with the
    # stronger effect: coaching lifts the revisit rates the rule reacts to (with this seed
    # about 136,000 firings against 150,000)
    fired_w, fired_s = weak.diagnostics["rule:coach:fired"], strong.diagnostics["rule:coach:fired"]
    assert 0 < fired_s < fired_w


def test_rule_effect_overrides_the_coaching_effect_prior(case):
    # a rule whose effect equals every path's drawn coaching_effect reproduces the prior run
    pinned = {"coaching_effect": 0.12}
    prior = okma_sim.simulate(with_rules(case, coach(None)), n_paths=1500, seed=SEED,
                              pinned=pinned)
    same = okma_sim.simulate(with_rules(case, coach(0.12)), n_paths=1500, seed=SEED,
                             pinned=pinned)
    other = okma_sim.simulate(with_rules(case, coach(0.4)), n_paths=1500, seed=SEED,
                              pinned=pinned)
    assert same_run(prior, same)
    assert not same_run(prior, other)


def test_coaching_rule_is_charged_its_hours_and_money(case):
    rule = Rule(metric="revisit_rate", response="coaching", below=0.8, per_rep=True,
                id="coach", hours_per_month=4, duration_months=2, cost=250.0)
    plan = with_rules(case, rule)
    res = okma_sim.simulate(plan, n_paths=800, seed=SEED, keep_monthly="all")
    hours = float(np.asarray(res.monthly["coaching_hours"], dtype=float).sum())
    fired = res.diagnostics["rule:coach:fired"]
    expect = hours * case.team.hourly_cost + 250.0 * fired
    assert fired > 0 and hours > 0
    assert res.diagnostics["rule:coach:cost"] == pytest.approx(expect, rel=1e-9)
    # the cost metric prices all training and coaching hours and the rules' money
    cost = float(np.asarray(res.monthly["cost"], dtype=float).sum())
    th = float(np.asarray(res.monthly["training_hours"], dtype=float).sum())
    assert cost == pytest.approx(th * case.team.hourly_cost + 250.0 * fired, rel=1e-6)


def test_training_rule_is_charged_the_extra_hours(case):
    rule = Rule(metric="new_customers", response="training", below=0.9, per_rep=True,
                id="train", hours_per_month=8, duration_months=1)
    base = okma_sim.simulate(with_rules(case), n_paths=600, seed=SEED, keep_monthly="all")
    res = okma_sim.simulate(with_rules(case, rule), n_paths=600, seed=SEED,
                            keep_monthly="all")
    # the extra hours: training hours beyond the planned level on the filled rep-months
    planned = case.actions["training_hours_per_month"]
    th = np.asarray(res.monthly["training_hours"], dtype=float)
    hc = np.asarray(res.monthly["headcount"], dtype=float)
    extra = float((th - planned * hc).sum())
    assert extra > 0
    assert res.diagnostics["rule:train:cost"] == pytest.approx(
        extra * case.team.hourly_cost, rel=1e-6)
    assert not same_run(base, res)


def test_marketing_push_costs_its_money_per_firing(case):
    rule = Rule(metric="new_customers", response="marketing_push", below=1e6, id="push",
                events=1, duration_months=1, cost=5000.0)
    res = okma_sim.simulate(with_rules(case, rule, every=3), n_paths=500, seed=SEED)
    # it fires at every quarterly review on every path
    assert res.diagnostics["rule:push:fired"] == 500 * 4
    assert res.diagnostics["rule:push:cost"] == 500 * 4 * 5000.0


@pytest.mark.parametrize("metric", ["prospect_visits", "customer_visits", "training_hours"])
def test_per_rep_rules_on_effort_metrics_run(case, metric):
    # these metrics are per-rep in the model's metadata; a rule on them fires for every filled
    # seat at every review (a one-month response has ended by the next monthly review)
    rule = Rule(metric=metric, response="shift_visits", below=1e9, per_rep=True, id="all",
                visits_per_week=0.0, duration_months=1)
    # no departures: the reps at each month-end review are the month's reps
    res = okma_sim.simulate(with_rules(case, rule), n_paths=300, seed=SEED,
                            keep_monthly=["headcount"], pinned={"rep_attrition_annual": 0.0})
    heads = np.asarray(res.monthly["headcount"], dtype=float).sum()
    assert res.diagnostics["rule:all:fired"] == pytest.approx(heads)


def test_hiring_rule_that_fires_adds_reps(case):
    rule = Rule(metric="revisit_rate", response="hiring", below=2.0, id="hire", reps=2,
                cost=10_000.0)
    res = okma_sim.simulate(with_rules(case, rule), n_paths=400, seed=SEED,
                            keep_monthly=["headcount"])
    head = np.asarray(res.monthly["headcount"], dtype=float)
    assert head.max() > case.team.n_reps
    assert res.diagnostics["rule:hire:fired"] == 400
    assert res.diagnostics["rule:hire:cost"] == 400 * 2 * 10_000.0


def test_effect_on_a_response_without_one_is_an_error(case):
    plan = with_rules(case, Rule(metric="revisit_rate", response="training", below=0.8,
                                 per_rep=True, effect=0.2))
    errors, _ = check_plan(plan)
    assert len(errors) == 1
    assert "management.rules[0].effect" in str(errors[0])


def test_team_rule_on_cost_sees_this_months_cost(case):
    # the month's cost row is written after the review; the rule must still see a real value:
    # at least the planned training hours of 12 reps, priced (6 h x 12 x 150 = 10,800)
    fires = Rule(metric="cost", response="marketing_push", above=10_000.0, id="c",
                 events=0, duration_months=1, cost=0.0)
    never = Rule(metric="cost", response="marketing_push", above=1e9, id="c", events=0,
                 duration_months=1, cost=0.0)
    a = okma_sim.simulate(with_rules(case, fires, every=3), n_paths=200, seed=SEED,
                          pinned={"rep_attrition_annual": 0.0})
    b = okma_sim.simulate(with_rules(case, never, every=3), n_paths=200, seed=SEED)
    assert a.diagnostics["rule:c:fired"] == 200 * 4
    assert b.diagnostics["rule:c:fired"] == 0
