"""A second, deliberately plain implementation of the sales-team model: one path, one rep, one
month at a time, in pure Python with the ``random`` module.

It is written from docs/model.md (sections 1-8) and imports nothing from okma_sim but the plan
loader, so it shares no code with the engine or the model: its priors, lever defaults, response
defaults, samplers and the monthly step are all its own. That includes capacity executed by
priority with the hours diagnostics, covering visits under ``team.vacancy = "shared"``, the
ramp's share of a book's visits, roster seats with ``vacant_months``, and the ``new_reps``
lever's seats with ``team.new_reps_month`` and ``team.new_rep_book``, the revisited
customers' extra repeat orders (``visit_order_effect``), the revisit curve's shape
(``revisit_heterogeneity``) and the model discrepancy (5.13: an AR(1) log shock of acquisition
and one of repeat orders per path). It serves twice:

- as a **correctness oracle** (tests/models/test_reference_oracle.py): on small runs its metric
  distributions and diagnostics must agree with the engine's;
- as the **speed reference** of benchmarks/run.py (the engine should be at least 30x faster per
  path).

Sampling. Every count is drawn from its exact law by inversion of one uniform (Poisson, binomial),
except revisits: the engine draws them with a continuity-corrected normal approximation
(docs/model.md section 2). ``revisits="normal"`` (the default) mirrors that approximation, so the
two implementations sample the same law; ``revisits="binomial"`` draws the exact binomial. Revenue
is one ``gammavariate`` per seat and month given the order count, as the model states.

Run it directly for a quick look::

    python benchmarks/reference.py [SCENARIO] --paths 200 --seed 1
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import time
from typing import Any

from okma_sim.plan import load_plan

# its sibling module, however this file was loaded (a script, or by path from the tests)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_samplers import binomial, binomial_normal, draw_prior, poisson  # noqa: E402

__all__ = ["simulate_reference", "PRIORS", "LEVER_DEFAULTS", "RESPONSE_DEFAULTS", "METRICS",
           "DIAGNOSTICS"]

WEEKS_PER_MONTH = 52.0 / 12.0
REF_PROSPECT_VISITS = 6.0 * WEEKS_PER_MONTH
REF_TRAINING_HOURS = 8.0
REF_REVISIT = 0.8

#: the seasonal factors' suffixes: months 1-3 of a quarter, then January to December (5.9)
_SEASON_KEYS = ("q1", "q2", "q3", "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep",
                "oct", "nov", "dec")

#: default priors (docs/model.md section 3): name -> (dist, args)
PRIORS: dict[str, tuple[str, dict[str, float]]] = {
    "base_win_rate": ("gamma", {"shape": 25.0, "scale": 0.032}),
    "visit_elasticity": ("normal", {"mu": 0.34, "sigma": 0.18, "low": 0.0, "high": 1.0}),
    "skill_cv": ("uniform", {"low": 0.2, "high": 0.4}),
    "training_effect": ("gamma", {"shape": 2.0, "scale": 0.05}),
    "training_retention": ("beta", {"a": 14.0, "b": 6.0}),
    "coaching_effect": ("gamma", {"shape": 2.0, "scale": 0.045}),
    "followup_targeting": ("lognormal", {"median": 1.5, "sigma": 0.15}),
    "revisit_heterogeneity": ("gamma", {"shape": 1.5, "scale": 0.17}),
    "churn_base": ("beta", {"a": 8.0, "b": 192.0}),
    "churn_revisit_effect": ("beta", {"a": 12.0, "b": 8.0}),
    "repeat_order_rate": ("gamma", {"shape": 50.0, "scale": 0.01}),
    "visit_order_effect": ("gamma", {"shape": 2.0, "scale": 0.125}),
    "order_value": ("lognormal", {"median": 2000.0, "sigma": 0.1}),
    "order_value_cv": ("fixed", {"value": 0.8}),
    "quarter_end_uplift": ("normal", {"mu": 0.15, "sigma": 0.05, "low": -0.5, "high": 1.5}),
    "marketing_effect": ("triangular", {"low": 0.0, "mode": 0.05, "high": 0.12}),
    "csat_base": ("beta", {"a": 78.0, "b": 22.0}),
    "csat_coverage_effect": ("normal", {"mu": 2.0, "sigma": 0.7}),
    "csat_training_effect": ("normal", {"mu": 0.2, "sigma": 0.1}),
    "survey_completion": ("beta", {"a": 18.0, "b": 2.0}),
    "survey_response_rate": ("beta", {"a": 6.0, "b": 14.0}),
    "rep_attrition_annual": ("beta", {"a": 4.0, "b": 11.0}),
    "hiring_delay_months": ("triangular", {"low": 1.0, "mode": 2.0, "high": 4.0}),
    "ramp_months": ("pert", {"low": 1.5, "mode": 4.5, "high": 12.0}),
    "new_customer_dispersion": ("gamma", {"shape": 2.0, "scale": 0.005}),
    **{f"season_{k}": ("fixed", {"value": 1.0}) for k in _SEASON_KEYS},
    "discrepancy_scale": ("gamma", {"shape": 1.0, "scale": 0.075}),
    "discrepancy_persistence": ("beta", {"a": 6.0, "b": 4.0}),
}

#: lever defaults (docs/model.md section 4)
LEVER_DEFAULTS = {"prospect_visits_per_week": 6.0, "customer_visits_per_week": 8.0,
                  "training_hours_per_month": 4.0, "marketing_events_per_quarter": 1.0,
                  "csat_surveys_per_year": 4.0, "new_reps": 0.0}

#: management responses and their defaults (docs/model.md section 6)
RESPONSE_DEFAULTS = {
    "coaching": {"hours_per_month": 4.0, "delay_months": 0, "duration_months": 2, "cost": 0.0},
    "training": {"hours_per_month": 8.0, "delay_months": 0, "duration_months": 2, "cost": 0.0},
    "shift_visits": {"visits_per_week": 2.0, "delay_months": 0, "duration_months": 2,
                     "cost": 0.0},
    "marketing_push": {"events": 1.0, "delay_months": 0, "duration_months": 3, "cost": 5000.0},
    "hiring": {"reps": 1, "delay_months": 0, "duration_months": 1, "cost": 10000.0},
}

METRICS = ("revenue", "cumulative_revenue", "revenue_growth", "new_customers",
           "active_customers", "revisited_customers", "revisit_rate", "churned_customers",
           "csat", "csat_responses", "csat_satisfied", "surveys_done", "quarters_surveyed",
           "headcount", "prospect_visits", "customer_visits", "training_hours",
           "coaching_hours", "cost")

#: per-path diagnostics, as the engine names them: departures, fills of vacant seats, filled
#: rep-months, those whose planned hours exceed the selling hours by more than 0.01 h, hours
#: and visits planned and executed over filled rep-months (5.1), filled new_reps seat-months
DIAGNOSTICS = ("departures", "hires", "rep_months", "capacity_capped_rep_months",
               "hours_available", "hours_planned", "hours_executed", "new_rep_months",
               "prospect_visits_planned", "prospect_visits_executed",
               "customer_visits_planned", "customer_visits_executed",
               "training_hours_planned", "training_hours_executed")

# per-seat accumulators since the last review, and the per-rep metric each one serves
_ACC = ("revisited", "active", "new", "revenue", "churned", "filled", "prospect_visits",
        "customer_visits", "training_hours")
_ACC_OF = {"new_customers": "new", "churned_customers": "churned",
           "active_customers": "active", "revisited_customers": "revisited",
           "revenue": "revenue", "prospect_visits": "prospect_visits",
           "customer_visits": "customer_visits", "training_hours": "training_hours"}


def _expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def _season(cm: int, par: dict[str, float]) -> float:
    """Quarter-end form x month-of-quarter factor x month-of-year factor, each set of factors
    divided by its mean (5.9)."""
    u = par["quarter_end_uplift"]
    q = [par[f"season_{k}"] for k in _SEASON_KEYS[:3]]
    y = [par[f"season_{k}"] for k in _SEASON_KEYS[3:]]
    return ((1.0 + u if cm % 3 == 0 else 1.0 - u / 2.0) * q[(cm - 1) % 3] / (sum(q) / 3.0)
            * y[cm - 1] / (sum(y) / 12.0))


def _market(par: dict[str, float], rng: random.Random) -> float:
    """The month's market shock of acquisition: gamma, mean 1, variance the dispersion."""
    phi = par["new_customer_dispersion"]
    return rng.gammavariate(1.0 / phi, phi) if phi > 1e-12 else 1.0  # 1e-12: the Poisson limit


