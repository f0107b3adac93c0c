"""The monthly step of the sales-team model, stage by stage (docs/model.md sections 1 and 5).

Each month, on every path and seat (arrays of shape paths x seats):

effort
    visits and training/coaching hours, visits capped by the selling hours left;
discrepancy
    the month's model-discrepancy multipliers of acquisition and repeat orders (AR(1), per
    path);
acquisition
    new customers, Poisson around a rate set by skill, ramp, training, coaching, prospect
    visits, season and marketing;
customers
    follow-up visits reach some customers (revisits); churn falls with the revisit rate;
revenue
    repeat orders of the kept customers (more from the revisited ones) plus the new
    customers' first orders, gamma values;
survey
    in survey months, responses and satisfied responses (CSAT);
record, carry over
    the month's metrics, and the state the next month starts from;
staffing
    departures at the end of the month; vacant seats refilled after the hiring delay.

Counts that move with a lever are drawn by inverse CDF from common uniforms (or normals), each
kind of draw from its own stream. The speed shortcuts the stages consult (``run.fast``) live in
``_fast.py``; they change no result.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
from scipy import special
from scipy.special import ndtri

from okma_sim._core.calendar import month_number
from okma_sim._core.counts import binomial_icdf, binomial_normal_icdf, poisson_icdf

from ._capacity import visit_plan
from ._fast import Shortcuts, find_shortcuts
from ._staffing import open_new_seats
from ._priors import (METRICS, REFERENCE_PROSPECT_VISITS, REFERENCE_REVISIT_RATE,
                      REFERENCE_TRAINING_HOURS, SEASON_QUARTER, SEASON_YEAR, WEEKS_PER_MONTH)
from ._reach import revisit_reach
from ._state import SalesState

__all__ = ["Month", "REP_COLUMNS", "Run", "acquisition", "carry_over", "churn", "discrepancy",
           "follow_ups", "hiring_delay", "market_shock", "new_outputs", "record_month", "revenue",
           "season_factor", "season_factors", "setup_run", "start_month", "survey",
           "survey_month"]

#: the per-seat history columns of ``Outcomes.per_rep``
REP_COLUMNS = ("filled", "prospect_visits", "customer_visits", "new_customers",
               "active_customers", "revisited_customers", "churned_customers", "revenue",
               "training_hours", "csat_responses", "csat_satisfied")


def season_factor(calendar_month: np.ndarray | int, uplift: np.ndarray) -> np.ndarray:
    """Quarter-end seasonality: 1 + u in Mar/Jun/Sep/Dec, 1 - u/2 otherwise (mean 1 a year)."""
    qe = (np.asarray(calendar_month) % 3) == 0
    return np.where(qe, 1.0 + uplift, 1.0 - uplift / 2.0)


def season_factors(p: Mapping[str, Any]) -> np.ndarray:
    """The seasonal multiplier of acquisition and repeat orders in each calendar month.

    The product of three forms, each with mean 1 over a year (docs/model.md, section 5.9):
    the quarter-end form of ``quarter_end_uplift`` (:func:`season_factor`), the month-of-quarter
    factors ``season_q1..3`` and the month-of-year factors ``season_jan..dec``, each set
    divided by its mean. A missing key is neutral (0 uplift, factors of 1); ``calibrate`` fits
    one form and leaves the others neutral.

    Parameters
    ----------
    p : mapping
        Parameter values, scalars or arrays of one shape (one value per path).

    Returns
    -------
    ndarray
        Shape ``(..., 12)``: the factors of January to December for each parameter value.

    Examples
    --------
    >>> f = season_factors({"quarter_end_uplift": 0.3, "season_q1": 0.7, "season_q2": 1.0,
    ...                     "season_q3": 1.3})
    >>> f.round(3)[:3].tolist()
    [0.595, 0.85, 1.69]
    """
    u = np.asarray(p.get("quarter_end_uplift", 0.0), dtype=float)
    f = season_factor(np.arange(1, 13), u[..., None])
    if all(k in p for k in SEASON_QUARTER):
        q = np.stack([np.asarray(p[k], dtype=float) for k in SEASON_QUARTER], axis=-1)
        # dividing by a mean of exactly 1 changes nothing: neutral factors stay bit-exact
        f = f * np.tile(q / q.mean(axis=-1, keepdims=True), 4)
    if all(k in p for k in SEASON_YEAR):
        y = np.stack([np.asarray(p[k], dtype=float) for k in SEASON_YEAR], axis=-1)
        f = f * (y / y.mean(axis=-1, keepdims=True))
    return f


#: dispersions at or below this are the Poisson limit (a shock of exactly 1): the shock's sd
#: there (1e-6) is nothing next to a count's own noise, and numpy's gamma sampler loses its
#: accuracy at shapes far above 1 / this (at 1e300 its draws are off by orders of magnitude)
PHI_POISSON = 1e-12


def market_shock(run: "Run", stream) -> np.ndarray | float:
    """A month's market multiplier of every seat's acquisition rate on a path: gamma with mean
    1 and variance ``new_customer_dispersion`` (1 where it is at most ``PHI_POISSON``, the
    Poisson limit), so a team's new customers in a month are gamma-Poisson (negative
    binomial) given the parameters. It depends on no lever: plans run under one seed share
    it."""
    if run.inv_phi is None:
        return 1.0
    phi = run.p["new_customer_dispersion"]
    return np.where(phi > PHI_POISSON, stream.standard_gamma(run.inv_phi) * phi, 1.0)[:, None]


def discrepancy(run: "Run", st: SalesState, m: "Month", stream) -> None:
    """Sets ``m.disc_acq`` and ``m.disc_ord``: the month's model-discrepancy multipliers of
    acquisition and of repeat orders (docs/model.md 5.13), per path, ``exp(s z - s^2 / 2)``
    (mean 1) with ``z`` a standardised AR(1) of persistence ``rho``, one series each:
    ``z_t = rho z_(t-1) + sqrt(1 - rho^2) e_t``, the first month at the stationary law
    ``z = e``. Each ``e`` is the inverse normal CDF of one uniform of the discrepancy's own
    stream, two a path and month whatever the levers, so plans run under one seed share them.
    Nothing is drawn when the scale is 0 on every path (the multipliers are then 1 and every
    other stream draws what it drew before the discrepancy existed)."""
    if run.disc_scale is None:
        return
    # a uniform of exactly 0 (chance 2^-53) would be an infinite shock
    e = ndtri(np.maximum(stream.random((run.n, 2)), np.finfo(float).tiny))
    rho = run.disc_rho
    z = e if st.discrepancy is None else rho * st.discrepancy + np.sqrt(1.0 - rho * rho) * e
    st.discrepancy = z
    s = run.disc_scale
    mult = np.exp(s * z - 0.5 * s * s)  # exactly 1 on a path whose scale is 0
    m.disc_acq, m.disc_ord = mult[:, 0:1], mult[:, 1:2]


def survey_month(calendar_month: int, per_year: float) -> bool:
    """Whether a survey is scheduled in a calendar month (evenly spaced, ending in December)."""
    k = int(round(per_year))
    if k <= 0:
        return False
    step = max(1, int(round(12 / min(k, 12))))
    return calendar_month % step == 0


def hiring_delay(p: Mapping[str, np.ndarray]) -> np.ndarray:
    """Whole months a vacated or newly opened seat stays empty, per path."""
    return np.maximum(0.0, np.rint(p["hiring_delay_months"]))


# -- the run ----------------------------------------------------------------------------------
@dataclass
class Run:
    """What the monthly step needs that stays fixed through a run: sizes, the plan's lever
    levels and team, and rates derived from the parameters (per path, or (paths, 1) in
    ``col`` to broadcast over seats)."""

    n: int  # paths
    S: int  # seats
    m0: int  # horizon months already done
    M: int  # months to run
    p: Mapping[str, np.ndarray]
    col: Mapping[str, np.ndarray]
    pv_plan: float  # prospect visits per rep-month
    cv_plan: float  # customer visits per rep-month
    th_plan: float  # training hours per rep-month
    mkt_plan: float  # marketing events per quarter
    surveys: float  # CSAT surveys per year
    hpv: float  # hours per prospect visit
    hcv: float  # hours per customer visit
    cap_hours: float  # selling hours per rep-month
    hourly: float  # cost of a training or coaching hour
    cum_base: np.ndarray  # cumulative baseline revenue by horizon month
    cal: np.ndarray  # calendar month (1..12) of each horizon month
    quarter_of: np.ndarray  # quarter (0, 1, ...) of each horizon month
    h_att: np.ndarray  # monthly attrition hazard
    hire_delay: np.ndarray  # whole months a vacated seat stays empty
    logit_base: np.ndarray
    retention: np.ndarray
    vcv2: np.ndarray  # squared coefficient of variation of an order's value
    # (paths, 1): repeat orders per kept customer-month of a customer nobody revisited
    unvisited_rate: np.ndarray
    # (paths, 1): where that coefficient is 0 (every order worth order_value exactly); None
    # when it is positive on every path
    exact_value: np.ndarray | None
    mkt_mult_plan: np.ndarray  # acquisition multiplier of the planned marketing events
    season_of: dict[int, np.ndarray]  # season factor (paths, 1) of each calendar month
    # 1 / new_customer_dispersion per path (where positive); None: 0 on every path (Poisson)
    inv_phi: np.ndarray | None
    # (paths, 1): the discrepancy's scale and persistence; None: scale 0 on every path
    disc_scale: np.ndarray | None
    disc_rho: np.ndarray | None
    ramp_den: np.ndarray
    # row sums of integer-valued (paths, seats) arrays as a matrix-vector product: several
    # times faster than .sum(1) over 12 seats, and exact for integers in any order
    ones: np.ndarray
    ones_q: np.ndarray
    fast: Shortcuts | None = None
    sat_norm: float = 1.0 - math.exp(-1.0)  # training uplift at one unit of stock is 1
    shared: bool = False  # team.vacancy = "shared": covering visits for vacant books
    share_books: bool = False  # team.new_rep_book = "share"
    k_new: int = 0  # seats of the new_reps lever (the run's last seats)
    open_g: int = -1  # horizon month their seats open (-1: none)


def setup_run(plan, p: Mapping[str, np.ndarray], st: SalesState, levers: Mapping[str, float],
              baseline: np.ndarray) -> Run:
    """The fixed quantities of a run of ``plan`` from state ``st`` (``levers``: the plan's
    lever levels; ``baseline``: baseline revenue by horizon month)."""
    n, S = st.seat.shape
    H = plan.horizon_months
    team = plan.team
    col = {k: v[:, None] for k, v in p.items()}  # (n, 1) for broadcasting over seats
    start = month_number(plan.start_month) % 12  # calendar month - 1
    mkt_plan = levers["marketing_events_per_quarter"]
    run = Run(
        n=n, S=S, m0=st.month_index, M=H - st.month_index, p=p, col=col,
        pv_plan=levers["prospect_visits_per_week"] * WEEKS_PER_MONTH,
        cv_plan=levers["customer_visits_per_week"] * WEEKS_PER_MONTH,
        th_plan=levers["training_hours_per_month"], mkt_plan=mkt_plan,
        surveys=levers["csat_surveys_per_year"],
        hpv=team.hours_per_prospect_visit, hcv=team.hours_per_customer_visit,
        cap_hours=team.selling_hours_per_month, hourly=team.hourly_cost,
        cum_base=np.cumsum(baseline), cal=plan.calendar_months(),
        quarter_of=((start + np.arange(H)) // 3) - start // 3,
        h_att=1.0 - (1.0 - np.clip(p["rep_attrition_annual"], 0, 1)) ** (1.0 / 12.0),
        hire_delay=hiring_delay(p),
        logit_base=special.logit(np.clip(p["csat_base"], 1e-9, 1 - 1e-9)),
        retention=np.clip(col["training_retention"], 0, 1),
        vcv2=p["order_value_cv"] ** 2,
        unvisited_rate=col["repeat_order_rate"] / (1.0 + col["visit_order_effect"]
                                                   * REFERENCE_REVISIT_RATE),
        exact_value=None if (p["order_value_cv"] != 0).all()
        else (p["order_value_cv"] == 0)[:, None],
        mkt_mult_plan=1.0 + p["marketing_effect"] * np.log2(1.0 + mkt_plan),
        season_of=dict(zip(range(1, 13), np.moveaxis(season_factors(p)[:, None, :], -1, 0))),
        inv_phi=_inverse_dispersion(p),
        disc_scale=_discrepancy(p, "discrepancy_scale"),
        disc_rho=_discrepancy(p, "discrepancy_persistence"),
        ramp_den=np.maximum(col["ramp_months"], 1e-9),
        ones=np.ones(S), ones_q=np.ones(st.quarters_done.shape[1]),
        shared=team.vacancy == "shared", share_books=team.new_rep_book == "share",
        k_new=max(0, min(int(round(levers["new_reps"])), S - team.n_reps)),
        open_g=(month_number(team.new_reps_month or plan.start_month)
                - month_number(plan.start_month)))
    run.fast = find_shortcuts(st, plan.management.rules, plan.management.review_every_months,
                              functools.partial(visit_plan, run))
    return run


def _inverse_dispersion(p: Mapping[str, np.ndarray]) -> np.ndarray | None:
    phi = np.asarray(p.get("new_customer_dispersion", 0.0), dtype=float)
    live = phi > PHI_POISSON
    if not live.any():
        return None
    return 1.0 / np.where(live, phi, 1.0)


def _discrepancy(p: Mapping[str, np.ndarray], name: str) -> np.ndarray | None:
    """A discrepancy parameter as (paths, 1), or None when the scale is 0 (or absent) on
    every path."""
    scale = np.asarray(p.get("discrepancy_scale", 0.0), dtype=float)
    if not (scale > 0).any():
        return None
    v = np.broadcast_to(np.asarray(p.get(name, 0.0), dtype=float), scale.shape)
    return np.clip(v, 0.0, 1.0 if name == "discrepancy_persistence" else np.inf)[:, None]


def new_outputs(run: Run, plan, record_reps: bool
                ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray] | None, dict[str, float]]:
    """Empty metric arrays (paths x months), per-seat history (or None) and diagnostics."""
    out = {k: np.empty((run.n, run.M)) for k in METRICS}
    reps = {k: np.zeros((run.n, run.S, run.M)) for k in REP_COLUMNS} if record_reps else None
    diag = {"capacity_capped_rep_months": 0.0, "rep_months": 0.0, "months_no_customers": 0.0,
            "departures": 0.0, "hires": 0.0, "hours_available": 0.0, "hours_planned": 0.0,
            "hours_executed": 0.0, "new_rep_months": 0.0, "new_rep_months_nominal": 0.0}
    for what in ("prospect_visits", "customer_visits", "training_hours"):
        diag[f"{what}_planned"] = diag[f"{what}_executed"] = 0.0
    if run.k_new:
        # a new rep's cost counts months on payroll / 12: nominally 12 a year each
        diag["new_rep_months_nominal"] = 12.0 * run.k_new * run.n
    for r_i, r in enumerate(plan.management.rules):
        rid = r.id or f"rule{r_i}"
        diag[f"rule:{rid}:fired"] = 0.0
        diag[f"rule:{rid}:cost"] = 0.0
    return out, reps, diag


# -- the month --------------------------------------------------------------------------------
@dataclass(slots=True)
class Month:
    """One month's quantities, per seat (paths x seats) unless noted, filled in stage by
    stage."""

    j: int  # month of this run (column of the outputs)
    g: int  # month of the horizon
    cm: int  # calendar month, 1..12
    season: np.ndarray  # (paths, 1)
    filled: np.ndarray
    f_filled: np.ndarray
    # effort
    pv: Any = None  # prospect visits made
    cv: Any = None  # customer (follow-up) visits made
    th: Any = None  # training hours (planned and rule-driven)
    coach_on: Any = None  # seats coached now (None: no coaching in the run)
    coach_h: Any = 0.0  # coaching hours
    train_extra: Any = None  # rule-driven training hours of the seats trained now (None: no
    # such training in the run)
    coach_mult: Any = 1.0  # uplift of conversion and follow-up reach while coached
    ramp: Any = None  # a rep's share of full productivity (tenure over the ramp)
    book_visits: Any = None  # customer visits each seat's book receives
    cv_own: Any = None  # customer visits made to the seat's own book (cover excluded)
    # customers and revenue
    active: Any = None  # customers held at the start of the month
    new: Any = None
    revisited: Any = None
    rr_seat: Any = None  # revisit rate
    churned: Any = None
    revenue: Any = None
    # survey (tot_*, got: per path)
    responses: Any = None
    satisfied: Any = None
    tot_resp: Any = None
    tot_sat: Any = None
    got: Any = None  # a survey completed with responses
    # training and coaching hours received
    trh: Any = None
    trh_sum: Any = None  # per path
    # the model-discrepancy multipliers of acquisition and repeat orders, (paths, 1)
    disc_acq: Any = 1.0
    disc_ord: Any = 1.0


def start_month(run: Run, st: SalesState, j: int, diag: dict[str, float]) -> Month:
    """Month ``j`` of the run: its calendar and the seats filled at its start (the new
    reps' seats open in their month)."""
    g = run.m0 + j
    if g == run.open_g and run.k_new:
        open_new_seats(run, st, diag)
    cm = int(run.cal[g])
    filled = st.seat == 2
    return Month(j=j, g=g, cm=cm, season=run.season_of[cm], filled=filled,
                 f_filled=filled.astype(float))


# -- acquisition ------------------------------------------------------------------------------
def _marketing_multiplier(run: Run, st: SalesState) -> np.ndarray:
    """Acquisition multiplier per path of the planned marketing events plus a running push."""
    if run.fast.mkt_idle:
        return run.mkt_mult_plan
    mkt_now = (st.mkt_wait <= 0) & (st.mkt_left > 0)
    return np.where(mkt_now, 1.0 + run.p["marketing_effect"] *
                    np.log2(1.0 + run.mkt_plan + st.mkt_events), run.mkt_mult_plan)


def acquisition(run: Run, st: SalesState, m: Month, stream, market) -> None:
    """Sets ``m.new``: customers won, Poisson with a rate set by skill, ramp, training stock,
    coaching, prospect visits (with diminishing returns), season, marketing and the month's
    market shock (:func:`market_shock`, drawn from ``market``)."""
    col = run.col
    ramp = m.ramp
    uplift = col["training_effect"] * (1.0 - np.exp(-st.train_stock)) / run.sat_norm
    mkt_mult = _marketing_multiplier(run, st)
    lam = (col["base_win_rate"] * st.skill * ramp * (1.0 + uplift) * m.coach_mult
           * (m.pv / REFERENCE_PROSPECT_VISITS) ** col["visit_elasticity"]
           * (m.season * market_shock(run, market)) * mkt_mult[:, None] * m.disc_acq)
    # empty seats win nothing (also when the elasticity is 0, where 0**0 = 1)
    lam = np.maximum(lam, 0.0) * m.f_filled
    m.new = poisson_icdf(stream.random((run.n, run.S)), lam)


# -- customers --------------------------------------------------------------------------------
def follow_ups(run: Run, st: SalesState, m: Month, stream) -> None:
    """Sets ``m.active``, ``m.revisited`` and ``m.rr_seat``: the distinct customers the
    follow-up visits reach on the revisit curve (targeted better than at random, more so while
    coached; slower the more the visits go again to the same accounts)."""
    A = st.active
    reach = revisit_reach(run.col["followup_targeting"] * m.coach_mult,
                          m.book_visits / np.maximum(A, 1.0), run.col["revisit_heterogeneity"])
    m.active = A
    m.revisited = binomial_normal_icdf(stream.standard_normal((run.n, run.S)), A, reach)
    m.rr_seat = np.divide(m.revisited, A, out=np.zeros_like(A), where=A > 0)


def churn(run: Run, m: Month, stream) -> None:
    """Sets ``m.churned``: customers lost, at a hazard the revisit rate lowers."""
    col, A = run.col, m.active
    hazard = col["churn_base"] * (1.0 - col["churn_revisit_effect"] * m.rr_seat)
    m.churned = np.minimum(A, poisson_icdf(stream.random((run.n, run.S)),
                                           A * np.clip(hazard, 0, 1)))


# -- revenue ----------------------------------------------------------------------------------
def revenue(run: Run, m: Month, orders_stream, value_stream) -> None:
    """Sets ``m.revenue``: the new customers' first orders plus the kept customers' repeat
    orders (seasonal; a revisited one orders more), each of a gamma-distributed value."""
    col = run.col
    keep = m.active - m.churned
    # the month's churned customers are counted among the unrevisited first (revisits lower
    # churn): the revisited kept are min(revisited, kept), which never falls as visits rise
    boosted = keep + col["visit_order_effect"] * np.minimum(m.revisited, keep)
    # inverse CDF (not Generator.poisson, whose rejection sampler desynchronises the
    # stream when a rate changes): keeps revenue coupled across plans under one seed
    orders = m.new + poisson_icdf(orders_stream.random((run.n, run.S)), np.maximum(
        boosted * (run.unvisited_rate * (m.season * m.disc_ord)), 0.0))
    c2, exact = run.vcv2[:, None], run.exact_value
    if exact is None:
        shape = orders / c2
        m.revenue = value_stream.standard_gamma(shape) * (col["order_value"] * c2)
    else:
        # a coefficient of variation of 0 is the gamma's limit, orders x order_value; its
        # shape 0 draws nothing (orders / 0 would make NaN revenue)
        shape = np.divide(orders, c2, out=np.zeros_like(orders), where=~exact)
        m.revenue = np.where(exact, orders * col["order_value"],
                             value_stream.standard_gamma(shape) * (col["order_value"] * c2))


# -- survey -----------------------------------------------------------------------------------
def _satisfaction(run: Run, st: SalesState, m: Month) -> np.ndarray:
    """Probability a customer is satisfied: logit-linear in the revisit rate and the training
    stock."""
    col = run.col
    logit_s = (run.logit_base[:, None] + col["csat_coverage_effect"]
               * (m.rr_seat - REFERENCE_REVISIT_RATE)
               + col["csat_training_effect"] * np.minimum(st.train_stock, 3.0))
    return special.expit(logit_s)


def survey(run: Run, st: SalesState, m: Month, survey_stream, csat_stream) -> None:
    """Sets the month's survey responses and satisfied responses (zero outside survey months)
    and updates the last CSAT and the quarters surveyed."""
    n, S = run.n, run.S
    if survey_month(m.cm, run.surveys):
        # drawn only in survey months: the schedule is fixed by the plan, so plans
        # with the same schedule still share these draws
        done = survey_stream.random(n) < run.p["survey_completion"]
        # inverse CDF from common uniforms: counts move monotonically with the levers
        resp_draw = binomial_icdf(csat_stream.random((n, S)), m.active,
                                  run.col["survey_response_rate"])
        sat_draw = binomial_icdf(csat_stream.random((n, S)), resp_draw,
                                 _satisfaction(run, st, m))
        m.responses = resp_draw * done[:, None]
        m.satisfied = sat_draw * done[:, None]
    else:
        done = np.zeros(n, dtype=bool)
        m.responses = np.zeros((n, S))
        m.satisfied = np.zeros((n, S))
    m.tot_resp = m.responses @ run.ones
    m.tot_sat = m.satisfied @ run.ones
    m.got = done & (m.tot_resp > 0)
    st.last_csat = np.where(m.got, m.tot_sat / np.maximum(m.tot_resp, 1), st.last_csat)
    st.quarters_done[:, run.quarter_of[m.g]] |= m.got


# -- record, carry over -----------------------------------------------------------------------
def record_month(run: Run, st: SalesState, m: Month, out: dict[str, np.ndarray],
                 reps: dict[str, np.ndarray] | None, diag: dict[str, float]) -> None:
    """Write the month's team metrics (all but ``cost``, written after the review) to column
    ``m.j`` of ``out``, and its per-seat history to ``reps``; adds the revenue to the
    cumulative revenue."""
    j, ones = m.j, run.ones
    sumA = m.active @ ones
    sum_rev = m.revisited @ ones
    m.trh = m.th + m.coach_h
    m.trh_sum = m.trh.sum(1)
    rev_sum = m.revenue.sum(1)
    st.cum_revenue = st.cum_revenue + rev_sum
    out["revenue"][:, j] = rev_sum
    out["cumulative_revenue"][:, j] = st.cum_revenue
    out["revenue_growth"][:, j] = st.cum_revenue / run.cum_base[m.g] - 1.0
    out["new_customers"][:, j] = m.new @ ones
    out["active_customers"][:, j] = sumA
    out["revisited_customers"][:, j] = sum_rev
    with np.errstate(invalid="ignore", divide="ignore"):
        out["revisit_rate"][:, j] = np.where(sumA > 0, sum_rev / sumA, np.nan)
    diag["months_no_customers"] += float(np.count_nonzero(sumA == 0))
    out["churned_customers"][:, j] = m.churned @ ones
    out["csat"][:, j] = st.last_csat
    out["csat_responses"][:, j] = m.tot_resp
    out["csat_satisfied"][:, j] = m.tot_sat
    out["surveys_done"][:, j] = m.got
    out["quarters_surveyed"][:, j] = st.quarters_done.astype(float) @ run.ones_q
    out["headcount"][:, j] = m.f_filled @ ones
    out["prospect_visits"][:, j] = m.pv.sum(1)
    out["customer_visits"][:, j] = m.cv.sum(1)
    out["training_hours"][:, j] = m.trh_sum
    out["coaching_hours"][:, j] = 0.0 if run.fast.coach_idle else m.coach_h.sum(1)
    if reps is not None:
        for k, v in (("filled", m.f_filled), ("prospect_visits", np.rint(m.pv)),
                     ("customer_visits", np.rint(m.cv_own)), ("new_customers", m.new),
                     ("active_customers", m.active), ("revisited_customers", m.revisited),
                     ("churned_customers", m.churned), ("revenue", m.revenue),
                     ("training_hours", m.trh), ("csat_responses", m.responses),
                     ("csat_satisfied", m.satisfied)):
            reps[k][:, :, j] = v


def _accumulate(run: Run, st: SalesState, m: Month) -> None:
    """Add the month to the per-seat totals the next review tests its rules on."""
    acc, fast = st.acc, run.fast
    for a, v in (("revisited", m.revisited), ("active", m.active), ("new", m.new),
                 ("revenue", m.revenue), ("churned", m.churned)):
        acc[a] += v * m.f_filled
    acc["months"] += 1.0
    # rule-driven hours, charged to their rule at the next review
    acc["coach_h"] += m.coach_h
    # a rule's training hours as delivered: the hours cap may have cut the month's training
    acc["train_h"] += 0.0 if fast.train_idle else np.minimum(m.train_extra * m.f_filled, m.th)
    acc["filled"] += m.f_filled
    acc["prospect_visits"] += m.pv
    acc["customer_visits"] += m.cv
    acc["training_hours"] += m.trh


def carry_over(run: Run, st: SalesState, m: Month) -> None:
    """The state the next month starts from: customers held, training stock (decaying), the
    review totals, tenure, and the response timers ticked."""
    st.active = m.active - m.churned + m.new
    st.train_stock = run.retention * st.train_stock + (1.0 - run.retention) * (
        m.trh / REFERENCE_TRAINING_HOURS)
    _accumulate(run, st, m)
    st.tenure = st.tenure + m.f_filled if run.fast.tenure_plain else \
        np.where(m.filled, st.tenure + 1.0, st.tenure)
    st.tick_timers(run.fast.idle)
