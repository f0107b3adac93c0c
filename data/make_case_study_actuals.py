"""Make ``data/case_study_actuals.csv``: the first five months (2027-01 to 2027-05) of the
bundled case study as rep-month actuals. ``okma-sim review`` uses it as its worked example.
They were made from the model's priors before forecasts were anchored to the baseline year
(docs/model.md section 11): against the anchored forecast they run ahead of plan on revenue.

How it is made: the case study is simulated for one path by the model itself, with every
uncertain parameter pinned at a quantile of its prior a little on the bad side of the median
(``WORSE_QUANTILE`` below: fewer wins per visit, follow-up visits that reach fewer customers,
a little more churn, fewer and smaller orders; the rest at their medians), and each rep's
first five months are written in the rep-month schema of docs/calibration.md section 1. Attrition is pinned at 0, so nobody leaves in these five months and the
file has one row for each of the 12 reps in each month. The seed is fixed: the file is
reproducible byte for byte.

Run from the repository root::

    python data/make_case_study_actuals.py            # refuses to overwrite
    python data/make_case_study_actuals.py --force
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

import numpy as np
import pandas as pd

import okma_sim
from okma_sim.io import REP_MONTH_COLUMNS
from okma_sim._core.files import atomic_write

SEED = 20270614
MONTHS = 5
#: each parameter is pinned at this quantile of the case study's prior (0.5 = the median;
#: below 0.5 where more is better, above where more is worse): a little behind plan
WORSE_QUANTILE = {
    "base_win_rate": 0.30,          # fewer wins per visit
    "training_effect": 0.35,
    "coaching_effect": 0.35,
    "followup_targeting": 0.25,     # follow-up visits reach fewer customers
    "churn_base": 0.70,             # a little more churn
    "churn_revisit_effect": 0.35,
    "repeat_order_rate": 0.35,      # fewer, smaller orders
    "order_value": 0.35,
    "csat_base": 0.35,
}
#: pinned outright: nobody leaves in the five months; the exponential revisit curve and no
#: market shock (the file predates both, and at 0 the model draws what it drew then)
FIXED = {"rep_attrition_annual": 0.0, "revisit_heterogeneity": 0.0,
         "new_customer_dispersion": 0.0}


def worse_parameters() -> dict[str, float]:
    """The pinned parameter values (quantiles of the case study's priors, see above)."""
    from okma_sim.engine import resolve_parameters
    plan = okma_sim.load_plan(okma_sim.case_study_path())
    dists = resolve_parameters(plan, okma_sim.SalesTeamModel())
    out = {k: float(np.asarray(d.ppf(WORSE_QUANTILE.get(k, 0.5)))) for k, d in dists.items()}
    out.update(FIXED)
    return out


def make(seed: int = SEED, months: int = MONTHS) -> pd.DataFrame:
    """The actuals as a DataFrame in the rep-month schema."""
    plan = okma_sim.load_plan(okma_sim.case_study_path())
    # the pinned values are the world's truth: not rescaled to the baseline year
    plan = plan.replace(simulation=dataclasses.replace(plan.simulation, anchor=False))
    res = okma_sim.simulate(plan, n_paths=1, seed=seed, pinned=worse_parameters(),
                            record_reps=True,
                            progress=False)
    rep = {k: np.asarray(v)[0] for k, v in res.per_rep.items()}  # (seats, months)
    ids = plan.team.rep_ids
    rows = []
    for t, month in enumerate(plan.months()[:months]):
        for s, rid in enumerate(ids):
            if not rep["filled"][s, t]:
                continue
            rows.append({
                "month": month, "rep_id": rid,
                "prospect_visits": int(rep["prospect_visits"][s, t]),
                "customer_visits": int(rep["customer_visits"][s, t]),
                "new_customers": int(rep["new_customers"][s, t]),
                "active_customers": int(rep["active_customers"][s, t]),
                "revisited_customers": int(rep["revisited_customers"][s, t]),
                "churned_customers": int(rep["churned_customers"][s, t]),
                "revenue": round(float(rep["revenue"][s, t]), 2),
                "training_hours": round(float(rep["training_hours"][s, t]), 1),
                "csat_responses": int(rep["csat_responses"][s, t]),
                "csat_satisfied": int(rep["csat_satisfied"][s, t]),
            })
    return pd.DataFrame(rows, columns=list(REP_MONTH_COLUMNS))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(okma_sim.data_path("case_study_actuals.csv")))
    ap.add_argument("--force", action="store_true", help="overwrite an existing file")
    args = ap.parse_args(argv)
    df = make()
    atomic_write(args.out, df.to_csv(index=False, lineterminator="\n"), overwrite=args.force)
    team = df.groupby("month")[["new_customers", "revisited_customers", "active_customers",
                                "revenue"]].sum()
    team["revisit_rate"] = team["revisited_customers"] / team["active_customers"]
    print(team[["new_customers", "revisit_rate", "revenue"]].round(3).to_string())
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
