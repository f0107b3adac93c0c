"""The sales-team model's declarations: its uncertain parameters (priors with their sources),
metrics, levers, management responses, and the reference constants its equations are stated at
(docs/model.md sections 3-4 and 6)."""

from __future__ import annotations

import math

from okma_sim.params import Distribution

from ..protocol import LeverInfo, MetricInfo, ParameterInfo

__all__ = ["LEVERS", "METRICS", "PARAMETERS", "REFERENCE_PROSPECT_VISITS",
           "REFERENCE_REVISIT_RATE", "REFERENCE_TRAINING_HOURS", "RESPONSES", "SEASON_QUARTER",
           "SEASON_YEAR", "WEEKS_PER_MONTH"]

WEEKS_PER_MONTH = 52.0 / 12.0
#: prospect visits per rep-month at which ``base_win_rate`` is stated (6 a week)
REFERENCE_PROSPECT_VISITS = 6.0 * WEEKS_PER_MONTH
#: training hours per rep-month whose steady state is one unit of training stock
REFERENCE_TRAINING_HOURS = 8.0
#: revisit rate at which ``csat_base`` is stated, and revisited share of the kept customers at
#: which ``repeat_order_rate`` is
REFERENCE_REVISIT_RATE = 0.8

#: parameters of the month-of-quarter seasonal form: months 1, 2 and 3 of a quarter
SEASON_QUARTER = ("season_q1", "season_q2", "season_q3")
#: parameters of the month-of-year seasonal form, January to December
SEASON_YEAR = tuple(f"season_{m}" for m in ("jan", "feb", "mar", "apr", "may", "jun", "jul",
                                            "aug", "sep", "oct", "nov", "dec"))

_D = Distribution
_P = ParameterInfo
_DAS = "second-hand figure, original not re-read"

