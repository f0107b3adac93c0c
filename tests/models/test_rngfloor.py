"""benchmarks/rngfloor.py records every draw of the sales model, the inverse-CDF counts too.

The recorder patches the samplers in the module of the monthly step; if the step moves (as it
did when sales.py became a package) or draws another way, the by-kind floor would silently lose
its Poisson and binomial draws. The expected counts follow from the plan: every stream draws a
(paths, seats) array each month, the survey streams only in survey months.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import okma_sim
import okma_sim.models.sales._month as month
from okma_sim.models import SalesTeamModel
from okma_sim.models.sales import survey_month

N = 300  # one block


def _load_rngfloor():
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "rngfloor.py"
    spec = importlib.util.spec_from_file_location("okma_rngfloor", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_draw_is_recorded_and_the_samplers_are_restored():
    rngfloor = _load_rngfloor()
    plan = okma_sim.load_plan(okma_sim.case_study_path())
    samplers = {k: getattr(month, k)
                for k in ("poisson_icdf", "binomial_icdf", "binomial_normal_icdf")}
    rec = rngfloor.record(plan, N, seed=1)
    assert {k: getattr(month, k) for k in samplers} == samplers  # undone

    model = SalesTeamModel()
    S, H = model.n_seats(plan), plan.horizon_months
    surveys = model.lever(plan, "csat_surveys_per_year")
    n_survey = sum(survey_month(int(c), surveys) for c in plan.calendar_months())
    assert 0 < n_survey < H
    seat_months = N * S * H
    counts = rec.counts()
    # acquisition, churn and orders are Poisson; revisits and the two CSAT counts binomial
    assert counts["inverted:poisson"] == 3 * seat_months
    assert counts["inverted:binomial"] == seat_months + 2 * N * S * n_survey
    # order values, and the market shock of each path and month
    assert counts["raw:standard_gamma"] == seat_months + N * H
    # uniforms: acquisition, churn, orders, attrition, two CSAT draws, survey completion,
    # and the model discrepancy's two of each path and month (on in the case study)
    assert counts["raw:random"] == 4 * seat_months + 2 * N * S * n_survey + N * n_survey \
        + 2 * N * H
    # normals: skill at the start, revisits and replacement skills every month
    assert counts["raw:standard_normal"] == N * S + 2 * seat_months
    # each inverted count stands for one raw uniform or normal call of its shape
    assert len(rngfloor._by_kind_calls(rec)) == len(rec.raw)


def test_a_sampler_missing_from_the_monthly_step_is_an_error(monkeypatch):
    # and no sampler is left patched (the others are looked up before any is wrapped)
    rngfloor = _load_rngfloor()
    poisson = month.poisson_icdf
    monkeypatch.delattr(month, "binomial_icdf")
    with pytest.raises(AttributeError, match="binomial_icdf"):
        rngfloor._patch_samplers(rngfloor.Recorder())
    assert month.poisson_icdf is poisson
