"""The rep-month history CSV (docs/calibration.md, section 1): calibration input and mid-period
actuals, one row per rep per month worked.

Validated strictly, as every loader here: the first problem raises a
:class:`okma_sim._core.errors.DataError` naming file, physical line and column (see
:mod:`._tables`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from okma_sim._core.calendar import MONTH_PATTERN
from okma_sim._core.errors import DataError

from ._tables import (PathLike, _extra_column, _first, _number, _numbers, _read_table,
                      _reject_duplicates, _require_text, _Table)

__all__ = ["REP_MONTH_COLUMNS", "load_rep_month"]

#: Required columns of the rep-month history CSV, in the documented order (a contract: docs/calibration.md).
REP_MONTH_COLUMNS: tuple[str, ...] = (
    "month",
    "rep_id",
    "prospect_visits",
    "customer_visits",
    "new_customers",
    "active_customers",
    "revisited_customers",
    "churned_customers",
    "revenue",
    "training_hours",
    "csat_responses",
    "csat_satisfied",
)

_AMOUNT_COLUMNS: tuple[str, ...] = ("revenue", "training_hours")
_COUNT_COLUMNS: tuple[str, ...] = tuple(
    c for c in REP_MONTH_COLUMNS[2:] if c not in _AMOUNT_COLUMNS
)
#: (part, whole): the part may not exceed the whole on any row.
_BOUNDED_BY: tuple[tuple[str, str], ...] = (
    ("revisited_customers", "active_customers"),
    ("churned_customers", "active_customers"),
    ("csat_satisfied", "csat_responses"),
)


def load_rep_month(path: PathLike, *, columns: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Read and validate a rep-month history CSV (one row per rep per month worked).

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file (UTF-8, comma-separated, header on the first non-blank line).
    columns : mapping of str to str, optional
        Renames the file's columns to ours before validation, for exports that name
        things differently, e.g. ``{"Month": "month", "Rep": "rep_id"}``.

    Returns
    -------
    pandas.DataFrame
        The :data:`REP_MONTH_COLUMNS` in contract order, then ``period`` (``Period[M]``
        of ``month``), then any extra columns of the file in file order (numeric when every
        non-empty cell is a number, else text). Sorted by ``(month, rep_id)`` with a fresh
        RangeIndex. ``month`` is text ``'YYYY-MM'``, ``rep_id`` text, counts ``int64``,
        ``revenue`` and ``training_hours`` ``float64``. ``df.attrs["source"]`` is ``path``.

    Raises
    ------
    DataError
        On the first problem found, located as ``file: line N, column C: message (got
        value)``, where ``line N`` is the physical line (header = line 1) and ``C`` the
        column's name in the file: file missing, not a CSV (binary, TOML, other separator),
        empty, header only, missing required columns, blank ``rep_id``, ``month`` not
        ``YYYY-MM``, an empty / non-numeric / NaN / infinite / negative value, a fractional
        count, ``revisited_customers`` or ``churned_customers`` above ``active_customers``,
        ``csat_satisfied`` above ``csat_responses``, a repeated ``(rep_id, month)``, or a
        ``tenure_months`` cell (optional column) that is neither blank nor a number >= 0.

    Notes
    -----
    Blank lines and rows whose cells are all empty are skipped. Cells are stripped of
    surrounding whitespace. Counts written as ``5.0`` or ``1e3`` are accepted.

    Examples
    --------
    >>> from okma_sim.io import load_rep_month
    >>> hist = load_rep_month("history.csv")  # doctest: +SKIP
    >>> hist[["month", "rep_id", "new_customers"]].head(2)  # doctest: +SKIP
         month rep_id  new_customers
    0  2024-01     r1              2
    1  2024-01     r2              1
    >>> load_rep_month("export.csv", columns={"Month": "month", "Rep": "rep_id"})  # doctest: +SKIP
    """
    return _read_rep_month(path, columns=columns)[0]


def _read_rep_month(path: PathLike, *,
                    columns: Mapping[str, str] | None = None) -> tuple[pd.DataFrame, _Table]:
    """:func:`load_rep_month`'s frame, and the table it was read from (rows in file order,
    with their physical lines) for checks that name a row's line."""
    t = _read_table(path, required=REP_MONTH_COLUMNS, columns=columns,
                    what="rep-month history CSV")
    if "period" in t.data.columns:
        raise DataError("the column name 'period' is reserved; rename it with columns=",
                        file=t.file, key=f"line {t.header_line}",
                        value=t.source_names["period"])
    rep_id = _require_text(t, "rep_id")
    month = _months(t)
    values = _rep_month_values(t)
    _reject_duplicates(t, ("rep_id", "month"))
    # the optional tenure column is used by the fit and the backtest: a number >= 0, or blank
    # (then derived from the rep's first month)
    tenure = (_numbers(t, "tenure_months", integer=False, required=False)
              if "tenure_months" in t.data.columns else None)
    return _rep_month_frame(t, rep_id, month, values, tenure), t


def _months(t: _Table) -> pd.Series:
    """The ``month`` column, every cell ``YYYY-MM``."""
    month = t.data["month"]
    i = _first(~month.str.fullmatch(MONTH_PATTERN).to_numpy(dtype=bool))
    if i is not None:
        raise t.error("month must be YYYY-MM, e.g. 2024-01", i, "month", month.iat[i])
    return month


def _rep_month_values(t: _Table) -> dict[str, np.ndarray]:
    """The numeric columns as float64: counts whole, no part above its whole."""
    values = {c: _numbers(t, c, integer=c in _COUNT_COLUMNS) for c in REP_MONTH_COLUMNS[2:]}
    for part, whole in _BOUNDED_BY:
        i = _first(values[part] > values[whole])
        if i is not None:
            raise t.error(f"{part} exceeds {whole} ({_number(values[whole][i])})", i, part,
                          _number(values[part][i]))
    return values


def _rep_month_frame(t: _Table, rep_id: pd.Series, month: pd.Series,
                     values: dict[str, np.ndarray], tenure: np.ndarray | None) -> pd.DataFrame:
    """The contract columns, ``period``, then the file's extra columns, sorted."""
    out = pd.DataFrame({"month": month, "rep_id": rep_id})
    for c in REP_MONTH_COLUMNS[2:]:
        out[c] = values[c].astype(np.int64 if c in _COUNT_COLUMNS else np.float64)
    out["period"] = pd.to_datetime(month, format="%Y-%m").dt.to_period("M")
    for c in t.data.columns.difference(REP_MONTH_COLUMNS, sort=False):
        out[c] = tenure if c == "tenure_months" else _extra_column(t.data[c])
    out = out.sort_values(["month", "rep_id"], kind="stable", ignore_index=True)
    out.attrs["source"] = t.file
    return out
