"""The CLI's plain words, in real subprocesses: the numbers in the text are the JSON's own,
backtest ends with a verdict on its 80% ranges, review explains a KR whose chance disagrees
with its pace, and the JSON of check, validate, backtest, review and calibrate keeps every key
it had (recorded below from the code before the plain-language change) and only gains new
ones."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

import okma_sim
from cli_helpers import run_cli, run_ok
from okma_sim._core.formatting import format_odds, format_percent
from okma_sim.results import target_label, value_text

DATA = okma_sim.case_study_path().parents[1]
CASE = okma_sim.case_study_path()
ACTUALS = okma_sim.data_path("case_study_actuals.csv")
HISTORY = okma_sim.data_path("sales_history.csv")

#: the JSON key paths before this change ("a.b": key b of the object under a; "a[].b": key b
#: of the objects in the list a), from the commands below at commit 28c4ddc; keys whose names
#: are data (diagnostics, metric names, months ahead) are left out
BASE_KEYS = {
    'check': [
        'all_key_results_met', 'all_key_results_met.probability', 'all_key_results_met.stderr',
        'all_met', 'all_met.probability', 'all_met.stderr', 'anchor', 'anchor.assumed',
        'anchor.baseline_actions', 'anchor.figures', 'capacity', 'capacity.hours_available',
        'capacity.hours_executed', 'capacity.hours_planned', 'capacity.share_rep_months_capped',
        'diagnostics', 'extrapolation', 'grading', 'grading[].baseline',
        'grading[].expected_score', 'grading[].expected_score_stderr', 'grading[].id',
        'grading[].label', 'grading[].probability', 'grading[].score_p10',
        'grading[].score_p50', 'grading[].score_p90', 'grading[].stderr', 'grading[].target',
        'key_results', 'key_results[].aggregate', 'key_results[].comparison',
        'key_results[].id', 'key_results[].metric', 'key_results[].objective',
        'key_results[].probability', 'key_results[].quantiles', 'key_results[].stderr',
        'key_results[].target', 'objectives', 'objectives[].aggregate',
        'objectives[].comparison', 'objectives[].id', 'objectives[].metric',
        'objectives[].probability', 'objectives[].quantiles', 'objectives[].stderr',
        'objectives[].target', 'outputs', 'paths', 'sampler', 'scenario', 'scenario_sha256',
        'seed', 'version', 'warnings',
    ],
    'validate': [
        'errors', 'ok', 'scenario', 'warnings',
    ],
    'backtest': [
        'agent_months', 'agent_months.baseline_crps', 'agent_months.by_step',
        'agent_months.coverage', 'agent_months.coverage_by_metric', 'agent_months.crps',
        'agent_months.crps_skill', 'agent_months.level', 'agent_months.n', 'baseline_crps',
        'by_step', 'coverage', 'coverage_by_metric', 'crps', 'crps_skill', 'cutoff', 'cutoffs',
        'format', 'history', 'history_sha256', 'horizon', 'metrics', 'metrics[].actual',
        'metrics[].baseline_crps', 'metrics[].crps', 'metrics[].cutoff', 'metrics[].metric',
        'metrics[].month', 'metrics[].p05', 'metrics[].p50', 'metrics[].p95', 'metrics[].pit',
        'metrics[].step', 'n', 'paths', 'runs', 'runs[].agent_months', 'runs[].baseline_crps',
        'runs[].by_step', 'runs[].coverage', 'runs[].coverage_by_metric', 'runs[].crps',
        'runs[].crps_skill', 'runs[].cutoff', 'runs[].horizon', 'runs[].metrics', 'runs[].n',
        'runs[].warnings', 'sampler', 'scenario', 'scenario_sha256', 'seed', 'version',
        'warnings',
    ],
    'review': [
        'actuals', 'all_met', 'all_met.plan_probability', 'all_met.plan_stderr',
        'all_met.probability', 'all_met.stderr', 'at_risk', 'complete', 'effective_sample_size',
        'effective_sample_size_by_term', 'extrapolation', 'key_results', 'key_results[].id',
        'key_results[].metric', 'key_results[].plan_probability', 'key_results[].plan_stderr',
        'key_results[].probability', 'key_results[].stderr', 'key_results[].target',
        'key_results[].to_date', 'months_observed', 'objectives', 'objectives[].id',
        'objectives[].metric', 'objectives[].plan_probability', 'objectives[].plan_stderr',
        'objectives[].probability', 'objectives[].stderr', 'objectives[].target',
        'objectives[].to_date', 'paths', 'recommendation', 'recommendation.actions',
        'recommendation.cost', 'recommendation.from', 'recommendation.goal',
        'recommendation.method', 'recommendation.note', 'recommendation.out_of_steps',
        'recommendation.probability', 'recommendation.reached', 'recommendation.stderr',
        'recommendation.steps', 'reps_flagged', 'reps_flagged[].key_result',
        'reps_flagged[].metric', 'reps_flagged[].months', 'reps_flagged[].rep_id',
        'reps_flagged[].target', 'reps_flagged[].value', 'risk_drop', 'risk_threshold',
        'rules_fired_observed', 'scenario', 'scenario_sha256', 'seed', 'version', 'warnings',
    ],
    'calibrate': [
        'baseline', 'baseline.actions', 'baseline.assumed', 'baseline.monthly_revenue',
        'correlations', 'correlations.matrix', 'correlations.parameters', 'details',
        'first_month', 'format', 'history', 'history_sha256', 'last_month', 'observed', 'out',
        'parameters', 'parameters[].distribution', 'parameters[].estimate',
        'parameters[].high90', 'parameters[].identified', 'parameters[].low90',
        'parameters[].name', 'parameters[].note', 'parameters[].rows', 'parameters[].rows_used',
        'parameters[].source', 'parameters[].width_ratio', 'paths', 'scenario',
        'scenario_sha256', 'seed', 'skills', 'skills[].exposure', 'skills[].months',
        'skills[].new_customers', 'skills[].raw', 'skills[].rep_id', 'skills[].sd',
        'skills[].shrunk', 'start_month', 'team', 'team[].customers', 'team[].id',
        'team[].skill', 'team[].tenure_months', 'team[].vacant_months', 'version', 'warnings',
    ],
}


def _args(tmp_path) -> dict[str, list]:
    return {
        "check": ["check", "--paths", "300", "--seed", "3", "--json", "--no-progress"],
        "validate": ["validate", CASE, "--json"],
        "backtest": ["backtest", DATA / "crm_sales_opportunities", "--format", "opportunities",
                     "--rolling", "--horizon", "2", "--paths", "200", "--seed", "1", "--json"],
        "review": ["review", "--actuals", ACTUALS, "--json", "--paths", "600", "--seed", "4",
                   "--search-paths", "300", "--confidence", "0.05", "--no-progress"],
        "calibrate": ["calibrate", HISTORY, "--out", tmp_path / "fitted.toml", "--json"],
    }


def _paths(o, pre: str = "") -> set[str]:
    out: set[str] = set()
    if isinstance(o, dict):
        for k, v in o.items():
            p = f"{pre}.{k}" if pre else k
            out |= {p} | _paths(v, p)
    elif isinstance(o, list):
        for v in o:
            out |= _paths(v, pre + "[]")
    return out


def test_json_keeps_every_key(tmp_path):
    for name, args in _args(tmp_path).items():
        proc = run_cli(*args, cwd=tmp_path)
        assert proc.returncode == 0, (name, proc.stderr)
        missing = set(BASE_KEYS[name]) - _paths(json.loads(proc.stdout))
        assert not missing, (name, sorted(missing))


def json_and_text(*args) -> tuple[dict, str]:
    """The command's JSON and its text, both from runs that exit 0."""
    return json.loads(run_ok(*args, "--json").stdout), run_ok(*args).stdout


