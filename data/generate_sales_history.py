"""Generate ``data/sales_history.csv``: 24 months of a 14-rep field sales team.

The history is made by the SalesTeamModel itself: one path of
``okma_sim.simulate(plan, n_paths=1, seed=SEED, record_reps=True)`` with every uncertain
parameter fixed at the TRUE value below, turned into one row per rep per month worked
(``okma_sim.inference.history_from_simulation``). So the calibration's job on this file is to
recover TRUE, and the backtests' job is to forecast months the model really generated.

True parameters
---------------
====================== ========  ==============================================================
parameter              value     meaning
====================== ========  ==============================================================
base_win_rate          0.75      new customers per rep-month at 6 prospect visits a week
visit_elasticity       0.30      acquisition elasticity in prospect visits
skill_cv               0.30      CV of rep skill (lognormal, mean 1)
training_effect        0.12      conversion uplift at one unit of training stock
training_retention     0.70      training stock kept month to month
coaching_effect        0.08      (no coaching rule runs: unused)
followup_targeting     1.60      reach = 1 - exp(-1.6 * follow-up visits / customers)
revisit_heterogeneity  0         the exponential revisit curve above (the file predates the
                                 curve's shape parameter; at 0 the model draws the same)
new_customer_dispersion 0        no market shock: Poisson new customers (the file predates
                                 the shock; at 0 the model draws the same)
churn_base             0.045     monthly churn hazard of a customer nobody revisits
churn_revisit_effect   0.55      share of that hazard removed at a revisit rate of 1
repeat_order_rate      0.50      repeat orders per kept customer-month when 0.8 of them are
                                 revisited
visit_order_effect     0.30      a revisited kept customer orders 1.3 times what one not
                                 revisited does
order_value            11500     mean order value (CNY)
order_value_cv         0.80      CV of one order's value
quarter_end_uplift     0.18      quarter-end months x1.18, others x0.91
marketing_effect       0.05      uplift per doubling of marketing events (2 a quarter)
csat_base              0.85      P(satisfied) at a revisit rate of 0.8, no training
csat_coverage_effect   2.0       logit change per unit of revisit rate
csat_training_effect   0.20      logit change per unit of training stock
survey_completion      0.90      P(a scheduled quarterly survey is completed)
survey_response_rate   0.30      share of customers answering
rep_attrition_annual   0.30      share of reps leaving in a year
hiring_delay_months    2         months a seat stays vacant (at least 1, so new reps are
                                 told apart from the ones they replace)
ramp_months            5         months to full productivity
discrepancy_scale      0         no model discrepancy: the model is the truth here (the file
                                 predates the discrepancy; at 0 the model draws the same)
discrepancy_persistence 0.6      (unused at scale 0)
====================== ========  ==============================================================

Team and actions: 14 reps with 40 customers each and 24 months of tenure at the start;
7 prospect and 9 follow-up visits a week, 6 training hours a month, 2 marketing events a
quarter, 4 CSAT surveys a year (March, June, September, December). Two management rules act
at the monthly review and make the recorded effort vary between reps and months: 8 extra
training hours a month for two months for a rep with no new customer in the month, and
2 visits a week shifted from prospects to follow-ups for two months for a rep whose revisit
rate fell under 0.72. No coaching rule runs (its hours would be recorded but its direct effect
on conversion would not). Months run 2025-01 to 2026-12, so a calibration on the whole file
starts its scenario in 2027-01, the case study's first month.

Run ``python data/generate_sales_history.py [--force]`` from the repository root; the seed
makes the file reproducible.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import okma_sim
from okma_sim.inference import history_from_simulation
from okma_sim.plan import Baseline, Management, Objective, Plan, Rule, Simulation, Team
from okma_sim._core.files import atomic_write

SEED = 20250101
START_MONTH = "2025-01"
MONTHS = 24
REPS = 14

TRUE: dict[str, float] = {
    "base_win_rate": 0.75,
    "visit_elasticity": 0.30,
    "skill_cv": 0.30,
    "training_effect": 0.12,
    "training_retention": 0.70,
    "coaching_effect": 0.08,
    "followup_targeting": 1.60,
    "revisit_heterogeneity": 0.0,
    "new_customer_dispersion": 0.0,
    "churn_base": 0.045,
    "churn_revisit_effect": 0.55,
    "repeat_order_rate": 0.50,
    "visit_order_effect": 0.30,
    "order_value": 11500.0,
    "order_value_cv": 0.80,
    "quarter_end_uplift": 0.18,
    "marketing_effect": 0.05,
    "csat_base": 0.85,
    "csat_coverage_effect": 2.0,
    "csat_training_effect": 0.20,
    "survey_completion": 0.90,
    "survey_response_rate": 0.30,
    "rep_attrition_annual": 0.30,
    "hiring_delay_months": 2.0,
    "ramp_months": 5.0,
    "discrepancy_scale": 0.0,
    "discrepancy_persistence": 0.6,
}

ACTIONS = {"prospect_visits_per_week": 7.0, "customer_visits_per_week": 9.0,
           "training_hours_per_month": 6.0, "marketing_events_per_quarter": 2.0,
           "csat_surveys_per_year": 4.0}

RULES = (
    Rule(id="train_no_wins", metric="new_customers", per_rep=True, below=0.5,
         response="training", hours_per_month=8.0, duration_months=2),
    Rule(id="shift_low_revisit", metric="revisit_rate", per_rep=True, below=0.72,
         response="shift_visits", visits_per_week=2.0, duration_months=2),
)


def build_plan(parameters: dict[str, float] | None = None, *, reps: int = REPS,
               months: int = MONTHS, start_month: str = START_MONTH,
               rules: tuple[Rule, ...] = RULES, actions: dict[str, float] | None = None) -> Plan:
    """The plan that generates the history (every parameter fixed at ``parameters``).

    Pass distributions instead of numbers (e.g. ``okma_sim.Distribution``) to draw each path's
    true values from them, as the parameter-recovery tests do.
    """
    params = dict(TRUE if parameters is None else parameters)
    # the histories made here have no model discrepancy unless asked for (the model's prior
    # would otherwise add one to every generated history)
    params.setdefault("discrepancy_scale", 0.0)
    return Plan(
        name="Sales history generator", start_month=start_month, horizon_months=months,
        currency="CNY",
        objectives=(Objective(id="revenue", metric="revenue", aggregate="mean", target=0.0),),
        team=Team(reps=reps, customers_per_rep=40.0, tenure_months=24.0,
                  selling_hours_per_month=120.0, hours_per_prospect_visit=2.0,
                  hours_per_customer_visit=1.0, hourly_cost=150.0,
                  # as in the case study: the team covers a vacant seat's customers
                  vacancy="shared"),
        baseline=Baseline(annual_revenue=36_000_000.0),
        actions=dict(ACTIONS if actions is None else actions),
        management=Management(review_every_months=1, rules=rules),
        # the pinned values are the world's truth: not rescaled to the baseline year
        simulation=Simulation(anchor=False),
    ).with_parameters(**params)


def generate(seed: int = SEED):
    """The history as a DataFrame in the rep-month CSV schema."""
    res = okma_sim.simulate(build_plan(), n_paths=1, seed=seed, record_reps=True,
                            progress=False)
    return history_from_simulation(res).drop(columns="path")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).with_name("sales_history.csv")))
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--force", action="store_true", help="overwrite an existing file")
    args = ap.parse_args(argv)
    hist = generate(args.seed)
    atomic_write(args.out, hist.to_csv(index=False), overwrite=args.force)
    print(f"wrote {args.out}: {len(hist)} rows, {hist['rep_id'].nunique()} reps, "
          f"{hist['month'].min()} to {hist['month'].max()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
