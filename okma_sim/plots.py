"""Plots (matplotlib). Every function takes ``ax=`` and returns the Axes it drew on.

Labels speak to a sales manager: metric names in words, units with the scenario's currency.
"""

from __future__ import annotations

import io
from typing import Any, Sequence

import numpy as np

__all__ = ["fan_chart", "probability_bars", "histogram", "metric_label", "save_check_figures"]

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
_PERCENT = {"revenue_growth", "revisit_rate", "csat"}


def metric_label(metric: str, currency: str = "") -> str:
    """Human label of a metric, with its unit."""
    base = _LABELS.get(metric, metric.replace("_", " ").capitalize())
    if metric in ("revenue", "cumulative_revenue", "cost") and currency:
        base += f" ({currency})"
    elif metric in _PERCENT:
        base += " (%)"
    return base


def _ax(ax):
    if ax is None:
        import matplotlib.pyplot as plt
        _, ax = plt.subplots(figsize=(8, 4.5))
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
    if metric in _PERCENT:
        _percent_axis(ax, axis)
    elif metric in ("revenue", "cumulative_revenue", "cost"):
        _money_axis(ax, axis)


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
        for t in plan.targets:
            if t.metric == metric and t.aggregate in ("final", "mean"):
                target = t.target
                break
    if target is not None:
        ax.axhline(target, color="tab:red", ls="--", lw=1.5, label=f"target {target:g}",
                   gid="target")
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
    v = result.values[t.id]
    v = v[np.isfinite(v)]
    ax.hist(v, bins=bins, color="tab:blue", alpha=0.7)
    ax.axvline(t.target, color="tab:red", ls="--", lw=2, gid="target")
    e = result.probability(t.id)
    ax.text(0.98, 0.95, f"P(met) = {e.probability:.1%} ± {e.stderr:.1%}",
            transform=ax.transAxes, ha="right", va="top",
            bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"})
    ax.set_xlabel(f"{metric_label(t.metric, plan.currency)}, {t.aggregate} over the months")
    ax.set_ylabel("Simulated paths")
    _format_metric_axis(ax, t.metric, "x")
    ax.set_title(f"{t.id}: target {t.comparison} {t.target:g}")
    return ax


def save_check_figures(result: Any, paths: Sequence, *, overwrite: bool = False) -> list:
    """The fan chart of the main objective and the probability bars, as PNG (atomically)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plan import atomic_write
    written = []
    for path, draw in zip(paths, (fan_chart, probability_bars)):
        fig, ax = plt.subplots(figsize=(9, 5))
        draw(result, ax=ax)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110)
        plt.close(fig)
        atomic_write(path, buf.getvalue(), overwrite=overwrite)
        written.append(path)
    return written
