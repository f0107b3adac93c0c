"""The joint-target heat map: how often all objectives hold together over a grid of the first
two objectives' targets, with the confidence contour and the joint targets marked."""

from __future__ import annotations

from typing import Any

from ._axes import format_metric_axis, new_axes
from ._labels import metric_label

__all__ = ["joint_heatmap"]


def joint_heatmap(joint: Any, *, ax=None, n: int = 41):
    """P(all objectives met) as a heat map over the first two objectives' targets.

    The grid and its probabilities are :meth:`okma_sim.analysis.JointTargets.grid` (the
    verification run; any further objective held at its joint target). The line is the
    contour at the confidence C (gid ``contour``), the dot the joint targets (gid ``joint``).

    Parameters
    ----------
    joint : JointTargets
        From :func:`okma_sim.analysis.joint_targets`, with at least two objectives.
    n : int
        Target levels along each axis.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import okma_sim
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> jt = okma_sim.joint_targets(plan, n_paths=500, seed=1, progress=False)
    >>> ax = joint_heatmap(jt, n=11)
    >>> ax.get_xlabel()
    'Revenue growth vs last year (%): target'
    """
    from matplotlib.ticker import PercentFormatter

    ax = new_axes(ax, figsize=(7, 5.5))
    x, y, p = joint.grid(n)
    res = joint.verification
    a, b = list(joint.targets)[:2]
    ma, mb = res.plan.target(a).metric, res.plan.target(b).metric
    mesh = ax.pcolormesh(x, y, p, shading="nearest", cmap="viridis", vmin=0.0, vmax=1.0,
                         gid="heatmap")
    cs = ax.contour(x, y, p, levels=[joint.confidence], colors="white", linewidths=2)
    cs.set_gid("contour")
    ax.plot([joint.targets[a]], [joint.targets[b]], "o", color="red", markersize=8,
            gid="joint", label=f"joint targets: {joint.probability:.0%} together")
    bar = ax.figure.colorbar(mesh, ax=ax, format=PercentFormatter(1.0))
    bar.set_label("Chance all objectives are met")
    # a target is the whole period's figure: "year to date" (the fan chart's months) would mislead
    ax.set_xlabel(f"{metric_label(ma, res.plan.currency).replace(' year to date', '')}: target")
    ax.set_ylabel(f"{metric_label(mb, res.plan.currency).replace(' year to date', '')}: target")
    format_metric_axis(ax, ma, "x")
    format_metric_axis(ax, mb, "y")
    ax.set_title(f"How often the targets hold together (white line: "
                 f"{100 * joint.confidence:g}%)")
    # below the map, outside the data
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False)
    return ax
