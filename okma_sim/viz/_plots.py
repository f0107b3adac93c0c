"""Plots (matplotlib). Every function takes ``ax=`` and returns the Axes it drew on.

Labels speak to a sales manager: metric names in words, units with the scenario's currency.
"""

from __future__ import annotations

import io
import math
from typing import Any, Mapping, Sequence

import numpy as np

__all__ = ["fan_chart", "probability_bars", "histogram", "achievability_curve", "tornado",
           "policy_comparison", "cost_frontier", "pit_histogram", "coverage_chart", "metric_label",
           "save_check_figures"]

_LABELS = {
    "revenue": "Revenue per month",
    "cumulative_revenue": "Cumulative revenue",
    "revenue_growth": "Revenue growth vs baseline year",
    "new_customers": "New customers per month",
    "active_customers": "Active customers",
    "revisited_customers": "Customers revisited per month",
    "revisit_rate": "Revisit rate",
    "churned_customers": "Customers lost per month",
    "csat": "CSAT (share satisfied)",
    "quarters_surveyed": "Quarters with a completed CSAT survey",
    "headcount": "Reps in seat",
    "cost": "Training and coaching cost per month",
}
PERCENT_METRICS = {"revenue_growth", "revisit_rate", "csat"}


def metric_label(metric: str, currency: str = "") -> str:
    """Human label of a metric, with its unit."""
    base = _LABELS.get(metric, metric.replace("_", " ").capitalize())
    if metric in ("revenue", "cumulative_revenue", "cost") and currency:
        base += f" ({currency})"
    elif metric in PERCENT_METRICS:
        base += " (%)"
    return base


def _ax(ax, figsize=(8, 4.5)):
    if ax is None:
        import matplotlib.pyplot as plt
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _percent_axis(ax, axis: str = "y") -> None:
    from matplotlib.ticker import PercentFormatter
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(PercentFormatter(1.0))


def _money_axis(ax, axis: str = "y") -> None:
    from matplotlib.ticker import FuncFormatter

    def fmt(x, _):
        ax_ = abs(x)
        if ax_ >= 1e6:
            return f"{x / 1e6:.1f}M"
        if ax_ >= 1e3:
            return f"{x / 1e3:.0f}k"
        return f"{x:.0f}"
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(FuncFormatter(fmt))


def _format_metric_axis(ax, metric: str, axis: str = "y") -> None:
    if metric in PERCENT_METRICS:
        _percent_axis(ax, axis)
    elif metric in ("revenue", "cumulative_revenue", "cost"):
        _money_axis(ax, axis)


#: how a target's comparison reads
SYMBOL = {">=": "≥", "<=": "≤"}


def main_target(plan: Any, metric: str) -> float | None:
    """The target a fan chart of ``metric`` draws: that of the first objective or KR on the
    metric whose aggregate is ``final`` or ``mean`` (a level the monthly path can be read
    against), else None.

    Examples
    --------
    >>> import okma_sim
    >>> main_target(okma_sim.load_plan(okma_sim.case_study_path()), "revenue_growth")
    0.3
    """
    return next((t.target for t in plan.targets
                 if t.metric == metric and t.aggregate in ("final", "mean")), None)


def fan_chart(result: Any, metric: str | None = None, *, ax=None, target: float | None = None,
              bands: Sequence[tuple[float, float]] = ((0.05, 0.95), (0.25, 0.75))):
    """Fan chart of a metric over the months: 90% and 50% bands, the median, and the target.

    Parameters
    ----------
    result : SimulationResult
    metric : str, optional
        Default: the first objective's metric.
    target : float, optional
        Default: the target of the first objective or KR on this metric whose aggregate is
        ``final`` (the level to reach by the end); otherwise none is drawn.

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
    'Revenue growth vs baseline year (%)'
    """
    ax = _ax(ax)
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
                        label=f"{round((hi - lo) * 100)}% band", gid=f"band_{lo}_{hi}")
    ax.plot(x, df["p50"], color="tab:blue", lw=2, label="median", gid="median")
    if target is None:
        target = main_target(plan, metric)
    if target is not None:
        ax.axhline(target, color="tab:red", ls="--", lw=1.5,
                   label=f"target {fmt_level(target, metric)}", gid="target")
    ax.set_xticks(x)
    ax.set_xticklabels(labels, rotation=45, ha="right")
    ax.set_xlabel("Month")
    ax.set_ylabel(metric_label(metric, plan.currency))
    _format_metric_axis(ax, metric)
    ax.set_title(f"{plan.name}: {metric_label(metric).split(' (')[0].lower()}, "
                 f"{result.n_paths:,} simulated paths")
    ax.legend(loc="best", fontsize="small")
    ax.grid(alpha=0.3)
    return ax


