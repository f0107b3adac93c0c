"""SMART checks of a plan against its model: what :func:`plan_from_dict` cannot know alone.

Each stage (targets, key-result links, the team, actions and levers, parameters, management
rules) returns its errors, or its warnings; :func:`check_plan` collects them in that order.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from okma_sim._core.calendar import month_number, month_text
from okma_sim._core.errors import PlanError, suggest
from okma_sim._core.formatting import format_percent
from okma_sim.params import Distribution

from ._extrapolation import extrapolation
from ._model import Plan, Rule
from ._parse import _did_you_mean

__all__ = ["check_plan", "unit_warnings"]

#: prior mass allowed outside a parameter's valid range (the model would clip it)
_OUTSIDE_MASS = 1e-6


def check_plan(plan: Plan, model: Any = None) -> tuple[list[PlanError], list[str]]:
    """SMART checks of a plan against the model. Returns ``(errors, warnings)``.

    Errors: unknown metrics, levers, parameters or responses; KRs pointing at no objective;
    duplicate ids; non-finite targets; rate targets outside [0, 1] and a ``share_of_months``
    target outside [0, 1] (the message asks whether a percentage was meant); parameter ranges
    outside a
    parameter's valid range; a growth metric without a baseline; a fractional level, bound or
    step of a whole-number lever (``new_reps``); ``team.new_reps_month`` outside the horizon;
    an unknown lever in ``[calibration.observed]``.
    Warnings: a growth target above 1 (:func:`unit_warnings`: 30 typed for +30%); an
    objective with fewer than 2 or more than 5 key results; an action outside its
    lever bounds; a roster seat vacant for the whole horizon; a lever outside the range the
    calibration history observed (:func:`extrapolation`).

    Examples
    --------
    >>> import okma_sim
    >>> errors, warnings = check_plan(okma_sim.load_plan(okma_sim.case_study_path()))
    >>> errors, warnings
    ([], [])
    """
    if model is None:
        model = _plan_model(plan)
    errors = [*_target_errors(plan, model), *_link_errors(plan), *_team_errors(plan),
              *_action_errors(plan, model), *_whole_lever_errors(plan, model),
              *_parameter_errors(plan, model), *_rule_errors(plan, model)]
    warnings = [*unit_warnings(plan, model), *_key_result_count_warnings(plan),
                *_lever_bound_warnings(plan, model),
                *_vacancy_warnings(plan)]
    if not errors:  # the levels are known levers' in range: compare them with the history
        warnings += _baseline_warnings(plan, model)
        warnings += [e.message() for e in extrapolation(plan, model=model)]
    return errors, warnings


def _plan_model(plan: Plan) -> Any:
    """The model the plan names, an unknown name reported against the plan's file."""
    from okma_sim.models import get_model
    try:
        return get_model(plan.model)
    except PlanError as exc:
        raise exc.with_file(plan.source) if plan.source else exc


def _error(plan: Plan, msg: str, key: str, value: Any) -> PlanError:
    return PlanError(msg, file=plan.source, key=key, value=value)


# --------------------------------------------------------------------------------------------
# targets
# --------------------------------------------------------------------------------------------
def _target_errors(plan: Plan, model: Any) -> list[PlanError]:
    """Duplicate ids, unknown metrics, targets outside the metric's range, growth without a
    baseline."""
    errors: list[PlanError] = []
    metrics = model.metrics
    seen: dict[str, str] = {}
    for kind, items in (("objectives", plan.objectives), ("key_results", plan.key_results)):
        for i, t in enumerate(items):
            p = f"{kind}[{i}]"
            if t.id in seen:
                errors.append(_error(plan, f"duplicate id (also used by {seen[t.id]})",
                                     f"{p}.id", t.id))
            seen.setdefault(t.id, p)
            if t.metric not in metrics:
                errors.append(_error(plan, f"unknown metric{suggest(t.metric, sorted(metrics))}",
                                     f"{p}.metric", t.metric))
                continue
            if not math.isfinite(t.target):
                errors.append(_error(plan, "must be a finite number", f"{p}.target", t.target))
            lo, hi = metrics[t.metric].bounds
            bound = t.threshold if t.aggregate == "share_of_months" else t.target
            bkey = f"{p}.threshold" if t.aggregate == "share_of_months" else f"{p}.target"
            if t.aggregate != "sum" and bound is not None and not lo <= bound <= hi:
                what = "a probability in [0, 1]" if (lo, hi) == (0.0, 1.0) else \
                    f"within [{lo:g}, {hi:g}] for {t.metric}"
                errors.append(_error(plan, f"must be {what}{_did_you_mean(bound, lo, hi)}",
                                     bkey, bound))
            if t.aggregate == "share_of_months" and math.isfinite(t.target) \
                    and not 0 <= t.target <= 1:
                errors.append(_error(
                    plan, f"a share of months must be in [0, 1]"
                          f"{_did_you_mean(t.target, 0.0, 1.0)} ({_NOUN[kind]} '{t.id}')",
                    f"{p}.target", t.target))
            if t.metric.endswith("growth") and plan.baseline is None:
                errors.append(_error(plan, "a growth metric needs a [baseline] table",
                                     f"{p}.metric", t.metric))
    return errors


