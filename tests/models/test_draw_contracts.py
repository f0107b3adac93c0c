"""Contracts of the model's draws and sparse updates: every hire gets a fresh skill draw
(lognormal, mean 1, docs/model.md 5.12), per-path draws of a seat-split stream come from its
main generator (_streams.py), and the sparse update is ``np.where(...).astype(cast)`` bit for
bit whatever the value (_fast.py)."""

from __future__ import annotations

import numpy as np
import pytest

from okma_sim.models.sales._fast import sparse_where
from okma_sim.models.sales._streams import SeatStreams
from okma_sim.plan import Rep, Team

from test_staffing import make_plan, run, within


def test_every_hire_draws_a_fresh_skill():
    """Reps hired during the run (final tenure below the horizon) have pairwise distinct skills
    (independent continuous draws) with mean 1."""
    team = Team(reps=tuple(Rep(f"r{i}", tenure_months=240, customers=20) for i in range(4)),
                selling_hours_per_month=500.0)
    res = run(make_plan(team, horizon=6), n=3000, seed=5, rep_attrition_annual=0.9,
              hiring_delay_months=0.0, skill_cv=0.5)
    st = res.state
    hired = st.tenure < 6
    skills = st.skill[hired]
    assert skills.size > 1000
    assert np.unique(skills).size == skills.size
    within(skills, 1.0)


@pytest.mark.parametrize("shape", [(7,), (7, 2), (7, 3)])
def test_per_path_and_roster_draws_come_from_the_main_generator(shape):
    """Draws whose shape is not (paths, more seats than the roster) are the main generator's."""
    def streams():
        g = np.random.default_rng(9).spawn(3)
        return SeatStreams(g[0], g[1], 3, 1, (g[2],)), np.random.default_rng(9).spawn(1)[0]
    s, ref = streams()
    a = np.full(shape, 2.5)
    np.testing.assert_array_equal(s.standard_gamma(a), ref.standard_gamma(a))
    s, ref = streams()
    np.testing.assert_array_equal(s.standard_normal(shape), ref.standard_normal(shape))
    s, ref = streams()
    np.testing.assert_array_equal(s.random(shape), ref.random(shape))


@pytest.mark.parametrize("value, cast", [(300, np.int8), (-129, np.int8), (200, np.int16),
                                         (40000, np.int16), (1e5, None), (-300.5, None)])
def test_sparse_where_is_np_where_then_cast_for_any_value(value, cast):
    """Values outside the cast's range take np.where then astype (wrapping as astype does)."""
    cond = np.zeros((3, 4), bool)
    cond[1, 2] = cond[2, 0] = True
    old = np.arange(12).reshape(3, 4).astype(cast or float)
    want = np.where(cond, value, old)
    want = want if cast is None else want.astype(cast)
    got = sparse_where(cond, value, old, cast)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("key", ["coach_h", "train_h"])
def test_rule_hours_are_charged_as_the_sum_of_the_selected_hours(key):
    """A rule is charged ``hourly x hours[seats it owns].sum()`` bit for bit: the masked-product
    shortcut may only stand in where it is exact (here whole hours too large for it: a
    product over all 16 seats sums in other lanes than the 3 selected hours do)."""
    from types import SimpleNamespace

    from okma_sim.models.sales._rules import charge_rule_hours
    from okma_sim.plan import Rule
    hours = np.zeros((2, 8))
    hours[0, 0], hours[0, 2], hours[0, 3] = 2.0 ** 53, 1.0, 1.0
    owner = np.full((2, 8), -1, dtype=np.int16)
    owner[0, [0, 2, 3]] = 0
    rule = Rule(metric="new_customers", response="coaching", below=1.0, id="r")
    plan = SimpleNamespace(management=SimpleNamespace(rules=(rule,)),
                           team=SimpleNamespace(hourly_cost=3.0))
    other = np.full((2, 8), -1, dtype=np.int16)
    st = SimpleNamespace(acc={"coach_h": np.zeros((2, 8)), "train_h": np.zeros((2, 8))},
                         coach_rule=other, train_rule=other)
    st.acc[key] = hours.copy()
    setattr(st, "coach_rule" if key == "coach_h" else "train_rule", owner)
    diag = {"rule:r:cost": 0.0}
    charge_rule_hours(plan, st, diag)
    assert diag["rule:r:cost"] == float(hours[owner == 0].sum()) * 3.0
    assert not st.acc[key].any()
