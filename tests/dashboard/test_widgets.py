"""The dashboard, headless: sliders drive the same numbers ``simulate`` gives.

Common random numbers make a refresh deterministic, so the displayed probabilities must equal a
fresh ``okma_sim.simulate`` at the same settings and seed exactly; error bars must be the Monte
Carlo standard errors (binomial for plain MC).
"""

from __future__ import annotations

import asyncio
import math
import re
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("ipywidgets")

import okma_sim  # noqa: E402
from okma_sim import OkmaError  # noqa: E402
from okma_sim import BLOCK_SIZE  # noqa: E402
from okma_sim.dashboard import (Dashboard, SliderSpec, default_workers,  # noqa: E402
                                slider_specs)
from okma_sim.dashboard._render import png_bytes  # noqa: E402

N = 1000
SEED = 7


@pytest.fixture(scope="module")
def plan():
    return okma_sim.load_plan(okma_sim.case_study_path())


@pytest.fixture()
def dash(plan):
    return Dashboard(plan, n_paths=N, seed=SEED, debounce=0, chart=False)


def _rows(html: str) -> dict[str, tuple[float, float, float, float]]:
    """data-id -> (p, se, whisker lo, whisker hi) read back from the table HTML."""
    out = {}
    for m in re.finditer(r"<tr class='okma-row[^']*' data-id='([^']+)' data-p='([^']+)' "
                         r"data-se='([^']+)'.*?data-lo='([^']+)' data-hi='([^']+)'", html):
        out[m.group(1)] = tuple(float(x) for x in m.group(2, 3, 4, 5))
    return out


def _assert_shows(dash, ref):
    """The dashboard displays exactly what ``ref`` (a SimulationResult) says."""
    rows = _rows(dash.table.value)
    assert set(rows) == {t.id for t in ref.plan.targets} | {"all_met", "all_key_results_met"}
    for t in ref.plan.targets:
        e = ref.probability(t.id)
        assert dash.estimates[t.id] == e
        p, se, lo, hi = rows[t.id]
        assert p == pytest.approx(e.probability, abs=5e-7)
        assert se == pytest.approx(e.stderr, abs=5e-7)
        # the error bar is ±1.96 MC standard errors, and the MC SE is binomial
        assert se == pytest.approx(math.sqrt(p * (1 - p) / ref.n_paths), abs=1e-6)
        assert lo == pytest.approx(max(0, p - 1.96 * se), abs=2e-6)
        assert hi == pytest.approx(min(1, p + 1.96 * se), abs=2e-6)
        assert f"{e.probability:.1%} ± {e.stderr:.1%}" in dash.table.value
    a = ref.all_met()
    assert dash.estimates["all_met"] == a
    assert dash.summary.value == (f"Chance all objectives are met: {a.probability:.1%} ± "
                                  f"{a.stderr:.1%}")
    k = ref.all_key_results_met()
    assert dash.summary_kr.value == (f"Chance all key results are met: {k.probability:.1%} ± "
                                     f"{k.stderr:.1%}")


# -- the UI declaration ------------------------------------------------------------------------
def test_slider_specs_follow_plan_bounds(plan):
    specs = {s.key: s for s in slider_specs(plan)}
    for name, lever in plan.levers.items():
        s = specs[f"lever:{name}"]
        assert (s.min, s.max, s.value) == (lever.low, lever.high, plan.actions[name])
    # csat_surveys_per_year has no [levers] table: the model's LeverInfo bounds apply
    assert "csat_surveys_per_year" not in plan.levers
    s = specs["lever:csat_surveys_per_year"]
    assert (s.min, s.max) == (0, 12)
    for t in plan.targets:
        s = specs[f"target:{t.id}"]
        assert s.value == t.target and s.min <= t.target <= s.max
    assert specs["target:csat"].readout_format == ".0%"
    assert specs["confidence"].value == 0.8
    # headcount is a whole-number slider: 0 to 6 new reps, one at a time
    s = specs["lever:new_reps"]
    assert (s.min, s.max, s.step, s.value, s.readout_format) == (0, 6, 1, 0, ".0f")
    assert s.snap(2.4) == 2 and isinstance(s.snap(2.4), int)
    assert s.label == "New reps (headcount)"


