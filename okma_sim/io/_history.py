"""Loading and summarising history files: the rep-month CSV and the opportunity-level CRM export.

Both loaders validate strictly and raise :class:`okma_sim._core.errors.DataError` on the first
problem they find. The error's ``str()`` is one line::

    history.csv: line 15, column new_customers: must be a whole number (a count) (got 2.5)

Row convention
--------------
``line N`` is the physical line of the file as a text editor numbers it: the header is on
line 1 (or later, if the file starts with blank lines), so the first data row is usually
line 2. Blank lines count, and so does every line of a quoted cell that spans several lines.
Columns are named as they are spelled in the file, before any ``columns=`` renaming.

Functions
---------
load_rep_month
    The rep-month history CSV (docs/calibration.md, section 1): calibration input and mid-period actuals.
load_opportunities
    The opportunity-level CRM export (``sales_pipeline.csv`` plus optional
    ``sales_teams.csv`` and ``products.csv``).
opportunities_to_panel
    Opportunities as a per-(group, month) panel: engaged, won, lost, closed, revenue.
opportunity_summary
    Win rate, deal value per product, cycle time, rep-to-rep spread, monthly revenue and wins.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from okma_sim._core.calendar import MONTH_PATTERN, month_ordinal
from okma_sim._core.errors import DataError

__all__ = [
    "REP_MONTH_COLUMNS",
    "OPPORTUNITY_COLUMNS",
    "DEAL_STAGES",
    "load_rep_month",
    "load_opportunities",
    "opportunities_to_panel",
    "opportunity_summary",
]

PathLike = str | os.PathLike[str]

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

#: Required columns of the opportunity export (``sales_pipeline.csv``).
OPPORTUNITY_COLUMNS: tuple[str, ...] = (
    "opportunity_id",
    "sales_agent",
    "product",
    "deal_stage",
    "engage_date",
    "close_date",
    "close_value",
)

#: The deal stages the opportunity export may use (matched case-insensitively).
DEAL_STAGES: tuple[str, ...] = ("Prospecting", "Engaging", "Won", "Lost")
_CLOSED_STAGES: tuple[str, ...] = ("Won", "Lost")

_TEAM_COLUMNS: tuple[str, ...] = ("sales_agent", "manager", "regional_office")
_PRODUCT_COLUMNS: tuple[str, ...] = ("product", "sales_price")

_MAX_EXACT_COUNT = 2.0**53  # larger floats are no longer exact integers


# --------------------------------------------------------------------------------------
# Reading a CSV into validated-ready text cells
# --------------------------------------------------------------------------------------


@dataclass
class _Table:
    """A CSV read as stripped text cells, with the physical line of every data row."""

    file: str
    data: pd.DataFrame  # our column names, str cells ("" when empty), RangeIndex
    lines: np.ndarray  # physical line of each data row
    header_line: int
    source_names: dict[str, str] = field(default_factory=dict)  # our name -> name in the file

    def error(self, message: str, row: int | None = None, column: str | None = None,
              value: Any = DataError._MISSING) -> DataError:
        """A DataError located at data row ``row`` (0-based position) and ``column``."""
        parts = []
        if row is not None:
            parts.append(f"line {int(self.lines[row])}")
        if column is not None:
            parts.append(f"column {self.source_names.get(column, column)}")
        return DataError(message, file=self.file, key=", ".join(parts) or None, value=value)


def _first(mask: pd.Series | np.ndarray) -> int | None:
    """Position of the first True in ``mask``, or None."""
    hits = np.flatnonzero(np.asarray(mask, dtype=bool))
    return int(hits[0]) if hits.size else None


def _number(value: float) -> int | float:
    """A plain Python number for error messages (numpy 2 reprs are noisy)."""
    value = float(value)
    return int(value) if value.is_integer() else value


def _is_float_text(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _locate_parse_error(file: str, body: str, offset: int, n_fields: int,
                        exc: Exception) -> DataError:
    """Turn a pandas tokenizer error into a DataError naming the physical line."""
    reader = csv.reader(io.StringIO(body))
    start = 1
    try:
        for record in reader:
            if record and len(record) != n_fields:
                return DataError(
                    f"row has {len(record)} fields but the header has {n_fields}",
                    file=file, key=f"line {start + offset}")
            start = reader.line_num + 1
    except csv.Error as err:
        return DataError(f"not a valid CSV ({err})", file=file,
                         key=f"line {reader.line_num + offset}")
    detail = str(exc).split("C error:")[-1].strip()
    return DataError(f"not a valid CSV ({detail})", file=file)


def _read_table(path: PathLike, *, required: Sequence[str],
                columns: Mapping[str, str] | None, what: str) -> _Table:
    """Read a CSV file as text cells, check its header, and map column names.

    Every cell is read as text (so ``007`` stays ``007``), stripped of surrounding
    whitespace; empty cells are ``""``. Blank lines are skipped but counted.
    """
    file = os.fspath(path)
    p = Path(path)
    if not p.exists():
        raise DataError("file not found", file=file)
    if p.is_dir():
        raise DataError(f"is a directory, expected a {what} file", file=file)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read file ({exc.strerror})", file=file) from None
    if not raw.strip():
        raise DataError("file is empty", file=file)
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in raw:
        raise DataError("not a CSV text file (binary content or UTF-16 text); "
                        "save it as a UTF-8 CSV", file=file)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DataError("not UTF-8 text; save the file as a UTF-8 CSV", file=file,
                        key=f"line {line}", value=raw[exc.start:exc.start + 1]) from None

    body = text.lstrip()
    if not body:
        raise DataError("file is empty", file=file)
    offset = text.count("\n", 0, len(text) - len(body))  # leading blank lines
    header_line = offset + 1
    first_line = body.splitlines()[0]
    try:
        header = next(csv.reader(io.StringIO(body)))
    except csv.Error as exc:
        raise DataError(f"not a CSV file ({exc})", file=file, key=f"line {header_line}") from None
    if len(header) < 2 <= len(required):
        other = next((sep for sep in (";", "\t", "|") if sep in first_line), None)
        message = (f"not a comma-separated file: fields are separated by {other!r}"
                   if other else f"not a CSV file: the first line has no comma-separated "
                                 f"header (expected {', '.join(required[:3])}, ...)")
        raise DataError(message, file=file, key=f"line {header_line}", value=first_line)

    try:
        frame = pd.read_csv(io.StringIO(body), header=None, dtype=str, na_filter=False,
                            skip_blank_lines=False)
    except pd.errors.ParserError as exc:
        raise _locate_parse_error(file, body, offset, len(header), exc) from None

    # Physical lines: one per record, plus the newlines embedded in quoted cells.
    n_records = len(frame)
    lines = offset + 1 + np.arange(n_records)
    if '"' in body:
        embedded = sum(frame[c].str.count("\n").to_numpy(dtype=np.int64) for c in frame)
        lines = lines + np.concatenate(([0], np.cumsum(embedded)[:-1]))

    names = [str(n).strip() or f"Unnamed: {j}" for j, n in enumerate(frame.iloc[0])]
    dup = _first(pd.Index(names).duplicated())
    if dup is not None:
        raise DataError("duplicate column name in the header", file=file,
                        key=f"line {header_line}", value=names[dup])
    source_names = {n: n for n in names}
    if columns:
        unknown = [k for k in columns if k not in source_names]
        if unknown:
            raise DataError("column mapping names a column the file does not have", file=file,
                            key=f"line {header_line}", value=unknown[0])
        renamed = [columns.get(n, n) for n in names]
        dup = _first(pd.Index(renamed).duplicated())
        if dup is not None:
            raise DataError("two columns have the same name after applying the column mapping",
                            file=file, key=f"line {header_line}", value=renamed[dup])
        source_names = dict(zip(renamed, names))
        names = renamed

    missing = [c for c in required if c not in source_names]
    if len(missing) == len(required):
        raise DataError(f"none of the required columns found; is this a {what}? "
                        f"(expected {', '.join(required)})", file=file,
                        key=f"line {header_line}", value=first_line)
    if missing:
        raise DataError(f"missing required column(s): {', '.join(missing)}", file=file,
                        key=f"line {header_line}")

    data = frame.iloc[1:].set_axis(names, axis=1)
    data = data.apply(lambda s: s.str.strip())
    keep = data.ne("").any(axis=1).to_numpy()
    data = data.loc[keep].reset_index(drop=True)
    if data.empty:
        raise DataError("has a header but no data rows", file=file)
    return _Table(file=file, data=data, lines=lines[1:][keep], header_line=header_line,
                  source_names=source_names)


def _numbers(t: _Table, column: str, *, integer: bool, required: bool = True) -> np.ndarray:
    """Parse a numeric column as float64; reject non-numbers, NaN, inf, negatives, fractions.

    With ``required=False`` empty cells are allowed and become NaN.
    """
    raw = t.data[column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    blank = raw.eq("").to_numpy()
    bad = ~np.isfinite(values)
    if not required:
        bad &= ~blank
    i = _first(bad)
    if i is not None:
        text = raw.iat[i]
        if text == "":
            message = "empty cell; a number is required"
        elif _is_float_text(text):
            message = "must be a finite number"
        else:
            message = "not a number"
        raise t.error(message, i, column, text)
    i = _first(values < 0)
    if i is not None:
        raise t.error("must be >= 0", i, column, _number(values[i]))
    if integer:
        i = _first(np.isfinite(values) & (values != np.round(values)))
        if i is not None:
            raise t.error("must be a whole number (a count)", i, column, _number(values[i]))
        i = _first(values > _MAX_EXACT_COUNT)
        if i is not None:
            raise t.error("count is implausibly large", i, column, _number(values[i]))
    return values


def _require_text(t: _Table, column: str) -> pd.Series:
    """A text column with no blank cells."""
    values = t.data[column]
    i = _first(values.eq(""))
    if i is not None:
        raise t.error(f"{column} is blank", i, column, "")
    return values


def _reject_duplicates(t: _Table, keys: Sequence[str]) -> None:
    """Raise on the first row repeating an earlier row's ``keys``."""
    i = _first(t.data.duplicated(list(keys)))
    if i is None:
        return
    row = t.data.iloc[i]
    same = np.logical_and.reduce([t.data[k].eq(row[k]).to_numpy() for k in keys])
    first = int(t.lines[_first(same)])
    value = tuple(row[k] for k in keys) if len(keys) > 1 else row[keys[0]]
    shown = " and ".join(t.source_names.get(k, k) for k in keys)
    raise t.error(f"duplicate {shown}, first on line {first}", i, None, value)


