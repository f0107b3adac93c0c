"""A review at the full horizon: observed verdicts, nothing simulated (n_paths 0), the table
tagging objectives "O" and key results "KR"; a target on a metric the actuals cannot give is
warned about; a model that is not the sales model is refused by its type's name."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

import okma_sim
from okma_sim.plan import KeyResult
from okma_sim.inference import review

ACTUALS = okma_sim.data_path("case_study_actuals.csv")


@pytest.fixture(scope="module")
def case():
    return okma_sim.load_plan(okma_sim.case_study_path())


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
