"""Features the fits need: per-row features of a rep-month history (tenure, training stock,
revisit rate, quarter ends, departures) and the selling effort of an opportunity panel."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from okma_sim._core.calendar import calendar_month, month_number, month_numbers
from okma_sim.models import REFERENCE_TRAINING_HOURS

__all__ = ["rep_month_features", "crm_effort"]


def rep_month_features(hist: pd.DataFrame, *, retention: float, ramp_full: float,
                       start_tenure: float, history_start: str | None = None) -> pd.DataFrame:
    """Per-row features the fit needs, added to a copy of a validated rep-month history.

    Parameters
    ----------
    hist : DataFrame
        From :func:`okma_sim.io.load_rep_month` (any row subset).
    retention : float
        Training retention used to rebuild each rep's training stock from the recorded hours
        (the stock starts at 0 in a rep's first month, as in the model).
    ramp_full : float
        Months after which every rep is fully ramped (the ramp prior's upper end).
    start_tenure : float
        Tenure assumed for reps already present in the first month of the history (their start
        is not observed), unless a ``tenure_months`` column gives it.
    history_start : str, optional
        The first month of the whole history (default: the first month of ``hist``).

    Returns
    -------
    DataFrame
        ``hist`` sorted by rep and month, plus ``ym`` (month number: the ``Period[M]``
        ordinal), ``k`` (the rep's row number), ``new_rep`` (joined after the history start),
        ``tenure``, ``ramped``, ``stock`` (training stock at the start of the month), ``g``
        (its saturating uplift feature), ``rr`` (revisit rate), ``keep`` (active - churned),
        ``qe`` (quarter-end), ``departed`` (the rep's last month before the end of ``hist``).

    Examples
    --------
    >>> import okma_sim
    >>> from okma_sim.inference import load_history, rep_month_features
    >>> h = load_history(okma_sim.data_path("sales_history.csv"))
    >>> f = rep_month_features(h, retention=0.7, ramp_full=8, start_tenure=24)
    >>> bool((f["stock"] >= 0).all())
    True
    """
    df = hist.copy()
    df["ym"] = month_numbers(df)
    df = df.sort_values(["rep_id", "ym"], kind="stable", ignore_index=True)
    first = month_number(history_start) if history_start else int(df["ym"].min())
    last = int(df["ym"].max())
    grp = df.groupby("rep_id", sort=False)
    df["k"] = grp.cumcount()
    df["new_rep"] = grp["ym"].transform("min") > first
    df["tenure"] = _tenure(df, start_tenure)
    df["ramped"] = df["tenure"] + 1.0 >= ramp_full
    stock = _training_stock(df, retention)
    df["stock"] = stock
    df["g"] = (1.0 - np.exp(-stock)) / (1.0 - math.exp(-1.0))
    A = df["active_customers"].to_numpy(float)
    df["rr"] = np.divide(df["revisited_customers"].to_numpy(float), A,
                         out=np.zeros(len(df)), where=A > 0)
    df["keep"] = A - df["churned_customers"].to_numpy(float)
    df["qe"] = quarter_end(df["ym"].to_numpy())
    lastrow = grp["ym"].transform("max")
    df["departed"] = (df["ym"] == lastrow) & (lastrow < last)
    return df


def _tenure(df: pd.DataFrame, start_tenure: float) -> pd.Series | np.ndarray:
    """Tenure in each row's month: the file's ``tenure_months`` where given, else counted from
    the rep's first row (``start_tenure`` more for reps present from the history's start)."""
    if "tenure_months" in df.columns and pd.api.types.is_numeric_dtype(df["tenure_months"]):
        ten = df["tenure_months"].astype(float)
        return ten.where(ten.notna(), np.where(df["new_rep"], df["k"], df["k"] + start_tenure))
    return np.where(df["new_rep"], df["k"], df["k"] + start_tenure).astype(float)


def _training_stock(df: pd.DataFrame, retention: float) -> np.ndarray:
    """Training stock at the start of each row's month: ``s_{k+1} = r s_k + (1 - r) h_k / 8``
    from 0 in the rep's first row (rows sorted by rep and month)."""
    th = df["training_hours"].to_numpy(float) / REFERENCE_TRAINING_HOURS
    k = df["k"].to_numpy()
    stock = np.zeros(len(df))
    for step in range(1, int(k.max()) + 1 if len(df) else 0):
        idx = np.flatnonzero(k == step)
        stock[idx] = retention * stock[idx - 1] + (1 - retention) * th[idx - 1]
    return stock


def quarter_end(yms: np.ndarray) -> np.ndarray:
    """Whether each month number is the last month of a calendar quarter."""
    return calendar_month(yms) % 3 == 0


def complete_quarters(yms: np.ndarray) -> int:
    """How many calendar quarters the month numbers ``yms`` cover completely."""
    s = set(int(v) for v in yms)
    q = {v // 3 for v in s}
    return sum(all(3 * qq + i in s for i in range(3)) for qq in q)


def crm_effort(panel: pd.DataFrame, window: int = 3) -> pd.Series:
    """Selling effort of an opportunity panel by month: opportunities engaged per active
    group (agent) per month, averaged over the trailing ``window`` months (wins lag
    engagements by the sales cycle, about 1.5 months in the bundled export).

    Parameters
    ----------
    panel : DataFrame
        From :func:`okma_sim.io.opportunities_to_panel`.

    Returns
    -------
    Series
        Indexed by month number (the ``Period[M]`` ordinal of the panel's ``period``).

    Examples
    --------
    >>> import okma_sim
    >>> from okma_sim.inference import crm_effort
    >>> from okma_sim.io import load_opportunities, opportunities_to_panel
    >>> p = opportunities_to_panel(load_opportunities(okma_sim.data_path(
    ...     "crm_sales_opportunities")))
    >>> bool((crm_effort(p) > 0).all())
    True
    """
    ym = month_numbers(panel)
    g = pd.DataFrame({"ym": ym, "engaged": panel["engaged"].to_numpy(float)}).groupby("ym")
    per = g["engaged"].sum() / g.size()
    per = per.reindex(np.arange(per.index.min(), per.index.max() + 1), fill_value=0.0)
    return per.rolling(window, min_periods=1).mean()
