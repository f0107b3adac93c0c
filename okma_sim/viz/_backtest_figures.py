"""Figures of a backtest: the PIT histogram and the coverage of its central intervals."""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from ._axes import new_axes, percent_axis
from ._labels import percent_text

__all__ = ["pit_histogram", "coverage_chart"]


def pit_histogram(pit: Any, *, ax=None, bins: int = 10, label: str | None = None):
    """Where each actual fell in its forecast: a histogram of the backtest's PIT values (the
    forecast CDF at what actually happened), on an axis in % of the forecast range.

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
    ax = new_axes(ax)
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
                   label="95% range if well calibrated")
    ax.axhline(1.0, color="black", lw=1, gid="uniform", label="perfectly calibrated")
    ax.set_xlim(0, 1)
    percent_axis(ax, "x")
    ax.set_xlabel("Where the actual fell in its forecast (0% = below every simulated run, "
                  "100% = above)")
    ax.set_ylabel("Actuals per bin (1 = as many as a calibrated forecast)")
    ax.set_title("Backtest: where the actuals fell (flat is good)")
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
    ax = new_axes(ax)
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
            label="perfectly calibrated")
    ax.plot(nom, obs, "o-", color="tab:blue", lw=2, gid="observed",
            label="share of actuals inside")
    if n:
        se = np.sqrt(nom * (1 - nom) / n)
        ax.errorbar(nom, nom, yerr=1.96 * se, fmt="none", ecolor="gray", capsize=4,
                    gid="expected", label=f"±1.96 SE if calibrated (n = {n})")
    for x, y in zip(nom, obs):
        ax.annotate(percent_text(y), (x, y), textcoords="offset points", xytext=(6, -12),
                    fontsize="small")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    percent_axis(ax, "x")
    percent_axis(ax, "y")
    ax.set_xlabel("Forecast range (e.g. the central 80% of simulated runs)")
    ax.set_ylabel("Share of actuals inside the range")
    ax.set_title("Backtest: do the forecast ranges hold?")
    ax.legend(loc="upper left", fontsize="small")
    ax.grid(alpha=0.3)
    return ax
