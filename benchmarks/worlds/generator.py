"""Independent sales worlds: a customer-level monthly simulation of a field sales team.

Written for issue 14 item 6 to test ``okma_sim``'s forecasts on data the model did not write.
It is pure numpy with its own random generator and imports nothing from ``okma_sim``: its
mechanisms are chosen to lie outside ``SalesTeamModel``'s functional forms.

The world, month by month (``P`` paths x ``S`` seats x ``C`` customer slots):

- **Reps and seats.** Each seat holds a book of customers. A filled seat's rep has a skill
  (gamma, mean 1, CV ``skill_cv``) and a tenure; productivity ramps as
  ``1 - exp(-(tenure + 1) / ramp_tau)`` (exponential, not linear). At the end of a month a rep
  leaves with probability ``1 - (1 - attrition_annual) ** (1/12)``; the seat then stays empty
  for ``1 + Poisson(vacancy_mean - 1)`` months, its book unserved (no visits), and a new rep
  (tenure 0, fresh skill, no training) takes it over.
- **Acquisition.** A filled seat wins ``Poisson(lam)`` new customers,
  ``lam = acq_base x skill x ramp x f(pv) / f(pv_ref) x (1 + uplift) x season(cm) x shock``,
  with ``f(pv) = 1 - exp(-pv / acq_scale)``: saturating in the prospect visits ``pv`` of the
  month, not a power law. ``acq_scale`` is set so that the local elasticity at ``pv_ref`` (the
  history's mean effort) is ``elasticity_ref``; beyond it the elasticity keeps falling.
- **Training that wears off.** A month's training hours act on the next ``training_fade``
  months with linearly fading weights: ``stock = sum_k w_k h_{m-k} / (8 sum_k w_k)``,
  ``w_k = training_fade + 1 - k`` for ``k = 1..training_fade``; ``uplift = training_effect x
  2 stock / (1 + stock)`` (``training_effect`` at 8 hours a month, saturating at twice that).
- **Visits.** A rep's customer visits fall on the book's customers as independent Poisson
  counts with means proportional to ``weight_i x (1 + since_i) ** neglect_priority``: key
  accounts (lognormal weights, sd ``account_sd``) get more, and neglected ones are favoured.
  ``since_i`` is the months since customer i was last visited (0 when visited this month).
- **Churn driven by the time since the last visit.** A customer leaves in the month with
  probability ``churn_min + (churn_max - churn_min) x (1 - exp(-since_i / churn_tau))``.
- **Purchases.** A kept customer orders ``Poisson(rate_i x season_p(cm) x shock x (1 +
  visit_boost x exp(-since_i / boost_tau)))`` times: ``rate_i`` is gamma with mean
  ``purchase_mean`` and shape ``purchase_shape`` (customer heterogeneity; ``inf`` = none),
  and a visit lifts orders by a boost that wears off with the months since it. Each new
  customer places one first order in the month won and orders from the next month. An order's
  value is ``order_value x value_i x Gamma(1/order_cv^2, order_cv^2)``, with a per-customer
  lognormal multiplier ``value_i`` (mean 1, sd of its log ``value_sd``).
- **Seasonality outside the model's family.** ``season(cm) = (1 + season_amp x cos(2 pi (cm -
  season_peak) / 12)) x (1 - holiday_dip if cm == holiday_month)``, divided by its mean; the
  purchases' factor ``season_p`` is the same curve shifted ``purchase_lag`` months later.
- **Market.** ``shock = exp(z - var/2)`` with ``z`` an AR(1) (``shock_rho``, innovation sd
  ``shock_sd``) and ``var`` its stationary variance: persistent, shared by the team, acting on
  acquisition and purchases.
- **CSAT** (only so the history has its columns; not studied): a survey in March, June,
  September and December, ``Binomial(active, 0.3)`` responses, each satisfied with probability
  ``expit(logit(0.8) + 2 (revisit share - 0.8))``.

Actions. The plan sets team levels of prospect visits, customer visits (a month) and training
hours (a month) per rep. Reps execute them with a persistent rep multiplier (lognormal, mean
1, log sd ``action_rep_sd``) and monthly noise (``action_month_sd``), and the team's level
itself moves from month to month by ``action_team_sd``. Visits are whole numbers, training
hours halves.

Per seed the world's parameters are drawn from its configuration's ranges (:data:`CONFIGS`):
uniform, or log-uniform where marked.

Examples
--------
>>> w = draw_world("steady", 0)
>>> hist, state = w.history(months=24)
>>> sorted(hist)[:3]
['active_customers', 'churned_customers', 'csat_responses']
"""

