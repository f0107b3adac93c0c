"""Simulated rep-month histories (generators, recovery tests)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from okma_sim.io import REP_MONTH_COLUMNS

__all__ = ["history_from_simulation"]

_HISTORY_INT = ("prospect_visits", "customer_visits", "new_customers", "active_customers",
                "revisited_customers", "churned_customers", "csat_responses", "csat_satisfied")


def history_from_simulation(result: Any, *, rep_prefix: str = "R") -> pd.DataFrame:
    """Rep-month history rows (the CSV schema) from a simulation run with ``record_reps=True``.

    One row per rep per month worked (``filled == 1``). A seat's occupant changes when it is
    filled again after a vacancy, so each new hire gets a new ``rep_id`` (numbered per path in
    order of first appearance). A refill with no vacant month (a hiring delay of 0) cannot be
    told apart from the previous occupant: generate histories with a delay of at least 1.

    Parameters
    ----------
    result : SimulationResult
        From ``okma_sim.simulate(plan, ..., record_reps=True)``.
    rep_prefix : str
        Prefix of the rep ids (``R01``, ``R02``, ...).

    Returns
    -------
    DataFrame
        ``path`` then the rep-month columns (``month, rep_id, prospect_visits, ...``), sorted
        by path, month and rep.

    Examples
    --------
    >>> import okma_sim
    >>> from okma_sim.inference import history_from_simulation
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> res = okma_sim.simulate(plan, n_paths=2, seed=1, record_reps=True)
    >>> h = history_from_simulation(res)
    >>> int(h.groupby("path")["month"].nunique().min())
    12
    """
    pr = result.per_rep
    if pr is None:
        raise ValueError("the result has no per-rep history; simulate with record_reps=True")
    df = _occupants(np.asarray(pr["filled"]) > 0.5)
    months = np.asarray(result.months if result.months else result.plan.months())
    width = max(2, len(str(int(df["num"].max()) if len(df) else 1)))
    out = pd.DataFrame({"path": df["path"].to_numpy(),
                        "month": months[df["m"].to_numpy()],
                        "rep_id": [f"{rep_prefix}{n:0{width}d}" for n in df["num"]]})
    idx = (df["path"].to_numpy(), df["seat"].to_numpy(), df["m"].to_numpy())
    for c in REP_MONTH_COLUMNS[2:]:
        v = np.asarray(pr[c])[idx]
        if c in _HISTORY_INT:
            out[c] = np.rint(v).astype(np.int64)
        else:
            out[c] = np.round(v, 2)
    return out.sort_values(["path", "month", "rep_id"], kind="stable", ignore_index=True)


def _occupants(filled: np.ndarray) -> pd.DataFrame:
    """One row per filled (path, seat, month) ``m``, with ``num``: the occupant's number
    within the path (a seat filled again after a vacancy has a new occupant), in order of
    first appearance."""
    P, S, M = filled.shape
    prev = np.concatenate([np.zeros((P, S, 1), bool), filled[:, :, :-1]], axis=2)
    starts = filled & ~prev
    occ = np.cumsum(starts, axis=2) - 1
    p_i, s_i, m_i = np.nonzero(filled)
    df = pd.DataFrame({"path": p_i, "seat": s_i, "m": m_i, "occ": occ[p_i, s_i, m_i]})
    first = df.groupby(["path", "seat", "occ"])["m"].transform("min")
    df["first"] = first
    keys = df[["path", "first", "seat", "occ"]].drop_duplicates().sort_values(
        ["path", "first", "seat"], kind="stable")
    keys["num"] = keys.groupby("path").cumcount() + 1
    return df.merge(keys[["path", "seat", "occ", "num"]], on=["path", "seat", "occ"],
                    how="left")
