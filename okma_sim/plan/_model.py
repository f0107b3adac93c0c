"""The plan layer: what the analyst declares, as pure data with validation, read from and written
to TOML.

A :class:`Plan` holds objectives and key results (each a metric, an aggregation over the months,
a comparison and a target), the actions (lever levels), lever bounds and costs, the team, the
baseline year, management rules and uncertain parameters. It never runs anything: see
:func:`okma_sim.simulate`.

Key paths in error messages count from 0, as in Python: ``key_results[2].target`` is the third
``[[key_results]]`` table.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from okma_sim._core.calendar import is_month, month_range
from okma_sim._core.errors import PlanError
from okma_sim._core.files import atomic_write
from okma_sim.params import Distribution, as_distribution, to_named

__all__ = ["AGGREGATES", "COMPARISONS", "SAMPLERS", "Baseline", "Correlations", "Grading",
           "KeyResult", "Lever", "Management", "Objective", "Plan", "Rep", "Rule", "Simulation",
           "Team", "check_plan", "load_plan", "loads_plan", "save_plan", "dumps_plan",
           "plan_to_dict", "plan_from_dict"]

SCHEMA_VERSION = 1
AGGREGATES = ("final", "mean", "sum", "min", "max", "share_of_months")
COMPARISONS = (">=", "<=")
SAMPLERS = ("mc", "lhs", "sobol")
_ID_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


# --------------------------------------------------------------------------------------------
# data classes
# --------------------------------------------------------------------------------------------
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
    """The year growth is measured against: 12 monthly figures, or an annual total."""

    monthly_revenue: tuple[float, ...] | None = None
    annual_revenue: float | None = None


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
        m0 = int(self.start_month.split("-")[1]) - 1
        return (m0 + np.arange(self.horizon_months)) % 12 + 1

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


# --------------------------------------------------------------------------------------------
# parsing helpers: every error names its key path and the bad value
# --------------------------------------------------------------------------------------------
def _suggest(key: str, allowed: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, list(allowed), n=1)
    return f"; did you mean '{close[0]}'?" if close else f"; allowed: {', '.join(allowed)}"


def _table(obj: Any, path: str, allowed: Sequence[str], required: Sequence[str] = ()) -> dict:
    if not isinstance(obj, Mapping):
        raise PlanError("must be a table", key=path or "(top level)", value=obj)
    for k in obj:
        if k not in allowed:
            raise PlanError(f"unknown key{_suggest(k, allowed)}", key=_join(path, k), value=k)
    for k in required:
        if k not in obj:
            raise PlanError("required key is missing", key=_join(path, k), value=None)
    return dict(obj)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _number(v: Any, path: str, *, low: float = -math.inf, high: float = math.inf,
            integer: bool = False, what: str = "") -> Any:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise PlanError(f"must be {'an integer' if integer else 'a number'}", key=path, value=v)
    if not math.isfinite(v):
        raise PlanError("must be a finite number", key=path, value=v)
    if integer and not isinstance(v, int):
        if float(v).is_integer():
            v = int(v)
        else:
            raise PlanError("must be a whole number", key=path, value=v)
    if v < low or v > high:
        if low == 0 and high == 1:
            msg = "must be a probability in [0, 1]"
        elif low == 0 and math.isinf(high):
            msg = f"must not be negative{what}"
        elif math.isinf(high):
            msg = f"must be at least {low:g}{what}"
        else:
            msg = f"must lie in [{low:g}, {high:g}]{what}"
        raise PlanError(msg, key=path, value=v)
    return v


def _string(v: Any, path: str, *, ident: bool = False) -> str:
    if not isinstance(v, str):
        raise PlanError("must be a string", key=path, value=v)
    if ident and not _ID_RE.match(v):
        raise PlanError("must be an identifier (letters, digits, _ or -, not starting with a "
                        "digit)", key=path, value=v)
    return v


def _bool(v: Any, path: str) -> bool:
    if not isinstance(v, bool):
        raise PlanError("must be true or false", key=path, value=v)
    return v


def _array(v: Any, path: str) -> list:
    if not isinstance(v, list):
        raise PlanError("must be an array", key=path, value=v)
    return v


def _opt(d: dict, key: str, fn, path: str, default=None, **kw):
    return fn(d[key], _join(path, key), **kw) if key in d else default


_TARGET_KEYS = ("id", "metric", "target", "aggregate", "comparison", "threshold", "statement",
                "owner")


def _parse_target(d: Any, path: str, kr: bool) -> Objective:
    allowed = _TARGET_KEYS + (("objective", "baseline") if kr else ())
    d = _table(d, path, allowed, ("id", "metric", "target") + (("objective",) if kr else ()))
    kw: dict[str, Any] = dict(
        id=_string(d["id"], f"{path}.id", ident=True),
        metric=_string(d["metric"], f"{path}.metric"),
        target=_number(d["target"], f"{path}.target"),
        aggregate=_opt(d, "aggregate", _string, path, "final"),
        comparison=_opt(d, "comparison", _string, path, ">="),
        threshold=_opt(d, "threshold", _number, path),
        statement=_opt(d, "statement", _string, path),
        owner=_opt(d, "owner", _string, path),
    )
    if kw["aggregate"] not in AGGREGATES:
        raise PlanError(f"unknown aggregate; use one of {', '.join(AGGREGATES)}",
                        key=f"{path}.aggregate", value=kw["aggregate"])
    if kw["comparison"] not in COMPARISONS:
        raise PlanError("comparison must be '>=' or '<='", key=f"{path}.comparison",
                        value=kw["comparison"])
    if kw["aggregate"] == "share_of_months":
        if kw["threshold"] is None:
            raise PlanError("share_of_months needs a threshold", key=f"{path}.threshold",
                            value=None)
        _number(kw["target"], f"{path}.target", low=0, high=1)
    elif kw["threshold"] is not None:
        raise PlanError("threshold applies only to aggregate = 'share_of_months'",
                        key=f"{path}.threshold", value=kw["threshold"])
    if not kr:
        return Objective(**kw)
    obj = d["objective"]
    if isinstance(obj, str):
        objs: tuple[str, ...] = (obj,)
    elif isinstance(obj, list) and obj and all(isinstance(o, str) for o in obj):
        objs = tuple(obj)
    else:
        raise PlanError("must be an objective id or a non-empty list of ids",
                        key=f"{path}.objective", value=obj)
    return KeyResult(**kw, objective=objs, baseline=_opt(d, "baseline", _number, path))


def _parse_team(d: Any) -> Team:
    fields = [f.name for f in dataclasses.fields(Team)]
    d = _table(d, "team", fields, ("reps",))
    reps_raw = d["reps"]
    if isinstance(reps_raw, list):
        reps = []
        for i, r in enumerate(reps_raw):
            p = f"team.reps[{i}]"
            r = _table(r, p, ("id", "tenure_months", "customers", "skill"), ("id",))
            reps.append(Rep(id=_string(r["id"], f"{p}.id"),
                            tenure_months=_opt(r, "tenure_months", _number, p, low=0),
                            customers=_opt(r, "customers", _number, p, low=0),
                            skill=_opt(r, "skill", _number, p, low=0)))
        if not reps:
            raise PlanError("a roster needs at least one rep", key="team.reps", value=[])
        ids = [r.id for r in reps]
        dup = next((x for x in ids if ids.count(x) > 1), None)
        if dup is not None:
            raise PlanError("duplicate rep id", key="team.reps", value=dup)
        reps_val: int | tuple[Rep, ...] = tuple(reps)
    else:
        reps_val = _number(reps_raw, "team.reps", low=1, integer=True)
    kw: dict[str, Any] = {"reps": reps_val}
    for k in ("customers_per_rep", "tenure_months", "hours_per_prospect_visit",
              "hours_per_customer_visit", "hourly_cost"):
        if k in d:
            kw[k] = _number(d[k], f"team.{k}", low=0)
    if "selling_hours_per_month" in d:
        kw["selling_hours_per_month"] = _number(d["selling_hours_per_month"],
                                                "team.selling_hours_per_month", low=1, high=744)
    if "allow_new_hires" in d:
        kw["allow_new_hires"] = _bool(d["allow_new_hires"], "team.allow_new_hires")
    return Team(**kw)


def _parse_baseline(d: Any) -> Baseline:
    d = _table(d, "baseline", ("monthly_revenue", "annual_revenue"))
    if ("monthly_revenue" in d) == ("annual_revenue" in d):
        raise PlanError("give exactly one of monthly_revenue and annual_revenue",
                        key="baseline", value=sorted(d))
    if "monthly_revenue" in d:
        arr = _array(d["monthly_revenue"], "baseline.monthly_revenue")
        vals = tuple(_number(v, f"baseline.monthly_revenue[{i}]", low=0)
                     for i, v in enumerate(arr))
        if len(vals) != 12:
            raise PlanError("needs 12 monthly figures", key="baseline.monthly_revenue",
                            value=len(vals))
        if sum(vals) <= 0:
            raise PlanError("baseline revenue must be positive", key="baseline.monthly_revenue",
                            value=sum(vals))
        return Baseline(monthly_revenue=vals)
    return Baseline(annual_revenue=_number(d["annual_revenue"], "baseline.annual_revenue",
                                           low=1e-9))


def _parse_rule(d: Any, path: str) -> Rule:
    fields = [f.name for f in dataclasses.fields(Rule)]
    d = _table(d, path, fields, ("metric", "response"))
    kw: dict[str, Any] = {
        "metric": _string(d["metric"], f"{path}.metric"),
        "response": _string(d["response"], f"{path}.response"),
    }
    for k in ("below", "above", "effect", "visits_per_week"):
        if k in d:
            kw[k] = _number(d[k], f"{path}.{k}")
    for k in ("hours_per_month", "cost", "events"):
        if k in d:
            kw[k] = _number(d[k], f"{path}.{k}", low=0)
    for k in ("delay_months", "duration_months", "reps"):
        if k in d:
            kw[k] = _number(d[k], f"{path}.{k}", low=0 if k == "delay_months" else 1,
                            integer=True)
    if "per_rep" in d:
        kw["per_rep"] = _bool(d["per_rep"], f"{path}.per_rep")
    for k in ("id", "owner"):
        if k in d:
            kw[k] = _string(d[k], f"{path}.{k}")
    if ("below" in kw) == ("above" in kw):
        raise PlanError("a rule needs exactly one of 'below' and 'above'", key=path,
                        value=sorted(k for k in ("below", "above") if k in kw))
    return Rule(**kw)


def _parse_management(d: Any) -> Management:
    d = _table(d, "management", ("review_every_months", "owner", "rules"))
    rules_raw = _array(d.get("rules", []), "management.rules")
    return Management(
        review_every_months=_opt(d, "review_every_months", _number, "management", 1, low=0,
                                 integer=True),
        owner=_opt(d, "owner", _string, "management"),
        rules=tuple(_parse_rule(r, f"management.rules[{i}]") for i, r in enumerate(rules_raw)),
    )


def _parse_simulation(d: Any) -> Simulation:
    d = _table(d, "simulation", ("paths", "seed", "sampler", "replicates"))
    sampler = _opt(d, "sampler", _string, "simulation", "mc")
    if sampler not in SAMPLERS:
        raise PlanError(f"unknown sampler; use one of {', '.join(SAMPLERS)}",
                        key="simulation.sampler", value=sampler)
    return Simulation(paths=_opt(d, "paths", _number, "simulation", low=1, integer=True),
                      seed=_opt(d, "seed", _number, "simulation", low=0, integer=True),
                      sampler=sampler,
                      replicates=_opt(d, "replicates", _number, "simulation", 16, low=2,
                                      integer=True))


def _parse_correlations(d: Any) -> Correlations:
    d = _table(d, "correlations", ("parameters", "matrix"), ("parameters", "matrix"))
    names = tuple(_string(v, f"correlations.parameters[{i}]")
                  for i, v in enumerate(_array(d["parameters"], "correlations.parameters")))
    rows = _array(d["matrix"], "correlations.matrix")
    k = len(names)
    if len(rows) != k:
        raise PlanError(f"must be a {k}x{k} matrix (one row per parameter)",
                        key="correlations.matrix", value=f"{len(rows)} rows")
    mat = []
    for i, row in enumerate(rows):
        row = _array(row, f"correlations.matrix[{i}]")
        if len(row) != k:
            raise PlanError(f"must have {k} entries", key=f"correlations.matrix[{i}]",
                            value=f"{len(row)} entries")
        mat.append(tuple(_number(v, f"correlations.matrix[{i}][{j}]", low=-1, high=1)
                         for j, v in enumerate(row)))
    for i in range(k):
        if mat[i][i] != 1:
            raise PlanError("diagonal entries must be 1", key=f"correlations.matrix[{i}][{i}]",
                            value=mat[i][i])
        for j in range(i):
            if mat[i][j] != mat[j][i]:
                raise PlanError(f"matrix must be symmetric ([{j}][{i}] is {mat[j][i]})",
                                key=f"correlations.matrix[{i}][{j}]", value=mat[i][j])
    dup = next((x for x in names if names.count(x) > 1), None)
    if dup is not None:
        raise PlanError("parameter listed twice", key="correlations.parameters", value=dup)
    return Correlations(parameters=names, matrix=tuple(mat))


_TOP_KEYS = ("schema_version", "name", "description", "start_month", "horizon_months",
             "currency", "model", "baseline", "team", "objectives", "key_results", "actions",
             "levers", "parameters", "management", "simulation", "correlations", "grading")


def plan_from_dict(doc: Mapping[str, Any], source: str | None = None) -> Plan:
    """Build a Plan from the parsed TOML document, checking types and ranges.

    Model-dependent checks (known metrics, levers, parameters) are in :func:`check_plan`.
    """
    try:
        return _plan_from_dict(doc, source)
    except PlanError as exc:
        raise exc.with_file(source) if source else exc


def _plan_from_dict(doc: Mapping[str, Any], source: str | None) -> Plan:
    d = _table(doc, "", _TOP_KEYS)
    if not d:
        raise PlanError("the plan is empty", key="(top level)", value={})
    version = _opt(d, "schema_version", _number, "", SCHEMA_VERSION, integer=True)
    if version != SCHEMA_VERSION:
        raise PlanError(f"unsupported schema_version; this version reads {SCHEMA_VERSION}",
                        key="schema_version", value=version)
    for k in ("name", "start_month", "horizon_months"):
        if k not in d:
            raise PlanError("required key is missing", key=k, value=None)
    start = _string(d["start_month"], "start_month")
    if not is_month(start):
        raise PlanError("must be a month written YYYY-MM", key="start_month", value=start)
    horizon = _number(d["horizon_months"], "horizon_months", low=1, high=120, integer=True)

    objectives = tuple(_parse_target(o, f"objectives[{i}]", kr=False)
                       for i, o in enumerate(_array(d.get("objectives", []), "objectives")))
    krs = tuple(_parse_target(o, f"key_results[{i}]", kr=True)
                for i, o in enumerate(_array(d.get("key_results", []), "key_results")))
    if not objectives and not krs:
        raise PlanError("the plan is empty: it has no objectives and no key results",
                        key="objectives", value=[])

    actions: dict[str, float] = {}
    for k, v in _table(d.get("actions", {}), "actions", list(d.get("actions", {}))).items():
        actions[k] = _number(v, f"actions.{k}", low=0, what=" (a lever level)")

    levers: dict[str, Lever] = {}
    for k, v in _table(d.get("levers", {}), "levers", list(d.get("levers", {}))).items():
        p = f"levers.{k}"
        t = _table(v, p, ("low", "high", "unit_cost", "step"), ("low", "high"))
        low = _number(t["low"], f"{p}.low", low=0)
        high = _number(t["high"], f"{p}.high", low=0)
        if low > high:
            raise PlanError(f"low must not exceed high ({high})", key=f"{p}.low", value=low)
        levers[k] = Lever(low=low, high=high,
                          unit_cost=_opt(t, "unit_cost", _number, p, 0.0, low=0,
                                         what=" (a cost)"),
                          step=_opt(t, "step", _number, p, low=1e-12))

    parameters: dict[str, Any] = {}
    for k, v in _table(d.get("parameters", {}), "parameters",
                       list(d.get("parameters", {}))).items():
        parameters[k] = as_distribution(v, f"parameters.{k}")

    grading = Grading()
    if "grading" in d:
        g = _table(d["grading"], "grading", ("committed", "stretch"))
        grading = Grading(committed=_opt(g, "committed", _number, "grading", 0.9, low=0, high=1),
                          stretch=_opt(g, "stretch", _number, "grading", 0.3, low=0, high=1))
        if grading.stretch > grading.committed:
            raise PlanError(f"stretch must not exceed committed ({grading.committed})",
                            key="grading.stretch", value=grading.stretch)

    return Plan(
        schema_version=version,
        name=_string(d["name"], "name"),
        description=_opt(d, "description", _string, ""),
        start_month=start,
        horizon_months=horizon,
        currency=_opt(d, "currency", _string, "", ""),
        model=_opt(d, "model", _string, "", "sales_team"),
        baseline=_parse_baseline(d["baseline"]) if "baseline" in d else None,
        team=_parse_team(d["team"]) if "team" in d else Team(),
        objectives=objectives,
        key_results=krs,
        actions=actions,
        levers=levers,
        parameters=parameters,
        management=_parse_management(d["management"]) if "management" in d else Management(),
        simulation=_parse_simulation(d["simulation"]) if "simulation" in d else Simulation(),
        correlations=_parse_correlations(d["correlations"]) if "correlations" in d else None,
        grading=grading,
        source=source,
    )


# --------------------------------------------------------------------------------------------
# model-dependent checks (SMART)
# --------------------------------------------------------------------------------------------
def check_plan(plan: Plan, model: Any = None) -> tuple[list[PlanError], list[str]]:
    """SMART checks of a plan against the model. Returns ``(errors, warnings)``.

    Errors: unknown metrics, levers, parameters or responses; KRs pointing at no objective;
    duplicate ids; non-finite targets; rate targets outside [0, 1]; parameter ranges outside a
    parameter's valid range; a growth metric without a baseline. Warnings: an objective with
    fewer than 2 or more than 5 key results.

    Examples
    --------
    >>> import okma_sim
    >>> errors, warnings = check_plan(okma_sim.load_plan(okma_sim.case_study_path()))
    >>> errors, warnings
    ([], [])
    """
    if model is None:
        from okma_sim.models import get_model
        try:
            model = get_model(plan.model)
        except PlanError as exc:
            raise exc.with_file(plan.source) if plan.source else exc
    errors: list[PlanError] = []
    warnings: list[str] = []
    metrics = model.metrics

    def err(msg: str, key: str, value: Any) -> None:
        errors.append(PlanError(msg, file=plan.source, key=key, value=value))

    seen: dict[str, str] = {}
    for kind, items in (("objectives", plan.objectives), ("key_results", plan.key_results)):
        for i, t in enumerate(items):
            p = f"{kind}[{i}]"
            if t.id in seen:
                err(f"duplicate id (also used by {seen[t.id]})", f"{p}.id", t.id)
            seen.setdefault(t.id, p)
            if t.metric not in metrics:
                err(f"unknown metric{_suggest(t.metric, sorted(metrics))}", f"{p}.metric",
                    t.metric)
                continue
            info = metrics[t.metric]
            if not math.isfinite(t.target):
                err("must be a finite number", f"{p}.target", t.target)
            lo, hi = info.bounds
            bound = t.threshold if t.aggregate == "share_of_months" else t.target
            bkey = f"{p}.threshold" if t.aggregate == "share_of_months" else f"{p}.target"
            if t.aggregate != "sum" and bound is not None and not lo <= bound <= hi:
                what = "a probability in [0, 1]" if (lo, hi) == (0.0, 1.0) else \
                    f"within [{lo:g}, {hi:g}] for {t.metric}"
                err(f"must be {what}", bkey, bound)
            if t.metric.endswith("growth") and plan.baseline is None:
                err("a growth metric needs a [baseline] table", f"{p}.metric", t.metric)
    obj_ids = [o.id for o in plan.objectives]
    for i, k in enumerate(plan.key_results):
        for j, o in enumerate(k.objective):
            if o not in obj_ids:
                key = f"key_results[{i}].objective" + (f"[{j}]" if len(k.objective) > 1 else "")
                err(f"no objective has this id{_suggest(o, obj_ids) if obj_ids else ''}", key, o)
    for o in plan.objectives:
        n = sum(o.id in k.objective for k in plan.key_results)
        if not 2 <= n <= 5:
            warnings.append(f"objective '{o.id}' has {n} key results; OKMA asks for 2 to 5")

    levers = getattr(model, "levers", None)
    if levers is not None:
        for k, v in plan.actions.items():
            if k not in levers:
                err(f"unknown lever{_suggest(k, sorted(levers))}", f"actions.{k}", k)
            else:
                lo, hi = levers[k].bounds
                allowed = getattr(levers[k], "allowed", None)
                if not lo <= v <= hi:
                    err(f"must lie in [{lo:g}, {hi:g}]", f"actions.{k}", v)
                elif allowed is not None and v not in allowed:
                    err(f"must be one of {', '.join(f'{a:g}' for a in allowed)}",
                        f"actions.{k}", v)
        for k in plan.levers:
            if k not in levers:
                err(f"unknown lever{_suggest(k, sorted(levers))}", f"levers.{k}", k)
    for k, lv in plan.levers.items():
        level = plan.actions.get(k, levers[k].default if levers and k in levers else None)
        if level is not None and not lv.low <= level <= lv.high:
            warnings.append(f"action {k} = {level:g} lies outside its lever bounds "
                            f"[{lv.low:g}, {lv.high:g}]")

    params = model.parameters
    bounds = getattr(model, "parameter_bounds", {})
    for k, spec in plan.parameters.items():
        if k not in params:
            err(f"unknown parameter{_suggest(k, sorted(params))}", f"parameters.{k}", k)
            continue
        lo, hi = bounds.get(k, (-math.inf, math.inf))
        bad = _out_of_bounds(spec, lo, hi)
        if bad is not None:
            what = "a probability in [0, 1]" if (lo, hi) == (0.0, 1.0) else \
                f"within [{lo:g}, {hi:g}]"
            # a fixed value is usually written as a bare number (`x = 1.4`): name the key
            fixed = isinstance(spec, Distribution) and spec.dist == "fixed"
            err(f"must be {what}", f"parameters.{k}" if fixed else f"parameters.{k}.{bad[0]}",
                bad[1])
    if plan.correlations is not None:
        for i, name in enumerate(plan.correlations.parameters):
            if name not in params:
                err(f"unknown parameter{_suggest(name, sorted(params))}",
                    f"correlations.parameters[{i}]", name)

    responses = getattr(model, "responses", None)
    for i, r in enumerate(plan.management.rules):
        p = f"management.rules[{i}]"
        if r.metric not in metrics:
            err(f"unknown metric{_suggest(r.metric, sorted(metrics))}", f"{p}.metric", r.metric)
        elif r.per_rep and not metrics[r.metric].per_rep:
            per = sorted(m for m, inf in metrics.items() if inf.per_rep)
            err(f"this metric has no per-rep value; per-rep metrics: {', '.join(per)}",
                f"{p}.metric", r.metric)
        elif metrics[r.metric].bounds == (0.0, 1.0):
            thr = r.below if r.below is not None else r.above
            if not 0 <= thr <= 1:
                err("must be a probability in [0, 1]",
                    f"{p}.{'below' if r.below is not None else 'above'}", thr)
        if responses is not None and r.response not in responses:
            err(f"unknown response{_suggest(r.response, sorted(responses))}", f"{p}.response",
                r.response)
        if r.effect is not None and r.response != "coaching" and \
                (responses is None or r.response in responses):
            # only coaching has an effect of its own; elsewhere the key would do nothing
            err("'effect' applies only to response = 'coaching' (other responses act "
                "through hours, visits, events or reps)", f"{p}.effect", r.effect)
        if r.response == "hiring" and not plan.team.allow_new_hires:
            err("a hiring rule needs team.allow_new_hires = true", f"{p}.response", r.response)
    return errors, warnings


#: prior mass allowed outside a parameter's valid range (the model would clip it)
_OUTSIDE_MASS = 1e-6


def _out_of_bounds(spec: Any, lo: float, hi: float) -> tuple[str, Any] | None:
    """The first key of a prior that leaves the valid range [lo, hi], with its value."""
    if isinstance(spec, Distribution):
        a = spec.args
        for key in ("value", "low", "mode", "high", "mu", "median"):
            if key in a and not lo <= a[key] <= hi:
                return key, a[key]
        frozen = spec.frozen()
        if frozen is None:
            return None
    else:
        frozen = spec
    try:
        outside = float(frozen.cdf(lo)) if math.isfinite(lo) else 0.0
        outside += float(frozen.sf(hi)) if math.isfinite(hi) else 0.0
    except Exception:
        return None
    if outside > _OUTSIDE_MASS:
        # e.g. an untruncated normal on a probability: truncate it with low/high
        return "dist", f"{spec.dist if isinstance(spec, Distribution) else 'scipy'} with " \
                       f"{outside:.2g} of its mass outside [{lo:g}, {hi:g}]"
    return None


# --------------------------------------------------------------------------------------------
# TOML io
# --------------------------------------------------------------------------------------------
def loads_plan(text: str, source: str | None = None, *, model: Any = None,
               check: bool = True) -> Plan:
    """Parse a plan from TOML text; with ``check`` the first SMART error is raised."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(f"not valid TOML: {exc}", file=source) from None
    plan = plan_from_dict(doc, source)
    if check:
        errors, _ = check_plan(plan, model)
        if errors:
            raise errors[0]
    return plan


