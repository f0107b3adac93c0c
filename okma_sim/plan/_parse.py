"""Parsing a plan: the TOML document (a dict) to a :class:`Plan`, checking types and ranges.

Every error names its key path and the bad value. Key paths count from 0, as in Python:
``key_results[2].target`` is the third ``[[key_results]]`` table. Checks that need the model
(known metrics, levers, parameters) are in :mod:`._checks`.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any, Mapping, Sequence

from okma_sim._core.calendar import is_month
from okma_sim._core.errors import PlanError, suggest
from okma_sim._core.formatting import format_percent
from okma_sim._core.numbers import magnitude_problem
from okma_sim.params import as_distribution

from ._model import (AGGREGATES, COMPARISONS, NEW_REP_BOOKS, SAMPLERS, SCHEMA_VERSION,
                     VACANCY_MODES, Baseline, Calibration, Correlations, Grading, KeyResult,
                     Lever, Management, Objective, Plan, Rep, Rule, Simulation, Team)

__all__ = ["plan_from_dict"]

_ID_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


# --------------------------------------------------------------------------------------------
# validating helpers: every error names its key path and the bad value
# --------------------------------------------------------------------------------------------
def _table(obj: Any, path: str, allowed: Sequence[str] | None = None,
           required: Sequence[str] = ()) -> dict:
    """``obj`` as a dict, after checking it is a table with only ``allowed`` keys (any key when
    ``allowed`` is None: the keys are names, as in ``[actions]``) and every ``required`` one."""
    if not isinstance(obj, Mapping):
        raise PlanError("must be a table", key=path or "(top level)", value=obj)
    for k in obj:
        if allowed is not None and k not in allowed:
            raise PlanError(f"unknown key{suggest(k, allowed)}", key=_join(path, k), value=k)
    for k in required:
        if k not in obj:
            raise PlanError("required key is missing", key=_join(path, k), value=None)
    return dict(obj)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _did_you_mean(value: float, lo: float, hi: float) -> str:
    """For a share typed as a percentage (80 for 80%): "; did you mean 0.80 (80%)?"."""
    if (lo, hi) == (0.0, 1.0) and 1 < value <= 100:
        return f"; did you mean {value / 100:.2f} ({format_percent(value / 100)})?"
    return ""


def _number(v: Any, path: str, *, low: float = -math.inf, high: float = math.inf,
            integer: bool = False, what: str = "", label: bool = False) -> Any:
    """A number in [low, high], of a size the models can compute with (a ``label``, such
    as a seed, is never computed with: any size)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise PlanError(f"must be {'an integer' if integer else 'a number'}", key=path, value=v)
    problem = None if label and isinstance(v, int) else magnitude_problem(v)
    if problem:
        raise PlanError(problem, key=path, value=v)
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


def _choice(v: Any, path: str, allowed: Sequence[str], what: str) -> str:
    """A string from ``allowed``; anything else names the nearest allowed value."""
    v = _string(v, path)
    if v not in allowed:
        raise PlanError(f"unknown {what}{suggest(v, allowed)}", key=path, value=v)
    return v


def _month(v: Any, path: str) -> str:
    v = _string(v, path)
    if not is_month(v):
        raise PlanError("must be a month written YYYY-MM", key=path, value=v)
    return v


def _array(v: Any, path: str) -> list:
    if not isinstance(v, list):
        raise PlanError("must be an array", key=path, value=v)
    return v


def _opt(d: dict, key: str, fn, path: str, default=None, **kw):
    return fn(d[key], _join(path, key), **kw) if key in d else default


# --------------------------------------------------------------------------------------------
# sections
# --------------------------------------------------------------------------------------------
_TARGET_KEYS = ("id", "metric", "target", "aggregate", "comparison", "threshold", "statement",
                "owner")


