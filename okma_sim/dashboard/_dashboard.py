"""The live dashboard: drag a lever or a target and watch the odds move.

Two layers, as in Mesa's ``user_param``: the sliders are declared as data apart from the model
(:class:`~okma_sim.dashboard.SliderSpec`, :func:`~okma_sim.dashboard.slider_specs`), and
:class:`Dashboard` builds ipywidgets from them (ipywidgets is imported only there).

The dashboard re-simulates with the same seed on every refresh (common random numbers), so a
change of one lever moves the probabilities smoothly instead of reshuffling the noise. Targets
and the confidence level never re-simulate: the model never sees a target, so the per-path
values of the last run are re-evaluated against the new targets.
"""

from __future__ import annotations

import dataclasses
import html
import math
import time
import weakref
from collections import OrderedDict
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from okma_sim._core.errors import OkmaError
from okma_sim._core.formatting import format_amount, format_estimate
from okma_sim.analysis import action_cost, cost_metrics, joint_level, target_phrase
from okma_sim.plan import Plan, extrapolation
from okma_sim.results import capacity_text

from ._pool import (ProgressExecutor, default_workers, process_pool, run_or_fall_back,
                    shippable, warm_up)
from ._render import FanChart, table_html
from ._sliders import slider_specs

__all__ = ["Dashboard"]


