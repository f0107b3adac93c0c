"""``okma-sim review``: the JSON contract on the shipped actuals, the full-horizon verdicts, and
every class of bad input (run in a subprocess: exit 2, one stderr line naming the file, the
row or key, and the value, no traceback)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from cli_helpers import one_error_line, run_cli
import okma_sim

ACTUALS = okma_sim.data_path("case_study_actuals.csv")
CASE = okma_sim.case_study_path()


@pytest.fixture(scope="module")
def review_json():
    proc = run_cli("review", str(CASE), "--actuals", str(ACTUALS), "--json", "--paths", "1200",
                   "--seed", "4", "--search-paths", "600", "--confidence", "0.05",
                   "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return json.loads(proc.stdout)


def test_review_json_contract(review_json):
    doc = review_json
    for k in ("version", "scenario", "scenario_sha256", "paths", "seed", "warnings"):
        assert k in doc
    assert doc["paths"] == 1200 and doc["seed"] == 4
    assert doc["months_observed"] == 5
    plan = okma_sim.load_plan(CASE)
    for kind, items in (("objectives", plan.objectives), ("key_results", plan.key_results)):
        assert [e["id"] for e in doc[kind]] == [t.id for t in items]
        for e in doc[kind]:
            assert set(e) >= {"id", "probability", "plan_probability", "stderr"}
            assert 0 <= e["probability"] <= 1 and e["stderr"] >= 0
            assert 0 <= e["plan_probability"] <= 1
    assert isinstance(doc["at_risk"], list)
    assert set(doc["at_risk"]) <= {t.id for t in plan.targets}
    for f in doc["reps_flagged"]:
        assert set(f) >= {"rep_id", "metric", "value", "target"}
    rec = doc["recommendation"]
    assert set(rec) >= {"actions", "probability", "stderr", "cost"}
    for k, v in rec["actions"].items():
        assert plan.levers[k].low <= v <= plan.levers[k].high
    assert doc["effective_sample_size"] > 0


def test_review_cli_matches_the_api(review_json):
    from okma_sim.inference import review
    plan = okma_sim.load_plan(CASE)
    rv = review(plan, ACTUALS, n_paths=1200, seed=4, recommend=False)
    for e in review_json["objectives"] + review_json["key_results"]:
        assert e["probability"] == pytest.approx(rv.probability(e["id"]).probability)
        assert e["plan_probability"] == pytest.approx(rv.plan_probability(e["id"]).probability)
    assert review_json["at_risk"] == rv.at_risk


def test_review_text_output():
    proc = run_cli("review", "--actuals", str(ACTUALS), "--paths", "400", "--seed", "1",
                   "--no-recommend", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert "review after 5 of 12 months" in proc.stdout
    assert "All objectives together: " in proc.stdout and "simulated runs" in proc.stdout


def test_review_full_horizon_exits_0_with_observed_verdicts(tmp_path):
    df = pd.read_csv(ACTUALS)
    # the same five months again for June..December (only the months change)
    months = okma_sim.load_plan(CASE).months()
    parts = [df]
    for k in range(7):
        m = df[df["month"] == months[k % 5]].copy()
        m["month"] = months[5 + k]
        parts.append(m)
    year = pd.concat(parts)
    csv = tmp_path / "year.csv"
    year.to_csv(csv, index=False)
    proc = run_cli("review", str(CASE), "--actuals", str(csv), "--json", "--seed", "2")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["months_observed"] == 12 and doc["complete"] and doc["paths"] == 0
    team = year.groupby("month").sum(numeric_only=True)
    expect_new = team["new_customers"].mean() >= 10
    kr = {e["id"]: e for e in doc["key_results"]}
    assert kr["new_customers"]["met"] == bool(expect_new)
    assert kr["new_customers"]["probability"] == float(expect_new)
    assert kr["new_customers"]["stderr"] == 0.0
    assert kr["new_customers"]["plan_probability"] is None
    assert doc["recommendation"] is None


# --------------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------------
def write(tmp_path: Path, df: pd.DataFrame, name="actuals.csv") -> Path:
    p = tmp_path / name
    df.to_csv(p, index=False)
    return p


def test_bad_actuals_not_rep_month_schema(tmp_path):
    df = pd.read_csv(ACTUALS).drop(columns=["churned_customers"])
    p = write(tmp_path, df)
    one_error_line(run_cli("review", "--actuals", str(p)), p.name, "churned_customers")
    df = pd.read_csv(ACTUALS)
    df.loc[3, "revisited_customers"] = df.loc[3, "active_customers"] + 5
    p = write(tmp_path, df, "over.csv")
    one_error_line(run_cli("review", "--actuals", str(p)), p.name, "line 5",
                   "revisited_customers", str(int(df.loc[3, "revisited_customers"])))


def test_bad_actuals_month_before_start(tmp_path):
    df = pd.read_csv(ACTUALS)
    df.loc[0, "month"] = "2026-12"
    p = write(tmp_path, df)
    one_error_line(run_cli("review", "--actuals", str(p)), p.name, "line 2", "column month",
                   "'2026-12'", "start_month")


def test_bad_actuals_beyond_horizon(tmp_path):
    df = pd.read_csv(ACTUALS)
    extra = df.iloc[[-1]].copy()
    extra["month"] = "2028-01"
    p = write(tmp_path, pd.concat([df, extra]))
    one_error_line(run_cli("review", "--actuals", str(p)), p.name, f"line {len(df) + 2}",
                   "'2028-01'", "horizon")


def test_bad_actuals_with_a_gap(tmp_path):
    df = pd.read_csv(ACTUALS)
    df = df[df["month"] != "2027-03"]
    p = write(tmp_path, df)
    first_april = df.index.get_loc(df.index[df["month"] == "2027-04"][0]) + 2
    one_error_line(run_cli("review", "--actuals", str(p)), p.name, "2027-03", "gap",
                   f"line {first_april}", "'2027-04'")


def test_bad_actuals_not_starting_at_start_month(tmp_path):
    df = pd.read_csv(ACTUALS)
    p = write(tmp_path, df[df["month"] != "2027-01"])
    one_error_line(run_cli("review", "--actuals", str(p)), p.name, "start_month", "2027-01",
                   "line 2", "'2027-02'")


def test_bad_actuals_out_of_order(tmp_path):
    df = pd.read_csv(ACTUALS)
    row = df[df["month"] == "2027-02"].iloc[[0]]
    df = pd.concat([df.drop(index=row.index), row])
    p = write(tmp_path, df)
    one_error_line(run_cli("review", "--actuals", str(p)), p.name, f"line {len(df) + 1}",
                   "out of order", "'2027-02'")


def no_hires_scenario(tmp_path: Path) -> Path:
    text = CASE.read_text(encoding="utf-8").replace(
        "[team]\n", "[team]\nallow_new_hires = false\n", 1)
    p = tmp_path / "no_hires.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_bad_actuals_unknown_rep(tmp_path):
    df = pd.read_csv(ACTUALS)
    df.loc[30, "rep_id"] = "zed"  # a rep nobody hired, in March
    p = write(tmp_path, df.sort_values(["month", "rep_id"], kind="stable"))
    line = pd.read_csv(p).index[pd.read_csv(p)["rep_id"] == "zed"][0] + 2
    one_error_line(run_cli("review", str(no_hires_scenario(tmp_path)), "--actuals", str(p)),
                   p.name, f"line {line}", "column rep_id", "'zed'", "allow_new_hires")
    # with new hires allowed (the case study) the same file is fine
    proc = run_cli("review", str(CASE), "--actuals", str(p), "--paths", "200",
                   "--no-recommend", "--json")
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("old,new,key,value", [
    ('metric = "revisit_rate"\nper_rep = true', 'metric = "revisit_rat"\nper_rep = true',
     "management.rules[0].metric", "'revisit_rat'"),
    ('response = "coaching"', 'response = "coachin"', "management.rules[0].response",
     "'coachin'"),
])
def test_bad_rule_in_the_scenario(tmp_path, old, new, key, value):
    text = CASE.read_text(encoding="utf-8")
    assert old in text
    p = tmp_path / "bad_rule.toml"
    p.write_text(text.replace(old, new, 1), encoding="utf-8")
    one_error_line(run_cli("review", str(p), "--actuals", str(ACTUALS)), p.name, key, value)
    one_error_line(run_cli("compare", str(CASE), str(p)), p.name, key, value)


def test_bad_options(tmp_path):
    one_error_line(run_cli("review", "--actuals", str(ACTUALS), "--risk-threshold", "1.5"),
                   "--risk-threshold", "1.5")
    one_error_line(run_cli("review", "--actuals", str(tmp_path / "none.csv")), "none.csv")
    one_error_line(run_cli("review", str(CASE)), "--actuals")


@pytest.mark.parametrize("cmd", [["compare", str(CASE), str(CASE)],
                                 ["review", str(CASE), "--actuals", str(ACTUALS)]])
def test_tolerance_is_not_an_option(cmd):
    # neither compare nor review stops adaptively: --tolerance is refused, not ignored
    one_error_line(run_cli(*cmd, "--tolerance", "0.05"), "--tolerance")