PARAMETERS: dict[str, ParameterInfo] = {
    "base_win_rate": _P(_D("gamma", {"shape": 25.0, "scale": 0.032}),
                        "new customers per rep-month at the reference effort (6 prospect visits "
                        "a week), full ramp, skill 1, no training", (0, math.inf),
                        "customers/rep-month", "assumption"),
    # one firm's elasticity, not the average firm's: the spread is between firms, not the
    # standard error of a meta-analytic mean
    "visit_elasticity": _P(_D("normal", {"mu": 0.34, "sigma": 0.18, "low": 0.0, "high": 1.0}),
                           "elasticity of acquisition in prospect visits", (0, 1), "",
                           "Albers, Mantrala & Sridhar (2010), J. Marketing Research, meta-"
                           "analysis: mean 0.34 across industries, 0.245 for pharmaceutical "
                           f"detailing ({_DAS}, as quoted by a later detailing meta-analysis, "
                           "which finds a mean of 0.101 for late-stage US drugs). The sources "
                           "read give only means: sd 0.18, wide enough to hold them, is a "
                           "deliberately wide prior (assumption)"),
    "skill_cv": _P(_D("uniform", {"low": 0.2, "high": 0.4}),
                   "coefficient of variation of rep skill (lognormal, mean 1)", (0, 3), "",
                   "assumption: 'about 0.3' is a planning figure with no study behind it; the "
                   "range is an assumption too"),
    "training_effect": _P(_D("gamma", {"shape": 2.0, "scale": 0.05}),
                          "relative uplift of conversion at one unit of training stock "
                          "(steady state of 8 h/month)", (-1, 5), "",
                          "Arthur, Bennett, Edens & Bell (2003), J. Applied Psychology, "
                          "abstract read: sample-weighted mean d 0.62 on results criteria (k = "
                          "26). Mean 0.10 (assumption): d of 0.2-0.6 times a skill CV of about "
                          "0.3, shrunk for the small sales-specific effect. The source read "
                          "gives only a mean: gamma shape 2 is a deliberately wide prior "
                          "(assumption)"),
    "training_retention": _P(_D("beta", {"a": 14.0, "b": 6.0}),
                             "share of the training stock kept from one month to the next",
                             (0, 1), "", "assumption matching the vendors' claim that most training fades "
                             "within about 4 months: 0.7^4 = 0.24"),
    "coaching_effect": _P(_D("gamma", {"shape": 2.0, "scale": 0.045}),
                          "relative uplift of conversion and follow-up reach while coached",
                          (-1, 5), "", "Sales Executive Council / CEB: a boost of up to 19% "
                          "for the middle 60% of reps; reps coached 3 or more hours a month "
                          f"reached 107% of quota against 88% ({_DAS}). One study's "
                          "comparison, no spread between firms: mean 0.09 and gamma shape 2 "
                          "are a deliberately wide prior (assumption)"),
    "followup_targeting": _P(_D("lognormal", {"median": 1.5, "sigma": 0.15}),
                             "how much better than random follow-up visits reach distinct "
                             "customers: the slope of the revisit curve, reach = 1 - (1 + "
                             "heterogeneity * targeting * x) ** (-1 / heterogeneity), x = "
                             "visits / customers (1 - exp(-targeting * x) at heterogeneity 0)",
                             (0, math.inf), "", "assumption"),
    "revisit_heterogeneity": _P(_D("gamma", {"shape": 1.5, "scale": 0.17}),
                                "variance of the customers' follow-up visit rates (gamma, mean "
                                "1): the shape of the revisit curve; at 0 every customer is "
                                "equally likely to be visited, above it visits go again to "
                                "the same accounts and reach rises more slowly",
                                (0, 20), "",
                                "assumption, deliberately wide (mean 0.26, 90% 0.03-0.66: "
                                "visit rates varying by a CV of about 0.5 between a book's "
                                "accounts); no study read gives it"),
    "churn_base": _P(_D("beta", {"a": 8.0, "b": 192.0}),
                     "monthly churn hazard of a customer nobody revisits", (0, 1), "",
                     "assumption"),
    "churn_revisit_effect": _P(_D("beta", {"a": 12.0, "b": 8.0}),
                               "share of the churn hazard removed at a revisit rate of 1",
                               (0, 1), "", "assumption"),
    "repeat_order_rate": _P(_D("gamma", {"shape": 50.0, "scale": 0.01}),
                            "repeat orders per kept customer-month when 0.8 of the kept "
                            "customers are revisited (a customer not revisited orders at "
                            "rate / (1 + 0.8 x visit_order_effect))", (0, math.inf),
                            "orders/customer-month", "assumption"),
    "visit_order_effect": _P(_D("gamma", {"shape": 2.0, "scale": 0.125}),
                             "relative uplift of a kept customer's repeat orders in a month the "
                             "customer is revisited", (0, 10), "",
                             "assumption, deliberately wide (mean 0.25, 90% 0.04-0.59): "
                             "studies read find more sales calls raise existing customers' "
                             "purchases (Román & Martín 2008; Mizik & Jacobson 2004) but give "
                             "no uplift per visited customer-month"),
    "order_value": _P(_D("lognormal", {"median": 2000.0, "sigma": 0.1}),
                      "mean value of one order", (0, math.inf), "currency",
                      "assumption (scenarios override it in their currency)"),
    "order_value_cv": _P(_D("fixed", {"value": 0.8}),
                         "coefficient of variation of one order's value", (0, 10), "",
                         "assumption"),
    "quarter_end_uplift": _P(_D("normal", {"mu": 0.15, "sigma": 0.05, "low": -0.5,
                                           "high": 1.5}),
                             "extra acquisition and ordering in quarter-end months (others "
                             "scaled down to keep the annual mean)", (-0.5, 1.5), "",
                             "assumption; quarter-end bunching is visible in the CRM dataset "
                             "(calibrate to replace it)"),
    "marketing_effect": _P(_D("triangular", {"low": 0.0, "mode": 0.05, "high": 0.12}),
                           "acquisition uplift per doubling of marketing events per quarter",
                           (-1, 5), "", "assumption"),
    "csat_base": _P(_D("beta", {"a": 78.0, "b": 22.0}),
                    "probability a customer is satisfied at a revisit rate of 0.8 and no "
                    "training", (0, 1), "", f"B2B CSAT typically 75-82% (industry benchmark summaries; {_DAS})"),
    "csat_coverage_effect": _P(_D("normal", {"mu": 2.0, "sigma": 0.7}),
                               "logit change in satisfaction per unit of revisit rate",
                               (-20, 20), "", "assumption"),
    "csat_training_effect": _P(_D("normal", {"mu": 0.2, "sigma": 0.1}),
                               "logit change in satisfaction per unit of training stock",
                               (-5, 5), "", "assumption"),
    "survey_completion": _P(_D("beta", {"a": 18.0, "b": 2.0}),
                            "probability a scheduled CSAT survey is completed", (0, 1), "",
                            "assumption"),
    "survey_response_rate": _P(_D("beta", {"a": 6.0, "b": 14.0}),
                               "share of active customers answering a survey", (0, 1), "",
                               "assumption; at about 100 responses the CSAT standard error is "
                               "about 3 points (binomial sampling at CSAT 90%: sqrt(0.9 x 0.1 / 100) = 0.03)"),
    "rep_attrition_annual": _P(_D("beta", {"a": 4.0, "b": 11.0}),
                               "share of reps leaving in a year", (0, 1), "",
                               "averages of 20% (Sales Management Association), 25.8% (CSO "
                               "Insights) and up to 35% a year, as quoted by industry pages "
                               f"({_DAS}); benchmark bands run from under 15% to 40% and more "
                               "between firms. Mean 0.27, 90% 0.10-0.47: a deliberately wide "
                               "prior (assumption)"),
    "hiring_delay_months": _P(_D("triangular", {"low": 1.0, "mode": 2.0, "high": 4.0}),
                              "months a vacated seat stays empty (rounded)", (0, 36), "months",
                              "assumption"),
    "ramp_months": _P(_D("pert", {"low": 1.5, "mode": 4.5, "high": 12.0}),
                      "months for a new rep to reach full productivity (linear ramp)",
                      (0.5, 36), "months",
                      "The Bridge Group 2024 SaaS AE report, as quoted by an industry KPI "
                      "page: median ramp 5.0 months across more than 400 companies; 27% of "
                      "AEs under 3 months, 38% 3-6, 28% 6-12, 7% 12 or more "
                      f"({_DAS}). That spread is across AEs, within firms as well as "
                      "between them: one firm's ramp is taken narrower, 90% 2.4-8.7 months "
                      "(assumption)"),
    # declared after the original parameters, so the table keeps its order; note that the
    # engine's plain Monte Carlo draws one (paths x parameters) array of uniforms, row by
    # row, so a new parameter still moves every other parameter's draws under a seed
    "new_customer_dispersion": _P(_D("gamma", {"shape": 2.0, "scale": 0.005}),
                                  "variance of the month's market shock shared by a team's "
                                  "acquisition (gamma, mean 1): a team's new customers in a "
                                  "month are negative binomial, variance m + dispersion x m^2; "
                                  "0 is the Poisson limit", (0, 10), "",
                                  "assumption: month-to-month swings of about 10% beyond "
                                  "chance (90% range 4-15%) in a team's new business; "
                                  "calibrate fits it from the monthly totals"),
    **{k: _P(_D("fixed", {"value": 1.0}),
             f"seasonal factor of month {i + 1} of each quarter (the three divided by their "
             "mean); 1 = no month-of-quarter pattern", (0, 10), "",
             "neutral unless calibrate selects the month-of-quarter form (fitted from the "
             "history, its prior centred on the quarter-end form)")
       for i, k in enumerate(SEASON_QUARTER)},
    **{k: _P(_D("fixed", {"value": 1.0}),
             f"seasonal factor of {k[7:].capitalize()} (the twelve divided by their mean); 1 = "
             "no month-of-year pattern", (0, 10), "",
             "neutral unless calibrate selects the month-of-year form (fitted from the "
             "history, its prior centred on the quarter-end form)")
       for k in SEASON_YEAR},
    # declared last (after the issue-13 parameters)
    "discrepancy_scale": _P(_D("gamma", {"shape": 1.0, "scale": 0.075}),
                            "sd of the model-discrepancy log shock (docs/model.md 5.13): a "
                            "persistent multiplier with mean 1, per path and month, of "
                            "acquisition and of repeat orders (one AR(1) series each); 0 "
                            "turns it off", (0, 10), "",
                            "assumption (exponential, mean 0.075, 90% 0.004-0.22): what the "
                            "model misses is taken as a few per cent a month that lasts a few "
                            "months; the density is highest at 0 so that a history showing "
                            "no excess error shrinks it towards none (a mode away from 0 "
                            "widened forecasts on histories the model itself made by 13%); "
                            "calibrate fits it from the history's monthly residuals"),
    "discrepancy_persistence": _P(_D("beta", {"a": 6.0, "b": 4.0}),
                                  "month-to-month autocorrelation of the discrepancy's log "
                                  "shock (AR(1))", (0, 1), "",
                                  "assumption (mean 0.6, 90% 0.34-0.83): a missing mechanism "
                                  "(a lost account, a competitor, a budget freeze) lasts "
                                  "months, not one; calibrate fits it with the scale"),
}

