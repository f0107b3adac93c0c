"""Plots: each function draws on the Axes it is given, and the drawn data are the result's data.

Every test reads the artists back (band polygons, bar widths, error-bar segments, reference
lines) and compares them with the numbers they must show. The achievability curve is also
checked against a closed form on the linear test model, within 4 standard errors.
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from scipy import stats  # noqa: E402

from figure_helpers import band_edges, by_gid  # noqa: E402
import okma_sim  # noqa: E402
from okma_sim import viz  # noqa: E402
from okma_sim.plan import Management, Objective, Plan  # noqa: E402

SEED = 20270101


@pytest.fixture(scope="module")
def case_result():
    plan = okma_sim.load_plan(okma_sim.case_study_path())
    return okma_sim.simulate(plan, 2000, seed=SEED)


@pytest.fixture()
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def test_fan_chart_bands_median_and_target(case_result, ax):
    out = viz.fan_chart(case_result, "revenue_growth", ax=ax)
    assert out is ax
    b = case_result.bands("revenue_growth", (0.05, 0.25, 0.5, 0.75, 0.95))
    n = len(b)
    for gid, lo_col, hi_col in (("band_0.05_0.95", "p05", "p95"),
                                ("band_0.25_0.75", "p25", "p75")):
        lo, hi = band_edges(by_gid(ax.collections, gid), n)
        np.testing.assert_allclose(lo, b[lo_col], rtol=1e-12)
        np.testing.assert_allclose(hi, b[hi_col], rtol=1e-12)
    np.testing.assert_allclose(by_gid(ax.lines, "median").get_ydata(), b["p50"])
    target = by_gid(ax.lines, "target")
    assert set(target.get_ydata()) == {case_result.plan.target("revenue").target}
    # the bands really are the per-month quantiles of the kept paths
    m = np.asarray(case_result.monthly["revenue_growth"], float)
    np.testing.assert_allclose(b["p95"], np.quantile(m, 0.95, axis=0), rtol=1e-12)
    assert [t.get_text() for t in ax.get_xticklabels()] == case_result.plan.months()
    assert ax.get_ylabel() == "Revenue growth year to date vs last year (%)"


def test_fan_chart_of_reweighted_result_uses_weighted_quantiles(case_result, ax):
    """Weights of 0 on the odd paths: the bands are the quantiles of the even paths alone."""
    import dataclasses
    w = np.tile([1.0, 0.0], case_result.n_paths // 2)
    res = dataclasses.replace(case_result, weights=w)
    viz.fan_chart(res, "revenue_growth", ax=ax)
    even = np.asarray(case_result.monthly["revenue_growth"], float)[::2]
    lo, hi = band_edges(by_gid(ax.collections, "band_0.05_0.95"), even.shape[1])
    np.testing.assert_allclose(lo, np.quantile(even, 0.05, axis=0, method="inverted_cdf"))
    np.testing.assert_allclose(hi, np.quantile(even, 0.95, axis=0, method="inverted_cdf"))
    median = by_gid(ax.lines, "median").get_ydata()
    np.testing.assert_allclose(median, np.quantile(even, 0.5, axis=0, method="inverted_cdf"))


def test_fan_chart_money_metric_label_has_currency(case_result, ax):
    viz.fan_chart(case_result, "revenue", ax=ax)
    assert "(CNY)" in ax.get_ylabel()
    assert not [ln for ln in ax.lines if ln.get_gid() == "target"]  # no revenue target


def test_probability_bars_heights_and_error_bars(case_result, ax):
    out = viz.probability_bars(case_result, ax=ax, confidence=0.8)
    assert out is ax
    df = case_result.probabilities()
    a, k = case_result.all_met(), case_result.all_key_results_met()
    p = np.r_[df["probability"], k.probability, a.probability]
    se = np.r_[df["stderr"], k.stderr, a.stderr]
    bars = next(c for c in ax.containers if isinstance(c, matplotlib.container.BarContainer))
    np.testing.assert_allclose([r.get_width() for r in bars.patches], p)
    segs = bars.errorbar.lines[2][0].get_segments()
    np.testing.assert_allclose([s[0, 0] for s in segs], p - 1.96 * se)
    np.testing.assert_allclose([s[1, 0] for s in segs], p + 1.96 * se)
    # MC standard errors are binomial
    np.testing.assert_allclose(se, np.sqrt(p * (1 - p) / case_result.n_paths))
    assert set(by_gid(ax.lines, "confidence").get_xdata()) == {0.8}
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == "+30% revenue (36.15 M CNY)"
    assert labels[-2:] == ["All key results", "All objectives"]


def test_histogram_target_and_annotation(case_result, ax):
    viz.histogram(case_result, "new_customers", ax=ax)
    t = case_result.plan.target("new_customers")
    assert set(by_gid(ax.lines, "target").get_xdata()) == {t.target}
    e = case_result.probability("new_customers")
    texts = [x.get_text() for x in ax.texts]
    assert f"chance met: {e.probability:.1%} ± {e.stderr:.1%}" in texts
    counts = sum(p.get_height() for p in ax.patches)
    assert counts == np.isfinite(case_result.values["new_customers"]).sum()


def test_achievability_curve_data(case_result, ax):
    t = case_result.plan.target("revenue")
    levels = np.unique(np.r_[np.linspace(-0.2, 0.8, 21), t.target])
    viz.achievability_curve(case_result, "revenue", ax=ax, confidence=0.8, levels=levels)
    v = case_result.values["revenue"]
    n = v.size
    curve = by_gid(ax.lines, "curve")
    np.testing.assert_allclose(curve.get_xdata(), levels)
    expect = np.array([(v >= lv).mean() for lv in levels])
    np.testing.assert_allclose(curve.get_ydata(), expect)
    band = by_gid(ax.collections, "se_band").get_paths()[0].vertices
    se = np.sqrt(expect * (1 - expect) / n)
    top = np.clip(expect + 1.96 * se, 0, 1)
    for x, y in zip(levels, top):
        assert np.isclose(band[np.isclose(band[:, 0], x), 1].max(), y)
    # the current target, with its probability
    assert set(by_gid(ax.lines, "target").get_xdata()) == {t.target}
    point = by_gid(ax.lines, "target_point")
    assert point.get_ydata()[0] == case_result.probability("revenue").probability
    # the confidence line and the achievable level: P(X >= a) >= C and P(X > a) < C
    assert set(by_gid(ax.lines, "confidence").get_ydata()) == {0.8}
    a = by_gid(ax.lines, "achievable").get_xdata()[0]
    assert (v >= a).mean() >= 0.8 > (v > a).mean()
    assert "achievable at 80%" in ax.get_legend_handles_labels()[1][-1]


def test_achievability_curve_accepts_targets_curve(case_result, ax):
    from okma_sim.results import achievability_curve
    curve = achievability_curve(case_result, "csat")
    viz.achievability_curve(case_result, "csat", ax=ax, curve=curve, confidence=None)
    line = by_gid(ax.lines, "curve")
    np.testing.assert_allclose(line.get_xdata(), curve["target"])
    np.testing.assert_allclose(line.get_ydata(), curve["probability"])
    assert not [ln for ln in ax.lines if ln.get_gid() in ("confidence", "achievable")]
    assert "%" in ax.xaxis.get_major_formatter()(0.9, 0)


def _toy_plan(target: float) -> Plan:
    return Plan(name="toy", start_month="2027-01", horizon_months=12, model="linear_toy",
                objectives=(Objective(id="score", metric="score", target=target,
                                      aggregate="mean"),),
                actions={"effort": 1.0}, management=Management(review_every_months=0))


def test_achievability_curve_matches_closed_form(ax):
    """Linear toy model: the 12-month mean of score is Normal(1, sqrt(0.2^2 + 0.5^2 + 1/12))
    (gain ~ N(1, 0.2) times effort 1, bias ~ N(0, 0.5), unit noise averaged over 12 months)."""
    res = okma_sim.simulate(_toy_plan(1.2), 8000, seed=SEED)
    levels = np.linspace(0.0, 2.0, 9)
    viz.achievability_curve(res, ax=ax, levels=levels, confidence=0.8)
    p = by_gid(ax.lines, "curve").get_ydata()
    sd = math.sqrt(0.2 ** 2 + 0.5 ** 2 + 1 / 12)
    exact = stats.norm.sf(levels, loc=1.0, scale=sd)
    se = np.sqrt(exact * (1 - exact) / res.n_paths)
    assert np.all(np.abs(p - exact) <= 4 * se + 1e-12)
    # the achievable level at 80% sits near the exact 20% quantile (4 SE of a quantile)
    a = by_gid(ax.lines, "achievable").get_xdata()[0]
    q = stats.norm.ppf(0.2, 1.0, sd)
    se_q = math.sqrt(0.2 * 0.8 / res.n_paths) / stats.norm.pdf(q, 1.0, sd)
    assert abs(a - q) <= 4 * se_q


def test_tornado_bars_start_at_base_and_sorted():
    rows = pd.DataFrame({"parameter": ["a", "b", "c"], "low": [1, 2, 3], "high": [4, 5, 6],
                         "p_low": [0.30, 0.10, 0.38], "p_high": [0.50, 0.70, 0.41]})
    fig, ax = plt.subplots()
    try:
        out = viz.tornado(rows, ax=ax, base=0.4)
        assert out is ax
        low = [p for p in ax.patches if p.get_gid() == "low"]
        high = [p for p in ax.patches if p.get_gid() == "high"]
        # bottom to top: smallest swing first (c, a, b)
        np.testing.assert_allclose([r.get_x() for r in low], [0.4] * 3)
        np.testing.assert_allclose([r.get_width() for r in low], [-0.02, -0.10, -0.30])
        np.testing.assert_allclose([r.get_width() for r in high], [0.01, 0.10, 0.30])
        names = [t.get_text().split("\n")[0] for t in ax.get_yticklabels()]
        assert names == ["c", "a", "b"]
        assert set(by_gid(ax.lines, "base").get_xdata()) == {0.4}
    finally:
        plt.close(fig)


def test_tornado_reads_sensitivity_output(ax):
    from okma_sim.analysis import tornado
    plan = okma_sim.load_plan(okma_sim.case_study_path())
    t = tornado(plan, 300, seed=SEED, parameters=["csat_base", "base_win_rate"])
    viz.tornado(t, ax=ax)
    base = t.attrs["base"].probability
    assert set(by_gid(ax.lines, "base").get_xdata()) == {base}
    high = [p for p in ax.patches if p.get_gid() == "high"][::-1]  # top bar first
    np.testing.assert_allclose([r.get_x() + r.get_width() for r in high], t["p_high"])


def test_policy_comparison_bars_are_probabilities(ax):
    plan = okma_sim.load_plan(okma_sim.case_study_path())
    res = {"monthly coaching": okma_sim.simulate(plan, 1000, seed=SEED),
           "no reviews": okma_sim.simulate(plan.replace(management=Management(0)), 1000,
                                           seed=SEED)}
    viz.policy_comparison(res, ax=ax)
    for j, r in enumerate(res.values()):
        bars = [p for p in ax.patches if p.get_gid() == f"policy_{j}"]
        expect = [r.all_met().probability] + [r.probability(o.id).probability
                                              for o in plan.objectives]
        np.testing.assert_allclose([b.get_width() for b in bars], expect)
    labels = ax.get_legend_handles_labels()[1]
    assert labels[0] == "monthly coaching"
    # the second policy's label carries its paired difference from the first
    d = (res["no reviews"].all_met_flags().astype(float)
         - res["monthly coaching"].all_met_flags())
    se = d.std(ddof=1) / math.sqrt(d.size)
    assert labels[1] == (f"no reviews (all objectives {d.mean() * 100:+.1f} ± {se * 100:.1f} "
                         f"points vs monthly coaching)")
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "All objectives", "+30% revenue (36.15 M CNY)", "CSAT ≥ 90% at year end"]


def test_pit_histogram_density_and_band(ax):
    rng = np.random.default_rng(SEED)
    u = rng.uniform(size=400)
    viz.pit_histogram(u, ax=ax, bins=8)
    heights = [p.get_height() for p in ax.patches if p.get_gid() == "pit"]
    counts, _ = np.histogram(u, bins=np.linspace(0, 1, 9))
    np.testing.assert_allclose(heights, counts / 400 * 8)
    assert set(by_gid(ax.lines, "uniform").get_ydata()) == {1.0}
    band = by_gid(ax.patches, "band")  # a Rectangle: y in data units
    half = 1.96 * math.sqrt((1 / 8) * (7 / 8) / 400) * 8
    assert math.isclose(band.get_y(), 1 - half)
    assert math.isclose(band.get_y() + band.get_height(), 1 + half)


def test_coverage_chart_points(ax):
    cov = {"50": 0.46, "80": 0.79, "95": 0.97}
    viz.coverage_chart(cov, ax=ax, n=150)
    obs = by_gid(ax.lines, "observed")
    np.testing.assert_allclose(obs.get_xdata(), [0.5, 0.8, 0.95])
    np.testing.assert_allclose(obs.get_ydata(), [0.46, 0.79, 0.97])
    np.testing.assert_allclose(by_gid(ax.lines, "diagonal").get_ydata(), [0, 1])


def test_backtest_charts_read_a_backtest_result(ax):
    from okma_sim.inference import rolling_backtest
    from okma_sim.inference import load_history
    h = load_history(okma_sim.data_path("crm_sales_opportunities", "sales_pipeline.csv"),
                     "opportunities")
    bt = rolling_backtest(h, 2, n_paths=200, seed=SEED)
    pits = np.array([e["pit"] for e in bt.entries], dtype=float)
    pits = pits[np.isfinite(pits)]
    viz.pit_histogram(bt, ax=ax, bins=5)
    heights = [p.get_height() for p in ax.patches if p.get_gid() == "pit"]
    counts, _ = np.histogram(pits, bins=np.linspace(0, 1, 6))
    np.testing.assert_allclose(heights, counts / pits.size * 5)
    fig, ax2 = plt.subplots()
    try:
        viz.coverage_chart(bt, ax=ax2)
        obs = by_gid(ax2.lines, "observed")
        np.testing.assert_allclose(obs.get_ydata(), [bt.coverage[k] for k in ("50", "80", "95")])
        # the expected band uses the number of PITs
        assert f"n = {pits.size}" in ax2.get_legend_handles_labels()[1][-1]
    finally:
        plt.close(fig)
