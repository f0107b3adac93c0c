"""The action solver's search: cached simulations of lever settings under one seed (common
random numbers) within a budget, and its stages over them: a design of start points, a climb
in probability when nothing is feasible, the cost minimisation (COBYLA with a restart) and the
frontier's short searches. Each COBYLA cost search stops early once it stalls within the noise
(:meth:`Evaluator.stalled`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from okma_sim.plan import Plan
from ._costs import action_cost, lever_level

__all__: list[str] = []

#: a plan whose planned hours exceed the reps' selling hours in more than this share of filled
#: rep-months is infeasible: the tool must not recommend (and charge for) work nobody can do
MAX_CAPPED_SHARE = 0.05

#: a cost search has stalled when its cheapest setting meeting the level fell by less than this
#: share over the last window of evaluations (and sits within one SE of the level)
COST_RTOL = 0.01


def within_hours(r: dict) -> bool:
    """Whether an evaluated setting fits the reps' hours (``capped`` <= 5% of rep-months)."""
    return r["capped"] <= MAX_CAPPED_SHARE


def cheapest_first(records: Iterable[dict], level: float) -> list[dict]:
    """The records whose P̂ meets ``level`` within the reps' hours, cheapest first (the
    likelier first at equal cost; otherwise in evaluation order)."""
    return sorted((r for r in records if r["probability"] >= level and within_hours(r)),
                  key=lambda r: (r["cost"], -r["probability"]))


def capped_share(result) -> float:
    """Share of filled rep-months a run capped (0 for a model without hours)."""
    cap = result.capacity()
    return 0.0 if cap is None else float(cap["share_rep_months_capped"])


class BudgetSpent(Exception):
    """Raised inside the objective to stop COBYLA when the evaluation budget is spent, or its
    run has stalled."""


@dataclass(frozen=True)
class SearchSetup:
    """The solver's checked inputs."""

    plan: Plan
    model: Any
    confidence: float
    names: list[str]
    n_paths: int
    seed: int
    verify_seed: int
    verify_paths: int
    sampler: str
    levels: list[float]
    keep: list[str]
    executor: Any


def derived_seed(seed: int, k: int) -> int:
    """A fresh verification seed derived from the search seed (k = 1, 2, ...)."""
    return int(np.random.SeedSequence([seed, k]).generate_state(1, np.uint64)[0] >> 1)


