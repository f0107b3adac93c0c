"""The backtest's set-up, law by law: the format a caller names, the model a caller passes,
the parameter design, the recorded roster's seats (who takes which seat, who comes back),
what a seat carries over the cutoff (training stock, shrunk skill), the levers of a month
nobody worked, and the effort months of an opportunity export.

Each expected value is computed in the test from the history's rows (or is an analytic
expectation with a 4 SE tolerance), never read off a run."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import okma_sim
from okma_sim import DataError
from okma_sim.inference import (
    backtest,
    crm_effort,
    fit_history,
    history_months,
    load_history,
    rolling_backtest,
)
from okma_sim.inference._forecast import (
    Seat,
    draw_params,
    opportunity_setup,
    rep_month_setup,
    simulate_window,
)
from okma_sim.inference._priors import frozen, is_fixed
from okma_sim.io import opportunities_to_panel
from okma_sim.models import REFERENCE_TRAINING_HOURS, WEEKS_PER_MONTH
from okma_sim.models.sales import REFERENCE_PROSPECT_VISITS
from okma_sim.params import Distribution


@pytest.fixture(scope="module")
def hist():
    """The bundled rep-month history."""
    return load_history(okma_sim.data_path("sales_history.csv"))


def _crm():
    return load_history(okma_sim.data_path("crm_sales_opportunities"), "opportunities")


def _month(ym: str) -> int:
    return pd.Period(ym, freq="M").ordinal


# --------------------------------------------------------------------------------------------
# what the caller names: the format, the model
# --------------------------------------------------------------------------------------------
def test_a_named_format_wins_over_a_column_that_suggests_another(hist):
    """A rep-month history may carry an extra column named ``deal_stage`` (say, the stage of
    each rep's latest deal); with ``fmt="rep-month"`` named, the single and the rolling
    backtest treat it as the rep-month history it is: their results equal those of the same
    history without the column."""
    extra = hist.copy()
    extra["deal_stage"] = "Won"
    extra.attrs = dict(hist.attrs)
    assert history_months(extra, "rep-month") == history_months(hist)
    a = backtest(extra, "2026-06", 1, fmt="rep-month", n_paths=100, seed=3).to_json_dict()
    b = backtest(hist, "2026-06", 1, n_paths=100, seed=3).to_json_dict()
    assert a["metrics"] == b["metrics"] and a["agent_months"] == b["agent_months"]
    r = rolling_backtest(extra, 1, fmt="rep-month", first_cutoff="2026-11", n_paths=100,
                         seed=3).to_json_dict()
    s = rolling_backtest(hist, 1, first_cutoff="2026-11", n_paths=100, seed=3).to_json_dict()
    assert r == s and r["cutoff"] == "2026-11"


def test_the_model_passed_is_the_model_fitted(hist):
    """A model object passed to ``backtest`` is the one the fit uses: a prior the history
    does not inform (the ramp months) comes out as that model's prior, not the default
    model's."""
    model = okma_sim.SalesTeamModel()
    ramp = Distribution("pert", {"low": 1.0, "mode": 2.0, "high": 3.0})
    model.parameters = {**model.parameters, "ramp_months": ramp}
    assert okma_sim.SalesTeamModel().parameters["ramp_months"] != ramp
    bt = backtest(hist, "2026-06", 1, n_paths=50, seed=1, model=model)
    e = bt.fit.entry("ramp_months")
    assert e.source == "prior"
    assert bt.fit.parameters["ramp_months"] == ramp
    assert e.estimate == pytest.approx(2.0)  # the PERT's mean (1 + 4*2 + 3) / 6


def test_no_closed_deals_names_the_file():
    """An export with no Won or Lost deal cannot be fitted: the error names its file."""
    opps = _crm()
    open_only = opps.assign(deal_stage="Engaging")
    open_only.attrs = {"source": "exports/q3_pipeline.csv"}
    with pytest.raises(DataError, match="no closed") as err:
        history_months(open_only, "opportunities")
    assert "exports/q3_pipeline.csv" in str(err.value)


# --------------------------------------------------------------------------------------------
# the parameter design
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [7, 40])
def test_latin_hypercube_draws_put_one_draw_in_each_stratum(hist, case, n):
    """``sampler="lhs"``: for every drawn parameter, the fitted CDF of its n draws falls
    once in each of the n equal strata of (0, 1) (the rank correlations only reorder each
    column, so the strata survive them); pinned and fixed parameters keep their value."""
    fit = fit_history(hist, case, through="2026-06")
    out = draw_params(fit, n, np.random.default_rng(5), {"marketing_effect": 0.02}, "lhs")
    assert set(out) == set(fit.parameters)
    assert np.all(out["marketing_effect"] == 0.02)
    drawn = 0
    for name, d in fit.parameters.items():
        x = out[name]
        assert x.shape == (n,) and x.dtype == np.float64
        if name == "marketing_effect" or is_fixed(d):
            continue
        cell = np.floor(frozen(d).cdf(x) * n).astype(int)
        assert sorted(cell) == list(range(n)), name
        drawn += 1
    assert drawn >= 10


