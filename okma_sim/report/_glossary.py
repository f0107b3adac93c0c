"""The glossary: the words the reports, the command line and the docs use, in plain terms.
docs/glossary.md carries the same terms (a test checks it)."""

from __future__ import annotations

__all__ = ["GLOSSARY"]

#: term -> plain definition, in reading order
GLOSSARY: dict[str, str] = {
    "simulated run": "One possible year for the team, played out month by month with its own "
                     "draw of every uncertain figure (win rates, churn, who leaves, ...). The "
                     "tool plays thousands of them; a share of runs is a probability.",
    "probability": "The share of simulated runs in which a target is met. 40% means the "
                   "target was met in 4 runs out of 10.",
    "standard error (±)": "How much a probability could move if the simulation were run again "
                          "with other random draws. 4% (± 0.4%): the model's chance is very "
                          "likely between 3.2% and 4.8% (two standard errors either side); "
                          "more simulated runs make it smaller.",
    "80% range": "The range that holds the middle 80% of the simulated runs: one run in ten "
                 "ends below it and one in ten above it.",
    "p05/p50/p95": "Percentiles over the simulated runs: 5% of the runs end below p05, half "
                   "below p50 (the median), and 95% below p95. From p05 to p95 is a 90% range.",
    "objective": "What the plan wants to achieve this period, with a measurable target, e.g. "
                 "+30% revenue over last year.",
    "key result": "A measurable step the plan expects to lead to an objective, e.g. 10 new "
                  "customers a month.",
    "joint target": "A set of targets, one per objective, that hold all together with a "
                    "chosen probability. Two targets each met 80% of the time are met together "
                    "less often than 80%.",
    "lever": "Something the manager controls: prospect and customer visits, training hours, "
             "marketing events, surveys, new reps. Each has a cost.",
    "achievability curve": "For each possible target level, the probability of reaching it. "
                           "It shows how much the odds improve as the target is lowered.",
    "achievable at 80%": "The most ambitious target met in at least 80% of the simulated runs.",
    "capacity": "The selling hours a rep has in a month. Visits, training and coaching that do "
                "not fit are not done.",
    "anchoring": "Adjusting the model's uncertain figures so that, at last year's actions, it "
                 "reproduces last year's revenue, new customers and revisit rate.",
    "assumption": "A figure the plan takes as given, with its uncertainty stated as a "
                  "distribution, and its source.",
    "calibration": "Fitting the model's uncertain figures to the team's own history (the CRM "
                   "or monthly records) instead of published or assumed values.",
    "backtest": "Forecasting past months from the data before them and checking the forecasts "
                "against what happened.",
    "coverage": "How often the actual result fell inside a forecast's range in a backtest. An "
                "80% range should hold about 80% of the time; less means the ranges are too "
                "narrow.",
    "review": "A re-forecast in the middle of the period from the months done so far: the odds "
              "now against the odds at plan time.",
    "at risk": "A target whose probability is low, or has fallen a lot since plan time.",
}
