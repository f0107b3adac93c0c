"""The check table, its verdicts and the grading read in plain words, and every number they
print is the result's own: the % of each chance is round(100 p) of its Estimate, revenue
amounts are (1 + growth) x last year's revenue, the rule line is the diagnostics per year."""

from __future__ import annotations

import re

import numpy as np
import pytest

import okma_sim
from okma_sim._core.formatting import (format_amount, format_chance, format_odds,
                                       format_percent)
from okma_sim.results import baseline_total, grade, grading_text, target_label


@pytest.fixture(scope="module")
def res():
    plan = okma_sim.load_plan(okma_sim.case_study_path())
    return okma_sim.simulate(plan, n_paths=2000, seed=1, progress=False)


def test_formatter_percent_and_odds_agree_with_arithmetic():
    for p in np.linspace(0.01, 0.99, 99):
        assert format_percent(p) == f"{round(100 * p)}%"
    for k in range(2, 20):
        assert format_odds(1.0 / k) == f"about 1 in {k}"
    for k in range(6, 10):
        assert format_odds(k / 10) == f"about {k} in 10"
    # "0%" would read as never, "100%" as certain
    assert format_percent(0.001) == "<1%" and format_percent(0.999) == ">99%"
    assert format_amount(36_153_000, "CNY") == "36.15 M CNY"


def test_revenue_in_currency_amounts(res):
    plan = res.plan
    base = baseline_total(plan)
    assert base == pytest.approx(sum(plan.baseline.monthly_revenue))  # 12-month horizon
    text = res.table()
    assert f"last year's revenue: {format_amount(base, 'CNY')}" in text
    assert format_amount(base, "CNY") == "27.81 M CNY"
    row = next(line for line in text.splitlines() if line.startswith("O  Grow revenue"))
    assert f"≥ {format_amount(1.3 * base, 'CNY')} (+30%)" in row
    assert "36.15 M CNY" in row
    q = res.quantiles("revenue")
    for k in ("p05", "p50", "p95"):  # the growth quantiles as the revenue they mean
        assert format_amount((1 + q[k]) * base, "CNY") in row


def test_every_verdict_prints_the_estimate(res):
    text = res.table()
    verdicts = text.split("Verdicts:")[1].splitlines()
    for t in res.plan.targets:
        e = res.probability(t.id)
        line = next(v for v in verdicts if v.strip().startswith(target_label(t, res.plan)))
        m = re.search(r": (\d+)% chance \(± ([\d.]+)%\), (about .*)$", line)
        assert m, line
        assert int(m.group(1)) == round(100 * e.probability)
        assert float(m.group(2)) == pytest.approx(round(100 * e.stderr, 1))
        assert m.group(3) == format_odds(e.probability)
    a = res.all_met()
    assert f"All objectives together: {format_chance(a.probability, a.stderr)}" in text
    # the revenue verdict in the words
    e = res.probability("revenue")
    assert f"+30% revenue (36.15 M CNY): {round(100 * e.probability)}% chance" in text


def test_rates_in_percent_and_readable_names(res):
    text = res.table()
    row = next(line for line in text.splitlines() if line.startswith("KR Revisit"))
    q = res.quantiles("revisit_rate")
    for k in ("p05", "p50", "p95"):
        assert format_percent(q[k], digits=1).replace(".0%", "%") in row
    assert "≥ 80% monthly average" in row
    for word in ("paths", "sampler", "P(met)", "(final)", "(mean)", "revisit_rate",
                 "new_customers", "0.300"):
        assert word not in text, word
    assert "2,000 simulated runs" in text.splitlines()[0]


def test_rule_line_is_per_year_across_the_team(res):
    fired = res.diagnostics["rule:coach_low_revisit:fired"] / res.n_paths
    cost = res.diagnostics["rule:coach_low_revisit:cost"] / res.n_paths
    line = next(x for x in res.table().splitlines() if x.startswith("the coaching rule"))
    assert f"triggers about {fired:.0f} times a year across the team" in line
    assert f"costing {format_amount(cost, 'CNY')} a year" in line


def test_grading_reads_as_sentences(res):
    g = grade(res)
    text = grading_text(res, g)
    lines = text.splitlines()
    assert len(lines) == 1 + len(g)
    for (_, r), line in zip(g.iterrows(), lines[1:]):
        statement = res.plan.target(r["id"]).statement
        assert line.strip().startswith(statement)
        assert f"expected to get {round(100 * r['expected_score'])}% of the way" in line
        assert format_chance(r["probability"], r["stderr"]) in line
        word = {"committed": "a committed goal", "stretch": "a stretch goal",
                "unrealistic": "unrealistic as planned"}[r["label"]]
        assert word in line
    # the DataFrame API is unchanged
    assert list(g.columns) == ["id", "baseline", "target", "expected_score",
                               "expected_score_stderr", "score_p10", "score_p50", "score_p90",
                               "probability", "stderr", "label"]


def test_other_samplers_are_named_in_words():
    plan = okma_sim.load_plan(okma_sim.case_study_path())
    r = okma_sim.simulate(plan, n_paths=256, seed=2, sampler="sobol", progress=False)
    head = r.table().splitlines()[0]
    assert "Sobol' quasi-Monte Carlo" in head and "sobol" not in head