_NOUN = {"objectives": "objective", "key_results": "key result"}


def unit_warnings(plan: Plan, model: Any = None) -> list[str]:
    """Growth targets above 1: 30 typed for +30% (it asks for +3000%, and P is 0).

    A warning, not an error: a plan may mean to more than double. Each names the key path and
    the id, and what was probably meant. Every simulation repeats them in its warnings.

    Examples
    --------
    >>> import okma_sim
    >>> from okma_sim.plan import Objective
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> unit_warnings(plan)
    []
    >>> bad = plan.replace(objectives=(Objective(id="revenue", metric="revenue_growth",
    ...                                          target=30.0), plan.objectives[1]))
    >>> print(unit_warnings(bad)[0].split(": ")[1])
    a growth target above 1 asks for +3000%; did you mean 0.30 (+30%)?
    """
    if model is None:
        model = _plan_model(plan)
    metrics = model.metrics
    out = []
    for kind, items in (("objectives", plan.objectives), ("key_results", plan.key_results)):
        for i, t in enumerate(items):
            info = metrics.get(t.metric)
            growth = t.metric.endswith("growth") or (info is not None and info.unit == "ratio")
            if growth and t.aggregate not in ("sum", "share_of_months") \
                    and math.isfinite(t.target) and t.target > 1:
                meant, digits = t.target / 100, 0 if t.target >= 10 else 1
                out.append(f"{kind}[{i}].target = {t.target:g} ({_NOUN[kind]} '{t.id}'): a "
                           f"growth target above 1 asks for "
                           f"{format_percent(t.target, signed=True)}; did you mean "
                           f"{meant:.{digits + 2}f} "
                           f"({format_percent(meant, digits=digits, signed=True)})?")
    return out


def _link_errors(plan: Plan) -> list[PlanError]:
    """Key results that name an objective the plan does not have."""
    errors: list[PlanError] = []
    obj_ids = [o.id for o in plan.objectives]
    for i, k in enumerate(plan.key_results):
        for j, o in enumerate(k.objective):
            if o not in obj_ids:
                key = f"key_results[{i}].objective" + (f"[{j}]" if len(k.objective) > 1 else "")
                errors.append(_error(
                    plan, f"no objective has this id{suggest(o, obj_ids) if obj_ids else ''}",
                    key, o))
    return errors


def _key_result_count_warnings(plan: Plan) -> list[str]:
    """OKMA asks for 2 to 5 key results per objective."""
    warnings = []
    for o in plan.objectives:
        n = sum(o.id in k.objective for k in plan.key_results)
        if not 2 <= n <= 5:
            warnings.append(f"objective '{o.id}' has {n} key results; OKMA asks for 2 to 5")
    return warnings


# --------------------------------------------------------------------------------------------
# the team
# --------------------------------------------------------------------------------------------
def _team_errors(plan: Plan) -> list[PlanError]:
    """``team.new_reps_month`` outside the plan's horizon (the seats would never open)."""
    month = plan.team.new_reps_month
    if month is None:
        return []
    first = month_number(plan.start_month)
    if 0 <= month_number(month) - first < plan.horizon_months:
        return []
    last = month_text(first + plan.horizon_months - 1)
    return [_error(plan, f"must lie within the plan's horizon ({plan.start_month} to {last})",
                   "team.new_reps_month", month)]


