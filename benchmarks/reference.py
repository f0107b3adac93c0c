"""A second, deliberately plain implementation of the sales-team model: one path, one rep, one
month at a time, in pure Python with the ``random`` module.

It is written from docs/model.md (sections 1-8) and imports nothing from okma_sim but the plan
loader, so it shares no code with the engine or the model: its priors, lever defaults, response
defaults, samplers and the monthly step are all its own. It serves twice:

- as a **correctness oracle** (tests/test_reference_oracle.py): on small runs its metric
  distributions must agree with the engine's;
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
import random
import sys
import time
from typing import Any

from okma_sim.plan import load_plan

__all__ = ["simulate_reference", "PRIORS", "LEVER_DEFAULTS", "RESPONSE_DEFAULTS", "METRICS"]

WEEKS_PER_MONTH = 52.0 / 12.0
REF_PROSPECT_VISITS = 6.0 * WEEKS_PER_MONTH
REF_TRAINING_HOURS = 8.0
REF_REVISIT = 0.8

#: default priors (docs/model.md section 3): name -> (dist, args)
PRIORS: dict[str, tuple[str, dict[str, float]]] = {
    "base_win_rate": ("gamma", {"shape": 25.0, "scale": 0.032}),
    "visit_elasticity": ("normal", {"mu": 0.34, "sigma": 0.08, "low": 0.0, "high": 1.0}),
    "skill_cv": ("uniform", {"low": 0.2, "high": 0.4}),
    "training_effect": ("normal", {"mu": 0.10, "sigma": 0.04}),
    "training_retention": ("beta", {"a": 14.0, "b": 6.0}),
    "coaching_effect": ("pert", {"low": 0.0, "mode": 0.08, "high": 0.19}),
    "followup_targeting": ("lognormal", {"median": 1.5, "sigma": 0.15}),
    "churn_base": ("beta", {"a": 8.0, "b": 192.0}),
    "churn_revisit_effect": ("beta", {"a": 12.0, "b": 8.0}),
    "repeat_order_rate": ("gamma", {"shape": 50.0, "scale": 0.01}),
    "order_value": ("lognormal", {"median": 2000.0, "sigma": 0.1}),
    "order_value_cv": ("fixed", {"value": 0.8}),
    "quarter_end_uplift": ("normal", {"mu": 0.15, "sigma": 0.05, "low": -0.5, "high": 1.5}),
    "marketing_effect": ("triangular", {"low": 0.0, "mode": 0.05, "high": 0.12}),
    "csat_base": ("beta", {"a": 78.0, "b": 22.0}),
    "csat_coverage_effect": ("normal", {"mu": 2.0, "sigma": 0.7}),
    "csat_training_effect": ("normal", {"mu": 0.2, "sigma": 0.1}),
    "survey_completion": ("beta", {"a": 18.0, "b": 2.0}),
    "survey_response_rate": ("beta", {"a": 6.0, "b": 14.0}),
    "rep_attrition_annual": ("beta", {"a": 32.0, "b": 68.0}),
    "hiring_delay_months": ("triangular", {"low": 1.0, "mode": 2.0, "high": 4.0}),
    "ramp_months": ("triangular", {"low": 3.0, "mode": 5.0, "high": 8.0}),
}

#: lever defaults (docs/model.md section 4)
LEVER_DEFAULTS = {"prospect_visits_per_week": 6.0, "customer_visits_per_week": 8.0,
                  "training_hours_per_month": 4.0, "marketing_events_per_quarter": 1.0,
                  "csat_surveys_per_year": 4.0}

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

# per-seat accumulators since the last review, and the per-rep metric each one serves
_ACC = ("revisited", "active", "new", "revenue", "churned", "filled", "prospect_visits",
        "customer_visits", "training_hours")
_ACC_OF = {"new_customers": "new", "churned_customers": "churned",
           "active_customers": "active", "revisited_customers": "revisited",
           "revenue": "revenue", "prospect_visits": "prospect_visits",
           "customer_visits": "customer_visits", "training_hours": "training_hours"}


# -- scalar samplers ---------------------------------------------------------------------------
def draw_prior(dist: str, a: dict[str, float], rng: random.Random) -> float:
    """One draw from a named prior."""
    if dist == "fixed":
        return float(a["value"])
    if dist == "uniform":
        return rng.uniform(a["low"], a["high"])
    if dist == "triangular":
        return rng.triangular(a["low"], a["high"], a["mode"])
    if dist == "pert":
        w = a["high"] - a["low"]
        al = 1 + 4 * (a["mode"] - a["low"]) / w
        be = 1 + 4 * (a["high"] - a["mode"]) / w
        return a["low"] + w * rng.betavariate(al, be)
    if dist == "normal":
        lo, hi = a.get("low", -math.inf), a.get("high", math.inf)
        while True:  # truncation by rejection
            x = rng.gauss(a["mu"], a["sigma"])
            if lo <= x <= hi:
                return x
    if dist == "lognormal":
        return a["median"] * math.exp(a["sigma"] * rng.gauss(0.0, 1.0))
    if dist == "gamma":
        return rng.gammavariate(a["shape"], a["scale"])
    if dist == "beta":
        return rng.betavariate(a["a"], a["b"])
    raise ValueError(f"unknown distribution {dist!r}")


def poisson(lam: float, rng: random.Random) -> int:
    """Exact Poisson(lam), by inversion of one uniform (split when exp(-lam) would underflow)."""
    if lam <= 0.0:
        return 0
    if lam > 500.0:
        half = lam / 2.0
        return poisson(half, rng) + poisson(lam - half, rng)
    u = rng.random()
    k, p = 0, math.exp(-lam)
    F = p
    while u > F and k < 10_000:
        k += 1
        p *= lam / k
        F += p
        if p == 0.0:
            break
    return k


def binomial(n: int, q: float, rng: random.Random) -> int:
    """Exact Binomial(n, q), by inversion of one uniform (from the shorter side)."""
    if n <= 0 or q <= 0.0:
        return 0
    if q >= 1.0:
        return n
    if q > 0.5:
        return n - binomial(n, 1.0 - q, rng)
    u = rng.random()
    k, p = 0, (1.0 - q) ** n
    F, r = p, q / (1.0 - q)
    while u > F and k < n:
        k += 1
        p *= r * (n - k + 1) / k
        F += p
    return k


def binomial_normal(n: int, q: float, rng: random.Random) -> int:
    """The engine's revisit law: ceil(nq + z sqrt(nq(1-q)) - 1/2) clipped to [0, n]."""
    mu = n * q
    k = math.ceil(mu + rng.gauss(0.0, 1.0) * math.sqrt(max(mu * (1.0 - q), 0.0)) - 0.5)
    return int(min(max(k, 0), n))


