"""The action solver: the cheapest action plan that reaches the objectives with a stated
confidence, with its cost frontier.

It runs many simulations of the same plan with different lever levels, all under one seed
(common random numbers; the search itself is in ``_search``), verifies its answer with a fresh
seed and, when the verification misses, corrects the level once.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from okma_sim._core.accessors import AccessorSlot
from okma_sim._core.errors import OkmaError, PlanError, suggest
from okma_sim._core.formatting import format_amount, format_chance, format_percent, format_share
from okma_sim.plan import Plan
from okma_sim.results import check_confidence
from ._costs import action_cost, cost_metrics
from ._binding import binding_constraints
from ._search import (MAX_CAPPED_SHARE, Evaluator, SearchSetup, capped_share, choose, climb,
                      derived_seed, design, minimise, tighten_frontier)

__all__ = ["solver_levers", "solve_actions", "SolveResult"]

#: probability levels of the cost frontier a solve reports by default
DEFAULT_FRONTIER_LEVELS = tuple(np.round(np.arange(0.05, 0.951, 0.05), 2))


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
    capacity : dict or None
        The answer's hours per filled rep-month in the verification run
        (:meth:`SimulationResult.capacity`); a setting capped in more than 5% of rep-months
        is never feasible.
    binding : tuple of dict
        When infeasible: the constraints that bind (``hours``, ``bounds``, ``noise``) and what
        it would take, in words.
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
    capacity: Mapping[str, float] | None = None
    binding: tuple[Mapping[str, str], ...] = ()

    def to_json_dict(self) -> dict[str, Any]:
        """The ``solve --json`` document (without the common CLI keys)."""
        # whole-number levers (their answer is an int): the frontier's rows are floats
        whole = {k for k, v in self.actions.items() if isinstance(v, (int, np.integer))}
        front = [{"level": float(r["level"]), "probability": float(r["probability"]),
                  "stderr": float(r["stderr"]), "cost": float(r["cost"]),
                  "share_rep_months_capped": float(r["capped"]),
                  "actions": {k: int(round(r[k])) if k in whole else float(r[k])
                              for k in self.levers}}
                 for _, r in self.frontier.iterrows()]
        return {"confidence": self.confidence, "feasible": bool(self.feasible),
                "actions": {k: _level(v) for k, v in self.actions.items()},
                "cost": float(self.cost), "probability": float(self.probability),
                "stderr": float(self.stderr), "evaluations": int(self.evaluations),
                "frontier": front,
                "capacity": None if self.capacity is None else {
                    k: float(v) for k, v in self.capacity.items()},
                "binding": [dict(b) for b in self.binding],
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
        lines = [f"goal: all objectives together with at least "
                 f"{format_percent(self.confidence)} chance: {head}",
                 f"{'cheapest setting' if self.feasible else 'best setting found'}:"]
        for k, v in self.actions.items():
            lines.append(f"  {k:<32} {v:g}")
        cb = self.cost_breakdown
        lines.append(f"cost {format_amount(self.cost, cur)} over the plan (levers "
                     f"{format_amount(cb.get('levers', 0), cur)}, training and coaching hours "
                     f"{format_amount(cb.get('hours_cost', 0), cur)})")
        lines.append(f"all objectives together, checked on {self.verify_paths:,} fresh simulated "
                     f"runs (seed {self.verify_seed}): "
                     f"{format_chance(self.probability, self.stderr)} (the search saw "
                     f"{format_percent(self.search_probability)} ± "
                     f"{format_percent(self.search_stderr, digits=1)})")
        if self.capacity is not None:
            cap = self.capacity
            lines.append(f"hours per rep and month: {cap['hours_available']:.0f} available, "
                         f"{cap['hours_planned']:.0f} planned, {cap['hours_executed']:.0f} "
                         f"worked; over the hours in "
                         f"{format_share(cap['share_rep_months_capped'])} of "
                         f"rep-months (at most {MAX_CAPPED_SHARE:.0%} allowed)")
        for b in self.binding:
            lines.append(f"what binds ({b['constraint']}): {b['detail']}")
        lines.append(f"{self.evaluations} simulations of {self.n_paths:,} simulated runs each, "
                     f"{self.elapsed:.1f} s")
        if len(self.frontier):
            lines.append("")
            lines.append("cost frontier (the cheapest setting found for each goal):")
            lines.append(f"  {'goal':>6} {'chance':>10} {'cost':>16} {'over hours':>10}"
                         "  levels")
            for _, r in self.frontier.iterrows():
                lv = ", ".join(f"{k}={r[k]:g}" for k in self.levers)
                lines.append(f"  {format_percent(r['level']):>6} "
                             f"{format_percent(r['probability']):>10} "
                             f"{format_amount(r['cost'], cur):>16} "
                             f"{format_percent(r['capped'], digits=1):>10}  {lv}")
        for w in self.warnings:
            lines.append(f"warning: {w}")
        return "\n".join(lines)

    #: ``plot.frontier()`` (and ``plot()``): filled from above by okma_sim.viz
    plot = AccessorSlot("plot")

    def plot_frontier(self, ax=None):
        """Cost against probability level (a step plot); alias of ``self.plot.frontier``."""
        return self.plot.frontier(ax=ax)


def _level(v) -> int | float:
    """A lever level for JSON: a whole-number lever's (snapped to an int) stays an int."""
    return int(v) if isinstance(v, (int, np.integer)) and not isinstance(v, bool) else float(v)


