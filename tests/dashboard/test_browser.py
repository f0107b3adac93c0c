"""The dashboard in a real browser: Voila serves notebooks/06_dashboard.ipynb on 127.0.0.1 and
Playwright drives Debian's Chromium.

The test steps the "Prospect visits per week" slider one notch with the keyboard and asserts
that the displayed chance that all objectives are met becomes exactly what a headless
``okma_sim.simulate`` gives at the new setting with the same seed (common random numbers make
it deterministic), and so do the plan's cost per year (the solver's ``action_cost``) and its
capacity use beside it.

Without Chromium the test is skipped with an install hint; with ``OKMA_REQUIRE_BROWSER=1`` (as
in ``.ci/run``) a missing browser fails it instead.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import okma_sim
from browser_helpers import CHROMIUM, LAUNCH_ARGS, unavailable

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "06_dashboard.ipynb"
# what the notebook builds: Dashboard(plan, n_paths=4000, seed=plan.simulation.seed)
N_PATHS = 4000
LEVER = "prospect_visits_per_week"
LEVER_LABEL = "Prospect visits per week"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _voila(notebook: Path, log_dir: Path):
    """Voila serving ``notebook`` on a free port, yielding its URL; readiness by TCP connect
    only (a GET would start a kernel that stays alive)."""
    if not Path(CHROMIUM).exists():
        unavailable(f"no Chromium at {CHROMIUM}")
    for mod in ("voila", "playwright"):
        try:
            __import__(mod)
        except ImportError:
            unavailable(f"the Python package {mod!r} is missing (pip install -e '.[test]')")
    port = _free_port()
    log_path = log_dir / "voila.log"
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={port}",
         "--Voila.ip=127.0.0.1"],
        stdout=log, stderr=subprocess.STDOUT, cwd=log_path.parent)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"voila exited with {proc.returncode}:\n"
                                   f"{log_path.read_text()[-3000:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"voila did not listen within 60 s:\n"
                                       f"{log_path.read_text()[-3000:]}") from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGTERM)  # voila shuts its kernels down
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def voila_url(tmp_path_factory):
    """Voila serving the dashboard notebook."""
    with _voila(NOTEBOOK, tmp_path_factory.mktemp("voila")) as url:
        yield url


@contextlib.contextmanager
def _page(url: str, errors: list[str]):
    """A Chromium page on ``url`` that loads nothing from elsewhere and collects the local
    page's JavaScript errors into ``errors``."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 1400})
            # no network here: abort everything that is not the local server (CDN fonts)
            page.route("**/*", lambda route: route.continue_()
                       if route.request.url.startswith(url) else route.abort())
            page.on("console", lambda m: errors.append(f"console: {m.text}")
                    if m.type == "error" and str(m.location.get("url", "")).startswith(
                        url) else None)
            page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
            page.goto(url + "/", timeout=120_000)
            yield page
        finally:
            browser.close()


def _verdicts(plan, **actions) -> tuple[str, str, str]:
    """What the page must show at these actions, from the library: the chance all objectives
    are met, the start of the cost line (the solver's cost per year) and of the capacity line
    (the run's planned over available hours per rep and month)."""
    from okma_sim._core.formatting import format_amount
    from okma_sim.analysis import action_cost
    p = plan.with_actions(**actions)
    res = okma_sim.simulate(p, N_PATHS, seed=plan.simulation.seed,
                            keep_monthly=["training_hours"])
    a = res.all_met()
    per_year = action_cost(p, res)["total"] * 12 / p.horizon_months
    cap = res.capacity()
    return (f"Chance all objectives are met: {a.probability:.1%} ± {a.stderr:.1%}",
            f"Cost of the plan: {format_amount(per_year, p.currency)} per year (levers ",
            f"Capacity use: {cap['hours_planned'] / cap['hours_available']:.0%} of the reps' "
            f"hours ({cap['hours_planned']:.0f} of {cap['hours_available']:.0f} hours per rep "
            "and month planned)")


