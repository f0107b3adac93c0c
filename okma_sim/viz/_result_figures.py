"""Figures of one simulation: the fan chart of a metric, the probability bars, the histogram
of an objective's value and the achievability curve. They draw what the result holds (its
bands, estimates and per-path values) and compute no analysis of their own."""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from okma_sim._core.formatting import format_share
from okma_sim.results import achievability_curve as curve_of, achievable_target, target_label

from ._axes import format_metric_axis, legend_outside, new_axes, percent_axis
from ._labels import (YEAR_TO_DATE_METRICS, fmt_level, in_sentence, main_target,
                      metric_label, metric_name, percent_text, value_label)

__all__ = ["fan_chart", "probability_bars", "histogram", "achievability_curve"]


def fan_chart(result: Any, metric: str | None = None, *, ax=None, target: float | None = None,
              bands: Sequence[tuple[float, float]] = ((0.05, 0.95), (0.25, 0.75))):
    """Fan chart of a metric over the months: 90% and 50% bands, the median, and the target.
    The legend sits right of the Axes, never over the fan; metrics summed from the first month
    (revenue growth, revenue) say "year to date".

    Parameters
    ----------
    result : SimulationResult
    metric : str, optional
        Default: the first objective's metric.
    target : float, optional
        Default: :func:`~okma_sim.viz.main_target`, the target of the first objective or KR on
        this metric whose aggregate is ``final`` or ``mean``; otherwise none is drawn.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import okma_sim, matplotlib
    >>> matplotlib.use("Agg")
    >>> res = okma_sim.simulate(okma_sim.load_plan(okma_sim.case_study_path()), 500, seed=1)
    >>> ax = fan_chart(res, "revenue_growth")
    >>> ax.get_ylabel()
    'Revenue growth year to date vs last year (%)'
    """
    ax = new_axes(ax)
    plan = result.plan
    if metric is None:
        metric = plan.objectives[0].metric if plan.objectives else plan.key_results[0].metric
    qs = sorted({q for b in bands for q in b} | {0.5})
    df = result.bands(metric, qs)
    x = np.arange(len(df))
    labels = [str(m) for m in df.index]
    for (lo, hi), alpha in zip(bands, (0.2, 0.4)):
        ax.fill_between(x, df[f"p{round(lo * 100):02d}"], df[f"p{round(hi * 100):02d}"],
                        color="tab:blue", alpha=alpha, linewidth=0,
                        label=f"{round((hi - lo) * 100)}% of runs in this range",
                        gid=f"band_{lo}_{hi}")
    ax.plot(x, df["p50"], color="tab:blue", lw=2, label="median", gid="median")
    if target is None:
        target = main_target(plan, metric)
    if target is not None:
        ax.axhline(target, color="tab:red", ls="--", lw=1.5,
                   label=f"target {fmt_level(target, metric, plan.currency)}", gid="target")
    ax.set_xticks(x)
    ax.set_xticklabels(labels, rotation=45, ha="right")
    ax.set_xlabel("Month")
    ax.set_ylabel(metric_label(metric, plan.currency))
    format_metric_axis(ax, metric)
    to_date = " year to date" if metric in YEAR_TO_DATE_METRICS else ""
    ax.set_title(f"{plan.name}: {in_sentence(metric_name(metric))}{to_date}, "
                 f"{result.n_paths:,} simulated runs")
    legend_outside(ax)
    ax.grid(alpha=0.3)
    return ax


def probability_bars(result: Any, *, ax=None, confidence: float | None = 0.8):
    """The chance of meeting each objective and KR, then of all KRs and of all objectives
    together, with Monte Carlo error bars (±1.96 standard errors) and the confidence line.

    Bars are in plan order (objectives first), each labelled with its target as a manager
    states it (:func:`okma_sim.results.target_label`); their lengths are the probabilities.

    Parameters
    ----------
    result : SimulationResult
    confidence : float, optional
        Where the reference line is drawn (default 80%; None: no line).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import okma_sim, matplotlib
    >>> matplotlib.use("Agg")
    >>> res = okma_sim.simulate(okma_sim.load_plan(okma_sim.case_study_path()), 500, seed=1)
    >>> ax = probability_bars(res)
    >>> [t.get_text() for t in ax.get_yticklabels()][-2:]
    ['All key results', 'All objectives']
    """
    from matplotlib.patches import Patch
    ax = new_axes(ax)
    plan = result.plan
    df = result.probabilities()
    names = [target_label(t, plan) for t in plan.targets]
    p, se = list(df["probability"]), list(df["stderr"])
    colors = ["tab:blue" if k == "objective" else "tab:gray" for k in df["kind"]]
    for name, e, present in (("All key results", result.all_key_results_met, plan.key_results),
                             ("All objectives", result.all_met, plan.objectives)):
        if present:
            est = e()
            names.append(name)
            p.append(est.probability)
            se.append(est.stderr)
            colors.append("tab:green")
    y = np.arange(len(p))[::-1]
    half = 1.96 * np.asarray(se)
    ax.barh(y, p, xerr=half, color=colors, capsize=3, gid="bars")
    for yi, pi, hi in zip(y, p, half):
        ax.text(min(pi + hi + 0.01, 0.9), yi, percent_text(pi), va="center", fontsize="small")
    ax.set_yticks(y)
    ax.set_yticklabels(names)
    ax.set_xlim(0, 1)
    percent_axis(ax, "x")
    ax.set_xlabel("Chance of meeting the target (error bars: ±1.96 standard errors)")
    handles = [Patch(color="tab:blue", label="objective"),
               Patch(color="tab:gray", label="key result"),
               Patch(color="tab:green", label="all together")]
    if confidence is not None:
        handles.append(ax.axvline(confidence, color="tab:red", ls="--", lw=1,
                                  label=f"{percent_text(confidence)} confidence",
                                  gid="confidence"))
    legend_outside(ax, handles=handles)
    ax.set_title(f"{plan.name}: chance of meeting each target")
    ax.grid(axis="x", alpha=0.3)
    return ax


