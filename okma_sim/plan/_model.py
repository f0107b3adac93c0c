"""The plan's data: frozen dataclasses for what the analyst declares, and the vocabularies
(aggregates, comparisons, samplers) their fields take.

A :class:`Plan` holds objectives and key results (each a metric, an aggregation over the months,
a comparison and a target), the actions (lever levels), lever bounds and costs, the team, the
baseline year, management rules and uncertain parameters. It never runs anything: see
:func:`okma_sim.simulate`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from okma_sim._core.calendar import calendar_month, month_number, month_range
from okma_sim._core.errors import PlanError
from okma_sim.params import as_distribution

__all__ = ["AGGREGATES", "COMPARISONS", "NEW_REP_BOOKS", "SAMPLERS", "VACANCY_MODES", "SCHEMA_VERSION", "Baseline", "Calibration",
           "Correlations", "Grading", "KeyResult", "Lever", "Management", "Objective", "Plan", "Rep", "Rule",
           "Simulation", "Team"]

SCHEMA_VERSION = 1
AGGREGATES = ("final", "mean", "sum", "min", "max", "share_of_months")
COMPARISONS = (">=", "<=")
SAMPLERS = ("mc", "lhs", "sobol")
#: what a new rep starts with: no customers, or an even share of the existing books
NEW_REP_BOOKS = ("none", "share")
#: who visits a vacant seat's customers (and a ramping rep's shortfall): nobody, or the
#: other reps out of their own hours
VACANCY_MODES = ("unserved", "shared")


@dataclass(frozen=True)
class Objective:
    """An objective: ``aggregate(metric over the months) comparison target``.

    Examples
    --------
    >>> Objective(id="revenue", metric="revenue_growth", target=0.30).aggregate
    'final'
    """

    id: str
    metric: str
    target: float
    aggregate: str = "final"
    comparison: str = ">="
    threshold: float | None = None  # only for aggregate = "share_of_months"
    statement: str | None = None
    owner: str | None = None

    def met(self, value: np.ndarray) -> np.ndarray:
        """Whether aggregated values meet the target (NaN never does).

        For ``share_of_months`` the comparison applies to each month against ``threshold``;
        the share of months that pass must then be at least ``target``.
        """
        value = np.asarray(value, dtype=float)
        with np.errstate(invalid="ignore"):
            if self.aggregate == "share_of_months" or self.comparison == ">=":
                return value >= self.target
            return value <= self.target


@dataclass(frozen=True)
class KeyResult(Objective):
    """A key result: like an objective, plus the objective(s) it serves and an optional
    ``baseline`` (the starting level, used for OKR grading)."""

    objective: tuple[str, ...] = ()
    baseline: float | None = None


@dataclass(frozen=True)
class Rep:
    """One rep of a roster."""

    id: str
    tenure_months: float | None = None  # team.tenure_months when omitted
    customers: float | None = None  # starting book; team.customers_per_rep when omitted
    skill: float | None = None  # known skill multiplier; drawn from the prior when omitted
    # a vacant seat: its book (``customers``) waits for a new rep, who arrives after this many
    # plan months (0: at the start) with tenure 0 and a drawn skill; None: the seat is filled
    vacant_months: int | None = None


@dataclass(frozen=True)
class Team:
    """The sales team and its working assumptions."""

    reps: int | tuple[Rep, ...] = 10
    customers_per_rep: float = 40.0
    tenure_months: float = 24.0
    selling_hours_per_month: float = 120.0
    hours_per_prospect_visit: float = 2.0
    hours_per_customer_visit: float = 1.0
    hourly_cost: float = 50.0
    allow_new_hires: bool = True
    # the month the ``new_reps`` lever's seats open (YYYY-MM); None: the plan's first month
    new_reps_month: str | None = None
    new_rep_book: str = "none"  # one of NEW_REP_BOOKS
    vacancy: str = "unserved"  # one of VACANCY_MODES

    @property
    def n_reps(self) -> int:
        return self.reps if isinstance(self.reps, int) else len(self.reps)

    @property
    def rep_ids(self) -> tuple[str, ...]:
        if isinstance(self.reps, int):
            return tuple(f"rep{i + 1:02d}" for i in range(self.reps))
        return tuple(r.id for r in self.reps)


@dataclass(frozen=True)
class Baseline:
    """The year growth is measured against: 12 monthly figures, or an annual total, and the
    action levels that year ran at (``[baseline.actions]``).

    ``assumed`` names the levers ``[baseline.actions]`` did not state: the plan's own
    ``[actions]`` as loaded stand in for them (a changed plan keeps them: last year does not
    move with this year's levers).
    """

    monthly_revenue: tuple[float, ...] | None = None
    annual_revenue: float | None = None
    actions: Mapping[str, float] = field(default_factory=dict)
    assumed: tuple[str, ...] = ()

    @property
    def assumed_levels(self) -> tuple[str, ...]:
        """The assumed levers that matter: ``new_reps`` is this year's hiring (last year ran
        with its own roster)."""
        return tuple(k for k in self.assumed if k != "new_reps")

    @property
    def annual(self) -> float:
        """The baseline year's revenue."""
        return float(sum(self.monthly_revenue)) if self.monthly_revenue is not None \
            else float(self.annual_revenue)


@dataclass(frozen=True)
class Lever:
    """Solver bounds and cost of one lever. ``unit_cost`` is the cost of one unit of the lever's
    level over the whole horizon (the solver's cost is sum(level * unit_cost) plus priced hours)."""

    low: float
    high: float
    unit_cost: float = 0.0
    step: float | None = None