_M = MetricInfo
METRICS: dict[str, MetricInfo] = {
    "revenue": _M("currency", "revenue booked in the month", "total", per_rep=True),
    "cumulative_revenue": _M("currency", "revenue booked from the start through the month",
                             "level"),
    "revenue_growth": _M("ratio", "cumulative revenue / cumulative baseline revenue - 1",
                         "level", (-1.0, math.inf)),
    "new_customers": _M("customers", "customers won in the month", "total", per_rep=True),
    "active_customers": _M("customers", "customers held at the start of the month", "total",
                           per_rep=True),
    "revisited_customers": _M("customers", "distinct existing customers visited", "total",
                              per_rep=True),
    "revisit_rate": _M("share", "revisited / active customers", "rate", (0.0, 1.0),
                       per_rep=True),
    "churned_customers": _M("customers", "customers lost in the month", "total", per_rep=True),
    "csat": _M("share", "satisfied / responses in the last completed survey", "rate",
               (0.0, 1.0)),
    "csat_responses": _M("responses", "survey responses in the month", "total"),
    "csat_satisfied": _M("responses", "responses rating 4 or 5 of 5", "total"),
    "surveys_done": _M("surveys", "1 when a survey was completed in the month", "total"),
    "quarters_surveyed": _M("quarters", "quarters so far with a completed survey", "level",
                            (0.0, 40.0)),
    "headcount": _M("reps", "filled seats", "level"),
    "prospect_visits": _M("visits", "prospect visits made", "total", per_rep=True),
    "customer_visits": _M("visits", "follow-up visits made", "total", per_rep=True),
    "training_hours": _M("hours", "training and coaching hours received", "total",
                         per_rep=True),
    "coaching_hours": _M("hours", "coaching hours from management rules", "total"),
    "cost": _M("currency", "priced training and coaching hours plus rule costs", "total"),
}