class Dashboard:
    """A live ipywidgets dashboard for a plan.

    Parameters
    ----------
    plan : Plan
    n_paths : int
        Paths per refresh (default 4,000).
    seed : int, optional
        The one seed every refresh uses (common random numbers); default the plan's
        ``simulation.seed``, else 0.
    model : Model, optional
        Default: the model the plan names.
    confidence : float
        Initial confidence for "achievable at" levels.
    precise_paths : int, optional
        Paths for "Run precise" (default ``10 * n_paths``).
    debounce : float
        Seconds to wait after the last slider change before refreshing, when running in a
        kernel's event loop. 0, or no running event loop (a plain script or a test), refreshes
        synchronously on each change.
    metric : str, optional
        The fan chart's metric (default: the first objective's).
    save_path : str, optional
        Default file for "Save scenario".
    chart : bool
        Draw the fan chart (PNG, matplotlib Agg).
    workers : int, optional
        Worker processes that run a refresh's seed blocks in parallel (default
        :func:`default_workers`: 2 for 4,000 paths on a machine with 2 or more CPUs). 1 runs
        everything in the kernel's process, and so does a model whose class workers cannot
        import (one defined in the notebook itself). Results are the same either way. The
        workers start by forkserver (or spawn), which re-imports a plain script's
        ``__main__``: in a script, build the dashboard under ``if __name__ == "__main__":``,
        as for any process pool (notebooks and Voila need nothing).

    Attributes
    ----------
    sliders : dict of key -> FloatSlider
        Keys are :attr:`SliderSpec.key` (``lever:NAME``, ``target:ID``, ``confidence``).
    estimates : dict of id -> Estimate
        What the display shows: each objective's and KR's P(met), plus ``all_met`` and
        ``all_key_results_met``.
    result : SimulationResult
        The run behind the display, evaluated at the current targets.
    summary : ipywidgets.Label
        ``"Chance all objectives are met: 13.7% ± 0.5%"``.
    cost : dict
        The plan's cost at the sliders' levers, as the action solver counts it
        (:func:`okma_sim.analysis.action_cost` on the displayed run): ``levers``,
        ``hours_cost`` and ``total`` over the horizon, and ``per_year`` (``total`` x 12 /
        horizon months), shown in :attr:`cost_label` in the scenario's currency.
    capacity : dict or None
        The displayed run's :meth:`~okma_sim.SimulationResult.capacity` (hours per rep and
        month), shown in :attr:`capacity_label` as the share of the reps' hours the plan
        uses, and in :attr:`hours` in words.
    table : ipywidgets.HTML
        One row per objective and KR (``tr.okma-row`` with ``data-id``, ``data-p``,
        ``data-se``), with a bar and ±1.96 SE whisker.
    extrapolation : ipywidgets.HTML
        For a calibrated plan, one ``div.okma-extrapolation-warning`` (``data-lever``) per
        lever set outside the range its history observed (:func:`okma_sim.plan.extrapolation`);
        empty otherwise. The slider of such a lever shades its range outside the observed one
        (:meth:`SliderSpec.shading`, a style in :attr:`shading`).
    widget : ipywidgets.VBox
        The whole dashboard (also shown when the Dashboard is the value of a cell).

    Examples
    --------
    >>> import okma_sim
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> dash = Dashboard(plan, n_paths=300, seed=1, chart=False)
    >>> dash.sliders["lever:prospect_visits_per_week"].value = 9
    >>> res = okma_sim.simulate(plan.with_actions(prospect_visits_per_week=9), 300, seed=1)
    >>> dash.estimates["all_met"] == res.all_met()
    True
    """

    def __init__(self, plan: Plan, n_paths: int = 4000, seed: int | None = None, *,
                 model: Any = None, confidence: float = 0.8, precise_paths: int | None = None,
                 debounce: float = 0.25, metric: str | None = None,
                 save_path: str | None = None, chart: bool = True, cache_size: int = 64,
                 workers: int | None = None):
        from okma_sim._core.seeds import normalize_seed
        from okma_sim.models import get_model
        _check_arguments(plan, n_paths, debounce, workers)
        self.plan = plan
        self.model = get_model(plan.model) if model is None else model
        self.n_paths = int(n_paths)
        if seed is None:
            seed = plan.simulation.seed if plan.simulation.seed is not None else 0
        self.seed = normalize_seed(seed)
        self.precise_paths = int(precise_paths or 10 * self.n_paths)
        self.debounce = float(debounce)
        self.metric = metric or (plan.objectives[0].metric if plan.objectives
                                 else plan.targets[0].metric)
        # what the plan's cost needs kept (action_cost prices the training hours)
        self._keep = list(dict.fromkeys([self.metric, *cost_metrics(self.model)]))
        self.show_chart = chart
        self.specs = slider_specs(plan, self.model, confidence=confidence)
        self._cache: OrderedDict[tuple, Any] = OrderedDict()
        self._cache_size = cache_size
        self._pending: Any = None
        self._suspend = False
        self._fan = FanChart(self.metric)
        self.mode = "fast"
        self.result: Any = None
        self.estimates: dict[str, Any] = {}
        self.cost: dict[str, float] = {}
        self.capacity: dict[str, float] | None = None
        self.refresh_count = 0
        self.simulation_count = 0
        self.last_refresh_seconds = math.nan
        self._build_widgets(save_path)
        self.workers = default_workers(self.n_paths) if workers is None else int(workers)
        if self.workers > 1 and not shippable(self.model):
            self.workers = 1  # a model defined in the notebook itself runs in the kernel
        self._pool: Any = None
        self._warm: list = []
        self.refresh()  # in this process: no waiting for workers to start
        if self.workers > 1:
            self._start_workers()

    # -- widgets -------------------------------------------------------------------------------
    def _build_widgets(self, save_path: str | None) -> None:
        """The sliders, read-outs and buttons, and the whole dashboard (:attr:`widget`)."""
        import ipywidgets as W
        style = {"description_width": "230px"}
        layout = W.Layout(width="470px")
        self.sliders: dict[str, Any] = {}
        shaded: list[str] = []  # one CSS rule per slider with an observed range to shade
        for s in self.specs:
            tip = f"{s.name} ({s.unit})" if s.unit else s.name
            if s.observed is not None:
                tip += f"; the history observed {s.observed[0]:.4g} to {s.observed[1]:.4g}"
            sl = W.FloatSlider(value=s.value, min=s.min, max=s.max, step=s.step,
                               description=s.label, readout_format=s.readout_format,
                               continuous_update=False, style=style, layout=layout,
                               tooltip=tip)
            sl.add_class(f"okma-{s.kind}")
            if s.shading() is not None:
                sl.add_class("okma-observed")
                sl.add_class(f"okma-observed-{len(shaded)}")
                shaded.append(f".okma-observed-{len(shaded)} .noUi-connects "
                              f"{{background: {s.shading()} !important}}")
            sl.observe(self._on_change, names="value")
            self.sliders[s.key] = sl
        # ipywidgets styles no slider track: a style element does it, in the page
        self.shading = W.HTML("<style>" + "\n".join(shaded) + "</style>" if shaded else "")
        self.extrapolation = W.HTML()
        self.extrapolation.add_class("okma-extrapolation")
        self.summary = W.Label(value="Chance all objectives are met: …")
        self.summary.add_class("okma-summary")
        self.summary_kr = W.Label(value="Chance all key results are met: …")
        self.summary_kr.add_class("okma-summary-kr")
        self.cost_label = W.Label(value="")  # the plan's cost per year (empty without costs)
        self.cost_label.add_class("okma-cost")
        self.capacity_label = W.Label(value="")  # capacity use (empty without hours)
        self.joint_label = W.Label(value="")  # targets that hold together at the confidence
        self.capacity_label.add_class("okma-capacity")
        self.hours = W.Label(value="")  # the reps' hours in words (empty without hours)
        self.hours.add_class("okma-hours")
        self.table = W.HTML()
        self.table.add_class("okma-table")
        self.chart = W.Image(format="png", layout=W.Layout(width="640px"))
        self.status = W.HTML()
        self.status.add_class("okma-status")
        self.precise_button = W.Button(description="Run precise", icon="bullseye",
                                       tooltip=f"{self.precise_paths:,} simulated runs")
        self.precise_button.on_click(lambda _b: self.run_precise())
        self.progress = W.IntProgress(value=0, min=0, max=self.precise_paths,
                                      description="Precise run:", bar_style="info",
                                      style={"description_width": "initial"})
        self._build_save_widgets(W, save_path)
        self.widget = self._layout(W)

    def _build_save_widgets(self, W: Any, save_path: str | None) -> None:
        """The "Save scenario" row: file name, overwrite checkbox, button, and its status."""
        stem = Path(self.plan.source).stem if self.plan.source else "scenario"
        self.save_path = W.Text(value=save_path or f"{stem}_dashboard.toml",
                                description="Save as:", layout=W.Layout(width="380px"))
        self.overwrite = W.Checkbox(value=False, description="Overwrite if it exists",
                                    indent=False)
        self.save_button = W.Button(description="Save scenario", icon="save")
        self.save_button.on_click(lambda _b: self._save_clicked())
        self.save_status = W.HTML()
        self.save_status.add_class("okma-save-status")

    def _layout(self, W: Any) -> Any:
        """The analyst's controls (levers beside targets) and the verdicts first, then the
        table, the chart, the buttons and the run's details."""
        levers = [self.sliders[s.key] for s in self.specs if s.kind == "lever"]
        targets = [self.sliders[s.key] for s in self.specs if s.kind != "lever"]
        box = W.VBox([
            W.HTML(f"<h3>{html.escape(self.plan.name)}: what are the odds?</h3>"),
            W.HBox([W.VBox([W.HTML("<b>Actions (levers)</b>"), *levers]),
                    W.VBox([W.HTML("<b>Targets and confidence</b>"), *targets])]),
            self.shading, self._verdicts(W), self.table,
            *([self.chart] if self.show_chart else []),
            W.HBox([self.precise_button, self.progress]),
            W.HBox([self.save_path, self.overwrite, self.save_button]),
            self.save_status, self.status,
        ])
        box.add_class("okma-dashboard")
        return box

    def _verdicts(self, W: Any) -> Any:
        """The odds, with what the plan costs and how much of the reps' hours it takes beside
        them, and the warnings about levers beyond the history."""
        box = W.VBox([self.summary, self.summary_kr, self.joint_label, self.cost_label,
                      self.capacity_label, self.hours, self.extrapolation])
        box.add_class("okma-verdicts")
        return box

    # -- workers -------------------------------------------------------------------------------
    def _start_workers(self) -> None:
        self._pool = process_pool(self.workers)
        # shut the workers down with the dashboard (or the kernel)
        self._finalizer = weakref.finalize(self, self._pool.shutdown, wait=False,
                                           cancel_futures=True)
        # each worker runs this refresh once: imports, and the parameter draws of every
        # block, are then cached there
        self._warm = [self._pool.submit(warm_up, self.plan, self.model, self.seed,
                                        self.n_paths) for _ in range(self.workers)]

    def workers_ready(self, timeout: float | None = None) -> bool:
        """Whether the worker processes have started and warmed up (waits up to ``timeout``
        seconds; None waits until they have). True when there are none."""
        if self._pool is None:
            return True
        from concurrent.futures import wait
        _done, pending = wait(self._warm, timeout=timeout)
        return not pending

    def close(self) -> None:
        """Stop the worker processes (refreshes then run in the kernel's process)."""
        if self._pool is not None:
            self._finalizer()
            self._pool = None

    # -- settings ------------------------------------------------------------------------------
    @property
    def confidence(self) -> float:
        return float(self.sliders["confidence"].value)

    def actions(self) -> dict[str, float]:
        """Current lever levels (snapped to their sliders' steps)."""
        return {s.name: s.snap(self.sliders[s.key].value) for s in self.specs
                if s.kind == "lever"}

    def targets(self) -> dict[str, float]:
        """Current targets of every objective and KR."""
        return {s.name: s.snap(self.sliders[s.key].value) for s in self.specs
                if s.kind == "target"}

    def current_plan(self) -> Plan:
        """The plan at the sliders' settings (what "Save scenario" writes)."""
        return self.plan.with_actions(**self.actions()).with_targets(self.targets())

    def set(self, **values: float) -> None:
        """Set several sliders at once (by lever name, target id or ``confidence``) and
        refresh once.

        Examples
        --------
        >>> import okma_sim
        >>> dash = Dashboard(okma_sim.load_plan(okma_sim.case_study_path()), 300, seed=1,
        ...                  chart=False)
        >>> dash.set(prospect_visits_per_week=9, revenue=0.25)
        >>> dash.current_plan().target("revenue").target
        0.25
        """
        keys = {}
        for name, v in values.items():
            matches = [k for k in (f"lever:{name}", f"target:{name}", name)
                       if k in self.sliders]
            if not matches:
                raise KeyError(f"no slider named {name!r}; sliders: "
                               f"{', '.join(s.name for s in self.specs)}")
            keys[matches[0]] = v
        self._suspend = True
        try:
            for k, v in keys.items():
                self.sliders[k].value = v
        finally:
            self._suspend = False
        self.refresh()

    # -- refresh -------------------------------------------------------------------------------
    def _on_change(self, change: Mapping[str, Any]) -> None:
        if self._suspend:
            return
        if self.debounce <= 0:
            self.refresh()
            return
        import asyncio
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not in a kernel's event loop (script, test): refresh now
            self.refresh()
            return
        if self._pending is not None:
            self._pending.cancel()
        self._pending = loop.call_later(self.debounce, self._debounced)

    def _debounced(self) -> None:
        self._pending = None
        try:
            self.refresh()
        except Exception as exc:  # never kill the kernel's loop; show it instead
            self.status.value = f"<span style='color:#b00'>refresh failed: " \
                                f"{html.escape(str(exc))}</span>"

    @staticmethod
    def _key(actions: Mapping[str, float], n_paths: int) -> tuple:
        return (tuple(sorted(actions.items())), n_paths)

    def _simulate(self, actions: Mapping[str, float], n_paths: int, executor: Any = None):
        from okma_sim._core.seeds import BLOCK_SIZE
        from okma_sim.engine import simulate
        key = self._key(actions, n_paths)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit, True
        plan = self.plan.with_actions(**actions)

        def run(executor: Any) -> Any:
            # one seed block per task: the blocks of a refresh run in parallel
            kw = {"executor": executor, "chunk_size": BLOCK_SIZE} if executor is not None \
                else {}
            return simulate(plan, n_paths, seed=self.seed, model=self.model,
                            keep_monthly=self._keep, progress=False, **kw)
        res = run_or_fall_back(run, executor, self.close)
        self.simulation_count += 1
        self._cache[key] = res
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return res, False

    def refresh(self, *, precise: bool | None = None) -> None:
        """Re-simulate if a lever moved (same seed: common random numbers), re-evaluate the
        targets, and update the display. Synchronous.

        Parameters
        ----------
        precise : bool, optional
            Use ``precise_paths`` paths. Default: stay precise after "Run precise" while only
            targets or the confidence change (no new simulation), fast once a lever moves.

        Examples
        --------
        >>> import okma_sim
        >>> dash = Dashboard(okma_sim.load_plan(okma_sim.case_study_path()), 300, seed=1,
        ...                  chart=False)
        >>> dash.refresh()
        >>> dash.summary.value.startswith("Chance all objectives are met: ")
        True
        """
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        t0 = time.perf_counter()
        actions = self.actions()
        if precise is None:
            precise = self.mode == "precise" and self.result is not None \
                and self.result.plan.actions == self.plan.with_actions(**actions).actions
        n = self.precise_paths if precise else self.n_paths
        executor = self._executor(actions, n, precise)
        base, cached = self._simulate(actions, n, executor)
        # the model never sees a target: re-evaluate the same paths against the new targets
        res = dataclasses.replace(base, plan=self.current_plan())
        self.result = res
        self.mode = "precise" if precise else "fast"
        self.estimates = _estimates(res)
        self._show(res, actions, precise)
        if isinstance(executor, ProgressExecutor):  # a precise run (not a fast one on workers)
            self.progress.value = self.progress.max
            self.progress.bar_style = "success"
        self.refresh_count += 1
        self.last_refresh_seconds = time.perf_counter() - t0
        warn = "".join(f"<br><span style='color:#a60'>warning: {html.escape(w)}</span>"
                       for w in res.warnings)
        how = "re-used" if cached else "simulated"
        self.status.value = (f"<small>{'Precise' if precise else 'Fast'} run: {n:,} simulated "
                             f"runs, seed {self.seed} (the same random numbers on every "
                             f"refresh; {how}); refreshed in "
                             f"{self.last_refresh_seconds * 1000:.0f} ms{warn}</small>")

    def _executor(self, actions: Mapping[str, float], n_paths: int, precise: bool) -> Any:
        """Where a refresh runs: the worker pool (None: this process), wrapped to advance the
        progress bar when it is a precise run that must simulate."""
        if not (precise and self._key(actions, n_paths) not in self._cache):
            return self._pool
        self.progress.value = 0
        self.progress.max = n_paths
        self.progress.bar_style = "info"

        def advance(parts: Any) -> None:
            self.progress.value = min(self.progress.max, self.progress.value
                                      + sum(len(next(iter(p.values.values())))
                                            for p in parts))
        return ProgressExecutor(advance, self._pool)

    def _show(self, res: Any, actions: Mapping[str, float], precise: bool) -> None:
        """The summaries, the table and the chart of ``res`` (the run at ``actions``)."""
        a, k = self.estimates["all_met"], self.estimates["all_key_results_met"]
        self.summary.value = ("Chance all objectives are met: "
                              f"{format_estimate(a.probability, a.stderr, digits=1)}")
        self.summary_kr.value = ("Chance all key results are met: "
                                 f"{format_estimate(k.probability, k.stderr, digits=1)}")
        self.joint_label.value = joint_text(res, self.confidence)
        self.cost = plan_cost(res, self.model)
        self.cost_label.value = cost_text(self.cost, res.plan)
        cap = res.capacity()
        self.capacity = cap
        known = cap is not None and math.isfinite(cap["hours_planned"])
        self.capacity_label.value = capacity_use_text(cap) if known else ""
        self.hours.value = capacity_text(cap) if known else ""
        self.table.value = table_html(res, self.estimates, self.confidence)
        self.extrapolation.value = "".join(
            f"<div class='okma-extrapolation-warning' data-lever='{html.escape(e.lever)}' "
            f"style='color:#a60'>warning: {html.escape(e.message())}</div>"
            for e in extrapolation(res.plan, actions, self.model))
        if self.show_chart:
            png = self._fan.draw(res, actions, precise)
            if png is not None:
                self.chart.value = png

    @property
    def blit_count(self) -> int:
        """Chart refreshes that moved only the fan (no full redraw)."""
        return self._fan.blit_count

    def run_precise(self, n_paths: int | None = None) -> None:
        """Re-run the current settings with many more paths, advancing the progress bar."""
        if n_paths is not None:
            self.precise_paths = int(n_paths)
        self.precise_button.disabled = True
        try:
            self.refresh(precise=True)
        finally:
            self.precise_button.disabled = False

    # -- saving --------------------------------------------------------------------------------
    def save_scenario(self, path: str | Path | None = None, *,
                      overwrite: bool | None = None) -> Path:
        """Write the current settings as a scenario TOML (atomically).

        Refuses to replace an existing file unless ``overwrite`` (default: the "Overwrite"
        checkbox), raising :class:`~okma_sim.OkmaError`.
        """
        from okma_sim.plan import save_plan
        path = Path(path if path is not None else self.save_path.value).expanduser()
        ow = self.overwrite.value if overwrite is None else overwrite
        return save_plan(self.current_plan(), path, overwrite=bool(ow))

    def _save_clicked(self) -> None:
        try:
            out = self.save_scenario()
        except OkmaError as exc:
            path = Path(self.save_path.value).expanduser()
            # the library's message speaks of --force; here the checkbox is the way
            why = (f"{path} exists. Tick 'Overwrite if it exists' to replace it"
                   if path.is_file() and not self.overwrite.value else str(exc))
            self.save_status.value = (f"<span style='color:#b00'>Not saved: "
                                      f"{html.escape(why)}.</span>")
            return
        self.save_status.value = f"<span style='color:#070'>Saved {html.escape(str(out))}" \
                                 f"</span>"
        self.overwrite.value = False  # ask again next time

    # -- display -------------------------------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        return (f"<Dashboard {self.plan.name!r}: {self.n_paths} simulated runs, seed {self.seed}, "
                f"{self.summary.value}>")


