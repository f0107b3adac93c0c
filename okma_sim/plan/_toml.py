"""TOML round trip of a plan: read (:func:`load_plan`, :func:`loads_plan`) and write
(:func:`plan_to_dict`, :func:`dumps_plan`, :func:`save_plan`); ``load_plan(save_plan(p)) == p``."""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from pathlib import Path
from typing import Any

import numpy as np

from okma_sim._core.errors import PlanError
from okma_sim._core.files import atomic_write
from okma_sim._core.reading import read_input
from okma_sim.params import to_named

from ._checks import check_plan
from ._model import KeyResult, Objective, Plan
from ._parse import plan_from_dict

__all__ = ["MAX_NESTING", "dumps_plan", "load_plan", "loads_plan", "plan_to_dict", "save_plan"]

#: the deepest nesting a scenario may have (arrays, inline tables, dotted keys); a scenario
#: needs 5, and tomllib recurses once per level, so a deep file would end in a RecursionError
MAX_NESTING = 32

# what the nesting scan must see: strings and comments (skipped whole), the names of table
# headers and keys (their dots nest), and brackets
_TOKENS = re.compile(r"""
    (?P<text> \"{3}(?:\\.|[^\\])*?\"{3} | '{3}.*?'{3}
            | "(?:\\.|[^"\\\n])*" | '[^'\n]*' | \#[^\n]* )
  | (?P<name> ^[ \t]*\[\[?[^\]\n]* | ^[ \t]*[\w.-]+[ \t]*= )
  | (?P<open> [\[{] ) | (?P<close> [\]}] ) | (?P<newline> \n )
""", re.M | re.S | re.X)


def _check_nesting(text: str, source: str | None) -> None:
    """Refuse nesting deeper than :data:`MAX_NESTING`, naming the line, before tomllib
    (which recurses once per level, and is quadratic in a dotted key's length) reads it."""
    depth, line = 0, 1
    for m in _TOKENS.finditer(text):
        kind, tok = m.lastgroup, m.group()
        if kind == "newline":
            line += 1
        elif kind == "text":
            line += tok.count("\n")
        elif kind == "open":
            depth += 1
        elif kind == "close":
            depth = max(depth - 1, 0)
        if depth + (tok.count(".") + 1 if kind == "name" else 0) > MAX_NESTING:
            raise PlanError(f"nested deeper than {MAX_NESTING} levels (arrays, inline tables "
                            "or dotted keys)", file=source, key=f"line {line}")


def loads_plan(text: str, source: str | None = None, *, model: Any = None,
               check: bool = True) -> Plan:
    """Parse a plan from TOML text; with ``check`` the first SMART error is raised."""
    _check_nesting(text, source)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(f"not valid TOML: {exc}", file=source) from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise PlanError(f"not valid TOML: {exc}", file=source) from None
    except RecursionError:  # a nesting the scan missed
        raise PlanError(f"nested deeper than {MAX_NESTING} levels", file=source) from None
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
    raw = read_input(path, "scenario file", error=PlanError)
    try:
        text = raw.decode("utf-8-sig")  # a BOM (Windows editors) is not TOML
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise PlanError("not a TOML file (not UTF-8 text)", file=str(path),
                        key=f"line {line}") from None
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
        "baseline": None if plan.baseline is None else _baseline(plan.baseline),
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
        "calibration": None if plan.calibration is None else {
            "observed": {k: list(v) for k, v in plan.calibration.observed.items()}},
    }
    return _clean(doc)


def _baseline(b: Any) -> dict[str, Any]:
    """``[baseline]``: last year's actions only where the scenario stated them (the plan's own
    stood in for the others, and a saved plan should not turn that guess into a statement)."""
    d = {"monthly_revenue": None if b.monthly_revenue is None else list(b.monthly_revenue),
         "annual_revenue": b.annual_revenue}
    stated = {k: v for k, v in b.actions.items() if k not in b.assumed}
    if stated:
        d["actions"] = stated
    return d


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
