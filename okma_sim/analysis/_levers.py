"""What can I change: each lever a manager controls, from its low to its high bound alone, under
common random numbers.

Every run has the same seed, so path i of every run shares its parameter draws and monthly
randomness (docs/architecture.md): the difference between the two ends of a lever is measured
on the same simulated runs, and its paired standard error is far smaller than two independent
runs would give. The swing's keys are the tornado's (:func:`okma_sim.analysis.tornado`); each
lever adds P(each objective met) at both ends with its paired SE, and the plan's cost at each
end as the action solver counts it (:func:`okma_sim.analysis.action_cost`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import pandas as pd

from okma_sim._core.formatting import (format_amount, format_estimate, format_number,
                                       format_points, format_share)
from okma_sim.plan import Plan
from okma_sim.results import Estimate, SimulationResult, metric_name
from ._compare import paired_difference
from ._costs import action_cost, cost_metrics
from ._sensitivity import _swing_entry, _swing_row
from ._solver import solver_levers

__all__ = ["LeverEffects", "lever_effects"]


def _objective_columns(plan: Plan, r_lo: SimulationResult, r_hi: SimulationResult
                       ) -> dict[str, float]:
    """P(each objective met) at both ends, with the swing's paired SE."""
    out: dict[str, float] = {}
    for o in plan.objectives:
        e_lo, e_hi = r_lo.probability(o.id), r_hi.probability(o.id)
        d = paired_difference(r_hi.met(o.id), r_lo.met(o.id), r_lo.replicate_index)
        out.update({f"p_low:{o.id}": e_lo.probability, f"p_high:{o.id}": e_hi.probability,
                    f"stderr_low:{o.id}": e_lo.stderr, f"stderr_high:{o.id}": e_hi.stderr,
                    f"swing:{o.id}": d.probability, f"swing_stderr:{o.id}": d.stderr})
    return out


