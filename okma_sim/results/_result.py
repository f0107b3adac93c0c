"""Results: per-path aggregates become KR and objective verdicts, probabilities with Monte Carlo
standard errors, quantiles, per-month bands and tidy DataFrames."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from okma_sim._core.accessors import AccessorSlot
from okma_sim._core.formatting import (format_amount, format_chance, format_estimate,
                                       format_percent, format_share)

from ._block import BlockOutput
from ._estimate import QUANTILES, Estimate, estimate
from ._plain import (baseline_total, level_text, rule_name, target_name,
                     value_text, verdict)
from okma_sim.plan import KeyResult, Objective, Plan, unit_warnings

__all__ = ["SimulationResult"]


@dataclass(frozen=True)
class SimulationResult:
    """What a simulation produced. Build it with :func:`okma_sim.simulate`.

    Attributes
    ----------
    plan : Plan
    n_paths, seed, sampler :
        How it was run (``seed`` reproduces it exactly).
    values : dict of id -> ndarray (n_paths,)
        Each objective's and key result's aggregated metric, per path.
    monthly : dict of metric -> ndarray (n_paths, n_months), float32
        Kept per-month values (for bands and fan charts).
    params : DataFrame
        The parameter values drawn for each path.
    diagnostics : dict
        Counters summed over paths (capacity caps, rules fired and their cost, ...).
    warnings : list of str

    Examples
    --------
    >>> import okma_sim
    >>> res = okma_sim.simulate(okma_sim.load_plan(okma_sim.case_study_path()),
    ...                         n_paths=1000, seed=3)
    >>> sorted(res.probabilities()["id"])[:2]
    ['csat', 'new_customers']
    """

    plan: Plan
    model_name: str
    n_paths: int
    seed: int
    sampler: str
    values: Mapping[str, np.ndarray]
    monthly: Mapping[str, np.ndarray]
    params: pd.DataFrame
    diagnostics: Mapping[str, float]
    warnings: Sequence[str]
    replicate_index: np.ndarray | None = None
    weights: np.ndarray | None = None
    per_rep: Mapping[str, np.ndarray] | None = None
    states: Sequence[Any] | None = None
    elapsed: float = 0.0
    months: Sequence[str] = field(default_factory=list)
    extra: Mapping[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------------------------------
    @classmethod
    def from_blocks(cls, *, plan: Plan, model: Any, parts: Sequence[BlockOutput], n_paths: int,
                    seed: int, sampler: str, replicate_index, param_names,
                    warnings: list[str], elapsed: float,
                    pinned: Mapping[str, float]) -> "SimulationResult":
        """A result from the engine's block outputs, in block order (or one merged run)."""
        values = {t.id: _cat([p.values[t.id] for p in parts])
                  for t in plan.targets}
        monthly = {m: _cat([p.monthly[m] for p in parts])
                   for m in (parts[0].monthly if parts else {})}
        params = pd.DataFrame(_cat([p.params for p in parts]), copy=False,
                              columns=list(param_names))
        diag: dict[str, float] = {}
        for p in parts:
            for k, v in p.diagnostics.items():
                diag[k] = diag.get(k, 0.0) + float(v)
        per_rep = None
        states = None
        if parts and parts[0].per_rep is not None:
            per_rep = {k: np.concatenate([p.per_rep[k] for p in parts])
                       for k in parts[0].per_rep}
            states = [p.state for p in parts]
        # a growth target typed as a percentage: every run repeats validate's warning
        warn = [w for w in unit_warnings(plan, model) if w not in warnings]
        warn = list(warnings) + warn + _diagnostic_warnings(diag, n_paths, plan)
        months = plan.months()
        return cls(plan=plan, model_name=getattr(model, "name", type(model).__name__),
                   n_paths=n_paths, seed=seed, sampler=sampler, values=values, monthly=monthly,
                   params=params, diagnostics=diag, warnings=warn,
                   replicate_index=replicate_index, per_rep=per_rep, states=states,
                   elapsed=elapsed, months=months, extra={"pinned": dict(pinned)})

    # -- verdicts ------------------------------------------------------------------------------
    def met(self, id: str) -> np.ndarray:
        """Per-path bool: does this objective or KR meet its target?"""
        return self.plan.target(id).met(self.values[id])

    def _est(self, flags: np.ndarray) -> Estimate:
        return estimate(flags, self.replicate_index, self.weights)

    def probability(self, id: str) -> Estimate:
        """P(objective or KR met) with its Monte Carlo standard error."""
        return self._est(self.met(id))

    def all_met(self) -> Estimate:
        """P(every objective met)."""
        return self._est(self.all_met_flags())

    def all_met_flags(self) -> np.ndarray:
        flags = np.ones(self.n_paths, dtype=bool)
        for o in self.plan.objectives:
            flags &= self.met(o.id)
        return flags

    def all_key_results_met(self) -> Estimate:
        """P(every key result met)."""
        flags = np.ones(self.n_paths, dtype=bool)
        for k in self.plan.key_results:
            flags &= self.met(k.id)
        return self._est(flags)

    def quantiles(self, id: str, q: Sequence[float] = QUANTILES) -> dict[str, float]:
        """Quantiles of an objective's or KR's aggregated metric, keyed ``p05``, ``p50``..."""
        v = self.values[id]
        v = v[~np.isnan(v)]
        if v.size == 0:
            return {f"p{round(x * 100):02d}": math.nan for x in q}
        if self.weights is not None:
            # reweighted paths (mid-period review): numpy's weighted inverted-CDF quantile
            w = np.asarray(self.weights, dtype=float)[~np.isnan(self.values[id])]
            vals = np.quantile(v, q, weights=w, method="inverted_cdf")
        else:
            vals = np.quantile(v, q)
        return {f"p{round(x * 100):02d}": float(y) for x, y in zip(q, vals)}

    def bands(self, metric: str, q: Sequence[float] = (0.05, 0.25, 0.5, 0.75, 0.95)
              ) -> pd.DataFrame:
        """Per-month quantiles of a kept metric: one row per month, one column per quantile."""
        if metric not in self.monthly:
            raise KeyError(f"metric {metric!r} was not kept; pass keep_monthly=[...] to "
                           f"simulate (kept: {', '.join(self.monthly)})")
        arr = np.asarray(self.monthly[metric], dtype=float)
        if self.weights is not None:
            # reweighted paths (mid-period review): weighted quantiles, month by month
            w = np.asarray(self.weights, dtype=float)
            qs = np.full((arr.shape[1], len(q)), np.nan)
            for j in range(arr.shape[1]):
                ok = ~np.isnan(arr[:, j])
                if ok.any() and w[ok].sum() > 0:
                    qs[j] = np.quantile(arr[ok, j], q, weights=w[ok], method="inverted_cdf")
        else:
            with np.errstate(all="ignore"):
                import warnings
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    qs = np.nanquantile(arr, q, axis=0).T
        start = arr.shape[1] - len(self.months)
        index = pd.Index(self.months, name="month") if start == 0 else \
            pd.RangeIndex(arr.shape[1], name="month")
        return pd.DataFrame(qs, index=index,
                            columns=[f"p{round(x * 100):02d}" for x in q])

    # -- tables --------------------------------------------------------------------------------
    def probabilities(self) -> pd.DataFrame:
        """One row per objective and KR: id, kind, metric, target, probability, stderr,
        p05/p50/p95 of its aggregated metric."""
        rows = []
        for t in self.plan.targets:
            e = self.probability(t.id)
            qs = self.quantiles(t.id)
            rows.append({"id": t.id, "kind": "key_result" if isinstance(t, KeyResult)
                         else "objective", "metric": t.metric, "aggregate": t.aggregate,
                         "comparison": t.comparison, "target": t.target,
                         "probability": e.probability, "stderr": e.stderr, **qs})
        return pd.DataFrame(rows)

    def to_frame(self, *, params: bool = False) -> pd.DataFrame:
        """Per-path table: each objective's and KR's aggregated value and whether it was met,
        plus ``all_met`` (and the drawn parameters with ``params=True``)."""
        data: dict[str, Any] = {"path": np.arange(self.n_paths)}
        for t in self.plan.targets:
            data[t.id] = self.values[t.id]
            data[f"{t.id}_met"] = self.met(t.id)
        data["all_met"] = self.all_met_flags()
        df = pd.DataFrame(data)
        if params:
            df = pd.concat([df, self.params.add_prefix("param_")], axis=1)
        return df

    def rules(self) -> pd.DataFrame:
        """How often each management rule fired and what it cost, per path on average."""
        rows = []
        for k, v in self.diagnostics.items():
            if k.startswith("rule:") and k.endswith(":fired"):
                rid = k[5:-6]
                rows.append({"rule": rid, "fired_per_path": v / self.n_paths,
                             "cost_per_path": self.diagnostics.get(f"rule:{rid}:cost", 0.0)
                             / self.n_paths})
        return pd.DataFrame(rows, columns=["rule", "fired_per_path", "cost_per_path"])

    def capacity(self) -> dict[str, float] | None:
        """The reps' hours, as means per filled rep-month (vacant seats excluded, ramping reps
        included): ``hours_available`` (selling hours), ``hours_planned`` (what the plan and
        the running responses asked for), ``hours_executed`` (what fitted), and
        ``share_rep_months_capped``, the share of filled rep-months whose planned hours exceed
        the available ones by more than 0.01 h. None for a model without hours.

        Examples
        --------
        >>> import okma_sim
        >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
        >>> cap = okma_sim.simulate(plan, n_paths=200, seed=1).capacity()
        >>> cap["hours_available"], cap["share_rep_months_capped"]
        (120.0, 0.0)
        """
        d = self.diagnostics
        if "hours_planned" not in d:
            return None
        n = d.get("rep_months", 0.0)
        if n <= 0:
            return {"hours_available": math.nan, "hours_planned": math.nan,
                    "hours_executed": math.nan, "share_rep_months_capped": 0.0}
        return {"hours_available": d["hours_available"] / n,
                "hours_planned": d["hours_planned"] / n,
                "hours_executed": d["hours_executed"] / n,
                "share_rep_months_capped": d.get("capacity_capped_rep_months", 0.0) / n}

    def grading(self) -> pd.DataFrame:
        """OKR grading for KRs with a ``baseline``: expected 0-1 score and a label."""
        from ._grading import grade
        return grade(self)

    # -- export --------------------------------------------------------------------------------
    def to_json_dict(self) -> dict[str, Any]:
        """The ``check --json`` document (without the common CLI keys)."""
        def entry(t: Objective) -> dict[str, Any]:
            e = self.probability(t.id)
            d: dict[str, Any] = {"id": t.id}
            if isinstance(t, KeyResult):
                d["objective"] = t.objective[0] if len(t.objective) == 1 else list(t.objective)
            d.update({"metric": t.metric, "aggregate": t.aggregate,
                      "comparison": t.comparison, "target": t.target,
                      "probability": e.probability, "stderr": e.stderr,
                      "quantiles": self.quantiles(t.id)})
            return d

        return {
            "objectives": [entry(o) for o in self.plan.objectives],
            "key_results": [entry(k) for k in self.plan.key_results],
            "all_met": self.all_met().to_dict(),
            "all_key_results_met": self.all_key_results_met().to_dict(),
            "sampler": self.sampler,
            "diagnostics": {k: float(v) for k, v in self.diagnostics.items()},
            "capacity": self.capacity(),
            **({"adaptive": dict(self.extra["adaptive"])} if "adaptive" in self.extra else {}),
            "anchor": self.extra.get("anchor"),
        }

    def table(self) -> str:
        """A readable achievability table, then a one-line verdict per objective and KR.

        Growth and rates read in %, revenue growth at the plan's end as revenue amounts in the
        plan's currency, each chance with its Monte Carlo standard error and its odds.
        """
        plan, cur = self.plan, self.plan.currency
        how = "" if self.sampler == "mc" else f", {_SAMPLERS.get(self.sampler, self.sampler)}"
        lines = [f"{plan.name}: {self.n_paths:,} simulated runs, seed {self.seed}{how}"]
        base = baseline_total(plan) if any(t.metric == "revenue_growth"
                                           for t in plan.targets) else None
        if base is not None:
            lines.append(f"last year's revenue: {format_amount(base, cur)}")
        head = f"{'':3}{'objective / key result':<44}{'target':<26}{'chance':>13}" \
               f"{'p05':>13}{'p50':>13}{'p95':>13}"
        lines += ["", head, "-" * len(head)]
        for t in plan.targets:
            e, qs = self.probability(t.id), self.quantiles(t.id)
            tag = "KR " if isinstance(t, KeyResult) else "O  "
            name = target_name(t, plan)
            name = name if len(name) <= 42 else name[:41] + "…"
            lines.append(f"{tag}{name:<44}{_target_cell(t, plan):<26}"
                         f"{format_estimate(e.probability, e.stderr):>13}"
                         + "".join(f"{value_text(t, qs[q], plan):>13}"
                                   for q in ("p05", "p50", "p95")))
        lines.append("-" * len(head))
        lines.append("(p05, p50, p95: 5% of the simulated runs end below the first, half below "
                     "the second, 95% below the third)")
        lines += ["", "Verdicts:"]
        lines += [f"  {verdict(t, self.probability(t.id), plan)}" for t in plan.targets]
        a, k = self.all_met(), self.all_key_results_met()
        lines.append(f"  All objectives together: {format_chance(a.probability, a.stderr)}")
        lines.append(f"  All key results together: {format_chance(k.probability, k.stderr)}")
        lines.append("")
        if "adaptive" in self.extra:
            ad = self.extra["adaptive"]
            lines.append(f"adaptive stopping: the 95% margin of error is "
                         f"{format_percent(ad['half_width'], digits=2)} (asked: "
                         f"{format_percent(ad['tolerance'], digits=2)}) after "
                         f"{', '.join(f'{s:,}' for s in ad['stages'])} simulated runs")
        if self.extra.get("anchor"):
            lines.append(anchor_text(self.extra["anchor"], cur))
        cap = self.capacity()
        if cap is not None and math.isfinite(cap["hours_planned"]):
            lines.append(capacity_text(cap))
        lines += self._rule_lines()
        for w in self.warnings:
            lines.append(f"warning: {w}")
        return "\n".join(lines)

    def _rule_lines(self) -> list[str]:
        """Each management rule in words: how often it triggers a year, what it costs."""
        out = []
        per_year = 12.0 / max(self.plan.horizon_months, 1)
        for _, r in self.rules().iterrows():
            times = r["fired_per_path"] * per_year
            count = f"{times:.0f}" if times >= 10 else f"{times:.1f}"
            out.append(f"{rule_name(self.plan, r['rule'])} triggers about {count} times a year "
                       f"across the team, costing "
                       f"{format_amount(r['cost_per_path'] * per_year, self.plan.currency)} "
                       f"a year")
        return out

    def __repr__(self) -> str:
        a = self.all_met()
        return (f"<SimulationResult {self.plan.name!r}: {self.n_paths} simulated runs, "
                f"seed {self.seed}, "
                f"P(all objectives met) = {a}>")

    # -- plots: filled from above by the plotting layer (res.plot("fan", ...), res.plot.fan())
    plot = AccessorSlot("plot")


