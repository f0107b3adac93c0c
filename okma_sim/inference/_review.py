"""Mid-period review: re-forecast a plan from the actuals so far.

Given the rep-month actuals of the first ``T`` months, :func:`review`

1. checks them against the plan (months from ``start_month`` on, no gaps, in order, within the
   horizon; reps known to the roster unless ``team.allow_new_hires``:
   :func:`okma_sim.io.load_actuals`);
2. rebuilds the model's state at the start of month ``T + 1``: seats, tenure, customers, the
   training stock, the management rules' running responses (replayed on the actuals with the
   model's own review code), year-to-date revenue, the last CSAT and the quarters surveyed
   (``_review_replay``);
3. updates the parameter uncertainty with the year-to-date data by importance sampling and
   reports the effective sample size (ESS), warning when it collapses (``_review_posterior``
   states the update; the likelihood terms are in ``_review_likelihood``);
4. simulates only the remaining months, with the observed months prepended before the KR and
   objective aggregates are taken, and sets the importance weights on the result;
5. compares every P(met) with the plan-time P (the plan simulated from scratch with the same
   seed and paths), lists the KRs and objectives at risk and the reps behind a KR's pace
   (``_review_flags``), and searches for the cheapest lever change that restores P(all
   objectives met) (``_review_recommend``).

When the actuals cover the whole horizon there is nothing to simulate: the observed verdicts
are reported (probability 1 or 0, standard error 0). ``result.params`` shows the draws used.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from okma_sim._core.errors import OkmaError
from okma_sim._core.formatting import (format_chance, format_estimate, format_number,
                                       format_percent)
from okma_sim._core.seeds import normalize_seed
from okma_sim.engine import simulate
from okma_sim.io import Actuals, load_actuals
from okma_sim.models import get_model
from okma_sim.plan import KeyResult, Plan
from okma_sim.results import Estimate, SimulationResult, aggregate, target_name, value_text

from ._review_explain import _driver_metrics, _explanation_lines, explanations
from ._review_flags import _at_risk, flag_reps
from ._review_likelihood import LIKELIHOOD_TERMS
from ._review_posterior import _collapse_warning
from ._review_recommend import _recommend
from ._review_replay import observed_metrics, observed_state

__all__ = ["ReviewResult", "review"]


@dataclass(frozen=True)
class ReviewResult:
    """A mid-period review. Build it with :func:`review`.

    Attributes
    ----------
    plan : Plan
    months_observed : int
    observed : dict of metric -> ndarray (months observed,)
        The team's observed monthly metrics.
    to_date : dict of id -> float
        Each objective's and KR's aggregate over the observed months only.
    result : SimulationResult or None
        The re-forecast: observed months followed by simulated ones, weighted by the
        importance weights (None when the actuals cover the horizon).
    plan_result : SimulationResult or None
        The plan simulated from scratch with the same seed and paths (plan-time P).
    ess : float or None
        Effective sample size of the importance weights, ``(sum w)^2 / sum w^2``.
    ess_by_term : dict
        The ESS each likelihood term's weights alone would give (which data are sharp).
    at_risk : list of str
        Objectives and KRs whose probability is below ``risk_threshold`` or fell by more
        than ``risk_drop`` since plan time.
    reps_flagged : DataFrame
        :func:`flag_reps`.
    recommendation : dict or None
        The cheapest lever change found that restores P(all objectives met) (see
        :func:`review`).
    warnings : list of str
    """

    plan: Plan
    months_observed: int
    observed: Mapping[str, np.ndarray]
    to_date: Mapping[str, float]
    result: SimulationResult | None
    plan_result: SimulationResult | None
    ess: float | None
    ess_by_term: Mapping[str, float]
    at_risk: list[str]
    reps_flagged: pd.DataFrame
    recommendation: Mapping[str, Any] | None
    warnings: list[str]
    risk_threshold: float
    risk_drop: float
    n_paths: int
    seed: int
    rules_fired: Mapping[str, float] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Whether the actuals cover the whole horizon (verdicts observed, nothing simulated)."""
        return self.result is None

    def met(self, id: str) -> bool | None:
        """The observed verdict at full horizon (None before)."""
        if not self.complete:
            return None
        return bool(self.plan.target(id).met(np.array([self.to_date[id]]))[0])

    def probability(self, id: str) -> Estimate:
        """P(met) given the actuals (1 or 0 with stderr 0 at full horizon)."""
        if self.complete:
            return Estimate(float(self.met(id)), 0.0, 1)
        return self.result.probability(id)

    def plan_probability(self, id: str) -> Estimate | None:
        return None if self.plan_result is None else self.plan_result.probability(id)

    def all_met(self) -> Estimate:
        if self.complete:
            return Estimate(float(all(self.met(o.id) for o in self.plan.objectives)), 0.0, 1)
        return self.result.all_met()

    def probabilities(self) -> pd.DataFrame:
        """One row per objective and KR: probability and stderr now, at plan time, the change,
        the value to date, and whether it is at risk."""
        rows = []
        for t in self.plan.targets:
            e = self.probability(t.id)
            p0 = self.plan_probability(t.id)
            rows.append({"id": t.id, "kind": "key_result" if isinstance(t, KeyResult)
                         else "objective", "metric": t.metric, "target": t.target,
                         "to_date": self.to_date.get(t.id, math.nan),
                         "probability": e.probability, "stderr": e.stderr,
                         "plan_probability": None if p0 is None else p0.probability,
                         "plan_stderr": None if p0 is None else p0.stderr,
                         "change": None if p0 is None else e.probability - p0.probability,
                         "at_risk": t.id in self.at_risk})
        return pd.DataFrame(rows)

    def to_json_dict(self) -> dict[str, Any]:
        """The ``review --json`` document (without the common CLI keys)."""
        def entry(t) -> dict[str, Any]:
            e = self.probability(t.id)
            p0 = self.plan_probability(t.id)
            d = {"id": t.id, "probability": e.probability,
                 "plan_probability": None if p0 is None else p0.probability,
                 "stderr": e.stderr, "plan_stderr": None if p0 is None else p0.stderr,
                 "metric": t.metric, "target": t.target, "to_date": self.to_date.get(t.id)}
            if self.complete:
                d["met"] = self.met(t.id)
            return d

        a = self.all_met()
        p0 = None if self.plan_result is None else self.plan_result.all_met()
        return {
            "months_observed": self.months_observed,
            "complete": self.complete,
            "objectives": [entry(o) for o in self.plan.objectives],
            "key_results": [entry(k) for k in self.plan.key_results],
            "all_met": {**a.to_dict(), "plan_probability": None if p0 is None
                        else p0.probability, "plan_stderr": None if p0 is None else p0.stderr},
            "at_risk": list(self.at_risk),
            "risk_threshold": self.risk_threshold,
            "risk_drop": self.risk_drop,
            "reps_flagged": self.reps_flagged.to_dict(orient="records"),
            "recommendation": None if self.recommendation is None else dict(
                self.recommendation),
            "effective_sample_size": self.ess,
            "effective_sample_size_by_term": dict(self.ess_by_term),
            "rules_fired_observed": dict(self.rules_fired),
            "explanations": explanations(self),
        }

    def table(self) -> str:
        """A readable review."""
        cur = self.plan.currency
        T, H = self.months_observed, self.plan.horizon_months
        head = (f"{self.plan.name}: review after {T} of {H} months")
        lines = [head + (" (complete: observed verdicts)" if self.complete else
                         f", {self.n_paths:,} simulated runs, seed {self.seed}"), ""]
        df = self.probabilities()
        if self.complete:
            for _, r in df.iterrows():
                tag = "O " if r["kind"] == "objective" else "KR"
                verdict = "met" if self.met(r["id"]) else "MISSED"
                lines.append(f"{tag} {r['id']:<22} {_figure(r['to_date']):>12}  target "
                             f"{_figure(r['target']):<8} {verdict}")
        else:
            lines += self._chance_lines()
        if len(self.reps_flagged):
            lines += ["", "reps behind a KR's pace (monthly value vs per-rep pace):"]
            for _, r in self.reps_flagged.iterrows():
                lines.append(f"  {r['rep_id']:<10} {r['key_result']:<18} "
                             f"{_figure(r['value']):>9} vs {_figure(r['target'])}")
        rec = self.recommendation
        if rec is not None:
            lines.append("")
            if not rec["actions"]:
                lines.append(f"recommendation: no change needed ({rec.get('note', '')})")
            else:
                ch = ", ".join(f"{k} {rec['from'][k]:g} -> {v:g}"
                               for k, v in rec["actions"].items())
                ok = "restores" if rec["reached"] else "does not reach"
                money = (f"+{rec['cost']:,.0f} {cur}" if rec["cost"] >= 0
                         else f"saves {-rec['cost']:,.0f} {cur}")
                lines.append(f"recommendation: {ch} for the remaining months "
                             f"({money}); all objectives together: "
                             f"{format_chance(rec['probability'], rec['stderr'])}; {ok} the "
                             f"goal of {format_percent(rec['goal'])}")
        if not self.complete:
            lines += _explanation_lines(self)
        for w in self.warnings:
            lines.append(f"warning: {w}")
        return "\n".join(lines)

    def _chance_lines(self) -> list[str]:
        """The table of chances at plan time and now, in %, with the update's effective
        sample size in words."""
        plan = self.plan
        h = (f"   {'objective / key result':<44}{'so far':>11}  {'at plan time':>14}  "
             f"{'now':>14}  {'change':>7}")
        lines = [h, "-" * len(h)]
        for t in plan.targets:
            e, e0 = self.probability(t.id), self.plan_probability(t.id)
            tag = "KR" if isinstance(t, KeyResult) else "O "
            name = target_name(t, plan)
            name = name if len(name) <= 42 else name[:41] + "…"
            risk = "  AT RISK" if t.id in self.at_risk else ""
            lines.append(f"{tag} {name:<44}"
                         f"{value_text(t, self.to_date.get(t.id, math.nan), plan, raw=True):>11}"
                         f"  {format_estimate(e0.probability, e0.stderr):>14}  "
                         f"{format_estimate(e.probability, e.stderr):>14}  "
                         f"{format_percent(e.probability - e0.probability, signed=True):>7}"
                         f"{risk}")
        a, a0 = self.all_met(), self.plan_result.all_met()
        lines.append("-" * len(h))
        lines.append(f"All objectives together: {format_percent(a0.probability)} at plan time, "
                     f"now {format_chance(a.probability, a.stderr)}")
        lines.append(f"effective sample size of the update: {self.ess:,.0f} of "
                     f"{self.n_paths:,} simulated runs (the actuals leave as much information "
                     f"as {self.ess:,.0f} equally likely runs: the fewer, the less precise the "
                     f"re-forecast)")
        return lines