def _discrepancy(par: dict[str, float], z: list[float] | None, rng: random.Random
                 ) -> tuple[list[float] | None, float, float]:
    """The month's model-discrepancy multipliers of acquisition and repeat orders (5.13): two
    AR(1) series of standardised log shocks ``z`` (None before the first month: it starts at
    the stationary law), each multiplier exp(s z - s^2/2). Nothing is drawn at scale 0."""
    s, rho = par["discrepancy_scale"], par["discrepancy_persistence"]
    if s <= 0.0:
        return z, 1.0, 1.0
    e = [rng.gauss(0.0, 1.0), rng.gauss(0.0, 1.0)]
    z = e if z is None else [rho * zi + math.sqrt(1.0 - rho * rho) * ei
                             for zi, ei in zip(z, e)]
    return z, math.exp(s * z[0] - s * s / 2.0), math.exp(s * z[1] - s * s / 2.0)


def _survey_month(cm: int, per_year: float) -> bool:
    k = int(round(per_year))
    if k <= 0:
        return False
    return cm % max(1, int(round(12 / min(k, 12)))) == 0


# -- one path ----------------------------------------------------------------------------------
class _Seat:
    __slots__ = ("state", "vacancy", "tenure", "skill", "active", "stock", "new", "fresh",
                 "coach_wait", "coach_left", "coach_hours", "coach_effect",
                 "train_wait", "train_left", "train_extra",
                 "shift_wait", "shift_left", "shift_amount", "acc")

    def __init__(self) -> None:
        self.state = 0  # 0 closed, 1 vacant, 2 filled, 3 planned (new_reps, not open yet)
        self.vacancy = 0.0
        self.tenure = 0.0
        self.skill = 1.0
        self.active = 0.0
        self.stock = 0.0
        self.new = self.fresh = False  # a new_reps seat; one not filled yet
        self.coach_wait = self.coach_left = self.coach_hours = self.coach_effect = 0.0
        self.train_wait = self.train_left = self.train_extra = 0.0
        self.shift_wait = self.shift_left = self.shift_amount = 0.0
        self.acc = dict.fromkeys(_ACC, 0.0)


