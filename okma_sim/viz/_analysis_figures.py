"""Figures of analyses over many runs: the tornado of a sensitivity analysis, the cost
frontier of the solver, and a policy comparison. They draw what the analysis results hold."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from okma_sim._core.formatting import format_number
from okma_sim.analysis import PolicyComparison

from ._axes import new_axes, percent_axis

__all__ = ["tornado", "cost_frontier", "policy_comparison"]


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
            name += f"\n({format_number(r['low'])} to {format_number(r['high'])})"
        names.append(name)
    ax.set_yticks(y)
    ax.set_yticklabels(names if any("\n" in s for s in names) else
                       [str(p) for p in df["parameter"]], fontsize="small")
    if probability:
        percent_axis(ax, "x")
    ax.set_xlabel(f"{outcome} when one parameter is pinned")
    ax.set_title("Which uncertainties move the outcome most")
    ax.legend(loc="lower right", fontsize="small")
    ax.grid(axis="x", alpha=0.3)
    return ax


def policy_comparison(results: Any, *, ax=None, ids: Sequence[str] | None = None):
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
    ax = new_axes(ax)
    if isinstance(results, Mapping):
        results = PolicyComparison(results=list(results.values()), names=list(results))
    labels: dict[str, str] = {}
    if isinstance(results, PolicyComparison):
        df = pd.DataFrame(_comparison_rows(results))
        labels = _difference_labels(results)
        if ids is None:
            ids = ["all_met"] + [o.id for o in results.results[0].plan.objectives]
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
    percent_axis(ax, "x")
    ax.set_xlabel("Probability of meeting the target (bars: ±1.96 standard errors)")
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
    """Cost of the cheapest plan found against the probability level it reaches (a step
    plot), with the verified answer marked; ``solve`` is a :class:`~okma_sim.analysis.SolveResult`.
    Returns the Axes."""
    ax = new_axes(ax, figsize=(6, 4))
    # a level between two grid levels costs at most the higher one's cost: steps "pre"
    ax.step(solve.frontier["level"], solve.frontier["cost"], where="pre", color="C0",
            label="cheapest found")
    ax.plot([solve.probability], [solve.cost], "o", color="C3", label="answer (verified)")
    ax.set_xlabel("P(all objectives met) at least")
    currency = solve.plan.currency if solve.plan is not None else ""
    ax.set_ylabel(f"cost ({currency})" if currency else "cost")
    ax.legend(loc="best", fontsize="small")
    return ax