def histogram(result: Any, id: str | None = None, *, ax=None, bins: int = 50):
    """Histogram of an objective's (or KR's) aggregated metric, with the target and its
    chance.

    Examples
    --------
    >>> import okma_sim, matplotlib
    >>> matplotlib.use("Agg")
    >>> res = okma_sim.simulate(okma_sim.load_plan(okma_sim.case_study_path()), 500, seed=1)
    >>> ax = histogram(res, "revenue")
    >>> ax.lines[0].get_xdata()[0] == res.plan.target("revenue").target
    True
    """
    ax = new_axes(ax)
    plan = result.plan
    t = plan.target(id) if id is not None else plan.objectives[0]
    v = np.asarray(result.values[t.id], dtype=float)
    ok = np.isfinite(v)
    w = None
    if result.weights is not None:  # reweighted paths (review): heights in effective paths
        w = np.asarray(result.weights, dtype=float)[ok]
        w = w / w.sum() * ok.sum()
    ax.hist(v[ok], bins=bins, weights=w, color="tab:blue", alpha=0.7)
    ax.axvline(t.target, color="tab:red", ls="--", lw=2, gid="target")
    e = result.probability(t.id)
    ax.text(0.98, 0.95, f"chance met: {format_share(e.probability)} ± "
                        f"{format_share(e.stderr)}",
            transform=ax.transAxes, ha="right", va="top",
            bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"})
    ax.set_xlabel(value_label(t, plan.currency))
    ax.set_ylabel("Simulated runs")
    _value_axis(ax, t, "x")
    ax.set_title(f"{plan.name}: {target_label(t, plan)}")
    return ax


def _value_axis(ax, t: Any, axis: str) -> None:
    """Ticks of an objective's value: a share of months is a percentage, whatever the metric."""
    if t.aggregate == "share_of_months":
        percent_axis(ax, axis)
    else:
        format_metric_axis(ax, t.metric, axis)


def achievability_curve(result: Any, id: str | None = None, *, ax=None,
                        confidence: float | None = 0.8, levels: Sequence[float] | None = None,
                        curve: Any = None):
    """Target level against the probability of reaching it, with a ±1.96 SE band.

    The current target is marked with its probability, and so is the level achievable at the
    chosen confidence (the largest target met on at least that share of paths).

    Parameters
    ----------
    result : SimulationResult
    id : str, optional
        An objective or KR id (default: the first objective).
    confidence : float, optional
        Draw the confidence line and the achievable level (None: neither).
    levels : sequence of float, optional
        Target levels to evaluate (default: 41 quantiles of the simulated values from 1% to
        99%, plus the current target).
    curve : DataFrame, optional
        A precomputed :func:`okma_sim.results.achievability_curve` (columns ``target``,
        ``probability``, ``stderr``); default: computed from the result, at ``levels``.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import okma_sim, matplotlib
    >>> matplotlib.use("Agg")
    >>> res = okma_sim.simulate(okma_sim.load_plan(okma_sim.case_study_path()), 500, seed=1)
    >>> ax = achievability_curve(res, "revenue", confidence=0.8)
    >>> [l.get_gid() for l in ax.lines]
    ['curve', 'target', 'confidence', 'achievable', 'target_point']
    """
    ax = new_axes(ax)
    plan = result.plan
    t = plan.target(id) if id is not None else plan.targets[0]
    if curve is None:  # the results view computes the curve; this only draws it
        curve = curve_of(result, t.id, targets=levels)
    x = np.asarray(curve["target"], dtype=float)
    p = np.asarray(curve["probability"], dtype=float)
    se = np.asarray(curve["stderr"], dtype=float)
    ax.fill_between(x, np.clip(p - 1.96 * se, 0, 1), np.clip(p + 1.96 * se, 0, 1),
                    color="tab:blue", alpha=0.25, linewidth=0, gid="se_band",
                    label="±1.96 standard errors")
    ax.plot(x, p, color="tab:blue", lw=2, gid="curve", label="chance of meeting the target")
    e = result.probability(t.id)
    level_of = (percent_text if t.aggregate == "share_of_months"
                else lambda v: fmt_level(v, t.metric, plan.currency))
    ax.axvline(t.target, color="tab:red", ls="--", lw=1.5, gid="target",
               label=f"current target {level_of(t.target)}: "
                     f"{percent_text(e.probability)} chance ± {format_share(e.stderr)}")
    if confidence is not None:
        level = achievable_target(result, t.id, confidence)
        ax.axhline(confidence, color="tab:green", ls=":", lw=1.5, gid="confidence",
                   label=f"{percent_text(confidence)} confidence")
        if math.isfinite(level):
            ax.axvline(level, color="tab:green", ls="-", lw=1.2, gid="achievable",
                       label=f"achievable at {percent_text(confidence)}: {level_of(level)}")
    ax.plot([t.target], [e.probability], "o", color="tab:red", zorder=5, gid="target_point")
    ax.set_ylim(0, 1)
    percent_axis(ax, "y")
    _value_axis(ax, t, "x")
    ax.set_xlabel(f"Target: {in_sentence(value_label(t, plan.currency))}")
    ax.set_ylabel("Chance of meeting the target")
    ax.set_title(f"{plan.name}: how likely is each {in_sentence(metric_name(t.metric))} "
                 f"target ({'at least' if t.comparison == '>=' else 'at most'})?")
    ax.legend(loc="best", fontsize="small")
    ax.grid(alpha=0.3)
    return ax