def _extra_column(raw: pd.Series) -> pd.Series:
    """An extra (not required) column: numbers if every non-empty cell is one, else text.

    Empty cells become missing values, as :func:`pandas.read_csv` would make them.
    """
    blank = raw.eq("")
    numbers = pd.to_numeric(raw, errors="coerce")
    if (~blank).any() and (numbers.notna() | blank).all():
        return numbers
    return raw.mask(blank)


# --------------------------------------------------------------------------------------
# Rep-month history
# --------------------------------------------------------------------------------------


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
    t = _read_table(path, required=REP_MONTH_COLUMNS, columns=columns,
                    what="rep-month history CSV")
    data = t.data
    if "period" in data.columns:
        raise DataError("the column name 'period' is reserved; rename it with columns=",
                        file=t.file, key=f"line {t.header_line}",
                        value=t.source_names["period"])

    rep_id = _require_text(t, "rep_id")
    month = data["month"]
    i = _first(~month.str.fullmatch(MONTH_PATTERN).to_numpy(dtype=bool))
    if i is not None:
        raise t.error("month must be YYYY-MM, e.g. 2024-01", i, "month", month.iat[i])

    values = {c: _numbers(t, c, integer=c in _COUNT_COLUMNS) for c in REP_MONTH_COLUMNS[2:]}
    for part, whole in _BOUNDED_BY:
        i = _first(values[part] > values[whole])
        if i is not None:
            raise t.error(f"{part} exceeds {whole} ({_number(values[whole][i])})", i, part,
                          _number(values[part][i]))
    _reject_duplicates(t, ("rep_id", "month"))
    # the optional tenure column is used by the fit and the backtest: a number >= 0, or blank
    # (then derived from the rep's first month)
    tenure = (_numbers(t, "tenure_months", integer=False, required=False)
              if "tenure_months" in data.columns else None)

    out = pd.DataFrame({"month": month, "rep_id": rep_id})
    for c in REP_MONTH_COLUMNS[2:]:
        out[c] = values[c].astype(np.int64 if c in _COUNT_COLUMNS else np.float64)
    out["period"] = pd.to_datetime(month, format="%Y-%m").dt.to_period("M")
    for c in data.columns.difference(REP_MONTH_COLUMNS, sort=False):
        out[c] = tenure if c == "tenure_months" else _extra_column(data[c])
    out = out.sort_values(["month", "rep_id"], kind="stable", ignore_index=True)
    out.attrs["source"] = t.file
    return out