# --------------------------------------------------------------------------------------------
# the recorded roster: who takes which seat, who comes back
# --------------------------------------------------------------------------------------------
def _fixed_params(n: int, **over: float) -> dict[str, np.ndarray]:
    model = okma_sim.SalesTeamModel()
    fixed = {k: float(v.mean()) for k, v in model.parameters.items()}
    fixed.update(base_win_rate=2.0, visit_elasticity=0.3, training_effect=0.0,
                 quarter_end_uplift=0.0, marketing_effect=0.0, rep_attrition_annual=0.0,
                 ramp_months=5.0, skill_cv=0.3, churn_base=0.0, **over)
    return {k: np.full(n, v) for k, v in fixed.items()}


LEVER = {"prospect_visits_per_week": 8.0, "customer_visits_per_week": 8.0,
         "training_hours_per_month": 0.0, "marketing_events_per_quarter": 0.0,
         "csat_surveys_per_year": 0.0}


def test_a_new_rep_takes_the_seat_vacated_longest_ago(case):
    """A1 leaves after month 0 (book 50), A0 after month 1 (book 10); a new rep in month 2
    takes A1's seat, vacant longest: with churn off, the new rep's customers at the start of
    month 2 are exactly A1's 50 plus A1's month-0 wins, path by path, and A0's seat stays
    vacant."""
    seats = [Seat(rep="A0", book=10.0, tenure=24.0, skill=1.0),
             Seat(rep="A1", book=50.0, tenure=24.0, skill=1.0),
             Seat(rep=None, book=0.0, state=0)]
    by_rep: dict = {}
    simulate_window(case, seats, [{"A0", "A1"}, {"A0"}, {"NEW"}], [LEVER] * 3,
                    _fixed_params(300), "2027-04", seed=2, model=okma_sim.SalesTeamModel(),
                    by_rep=by_rep)
    assert [(s.rep, s.state) for s in seats] == [("A0", 1), ("NEW", 2), (None, 0)]
    new = by_rep["NEW"]
    assert np.array_equal(new["active"][:, 2], 50.0 + by_rep["A1"]["new"][:, 0])
    assert np.all(np.isnan(new["active"][:, :2]))


def test_a_returning_rep_sells_again_from_his_own_seat(case):
    """A0 works months 0 and 2 and is away in month 1: month 1's expected new customers are
    A1's alone, month 2's both reps' again, base_win_rate * skill * (visits/ref)^e each
    (fixed parameters, fully ramped, no season or training; 4 SE)."""
    n = 4000
    skills = (0.8, 1.3)
    seats = [Seat(rep=f"A{i}", book=30.0, tenure=24.0, skill=s) for i, s in enumerate(skills)]
    by_rep: dict = {}
    out = simulate_window(case, seats, [{"A0", "A1"}, {"A1"}, {"A0", "A1"}], [LEVER] * 3,
                          _fixed_params(n), "2027-04", seed=4, model=okma_sim.SalesTeamModel(),
                          by_rep=by_rep)
    eff = (LEVER["prospect_visits_per_week"] * WEEKS_PER_MONTH / REFERENCE_PROSPECT_VISITS) ** 0.3
    for g, working in enumerate([skills, skills[1:], skills]):
        x = out["new"][:, g]
        assert abs(x.mean() - 2.0 * eff * sum(working)) < 4 * x.std(ddof=1) / math.sqrt(n), g
    a0 = by_rep["A0"]["new"]
    assert np.all(np.isnan(a0[:, 1]))
    assert abs(a0[:, 2].mean() - 2.0 * eff * 0.8) < 4 * a0[:, 2].std(ddof=1) / math.sqrt(n)
    assert [(s.rep, s.state) for s in seats] == [("A0", 2), ("A1", 2)]


