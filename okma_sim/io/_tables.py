"""Reading a CSV into validated-ready text cells, and the cell checks both loaders share.

Every loader validates strictly and raises :class:`okma_sim._core.errors.DataError` on the first
problem it finds. The error's ``str()`` is one line::

    history.csv: line 15, column new_customers: must be a whole number (a count) (got 2.5)

Row convention
--------------
``line N`` is the physical line of the file as a text editor numbers it: the header is on
line 1 (or later, if the file starts with blank lines), so the first data row is usually
line 2. Blank lines count, and so does every line of a quoted cell that spans several lines.
Columns are named as they are spelled in the file, before any ``columns=`` renaming.
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

from okma_sim._core.errors import DataError
from okma_sim._core.numbers import MIN_MAGNITUDE
from okma_sim._core.reading import read_input

PathLike = str | os.PathLike[str]

# larger floats are no longer exact integers (numbers in error messages)
_MAX_PLAUSIBLE = 2.0**53
# the largest cell: a rep-month amount of 1e12 in any currency, summed over a team and a year,
# stays within the size a scenario may hold (MAX_MAGNITUDE), so a fitted scenario is valid
MAX_CELL = 1e12


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
    return int(value) if value.is_integer() and abs(value) <= _MAX_PLAUSIBLE else value


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
    text = _read_text(Path(path), file, what)
    body, offset, n_fields = _find_header(text, file, required)
    header_line = offset + 1
    frame, lines = _read_cells(body, offset, n_fields, file)
    names, source_names = _column_names(frame, columns, file, header_line)
    _check_required(source_names, required, what, file, header_line, body.splitlines()[0])

    data = frame.iloc[1:].set_axis(names, axis=1)
    data = data.apply(lambda s: s.str.strip())
    keep = data.ne("").any(axis=1).to_numpy()
    data = data.loc[keep].reset_index(drop=True)
    if data.empty:
        raise DataError("has a header but no data rows", file=file, key=f"line {header_line}")
    return _Table(file=file, data=data, lines=lines[1:][keep], header_line=header_line,
                  source_names=source_names)


def _read_text(p: Path, file: str, what: str) -> str:
    """The file's text: a regular file (not a pipe or device) of at most 1 GiB, non-empty and
    UTF-8 (a BOM is dropped)."""
    raw = read_input(p, what, error=DataError)
    if not raw.strip():
        raise DataError("file is empty", file=file)
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in raw:
        nul = raw.find(b"\x00")
        line = raw.count(b"\n", 0, nul) + 1 if nul >= 0 else 1
        raise DataError("not a CSV text file (binary content or UTF-16 text); "
                        "save it as a UTF-8 CSV", file=file, key=f"line {line}")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DataError("not UTF-8 text; save the file as a UTF-8 CSV", file=file,
                        key=f"line {line}", value=raw[exc.start:exc.start + 1]) from None


def _find_header(text: str, file: str, required: Sequence[str]) -> tuple[str, int, int]:
    """The text from the header on, the number of blank lines before it, and its field count.

    A header with a single field is a file separated by something else than commas (or not a
    CSV at all) when more than one column is required.
    """
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
    return body, offset, len(header)


def _read_cells(body: str, offset: int, n_fields: int,
                file: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Every record as text cells (the header is row 0), and the physical line of each."""
    try:
        frame = pd.read_csv(io.StringIO(body), header=None, dtype=str, na_filter=False,
                            skip_blank_lines=False)
    except pd.errors.ParserError as exc:
        raise _locate_parse_error(file, body, offset, n_fields, exc) from None

    # Physical lines: one per record, plus the newlines embedded in quoted cells.
    n_records = len(frame)
    lines = offset + 1 + np.arange(n_records)
    if '"' in body:
        embedded = sum(frame[c].str.count("\n").to_numpy(dtype=np.int64) for c in frame)
        lines = lines + np.concatenate(([0], np.cumsum(embedded)[:-1]))
    return frame, lines


def _column_names(frame: pd.DataFrame, columns: Mapping[str, str] | None, file: str,
                  header_line: int) -> tuple[list[str], dict[str, str]]:
    """Our column names, after the ``columns`` mapping, and our name -> name in the file."""
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
    return names, source_names


def _check_required(source_names: Mapping[str, str], required: Sequence[str], what: str,
                    file: str, header_line: int, first_line: str) -> None:
    """Every required column is present; none at all suggests the wrong kind of file."""
    missing = [c for c in required if c not in source_names]
    if len(missing) == len(required):
        raise DataError(f"none of the required columns found; is this a {what}? "
                        f"(expected {', '.join(required)})", file=file,
                        key=f"line {header_line}", value=first_line)
    if missing:
        raise DataError(f"missing required column(s): {', '.join(missing)}", file=file,
                        key=f"line {header_line}")


# --------------------------------------------------------------------------------------
# Cell checks shared by the loaders
# --------------------------------------------------------------------------------------


def _numbers(t: _Table, column: str, *, integer: bool, required: bool = True) -> np.ndarray:
    """Parse a numeric column as float64; reject non-numbers, NaN, inf, negatives, fractions
    (in counts), values over :data:`MAX_CELL` and nonzero ones under 1e-12.

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
    i = _first(values > MAX_CELL)
    if i is not None:
        raise t.error(f"{'count' if integer else 'value'} is implausibly large (over "
                      f"{MAX_CELL:g})", i, column, _number(values[i]))
    i = _first((values > 0) & (values < MIN_MAGNITUDE))
    if i is not None:
        raise t.error(f"must be 0 or at least {MIN_MAGNITUDE:g} (a smaller number means "
                      "nothing here)", i, column, raw.iat[i])
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