def _skill(cv: float, rng: random.Random) -> float:
    s2 = math.log1p(cv * cv)
    return math.exp(-s2 / 2.0 + math.sqrt(s2) * rng.gauss(0.0, 1.0))


def _month_no(month: str) -> int:
    y, m = month.split("-")
    return 12 * int(y) + int(m) - 1


def _baseline(plan) -> list[float]:
    b = plan.baseline
    H = plan.horizon_months
    if b is None:
        return [math.nan] * H
    if b.monthly_revenue is not None:
        return [float(b.monthly_revenue[g % 12]) for g in range(H)]
    # the annual figure spread by the seasonal factors at the default priors' means: an
    # uplift of ~0.15, neutral month-of-quarter and month-of-year factors
    mean = {"quarter_end_uplift": PRIORS["quarter_end_uplift"][1]["mu"],
            **{f"season_{k}": 1.0 for k in _SEASON_KEYS}}
    norm = sum(_season(cm, mean) for cm in range(1, 13))
    m0 = int(plan.start_month.split("-")[1]) - 1
    return [b.annual_revenue * _season((m0 + g) % 12 + 1, mean) / norm for g in range(H)]


def _rule_get(rule, key: str) -> float:
    v = getattr(rule, key, None)
    return RESPONSE_DEFAULTS[rule.response][key] if v is None else v


def _seats(plan, acts: dict[str, float], par: dict[str, float], rng: random.Random
           ) -> list[_Seat]:
    """The roster (vacant seats included), one closed seat per rep each hiring rule may open,
    then the planned seats of the new_reps lever (section 1, 5.12)."""
    team = plan.team
    roster = list(team.reps) if not isinstance(team.reps, int) else [None] * team.reps
    n_extra = sum(int(_rule_get(r, "reps")) for r in plan.management.rules
                  if r.response == "hiring")
    n_new = int(round(acts["new_reps"]))
    seats = [_Seat() for _ in range(len(roster) + n_extra + n_new)]
    for s, rep in zip(seats, roster):
        s.state = 2
        s.tenure = float(team.tenure_months if rep is None or rep.tenure_months is None
                         else rep.tenure_months)
        s.active = float(round(team.customers_per_rep if rep is None or rep.customers is None
                               else rep.customers))
        s.skill = _skill(par["skill_cv"], rng)
        if rep is not None and rep.vacant_months is not None:
            # a vacant seat: its book waits vacant_months for a new rep (tenure 0, drawn skill)
            s.tenure = 0.0
            if rep.vacant_months > 0:
                s.state, s.vacancy = 1, float(rep.vacant_months)
        elif rep is not None and rep.skill is not None:
            s.skill = float(rep.skill)
    for s in seats[len(seats) - n_new:]:
        s.state, s.new, s.fresh = 3, True, True
    return seats


