"""Tests for okma_sim.io: rep-month CSV and CRM opportunity loaders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from okma_sim._core.errors import DataError
from okma_sim.io import (REP_MONTH_COLUMNS, load_opportunities, load_rep_month,
                         opportunities_to_panel, opportunity_summary)

CRM_DIR = Path(__file__).resolve().parents[2] / "data" / "crm_sales_opportunities"

HEADER = list(REP_MONTH_COLUMNS)
# month, rep_id, prospect, customer, new, active, revisited, churned, revenue, training,
# csat_responses, csat_satisfied
ROWS = [
    ["2024-02", "r1", "22", "16", "3", "31", "26", "2", "11200", "0", "12", "10"],
    ["2024-01", "r2", "18", "12", "1", "22", "20", "0", "8300", "2.5", "0", "0"],
    ["2024-01", "r1", "20", "15", "2", "30", "25", "1", "10500.5", "4", "10", "8"],
]


def write_csv(tmp_path: Path, rows=ROWS, header=HEADER, name="history.csv") -> Path:
    path = tmp_path / name
    lines = [",".join(header)] + [",".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def with_cell(row: int, column: str, value: str) -> list[list[str]]:
    rows = [list(r) for r in ROWS]
    rows[row][HEADER.index(column)] = value
    return rows


def assert_located(err: DataError, path: Path, *parts: str) -> None:
    text = str(err)
    assert "\n" not in text
    assert path.name in text
    for part in parts:
        assert part in text, (part, text)


# --------------------------------------------------------------------------------------
# rep-month: happy path
# --------------------------------------------------------------------------------------


def test_load_rep_month_happy_path(tmp_path):
    df = load_rep_month(write_csv(tmp_path))
    assert list(df.columns[:12]) == HEADER
    assert df.columns[12] == "period"
    assert list(zip(df["month"], df["rep_id"])) == [
        ("2024-01", "r1"), ("2024-01", "r2"), ("2024-02", "r1")]
    assert df.index.equals(pd.RangeIndex(3))
    for c in ("prospect_visits", "customer_visits", "new_customers", "active_customers",
              "revisited_customers", "churned_customers", "csat_responses",
              "csat_satisfied"):
        assert df[c].dtype == np.int64, c
    assert df["revenue"].dtype == np.float64
    assert df["training_hours"].dtype == np.float64
    assert pd.api.types.is_string_dtype(df["month"])
    assert pd.api.types.is_string_dtype(df["rep_id"])
    assert isinstance(df["period"].dtype, pd.PeriodDtype)
    assert df["period"].iloc[0] == pd.Period("2024-01", freq="M")
    assert df["revenue"].iloc[0] == 10500.5
    assert df["new_customers"].tolist() == [2, 1, 3]
    assert df.attrs["source"].endswith("history.csv")


def test_rep_month_extra_columns_ids_blank_lines_and_whitespace(tmp_path):
    path = tmp_path / "h.csv"
    text = ("\ufeff" + ",".join(HEADER + ["region", "quota"]) + "\n"
            + "\n"
            + "2024-01 , 007 ,1,1,1,5,5,0,100,0,0,0,North,5\n"
            + ",,,,,,,,,,,,,\n"
            + "2024-01,008,1,1,1.0,5,5,0,1e3,0,0,0,,7.5\n")
    path.write_text(text, encoding="utf-8")
    df = load_rep_month(path)
    assert df["rep_id"].tolist() == ["007", "008"]
    assert df["month"].tolist() == ["2024-01", "2024-01"]
    assert df["revenue"].tolist() == [100.0, 1000.0]
    assert df["new_customers"].tolist() == [1, 1]
    assert list(df.columns[-2:]) == ["region", "quota"]
    assert df["region"].iloc[0] == "North" and pd.isna(df["region"].iloc[1])
    assert df["quota"].tolist() == [5.0, 7.5]


def test_rep_month_crlf_line_endings(tmp_path):
    path = tmp_path / "history.csv"
    rows = with_cell(2, "revenue", "-1")
    path.write_bytes(("\r\n".join([",".join(HEADER)] + [",".join(r) for r in rows])
                      + "\r\n").encode())
    with pytest.raises(DataError) as info:
        load_rep_month(path)
    assert_located(info.value, path, "line 4", "column revenue", "(got -1)")
    path.write_bytes(path.read_bytes().replace(b"-1", b"7"))
    assert load_rep_month(path)["csat_satisfied"].tolist() == [8, 0, 10]


def test_rep_month_column_mapping(tmp_path):
    names = {c: c.replace("_", " ").title() for c in HEADER}
    path = write_csv(tmp_path, header=[names[c] for c in HEADER])
    mapping = {v: k for k, v in names.items()}
    df = load_rep_month(path, columns=mapping)
    assert list(df.columns[:12]) == HEADER
    assert len(df) == 3
    # errors name the column as spelled in the file
    bad = write_csv(tmp_path, rows=with_cell(1, "new_customers", "x"),
                    header=[names[c] for c in HEADER], name="bad.csv")
    with pytest.raises(DataError) as info:
        load_rep_month(bad, columns=mapping)
    assert_located(info.value, bad, "line 3", "column New Customers", "'x'")


def test_rep_month_mapping_unknown_column(tmp_path):
    path = write_csv(tmp_path)
    with pytest.raises(DataError) as info:
        load_rep_month(path, columns={"Month": "month"})
    assert_located(info.value, path, "line 1", "mapping", "'Month'")


def test_rep_month_mapping_collision(tmp_path):
    path = write_csv(tmp_path, header=HEADER + ["sat"], rows=[r + ["1"] for r in ROWS])
    with pytest.raises(DataError) as info:
        load_rep_month(path, columns={"sat": "csat_satisfied"})
    assert_located(info.value, path, "line 1", "same name", "'csat_satisfied'")


# --------------------------------------------------------------------------------------
# rep-month: file-level errors
# --------------------------------------------------------------------------------------


def test_file_not_found(tmp_path):
    path = tmp_path / "nope.csv"
    with pytest.raises(DataError) as info:
        load_rep_month(path)
    assert_located(info.value, path, "no such file")


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(DataError, match="directory"):
        load_rep_month(tmp_path)


@pytest.mark.parametrize("content", [
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",
    b"PK\x03\x04\x14\x00\x06\x00",                       # xlsx (zip)
    "month,rep_id\n".encode("utf-16"),                   # UTF-16 text
])
def test_binary_file(tmp_path, content):
    path = tmp_path / "history.csv"
    path.write_bytes(content)
    with pytest.raises(DataError) as info:
        load_rep_month(path)
    assert_located(info.value, path, "not a CSV text file")


def test_not_utf8(tmp_path):
    path = tmp_path / "history.csv"
    path.write_bytes(",".join(HEADER).encode() + b"\n2024-01,J\xf6rg,1\n")
    with pytest.raises(DataError) as info:
        load_rep_month(path)
    assert_located(info.value, path, "line 2", "UTF-8", "xf6")


def test_toml_file(tmp_path):
    path = tmp_path / "case.toml"
    path.write_text('schema_version = 1\nname = "Case study"\n\n[baseline]\n'
                    'monthly_revenue = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]\n')
    with pytest.raises(DataError) as info:
        load_rep_month(path)
    assert_located(info.value, path, "line 1", "not a CSV file", "'schema_version = 1'")


def test_semicolon_separated(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text(";".join(HEADER) + "\n" + ";".join(ROWS[0]) + "\n")
    with pytest.raises(DataError) as info:
        load_rep_month(path)
    assert_located(info.value, path, "line 1", "separated by ';'")


@pytest.mark.parametrize("content", ["", "\n\n  \n", "\ufeff\n", "\u00a0\n"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "history.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_rep_month(path)
    assert_located(info.value, path, "file is empty")


def test_header_only(tmp_path):
    path = write_csv(tmp_path, rows=[])
    with pytest.raises(DataError) as info:
        load_rep_month(path)
    assert_located(info.value, path, "no data rows")


def test_missing_columns(tmp_path):
    header = [c for c in HEADER if c not in ("revenue", "csat_satisfied")]
    rows = [[v for c, v in zip(HEADER, r) if c in header] for r in ROWS]
    path = write_csv(tmp_path, rows=rows, header=header)
    with pytest.raises(DataError) as info:
        load_rep_month(path)
    assert_located(info.value, path, "line 1", "missing required column(s)", "revenue",
                   "csat_satisfied")


def test_unrelated_csv(tmp_path):
    path = write_csv(tmp_path, header=["a", "b", "c"], rows=[["1", "2", "3"]])
    with pytest.raises(DataError) as info:
        load_rep_month(path)
    assert_located(info.value, path, "line 1", "none of the required columns")


def test_duplicate_header(tmp_path):
    path = write_csv(tmp_path, header=HEADER + ["revenue"], rows=[r + ["1"] for r in ROWS])
    with pytest.raises(DataError) as info:
        load_rep_month(path)
    assert_located(info.value, path, "line 1", "duplicate column", "'revenue'")


def test_ragged_row(tmp_path):
    rows = [list(r) for r in ROWS]
    rows[1] = rows[1] + ["extra"]
    path = write_csv(tmp_path, rows=rows)
    with pytest.raises(DataError) as info:
        load_rep_month(path)
    assert_located(info.value, path, "line 3", "13 fields", "header has 12")


# --------------------------------------------------------------------------------------
# rep-month: cell-level errors (line = physical line, header is line 1)
# --------------------------------------------------------------------------------------

CELL_CASES = [
    # row, column, bad text, message fragment, shown value
    (0, "new_customers", "abc", "not a number", "'abc'"),
    (1, "prospect_visits", "", "empty cell", "''"),
    (2, "revenue", "nan", "finite", "'nan'"),
    (2, "revenue", "NaN", "finite", "'NaN'"),
    (0, "training_hours", "inf", "finite", "'inf'"),
    (1, "customer_visits", "-inf", "finite", "'-inf'"),
    (1, "new_customers", "2.5", "whole number", "2.5"),
    (2, "csat_responses", "10.25", "whole number", "10.25"),
    (0, "prospect_visits", "-3", ">= 0", "-3"),
    (1, "revenue", "-10.5", ">= 0", "-10.5"),
    (2, "training_hours", "-0.5", ">= 0", "-0.5"),
    (2, "csat_satisfied", "11", "exceeds csat_responses (10)", "11"),
    (2, "revisited_customers", "31", "exceeds active_customers (30)", "31"),
    (0, "churned_customers", "32", "exceeds active_customers (31)", "32"),
    (1, "rep_id", "", "rep_id is blank", "''"),
    (1, "rep_id", "   ", "rep_id is blank", "''"),
    (0, "month", "2024/02", "YYYY-MM", "'2024/02'"),
    (0, "month", "2024-13", "YYYY-MM", "'2024-13'"),
    (2, "month", "Jan 2024", "YYYY-MM", "'Jan 2024'"),
    (2, "month", "2024-01-01", "YYYY-MM", "'2024-01-01'"),
    (1, "month", "", "YYYY-MM", "''"),
]


@pytest.mark.parametrize("row, column, text, message, shown", CELL_CASES)
def test_bad_cell(tmp_path, row, column, text, message, shown):
    path = write_csv(tmp_path, rows=with_cell(row, column, text))
    with pytest.raises(DataError) as info:
        load_rep_month(path)
    err = info.value
    assert_located(err, path, f"line {row + 2}", f"column {column}", message, f"(got {shown})")
    assert err.file == str(path)
    assert err.key == f"line {row + 2}, column {column}"


def _with_tenure(values: list[str]) -> list[list[str]]:
    return [r + [v] for r, v in zip(ROWS, values)]


@pytest.mark.parametrize("row, text, message, shown", [
    (1, "-50", ">= 0", "-50"),
    (0, "abc", "not a number", "'abc'"),
    (2, "inf", "finite", "'inf'"),
])
def test_bad_tenure(tmp_path, row, text, message, shown):
    # the optional tenure_months column feeds the fit and the backtest: validated like the rest
    values = ["3", "0", "12.5"]
    values[row] = text
    path = write_csv(tmp_path, rows=_with_tenure(values), header=HEADER + ["tenure_months"])
    with pytest.raises(DataError) as info:
        load_rep_month(path)
    assert_located(info.value, path, f"line {row + 2}", "column tenure_months", message,
                   f"(got {shown})")


def test_tenure_numbers_and_blanks(tmp_path):
    path = write_csv(tmp_path, rows=_with_tenure(["3", "", "12.5"]),
                     header=HEADER + ["tenure_months"])
    df = load_rep_month(path)  # sorted by (month, rep_id): rows 2, 1, 0 of ROWS
    assert df["tenure_months"].dtype == np.float64
    assert df["tenure_months"].iloc[0] == 12.5 and np.isnan(df["tenure_months"].iloc[1])
    assert df["tenure_months"].iloc[2] == 3.0


def test_duplicate_rep_month(tmp_path):
    rows = ROWS + [["2024-01", "r2", "1", "1", "1", "1", "1", "1", "1", "1", "1", "1"]]
    path = write_csv(tmp_path, rows=rows)
    with pytest.raises(DataError) as info:
        load_rep_month(path)
    assert_located(info.value, path, "line 5", "duplicate rep_id and month", "first on line 3",
                   "('r2', '2024-01')")


def test_line_numbers_count_blank_and_multiline_cells(tmp_path):
    path = tmp_path / "history.csv"
    good = ",".join(ROWS[0])
    text = ("\n" + ",".join(HEADER + ["note"]) + "\n"          # lines 1-2
            + good.replace("r1", "a") + ',"two\nlines"\n'      # lines 3-4
            + "\n"                                             # line 5
            + ",".join(with_cell(0, "new_customers", "x")[0]) + ",\n")  # line 6
    path.write_text(text)
    with pytest.raises(DataError) as info:
        load_rep_month(path)
    assert_located(info.value, path, "line 6", "column new_customers", "'x'")


# --------------------------------------------------------------------------------------
# opportunities: small files
# --------------------------------------------------------------------------------------

OPP_HEADER = ["opportunity_id", "sales_agent", "product", "account", "deal_stage",
              "engage_date", "close_date", "close_value"]
OPP_ROWS = [
    ["O1", "Ann", "GTXPro", "Acme", "Won", "2017-01-10", "2017-03-02", "4500"],
    ["O2", "Ann", "MG Special", "", "Lost", "2017-01-20", "2017-04-01", "0"],
    ["O3", "Bob", "GTX Basic", "Beta", "Won", "2017-02-01", "2017-05-15", "560"],
    ["O4", "Bob", "GTX Basic", "", "Engaging", "2017-04-01", "", ""],
    ["O5", "Ann", "MG Special", "", "Prospecting", "", "", ""],
]


def write_opps(tmp_path: Path, rows=OPP_ROWS, header=OPP_HEADER, teams=True,
               products=True) -> Path:
    write_csv(tmp_path, rows=rows, header=header, name="sales_pipeline.csv")
    if teams:
        (tmp_path / "sales_teams.csv").write_text(
            "sales_agent,manager,regional_office\nAnn,Max,East\nBob,Max,East\n"
            "Cleo,Nia,West\n")
    if products:
        (tmp_path / "products.csv").write_text(
            "product,series,sales_price\nGTX Basic,GTX,550\nGTX Pro,GTX,4821\n"
            "MG Special,MG,55\n")
    return tmp_path / "sales_pipeline.csv"


def opp_with(row: int, column: str, value: str) -> list[list[str]]:
    rows = [list(r) for r in OPP_ROWS]
    rows[row][OPP_HEADER.index(column)] = value
    return rows


def test_small_opportunities(tmp_path):
    pipeline = write_opps(tmp_path)
    opps = load_opportunities(tmp_path)
    same = load_opportunities(pipeline)
    pd.testing.assert_frame_equal(opps, same)
    assert len(opps) == 5
    assert opps["opportunity_id"].tolist() == ["O1", "O2", "O3", "O4", "O5"]
    assert opps["sales_price"].tolist()[:4] == [4821.0, 55.0, 550.0, 550.0]
    assert opps["product"].iloc[0] == "GTXPro"
    assert opps["manager"].eq("Max").all()
    assert opps["account"].isna().tolist() == [False, True, False, True, True]
    assert pd.isna(opps["close_date"].iloc[3]) and np.isnan(opps["close_value"].iloc[3])
    assert pd.isna(opps["engage_date"].iloc[4])
    assert opps["engage_date"].iloc[0] == pd.Timestamp("2017-01-10")

    panel = opportunities_to_panel(opps)
    ann = panel[panel["rep_id"] == "Ann"].set_index("month")
    # Ann is active 2017-01 (engaged) .. 2017-04 (lost), 2017-02 is a zero month
    assert ann.index.tolist() == ["2017-01", "2017-02", "2017-03", "2017-04"]
    assert ann["engaged"].tolist() == [2, 0, 0, 0]
    assert ann["won"].tolist() == [0, 0, 1, 0]
    assert ann["lost"].tolist() == [0, 0, 0, 1]
    assert ann["revenue"].tolist() == [0, 0, 4500.0, 0]
    by_office = opportunities_to_panel(opps, by="regional_office")
    assert set(by_office["rep_id"]) == {"East"}
    assert by_office["closed"].sum() == 3


def test_opportunities_without_side_files(tmp_path):
    write_opps(tmp_path, teams=False, products=False)
    opps = load_opportunities(tmp_path)
    assert "manager" not in opps and "sales_price" not in opps
    with pytest.raises(DataError, match="sales_teams.csv"):
        opportunities_to_panel(opps, by="manager")


def test_agent_missing_from_teams(tmp_path):
    write_opps(tmp_path, rows=OPP_ROWS + [["O6", "Zed", "GTX Basic", "", "Won",
                                           "2017-02-01", "2017-03-01", "500"]])
    opps = load_opportunities(tmp_path)
    assert pd.isna(opps["manager"].iloc[-1])
    assert len(opportunities_to_panel(opps)) > 0
    with pytest.raises(DataError) as info:
        opportunities_to_panel(opps, by="manager")
    assert "no manager" in str(info.value) and "'Zed'" in str(info.value)


def test_opportunities_column_mapping(tmp_path):
    header = [("Stage" if c == "deal_stage" else c) for c in OPP_HEADER]
    write_opps(tmp_path, header=header)
    opps = load_opportunities(tmp_path, columns={"Stage": "deal_stage"})
    assert opps["deal_stage"].tolist() == ["Won", "Lost", "Won", "Engaging", "Prospecting"]


def test_stage_case_insensitive(tmp_path):
    write_opps(tmp_path, rows=opp_with(0, "deal_stage", " won "))
    assert load_opportunities(tmp_path)["deal_stage"].iloc[0] == "Won"


OPP_CASES = [
    (0, "deal_stage", "Closed", "unknown deal_stage", "'Closed'"),
    (1, "engage_date", "2017-13-01", "not a date", "'2017-13-01'"),
    (2, "close_date", "15/05/2017", "not a date", "'15/05/2017'"),
    (0, "close_value", "-4500", ">= 0", "-4500"),
    (2, "close_value", "abc", "not a number", "'abc'"),
    (0, "close_date", "", "a Won deal needs a close_date", "''"),
    (1, "close_date", "", "a Lost deal needs a close_date", "''"),
    (2, "close_value", "", "a Won deal needs a close_value", "''"),
    (3, "engage_date", "", "a Engaging deal needs an engage_date", "''"),
    (0, "close_date", "2016-12-31", "before engage_date (2017-01-10)", "'2016-12-31'"),
    (1, "sales_agent", "", "sales_agent is blank", "''"),
    (2, "opportunity_id", "O1", "duplicate opportunity_id, first on line 2", "'O1'"),
]


@pytest.mark.parametrize("row, column, text, message, shown", OPP_CASES)
def test_bad_opportunity(tmp_path, row, column, text, message, shown):
    pipeline = write_opps(tmp_path, rows=opp_with(row, column, text))
    with pytest.raises(DataError) as info:
        load_opportunities(tmp_path)
    located = [f"line {row + 2}", message, f"(got {shown})"]
    if column != "opportunity_id":
        located.append(f"column {column}")
    assert_located(info.value, pipeline, *located)


def test_opportunities_missing_columns(tmp_path):
    header = [c for c in OPP_HEADER if c != "close_value"]
    rows = [r[:-1] for r in OPP_ROWS]
    pipeline = write_opps(tmp_path, rows=rows, header=header)
    with pytest.raises(DataError) as info:
        load_opportunities(pipeline)
    assert_located(info.value, pipeline, "line 1", "missing required column(s): close_value")


def test_opportunities_directory_without_pipeline(tmp_path):
    with pytest.raises(DataError) as info:
        load_opportunities(tmp_path)
    assert "no sales_pipeline.csv" in str(info.value)


def test_bad_side_files(tmp_path):
    write_opps(tmp_path)
    products = tmp_path / "products.csv"
    products.write_text("product,series,sales_price\nGTX Basic,GTX,550\nGTXPro,GTX,-1\n")
    with pytest.raises(DataError) as info:
        load_opportunities(tmp_path)
    assert_located(info.value, products, "line 3", "column sales_price", "(got -1)")
    products.write_text("product,series,sales_price\nGTX Pro,GTX,1\ngtxpro,GTX,2\n")
    with pytest.raises(DataError) as info:
        load_opportunities(tmp_path)
    assert_located(info.value, products, "line 3", "duplicate product", "'gtxpro'")
    products.unlink()
    teams = tmp_path / "sales_teams.csv"
    teams.write_text("sales_agent,manager,regional_office\nAnn,Max,East\nAnn,Nia,West\n")
    with pytest.raises(DataError) as info:
        load_opportunities(tmp_path)
    assert_located(info.value, teams, "line 3", "duplicate sales_agent", "'Ann'")


# --------------------------------------------------------------------------------------
# opportunities: the real CRM copy
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def crm() -> pd.DataFrame:
    return load_opportunities(CRM_DIR)


@pytest.fixture(scope="module")
def raw_pipeline() -> pd.DataFrame:
    return pd.read_csv(CRM_DIR / "sales_pipeline.csv")


def test_crm_loads(crm):
    assert len(crm) == 8800
    assert crm["opportunity_id"].is_unique
    assert set(crm["deal_stage"]) == {"Prospecting", "Engaging", "Won", "Lost"}
    assert crm["manager"].notna().all() and crm["regional_office"].notna().all()
    assert crm["sales_price"].notna().all()
    assert crm["account"].isna().sum() == 1425


def test_crm_won_totals_match_pandas(crm, raw_pipeline):
    won = raw_pipeline["deal_stage"] == "Won"
    assert (crm["deal_stage"] == "Won").sum() == won.sum() == 4238
    total = raw_pipeline.loc[won, "close_value"].sum()
    assert crm.loc[crm["deal_stage"] == "Won", "close_value"].sum() == pytest.approx(total)


def test_crm_gtx_pro_joins_price(crm):
    gtx = crm[crm["product"] == "GTXPro"]
    assert len(gtx) == 1480
    assert (gtx["sales_price"] == 4821).all()
    assert (gtx["series"] == "GTX").all()


def test_crm_open_deals(crm):
    is_open = crm["deal_stage"].isin(["Prospecting", "Engaging"])
    assert crm.loc[is_open, "close_date"].isna().all()
    assert crm.loc[is_open, "close_value"].isna().all()
    assert crm.loc[~is_open, "close_date"].notna().all()


def test_crm_close_span(crm):
    months = crm["close_date"].dropna().dt.to_period("M")
    assert str(months.min()) == "2017-03" and str(months.max()) == "2017-12"


@pytest.mark.parametrize("by", ["sales_agent", "manager", "regional_office"])
def test_crm_panel_sums_to_totals(crm, by):
    panel = opportunities_to_panel(crm, by=by)
    won = crm["deal_stage"] == "Won"
    assert panel["engaged"].sum() == crm["engage_date"].notna().sum()
    assert panel["won"].sum() == won.sum()
    assert panel["lost"].sum() == (crm["deal_stage"] == "Lost").sum()
    assert (panel["closed"] == panel["won"] + panel["lost"]).all()
    assert panel["revenue"].sum() == pytest.approx(crm.loc[won, "close_value"].sum())
    assert set(panel["rep_id"]) == set(crm[by])
    assert not panel.duplicated(["rep_id", "month"]).any()
    # each group's months are consecutive (zero-filled)
    ords = panel["period"].map(lambda p: p.ordinal)
    gaps = panel.assign(o=ords).groupby("rep_id")["o"].agg(lambda s: s.max() - s.min() + 1 - len(s))
    assert (gaps == 0).all()
    closes = panel.loc[panel["closed"] > 0, "month"]
    assert closes.min() == "2017-03" and closes.max() == "2017-12"
    assert panel["month"].is_monotonic_increasing


def test_crm_panel_by_agent_excludes_agents_without_opportunities(crm):
    panel = opportunities_to_panel(crm)
    teams = pd.read_csv(CRM_DIR / "sales_teams.csv")
    assert panel["rep_id"].nunique() == 30 < len(teams) == 35


def test_crm_summary(crm, raw_pipeline):
    s = opportunity_summary(crm)
    assert s["n_opportunities"] == 8800
    wr = s["win_rate"]
    assert (wr["won"], wr["lost"], wr["open"]) == (4238, 2473, 2089)
    assert wr["rate"] == pytest.approx(4238 / (4238 + 2473))
    assert 0 < wr["stderr"] < 0.01

    dv = s["deal_value"]
    won = raw_pipeline[raw_pipeline["deal_stage"] == "Won"]
    expected = won.groupby("product")["close_value"].agg(["count", "mean", "std"])
    assert dv["n"].sum() == 4238
    np.testing.assert_allclose(dv["mean"], expected["mean"])
    np.testing.assert_allclose(dv["sd"], expected["std"])
    assert dv.loc["GTXPro", "sales_price"] == 4821

    closed = raw_pipeline[raw_pipeline["deal_stage"].isin(["Won", "Lost"])]
    days = (pd.to_datetime(closed["close_date"]) - pd.to_datetime(closed["engage_date"])).dt.days
    assert s["cycle_days"]["n"] == len(closed)
    assert s["cycle_days"]["mean"] == pytest.approx(days.mean())
    assert s["cycle_days"]["median"] == pytest.approx(days.median())

    spread = s["rep_spread"]
    assert spread["months"] == 10 and spread["n_agents"] == 30
    per_agent = won.groupby("sales_agent")["close_value"].sum() / 10
    assert spread["cv"] == pytest.approx(per_agent.std() / per_agent.mean())

    monthly = s["monthly"]
    assert monthly["month"].iloc[0] == "2016-10" and monthly["month"].iloc[-1] == "2017-12"
    assert len(monthly) == 15
    assert monthly["won"].sum() == 4238
    assert monthly["revenue"].sum() == pytest.approx(won["close_value"].sum())
    assert (monthly.loc[monthly["month"] < "2017-03", "closed"] == 0).all()
