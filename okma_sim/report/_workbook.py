"""The Excel workbook of a plan report (openpyxl): sheets ``Summary``, ``Objectives and KRs``,
``Per rep``, ``Monthly bands`` and ``Assumptions``, numbers stored as numbers with % and
currency formats."""

from __future__ import annotations

import io
import math
from typing import Any, Sequence

from okma_sim._core.version import __version__
from okma_sim.analysis import action_cost

from ._facts import assumption_rows, band_rows, per_rep_rows, target_rows, unpriced_hours
from ._text import baseline_revenue

__all__ = ["SHEETS", "PERCENT", "currency_format", "workbook_bytes"]

#: the sheets, in order
SHEETS = ("Summary", "Objectives and KRs", "Per rep", "Monthly bands", "Assumptions")
#: the number format of shares and probabilities
PERCENT = "0.0%"
_NUMBER = "#,##0.00"


def currency_format(currency: str) -> str:
    """The number format of amounts in ``currency``.

    Examples
    --------
    >>> currency_format("CNY")
    '#,##0 "CNY"'
    """
    return f'#,##0 "{currency}"' if currency else "#,##0"


def _cell(x: Any) -> Any:
    """A value for a cell: numpy scalars as Python numbers, NaN as an empty cell."""
    if hasattr(x, "item"):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _sheet(wb, title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]],
           formats: Sequence[Sequence[str | None]] | None = None,
           widths: Sequence[int] | None = None) -> None:
    """A sheet with a bold, frozen header row; ``formats[i][j]`` is cell (i, j)'s number
    format (None: general)."""
    from openpyxl.styles import Font
    ws = wb.create_sheet(title)
    ws.append(list(headers))
    for c in ws[1]:
        c.font = Font(bold=True)
    for i, row in enumerate(rows):
        ws.append([_cell(x) for x in row])
        for j, fmt in enumerate(formats[i] if formats else ()):
            if fmt:
                ws.cell(row=i + 2, column=j + 1).number_format = fmt
    ws.freeze_panes = "A2"
    for j, w in enumerate(widths or [16] * len(headers)):
        ws.column_dimensions[ws.cell(row=1, column=j + 1).column_letter].width = w


def _summary(wb, result: Any, money: str) -> None:
    a, k = result.all_met(), result.all_key_results_met()
    rows: list[tuple[str, Any, str | None]] = [
        ("Scenario", result.plan.name, None),
        ("Simulated runs", result.n_paths, "#,##0"),
        ("Seed", result.seed, "0"),
        ("Chance all objectives are met", a.probability, PERCENT),
        ("  standard error (±)", a.stderr, PERCENT),
        ("Chance all key results are met", k.probability, PERCENT),
        ("  standard error (±)", k.stderr, PERCENT)]
    base = baseline_revenue(result)
    if base is not None:
        rows.append(("Last year's revenue", base, money))
    cap = result.capacity()
    if cap is not None:
        rows += [("Selling hours per rep and month, available", cap["hours_available"], "0"),
                 ("  asked for by the plan", cap["hours_planned"], "0"),
                 ("  worked", cap["hours_executed"], "0"),
                 ("Rep-months over capacity", cap["share_rep_months_capped"], PERCENT)]
    cost = action_cost(result.plan, result)
    what = " (levers only: the run kept no training hours)" if unpriced_hours(result) else ""
    rows += [(f"Cost of the plan's actions over {result.plan.horizon_months} months{what}",
              cost["total"], money), ("okma_sim version", __version__, None)]
    _sheet(wb, "Summary", ("Item", "Value"), [r[:2] for r in rows],
           [(None, r[2]) for r in rows], widths=(48, 22))


def _targets(wb, result: Any, money: str) -> None:
    df = target_rows(result)
    amounts = [c for c in ("target_amount", "p05_amount", "p50_amount", "p95_amount")
               if c in df]
    cols = ["id", "kind", "statement", "plan_text", "metric", "aggregate", "comparison",
            "target", "probability", "stderr", "p05", "p50", "p95", *amounts]
    fmt = {"percent": PERCENT, "currency": money, "number": _NUMBER}
    formats = [[None] * 7 + [fmt[u]] + [PERCENT] * 2 + [fmt[u]] * 3 + [money] * len(amounts)
               for u in df["unit"]]
    _sheet(wb, "Objectives and KRs", cols, df[cols].values.tolist(), formats,
           widths=(18, 11, 40, 40, 18, 12, 11) + (12,) * (6 + len(amounts)))


def _per_rep(wb, result: Any, money: str) -> None:
    df = per_rep_rows(result)
    cols = ["rep", "share_of_months_filled", "revenue_p05", "revenue_p50", "revenue_p95",
            "new_customers_per_month", "revisit_rate"]
    if df is None:
        _sheet(wb, "Per rep", cols, [["the run kept no per-rep history"]])
        return
    row_fmt = [None, PERCENT, money, money, money, _NUMBER, PERCENT]
    _sheet(wb, "Per rep", cols, df[cols].values.tolist(), [row_fmt] * len(df),
           widths=(12, 22, 16, 16, 16, 24, 14))


def _bands(wb, result: Any, money: str) -> None:
    df = band_rows(result)
    qs = [c for c in df.columns if c.startswith("p")]
    fmt = {"percent": PERCENT, "currency": money, "number": _NUMBER}
    _sheet(wb, "Monthly bands", ["month", "metric", "label", *qs],
           df[["month", "metric", "label", *qs]].values.tolist(),
           [[None] * 3 + [fmt[u]] * len(qs) for u in df["unit"]],
           widths=(10, 18, 38) + (14,) * len(qs))


def _assumptions(wb, result: Any) -> None:
    df = assumption_rows(result.plan)
    cols = ["parameter", "description", "distribution", "mean", "p05", "p95", "unit", "source"]
    _sheet(wb, "Assumptions", cols, df[cols].values.tolist(),
           [[None, None, None, "0.####", "0.####", "0.####"]] * len(df),
           widths=(24, 60, 36, 10, 10, 10, 18, 80))


def workbook_bytes(result: Any) -> bytes:
    """The plan report's workbook as .xlsx bytes (written by the caller, atomically).

    Examples
    --------
    >>> import io, okma_sim, openpyxl
    >>> res = okma_sim.simulate(okma_sim.load_plan(okma_sim.case_study_path()), 300, seed=1)
    >>> openpyxl.load_workbook(io.BytesIO(workbook_bytes(res))).sheetnames == list(SHEETS)
    True
    """
    from openpyxl import Workbook
    wb = Workbook()
    wb.remove(wb.active)
    money = currency_format(result.plan.currency)
    _summary(wb, result, money)
    _targets(wb, result, money)
    _per_rep(wb, result, money)
    _bands(wb, result, money)
    _assumptions(wb, result)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