def probability_bars(result: Any, *, ax=None, confidence: float | None = None):
    """P(met) for every objective and KR, with Monte Carlo error bars (±1.96 SE).

    Bars are in plan order (objectives first); their heights are the probabilities.

    Examples
    --------
    >>> import okma_sim, matplotlib
    >>> matplotlib.use("Agg")
    >>> res = okma_sim.simulate(okma_sim.load_plan(okma_sim.case_study_path()), 500, seed=1)
    >>> ax = probability_bars(res)
    >>> len(ax.patches) == len(res.plan.targets) + 1
    True
    """
    ax = _ax(ax)
    df = result.probabilities()
    allm = result.all_met()
    names = [f"{'Objective' if k == 'objective' else 'KR'}: {i}"
             for i, k in zip(df["id"], df["kind"])] + ["All objectives"]
    p = list(df["probability"]) + [allm.probability]
    se = list(df["stderr"]) + [allm.stderr]
    colors = ["tab:blue" if k == "objective" else "tab:gray" for k in df["kind"]] + ["tab:green"]
    y = np.arange(len(p))[::-1]
    ax.barh(y, p, xerr=1.96 * np.asarray(se), color=colors, capsize=3, gid="bars")
    for yi, pi in zip(y, p):
        ax.text(min(pi + 0.02, 0.9), yi, f"{pi:.0%}", va="center", fontsize="small")
    ax.set_yticks(y)
    ax.set_yticklabels(names)
    ax.set_xlim(0, 1)
    _percent_axis(ax, "x")
    ax.set_xlabel("Probability of meeting the target (bars: ±1.96 standard errors)")
    if confidence is not None:
        ax.axvline(confidence, color="tab:red", ls="--", lw=1, label=f"{confidence:.0%} "
                   "confidence", gid="confidence")
        ax.legend(loc="lower right", fontsize="small")
    ax.set_title(f"{result.plan.name}: chance of meeting each target")
    ax.grid(axis="x", alpha=0.3)
    return ax