def _check_arguments(plan: Any, n_paths: Any, debounce: float, workers: Any) -> None:
    if not isinstance(plan, Plan):
        raise TypeError(f"'plan' must be a Plan, got {type(plan).__name__}")
    if isinstance(n_paths, bool) or not isinstance(n_paths, (int, np.integer)) \
            or n_paths < 1:
        raise ValueError(f"'n_paths' must be a positive int, got {n_paths!r}")
    if debounce < 0:
        raise ValueError(f"'debounce' must be >= 0 seconds, got {debounce!r}")
    if workers is not None and (isinstance(workers, bool)
                                or not isinstance(workers, (int, np.integer))
                                or workers < 1):
        raise ValueError(f"'workers' must be a positive int, got {workers!r}")


def _estimates(res: Any) -> dict[str, Any]:
    """What the display shows: each objective's and KR's P(met), ``all_met`` and
    ``all_key_results_met``."""
    est = {t.id: res.probability(t.id) for t in res.plan.targets}
    est["all_met"] = res.all_met()
    est["all_key_results_met"] = res.all_key_results_met()
    return est


def joint_text(res: Any, confidence: float) -> str:
    """The targets that hold together at ``confidence`` on the displayed runs
    (:func:`okma_sim.analysis.joint_level`: no new simulation; ``okma-sim target --joint``
    checks them on fresh runs), in words; empty when no targets hold together that often.

    Examples
    --------
    >>> import okma_sim
    >>> res = okma_sim.simulate(okma_sim.load_plan(okma_sim.case_study_path()), 1000, seed=1)
    >>> joint_text(res, 0.8).startswith("Targets that hold together at 80%: ")
    True
    """
    if not res.plan.objectives:
        return ""
    try:
        _, targets = joint_level(res, confidence)
    except OkmaError:
        return ""
    names = [target_phrase(res.plan, i, v) for i, v in targets.items()]
    return (f"Targets that hold together at {100 * confidence:g}%: "
            + (names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]))


