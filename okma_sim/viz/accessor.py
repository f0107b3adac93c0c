"""The ``.plot`` accessors of the result classes, registered from here (above results and
analysis), so that results never import plotting. Importing this module does not import
matplotlib: each figure imports it when drawn.

``res.plot("fan", "revenue_growth")`` and ``res.plot.fan("revenue_growth")`` are the same call.
"""

from __future__ import annotations

from typing import Any

from okma_sim._core.accessors import register_accessor
from okma_sim.analysis import SensitivityResult, SolveResult
from okma_sim.results import SimulationResult

from . import _analysis_figures, _result_figures

__all__ = ["SimulationPlot", "SolvePlot", "SensitivityPlot"]


class _Accessor:
    """``obj.plot(kind, ...)`` dispatches to ``obj.plot.<kind>(...)``."""

    _default = ""

    def __init__(self, obj: Any) -> None:
        self._obj = obj

    def __call__(self, kind: str | None = None, *args, **kwargs):
        kind = kind or self._default
        fn = getattr(self, kind, None) if not kind.startswith("_") else None
        if fn is None:
            kinds = [k for k in dir(type(self)) if not k.startswith("_")]
            raise ValueError(f"unknown plot kind {kind!r}; known: {', '.join(kinds)}")
        return fn(*args, **kwargs)


class SimulationPlot(_Accessor):
    """Figures of one :class:`~okma_sim.results.SimulationResult`.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import okma_sim
    >>> res = okma_sim.simulate(okma_sim.load_plan(okma_sim.case_study_path()),
    ...                         n_paths=500, seed=1)
    >>> ax = res.plot.bars()
    """

    _default = "fan"

    def fan(self, metric: str | None = None, **kwargs):
        """Per-month bands of a metric (:func:`okma_sim.viz.fan_chart`)."""
        return _result_figures.fan_chart(self._obj, metric, **kwargs)

    def bars(self, **kwargs):
        """P(met) of every objective and KR with error bars
        (:func:`okma_sim.viz.probability_bars`)."""
        return _result_figures.probability_bars(self._obj, **kwargs)

    def hist(self, id: str | None = None, **kwargs):
        """Distribution of an objective's or KR's value (:func:`okma_sim.viz.histogram`)."""
        return _result_figures.histogram(self._obj, id, **kwargs)

    def curve(self, id: str | None = None, **kwargs):
        """Target against P(met) (:func:`okma_sim.viz.achievability_curve`)."""
        return _result_figures.achievability_curve(self._obj, id, **kwargs)


class SolvePlot(_Accessor):
    """Figures of a :class:`~okma_sim.analysis.SolveResult`."""

    _default = "frontier"

    def frontier(self, ax=None):
        """Cost against the probability level reached (:func:`okma_sim.viz.cost_frontier`)."""
        return _analysis_figures.cost_frontier(self._obj, ax=ax)


class SensitivityPlot(_Accessor):
    """Figures of a :class:`~okma_sim.analysis.SensitivityResult`."""

    _default = "tornado"

    def tornado(self, ax=None, *, top: int | None = 12):
        """Bars from P at p10 to P at p90 around the base probability
        (:func:`okma_sim.viz.tornado`)."""
        return _analysis_figures.tornado(self._obj.tornado, ax=ax, base=self._obj.base, n=top)


register_accessor(SimulationResult, "plot", SimulationPlot)
register_accessor(SolveResult, "plot", SolvePlot)
register_accessor(SensitivityResult, "plot", SensitivityPlot)
