"""Which months the naive baseline uses, pinned by a computation from the history itself:
the team's last 12 months at or before the cutoff (team totals), and each rep's own last 12.
A window shifted by a month, or reaching past the cutoff, gives another CRPS, which the tests
check can be told apart. And the scores' edges: a PIT on an interval's bound is inside it,
non-finite members are dropped."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from okma_sim.inference import backtest, crps_ensemble, load_history, randomized_pit

ROOT = Path(__file__).resolve().parents[2]
CUTOFF = "2026-09"


@pytest.fixture(scope="module")
def hist():
    return load_history(ROOT / "data" / "sales_history.csv")


@pytest.fixture(scope="module")
def res(hist):
    return backtest(hist, CUTOFF, 2, n_paths=200, seed=3)


def _team_series(hist, metric):
    team = hist.groupby("month").sum(numeric_only=True)
    if metric == "revisit_rate":
        return team["revisited_customers"] / team["active_customers"]
    return team[metric]


def _by_hand(x, y):
    """CRPS of an ensemble by its definition, E|X - y| - E|X - X'| / 2, over all pairs."""
    x = np.asarray(x, dtype=float)
    return float(np.mean(np.abs(x - y)) - 0.5 * np.mean(np.abs(x[:, None] - x[None, :])))


@pytest.mark.parametrize("metric", ["revenue", "new_customers", "revisit_rate"])
def test_team_baseline_is_the_last_12_months_to_the_cutoff(hist, res, metric):
    series = _team_series(hist, metric)
    past = series[series.index <= CUTOFF].to_numpy(float)
    assert past.size > 13  # a window of 12 is a choice, not all the data
    entries = [e for e in res.to_json_dict()["metrics"] if e["metric"] == metric]
    assert [e["month"] for e in entries] == ["2026-10", "2026-11"]
    for e in entries:
        assert e["actual"] == pytest.approx(float(series[e["month"]]))
        want = _by_hand(past[-12:], e["actual"])
        assert e["baseline_crps"] == pytest.approx(want, rel=1e-9)
        # the neighbouring windows are told apart at this precision
        for other in (past[-11:], past[-13:], past[-13:-1],
                      series[series.index <= e["month"]].to_numpy(float)[-12:]):
            assert abs(_by_hand(other, e["actual"]) - want) > 1e-6 * abs(want)


def test_each_reps_baseline_is_their_own_last_12_months(hist, res):
    entries = [e for e in res.agent_entries if e["metric"] in ("revenue", "new_customers")]
    assert len(entries) >= 20
    for e in entries:
        rows = hist[(hist["rep_id"] == e["agent"]) & (hist["month"] <= CUTOFF)]
        past = rows[e["metric"]].to_numpy(float)
        if past.size < 2:  # a new rep: no naive ensemble yet
            assert math.isnan(e["baseline_crps"]), e
            continue
        want = _by_hand(past[-12:], e["actual"])
        assert e["baseline_crps"] == pytest.approx(want, rel=1e-9, abs=1e-12), e
    # the skill is 1 - crps / baseline, per metric, over the entries
    doc = res.to_json_dict()
    for m, skill in doc["crps_skill"].items():
        sub = [x for x in doc["metrics"] if x["metric"] == m]
        crps = np.mean([x["crps"] for x in sub])
        base = np.mean([x["baseline_crps"] for x in sub])
        assert skill == pytest.approx(1 - crps / base)


def test_crps_sample_formula_equals_the_pair_definition():
    rng = np.random.default_rng(3)
    for n in (2, 3, 7, 50):
        x = rng.normal(size=n)
        assert crps_ensemble(x, 0.3) == pytest.approx(_by_hand(x, 0.3), rel=1e-12)
    # non-finite members are dropped; nothing finite, or a non-finite outcome: NaN
    assert crps_ensemble(np.array([1.0, np.nan, 3.0]), 2.0) == pytest.approx(
        _by_hand([1.0, 3.0], 2.0))
    assert math.isnan(crps_ensemble(np.array([np.nan]), 1.0))
    assert math.isnan(crps_ensemble(np.array([1.0, 2.0]), math.inf))


def test_randomized_pit_edges():
    x = np.array([0.0, 1.0, 1.0, 2.0, np.inf])  # the infinite member is dropped
    assert randomized_pit(x, 1.0, 0.0) == 0.25  # F(y-) = 1/4
    assert randomized_pit(x, 1.0, 1.0) == 0.75  # F(y) = 3/4
    assert randomized_pit(x, 5.0, 0.3) == 1.0
    assert randomized_pit(x, -1.0, 0.3) == 0.0
    assert math.isnan(randomized_pit(x, math.nan, 0.5))


def test_held_counts_a_pit_on_the_bound_as_inside():
    from okma_sim.inference._scores import held, scores
    entries = [{"pit": p, "metric": "m", "crps": 1.0, "baseline_crps": 2.0, "step": 1}
               for p in (0.1, 0.9, 0.0999, 0.9001, 0.5, None, math.nan)]
    assert held(entries, 0.8) == (3, 5)
    got = scores(entries)
    assert got["coverage"]["80"] == pytest.approx(3 / 5)
    assert got["coverage"]["50"] == pytest.approx(1 / 5)
    assert got["coverage"]["95"] == pytest.approx(5 / 5)
    assert got["crps_skill"]["m"] == pytest.approx(0.5) and got["n"] == 7
