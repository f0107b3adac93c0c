"""Anchoring an uncalibrated plan's draws to its baseline year (docs/model.md section 11).

The properties checked are exact consequences of the method, not seeded values: each path's
scale is ``stated / simulated`` from one run of the baseline year, so a fresh run of that year
with the anchored draws is ``stated x (replicate / replicate)``, and two replicates of one
path are exchangeable: the replay lands above the stated figure on half the paths (a binomial
test with its 4-SE band).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

import okma_sim
from cli_helpers import one_error_line, run_cli
from okma_sim.engine import draw_parameters
from okma_sim.models import get_model
from okma_sim.plan import check_plan, dumps_plan, loads_plan

N = 4000


@pytest.fixture(scope="module")
def plan():
    return okma_sim.load_plan(okma_sim.case_study_path())


def _anchor(plan, on: bool):
    return plan.replace(simulation=dataclasses.replace(plan.simulation, anchor=on))


def _baseline_year(plan):
    """The baseline year as its own plan (last year's actions, no rules), not anchored."""
    model = get_model(plan.model)
    from okma_sim.models.sales import baseline_plan
    return _anchor(baseline_plan(plan, model.levers), False)


@pytest.fixture(scope="module")
def replay(plan):
    """The anchored draws of the case study, and the baseline year re-run with them under
    another seed (fresh month-to-month noise)."""
    pv = draw_parameters(plan, N, 11)
    res = okma_sim.simulate(_baseline_year(plan), n_paths=N, seed=12, keep_monthly="all",
                            parameter_values={k: pv[k].to_numpy() for k in pv})
    return pv, {k: np.asarray(v, dtype=float) for k, v in res.monthly.items()}


def _half_above(x: np.ndarray, stated: float) -> None:
    """Above and below the stated figure equally often, within 4 binomial SEs."""
    above, below = np.mean(x > stated), np.mean(x < stated)
    se = math.sqrt((above + below) / len(x))  # SE of the difference of the two shares
    assert abs(above - below) <= 4 * se, (above, below, se)


def test_the_replayed_baseline_year_brings_the_stated_revenue(plan, replay):
    _, m = replay
    _half_above(m["revenue"].sum(1), plan.baseline.annual)
    # and each month's median sits within the month's own noise of the stated month (the
    # shape comes from the seasonal prior, not from the baseline's months)
    med = np.median(m["revenue"], 0)
    sd = m["revenue"].std(0)
    assert np.all(np.abs(med - plan.baseline.monthly_revenue) <= 0.5 * sd)


def test_the_replayed_baseline_year_brings_the_key_results_baselines(plan, replay):
    _, m = replay
    _half_above(m["new_customers"].mean(1), 7.0)
    # the revisit curve's inverse is not a plain ratio: the replay's median sits within a
    # fifth of the rate's own path-to-path noise of the stated 0.70
    rr = m["revisit_rate"].mean(1)
    assert abs(np.median(rr) - 0.70) <= 0.2 * rr.std()


def test_anchoring_removes_the_ignorance_of_the_scale(plan):
    """At last year's actions the first month carries month-to-month noise: its p95/p05 is
    close to the noise-only ratio, far below the unanchored one. Noise here is the monthly
    draws and the model discrepancy (its uncertain size included): every other parameter is
    pinned at its median."""
    at_base = plan.with_actions(**plan.baseline.actions)

    def ratio(p, **kw):
        res = okma_sim.simulate(p, n_paths=N, seed=3, keep_monthly=["revenue"], **kw)
        r = np.asarray(res.monthly["revenue"][:, 0], dtype=float)
        q05, q50, q95 = np.quantile(r, [0.05, 0.5, 0.95])
        return q95 / q05, q50

    anchored, med = ratio(at_base)
    loose, _ = ratio(_anchor(at_base, False))
    pv = draw_parameters(at_base, N, 3)
    noise, _ = ratio(at_base, pinned={k: float(pv[k].median()) for k in pv
                                      if not k.startswith("discrepancy_")})
    assert abs(med / plan.baseline.monthly_revenue[0] - 1) <= 0.10
    assert anchored <= 1.1 * noise < loose


def test_a_plan_starting_in_the_year_1_is_anchored_too(plan):
    # the baseline year needs only the plan's calendar months, never a date before the year 1
    early = okma_sim.simulate(plan.replace(start_month="0001-01"), n_paths=200, seed=2)
    same = okma_sim.simulate(plan.replace(start_month="2027-01"), n_paths=200, seed=2)
    assert early.extra["anchor"] == same.extra["anchor"]
    assert early.params.equals(same.params)


def test_the_draws_do_not_move_with_this_years_levers(plan):
    a = draw_parameters(plan, 500, 5)
    b = draw_parameters(plan.with_actions(prospect_visits_per_week=12), 500, 5)
    assert a.equals(b)
    off = draw_parameters(_anchor(plan, False), 500, 5)
    moved = [k for k in a if not np.array_equal(a[k], off[k])]
    assert sorted(moved) == ["base_win_rate", "followup_targeting", "order_value"]


def test_anchoring_is_the_same_in_every_chunking(plan):
    one = okma_sim.simulate(plan, n_paths=2500, seed=4)
    chunked = okma_sim.simulate(plan, n_paths=2500, seed=4, chunk_size=1024)
    assert np.array_equal(one.params.to_numpy(), chunked.params.to_numpy())
    assert one.all_met() == chunked.all_met()
    assert one.extra["anchor"]["figures"] == {"new_customers": 7.0, "revisit_rate": 0.7,
                                              "revenue": plan.baseline.annual}


def test_a_calibrated_or_switched_off_plan_is_not_anchored(plan):
    model = get_model(plan.model)
    assert model.anchors(_anchor(plan, False)) == {}
    calibrated = plan.replace(calibration=okma_sim.plan.Calibration(observed={}))
    assert model.anchors(calibrated) == {}
    assert okma_sim.simulate(calibrated, n_paths=100, seed=1).to_json_dict()["anchor"] is None


def test_without_baseline_actions_the_plans_stand_in_with_a_warning(plan):
    text = dumps_plan(plan)
    start = text.index("[baseline.actions]")
    end = text.index("\n\n", start)
    bare = loads_plan(text[:start] + text[end + 2:])
    assert bare.baseline.assumed == tuple(plan.actions)
    assert dict(bare.baseline.actions) == dict(plan.actions)
    _, warnings = check_plan(bare)
    assert any(w.startswith("baseline.actions: no level for prospect_visits_per_week, ")
               for w in warnings)
    # this year's levers move; last year's stay where the file put them
    moved = bare.with_actions(prospect_visits_per_week=12)
    assert moved.baseline.actions["prospect_visits_per_week"] == 7
    # a saved plan does not turn the stand-in into a statement
    assert "[baseline.actions]" not in dumps_plan(bare)
    _, warnings = check_plan(plan)
    assert not any(w.startswith("baseline.actions") for w in warnings)
    assert loads_plan(text).baseline == plan.baseline
    # a level left out is the plan's, and named
    part = loads_plan(text.replace("training_hours_per_month = 4\n", "", 1))
    assert part.baseline.assumed_levels == ("training_hours_per_month",)
    assert part.baseline.actions["training_hours_per_month"] == 6
    assert "training_hours_per_month = 6" not in dumps_plan(part).split("[baseline.actions]")[1] \
        .split("\n\n")[0]


def test_a_bad_baseline_action_is_one_line_naming_its_key(tmp_path, plan):
    text = dumps_plan(plan).replace("customer_visits_per_week = 4",
                                    "customer_visit_per_week = 4", 1)
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    one_error_line(run_cli("validate", bad), str(bad), "baseline.actions.customer_visit_per_week")
    bad.write_text(dumps_plan(plan).replace("customer_visits_per_week = 4",
                                            "customer_visits_per_week = -4", 1))
    one_error_line(run_cli("validate", bad), "baseline.actions.customer_visits_per_week", "-4")
