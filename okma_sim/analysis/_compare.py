"""Policy comparison: several scenarios run under common random numbers (one seed), with each
one's difference from the first and a paired standard error.

Under one seed the engine gives path i of every scenario the same parameter uniforms and the
same model streams (common random numbers, docs/architecture.md), so per-path differences of
the all-met flags vary far less than two independent runs would: the paired standard error is
the standard deviation of the per-path differences over sqrt(n) (for LHS/Sobol designs, the
spread of the replicates' mean differences).

Cost of a policy
----------------
``levers``: the sum over the levers with a ``[levers.NAME]`` table of units x ``unit_cost``,
the units being what the scenario's run executed (as :func:`okma_sim.analysis.action_cost`
counts it with a run at hand: visits the reps' hours allowed, a new rep's months on payroll /
12), so that a policy costs what the solver would charge for it; ``operating``: the expected
sum over the months of the model's ``cost`` metric (:func:`okma_sim.analysis.operating_cost`),
i.e. the training and coaching hours priced at ``team.hourly_cost`` plus the money cost of
management rules (per firing); ``total`` is their sum. ``rules`` breaks down what the
management rules cost (their money plus the hours they delivered), a part of ``operating``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from okma_sim._core.formatting import (format_amount, format_estimate, format_percent,
                                       format_points)
from okma_sim.plan import Plan
from okma_sim.results import Estimate, SimulationResult, estimate, target_label
from ._costs import action_cost, operating_cost

__all__ = ["PolicyComparison", "compare", "paired_difference", "policy_cost"]


def paired_difference(flags: np.ndarray, base: np.ndarray,
                      replicate_index: np.ndarray | None = None) -> Estimate:
    """P(flags) - P(base) from per-path pairs, with the paired standard error.

    Examples
    --------
    >>> a = np.array([1, 1, 0, 1, 0, 1], dtype=bool)
    >>> b = np.array([1, 0, 0, 1, 0, 0], dtype=bool)
    >>> e = paired_difference(a, b)
    >>> round(e.probability, 3), round(e.stderr, 3)
    (0.333, 0.211)
    """
    d = np.asarray(flags, dtype=float) - np.asarray(base, dtype=float)
    n = d.size
    if replicate_index is not None or n == 0:
        # the spread of the replicates' mean differences: results.estimate's replicate form
        return estimate(d, replicate_index)
    se = float(d.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    return Estimate(float(d.mean()), se, n)


def policy_cost(result: SimulationResult) -> dict[str, float]:
    """A simulated plan's cost (module docstring): levers, operating, rules, total.

    Examples
    --------
    >>> import okma_sim
    >>> res = okma_sim.simulate(okma_sim.load_plan(okma_sim.case_study_path()), n_paths=500,
    ...                         seed=1, keep_monthly=["cost"])
    >>> c = policy_cost(res)
    >>> c["total"] == c["levers"] + c["operating"]
    True
    """
    plan = result.plan
    # the units the run executed, as the solver counts them (not the nominal levels)
    lev = float(action_cost(plan, result)["levers"])
    operating = operating_cost(result)
    by_rule = result.rules()
    rules = {r: float(v) for r, v in zip(by_rule["rule"], by_rule["cost_per_path"])}
    return {"levers": lev, "operating": operating, "rules": float(sum(rules.values())),
            "rules_by_id": rules, "total": lev + operating}


@dataclass(frozen=True)
class PolicyComparison:
    """Scenarios simulated under one seed. Build it with :func:`compare`.

    Attributes
    ----------
    results : list of SimulationResult
    names : list of str
        How each scenario is labelled (file paths at the CLI).
    """

    results: Sequence[SimulationResult]
    names: Sequence[str]
    warnings: Sequence[str] = field(default_factory=list)
    # difference(i) and cost(i), computed once (to_frame, table and to_json_dict all use them)
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def seed(self) -> int:
        return self.results[0].seed

    @property
    def n_paths(self) -> int:
        return self.results[0].n_paths

    def difference(self, i: int) -> Estimate:
        """P(all objectives met) of scenario i minus that of the first, paired SE."""
        if ("difference", i) not in self._cache:
            r0, r = self.results[0], self.results[i]
            self._cache["difference", i] = paired_difference(
                r.all_met_flags(), r0.all_met_flags(), r0.replicate_index)
        return self._cache["difference", i]

    def cost(self, i: int) -> dict[str, float]:
        """:func:`policy_cost` of scenario i."""
        if ("cost", i) not in self._cache:
            self._cache["cost", i] = policy_cost(self.results[i])
        return self._cache["cost", i]

    def to_frame(self) -> pd.DataFrame:
        """One row per scenario: P(all met), its difference from the first, the cost, and
        P(met) of every objective."""
        rows = []
        for i, (name, r) in enumerate(zip(self.names, self.results)):
            a, d, c = r.all_met(), self.difference(i), self.cost(i)
            row = {"scenario": name, "name": r.plan.name, "all_met": a.probability,
                   "all_met_stderr": a.stderr, "difference_vs_first": d.probability,
                   "difference_stderr": d.stderr, "cost": c["total"],
                   "cost_levers": c["levers"], "cost_operating": c["operating"],
                   "cost_rules": c["rules"]}
            for o in r.plan.objectives:
                row[f"P({o.id})"] = r.probability(o.id).probability
            rows.append(row)
        return pd.DataFrame(rows)

    def to_json_dict(self) -> dict[str, Any]:
        """The ``compare --json`` document (without the common CLI keys)."""
        out = []
        for i, (name, r) in enumerate(zip(self.names, self.results)):
            c = self.cost(i)
            out.append({
                "scenario": name, "name": r.plan.name,
                "all_met": r.all_met().to_dict(),
                "all_key_results_met": r.all_key_results_met().to_dict(),
                "cost": c["total"],
                "cost_breakdown": {"levers": c["levers"], "operating": c["operating"],
                                   "rules": c["rules"], "rules_by_id": c["rules_by_id"]},
                "objectives": [{"id": o.id, **r.probability(o.id).to_dict()}
                               for o in r.plan.objectives],
                "key_results": [{"id": k.id, **r.probability(k.id).to_dict()}
                                for k in r.plan.key_results],
                "difference_vs_first": self.difference(i).to_dict(),
                "rules": r.rules().to_dict(orient="records"),
                "warnings": list(r.warnings),
            })
        return {"scenarios": out}

    def table(self) -> str:
        cur = self.results[0].plan.currency
        lines = [f"{len(self.results)} scenarios, {self.n_paths:,} simulated runs each, seed "
                 f"{self.seed} (the same random numbers for each, so the differences are "
                 "fair)", ""]
        head = (f"{'scenario':<40}{'all objectives':>18}{'vs first (paired)':>20}"
                f"{'cost':>16}")
        lines += [head, "-" * len(head)]
        for i, (name, r) in enumerate(zip(self.names, self.results)):
            a, d, c = r.all_met(), self.difference(i), self.cost(i)
            diff = "" if i == 0 else format_points(d.probability, d.stderr)
            label = name if len(name) <= 38 else "..." + name[-35:]
            chance = format_estimate(a.probability, a.stderr)
            lines.append(f"{label:<40}{chance:>18}{diff:>20}"
                         f"{format_amount(c['total'], cur):>16}")
        lines.append("-" * len(head))
        ids = list(dict.fromkeys(o.id for r in self.results for o in r.plan.objectives))
        for oid in ids:
            cells, name = [], oid
            for r in self.results:
                try:
                    cells.append(format_percent(r.probability(oid).probability))
                    name = target_label(r.plan.target(oid), r.plan)
                except KeyError:
                    cells.append("-")
            lines.append(f"chance of {name}: " + "  ".join(cells))
        lines.append(f"cost ({cur}) = lever units executed x unit_cost + expected priced hours "
                     "and rule costs")
        for w in self.warnings:
            lines.append(f"warning: {w}")
        return "\n".join(lines)


def compare(plans: Sequence[Plan], n_paths: int | None = None, seed: Any = None, *,
            names: Sequence[str] | None = None, model: Any = None,
            sampler: str | None = None, executor: Any = None,
            progress: bool | None = None) -> PolicyComparison:
    """Simulate several plans (policies) under common random numbers.

    Parameters
    ----------
    plans : sequence of Plan
        At least two; the first is the reference of the differences.
    n_paths, seed, sampler, executor, progress :
        As in :func:`okma_sim.simulate`; the same for every plan (defaults: the first plan's
        ``[simulation]``, else 10,000 paths and fresh entropy, reported).
    names : sequence of str, optional
        Labels (default: the plans' names).

    Returns
    -------
    PolicyComparison

    Examples
    --------
    >>> import okma_sim
    >>> a = okma_sim.load_plan(okma_sim.data_path("scenarios", "policy_no_reviews.toml"))
    >>> b = okma_sim.load_plan(okma_sim.data_path("scenarios", "policy_monthly_coaching.toml"))
    >>> cmp = compare([a, b], n_paths=1000, seed=1)
    >>> d = cmp.difference(1)
    >>> d.stderr < 0.02
    True
    """
    from okma_sim.engine import simulate
    from okma_sim._core.seeds import normalize_seed

    plans = list(plans)
    if len(plans) < 2:
        raise ValueError(f"'plans' needs at least two plans to compare, got {len(plans)}")
    for p in plans:
        if not isinstance(p, Plan):
            raise TypeError(f"'plans' must hold Plan objects, got {type(p).__name__}")
    first = plans[0]
    if n_paths is None:
        n_paths = first.simulation.paths or 10_000
    seed_int = normalize_seed(first.simulation.seed if seed is None else seed)
    warn = []
    if sampler is None:
        # one sampler for all, or path i would not draw the same numbers in every scenario
        sampler = first.simulation.sampler
        if len({p.simulation.sampler for p in plans}) > 1:
            warn.append(f"the scenarios name different samplers; all ran with the first's "
                        f"({sampler}), so that they share their random numbers")
    objs = [tuple(o.id for o in p.objectives) for p in plans]
    if len(set(objs)) > 1:
        warn.append("the scenarios do not share the same objectives: P(all objectives met) "
                    "means each scenario's own objectives")
    if len({(p.horizon_months, p.start_month) for p in plans}) > 1:
        warn.append("the scenarios differ in start month or horizon")
    results = []
    for p in plans:
        keep = tuple(dict.fromkeys([t.metric for t in p.targets] + ["revenue", "cost"]))
        results.append(simulate(p, n_paths=int(n_paths), seed=seed_int, model=model,
                                sampler=sampler, executor=executor, progress=progress,
                                keep_monthly=keep))
    return PolicyComparison(results=results, names=list(names) if names is not None
                            else [p.name for p in plans], warnings=warn)
