"""What the review flags: the reps behind a key result's pace, and the objectives and key
results at risk."""

from __future__ import annotations

from typing import Mapping

import pandas as pd

from okma_sim.io import Actuals
from okma_sim.plan import Plan

__all__ = ["flag_reps"]

#: metrics that are team totals: a per-rep pace of the monthly target over the planned reps
_REP_TOTALS = ("new_customers", "active_customers", "revisited_customers", "churned_customers",
               "revenue", "prospect_visits", "customer_visits", "training_hours")
#: rate metrics: a rep's own ratio (numerator, denominator) against the target
_REP_RATES = {"revisit_rate": ("revisited_customers", "active_customers"),
              "csat": ("csat_satisfied", "csat_responses")}


def flag_reps(plan: Plan, act: Actuals) -> pd.DataFrame:
    """Reps behind the pace of a key result over the observed months.

    A KR on a team total (new customers, revenue, visits, ...) sets a per-rep pace of its
    monthly target divided by the planned number of reps (``team.reps``); with
    ``aggregate = "sum"`` the monthly target is the target over the horizon months, with
    ``share_of_months`` it is the threshold. A rep's value is the rep's monthly mean over the
    months worked. A KR on a rate (revisit rate, CSAT) sets the pace at its target (or
    threshold), and a rep's value is the rep's own ratio (revisited / active customers,
    satisfied / responses). A rep is behind when the value is below the pace (above it for
    ``comparison = "<="``). KRs on levels (growth, quarters surveyed, headcount) have no per-rep
    pace.

    Returns
    -------
    DataFrame
        rep_id, key_result, metric, value, target (the pace), months.

    Examples
    --------
    >>> import okma_sim
    >>> from okma_sim.io import load_actuals
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> act = load_actuals(okma_sim.data_path("case_study_actuals.csv"), plan)
    >>> list(flag_reps(plan, act).columns)
    ['rep_id', 'key_result', 'metric', 'value', 'target', 'months']
    """
    df = act.frame
    rows = []
    R = plan.team.n_reps
    H = plan.horizon_months
    g = df.groupby("rep_id", sort=True)
    months = g.size()
    for k in plan.key_results:
        level = k.threshold if k.aggregate == "share_of_months" else k.target
        if k.metric in _REP_TOTALS:
            per_month = level / H if k.aggregate == "sum" else level
            pace = per_month / R
            value = g[k.metric].sum() / months
        elif k.metric in _REP_RATES:
            num, den = _REP_RATES[k.metric]
            d = g[den].sum()
            value = (g[num].sum() / d.where(d > 0)).dropna()
            pace = level
        else:
            continue
        for rep_id, v in value.items():
            behind = v < pace if k.comparison == ">=" else v > pace
            if behind:
                rows.append({"rep_id": rep_id, "key_result": k.id, "metric": k.metric,
                             "value": float(v), "target": float(pace),
                             "months": int(months[rep_id])})
    return pd.DataFrame(rows, columns=["rep_id", "key_result", "metric", "value", "target",
                                       "months"])


def _at_risk(plan: Plan, probs: Mapping[str, float], plan_probs: Mapping[str, float | None],
             threshold: float, drop: float) -> list[str]:
    """The objectives and KRs whose probability is below ``threshold`` or fell by more than
    ``drop`` since plan time."""
    out = []
    for t in plan.targets:
        p, p0 = probs[t.id], plan_probs.get(t.id)
        if p < threshold or (p0 is not None and p0 - p > drop):
            out.append(t.id)
    return out