def _figure(x: float) -> str:
    """:func:`format_number` for the table's values, which mix counts, rates and growth: no
    trailing zeros (9.8 new customers a month, not 9.800), and a non-zero value its three
    decimals would show as 0 in two significant digits (growth 0.0004, not 0.000)."""
    text = format_number(x)
    if "." in text and text[-1].isdigit():  # not 36.15M or 12.3k
        text = text.rstrip("0").rstrip(".")
    if text in ("0", "-0") and x != 0:
        text = f"{x:.2g}"
    return text


def _check_unit(x: Any, name: str, *, open_low: bool = False) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float, np.floating)) or \
            not math.isfinite(x) or not 0 <= x <= 1 or (open_low and x == 0):
        raise ValueError(f"'{name}' must be a number in [0, 1], got {x!r}")
    return float(x)


def review(plan: Plan, actuals: str | os.PathLike | Actuals, *, n_paths: int | None = None,
           seed: Any = None, model: Any = None, sampler: str | None = None,
           risk_threshold: float = 0.5, risk_drop: float = 0.15,
           confidence: float | None = None, recommend: bool = True,
           search_paths: int = 2048, max_steps: int = 16,
           likelihood: Sequence[str] = LIKELIHOOD_TERMS, candidates: int = 16,
           executor: Any = None, progress: bool | None = None) -> ReviewResult:
    """Re-forecast a plan from the actuals of the months done so far.

    Parameters
    ----------
    plan : Plan
    actuals : path-like or Actuals
        The rep-month CSV of the months done (from ``start_month``, no gaps).
    n_paths, seed, sampler, executor, progress :
        As in :func:`okma_sim.simulate` (defaults: the plan's ``[simulation]``), sharing the
        seed (common random numbers); ``progress`` shows a bar of the review's steps instead.
    risk_threshold : float
        A KR or objective is at risk when its probability is below this ...
    risk_drop : float
        ... or fell by more than this since plan time.
    confidence : float, optional
        The goal of the recommendation: P(all objectives met) >= confidence. Default: the
        plan-time P(all objectives met).
    recommend : bool
        Search for a lever change (the slow part).
    search_paths, max_steps : int
        Paths per search evaluation, and the most steps of the search.
    likelihood : sequence of str
        The data to condition on (:data:`LIKELIHOOD_TERMS`).
    candidates : int
        Prior candidates per path for parameters local to one likelihood term (module
        docstring); 1 gives plain importance reweighting of the engine's draws.

    Returns
    -------
    ReviewResult

    Notes
    -----
    **Recommendation.** ``okma_sim.analysis.solve_actions`` cannot resume from an observed
    state, so the search is a greedy one over the plan's ``[levers]`` (their bounds and unit
    costs), under common random numbers (the resumed state, the posterior draws, the weights
    and the seed are shared by every evaluation):

    1. on the first ``search_paths`` paths, from the current actions, each step moves one lever
       up or down by its ``step`` (default: 1, 2, 2.5 or 5 times a power of ten near an eighth
       of its range), choosing the move with the largest gain in P(all objectives met) per
       unit of extra cost (a move that gains and costs nothing first), until P reaches the
       goal or no move gains;
    2. once there, it steps down whatever saves most while P stays at the goal;
    3. the result is re-simulated on all paths; if it falls short there, steps 1-2 go on with
       all paths. At most ``max_steps`` steps in all: a search cut short by that budget says
       so (``steps``, ``out_of_steps``, the note and a warning), since it may have stopped
       short of the goal or of a cheaper change.

    The ``probability`` reported is the re-forecast at the recommended actions on all paths.
    Its ``cost`` is the extra cost over the remaining months: each lever's ``unit_cost`` (the
    cost of one unit of level over the horizon) x the change x the share of the horizon left,
    plus the change in the expected ``cost`` metric (priced training and coaching hours, rule
    costs).

    Examples
    --------
    >>> import okma_sim
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> rv = review(plan, okma_sim.data_path("case_study_actuals.csv"), n_paths=2000, seed=1,
    ...             recommend=False)
    >>> rv.months_observed, 0 <= rv.all_met().probability <= 1
    (5, True)
    """
    model = _check_model(plan, model)
    risk_threshold = _check_unit(risk_threshold, "risk_threshold")
    risk_drop = _check_unit(risk_drop, "risk_drop")
    if confidence is not None:
        confidence = _check_unit(confidence, "confidence", open_low=True)
    act = actuals if isinstance(actuals, Actuals) else load_actuals(actuals, plan, model=model)
    obs = observed_metrics(plan, act)
    T = act.T
    to_date = _to_date(plan, obs)
    flags = flag_reps(plan, act)
    warn = _data_warnings(plan, act, obs)
    if n_paths is None:
        n_paths = plan.simulation.paths or 10_000
    seed_int = normalize_seed(plan.simulation.seed if seed is None else seed)
    common = dict(plan=plan, months_observed=T, observed=obs, to_date=to_date,
                  reps_flagged=flags, risk_threshold=risk_threshold, risk_drop=risk_drop)
    if T >= plan.horizon_months:
        probs = {t.id: float(plan.target(t.id).met(np.array([to_date[t.id]]))[0])
                 for t in plan.targets}
        return ReviewResult(**common, result=None, plan_result=None, ess=None, ess_by_term={},
                            at_risk=_at_risk(plan, probs, {}, risk_threshold, risk_drop),
                            recommendation=None, warnings=warn, n_paths=0, seed=seed_int)

    with _steps_bar(progress, 4 if recommend else 3) as bar:
        kw = dict(n_paths=int(n_paths), seed=seed_int, model=model, sampler=sampler,
                  executor=executor, progress=False if bar is not None else progress)
        _step(bar, "simulating the plan as made")
        plan_res = simulate(plan, **kw)
        fc = _reforecast(plan, act, obs, model, plan_res, kw, n_paths, likelihood, candidates,
                         warn, bar)
        res = fc.result
        warn = list(res.warnings)
        rec = None
        if recommend:
            _step(bar, "searching for a lever change")
            goal = plan_res.all_met().probability if confidence is None else confidence
            rec = _recommend(plan, model, fc.state, fc.pvals, fc.weights, fc.observed,
                             fc.keep, goal, res, kw, int(search_paths), int(max_steps), T,
                             warn)
    probs = {t.id: res.probability(t.id).probability for t in plan.targets}
    plan_probs = {t.id: plan_res.probability(t.id).probability for t in plan.targets}
    return ReviewResult(**common, result=res, plan_result=plan_res, ess=fc.ess,
                        ess_by_term=fc.info["ess_by_term"],
                        at_risk=_at_risk(plan, probs, plan_probs, risk_threshold, risk_drop),
                        recommendation=rec, warnings=warn, n_paths=int(n_paths),
                        seed=seed_int, rules_fired=fc.info["rules_fired"])