@pytest.mark.parametrize("kw, arg", [
    ({"value": 20}, "'value'"),
    ({"min": 16}, "'min'"),
    ({"step": 0}, "'step'"),
    ({"step": float("nan")}, "'step'"),
    ({"kind": "knob"}, "'kind'"),
    ({"observed": (8, 4)}, "'observed'"),
    ({"observed": (4, float("inf"))}, "'observed'"),
])
def test_slider_spec_validates_itself(kw, arg):
    base = dict(kind="lever", name="x", label="x", value=7, min=2, max=15, step=1)
    with pytest.raises(ValueError, match=arg):
        SliderSpec(**{**base, **kw})


def test_slider_spec_widens_to_include_plan_value(plan):
    wide = plan.with_actions(prospect_visits_per_week=25)
    s = next(s for s in slider_specs(wide) if s.name == "prospect_visits_per_week")
    assert s.max == 25 and s.value == 25


def test_model_layer_never_imports_ipywidgets():
    code = ("import sys, okma_sim, okma_sim.dashboard\n"
            "from okma_sim.dashboard import slider_specs\n"
            "plan = okma_sim.load_plan(okma_sim.case_study_path())\n"
            "slider_specs(plan); okma_sim.simulate(plan, 50, seed=1)\n"
            "assert 'ipywidgets' not in sys.modules, 'ipywidgets imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True)


# -- live numbers ------------------------------------------------------------------------------
def test_initial_display_equals_simulate(plan, dash):
    _assert_shows(dash, okma_sim.simulate(plan, N, seed=SEED))


def test_lever_slider_updates_to_simulate_at_same_seed(plan, dash):
    before = dash.estimates["all_met"]
    dash.sliders["lever:prospect_visits_per_week"].value = 11
    ref = okma_sim.simulate(plan.with_actions(prospect_visits_per_week=11), N, seed=SEED)
    _assert_shows(dash, ref)
    assert dash.estimates["all_met"] != before  # the lever matters
    dash.sliders["lever:customer_visits_per_week"].value = 12
    ref = okma_sim.simulate(plan.with_actions(prospect_visits_per_week=11,
                                              customer_visits_per_week=12), N, seed=SEED)
    _assert_shows(dash, ref)


def test_target_and_confidence_sliders_reevaluate_without_resimulating(plan, dash):
    sims = dash.simulation_count
    dash.sliders["target:revenue"].value = 0.2
    dash.sliders["target:revisit_rate"].value = 0.75
    assert dash.simulation_count == sims
    ref = okma_sim.simulate(plan.with_targets({"revenue": 0.2, "revisit_rate": 0.75}), N,
                            seed=SEED)
    _assert_shows(dash, ref)
    dash.sliders["confidence"].value = 0.7
    assert "Achievable at 70%" in dash.table.value
    v = np.sort(ref.values["revenue"])
    achievable = v[-math.ceil(0.7 * N)]  # the 700th largest of 1000 paths
    assert (ref.values["revenue"] >= achievable).mean() >= 0.7
    from okma_sim.viz import fmt_level
    assert f"<td>{fmt_level(achievable, 'revenue_growth')}</td>" in dash.table.value


def test_common_random_numbers_across_dashboards(plan):
    """A second dashboard (empty cache) at the same seed shows identical numbers; another seed
    shows different ones."""
    a = Dashboard(plan, n_paths=N, seed=SEED, debounce=0, chart=False)
    a.set(prospect_visits_per_week=9, training_hours_per_month=8)
    b = Dashboard(plan, n_paths=N, seed=SEED, debounce=0, chart=False)
    b.set(training_hours_per_month=8, prospect_visits_per_week=9)
    assert a.estimates == b.estimates
    c = Dashboard(plan.with_actions(prospect_visits_per_week=9, training_hours_per_month=8),
                  n_paths=N, seed=SEED + 1, debounce=0, chart=False)
    assert c.estimates["csat"] != a.estimates["csat"]


def test_debounce_coalesces_a_burst_of_changes(plan):
    dash = Dashboard(plan, n_paths=300, seed=SEED, debounce=0.05, chart=False)
    n0 = dash.refresh_count

    async def burst():
        s = dash.sliders["lever:prospect_visits_per_week"]
        for v in (8, 9, 10):
            s.value = v
        assert dash.refresh_count == n0  # nothing yet: waiting for the burst to end
        await asyncio.sleep(0.5)

    asyncio.run(burst())
    assert dash.refresh_count == n0 + 1
    ref = okma_sim.simulate(plan.with_actions(prospect_visits_per_week=10), 300, seed=SEED)
    assert dash.estimates["all_met"] == ref.all_met()


def test_run_precise_uses_more_paths_with_progress(plan):
    dash = Dashboard(plan, n_paths=300, seed=SEED, debounce=0, chart=False,
                     precise_paths=9000)
    seen = []
    dash.progress.observe(lambda ch: seen.append(ch["new"]), names="value")
    dash.precise_button.click()
    ref = okma_sim.simulate(plan, 9000, seed=SEED)
    _assert_shows(dash, ref)
    assert dash.mode == "precise" and dash.result.n_paths == 9000
    # one step per seed block
    assert [v for v in seen if v > 0] == list(range(BLOCK_SIZE, 9000, BLOCK_SIZE)) + [9000]
    assert dash.progress.value == dash.progress.max == 9000
    # a target change re-evaluates the precise run; a lever change goes back to the fast run
    sims = dash.simulation_count
    dash.sliders["target:revenue"].value = 0.25
    assert dash.mode == "precise" and dash.simulation_count == sims
    ref = okma_sim.simulate(plan.with_targets({"revenue": 0.25}), 9000, seed=SEED)
    assert dash.estimates["revenue"] == ref.probability("revenue")
    dash.sliders["lever:training_hours_per_month"].value = 8
    assert dash.mode == "fast" and dash.result.n_paths == 300


def test_chart_follows_levers_and_target(plan):
    dash = Dashboard(plan, n_paths=N, seed=SEED, debounce=0, chart=True)
    png = dash.chart.value
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    dash.sliders["lever:prospect_visits_per_week"].value = 12
    dash.sliders["target:revenue"].value = 0.35
    assert dash.chart.value != png
    ax = dash._fan.ax
    b = dash.result.bands("revenue_growth", (0.05, 0.5, 0.95))
    median = next(ln for ln in ax.lines if ln.get_gid() == "median")
    np.testing.assert_allclose(median.get_ydata(), b["p50"])
    target = next(ln for ln in ax.lines if ln.get_gid() == "target")
    assert set(target.get_ydata()) == {0.35}
    band = next(c for c in ax.collections if c.get_gid() == "band_0.05_0.95")
    v = band.get_paths()[0].vertices
    np.testing.assert_allclose([v[np.isclose(v[:, 0], i), 1].max() for i in range(len(b))],
                               b["p95"])


def test_chart_blits_the_fan_over_a_steady_background(plan):
    """A lever move that keeps the fan inside the y-range only redraws the fan; the picture
    is that of a full redraw at the same setting, bar the grid lines under the bands."""
    import io

    from PIL import Image

    dash = Dashboard(plan, n_paths=N, seed=SEED, debounce=0, chart=True, workers=1)
    ylim = dash._fan.ax.get_ylim()
    dash.sliders["lever:prospect_visits_per_week"].value = 8
    assert dash.blit_count == 1 and dash._fan.ax.get_ylim() == ylim
    b = dash.result.bands("revenue_growth", (0.05, 0.5, 0.95))
    median = next(ln for ln in dash._fan.ax.lines if ln.get_gid() == "median")
    np.testing.assert_allclose(median.get_ydata(), b["p50"])
    blitted = np.asarray(Image.open(io.BytesIO(dash.chart.value)).convert("RGB"), float)
    # the same figure drawn the ordinary way, every artist in z-order
    dash._fan.fig.canvas.draw()
    full = np.asarray(Image.open(io.BytesIO(png_bytes(dash._fan.fig))).convert("RGB"), float)
    assert blitted.shape == full.shape
    differ = np.abs(blitted - full).max(axis=2) > 40
    assert differ.mean() < 1e-3  # only faint grid lines differ: drawn under, not over, bands
    # and the fan moved: the picture before the lever move differs
    dash.sliders["lever:prospect_visits_per_week"].value = 6
    before = np.asarray(Image.open(io.BytesIO(dash.chart.value)).convert("RGB"), float)
    assert (np.abs(before - blitted).max(axis=2) > 40).mean() > 0.01
    # a target inside the range moves only the target line
    dash.sliders["target:revenue"].value = 0.15
    assert dash.blit_count == 3 and dash._fan.ax.get_ylim() == ylim
    line = next(ln for ln in dash._fan.ax.lines if ln.get_gid() == "target")
    assert set(line.get_ydata()) == {0.15}


def test_chart_rescales_when_the_fan_leaves_the_axes(plan):
    dash = Dashboard(plan, n_paths=N, seed=SEED, debounce=0, chart=True, workers=1,
                     metric="new_customers")
    lo, hi = dash._fan.ax.get_ylim()
    dash.sliders["lever:new_reps"].value = 6  # more reps, more wins
    b = dash.result.bands("new_customers", (0.05, 0.95))
    lo2, hi2 = dash._fan.ax.get_ylim()
    assert b["p95"].max() > hi and lo2 <= b["p05"].min() and hi2 >= b["p95"].max()
    assert dash.blit_count == 0


def test_worker_processes_give_the_same_numbers(plan):
    """A real process pool runs the seed blocks of a refresh in parallel; the display is
    exactly what ``simulate`` gives in this process."""
    n = 2 * BLOCK_SIZE + 100
    dash = Dashboard(plan, n_paths=n, seed=SEED, debounce=0, chart=False, workers=2,
                     precise_paths=3 * BLOCK_SIZE + 50)
    try:
        assert dash._pool is not None
        dash.sliders["lever:prospect_visits_per_week"].value = 9
        ref = okma_sim.simulate(plan.with_actions(prospect_visits_per_week=9), n, seed=SEED)
        _assert_shows(dash, ref)
        # the pool did the work (a broken pool would have been closed, with the same numbers)
        assert dash._pool is not None
        # a fast refresh on the workers leaves the precise-run bar alone
        assert dash.progress.value == 0 and dash.progress.bar_style == "info"
        seen = []
        dash.progress.observe(lambda ch: seen.append(ch["new"]), names="value")
        dash.precise_button.click()
        ref = okma_sim.simulate(plan.with_actions(prospect_visits_per_week=9),
                                3 * BLOCK_SIZE + 50, seed=SEED)
        _assert_shows(dash, ref)
        assert [v for v in seen if v > 0] == [BLOCK_SIZE, 2 * BLOCK_SIZE, 3 * BLOCK_SIZE,
                                              3 * BLOCK_SIZE + 50]
        assert dash._pool is not None
    finally:
        dash.close()
    assert dash._pool is None
    dash.sliders["lever:prospect_visits_per_week"].value = 10  # in this process now
    ref = okma_sim.simulate(plan.with_actions(prospect_visits_per_week=10), n, seed=SEED)
    _assert_shows(dash, ref)


def test_dead_workers_fall_back_to_the_kernel_with_progress(plan):
    """Workers killed (out of memory, say): the run goes on in this process, with the same
    numbers, the pool closed, and "Run precise" still advancing its bar block by block."""
    import os
    import signal
    n = 2 * BLOCK_SIZE + 100
    precise = 3 * BLOCK_SIZE + 50
    dash = Dashboard(plan, n_paths=n, seed=SEED, debounce=0, chart=False, workers=2,
                     precise_paths=precise)
    try:
        assert dash.workers_ready(timeout=120)
        for pid in list(dash._pool._processes):
            os.kill(pid, signal.SIGKILL)
        seen = []
        dash.progress.observe(lambda ch: seen.append(ch["new"]), names="value")
        dash.precise_button.click()
        assert dash._pool is None
        _assert_shows(dash, okma_sim.simulate(plan, precise, seed=SEED))
        assert [v for v in seen if v > 0] == [BLOCK_SIZE, 2 * BLOCK_SIZE, 3 * BLOCK_SIZE,
                                              precise]
        assert dash.progress.bar_style == "success"
    finally:
        dash.close()


def test_default_workers_follow_blocks_and_cpus():
    import os
    assert default_workers(1) == 1
    assert default_workers(BLOCK_SIZE) == 1
    assert default_workers(4000) == min(2, os.cpu_count() or 1)
    assert default_workers(100 * BLOCK_SIZE) == min(4, os.cpu_count() or 1)


# -- saving ------------------------------------------------------------------------------------
def test_save_scenario_round_trips_and_never_overwrites_silently(plan, dash, tmp_path):
    dash.set(prospect_visits_per_week=10, marketing_events_per_quarter=3, revenue=0.25,
             new_customers=11.5)
    out = tmp_path / "chosen.toml"
    dash.save_path.value = str(out)
    dash.save_button.click()
    assert "Saved" in dash.save_status.value
    saved = okma_sim.load_plan(out)
    assert saved.actions == {**plan.actions, "prospect_visits_per_week": 10,
                             "marketing_events_per_quarter": 3}
    assert saved.target("revenue").target == 0.25
    assert saved.target("new_customers").target == 11.5
    assert saved == dash.current_plan()
    # same numbers when the saved file is simulated
    assert okma_sim.simulate(saved, N, seed=SEED).all_met() == dash.estimates["all_met"]

    # a second save to the same file is refused, and the file is untouched
    text = out.read_text()
    dash.set(prospect_visits_per_week=12)
    dash.save_button.click()
    assert "Not saved" in dash.save_status.value and "Overwrite" in dash.save_status.value
    assert out.read_text() == text
    with pytest.raises(OkmaError, match="exists"):
        dash.save_scenario(out)
    # ticking "Overwrite" replaces it, once
    dash.overwrite.value = True
    dash.save_button.click()
    assert okma_sim.load_plan(out).actions["prospect_visits_per_week"] == 12
    assert dash.overwrite.value is False
    # a path through a file, or a folder: one line in the widget, nothing written, no raise
    for bad in (out / "x.toml", tmp_path):
        dash.save_path.value = str(bad)
        dash.save_button.click()
        status = dash.save_status.value
        assert "Not saved" in status and str(bad) in status and "Overwrite" not in status
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chosen.toml"]


def test_set_rejects_unknown_slider(dash):
    with pytest.raises(KeyError, match="no slider named 'bogus'"):
        dash.set(bogus=1)


def test_dashboard_on_test_model_matches_closed_form():
    """Linear test model: mean score over 12 months ~ Normal(effort, sqrt(0.04 effort^2 +
    0.25 + 1/12)); moving the effort lever moves P(score >= 1.2) to the closed form (4 SE)."""
    from scipy import stats

    from okma_sim.plan import Management, Objective, Plan
    toy = Plan(name="toy", start_month="2027-01", horizon_months=12, model="linear_toy",
               objectives=(Objective(id="score", metric="score", target=1.2,
                                     aggregate="mean"),),
               actions={"effort": 1.0}, management=Management(review_every_months=0))
    dash = Dashboard(toy, n_paths=4000, seed=SEED, debounce=0, chart=False)
    spec = next(s for s in dash.specs if s.name == "effort")
    assert (spec.min, spec.max) == (0, 10)  # model bounds (0, 100), capped to a useful range
    for effort in (1.0, 2.0):
        dash.sliders["lever:effort"].value = effort
        sd = math.sqrt(0.04 * effort ** 2 + 0.25 + 1 / 12)
        exact = stats.norm.sf(1.2, loc=effort, scale=sd)
        e = dash.estimates["score"]
        assert abs(e.probability - exact) <= 4 * e.stderr, (effort, e, exact)


def test_model_defined_in_the_notebook_runs_in_the_kernel():
    """Workers cannot import a class defined in a notebook cell (module ``__main__``): such a
    model runs in the kernel's process, and lever moves still work."""
    from okma_sim.models.toy import LinearToyModel
    from okma_sim.plan import Management, Objective, Plan

    NotebookModel = type("NotebookModel", (LinearToyModel,), {"__module__": "__main__"})
    toy = Plan(name="toy", start_month="2027-01", horizon_months=12, model="linear_toy",
               objectives=(Objective(id="score", metric="score", target=1.2,
                                     aggregate="mean"),),
               actions={"effort": 1.0}, management=Management(review_every_months=0))
    dash = Dashboard(toy, n_paths=2 * BLOCK_SIZE, seed=SEED, debounce=0, chart=False,
                     model=NotebookModel(), workers=2)
    assert dash.workers == 1 and dash._pool is None
    dash.sliders["lever:effort"].value = 2.0
    ref = okma_sim.simulate(toy.with_actions(effort=2.0), 2 * BLOCK_SIZE, seed=SEED,
                            model=LinearToyModel())
    assert dash.estimates["score"] == ref.probability("score")
    # an importable model goes to the workers
    dash2 = Dashboard(toy, n_paths=2 * BLOCK_SIZE, seed=SEED, debounce=0, chart=False,
                      model=LinearToyModel(), workers=2)
    try:
        assert dash2.workers == 2 and dash2._pool is not None
        dash2.sliders["lever:effort"].value = 2.0
        assert dash2.estimates["score"] == ref.probability("score")
        assert dash2._pool is not None  # still alive: the workers ran it
    finally:
        dash2.close()


def test_the_reps_hours_are_shown_in_words(plan):
    from okma_sim.results import capacity_text
    dash = Dashboard(plan, n_paths=N, seed=SEED, debounce=0, chart=False, workers=1)
    cap = okma_sim.simulate(plan, N, seed=SEED).capacity()
    # capacity use is the result's own figure: planned over available hours per rep-month
    assert dash.capacity == cap
    use = cap["hours_planned"] / cap["hours_available"]
    assert 0.3 < use < 1.0
    assert dash.capacity_label.value == (
        f"Capacity use: {use:.0%} of the reps' hours ({cap['hours_planned']:.0f} of 120 hours "
        "per rep and month planned)")
    assert dash.hours.value == capacity_text(cap)
    assert dash.hours.value.startswith("hours per rep and month: 120 available")
    assert "fits the reps' hours" in dash.hours.value or "<0.1%" in dash.hours.value
    # a plan over its hours says so, with the share of rep-months
    dash.sliders["lever:prospect_visits_per_week"].value = 15
    dash.sliders["lever:customer_visits_per_week"].value = 20
    share = dash.result.capacity()["share_rep_months_capped"]
    assert share > 0.5
    assert f"more hours than a rep has in {share:.1%} of rep-months" in dash.hours.value


# -- extrapolation: a calibrated plan's sliders shade what the history never saw ----------------
OBSERVED = {"prospect_visits_per_week": (4.8462, 6.9231),
            "customer_visits_per_week": (9.0, 11.0769),
            "training_hours_per_month": (6.0, 14.0)}


def test_slider_spec_shades_outside_the_observed_range():
    s = SliderSpec("lever", "v", "v", 6, 2, 12, 1, observed=(4, 9))
    # 2..12: the range 4..9 is 20% to 70% of the track
    assert s.shading("red", "grey") == ("linear-gradient(to right, red 0.00%, red 20.00%, "
                                        "grey 20.00%, grey 70.00%, red 70.00%, red 100.00%)")
    assert SliderSpec("lever", "v", "v", 6, 2, 12, 1).shading() is None
    # an observed range covering the whole slider leaves nothing to shade
    assert SliderSpec("lever", "v", "v", 6, 2, 12, 1, observed=(1, 13)).shading() is None
    # one beyond the slider's end shades only the other side
    assert SliderSpec("lever", "v", "v", 6, 2, 12, 1, observed=(1, 7)).shading(
        "red", "grey").endswith("grey 50.00%, red 50.00%, red 100.00%)")


def test_calibrated_dashboard_shades_and_warns(plan):
    from okma_sim.plan import Calibration
    cal = plan.replace(calibration=Calibration(dict(OBSERVED))).with_actions(
        prospect_visits_per_week=9, customer_visits_per_week=10, training_hours_per_month=10)
    specs = {s.name: s for s in slider_specs(cal) if s.kind == "lever"}
    assert {k: s.observed for k, s in specs.items() if s.observed} == OBSERVED
    dash = Dashboard(cal, n_paths=300, seed=SEED, debounce=0, chart=False, workers=1)
    # each recorded lever's slider has its own class, styled with its gradient
    shaded = [s for s in dash.specs if s.shading() is not None]
    assert [s.name for s in shaded] == list(OBSERVED)
    for i, s in enumerate(shaded):
        sl = dash.sliders[s.key]
        assert "okma-observed" in sl._dom_classes and f"okma-observed-{i}" in sl._dom_classes
        assert f".okma-observed-{i} .noUi-connects {{background: {s.shading()} !important}}" \
            in dash.shading.value
        assert "the history observed" in sl.tooltip
    events = dash.sliders["lever:marketing_events_per_quarter"]
    assert "okma-observed" not in events._dom_classes
    # 9 prospect visits a week: one warning, naming the lever, the range and the prior
    warnings = re.findall(r"<div class='okma-extrapolation-warning' data-lever='([^']+)'",
                          dash.extrapolation.value)
    assert warnings == ["prospect_visits_per_week"]
    assert "prospect_visits_per_week = 9 lies outside the range the history observed (4.846 " \
           "to 6.923 visits/rep-week)" in dash.extrapolation.value
    assert "visit_elasticity" in dash.extrapolation.value
    # back inside the range: no warning; out on another lever: that one
    dash.set(prospect_visits_per_week=6)
    assert dash.extrapolation.value == ""
    dash.set(training_hours_per_month=16)
    assert "data-lever='training_hours_per_month'" in dash.extrapolation.value
    assert "training_effect" in dash.extrapolation.value


def test_uncalibrated_dashboard_neither_shades_nor_warns(dash):
    assert dash.shading.value == ""
    dash.set(prospect_visits_per_week=15)
    assert dash.extrapolation.value == ""


# -- cost and headcount ------------------------------------------------------------------------
def _library_cost_per_year(plan, **actions):
    """The solver's cost (analysis.action_cost, hours from a run at the same seed) per year."""
    from okma_sim.analysis import action_cost
    p = plan.with_actions(**actions)
    res = okma_sim.simulate(p, N, seed=SEED, keep_monthly=["training_hours"])
    return action_cost(p, res)["total"] * 12 / p.horizon_months


def test_cost_per_year_is_the_solvers_cost_at_the_slider_levels(plan):
    from okma_sim._core.formatting import format_amount
    dash = Dashboard(plan, n_paths=N, seed=SEED, debounce=0, chart=False, workers=1)
    assert plan.horizon_months == 12 and plan.currency == "CNY"
    base = _library_cost_per_year(plan)
    assert dash.cost["per_year"] == pytest.approx(base, rel=1e-12)
    assert dash.cost_label.value.startswith(
        f"Cost of the plan: {format_amount(base, 'CNY')} per year (levers ")
    # from 7 to 9 prospect visits a week: the levers' cost grows by at most 2 x the unit cost
    # (the visits planned), and by at least 9 (1 - c) - 7 units, c the share of rep-months
    # over the hours at 9 (the months within the hours make every visit; at 7 at most 7 are
    # made)
    assert plan.actions["prospect_visits_per_week"] == 7
    before = dash.cost["levers"]
    dash.set(prospect_visits_per_week=9)
    uc = plan.levers["prospect_visits_per_week"].unit_cost
    capped = dash.capacity["share_rep_months_capped"]
    d_levers = dash.cost["levers"] - before
    assert uc * (9 * (1 - capped) - 7) - 1e-6 <= d_levers <= 2 * uc + 1e-6
    dash.set(new_reps=2)
    moved = _library_cost_per_year(plan, prospect_visits_per_week=9, new_reps=2)
    assert dash.cost["per_year"] == pytest.approx(moved, rel=1e-12)
    assert f"{format_amount(moved, 'CNY')} per year" in dash.cost_label.value
    # a target move re-evaluates the same run: the cost stays
    dash.set(revenue=0.2)
    assert dash.cost["per_year"] == pytest.approx(moved, rel=1e-12)


def test_cost_per_year_scales_a_shorter_horizon():
    """A 6-month plan: the horizon's cost is half a year's."""
    from okma_sim.analysis import action_cost
    from okma_sim.plan import Lever, Management, Objective, Plan
    toy = Plan(name="toy", start_month="2027-01", horizon_months=6, model="linear_toy",
               objectives=(Objective(id="score", metric="score", target=1.2,
                                     aggregate="mean"),),
               actions={"effort": 2.0}, levers={"effort": Lever(0.0, 5.0, unit_cost=100.0)},
               management=Management(review_every_months=0))
    dash = Dashboard(toy, n_paths=200, seed=SEED, debounce=0, chart=False, workers=1)
    assert action_cost(toy)["total"] == 200.0
    assert dash.cost["per_year"] == 400.0
    assert dash.cost_label.value.startswith("Cost of the plan: 400 per year (levers 400,")
    # the toy model has no headcount lever: no headcount slider
    assert "lever:new_reps" not in dash.sliders


def test_headcount_slider_changes_the_plans_new_reps(plan):
    """A plan that never mentions new_reps still gets the headcount slider (the model has the
    lever); moving it hires reps: the display is simulate's with that many new reps."""
    import dataclasses
    bare = dataclasses.replace(
        plan, actions={k: v for k, v in plan.actions.items() if k != "new_reps"},
        levers={k: v for k, v in plan.levers.items() if k != "new_reps"})
    dash = Dashboard(bare, n_paths=N, seed=SEED, debounce=0, chart=False, workers=1)
    s = next(s for s in dash.specs if s.key == "lever:new_reps")
    assert (s.value, s.min, s.step, s.label) == (0, 0, 1, "New reps (headcount)")
    assert s.max >= 6
    slider = dash.sliders["lever:new_reps"]
    slider.value = 3
    assert dash.actions()["new_reps"] == 3
    assert dash.current_plan().actions["new_reps"] == 3
    ref = okma_sim.simulate(bare.with_actions(new_reps=3), N, seed=SEED)
    _assert_shows(dash, ref)
    base = okma_sim.simulate(bare, N, seed=SEED)
    # three more reps sell more: the revenue objective's odds rise
    assert dash.estimates["revenue"].probability > base.probability("revenue").probability


def test_joint_targets_follow_the_confidence_slider(plan):
    """The joint-target line is joint_level on the displayed runs: its targets hold together
    in at least C of them, and moving the confidence re-reads the same runs."""
    from okma_sim.analysis import joint_level, target_phrase
    dash = Dashboard(plan, n_paths=N, seed=SEED, debounce=0, chart=False, workers=1)
    for c in (0.8, 0.6):
        dash.set(confidence=c)
        res = dash.result
        _, targets = joint_level(res, c)
        met = np.ones(res.n_paths, dtype=bool)
        for i, v in targets.items():
            met &= res.plan.with_targets({i: v}).target(i).met(res.values[i])
            assert target_phrase(res.plan, i, v) in dash.joint_label.value
        assert met.mean() >= c
        assert dash.joint_label.value.startswith(f"Targets that hold together at {100 * c:g}%")