def plan_cost(res: Any, model: Any) -> dict[str, float]:
    """The cost of the run's plan as the action solver counts it
    (:func:`okma_sim.analysis.action_cost`, hours from the run), with ``per_year``: the
    total over the horizon x 12 / horizon months."""
    cost = action_cost(res.plan, res, model=model)
    return {**cost, "per_year": cost["total"] * 12.0 / res.plan.horizon_months}


def cost_text(cost: Mapping[str, float], plan: Plan) -> str:
    """The plan's cost per year in words, in the scenario's currency (empty when nothing is
    priced: no ``[levers.*]`` table and no priced hours).

    Examples
    --------
    >>> import okma_sim
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> cost_text({"levers": 2.4e6, "hours_cost": 1.8e5, "total": 2.58e6, "per_year": 2.58e6},
    ...           plan)
    'Cost of the plan: 2.58 M CNY per year (levers 2.4 M, training and coaching hours 180 k)'
    """
    if not plan.levers and not cost["hours_cost"]:
        return ""
    year = 12.0 / plan.horizon_months
    return (f"Cost of the plan: {format_amount(cost['per_year'], plan.currency)} per year "
            f"(levers {format_amount(cost['levers'] * year)}, training and coaching hours "
            f"{format_amount(cost['hours_cost'] * year)})")


def capacity_use_text(cap: Mapping[str, float]) -> str:
    """Capacity use: the share of the reps' hours the plan asks for (means per filled
    rep-month, :meth:`~okma_sim.SimulationResult.capacity`).

    Examples
    --------
    >>> capacity_use_text({"hours_available": 120.0, "hours_planned": 92.4,
    ...                    "hours_executed": 92.4, "share_rep_months_capped": 0.0})
    "Capacity use: 77% of the reps' hours (92 of 120 hours per rep and month planned)"
    """
    use = cap["hours_planned"] / cap["hours_available"]
    return (f"Capacity use: {use:.0%} of the reps' hours ({cap['hours_planned']:.0f} of "
            f"{cap['hours_available']:.0f} hours per rep and month planned)")
