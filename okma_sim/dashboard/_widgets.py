"""The live dashboard: drag a lever or a target and watch the odds move.

Two layers, as in Mesa's ``user_param``:

- :class:`SliderSpec` and :func:`slider_specs` declare the UI parameters (one slider per action
  lever within its bounds, one per objective and key-result target, and a confidence slider).
  They are plain data that validate themselves and import no widget library, so the model and
  the engine never depend on ipywidgets.
- :class:`Dashboard` builds ipywidgets from those specs (ipywidgets is imported only there).

The dashboard re-simulates with the same seed on every refresh (common random numbers), so a
change of one lever moves the probabilities smoothly instead of reshuffling the noise. Targets
and the confidence level never re-simulate: the model never sees a target, so the per-path
values of the last run are re-evaluated against the new targets.
"""

from __future__ import annotations

import dataclasses
import html
import io
import math
import os
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from okma_sim._core.errors import OkmaError
from okma_sim.plan import KeyResult, Plan
from okma_sim.viz import SYMBOL

__all__ = ["SliderSpec", "slider_specs", "Dashboard"]

KINDS = ("lever", "target", "confidence")


# --------------------------------------------------------------------------------------------
# UI parameters, declared apart from the model
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SliderSpec:
    """One slider of the dashboard, declared as data; it checks itself when built.

    Parameters
    ----------
    kind : {"lever", "target", "confidence"}
    name : str
        The lever name, the objective/KR id, or ``"confidence"``.
    label : str
        What the analyst reads next to the slider.
    value, min, max, step : float
        Initial value, bounds and step (``min <= value <= max``, ``step > 0``).
    unit : str
        Unit of the value (shown in the tooltip).
    readout_format : str
        d3-format string of the readout (``".0f"``, ``".0%"``...).

    Examples
    --------
    >>> s = SliderSpec("lever", "prospect_visits_per_week", "Prospect visits per week",
    ...                7, 2, 15, 1)
    >>> s.key, s.snap(7.4)
    ('lever:prospect_visits_per_week', 7)
    >>> SliderSpec("lever", "x", "x", 20, 2, 15, 1)
    Traceback (most recent call last):
    ...
    ValueError: slider 'x': 'value' must lie in [min, max] = [2, 15], got 20
    """

    kind: str
    name: str
    label: str
    value: float
    min: float
    max: float
    step: float
    unit: str = ""
    readout_format: str = ".2f"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"slider {self.name!r}: 'kind' must be one of {', '.join(KINDS)}, "
                             f"got {self.kind!r}")
        for f in ("value", "min", "max", "step"):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.number)) \
                    or not math.isfinite(v):
                raise ValueError(f"slider {self.name!r}: {f!r} must be a finite number, "
                                 f"got {v!r}")
        if not self.min < self.max:
            raise ValueError(f"slider {self.name!r}: 'min' must be below 'max', got min "
                             f"{self.min:g} and max {self.max:g}")
        if not 0 < self.step <= self.max - self.min:
            raise ValueError(f"slider {self.name!r}: 'step' must be in (0, max - min] = "
                             f"(0, {self.max - self.min:g}], got {self.step!r}")
        if not self.min <= self.value <= self.max:
            raise ValueError(f"slider {self.name!r}: 'value' must lie in [min, max] = "
                             f"[{self.min:g}, {self.max:g}], got {self.value!r}")

    @property
    def key(self) -> str:
        """Unique key: ``lever:NAME``, ``target:ID`` or ``confidence``."""
        return "confidence" if self.kind == "confidence" else f"{self.kind}:{self.name}"

    @property
    def decimals(self) -> int:
        """Decimals that the step needs (0 for whole-number steps)."""
        return _decimals(self.step)

    def snap(self, value: float) -> float:
        """``value`` on the slider's grid, clipped to its bounds; an int for whole steps."""
        v = min(max(float(value), self.min), self.max)
        v = self.min + round((v - self.min) / self.step) * self.step
        v = round(min(v, self.max), self.decimals + 6)
        v = round(v, self.decimals) if abs(v - round(v, self.decimals)) < 1e-9 else v
        if self.decimals == 0 and float(v).is_integer():
            return int(v)
        return float(v)


