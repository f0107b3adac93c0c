"""A review at the full horizon: observed verdicts, nothing simulated (n_paths 0), the table
tagging objectives "O" and key results "KR"; a target on a metric the actuals cannot give is
warned about; a model that is not the sales model is refused by its type's name."""

from __future__ import annotations

import dataclasses
import re

import pandas as pd
import pytest

import okma_sim
from okma_sim.plan import KeyResult
from okma_sim.inference import review

ACTUALS = okma_sim.data_path("case_study_actuals.csv")


@pytest.fixture(scope="module")
def year(case, tmp_path_factory):
    """Twelve months of actuals: the shipped five months repeated in turn."""
    df = pd.read_csv(ACTUALS)
    ms = sorted(df["month"].unique())
    parts = [df[df["month"] == ms[i % len(ms)]].assign(month=m)
             for i, m in enumerate(case.months())]
    path = tmp_path_factory.mktemp("complete") / "year.csv"
    pd.concat(parts).to_csv(path, index=False)
    return path


def test_complete_review_simulates_nothing_and_tags_targets(case, year):
    rv = review(case, year, n_paths=10, seed=1, recommend=False)
    assert rv.complete and rv.n_paths == 0
    lines = rv.table().splitlines()
    for o in case.objectives:
        assert any(line.startswith(f"O  {o.id} ") for line in lines), o.id
    for k in case.key_results:
        assert any(line.startswith(f"KR {k.id} ") for line in lines), k.id


def test_a_target_on_an_unobservable_metric_is_warned(case, year):
    kr = KeyResult(id="spend", metric="cost", target=1e12, aggregate="mean", comparison="<=",
                   objective=("revenue",))
    plan = case.replace(key_results=tuple(case.key_results) + (kr,))
    rv = review(plan, year, n_paths=10, seed=1, recommend=False)
    assert any("cost cannot be computed from the actuals" in w for w in rv.warnings)
    assert not any("cannot be computed" in w for w in review(case, year, n_paths=10, seed=1,
                                                               recommend=False).warnings)


def test_a_model_without_a_name_is_refused_by_its_type(case, year):
    class Nameless:
        pass
    with pytest.raises(okma_sim.OkmaError, match="sales-team model") as e:
        review(case, year, n_paths=10, seed=1, model=Nameless())
    assert "Nameless" in str(e.value) or getattr(e.value, "value", None) == "Nameless"


def test_mid_year_table_prints_the_reviews_own_numbers(case):
    """Before the horizon the table prints, for every target, the value so far and the
    chances at plan time and now with their standard errors, under a rule as wide as its
    header, and a last line with all objectives together at plan time and now."""
    from okma_sim._core.formatting import format_chance, format_estimate, format_percent
    from okma_sim.results import value_text
    rv = review(case, ACTUALS, n_paths=400, seed=1, recommend=False, progress=False)
    assert not rv.complete
    lines = rv.table().splitlines()
    i = next(k for k, x in enumerate(lines) if x.startswith("   objective / key result"))
    assert lines[i + 1] == "-" * len(lines[i])
    rows = lines[i + 2:i + 2 + len(case.targets)]
    for t, row in zip(case.targets, rows):
        e, e0 = rv.probability(t.id), rv.plan_probability(t.id)
        assert row.startswith("KR " if isinstance(t, KeyResult) else "O  "), row
        assert value_text(t, rv.to_date.get(t.id, float("nan")), case, raw=True) in row
        cells = re.split(r"\s{2,}", row.strip())
        plan_time, now = (format_estimate(x.probability, x.stderr) for x in (e0, e))
        assert cells.index(plan_time) + 1 == cells.index(now), row
    a, a0 = rv.all_met(), rv.plan_result.all_met()
    assert lines[i + 2 + len(case.targets)] == "-" * len(lines[i])
    assert (f"All objectives together: {format_percent(a0.probability)} at plan time, "
            f"now {format_chance(a.probability, a.stderr)}") in lines


def test_the_review_shows_one_bar_of_its_steps_and_no_simulation_bar(case, capsys):
    """With ``progress=True`` the review draws one bar of its own steps on stderr (3 without a
    recommendation); the simulations it runs draw none of their own inside it."""
    review(case, ACTUALS, n_paths=300, seed=1, recommend=False, progress=True)
    err = capsys.readouterr().err
    for k, what in enumerate(["simulating the plan as made", "updating with the actuals",
                              "re-forecasting the months left"], 1):
        assert f"reviewing, step {k} of 3: {what}" in err, err
    assert "simulating Case study" not in err and "path/s" not in err, err