def _target_fields(d: dict, path: str) -> dict[str, Any]:
    """The fields an objective and a key result share, with aggregate and threshold checked."""
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
        t = kw["target"]
        if isinstance(t, (int, float)) and not isinstance(t, bool) and 1 < t <= 100:
            raise PlanError(f"a share of months must be in [0, 1]{_did_you_mean(t, 0.0, 1.0)}",
                            key=f"{path}.target", value=t)
        _number(t, f"{path}.target", low=0, high=1)
    elif kw["threshold"] is not None:
        raise PlanError("threshold applies only to aggregate = 'share_of_months'",
                        key=f"{path}.threshold", value=kw["threshold"])
    return kw


def _objective_ids(obj: Any, path: str) -> tuple[str, ...]:
    """The objective(s) a key result serves: one id or a non-empty list of ids."""
    if isinstance(obj, str):
        return (obj,)
    if isinstance(obj, list) and obj and all(isinstance(o, str) for o in obj):
        return tuple(obj)
    raise PlanError("must be an objective id or a non-empty list of ids",
                    key=f"{path}.objective", value=obj)


def _parse_target(d: Any, path: str, kr: bool) -> Objective:
    allowed = _TARGET_KEYS + (("objective", "baseline") if kr else ())
    d = _table(d, path, allowed, ("id", "metric", "target") + (("objective",) if kr else ()))
    kw = _target_fields(d, path)
    if not kr:
        return Objective(**kw)
    objs = _objective_ids(d["objective"], path)
    return KeyResult(**kw, objective=objs, baseline=_opt(d, "baseline", _number, path))


def _parse_roster(reps_raw: list) -> tuple[Rep, ...]:
    """A roster of named reps (``[[team.reps]]``), ids unique."""
    reps = []
    for i, r in enumerate(reps_raw):
        p = f"team.reps[{i}]"
        r = _table(r, p, ("id", "tenure_months", "customers", "skill", "vacant_months"),
                   ("id",))
        reps.append(Rep(id=_string(r["id"], f"{p}.id"),
                        tenure_months=_opt(r, "tenure_months", _number, p, low=0),
                        customers=_opt(r, "customers", _number, p, low=0),
                        skill=_opt(r, "skill", _number, p, low=0),
                        vacant_months=_opt(r, "vacant_months", _number, p, low=0,
                                           integer=True)))
    if not reps:
        raise PlanError("a roster needs at least one rep", key="team.reps", value=[])
    ids = [r.id for r in reps]
    dup = next((x for x in ids if ids.count(x) > 1), None)
    if dup is not None:
        raise PlanError("duplicate rep id", key="team.reps", value=dup)
    return tuple(reps)


def _parse_team(d: Any) -> Team:
    fields = [f.name for f in dataclasses.fields(Team)]
    d = _table(d, "team", fields, ("reps",))
    reps_raw = d["reps"]
    if isinstance(reps_raw, list):
        reps_val: int | tuple[Rep, ...] = _parse_roster(reps_raw)
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
    if "new_reps_month" in d:  # within the horizon: checked by check_plan
        kw["new_reps_month"] = _month(d["new_reps_month"], "team.new_reps_month")
    if "new_rep_book" in d:
        kw["new_rep_book"] = _choice(d["new_rep_book"], "team.new_rep_book", NEW_REP_BOOKS,
                                     "book for new reps")
    if "vacancy" in d:
        kw["vacancy"] = _choice(d["vacancy"], "team.vacancy", VACANCY_MODES, "vacancy mode")
    return Team(**kw)


