"""The ``calibrate`` and ``backtest`` subcommands through the real CLI in a subprocess: the
happy paths, the JSON contracts, output files, and every class of bad data (exit 2, one
stderr line naming the file, row, column and value, no traceback, nothing written)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_helpers import one_error_line as assert_one_line_error
from cli_helpers import run_cli as cli
import okma_sim

ROOT = Path(__file__).resolve().parents[2]
HISTORY = ROOT / "data" / "sales_history.csv"
CRM = ROOT / "data" / "crm_sales_opportunities"
ENVELOPE = {"version", "scenario", "scenario_sha256", "paths", "seed", "warnings"}


# ---------------------------------------------------------------------------------------------
# calibrate
# ---------------------------------------------------------------------------------------------
def test_calibrate_writes_a_valid_scenario_and_the_fit_report(tmp_path):
    out = tmp_path / "fitted.toml"
    proc = cli("calibrate", HISTORY, "--out", out, "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert ENVELOPE <= set(doc)
    assert doc["out"] == str(out) and doc["start_month"] == "2027-01"
    names = [p["name"] for p in doc["parameters"]]
    assert names == list(okma_sim.SalesTeamModel.parameters)
    for p in doc["parameters"]:
        assert {"name", "estimate", "low90", "high90", "rows_used", "source"} <= set(p)
        assert p["source"] in ("fitted", "prior")
    plan = okma_sim.load_plan(out)
    assert okma_sim.check_plan(plan)[0] == []
    assert plan.start_month == "2027-01"
    assert len(plan.baseline.monthly_revenue) == 12
    fitted = {p["name"]: p for p in doc["parameters"] if p["source"] == "fitted"}
    assert "base_win_rate" in fitted
    assert plan.parameters["base_win_rate"].to_dict() == fitted["base_win_rate"]["distribution"]
    # the written scenario simulates
    res = okma_sim.simulate(plan, n_paths=200, seed=1, progress=False)
    assert 0 <= res.all_met().probability <= 1
    # an existing --out is refused without --force, and left as it was
    before = out.read_bytes()
    again = cli("calibrate", HISTORY, "--out", out)
    assert_one_line_error(again, str(out), "--force")
    assert out.read_bytes() == before
    forced = cli("calibrate", HISTORY, "--out", out, "--force", "--plan",
                 okma_sim.case_study_path())
    assert forced.returncode == 0, forced.stderr
    assert "wrote" in forced.stdout and "base_win_rate" in forced.stdout


def test_calibrate_reports_what_the_history_identified(tmp_path):
    """Every parameter of the JSON carries ``width_ratio`` and ``identified`` (a prior entry is
    never identified, an identified one is fitted to at most half its prior's width); the
    written scenario says the same in a comment above each parameter, the table in words."""
    out = tmp_path / "fitted.toml"
    proc = cli("calibrate", HISTORY, "--out", out, "--json")
    assert proc.returncode == 0, proc.stderr
    params = {p["name"]: p for p in json.loads(proc.stdout)["parameters"]}
    assert list(params) == list(okma_sim.SalesTeamModel.parameters)
    for p in params.values():
        assert isinstance(p["identified"], bool), p
        fixed = p["distribution"]["dist"] == "fixed"
        assert (p["width_ratio"] is None) if fixed else p["width_ratio"] >= 0, p
        if p["source"] == "prior":
            assert p["identified"] is False and p["width_ratio"] in (None, 1.0), p
        if p["identified"]:
            assert p["source"] == "fitted" and p["width_ratio"] <= 0.5, p
    # the order value narrows to under half its prior; the win rate, at 0.51 of its prior's
    # width, is not identified once the elasticity's prior is one firm's, not the average's
    assert params["order_value"]["identified"] is True
    assert params["base_win_rate"]["identified"] is False
    assert params["visit_elasticity"]["identified"] is False
    text = out.read_text(encoding="utf-8")
    for name in ("base_win_rate", "churn_revisit_effect", "order_value"):
        p = params[name]
        above = text.split(f"[parameters.{name}]\n")[0].splitlines()[-1]
        assert above.startswith("# calibrate: fitted on ")
        assert above.endswith(f"width_ratio = {p['width_ratio']:.2f}, identified = "
                              f"{str(p['identified']).lower()}"), above
    assert "#   ramp_months: prior kept" in text
    table = cli("calibrate", HISTORY, "--out", out, "--force")
    assert table.returncode == 0, table.stderr
    row = next(x for x in table.stdout.splitlines() if x.startswith("order_value "))
    assert f"identified: narrowed to {params['order_value']['width_ratio']:.0%} of prior" \
        in row
    row = next(x for x in table.stdout.splitlines() if x.startswith("churn_revisit_effect "))
    assert f"not identified: {params['churn_revisit_effect']['width_ratio']:.0%} of prior" \
        in row


def test_calibrate_history_checksum_is_the_input_s(tmp_path):
    import hashlib
    doc = json.loads(cli("calibrate", HISTORY, "--out", tmp_path / "f.toml", "--json").stdout)
    assert doc["history_sha256"] == hashlib.sha256(HISTORY.read_bytes()).hexdigest()


def _copy(src: Path, dst: Path) -> Path:
    dst.write_bytes(src.read_bytes())
    return dst


def test_calibrate_refuses_to_overwrite_its_inputs(tmp_path):
    hist = _copy(HISTORY, tmp_path / "history.csv")
    plan = _copy(okma_sim.case_study_path(), tmp_path / "plan.toml")
    crm = tmp_path / "crm"
    crm.mkdir()
    for name in ("sales_pipeline.csv", "sales_teams.csv", "products.csv"):
        _copy(CRM / name, crm / name)
    before = {p: p.read_bytes() for p in [hist, plan, *crm.iterdir()]}
    cases = [([hist, "--out", hist], hist, "HISTORY"),
             ([hist, "--plan", plan, "--out", plan], plan, "--plan"),
             ([crm, "--format", "opportunities", "--out", crm / "products.csv"],
              crm / "products.csv", "HISTORY"),
             ([crm / "sales_pipeline.csv", "--format", "opportunities", "--out",
               crm / "sales_teams.csv"], crm / "sales_teams.csv", "HISTORY")]
    for args, out, what in cases:
        proc = cli("calibrate", *args, "--force")
        assert_one_line_error(proc, str(out), "--out", what)
    assert {p: p.read_bytes() for p in before} == before


def test_calibrate_opportunities_and_column_mapping(tmp_path):
    out = tmp_path / "crm.toml"
    proc = cli("calibrate", CRM, "--format", "opportunities", "--out", out, "--json",
               "--by", "sales_agent")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    src = {p["name"]: p["source"] for p in doc["parameters"]}
    assert src["base_win_rate"] == src["order_value"] == "fitted"
    assert src["churn_base"] == src["csat_base"] == "prior"
    assert {"win_rate", "deal_value", "cycle_days", "rep_spread", "monthly"} <= \
        set(doc["details"])
    assert okma_sim.check_plan(okma_sim.load_plan(out))[0] == []
    # an export naming its columns differently, mapped with --columns
    text = HISTORY.read_text().splitlines()
    text[0] = text[0].replace("month,rep_id", "Month,Rep")
    renamed = tmp_path / "renamed.csv"
    renamed.write_text("\n".join(text) + "\n")
    out2 = tmp_path / "renamed.toml"
    ok = cli("calibrate", renamed, "--columns", "Month=month,Rep=rep_id", "--out", out2)
    assert ok.returncode == 0, ok.stderr
    bad = cli("calibrate", renamed, "--columns", "Month", "--out", tmp_path / "x.toml")
    assert_one_line_error(bad, "--columns", "'Month'")
    assert not (tmp_path / "x.toml").exists()


def test_calibrate_writes_the_vacant_seats_of_the_last_month(tmp_path):
    """A history whose last month has two reps of four seats: R3 left after April (vacant
    since May) and R4 after November, nobody replaced. The written scenario keeps both seats
    with the book their rep left (churned at the fitted no-visit rate while empty) and the
    months until a new rep fills them: a 4-month delay less the 8 and 1 months already
    waited, at least 0."""
    worked = {"R1": (1, 12), "R2": (1, 12), "R3": (1, 4), "R4": (1, 11)}
    rows = ["month,rep_id,prospect_visits,customer_visits,new_customers,active_customers,"
            "revisited_customers,churned_customers,revenue,training_hours,csat_responses,"
            "csat_satisfied"]
    for m in range(1, 13):
        for k, (rep, (a, b)) in enumerate(worked.items()):
            if a <= m <= b:  # 2 new and 1 churned a month: the book grows by one
                rows.append(f"2025-{m:02d},{rep},26,30,2,{30 + 5 * k + m - a},24,1,90000,0,0,0")
    hist = tmp_path / "history.csv"
    hist.write_text("\n".join(rows) + "\n")
    plan = tmp_path / "plan.toml"
    plan.write_text(okma_sim.case_study_path().read_text(encoding="utf-8")
                    + '\n[parameters.hiring_delay_months]\ndist = "fixed"\nvalue = 4\n')
    out = tmp_path / "fitted.toml"
    proc = cli("calibrate", hist, "--plan", plan, "--out", out, "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    cb = {p["name"]: p for p in doc["parameters"]}["churn_base"]["estimate"]
    books = {"R3": 30 + 10 + 3 + 1, "R4": 30 + 15 + 10 + 1}  # carried out of the last month
    vacant = [{"id": "vacant:R3", "tenure_months": None, "skill": None, "vacant_months": 0,
               "customers": round(books["R3"] * (1 - cb) ** 8)},
              {"id": "vacant:R4", "tenure_months": None, "skill": None, "vacant_months": 3,
               "customers": round(books["R4"] * (1 - cb))}]
    assert [r["id"] for r in doc["team"]] == ["R1", "R2", "vacant:R3", "vacant:R4"]
    assert doc["team"][2:] == vacant
    assert any("2 seat(s) vacant in 2025-12" in w and "kept in the roster" in w
               for w in doc["warnings"]), doc["warnings"]
    # the file holds them, and loads back to the same roster
    text = out.read_text(encoding="utf-8")
    assert 'id = "vacant:R4"' in text and "vacant_months = 3" in text
    back = okma_sim.load_plan(out)
    assert [(r.id, r.customers, r.vacant_months) for r in back.team.reps[2:]] == [
        (v["id"], v["customers"], v["vacant_months"]) for v in vacant]
    assert back.team.n_reps == 4 and okma_sim.check_plan(back)[0] == []


# ---------------------------------------------------------------------------------------------
# backtest
# ---------------------------------------------------------------------------------------------
def test_backtest_json_contract():
    proc = cli("backtest", HISTORY, "--cutoff", "2026-06", "--horizon", "3", "--paths", "400",
               "--seed", "3", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert ENVELOPE <= set(doc)
    assert {"cutoff", "horizon", "metrics", "coverage", "crps", "baseline_crps"} <= set(doc)
    assert doc["cutoff"] == "2026-06" and doc["horizon"] == 3 and doc["seed"] == 3
    assert set(doc["coverage"]) == {"50", "80", "95"}
    metrics = {e["metric"] for e in doc["metrics"]}
    assert metrics == {"revenue", "new_customers", "revisit_rate", "csat"}
    for e in doc["metrics"]:
        assert {"metric", "actual", "p05", "p50", "p95", "pit"} <= set(e)
        assert e["month"] in ("2026-07", "2026-08", "2026-09")
    assert set(doc["crps"]) == metrics and set(doc["baseline_crps"]) == metrics


def test_backtest_rolling_json_has_runs():
    proc = cli("backtest", HISTORY, "--rolling", "--cutoff", "2026-07", "--horizon", "2",
               "--paths", "300", "--seed", "1", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert [r["cutoff"] for r in doc["runs"]] == ["2026-07", "2026-08", "2026-09", "2026-10"]
    n = sum(len(r["metrics"]) for r in doc["runs"])
    assert len(doc["metrics"]) == n
    for r in doc["runs"]:
        assert {"cutoff", "horizon", "metrics", "coverage", "crps", "baseline_crps"} <= set(r)
    pits = [e["pit"] for e in doc["metrics"]]
    assert doc["coverage"]["80"] == pytest.approx(
        sum(abs(p - 0.5) <= 0.4 for p in pits) / len(pits))
    text = cli("backtest", CRM, "--format", "opportunities", "--cutoff", "2017-09",
               "--horizon", "3", "--paths", "300", "--seed", "2")
    assert text.returncode == 0, text.stderr
    assert "the forecast's ranges, over 6 metric-months" in text.stdout
    assert "\nVerdict: 80% ranges held " in text.stdout


# ---------------------------------------------------------------------------------------------
# bad data: every class, through the CLI
# ---------------------------------------------------------------------------------------------
GOOD = HISTORY.read_text().splitlines()
HEADER = GOOD[0].split(",")


def _with_cell(data_row: int, column: str, value: str) -> str:
    """The history with one cell replaced (data_row 0 is the file's line 2)."""
    lines = list(GOOD)
    cells = lines[data_row + 1].split(",")
    cells[HEADER.index(column)] = value
    lines[data_row + 1] = ",".join(cells)
    return "\n".join(lines) + "\n"


def _drop_column(column: str) -> str:
    j = HEADER.index(column)
    return "\n".join(",".join(c for i, c in enumerate(line.split(",")) if i != j)
                     for line in GOOD) + "\n"


def _duplicate_row(data_row: int) -> str:
    lines = list(GOOD)
    lines.insert(data_row + 2, lines[data_row + 1])
    return "\n".join(lines) + "\n"


# (id, file content (str or bytes), expected parts of the message besides the file name)
BAD = [
    ("missing_column", _drop_column("revenue"),
     ["line 1", "missing required column", "revenue"]),
    ("not_a_number", _with_cell(4, "new_customers", "abc"),
     ["line 6", "column new_customers", "'abc'"]),
    ("nan", _with_cell(7, "revenue", "nan"), ["line 9", "column revenue", "'nan'"]),
    ("inf", _with_cell(2, "training_hours", "inf"), ["line 4", "column training_hours", "'inf'"]),
    ("fractional_count", _with_cell(3, "prospect_visits", "12.5"),
     ["line 5", "column prospect_visits", "12.5"]),
    ("negative_count", _with_cell(5, "churned_customers", "-2"),
     ["line 7", "column churned_customers", "-2"]),
    ("satisfied_above_responses", _with_cell(0, "csat_satisfied", "3"),
     ["line 2", "column csat_satisfied", "exceeds csat_responses", "3"]),
    ("revisited_above_active", _with_cell(1, "revisited_customers", "999"),
     ["line 3", "column revisited_customers", "exceeds active_customers", "999"]),
    ("blank_rep", _with_cell(6, "rep_id", ""), ["line 8", "column rep_id", "''"]),
    ("duplicate_rep_month", _duplicate_row(2),
     ["line 5", "duplicate rep_id and month", "first on line 4",
      str(tuple(GOOD[3].split(",")[HEADER.index(c)] for c in ("rep_id", "month")))]),
    ("bad_month", _with_cell(3, "month", "2025-13"), ["line 5", "column month", "'2025-13'"]),
    ("bad_month_text", _with_cell(0, "month", "Jan 2025"),
     ["line 2", "column month", "'Jan 2025'"]),
    # absurd but finite: refused at the row, not fitted into a nonsense scenario with warnings
    ("huge_revenue", _with_cell(2, "revenue", "1e155"),
     ["line 4", "column revenue", "implausibly large", "1e+155"]),
    ("huge_hours", _with_cell(1, "training_hours", "1e308"),
     ["line 3", "column training_hours", "implausibly large", "1e+308"]),
    ("huge_count", _with_cell(4, "new_customers", "1e20"),
     ["line 6", "column new_customers", "count is implausibly large", "1e+20"]),
    ("empty_file", "", ["file is empty"]),
    ("header_only", GOOD[0] + "\n", ["header but no data rows"]),
    ("not_csv_toml", 'name = "x"\nstart_month = "2027-01"\n', ["line 1", "not a CSV file",
                                                              "'name = \"x\"'"]),
    ("not_csv_binary", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", ["not a CSV text file"]),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_history_is_refused_by_calibrate(tmp_path, case):
    _, content, parts = case
    path = tmp_path / "history.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    out = tmp_path / "fitted.toml"
    proc = cli("calibrate", path, "--out", out)
    assert_one_line_error(proc, str(path), *parts)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.csv"]


def test_bad_tenure_is_refused_by_calibrate(tmp_path):
    # the optional tenure_months column is checked like the others, with the history named
    lines = [GOOD[0] + ",tenure_months"] + [f"{line},{i}" for i, line in enumerate(GOOD[1:])]
    lines[3] = lines[3].rsplit(",", 1)[0] + ",-50"
    path = tmp_path / "history.csv"
    path.write_text("\n".join(lines) + "\n")
    out = tmp_path / "fitted.toml"
    assert_one_line_error(cli("calibrate", path, "--out", out), str(path), "line 4",
                          "column tenure_months", "-50")
    assert not out.exists()


@pytest.mark.parametrize("case", [c for c in BAD if c[0] in {
    "not_a_number", "duplicate_rep_month", "empty_file", "huge_revenue"}], ids=lambda c: c[0])
def test_bad_history_is_refused_by_backtest(tmp_path, case):
    _, content, parts = case
    path = tmp_path / "history.csv"
    path.write_text(content)
    proc = cli("backtest", path, "--cutoff", "2026-06")
    assert_one_line_error(proc, str(path), *parts)


@pytest.mark.parametrize("args,parts", [
    (["--cutoff", "2024-12"], ["--cutoff", "outside the data", "'2024-12'"]),
    (["--cutoff", "2027-02"], ["--cutoff", "outside the data", "'2027-02'"]),
    (["--cutoff", "2026-13"], ["--cutoff", "YYYY-MM", "'2026-13'"]),
    (["--cutoff", "2026-11", "--horizon", "3"], ["--horizon", "longer than the data", "(got 3)"]),
    (["--rolling", "--horizon", "24"], ["--horizon", "no feasible cutoff", "(got 24)"]),
    # a --min-train that alone takes every month is named, not the default --horizon
    (["--rolling", "--min-train", "24", "--horizon", "1"],
     ["--min-train", "no feasible cutoff", "(got 24)"]),
])
def test_bad_cutoff_or_horizon(args, parts):
    proc = cli("backtest", HISTORY, *args, "--paths", "50")
    assert_one_line_error(proc, str(HISTORY), *parts)


TOY_PLAN = """model = "linear_toy"
name = "toy"
start_month = "2027-01"
horizon_months = 12

[[objectives]]
id = "score"
metric = "score"
aggregate = "sum"
target = 1.0
"""


@pytest.mark.parametrize("command", [["calibrate", "--out", "fitted.toml"],
                                     ["backtest", "--cutoff", "2026-06", "--paths", "50"]])
def test_plan_of_another_model_names_the_plan(tmp_path, command):
    # a valid scenario of a model without the sales-team parameters: the error names the
    # scenario file, whose model = "..." is the culprit
    plan = tmp_path / "toy.toml"
    plan.write_text(TOY_PLAN)
    proc = cli(command[0], HISTORY, "--plan", plan, *command[1:], cwd=tmp_path)
    assert_one_line_error(proc, f"{plan}: model:", "lacks base_win_rate", "'linear_toy'")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["toy.toml"]


def test_min_train_needs_rolling():
    assert_one_line_error(cli("backtest", HISTORY, "--cutoff", "2026-06", "--min-train", "6"),
                          "--min-train", "--rolling", "6")


def test_bad_opportunity_export(tmp_path):
    src = (CRM / "sales_pipeline.csv").read_text().splitlines()
    head = src[0].split(",")
    cells = src[5].split(",")
    cells[head.index("deal_stage")] = "Maybe"
    src[5] = ",".join(cells)
    d = tmp_path / "crm"
    d.mkdir()
    (d / "sales_pipeline.csv").write_text("\n".join(src) + "\n")
    out = tmp_path / "crm.toml"
    proc = cli("calibrate", d, "--format", "opportunities", "--out", out)
    assert_one_line_error(proc, "sales_pipeline.csv", "line 6", "column deal_stage", "'Maybe'")
    assert not out.exists()


def test_calibrated_scenario_out_of_bounds_names_the_history(tmp_path):
    """One won deal of a billion among ~4,000: the deal values' CV (about sqrt(4,000) = 63)
    exceeds the model's bound for order_value_cv (10). The scenario cannot be written; the
    one error line names the export it came from, not the --out file that was never made."""
    d = tmp_path / "crm"
    d.mkdir()
    for name in ("sales_pipeline.csv", "sales_teams.csv", "products.csv"):
        _copy(CRM / name, d / name)
    lines = (d / "sales_pipeline.csv").read_text().splitlines()
    head = lines[0].split(",")
    row = next(i for i, ln in enumerate(lines) if ln.split(",")[head.index("deal_stage")]
               == "Won" and ln.split(",")[head.index("close_date")] >= "2017-05")
    cells = lines[row].split(",")
    cells[head.index("close_value")] = "1e9"
    lines[row] = ",".join(cells)
    (d / "sales_pipeline.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "crm.toml"
    proc = cli("calibrate", d, "--format", "opportunities", "--out", out)
    line = assert_one_line_error(proc, str(d / "sales_pipeline.csv"),
                                 "calibrated scenario would be invalid",
                                 "parameters.order_value_cv.median")
    assert str(out) not in line
    assert not out.exists()