def histogram(result: Any, id: str | None = None, *, ax=None, bins: int = 50):
    """Histogram of an objective's (or KR's) aggregated metric, with the target and P(met).

    Examples
    --------
    >>> import okma_sim, matplotlib
    >>> matplotlib.use("Agg")
    >>> res = okma_sim.simulate(okma_sim.load_plan(okma_sim.case_study_path()), 500, seed=1)
    >>> ax = histogram(res, "revenue")
    >>> ax.lines[0].get_xdata()[0] == res.plan.target("revenue").target
    True
    """
    ax = _ax(ax)
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
    ax.text(0.98, 0.95, f"P(met) = {e.probability:.1%} ± {e.stderr:.1%}",
            transform=ax.transAxes, ha="right", va="top",
            bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"})
    ax.set_xlabel(f"{metric_label(t.metric, plan.currency)}, {t.aggregate} over the months")
    ax.set_ylabel("Simulated paths")
    _format_metric_axis(ax, t.metric, "x")
    ax.set_title(f"{t.id}: target {SYMBOL[t.comparison]} {fmt_level(t.target, t.metric)}")
    return ax


def achievable_level(result: Any, id: str, confidence: float) -> float:
    """The target achievable at ``confidence`` (see :func:`okma_sim.results.achievable_target`)."""
    from okma_sim.results import achievable_target
    return achievable_target(result, id, confidence)


def _curve_frame(result: Any, id: str, levels: Sequence[float] | None = None):
    """Achievability curve as a table with columns level, probability, stderr."""
    from okma_sim.results import achievability_curve as curve
    df = curve(result, id, targets=levels)
    return df.rename(columns={"target": "level"})


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
    ax = _ax(ax)
    plan = result.plan
    t = plan.target(id) if id is not None else plan.targets[0]
    df = curve.rename(columns={"target": "level"}) if curve is not None else \
        _curve_frame(result, t.id, levels)
    x = np.asarray(df["level"], dtype=float)
    p = np.asarray(df["probability"], dtype=float)
    se = np.asarray(df["stderr"], dtype=float)
    ax.fill_between(x, np.clip(p - 1.96 * se, 0, 1), np.clip(p + 1.96 * se, 0, 1),
                    color="tab:blue", alpha=0.25, linewidth=0, gid="se_band",
                    label="±1.96 standard errors")
    ax.plot(x, p, color="tab:blue", lw=2, gid="curve", label="P(target met)")
    e = result.probability(t.id)
    ax.axvline(t.target, color="tab:red", ls="--", lw=1.5, gid="target",
               label=f"current target {fmt_level(t.target, t.metric)}: "
                     f"P = {e.probability:.0%} ± {e.stderr:.1%}")
    if confidence is not None:
        level = achievable_level(result, t.id, confidence)
        ax.axhline(confidence, color="tab:green", ls=":", lw=1.5, gid="confidence",
                   label=f"{confidence:.0%} confidence")
        if math.isfinite(level):
            ax.axvline(level, color="tab:green", ls="-", lw=1.2, gid="achievable",
                       label=f"achievable at {confidence:.0%}: {fmt_level(level, t.metric)}")
    ax.plot([t.target], [e.probability], "o", color="tab:red", zorder=5, gid="target_point")
    ax.set_ylim(0, 1)
    _percent_axis(ax, "y")
    _format_metric_axis(ax, t.metric, "x")
    ax.set_xlabel(f"Target: {metric_label(t.metric, plan.currency).lower()}"
                  f"{'' if t.aggregate == 'final' else ', ' + t.aggregate + ' over the months'}")
    ax.set_ylabel("Probability of meeting the target")
    side = "at least" if t.comparison == ">=" else "at most"
    ax.set_title(f"{plan.name}: how likely is '{t.id}' {side} each level?")
    ax.legend(loc="best", fontsize="small")
    ax.grid(alpha=0.3)
    return ax


def fmt_level(x: float, metric: str) -> str:
    if metric in PERCENT_METRICS:
        return f"{x:.1%}"
    if abs(x) >= 1e6:
        return f"{x / 1e6:.2f}M"
    if abs(x) >= 1e4:
        return f"{x / 1e3:.0f}k"
    return f"{x:.3g}"


def cost_frontier(solve: Any, *, ax=None):
    """Cost of the cheapest plan found against the probability level it reaches (a step
    plot), with the verified answer marked; ``solve`` is a :class:`~okma_sim.analysis.SolveResult`.
    Returns the Axes."""
    ax = _ax(ax, figsize=(6, 4))
    # a level between two grid levels costs at most the higher one's cost: steps "pre"
    ax.step(solve.frontier["level"], solve.frontier["cost"], where="pre", color="C0",
            label="cheapest found")
    ax.plot([solve.probability], [solve.cost], "o", color="C3", label="answer (verified)")
    ax.set_xlabel("P(all objectives met) at least")
    ax.set_ylabel(f"cost{' (' + solve.plan.currency + ')' if solve.plan else ''}")
    ax.legend(loc="best", fontsize="small")
    return ax


def tornado(data: Any, *, ax=None, base: float | None = None, n: int | None = 12,
            outcome: str = "P(all objectives met)", probability: bool = True):
    """Tornado chart: how far the outcome swings when each parameter moves from low to high.

    Parameters
    ----------
    data : DataFrame or sequence of dicts
        One row per parameter with ``parameter``, ``p_low`` and ``p_high`` (the outcome with the
        parameter pinned at its low and its high value), as :func:`okma_sim.analysis.tornado`
        returns; ``low`` and ``high`` (the pinned values) label the bars when present. Rows are
        drawn largest swing on top.
    base : float or Estimate, optional
        The outcome with nothing pinned (the bars start there); default: ``data.attrs["base"]``
        if set (as ``sensitivity.tornado`` sets it), else the midpoint of each bar.
    n : int, optional
        Show only the ``n`` largest swings.
    outcome : str
        What the x axis measures.
    probability : bool
        Format the x axis as a percentage.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> rows = [{"parameter": "a", "p_low": 0.2, "p_high": 0.6},
    ...         {"parameter": "b", "p_low": 0.35, "p_high": 0.45}]
    >>> ax = tornado(rows, base=0.4)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['b', 'a']
    """
    import pandas as pd
    ax = _ax(ax)
    if base is None:
        base = getattr(data, "attrs", {}).get("base")
    base = getattr(base, "probability", base)  # an Estimate from sensitivity.tornado
    df = pd.DataFrame(data).copy()
    df["_swing"] = (df["p_high"] - df["p_low"]).abs()
    df = df.sort_values("_swing", ascending=False, kind="stable")
    if n is not None:
        df = df.head(n)
    df = df.iloc[::-1]  # barh draws bottom-up: largest swing on top
    y = np.arange(len(df))
    lo = df["p_low"].to_numpy(float)
    hi = df["p_high"].to_numpy(float)
    ref = np.full(len(df), base) if base is not None else (lo + hi) / 2
    ax.barh(y, lo - ref, left=ref, color="tab:orange", gid="low",
            label="parameter at its low value (p10)")
    ax.barh(y, hi - ref, left=ref, color="tab:blue", gid="high",
            label="parameter at its high value (p90)")
    if base is not None:
        ax.axvline(base, color="black", lw=1, gid="base", label=f"base {outcome}")
    names = []
    for _, r in df.iterrows():
        name = str(r["parameter"]).replace("_", " ")
        if "low" in df and "high" in df and pd.notna(r.get("low")) and pd.notna(r.get("high")):
            name += f"\n({_fmt_num(r['low'])} to {_fmt_num(r['high'])})"
        names.append(name)
    ax.set_yticks(y)
    ax.set_yticklabels(names if any("\n" in s for s in names) else
                       [str(p) for p in df["parameter"]], fontsize="small")
    if probability:
        _percent_axis(ax, "x")
    ax.set_xlabel(f"{outcome} when one parameter is pinned")
    ax.set_title("Which uncertainties move the outcome most")
    ax.legend(loc="lower right", fontsize="small")
    ax.grid(axis="x", alpha=0.3)
    return ax


def _fmt_num(x: float) -> str:
    x = float(x)
    if abs(x) >= 1e4:
        return f"{x / 1e3:.0f}k"
    return f"{x:.3g}"


def policy_comparison(results: Any, *, ax=None, ids: Sequence[str] | None = None):
    """P(met) under each policy (or scenario), side by side, with ±1.96 SE error bars.

    Parameters
    ----------
    results : PolicyComparison, mapping of name -> SimulationResult, or DataFrame
        Results to compare, e.g. from :func:`okma_sim.analysis.compare`. Runs under one seed
        (common random numbers) also get the paired difference in P(all objectives met) from
        the first, in the legend. Or a tidy table with columns ``scenario``, ``id``,
        ``probability``, ``stderr``.
    ids : sequence of str, optional
        Which rows to show (default: ``all_met`` then each objective). ``all_met`` means every
        objective met.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import okma_sim, matplotlib
    >>> matplotlib.use("Agg")
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> res = {"monthly": okma_sim.simulate(plan, 300, seed=1),
    ...        "none": okma_sim.simulate(plan.replace(management=okma_sim.plan.Management(0)),
    ...                                  300, seed=1)}
    >>> ax = policy_comparison(res)
    >>> ax.get_legend_handles_labels()[1][0]
    'monthly'
    """
    import pandas as pd
    ax = _ax(ax)
    if hasattr(results, "results") and hasattr(results, "names"):  # compare.PolicyComparison
        results = dict(zip(results.names, results.results))
    labels: dict[str, str] = {}
    if isinstance(results, Mapping):
        from okma_sim.analysis import paired_difference
        res_list = list(results.values())
        r0 = res_list[0]
        for name, res in list(results.items())[1:]:
            if res.n_paths == r0.n_paths and res.seed == r0.seed:
                d = paired_difference(res.all_met_flags(), r0.all_met_flags(),
                                      r0.replicate_index)
                labels[name] = (f"{name} (all objectives {d.probability * 100:+.1f} ± "
                                f"{d.stderr * 100:.1f} points vs {next(iter(results))})")
    if isinstance(results, Mapping):
        rows = []
        for name, res in results.items():
            a = res.all_met()
            rows.append({"scenario": name, "id": "all_met", "probability": a.probability,
                         "stderr": a.stderr})
            for t in res.plan.targets:
                e = res.probability(t.id)
                rows.append({"scenario": name, "id": t.id, "probability": e.probability,
                             "stderr": e.stderr})
        df = pd.DataFrame(rows)
        first = next(iter(results.values()))
        if ids is None:
            ids = ["all_met"] + [o.id for o in first.plan.objectives]
    else:
        df = pd.DataFrame(results)
        if ids is None:
            ids = list(dict.fromkeys(df["id"]))
    names = list(dict.fromkeys(df["scenario"]))
    k = len(names)
    height = 0.8 / max(k, 1)
    y0 = np.arange(len(ids))[::-1].astype(float)
    for j, name in enumerate(names):
        sub = df[df["scenario"] == name].set_index("id")
        p = np.array([sub["probability"].get(i, np.nan) for i in ids], dtype=float)
        se = np.array([sub["stderr"].get(i, np.nan) for i in ids], dtype=float)
        y = y0 + 0.4 - height * (j + 0.5)
        ax.barh(y, p, height=height * 0.95, xerr=1.96 * se, capsize=2,
                label=labels.get(name, str(name)), gid=f"policy_{j}")
    ax.set_yticks(y0)
    ax.set_yticklabels(["All objectives" if i == "all_met" else str(i) for i in ids])
    ax.set_xlim(0, 1)
    _percent_axis(ax, "x")
    ax.set_xlabel("Probability of meeting the target (bars: ±1.96 standard errors)")
    ax.set_title("Management policies compared under common random numbers")
    ax.legend(loc="lower right", fontsize="small")
    ax.grid(axis="x", alpha=0.3)
    return ax


def pit_histogram(pit: Any, *, ax=None, bins: int = 10, label: str | None = None):
    """Histogram of backtest PIT values (the forecast CDF at what actually happened).

    A calibrated forecast gives PIT values spread evenly over [0, 1]; a U shape means the
    intervals are too narrow, a hump means too wide, a slope means bias. The shaded band is where
    95% of bin heights fall for a calibrated forecast (binomial).

    Parameters
    ----------
    pit : array-like of float in [0, 1], or BacktestResult
        PIT values; a :class:`okma_sim.inference.BacktestResult` gives those of all its
        metric-months.
    bins : int
        Equal-width bins over [0, 1].

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib, numpy as np
    >>> matplotlib.use("Agg")
    >>> ax = pit_histogram(np.linspace(0.05, 0.95, 10), bins=5)
    >>> [round(float(p.get_height()), 3) for p in ax.patches if p.get_gid() == "pit"]
    [1.0, 1.0, 1.0, 1.0, 1.0]
    """
    ax = _ax(ax)
    if hasattr(pit, "entries"):  # a backtest.BacktestResult: every metric-month's PIT
        pit = [e["pit"] for e in pit.entries if e.get("pit") is not None]
    u = np.asarray(pit, dtype=float)
    u = u[np.isfinite(u)]
    n = u.size
    edges = np.linspace(0, 1, bins + 1)
    counts, _ = np.histogram(u, bins=edges)
    dens = counts / max(n, 1) * bins
    bars = ax.bar(edges[:-1], dens, width=1 / bins, align="edge", color="tab:blue", alpha=0.7,
                  edgecolor="white", label=label or f"{n} forecasts")
    for b in bars:
        b.set_gid("pit")
    if n:
        half = 1.96 * math.sqrt((1 / bins) * (1 - 1 / bins) / n) * bins
        ax.axhspan(max(0.0, 1 - half), 1 + half, color="gray", alpha=0.2, gid="band",
                   label="95% range if calibrated")
    ax.axhline(1.0, color="black", lw=1, gid="uniform", label="perfectly calibrated")
    ax.set_xlim(0, 1)
    ax.set_xlabel("PIT: where the actual fell in the forecast distribution")
    ax.set_ylabel("Density")
    ax.set_title("Backtest calibration (flat is good)")
    ax.legend(loc="upper center", fontsize="small")
    return ax


def coverage_chart(coverage: Mapping[Any, float], *, ax=None, n: int | None = None):
    """Nominal against observed coverage of the backtest's central intervals.

    Parameters
    ----------
    coverage : mapping of nominal level -> observed share, or BacktestResult
        Levels as fractions (0.8) or percent keys (``"80"``, as in ``backtest --json``); a
        :class:`okma_sim.inference.BacktestResult` gives its pooled coverage and ``n``.
    n : int, optional
        How many forecasts each share is over; draws ±1.96 binomial SE around the nominal level,
        the range a calibrated forecast would show.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = coverage_chart({"50": 0.45, "80": 0.78, "95": 0.96}, n=120)
    >>> ax.lines[1].get_ydata().tolist()
    [0.45, 0.78, 0.96]
    """
    ax = _ax(ax)
    if hasattr(coverage, "entries") and hasattr(coverage, "coverage"):  # BacktestResult
        if n is None:
            n = sum(1 for e in coverage.entries
                    if e.get("pit") is not None and np.isfinite(e["pit"]))
        coverage = coverage.coverage
    nominal = []
    for k in coverage:
        x = float(k)
        nominal.append(x / 100 if x > 1 else x)
    observed = [float(v) for v in coverage.values()]
    order = np.argsort(nominal)
    nom = np.asarray(nominal)[order]
    obs = np.asarray(observed)[order]
    ax.plot([0, 1], [0, 1], color="gray", lw=1, ls="--", gid="diagonal",
            label="perfect calibration")
    ax.plot(nom, obs, "o-", color="tab:blue", lw=2, gid="observed", label="observed coverage")
    if n:
        se = np.sqrt(nom * (1 - nom) / n)
        ax.errorbar(nom, nom, yerr=1.96 * se, fmt="none", ecolor="gray", capsize=4,
                    gid="expected", label=f"±1.96 SE if calibrated (n = {n})")
    for x, y in zip(nom, obs):
        ax.annotate(f"{y:.0%}", (x, y), textcoords="offset points", xytext=(6, -12),
                    fontsize="small")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    _percent_axis(ax, "x")
    _percent_axis(ax, "y")
    ax.set_xlabel("Nominal interval (e.g. the 80% interval)")
    ax.set_ylabel("Share of actuals inside the interval")
    ax.set_title("Do the intervals hold? Backtest coverage")
    ax.legend(loc="upper left", fontsize="small")
    ax.grid(alpha=0.3)
    return ax


def save_png(fig, path, *, overwrite: bool = False, dpi: int = 110, **kwargs):
    """Render a figure to PNG and write it atomically (never half-written; no overwrite
    unless asked), then close it. Returns the path."""
    import matplotlib.pyplot as plt

    from okma_sim._core.files import atomic_write
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, **kwargs)
    plt.close(fig)
    atomic_write(path, buf.getvalue(), overwrite=overwrite)
    return path


def save_check_figures(result: Any, paths: Sequence, *, overwrite: bool = False) -> list:
    """The fan chart of the main objective and the probability bars, as PNG (atomically)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for path, draw in zip(paths, (fan_chart, probability_bars)):
        fig, ax = plt.subplots(figsize=(9, 5))
        draw(result, ax=ax)
        fig.tight_layout()
        written.append(save_png(fig, path, overwrite=overwrite))
    return written