class Evaluator:
    """Cached simulations of lever settings under one seed (common random numbers), within a
    budget of distinct simulations, and COBYLA runs over them in [0, 1] coordinates."""

    def __init__(self, s: SearchSetup, budget: int, bar: Any = None) -> None:
        self.s = s
        self.bar = bar  # a tqdm bar advanced by each simulation, or None
        self.lows = np.array([s.plan.levers[k].low for k in s.names], dtype=float)
        self.highs = np.array([s.plan.levers[k].high for k in s.names], dtype=float)
        known = getattr(s.model, "levers", None) or {}
        # a whole-number lever (a headcount) takes whole steps even when its table gives none
        self.whole = [bool(getattr(known.get(k), "integer", False)) for k in s.names]
        self.steps = [s.plan.levers[k].step or (1.0 if w else None)
                      for k, w in zip(s.names, self.whole)]
        self.d = len(s.names)
        self.budget = budget
        self.span = 1.0  # cost scale: set after the design
        self.cache: dict[tuple, dict] = {}
        self.order: list[tuple] = []
        self.stage = "design"
        # the running COBYLA run: evaluations before it, and its level (None: a climb)
        self._run: tuple[int, float | None] | None = None

    def snap(self, z: np.ndarray) -> tuple[float, ...]:
        """The lever levels of a point of [0, 1]^d, snapped to the levers' grids."""
        z = np.clip(np.asarray(z, dtype=float), 0.0, 1.0)
        x = self.lows + z * (self.highs - self.lows)
        out = []
        for xi, lo, hi, st, w in zip(x, self.lows, self.highs, self.steps, self.whole):
            # a lever with a step takes whole steps from low; others a 1/1000 grid of the range
            s = st if st else (hi - lo) / 1000.0
            v = lo if s <= 0 else lo + round((xi - lo) / s) * s
            v = float(np.round(min(max(v, lo), hi), 10))
            out.append(int(round(v)) if w else v)  # a headcount is written as a whole number
        return tuple(out)

    def to_z(self, x: Sequence[float]) -> np.ndarray:
        span = np.where(self.highs > self.lows, self.highs - self.lows, 1.0)
        return (np.asarray(x, dtype=float) - self.lows) / span

    def __call__(self, z: np.ndarray) -> dict:
        """The record of a setting: x, probability, stderr, cost, stage (simulated once)."""
        from okma_sim.engine import simulate
        key = self.snap(z)
        if key not in self.cache:
            s = self.s
            plan_x = s.plan.with_actions(**dict(zip(s.names, key)))
            res = simulate(plan_x, n_paths=s.n_paths, seed=s.seed, model=s.model,
                           sampler=s.sampler, executor=s.executor, keep_monthly=s.keep,
                           progress=False)
            e = res.all_met()
            c = action_cost(plan_x, res, model=s.model)
            self.cache[key] = {"x": key, "probability": e.probability, "stderr": e.stderr,
                               "cost": c["total"], "capped": capped_share(res),
                               "stage": self.stage}
            self.order.append(key)
            if self.bar is not None:
                self.bar.set_description(f"searching ({self.stage})", refresh=False)
                self.bar.update()
        return self.cache[key]

    def records(self) -> list[dict]:
        """Every evaluation, in order."""
        return [self.cache[k] for k in self.order]

    def cheapest(self, level: float) -> list[dict]:
        """The evaluated settings meeting ``level``, cheapest first."""
        return cheapest_first(self.records(), level)

    def room(self) -> int:
        """Simulations left in the budget."""
        return self.budget - len(self.cache)

    def cost(self, z: np.ndarray) -> float:
        """The cost of a setting, scaled to be of order 1 for COBYLA."""
        return self(z)["cost"] / self.span

    def bounded(self, fun: Callable) -> Callable:
        """``fun``, stopping COBYLA when a new setting would exceed the budget or the run has
        stalled."""
        def f(z):
            if self.snap(z) not in self.cache and (self.room() <= 0 or self.stalled()):
                raise BudgetSpent
            return fun(z)
        return f

    def stalled(self) -> bool:
        """Whether the running cost search has stopped improving its answer by more than the
        noise: after its first stencil and a window of ``d + 3`` more evaluations, its
        cheapest setting meeting the level sits within one standard error of it and got less
        than ``COST_RTOL`` cheaper over the window. A climb (``level`` None) never stops early:
        stopping it when its best P̂ rose by less than one SE over the window lost 2.4 points
        (about 3 SE) of the best plan found on the case study at +10% revenue."""
        if self._run is None or self._run[1] is None:
            return False
        n0, level = self._run
        recs, window = self.records(), self.d + 3
        if len(recs) - n0 < window + self.d + 1:
            return False
        now, before = cheapest_first(recs, level), cheapest_first(recs[:-window], level)
        if not now or not before:
            return False
        a = now[0]
        return a["cost"] >= (1 - COST_RTOL) * before[0]["cost"] \
            and a["probability"] - level <= a["stderr"]

    def at_least(self, level: float) -> list[dict]:
        """COBYLA's constraints: P̂ >= ``level``, and the plan fits the reps' hours."""
        return [{"type": "ineq", "fun": self.bounded(lambda z: self(z)["probability"] - level)},
                {"type": "ineq",
                 "fun": self.bounded(lambda z: MAX_CAPPED_SHARE - self(z)["capped"])}]

    def cobyla(self, fun: Callable, z0: np.ndarray, cons: Any, evals: int,
               rhobeg: float = 0.2, level: float | None = None) -> None:
        """Minimise ``fun`` from ``z0`` with at most ``evals`` iterations (none if too few),
        a cost search (at ``level``) stopping once it stalls (:meth:`stalled`); ``level``
        None: a climb in probability, which runs its full share."""
        from scipy.optimize import minimize
        if evals < self.d + 2:
            return
        self._run = (len(self.cache), level)
        try:
            minimize(fun, z0, method="COBYLA", constraints=cons, bounds=[(0.0, 1.0)] * self.d,
                     options={"rhobeg": rhobeg, "tol": 2e-3, "maxiter": evals})
        except BudgetSpent:
            pass
        finally:
            self._run = None

    def minimise_cost(self, start: tuple, level: float, evals: int,
                      rhobeg: float = 0.2) -> None:
        """COBYLA on the cost from the setting ``start``, subject to P̂ >= ``level`` and the
        reps' hours."""
        self.cobyla(self.bounded(self.cost), self.to_z(start), self.at_least(level), evals,
                    rhobeg, level)


