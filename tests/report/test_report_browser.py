"""The HTML report in a real browser: Debian's Chromium, driven by Playwright, opens the file.

Every figure the report lists is an <img> that decoded (naturalWidth > 0); the page raises no
JavaScript error and makes no request but for the file itself (its images are data URIs). A
screenshot is saved. The same checks, run on pages that break them, fail: the harness can see
what it looks for.

Without Chromium the tests are skipped with an install hint; with ``OKMA_REQUIRE_BROWSER=1``
(as in ``.ci/run``) a missing browser fails them instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import okma_sim
from browser_helpers import CHROMIUM, LAUNCH_ARGS, unavailable
from okma_sim.report import plan_report, render_html, report_options



@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        unavailable(f"no Chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the Python package 'playwright' is missing (pip install -e '.[test]')")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield b
        b.close()


def _open(browser, html_file: Path, screenshot: Path | None = None) -> dict:
    """Open a static file; return its requests, errors and images' natural widths."""
    page = browser.new_page(viewport={"width": 1100, "height": 1400})
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("console", lambda m: errors.append(f"console: {m.text}")
            if m.type == "error" else None)
    # nothing leaves the machine: every request but the file and data URIs is aborted (and
    # still recorded above)
    page.route("**/*", lambda route: route.continue_()
               if route.request.url.startswith(("file://", "data:")) else route.abort())
    url = html_file.resolve().as_uri()
    page.goto(url, wait_until="load")
    widths = page.eval_on_selector_all("img", "els => els.map(e => e.naturalWidth)")
    listed = page.eval_on_selector_all("#figure-list li", "els => els.length")
    if screenshot is not None:
        page.screenshot(path=str(screenshot), full_page=True)
    page.close()
    return {"url": url, "requests": requests, "errors": errors, "widths": widths,
            "listed": listed}


def _foreign(seen: dict) -> list[str]:
    return [u for u in seen["requests"] if u != seen["url"] and not u.startswith("data:")]


@pytest.fixture(scope="module")
def report_file(tmp_path_factory):
    plan = okma_sim.load_plan(okma_sim.case_study_path())
    res = okma_sim.simulate(plan, 1500, seed=5, **report_options(plan))
    report = plan_report(res)
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(render_html(report), encoding="utf-8")
    return path, report


def test_report_opens_with_every_figure_and_nothing_else(browser, report_file, tmp_path):
    path, report = report_file
    shot = tmp_path / "report.png"
    seen = _open(browser, path, shot)
    # the figures the report lists (its figure list and the Report object) are its images
    # bars, two fan charts, two achievability curves, the joint targets' heat map
    assert len(report.figures) == 6
    assert seen["listed"] == len(report.figures) == len(seen["widths"])
    assert all(w > 0 for w in seen["widths"]), seen["widths"]
    assert seen["errors"] == []
    assert _foreign(seen) == []
    assert shot.stat().st_size > 10_000 and shot.read_bytes()[:4] == b"\x89PNG"


def test_the_checks_see_broken_pages(browser, report_file, tmp_path):
    """An external image, a script error and a broken image are each caught."""
    path, _ = report_file
    page = path.read_text(encoding="utf-8")
    bad = tmp_path / "bad.html"
    bad.write_text(page.replace(
        "</body>", '<img src="https://example.com/logo.png"><img src="data:image/png;base64,'
        'AAAA"><script>undefinedFunction()</script></body>'), encoding="utf-8")
    seen = _open(browser, bad)
    assert _foreign(seen) == ["https://example.com/logo.png"]
    assert any("undefinedFunction" in e for e in seen["errors"])
    assert sorted(seen["widths"])[:2] == [0, 0]
    assert len(seen["widths"]) == seen["listed"] + 2