def _decimals(step: float) -> int:
    text = f"{step:.10f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def _nice_step(x: float) -> float:
    """The smallest of 1, 2, 5 x 10^k that is at least ``x``."""
    if x <= 0 or not math.isfinite(x):
        return 1.0
    k = math.floor(math.log10(x))
    for m in (1, 2, 5, 10):
        s = m * 10.0 ** k
        if s >= x * (1 - 1e-12):
            return float(f"{s:.12g}")
    return 10.0 ** (k + 1)


def _percent_like(metric: str, bounds: tuple[float, float], aggregate: str) -> bool:
    from okma_sim.viz import PERCENT_METRICS
    return metric in PERCENT_METRICS or tuple(bounds) == (0.0, 1.0) or aggregate == "share_of_months"


def _fmt_for(step: float, percent: bool) -> str:
    d = _decimals(step)
    return f".{max(d - 2, 0)}%" if percent else f".{d}f"


def slider_specs(plan: Plan, model: Any = None, *, confidence: float = 0.8
                 ) -> list[SliderSpec]:
    """The dashboard's sliders for a plan: levers, then targets, then the confidence.

    Lever bounds come from the plan's ``[levers.*]`` tables, else from the model's
    ``LeverInfo`` (capped at a practical range); a plan value outside them widens the range.
    Target sliders span the target's natural range (0-100% for rates).

    Examples
    --------
    >>> import okma_sim
    >>> specs = slider_specs(okma_sim.load_plan(okma_sim.case_study_path()))
    >>> [(s.name, s.min, s.max, s.step) for s in specs if s.kind == "lever"][0]
    ('prospect_visits_per_week', 2, 15, 1)
    >>> [s.key for s in specs][-1]
    'confidence'
    """
    if model is None:
        from okma_sim.models import get_model
        model = get_model(plan.model)
    if not 0 < confidence < 1:
        raise ValueError(f"'confidence' must be in (0, 1), got {confidence!r}")
    model_levers = getattr(model, "levers", None) or {}
    specs: list[SliderSpec] = []
    names = list(dict.fromkeys(list(plan.actions) + list(plan.levers)))
    for name in names:
        info = model_levers.get(name)
        value = plan.actions.get(name, info.default if info is not None else None)
        if value is None:
            continue
        unit = info.unit if info is not None else ""
        if name in plan.levers:
            lv = plan.levers[name]
            lo, hi, step = float(lv.low), float(lv.high), lv.step
        else:
            lo, hi = info.bounds if info is not None else (0.0, math.inf)
            cap = max(3.0 * value, 10.0)  # a model bound such as 160 h is no useful slider
            lo, hi, step = float(lo), float(min(hi, cap)), None
        lo, hi = min(lo, value), max(hi, value)
        if hi <= lo:
            hi = lo + 1.0
        if step is None:
            whole = all(float(x).is_integer() for x in (lo, hi, value))
            step = 1.0 if whole and hi - lo <= 200 else _nice_step((hi - lo) / 50)
        step = min(float(step), hi - lo)
        label = _words(name)
        specs.append(SliderSpec("lever", name, label, _num(value), _num(lo), _num(hi),
                                _num(step), unit, _fmt_for(step, False)))
    metrics = getattr(model, "metrics", {})
    for t in plan.targets:
        info = metrics.get(t.metric)
        bounds = tuple(info.bounds) if info is not None else (-math.inf, math.inf)
        percent = _percent_like(t.metric, bounds, t.aggregate)
        if t.aggregate == "share_of_months" or bounds == (0.0, 1.0):
            lo, hi, step = 0.0, 1.0, 0.01
        else:
            span = max(abs(t.target), 1.0 if not percent else 0.1)
            lo = max(bounds[0], t.target - span)
            hi = min(bounds[1], t.target + span)
            if lo >= 0 and t.target >= 0 and not percent:
                lo = 0.0
            step = 0.01 if percent else _nice_step((hi - lo) / 40)
            lo = math.floor(lo / step + 1e-9) * step
            hi = math.ceil(hi / step - 1e-9) * step
        lo, hi = min(lo, t.target), max(hi, t.target)
        kind = "KR" if isinstance(t, KeyResult) else "Objective"
        label = f"{kind} {t.id}: target {SYMBOL[t.comparison]}"
        unit = info.unit if info is not None else ""
        specs.append(SliderSpec("target", t.id, label, _num(t.target), _num(lo), _num(hi),
                                _num(step), unit, _fmt_for(step, percent)))
    specs.append(SliderSpec("confidence", "confidence", "Confidence", confidence, 0.5, 0.99,
                            0.01, "", ".0%"))
    return specs