def test_check_text_prints_the_json_numbers():
    doc, text = json_and_text("check", "--paths", "400", "--seed", "7", "--no-progress")
    plan = okma_sim.load_plan(CASE)
    for entry in doc["objectives"] + doc["key_results"]:
        label = target_label(plan.target(entry["id"]), plan)
        line = next(x for x in text.splitlines() if x.strip().startswith(label + ":"))
        p, se = entry["probability"], entry["stderr"]
        assert f"{format_percent(p)} chance (± {format_percent(se, digits=1)})" in line
        assert line.endswith(format_odds(p))
    a = doc["all_met"]
    assert f"All objectives together: {format_percent(a['probability'])} chance" in text
    assert "paths" not in text and "400 simulated runs" in text
    # JSON values stay fractions
    assert doc["objectives"][0]["target"] == 0.3 and doc["paths"] == 400


@pytest.fixture(scope="module")
def backtest_runs():
    return json_and_text("backtest", HISTORY, "--cutoff", "2026-06", "--horizon", "3",
                         "--paths", "200", "--seed", "1")


def test_backtest_ends_with_a_verdict(backtest_runs):
    doc, text = backtest_runs
    v = doc["verdict"]
    pits = [e["pit"] for e in doc["metrics"] if e["pit"] is not None]
    k = sum(abs(p - 0.5) <= 0.4 for p in pits)
    assert (v["held"], v["n"]) == (k, len(pits))
    assert v["share"] == pytest.approx(doc["coverage"]["80"])
    se = math.sqrt(0.16 / v["n"])
    expect = "too narrow" if v["share"] < 0.8 - 2 * se else \
        "too wide" if v["share"] > 0.8 + 2 * se else "about right"
    assert v["calibration"] == expect
    lines = text.splitlines()
    verdict = next(x for x in lines if x.startswith("Verdict: "))
    assert verdict == (f"Verdict: 80% ranges held {format_percent(v['share'])} of the time "
                       f"({k} of {len(pits)} metric-months): {expect}")
    assert lines[-2].startswith("Verdict: ") and lines[-1].startswith("Verdict per rep: ")
    assert "PIT: where the actual fell" in text and "CRPS: the typical distance" in text
    assert "paths" not in text


