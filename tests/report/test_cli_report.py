"""``okma-sim report`` and ``review --report`` run for real in a subprocess: both files or
neither, no overwrite without --force, one-line errors before any simulation, and --json's
``outputs``."""

from __future__ import annotations

import io
import json

import openpyxl

from cli_helpers import one_error_line, run_cli

import okma_sim

SMALL = ("--paths", "1000", "--seed", "3")


def test_report_writes_both_files_and_lists_them(tmp_path):
    html, xlsx = tmp_path / "r.html", tmp_path / "r.xlsx"
    p = run_cli("report", "--out", html, "--xlsx", xlsx, *SMALL, "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["outputs"] == [str(html), str(xlsx)]
    for k in ("version", "scenario", "scenario_sha256", "paths", "seed", "warnings"):
        assert k in doc
    assert doc["paths"] == 1000 and doc["seed"] == 3
    # the JSON's joint probability is the report's and the simulation's (same seed)
    res = okma_sim.simulate(okma_sim.load_plan(okma_sim.case_study_path()), 1000, seed=3)
    assert doc["all_met"]["probability"] == res.all_met().probability
    wb = openpyxl.load_workbook(io.BytesIO(xlsx.read_bytes()))
    assert "Objectives and KRs" in wb.sheetnames
    page = html.read_text(encoding="utf-8")
    assert page.count("<img ") == 6 and "<script" not in page
    a = res.all_met()
    assert f"All objectives together: {a.probability:.0%} chance" in page
    # no temporary file left beside them
    assert sorted(f.name for f in tmp_path.iterdir()) == ["r.html", "r.xlsx"]


def test_xlsx_into_a_missing_folder_writes_no_html(tmp_path):
    html = tmp_path / "r.html"
    p = run_cli("report", "--out", html, "--xlsx", tmp_path / "no" / "r.xlsx", *SMALL)
    one_error_line(p, "--xlsx", "folder does not exist")
    assert not html.exists() and list(tmp_path.iterdir()) == []


def test_existing_files_are_refused_then_replaced_with_force(tmp_path):
    html, xlsx = tmp_path / "r.html", tmp_path / "r.xlsx"
    xlsx.write_text("keep me")
    p = run_cli("report", "--out", html, "--xlsx", xlsx, *SMALL)
    one_error_line(p, "--xlsx", str(xlsx), "--force")
    assert xlsx.read_text() == "keep me" and not html.exists()
    html.write_text("old page")
    p = run_cli("report", "--out", html, *SMALL)
    one_error_line(p, "--out", "existing file")
    assert html.read_text() == "old page"
    p = run_cli("report", "--out", html, "--xlsx", xlsx, *SMALL, "--force")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().splitlines()[-2:] == [f"wrote {html}", f"wrote {xlsx}"]
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert openpyxl.load_workbook(xlsx).sheetnames[0] == "Summary"


def test_one_file_for_both_outputs_is_refused(tmp_path):
    p = run_cli("report", "--out", tmp_path / "r.html", "--xlsx", tmp_path / "r.html", *SMALL)
    one_error_line(p, "--xlsx", "same file as --out")
    assert list(tmp_path.iterdir()) == []


def test_review_report(tmp_path):
    out = tmp_path / "review.html"
    out.write_text("old")
    args = ("review", "--actuals", okma_sim.data_path("case_study_actuals.csv"),
            "--paths", "1000", "--seed", "2", "--no-recommend", "--report", out)
    one_error_line(run_cli(*args), "--report", "existing file")
    assert out.read_text() == "old"
    p = run_cli(*args, "--force", "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["outputs"] == [str(out)]
    page = out.read_text(encoding="utf-8")
    assert "Where the plan stands" in page and "Per rep outlook" in page
    assert "Glossary" in page and "<script" not in page
    # the review's own numbers are on the page, as plain verdicts with their SE
    rev = doc["objectives"][0]
    assert f"{rev['probability']:.0%} chance" in page
    for r in doc["reps_flagged"]:
        assert f"<td>{r['rep_id']}</td>" in page