@dataclass(frozen=True)
class Rule:
    """A management rule, applied at each review inside the simulation.

    At a review, when ``metric`` (per rep, or for the team) is below ``below`` (or above
    ``above``), apply ``response``: ``coaching``, ``training``, ``shift_visits``,
    ``marketing_push`` or ``hiring``. Response-specific keys default in the model.
    """

    metric: str
    response: str
    below: float | None = None
    above: float | None = None
    per_rep: bool = False
    id: str | None = None
    hours_per_month: float | None = None
    delay_months: int | None = None
    duration_months: int | None = None
    effect: float | None = None
    cost: float | None = None
    visits_per_week: float | None = None
    events: float | None = None
    reps: int | None = None
    owner: str | None = None


@dataclass(frozen=True)
class Management:
    """Review cadence (0 = no reviews) and the rules applied at each review."""

    review_every_months: int = 1
    owner: str | None = None
    rules: tuple[Rule, ...] = ()


@dataclass(frozen=True)
class Simulation:
    """Defaults for running the plan; command-line options override them."""

    paths: int | None = None
    seed: int | None = None
    sampler: str = "mc"
    replicates: int = 16  # randomised replicates for LHS / Sobol standard errors
    # condition an uncalibrated plan's parameter draws on its baseline year (docs/model.md)
    anchor: bool = True


@dataclass(frozen=True)
class Correlations:
    """A rank-correlation matrix over named uncertain parameters (applied by Iman-Conover)."""

    parameters: tuple[str, ...]
    matrix: tuple[tuple[float, ...], ...]


@dataclass(frozen=True)
class Grading:
    """Cut points for OKR labels from P(met): committed >= ``committed``, stretch >= ``stretch``."""

    committed: float = 0.9
    stretch: float = 0.3


@dataclass(frozen=True)
class Calibration:
    """What the history behind a calibrated scenario observed (``[calibration]``, written by
    ``calibrate``).

    ``observed`` maps a lever to the ``(low, high)`` range of its levels in the history, in the
    lever's units: outside it, the answer rests on priors (:func:`extrapolation`).
    """

    observed: Mapping[str, tuple[float, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    """An OKMA plan.

    Build one from a file with :func:`load_plan`, change it with :meth:`replace`,
    :meth:`with_actions` or :meth:`with_targets`, save it with :func:`save_plan`.

    Examples
    --------
    >>> import okma_sim
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> plan.horizon_months, plan.team.n_reps
    (12, 12)
    >>> plan.with_actions(prospect_visits_per_week=8).actions["prospect_visits_per_week"]
    8
    """

    name: str
    start_month: str
    horizon_months: int
    objectives: tuple[Objective, ...] = ()
    key_results: tuple[KeyResult, ...] = ()
    team: Team = field(default_factory=Team)
    baseline: Baseline | None = None
    actions: Mapping[str, float] = field(default_factory=dict)
    levers: Mapping[str, Lever] = field(default_factory=dict)
    parameters: Mapping[str, Any] = field(default_factory=dict)
    management: Management = field(default_factory=Management)
    currency: str = ""
    description: str | None = None
    model: str = "sales_team"
    simulation: Simulation = field(default_factory=Simulation)
    correlations: Correlations | None = None
    grading: Grading = field(default_factory=Grading)
    calibration: Calibration | None = None
    schema_version: int = SCHEMA_VERSION
    source: str | None = field(default=None, compare=False)

    # -- views ---------------------------------------------------------------------------------
    @property
    def targets(self) -> tuple[Objective, ...]:
        """Objectives then key results."""
        return tuple(self.objectives) + tuple(self.key_results)

    def target(self, id: str) -> Objective:
        for t in self.targets:
            if t.id == id:
                return t
        raise KeyError(id)

    def months(self) -> list[str]:
        """Calendar months of the horizon, as ``YYYY-MM``."""
        return month_range(self.start_month, self.horizon_months)

    def calendar_months(self) -> np.ndarray:
        """Month of year (1..12) of each horizon month."""
        return calendar_month(month_number(self.start_month) + np.arange(self.horizon_months))

    # -- edits ---------------------------------------------------------------------------------
    def replace(self, **changes: Any) -> "Plan":
        return dataclasses.replace(self, **changes)

    def with_actions(self, **levels: float) -> "Plan":
        """A copy with some lever levels changed."""
        return self.replace(actions={**self.actions, **levels})

    def with_targets(self, targets: Mapping[str, float]) -> "Plan":
        """A copy with the targets of some objectives or key results changed."""
        unknown = set(targets) - {t.id for t in self.targets}
        if unknown:
            raise PlanError("no objective or key result with this id", key="targets",
                            value=sorted(unknown)[0])
        objs = tuple(dataclasses.replace(o, target=targets.get(o.id, o.target))
                     for o in self.objectives)
        krs = tuple(dataclasses.replace(k, target=targets.get(k.id, k.target))
                    for k in self.key_results)
        return self.replace(objectives=objs, key_results=krs)

    def with_parameters(self, **specs: Any) -> "Plan":
        """A copy with some uncertain parameters overridden (numbers mean fixed values)."""
        new = {k: as_distribution(v, f"parameters.{k}") for k, v in specs.items()}
        return self.replace(parameters={**self.parameters, **new})