def test_lever_slider_moves_probability_in_browser(voila_url, tmp_path):
    from playwright.sync_api import expect

    plan = okma_sim.load_plan(okma_sim.case_study_path())
    start = plan.actions[LEVER]
    before = _verdicts(plan)
    after = _verdicts(plan, **{LEVER: start + 1})  # the slider's step is 1
    assert before[0] != after[0], "pick a lever whose one-step move changes the rounded P"
    assert before[1] != after[1] and before[2] != after[2]

    errors: list[str] = []
    with _page(voila_url, errors) as page:
        slider = page.locator(".jupyter-widgets.widget-slider",
                              has_text=LEVER_LABEL)
        expect(slider).to_have_count(1, timeout=120_000)  # waits for the kernel
        readout = slider.locator(".widget-readout")
        expect(readout).to_have_text(f"{start:g}")
        summary = page.locator(".jupyter-widgets.widget-label",
                               has_text="Chance all objectives are met:")
        expect(summary).to_have_text(before[0], timeout=60_000)
        cost, hours = page.locator(".okma-cost"), page.locator(".okma-capacity")
        expect(cost).to_contain_text(before[1])
        expect(hours).to_contain_text(before[2])
        # the verdicts come right after the controls, before the table and the chart
        order = page.evaluate("""() => ['.okma-lever', '.okma-verdicts', '.okma-table']
            .map(s => document.querySelector(s).getBoundingClientRect().top)""")
        assert order == sorted(order), order

        handle = slider.locator(".noUi-handle")
        handle.focus()
        handle.press("ArrowRight")
        expect(readout).to_have_text(f"{start + 1:g}")
        # debounced refresh, then one 4,000-path simulation (on the worker processes)
        expect(summary).to_have_text(after[0], timeout=60_000)
        expect(cost).to_contain_text(after[1])
        expect(hours).to_contain_text(after[2])
        # an uncalibrated plan: no shaded slider, no extrapolation warning
        expect(page.locator(".okma-observed")).to_have_count(0)
        expect(page.locator(".okma-extrapolation-warning")).to_have_count(0)

        shot = tmp_path / "dashboard.png"
        page.screenshot(path=str(shot), full_page=True)
        out = ROOT / "test-results"
        out.mkdir(exist_ok=True)
        shutil.copy(shot, out / "dashboard.png")
        assert shot.stat().st_size > 10_000
    assert not errors, "JavaScript errors from the local page:\n" + "\n".join(errors)


# ---------------------------------------------------------------------------------------------
# a calibrated scenario: the part of a lever's range outside the history's is shaded, and a
# lever set there is warned about
# ---------------------------------------------------------------------------------------------
HISTORY = ROOT / "data" / "sales_history.csv"
SHADE = "rgb(240, 160, 96)"  # SliderSpec.shading's default shade, #f0a060, as the browser has it


@pytest.fixture(scope="module")
def calibrated_url(tmp_path_factory):
    """Voila serving a notebook that shows the dashboard of the bundled history's calibrated
    scenario, with prospect visits at 9 a week (the history's reps made 4.8 to 6.9) and the
    other recorded levers inside their ranges."""
    import nbformat
    from okma_sim.inference import calibrate
    from okma_sim.plan import save_plan

    folder = tmp_path_factory.mktemp("calibrated")
    plan, _fit = calibrate(HISTORY)
    plan = plan.with_actions(prospect_visits_per_week=9, customer_visits_per_week=10,
                             training_hours_per_month=10)
    scenario = save_plan(plan, folder / "calibrated.toml")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import okma_sim\nfrom okma_sim.dashboard import Dashboard\n"
        f"plan = okma_sim.load_plan({str(scenario)!r})\n"
        "dash = Dashboard(plan, n_paths=500, seed=1, chart=False, workers=1)\ndash")]
    notebook = folder / "calibrated.ipynb"
    nbformat.write(nb, str(notebook))
    with _voila(notebook, folder) as url:
        yield url


def _track_background(slider) -> str:
    return slider.locator(".noUi-connects").evaluate("e => getComputedStyle(e).backgroundImage")


def test_calibrated_dashboard_shades_and_warns_outside_the_history(calibrated_url, tmp_path):
    from playwright.sync_api import expect

    errors: list[str] = []
    with _page(calibrated_url, errors) as page:
        slider = page.locator(".jupyter-widgets.widget-slider", has_text=LEVER_LABEL)
        expect(slider).to_have_count(1, timeout=120_000)  # waits for the kernel
        warning = page.locator(".okma-extrapolation-warning")
        expect(warning).to_have_count(1, timeout=60_000)
        expect(warning).to_have_attribute("data-lever", LEVER)
        expect(warning).to_contain_text(f"{LEVER} = 9 lies outside the range the history "
                                        "observed (4.846 to 6.923")
        expect(warning).to_contain_text("visit_elasticity")
        # the recorded levers' tracks are shaded outside the observed range; others are not
        assert "linear-gradient" in _track_background(slider)
        assert SHADE in _track_background(slider)
        for label in ("Customer visits per week", "Training hours per month"):
            other = page.locator(".jupyter-widgets.widget-slider", has_text=label)
            assert SHADE in _track_background(other)
        events = page.locator(".jupyter-widgets.widget-slider",
                              has_text="Marketing events per quarter")
        assert _track_background(events) == "none"
        shot = tmp_path / "dashboard_extrapolation.png"
        page.screenshot(path=str(shot), full_page=True)
        out = ROOT / "test-results"
        out.mkdir(exist_ok=True)
        shutil.copy(shot, out / "dashboard_extrapolation.png")

        # back inside the range: the warning goes, the shading stays
        readout = slider.locator(".widget-readout")
        readout.fill("6")
        readout.press("Enter")
        expect(readout).to_have_text("6")
        expect(warning).to_have_count(0, timeout=60_000)
        assert SHADE in _track_background(slider)
    assert not errors, "JavaScript errors from the local page:\n" + "\n".join(errors)