def _fill_ready(seats: list[_Seat], par, rng: random.Random, share: bool, diag) -> None:
    """Vacant seats whose delay is over get a new rep (tenure 0, no stock, a fresh skill); a
    new_reps seat filled for the first time then takes its share of the books (5.12)."""
    ready = [s for s in seats if s.state == 1 and s.vacancy <= 0]
    for s in ready:
        s.state, s.tenure, s.stock = 2, 0.0, 0.0
        s.skill = _skill(par["skill_cv"], rng)
        diag["hires"] += 1
    fresh = [s for s in ready if s.fresh]
    for s in fresh:
        s.fresh = False
    if share and fresh:
        # every other staffed seat hands each new seat floor(A / k) of its book as it stood,
        # k counting every staffed seat, the new ones included
        staffed = [t for t in seats if t.state in (1, 2)]
        for t in staffed:
            if t in fresh or t.active <= 0:
                continue
            give = math.floor(t.active / len(staffed))
            t.active -= give * len(fresh)
            for s in fresh:
                s.active += give


def _staffing(seats: list[_Seat], par, rng: random.Random, h_att: float, delay: float,
              share: bool, diag) -> None:
    """Attrition at the end of the month, then refills of seats whose delay is over (5.12)."""
    for s in seats:
        leave = s.state == 2 and rng.random() < h_att
        if s.state == 1:
            s.vacancy -= 1
        if leave:
            s.state, s.vacancy = 1, delay
            s.coach_left = s.train_left = s.shift_left = 0.0
            diag["departures"] += 1
    _fill_ready(seats, par, rng, share, diag)


def _running(s: _Seat, kind: str) -> bool:
    return getattr(s, kind + "_wait") <= 0 and getattr(s, kind + "_left") > 0


def _effort(team, acts: dict[str, float], seats: list[_Seat], par, diag
            ) -> list[tuple[float, ...]]:
    """Section 5.1. Per seat: coaching hours, training hours, own customer visits, covering
    visits and prospect visits executed, the visits its book receives, and whether coached."""
    H, hc, hp = (team.selling_hours_per_month, team.hours_per_customer_visit,
                 team.hours_per_prospect_visit)
    shared = team.vacancy == "shared"
    plans = []
    for s in seats:
        filled = s.state == 2
        shift = s.shift_amount * WEEKS_PER_MONTH if _running(s, "shift") else 0.0
        pv0 = max(acts["prospect_visits_per_week"] * WEEKS_PER_MONTH - shift, 0.0)
        cv0 = max(acts["customer_visits_per_week"] * WEEKS_PER_MONTH + shift, 0.0)
        coached = filled and _running(s, "coach")
        ch = s.coach_hours if coached else 0.0
        th = acts["training_hours_per_month"] + (s.train_extra if _running(s, "train")
                                                 else 0.0)
        ramp = min(1.0, (s.tenure + 1.0) / max(par["ramp_months"], 1e-9))
        # covering visits a book with customers needs: a vacant seat's, a ramping rep's
        # shortfall (docs/model.md 5.1 names the customers for the vacant seat only)
        need = 0.0
        if shared and s.active > 0:
            need = cv0 * (1.0 - ramp) if filled else (cv0 if s.state == 1 else 0.0)
        plans.append((filled, coached, ch, th if filled else 0.0, cv0, pv0, ramp, need))
    n_filled = sum(p[0] for p in plans)
    total_need = sum(p[7] for p in plans)
    cover = total_need / n_filled if n_filled else 0.0
    done_all, made = [], 0.0
    for filled, coached, ch, th, cv0, pv0, ramp, need in plans:
        if not filled:
            done_all.append([0.0] * 5)
            continue
        done = [ch, th, cv0, cover, pv0]
        planned = ch + th + (cv0 + cover) * hc + pv0 * hp
        if planned > H:  # by priority: coaching, training, own, covering, prospect visits
            left = H
            for i, per in enumerate((1.0, 1.0, hc, hc, hp)):
                if per > 0:
                    done[i] = min(done[i], left / per)
                    left = max(left - done[i] * per, 0.0)
        made += done[3]
        for key, v in (("rep_months", 1.0), ("hours_available", H),
                       ("capacity_capped_rep_months", float(planned > H + 0.01)),
                       ("hours_planned", planned),
                       ("hours_executed", done[0] + done[1] + (done[2] + done[3]) * hc
                        + done[4] * hp),
                       ("prospect_visits_planned", pv0), ("prospect_visits_executed", done[4]),
                       ("customer_visits_planned", cv0 + cover),
                       ("customer_visits_executed", done[2] + done[3]),
                       ("training_hours_planned", th), ("training_hours_executed", done[1])):
            diag[key] += v
        done_all.append(done)
    out = []
    for (filled, coached, *_, ramp, need), done in zip(plans, done_all):
        # own visits times the ramp, plus the covering visits made, in proportion to need
        v = done[2] * ramp + (made * need / total_need if total_need > 0 else 0.0)
        out.append((*done, v, coached))
    return out


