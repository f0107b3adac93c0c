"""Figures of analyses over many runs: the tornado of a sensitivity analysis, the cost
frontier of the solver, and a policy comparison. They draw what the analysis results hold."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from okma_sim._core.formatting import format_amount, format_number
from okma_sim.analysis import PolicyComparison
from okma_sim.results import target_label

from ._axes import legend_outside, money_axis, new_axes, percent_axis
from ._labels import cost_label, percent_text

__all__ = ["tornado", "cost_frontier", "policy_comparison"]


def tornado(data: Any, *, ax=None, base: float | None = None, n: int | None = 12,
            outcome: str = "Chance that all objectives are met", probability: bool = True):
    """Tornado chart: how far the outcome swings when each parameter moves from low to high.

    One colour meaning for every row: blue where pinning the parameter raises the outcome
    above the base, orange where it lowers it; each bar's end names the value pinned there.

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
    ...         {"parameter": "b", "p_low": 0.45, "p_high": 0.35}]
    >>> ax = tornado(rows, base=0.4)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['b', 'a']
    >>> [(p.get_gid(), p.get_label()) for p in ax.patches]  # bottom row first
    [('low', 'raises'), ('low', 'lowers'), ('high', 'lowers'), ('high', 'raises')]
    """
    import pandas as pd
    from matplotlib.patches import Patch
    ax = new_axes(ax)
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
    ref = np.full(len(df), base) if base is not None else \
        (df["p_low"].to_numpy(float) + df["p_high"].to_numpy(float)) / 2
    values = {end: df[end].to_numpy() if end in df else np.full(len(df), np.nan)
              for end in ("low", "high")}
    for end in ("low", "high"):
        width = df[f"p_{end}"].to_numpy(float) - ref
        bars = ax.barh(y, width, left=ref, gid=end,
                       color=[TORNADO_COLORS[_direction(w)] for w in width])
        for bar, w, value, yi in zip(bars, width, values[end], y):
            bar.set_label(_direction(w))
            pinned = end if pd.isna(value) else format_number(value)
            # a bar of no length: its low end's value on the left, its high end's on the right
            right = w > 0 or (w == 0 and end == "high")
            ax.annotate(pinned, (bar.get_x() + w, yi), xytext=(3 if right else -3, 0),
                        textcoords="offset points", ha="left" if right else "right",
                        va="center", fontsize="x-small", gid=f"{end}_value")
    handles = [Patch(color=TORNADO_COLORS[d], label=f"pinning it {d} the outcome")
               for d in ("raises", "lowers")]
    if base is not None:
        handles.append(ax.axvline(base, color="black", lw=1, gid="base",
                                  label="nothing pinned"))
    ax.set_yticks(y)
    ax.set_yticklabels([str(p).replace("_", " ") for p in df["parameter"]],
                       fontsize="small")
    ax.margins(x=0.15)  # room for the pinned values at the bars' ends
    if probability:
        percent_axis(ax, "x")
    ax.set_xlabel(f"{outcome}, with one parameter pinned at its low or high value")
    ax.set_title("Which uncertainties move the outcome most")
    legend_outside(ax, handles=handles)
    ax.grid(axis="x", alpha=0.3)
    return ax


#: the tornado's one colour meaning: the bar raises or lowers the outcome from the base
TORNADO_COLORS = {"raises": "tab:blue", "lowers": "tab:orange"}


def _direction(width: float) -> str:
    return "raises" if width >= 0 else "lowers"


def policy_comparison(results: Any, *, ax=None, ids: Sequence[str] | None = None,
                      plan: Any = None):
    """P(met) under each policy (or scenario), side by side, with ±1.96 SE error bars.

    Parameters
    ----------
    results : PolicyComparison, mapping of name -> SimulationResult, or DataFrame
        Results to compare, e.g. from :func:`okma_sim.analysis.compare` (a mapping is read as
        the :class:`~okma_sim.analysis.PolicyComparison` of its results). Runs under one seed
        (common random numbers) also get the comparison's paired difference in P(all
        objectives met) from the first, in the legend. Or a tidy table with columns
        ``scenario``, ``id``, ``probability``, ``stderr``.
    ids : sequence of str, optional
        Which rows to show (default: ``all_met`` then each objective). ``all_met`` means every
        objective met, ``all_key_results_met`` every KR.
    plan : Plan, optional
        Names the rows of a tidy table by their targets (``Revenue +30% (36.15 M CNY)``);
        compared results name them by their own plan.

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
    ax = new_axes(ax)
    if isinstance(results, Mapping):
        results = PolicyComparison(results=list(results.values()), names=list(results))
    labels: dict[str, str] = {}
    names_of = {"all_met": "All objectives", "all_key_results_met": "All key results"}
    if isinstance(results, PolicyComparison):
        plan = results.results[0].plan
        df = pd.DataFrame(_comparison_rows(results))
        labels = _difference_labels(results)
        if ids is None:
            ids = ["all_met"] + [o.id for o in plan.objectives]
    else:
        df = pd.DataFrame(results)
        if ids is None:
            ids = list(dict.fromkeys(df["id"]))
    if plan is not None:
        names_of.update({t.id: target_label(t, plan) for t in plan.targets})
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
    ax.set_yticklabels([names_of.get(i, str(i)) for i in ids])
    ax.set_xlim(0, 1)
    percent_axis(ax, "x")
    ax.set_xlabel("Chance of meeting the target (error bars: ±1.96 standard errors)")
    ax.set_title("Management policies compared under common random numbers")
    ax.legend(loc="lower right", fontsize="small")
    ax.grid(axis="x", alpha=0.3)
    return ax