def solver_levers(plan: Plan, model: Any, levers: Iterable[str] | None,
                   key: str) -> list[str]:
    """The levers to search (default: every lever with bounds), checked: known to the model,
    finite bounds within its range, a step no longer than the range, a non-negative unit
    cost, none listed twice. ``key``
    names the argument in errors."""
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
            if name.lower().endswith(".toml"):
                # `sensitivity --levers case.toml`: the optional value took the scenario
                raise OkmaError("is a scenario file, not a lever: give the scenario before "
                                f"the option, or the levers as {key}=a,b", key=key, value=name)
            raise OkmaError(f"unknown lever{suggest(name, sorted(known))}", key=key,
                            value=name)
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
        if lv.step is not None and lv.step > lv.high - lv.low > 0:
            # whole steps from low: only low itself would be searched
            raise PlanError(f"must not exceed high - low ({lv.high - lv.low:g})",
                            file=plan.source, key=f"{p}.step", value=lv.step)
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


def _setup(plan: Plan, confidence: float, levers: Iterable[str] | None, n_paths: Any,
           seed: Any, verify_paths: int | None, verify_seed: int | None, model: Any,
           sampler: str | None, frontier_levels: Sequence[float] | None,
           executor: Any) -> SearchSetup:
    """Check the inputs and fill in the defaults."""
    from okma_sim._core.seeds import normalize_seed
    from okma_sim.models import get_model

    if not isinstance(plan, Plan):
        raise TypeError(f"'plan' must be a Plan, got {type(plan).__name__}")
    c = check_confidence(confidence)
    model = get_model(plan.model) if model is None else model
    names = solver_levers(plan, model, levers, "levers")
    if isinstance(n_paths, bool) or not isinstance(n_paths, (int, np.integer)) or n_paths < 1:
        raise OkmaError("must be a positive whole number", key="paths", value=n_paths)
    seed_int = normalize_seed(seed if seed is not None else plan.simulation.seed)
    if verify_seed is None:
        verify_seed = derived_seed(seed_int, 1)
    verify_paths = int(verify_paths or max(4 * int(n_paths), 8000))
    sampler = sampler or plan.simulation.sampler
    levels = sorted(set(float(x) for x in (frontier_levels or DEFAULT_FRONTIER_LEVELS)))
    for lv in levels:
        check_confidence(lv, "frontier_levels")
    keep = cost_metrics(model)
    return SearchSetup(plan=plan, model=model, confidence=c, names=names,
                       n_paths=int(n_paths), seed=seed_int, verify_seed=verify_seed,
                       verify_paths=verify_paths, sampler=sampler, levels=levels, keep=keep,
                       executor=executor)


@dataclass(frozen=True)
class _Verified:
    """An answer re-simulated with a fresh seed."""

    plan: Plan
    result: Any
    estimate: Any
    seed: int


def _verify(s: SearchSetup, x: tuple, seed: int, bar: Any = None) -> _Verified:
    """Stage 5: re-simulate the setting ``x`` with the fresh seed ``seed``."""
    from okma_sim.engine import simulate
    plan_v = s.plan.with_actions(**dict(zip(s.names, x)))
    if bar is not None:
        bar.set_description("verifying with a fresh seed")
    r = simulate(plan_v, n_paths=s.verify_paths, seed=seed, model=s.model, sampler=s.sampler,
                 executor=s.executor, keep_monthly=s.keep, progress=False)
    if bar is not None:
        bar.update()
    return _Verified(plan_v, r, r.all_met(), int(seed))