from __future__ import annotations

import csv
import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["CONFIGS", "HISTORY_COLUMNS", "WorldParams", "World", "draw_world",
           "season_factors", "training_stock", "acquisition_response", "churn_hazard",
           "write_history_csv"]

#: weeks in a month, as a rep-week lever converts to a month
WEEKS = 52.0 / 12.0
#: the history's first month (the calendar matters for the seasons)
HISTORY_START = (2025, 1)
#: the columns of the rep-month history CSV, in its order, then tenure
HISTORY_COLUMNS = ("month", "rep_id", "prospect_visits", "customer_visits", "new_customers",
                   "active_customers", "revisited_customers", "churned_customers", "revenue",
                   "training_hours", "csat_responses", "csat_satisfied", "tenure_months")
_NEVER = 24.0  # months since the last visit of a customer nobody has visited yet


@dataclass(frozen=True)
class WorldParams:
    """One world's parameters (module docstring for the mechanisms; units per rep-month)."""

    seats: int = 12
    book0: int = 40
    acq_base: float = 1.0
    elasticity_ref: float = 0.3
    skill_cv: float = 0.3
    ramp_tau: float = 2.0
    attrition_annual: float = 0.3
    vacancy_mean: float = 2.0
    training_effect: float = 0.1
    training_fade: int = 4
    purchase_mean: float = 0.5
    purchase_shape: float = 2.0
    order_value: float = 2000.0
    value_sd: float = 0.4
    order_cv: float = 0.8
    visit_boost: float = 0.3
    boost_tau: float = 1.0
    account_sd: float = 0.5
    neglect_priority: float = 0.5
    churn_min: float = 0.01
    churn_max: float = 0.08
    churn_tau: float = 3.0
    season_amp: float = 0.1
    season_peak: float = 6.0
    holiday_month: int = 8
    holiday_dip: float = 0.0
    purchase_lag: int = 0
    shock_sd: float = 0.03
    shock_rho: float = 0.5
    pv_ref: float = 26.0
    cv_ref: float = 40.0
    th_ref: float = 6.0
    action_team_sd: float = 0.06
    action_rep_sd: float = 0.10
    action_month_sd: float = 0.08


#: parameter -> (low, high) uniform, (low, high, "log") log-uniform, or a value: the ranges
#: every configuration shares. They are at least as wide as the model's priors where a
#: parameter has a counterpart there (docs/calibration.md, "Independent worlds").
_SHARED: dict[str, Any] = {
    "seats": (8, 16), "book0": (20, 60), "elasticity_ref": (0.05, 0.75),
    "skill_cv": (0.1, 0.6), "ramp_tau": (1.0, 4.0), "training_effect": (0.0, 0.3),
    "training_fade": (2, 8), "purchase_mean": (0.25, 1.0, "log"),
    "order_value": (1000.0, 4000.0, "log"), "value_sd": (0.2, 0.7), "order_cv": (0.5, 1.2),
    "visit_boost": (0.0, 0.6), "boost_tau": (0.5, 3.0), "account_sd": (0.2, 1.0),
    "neglect_priority": (0.0, 1.5), "season_peak": (1.0, 12.0), "holiday_month": (1, 12),
    "shock_rho": (0.0, 0.7), "pv_ref": (15.0, 40.0), "cv_ref": (20.0, 60.0),
    "th_ref": (2.0, 12.0),
}

