"""The review's greedy lever search on a constructed response surface: the levers' effects on
P(all objectives met) are set by the test (no simulation), so which move the search takes is
known in advance.

Rules checked (the Notes of ``review``): while P is short of the goal, the move with the best
gain per unit of cost first; once there, step down only what saves money while P stays at the
goal."""

from __future__ import annotations

import pytest

import okma_sim
from okma_sim.analysis import lever_level
from okma_sim.inference import review
from okma_sim.inference._review_recommend import _LeverSearch
from okma_sim.plan import Lever
from okma_sim.results import Estimate

#: P(all met) gained per step of each lever (a linear surface; the free lever does nothing)
GAIN = {"prospect_visits_per_week": 0.25, "customer_visits_per_week": 0.15,
        "training_hours_per_month": 0.0}
LEVERS = {"prospect_visits_per_week": Lever(low=2, high=15, unit_cost=120_000.0, step=1),
          "customer_visits_per_week": Lever(low=2, high=20, unit_cost=60_000.0, step=1),
          # costs nothing and changes nothing: stepping it down saves nothing
          "training_hours_per_month": Lever(low=0, high=16, unit_cost=0.0, step=2)}


class _Surface(_LeverSearch):
    """The search with P(all met) = p0 + sum of GAIN x steps from the start, no operating
    cost, and every level within the hours."""

    def __init__(self, plan, model, p0: float, goal: float):
        super().__init__(plan, model, LEVERS, observed={}, keep=(), kw={}, goal=goal,
                         share_left=1.0, max_steps=20)
        self.p0 = p0
        self.base = self.start()

    def evaluate(self, levels, on):
        p = self.p0 + sum(g * (levels[k] - self.base[k]) / LEVERS[k].step
                          for k, g in GAIN.items())
        return Estimate(probability=min(max(p, 0.0), 1.0), stderr=0.0), 0.0

    def fits(self, levels, on):
        return True


@pytest.fixture(scope="module")
def searched(case):
    plan = case.replace(levers=LEVERS)
    model = okma_sim.SalesTeamModel()
    return plan, model


def test_the_search_takes_the_best_gain_per_unit_cost_first(searched):
    """From P = 0.30 to the goal 0.50: a step of customer visits gains 0.15 for 60,000
    (2.5 points per 100,000), one of prospect visits 0.25 for 120,000 (about 2.1 points per
    100,000): two steps of customer visits (P = 0.60, 120,000) come before any prospect step.
    Nothing is stepped down after (each step down would fall short of the goal), and the
    free lever is left where it was."""
    plan, model = searched
    s = _Surface(plan, model, p0=0.30, goal=0.50)
    cur = s.run(s.start(), on=None)
    start = {k: lever_level(plan, model, k) for k in LEVERS}
    assert cur == {**start, "customer_visits_per_week": start["customer_visits_per_week"] + 2}
    assert s.steps == 2
    assert s.lever_cost(cur) == pytest.approx(120_000.0)


def test_stepping_down_is_only_for_a_saving(searched):
    """A goal already met: the search steps down only what saves money while P stays there.
    With P = 0.68 and the goal 0.50 one step of customer visits comes off (P 0.53; a second
    would leave 0.38, a prospect step 0.43): saving 60,000; the free lever saves nothing and
    stays."""
    plan, model = searched
    s = _Surface(plan, model, p0=0.68, goal=0.50)
    cur = s.run(s.start(), on=None)
    start = {k: lever_level(plan, model, k) for k in LEVERS}
    assert cur == {**start, "customer_visits_per_week": start["customer_visits_per_week"] - 1}
    assert s.steps == 1
    assert s.lever_cost(cur) == pytest.approx(-60_000.0)


# --------------------------------------------------------------------------------------------
# the review's answer when the search changes nothing
# --------------------------------------------------------------------------------------------
ACTUALS = okma_sim.data_path("case_study_actuals.csv")


def _no_change(rv, note: str, out_of_steps: bool) -> None:
    """The recommendation of a search that changed nothing: the plan as it stands, at no
    cost, its P(all met) the re-forecast's, short of the goal."""
    rec = rv.recommendation
    now = rv.all_met()
    assert now.probability < rec["goal"] == 0.5
    assert (rec["actions"], rec["from"], rec["cost"], rec["reached"]) == ({}, {}, 0.0, False)
    assert (rec["probability"], rec["stderr"]) == (now.probability, now.stderr)
    assert (rec["note"], rec["steps"], rec["out_of_steps"]) == (note, 0, out_of_steps)


def test_a_search_with_no_steps_allowed_says_it_stopped(case):
    """``max_steps=0`` and a goal not met: no lever change, the note and a warning say the
    search stopped after 0 steps, and the answer is marked out of steps."""
    rv = review(case, ACTUALS, n_paths=400, seed=2, search_paths=200, confidence=0.5,
                max_steps=0, progress=False)
    _no_change(rv, "the search stopped after 0 steps (max_steps = 0)", True)
    assert any(w.startswith("the search stopped after 0 steps (max_steps = 0) without a lever "
                            "change") for w in rv.warnings)


def test_levers_pinned_at_their_level_leave_nothing_to_search(case):
    """Every lever's bounds at its current level: no step exists, so the answer is no change,
    not out of steps, and says that no step within the bounds raises P."""
    model = okma_sim.SalesTeamModel()
    pinned = {k: Lever(low=lever_level(case, model, k), high=lever_level(case, model, k),
                       unit_cost=lv.unit_cost) for k, lv in case.levers.items()}
    rv = review(case.replace(levers=pinned), ACTUALS, n_paths=400, seed=2, search_paths=200,
                confidence=0.5, progress=False)
    _no_change(rv, "no lever step within the bounds raises P(all objectives met)", False)
