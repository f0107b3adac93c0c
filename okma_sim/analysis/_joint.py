"""Joint targets: one target for each objective, such that all of them hold together with
probability C.

The rule (docs/targets.md, "Joint targets"): every objective i gets the target it meets on its
own with probability ``q_i = u ** w_i`` (:func:`okma_sim.results.achievable_target` at
confidence ``q_i``: a lower quantile of its value for a ``>=`` objective, an upper one for
``<=``), with one common level u in (0, 1) found by bisection on the empirical P(all objectives
met) of one simulation. Equal weights give every objective the same level. A larger weight
lowers an objective's own probability, so its target is more ambitious: with weights
``revenue=2, csat=1`` revenue's level is the square of CSAT's. For independent objectives
P(all) = prod(q_i) = u ** sum(w), so u = C ** (1 / sum(w)) (two objectives, equal weights:
u = sqrt(C)). The targets are then re-simulated with a fresh seed, which gives the reported
probabilities.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from okma_sim._core.errors import OkmaError
from okma_sim._core.formatting import format_number, format_share
from okma_sim.plan import Plan
from okma_sim.results import (SimulationResult, achievable_target, check_confidence, estimate,
                              metric_name, target_label)
from ._search import derived_seed

__all__ = ["JointTargets", "joint_targets", "joint_level", "check_weights", "target_phrase"]

#: bisection steps on the common level (the empirical P(all) is a step function of it; 2^-60
#: is far below the gap between two order statistics' levels)
_STEPS = 60


def check_weights(plan: Plan, weights: Mapping[str, Any] | None,
                  key: str = "weights") -> dict[str, float]:
    """Every objective's weight (1 unless given), checked: known objective ids, finite and
    positive numbers.

    Examples
    --------
    >>> import okma_sim
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> check_weights(plan, {"revenue": 2})
    {'revenue': 2.0, 'csat': 1.0}
    """
    ids = [o.id for o in plan.objectives]
    out = {i: 1.0 for i in ids}
    for k, v in (weights or {}).items():
        if k not in ids:
            raise OkmaError(f"no objective has this id; objectives: {', '.join(ids)}",
                            key=key, value=k)
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) \
                or not math.isfinite(v) or v <= 0:
            raise OkmaError("must be a positive number", key=f"{key}.{k}", value=v)
        out[k] = float(v)
    return out


class _Ladder:
    """One objective's values in the order they meet targets (the most ambitious first) with
    the cumulative share of runs: the target met with probability q is the first value whose
    share reaches q, as :func:`okma_sim.results.achievable_target` reads it, without sorting
    again at every step of the bisection."""

    def __init__(self, result: SimulationResult, id: str) -> None:
        x = np.asarray(result.values[id], dtype=float)
        w = np.ones(x.size) if result.weights is None else np.asarray(result.weights, float)
        ok = ~np.isnan(x)
        total = w.sum()
        x, w = x[ok], w[ok]
        t = result.plan.target(id)
        # as Objective.met compares: a share_of_months target is a share to reach
        larger = t.aggregate == "share_of_months" or t.comparison == ">="
        order = np.argsort(-x if larger else x, kind="stable")
        self.values = x[order]
        self.cum = np.cumsum(w[order]) / total
        # a run without a value (e.g. no CSAT survey) meets no target: beyond this share the
        # least ambitious target stands for every level, so targets move monotonically with u
        self.top = float(self.cum[-1]) if x.size else 0.0

    def level(self, q: float) -> float:
        return min(max(q, 1e-12), 1 - 1e-12, self.top)

    def target(self, q: float) -> float:
        if self.top <= 0:
            return math.nan
        i = int(np.searchsorted(self.cum, self.level(q) * (1 - 1e-12), side="left"))
        return float(self.values[min(i, self.values.size - 1)])


def _all_met(result: SimulationResult, targets: Mapping[str, float]) -> np.ndarray:
    """Per path: does every objective meet its given target (NaN never does)?"""
    flags = np.ones(result.n_paths, dtype=bool)
    plan = result.plan.with_targets(targets)
    for o in plan.objectives:
        flags &= o.met(result.values[o.id])
    return flags


def joint_level(result: SimulationResult, confidence: float,
                weights: Mapping[str, Any] | None = None) -> tuple[float, dict[str, float]]:
    """The common level u and the objectives' targets that hold together with probability
    ``confidence`` on this result's paths (module docstring): the smallest u (the most
    ambitious targets) whose targets give an empirical P(all objectives met) of at least C.

    Parameters
    ----------
    result : SimulationResult
    confidence : float
        C, strictly between 0 and 1.
    weights : mapping of objective id -> positive float, optional
        Objective i meets its target alone with probability ``u ** weights[i]`` (default 1).
        Only their ratios count: weights far from 1 (0.001 each, 1e16 each) give the targets
        of the same ratios near 1.

    Returns
    -------
    (float, dict)
        u, and objective id -> target (in the objective's own units).

    Examples
    --------
    >>> import okma_sim
    >>> res = okma_sim.simulate(okma_sim.load_plan(okma_sim.case_study_path()), 2000, seed=1,
    ...                         progress=False)
    >>> u, targets = joint_level(res, 0.8)
    >>> bool(_all_met(res, targets).mean() >= 0.8)
    True
    """
    c = check_confidence(confidence)
    w = check_weights(result.plan, weights)
    e = _exponents(w, c)
    ladders = {i: _Ladder(result, i) for i in w}

    def p_all(u: float) -> float:
        t = {i: ladders[i].target(u ** e[i]) for i in w}
        if any(math.isnan(v) for v in t.values()):
            return 0.0
        return estimate(_all_met(result, t), result.replicate_index, result.weights).probability

    lo, hi = 0.0, 1.0
    if p_all(hi) < c:
        raise OkmaError(f"no targets hold together this often: only {format_share(p_all(hi))} "
                        "of the simulated runs have a value for every objective",
                        key="confidence", value=c)
    for _ in range(_STEPS):
        mid = 0.5 * (lo + hi)
        if p_all(mid) >= c:
            hi = mid
        else:
            lo = mid
    targets = {i: achievable_target(result, i, ladders[i].level(hi ** e[i])) for i in w}
    if e is not w:  # the level of the weights as given (0 or 1 when too close to resolve)
        top = max(w, key=w.__getitem__)
        hi = hi ** (e[top] / w[top])
    return hi, targets


def _exponents(w: dict[str, float], c: float) -> dict[str, float]:
    """The weights the bisection uses: ``w`` itself, unless its level u would lie within 1e-6
    of 0 or 1 (u is about C ** (1 / sum(w)): weights of 0.001 or 1e16 each), where the
    bisection's steps (2^-60 on [0, 1]) or the floats near 1 cannot resolve it; then the same
    ratios, scaled so that u is about 0.5. Only the ratios count: scaling every weight by s
    maps u to u ** (1 / s) and leaves every target as it is."""
    u0 = c ** (1 / sum(w.values()))
    if 1e-6 <= u0 <= 1 - 1e-6:
        return w
    top = max(w.values())
    r = {i: v / top for i, v in w.items()}  # in (0, 1]: no overflow, whatever the scale
    s = math.log(c) / math.log(0.5) / sum(r.values())
    return {i: v * s for i, v in r.items()}


@dataclass(frozen=True)
class JointTargets:
    """Targets that hold together with probability ``confidence`` (:func:`joint_targets`).

    ``targets`` are in each objective's own units (growth 0.12 for +12%); ``probability``,
    ``stderr`` and ``per_objective`` come from the re-simulation with ``verify_seed`` and
    ``verify_paths``; ``level`` is the common level u, ``search_probability`` the empirical
    P(all) on the search run (``n_paths``, ``seed``), where the targets were chosen.
    """

    confidence: float
    targets: Mapping[str, float]
    probability: float
    stderr: float
    per_objective: Mapping[str, Mapping[str, float]]
    weights: Mapping[str, float]
    verify_seed: int
    verify_paths: int
    n_paths: int
    seed: int
    level: float = math.nan
    search_probability: float = math.nan
    warnings: tuple[str, ...] = ()
    #: the re-simulation of the plan with the joint targets (the heat map's paths)
    verification: SimulationResult | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The ``target --joint --json`` fields (without the common CLI keys)."""
        return {"confidence": self.confidence, "targets": dict(self.targets),
                "probability": self.probability, "stderr": self.stderr,
                "per_objective": {k: dict(v) for k, v in self.per_objective.items()},
                "weights": dict(self.weights), "verify_seed": self.verify_seed,
                "verify_paths": self.verify_paths}

    def statement(self, id: str) -> str:
        """One objective's joint target in words ("+12.3% revenue", "CSAT of 86.1% or
        more")."""
        plan = self.verification.plan if self.verification is not None else None
        return target_phrase(plan, id, self.targets[id])

    def _short(self, id: str) -> str:
        res = self.verification
        return metric_name(res.plan.target(id).metric) if res is not None else id

    def text(self) -> str:
        """A readable summary: the targets, how often they hold together, each one alone."""
        ids = list(self.targets)
        names = [self.statement(i) for i in ids]
        together = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        verb = "holds" if len(names) == 1 else "hold together"
        lines = [f"Targets that hold together at {100 * self.confidence:g}% confidence:",
                 f"  {together} {verb} in {format_share(self.probability)} of simulated runs "
                 f"(± {format_share(self.stderr)}).",
                 "  Each on its own: " + "; ".join(
                     f"{self._short(i)} {format_share(self.per_objective[i]['probability'])}"
                     f" (± {format_share(self.per_objective[i]['stderr'])})" for i in ids)]
        if len(set(self.weights.values())) > 1:
            lines.append("  Weights (a larger weight asks more of that objective): " + ", ".join(
                f"{k} {v:g}" for k, v in self.weights.items()))
        lines.append(f"  Chosen on {self.n_paths:,} simulated runs (seed {self.seed}), checked on "
                     f"{self.verify_paths:,} fresh ones (seed {self.verify_seed}).")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def grid(self, n: int = 41) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """P(all objectives met) on the verification run over a grid of the first two
        objectives' targets, the others at their joint targets.

        The axes are the targets each of the two meets on its own with probability from
        max(0.02, C - 0.3) to 0.995 (``n`` levels each), in increasing order.

        Returns
        -------
        (x, y, p)
            x: the first objective's targets (n,), y: the second's (n,), p (n, n) with
            ``p[j, i]`` = P(all met) at targets (x[i], y[j]).
        """
        res = self.verification
        if res is None or len(self.targets) < 2:
            raise OkmaError("a joint-target grid needs two objectives and the verification run",
                            key="grid", value=len(self.targets))
        a, b = list(self.targets)[:2]
        levels = np.linspace(max(0.02, self.confidence - 0.3), 0.995, int(n))
        la, lb = _Ladder(res, a), _Ladder(res, b)
        x = np.sort([la.target(q) for q in levels])
        y = np.sort([lb.target(q) for q in levels])
        oa, ob = res.plan.target(a), res.plan.target(b)
        rest = {k: v for k, v in self.targets.items() if k not in (a, b)}
        base = _all_met(res, rest) if rest else np.ones(res.n_paths, dtype=bool)
        met_x = np.stack([_with(oa, t).met(res.values[a]) for t in x])  # (n, paths)
        met_y = np.stack([_with(ob, t).met(res.values[b]) for t in y])
        p = (met_y & base).astype(float) @ met_x.T.astype(float) / res.n_paths
        return x, y, p


def _with(t, target: float):
    return dataclasses.replace(t, target=float(target))


def target_phrase(plan: Plan | None, id: str, value: float) -> str:
    """An objective's target at ``value`` in words, as every text of the tool states targets
    (:func:`okma_sim.results.target_label`): "+12% revenue (31.15 M CNY)", "CSAT ≥ 86.1% at
    year end".

    Examples
    --------
    >>> import okma_sim
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> target_phrase(plan, "revenue", 0.12), target_phrase(plan, "csat", 0.861)
    ('+12% revenue (31.15 M CNY)', 'CSAT ≥ 86.1% at year end')
    """
    if plan is None:
        return f"{id} {format_number(value)}"
    return target_label(_with(plan.target(id), value), plan)


def joint_targets(plan: Plan, *, confidence: float = 0.8,
                  weights: Mapping[str, Any] | None = None, n_paths: int | None = None,
                  seed: Any = None, verify_paths: int | None = None,
                  verify_seed: int | None = None, progress: bool | None = None,
                  model: Any = None, sampler: str | None = None,
                  executor: Any = None) -> JointTargets:
    """One target for each objective such that all of them hold together with probability
    ``confidence``: chosen on one simulation (:func:`joint_level`), then checked on a fresh
    one.

    Parameters
    ----------
    plan : Plan
    confidence : float
        C, strictly between 0 and 1.
    weights : mapping of objective id -> positive float, optional
        A larger weight makes an objective's target more ambitious: it is met on its own with
        probability ``u ** weight`` (default 1 for each objective).
    n_paths, seed :
        The search run (defaults: the plan's ``[simulation]``, else 10,000 runs and fresh
        entropy, reported).
    verify_paths, verify_seed :
        The re-simulation (defaults: ``n_paths``, and a seed derived from ``seed``).
    progress, model, sampler, executor :
        As in :func:`okma_sim.simulate`.

    Returns
    -------
    JointTargets

    Examples
    --------
    >>> import okma_sim
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> jt = joint_targets(plan, confidence=0.8, n_paths=1000, seed=1, progress=False)
    >>> sorted(jt.targets) == ["csat", "revenue"], abs(jt.probability - 0.8) < 5 * jt.stderr
    (True, True)
    """
    from okma_sim._core.seeds import normalize_seed
    from okma_sim.engine import simulate

    c = check_confidence(confidence)
    w = check_weights(plan, weights)
    n = int(n_paths or plan.simulation.paths or 10_000)
    seed_int = normalize_seed(seed if seed is not None else plan.simulation.seed)
    vseed = derived_seed(seed_int, 1) if verify_seed is None else int(verify_seed)
    vpaths = int(verify_paths or n)
    kw = dict(model=model, sampler=sampler, executor=executor, progress=progress,
              keep_monthly=())
    search = simulate(plan, n_paths=n, seed=seed_int, **kw)
    u, targets = joint_level(search, c, w)
    ver = simulate(plan.with_targets(targets), n_paths=vpaths, seed=vseed, **kw)
    e = ver.all_met()
    per = {i: ver.probability(i).to_dict() for i in targets}
    warns = tuple(dict.fromkeys(list(search.warnings) + list(ver.warnings)))
    return JointTargets(confidence=c, targets=targets, probability=e.probability,
                        stderr=e.stderr, per_objective=per, weights=w, verify_seed=vseed,
                        verify_paths=vpaths, n_paths=n, seed=seed_int, level=u,
                        search_probability=estimate(
                            _all_met(search, targets), search.replicate_index,
                            search.weights).probability,
                        warnings=warns, verification=ver)