#: configuration -> parameter -> range or value (as :data:`_SHARED`): the shared ranges and
#: what sets each configuration apart (acquisition, attrition and vacancies, the purchase
#: rates' spread, churn, seasonality, the market shock)
CONFIGS: dict[str, dict[str, Any]] = {
    "steady": {
        **_SHARED, "acq_base": (0.4, 2.0, "log"), "attrition_annual": (0.1, 0.4),
        "vacancy_mean": (1.0, 3.0), "purchase_shape": (1.0, 5.0),
        "churn_min": (0.002, 0.015), "churn_max": (0.03, 0.08), "churn_tau": (2.0, 6.0),
        "season_amp": (0.0, 0.10), "holiday_dip": 0.0, "purchase_lag": 0,
        "shock_sd": (0.0, 0.05),
    },
    "churny": {
        **_SHARED, "acq_base": (0.6, 2.5, "log"), "attrition_annual": (0.25, 0.6),
        "vacancy_mean": (2.0, 5.0), "purchase_shape": (0.5, 3.0),
        "churn_min": (0.005, 0.02), "churn_max": (0.08, 0.25), "churn_tau": (1.0, 3.0),
        "season_amp": (0.0, 0.15), "holiday_dip": (0.0, 0.15), "purchase_lag": 0,
        "shock_sd": (0.0, 0.05),
    },
    "seasonal-heavy": {
        **_SHARED, "acq_base": (0.4, 2.0, "log"), "attrition_annual": (0.1, 0.5),
        "vacancy_mean": (1.0, 4.0), "purchase_shape": (1.0, 5.0),
        "churn_min": (0.002, 0.015), "churn_max": (0.03, 0.12), "churn_tau": (2.0, 6.0),
        "season_amp": (0.15, 0.35), "holiday_dip": (0.2, 0.5), "purchase_lag": (0, 2),
        "shock_sd": (0.0, 0.08),
    },
}

_INTEGER = {"seats", "book0", "training_fade", "holiday_month", "purchase_lag"}


def draw_world(config: str, seed: int) -> "World":
    """World ``seed`` of a configuration: its parameters drawn from :data:`CONFIGS`.

    Examples
    --------
    >>> draw_world("churny", 3).params.attrition_annual >= 0.25
    True
    """
    ranges = CONFIGS[config]
    index = list(CONFIGS).index(config)
    rng = np.random.default_rng(np.random.SeedSequence([20_141_406, index, seed]))
    values: dict[str, Any] = {}
    for name in (f.name for f in dataclasses.fields(WorldParams)):
        spec = ranges.get(name)
        if spec is None:
            continue
        if not isinstance(spec, tuple):
            values[name] = spec
        elif name in _INTEGER:
            values[name] = int(rng.integers(spec[0], spec[1] + 1))
        elif len(spec) == 3:
            values[name] = float(math.exp(rng.uniform(math.log(spec[0]), math.log(spec[1]))))
        else:
            values[name] = float(rng.uniform(spec[0], spec[1]))
    return World(WorldParams(**values), seed=seed, config=config)


# -- the mechanisms as functions (the tests check them analytically) ---------------------------
def season_factors(p: WorldParams, lag: int = 0) -> np.ndarray:
    """The 12 calendar months' factors (January first), mean 1; ``lag`` shifts the curve later.

    Examples
    --------
    >>> round(float(season_factors(WorldParams()).mean()), 12)
    1.0
    """
    cm = np.arange(1, 13)
    raw = 1.0 + p.season_amp * np.cos(2.0 * np.pi * (cm - p.season_peak - lag) / 12.0)
    raw = raw * np.where(cm == (p.holiday_month - 1 + lag) % 12 + 1, 1.0 - p.holiday_dip, 1.0)
    return raw / raw.mean()


def training_stock(hours: np.ndarray, fade: int) -> np.ndarray:
    """Training stock from past hours, ``hours[..., k]`` = the hours ``k + 1`` months ago.

    Examples
    --------
    >>> float(training_stock(np.full(4, 8.0), 4))
    1.0
    """
    w = np.arange(fade, 0, -1, dtype=float)
    return hours[..., :fade] @ w / (8.0 * w.sum())


def acquisition_response(pv: np.ndarray | float, p: WorldParams) -> np.ndarray:
    """``f(pv) / f(pv_ref)``: the acquisition multiplier of ``pv`` prospect visits a month.

    Examples
    --------
    >>> float(acquisition_response(26.0, WorldParams()))
    1.0
    """
    s = _acq_scale(p.elasticity_ref, p.pv_ref)
    return -np.expm1(-np.asarray(pv, float) / s) / -math.expm1(-p.pv_ref / s)


