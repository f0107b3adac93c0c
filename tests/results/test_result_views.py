"""The public views of a SimulationResult, in process, each against an independent computation
from the result's own arrays: the per-path frame, the probability table, the monthly bands,
the rules table, the JSON document, the check table's optional lines, the grading text and
the anchor sentence (the CLI shows them, but only in subprocesses)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

import okma_sim
from okma_sim._core.formatting import format_amount, format_percent
from okma_sim.plan import KeyResult
from okma_sim.results import grade, grading_text
from okma_sim.results._result import anchor_text

from test_targets import toy_plan


@pytest.fixture(scope="module")
def toy():
    return okma_sim.simulate(toy_plan(), 1001, seed=8, progress=False)


@pytest.fixture(scope="module")
def adaptive():
    # a tolerance the first stage already meets: one stage, a short run
    return okma_sim.simulate(toy_plan(), seed=3, tolerance=0.03, max_paths=20000,
                             progress=False)


def test_model_name_is_the_models_registered_name(toy):
    """The result names the model by its registry name (the plan's ``model``), not its class."""
    assert toy.model_name == toy.plan.model == "linear_toy"


def test_frame_has_one_row_per_path_numbered_from_zero(toy):
    """to_frame: ``path`` is 0..n-1, each target's values and met flags are the result's."""
    df = toy.to_frame()
    assert len(df) == toy.n_paths
    assert np.array_equal(df["path"].to_numpy(), np.arange(toy.n_paths))
    for t in toy.plan.targets:
        v = toy.values[t.id]
        assert np.array_equal(df[t.id].to_numpy(), v)
        want = v >= t.target if t.comparison == ">=" else v <= t.target
        assert np.array_equal(df[f"{t.id}_met"].to_numpy(), want)


def test_probability_table_kinds_and_chances(toy):
    """probabilities(): objectives read ``objective``, KRs ``key_result``; each chance is the
    share of paths meeting the target."""
    df = toy.probabilities().set_index("id")
    for t in toy.plan.targets:
        kind = "key_result" if isinstance(t, KeyResult) else "objective"
        assert df.loc[t.id, "kind"] == kind
        v = toy.values[t.id]
        met = v >= t.target if t.comparison == ">=" else v <= t.target
        assert df.loc[t.id, "probability"] == pytest.approx(met.mean(), abs=1e-12)
    assert set(df["kind"]) == {"objective", "key_result"}


def test_bands_are_the_monthly_quantiles(toy):
    """bands(metric): row j holds the quantiles over paths of month j's values."""
    q = (0.05, 0.5, 0.95)
    b = toy.bands("score", q=q)
    arr = np.asarray(toy.monthly["score"], dtype=float)
    assert b.shape == (arr.shape[1], 3) and list(b.columns) == ["p05", "p50", "p95"]
    for j in range(arr.shape[1]):
        col = np.sort(arr[:, j])
        for k, x in enumerate(q):  # numpy's default (linear) quantile, written out
            h = (len(col) - 1) * x
            lo = int(math.floor(h))
            want = col[lo] + (h - lo) * (col[min(lo + 1, len(col) - 1)] - col[lo])
            assert b.iloc[j, k] == pytest.approx(want, rel=1e-12, abs=1e-12)


def test_rules_cost_defaults_to_zero_when_a_model_reports_only_firings(toy):
    """rules(): a model may count a rule's firings without a cost; the cost per path is 0,
    and the firings are per path."""
    n = toy.n_paths
    res = dataclasses.replace(toy, diagnostics={"rule:r1:fired": 3.0 * n,
                                                "rule:r2:fired": 1.0 * n,
                                                "rule:r2:cost": 50.0 * n})
    df = res.rules().set_index("rule")
    assert sorted(df.index) == ["r1", "r2"]
    assert df.loc["r1", "fired_per_path"] == pytest.approx(3.0)
    assert df.loc["r1", "cost_per_path"] == 0.0
    assert df.loc["r2", "cost_per_path"] == pytest.approx(50.0)


def test_json_document_entries_and_no_adaptive_key_without_stopping(toy):
    """to_json_dict: one entry per target with its id and chance; the ``adaptive`` key only
    for an adaptive run."""
    doc = toy.to_json_dict()
    ids = [d["id"] for d in doc["objectives"]] + [d["id"] for d in doc["key_results"]]
    assert ids == [t.id for t in toy.plan.targets]
    for d in doc["objectives"] + doc["key_results"]:
        t = toy.plan.target(d["id"])
        v = toy.values[t.id]
        met = v >= t.target if t.comparison == ">=" else v <= t.target
        assert d["probability"] == pytest.approx(met.mean(), abs=1e-12)
    assert doc["key_results"][0]["objective"] == "s"
    assert "adaptive" not in doc
    assert "adaptive" not in toy.table()


def test_adaptive_run_reports_its_tolerance_in_json_and_table(adaptive):
    """An adaptive run's document carries its stopping record, and the table states the
    margin and the tolerance asked in % with two decimals."""
    ad = adaptive.extra["adaptive"]
    assert adaptive.to_json_dict()["adaptive"] == dict(ad)
    line = next(x for x in adaptive.table().splitlines() if x.startswith("adaptive stopping"))
    assert f"(asked: {100 * 0.03:.2f}%)" in line
    assert f"is {100 * ad['half_width']:.2f}%" in line


def test_revenue_line_only_with_a_revenue_growth_target():
    """Last year's revenue is printed only when a target is revenue growth: the case study
    without its revenue objective has a baseline but no such line."""
    plan = okma_sim.load_plan(okma_sim.case_study_path())
    assert plan.baseline is not None
    kept = dataclasses.replace(
        plan, objectives=tuple(o for o in plan.objectives if o.metric != "revenue_growth"),
        key_results=tuple(dataclasses.replace(
            k, objective=tuple(x for x in k.objective if x != "revenue") or ("csat",))
            for k in plan.key_results))
    assert all(t.metric != "revenue_growth" for t in kept.targets)
    res = okma_sim.simulate(kept, 100, seed=1, progress=False)
    assert "last year's revenue" not in res.table()


def test_grading_text_grades_the_result_itself(toy):
    """grading_text(result) without a grading grades the result, and the 8-in-10 range is
    the 10th and 90th percentile of the scores (baseline -> target, clipped to 0-1)."""
    g = grade(toy)
    text = grading_text(toy)
    assert text == grading_text(toy, g)
    k = toy.plan.target("h")
    s = np.clip((toy.values["h"] - k.baseline) / (k.target - k.baseline), 0.0, 1.0)
    p10, p90 = np.quantile(s, [0.1, 0.9])
    line = text.splitlines()[1]
    assert (f"runs between {format_percent(g.loc[0, 'score_p10'])} and "
            f"{format_percent(g.loc[0, 'score_p90'])}") in line
    assert g.loc[0, "score_p10"] == pytest.approx(p10, abs=1e-12)
    assert g.loc[0, "score_p90"] == pytest.approx(p90, abs=1e-12)


@pytest.mark.parametrize("figures", [
    {"revenue": 27_810_000.0},
    {"revenue": 27_810_000.0, "new_customers": 7.0},
    {"revenue": 27_810_000.0, "revisit_rate": 0.85},
    {"revenue": 27_810_000.0, "new_customers": 7.5, "revisit_rate": 0.85},
])
def test_anchor_sentence_names_the_figures_it_has(figures):
    """anchor_text names exactly the figures the anchor holds."""
    text = anchor_text({"figures": figures}, "CNY")
    assert f"revenue {format_amount(27_810_000.0, 'CNY')}" in text
    assert ("new customers a month" in text) == ("new_customers" in figures)
    assert ("revisit rate" in text) == ("revisit_rate" in figures)
    if "new_customers" in figures:
        assert f"{figures['new_customers']:g} new customers a month" in text