#: the samplers in words (plain Monte Carlo goes unsaid)
_SAMPLERS = {"lhs": "Latin hypercube sampling", "sobol": "Sobol' quasi-Monte Carlo"}


def _target_cell(t: Objective, plan: Plan) -> str:
    """The target column: ``≥ 36.15 M CNY (+30%)``, ``≥ 90% at year end``."""
    return level_text(t, t.target, plan)


def _cat(arrays: Sequence[np.ndarray]) -> np.ndarray:
    """Concatenate, without copying a single array (the engine merges blocks in place)."""
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)


def capacity_text(cap: Mapping[str, float]) -> str:
    """The reps' hours in words (means per filled rep-month), from
    :meth:`SimulationResult.capacity`.

    Examples
    --------
    >>> capacity_text({"hours_available": 120.0, "hours_planned": 92.4,
    ...                "hours_executed": 92.4, "share_rep_months_capped": 0.0})
    "hours per rep and month: 120 available, 92 planned, 92 worked; the plan fits the reps' hours"
    """
    line = (f"hours per rep and month: {cap['hours_available']:.0f} available, "
            f"{cap['hours_planned']:.0f} planned, {cap['hours_executed']:.0f} worked")
    share = cap["share_rep_months_capped"]
    if share > 0:
        return line + f"; the plan asks for more hours than a rep has in " \
            f"{format_share(share)} of rep-months (what does not fit is dropped)"
    return line + "; the plan fits the reps' hours"