# --------------------------------------------------------------------------------------
# Opportunity-level CRM export
# --------------------------------------------------------------------------------------


def _dates(t: _Table, column: str) -> pd.Series:
    """Parse an ISO date column (``YYYY-MM-DD``); empty cells become NaT."""
    raw = t.data[column]
    blank = raw.eq("")
    parsed = pd.to_datetime(raw.mask(blank), format="ISO8601", errors="coerce")
    i = _first(parsed.isna() & ~blank)
    if i is not None:
        raise t.error("not a date; expected YYYY-MM-DD", i, column, raw.iat[i])
    return parsed.dt.normalize()


def _product_key(names: pd.Series) -> pd.Series:
    """Join key for products: case and spaces ignored, so ``GTX Pro`` matches ``GTXPro``."""
    return names.str.replace(r"\s+", "", regex=True).str.casefold()


def _read_teams(path: Path) -> pd.DataFrame:
    t = _read_table(path, required=_TEAM_COLUMNS, columns=None, what="sales_teams.csv")
    _require_text(t, "sales_agent")
    _reject_duplicates(t, ("sales_agent",))
    return pd.DataFrame({c: t.data[c] if c == "sales_agent" else _extra_column(t.data[c])
                         for c in t.data.columns})


def _read_products(path: Path) -> pd.DataFrame:
    t = _read_table(path, required=_PRODUCT_COLUMNS, columns=None, what="products.csv")
    products = _require_text(t, "product")
    price = _numbers(t, "sales_price", integer=False)
    key = _product_key(products)
    i = _first(key.duplicated())
    if i is not None:
        first = int(t.lines[_first(key.eq(key.iat[i]))])
        raise t.error(f"duplicate product (ignoring spaces and case), first on line {first}",
                      i, "product", products.iat[i])
    out = pd.DataFrame({"_product_key": key})
    for c in t.data.columns.drop("product"):
        out[c] = price if c == "sales_price" else _extra_column(t.data[c])
    return out


