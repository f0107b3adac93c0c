"""Monotonicity under common random numbers (same seed, so paired draws).

More prospect visits must not lower the mean new customers, and more follow-up visits must not
lower the mean revisit rate, beyond 4 paired standard errors. Each test also asserts that the
effect is positive by more than 4 paired SE, so it can fail.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

import okma_sim
from okma_sim.plan import Management

N = 2000
SEED = 11
Z = 4.0


@pytest.fixture(scope="module")
def plan():
    # vacant books unserved (no covering hours to cap the visits) and new reps with no books
    case = okma_sim.load_plan(okma_sim.case_study_path())
    return case.replace(team=dataclasses.replace(case.team, vacancy="unserved",
                                                 new_rep_book="none"))


def paired(plan, lever, low, high, kr):
    a = okma_sim.simulate(plan.with_actions(**{lever: low}), n_paths=N, seed=SEED,
                          progress=False)
    b = okma_sim.simulate(plan.with_actions(**{lever: high}), n_paths=N, seed=SEED,
                          progress=False)
    d = b.values[kr] - a.values[kr]
    assert np.isfinite(d).all()
    return d, float(d.mean()), float(d.std(ddof=1) / math.sqrt(d.size)), a, b


@pytest.mark.parametrize("low,high", [(5, 6), (7, 8)])
def test_more_prospect_visits_more_new_customers(plan, low, high):
    d, mean, se, a, b = paired(plan, "prospect_visits_per_week", low, high, "new_customers")
    assert not any("capacity" in w for w in a.warnings + b.warnings)
    assert mean > Z * se  # it rises by more than 4 SE (so it does not fall either)
    # common random numbers make the comparison precise: the paired SE is far below the
    # unpaired one
    unpaired = math.sqrt((a.values["new_customers"].var() + b.values["new_customers"].var())
                         / N)
    assert se < 0.5 * unpaired


@pytest.mark.parametrize("low,high", [(6, 7), (9, 10)])
def test_more_follow_up_visits_higher_revisit_rate(plan, low, high):
    d, mean, se, a, b = paired(plan, "customer_visits_per_week", low, high, "revisit_rate")
    assert mean > Z * se


def test_new_customers_monotone_on_every_path(plan):
    # without management rules nothing feeds back into acquisition, and the counts are drawn
    # by inverse CDF from common uniforms: each path's count is monotone in the lever
    bare = plan.replace(management=Management(rules=()))
    runs = [okma_sim.simulate(bare.with_actions(prospect_visits_per_week=v), n_paths=500,
                              seed=SEED, keep_monthly=["new_customers"], progress=False)
            for v in (4, 6, 8)]
    for lo, hi in zip(runs, runs[1:]):
        assert np.all(hi.monthly["new_customers"] >= lo.monthly["new_customers"])
        assert np.any(hi.monthly["new_customers"] > lo.monthly["new_customers"])


def test_more_new_reps_never_fewer_new_customers_on_a_path(plan):
    # each new rep's seat has its own streams: one more new rep adds a seat and leaves every
    # other seat's draws alone, so each path's monthly count can only grow (new reps start
    # with no customers: new_rep_book = "none", the default; rules included)
    # with "share" the old books shrink, which moves the coaching rule: without rules the
    # existing reps' acquisition does not depend on their books
    shared = plan.replace(team=dataclasses.replace(plan.team, new_rep_book="share",
                                                   vacancy="shared"),
                          management=Management(rules=()))
    for p in (plan, shared):
        runs = [okma_sim.simulate(p.with_actions(new_reps=k), n_paths=1000, seed=SEED,
                                  keep_monthly=["new_customers"], progress=False)
                for k in (0, 1, 2, 4)]
        for lo, hi in zip(runs, runs[1:]):
            assert np.all(hi.monthly["new_customers"] >= lo.monthly["new_customers"])
            assert np.any(hi.monthly["new_customers"] > lo.monthly["new_customers"])


def test_more_customer_visits_never_fewer_revisits_on_a_path(plan):
    # plans with no capped rep-month and no rules feeding back (coaching would move reach)
    bare = plan.replace(management=Management(rules=()))
    runs = [okma_sim.simulate(bare.with_actions(customer_visits_per_week=v), n_paths=1000,
                              seed=SEED, keep_monthly=["revisited_customers"], progress=False)
            for v in (3, 4, 6, 8)]
    for r in runs:
        assert r.capacity()["share_rep_months_capped"] == 0
    for lo, hi in zip(runs, runs[1:]):
        assert np.all(hi.monthly["revisited_customers"] >= lo.monthly["revisited_customers"])
        assert np.any(hi.monthly["revisited_customers"] > lo.monthly["revisited_customers"])