def anchor_text(anchor: Mapping[str, Any], currency: str = "") -> str:
    """What a run's parameter draws were anchored to, in words (``result.extra["anchor"]``).

    Examples
    --------
    >>> anchor_text({"figures": {"revenue": 27_810_000.0, "new_customers": 7.0}}, "CNY")
    "anchored to last year at last year's actions: revenue 27.81 M CNY, 7 new customers a month"
    """
    fig = anchor["figures"]
    parts = [f"revenue {format_amount(fig['revenue'], currency)}"]
    if "new_customers" in fig:
        parts.append(f"{fig['new_customers']:g} new customers a month")
    if "revisit_rate" in fig:
        parts.append(f"revisit rate {format_share(fig['revisit_rate'])}")
    assumed = anchor.get("assumed") or []
    whose = "last year's actions" + (f" (this plan's for {', '.join(assumed)})"
                                     if assumed else "")
    return f"anchored to last year at {whose}: " + ", ".join(parts)


def _diagnostic_warnings(diag: Mapping[str, float], n: int, plan: Plan) -> list[str]:
    out = []
    capped = diag.get("capacity_capped_rep_months", 0.0)
    if capped > 0:
        share = capped / max(diag.get("rep_months", 1.0), 1.0)
        out.append(f"capacity capped in {format_share(share)} of rep-months: the planned "
                   f"visits, training and coaching exceed "
                   f"{plan.team.selling_hours_per_month:g} selling hours")
    empty = diag.get("months_no_customers", 0.0)
    if empty > 0:
        out.append(f"{empty / n:.2f} months per simulated run had no customers; their revisit "
                   f"rate was skipped")
    return out