def _baseline_warnings(plan: Plan, model: Any) -> list[str]:
    """Anchoring to a baseline year whose actions the scenario did not state."""
    anchors = getattr(model, "anchors", None)
    if anchors is None or not anchors(plan) or not plan.baseline.assumed_levels:
        return []
    return [f"baseline.actions: no level for {', '.join(plan.baseline.assumed_levels)}, so the "
            "plan's [actions] stand in for last year's: the forecast is anchored to the "
            "baseline as if last year ran at them (state last year's levels to measure the "
            "plan's change)"]


def _vacancy_warnings(plan: Plan) -> list[str]:
    """Roster seats that stay vacant for the whole horizon.

    A warning, not an error: a seat kept empty all plan long (a hiring freeze) is a plan one may
    mean, with its book unvisited or shared, and ``calibrate`` and ``review`` write
    ``vacant_months`` from the data, which a short horizon must not turn into an error.
    """
    if isinstance(plan.team.reps, int):
        return []
    warnings = []
    for i, r in enumerate(plan.team.reps):
        if r.vacant_months is not None and r.vacant_months >= plan.horizon_months:
            warnings.append(
                f"team.reps[{i}].vacant_months = {r.vacant_months} (rep '{r.id}') is not less "
                f"than horizon_months = {plan.horizon_months}: the seat stays vacant for the "
                f"whole plan (team.vacancy = '{plan.team.vacancy}')")
    return warnings


# --------------------------------------------------------------------------------------------
# actions and levers
# --------------------------------------------------------------------------------------------
def _action_errors(plan: Plan, model: Any) -> list[PlanError]:
    """Unknown levers, and action levels outside a lever's range or allowed values."""
    levers = getattr(model, "levers", None)
    if levers is None:
        return []
    errors: list[PlanError] = []
    b = plan.baseline
    stated = {} if b is None else {k: v for k, v in b.actions.items() if k not in b.assumed}
    for where, actions in (("actions", plan.actions), ("baseline.actions", stated)):
        for k, v in actions.items():
            errors += _level_errors(plan, levers, f"{where}.{k}", k, v)
    for k in plan.levers:
        if k not in levers:
            errors.append(_error(plan, f"unknown lever{suggest(k, sorted(levers))}",
                                 f"levers.{k}", k))
    for k, v in (plan.calibration.observed if plan.calibration else {}).items():
        if k not in levers:
            errors.append(_error(plan, f"unknown lever{suggest(k, sorted(levers))}",
                                 f"calibration.observed.{k}", list(v)))
    return errors


def _level_errors(plan: Plan, levers: Mapping[str, Any], path: str, k: str, v: float
                  ) -> list[PlanError]:
    """An action level's errors: an unknown lever, or a level outside its range or allowed
    values."""
    if k not in levers:
        return [_error(plan, f"unknown lever{suggest(k, sorted(levers))}", path, k)]
    lo, hi = levers[k].bounds
    allowed = getattr(levers[k], "allowed", None)
    if not lo <= v <= hi:
        return [_error(plan, f"must lie in [{lo:g}, {hi:g}]", path, v)]
    if allowed is not None and v not in allowed:
        return [_error(plan, f"must be one of {', '.join(f'{a:g}' for a in allowed)}", path, v)]
    if getattr(levers[k], "integer", False) and not float(v).is_integer():
        return [_error(plan, f"must be a whole number ({k} takes whole levels)", path, v)]
    return []


def _whole_lever_errors(plan: Plan, model: Any) -> list[PlanError]:
    """Fractional bounds, or a step that is not a whole number >= 1, in the ``[levers.NAME]``
    table of a lever that takes whole levels (a headcount)."""
    levers = getattr(model, "levers", None) or {}
    errors: list[PlanError] = []
    for k, lv in plan.levers.items():
        if k not in levers or not getattr(levers[k], "integer", False):
            continue
        for key in ("low", "high"):
            v = getattr(lv, key)
            if not float(v).is_integer():
                errors.append(_error(plan, f"must be a whole number ({k} takes whole levels)",
                                     f"levers.{k}.{key}", v))
        if lv.step is not None and not (lv.step >= 1 and float(lv.step).is_integer()):
            errors.append(_error(plan, f"must be a whole number of at least 1 ({k} takes whole "
                                 "levels)", f"levers.{k}.step", lv.step))
    return errors


