"""The dashboard's UI parameters, declared apart from the model (as in Mesa's ``user_param``).

:class:`SliderSpec` and :func:`slider_specs` declare one slider per action lever within its
bounds (a headcount slider, ``new_reps``, whenever the model has that lever), one per objective
and key-result target, and a confidence slider. They are plain data
that validate themselves and import no widget library, so the model and the engine never
depend on ipywidgets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from okma_sim.plan import KeyResult, Plan
from okma_sim.viz import PERCENT_METRICS, SYMBOL

__all__ = ["SliderSpec", "slider_specs"]

KINDS = ("lever", "target", "confidence")
#: the headcount lever: it gets a slider whenever the model has it, even if the plan is silent
HEADCOUNT = "new_reps"


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
    observed : (low, high), optional
        A lever's range in the calibration history (``[calibration.observed]``): the slider
        shades its range outside it (:meth:`shading`).

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
    observed: tuple[float, float] | None = None

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
        if self.observed is not None and not (
                len(self.observed) == 2 and all(math.isfinite(x) for x in self.observed)
                and self.observed[0] <= self.observed[1]):
            raise ValueError(f"slider {self.name!r}: 'observed' must be (low, high) with "
                             f"low <= high, got {self.observed!r}")

    @property
    def key(self) -> str:
        """Unique key: ``lever:NAME``, ``target:ID`` or ``confidence``."""
        return "confidence" if self.kind == "confidence" else f"{self.kind}:{self.name}"

    def shading(self, shade: str = "#f0a060", clear: str = "#bdbdbd") -> str | None:
        """A CSS gradient for the slider's track: ``shade`` over the part of [min, max]
        outside the observed range, ``clear`` inside it; None without an observed range, or
        when it covers the whole slider.

        Examples
        --------
        >>> s = SliderSpec("lever", "v", "v", 6, 0, 10, 1, observed=(4, 8))
        >>> s.shading()
        'linear-gradient(to right, #f0a060 0.00%, #f0a060 40.00%, #bdbdbd 40.00%, #bdbdbd 80.00%, #f0a060 80.00%, #f0a060 100.00%)'
        """
        if self.observed is None:
            return None
        span = self.max - self.min
        lo, hi = (min(max((x - self.min) / span, 0.0), 1.0) * 100 for x in self.observed)
        if lo <= 0 and hi >= 100:
            return None
        stops = [(shade, 0.0), (shade, lo), (clear, lo), (clear, hi), (shade, hi),
                 (shade, 100.0)]
        return "linear-gradient(to right, " + ", ".join(f"{c} {p:.2f}%" for c, p in stops) + ")"

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
    return metric in PERCENT_METRICS or tuple(bounds) == (0.0, 1.0) or aggregate == "share_of_months"


def _fmt_for(step: float, percent: bool) -> str:
    d = _decimals(step)
    return f".{max(d - 2, 0)}%" if percent else f".{d}f"


def slider_specs(plan: Plan, model: Any = None, *, confidence: float = 0.8
                 ) -> list[SliderSpec]:
    """The dashboard's sliders for a plan: levers, then targets, then the confidence.

    Lever bounds come from the plan's ``[levers.*]`` tables, else from the model's
    ``LeverInfo`` (capped at a practical range); a plan value outside them widens the range.
    A model with a ``new_reps`` lever always gets a headcount slider (whole reps; at the
    model's default when the plan does not set it).
    A lever the plan's ``[calibration.observed]`` holds carries its observed range.
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
    headcount = [HEADCOUNT] if HEADCOUNT in model_levers else []
    for name in dict.fromkeys(list(plan.actions) + list(plan.levers) + headcount):
        spec = _lever_spec(plan, name, model_levers.get(name))
        if spec is not None:
            specs.append(spec)
    metrics = getattr(model, "metrics", {})
    specs += [_target_spec(t, metrics.get(t.metric)) for t in plan.targets]
    specs.append(SliderSpec("confidence", "confidence", "Confidence", confidence, 0.5, 0.99,
                            0.01, "", ".0%"))
    return specs


def _lever_spec(plan: Plan, name: str, info: Any) -> SliderSpec | None:
    """The slider of one lever (None: neither the plan nor the model gives it a level)."""
    value = plan.actions.get(name, info.default if info is not None else None)
    if value is None:
        return None
    observed = plan.calibration.observed.get(name) if plan.calibration else None
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
    label = "New reps (headcount)" if name == HEADCOUNT else _words(name)
    return SliderSpec("lever", name, label, _num(value), _num(lo), _num(hi),
                      _num(step), unit, _fmt_for(step, False),
                      None if observed is None else tuple(float(x) for x in observed))


def _target_spec(t: Any, info: Any) -> SliderSpec:
    """The slider of one objective's or KR's target, over its natural range (0-100% for
    rates); ``info`` is the model's MetricInfo of its metric, if any."""
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
    return SliderSpec("target", t.id, label, _num(t.target), _num(lo), _num(hi), _num(step),
                      unit, _fmt_for(step, percent))


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