def load_opportunities(path: PathLike, *,
                       columns: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Read and validate an opportunity-level CRM export.

    Parameters
    ----------
    path : str or os.PathLike
        Either a directory holding ``sales_pipeline.csv`` or the pipeline CSV itself.
        ``sales_teams.csv`` and ``products.csv`` in the same directory are joined when
        present.
    columns : mapping of str to str, optional
        Renames the pipeline file's columns to ours, e.g. ``{"Stage": "deal_stage"}``.

    Returns
    -------
    pandas.DataFrame
        One row per opportunity, in file order: ``opportunity_id``, ``sales_agent``,
        ``product`` (text, spelled as in the pipeline), ``deal_stage`` (one of
        :data:`DEAL_STAGES`), ``engage_date`` and ``close_date`` (datetime64, NaT when
        absent), ``close_value`` (float64, NaN when absent), then the file's extra columns
        (e.g. ``account``, missing where blank). From ``sales_teams.csv``: ``manager``,
        ``regional_office`` (missing for agents not listed). From ``products.csv``:
        ``series``, ``sales_price`` (missing for unknown products).
        ``df.attrs["source"]`` is the pipeline file.

    Raises
    ------
    DataError
        Located like :func:`load_rep_month` (``file: line N, column C: ...``): missing
        required columns, blank ``opportunity_id``, ``sales_agent`` or ``product``, a
        repeated ``opportunity_id``, an unknown ``deal_stage``, an unparseable date, an
        Engaging / Won / Lost deal without ``engage_date``, a Won / Lost deal without
        ``close_date``, ``close_date`` before ``engage_date``, a non-numeric or negative
        ``close_value``, a Won deal without ``close_value``; and in the side files a blank
        or repeated agent or product, or a bad ``sales_price``.

    Notes
    -----
    Quirks of the public dataset handled here: products are joined ignoring spaces and
    case (``GTX Pro`` in products.csv is ``GTXPro`` in the pipeline); open deals
    (Prospecting / Engaging) may lack close date and value, and Prospecting deals the
    engage date; a blank account is a missing value; agents listed in sales_teams.csv
    without opportunities are simply absent. A close date or value on an open deal is kept
    but never counted as a close.

    Examples
    --------
    >>> from okma_sim.io import load_opportunities
    >>> opps = load_opportunities("data/crm_sales_opportunities")
    >>> len(opps)
    8800
    >>> opps.loc[opps["product"] == "GTXPro", "sales_price"].iat[0]
    np.float64(4821.0)
    """
    p = Path(path)
    if p.is_dir():
        pipeline = p / "sales_pipeline.csv"
        if not pipeline.is_file():
            raise DataError("directory has no sales_pipeline.csv", file=os.fspath(path))
    else:
        pipeline = p
    t = _read_table(pipeline, required=OPPORTUNITY_COLUMNS, columns=columns,
                    what="opportunity export (sales_pipeline.csv)")
    data = t.data

    text = {c: _require_text(t, c) for c in ("opportunity_id", "sales_agent", "product")}
    _reject_duplicates(t, ("opportunity_id",))

    raw_stage = data["deal_stage"]
    stage = raw_stage.str.casefold().map({s.casefold(): s for s in DEAL_STAGES})
    i = _first(stage.isna())
    if i is not None:
        raise t.error(f"unknown deal_stage; expected one of {', '.join(DEAL_STAGES)}", i,
                      "deal_stage", raw_stage.iat[i])
    stage = stage.astype("str")

    engage = _dates(t, "engage_date")
    close = _dates(t, "close_date")
    i = _first(stage.ne("Prospecting") & engage.isna())
    if i is not None:
        raise t.error(f"a {stage.iat[i]} deal needs an engage_date", i, "engage_date", "")
    is_closed = stage.isin(_CLOSED_STAGES)
    i = _first(is_closed & close.isna())
    if i is not None:
        raise t.error(f"a {stage.iat[i]} deal needs a close_date", i, "close_date", "")
    i = _first(close < engage)
    if i is not None:
        raise t.error(f"close_date is before engage_date ({engage.iat[i]:%Y-%m-%d})", i,
                      "close_date", data["close_date"].iat[i])
    value = _numbers(t, "close_value", integer=False, required=False)
    i = _first(stage.eq("Won").to_numpy() & np.isnan(value))
    if i is not None:
        raise t.error("a Won deal needs a close_value", i, "close_value", "")

    out = pd.DataFrame({**text, "deal_stage": stage, "engage_date": engage,
                        "close_date": close, "close_value": value})
    out = out[list(OPPORTUNITY_COLUMNS)]
    for c in data.columns.difference(OPPORTUNITY_COLUMNS, sort=False):
        out[c] = _extra_column(data[c])

    teams_file = pipeline.parent / "sales_teams.csv"
    if teams_file.is_file():
        teams = _read_teams(teams_file)
        teams = teams[["sales_agent", *teams.columns.difference(out.columns, sort=False)]]
        out = out.merge(teams, on="sales_agent", how="left", validate="many_to_one")
    products_file = pipeline.parent / "products.csv"
    if products_file.is_file():
        products = _read_products(products_file)
        products = products[["_product_key",
                             *products.columns.difference([*out.columns, "_product_key"],
                                                          sort=False)]]
        out = (out.assign(_product_key=_product_key(out["product"]))
               .merge(products, on="_product_key", how="left", validate="many_to_one")
               .drop(columns="_product_key"))
    out.attrs["source"] = os.fspath(pipeline)
    return out


# --------------------------------------------------------------------------------------
# Panels and summaries
# --------------------------------------------------------------------------------------

_PANEL_NEEDS: tuple[str, ...] = ("deal_stage", "engage_date", "close_date", "close_value")
_PANEL_COUNTS: tuple[str, ...] = ("engaged", "won", "lost", "closed")


def _check_frame(opps: pd.DataFrame, needed: Sequence[str]) -> None:
    missing = [c for c in needed if c not in opps.columns]
    if missing:
        hint = (" (load the export with sales_teams.csv next to sales_pipeline.csv)"
                if set(missing) & {"manager", "regional_office"} else "")
        raise DataError(f"opportunities lack column(s) {', '.join(missing)}{hint}",
                        file=opps.attrs.get("source"))


def _panel(opps: pd.DataFrame, keys: pd.Series) -> pd.DataFrame:
    """Per-(key, month) counts with zero-filled months inside each key's active span."""
    stage = opps["deal_stage"].to_numpy(dtype=object)
    won = stage == "Won"
    lost = stage == "Lost"
    has_engage = opps["engage_date"].notna().to_numpy()
    closed = (won | lost) & opps["close_date"].notna().to_numpy()
    value = opps["close_value"].to_numpy(dtype=np.float64, na_value=np.nan)
    keys = keys.to_numpy(dtype=object)
    n_e, n_c = int(has_engage.sum()), int(closed.sum())

    events = pd.DataFrame({
        "key": np.concatenate([keys[has_engage], keys[closed]]),
        "ord": np.concatenate([month_ordinal(opps["engage_date"][has_engage]),
                               month_ordinal(opps["close_date"][closed])]),
        "engaged": np.concatenate([np.ones(n_e, np.int64), np.zeros(n_c, np.int64)]),
        "won": np.concatenate([np.zeros(n_e, np.int64), won[closed].astype(np.int64)]),
        "lost": np.concatenate([np.zeros(n_e, np.int64), lost[closed].astype(np.int64)]),
        "revenue": np.concatenate([np.zeros(n_e), np.where(won, value, 0.0)[closed]]),
    })
    counts = events.groupby(["key", "ord"], sort=True).sum()

    # Every month from each key's first to its last active month.
    span = events.groupby("key", sort=True)["ord"].agg(["min", "max"])
    length = (span["max"] - span["min"] + 1).to_numpy(dtype=np.int64)
    within = np.arange(length.sum()) - np.repeat(np.cumsum(length) - length, length)
    full = pd.MultiIndex.from_arrays(
        [np.repeat(span.index.to_numpy(dtype=object), length),
         np.repeat(span["min"].to_numpy(dtype=np.int64), length) + within],
        names=["key", "ord"])
    counts = counts.reindex(full, fill_value=0)

    period = pd.PeriodIndex.from_ordinals(full.get_level_values("ord").to_numpy(np.int64),
                                          freq="M")
    out = pd.DataFrame({
        "month": pd.array(period.strftime("%Y-%m"), dtype="str"),
        "period": period,
        "rep_id": pd.array(full.get_level_values("key").astype(str), dtype="str"),
        "engaged": counts["engaged"].to_numpy(np.int64),
        "won": counts["won"].to_numpy(np.int64),
        "lost": counts["lost"].to_numpy(np.int64),
        "closed": (counts["won"] + counts["lost"]).to_numpy(np.int64),
        "revenue": counts["revenue"].to_numpy(np.float64),
    })
    return out.sort_values(["month", "rep_id"], kind="stable", ignore_index=True)


def opportunities_to_panel(opps: pd.DataFrame, *, by: str = "sales_agent") -> pd.DataFrame:
    """Aggregate opportunities into a per-(group, month) panel.

    Parameters
    ----------
    opps : pandas.DataFrame
        As returned by :func:`load_opportunities` (a row subset is fine).
    by : str, default "sales_agent"
        The grouping column: ``"sales_agent"``, ``"manager"`` or ``"regional_office"``
        (the last two need ``sales_teams.csv``); any other column of ``opps`` also works.

    Returns
    -------
    pandas.DataFrame
        Sorted by ``(month, rep_id)``, columns:

        - ``month``: ``'YYYY-MM'`` text; ``period``: the same as ``Period[M]``;
        - ``rep_id``: the group (agent, manager or office name);
        - ``engaged``: opportunities with an ``engage_date`` in that month, a proxy for
          prospect visits;
        - ``won``, ``lost``: deals closed in that month (by ``close_date``);
        - ``closed``: ``won + lost``;
        - ``revenue``: sum of Won ``close_value`` by close month.

        Counts are ``int64``, revenue ``float64``. Each group covers every month from its
        first to its last activity (engagement or close); quiet months inside that span
        are rows of zeros. A win rate is ``won.sum() / closed.sum()`` over any rows.

    Raises
    ------
    DataError
        If ``by`` or a needed column is absent, or some opportunity has no ``by`` value
        (e.g. an agent missing from ``sales_teams.csv`` when ``by="manager"``).

    Examples
    --------
    >>> from okma_sim.io import load_opportunities, opportunities_to_panel
    >>> opps = load_opportunities("data/crm_sales_opportunities")
    >>> panel = opportunities_to_panel(opps, by="regional_office")
    >>> list(panel.columns)
    ['month', 'period', 'rep_id', 'engaged', 'won', 'lost', 'closed', 'revenue']
    >>> int(panel["won"].sum()) == int((opps["deal_stage"] == "Won").sum())
    True
    """
    _check_frame(opps, (*_PANEL_NEEDS, by))
    keys = opps[by]
    i = _first(keys.isna())
    if i is not None:
        raise DataError(f"{int(keys.isna().sum())} opportunities have no {by}",
                        file=opps.attrs.get("source"), key=f"column {by}",
                        value=str(opps["sales_agent"].iat[i]) if "sales_agent" in opps
                        else None)
    return _panel(opps, keys.astype(str))


def opportunity_summary(opps: pd.DataFrame) -> dict[str, Any]:
    """Calibration figures from an opportunity export.

    Parameters
    ----------
    opps : pandas.DataFrame
        As returned by :func:`load_opportunities`.

    Returns
    -------
    dict
        - ``n_opportunities``: int.
        - ``win_rate``: dict ``rate`` = won / (won + lost), its binomial ``stderr``, and the
          counts ``won``, ``lost``, ``closed``, ``open``.
        - ``deal_value``: DataFrame indexed by ``product`` with ``n``, ``mean``, ``sd``
          (ddof=1) of Won ``close_value``, plus ``sales_price`` when products.csv was
          joined.
        - ``cycle_days``: dict ``n``, ``mean``, ``median`` of close minus engage date in
          days, over closed (Won or Lost) deals.
        - ``rep_spread``: dict ``cv`` (sd / mean across agents of mean monthly Won revenue),
          ``mean``, ``sd``, ``n_agents`` and ``months``, the number of calendar months from
          the first to the last close, over which every agent's monthly mean is taken.
        - ``monthly``: DataFrame with one row per month over the whole activity span:
          ``month``, ``period``, ``engaged``, ``won``, ``lost``, ``closed``, ``revenue``
          (as in :func:`opportunities_to_panel`, summed over all agents).

    Examples
    --------
    >>> from okma_sim.io import load_opportunities, opportunity_summary
    >>> s = opportunity_summary(load_opportunities("data/crm_sales_opportunities"))
    >>> s["win_rate"]["won"], s["win_rate"]["lost"]
    (4238, 2473)
    >>> s["monthly"]["month"].iat[-1]
    '2017-12'
    """
    _check_frame(opps, ("sales_agent", "product", *_PANEL_NEEDS))
    stage = opps["deal_stage"]
    is_won = stage.eq("Won")
    n_won, n_lost = int(is_won.sum()), int(stage.eq("Lost").sum())
    n_closed = n_won + n_lost
    rate = n_won / n_closed if n_closed else float("nan")
    win_rate = {"rate": rate,
                "stderr": float(np.sqrt(rate * (1 - rate) / n_closed)) if n_closed else rate,
                "won": n_won, "lost": n_lost, "closed": n_closed,
                "open": int(len(opps) - n_closed)}

    wins = opps.loc[is_won]
    deal_value = wins.groupby("product", sort=True)["close_value"].agg(
        n="count", mean="mean", sd="std")
    if "sales_price" in opps:
        deal_value["sales_price"] = wins.groupby("product", sort=True)["sales_price"].first()

    closed = opps.loc[stage.isin(_CLOSED_STAGES)]
    days = (closed["close_date"] - closed["engage_date"]).dt.days.dropna()
    cycle = {"n": int(days.size),
             "mean": float(days.mean()) if days.size else float("nan"),
             "median": float(days.median()) if days.size else float("nan")}

    close_ord = month_ordinal(closed["close_date"].dropna())
    n_months = int(close_ord.max() - close_ord.min() + 1) if close_ord.size else 0
    per_agent = (wins.groupby("sales_agent")["close_value"].sum()
                 .reindex(opps["sales_agent"].unique(), fill_value=0.0))
    monthly_mean = per_agent / n_months if n_months else per_agent * np.nan
    mean, sd = float(monthly_mean.mean()), float(monthly_mean.std())
    spread = {"cv": sd / mean if mean else float("nan"), "mean": mean, "sd": sd,
              "n_agents": int(per_agent.size), "months": n_months}

    monthly = _panel(opps, pd.Series("all", index=opps.index)).drop(columns="rep_id")
    return {"n_opportunities": int(len(opps)), "win_rate": win_rate, "deal_value": deal_value,
            "cycle_days": cycle, "rep_spread": spread, "monthly": monthly}