@contextlib.contextmanager
def _steps_bar(progress: bool | None, total: int) -> Iterator[Any]:
    """A tqdm bar of the review's steps on stderr, closed at the end, or None (default: on a
    terminal)."""
    if not (progress if progress is not None else sys.stderr.isatty()):
        yield None
        return
    from tqdm.auto import tqdm
    bar = tqdm(total=total, unit="step", desc="reviewing", leave=False, file=sys.stderr,
               bar_format="{desc} [{elapsed}]")
    try:
        yield bar
    finally:
        bar.close()


def _step(bar: Any, what: str) -> None:
    """Mark the previous step done (none before the first) and show the next one."""
    if bar is None:
        return
    if bar.desc != "reviewing":
        bar.update()
    bar.set_description_str(f"reviewing, step {bar.n + 1} of {bar.total}: {what}")


def _check_model(plan: Plan, model: Any) -> Any:
    """The model to review with: the sales-team model (the plan's by default)."""
    if not isinstance(plan, Plan):
        raise TypeError(f"'plan' must be a Plan, got {type(plan).__name__}")
    model = get_model(plan.model) if model is None else model
    if getattr(model, "name", None) != "sales_team":
        raise OkmaError("the mid-period review needs the sales-team model (its state and "
                        "likelihood are the sales model's)", key="model",
                        value=getattr(model, "name", type(model).__name__))
    return model


