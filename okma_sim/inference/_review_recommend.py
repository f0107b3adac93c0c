"""The review's recommendation: the cheapest lever change found that restores P(all objectives
met), by a greedy search over the plan's ``[levers]`` under common random numbers (the Notes
of :func:`okma_sim.inference.review` state it).

The stages: the paths to search on (a subset, then all) -> the search (raise P to the goal,
then step down what saves most) -> verification on all paths -> the answer and its warnings.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import partial
from typing import Any, Mapping

import numpy as np

from okma_sim.analysis import MAX_CAPPED_SHARE, lever_level, operating_cost
from okma_sim.engine import simulate
from okma_sim.plan import Plan
from okma_sim.results import Estimate, SimulationResult


@dataclass(frozen=True)
class _Paths:
    """Paths a search evaluates on: the resumed state, the posterior draws and their weights."""

    state: Any
    pvals: Mapping[str, np.ndarray]
    w: np.ndarray
    m: int


def _recommend(plan: Plan, model: Any, st: Any, pvals: Mapping[str, np.ndarray],
               w: np.ndarray, observed: Mapping[str, np.ndarray], keep: tuple[str, ...],
               goal: float, res: SimulationResult, kw: Mapping[str, Any], search_paths: int,
               max_steps: int, T: int, warn: list[str]) -> dict[str, Any]:
    """Greedy lever search under common random numbers (see :func:`review`); its warnings
    are appended to ``warn``."""
    H = plan.horizon_months
    levers = {k: lv for k, lv in plan.levers.items() if k in getattr(model, "levers", {})}
    now = res.all_met()
    ops_now = operating_cost(res)  # res carries the weights w
    answer = partial(_answer, plan, model, goal)
    if now.probability >= goal:
        return answer({}, now, 0.0, True, "P(all objectives met) already meets the goal")
    if not levers:
        return answer({}, now, 0.0, False, "the scenario has no [levers] to search")
    n = int(kw["n_paths"])
    full, sub = _path_sets(st, pvals, w, n, search_paths)
    search = _LeverSearch(plan, model, levers, observed, keep, kw, goal, (H - T) / H, max_steps)
    cur, est, ops, note = _search_and_verify(search, full, sub, min(search_paths, n))
    changed = {k: v for k, v in cur.items() if abs(v - lever_level(plan, model, k)) > 1e-12}
    return _conclude(search, answer, changed, now, est, search.lever_cost(cur) + ops - ops_now,
                     note, warn)


def _answer(plan: Plan, model: Any, goal: float, actions: Mapping[str, float], est: Estimate,
            cost: float, reached: bool, note: str = "", steps: int = 0,
            out_of_steps: bool = False) -> dict[str, Any]:
    """The recommendation record of ``review(...).recommendation``."""
    return {"actions": {k: float(v) for k, v in actions.items()},
            "from": {k: lever_level(plan, model, k) for k in actions},
            "probability": est.probability, "stderr": est.stderr, "cost": float(cost),
            "goal": float(goal), "reached": bool(reached), "note": note,
            "steps": int(steps), "out_of_steps": bool(out_of_steps),
            "method": "greedy lever search under common random numbers"}


def _path_sets(st: Any, pvals: Mapping[str, np.ndarray], w: np.ndarray, n: int,
               search_paths: int) -> tuple[_Paths, _Paths]:
    """All paths, and the first ``search_paths`` (their weights renormalised) to search on;
    all paths again when the subset carries no weight."""
    full = _Paths(state=st, pvals=pvals, w=w, m=n)
    m = min(search_paths, n)
    sub = _Paths(state=st.select(np.arange(m)), pvals={k: v[:m] for k, v in pvals.items()},
                 w=w[:m] / max(w[:m].sum(), 1e-300), m=m)
    if not w[:m].sum() > 0:
        sub = full
    return full, sub


def _nice_step(raw: float) -> float:
    """The 1, 2, 2.5 or 5 times a power of ten nearest to ``raw`` (steps people can act on)."""
    if raw <= 0 or not math.isfinite(raw):
        return 0.0
    e = 10.0 ** math.floor(math.log10(raw))
    return min((m * e for m in (1.0, 2.0, 2.5, 5.0, 10.0)), key=lambda x: abs(x - raw))


class _LeverSearch:
    """The greedy search: lever moves, their evaluation (cached per path set and levels) and
    cost, and the step budget shared by every search it runs."""

    def __init__(self, plan: Plan, model: Any, levers: Mapping[str, Any],
                 observed: Mapping[str, np.ndarray], keep: tuple[str, ...],
                 kw: Mapping[str, Any], goal: float, share_left: float, max_steps: int):
        self.plan, self.model, self.levers = plan, model, levers
        self.observed, self.keep, self.kw = observed, keep, kw
        self.goal, self.share_left, self.max_steps = goal, share_left, max_steps
        self.steps = 0
        self.cache: dict[tuple, tuple[Estimate, float]] = {}
        self.capped: dict[tuple, float] = {}  # share of rep-months over the hours

    def start(self) -> dict[str, float]:
        """The plan's current lever levels."""
        return {k: lever_level(self.plan, self.model, k) for k in self.levers}

    def _key(self, levels: Mapping[str, float], on: _Paths) -> tuple:
        return (on.m,) + tuple(round(levels[k], 9) for k in self.levers)

    def fits(self, levels: Mapping[str, float], on: _Paths) -> bool:
        """Whether the levels fit the reps' hours (as the solver requires: over them in at
        most 5% of filled rep-months); evaluates them if needed."""
        self.evaluate(levels, on)
        return self.capped[self._key(levels, on)] <= MAX_CAPPED_SHARE

    def evaluate(self, levels: Mapping[str, float], on: _Paths) -> tuple[Estimate, float]:
        """P(all objectives met) and the expected operating cost at ``levels``."""
        key = self._key(levels, on)
        if key not in self.cache:
            r = simulate(self.plan.with_actions(**levels), initial_state=on.state,
                         observed=self.observed, parameter_values=on.pvals,
                         keep_monthly=self.keep, **{**self.kw, "n_paths": on.m,
                                                    "progress": False})
            r = dataclasses.replace(r, weights=on.w)
            self.cache[key] = (r.all_met(), operating_cost(r))
            cap = r.capacity()
            self.capped[key] = 0.0 if cap is None else float(cap["share_rep_months_capped"])
        return self.cache[key]

    def lever_cost(self, levels: Mapping[str, float]) -> float:
        """The levers' extra cost over the remaining months."""
        return sum(lv.unit_cost * (levels[k] - lever_level(self.plan, self.model, k))
                   * self.share_left for k, lv in self.levers.items())

    def total(self, levels: Mapping[str, float], ops: float) -> float:
        return self.lever_cost(levels) + ops

    def moves(self, levels: Mapping[str, float]):
        """Each lever one step up or down, within its bounds."""
        for k, lv in self.levers.items():
            step = lv.step or _nice_step((lv.high - lv.low) / 8.0)
            if step <= 0:
                continue
            if levels[k] < lv.high - 1e-9:
                yield {**levels, k: min(lv.high, levels[k] + step)}
            if levels[k] > lv.low + 1e-9:
                yield {**levels, k: max(lv.low, levels[k] - step)}

    def run(self, cur: dict[str, float], on: _Paths) -> dict[str, float]:
        """Raise P(all met) to the goal, then step down while it stays there."""
        e_cur, ops_cur = self.evaluate(cur, on)
        cur, e_cur, ops_cur = self._raise(cur, e_cur, ops_cur, on)
        return self._lower(cur, e_cur, ops_cur, on)

    def _raise(self, cur, e_cur, ops_cur, on):
        """Phase 1: the move with the best gain per unit of cost first, until the goal."""
        while e_cur.probability < self.goal and self.steps < self.max_steps:
            best = None
            for trial in self.moves(cur):
                e, ops = self.evaluate(trial, on)
                gain = e.probability - e_cur.probability
                if gain <= 0 or not self.fits(trial, on):
                    continue
                dcost = self.total(trial, ops) - self.total(cur, ops_cur)
                score = (math.inf, gain) if dcost <= 0 else (gain / dcost, gain)
                if best is None or score > best[0]:
                    best = (score, trial, e, ops)
            if best is None:
                break
            _, cur, e_cur, ops_cur = best
            self.steps += 1
        return cur, e_cur, ops_cur

    def _lower(self, cur, e_cur, ops_cur, on):
        """Phase 2: once there, step down what costs most while P stays at the goal."""
        while e_cur.probability >= self.goal and self.steps < self.max_steps:
            best = None
            for trial in self.moves(cur):
                e, ops = self.evaluate(trial, on)
                saving = self.total(cur, ops_cur) - self.total(trial, ops)
                if e.probability >= self.goal and saving > 0 and self.fits(trial, on) and (
                        best is None or saving > best[0]):
                    best = (saving, trial, e, ops)
            if best is None:
                break
            _, cur, e_cur, ops_cur = best
            self.steps += 1
        return cur