def _seat_month(s: _Seat, work, par, pc: dict[str, float], season: float, marketing: float,
                completed: bool, revisits: str, rng: random.Random) -> dict[str, float]:
    """One seat's month (5.2, 5.6-5.8, 5.11) given its effort; updates its book and stock."""
    ch, th, cv, cover, pv, v, coached = work
    coach = 1.0 + (s.coach_effect if coached else 0.0)
    lam = 0.0
    if s.state == 2:
        ramp = min(1.0, (s.tenure + 1.0) / max(par["ramp_months"], 1e-9))
        uplift = par["training_effect"] * (1.0 - math.exp(-s.stock)) / (1.0 - math.exp(-1.0))
        lam = (par["base_win_rate"] * s.skill * ramp * (1.0 + uplift) * coach
               * (pv / REF_PROSPECT_VISITS) ** par["visit_elasticity"] * season * marketing)
    new = poisson(max(lam, 0.0), rng)
    A = s.active
    z, eta = par["followup_targeting"] * coach * v / max(A, 1.0), par["revisit_heterogeneity"]
    reach = 1.0 - ((1.0 + eta * z) ** (-1.0 / eta) if eta > 0 else math.exp(-z))  # 5.6
    n_a = int(A)
    rev = binomial_normal(n_a, reach, rng) if revisits == "normal" else \
        binomial(n_a, reach, rng)
    rr = rev / A if A > 0 else 0.0
    hazard = par["churn_base"] * (1.0 - par["churn_revisit_effect"] * rr)
    churned = min(n_a, poisson(A * min(max(hazard, 0.0), 1.0), rng))
    kept, e = A - churned, par["visit_order_effect"]  # min(rev, kept) of them revisited
    orders = new + poisson(max((kept + e * min(rev, kept)) * season * pc["d_ord"]
                               * par["repeat_order_rate"]
                               / (1.0 + e * REF_REVISIT), 0.0), rng)
    revenue = 0.0 if not orders else orders * par["order_value"] if pc["c2"] == 0 else \
        rng.gammavariate(orders / pc["c2"], par["order_value"] * pc["c2"])
    resp = sat = 0.0
    if completed:
        sp = _expit(pc["logit_base"] + par["csat_coverage_effect"] * (rr - REF_REVISIT)
                    + par["csat_training_effect"] * min(s.stock, 3.0))
        resp = binomial(n_a, par["survey_response_rate"], rng)
        sat = binomial(resp, sp, rng)
    got = {"revenue": revenue, "new": new, "active": A, "revisited": rev, "churned": churned,
           "resp": resp, "sat": sat, "filled": float(s.state == 2), "pv": pv, "cv": cv + cover,
           "hours": th + ch, "coach": ch}
    # state update (step 7)
    s.active = A - churned + new
    s.stock = pc["ret"] * s.stock + (1.0 - pc["ret"]) * (th + ch) / REF_TRAINING_HOURS
    if s.state == 2:
        for k, key in (("revisited", "revisited"), ("active", "active"), ("new", "new"),
                       ("revenue", "revenue"), ("churned", "churned"), ("filled", "filled"),
                       ("prospect_visits", "pv"), ("customer_visits", "cv"),
                       ("training_hours", "hours")):
            s.acc[k] += got[key]
        s.tenure += 1.0
    for kind in ("coach", "train", "shift"):
        if _running(s, kind):
            setattr(s, kind + "_left", getattr(s, kind + "_left") - 1)
        setattr(s, kind + "_wait", max(getattr(s, kind + "_wait") - 1, 0))
    return got