def _to_date(plan: Plan, obs: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Each objective's and KR's aggregate over the observed months (NaN when its metric
    cannot be computed from the actuals)."""
    to_date = {}
    for t in plan.targets:
        if t.metric in obs:
            to_date[t.id] = float(aggregate(obs[t.metric][None, :], t.aggregate, t.threshold,
                                            t.comparison)[0])
        else:
            to_date[t.id] = math.nan
    return to_date


def _data_warnings(plan: Plan, act: Actuals, obs: Mapping[str, np.ndarray]) -> list[str]:
    """Warnings about what the actuals cannot inform."""
    warn: list[str] = []
    missing = sorted({t.metric for t in plan.targets if t.metric not in obs})
    if missing:
        warn.append(f"metric(s) {', '.join(missing)} cannot be computed from the actuals: "
                    "their aggregates cover the simulated months only")
    skipped = int(((act.cols["prospect_visits"] == 0) & act.worked
                   & (act.cols["new_customers"] > 0)).sum())
    if skipped:
        warn.append(f"{skipped} rep-months won customers without prospect visits; the model "
                    "cannot explain them, so they were left out of the update")
    return warn


@dataclass(frozen=True)
class _Reforecast:
    """The re-forecast and what the recommendation search resumes from."""

    result: SimulationResult
    state: Any
    pvals: Mapping[str, np.ndarray]
    weights: np.ndarray
    observed: Mapping[str, np.ndarray]
    keep: tuple[str, ...]
    ess: float
    info: Mapping[str, Any]


def _reforecast(plan: Plan, act: Actuals, obs: Mapping[str, np.ndarray], model: Any,
                plan_res: SimulationResult, kw: Mapping[str, Any], n_paths: int,
                likelihood: Sequence[str], candidates: int, warn: list[str],
                bar: Any = None) -> _Reforecast:
    """The update from the plan-time draws, and the remaining months simulated from the
    observed state (observed months prepended, importance weights set). The ESS warning is
    appended to ``warn``, and all of ``warn`` to the result's warnings."""
    # plan_res.params are the engine's prior draws for this seed (the update's starting point)
    _step(bar, "updating with the actuals")
    st, post, w, info = observed_state(plan, act, plan_res.params, model=model,
                                       seed=kw["seed"], likelihood=likelihood,
                                       candidates=candidates)
    ess = float(info["ess"])
    collapsed = _collapse_warning(ess, n_paths)
    if collapsed:
        warn.append(collapsed)
    observed = {k: v for k, v in obs.items() if k in model.metrics}
    observed["cost"] = obs["training_hours"] * plan.team.hourly_cost + info["rule_money"]
    if "coaching_hours" in model.metrics:
        observed["coaching_hours"] = info["coaching_hours"]
    keep = tuple(dict.fromkeys([t.metric for t in plan.targets] + ["revenue", "cost"]
                               + _driver_metrics(plan, model)))
    pvals = {k: post[k].to_numpy() for k in post.columns}
    _step(bar, "re-forecasting the months left")
    res = simulate(plan, initial_state=st, observed=observed, parameter_values=pvals,
                   keep_monthly=keep, **kw)
    res = dataclasses.replace(res, weights=w, warnings=list(res.warnings) + warn,
                              extra={**res.extra, "ess": ess, "months_observed": act.T})
    return _Reforecast(result=res, state=st, pvals=pvals, weights=w, observed=observed,
                       keep=keep, ess=ess, info=info)