@dataclass(frozen=True)
class LeverEffects:
    """Each lever from its low to its high bound alone (:func:`lever_effects`).

    Attributes
    ----------
    rows : DataFrame
        One row per lever, the largest |swing| of P(all objectives met) first: lever, low,
        high, p_low, p_high, swing, stderr_low, stderr_high, swing_stderr (paired), cost_low,
        cost_high (the plan's cost with the lever at that end, over the plan's horizon, in its
        currency), and for each objective ``o``: ``p_low:o``, ``p_high:o``, ``stderr_low:o``,
        ``stderr_high:o``, ``swing:o``, ``swing_stderr:o`` (paired), ``median_low:o``,
        ``median_high:o``, ``median_swing:o``.
    base : Estimate
        P(all objectives met) of the plan as written, on the same simulated runs.
    base_cost : float
    """

    rows: pd.DataFrame
    base: Estimate
    base_cost: float
    objectives: Sequence[str]
    n_paths: int
    seed: int
    currency: str = ""
    horizon_months: int = 12
    warnings: tuple[str, ...] = ()
    names: dict = field(default_factory=dict)
    metrics: Sequence[str] = ()

    def table(self) -> pd.DataFrame:
        """The rows (a copy)."""
        return self.rows.copy()

    def to_dict(self) -> list[dict[str, Any]]:
        """The JSON ``levers`` list: the tornado's keys (``parameter`` is the lever's name, also
        given as ``lever``), plus ``cost_low``, ``cost_high`` and ``objectives: {id: {p_low,
        p_high, stderr_low, stderr_high, swing, swing_stderr}}``."""
        out = []
        for _, r in self.rows.iterrows():
            e = _swing_entry({**r.to_dict(), "parameter": r["lever"]})
            e["lever"] = r["lever"]
            e["cost_low"], e["cost_high"] = float(r["cost_low"]), float(r["cost_high"])
            e["objectives"] = {o: {k: float(r[f"{k}:{o}"]) for k in (
                "p_low", "p_high", "stderr_low", "stderr_high", "swing", "swing_stderr")}
                for o in self.objectives}
            out.append(e)
        return out

    def _per_year(self, cost: float) -> str:
        return format_amount(cost * 12 / self.horizon_months, self.currency)

    def text(self) -> str:
        """A readable table: chances in %, changes in points, costs in the plan's currency per
        year."""
        b = self.base
        lines = [f"What each lever changes, alone, from its low to its high bound (the same "
                 f"{self.n_paths:,} simulated runs each, seed {self.seed}).",
                 f"The plan as written: all objectives met in "
                 f"{format_estimate(b.probability, b.stderr, digits=1)}, cost "
                 f"{self._per_year(self.base_cost)} a year.", ""]
        cols = "".join(f"{metric_name(m)[:19]:>20}" for m in self.metrics)
        lines.append(f"  {'lever':<32}{'level':>7}{'all met':>20}{cols}{'cost a year':>16}")
        for _, r in self.rows.iterrows():
            for end in ("low", "high"):
                name = self.names.get(r["lever"], r["lever"]) if end == "low" else ""
                objs = "".join(f"{format_share(r[f'p_{end}:{o}']):>20}" for o in self.objectives)
                all_met = format_estimate(r[f"p_{end}"], r[f"stderr_{end}"], digits=1)
                lines.append(f"  {name[:31]:<32}{format_number(r[end]):>7}{all_met:>20}{objs}"
                             f"{self._per_year(r[f'cost_{end}']):>16}")
            sw = "".join(f"{format_points(r[f'swing:{o}'], r[f'swing_stderr:{o}']):>20}"
                         for o in self.objectives)
            change = format_points(r["swing"], r["swing_stderr"])
            lines.append(f"  {'':<32}{'change':>7}{change:>20}{sw}")
        lines += ["", "Change: in percentage points, ± the paired standard error (both ends on "
                  "the same simulated runs)."]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def lever_effects(plan: Plan, *, levers: Iterable[str] | None = None,
                  n_paths: int | None = None, seed: Any = None, progress: bool | None = None,
                  model: Any = None, sampler: str | None = None,
                  executor: Any = None) -> LeverEffects:
    """Each lever from its low to its high bound (``[levers.NAME]``), the others at the plan's
    levels, all runs under one seed (module docstring).

    Parameters
    ----------
    plan : Plan
    levers : iterable of str, optional
        Default: every lever with bounds, ``new_reps`` included.
    n_paths, seed :
        Simulated runs of each run and their seed (defaults: the plan's ``[simulation]``,
        else 2,000 runs and fresh entropy, reported).
    progress, model, sampler, executor :
        As in :func:`okma_sim.simulate`.

    Returns
    -------
    LeverEffects

    Examples
    --------
    >>> import okma_sim
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> le = lever_effects(plan, levers=["new_reps"], n_paths=300, seed=1, progress=False)
    >>> row = le.table().iloc[0]
    >>> bool(row["p_high:revenue"] > row["p_low:revenue"]), bool(row["cost_high"] > row["cost_low"])
    (True, True)
    """
    from okma_sim._core.seeds import normalize_seed
    from okma_sim.engine import simulate
    from okma_sim.models import get_model

    model = get_model(plan.model) if model is None else model
    names = solver_levers(plan, model, None if levers is None else list(levers), "levers")
    seed_int = normalize_seed(seed if seed is not None else plan.simulation.seed)
    n = int(n_paths or plan.simulation.paths or 2000)
    keep = cost_metrics(model)
    kw = dict(n_paths=n, seed=seed_int, model=model, sampler=sampler, executor=executor,
              progress=progress, keep_monthly=keep)
    base = simulate(plan, **kw)
    warns = list(base.warnings)
    rows = []
    for k in names:
        lv = plan.levers[k]
        p_lo, p_hi = plan.with_actions(**{k: lv.low}), plan.with_actions(**{k: lv.high})
        r_lo, r_hi = simulate(p_lo, **kw), simulate(p_hi, **kw)
        warns += [f"{k} at {lv_}: {w}" for lv_, r in ((lv.low, r_lo), (lv.high, r_hi))
                  for w in r.warnings if w not in base.warnings]
        rows.append({"lever": k, "low": float(lv.low), "high": float(lv.high),
                     **_swing_row(plan, r_lo, r_hi),
                     "cost_low": action_cost(p_lo, r_lo, model=model)["total"],
                     "cost_high": action_cost(p_hi, r_hi, model=model)["total"],
                     **_objective_columns(plan, r_lo, r_hi)})
    df = pd.DataFrame(rows)
    if len(df):
        df = df.iloc[(-df["swing"].abs()).argsort(kind="stable")].reset_index(drop=True)
    info = getattr(model, "levers", {}) or {}
    return LeverEffects(rows=df, base=base.all_met(),
                        base_cost=action_cost(plan, base, model=model)["total"],
                        objectives=[o.id for o in plan.objectives], n_paths=n, seed=seed_int,
                        currency=plan.currency or "", horizon_months=plan.horizon_months,
                        warnings=tuple(dict.fromkeys(warns)),
                        names={k: _lever_name(info.get(k), k) for k in names},
                        metrics=[o.metric for o in plan.objectives])


def _lever_name(info: Any, name: str) -> str:
    """A lever's description up to its first parenthesis, else its name."""
    text = getattr(info, "description", "") or name
    return text.split(" (")[0]