def _comparison_rows(comparison: PolicyComparison) -> list[dict]:
    """A tidy table of what the compared results hold: P(met) and its standard error of every
    scenario's objectives and KRs, and of ``all_met``."""
    rows = []
    for name, res in zip(comparison.names, comparison.results):
        estimates = [("all_met", res.all_met())] + [(t.id, res.probability(t.id))
                                                    for t in res.plan.targets]
        rows += [{"scenario": name, "id": i, "probability": e.probability, "stderr": e.stderr}
                 for i, e in estimates]
    return rows


def _difference_labels(comparison: PolicyComparison) -> dict[str, str]:
    """Legend labels with the comparison's paired difference in P(all objectives met) from the
    first scenario, for the scenarios run under its seed and path count (common random
    numbers: the difference is paired)."""
    r0, first = comparison.results[0], comparison.names[0]
    labels = {}
    for i, (name, res) in enumerate(zip(comparison.names, comparison.results)):
        if i and res.n_paths == r0.n_paths and res.seed == r0.seed:
            d = comparison.difference(i)
            labels[name] = (f"{name} (all objectives {d.probability * 100:+.1f} ± "
                            f"{d.stderr * 100:.1f} points vs {first})")
    return labels


def cost_frontier(solve: Any, *, ax=None):
    """Cost of the cheapest plan found against the chance it reaches (a step plot), with the
    verified answer marked; ``solve`` is a :class:`~okma_sim.analysis.SolveResult`.

    The cost axis is in the plan's currency per year (the horizon's cost scaled to 12 months),
    with amounts as ``1.2 M`` on every tick; the chance axis is in %.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = new_axes(ax, figsize=(6, 4))
    plan = solve.plan
    per_year = 12 / plan.horizon_months if plan is not None else 1.0
    # a level between two grid levels costs at most the higher one's cost: steps "pre"
    ax.step(solve.frontier["level"], solve.frontier["cost"] * per_year, where="pre",
            color="C0", label="cheapest setting found")
    ax.plot([solve.probability], [solve.cost * per_year], "o", color="C3",
            label=f"answer (verified): {percent_text(solve.probability)} chance for "
                  f"{format_amount(solve.cost * per_year, plan.currency if plan else '')} a year")
    ax.set_xlabel("Chance that all objectives are met, at least")
    percent_axis(ax, "x")
    money_axis(ax, "y")
    ax.set_ylabel(cost_label(plan))
    ax.set_title("What each chance of success costs")
    ax.legend(loc="best", fontsize="small")
    ax.grid(alpha=0.3)
    return ax

