"""The review's replay of the actuals: the observed team metrics against an independent
reading of the actuals CSV, and the plan's rules replayed on the seats as the actuals record
them (a seat vacant at a review is not coached; a hiring rule fires once per path)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import okma_sim
from okma_sim.engine import draw_parameters
from okma_sim.inference import load_actuals, observed_metrics, observed_state
from okma_sim.inference._review_replay import _replay
from okma_sim.models import get_model
from okma_sim.plan import Management, Rule

ACTUALS = okma_sim.data_path("case_study_actuals.csv")


@pytest.fixture(scope="module")
def departures(tmp_path_factory):
    """The shipped actuals with rep03 gone after February and rep05 absent in May."""
    df = pd.read_csv(ACTUALS)
    df = df[~((df["rep_id"] == "rep03") & (df["month"] > "2027-02"))]
    df = df[~((df["rep_id"] == "rep05") & (df["month"] == "2027-05"))]
    csv = tmp_path_factory.mktemp("replay") / "team.csv"
    df.to_csv(csv, index=False)
    return csv, df


def test_headcount_is_the_reps_who_worked_each_month(case, departures):
    """The observed headcount of a month is the number of reps with a row in that month."""
    csv, df = departures
    act = load_actuals(csv, case)
    obs = observed_metrics(case, act)
    expected = df.groupby("month")["rep_id"].nunique().sort_index().to_numpy(dtype=float)
    assert expected.tolist() == [12, 12, 11, 11, 10]
    np.testing.assert_array_equal(obs["headcount"], expected)


def test_a_team_coaching_rule_coaches_only_the_seats_worked_at_the_review(case, departures):
    """A team rule that always fires, with one-month coachings at monthly reviews, coaches
    every seat worked in the review's month: 12 + 12 + 11 + 11 + 10 firings per path (the
    vacant seats of rep03 and rep05 are not coached)."""
    csv, df = departures
    rule = Rule(metric="revisit_rate", response="coaching", below=1.01, per_rep=False,
                id="team", hours_per_month=3, duration_months=1, effect=0.25, cost=100.0)
    plan = case.replace(management=Management(review_every_months=1, rules=(rule,)))
    act = load_actuals(csv, plan)
    n = 20
    _, _, _, info = observed_state(plan, act, draw_parameters(plan, n, 3), seed=3)
    per_month = df.groupby("month")["rep_id"].nunique().sort_index().to_numpy()
    assert info["rules_fired"] == {"team": float(per_month.sum())}
    np.testing.assert_allclose(info["rule_money"], 100.0 * per_month)


def test_a_hiring_rule_fires_once_per_path(case):
    """A team hiring rule whose condition holds at each of the five monthly reviews fires at
    the first only (one hire per rule and path), costing its price once."""
    rule = Rule(metric="revisit_rate", response="hiring", below=1.01, id="hire",
                cost=5000.0, reps=1)
    plan = case.replace(management=Management(review_every_months=1, rules=(rule,)))
    act = load_actuals(ACTUALS, plan)
    n = 20
    _, _, _, info = observed_state(plan, act, draw_parameters(plan, n, 3), seed=3)
    assert info["rules_fired"] == {"hire": 1.0}
    np.testing.assert_allclose(info["rule_money"], [5000.0, 0, 0, 0, 0])


def _replayed(plan, csv, n=10, seed=3):
    """The replay of ``csv`` under ``plan`` with ``n`` prior draws."""
    act = load_actuals(csv, plan)
    pdf = draw_parameters(plan, n, seed)
    p = {k: pdf[k].to_numpy(float) for k in pdf.columns}
    return act, _replay(plan, get_model(plan.model), act, observed_metrics(plan, act), p)


def test_a_one_month_marketing_push_runs_in_the_month_after_its_review(case):
    """A team push of 4 events for one month, fired at every monthly review (its condition
    always holds), runs in the month after each review: 0 extra events in January, 4 in each
    of February to May, on every path; five firings at 1,000 each."""
    rule = Rule(metric="revisit_rate", response="marketing_push", below=1.01, id="push",
                events=4.0, duration_months=1, cost=1000.0)
    plan = case.replace(management=Management(review_every_months=1, rules=(rule,)))
    _, rep = _replayed(plan, ACTUALS)
    assert np.all(rep.mkt_events == [0.0, 4.0, 4.0, 4.0, 4.0])
    assert rep.fired == {"push": 5.0}
    assert np.all(rep.rule_money == 1000.0)


def test_a_new_occupant_in_the_last_month_does_not_inherit_the_coaching(case, tmp_path):
    """rep05 leaves after April and rep77 takes the seat in May, the last observed month. A
    six-month coaching of every seat worked in March (a quarterly review) is still running
    after May on the other eleven seats, but not on that seat: a change of occupant ends the
    seat's running responses, so the newcomer is not coached for rep05."""
    df = pd.read_csv(ACTUALS)
    df.loc[(df["rep_id"] == "rep05") & (df["month"] == "2027-05"), "rep_id"] = "rep77"
    df.to_csv(tmp_path / "team.csv", index=False)
    rule = Rule(metric="revisit_rate", response="coaching", below=1.01, per_rep=False,
                id="team", hours_per_month=3, duration_months=6, effect=0.25, cost=100.0)
    plan = case.replace(management=Management(review_every_months=3, rules=(rule,)))
    act, rep = _replayed(plan, tmp_path / "team.csv")
    seat = act.seat_of["rep05"]
    assert act.seat_of["rep77"] == seat and act.worked[seat].all()
    left = rep.state.coach_left
    assert np.all(left[:, seat] == 0)
    others = [i for i in range(act.n_seats) if i != seat and act.worked[i, 2]]
    assert len(others) == 11 and np.all(left[:, others] > 0)
    assert not rep.coach_on[:, seat, 4].any() and rep.coach_on[:, seat, 3].all()