def load_plan(path: str | os.PathLike, *, model: Any = None, check: bool = True) -> Plan:
    """Read and validate a scenario file.

    Parameters
    ----------
    path : path-like
        A TOML scenario (see docs/scenario.md).
    model : Model, optional
        The model to check metrics, levers and parameters against (default: the plan's).
    check : bool
        Run the SMART checks and raise the first error.

    Raises
    ------
    PlanError
        With the file, the key path and the bad value.

    Examples
    --------
    >>> import okma_sim
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> [o.id for o in plan.objectives]
    ['revenue', 'csat']
    """
    p = Path(path)
    if not p.exists():
        raise PlanError("no such file", file=str(path))
    if p.is_dir():
        raise PlanError("is a directory, not a scenario file", file=str(path))
    try:
        text = p.read_text(encoding="utf-8-sig")  # a BOM (Windows editors) is not TOML
    except UnicodeDecodeError:
        raise PlanError("not a TOML file (not UTF-8 text)", file=str(path)) from None
    except OSError as exc:  # unreadable (permissions, a vanished file): one line, no traceback
        raise PlanError(f"cannot read the file ({exc.strerror or type(exc).__name__})",
                        file=str(path)) from None
    return loads_plan(text, str(path), model=model, check=check)


def _clean(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items() if v is not None}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    return x


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """The TOML document of a plan (defaults included, ``None`` omitted)."""
    def target(t: Objective) -> dict:
        d = dataclasses.asdict(t)
        if isinstance(t, KeyResult):
            d["objective"] = t.objective[0] if len(t.objective) == 1 else list(t.objective)
        return d

    team = dataclasses.asdict(plan.team)
    if not isinstance(plan.team.reps, int):
        team["reps"] = [dataclasses.asdict(r) for r in plan.team.reps]
    params = {k: to_named(v, f"parameters.{k}").to_dict() for k, v in plan.parameters.items()}
    doc: dict[str, Any] = {
        "schema_version": plan.schema_version,
        "name": plan.name,
        "description": plan.description,
        "start_month": plan.start_month,
        "horizon_months": plan.horizon_months,
        "currency": plan.currency,
        "model": plan.model,
        "actions": dict(plan.actions),
        "baseline": None if plan.baseline is None else {
            k: (list(v) if isinstance(v, tuple) else v)
            for k, v in dataclasses.asdict(plan.baseline).items()},
        "team": team,
        "objectives": [target(o) for o in plan.objectives],
        "key_results": [target(k) for k in plan.key_results],
        "levers": {k: dataclasses.asdict(v) for k, v in plan.levers.items()},
        "parameters": params,
        "management": {
            "review_every_months": plan.management.review_every_months,
            "owner": plan.management.owner,
            "rules": [dataclasses.asdict(r) for r in plan.management.rules],
        },
        "simulation": dataclasses.asdict(plan.simulation),
        "correlations": None if plan.correlations is None else {
            "parameters": list(plan.correlations.parameters),
            "matrix": [list(r) for r in plan.correlations.matrix]},
        "grading": dataclasses.asdict(plan.grading),
    }
    return _clean(doc)


def dumps_plan(plan: Plan) -> str:
    """TOML text of a plan. Refuses parameters that have no named form (PlanError)."""
    import tomli_w
    return tomli_w.dumps(plan_to_dict(plan))


def save_plan(plan: Plan, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write a plan as TOML, atomically; ``load_plan(path) == plan`` afterwards.

    Examples
    --------
    >>> import okma_sim, tempfile, os
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> out = os.path.join(tempfile.mkdtemp(), "copy.toml")
    >>> _ = save_plan(plan, out)
    >>> okma_sim.load_plan(out) == plan
    True
    """
    return atomic_write(path, dumps_plan(plan), overwrite=overwrite)