@pytest.fixture(scope="module")
def review_runs():
    return json_and_text("review", "--actuals", ACTUALS, "--paths", "800", "--seed", "2",
                         "--no-recommend", "--no-progress")


def test_review_explains_a_kr_on_pace_but_unlikely(review_runs):
    doc, text = review_runs
    plan = okma_sim.load_plan(CASE)
    chances = {e["id"]: e for e in doc["objectives"] + doc["key_results"]}
    found = {e["id"]: e for e in doc["explanations"]}
    # the revisit rate ran above its 80% target so far, yet its chance is under one half
    rr = chances["revisit_rate"]
    assert rr["to_date"] >= 0.8 and rr["probability"] < 0.5
    # explained: exactly the targets whose chance disagrees with their pace so far (their
    # value so far against the target, read here from the JSON) beyond 2 standard errors of
    # one half; quarters surveyed (a count by the year's end) has no pace
    paced = {t.id: t.met(np.array([chances[t.id]["to_date"]]))[0] for t in plan.targets
             if t.aggregate != "sum" and t.metric != "quarters_surveyed"}
    disagree = {i for i, pace in paced.items()
                if (chances[i]["probability"] + 2 * chances[i]["stderr"] < 0.5) == pace
                and abs(chances[i]["probability"] - 0.5) > 2 * chances[i]["stderr"]}
    assert set(found) == disagree and "revisit_rate" in found
    for i, e in found.items():
        assert e["probability"] == chances[i]["probability"]
        assert e["on_pace"] == paced[i]
        assert len(e["months"]) == plan.horizon_months
        assert sum(m["observed"] for m in e["months"]) == doc["months_observed"]
        assert all(m["p05"] <= m["p50"] <= m["p95"] for m in e["months"])
        assert e["text"] in text
    e, t = found["revisit_rate"], plan.target("revisit_rate")
    section = text.split(e["text"])[1]  # the revisit rate's block
    for m in e["months"][doc["months_observed"]:]:  # the projected months, as printed
        row = next(x for x in section.splitlines() if x.strip().startswith(m["month"]))
        assert value_text(t, m["p50"], plan, raw=True) in row.split()
    # the driver: the book grows faster than the customers revisited
    g = [float(x) for x in re.findall(r"\(\+([\d.]+)%\)", e["driver"])]
    assert len(g) == 2 and g[0] > g[1], e["driver"]
    assert "the book grows and the same visits cover less of it" in e["driver"]


def test_sweep_prints_chances_in_percent_and_the_unit_warning(tmp_path):
    import pandas as pd
    g30 = tmp_path / "g30.toml"
    g30.write_text(CASE.read_text().replace('target = 0.30\nowner', 'target = 30\nowner'))
    out = tmp_path / "sweep.csv"
    proc = run_cli("sweep", CASE, g30, "--grid", "new_reps=0,1", "--paths", "200", "--out",
                   out, "--no-progress")
    assert proc.returncode == 0, proc.stderr
    df = pd.read_csv(out)
    rows = [x for x in proc.stdout.splitlines() if x.strip().startswith(("case_study", "g30"))]
    assert len(rows) == len(df) == 4
    for (_, r), row in zip(df.iterrows(), rows):
        se = format_percent(r["all_met_stderr"], digits=1)
        chance = f"{format_percent(r['all_met'])} ± {se}"
        assert chance in row and f"{format_percent(r['revenue'])} ±" in row
    assert "simulated runs" in proc.stdout.splitlines()[0]
    assert f"warning: {g30}: objectives[0].target = 30 (objective 'revenue')" in proc.stdout
    assert "did you mean 0.30 (+30%)?" in proc.stdout
