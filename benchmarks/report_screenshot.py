"""The case study's report, timed, and its screenshot in Chromium.

    python benchmarks/report_screenshot.py [--paths N] [--seed S]

Writes ``benchmarks/results/report.html``, ``report.xlsx`` and ``report_screenshot.png`` (the
folder is git-ignored; existing files are replaced) and prints the time of each step: the
simulation (with the per-rep history), the report's sections (figures drawn), the HTML page,
the workbook, and the page's load in Chromium. Needs Debian's Chromium (``/usr/bin/chromium``,
or ``OKMA_CHROMIUM``) and the ``playwright`` package.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import okma_sim
from okma_sim._core.files import atomic_write_all
from okma_sim.report import plan_report, render_html, report_options, workbook_bytes

OUT = Path(__file__).resolve().parent / "results"
CHROMIUM = os.environ.get("OKMA_CHROMIUM", "/usr/bin/chromium")


def screenshot(html: Path, png: Path) -> float:
    """Open the page in Chromium (no network) and save a full-page screenshot; returns the
    load time in seconds."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1100, "height": 1400})
        page.route("**/*", lambda r: r.continue_()
                   if r.request.url.startswith(("file://", "data:")) else r.abort())
        t = time.perf_counter()
        page.goto(html.resolve().as_uri(), wait_until="load")
        took = time.perf_counter() - t
        page.screenshot(path=str(png), full_page=True)
        browser.close()
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    times = {}
    t = time.perf_counter()
    plan = okma_sim.load_plan(okma_sim.case_study_path())
    res = okma_sim.simulate(plan, a.paths, seed=a.seed, progress=False, **report_options(plan))
    times["simulate (record_reps)"] = time.perf_counter() - t
    t = time.perf_counter()
    report = plan_report(res)
    times["sections and figures"] = time.perf_counter() - t
    t = time.perf_counter()
    page = render_html(report)
    times["HTML page"] = time.perf_counter() - t
    t = time.perf_counter()
    xlsx = workbook_bytes(res)
    times["workbook"] = time.perf_counter() - t
    html = OUT / "report.html"
    atomic_write_all([(html, page), (OUT / "report.xlsx", xlsx)], overwrite=True)
    png = OUT / "report_screenshot.png"
    times["Chromium load"] = screenshot(html, png)
    print(f"case study report, {a.paths:,} simulated runs, seed {a.seed}: "
          f"{len(report.figures)} figures, HTML {len(page.encode()) / 1e3:,.0f} kB, "
          f"workbook {len(xlsx) / 1e3:,.0f} kB")
    for k, v in times.items():
        print(f"  {k:<24}{v:7.2f} s")
    print(f"wrote {html}, {OUT / 'report.xlsx'} and {png}")


if __name__ == "__main__":
    main()