def _record(out: dict[str, list[float]], tot: dict[str, float], completed: bool,
            cum: list[float], last_csat: float, n_quarters: int) -> None:
    """The month's team metrics (section 8), all but cost."""
    for k, v in (("revenue", tot["revenue"]), ("cumulative_revenue", cum[0]),
                 ("revenue_growth", cum[0] / cum[1] - 1.0), ("new_customers", tot["new"]),
                 ("active_customers", tot["active"]),
                 ("revisited_customers", tot["revisited"]),
                 ("revisit_rate", tot["revisited"] / tot["active"] if tot["active"] > 0
                  else math.nan),
                 ("churned_customers", tot["churned"]), ("csat", last_csat),
                 ("csat_responses", tot["resp"] if completed else 0.0),
                 ("csat_satisfied", tot["sat"] if completed else 0.0),
                 ("surveys_done", 1.0 if completed and tot["resp"] > 0 else 0.0),
                 ("quarters_surveyed", float(n_quarters)), ("headcount", tot["filled"]),
                 ("prospect_visits", tot["pv"]), ("customer_visits", tot["cv"]),
                 ("training_hours", tot["hours"]), ("coaching_hours", tot["coach"])):
        out[k].append(v)


def _simulate_path(plan, par: dict[str, float], rng: random.Random, revisits: str,
                   diag: dict[str, float], books: list[list[float]]) -> dict[str, list[float]]:
    """One path's metrics by month; adds to ``diag`` and appends each month's books (the
    customers each seat holds at the start of the month) to ``books``."""
    team = plan.team
    acts = {**LEVER_DEFAULTS, **{k: float(v) for k, v in plan.actions.items()}}
    rules = list(plan.management.rules)
    every = plan.management.review_every_months
    m0 = int(plan.start_month.split("-")[1]) - 1
    base = _baseline(plan)
    seats = _seats(plan, acts, par, rng)
    open_g = _month_no(team.new_reps_month or plan.start_month) - _month_no(plan.start_month)
    share = team.new_rep_book == "share"
    hires_done = [False] * len(rules)
    mkt_wait = mkt_left = mkt_events = 0.0
    last_csat = math.nan
    quarters: set[int] = set()
    months_since_review = 0
    h_att = 1.0 - (1.0 - min(max(par["rep_attrition_annual"], 0.0), 1.0)) ** (1.0 / 12.0)
    delay = max(0.0, float(round(par["hiring_delay_months"])))
    cb = min(max(par["csat_base"], 1e-9), 1 - 1e-9)
    pc = {"logit_base": math.log(cb / (1.0 - cb)), "c2": par["order_value_cv"] ** 2,
          "ret": min(max(par["training_retention"], 0.0), 1.0)}
    out: dict[str, list[float]] = {k: [] for k in METRICS}
    cum = [0.0, 0.0]  # cumulative revenue and baseline
    z = None  # the discrepancy's standardised log shocks of the last month
    for g in range(plan.horizon_months):
        if g == open_g:  # the new_reps seats open, vacant for the hiring delay (5.12)
            for s in seats:
                if s.state == 3:
                    s.state, s.vacancy = 1, delay
            _fill_ready(seats, par, rng, share, diag)
        cm = (m0 + g) % 12 + 1
        season = _season(cm, par)
        mkt_on = mkt_wait <= 0 and mkt_left > 0
        # the market shock multiplies acquisition only, like marketing (5.2)
        marketing = (1.0 + par["marketing_effect"] * math.log2(
            1.0 + acts["marketing_events_per_quarter"] + (mkt_events if mkt_on else 0.0))
        ) * _market(par, rng)
        # the discrepancy multiplies acquisition (with marketing) and repeat orders (5.13)
        z, d_acq, pc["d_ord"] = _discrepancy(par, z, rng)
        marketing *= d_acq
        completed = _survey_month(cm, acts["csat_surveys_per_year"]) and \
            rng.random() < par["survey_completion"]
        diag["new_rep_months"] += sum(s.new and s.state == 2 for s in seats)
        books.append([s.active for s in seats])
        work = _effort(team, acts, seats, par, diag)
        tot = dict.fromkeys(("revenue", "new", "active", "revisited", "churned", "resp", "sat",
                             "filled", "pv", "cv", "hours", "coach"), 0.0)
        for s, w in zip(seats, work):
            for k, v in _seat_month(s, w, par, pc, season, marketing, completed, revisits,
                                    rng).items():
                tot[k] += v
        if mkt_wait <= 0 and mkt_left > 0:
            mkt_left -= 1
        mkt_wait = max(mkt_wait - 1, 0)
        if mkt_left <= 0:
            mkt_events = 0.0
        if tot["resp"] > 0 and completed:
            last_csat = tot["sat"] / tot["resp"]
            quarters.add((m0 + g) // 3)
        cum[0] += tot["revenue"]
        cum[1] += base[g]
        _record(out, tot, completed, cum, last_csat, len(quarters))
        cost = team.hourly_cost * tot["hours"]
        _staffing(seats, par, rng, h_att, delay, share, diag)
        # management review (section 6)
        months_since_review += 1
        if every > 0 and rules and (g + 1) % every == 0:
            cost += _review(plan, rules, seats, par, out, months_since_review, hires_done, diag)
            mkt = _review_marketing(rules, seats, out, months_since_review, mkt_wait, mkt_left,
                                    diag)
            if mkt is not None:
                mkt_wait, mkt_left, mkt_events, mkt_cost = mkt
                cost += mkt_cost
            for s in seats:
                s.acc = dict.fromkeys(_ACC, 0.0)
            months_since_review = 0
        out["cost"].append(cost)
    return out


def _values(rule, seats, out, months: int) -> tuple[list[float], float]:
    """The rule's metric per seat (NaN for a seat not filled since the last review) and for
    the team."""
    per_seat = []
    for s in seats:
        a = s.acc
        if rule.metric == "revisit_rate":
            per_seat.append(a["revisited"] / a["active"] if a["active"] > 0 else math.nan)
        elif a["filled"] > 0:
            per_seat.append(a[_ACC_OF[rule.metric]] / a["filled"]
                            if rule.metric in _ACC_OF else math.nan)
        else:
            per_seat.append(math.nan)
    if rule.metric == "revisit_rate":
        act = sum(s.acc["active"] for s in seats)
        team = sum(s.acc["revisited"] for s in seats) / act if act > 0 else math.nan
    elif rule.metric in _ACC_OF:
        team = sum(s.acc[_ACC_OF[rule.metric]] for s in seats) / max(months, 1)
    else:
        team = out[rule.metric][-1]
    return per_seat, team


def _fires(rule, v: float) -> bool:
    if math.isnan(v):
        return False
    return v < rule.below if rule.below is not None else v > rule.above


def _review(plan, rules, seats, par, out, months, hires_done, diag) -> float:
    """Rules other than marketing pushes; returns their money cost (marketing: see below)."""
    cost = 0.0
    for i, rule in enumerate(rules):
        if rule.response == "marketing_push":
            continue
        per_seat, team = _values(rule, seats, out, months)
        wait = float(_rule_get(rule, "delay_months"))
        dur = float(_rule_get(rule, "duration_months"))
        if rule.response == "hiring":
            fire = any(s.state == 2 and _fires(rule, v) for s, v in zip(seats, per_seat)) \
                if rule.per_rep else _fires(rule, team)
            if fire and not hires_done[i]:
                hires_done[i] = True
                k = int(_rule_get(rule, "reps"))
                for s in [s for s in seats if s.state == 0][:k]:
                    s.state, s.active = 1, 0.0
                    s.vacancy = wait + max(0.0, float(round(par["hiring_delay_months"])))
                cost += _rule_get(rule, "cost") * k
                diag[f"rule:{_rid(rule, i)}:fired"] += 1
            continue
        for s, v in zip(seats, per_seat):
            if s.state != 2:
                continue
            if not (_fires(rule, v) if rule.per_rep else _fires(rule, team)):
                continue
            if rule.response == "coaching":
                if s.coach_wait > 0 or s.coach_left > 0:
                    continue  # pending or running: not restarted
                s.coach_wait, s.coach_left = wait, dur
                s.coach_hours = float(_rule_get(rule, "hours_per_month"))
                s.coach_effect = par["coaching_effect"] if rule.effect is None \
                    else float(rule.effect)
            elif rule.response == "training":
                if s.train_wait > 0 or s.train_left > 0:
                    continue
                s.train_wait, s.train_left = wait, dur
                s.train_extra = float(_rule_get(rule, "hours_per_month"))
            elif rule.response == "shift_visits":
                if s.shift_wait > 0 or s.shift_left > 0:
                    continue
                s.shift_wait, s.shift_left = wait, dur
                s.shift_amount = float(_rule_get(rule, "visits_per_week"))
            cost += _rule_get(rule, "cost")
            diag[f"rule:{_rid(rule, i)}:fired"] += 1
    return cost


def _rid(rule, i: int) -> str:
    return rule.id or f"rule{i}"


def _review_marketing(rules, seats, out, months, mkt_wait, mkt_left, diag):
    """Marketing pushes (team-wide; a push pending or running is not restarted)."""
    result = None
    for i, rule in enumerate(rules):
        if rule.response != "marketing_push":
            continue
        per_seat, team = _values(rule, seats, out, months)
        fire = any(s.state == 2 and _fires(rule, v) for s, v in zip(seats, per_seat)) \
            if rule.per_rep else _fires(rule, team)
        busy = mkt_wait > 0 or mkt_left > 0
        if fire and not busy:
            mkt_wait = float(_rule_get(rule, "delay_months"))
            mkt_left = float(_rule_get(rule, "duration_months"))
            events = float(_rule_get(rule, "events"))
            prev_cost = 0.0 if result is None else result[3]
            result = (mkt_wait, mkt_left, events, prev_cost + _rule_get(rule, "cost"))
            diag[f"rule:{_rid(rule, i)}:fired"] += 1
    return result


def _priors(plan) -> dict[str, Any]:
    out: dict[str, Any] = dict(PRIORS)
    for k, v in plan.parameters.items():
        if k in out:
            # a named distribution (dist + args), or any object with ppf (scipy frozen)
            out[k] = (v.dist, dict(v.args)) if hasattr(v, "dist") and hasattr(v, "args") \
                else v
    return out


def simulate_reference(plan, n_paths: int, seed: int, *, revisits: str = "normal"
                       ) -> dict[str, Any]:
    """Simulate ``n_paths`` paths of ``plan``, one at a time.

    Returns ``{"metrics": {metric: [[month values] per path]}, "params": [{name: value} per
    path], "diagnostics": [{each of DIAGNOSTICS, rule:<id>:fired} per path], "books":
    [[[customers per seat at the start of the month] per month] per path]}``, the diagnostics
    named as the engine's (its are sums over paths), the seats in the engine's order (roster,
    hiring rules' seats, new_reps seats). Path i uses ``random.Random(f"{seed}:{i}")``.
    """
    if revisits not in ("normal", "binomial"):
        raise ValueError(f"revisits must be 'normal' or 'binomial', got {revisits!r}")
    priors = _priors(plan)
    metrics: dict[str, list[list[float]]] = {k: [] for k in METRICS}
    params, diags, books = [], [], []
    keys = list(DIAGNOSTICS) + [f"rule:{_rid(r, i)}:fired"
                                for i, r in enumerate(plan.management.rules)]
    for i in range(n_paths):
        rng = random.Random(f"{seed}:{i}")
        par = {k: (draw_prior(*spec, rng) if isinstance(spec, tuple)
                   else float(spec.ppf(rng.random())))
               for k, spec in priors.items()}
        params.append(par)
        diag = dict.fromkeys(keys, 0.0)
        books.append([])
        for k, v in _simulate_path(plan, par, rng, revisits, diag, books[-1]).items():
            metrics[k].append(v)
        diags.append(diag)
    return {"metrics": metrics, "params": params, "diagnostics": diags, "books": books}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default=None)
    ap.add_argument("--paths", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--revisits", choices=("normal", "binomial"), default="normal")
    a = ap.parse_args(argv)
    if a.scenario is None:
        from pathlib import Path
        a.scenario = Path(__file__).resolve().parent.parent / "data/scenarios/case_study.toml"
    plan = load_plan(a.scenario)
    t0 = time.perf_counter()
    res = simulate_reference(plan, a.paths, a.seed, revisits=a.revisits)
    dt = time.perf_counter() - t0
    m = res["metrics"]
    mean = lambda rows: sum(sum(r) / len(r) for r in rows) / len(rows)  # noqa: E731
    print(f"{a.paths} paths in {dt:.2f} s ({dt / a.paths * 1e3:.2f} ms per path)")
    for k in ("new_customers", "churned_customers", "revenue", "headcount"):
        print(f"mean monthly {k}: {mean(m[k]):.4g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
