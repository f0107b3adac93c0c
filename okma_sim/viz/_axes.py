"""The Axes a figure draws on, and the tick formats of its axes (percentages, money)."""

from __future__ import annotations

from okma_sim._core.formatting import format_amount

from ._labels import MONEY_METRICS, PERCENT_METRICS

__all__ = ["new_axes", "percent_axis", "money_axis", "format_metric_axis", "legend_outside"]


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
    """Ticks of money in thousands and millions (``250 k``, ``1.5 M``): each tick says its
    amount, so matplotlib sets no offset (``1e6``) above the axis."""
    from matplotlib.ticker import FuncFormatter
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(
        FuncFormatter(lambda x, _: format_amount(x)))


def format_metric_axis(ax, metric: str, axis: str = "y") -> None:
    """Percent ticks for rate metrics, money ticks for money metrics, else matplotlib's."""
    if metric in PERCENT_METRICS:
        percent_axis(ax, axis)
    elif metric in MONEY_METRICS:
        money_axis(ax, axis)


def legend_outside(ax, **kwargs):
    """The legend right of the Axes, so that it never covers the data; returns it."""
    return ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
                     fontsize="small", **kwargs)