def _expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def _season(cm: int, u: float) -> float:
    return 1.0 + u if cm % 3 == 0 else 1.0 - u / 2.0


def _survey_month(cm: int, per_year: float) -> bool:
    k = int(round(per_year))
    if k <= 0:
        return False
    return cm % max(1, int(round(12 / min(k, 12)))) == 0


# -- one path ----------------------------------------------------------------------------------
class _Seat:
    __slots__ = ("state", "vacancy", "tenure", "skill", "active", "stock",
                 "coach_wait", "coach_left", "coach_hours", "coach_effect",
                 "train_wait", "train_left", "train_extra",
                 "shift_wait", "shift_left", "shift_amount", "acc")

    def __init__(self) -> None:
        self.state = 0  # 0 closed, 1 vacant, 2 filled
        self.vacancy = 0.0
        self.tenure = 0.0
        self.skill = 1.0
        self.active = 0.0
        self.stock = 0.0
        self.coach_wait = self.coach_left = self.coach_hours = self.coach_effect = 0.0
        self.train_wait = self.train_left = self.train_extra = 0.0
        self.shift_wait = self.shift_left = self.shift_amount = 0.0
        self.acc = dict.fromkeys(_ACC, 0.0)


def _skill(cv: float, rng: random.Random) -> float:
    s2 = math.log1p(cv * cv)
    return math.exp(-s2 / 2.0 + math.sqrt(s2) * rng.gauss(0.0, 1.0))


def _baseline(plan) -> list[float]:
    b = plan.baseline
    H = plan.horizon_months
    if b is None:
        return [math.nan] * H
    if b.monthly_revenue is not None:
        return [float(b.monthly_revenue[g % 12]) for g in range(H)]
    # the annual figure spread by the prior mean of quarter_end_uplift (~0.15)
    u = PRIORS["quarter_end_uplift"][1]["mu"]
    norm = sum(_season(cm, u) for cm in range(1, 13))
    m0 = int(plan.start_month.split("-")[1]) - 1
    return [b.annual_revenue * _season((m0 + g) % 12 + 1, u) / norm for g in range(H)]


def _rule_get(rule, key: str) -> float:
    v = getattr(rule, key, None)
    return RESPONSE_DEFAULTS[rule.response][key] if v is None else v


