"""Target setting: achievable targets at a confidence, achievability curves, and the cheapest
action plan that reaches the targets with a stated confidence (with its cost frontier).

Achievable targets and curves are views of one simulation (a :class:`SimulationResult`). The
action solver runs many simulations of the same plan with different lever levels, all under one
seed (common random numbers), and verifies its answer with a fresh seed.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from okma_sim._core.errors import OkmaError, PlanError
from okma_sim._core.accessors import AccessorSlot
from okma_sim.plan import Plan
from okma_sim.results import DEFAULT_FRONTIER_LEVELS, check_confidence

__all__ = ["action_cost", "lever_level", "solver_levers", "solve_actions", "SolveResult"]


# --------------------------------------------------------------------------------------------
# action cost
# --------------------------------------------------------------------------------------------
def lever_level(plan: Plan, model: Any, name: str) -> float:
    if name in plan.actions:
        return float(plan.actions[name])
    levers = getattr(model, "levers", {}) or {}
    return float(levers[name].default) if name in levers else 0.0


def action_cost(plan: Plan, result=None, *, model: Any = None) -> dict[str, float]:
    """The cost of a plan's actions, as the action solver counts it.

    ``levers`` = sum over the levers with a ``[levers.NAME]`` table of level x ``unit_cost``
    (the cost of one unit of the level over the whole horizon); ``hours`` = the expected
    training and coaching hours over the horizon (the mean over paths of the sum over months of
    the model's ``training_hours`` metric, which includes coaching ordered by management
    rules) x ``team.hourly_cost``, i.e. the selling time they take; ``total`` = their sum.
    ``hours`` is 0 for a model without a ``training_hours`` metric or when ``result`` (a
    simulation of this plan that kept ``training_hours``) is not given.

    Examples
    --------
    >>> from okma_sim.plan import Lever, Objective, Plan
    >>> plan = Plan("toy", "2027-01", 12, model="linear_toy", actions={"effort": 2.0},
    ...             objectives=(Objective("s", "score", 1.2, aggregate="mean"),),
    ...             levers={"effort": Lever(0.0, 5.0, unit_cost=100.0)})
    >>> action_cost(plan)["levers"]
    200.0
    """
    if model is None:
        from okma_sim.models import get_model
        model = get_model(plan.model)
    lev = float(sum(lever_level(plan, model, k) * lv.unit_cost for k, lv in plan.levers.items()))
    hours = 0.0
    if result is not None and "training_hours" in result.monthly:
        th = np.asarray(result.monthly["training_hours"], dtype=float)
        hours = float(np.nansum(th, axis=1).mean()) if th.size else 0.0
    hours_cost = hours * float(plan.team.hourly_cost)
    return {"levers": lev, "hours": hours, "hours_cost": hours_cost, "total": lev + hours_cost}


# --------------------------------------------------------------------------------------------
# action solver
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SolveResult:
    """The cheapest action plan found for P(all objectives met) >= ``confidence``.

    Attributes
    ----------
    confidence : float
    feasible : bool
        Whether a setting within the bounds reached the confidence in the search.
    actions : dict
        Levels of the searched levers: the cheapest feasible setting, or, when infeasible, where
        the highest probability was found.
    cost : float
        Its cost (:func:`action_cost`, hours from the verification run).
    probability, stderr : float
        P(all objectives met) there, re-simulated with a fresh seed (``verify_seed``) at
        ``verify_paths`` paths: the number to trust.
    search_probability, search_stderr : float
        The search's own estimate (common random numbers, ``seed``): biased upwards by the
        selection, so reported for comparison only.
    evaluations : int
        Simulations the search ran (distinct settings; the verification not counted).
    frontier : DataFrame
        For each probability level on a grid, the cheapest setting the search found meeting it:
        columns level, probability, stderr (search estimates), cost, and one column per lever.
    history : DataFrame
        Every evaluation: the lever levels, probability, stderr, cost, stage.
    correction : dict or None
        When the correction round ran: its level, the first verification and its seed.
    """

    confidence: float
    feasible: bool
    actions: Mapping[str, float]
    cost: float
    probability: float
    stderr: float
    search_probability: float
    search_stderr: float
    evaluations: int
    frontier: pd.DataFrame
    history: pd.DataFrame
    levers: tuple[str, ...]
    seed: int
    verify_seed: int
    n_paths: int
    verify_paths: int
    sampler: str
    elapsed: float
    cost_breakdown: Mapping[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    plan: Plan | None = None
    correction: Mapping[str, Any] | None = None

    def to_json_dict(self) -> dict[str, Any]:
        """The ``solve --json`` document (without the common CLI keys)."""
        front = [{"level": float(r["level"]), "probability": float(r["probability"]),
                  "stderr": float(r["stderr"]), "cost": float(r["cost"]),
                  "actions": {k: float(r[k]) for k in self.levers}}
                 for _, r in self.frontier.iterrows()]
        return {"confidence": self.confidence, "feasible": bool(self.feasible),
                "actions": {k: float(v) for k, v in self.actions.items()},
                "cost": float(self.cost), "probability": float(self.probability),
                "stderr": float(self.stderr), "evaluations": int(self.evaluations),
                "frontier": front,
                "search_probability": float(self.search_probability),
                "search_stderr": float(self.search_stderr),
                "cost_breakdown": {k: float(v) for k, v in self.cost_breakdown.items()},
                "levers": list(self.levers), "search_seed": int(self.seed),
                "verify_seed": int(self.verify_seed), "search_paths": int(self.n_paths),
                "verify_paths": int(self.verify_paths), "sampler": self.sampler,
                "elapsed_seconds": float(self.elapsed),
                "correction": None if self.correction is None else {
                    "level": float(self.correction["level"]),
                    "first_verification": {
                        "probability": float(self.correction["first_verification"][0]),
                        "stderr": float(self.correction["first_verification"][1])},
                    "first_seed": int(self.correction["first_seed"])}}

    def table(self) -> str:
        """Readable summary."""
        cur = self.plan.currency if self.plan is not None else ""
        head = "feasible" if self.feasible else "INFEASIBLE within the lever bounds"
        lines = [f"target: P(all objectives met) >= {self.confidence:g}: {head}",
                 f"{'cheapest setting' if self.feasible else 'best setting found'}:"]
        for k, v in self.actions.items():
            lines.append(f"  {k:<32} {v:g}")
        cb = self.cost_breakdown
        lines.append(f"cost {self.cost:,.0f} {cur} (levers {cb.get('levers', 0):,.0f}, "
                     f"training and coaching hours {cb.get('hours_cost', 0):,.0f})")
        lines.append(f"P(all objectives met), fresh seed {self.verify_seed}, "
                     f"{self.verify_paths:,} paths: {self.probability:.3f} ± {self.stderr:.3f}"
                     f" (search: {self.search_probability:.3f} ± {self.search_stderr:.3f})")
        lines.append(f"{self.evaluations} simulations of {self.n_paths:,} paths, "
                     f"{self.elapsed:.1f} s")
        if len(self.frontier):
            lines.append("")
            lines.append("cost frontier (cheapest setting found for each probability level):")
            lines.append(f"  {'level':>6} {'P(search)':>10} {'cost':>14}  levels")
            for _, r in self.frontier.iterrows():
                lv = ", ".join(f"{k}={r[k]:g}" for k in self.levers)
                lines.append(f"  {r['level']:>6.2f} {r['probability']:>10.3f} "
                             f"{r['cost']:>14,.0f}  {lv}")
        for w in self.warnings:
            lines.append(f"warning: {w}")
        return "\n".join(lines)

    #: ``plot.frontier()`` (and ``plot()``): filled from above by okma_sim.viz
    plot = AccessorSlot("plot")

    def plot_frontier(self, ax=None):
        """Cost against probability level (a step plot); alias of ``self.plot.frontier``."""
        return self.plot.frontier(ax=ax)


def solver_levers(plan: Plan, model: Any, levers: Iterable[str] | None,
                   key: str) -> list[str]:
    known = getattr(model, "levers", None) or {}
    if levers is None:
        names = list(plan.levers)
        if not names:
            raise PlanError("no lever has bounds: add [levers.NAME] tables with low and high",
                            file=plan.source, key="levers", value={})
    else:
        names = [str(x).strip() for x in levers]
        if not names or any(not x for x in names):
            raise OkmaError("must name at least one lever", key=key, value=",".join(names))
    for name in names:
        if known and name not in known:
            import difflib
            close = difflib.get_close_matches(name, list(known), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else \
                f"; levers: {', '.join(sorted(known))}"
            raise OkmaError(f"unknown lever{hint}", key=key, value=name)
        if name not in plan.levers:
            raise PlanError(f"lever has no bounds: add a [levers.{name}] table with low and "
                            "high", file=plan.source, key=key, value=name)
        lv = plan.levers[name]
        p = f"levers.{name}"
        if not (math.isfinite(lv.low) and math.isfinite(lv.high)):
            raise PlanError("bounds must be finite", file=plan.source, key=p,
                            value=(lv.low, lv.high))
        if lv.low > lv.high:
            raise PlanError(f"low must not exceed high ({lv.high})", file=plan.source,
                            key=f"{p}.low", value=lv.low)
        if not math.isfinite(lv.unit_cost) or lv.unit_cost < 0:
            raise PlanError("must not be negative (a cost)", file=plan.source,
                            key=f"{p}.unit_cost", value=lv.unit_cost)
        if known:
            lo, hi = known[name].bounds
            if lv.low < lo or lv.high > hi:
                raise PlanError(f"bounds must lie within the lever's range [{lo:g}, {hi:g}]",
                                file=plan.source, key=p, value=(lv.low, lv.high))
    if len(set(names)) != len(names):
        dup = next(x for x in names if names.count(x) > 1)
        raise OkmaError("lever listed twice", key=key, value=dup)
    return names


class _Evaluator:
    """Cached simulations of lever settings under one seed (common random numbers)."""

    def __init__(self, plan, model, names, lows, highs, steps, n_paths, seed, sampler,
                 executor, keep):
        self.plan, self.model, self.names = plan, model, names
        self.lows, self.highs, self.steps = lows, highs, steps
        self.n_paths, self.seed, self.sampler = n_paths, seed, sampler
        self.executor, self.keep = executor, keep
        self.cache: dict[tuple, dict] = {}
        self.order: list[tuple] = []
        self.stage = "design"

    def snap(self, z: np.ndarray) -> tuple[float, ...]:
        z = np.clip(np.asarray(z, dtype=float), 0.0, 1.0)
        x = self.lows + z * (self.highs - self.lows)
        out = []
        for xi, lo, hi, st in zip(x, self.lows, self.highs, self.steps):
            # a lever with a step takes whole steps from low; others a 1/1000 grid of the range
            s = st if st else (hi - lo) / 1000.0
            v = lo if s <= 0 else lo + round((xi - lo) / s) * s
            out.append(float(np.round(min(max(v, lo), hi), 10)))
        return tuple(out)

    def to_z(self, x: Sequence[float]) -> np.ndarray:
        span = np.where(self.highs > self.lows, self.highs - self.lows, 1.0)
        return (np.asarray(x, dtype=float) - self.lows) / span

    def __call__(self, z: np.ndarray) -> dict:
        from okma_sim.engine import simulate
        key = self.snap(z)
        if key not in self.cache:
            plan_x = self.plan.with_actions(**dict(zip(self.names, key)))
            res = simulate(plan_x, n_paths=self.n_paths, seed=self.seed, model=self.model,
                           sampler=self.sampler, executor=self.executor,
                           keep_monthly=self.keep, progress=False)
            e = res.all_met()
            c = action_cost(plan_x, res, model=self.model)
            self.cache[key] = {"x": key, "probability": e.probability, "stderr": e.stderr,
                               "cost": c["total"], "stage": self.stage}
            self.order.append(key)
        return self.cache[key]

    def records(self) -> list[dict]:
        return [self.cache[k] for k in self.order]


def solve_actions(plan: Plan, confidence: float = 0.7, levers: Iterable[str] | None = None, *,
                  n_paths: int = 2000, seed: Any = None, verify_paths: int | None = None,
                  verify_seed: int | None = None, model: Any = None, sampler: str | None = None,
                  design_points: int = 16, starts: int = 2, max_evaluations: int = 120,
                  frontier_levels: Sequence[float] | None = None,
                  frontier_evaluations: int = 60, correct: bool = True,
                  correction_evaluations: int = 30, executor: Any = None
                  ) -> SolveResult:
    """The cheapest lever settings within the ``[levers.*]`` bounds for which P(all objectives
    met) >= ``confidence``.

    **Cost** (see :func:`action_cost`): the sum over the levers with bounds of level x
    ``unit_cost`` (one unit of the level over the horizon), plus the expected training and
    coaching hours over the horizon (the model's ``training_hours`` metric, coaching by
    management rules included) priced at ``team.hourly_cost``. Levers not searched stay at their
    current levels and still count.

    **Search.** Every evaluation simulates ``n_paths`` paths with the same ``seed`` (common
    random numbers: the model draws lever-dependent counts by inverse CDF, so the estimated
    probability moves smoothly with the levers). Levers are scaled to [0, 1]; levels are
    snapped to the lever's ``step`` (if any) or to 1/1000 of its range, and repeated settings
    are not re-simulated.

    1. A scrambled Sobol' design of ``design_points`` settings (fixed seed), plus the current
       actions and the all-low and all-high corners.
    2. From ``starts`` feasible settings, ``scipy.optimize.minimize`` with COBYLA minimises
       the cost subject to P̂ >= C (linear approximations over a shrinking trust region suit a
       smooth, slightly noisy surface), each run restarted once from its answer. The first
       start is the cheapest feasible setting, each later one the cheapest feasible setting
       off the earlier runs' paths. When no setting is feasible it first maximises P̂ from the
       best one; if that reaches C, the cost search follows.
    3. The answer is the cheapest evaluated setting with P̂ >= C (or, if none, the setting
       with the highest P̂).

    4. Frontier: for each level on the grid that some setting reached, a short COBYLA cost
       search (``frontier_evaluations`` in all) from the cheapest setting meeting it. The
       frontier then lists, for each level, the cheapest evaluated setting whose P̂ meets it:
       an upper bound on the true cheapest cost (search estimates, common random numbers).
    5. The answer is re-simulated with a fresh seed (``verify_seed``).
    6. Correction: under common random numbers the search's P̂ carries the error of its one
       sample of paths, much the same for nearby settings, so the verified probability can
       miss C by a search standard error or so. When it differs from C by more than 2 of its
       standard errors, the cost search is repeated once at the level shifted by that
       difference, and the new answer is verified with another fresh seed (reported).

    Parameters
    ----------
    plan : Plan
    confidence : float
        C, strictly between 0 and 1.
    levers : iterable of str, optional
        Levers to search (default: every lever with a ``[levers.NAME]`` table).
    n_paths : int
        Paths per evaluation.
    seed : int, optional
        Seed of the search (default: the plan's, else fresh entropy).
    verify_paths : int, optional
        Paths of the verification (default ``max(4 * n_paths, 8000)``).
    verify_seed : int, optional
        Default: a seed derived from ``seed`` (distinct from it).
    model, sampler, executor :
        As in :func:`okma_sim.simulate`.
    design_points, starts, max_evaluations : int
        Size of the initial design, COBYLA starts, and a cap on all search simulations.
    frontier_evaluations : int
        Part of the budget left after the solve that tightens the frontier (0 to skip).
    correct, correction_evaluations :
        Whether to run the correction round (step 6), and its extra simulations.
    frontier_levels : sequence of float, optional
        Default 0.05, 0.10, ..., 0.95.

    Returns
    -------
    SolveResult

    Examples
    --------
    Toy model: mean score ~ Normal(effort, sqrt(0.04 effort^2 + 0.25 + 1/12)), so
    P(score >= 1.2) = 0.8 near effort 1.8.

    >>> from okma_sim.plan import Lever, Objective, Plan
    >>> plan = Plan("toy", "2027-01", 12, model="linear_toy", actions={"effort": 1.0},
    ...             objectives=(Objective("s", "score", 1.2, aggregate="mean"),),
    ...             levers={"effort": Lever(0.0, 5.0, unit_cost=100.0)})
    >>> sol = solve_actions(plan, 0.8, n_paths=2000, seed=1)
    >>> sol.feasible, 1.6 < sol.actions["effort"] < 2.0
    (True, True)
    """
    from scipy.optimize import minimize
    from scipy.stats import qmc

    from okma_sim._core.seeds import normalize_seed
    from okma_sim.engine import simulate
    from okma_sim.models import get_model

    t0 = time.perf_counter()
    if not isinstance(plan, Plan):
        raise TypeError(f"'plan' must be a Plan, got {type(plan).__name__}")
    c = check_confidence(confidence)
    model = get_model(plan.model) if model is None else model
    names = solver_levers(plan, model, levers, "levers")
    if isinstance(n_paths, bool) or not isinstance(n_paths, (int, np.integer)) or n_paths < 1:
        raise OkmaError("must be a positive whole number", key="paths", value=n_paths)
    seed_int = normalize_seed(seed if seed is not None else plan.simulation.seed)
    if verify_seed is None:
        verify_seed = int(np.random.SeedSequence([seed_int, 1]).generate_state(1, np.uint64)[0]
                          >> 1)
    verify_paths = int(verify_paths or max(4 * int(n_paths), 8000))
    sampler = sampler or plan.simulation.sampler
    levels_grid = sorted(set(float(x) for x in (frontier_levels or DEFAULT_FRONTIER_LEVELS)))
    for lv in levels_grid:
        check_confidence(lv, "frontier_levels")
    keep = ["training_hours"] if "training_hours" in getattr(model, "metrics", {}) else []

    lows = np.array([plan.levers[k].low for k in names], dtype=float)
    highs = np.array([plan.levers[k].high for k in names], dtype=float)
    steps = [plan.levers[k].step for k in names]
    ev = _Evaluator(plan, model, names, lows, highs, steps, int(n_paths), seed_int, sampler,
                    executor, keep)
    d = len(names)
    budget = int(max_evaluations)

    def room() -> int:
        return budget - len(ev.cache)

    # 1. design: current actions, the corners, a scrambled Sobol' design
    current = [min(max(lever_level(plan, model, k), lo), hi)
               for k, lo, hi in zip(names, lows, highs)]
    pts = [ev.to_z(current), np.zeros(d), np.ones(d)]
    if design_points > 0:
        m = max(1, int(design_points))
        sob = qmc.Sobol(d, scramble=True, seed=np.random.default_rng(seed_int))
        pts += list(sob.random_base2(int(math.ceil(math.log2(m))))[:m])
    for z in pts:
        if room() <= 0:
            break
        ev(z)

    # costs scaled by the all-high corner's, so the objective is of order 1 for COBYLA
    top = ev.cache.get(ev.snap(np.ones(d)))
    span = max(top["cost"], 1.0) if top is not None else 1.0

    def cost_fun(z):
        return ev(z)["cost"] / span

    def cons_fun(z):
        return ev(z)["probability"] - c

    def cobyla(fun, z0, cons, evals, rhobeg=0.2):
        if evals < d + 2:
            return
        try:
            minimize(fun, z0, method="COBYLA", constraints=cons,
                     bounds=[(0.0, 1.0)] * d,
                     options={"rhobeg": rhobeg, "tol": 2e-3, "maxiter": evals})
        except _BudgetSpent:
            pass

    def bounded(fun):
        def f(z):
            if room() <= 0 and ev.snap(z) not in ev.cache:
                raise _BudgetSpent
            return fun(z)
        return f

    def feasible_records():
        return sorted((r for r in ev.records() if r["probability"] >= c),
                      key=lambda r: (r["cost"], -r["probability"]))

    # 2. if nothing is feasible, climb in probability first (from the most likely settings)
    if not feasible_records():
        ev.stage = "maximise"
        tried: list[tuple] = []
        for k in range(max(1, int(starts))):
            if feasible_records():
                break
            cands = sorted((r for r in ev.records() if r["x"] not in tried),
                           key=lambda r: (-r["probability"], r["cost"]))
            if not cands:
                break
            tried.append(cands[0]["x"])
            # a small cost term breaks ties between equally likely settings
            cobyla(bounded(lambda z: -ev(z)["probability"] + 1e-3 * cost_fun(z)),
                   ev.to_z(cands[0]["x"]), (), room() // (2 * (max(1, int(starts)) - k)))
    # 3. minimise the cost subject to P >= C from the cheapest feasible settings
    ev.stage = "minimise"
    # every point COBYLA started from: being deterministic, it would only retrace its path
    starts_done: list[tuple] = []
    n_starts = max(1, int(starts))
    cons = [{"type": "ineq", "fun": bounded(cons_fun)}]
    for k in range(n_starts):
        unused = [r for r in feasible_records() if r["x"] not in starts_done]
        # a later start comes from off the earlier runs' paths (the design's or the climb's
        # settings), so that it explores elsewhere; from one of their points if none is left
        cands = [r for r in unused if r["stage"] != "minimise"] or unused
        if not cands or room() < d + 2:
            break
        start = cands[0]["x"]
        starts_done.append(start)
        share = room() // (n_starts - k)
        n0 = len(ev.cache)
        cobyla(bounded(cost_fun), ev.to_z(start), cons, share // 2)
        # COBYLA can stop early on the stepwise P-hat of common random numbers (its linear
        # model of the constraint comes from a stencil that shrinks onto one step): restart
        # it once from its answer (the cheapest feasible setting it reached), with a wide
        # stencil again
        best = min((x for x in [start, *ev.order[n0:]] if ev.cache[x]["probability"] >= c),
                   key=lambda x: (ev.cache[x]["cost"], -ev.cache[x]["probability"]))
        if best != start:
            starts_done.append(best)
            cobyla(bounded(cost_fun), ev.to_z(best), cons, share - (len(ev.cache) - n0))

    # 4. tighten the frontier: a short cost search at each level the search has reached
    ev.stage = "frontier"
    # levels nearest C first, each with enough evaluations for COBYLA to move
    todo = sorted((lv for lv in levels_grid if lv != c and any(
        r["probability"] >= lv for r in ev.records())), key=lambda lv: abs(lv - c))
    f_end = len(ev.cache) + min(int(frontier_evaluations), room())
    per_level = max(2 * d + 2, (f_end - len(ev.cache)) // max(len(todo), 1))
    for lv in todo:
        evals = min(per_level, f_end - len(ev.cache))
        if evals < d + 2:
            break
        start = min((r for r in ev.records() if r["probability"] >= lv),
                    key=lambda r: (r["cost"], -r["probability"]))
        cobyla(bounded(cost_fun), ev.to_z(start["x"]),
               [{"type": "ineq", "fun": bounded(lambda z, lv=lv: ev(z)["probability"] - lv)}],
               evals, rhobeg=0.1)

    feas = feasible_records()
    feasible = bool(feas)
    if feasible:
        chosen = feas[0]
    else:
        chosen = max(ev.records(), key=lambda r: (r["probability"], -r["cost"]))
    actions = dict(zip(names, chosen["x"]))

    # 5. verify with a fresh seed
    def verify(x: dict, vseed: int):
        plan_v = plan.with_actions(**x)
        r = simulate(plan_v, n_paths=verify_paths, seed=vseed, model=model, sampler=sampler,
                     executor=executor, keep_monthly=keep, progress=False)
        return plan_v, r, r.all_met()

    plan_x, ver, ve = verify(actions, verify_seed)
    warns: list[str] = []
    corrected = None
    if feasible and correct and abs(ve.probability - c) > 2 * ve.stderr:
        # Under common random numbers the search's P̂ carries its own sample's error, much
        # the same for nearby settings. Search once more with the level shifted by the
        # verified shortfall (or surplus), then verify the new answer with another fresh seed.
        c2 = float(np.clip(c + chosen["probability"] - ve.probability, 1e-3, 1 - 1e-3))
        budget += int(correction_evaluations)
        ev.stage = "correct"
        ok = sorted((r for r in ev.records() if r["probability"] >= c2),
                    key=lambda r: (r["cost"], -r["probability"]))
        if ok:
            cons2 = [{"type": "ineq", "fun": bounded(lambda z: ev(z)["probability"] - c2)}]
            cobyla(bounded(cost_fun), ev.to_z(ok[0]["x"]), cons2, room() // 2, rhobeg=0.1)
            ok = sorted((r for r in ev.records() if r["probability"] >= c2),
                        key=lambda r: (r["cost"], -r["probability"]))
            cobyla(bounded(cost_fun), ev.to_z(ok[0]["x"]), cons2, room())  # restart, as above
            ok = sorted((r for r in ev.records() if r["probability"] >= c2),
                        key=lambda r: (r["cost"], -r["probability"]))
            chosen = ok[0]
            actions = dict(zip(names, chosen["x"]))
            first = (float(ve.probability), float(ve.stderr), int(verify_seed))
            verify_seed = int(np.random.SeedSequence([seed_int, 2]).generate_state(
                1, np.uint64)[0] >> 1)
            plan_x, ver, ve = verify(actions, verify_seed)
            corrected = {"level": c2, "first_verification": first[:2], "first_seed": first[2]}
            warns.append(f"the first answer's fresh-seed probability was {first[0]:.3f} ± "
                         f"{first[1]:.3f}; the search was repeated at level {c2:.3f} and its "
                         f"answer verified with another fresh seed")
    cost = action_cost(plan_x, ver, model=model)
    if not feasible:
        warns.append(f"no setting within the lever bounds reached P(all objectives met) >= "
                     f"{c:g}; the best found is {chosen['probability']:.3f} "
                     f"(verified {ve.probability:.3f} ± {ve.stderr:.3f})")
    elif ve.probability + 2 * ve.stderr < c:
        warns.append(f"the verification ({ve.probability:.3f} ± {ve.stderr:.3f}) is more than "
                     f"2 standard errors below {c:g}; rerun with more --paths")
    warns += [w for w in ver.warnings if w.startswith("capacity")]

    hist = pd.DataFrame([{**dict(zip(names, r["x"])), "probability": r["probability"],
                          "stderr": r["stderr"], "cost": r["cost"], "stage": r["stage"]}
                         for r in ev.records()])
    front_rows = []
    for lv in levels_grid:
        ok = [r for r in ev.records() if r["probability"] >= lv]
        if not ok:
            continue
        r = min(ok, key=lambda r: (r["cost"], -r["probability"]))
        front_rows.append({"level": lv, "probability": r["probability"],
                           "stderr": r["stderr"], "cost": r["cost"], **dict(zip(names, r["x"]))})
    frontier = pd.DataFrame(front_rows,
                            columns=["level", "probability", "stderr", "cost", *names])
    return SolveResult(
        confidence=c, feasible=feasible, actions=actions, cost=cost["total"],
        probability=ve.probability, stderr=ve.stderr,
        search_probability=chosen["probability"], search_stderr=chosen["stderr"],
        evaluations=len(ev.cache), frontier=frontier, history=hist, levers=tuple(names),
        seed=seed_int, verify_seed=int(verify_seed), n_paths=int(n_paths),
        verify_paths=verify_paths, sampler=sampler, elapsed=time.perf_counter() - t0,
        cost_breakdown=cost, warnings=tuple(warns), plan=plan_x, correction=corrected)


class _BudgetSpent(Exception):
    """Raised inside the objective to stop COBYLA when the evaluation budget is spent."""