def _progress_bar(progress: bool | None, total: int) -> Any:
    """A tqdm bar counting the solve's simulations on stderr, or None (default: on a
    terminal)."""
    if not (progress if progress is not None else sys.stderr.isatty()):
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, unit="simulation", desc="searching", leave=False,
                file=sys.stderr)


def _correct(ev: Evaluator, chosen: dict, ver: _Verified, extra_evaluations: int
             ) -> tuple[dict, _Verified, dict] | None:
    """Stage 6: under common random numbers the search's P̂ carries its own sample's error,
    much the same for nearby settings. Search once more with the level shifted by the
    verified shortfall (or surplus), then verify the new answer with another fresh seed.
    Returns the new answer, its verification and the correction's record (None if no
    setting meets the shifted level)."""
    s, ve = ev.s, ver.estimate
    c2 = float(np.clip(s.confidence + chosen["probability"] - ve.probability, 1e-3, 1 - 1e-3))
    ev.budget += int(extra_evaluations)
    if ev.bar is not None:
        ev.bar.total += int(extra_evaluations) + 1
    ev.stage = "correct"
    if not ev.cheapest(c2):
        return None
    ev.minimise_cost(ev.cheapest(c2)[0]["x"], c2, ev.room() // 2, rhobeg=0.1)
    ev.minimise_cost(ev.cheapest(c2)[0]["x"], c2, ev.room())  # restart, as in stage 3
    chosen = ev.cheapest(c2)[0]
    ver2 = _verify(s, chosen["x"], derived_seed(s.seed, 2), ev.bar)
    return chosen, ver2, {"level": c2, "first_verification": (float(ve.probability),
                                                              float(ve.stderr)),
                          "first_seed": ver.seed}


def _search(ev: Evaluator, design_points: int, starts: int, frontier_evaluations: int,
            correction_evaluations: int | None) -> tuple[bool, dict, _Verified, Any]:
    """Stages 1-6: whether the answer is feasible, its record, its verification and the
    correction's record (None: no correction; ``correction_evaluations`` None: never)."""
    s = ev.s
    design(ev, design_points)
    climb(ev, starts)
    minimise(ev, starts)
    tighten_frontier(ev, frontier_evaluations)
    feasible, chosen = choose(ev)
    ver = _verify(s, chosen["x"], s.verify_seed, ev.bar)
    corrected = None
    ve = ver.estimate
    if feasible and correction_evaluations is not None \
            and abs(ve.probability - s.confidence) > 2 * ve.stderr:
        again = _correct(ev, chosen, ver, correction_evaluations)
        if again is not None:
            chosen, ver, corrected = again
    return feasible, chosen, ver, corrected


# --------------------------------------------------------------------------------------------
# the answer
# --------------------------------------------------------------------------------------------
def _warnings(c: float, feasible: bool, chosen: dict, ver: _Verified,
              corrected: Mapping[str, Any] | None) -> list[str]:
    """What the reader should know about the answer."""
    ve = ver.estimate
    warns: list[str] = []
    if corrected is not None:
        p0, se0 = corrected["first_verification"]
        warns.append(f"the first answer held on fresh simulated runs with "
                     f"{format_percent(p0, digits=1)} ± {format_percent(se0, digits=1)}; the "
                     f"search was repeated aiming at {format_percent(corrected['level'], digits=1)}"
                     f" and its answer checked on other fresh runs")
    if not feasible:
        warns.append(f"no setting within the lever bounds reached a "
                     f"{format_percent(c)} chance of all objectives together; the best found "
                     f"has {format_percent(chosen['probability'], digits=1)} (on fresh "
                     f"simulated runs {format_percent(ve.probability, digits=1)} ± "
                     f"{format_percent(ve.stderr, digits=1)})")
    elif ve.probability + 2 * ve.stderr < c:
        warns.append(f"on fresh simulated runs the answer holds with "
                     f"{format_percent(ve.probability, digits=1)} ± "
                     f"{format_percent(ve.stderr, digits=1)}, more than 2 standard errors "
                     f"below {format_percent(c)}; rerun with more --paths")
    return warns + [w for w in ver.result.warnings if w.startswith("capacity")]


def _judge(ev: Evaluator, feasible: bool, chosen: dict, ver: _Verified,
           corrected: Mapping[str, Any] | None) -> tuple[bool, list[str], Any, tuple]:
    """The answer judged on its verification run: feasible only within the reps' hours;
    its warnings, capacity and, when infeasible, the constraints that bind."""
    warns = _warnings(ev.s.confidence, feasible, chosen, ver, corrected)
    share = capped_share(ver.result)
    if feasible and share > MAX_CAPPED_SHARE:
        # judged on the verification run: the search's paths may have fitted the hours
        feasible = False
        warns.append(f"the answer asks for more hours than a rep has in {share:.1%} of "
                     f"rep-months of the verification run (at most {MAX_CAPPED_SHARE:.0%} "
                     "allowed): not feasible")
    capacity = ver.result.capacity()
    binding = () if feasible else tuple(binding_constraints(ev, chosen, ver, capacity))
    return feasible, warns, capacity, binding


def _history(ev: Evaluator) -> pd.DataFrame:
    """Every evaluation: lever levels, probability, stderr, cost, stage."""
    return pd.DataFrame([{**dict(zip(ev.s.names, r["x"])), "probability": r["probability"],
                          "stderr": r["stderr"], "cost": r["cost"], "capped": r["capped"],
                          "stage": r["stage"]}
                         for r in ev.records()])


def _frontier(ev: Evaluator) -> pd.DataFrame:
    """For each level on the grid, the cheapest evaluated setting meeting it."""
    names = ev.s.names
    rows = []
    for lv in ev.s.levels:
        ok = ev.cheapest(lv)
        if not ok:
            continue
        r = ok[0]
        rows.append({"level": lv, "probability": r["probability"], "stderr": r["stderr"],
                     "cost": r["cost"], "capped": r["capped"], **dict(zip(names, r["x"]))})
    return pd.DataFrame(rows, columns=["level", "probability", "stderr", "cost", "capped",
                                       *names])


def solve_actions(plan: Plan, confidence: float = 0.7, levers: Iterable[str] | None = None, *,
                  n_paths: int = 2000, seed: Any = None, verify_paths: int | None = None,
                  verify_seed: int | None = None, model: Any = None, sampler: str | None = None,
                  design_points: int = 16, starts: int = 2, max_evaluations: int = 120,
                  frontier_levels: Sequence[float] | None = None,
                  frontier_evaluations: int = 60, correct: bool = True,
                  correction_evaluations: int = 30, executor: Any = None,
                  progress: bool | None = None) -> SolveResult:
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

    Every COBYLA cost search (here and below) also stops once it stalls within the noise:
    after its first stencil and ``d + 3`` more evaluations (d levers), when its cheapest
    setting meeting its level sits within one standard error of the level and got less than
    1% cheaper over those last evaluations. The climb (step 2) runs its full share.

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
    progress : bool, optional
        Show a tqdm bar of the simulations on stderr (default: when stderr is a terminal).

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
    t0 = time.perf_counter()
    s = _setup(plan, confidence, levers, n_paths, seed, verify_paths, verify_seed, model,
               sampler, frontier_levels, executor)
    bar = _progress_bar(progress, int(max_evaluations) + 1)
    try:
        ev = Evaluator(s, int(max_evaluations), bar)
        feasible, chosen, ver, corrected = _search(
            ev, design_points, starts, frontier_evaluations,
            correction_evaluations if correct else None)
    finally:
        if bar is not None:
            bar.close()
    cost = action_cost(ver.plan, ver.result, model=s.model)
    feasible, warns, capacity, binding = _judge(ev, feasible, chosen, ver, corrected)
    return SolveResult(
        confidence=s.confidence, feasible=feasible, actions=dict(zip(s.names, chosen["x"])),
        cost=cost["total"], probability=ver.estimate.probability,
        stderr=ver.estimate.stderr, search_probability=chosen["probability"],
        search_stderr=chosen["stderr"], evaluations=len(ev.cache), frontier=_frontier(ev),
        history=_history(ev), levers=tuple(s.names), seed=s.seed, verify_seed=ver.seed,
        n_paths=s.n_paths, verify_paths=s.verify_paths, sampler=s.sampler,
        elapsed=time.perf_counter() - t0, cost_breakdown=cost,
        warnings=tuple(warns), plan=ver.plan, correction=corrected, capacity=capacity,
        binding=binding)
