"""The built-in sales-team model (docs/model.md states every formula and default).

The model steps month by month. Arrays have shape (paths, seats); a seat is a rep position that
can fall vacant and be refilled. Epistemic parameters arrive from the engine, one value per path;
monthly outcomes are drawn per seat and month. Each kind of draw has its own random stream, and
every stream draws a fixed-shape array each month, so two plans run under one seed share their
draws (common random numbers). Counts that depend on a lever are drawn by inverse CDF from
a common uniform or normal, so they move monotonically with the lever on each path.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
from scipy import special

from okma_sim._core.counts import binomial_icdf, binomial_normal_icdf, poisson_icdf
from okma_sim.params import Distribution
from .protocol import LeverInfo, MetricInfo, Outcomes, ParameterInfo

__all__ = ["SalesTeamModel", "SalesState", "WEEKS_PER_MONTH", "REFERENCE_PROSPECT_VISITS",
           "REFERENCE_TRAINING_HOURS", "season_factor", "survey_month"]

WEEKS_PER_MONTH = 52.0 / 12.0
#: prospect visits per rep-month at which ``base_win_rate`` is stated (6 a week)
REFERENCE_PROSPECT_VISITS = 6.0 * WEEKS_PER_MONTH
#: training hours per rep-month whose steady state is one unit of training stock
REFERENCE_TRAINING_HOURS = 8.0
#: revisit rate at which ``csat_base`` is stated
REFERENCE_REVISIT_RATE = 0.8

_D = Distribution
_P = ParameterInfo
_DAS = "second-hand figure, original not re-read"

PARAMETERS: dict[str, ParameterInfo] = {
    "base_win_rate": _P(_D("gamma", {"shape": 25.0, "scale": 0.032}),
                        "new customers per rep-month at the reference effort (6 prospect visits "
                        "a week), full ramp, skill 1, no training", (0, math.inf),
                        "customers/rep-month", "assumption"),
    "visit_elasticity": _P(_D("normal", {"mu": 0.34, "sigma": 0.08, "low": 0.0, "high": 1.0}),
                           "elasticity of acquisition in prospect visits", (0, 1), "",
                           f"Albers, Mantrala & Sridhar (2010), J. Marketing Research, meta-analysis mean 0.34; {_DAS}"),
    "skill_cv": _P(_D("uniform", {"low": 0.2, "high": 0.4}),
                   "coefficient of variation of rep skill (lognormal, mean 1)", (0, 3), "",
                   "assumption: 'about 0.3' is a planning figure with no study behind it; the "
                   "range is an assumption too"),
    "training_effect": _P(_D("normal", {"mu": 0.10, "sigma": 0.04}),
                          "relative uplift of conversion at one unit of training stock "
                          "(steady state of 8 h/month)", (-1, 5), "",
                          f"assumption: d of 0.2-0.6 (Arthur, Bennett, Edens & Bell 2003, J. Applied Psychology, d about 0.62; {_DAS}) "
                          "times a skill CV of about 0.3, shrunk for the small sales-specific "
                          "effect"),
    "training_retention": _P(_D("beta", {"a": 14.0, "b": 6.0}),
                             "share of the training stock kept from one month to the next",
                             (0, 1), "", "assumption matching the vendors' claim that most training fades "
                             "within about 4 months: 0.7^4 = 0.24"),
    "coaching_effect": _P(_D("pert", {"low": 0.0, "mode": 0.08, "high": 0.19}),
                          "relative uplift of conversion and follow-up reach while coached",
                          (-1, 5), "", f"up to about +19% (Sales Executive Council / CEB, "
                          f"{_DAS}); the mode is an assumption"),
    "followup_targeting": _P(_D("lognormal", {"median": 1.5, "sigma": 0.15}),
                             "how much better than random follow-up visits reach distinct "
                             "customers: reach = 1 - exp(-targeting * visits / customers)",
                             (0, math.inf), "", "assumption"),
    "churn_base": _P(_D("beta", {"a": 8.0, "b": 192.0}),
                     "monthly churn hazard of a customer nobody revisits", (0, 1), "",
                     "assumption"),
    "churn_revisit_effect": _P(_D("beta", {"a": 12.0, "b": 8.0}),
                               "share of the churn hazard removed at a revisit rate of 1",
                               (0, 1), "", "assumption"),
    "repeat_order_rate": _P(_D("gamma", {"shape": 50.0, "scale": 0.01}),
                            "repeat orders per active customer-month", (0, math.inf),
                            "orders/customer-month", "assumption"),
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
                               "about 3 points (binomial sampling: sqrt(0.85 x 0.15 / 100))"),
    "rep_attrition_annual": _P(_D("beta", {"a": 32.0, "b": 68.0}),
                               "share of reps leaving in a year", (0, 1), "",
                               f"25-40% a year, industry surveys (CSO Insights, Bridge Group; "
                               f"{_DAS})"),
    "hiring_delay_months": _P(_D("triangular", {"low": 1.0, "mode": 2.0, "high": 4.0}),
                              "months a vacated seat stays empty (rounded)", (0, 36), "months",
                              "assumption"),
    "ramp_months": _P(_D("triangular", {"low": 3.0, "mode": 5.0, "high": 8.0}),
                      "months for a new rep to reach full productivity (linear ramp)",
                      (0.5, 36), "months",
                      f"median ramp about 5 months (The Bridge Group 2024 report; {_DAS})"),
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

_L = LeverInfo
LEVERS: dict[str, LeverInfo] = {
    "prospect_visits_per_week": _L(6.0, "visits/rep-week", "visits to prospective customers",
                                   True, (0, 60)),
    "customer_visits_per_week": _L(8.0, "visits/rep-week", "follow-up visits to customers",
                                   True, (0, 80)),
    "training_hours_per_month": _L(4.0, "hours/rep-month", "training received", True, (0, 160)),
    "marketing_events_per_quarter": _L(1.0, "events/quarter", "marketing events", False,
                                       (0, 30)),
    "csat_surveys_per_year": _L(4.0, "surveys/year", "CSAT surveys scheduled (0, 1, 2, 3, 4, "
                                "6 or 12)", False, (0, 12), (0, 1, 2, 3, 4, 6, 12)),
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

_STREAMS = ("skill", "acquisition", "revisit", "churn", "orders", "order_value", "survey",
            "csat", "attrition", "replacement")


class _SeatStreams:
    """A random stream whose per-seat draws (2-D arrays, paths x seats) take the first ``R``
    seats from ``main`` and the rest from ``extra``: the roster's draws are those of a plan
    without the extra seats. Per-path draws (1-D) come from ``main``."""

    def __init__(self, main: np.random.Generator, extra: np.random.Generator, R: int) -> None:
        self.main, self.extra, self.R = main, extra, R

    def _split(self, shape) -> bool:
        return isinstance(shape, tuple) and len(shape) == 2 and shape[1] > self.R

    def random(self, size=None):
        if not self._split(size):
            return self.main.random(size)
        return np.concatenate([self.main.random((size[0], self.R)),
                               self.extra.random((size[0], size[1] - self.R))], axis=1)

    def standard_normal(self, size=None):
        if not self._split(size):
            return self.main.standard_normal(size)
        return np.concatenate([self.main.standard_normal((size[0], self.R)),
                               self.extra.standard_normal((size[0], size[1] - self.R))],
                              axis=1)

    def standard_gamma(self, shape):
        shape = np.asarray(shape)
        if not self._split(shape.shape):
            return self.main.standard_gamma(shape)
        R = self.R
        return np.concatenate([self.main.standard_gamma(shape[:, :R]),
                               self.extra.standard_gamma(shape[:, R:])], axis=1)


def season_factor(calendar_month: np.ndarray | int, uplift: np.ndarray) -> np.ndarray:
    """Quarter-end seasonality: 1 + u in Mar/Jun/Sep/Dec, 1 - u/2 otherwise (mean 1 a year)."""
    qe = (np.asarray(calendar_month) % 3) == 0
    return np.where(qe, 1.0 + uplift, 1.0 - uplift / 2.0)


def survey_month(calendar_month: int, per_year: float) -> bool:
    """Whether a survey is scheduled in a calendar month (evenly spaced, ending in December)."""
    k = int(round(per_year))
    if k <= 0:
        return False
    step = max(1, int(round(12 / min(k, 12))))
    return calendar_month % step == 0


@dataclass
class SalesState:
    """Everything the model needs to resume (all arrays are per path, or per path and seat)."""

    month_index: int
    seat: np.ndarray  # 0 closed (a hiring slot not yet opened), 1 vacant, 2 filled
    vacancy_left: np.ndarray
    tenure: np.ndarray
    skill: np.ndarray
    active: np.ndarray
    train_stock: np.ndarray
    coach_wait: np.ndarray
    coach_left: np.ndarray
    coach_hours: np.ndarray
    train_wait: np.ndarray
    train_left: np.ndarray
    train_extra: np.ndarray
    shift_wait: np.ndarray
    shift_left: np.ndarray
    shift_amount: np.ndarray
    mkt_wait: np.ndarray
    mkt_left: np.ndarray
    mkt_events: np.ndarray
    hires_done: np.ndarray  # per path and hiring rule
    cum_revenue: np.ndarray
    last_csat: np.ndarray
    quarters_done: np.ndarray  # (paths, n_quarters of horizon) bool
    acc: dict[str, np.ndarray] = field(default_factory=dict)  # since the last review
    # per seat: the uplift while coached (the firing rule's `effect`, else coaching_effect),
    # and which rule's coaching / training runs (-1 none), to charge its hours to that rule;
    # None in states built elsewhere: _run fills them in
    coach_effect: np.ndarray | None = None
    coach_rule: np.ndarray | None = None
    train_rule: np.ndarray | None = None

    def tick_timers(self, idle: frozenset[str] = frozenset()) -> None:
        """Advance every response timer by one month (after the month they covered).

        ``idle`` names timers ("coach", "train", "shift", "mkt") whose arrays are all +0.0 and
        that no rule can start: ticking would leave them unchanged, so they are skipped."""
        for t in ("coach", "train", "shift"):
            if t in idle:
                continue
            w, left = f"{t}_wait", f"{t}_left"
            on = (getattr(self, w) <= 0) & (getattr(self, left) > 0)
            setattr(self, left, getattr(self, left) - on)
            setattr(self, w, np.maximum(getattr(self, w) - 1, 0))
        if "mkt" in idle:
            return
        on = (self.mkt_wait <= 0) & (self.mkt_left > 0)
        self.mkt_left = self.mkt_left - on
        self.mkt_wait = np.maximum(self.mkt_wait - 1, 0)
        self.mkt_events = np.where(self.mkt_left > 0, self.mkt_events, 0.0)

    def select(self, idx: np.ndarray) -> "SalesState":
        """The state of a subset (or resampling) of paths."""
        kw = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                kw[f.name] = v[idx]
            elif isinstance(v, dict):
                kw[f.name] = {k: a[idx] for k, a in v.items()}
            else:
                kw[f.name] = v
        return SalesState(**kw)


def _plain(a: np.ndarray) -> bool:
    """Whether ``a`` is float64, finite and >= +0.0 (no -0.0): then ``a * mask`` equals
    ``np.where(mask, a, 0.0)`` bit for bit (x * 1 = x, x * 0 = +0.0)."""
    return a.dtype == np.float64 and bool(((a >= 0) & (a < math.inf)).all()) \
        and not np.signbit(a).any()


class _Masker:
    """``masker(mask)`` = ``np.where(mask, st.<name>, 0.0)``: a product while the array is
    plain (checked again whenever the state holds a new array), else ``np.where``."""

    def __init__(self, st: SalesState, name: str) -> None:
        self.st, self.name, self.seen, self.ok = st, name, None, False

    def __call__(self, mask: np.ndarray) -> np.ndarray:
        a = getattr(self.st, self.name)
        if a is not self.seen:
            self.seen, self.ok = a, _plain(a) and a.shape == mask.shape
        return a * mask if self.ok else np.where(mask, a, 0.0)


def _where(cond: np.ndarray, value, old: np.ndarray, cast=None,
           idx: np.ndarray | None = None) -> np.ndarray:
    """``np.where(cond, value, old)`` (then ``.astype(cast)``), bit for bit, faster for a sparse
    ``cond`` over (paths, seats): a copy of ``old`` with the ``cond`` seats assigned (``old``
    itself when none is). ``value``: a number, or float64 per path (paths, 1) or per seat.
    Other dtypes and shapes take ``np.where``. ``idx``: ``np.flatnonzero(cond)`` if known."""
    want = np.dtype(np.float64 if cast is None else cast)
    arr = isinstance(value, np.ndarray)
    if (old.dtype != want or old.ndim != 2 or old.shape != cond.shape
            or (arr and (value.dtype != np.float64 or value.ndim != 2
                         or value.shape not in (cond.shape, (cond.shape[0], 1))))
            or (not arr and not (isinstance(value, (float, int)) and not isinstance(value, bool)
                                 and (cast is None or -128 <= value < 128)))):
        new = np.where(cond, value, old)
        return new if cast is None else new.astype(cast)
    if idx is None:
        idx = np.flatnonzero(cond)
    if not idx.size:
        return old
    new = old.copy()
    flat = new.reshape(-1)
    if not arr:
        flat[idx] = value
    elif value.shape[1] == 1:
        flat[idx] = value[idx // cond.shape[1], 0]
    else:
        flat[idx] = value.reshape(-1)[idx]
    return new


class SalesTeamModel:
    """The built-in model of a field sales team (see docs/model.md).

    Examples
    --------
    >>> m = SalesTeamModel()
    >>> sorted(m.levers)[:2]
    ['csat_surveys_per_year', 'customer_visits_per_week']
    >>> m.metrics["revisit_rate"].kind
    'rate'
    """

    name = "sales_team"
    metrics = METRICS
    levers = LEVERS
    responses = RESPONSES
    parameter_info = PARAMETERS
    parameters = {k: v.prior for k, v in PARAMETERS.items()}
    parameter_bounds = {k: v.bounds for k, v in PARAMETERS.items()}

    # ------------------------------------------------------------------------------------------
    def n_seats(self, plan) -> int:
        extra = sum((r.reps or 1) for r in plan.management.rules if r.response == "hiring")
        return plan.team.n_reps + extra

    def lever(self, plan, name: str) -> float:
        return float(plan.actions.get(name, LEVERS[name].default))

    def baseline_revenue(self, plan, quarter_end_uplift: float | None = None) -> np.ndarray:
        """Baseline revenue for each horizon month (cycled when the horizon exceeds a year)."""
        b = plan.baseline
        if b is None:
            return np.full(plan.horizon_months, np.nan)
        if b.monthly_revenue is not None:
            base = np.asarray(b.monthly_revenue, dtype=float)
            return base[np.arange(plan.horizon_months) % 12]
        if quarter_end_uplift is None:
            # the scenario's own prior for seasonality, when it sets one
            spec = plan.parameters.get("quarter_end_uplift",
                                       PARAMETERS["quarter_end_uplift"].prior)
            quarter_end_uplift = float(spec.mean())
        u = quarter_end_uplift
        cal = plan.calendar_months()
        year_cal = np.arange(1, 13)
        norm = season_factor(year_cal, u).sum()
        return b.annual_revenue * season_factor(cal, u) / norm

    def initial_state(self, plan, params: Mapping[str, np.ndarray], n: int,
                      rng_skill: np.random.Generator) -> SalesState:
        R = plan.team.n_reps
        S = self.n_seats(plan)
        team = plan.team
        seat = np.zeros((n, S), dtype=np.int8)
        seat[:, :R] = 2
        tenure = np.zeros((n, S))
        active = np.zeros((n, S))
        z = rng_skill.standard_normal((n, S))
        cv = np.asarray(params["skill_cv"], dtype=float)[:, None]
        s2 = np.log1p(cv * cv)
        skill = np.exp(-s2 / 2 + np.sqrt(s2) * z)
        if isinstance(team.reps, int):
            tenure[:, :R] = team.tenure_months
            active[:, :R] = round(team.customers_per_rep)
        else:
            for j, rep in enumerate(team.reps):
                tenure[:, j] = team.tenure_months if rep.tenure_months is None \
                    else rep.tenure_months
                active[:, j] = round(team.customers_per_rep if rep.customers is None
                                     else rep.customers)
                if rep.skill is not None:
                    skill[:, j] = rep.skill
        n_q = (plan.horizon_months + 2) // 3 + 1
        n_hire_rules = sum(r.response == "hiring" for r in plan.management.rules)
        zeros = lambda: np.zeros((n, S))  # noqa: E731
        return SalesState(
            month_index=0, seat=seat, vacancy_left=zeros(), tenure=tenure, skill=skill,
            active=active, train_stock=zeros(), coach_wait=zeros(), coach_left=zeros(),
            coach_hours=zeros(),
            train_wait=zeros(), train_left=zeros(), train_extra=zeros(), shift_wait=zeros(),
            shift_left=zeros(), shift_amount=zeros(), mkt_wait=np.zeros(n),
            mkt_left=np.zeros(n), mkt_events=np.zeros(n),
            hires_done=np.zeros((n, max(n_hire_rules, 1)), dtype=bool),
            cum_revenue=np.zeros(n), last_csat=np.full(n, np.nan),
            quarters_done=np.zeros((n, n_q), dtype=bool),
            acc={k: zeros() for k in ("revisited", "active", "new", "revenue", "churned")}
            | {"months": np.zeros(n)},
        )

    # ------------------------------------------------------------------------------------------
    def simulate(self, plan, params: Mapping[str, np.ndarray], rng: np.random.Generator,
                 initial_state: SalesState | None = None, *, record_reps: bool = False
                 ) -> Outcomes:
        """Simulate the remaining months of the horizon for a block of paths.

        Parameters
        ----------
        plan : Plan
        params : mapping of parameter name -> array of shape (n_paths,)
        rng : numpy Generator; independent streams for each kind of draw are spawned from it
        initial_state : SalesState, optional
            Resume from this state (its ``month_index`` months are already done).
        record_reps : bool
            Also return per-seat history columns (``Outcomes.per_rep``).
        """
        p = {k: np.asarray(v, dtype=float) for k, v in params.items()}
        n = len(next(iter(p.values())))
        streams = dict(zip(_STREAMS, rng.spawn(len(_STREAMS))))
        R = plan.team.n_reps
        S = self.n_seats(plan) if initial_state is None else initial_state.seat.shape[1]
        if S > R:
            # seats beyond the roster (hiring rules, new hires) draw from their own streams,
            # so adding them never changes the roster's draws (a rule that never fires
            # changes nothing under one seed)
            extra = dict(zip(_STREAMS, rng.spawn(len(_STREAMS))))
            streams = {k: _SeatStreams(streams[k], extra[k], R) for k in _STREAMS}
        if initial_state is None:
            st = self.initial_state(plan, p, n, streams["skill"])
        else:
            st = initial_state.select(np.arange(n)) if initial_state.seat.shape[0] == n \
                else initial_state
            if st.seat.shape[0] != n:
                raise ValueError(f"initial_state has {st.seat.shape[0]} paths, params have {n}")
        return self._run(plan, p, streams, st, record_reps)

    def _run(self, plan, p, streams, st: SalesState, record_reps: bool) -> Outcomes:
        n, S = st.seat.shape
        self._init_rule_state(st, p)
        H = plan.horizon_months
        m0 = st.month_index
        M = H - m0
        team = plan.team
        col = {k: v[:, None] for k, v in p.items()}  # (n, 1) for broadcasting over seats

        pv_plan = self.lever(plan, "prospect_visits_per_week") * WEEKS_PER_MONTH
        cv_plan = self.lever(plan, "customer_visits_per_week") * WEEKS_PER_MONTH
        th_plan = self.lever(plan, "training_hours_per_month")
        mkt_plan = self.lever(plan, "marketing_events_per_quarter")
        surveys = self.lever(plan, "csat_surveys_per_year")
        hpv, hcv = team.hours_per_prospect_visit, team.hours_per_customer_visit
        cap_hours = team.selling_hours_per_month
        hourly = team.hourly_cost

        base_rev = self.baseline_revenue(plan)
        cum_base = np.cumsum(base_rev)
        cal = plan.calendar_months()
        start_y, start_m = map(int, plan.start_month.split("-"))
        quarter_of = ((start_m - 1 + np.arange(H)) // 3) - (start_m - 1) // 3

        h_att = 1.0 - (1.0 - np.clip(p["rep_attrition_annual"], 0, 1)) ** (1.0 / 12.0)
        hire_delay = np.maximum(0.0, np.rint(p["hiring_delay_months"]))
        logit_base = special.logit(np.clip(p["csat_base"], 1e-9, 1 - 1e-9))
        retention = np.clip(col["training_retention"], 0, 1)
        sat_norm = 1.0 - math.exp(-1.0)
        vcv2 = p["order_value_cv"] ** 2
        mkt_mult_plan = 1.0 + p["marketing_effect"] * np.log2(1.0 + mkt_plan)

        names = ("revenue", "cumulative_revenue", "revenue_growth", "new_customers",
                 "active_customers", "revisited_customers", "revisit_rate", "churned_customers",
                 "csat", "csat_responses", "csat_satisfied", "surveys_done", "quarters_surveyed",
                 "headcount", "prospect_visits", "customer_visits", "training_hours",
                 "coaching_hours", "cost")
        out = {k: np.empty((n, M)) for k in names}
        rep_cols = ("filled", "prospect_visits", "customer_visits", "new_customers",
                    "active_customers", "revisited_customers", "churned_customers", "revenue",
                    "training_hours", "csat_responses", "csat_satisfied")
        reps = {k: np.zeros((n, S, M)) for k in rep_cols} if record_reps else None
        diag = {"capacity_capped_rep_months": 0.0, "rep_months": 0.0, "months_no_customers": 0.0,
                "departures": 0.0, "hires": 0.0}
        rules = plan.management.rules
        for r_i, r in enumerate(rules):
            rid = r.id or f"rule{r_i}"
            diag[f"rule:{rid}:fired"] = 0.0
            diag[f"rule:{rid}:cost"] = 0.0
        every = plan.management.review_every_months

        # row sums of integer-valued (paths, seats) arrays as a matrix-vector product: several
        # times faster than .sum(1) over 12 seats, and exact for integers in any order
        ones = np.ones(S)
        ones_q = np.ones(st.quarters_done.shape[1])

        # A response timer no rule of this plan can start, and whose arrays are all +0.0, stays
        # so for the whole run (ticks and departures keep +0.0): its response is off in every
        # month, so its masks, np.where's and ticks are skipped. Each shortcut below drops only
        # terms that are exactly + 0.0 or * 1.0, so results are bit-identical.
        started = {r.response for r in rules} if every > 0 else set()
        zero = lambda *a: all(x.dtype == np.float64 and not x.any()  # noqa: E731
                              and not np.signbit(x).any() for x in a)
        idle = frozenset(
            t for t, resp, arrs in (
                ("coach", "coaching", (st.coach_wait, st.coach_left)),
                ("train", "training", (st.train_wait, st.train_left)),
                ("shift", "shift_visits", (st.shift_wait, st.shift_left)),
                ("mkt", "marketing_push", (st.mkt_wait, st.mkt_left, st.mkt_events)))
            if resp not in started and zero(*arrs))
        # coach_mult = 1 + 0 * effect is exactly 1 only for a finite effect
        coach_idle = "coach" in idle and bool(np.isfinite(st.coach_effect).all())
        train_idle = "train" in idle
        mkt_idle = "mkt" in idle
        if "shift" in idle:
            # no shift in any month: the effort before capping is the same every month
            no_shift = np.zeros(st.seat.shape)  # the shift array of a month without shifts
            pv_idle = np.maximum(pv_plan - no_shift, 0.0)
            cv_idle = np.maximum(cv_plan + no_shift, 0.0)
            visit_h_idle = pv_idle * hpv + cv_idle * hcv
            visit_h_floor = np.maximum(visit_h_idle, 1e-12)
        # season_factor depends on the month only through quarter end or not
        season_of = {qe: season_factor(3 if qe else 1, p["quarter_end_uplift"])[:, None]
                     for qe in (False, True)}
        ramp_den = np.maximum(col["ramp_months"], 1e-9)
        coach_hours_on, train_extra_on = _Masker(st, "coach_hours"), _Masker(st, "train_extra")
        # tenure + 1.0 where filled is tenure + f_filled when no tenure is -0.0 or NaN (x + 0.0
        # is then x); the update and refills (+0.0) keep it so
        tenure_plain = st.tenure.dtype == np.float64 and not (
            np.isnan(st.tenure).any() or np.signbit(st.tenure[st.tenure == 0]).any())
        for j in range(M):
            g = m0 + j
            cm = int(cal[g])
            season = season_of[cm % 3 == 0]
            filled = st.seat == 2
            f_filled = filled.astype(float)

            # -- effort and capacity --------------------------------------------------------
            if "shift" in idle:
                pv, cv, visit_h = pv_idle, cv_idle, visit_h_idle
            else:
                shift_on = (st.shift_wait <= 0) & (st.shift_left > 0)
                shift = np.where(shift_on, st.shift_amount, 0.0) * WEEKS_PER_MONTH
                pv = np.maximum(pv_plan - shift, 0.0)
                cv = np.maximum(cv_plan + shift, 0.0)
                visit_h = pv * hpv + cv * hcv
            if coach_idle:
                coach_on, coach_h = None, 0.0  # x - 0.0, x + 0.0 as with a zero array
            else:
                coach_on = (st.coach_wait <= 0) & (st.coach_left > 0) & filled
                coach_h = coach_hours_on(coach_on)
            if train_idle:
                train_on = None
                th = (th_plan + 0.0) * f_filled
            else:
                train_on = (st.train_wait <= 0) & (st.train_left > 0) & filled
                th = (th_plan + train_extra_on(train_on)) * f_filled
            free = np.maximum(cap_hours - th - coach_h, 0.0)
            need = visit_h > free + 1e-9
            if need.any():
                floor = visit_h_floor if "shift" in idle else np.maximum(visit_h, 1e-12)
                scale = np.where(need, free / floor, 1.0)
                pv = pv * scale * f_filled
                cv = cv * scale * f_filled
            else:  # scale is all 1.0 and x * 1.0 == x
                pv = pv * f_filled
                cv = cv * f_filled
            diag["capacity_capped_rep_months"] += float(np.count_nonzero(need & filled))
            diag["rep_months"] += float(np.count_nonzero(filled))

            # -- acquisition ----------------------------------------------------------------
            ramp = np.minimum(1.0, (st.tenure + 1.0) / ramp_den)
            uplift = col["training_effect"] * (1.0 - np.exp(-st.train_stock)) / sat_norm
            if mkt_idle:
                mkt_mult = mkt_mult_plan
            else:
                mkt_now = (st.mkt_wait <= 0) & (st.mkt_left > 0)
                mkt_mult = np.where(mkt_now, 1.0 + p["marketing_effect"] *
                                    np.log2(1.0 + mkt_plan + st.mkt_events), mkt_mult_plan)
            # x * 1.0 == x: no coaching multiplies by a scalar 1.0 (no array work)
            coach_mult = 1.0 if coach_idle else 1.0 + coach_on * st.coach_effect
            lam = (col["base_win_rate"] * st.skill * ramp * (1.0 + uplift) * coach_mult
                   * (pv / REFERENCE_PROSPECT_VISITS) ** col["visit_elasticity"]
                   * season * mkt_mult[:, None])
            # empty seats win nothing (also when the elasticity is 0, where 0**0 = 1)
            lam = np.maximum(lam, 0.0) * f_filled
            new = poisson_icdf(streams["acquisition"].random((n, S)), lam)

            # -- follow-ups, churn ----------------------------------------------------------
            A = st.active
            ft = -col["followup_targeting"] * coach_mult
            reach = 1.0 - np.exp(ft * cv / np.maximum(A, 1.0))
            revisited = binomial_normal_icdf(streams["revisit"].standard_normal((n, S)), A,
                                             reach)
            rr_seat = np.divide(revisited, A, out=np.zeros_like(A), where=A > 0)
            hazard = col["churn_base"] * (1.0 - col["churn_revisit_effect"] * rr_seat)
            churned = np.minimum(A, poisson_icdf(streams["churn"].random((n, S)),
                                                 A * np.clip(hazard, 0, 1)))

            # -- orders and revenue ---------------------------------------------------------
            keep = A - churned
            # inverse CDF (not Generator.poisson, whose rejection sampler desynchronises the
            # stream when a rate changes): keeps revenue coupled across plans under one seed
            orders = new + poisson_icdf(streams["orders"].random((n, S)), np.maximum(
                keep * col["repeat_order_rate"] * season, 0.0))
            shape = orders / vcv2[:, None]
            revenue = streams["order_value"].standard_gamma(shape) * (col["order_value"]
                                                                      * vcv2[:, None])

            # -- CSAT survey ----------------------------------------------------------------
            logit_s = (logit_base[:, None] + col["csat_coverage_effect"]
                       * (rr_seat - REFERENCE_REVISIT_RATE)
                       + col["csat_training_effect"] * np.minimum(st.train_stock, 3.0))
            sat_p = special.expit(logit_s)
            if survey_month(cm, surveys):
                # drawn only in survey months: the schedule is fixed by the plan, so plans
                # with the same schedule still share these draws
                done = streams["survey"].random(n) < p["survey_completion"]
                # inverse CDF from common uniforms: counts move monotonically with the levers
                resp_draw = binomial_icdf(streams["csat"].random((n, S)), A,
                                          col["survey_response_rate"])
                sat_draw = binomial_icdf(streams["csat"].random((n, S)), resp_draw, sat_p)
                responses = resp_draw * done[:, None]
                satisfied = sat_draw * done[:, None]
            else:
                done = np.zeros(n, dtype=bool)
                responses = np.zeros((n, S))
                satisfied = np.zeros((n, S))
            tot_resp = responses @ ones
            tot_sat = satisfied @ ones
            got = done & (tot_resp > 0)
            st.last_csat = np.where(got, tot_sat / np.maximum(tot_resp, 1), st.last_csat)
            st.quarters_done[:, quarter_of[g]] |= got

            # -- team metrics ---------------------------------------------------------------
            sumA = A @ ones
            sum_rev = revisited @ ones
            trh = th + coach_h
            trh_sum = trh.sum(1)
            rev_sum = revenue.sum(1)
            st.cum_revenue = st.cum_revenue + rev_sum
            rule_cost = np.zeros(n)
            out["revenue"][:, j] = rev_sum
            out["cumulative_revenue"][:, j] = st.cum_revenue
            out["revenue_growth"][:, j] = st.cum_revenue / cum_base[g] - 1.0
            out["new_customers"][:, j] = new @ ones
            out["active_customers"][:, j] = sumA
            out["revisited_customers"][:, j] = sum_rev
            with np.errstate(invalid="ignore", divide="ignore"):
                out["revisit_rate"][:, j] = np.where(sumA > 0, sum_rev / sumA, np.nan)
            diag["months_no_customers"] += float(np.count_nonzero(sumA == 0))
            out["churned_customers"][:, j] = churned @ ones
            out["csat"][:, j] = st.last_csat
            out["csat_responses"][:, j] = tot_resp
            out["csat_satisfied"][:, j] = tot_sat
            out["surveys_done"][:, j] = got
            out["quarters_surveyed"][:, j] = st.quarters_done.astype(float) @ ones_q
            out["headcount"][:, j] = f_filled @ ones
            out["prospect_visits"][:, j] = pv.sum(1)
            out["customer_visits"][:, j] = cv.sum(1)
            out["training_hours"][:, j] = trh_sum
            out["coaching_hours"][:, j] = 0.0 if coach_idle else coach_h.sum(1)
            if reps is not None:
                for k, v in (("filled", f_filled), ("prospect_visits", np.rint(pv)),
                             ("customer_visits", np.rint(cv)), ("new_customers", new),
                             ("active_customers", A), ("revisited_customers", revisited),
                             ("churned_customers", churned), ("revenue", revenue),
                             ("training_hours", trh), ("csat_responses", responses),
                             ("csat_satisfied", satisfied)):
                    reps[k][:, :, j] = v

            # -- state update ---------------------------------------------------------------
            st.active = A - churned + new
            st.train_stock = retention * st.train_stock + (1.0 - retention) * (
                trh / REFERENCE_TRAINING_HOURS)
            for a, v in (("revisited", revisited), ("active", A), ("new", new),
                         ("revenue", revenue), ("churned", churned)):
                st.acc[a] += v * f_filled
            st.acc["months"] += 1.0
            # rule-driven hours, charged to their rule at the next review
            st.acc["coach_h"] += coach_h
            st.acc["train_h"] += 0.0 if train_idle else train_extra_on(train_on) * f_filled
            st.acc["filled"] += f_filled
            st.acc["prospect_visits"] += pv
            st.acc["customer_visits"] += cv
            st.acc["training_hours"] += trh
            st.tenure = st.tenure + f_filled if tenure_plain else \
                np.where(filled, st.tenure + 1.0, st.tenure)
            st.tick_timers(idle)

            # attrition at the end of the month; a vacated seat is refilled after the hiring
            # delay (a delay of 0 refills it at once, with a new rep at tenure 0)
            leave = (streams["attrition"].random((n, S)) < h_att[:, None]) & filled
            diag["departures"] += float(np.count_nonzero(leave))
            was_vacant = st.seat == 1
            if st.vacancy_left.dtype == np.float64 and st.vacancy_left.shape == (n, S):
                vac = np.flatnonzero(was_vacant)  # few seats: count down only those
                if vac.size:
                    st.vacancy_left = st.vacancy_left.copy()
                    st.vacancy_left.reshape(-1)[vac] -= 1
            else:
                st.vacancy_left = np.where(was_vacant, st.vacancy_left - 1, st.vacancy_left)
            gone = np.flatnonzero(leave)
            st.vacancy_left = _where(leave, hire_delay[:, None], st.vacancy_left, idx=gone)
            st.seat = _where(leave, 1, st.seat, np.int8, gone)
            for t in ("coach", "train", "shift"):
                if t not in idle:  # an idle timer is +0.0 already
                    setattr(st, f"{t}_left", _where(leave, 0.0, getattr(st, f"{t}_left"),
                                                    idx=gone))
            z_new = streams["replacement"].standard_normal((n, S))
            refill = (st.seat == 1) & (st.vacancy_left <= 0)
            if refill.any():
                cvk = col["skill_cv"]
                s2 = np.log1p(cvk * cvk)
                new_skill = np.exp(-s2 / 2 + np.sqrt(s2) * z_new)
                hired = np.flatnonzero(refill)
                st.skill = _where(refill, new_skill, st.skill, idx=hired)
                st.tenure = _where(refill, 0.0, st.tenure, idx=hired)
                st.seat = _where(refill, 2, st.seat, np.int8, hired)
                st.train_stock = _where(refill, 0.0, st.train_stock, idx=hired)
                diag["hires"] += float(np.count_nonzero(refill))

            # -- management review at the end of the month -----------------------------------
            if every > 0 and rules and (g + 1) % every == 0:
                rule_cost = self._review(plan, st, out, j, p, streams, diag, rule_cost)
                for k in st.acc:
                    st.acc[k].fill(0.0)  # in place, as they are accumulated
            out["cost"][:, j] = trh_sum * hourly + rule_cost
        self._charge_rule_hours(plan, st, diag)  # hours delivered since the last review
        st.month_index = H
        return Outcomes(metrics=out, state=st, diagnostics=diag, per_rep=reps)

    @staticmethod
    def _init_rule_state(st: SalesState, p: Mapping[str, np.ndarray]) -> None:
        """Fill in the rule bookkeeping a state built elsewhere may lack."""
        shape = st.seat.shape
        if st.coach_effect is None:
            # a state from before per-rule effects: coaching runs at the drawn effect
            st.coach_effect = np.broadcast_to(
                np.asarray(p["coaching_effect"], dtype=float)[:, None], shape).copy()
        if st.coach_rule is None:
            st.coach_rule = np.full(shape, -1, dtype=np.int16)
        if st.train_rule is None:
            st.train_rule = np.full(shape, -1, dtype=np.int16)
        for k in ("coach_h", "train_h", "filled", "prospect_visits", "customer_visits",
                  "training_hours"):
            if k not in st.acc:
                st.acc[k] = np.zeros(shape)

    @staticmethod
    def _charge_rule_hours(plan, st: SalesState, diag) -> None:
        """Charge the coaching and training hours delivered since the last review to the rule
        that scheduled them (priced at ``team.hourly_cost``), then clear the counters.

        Between two reviews a seat's schedule was set by at most one rule (the last to fire on
        it), so this attribution is exact."""
        rules = plan.management.rules
        if not rules:
            return
        hourly = plan.team.hourly_cost
        for key, owner in (("coach_h", st.coach_rule), ("train_h", st.train_rule)):
            hours = st.acc.get(key)
            if not hours.any():  # _init_rule_state made both arrays
                continue
            # whole hours sum exactly in any order: then a masked product's sum (fast) equals
            # the sum of the selected hours (a slow boolean index)
            exact = (hours.dtype == np.float64 and np.array_equal(hours, np.trunc(hours))
                     and float(np.abs(hours).max()) * hours.size < 2.0 ** 52)
            for r_i, r in enumerate(rules):
                mine = owner == r_i
                if not mine.any():
                    continue  # a sum of nothing is 0.0, charged nothing
                h = float((hours * mine).sum() if exact else hours[mine].sum())
                if h:
                    diag[f"rule:{r.id or f'rule{r_i}'}:cost"] += h * hourly
            st.acc[key] = np.zeros_like(hours)

    def _review(self, plan, st: SalesState, out, j, p, streams, diag, rule_cost):
        """Apply every management rule at a review; responses start after their delay.

        Returns ``rule_cost`` plus each path's money cost of the rules fired now (the hours
        they schedule are priced in the ``cost`` metric as they are delivered). The
        diagnostics ``rule:<id>:fired`` count firings (per rep for per-rep and rep-level
        responses, per path otherwise) and ``rule:<id>:cost`` sums money costs and the priced
        hours each rule delivered.
        """
        self._charge_rule_hours(plan, st, diag)
        filled = st.seat == 2
        acc = st.acc
        n = st.seat.shape[0]
        hire_k = 0
        for r_i, r in enumerate(plan.management.rules):
            rid = r.id or f"rule{r_i}"
            d = RESPONSES[r.response]
            get = lambda k: d[k] if getattr(r, k) is None else getattr(r, k)  # noqa: E731
            if r.per_rep:
                val = self._rep_metric(r.metric, acc)
                cond = (val < r.below) if r.below is not None else (val > r.above)
                cond &= filled & np.isfinite(val)
            elif r.metric == "cost":
                # this month's cost row is written after the review: the priced hours so far
                val = out["training_hours"][:, j] * plan.team.hourly_cost + rule_cost
                cond = (val < r.below) if r.below is not None else (val > r.above)
                cond &= np.isfinite(val)
            else:
                val = self._team_metric(r.metric, acc, out, j)
                cond = (val < r.below) if r.below is not None else (val > r.above)
                cond &= np.isfinite(val)
            wait = float(get("delay_months"))
            dur = float(get("duration_months"))
            if r.response == "hiring":
                if r.per_rep:
                    cond = cond.any(1)
                cond = cond & ~st.hires_done[:, hire_k]
                k_reps = int(get("reps"))
                closed = np.cumsum(st.seat == 0, axis=1)
                open_now = (st.seat == 0) & (closed <= k_reps) & cond[:, None]
                st.seat = np.where(open_now, 1, st.seat).astype(np.int8)
                st.vacancy_left = np.where(open_now, wait + np.maximum(
                    0.0, np.rint(p["hiring_delay_months"]))[:, None], st.vacancy_left)
                st.active = np.where(open_now, 0.0, st.active)
                st.hires_done[:, hire_k] |= cond
                hire_k += 1
                fired = cond.astype(float)
                cost = fired * get("cost") * k_reps
            elif r.response == "marketing_push":
                if r.per_rep:
                    cond = cond.any(1)
                cond = cond & ~((st.mkt_wait > 0) | (st.mkt_left > 0))  # not restarted
                st.mkt_wait = np.where(cond, wait, st.mkt_wait)
                st.mkt_left = np.where(cond, dur, st.mkt_left)
                st.mkt_events = np.where(cond, float(get("events")), st.mkt_events)
                fired = cond.astype(float)
                cost = fired * get("cost")
            else:
                if not r.per_rep:
                    cond = np.broadcast_to(cond[:, None], st.seat.shape) & filled
                # a response already pending or running is not restarted: re-firing it at
                # every review would push its start back forever when delay >= cadence
                timer = {"coaching": "coach", "training": "train",
                         "shift_visits": "shift"}[r.response]
                busy = (getattr(st, f"{timer}_wait") > 0) | (getattr(st, f"{timer}_left") > 0)
                cond = cond & ~busy
                idx = np.flatnonzero(cond)
                if r.response == "coaching":
                    st.coach_wait = _where(cond, wait, st.coach_wait, idx=idx)
                    st.coach_left = _where(cond, dur, st.coach_left, idx=idx)
                    st.coach_hours = _where(cond, float(get("hours_per_month")),
                                            st.coach_hours, idx=idx)
                    # the rule's own effect, when given, replaces the coaching_effect prior
                    eff = (np.asarray(p["coaching_effect"], dtype=float)[:, None]
                           if r.effect is None else float(r.effect))
                    st.coach_effect = _where(cond, eff, st.coach_effect, idx=idx)
                    st.coach_rule = _where(cond, r_i, st.coach_rule, np.int16, idx)
                elif r.response == "training":
                    st.train_wait = _where(cond, wait, st.train_wait, idx=idx)
                    st.train_left = _where(cond, dur, st.train_left, idx=idx)
                    st.train_extra = _where(cond, float(get("hours_per_month")),
                                            st.train_extra, idx=idx)
                    st.train_rule = _where(cond, r_i, st.train_rule, np.int16, idx)
                elif r.response == "shift_visits":
                    st.shift_wait = _where(cond, wait, st.shift_wait, idx=idx)
                    st.shift_left = _where(cond, dur, st.shift_left, idx=idx)
                    st.shift_amount = _where(cond, float(get("visits_per_week")),
                                             st.shift_amount, idx=idx)
                # counts as floats: exact (the @ sums whole numbers)
                fired = cond.astype(float) @ np.ones(cond.shape[1])
                cost = fired * get("cost")
            diag[f"rule:{rid}:fired"] += float(fired.sum())
            diag[f"rule:{rid}:cost"] += float(cost.sum())
            rule_cost = rule_cost + cost
        return rule_cost

    @staticmethod
    def _rep_metric(metric: str, acc: Mapping[str, np.ndarray]) -> np.ndarray:
        """A rep's monthly average since the last review, over the months the rep worked
        (NaN for a seat nobody filled; such seats never trigger a rule)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            if metric == "revisit_rate":
                return np.where(acc["active"] > 0, acc["revisited"] / acc["active"], np.nan)
            key = {"new_customers": "new", "churned_customers": "churned",
                   "active_customers": "active", "revisited_customers": "revisited"
                   }.get(metric, metric)
            if key in acc and key != "months":
                # months worked ("filled" is always there: _init_rule_state adds it)
                return acc[key] / np.where(acc["filled"] > 0, acc["filled"], np.nan)
        raise ValueError(f"metric {metric!r} has no per-rep value")

    @staticmethod
    def _team_metric(metric: str, acc, out, j) -> np.ndarray:
        if metric == "revisit_rate":
            a = acc["active"].sum(1)
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(a > 0, acc["revisited"].sum(1) / a, np.nan)
        if metric in ("new_customers", "revenue", "churned_customers", "revisited_customers",
                      "active_customers", "prospect_visits", "customer_visits",
                      "training_hours"):
            key = {"new_customers": "new", "churned_customers": "churned",
                   "revisited_customers": "revisited", "active_customers": "active"
                   }.get(metric, metric)
            return acc[key].sum(1) / np.maximum(acc["months"], 1.0)
        return out[metric][:, j]  # levels and rates: the latest value