def _parse_baseline(d: Any, actions: Mapping[str, float]) -> Baseline:
    """``[baseline]``; where ``[baseline.actions]`` names no level, the plan's ``actions``
    stand in."""
    d = _table(d, "baseline", ("monthly_revenue", "annual_revenue", "actions"))
    stated = {k: _number(v, f"baseline.actions.{k}", low=0, what=" (a lever level)")
              for k, v in _table(d.get("actions", {}), "baseline.actions").items()}
    kw = {"actions": {**actions, **stated},
          "assumed": tuple(k for k in actions if k not in stated)}
    if ("monthly_revenue" in d) == ("annual_revenue" in d):
        raise PlanError("give exactly one of monthly_revenue and annual_revenue",
                        key="baseline", value=sorted(k for k in d if k != "actions"))
    if "monthly_revenue" in d:
        arr = _array(d["monthly_revenue"], "baseline.monthly_revenue")
        vals = tuple(_number(v, f"baseline.monthly_revenue[{i}]", low=0)
                     for i, v in enumerate(arr))
        if len(vals) != 12:
            raise PlanError("needs 12 monthly figures", key="baseline.monthly_revenue",
                            value=len(vals))
        if vals[0] <= 0:  # growth is measured against the cumulative baseline from month 1
            raise PlanError("the first month's baseline revenue (the plan's first month) must "
                            "be positive: growth over a zero baseline has no meaning",
                            key="baseline.monthly_revenue[0]", value=vals[0])
        return Baseline(monthly_revenue=vals, **kw)
    return Baseline(annual_revenue=_number(d["annual_revenue"], "baseline.annual_revenue",
                                           low=1e-9), **kw)


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
    rules = tuple(_parse_rule(r, f"management.rules[{i}]") for i, r in enumerate(rules_raw))
    seen: dict[str, int] = {}
    for i, r in enumerate(rules):
        if r.id is not None and seen.setdefault(r.id, i) != i:
            raise PlanError(f"duplicate rule id (also used by management.rules[{seen[r.id]}])",
                            key=f"management.rules[{i}].id", value=r.id)
    return Management(
        review_every_months=_opt(d, "review_every_months", _number, "management", 1, low=0,
                                 integer=True),
        owner=_opt(d, "owner", _string, "management"), rules=rules)


def _parse_simulation(d: Any) -> Simulation:
    d = _table(d, "simulation", ("paths", "seed", "sampler", "replicates", "anchor"))
    sampler = _opt(d, "sampler", _string, "simulation", "mc")
    if sampler not in SAMPLERS:
        raise PlanError(f"unknown sampler; use one of {', '.join(SAMPLERS)}",
                        key="simulation.sampler", value=sampler)
    return Simulation(paths=_opt(d, "paths", _number, "simulation", low=1, integer=True),
                      seed=_opt(d, "seed", _number, "simulation", low=0, integer=True,
                                label=True),
                      sampler=sampler,
                      replicates=_opt(d, "replicates", _number, "simulation", 16, low=2,
                                      integer=True),
                      anchor=_opt(d, "anchor", _bool, "simulation", True))


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


def _parse_grading(d: Any) -> Grading:
    g = _table(d, "grading", ("committed", "stretch"))
    grading = Grading(committed=_opt(g, "committed", _number, "grading", 0.9, low=0, high=1),
                      stretch=_opt(g, "stretch", _number, "grading", 0.3, low=0, high=1))
    if grading.stretch > grading.committed:
        raise PlanError(f"stretch must not exceed committed ({grading.committed})",
                        key="grading.stretch", value=grading.stretch)
    return grading


def _parse_levers(d: Any) -> dict[str, Lever]:
    levers: dict[str, Lever] = {}
    for k, v in _table(d, "levers").items():
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
    return levers


def _parse_calibration(d: Any) -> Calibration:
    """``[calibration]``: ``observed`` maps a lever to ``[low, high]``, two levels with
    0 <= low <= high (lever names are checked against the model by check_plan)."""
    d = _table(d, "calibration", ("observed",))
    observed: dict[str, tuple[float, float]] = {}
    for k, v in _table(d.get("observed", {}), "calibration.observed").items():
        p = f"calibration.observed.{k}"
        if not isinstance(v, list) or len(v) != 2:
            raise PlanError("must be [low, high], the lowest and highest level the history "
                            "observed", key=p, value=v)
        low, high = (_number(x, f"{p}[{i}]", low=0, what=" (a lever level)")
                     for i, x in enumerate(v))
        if low > high:
            raise PlanError(f"low must not exceed high ({high})", key=p, value=v)
        observed[k] = (low, high)
    return Calibration(observed=observed)