def design(ev: Evaluator, design_points: int) -> None:
    """Stage 1: the current actions, the corners and a scrambled Sobol' design; then the cost
    scale (the all-high corner's cost)."""
    from scipy.stats import qmc
    s, d = ev.s, ev.d
    current = [min(max(lever_level(s.plan, s.model, k), lo), hi)
               for k, lo, hi in zip(s.names, ev.lows, ev.highs)]
    pts = [ev.to_z(current), np.zeros(d), np.ones(d)]
    if design_points > 0:
        m = max(1, int(design_points))
        sob = qmc.Sobol(d, scramble=True, seed=np.random.default_rng(s.seed))
        pts += list(sob.random_base2(int(math.ceil(math.log2(m))))[:m])
    for z in pts:
        if ev.room() <= 0:
            break
        ev(z)
    top = ev.cache.get(ev.snap(np.ones(d)))
    ev.span = max(top["cost"], 1.0) if top is not None else 1.0


def climb(ev: Evaluator, starts: int) -> None:
    """Stage 2: if nothing is feasible, climb in probability first (from the most likely
    settings)."""
    c = ev.s.confidence
    if ev.cheapest(c):
        return
    ev.stage = "maximise"
    n_starts = max(1, int(starts))
    tried: list[tuple] = []
    for k in range(n_starts):
        if ev.cheapest(c):
            break
        cands = sorted((r for r in ev.records() if r["x"] not in tried),
                       key=lambda r: (not within_hours(r), -r["probability"], r["cost"]))
        if not cands:
            break
        tried.append(cands[0]["x"])
        # a small cost term breaks ties between equally likely settings; the hours constraint
        # keeps the climb among plans the reps can work
        ev.cobyla(ev.bounded(lambda z: -ev(z)["probability"] + 1e-3 * ev.cost(z)),
                  ev.to_z(cands[0]["x"]), ev.at_least(0.0)[1:],
                  ev.room() // (2 * (n_starts - k)))


def minimise(ev: Evaluator, starts: int) -> None:
    """Stage 3: minimise the cost subject to P̂ >= C from the cheapest feasible settings,
    each COBYLA run restarted once from its answer."""
    c, d = ev.s.confidence, ev.d
    ev.stage = "minimise"
    # every point COBYLA started from: being deterministic, it would only retrace its path
    starts_done: list[tuple] = []
    n_starts = max(1, int(starts))
    for k in range(n_starts):
        unused = [r for r in ev.cheapest(c) if r["x"] not in starts_done]
        # a later start comes from off the earlier runs' paths (the design's or the climb's
        # settings), so that it explores elsewhere; from one of their points if none is left
        cands = [r for r in unused if r["stage"] != "minimise"] or unused
        if not cands or ev.room() < d + 2:
            break
        start = cands[0]["x"]
        starts_done.append(start)
        share = ev.room() // (n_starts - k)
        n0 = len(ev.cache)
        ev.minimise_cost(start, c, share // 2)
        # COBYLA can stop early on the stepwise P-hat of common random numbers (its linear
        # model of the constraint comes from a stencil that shrinks onto one step): restart
        # it once from its answer (the cheapest feasible setting it reached), with a wide
        # stencil again
        best = cheapest_first([ev.cache[start], *ev.records()[n0:]], c)[0]["x"]
        if best != start:
            starts_done.append(best)
            ev.minimise_cost(best, c, share - (len(ev.cache) - n0))


def tighten_frontier(ev: Evaluator, frontier_evaluations: int) -> None:
    """Stage 4: a short cost search at each frontier level the search has reached, the
    levels nearest C first, each with enough evaluations for COBYLA to move."""
    c, d = ev.s.confidence, ev.d
    ev.stage = "frontier"
    todo = sorted((lv for lv in ev.s.levels if lv != c and ev.cheapest(lv)),
                  key=lambda lv: abs(lv - c))
    f_end = len(ev.cache) + min(int(frontier_evaluations), ev.room())
    per_level = max(2 * d + 2, (f_end - len(ev.cache)) // max(len(todo), 1))
    for lv in todo:
        evals = min(per_level, f_end - len(ev.cache))
        if evals < d + 2:
            break
        ev.minimise_cost(ev.cheapest(lv)[0]["x"], lv, evals, rhobeg=0.1)


def choose(ev: Evaluator) -> tuple[bool, dict]:
    """Whether some setting is feasible, and the answer: the cheapest feasible setting, or
    the likeliest one within the reps' hours (the least capped if none fits)."""
    feas = ev.cheapest(ev.s.confidence)
    if feas:
        return True, feas[0]
    return False, max(ev.records(), key=lambda r: (within_hours(r), -r["capped"] if not
                                                   within_hours(r) else 0.0,
                                                   r["probability"], -r["cost"]))