def _acq_scale(elasticity: float, pv_ref: float) -> float:
    """``s`` such that ``f(pv) = 1 - exp(-pv / s)`` has the elasticity ``x / (e^x - 1)``, ``x =
    pv_ref / s``, equal to ``elasticity`` at ``pv_ref`` (bisection on ``x``)."""
    e = min(max(elasticity, 1e-4), 1.0 - 1e-6)
    lo, hi = 1e-9, 60.0  # the elasticity falls from 1 to 0 as x rises
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid / math.expm1(mid) > e:
            lo = mid
        else:
            hi = mid
    return pv_ref / (0.5 * (lo + hi))


def churn_hazard(since: np.ndarray | float, p: WorldParams) -> np.ndarray:
    """Monthly churn probability of a customer last visited ``since`` months ago.

    Examples
    --------
    >>> float(churn_hazard(0.0, WorldParams()))
    0.01
    """
    return p.churn_min + (p.churn_max - p.churn_min) * -np.expm1(-np.asarray(since, float)
                                                                  / p.churn_tau)


def _ramp(tenure: np.ndarray, p: WorldParams) -> np.ndarray:
    return -np.expm1(-(tenure + 1.0) / p.ramp_tau)


# -- state ---------------------------------------------------------------------------------
@dataclass
class WorldState:
    """Everything the next month depends on, per path (first axis) and seat."""

    month: int                 # months since HISTORY_START
    alive: np.ndarray          # (P, S, C) customer slots in use
    rate: np.ndarray           # (P, S, C) purchase rate
    value: np.ndarray          # (P, S, C) order value multiplier
    weight: np.ndarray         # (P, S, C) account visit weight
    since: np.ndarray          # (P, S, C) months since the last visit
    filled: np.ndarray         # (P, S) a rep works the seat this month
    vacant_left: np.ndarray    # (P, S) empty months left (vacant seats)
    tenure: np.ndarray         # (P, S) completed months
    skill: np.ndarray          # (P, S)
    rep_id: np.ndarray         # (P, S) the occupant's number
    rep_mult: np.ndarray       # (P, S, 3) the occupant's persistent action multipliers
    hours: np.ndarray          # (P, S, 8) training hours, last month first
    shock: np.ndarray          # (P,) the market's AR(1) log level
    next_id: np.ndarray        # (P,) the number the next new rep gets

    def repeat(self, n: int) -> "WorldState":
        """``n`` copies of a one-path state (the forward runs start from it)."""
        def rep(a: np.ndarray) -> np.ndarray:
            return np.repeat(a, n, axis=0) if a.ndim else a
        return WorldState(self.month, *(rep(getattr(self, f.name))
                                        for f in dataclasses.fields(self)[1:]))