def _search_and_verify(search: _LeverSearch, full: _Paths, sub: _Paths, m: int):
    """Search on the subset and verify on all paths; if the subset was optimistic, go on
    from there on all paths. Returns the levels, their estimate and cost, and a note."""
    n = full.m
    cur = search.run(search.start(), sub)
    reached_sub = search.evaluate(cur, sub)[0].probability >= search.goal
    est, ops = search.evaluate(cur, full)
    note = f"{search.steps} search steps on {m:,} simulated runs, verified on all {n:,}"
    if est.probability < search.goal and reached_sub and sub is not full and \
            search.steps < search.max_steps:
        cur = search.run(cur, full)
        est, ops = search.evaluate(cur, full)
        note = f"{search.steps} search steps, on {m:,} simulated runs and then on all {n:,}"
    return cur, est, ops, note


def _conclude(search: _LeverSearch, answer, changed: Mapping[str, float], now: Estimate,
              est: Estimate, cost: float, note: str, warn: list[str]) -> dict[str, Any]:
    """The answer for the levels found, with a warning when the search ran out of steps or
    fell short of the goal."""
    steps, max_steps, goal = search.steps, search.max_steps, search.goal
    # Every loop of the search tests the budget before its own stopping rule, so a search
    # that used up max_steps was cut short: it would have taken another step.
    out_of_steps = steps >= max_steps
    stopped = (f"the search stopped after {steps} step{'' if steps == 1 else 's'} "
               f"(max_steps = {max_steps})")
    if not changed:
        if out_of_steps:
            warn.append(f"{stopped} without a lever change; P(all objectives met) stays at "
                        f"{now.probability:.3f}, short of the goal {goal:.3f}")
            return answer({}, now, 0.0, False, stopped, steps, True)
        return answer({}, now, 0.0, False, "no lever step within the bounds raises "
                                           "P(all objectives met)", steps)
    reached = est.probability >= goal
    if out_of_steps:
        note = f"{note}; {stopped}"
        if reached:
            warn.append(f"{stopped}: the change found restores P(all objectives met) to "
                        f"{goal:.3f}, but a longer search may find a cheaper one")
        else:
            warn.append(f"{stopped} before P(all objectives met) reached {goal:.3f}; the "
                        f"best found so far reaches {est.probability:.3f}, and a longer "
                        "search may do better (it is not shown that the levers cannot "
                        "restore it)")
    elif not reached:
        warn.append(f"no lever change within the [levers] bounds found restores P(all "
                    f"objectives met) to {goal:.3f}; the best found reaches "
                    f"{est.probability:.3f}")
    return answer(changed, est, cost, reached, note, steps, out_of_steps)
