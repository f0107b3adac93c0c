"""The Axes a figure draws on, and the tick formats of its axes (percentages, money)."""

from __future__ import annotations

from ._labels import MONEY_METRICS, PERCENT_METRICS

__all__ = ["new_axes", "percent_axis", "money_axis", "format_metric_axis"]


def new_axes(ax, figsize=(8, 4.5)):
    """``ax``, or the Axes of a new figure (matplotlib is imported only here, when drawn)."""
    if ax is None:
        import matplotlib.pyplot as plt
        _, ax = plt.subplots(figsize=figsize)
    return ax


def percent_axis(ax, axis: str = "y") -> None:
    """Ticks of a share as percentages (0.3 -> 30%)."""
    from matplotlib.ticker import PercentFormatter
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(PercentFormatter(1.0))


def money_axis(ax, axis: str = "y") -> None:
    """Ticks of money in thousands and millions (``250k``, ``1.5M``)."""
    from matplotlib.ticker import FuncFormatter

    def fmt(x, _):
        # coarser than format_number: a tick label needs fewer digits than a table
        ax_ = abs(x)
        if ax_ >= 1e6:
            return f"{x / 1e6:.1f}M"
        if ax_ >= 1e3:
            return f"{x / 1e3:.0f}k"
        return f"{x:.0f}"
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(FuncFormatter(fmt))


def format_metric_axis(ax, metric: str, axis: str = "y") -> None:
    """Percent ticks for rate metrics, money ticks for money metrics, else matplotlib's."""
    if metric in PERCENT_METRICS:
        percent_axis(ax, axis)
    elif metric in MONEY_METRICS:
        money_axis(ax, axis)
