"""Figures a sales manager reads at a glance: where the legend sits, what the axes say, and that
the labels, ticks and reference lines carry the numbers of the result they draw.

Every test reads the drawn artists back (bar lengths, error-bar ends, line data, tick texts
after a draw, window extents) and compares them with the result's own estimates and the plan's
targets, computed here independently where they can be (the +30% revenue amount from the
baseline's months, the per-year cost from the horizon).
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402

from figure_helpers import by_gid, tick_texts  # noqa: E402
import okma_sim  # noqa: E402
from okma_sim.results import target_label  # noqa: E402
from okma_sim import viz  # noqa: E402
from okma_sim._core.formatting import format_amount  # noqa: E402
from okma_sim.analysis import solve_actions  # noqa: E402
from okma_sim.plan import KeyResult, Lever, Management, Objective, Plan  # noqa: E402

SEED = 20270101
PERCENT_TICK = re.compile(r"^[-−]?\d+(\.\d+)?%$")  # matplotlib writes a true minus
AMOUNT_TICK = re.compile(r"^(0|-?\d+(\.\d+)? [kM])$")


@pytest.fixture(scope="module")
def plan():
    return okma_sim.load_plan(okma_sim.case_study_path())


@pytest.fixture(scope="module")
def res(plan):
    return okma_sim.simulate(plan, 2000, seed=SEED,
                             keep_monthly=["revenue_growth", "cumulative_revenue"])


@pytest.fixture()
def fig_ax():
    fig, ax = plt.subplots(figsize=(9, 5))
    yield fig, ax
    plt.close(fig)


# -- fan chart ----------------------------------------------------------------------------------
def test_fan_legend_is_outside_the_data_area(res, fig_ax):
    fig, ax = fig_ax
    viz.fan_chart(res, "revenue_growth", ax=ax)
    fig.tight_layout()
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(r)
    data_area = ax.get_window_extent(r)
    assert not legend.overlaps(data_area)
    # and still on the figure, so that a saved PNG shows it
    page = fig.bbox
    assert page.x0 <= legend.x0 and legend.x1 <= page.x1 + 0.5
    assert page.y0 <= legend.y0 and legend.y1 <= page.y1 + 0.5
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["90% of runs in this range", "50% of runs in this range", "median",
                      "target 30%"]


@pytest.mark.parametrize("metric", ["revenue_growth", "cumulative_revenue"])
def test_cumulative_metrics_say_year_to_date(res, fig_ax, metric):
    fig, ax = fig_ax
    viz.fan_chart(res, metric, ax=ax)
    assert "year to date" in ax.get_ylabel() and "year to date" in ax.get_title()
    assert "paths" not in ax.get_title() and "2,000 simulated runs" in ax.get_title()
    b = res.bands(metric, (0.05, 0.25, 0.5, 0.75, 0.95))
    np.testing.assert_allclose(by_gid(ax.lines, "median").get_ydata(), b["p50"])
    ticks = tick_texts(fig, ax.yaxis)
    if metric == "revenue_growth":  # growth in %, its target at +30%
        assert ticks and all(PERCENT_TICK.match(t) for t in ticks)
        assert set(by_gid(ax.lines, "target").get_ydata()) == {0.3}
    else:  # revenue as amounts, the currency on the axis label
        assert ticks and all(AMOUNT_TICK.match(t) for t in ticks)
        assert ax.get_ylabel() == "Revenue year to date (CNY)"
        assert ax.yaxis.get_offset_text().get_text() == ""


# -- probability bars ---------------------------------------------------------------------------
def test_probability_bars_targets_confidence_and_all_krs(res, plan, fig_ax):
    fig, ax = fig_ax
    viz.probability_bars(res, ax=ax)  # the 80% line is drawn by default
    bars = next(c for c in ax.containers if isinstance(c, matplotlib.container.BarContainer))
    widths = [r.get_width() for r in bars.patches]
    estimates = [res.probability(t.id) for t in plan.targets]
    estimates += [res.all_key_results_met(), res.all_met()]
    np.testing.assert_allclose(widths, [e.probability for e in estimates], rtol=0, atol=0)
    # each bar's error bar spans ±1.96 of its own standard error
    segs = bars.errorbar.lines[2][0].get_segments()
    for seg, e in zip(segs, estimates):
        assert seg[0, 0] == pytest.approx(e.probability - 1.96 * e.stderr, abs=1e-12)
        assert seg[1, 0] == pytest.approx(e.probability + 1.96 * e.stderr, abs=1e-12)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    amount = sum(plan.baseline.monthly_revenue) * 1.3 / 1e6  # last year's revenue + 30%
    # each bar named by its target, as every text of the tool states it
    assert labels[:5] == [target_label(t, plan) for t in plan.targets]
    assert labels[0] == f"+30% revenue ({amount:.2f} M CNY)" == "+30% revenue (36.15 M CNY)"
    assert labels[1] == "CSAT ≥ 90% at year end"
    assert labels[2] == "New customers ≥ 10 (monthly average)"
    assert labels[3] == "Revisit rate ≥ 80% (monthly average)"
    assert labels[5:] == ["All key results", "All objectives"]
    assert widths[5] == res.all_key_results_met().probability
    assert not any("_" in x for x in labels)  # no snake_case id
    assert set(by_gid(ax.lines, "confidence").get_xdata()) == {0.8}
    ticks = tick_texts(fig, ax.xaxis)
    assert ticks == ["0%", "20%", "40%", "60%", "80%", "100%"]
    # the number at each bar is its probability in %
    texts = [t.get_text() for t in ax.texts]
    assert texts == [viz.percent_text(w) for w in widths]
    assert "80% confidence" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_probability_bars_confidence_elsewhere_or_none(res, fig_ax):
    _, ax = fig_ax
    viz.probability_bars(res, ax=ax, confidence=0.9)
    assert set(by_gid(ax.lines, "confidence").get_xdata()) == {0.9}
    fig2, ax2 = plt.subplots()
    try:
        viz.probability_bars(res, ax=ax2, confidence=None)
        assert not [ln for ln in ax2.lines if ln.get_gid() == "confidence"]
    finally:
        plt.close(fig2)


def test_probability_bars_without_key_results_have_no_all_krs_bar(fig_ax):
    _, ax = fig_ax
    toy = okma_sim.simulate(_toy_plan(), 500, seed=SEED)
    viz.probability_bars(toy, ax=ax)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["Score ≥ 1.2 (monthly average)", "All objectives"]


# -- cost axes ----------------------------------------------------------------------------------
def _toy_plan(currency: str = "", horizon: int = 12) -> Plan:
    return Plan(name="toy", start_month="2027-01", horizon_months=horizon, model="linear_toy",
                currency=currency,
                objectives=(Objective(id="score", metric="score", target=1.2,
                                      aggregate="mean"),),
                actions={"effort": 1.0}, management=Management(review_every_months=0),
                levers={"effort": Lever(0.0, 4.0, 1_000_000.0)})


@pytest.fixture(scope="module")
def solved():
    return solve_actions(_toy_plan("CNY"), 0.8, n_paths=1000, seed=3, max_evaluations=30,
                         frontier_evaluations=10, verify_paths=1000)


def test_cost_frontier_axes_in_currency_per_year_and_percent(solved, fig_ax):
    fig, ax = fig_ax
    viz.cost_frontier(solved, ax=ax)
    step, answer = ax.lines
    np.testing.assert_array_equal(step.get_xdata(), solved.frontier["level"])
    np.testing.assert_array_equal(step.get_ydata(), solved.frontier["cost"])  # 12 months
    assert list(answer.get_ydata()) == [solved.cost]
    assert solved.frontier["cost"].max() > 1e6  # amounts where matplotlib would offset 1e6
    assert ax.get_ylabel() == "Plan cost, CNY per year"
    yticks = tick_texts(fig, ax.yaxis)
    pairs = list(zip(ax.get_yticks(), ax.get_yticklabels()))
    assert len(pairs) >= 3
    for value, label in pairs:  # every tick says its own amount
        assert label.get_text() == format_amount(value)
    assert all(AMOUNT_TICK.match(t) for t in yticks) and any(t.endswith(" M") for t in yticks)
    assert ax.yaxis.get_offset_text().get_text() == ""
    xticks = tick_texts(fig, ax.xaxis)
    assert xticks and all(PERCENT_TICK.match(t) for t in xticks)
    assert "a year" in ax.get_legend().get_texts()[1].get_text()


def test_cost_frontier_scales_a_shorter_horizon_to_a_year(fig_ax):
    """A 6-month plan's cost is drawn at twice its amount, per year (duck-typed result: the
    figure reads only frontier, probability, cost and plan)."""
    _, ax = fig_ax
    frontier = pd.DataFrame({"level": [0.5, 0.7, 0.8], "cost": [300_000.0, 450_000.0, 6e5]})
    s = SimpleNamespace(frontier=frontier, probability=0.81, cost=6e5,
                        plan=_toy_plan("EUR", horizon=6))
    viz.cost_frontier(s, ax=ax)
    step, answer = ax.lines
    np.testing.assert_allclose(step.get_ydata(), [600_000, 900_000, 1_200_000])
    assert list(answer.get_ydata()) == [1_200_000]
    assert ax.get_ylabel() == "Plan cost, EUR per year"
    assert "81% chance for 1.2 M EUR a year" in ax.get_legend().get_texts()[1].get_text()


# -- tornado ------------------------------------------------------------------------------------
def _assert_one_colour_meaning(ax):
    raises, lowers = to_rgba("tab:blue"), to_rgba("tab:orange")
    bars = [p for p in ax.patches if p.get_gid() in ("low", "high")]
    assert bars
    for b in bars:
        if b.get_width() > 0:
            assert b.get_facecolor() == raises
        elif b.get_width() < 0:
            assert b.get_facecolor() == lowers
    handles, labels = ax.get_legend_handles_labels()
    legend = {t.get_text(): h.get_facecolor()
              for t, h in zip(ax.get_legend().get_texts(), ax.get_legend().legend_handles)
              if hasattr(h, "get_facecolor")}
    assert legend["pinning it raises the outcome"] == raises
    assert legend["pinning it lowers the outcome"] == lowers


def test_tornado_colour_means_direction_in_every_row(fig_ax):
    """Row a: its high end raises the chance; row b: its LOW end does (the old colours meant
    "low end" and "high end", which flipped direction between these rows)."""
    _, ax = fig_ax
    rows = pd.DataFrame({"parameter": ["a", "b"], "low": [1.0, 2.0], "high": [4.0, 5.0],
                         "p_low": [0.30, 0.55], "p_high": [0.50, 0.20]})
    viz.tornado(rows, ax=ax, base=0.4)
    low = [p for p in ax.patches if p.get_gid() == "low"]  # bottom row (a) first
    high = [p for p in ax.patches if p.get_gid() == "high"]
    np.testing.assert_allclose([r.get_width() for r in low], [-0.10, 0.15])
    np.testing.assert_allclose([r.get_width() for r in high], [0.10, -0.20])
    _assert_one_colour_meaning(ax)
    # each bar's end names the value pinned there
    assert [t.get_text() for t in ax.texts if t.get_gid() == "low_value"] == ["1", "2"]
    assert [t.get_text() for t in ax.texts if t.get_gid() == "high_value"] == ["4", "5"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]


def test_tornado_of_a_sensitivity_run_keeps_one_colour_meaning(plan, fig_ax):
    from okma_sim.analysis import tornado
    _, ax = fig_ax
    t = tornado(plan, 300, seed=SEED, parameters=["csat_base", "base_win_rate",
                                                  "churn_revisit_effect"])
    viz.tornado(t, ax=ax)
    base = t.attrs["base"].probability
    widths = [p.get_width() for p in ax.patches if p.get_gid() in ("low", "high")]
    expect = np.r_[t["p_low"], t["p_high"]] - base
    np.testing.assert_allclose(sorted(widths), sorted(expect), atol=1e-12)
    _assert_one_colour_meaning(ax)
    assert "%" in ax.xaxis.get_major_formatter()(0.25, 0)


# -- achievability curve, histogram, policy comparison -------------------------------------------
def test_achievability_curve_reads_in_percent_with_readable_names(res, fig_ax):
    fig, ax = fig_ax
    levels = np.linspace(0.7, 0.85, 16)
    viz.achievability_curve(res, "revisit_rate", ax=ax, levels=levels)
    v = res.values["revisit_rate"]
    np.testing.assert_allclose(by_gid(ax.lines, "curve").get_xdata(), levels)
    np.testing.assert_allclose(by_gid(ax.lines, "curve").get_ydata(),
                               [(v >= x).mean() for x in levels])
    assert set(by_gid(ax.lines, "confidence").get_ydata()) == {0.8}
    a = by_gid(ax.lines, "achievable").get_xdata()[0]
    assert (v >= a).mean() >= 0.8 > (v > a).mean()
    labels = ax.get_legend_handles_labels()[1]
    assert f"achievable at 80%: {viz.fmt_level(a, 'revisit_rate')}" in labels
    e = res.probability("revisit_rate")
    assert f"current target 80%: {viz.percent_text(e.probability)} chance" in labels[2]
    assert all(PERCENT_TICK.match(t) for t in tick_texts(fig, ax.xaxis))
    assert all(PERCENT_TICK.match(t) for t in tick_texts(fig, ax.yaxis))
    assert "revisit rate" in ax.get_title() and "revisit_rate" not in ax.get_title()
    assert ax.get_xlabel() == "Target: revisit rate (%), average over the months"


def test_histogram_title_is_the_target_statement(res, plan, fig_ax):
    _, ax = fig_ax
    viz.histogram(res, "revenue", ax=ax)
    assert ax.get_title() == "Case study: +30% revenue (36.15 M CNY)"
    assert ax.get_xlabel() == ("Revenue growth year to date vs last year (%), "
                               "at the end of the plan")
    assert set(by_gid(ax.lines, "target").get_xdata()) == {0.3}


# -- backtest -----------------------------------------------------------------------------------
def test_backtest_figures_read_in_percent(fig_ax):
    fig, ax = fig_ax
    u = np.random.default_rng(SEED).uniform(size=200)
    viz.pit_histogram(u, ax=ax, bins=5)
    assert tick_texts(fig, ax.xaxis) == ["0%", "20%", "40%", "60%", "80%", "100%"]
    assert "PIT" not in ax.get_xlabel() + ax.get_ylabel() + ax.get_title()
    fig2, ax2 = plt.subplots()
    try:
        viz.coverage_chart({"50": 0.46, "80": 0.625, "95": 0.9}, ax=ax2, n=100)
        np.testing.assert_allclose(by_gid(ax2.lines, "observed").get_ydata(),
                                   [0.46, 0.625, 0.9])
        assert [t.get_text() for t in ax2.texts] == ["46%", "62.5%", "90%"]
        assert all(PERCENT_TICK.match(t) for t in tick_texts(fig2, ax2.yaxis))
    finally:
        plt.close(fig2)


# -- the naming helper --------------------------------------------------------------------------
def test_target_label_reads_each_kind_of_target(plan):
    """The one statement of a target (okma_sim.results.target_label), which every figure,
    table and report uses, on the kinds of target the bundled scenarios do not have."""
    kr = KeyResult(id="x", metric="revisit_rate", target=0.6, aggregate="share_of_months",
                   threshold=0.8)
    assert target_label(kr, plan) == "Revisit rate ≥ 80% in at least 60% of months"
    lo = Objective(id="c", metric="cost", target=250_000, aggregate="sum", comparison="<=")
    assert target_label(lo, plan) == "Cost ≤ 250 k CNY (total over the year)"
    grow = Objective(id="g", metric="revenue_growth", target=0.1)
    # growth is measured against the baseline over the plan's own months: over 6 months the
    # amount is 1.1 times the first six baseline months
    six = plan.replace(horizon_months=6)
    half = sum(plan.baseline.monthly_revenue[:6]) * 1.1 / 1e6
    assert target_label(grow, six) == f"+10% revenue ({half:.2f} M CNY)"
    year = sum(plan.baseline.monthly_revenue) * 1.1 / 1e6
    assert target_label(grow, plan) == f"+10% revenue ({year:.2f} M CNY)"


def test_tornado_row_that_moves_nothing_keeps_its_values_apart(fig_ax):
    """Pinned at either end the outcome stays at the base: the low end's value is written to
    the left of the base, the high end's to the right, not over each other."""
    _, ax = fig_ax
    viz.tornado([{"parameter": "c", "low": 1.0, "high": 3.0, "p_low": 0.4, "p_high": 0.4}],
                ax=ax, base=0.4)
    (low,) = [t for t in ax.texts if t.get_gid() == "low_value"]
    (high,) = [t for t in ax.texts if t.get_gid() == "high_value"]
    assert (low.get_text(), low.get_ha()) == ("1", "right")
    assert (high.get_text(), high.get_ha()) == ("3", "left")


