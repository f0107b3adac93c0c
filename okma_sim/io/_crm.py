"""CRM opportunity exports: the opportunity-level pipeline (``sales_pipeline.csv`` plus optional
``sales_teams.csv`` and ``products.csv``), validated, and what calibration takes from it.

load_opportunities
    The export, one row per opportunity, side files joined.
opportunities_to_panel
    Opportunities as a per-(group, month) panel: engaged, won, lost, closed, revenue.
opportunity_summary
    Win rate, deal value per product, cycle time, rep-to-rep spread, monthly revenue and wins.

Errors are located like every loader's here (see :mod:`._tables`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from okma_sim._core.calendar import month_ordinal
from okma_sim._core.errors import DataError

from ._tables import (PathLike, _extra_column, _first, _numbers, _read_table,
                      _reject_duplicates, _require_text, _Table)

__all__ = ["OPPORTUNITY_COLUMNS", "DEAL_STAGES", "load_opportunities", "opportunities_to_panel",
           "opportunity_summary"]

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


# --------------------------------------------------------------------------------------
# Cell parsers and the side files
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
    pipeline = _pipeline_file(path)
    t = _read_table(pipeline, required=OPPORTUNITY_COLUMNS, columns=columns,
                    what="opportunity export (sales_pipeline.csv)")
    text = {c: _require_text(t, c) for c in ("opportunity_id", "sales_agent", "product")}
    _reject_duplicates(t, ("opportunity_id",))
    stage = _deal_stages(t)
    engage, close = _deal_dates(t, stage)
    value = _close_values(t, stage)

    out = pd.DataFrame({**text, "deal_stage": stage, "engage_date": engage,
                        "close_date": close, "close_value": value})
    out = out[list(OPPORTUNITY_COLUMNS)]
    for c in t.data.columns.difference(OPPORTUNITY_COLUMNS, sort=False):
        out[c] = _extra_column(t.data[c])
    out = _join_side_files(out, pipeline.parent)
    out.attrs["source"] = os.fspath(pipeline)
    return out


def _pipeline_file(path: PathLike) -> Path:
    """The pipeline CSV: ``path`` itself, or ``sales_pipeline.csv`` in a directory."""
    p = Path(path)
    if not p.is_dir():
        return p
    pipeline = p / "sales_pipeline.csv"
    if not pipeline.is_file():
        raise DataError("directory has no sales_pipeline.csv", file=os.fspath(path))
    return pipeline


def _deal_stages(t: _Table) -> pd.Series:
    """``deal_stage`` spelled as in :data:`DEAL_STAGES` (matched case-insensitively)."""
    raw_stage = t.data["deal_stage"]
    stage = raw_stage.str.casefold().map({s.casefold(): s for s in DEAL_STAGES})
    i = _first(stage.isna())
    if i is not None:
        raise t.error(f"unknown deal_stage; expected one of {', '.join(DEAL_STAGES)}", i,
                      "deal_stage", raw_stage.iat[i])
    return stage.astype("str")


def _deal_dates(t: _Table, stage: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Engage and close dates: engaged unless Prospecting, closed if Won or Lost, in order."""
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
                      "close_date", t.data["close_date"].iat[i])
    return engage, close


def _close_values(t: _Table, stage: pd.Series) -> np.ndarray:
    """``close_value`` as float64, NaN where blank; a Won deal needs one."""
    value = _numbers(t, "close_value", integer=False, required=False)
    i = _first(stage.eq("Won").to_numpy() & np.isnan(value))
    if i is not None:
        raise t.error("a Won deal needs a close_value", i, "close_value", "")
    return value


def _join_side_files(out: pd.DataFrame, folder: Path) -> pd.DataFrame:
    """Join ``sales_teams.csv`` (by agent) and ``products.csv`` (by product) when present.

    Columns the opportunities already have are not taken from the side files.
    """
    teams_file = folder / "sales_teams.csv"
    if teams_file.is_file():
        teams = _read_teams(teams_file)
        teams = teams[["sales_agent", *teams.columns.difference(out.columns, sort=False)]]
        out = out.merge(teams, on="sales_agent", how="left", validate="many_to_one")
    products_file = folder / "products.csv"
    if products_file.is_file():
        products = _read_products(products_file)
        products = products[["_product_key",
                             *products.columns.difference([*out.columns, "_product_key"],
                                                          sort=False)]]
        out = (out.assign(_product_key=_product_key(out["product"]))
               .merge(products, on="_product_key", how="left", validate="many_to_one")
               .drop(columns="_product_key"))
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
    wins = opps.loc[is_won]
    closed = opps.loc[stage.isin(_CLOSED_STAGES)]
    win_rate = _win_rate(stage, len(opps))
    deal_value = _deal_value(opps, wins)
    cycle = _cycle_days(closed)
    spread = _rep_spread(opps, wins, closed)
    monthly = _panel(opps, pd.Series("all", index=opps.index)).drop(columns="rep_id")
    return {"n_opportunities": int(len(opps)), "win_rate": win_rate, "deal_value": deal_value,
            "cycle_days": cycle, "rep_spread": spread, "monthly": monthly}


def _win_rate(stage: pd.Series, n: int) -> dict[str, Any]:
    """won / (won + lost), its binomial standard error, and the counts."""
    n_won, n_lost = int(stage.eq("Won").sum()), int(stage.eq("Lost").sum())
    n_closed = n_won + n_lost
    rate = n_won / n_closed if n_closed else float("nan")
    return {"rate": rate,
            "stderr": float(np.sqrt(rate * (1 - rate) / n_closed)) if n_closed else rate,
            "won": n_won, "lost": n_lost, "closed": n_closed, "open": int(n - n_closed)}


def _deal_value(opps: pd.DataFrame, wins: pd.DataFrame) -> pd.DataFrame:
    """n, mean and sd of Won close values per product (with its list price when known)."""
    deal_value = wins.groupby("product", sort=True)["close_value"].agg(
        n="count", mean="mean", sd="std")
    if "sales_price" in opps:
        deal_value["sales_price"] = wins.groupby("product", sort=True)["sales_price"].first()
    return deal_value


def _cycle_days(closed: pd.DataFrame) -> dict[str, Any]:
    """Days from engage to close over closed deals."""
    days = (closed["close_date"] - closed["engage_date"]).dt.days.dropna()
    return {"n": int(days.size),
            "mean": float(days.mean()) if days.size else float("nan"),
            "median": float(days.median()) if days.size else float("nan")}


def _rep_spread(opps: pd.DataFrame, wins: pd.DataFrame, closed: pd.DataFrame) -> dict[str, Any]:
    """Spread across agents of mean monthly Won revenue over the span of closes."""
    close_ord = month_ordinal(closed["close_date"].dropna())
    n_months = int(close_ord.max() - close_ord.min() + 1) if close_ord.size else 0
    per_agent = (wins.groupby("sales_agent")["close_value"].sum()
                 .reindex(opps["sales_agent"].unique(), fill_value=0.0))
    monthly_mean = per_agent / n_months if n_months else per_agent * np.nan
    mean, sd = float(monthly_mean.mean()), float(monthly_mean.std())
    return {"cv": sd / mean if mean else float("nan"), "mean": mean, "sd": sd,
            "n_agents": int(per_agent.size), "months": n_months}