def _parse_actions(d: Any) -> dict[str, float]:
    return {k: _number(v, f"actions.{k}", low=0, what=" (a lever level)")
            for k, v in _table(d, "actions").items()}


def _parse_parameters(d: Any) -> dict[str, Any]:
    return {k: as_distribution(v, f"parameters.{k}")
            for k, v in _table(d, "parameters").items()}


# --------------------------------------------------------------------------------------------
# the whole document
# --------------------------------------------------------------------------------------------
_TOP_KEYS = ("schema_version", "name", "description", "start_month", "horizon_months",
             "currency", "model", "baseline", "team", "objectives", "key_results", "actions",
             "levers", "parameters", "management", "simulation", "correlations", "grading",
             "calibration")


def plan_from_dict(doc: Mapping[str, Any], source: str | None = None) -> Plan:
    """Build a Plan from the parsed TOML document, checking types and ranges.

    Model-dependent checks (known metrics, levers, parameters) are in :func:`check_plan`.
    """
    try:
        return _plan_from_dict(doc, source)
    except PlanError as exc:
        raise exc.with_file(source) if source else exc


def _parse_header(d: dict) -> tuple[int, str, int]:
    """Schema version, start month and horizon, after the required top-level keys."""
    if not d:
        raise PlanError("the plan is empty", key="(top level)", value={})
    version = _opt(d, "schema_version", _number, "", SCHEMA_VERSION, integer=True)
    if version != SCHEMA_VERSION:
        raise PlanError(f"unsupported schema_version; this version reads {SCHEMA_VERSION}",
                        key="schema_version", value=version)
    for k in ("name", "start_month", "horizon_months"):
        if k not in d:
            raise PlanError("required key is missing", key=k, value=None)
    start = _month(d["start_month"], "start_month")
    horizon = _number(d["horizon_months"], "horizon_months", low=1, high=120, integer=True)
    return version, start, horizon


def _parse_targets(d: dict) -> tuple[tuple[Objective, ...], tuple[KeyResult, ...]]:
    """Objectives and key results; a plan needs at least one of them."""
    objectives = tuple(_parse_target(o, f"objectives[{i}]", kr=False)
                       for i, o in enumerate(_array(d.get("objectives", []), "objectives")))
    krs = tuple(_parse_target(o, f"key_results[{i}]", kr=True)
                for i, o in enumerate(_array(d.get("key_results", []), "key_results")))
    if not objectives and not krs:
        raise PlanError("the plan is empty: it has no objectives and no key results",
                        key="objectives", value=[])
    return objectives, krs


def _plan_from_dict(doc: Mapping[str, Any], source: str | None) -> Plan:
    d = _table(doc, "", _TOP_KEYS)
    version, start, horizon = _parse_header(d)
    objectives, krs = _parse_targets(d)
    actions = _parse_actions(d.get("actions", {}))
    levers = _parse_levers(d.get("levers", {}))
    parameters = _parse_parameters(d.get("parameters", {}))
    grading = _parse_grading(d["grading"]) if "grading" in d else Grading()
    # the remaining sections are checked in this order (the first error is the one raised)
    return Plan(
        schema_version=version,
        name=_string(d["name"], "name"),
        description=_opt(d, "description", _string, ""),
        start_month=start,
        horizon_months=horizon,
        currency=_opt(d, "currency", _string, "", ""),
        model=_opt(d, "model", _string, "", "sales_team"),
        baseline=_parse_baseline(d["baseline"], actions) if "baseline" in d else None,
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
        calibration=_parse_calibration(d["calibration"]) if "calibration" in d else None,
        source=source,
    )