def _lever_bound_warnings(plan: Plan, model: Any) -> list[str]:
    """Action levels (or the model's defaults) outside the solver bounds the plan sets."""
    levers = getattr(model, "levers", None)
    warnings = []
    for k, lv in plan.levers.items():
        level = plan.actions.get(k, levers[k].default if levers and k in levers else None)
        if level is not None and not lv.low <= level <= lv.high:
            warnings.append(f"action {k} = {level:g} lies outside its lever bounds "
                            f"[{lv.low:g}, {lv.high:g}]")
    return warnings


# --------------------------------------------------------------------------------------------
# uncertain parameters
# --------------------------------------------------------------------------------------------
def _parameter_errors(plan: Plan, model: Any) -> list[PlanError]:
    """Unknown parameters, priors leaving a parameter's valid range, unknown correlated
    parameters."""
    errors: list[PlanError] = []
    params = model.parameters
    bounds = getattr(model, "parameter_bounds", {})
    for k, spec in plan.parameters.items():
        if k not in params:
            errors.append(_error(plan, f"unknown parameter{suggest(k, sorted(params))}",
                                 f"parameters.{k}", k))
            continue
        lo, hi = bounds.get(k, (-math.inf, math.inf))
        bad = _out_of_bounds(spec, lo, hi)
        if bad is not None:
            what = "a probability in [0, 1]" if (lo, hi) == (0.0, 1.0) else \
                f"within [{lo:g}, {hi:g}]"
            # a fixed value is usually written as a bare number (`x = 1.4`): name the key
            fixed = isinstance(spec, Distribution) and spec.dist == "fixed"
            errors.append(_error(plan, f"must be {what}",
                                 f"parameters.{k}" if fixed else f"parameters.{k}.{bad[0]}",
                                 bad[1]))
    if plan.correlations is not None:
        for i, name in enumerate(plan.correlations.parameters):
            if name not in params:
                errors.append(_error(plan, f"unknown parameter{suggest(name, sorted(params))}",
                                     f"correlations.parameters[{i}]", name))
    return errors


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
# management rules
# --------------------------------------------------------------------------------------------
def _rule_errors(plan: Plan, model: Any) -> list[PlanError]:
    """Errors of every management rule, in order."""
    errors: list[PlanError] = []
    metrics = model.metrics
    responses = getattr(model, "responses", None)
    for i, r in enumerate(plan.management.rules):
        errors.extend(_one_rule_errors(plan, r, f"management.rules[{i}]", metrics, responses))
    return errors


def _one_rule_errors(plan: Plan, r: Rule, p: str, metrics: Any,
                     responses: Any) -> list[PlanError]:
    """Unknown metric or response, a per-rep rule on a team metric, a rate threshold outside
    [0, 1], keys the response ignores, hiring when the team may not hire."""
    errors: list[PlanError] = []
    if r.metric not in metrics:
        errors.append(_error(plan, f"unknown metric{suggest(r.metric, sorted(metrics))}",
                             f"{p}.metric", r.metric))
    elif r.per_rep and not metrics[r.metric].per_rep:
        per = sorted(m for m, inf in metrics.items() if inf.per_rep)
        errors.append(_error(plan, "this metric has no per-rep value; per-rep metrics: "
                             f"{', '.join(per)}", f"{p}.metric", r.metric))
    elif metrics[r.metric].bounds == (0.0, 1.0):
        thr = r.below if r.below is not None else r.above
        if not 0 <= thr <= 1:
            errors.append(_error(plan, "must be a probability in [0, 1]",
                                 f"{p}.{'below' if r.below is not None else 'above'}", thr))
    if responses is not None and r.response not in responses:
        errors.append(_error(plan, f"unknown response{suggest(r.response, sorted(responses))}",
                             f"{p}.response", r.response))
    if r.effect is not None and r.response != "coaching" and \
            (responses is None or r.response in responses):
        # only coaching has an effect of its own; elsewhere the key would do nothing
        errors.append(_error(plan, "'effect' applies only to response = 'coaching' (other "
                             "responses act through hours, visits, events or reps)",
                             f"{p}.effect", r.effect))
    if r.response == "hiring" and not plan.team.allow_new_hires:
        errors.append(_error(plan, "a hiring rule needs team.allow_new_hires = true",
                             f"{p}.response", r.response))
    return errors