class World:
    """A world: its parameters, and its own random streams (history and forward runs)."""

    def __init__(self, params: WorldParams, seed: int = 0, config: str = "") -> None:
        self.params = params
        self.seed = seed
        self.config = config
        ss = np.random.SeedSequence([20_141_406, 99, list(CONFIGS).index(config)
                                     if config in CONFIGS else 99, seed])
        hist, fwd = ss.spawn(2)
        self._history_rng = np.random.default_rng(hist)
        self._forward_rng = np.random.default_rng(fwd)

    # -- public API ---------------------------------------------------------------------------
    def history(self, months: int = 24) -> tuple[dict[str, np.ndarray], WorldState]:
        """``months`` of rep-month history from the world's start, at its history actions.

        Returns the rows (column -> array, :data:`HISTORY_COLUMNS`; filled seats only) and the
        end state. The team's action levels are ``pv_ref``, ``cv_ref`` and ``th_ref``.
        """
        rng = self._history_rng
        st = self.initial_state(rng)
        levels = np.array([self.params.pv_ref, self.params.cv_ref, self.params.th_ref])
        rows: list[dict[str, np.ndarray]] = []
        for _ in range(months):
            rows.append(self.step(st, levels, rng))
        return _rows(rows), st

    def forward(self, state: WorldState, levels: np.ndarray, months: int = 12,
                runs: int = 400) -> dict[str, np.ndarray]:
        """``runs`` forward runs from ``state`` at the team action ``levels`` (prospect visits,
        customer visits, training hours per rep-month): team totals per run and month,
        ``revenue`` (every book, unserved ones included) and ``new_customers``."""
        rng = self._forward_rng
        st = state.repeat(runs)
        out = {"revenue": np.zeros((runs, months)), "new_customers": np.zeros((runs, months))}
        for j in range(months):
            r = self.step(st, np.asarray(levels, float), rng)
            out["revenue"][:, j] = r["team_revenue"]
            out["new_customers"][:, j] = r["new"].sum(1)
        return out

    def initial_state(self, rng: np.random.Generator) -> WorldState:
        """One path: every seat filled by a rep of 6 to 60 months' tenure with ``book0``
        customers, each last visited 0 to 2 months ago; no training stock yet."""
        p = self.params
        S, C = p.seats, 2 * p.book0 + 40
        alive = np.zeros((1, S, C), bool)
        alive[:, :, :p.book0] = True
        st = WorldState(
            month=0, alive=alive, rate=self._rates(rng, (1, S, C)),
            value=self._values(rng, (1, S, C)), weight=self._weights(rng, (1, S, C)),
            since=rng.integers(0, 3, (1, S, C)).astype(float), filled=np.ones((1, S), bool),
            vacant_left=np.zeros((1, S), int), tenure=rng.integers(6, 61, (1, S)),
            skill=self._skills(rng, (1, S)), rep_id=np.arange(S)[None, :].copy(),
            rep_mult=self._mults(rng, (1, S)),
            hours=np.full((1, S, 8), p.th_ref), shock=self._shock0(rng, 1),
            next_id=np.array([S]))
        return st

    # -- one month ----------------------------------------------------------------------------
    def step(self, st: WorldState, levels: np.ndarray, rng: np.random.Generator
             ) -> dict[str, np.ndarray]:
        """Advance every path one month; return the month's per-seat outcomes."""
        p = self.params
        cm = (HISTORY_START[1] - 1 + st.month) % 12 + 1
        season = season_factors(p)[cm - 1]
        season_p = season_factors(p, p.purchase_lag)[cm - 1]
        var = p.shock_sd ** 2 / max(1.0 - p.shock_rho ** 2, 1e-9)
        shock = np.exp(st.shock - var / 2.0)[:, None]
        pv, cv, th = self._actions(st, levels, rng)
        # acquisition
        uplift = p.training_effect * _saturate(training_stock(st.hours, p.training_fade))
        lam = (p.acq_base * st.skill * _ramp(st.tenure, p) * acquisition_response(pv, p)
               * (1.0 + uplift) * season * shock)
        new = np.where(st.filled, rng.poisson(np.where(st.filled, lam, 0.0)), 0)
        # visits, churn and purchases of the book held at the start of the month
        active = st.alive.copy()
        w = st.weight * (1.0 + st.since) ** p.neglect_priority * active
        share = w / np.maximum(w.sum(-1, keepdims=True), 1e-300)
        visited = active & (rng.poisson(cv[..., None] * share) > 0)
        since = np.where(visited, 0.0, st.since + 1.0)
        churned = active & (rng.random(active.shape) < churn_hazard(since, p))
        kept = active & ~churned
        mu = (st.rate * season_p * shock[..., None]
              * (1.0 + p.visit_boost * np.exp(-since / p.boost_tau)))
        orders = np.where(kept, rng.poisson(np.where(kept, mu, 0.0)), 0)
        # the new customers' first orders, one each at their own value multipliers
        new_values = self._values(rng, new.shape + (int(new.max()),))
        first = np.arange(new_values.shape[-1]) < new[..., None]
        revenue = (self._order_revenue(orders, st.value, rng).sum(-1)
                   + self._order_revenue(first.astype(int), new_values, rng).sum(-1))
        csat = self._csat(cm, active, visited, rng)
        out = {"filled": st.filled.copy(), "rep_id": st.rep_id.copy(),
               "tenure": st.tenure.copy(), "pv": pv, "cv": cv, "th": th, "new": new,
               "active": active.sum(-1), "revisited": visited.sum(-1),
               "churned": churned.sum(-1), "revenue": revenue, "csat_responses": csat[0],
               "csat_satisfied": csat[1], "month": st.month,
               "team_revenue": revenue.sum(1)}
        st.alive, st.since = kept, since
        self._add_customers(st, new, new_values, rng)
        st.hours = np.concatenate([th[..., None], st.hours[..., :-1]], axis=-1)
        st.tenure = st.tenure + st.filled
        st.shock = p.shock_rho * st.shock + p.shock_sd * rng.standard_normal(st.shock.shape)
        self._staffing(st, rng)
        st.month += 1
        return out

    def _actions(self, st: WorldState, levels: np.ndarray, rng: np.random.Generator
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Executed prospect visits, customer visits (whole) and training hours per seat."""
        p = self.params
        P, S = st.filled.shape
        team = _mean_one(p.action_team_sd, rng, (P, 1, 3))
        month = _mean_one(p.action_month_sd, rng, (P, S, 3))
        level = levels[None, None, :] * team * st.rep_mult * month * st.filled[..., None]
        pv, cv = np.rint(level[..., 0]), np.rint(level[..., 1])
        return pv, cv, np.round(level[..., 2] * 2.0) / 2.0

    def _order_revenue(self, orders: np.ndarray, value: np.ndarray,
                       rng: np.random.Generator) -> np.ndarray:
        """Sum of ``orders`` order values per slot: gamma with CV ``order_cv`` each."""
        p = self.params
        c2 = p.order_cv ** 2
        g = rng.standard_gamma(np.where(orders > 0, orders / c2, 1.0)) * c2
        return np.where(orders > 0, g, 0.0) * value * p.order_value

    def _add_customers(self, st: WorldState, new: np.ndarray, values: np.ndarray,
                       rng: np.random.Generator) -> None:
        """Put each seat's new customers (with their value multipliers ``values``) into its
        free slots, growing the slots when a book outgrows them."""
        n = values.shape[-1]
        if n == 0:
            return
        need = int((st.alive.sum(-1) + new).max())
        if need > st.alive.shape[-1]:
            grow = need - st.alive.shape[-1] + 60
            for f in ("alive", "rate", "value", "weight", "since"):
                a = getattr(st, f)
                pad = np.zeros(a.shape[:-1] + (grow,), a.dtype)
                setattr(st, f, np.concatenate([a, pad], axis=-1))
        free = ~st.alive
        rank = np.cumsum(free, axis=-1)  # 1 for the first free slot, 2 for the second, ...
        slot = free & (rank <= new[..., None])
        shape = st.alive.shape
        k = np.clip(rank - 1, 0, n - 1)
        st.value = np.where(slot, np.take_along_axis(values, k, axis=-1), st.value)
        st.rate = np.where(slot, self._rates(rng, shape), st.rate)
        st.weight = np.where(slot, self._weights(rng, shape), st.weight)
        st.since = np.where(slot, 0.0, st.since)
        st.alive = st.alive | slot

    def _staffing(self, st: WorldState, rng: np.random.Generator) -> None:
        """End of month: vacant seats count down and are filled; reps leave."""
        p = self.params
        was_filled = st.filled.copy()
        st.vacant_left = np.where(~was_filled, st.vacant_left - 1, st.vacant_left)
        refill = ~was_filled & (st.vacant_left <= 0)
        h = 1.0 - (1.0 - p.attrition_annual) ** (1.0 / 12.0)
        leave = was_filled & (rng.random(st.filled.shape) < h)
        delay = 1 + rng.poisson(max(p.vacancy_mean - 1.0, 0.0), st.filled.shape)
        st.vacant_left = np.where(leave, delay, st.vacant_left)
        st.filled = (was_filled & ~leave) | refill
        if refill.any():
            ids = st.next_id[:, None] + np.cumsum(refill, axis=1) - 1
            st.rep_id = np.where(refill, ids, st.rep_id)
            st.next_id = st.next_id + refill.sum(1)
            st.tenure = np.where(refill, 0, st.tenure)
            st.skill = np.where(refill, self._skills(rng, refill.shape), st.skill)
            st.rep_mult = np.where(refill[..., None], self._mults(rng, refill.shape),
                                   st.rep_mult)
            st.hours = np.where(refill[..., None], 0.0, st.hours)

    def _csat(self, cm: int, active: np.ndarray, visited: np.ndarray,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        n = active.sum(-1)
        if cm % 3:
            return np.zeros(n.shape, int), np.zeros(n.shape, int)
        share = visited.sum(-1) / np.maximum(n, 1)
        resp = rng.binomial(n, 0.3)
        q = 1.0 / (1.0 + np.exp(-(math.log(0.8 / 0.2) + 2.0 * (share - 0.8))))
        return resp, rng.binomial(resp, q)

    # -- draws -------------------------------------------------------------------------------
    def _rates(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        p = self.params
        if not math.isfinite(p.purchase_shape):
            return np.full(shape, p.purchase_mean)
        return rng.gamma(p.purchase_shape, p.purchase_mean / p.purchase_shape, shape)

    def _values(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        return _mean_one(self.params.value_sd, rng, shape)

    def _weights(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        s = self.params.account_sd
        return np.exp(s * rng.standard_normal(shape))

    def _skills(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        cv = self.params.skill_cv
        if cv <= 0:
            return np.ones(shape)
        return rng.gamma(1.0 / cv ** 2, cv ** 2, shape)

    def _mults(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        return _mean_one(self.params.action_rep_sd, rng, shape + (3,))

    def _shock0(self, rng: np.random.Generator, n: int) -> np.ndarray:
        p = self.params
        return math.sqrt(p.shock_sd ** 2 / max(1.0 - p.shock_rho ** 2, 1e-9)) * \
            rng.standard_normal(n)


def _mean_one(sd: float, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Lognormal multipliers with mean 1 and log sd ``sd``."""
    return np.exp(sd * rng.standard_normal(shape) - sd * sd / 2.0)


def _saturate(stock: np.ndarray) -> np.ndarray:
    """``2 stock / (1 + stock)``: 1 at one unit of stock, at most 2."""
    return 2.0 * stock / (1.0 + stock)


def _rows(months: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The filled seats' rows of path 0, month by month (history CSV columns)."""
    cols: dict[str, list[Any]] = {c: [] for c in HISTORY_COLUMNS}
    for r in months:
        y, m = divmod(HISTORY_START[1] - 1 + r["month"], 12)
        label = f"{HISTORY_START[0] + y:04d}-{m + 1:02d}"
        for s in np.flatnonzero(r["filled"][0]):
            cols["month"].append(label)
            cols["rep_id"].append(f"R{int(r['rep_id'][0, s]):03d}")
            for c, k in (("prospect_visits", "pv"), ("customer_visits", "cv"),
                         ("new_customers", "new"), ("active_customers", "active"),
                         ("revisited_customers", "revisited"),
                         ("churned_customers", "churned"), ("revenue", "revenue"),
                         ("training_hours", "th"), ("csat_responses", "csat_responses"),
                         ("csat_satisfied", "csat_satisfied"), ("tenure_months", "tenure")):
                cols[c].append(r[k][0, s])
    return {c: np.asarray(v) for c, v in cols.items()}


def write_history_csv(rows: dict[str, np.ndarray], path: Any) -> None:
    """Write the rows as the rep-month history CSV that ``okma-sim calibrate`` reads.

    Examples
    --------
    >>> hist, _ = draw_world("steady", 0).history(3)
    >>> write_history_csv(hist, "/tmp/world.csv")  # doctest: +SKIP
    """
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(HISTORY_COLUMNS)
        for i in range(len(rows["month"])):
            w.writerow([_cell(c, rows[c][i]) for c in HISTORY_COLUMNS])


def _cell(column: str, v: Any) -> str:
    if column in ("month", "rep_id"):
        return str(v)
    if column in ("revenue", "training_hours"):
        return f"{float(v):.2f}"
    return str(int(v))
