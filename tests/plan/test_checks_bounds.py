"""check_plan at the edges of what it compares: a lever level at the plan's solver bound is
inside it, a model's restricted lever takes only its allowed levels, a share-of-months target
typed as a percentage gets the suggestion, a scipy prior with mass outside the range is
reported, and the baseline's assumed levels are warned about."""

from __future__ import annotations

import copy
import dataclasses

from scipy import stats

import okma_sim
from okma_sim import check_plan


def test_action_at_the_plans_lever_bounds_is_not_warned(case):
    """An action level equal to its lever's low or high bound lies inside [low, high]; one
    step past either is warned."""
    name = "training_hours_per_month"
    lv = case.levers[name]
    for v, warned in ((lv.low, False), (lv.high, False), (lv.high + 1, True),
                      (lv.low - 1, True)):
        if v < 0:
            continue  # the model's own bound refuses it first
        _, warnings = check_plan(case.replace(actions={**case.actions, name: v}))
        hit = [w for w in warnings if w.startswith(f"action {name} =")]
        assert bool(hit) == warned, (v, warnings)


def test_a_restricted_lever_takes_only_its_allowed_levels(case):
    """A model lever with ``allowed`` levels: a level in range but not allowed is an error."""
    model = copy.copy(okma_sim.get_model(case.model))
    name = "csat_surveys_per_year"
    levers = dict(model.levers)
    levers[name] = dataclasses.replace(levers[name], allowed=(0.0, 1.0, 2.0, 4.0, 12.0))
    model.levers = levers
    lo, hi = levers[name].bounds
    assert lo <= 3.0 <= hi
    ok, _ = check_plan(case.replace(actions={**case.actions, name: 4.0}), model)
    assert ok == []
    bad, _ = check_plan(case.replace(actions={**case.actions, name: 3.0}), model)
    assert [(e.key, e.value) for e in bad] == [(f"actions.{name}", 3.0)]
    assert "must be one of 0, 1, 2, 4, 12" in str(bad[0])


def test_share_of_months_target_as_a_percentage_gets_the_suggestion(case):
    """A share of months typed as 80 (for 80%) is refused with 'did you mean 0.80 (80%)?'."""
    krs = list(case.key_results)
    krs[1] = dataclasses.replace(krs[1], aggregate="share_of_months", threshold=0.8,
                                 target=80.0)
    errs, _ = check_plan(case.replace(key_results=tuple(krs)))
    msgs = [str(e) for e in errs if e.key == "key_results[1].target"]
    assert len(msgs) == 1 and "did you mean 0.80 (80%)?" in msgs[0], [str(e) for e in errs]


def test_a_scipy_prior_with_mass_outside_the_range(case):
    """A frozen scipy prior is checked by its own cdf: normal(0.9, 0.1) has
    sf(1) = 0.16 of its mass above a probability's range."""
    got = [(e.key, e.value) for e in check_plan(
        case.with_parameters(churn_base=stats.norm(0.9, 0.1)))[0]]
    mass = stats.norm.sf(1.0, 0.9, 0.1) + stats.norm.cdf(0.0, 0.9, 0.1)
    assert got == [("parameters.churn_base.dist",
                    f"scipy with {mass:.2g} of its mass outside [0, 1]")]
    assert check_plan(case.with_parameters(churn_base=stats.norm(0.5, 0.1)))[0] == []


def test_assumed_baseline_levels_are_warned(case):
    """A baseline year whose level for a lever is assumed (the plan's stands in) is warned
    about, naming the lever; the case study's own (only new_reps assumed) is not."""
    assert not any(w.startswith("baseline.actions") for w in check_plan(case)[1])
    plan = case.replace(baseline=dataclasses.replace(
        case.baseline, assumed=("training_hours_per_month",)))
    hits = [w for w in check_plan(plan)[1] if w.startswith("baseline.actions")]
    assert len(hits) == 1 and "no level for training_hours_per_month" in hits[0]
