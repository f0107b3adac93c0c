"""The ``.plot`` accessors: ``res.plot.fan()``, ``SolveResult.plot.frontier()`` and
``SensitivityResult.plot.tornado()`` draw the data of the object they hang on.

Each test reads the artists back and compares them with the result's own numbers (bands,
frontier, tornado rows), so a spelling that drew the wrong thing, or nothing, fails.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from figure_helpers import band_edges, by_gid  # noqa: E402
import okma_sim  # noqa: E402
from okma_sim.analysis import sensitivity, solve_actions  # noqa: E402
from okma_sim.plan import Lever, Management, Objective, Plan  # noqa: E402

SEED = 20270101


@pytest.fixture(scope="module")
def case_result():
    plan = okma_sim.load_plan(okma_sim.case_study_path())
    return okma_sim.simulate(plan, 1000, seed=SEED)


@pytest.fixture(scope="module")
def toy_plan():
    return Plan(name="toy", start_month="2027-01", horizon_months=12, model="linear_toy",
                objectives=(Objective(id="score", metric="score", target=1.2,
                                      aggregate="mean"),),
                actions={"effort": 1.0}, management=Management(review_every_months=0),
                levers={"effort": Lever(0.0, 4.0, 10.0)})


@pytest.fixture()
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def _assert_fan_of(ax, res, metric):
    b = res.bands(metric, (0.05, 0.5, 0.95))
    np.testing.assert_array_equal(by_gid(ax.lines, "median").get_ydata(), b["p50"])
    lo, hi = band_edges(by_gid(ax.collections, "band_0.05_0.95"), len(b))
    np.testing.assert_array_equal(lo, b["p05"])
    np.testing.assert_array_equal(hi, b["p95"])


# -- SimulationResult.plot ---------------------------------------------------------------------
def test_fan_accessor_draws_the_bands_of_the_metric(case_result, ax):
    out = case_result.plot.fan("new_customers", ax=ax)
    assert out is ax
    _assert_fan_of(ax, case_result, "new_customers")
    target = case_result.plan.target("new_customers").target
    assert set(by_gid(ax.lines, "target").get_ydata()) == {target}


@pytest.mark.parametrize("call", [
    lambda res, ax: res.plot(ax=ax),  # the default kind is the fan of the first objective
    lambda res, ax: res.plot("fan", ax=ax),
    lambda res, ax: res.plot.fan(ax=ax),
])
def test_fan_spellings_agree(case_result, ax, call):
    call(case_result, ax)
    _assert_fan_of(ax, case_result, case_result.plan.objectives[0].metric)


def test_other_kinds_draw_their_data(case_result):
    plan = case_result.plan
    fig, axes = plt.subplots(1, 3)
    try:
        case_result.plot("bars", ax=axes[0])
        widths = [p.get_width() for p in axes[0].patches]
        expect = list(case_result.probabilities()["probability"]) + [
            case_result.all_key_results_met().probability, case_result.all_met().probability]
        assert widths == expect
        case_result.plot.hist("csat", ax=axes[1])
        assert set(by_gid(axes[1].lines, "target").get_xdata()) == {plan.target("csat").target}
        case_result.plot.curve("revenue", ax=axes[2], levels=[0.1, 0.3, 0.5])
        v = case_result.values["revenue"]
        np.testing.assert_array_equal(by_gid(axes[2].lines, "curve").get_ydata(),
                                      [(v >= t).mean() for t in (0.1, 0.3, 0.5)])
    finally:
        plt.close(fig)


@pytest.mark.parametrize("kind", ["pie", "_obj", "__init__"])
def test_unknown_kind_names_the_known_ones(case_result, kind):
    with pytest.raises(ValueError, match="unknown plot kind .*known: bars, curve, fan, hist"):
        case_result.plot(kind)


# -- SolveResult.plot --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def solved(toy_plan):
    return solve_actions(toy_plan, 0.8, n_paths=1000, seed=3, max_evaluations=30,
                         frontier_evaluations=10, verify_paths=1000)


@pytest.mark.parametrize("call", [lambda s, ax: s.plot.frontier(ax=ax),
                                  lambda s, ax: s.plot(ax=ax),
                                  lambda s, ax: s.plot("frontier", ax=ax),
                                  lambda s, ax: s.plot_frontier(ax=ax)])
def test_frontier_accessor_draws_the_frontier_and_the_verified_answer(solved, ax, call):
    assert len(solved.frontier) > 3 and solved.frontier["cost"].nunique() > 3
    out = call(solved, ax)
    assert out is ax
    step, answer = ax.lines
    # a step plot of cost against level, drawn "pre": the frontier's own rows
    np.testing.assert_array_equal(step.get_xdata(), solved.frontier["level"])
    np.testing.assert_array_equal(step.get_ydata(), solved.frontier["cost"])
    assert step.get_drawstyle() == "steps-pre"
    # the answer at its verified probability (not the search's) and its cost
    assert list(answer.get_xdata()) == [solved.probability]
    assert list(answer.get_ydata()) == [solved.cost]
    assert solved.probability != solved.search_probability
    # the toy plan has no currency: no empty brackets, nor an empty currency
    assert ax.get_ylabel() == "Plan cost per year"


# -- SensitivityResult.plot --------------------------------------------------------------------
@pytest.fixture(scope="module")
def sens(toy_plan):
    return sensitivity(toy_plan, 1000, seed=3, sobol_n=0)


@pytest.mark.parametrize("call", [lambda s, ax: s.plot.tornado(ax=ax),
                                  lambda s, ax: s.plot(ax=ax),
                                  lambda s, ax: s.plot_tornado(ax=ax)])
def test_tornado_accessor_draws_each_parameter_around_the_base(sens, ax, call):
    t = sens.tornado
    assert len(t) == 2  # gain and bias (noise is fixed)
    out = call(sens, ax)
    assert out is ax
    base = sens.base.probability
    assert set(by_gid(ax.lines, "base").get_xdata()) == {base}
    # bottom to top: smallest swing first
    order = np.argsort(np.abs(t["p_high"] - t["p_low"]).to_numpy(), kind="stable")
    for gid, col in (("low", "p_low"), ("high", "p_high")):
        bars = [p for p in ax.patches if p.get_gid() == gid]
        np.testing.assert_allclose([b.get_x() for b in bars], base, rtol=0, atol=0)
        np.testing.assert_allclose([b.get_x() + b.get_width() for b in bars],
                                   t[col].to_numpy()[order], rtol=1e-12)
    names = [x.get_text().split("\n")[0] for x in ax.get_yticklabels()]
    assert names == list(t["parameter"].to_numpy()[order])


def test_tornado_accessor_top_keeps_the_largest_swings(sens, ax):
    sens.plot.tornado(ax=ax, top=1)
    t = sens.tornado
    widest = t.loc[(t["p_high"] - t["p_low"]).abs().idxmax()]
    (high,) = [p for p in ax.patches if p.get_gid() == "high"]
    assert high.get_x() + high.get_width() == pytest.approx(widest["p_high"], rel=1e-12)
    assert [x.get_text().split("\n")[0] for x in ax.get_yticklabels()] == [widest["parameter"]]
