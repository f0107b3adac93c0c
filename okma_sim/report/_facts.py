"""The report's numbers, as tables: one row per objective and KR, per rep, per month and
metric, and per model parameter. The HTML and the workbook both read these, so the two show
the same figures. Values stay numbers (fractions, currency amounts); ``unit`` says how to
show them."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from okma_sim.analysis import cost_metrics
from okma_sim.engine import resolve_parameters
from okma_sim.models import get_model
from okma_sim.params import describe, ppf
from okma_sim.plan import KeyResult
from okma_sim.results import target_label
from okma_sim.viz import metric_label

from ._text import baseline_revenue, unit_of

__all__ = ["target_rows", "per_rep_rows", "band_rows", "assumption_rows", "has_reps",
           "report_options", "unpriced_hours"]


def target_rows(result: Any) -> pd.DataFrame:
    """One row per objective and KR: its statement, target, P(met) with its SE and the
    p05/p50/p95 of its value; for revenue growth also the revenue amounts (``*_amount``).

    Examples
    --------
    >>> import okma_sim
    >>> res = okma_sim.simulate(okma_sim.load_plan(okma_sim.case_study_path()), 400, seed=2)
    >>> df = target_rows(res)
    >>> e = res.probability("revenue")
    >>> df.loc[0, "statement"], float(df.loc[0, "probability"]) == e.probability
    ('+30% revenue (36.15 M CNY)', True)
    """
    plan = result.plan
    base = baseline_revenue(result)
    rows = []
    for t in plan.targets:
        e = result.probability(t.id)
        q = result.quantiles(t.id)
        row = {"id": t.id, "kind": "key result" if isinstance(t, KeyResult) else "objective",
               "statement": target_label(t, plan), "plan_text": t.statement or "",
               "metric": t.metric, "aggregate": t.aggregate,
               "unit": "percent" if t.aggregate == "share_of_months" else unit_of(t.metric),
               "comparison": t.comparison, "target": t.target,
               "probability": e.probability, "stderr": e.stderr, **q}
        if t.metric == "revenue_growth" and base is not None:
            row.update({f"{k}_amount": base * (1 + v) for k, v in
                        (("target", t.target), *q.items())})
        rows.append(row)
    return pd.DataFrame(rows)


def has_reps(plan: Any) -> bool:
    """Whether the plan's model keeps a per-rep history (``simulate(..., record_reps=True)``),
    which the per-rep outlook reads.

    Examples
    --------
    >>> import okma_sim
    >>> has_reps(okma_sim.load_plan(okma_sim.case_study_path()))
    True
    """
    return any(getattr(m, "per_rep", False) for m in get_model(plan.model).metrics.values())


def report_options(plan: Any) -> dict[str, Any]:
    """The :func:`okma_sim.simulate` keywords of a run the report reads in full: the per-rep
    history when the model keeps one, and beside the targets' metrics and revenue, what the
    plan's cost needs (:func:`okma_sim.analysis.cost_metrics`: the training hours).

    Examples
    --------
    >>> import okma_sim
    >>> report_options(okma_sim.load_plan(okma_sim.case_study_path()))["keep_monthly"][-1]
    'training_hours'
    """
    model = get_model(plan.model)
    keep = [t.metric for t in plan.targets] + ["revenue"] + cost_metrics(model)
    return {"record_reps": has_reps(plan), "keep_monthly": list(dict.fromkeys(keep))}


def unpriced_hours(result: Any) -> bool:
    """Whether the run left out what prices the plan's hours (it kept no training hours), so
    that its cost counts the levers only."""
    return any(m not in result.monthly for m in cost_metrics(get_model(result.plan.model)))


def per_rep_rows(result: Any) -> pd.DataFrame | None:
    """Each seat's outlook over the horizon (None when the run kept no per-rep history:
    ``simulate(..., record_reps=True)``): the share of months the seat is filled, the revenue
    its book brings over the horizon (p05/p50/p95 over the runs; a vacant seat's customers
    still order, so the seats add up to the team's revenue), its new customers a month and
    its revisit rate (medians over the runs). A seat is named after its first rep.

    Examples
    --------
    >>> import okma_sim
    >>> res = okma_sim.simulate(okma_sim.load_plan(okma_sim.case_study_path()), 200, seed=1,
    ...                         record_reps=True)
    >>> list(per_rep_rows(res)["rep"][:2])
    ['rep01', 'rep02']
    """
    pr = getattr(result, "per_rep", None)
    if not pr:
        return None
    ids = list(result.plan.team.rep_ids)
    n_seats = pr["revenue"].shape[1]
    ids += [f"new seat {i + 1}" for i in range(n_seats - len(ids))]
    revenue = np.nansum(pr["revenue"], axis=2)
    new = np.nansum(pr["new_customers"], axis=2) / pr["new_customers"].shape[2]
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = (np.nansum(pr["revisited_customers"], axis=2)
                / np.nansum(pr["active_customers"], axis=2))
    rows = []
    for j, rep in enumerate(ids[:n_seats]):
        r05, r50, r95 = np.quantile(revenue[:, j], (0.05, 0.5, 0.95))
        ok = np.isfinite(rate[:, j])
        rows.append({"rep": rep, "share_of_months_filled": float(pr["filled"][:, j].mean()),
                     "revenue_p05": r05, "revenue_p50": r50, "revenue_p95": r95,
                     "new_customers_per_month": float(np.median(new[:, j])),
                     "revisit_rate": float(np.median(rate[ok, j])) if ok.any() else math.nan})
    return pd.DataFrame(rows)


def band_rows(result: Any) -> pd.DataFrame:
    """The monthly bands of every kept metric, long: month, metric, its label, unit and the
    p05/p25/p50/p75/p95 over the runs."""
    frames = []
    cur = result.plan.currency
    for metric in result.monthly:
        b = result.bands(metric).reset_index()
        b["month"] = b["month"].astype(str)
        b.insert(1, "metric", metric)
        b.insert(2, "label", metric_label(metric, cur))
        b.insert(3, "unit", unit_of(metric))
        frames.append(b)
    return pd.concat(frames, ignore_index=True)


def assumption_rows(plan: Any) -> pd.DataFrame:
    """Every uncertain parameter the model draws: its description, distribution (the
    scenario's when it overrides the model's), mean, 90% range, unit and source.

    Examples
    --------
    >>> import okma_sim
    >>> df = assumption_rows(okma_sim.load_plan(okma_sim.case_study_path()))
    >>> df.set_index("parameter").loc["order_value", "source"]
    'the scenario file'
    """
    model = get_model(plan.model)
    info = getattr(model, "parameter_info", {}) or {}
    rows = []
    for name, dist in resolve_parameters(plan, model).items():
        pi = info.get(name)
        lo, hi = ppf(dist, np.array([0.05, 0.95]))
        rows.append({"parameter": name,
                     "description": getattr(pi, "description", ""),
                     "distribution": describe(dist),
                     "mean": float(dist.mean()) if hasattr(dist, "mean") else math.nan,
                     "p05": float(lo), "p95": float(hi),
                     "unit": getattr(pi, "unit", ""),
                     "source": "the scenario file" if name in plan.parameters
                     else getattr(pi, "source", "assumption")})
    return pd.DataFrame(rows)
