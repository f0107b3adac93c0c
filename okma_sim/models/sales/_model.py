"""The built-in sales-team model (docs/model.md states every formula and default).

The model steps month by month. Arrays have shape (paths, seats); a seat is a rep position that
can fall vacant and be refilled. Epistemic parameters arrive from the engine, one value per path;
monthly outcomes are drawn per seat and month. Each kind of draw has its own random stream, and
every stream draws a fixed-shape array each month, so two plans run under one seed share their
draws (common random numbers). Counts that depend on a lever are drawn by inverse CDF from
a common uniform or normal, so they move monotonically with the lever on each path.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from ..protocol import Outcomes
from . import _month as month
from ._anchor import ANCHORED, anchor_figures, anchor_parameters
from ._capacity import effort
from ._month import season_factors
from ._staffing import departures, refills, rep_skill
from ._priors import LEVERS, METRICS, PARAMETERS, RESPONSES, SEASON_QUARTER, SEASON_YEAR
from ._rules import charge_rule_hours, init_rule_state, review
from ._state import SalesState
from ._streams import spawn_streams

__all__ = ["SalesTeamModel"]


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
    #: anchored metric -> the parameter anchoring rescales (:meth:`anchor`)
    anchored = ANCHORED

    # ------------------------------------------------------------------------------------------
    def n_seats(self, plan) -> int:
        """Seats of a run: the roster's, then the hiring rules', then the new reps'."""
        extra = sum((r.reps or 1) for r in plan.management.rules if r.response == "hiring")
        return plan.team.n_reps + extra + self.n_new_reps(plan)

    def n_new_reps(self, plan) -> int:
        """Seats the ``new_reps`` lever adds (the last seats of a run)."""
        return int(round(self.lever(plan, "new_reps")))

    def lever(self, plan, name: str) -> float:
        return float(plan.actions.get(name, LEVERS[name].default))

    def baseline_revenue(self, plan) -> np.ndarray:
        """Baseline revenue for each horizon month (cycled when the horizon exceeds a year):
        the monthly figures, or the annual one spread by the seasonal factors at the means of
        the scenario's seasonal parameters."""
        b = plan.baseline
        if b is None:
            return np.full(plan.horizon_months, np.nan)
        if b.monthly_revenue is not None:
            base = np.asarray(b.monthly_revenue, dtype=float)
            return base[np.arange(plan.horizon_months) % 12]
        means = {k: float(plan.parameters.get(k, PARAMETERS[k].prior).mean())
                 for k in ("quarter_end_uplift",) + SEASON_QUARTER + SEASON_YEAR}
        fac = season_factors(means)
        return b.annual_revenue * fac[plan.calendar_months() - 1] / fac.sum()

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
        skill = rep_skill(np.asarray(params["skill_cv"], dtype=float)[:, None], z)
        if isinstance(team.reps, int):
            tenure[:, :R] = team.tenure_months
            active[:, :R] = round(team.customers_per_rep)
        else:
            for j, rep in enumerate(team.reps):
                tenure[:, j] = team.tenure_months if rep.tenure_months is None \
                    else rep.tenure_months
                active[:, j] = round(team.customers_per_rep if rep.customers is None
                                     else rep.customers)
                if rep.skill is not None and rep.vacant_months is None:
                    skill[:, j] = rep.skill  # a vacant seat's new rep gets a drawn skill
        vacancy_left = np.zeros((n, S))
        if not isinstance(team.reps, int):
            # a roster's vacant seat keeps its book and waits vacant_months for a new rep
            # (0: one starts with the plan)
            for j, rep in enumerate(team.reps):
                if rep.vacant_months is not None:
                    tenure[:, j] = 0.0
                    if rep.vacant_months > 0:
                        seat[:, j] = 1
                        vacancy_left[:, j] = rep.vacant_months
        k_new = self.n_new_reps(plan)
        fresh = None
        if k_new:
            seat[:, S - k_new:] = 3  # opened at team.new_reps_month
            fresh = np.zeros((n, S), dtype=bool)
            fresh[:, S - k_new:] = True
        n_q = (plan.horizon_months + 2) // 3 + 1
        n_hire_rules = sum(r.response == "hiring" for r in plan.management.rules)
        zeros = lambda: np.zeros((n, S))  # noqa: E731
        return SalesState(
            month_index=0, seat=seat, vacancy_left=vacancy_left, tenure=tenure, skill=skill,
            active=active, train_stock=zeros(), coach_wait=zeros(), coach_left=zeros(),
            coach_hours=zeros(),
            train_wait=zeros(), train_left=zeros(), train_extra=zeros(), shift_wait=zeros(),
            shift_left=zeros(), shift_amount=zeros(), mkt_wait=np.zeros(n),
            mkt_left=np.zeros(n), mkt_events=np.zeros(n),
            hires_done=np.zeros((n, max(n_hire_rules, 1)), dtype=bool),
            cum_revenue=np.zeros(n), last_csat=np.full(n, np.nan),
            quarters_done=np.zeros((n, n_q), dtype=bool),
            acc={k: zeros() for k in ("revisited", "active", "new", "revenue", "churned")}
            | {"months": np.zeros(n)}, fresh=fresh,
        )

    # ------------------------------------------------------------------------------------------
    def anchors(self, plan) -> dict[str, float]:
        """The baseline figures an uncalibrated plan's draws are anchored to (metric -> stated
        value; empty: none). See :meth:`anchor`."""
        return anchor_figures(plan)

    def anchor(self, plan, params: Mapping[str, np.ndarray], seed: np.random.SeedSequence
               ) -> dict[str, np.ndarray]:
        """A block's parameter draws rescaled so that each path, re-running the baseline year
        at ``[baseline.actions]``, brings the baseline's revenue and key-result figures
        (docs/model.md section 11; ``seed`` seeds that year's draws)."""
        return anchor_parameters(self, plan, params, seed)

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
        streams, st = self._start(plan, p, rng, initial_state)
        init_rule_state(st, p)
        run = month.setup_run(plan, p, st, {k: self.lever(plan, k) for k in LEVERS},
                              self.baseline_revenue(plan))
        out, reps, diag = month.new_outputs(run, plan, record_reps)
        every = plan.management.review_every_months
        reviews = every > 0 and bool(plan.management.rules)
        for j in range(run.M):
            m = month.start_month(run, st, j, diag)
            effort(run, st, m, diag)
            month.discrepancy(run, st, m, streams["discrepancy"])
            month.acquisition(run, st, m, streams["acquisition"], streams["market"])
            month.follow_ups(run, st, m, streams["revisit"])
            month.churn(run, m, streams["churn"])
            month.revenue(run, m, streams["orders"], streams["order_value"])
            month.survey(run, st, m, streams["survey"], streams["csat"])
            month.record_month(run, st, m, out, reps, diag)
            month.carry_over(run, st, m)
            departures(run, st, m, streams["attrition"], diag)
            refills(run, st, streams["replacement"], diag)
            # management review at the end of the month
            rule_cost = np.zeros(run.n)
            if reviews and (m.g + 1) % every == 0:
                rule_cost = review(plan, st, out, j, p, diag, rule_cost)
                for k in st.acc:
                    st.acc[k].fill(0.0)  # in place, as they are accumulated
            out["cost"][:, j] = m.trh_sum * run.hourly + rule_cost
        charge_rule_hours(plan, st, diag)  # hours delivered since the last review
        st.month_index = plan.horizon_months
        return Outcomes(metrics=out, state=st, diagnostics=diag, per_rep=reps)

    def _start(self, plan, p: Mapping[str, np.ndarray], rng: np.random.Generator,
               initial_state: SalesState | None) -> tuple[dict, SalesState]:
        """The random streams and the state a run starts from."""
        n = len(next(iter(p.values())))
        S = self.n_seats(plan) if initial_state is None else initial_state.seat.shape[1]
        streams = spawn_streams(rng, plan.team.n_reps, S,
                                min(self.n_new_reps(plan), S - plan.team.n_reps))
        if initial_state is None:
            return streams, self.initial_state(plan, p, n, streams["skill"])
        st = initial_state.select(np.arange(n)) if initial_state.seat.shape[0] == n \
            else initial_state
        if st.seat.shape[0] != n:
            raise ValueError(f"initial_state has {st.seat.shape[0]} paths, params have {n}")
        return streams, st

    # the review replay of okma_sim.inference fills in a state it builds and applies the
    # plan's rules at each review through these (_rules.init_rule_state and _rules.review)
    init_rule_state = staticmethod(init_rule_state)
    apply_rules = staticmethod(review)