def test_policy_comparison_of_a_table_names_rows_by_the_plan(res, plan, fig_ax):
    _, ax = fig_ax
    rows = [{"scenario": "now", "id": i, "probability": e.probability, "stderr": e.stderr}
            for i, e in (("all_met", res.all_met()), ("revisit_rate", res.probability(
                "revisit_rate")), ("all_key_results_met", res.all_key_results_met()))]
    viz.policy_comparison(pd.DataFrame(rows), ax=ax, plan=plan)
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "All objectives", "Revisit rate ≥ 80% (monthly average)", "All key results"]
    bars = [p for p in ax.patches if p.get_gid() == "policy_0"]
    np.testing.assert_allclose([b.get_width() for b in bars], [r["probability"] for r in rows])


def test_achievability_curve_of_a_money_target_reads_in_amounts(plan, fig_ax):
    fig, ax = fig_ax
    kr = KeyResult(id="revenue_amount", metric="cumulative_revenue", target=36e6,
                   objective=("revenue",))
    money = okma_sim.simulate(plan.replace(key_results=(*plan.key_results, kr)), 500,
                              seed=SEED)
    viz.achievability_curve(money, "revenue_amount", ax=ax)
    v = money.values["revenue_amount"]
    curve = by_gid(ax.lines, "curve")
    np.testing.assert_allclose(curve.get_ydata(), [(v >= x).mean() for x in curve.get_xdata()])
    assert ax.get_xlabel() == "Target: revenue year to date (CNY), at the end of the plan"
    ticks = tick_texts(fig, ax.xaxis)
    assert ticks and all(AMOUNT_TICK.match(t) for t in ticks)
    assert ax.xaxis.get_offset_text().get_text() == ""
    assert ax.get_legend_handles_labels()[1][2].startswith("current target 36 M CNY: ")