#: the parameters through which each lever moves the outcomes (docs/model.md; docs/calibration.md
#: says why these): a plan beyond the levels the history observed leans on their priors.
#: Prospect visits act through the elasticity alone (base_win_rate is stated at the reference
#: effort and pinned by the history at its own); customer visits through the revisit curve
#: (targeting, heterogeneity) and what the revisit rate moves (churn, repeat orders, CSAT);
#: training through its uplift, its decay and its effect on satisfaction
_RESPONSE: dict[str, tuple[str, ...]] = {
    "prospect_visits_per_week": ("visit_elasticity",),
    "customer_visits_per_week": ("followup_targeting", "revisit_heterogeneity",
                                 "visit_order_effect", "churn_revisit_effect",
                                 "csat_coverage_effect"),
    "training_hours_per_month": ("training_effect", "training_retention",
                                 "csat_training_effect"),
}

_L = LeverInfo
LEVERS: dict[str, LeverInfo] = {
    # visits and training cost what the reps' hours let them execute (section 5)
    "prospect_visits_per_week": _L(6.0, "visits/rep-week", "visits to prospective customers",
                                   True, (0, 60),
                                   cost_units=("prospect_visits_executed",
                                               "prospect_visits_planned"),
                                   response_parameters=_RESPONSE["prospect_visits_per_week"]),
    "customer_visits_per_week": _L(8.0, "visits/rep-week", "follow-up visits to customers",
                                   True, (0, 80),
                                   cost_units=("customer_visits_executed",
                                               "customer_visits_planned"),
                                   response_parameters=_RESPONSE["customer_visits_per_week"]),
    "training_hours_per_month": _L(4.0, "hours/rep-month", "training received", True, (0, 160),
                                   cost_units=("training_hours_executed",
                                               "training_hours_planned"),
                                   response_parameters=_RESPONSE["training_hours_per_month"]),
    "marketing_events_per_quarter": _L(1.0, "events/quarter", "marketing events", False,
                                       (0, 30)),
    "csat_surveys_per_year": _L(4.0, "surveys/year", "CSAT surveys scheduled (0, 1, 2, 3, 4, "
                                "6 or 12)", False, (0, 12), (0, 1, 2, 3, 4, 6, 12)),
    # a new rep is paid from the month the seat is filled: unit_cost x months on payroll / 12
    "new_reps": _L(0.0, "reps", "reps hired on top of the roster (their seats open at "
                   "team.new_reps_month, are filled after the hiring delay, then ramp)", False,
                   (0, 50), integer=True, cost_units=("new_rep_months", "new_rep_months_nominal")),
}

#: management responses and their defaults
RESPONSES: dict[str, dict[str, float]] = {
    "coaching": {"hours_per_month": 4.0, "delay_months": 0, "duration_months": 2, "cost": 0.0},
    "training": {"hours_per_month": 8.0, "delay_months": 0, "duration_months": 2, "cost": 0.0},
    "shift_visits": {"visits_per_week": 2.0, "delay_months": 0, "duration_months": 2,
                     "cost": 0.0},
    "marketing_push": {"events": 1.0, "delay_months": 0, "duration_months": 3, "cost": 5000.0},
    "hiring": {"reps": 1, "delay_months": 0, "duration_months": 1, "cost": 10000.0},
}