def _simulate_path(plan, par: dict[str, float], rng: random.Random, revisits: str,
                   diag: dict[str, float]) -> dict[str, list[float]]:
    team = plan.team
    acts = {**LEVER_DEFAULTS, **{k: float(v) for k, v in plan.actions.items()}}
    rules = list(plan.management.rules)
    every = plan.management.review_every_months
    H = plan.horizon_months
    m0 = int(plan.start_month.split("-")[1]) - 1
    base = _baseline(plan)

    # seats: the roster, then one closed seat per rep each hiring rule may open
    roster = list(team.reps) if not isinstance(team.reps, int) else [None] * team.reps
    n_extra = sum(int(r.reps or 1) for r in rules if r.response == "hiring")
    seats = [_Seat() for _ in range(len(roster) + n_extra)]
    for s, rep in zip(seats, roster):
        s.state = 2
        s.tenure = float(team.tenure_months if rep is None or rep.tenure_months is None
                         else rep.tenure_months)
        s.active = float(round(team.customers_per_rep if rep is None or rep.customers is None
                               else rep.customers))
        s.skill = _skill(par["skill_cv"], rng)
        if rep is not None and rep.skill is not None:
            s.skill = float(rep.skill)
    hires_done = [False] * len(rules)
    mkt_wait = mkt_left = mkt_events = 0.0
    cum_rev, last_csat = 0.0, math.nan
    quarters: set[int] = set()
    months_since_review = 0

    h_att = 1.0 - (1.0 - min(max(par["rep_attrition_annual"], 0.0), 1.0)) ** (1.0 / 12.0)
    hire_delay = max(0.0, float(round(par["hiring_delay_months"])))
    cb = min(max(par["csat_base"], 1e-9), 1 - 1e-9)
    logit_base = math.log(cb / (1.0 - cb))
    ret = min(max(par["training_retention"], 0.0), 1.0)
    c2 = par["order_value_cv"] ** 2
    pv_plan = acts["prospect_visits_per_week"] * WEEKS_PER_MONTH
    cv_plan = acts["customer_visits_per_week"] * WEEKS_PER_MONTH
    mkt_plan = acts["marketing_events_per_quarter"]

    out = {k: [] for k in METRICS}
    cum_base = 0.0
    for g in range(H):
        cm = (m0 + g) % 12 + 1
        season = _season(cm, par["quarter_end_uplift"])
        mkt_on = mkt_wait <= 0 and mkt_left > 0
        marketing = 1.0 + par["marketing_effect"] * math.log2(
            1.0 + mkt_plan + (mkt_events if mkt_on else 0.0))
        survey = _survey_month(cm, acts["csat_surveys_per_year"])
        completed = survey and rng.random() < par["survey_completion"]
        tot = dict.fromkeys(("revenue", "new", "active", "revisited", "churned", "resp", "sat",
                             "filled", "pv", "cv", "hours", "coach"), 0.0)
        for s in seats:
            filled = s.state == 2
            # effort and capacity (5.1)
            shift = s.shift_amount * WEEKS_PER_MONTH if (s.shift_wait <= 0 and
                                                         s.shift_left > 0) else 0.0
            pv, cv = max(pv_plan - shift, 0.0), max(cv_plan + shift, 0.0)
            coached = filled and s.coach_wait <= 0 and s.coach_left > 0
            trained = filled and s.train_wait <= 0 and s.train_left > 0
            ch = s.coach_hours if coached else 0.0
            th = (acts["training_hours_per_month"] + (s.train_extra if trained else 0.0)) \
                if filled else 0.0
            free = max(team.selling_hours_per_month - th - ch, 0.0)
            need = pv * team.hours_per_prospect_visit + cv * team.hours_per_customer_visit
            if not filled:
                pv = cv = 0.0
            elif need > free + 1e-9:
                pv, cv = pv * free / need, cv * free / need
            # acquisition (5.2)
            coach = 1.0 + (s.coach_effect if coached else 0.0)
            if filled:
                ramp = min(1.0, (s.tenure + 1.0) / max(par["ramp_months"], 1e-9))
                uplift = par["training_effect"] * (1.0 - math.exp(-s.stock)) / (
                    1.0 - math.exp(-1.0))
                lam = (par["base_win_rate"] * s.skill * ramp * (1.0 + uplift) * coach
                       * (pv / REF_PROSPECT_VISITS) ** par["visit_elasticity"] * season
                       * marketing)
            else:
                lam = 0.0
            new = poisson(max(lam, 0.0), rng)
            # follow-ups and churn (5.6, 5.7)
            A = s.active
            reach = 1.0 - math.exp(-par["followup_targeting"] * coach * cv / max(A, 1.0))
            n_a = int(A)
            rev = binomial_normal(n_a, reach, rng) if revisits == "normal" else \
                binomial(n_a, reach, rng)
            rr = rev / A if A > 0 else 0.0
            hazard = par["churn_base"] * (1.0 - par["churn_revisit_effect"] * rr)
            churned = min(n_a, poisson(A * min(max(hazard, 0.0), 1.0), rng))
            # orders and revenue (5.8)
            orders = new + poisson(max((A - churned) * par["repeat_order_rate"] * season, 0.0),
                                   rng)
            revenue = rng.gammavariate(orders / c2, par["order_value"] * c2) if orders else 0.0
            # CSAT survey (5.11)
            if completed:
                sp = _expit(logit_base + par["csat_coverage_effect"] * (rr - REF_REVISIT)
                            + par["csat_training_effect"] * min(s.stock, 3.0))
                resp = binomial(n_a, par["survey_response_rate"], rng)
                tot["resp"] += resp
                tot["sat"] += binomial(resp, sp, rng)
            tot["revenue"] += revenue
            tot["new"] += new
            tot["active"] += A
            tot["revisited"] += rev
            tot["churned"] += churned
            tot["filled"] += filled
            tot["pv"] += pv
            tot["cv"] += cv
            tot["hours"] += th + ch
            tot["coach"] += ch
            # state update (step 7)
            s.active = A - churned + new
            s.stock = ret * s.stock + (1.0 - ret) * (th + ch) / REF_TRAINING_HOURS
            if filled:
                for k, v in (("revisited", rev), ("active", A), ("new", new),
                             ("revenue", revenue), ("churned", churned), ("filled", 1.0),
                             ("prospect_visits", pv), ("customer_visits", cv),
                             ("training_hours", th + ch)):
                    s.acc[k] += v
                s.tenure += 1.0
            for w, left in (("coach_wait", "coach_left"), ("train_wait", "train_left"),
                            ("shift_wait", "shift_left")):
                if getattr(s, w) <= 0 and getattr(s, left) > 0:
                    setattr(s, left, getattr(s, left) - 1)
                setattr(s, w, max(getattr(s, w) - 1, 0))
        if mkt_wait <= 0 and mkt_left > 0:
            mkt_left -= 1
        mkt_wait = max(mkt_wait - 1, 0)
        if mkt_left <= 0:
            mkt_events = 0.0

        # team metrics (section 8)
        if tot["resp"] > 0 and completed:
            last_csat = tot["sat"] / tot["resp"]
            quarters.add((m0 + g) // 3)
        cum_rev += tot["revenue"]
        cum_base += base[g]
        out["revenue"].append(tot["revenue"])
        out["cumulative_revenue"].append(cum_rev)
        out["revenue_growth"].append(cum_rev / cum_base - 1.0)
        out["new_customers"].append(tot["new"])
        out["active_customers"].append(tot["active"])
        out["revisited_customers"].append(tot["revisited"])
        out["revisit_rate"].append(tot["revisited"] / tot["active"] if tot["active"] > 0
                                   else math.nan)
        out["churned_customers"].append(tot["churned"])
        out["csat"].append(last_csat)
        out["csat_responses"].append(tot["resp"] if completed else 0.0)
        out["csat_satisfied"].append(tot["sat"] if completed else 0.0)
        out["surveys_done"].append(1.0 if completed and tot["resp"] > 0 else 0.0)
        out["quarters_surveyed"].append(float(len(quarters)))
        out["headcount"].append(tot["filled"])
        out["prospect_visits"].append(tot["pv"])
        out["customer_visits"].append(tot["cv"])
        out["training_hours"].append(tot["hours"])
        out["coaching_hours"].append(tot["coach"])
        cost = team.hourly_cost * tot["hours"]

        # attrition and refill at the end of the month (5.12)
        for s in seats:
            leave = s.state == 2 and rng.random() < h_att
            if s.state == 1:
                s.vacancy -= 1
            if leave:
                s.state, s.vacancy = 1, hire_delay
                s.coach_left = s.train_left = s.shift_left = 0.0
                diag["departures"] += 1
            if s.state == 1 and s.vacancy <= 0:
                s.state, s.tenure, s.stock = 2, 0.0, 0.0
                s.skill = _skill(par["skill_cv"], rng)
                diag["hires"] += 1

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
    path], "diagnostics": [{departures, hires, rule:<id>:fired} per path]}``. Path i uses
    ``random.Random(f"{seed}:{i}")``.
    """
    if revisits not in ("normal", "binomial"):
        raise ValueError(f"revisits must be 'normal' or 'binomial', got {revisits!r}")
    priors = _priors(plan)
    metrics: dict[str, list[list[float]]] = {k: [] for k in METRICS}
    params, diags = [], []
    keys = ["departures", "hires"] + [f"rule:{_rid(r, i)}:fired"
                                      for i, r in enumerate(plan.management.rules)]
    for i in range(n_paths):
        rng = random.Random(f"{seed}:{i}")
        par = {k: (draw_prior(*spec, rng) if isinstance(spec, tuple)
                   else float(spec.ppf(rng.random())))
               for k, spec in priors.items()}
        params.append(par)
        diag = dict.fromkeys(keys, 0.0)
        for k, v in _simulate_path(plan, par, rng, revisits, diag).items():
            metrics[k].append(v)
        diags.append(diag)
    return {"metrics": metrics, "params": params, "diagnostics": diags}


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
