"""The report's content: the glossary matches docs/glossary.md, the section registry builds
what it lists, verdicts carry the result's numbers with their SE, and the page is
self-contained (checked in the text here, in a browser in test_report_browser.py)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

import okma_sim
from okma_sim._core.errors import OkmaError
from okma_sim._core.files import atomic_write_all
from okma_sim.report import (GLOSSARY, SECTIONS, Paragraph, Section, plan_report, render_html,
                             report_options)
from okma_sim.report._facts import target_rows
from okma_sim.report._text import verdict
from okma_sim.results import target_label

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def res():
    plan = okma_sim.load_plan(okma_sim.case_study_path())
    return okma_sim.simulate(plan, 1000, seed=4, **report_options(plan))


def test_every_glossary_term_is_in_docs_glossary():
    text = (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8")
    terms = re.findall(r"^- \*\*(.+?)\*\*:", text, flags=re.M)
    assert terms == list(GLOSSARY)
    for required in ("simulated run", "probability", "standard error (±)", "80% range",
                     "p05/p50/p95", "objective", "key result", "joint target", "lever",
                     "anchoring", "calibration", "backtest", "coverage"):
        assert required in GLOSSARY


def _pct(p: float) -> str:
    """The documented reading of a chance, written out here: whole percent, and "<1%" for a
    positive chance that would round to 0."""
    return "<1%" if 0 < p < 0.005 else f"{100 * p:.0f}%"


def _estimate(p: float, se: float) -> str:
    return f"{_pct(p)} ± {'<0.1%' if 0 < se < 0.0005 else f'{100 * se:.1f}%'}"


def test_verdicts_are_the_results_probabilities(res):
    page = render_html(plan_report(res))
    for t in res.plan.targets:
        e = res.probability(t.id)
        line = f"{target_label(t, res.plan)}: {_pct(e.probability)} chance (± " \
               f"{100 * e.stderr:.1f}%)"
        assert line in page, line
    # the assumptions hold the plan's lever levels, in the model's units
    model = okma_sim.get_model(res.plan.model)
    for k, v in res.plan.actions.items():
        assert f"<td class=num>{v:g} {model.levers[k].unit}</td>" in page, k
    # p = 0.0x reads as "about 1 in 1/p", as check's verdicts read
    assert verdict("x", 0.041, 0.0044) == "x: 4% chance (± 0.4%), about 1 in 25"


def test_growth_targets_read_as_revenue_amounts(res):
    df = target_rows(res).set_index("id")
    base = res.extra["anchor"]["figures"]["revenue"]
    year = sum(res.plan.baseline.monthly_revenue)
    assert df.loc["revenue", "statement"] == f"+30% revenue ({1.3 * year / 1e6:.2f} M CNY)"
    growth = np.quantile(res.values["revenue"], 0.5)
    assert df.loc["revenue", "p50_amount"] == pytest.approx(base * (1 + growth))


def test_the_registry_is_the_section_list(res):
    report = plan_report(res)
    assert [s.key for s in report.sections] == ["verdicts", "odds", "outlook", "curves",
                                                "joint", "levers", "capacity", "per_rep",
                                                "assumptions", "glossary"]
    assert len(report.sections) == len(SECTIONS)

    def extra(result):
        return Section("extra", "One more", (Paragraph(f"{result.n_paths} runs"),))

    more = plan_report(res, [*SECTIONS[:1], extra])
    assert [s.key for s in more.sections] == ["verdicts", "extra"]
    assert "<p>1000 runs</p>" in render_html(more)


def test_the_page_needs_nothing_from_elsewhere(res):
    page = render_html(plan_report(res))
    assert "<script" not in page.lower()
    srcs = re.findall(r'\bsrc="([^"]*)"', page)
    assert len(srcs) == 6 and all(s.startswith("data:image/png;base64,") for s in srcs)
    hrefs = re.findall(r'\bhref="([^"]*)"', page)
    assert hrefs and all(h.startswith("#") for h in hrefs)
    assert "url(" not in page and "@import" not in page


def test_a_run_without_per_rep_history_leaves_that_section_out():
    res = okma_sim.simulate(okma_sim.load_plan(okma_sim.case_study_path()), 300, seed=1)
    assert "per_rep" not in [s.key for s in plan_report(res).sections]


def test_atomic_write_all_writes_all_or_none(tmp_path):
    (tmp_path / "b.txt").write_text("old")
    with pytest.raises(OkmaError, match="file exists"):
        atomic_write_all([(tmp_path / "a.txt", "A"), (tmp_path / "b.txt", "B")])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.txt"]
    assert (tmp_path / "b.txt").read_text() == "old"
    atomic_write_all([(tmp_path / "a.txt", "A"), (tmp_path / "b.txt", b"B")], overwrite=True)
    assert (tmp_path / "a.txt").read_text() == "A" and (tmp_path / "b.txt").read_bytes() == b"B"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]


def test_atomic_write_all_takes_back_the_first_file_when_the_second_fails(tmp_path,
                                                                          monkeypatch):
    """A failure between the renames (a full disk, a vanished folder) removes the file this
    call already put in place, and the temporary files."""
    import errno
    import os
    real_link, real_replace = os.link, os.replace
    calls = []

    def full_disk(real):
        def move(src, dst, *args, **kwargs):
            calls.append(str(dst))
            if str(dst).endswith("b.xlsx"):
                raise OSError(errno.ENOSPC, "No space left on device")
            return real(src, dst, *args, **kwargs)
        return move

    monkeypatch.setattr(os, "link", full_disk(real_link))
    monkeypatch.setattr(os, "replace", full_disk(real_replace))
    with pytest.raises(OkmaError, match="No space"):
        atomic_write_all([(tmp_path / "a.html", "A"), (tmp_path / "b.xlsx", b"B")])
    assert any(c.endswith("a.html") for c in calls) and any(c.endswith("b.xlsx") for c in calls)
    assert list(tmp_path.iterdir()) == []


def test_a_model_without_reps_or_hours(tmp_path):
    """The linear toy model keeps no per-rep history and has no hours or anchor: the report
    leaves those parts out and the workbook still has every sheet."""
    import io

    import openpyxl
    from cli_helpers import TOY
    from okma_sim.report import has_reps, workbook_bytes

    path = tmp_path / "toy.toml"
    path.write_text(TOY.format(low=0, high=5, cost=100, sampler="mc", extra=""))
    plan = okma_sim.load_plan(path)
    assert not has_reps(plan)
    res = okma_sim.simulate(plan, 400, seed=2)
    report = plan_report(res)
    assert "per_rep" not in [s.key for s in report.sections]
    assert len(report.figures) == 3  # bars, one fan chart, one curve
    wb = openpyxl.load_workbook(io.BytesIO(workbook_bytes(res)))
    assert wb["Per rep"]["A2"].value == "the run kept no per-rep history"
    rows = {r[0].value: r for r in wb["Assumptions"].iter_rows(min_row=2)}
    assert set(rows) == set(res.params.columns)
    assert rows["noise"][7].value == "the scenario file"


def test_joint_section_is_joint_targets_checked_on_fresh_runs(res):
    """The section's targets and their chance together are joint_targets' own, for the same
    runs and seed; the fresh-seed check holds at 80% within 4 SE."""
    from okma_sim.analysis import joint_targets
    from okma_sim.report._answers import joint_section

    sec = joint_section(res)
    jt = joint_targets(res.plan, confidence=0.8, n_paths=res.n_paths, seed=res.seed,
                       progress=False)
    # the targets are chosen on one run and checked on another: both runs' errors count
    se = math.hypot(jt.stderr, math.sqrt(0.8 * 0.2 / jt.n_paths))
    assert jt.probability >= 0.8 - 4 * se
    text = " ".join(b.text for b in sec.blocks if isinstance(b, Paragraph))
    assert _estimate(jt.probability, jt.stderr) in text
    table = [b for b in sec.blocks if hasattr(b, "rows")][0]
    assert [r[0] for r in table.rows] == [
        target_label(res.plan.with_targets({i: v}).target(i), res.plan)
        for i, v in jt.targets.items()]
    assert [r[1] for r in table.rows] == [_estimate(v["probability"], v["stderr"])
                                          for v in jt.per_objective.values()]
    assert sum(1 for b in sec.blocks if hasattr(b, "png")) == 1  # the heat map


def test_levers_section_is_lever_effects(res):
    """Each lever's two rows carry lever_effects' chances and its costs per year."""
    from okma_sim.analysis import lever_effects
    from okma_sim.report._answers import LEVER_PATHS, levers_section

    sec = levers_section(res)
    le = lever_effects(res.plan, n_paths=min(res.n_paths, LEVER_PATHS), seed=res.seed,
                       progress=False)
    rows = [b for b in sec.blocks if hasattr(b, "rows")][0].rows
    df = le.table()
    assert len(rows) == 3 * len(df) and len(df) == len(res.plan.levers)
    for k, (_, r) in enumerate(df.iterrows()):
        low, high, change = rows[3 * k: 3 * k + 3]
        assert low[2] == _estimate(r["p_low"], r["stderr_low"])
        assert high[2] == _estimate(r["p_high"], r["stderr_high"])
        year = r["cost_high"] * 12 / res.plan.horizon_months
        assert high[3] == f"{year / 1e6:.2f}".rstrip("0").rstrip(".") + " M CNY"
        assert change[2] == f"{100 * r['swing']:+.1f} ± {100 * r['swing_stderr']:.1f} points"


def test_the_plans_cost_counts_the_training_and_coaching_hours(res):
    """The capacity section's cost is the levers plus the hours the run kept, priced at the
    team's hourly cost (the mean over runs of the summed monthly hours, computed here); a run
    that kept no training hours says that its cost leaves them out."""
    from okma_sim.report._sections import capacity
    plan = res.plan
    hours = float(np.nansum(res.monthly["training_hours"], axis=1).mean())
    priced = hours * plan.team.hourly_cost
    assert priced > 0
    text = " ".join(b.text for b in capacity(res).blocks if isinstance(b, Paragraph))
    amount = f"{priced / 1e3:.2f}".rstrip("0").rstrip(".") + " k CNY"
    assert f"{amount} of selling time spent on training and coaching" in text
    assert "not priced" not in text
    bare = okma_sim.simulate(plan, 300, seed=4)  # the default keeps no training hours
    text = " ".join(b.text for b in capacity(bare).blocks if isinstance(b, Paragraph))
    assert "training and coaching hours are not priced here" in text