_BAND_QS = (0.05, 0.25, 0.5, 0.75, 0.95)  # the fan chart's quantiles
_ACRONYMS = {"csat": "CSAT", "crm": "CRM", "kr": "KR", "okr": "OKR"}


def _words(name: str) -> str:
    """``csat_surveys_per_year`` -> ``CSAT surveys per year``."""
    words = [_ACRONYMS.get(w, w) for w in name.split("_")]
    if words and words[0] == words[0].lower():
        words[0] = words[0].capitalize()
    return " ".join(words)


def _num(x: float) -> float:
    x = float(x)
    return int(x) if x.is_integer() else float(f"{x:.12g}")


def _png(fig: Any) -> bytes:
    """PNG bytes of a drawn Agg figure; fast zlib level (the image is redrawn on every
    refresh)."""
    from PIL import Image
    w, h = fig.canvas.get_width_height()
    img = Image.frombuffer("RGBA", (w, h), fig.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    buf = io.BytesIO()
    img.save(buf, format="png", compress_level=1)
    return buf.getvalue()


# --------------------------------------------------------------------------------------------
# progress for "Run precise": an executor that runs each chunk when its result is asked for
# --------------------------------------------------------------------------------------------
class _Lazy:
    def __init__(self, fn: Callable, args: tuple, kwargs: dict, done: Callable[[Any], None]):
        self._fn, self._args, self._kwargs, self._done = fn, args, kwargs, done

    def result(self) -> Any:
        out = self._fn(*self._args, **self._kwargs)
        self._done(out)
        return out


class _ProgressExecutor:
    """Reports each finished chunk as the engine collects it.

    The engine submits every chunk, then collects results in order in this thread, so the
    report (a widget update) always runs in the kernel's thread. Without an ``inner`` executor
    each chunk is computed when its result is asked for; with one (the dashboard's worker
    pool) the chunks run there in parallel. Results are identical to a plain ``simulate``
    either way: chunking never changes them.
    """

    def __init__(self, on_chunk: Callable[[Any], None], inner: Any = None):
        self.on_chunk = on_chunk
        self.inner = inner

    def submit(self, fn: Callable, *args: Any, **kwargs: Any) -> _Lazy:
        if self.inner is None:
            return _Lazy(fn, args, kwargs, self.on_chunk)
        fut = self.inner.submit(fn, *args, **kwargs)
        return _Lazy(fut.result, (), {}, self.on_chunk)


def default_workers(n_paths: int) -> int:
    """Worker processes a dashboard uses: one per seed block of a refresh, at most one per
    CPU and at most 4 (1: everything runs in the kernel's process).

    Examples
    --------
    >>> default_workers(100)
    1
    """
    from okma_sim._core.seeds import BLOCK_SIZE
    blocks = -(-int(n_paths) // BLOCK_SIZE)
    return max(1, min(4, os.cpu_count() or 1, blocks))


def _warm_up(plan: Plan, model: Any, seed: int, n_paths: int) -> bool:
    """Run in each new worker: the first simulation of a process pays for imports and
    caches, so pay it before the analyst moves a slider."""
    from okma_sim.engine import simulate
    simulate(plan, n_paths, seed=seed, model=model, progress=False)
    return True


def _shippable(model: Any) -> bool:
    """Whether worker processes can receive the model: its class must be importable there
    (a class defined in a notebook cell lives in ``__main__``, which workers do not have)."""
    import pickle
    if type(model).__module__ in ("__main__", "__mp_main__"):
        return False
    try:
        pickle.dumps(model)
    except Exception:
        return False
    return True


def _process_pool(workers: int) -> Any:
    """A process pool that is safe to start from a Jupyter kernel (which runs threads, so a
    plain fork is not): forkserver where the platform has it, else spawn."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor
    methods = mp.get_all_start_methods()
    ctx = mp.get_context("forkserver" if "forkserver" in methods else "spawn")
    if ctx.get_start_method() == "forkserver":
        ctx.set_forkserver_preload(["okma_sim.engine", "okma_sim.models.sales"])
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx)


# --------------------------------------------------------------------------------------------
# the dashboard
# --------------------------------------------------------------------------------------------
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
        ``"P(all objectives met) = 0.137 ± 0.005"``.
    table : ipywidgets.HTML
        One row per objective and KR (``tr.okma-row`` with ``data-id``, ``data-p``,
        ``data-se``), with a bar and ±1.96 SE whisker.
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
        import ipywidgets as W

        from okma_sim._core.seeds import normalize_seed
        from okma_sim.models import get_model
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
        self.show_chart = chart
        self.specs = slider_specs(plan, self.model, confidence=confidence)
        self._cache: OrderedDict[tuple, Any] = OrderedDict()
        self._cache_size = cache_size
        self._pending: Any = None
        self._suspend = False
        self._chart_key: tuple | None = None
        self._fig: Any = None
        self._ax: Any = None
        self._bg: Any = None  # the chart without its fan, for blitting
        self._bg_for: int | None = None  # the path count that background was drawn for
        self._fan_key: tuple | None = None  # the run the fan shows
        self._fan_span = np.empty(0)  # its finite p05 and p95 values
        self.mode = "fast"
        self.result: Any = None
        self.estimates: dict[str, Any] = {}
        self.refresh_count = 0
        self.simulation_count = 0
        self.blit_count = 0  # chart refreshes that moved only the fan (no full redraw)
        self.last_refresh_seconds = math.nan

        style = {"description_width": "230px"}
        layout = W.Layout(width="470px")
        self.sliders: dict[str, Any] = {}
        for s in self.specs:
            sl = W.FloatSlider(value=s.value, min=s.min, max=s.max, step=s.step,
                               description=s.label, readout_format=s.readout_format,
                               continuous_update=False, style=style, layout=layout,
                               tooltip=f"{s.name} ({s.unit})" if s.unit else s.name)
            sl.add_class(f"okma-{s.kind}")
            sl.observe(self._on_change, names="value")
            self.sliders[s.key] = sl
        self.summary = W.Label(value="P(all objectives met) = …")
        self.summary.add_class("okma-summary")
        self.summary_kr = W.Label(value="P(all key results met) = …")
        self.summary_kr.add_class("okma-summary-kr")
        self.table = W.HTML()
        self.table.add_class("okma-table")
        self.chart = W.Image(format="png", layout=W.Layout(width="640px"))
        self.status = W.HTML()
        self.status.add_class("okma-status")
        self.precise_button = W.Button(description="Run precise", icon="bullseye",
                                       tooltip=f"{self.precise_paths:,} paths")
        self.precise_button.on_click(lambda _b: self.run_precise())
        self.progress = W.IntProgress(value=0, min=0, max=self.precise_paths,
                                      description="Precise run:", bar_style="info",
                                      style={"description_width": "initial"})
        stem = Path(plan.source).stem if plan.source else "scenario"
        self.save_path = W.Text(value=save_path or f"{stem}_dashboard.toml",
                                description="Save as:", layout=W.Layout(width="380px"))
        self.overwrite = W.Checkbox(value=False, description="Overwrite if it exists",
                                    indent=False)
        self.save_button = W.Button(description="Save scenario", icon="save")
        self.save_button.on_click(lambda _b: self._save_clicked())
        self.save_status = W.HTML()
        self.save_status.add_class("okma-save-status")

        levers = [self.sliders[s.key] for s in self.specs if s.kind == "lever"]
        targets = [self.sliders[s.key] for s in self.specs if s.kind != "lever"]
        self.widget = W.VBox([
            W.HTML(f"<h3>{html.escape(plan.name)}: what are the odds?</h3>"),
            W.HBox([W.VBox([W.HTML("<b>Actions (levers)</b>"), *levers]),
                    W.VBox([W.HTML("<b>Targets and confidence</b>"), *targets])]),
            self.summary, self.summary_kr, self.table,
            *([self.chart] if chart else []),
            W.HBox([self.precise_button, self.progress]),
            W.HBox([self.save_path, self.overwrite, self.save_button]),
            self.save_status, self.status,
        ])
        self.widget.add_class("okma-dashboard")
        self.workers = default_workers(self.n_paths) if workers is None else int(workers)
        if self.workers > 1 and not _shippable(self.model):
            self.workers = 1  # a model defined in the notebook itself runs in the kernel
        self._pool: Any = None
        self._warm: list = []
        self.refresh()  # in this process: no waiting for workers to start
        if self.workers > 1:
            self._pool = _process_pool(self.workers)
            # shut the workers down with the dashboard (or the kernel)
            self._finalizer = weakref.finalize(self, self._pool.shutdown, wait=False,
                                               cancel_futures=True)
            # each worker runs this refresh once: imports, and the parameter draws of
            # every block, are then cached there
            self._warm = [self._pool.submit(_warm_up, self.plan, self.model, self.seed,
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
        from concurrent.futures import BrokenExecutor
        plan = self.plan.with_actions(**actions)

        def run(executor: Any) -> Any:
            # one seed block per task: the blocks of a refresh run in parallel
            kw = {"executor": executor, "chunk_size": BLOCK_SIZE} if executor is not None \
                else {}
            return simulate(plan, n_paths, seed=self.seed, model=self.model,
                            keep_monthly=[self.metric], progress=False, **kw)
        try:
            res = run(executor)
        except BrokenExecutor:
            # a worker died (killed, out of memory): carry on in this process
            self.close()
            res = run(executor.__class__(executor.on_chunk)
                      if isinstance(executor, _ProgressExecutor) else None)
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
        >>> dash.summary.value.startswith("P(all objectives met) = ")
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
        executor = self._pool
        if precise and self._key(actions, n) not in self._cache:
            self.progress.value = 0
            self.progress.max = n
            self.progress.bar_style = "info"

            def advance(parts: Any) -> None:
                self.progress.value = min(self.progress.max, self.progress.value
                                          + sum(len(next(iter(p["values"].values())))
                                                for p in parts))
            executor = _ProgressExecutor(advance, self._pool)
        base, cached = self._simulate(actions, n, executor)
        plan = self.current_plan()
        # the model never sees a target: re-evaluate the same paths against the new targets
        res = dataclasses.replace(base, plan=plan)
        self.result = res
        self.mode = "precise" if precise else "fast"
        est = {t.id: res.probability(t.id) for t in plan.targets}
        est["all_met"] = res.all_met()
        est["all_key_results_met"] = res.all_key_results_met()
        self.estimates = est
        a, k = est["all_met"], est["all_key_results_met"]
        self.summary.value = f"P(all objectives met) = {a.probability:.3f} ± {a.stderr:.3f}"
        self.summary_kr.value = (f"P(all key results met) = {k.probability:.3f} ± "
                                 f"{k.stderr:.3f}")
        self.table.value = self._table_html(res)
        if self.show_chart:
            self._draw_chart(res, actions, precise)
        if isinstance(executor, _ProgressExecutor):  # a precise run (not a fast one on workers)
            self.progress.value = self.progress.max
            self.progress.bar_style = "success"
        self.refresh_count += 1
        self.last_refresh_seconds = time.perf_counter() - t0
        warn = "".join(f"<br><span style='color:#a60'>warning: {html.escape(w)}</span>"
                       for w in res.warnings)
        how = "re-used" if cached else "simulated"
        self.status.value = (f"<small>{'Precise' if precise else 'Fast'} run: {n:,} paths, "
                             f"seed {self.seed} (common random numbers; {how}); refreshed in "
                             f"{self.last_refresh_seconds * 1000:.0f} ms{warn}</small>")

    def run_precise(self, n_paths: int | None = None) -> None:
        """Re-run the current settings with many more paths, advancing the progress bar."""
        if n_paths is not None:
            self.precise_paths = int(n_paths)
        self.precise_button.disabled = True
        try:
            self.refresh(precise=True)
        finally:
            self.precise_button.disabled = False

    # -- display pieces ------------------------------------------------------------------------
    def _table_html(self, res: Any) -> str:
        from okma_sim.viz import achievable_level, fmt_level
        conf = self.confidence
        rows = []
        head = ("<tr><th style='text-align:left'>Objective / key result</th><th>Target</th>"
                "<th>P(met) with ±1.96 SE</th><th>P(met) ± SE</th>"
                f"<th>Achievable at {conf:.0%}</th></tr>")
        for t in res.plan.targets:
            e = self.estimates[t.id]
            kind = "key_result" if isinstance(t, KeyResult) else "objective"
            ach = achievable_level(res, t.id, conf)
            ach_s = "—" if not math.isfinite(ach) else fmt_level(ach, t.metric)
            name = ("KR: " if kind == "key_result" else "Objective: ") + t.id
            target = f"{SYMBOL[t.comparison]} {fmt_level(t.target, t.metric)}"
            rows.append(self._row(t.id, kind, name, target, e, conf, ach_s))
        for rid, name in (("all_met", "All objectives"),
                          ("all_key_results_met", "All key results")):
            rows.append(self._row(rid, "all", name, "", self.estimates[rid], conf, ""))
        return ("<table class='okma-probs' style='border-collapse:collapse;"
                "font-size:13px'>" + head + "".join(rows) + "</table>")

    @staticmethod
    def _row(rid: str, kind: str, name: str, target: str, e: Any, conf: float,
             ach: str) -> str:
        p, se = e.probability, e.stderr
        lo, hi = max(0.0, p - 1.96 * se), min(1.0, p + 1.96 * se)
        color = "#2a7" if p >= conf else ("#d90" if hi >= conf else "#c33")
        bar = (f"<div style='position:relative;width:180px;height:14px;background:#eee'>"
               f"<div class='okma-bar' style='position:absolute;left:0;top:0;height:14px;"
               f"width:{p * 100:.2f}%;background:{color}'></div>"
               f"<div class='okma-whisker' data-lo='{lo:.6f}' data-hi='{hi:.6f}' "
               f"style='position:absolute;top:6px;height:2px;left:{lo * 100:.2f}%;"
               f"width:{(hi - lo) * 100:.2f}%;background:#000'></div>"
               f"<div style='position:absolute;top:0;height:14px;width:1px;"
               f"left:{conf * 100:.2f}%;background:#555'></div></div>")
        weight = "bold" if kind == "all" else "normal"
        return (f"<tr class='okma-row okma-{kind}' data-id='{html.escape(rid)}' "
                f"data-p='{p:.6f}' data-se='{se:.6f}' style='font-weight:{weight}'>"
                f"<td style='text-align:left;padding-right:12px'>{html.escape(name)}</td>"
                f"<td style='padding-right:12px'>{html.escape(target)}</td><td>{bar}</td>"
                f"<td class='okma-p' style='padding:0 12px'>{p:.3f} ± {se:.3f}</td>"
                f"<td>{html.escape(ach)}</td></tr>")

    def _draw_chart(self, res: Any, actions: Mapping[str, float], precise: bool) -> None:
        """Fan chart as a PNG.

        The figure is built once. While the fan and the target stay well inside the current
        y-range (and the path count is unchanged), a refresh only moves the bands, the median
        and the target line over a saved background (blitting: no axes, ticks or text are
        re-rendered, several times faster than a full draw). Otherwise the axes are re-scaled
        and the whole figure redrawn. Steady axes also let the eye see the fan move.
        """
        from okma_sim.viz import main_target
        target = main_target(res.plan, self.metric)
        fan_key = (tuple(sorted(actions.items())), precise)  # the run behind the fan
        if (fan_key, target) == self._chart_key:
            return
        df = None  # None: the fan has not changed (only the target moved)
        if fan_key != self._fan_key:
            df = res.bands(self.metric, _BAND_QS)
            vals = np.concatenate([df["p05"].to_numpy(float), df["p95"].to_numpy(float)])
            self._fan_span = vals[np.isfinite(vals)]
        vals = self._fan_span if target is None else np.append(self._fan_span, target)
        if self._bg is not None and res.n_paths == self._bg_for and self._fits(vals):
            self._blit(df, target)
        else:
            self._full_draw(res, target, df, vals)
        self.chart.value = _png(self._fig)
        self._fan_key = fan_key
        self._chart_key = (fan_key, target)

    def _dynamic_artists(self) -> list:
        ax = self._ax
        # the target line is drawn last, so the bands never hide it
        return [c for c in ax.collections if (c.get_gid() or "").startswith("band_")] + \
            [ln for ln in ax.lines if ln.get_gid() == "median"] + \
            [ln for ln in ax.lines if ln.get_gid() == "target"]

    def _fits(self, vals: np.ndarray) -> bool:
        """Whether the fan and target lie inside the current y-range and fill at least 40%
        of it."""
        if not vals.size:
            return True
        lo, hi = self._ax.get_ylim()
        return bool(vals.min() >= lo and vals.max() <= hi
                    and vals.max() - vals.min() >= 0.4 * (hi - lo))

    def _set_data(self, df: Any | None, target: float | None) -> None:
        """Move the fan (unless ``df`` is None) and the target line."""
        for artist in self._dynamic_artists():
            gid = artist.get_gid()
            if df is not None and gid.startswith("band_"):
                lo, hi = (float(v) for v in gid[5:].split("_"))
                artist.set_data(np.arange(len(df)), df[f"p{round(lo * 100):02d}"],
                                df[f"p{round(hi * 100):02d}"])
            elif df is not None and gid == "median":
                artist.set_ydata(df["p50"].to_numpy())
            elif gid == "target" and target is not None:
                artist.set_ydata([target, target])

    def _blit(self, df: Any | None, target: float | None) -> None:
        self._fig.canvas.restore_region(self._bg)
        self._set_data(df, target)
        self.blit_count += 1
        for a in self._dynamic_artists():
            self._ax.draw_artist(a)

    def _full_draw(self, res: Any, target: float | None, df: Any | None,
                   vals: np.ndarray) -> None:
        ax = self._ax
        if self._fig is None:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure

            from okma_sim import viz
            fig = Figure(figsize=(8, 3.6), dpi=80)
            FigureCanvasAgg(fig)
            ax = fig.add_subplot()
            viz.fan_chart(res, self.metric, ax=ax, target=target)
            self._fig, self._ax = fig, ax
            # outside the axes: it never hides the fan, nor jumps about as the fan moves; it
            # names the target line without its level (the table shows it), so it never
            # changes
            for line in ax.lines:
                if line.get_gid() == "target":
                    line.set_label("target")
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
            fig.tight_layout()
        else:
            self._set_data(df, target)
            title = ax.get_title()
            if ", " in title:
                ax.set_title(title[:title.rfind(", ") + 2] + f"{res.n_paths:,} simulated paths")
        if vals.size:
            # leave room for the fan to move before the axes must change again
            lo, hi = vals.min(), vals.max()
            pad = 0.15 * (hi - lo or 1.0)
            ax.set_ylim(lo - pad, hi + pad)
        # the background is everything but the bands, the median and the target line
        dyn = self._dynamic_artists()
        for a in dyn:
            a.set_visible(False)
        self._fig.canvas.draw()
        self._bg = self._fig.canvas.copy_from_bbox(ax.bbox)
        self._bg_for = res.n_paths
        for a in dyn:
            a.set_visible(True)
            ax.draw_artist(a)

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
        return (f"<Dashboard {self.plan.name!r}: {self.n_paths} paths, seed {self.seed}, "
                f"{self.summary.value}>")