# --------------------------------------------------------------------------------------------
# what a seat carries over the cutoff, and the levers of a month nobody worked
# --------------------------------------------------------------------------------------------
def _rows(months, reps, hours):
    """A small rep-month history: ``hours[rep][k]`` training hours in the k-th month."""
    return [{"month": m, "rep_id": r, "prospect_visits": 20 + 2 * k + i,
             "customer_visits": 30 + k, "new_customers": 2, "active_customers": 40 + k,
             "revisited_customers": 30, "churned_customers": 1, "revenue": 90000.0,
             "training_hours": hours[r][k], "csat_responses": 0, "csat_satisfied": 0}
            for k, m in enumerate(months) for i, r in enumerate(reps) if m is not None]


def test_the_training_stock_carried_over_the_cutoff(tmp_path, case):
    """A seat's training stock at the start of the first forecast month is the recorded
    hours' retention-weighted sum, (1 - r) sum_t r^(T-t) h_t / H_ref, the stock starting
    at 0 in the rep's first month."""
    months = [f"2025-{m:02d}" for m in range(1, 7)]
    hours = {"R1": [0, 12, 0, 6, 20, 4], "R2": [8, 0, 0, 0, 0, 16]}
    pd.DataFrame(_rows(months, ["R1", "R2"], hours)).to_csv(tmp_path / "h.csv", index=False)
    h = load_history(tmp_path / "h.csv")
    fit = fit_history(h, case, through="2025-05")
    r = fit.plugins["training_retention"]
    assert 0 < r < 1
    seats, *_ = rep_month_setup(h, fit, case, _month("2025-05"), 1)
    for s in seats:
        hh = hours[s.rep][:5]
        expect = sum((1 - r) * r ** (4 - t) * hh[t] for t in range(5)) / REFERENCE_TRAINING_HOURS
        assert s.stock == pytest.approx(expect, rel=1e-12), s.rep


def test_a_month_nobody_worked_takes_the_last_worked_levels(tmp_path, case):
    """Nobody worked in the cutoff month nor the next; the forecast's first month takes the
    levers of the months before (their mean over the fitted rows), the second month its own
    recorded means."""
    months = ["2025-01", "2025-02", "2025-03", "2025-04", None, None, "2025-07"]
    hours = {"R1": [2, 4, 6, 8, 0, 0, 10], "R2": [0, 0, 12, 0, 0, 0, 3]}
    rows = _rows(months, ["R1", "R2"], hours)
    pd.DataFrame(rows).to_csv(tmp_path / "h.csv", index=False)
    h = load_history(tmp_path / "h.csv")
    fit = fit_history(h, case, through="2025-04")
    _, roster, levers, _ = rep_month_setup(h, fit, case, _month("2025-05"), 2)
    assert roster == [set(), {"R1", "R2"}]
    train = pd.DataFrame([x for x in rows if x["month"] <= "2025-04"])
    july = pd.DataFrame([x for x in rows if x["month"] == "2025-07"])
    for g, src in enumerate([train, july]):
        assert levers[g]["prospect_visits_per_week"] == pytest.approx(
            src["prospect_visits"].mean() / WEEKS_PER_MONTH)
        assert levers[g]["customer_visits_per_week"] == pytest.approx(
            src["customer_visits"].mean() / WEEKS_PER_MONTH)
        assert levers[g]["training_hours_per_month"] == pytest.approx(
            src["training_hours"].mean())


# --------------------------------------------------------------------------------------------
# an opportunity export: shrunk skills at the cutoff, the effort of each forecast month
# --------------------------------------------------------------------------------------------
def test_an_export_forecast_uses_the_fit_skills_and_each_month_effort(case):
    """The seats at the cutoff carry each agent's shrunk skill from the fit; forecast month g
    runs at the export's effort of month cutoff + 1 + g (opportunities engaged per agent,
    trailing 3-month mean), which differs from month to month."""
    opps = _crm()
    cutoff = "2017-06"
    fit = fit_history(opps, case, "opportunities", through=cutoff, seed=0)
    c = _month(cutoff)
    seats, _, levers, _ = opportunity_setup(opps, fit, case, c, 3, "sales_agent")
    shrunk = dict(zip(fit.skills["rep_id"], fit.skills["shrunk"]))
    at_cut = [s for s in seats if s.state == 2]
    assert at_cut and all(s.rep in shrunk for s in at_cut)
    assert [s.skill for s in at_cut] == [float(shrunk[s.rep]) for s in at_cut]
    effort = crm_effort(opportunities_to_panel(opps, by="sales_agent"))
    want = [effort[c + 1 + g] for g in range(3)]
    assert len(set(want)) == 3
    got = [lv["prospect_visits_per_week"] * WEEKS_PER_MONTH for lv in levers]
    assert got == pytest.approx(want, rel=1e-12)
