"""What a backtest found: one cutoff's scored metric-months (:class:`BacktestRun`), and one
backtest or a rolling series pooled (:class:`BacktestResult`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import pandas as pd

from okma_sim._core.formatting import format_number, format_percent

from ._fit_result import FitResult
from ._scores import LEVELS, held, scores, scores_by_step, summarize

__all__ = ["BacktestRun", "BacktestResult", "range_verdict"]


def range_verdict(entries: list[Mapping[str, Any]] | tuple, level: float = 0.8,
                  unit: str = "metric-months") -> dict[str, Any]:
    """Are the forecast's ``level`` ranges about right? The share of metric-months whose
    actual fell inside, against ``level`` with its binomial standard error: ``too narrow``
    (the forecast is surer than it should be) or ``too wide`` when more than 2 standard errors
    off, else ``about right``. Keys: ``level``, ``held``, ``n``, ``share``, ``stderr``,
    ``calibration``, ``text``.

    Examples
    --------
    >>> v = range_verdict([{"pit": 0.5}] * 46 + [{"pit": 0.99}] * 54)
    >>> v["text"]
    '80% ranges held 46% of the time (46 of 100 metric-months): too narrow'
    """
    k, n = held(entries, level)
    se = math.sqrt(level * (1 - level) / max(n, 1))
    share = k / n if n else math.nan
    if not n:
        word = f"not scored (no {unit} to compare)"
    elif share < level - 2 * se:
        word = "too narrow"
    elif share > level + 2 * se:
        word = "too wide"
    else:
        word = "about right"
    text = (f"{format_percent(level)} ranges held {format_percent(share)} of the time "
            f"({k} of {n} {unit}): {word}") if n else \
        f"{format_percent(level)} ranges: {word}"
    return {"level": level, "held": k, "n": n, "share": share, "stderr": se,
            "calibration": word, "text": text}


@dataclass(frozen=True)
class BacktestRun:
    """One cutoff: the metric-months compared, their coverage and CRPS.

    ``metrics`` holds one dict per metric and month: ``metric, month, step, actual, p05,
    p50, p95, pit, crps, baseline_crps`` (``step``: months after the cutoff, 1 to the
    horizon). ``coverage`` maps ``"50"``, ``"80"``, ``"95"`` to the share of those whose PIT
    lies in the central interval (``coverage_by_metric``: the same per metric); ``crps`` and
    ``baseline_crps`` map each metric to its mean CRPS over the months (in the metric's
    unit), ``crps_skill`` to ``1 - crps / baseline_crps`` (positive: the model beats the
    naive baseline). ``by_step`` holds these summaries for each step.

    ``agent_metrics`` holds the same per rep (``agent_level``: ``rep_id``, or the export's
    ``by`` group) and month the rep worked, with the rep in ``agent``: the rep's actual
    against the forecast of the seat standing for them and against the rep's own trailing
    months; their summaries are the JSON's ``agent_months``.
    """

    cutoff: str
    horizon: int
    metrics: tuple[Mapping[str, Any], ...]
    warnings: tuple[str, ...] = ()
    agent_metrics: tuple[Mapping[str, Any], ...] = ()
    agent_level: str | None = None

    @property
    def coverage(self) -> dict[str, float]:
        return summarize(self.metrics)[0]

    def to_json_dict(self) -> dict[str, Any]:
        doc = {"cutoff": self.cutoff, "horizon": self.horizon,
               "metrics": [dict(e) for e in self.metrics], **scores(self.metrics),
               "by_step": scores_by_step(self.metrics), "verdict": range_verdict(self.metrics),
               "warnings": list(self.warnings)}
        if self.agent_level is not None:
            doc["agent_months"] = _agent_summary(self.agent_metrics, self.agent_level)
        return doc


def _agent_summary(entries: list[Mapping[str, Any]] | tuple, level: str) -> dict[str, Any]:
    """The JSON's ``agent_months``: ``level`` and the scores of the agent-months, pooled
    (``coverage``, ``coverage_by_metric``, ``crps``, ``baseline_crps``, ``crps_skill``,
    ``n``) and per step (``by_step``), the shapes of the team level's."""
    return {"level": level, **scores(entries), "by_step": scores_by_step(entries)}


@dataclass(frozen=True)
class BacktestResult:
    """One backtest, or a rolling series of them (``runs``), pooled.

    Attributes
    ----------
    runs : tuple of BacktestRun
    rolling : bool
    format : str
    n_paths, seed : int
    warnings : tuple of str
    """

    runs: tuple[BacktestRun, ...]
    rolling: bool
    format: str
    n_paths: int
    seed: int
    warnings: tuple[str, ...] = ()
    fit: FitResult | None = field(default=None, compare=False)

    @property
    def entries(self) -> list[Mapping[str, Any]]:
        return [dict(e, cutoff=r.cutoff) for r in self.runs for e in r.metrics]

    @property
    def agent_entries(self) -> list[Mapping[str, Any]]:
        """The scored agent-months of every run (``agent``: the rep or group), with their
        cutoff."""
        return [dict(e, cutoff=r.cutoff) for r in self.runs for e in r.agent_metrics]

    @property
    def agent_level(self) -> str | None:
        return self.runs[0].agent_level if self.runs else None

    @property
    def coverage(self) -> dict[str, float]:
        """Pooled coverage of the 50/80/95% central intervals."""
        return summarize(self.entries)[0]

    @property
    def crps(self) -> dict[str, float]:
        return summarize(self.entries)[1]

    @property
    def baseline_crps(self) -> dict[str, float]:
        return summarize(self.entries)[2]

    @property
    def by_step(self) -> dict[str, dict[str, Any]]:
        """The scores of each horizon step (months after the cutoff), pooled over cutoffs:
        ``{"1": {"coverage", "coverage_by_metric", "crps", "baseline_crps", "crps_skill",
        "n"}, ...}``."""
        return scores_by_step(self.entries)

    def to_frame(self) -> pd.DataFrame:
        """One row per cutoff, metric and month."""
        return pd.DataFrame(self.entries)

    def to_json_dict(self) -> dict[str, Any]:
        """The ``backtest --json`` document (without the common CLI keys)."""
        if not self.rolling and len(self.runs) == 1:
            doc = self.runs[0].to_json_dict()
            doc.pop("warnings", None)
            return doc
        doc = {"cutoff": self.runs[0].cutoff if self.runs else None,
               "cutoffs": [r.cutoff for r in self.runs],
               "horizon": self.runs[0].horizon if self.runs else None,
               "metrics": self.entries, **scores(self.entries), "by_step": self.by_step,
               "verdict": range_verdict(self.entries),
               "runs": [r.to_json_dict() for r in self.runs]}
        if self.agent_level is not None:
            doc["agent_months"] = _agent_summary(self.agent_entries, self.agent_level)
        return doc

    def table(self) -> str:
        """A readable summary."""
        cov, crps, base, skill = summarize(self.entries)
        lines = []
        if self.rolling:
            lines.append(f"rolling backtest: {len(self.runs)} cutoffs "
                         f"({self.runs[0].cutoff} to {self.runs[-1].cutoff}), horizon "
                         f"{self.runs[0].horizon}, {self.n_paths:,} simulated runs, "
                         f"seed {self.seed}")
        else:
            r = self.runs[0]
            lines.append(f"backtest: cutoff {r.cutoff}, horizon {r.horizon}, "
                         f"{self.n_paths:,} simulated runs, seed {self.seed}")
            lines.append("")
            lines.append(f"{'metric':<16}{'month':<9}{'actual':>13}{'p05':>13}{'p50':>13}"
                         f"{'p95':>13}{'PIT':>7}")
            for e in r.metrics:
                lines.append(f"{e['metric']:<16}{e['month']:<9}"
                             f"{format_number(e['actual']):>13}{format_number(e['p05']):>13}"
                             f"{format_number(e['p50']):>13}{format_number(e['p95']):>13}"
                             f"{e['pit']:>7.2f}")
            lines.append("(PIT: where the actual fell in the forecast, 0 below every simulated "
                         "run, 0.5 at the median, 1 above every one)")
        n = len(self.entries)
        lines.append("")
        lines.append(f"how often the actual month fell inside the forecast's ranges, over {n} "
                     f"metric-months: " + ", ".join(
                         f"{k}% ranges {format_percent(v)}" for k, v in cov.items())
                     + f" (a calibrated 80% range holds 80% ± "
                       f"{format_percent(math.sqrt(0.16 / max(n, 1)))}, 1 SE)")
        lines.append("forecast error (CRPS: the typical distance between the forecast's spread "
                     "and what happened, in the metric's unit; lower is better):")
        for m in crps:
            lines.append(f"  {m:<14}{format_number(crps[m]):>13}, naive trailing mean "
                         f"{format_number(base[m])}: {_skill_text(skill[m])}")
        lines += _step_lines(self.entries)
        if self.agent_level is not None:
            lines += _agent_lines(self.agent_entries, self.agent_level)
        for w in self.warnings:
            lines.append(f"warning: {w}")
        lines += ["", f"Verdict: {range_verdict(self.entries)['text']}"]
        if self.agent_level is not None:
            who = self.agent_level.removesuffix("_id").replace("_", " ")
            lines.append(f"Verdict per {who}: "
                         f"{range_verdict(self.agent_entries, unit=f'{who}-months')['text']}")
        return "\n".join(lines)


def _step_lines(entries: list[Mapping[str, Any]]) -> list[str]:
    """The table's block by months ahead, in words: how often the actual month fell inside
    each range (counts, as there are few months), and the forecast error against the naive
    trailing mean."""
    lines = ["", "by months ahead: how often the actual month fell inside the forecast's "
             "50% / 80% / 95% ranges,", "and its error (CRPS, lower is better) against the "
             "naive trailing mean"]
    steps = sorted({int(e["step"]) for e in entries})
    for s in steps:
        at = [e for e in entries if e["step"] == s]
        n80 = held(at, 0.8)[1]
        lines.append(f"{s} month{'s' if s > 1 else ''} ahead ({n80} metric-months; a calibrated "
                     f"80% range would hold 80% ± {math.sqrt(0.16 / max(n80, 1)):.0%}, 1 SE)")
        lines.append(f"  {'all':<15}{_held_text(at)}")
        _, crps, base, skill = summarize(at)
        for m in crps:
            err = (f"error {format_number(crps[m])}, naive {format_number(base[m])}: "
                   f"{_skill_text(skill[m])}")
            lines.append(f"  {m:<15}{_held_text([e for e in at if e['metric'] == m])}   {err}")
    return lines


def _agent_lines(entries: list[Mapping[str, Any]], level: str) -> list[str]:
    """The table's block on agent-months: each rep's month against the seat standing for
    them, pooled and by months ahead, in the by-step block's words."""
    n80 = held(entries, 0.8)[1]
    lines = ["", f"agent-months ({len(entries)} scored, one per {level} and month worked; a "
             f"calibrated 80% range would hold 80% ± {math.sqrt(0.16 / max(n80, 1)):.0%}, "
             "1 SE):"]

    def rows(sub: list[Mapping[str, Any]], indent: str) -> list[str]:
        _, crps, base, skill = summarize(sub)
        out = [f"{indent}{'all':<15}{_held_text(sub)}"]
        for m in crps:
            out.append(f"{indent}{m:<15}{_held_text([e for e in sub if e['metric'] == m])}   "
                       f"error {format_number(crps[m])}, naive {format_number(base[m])}: "
                       f"{_skill_text(skill[m])}")
        return out

    lines += rows(list(entries), "  ")
    for s in sorted({int(e["step"]) for e in entries}):
        lines.append(f"  {s} month{'s' if s > 1 else ''} ahead")
        lines += rows([e for e in entries if e["step"] == s], "    ")
    return lines


def _held_text(entries: list[Mapping[str, Any]]) -> str:
    """``held  1/4 (25%)  2/4 (50%)  3/4 (75%)`` over the 50/80/95% ranges; ``-`` where no
    metric-month has a PIT."""
    parts = []
    for level in LEVELS:
        k, n = held(entries, level)
        parts.append(f"{f'{k}/{n} ({k / n:.0%})':>14}" if n else f"{'-':>14}")
    return "held" + "".join(parts)


def _skill_text(skill: float) -> str:
    """The CRPS skill in words: how much lower (or higher) the error is than the naive one."""
    if not math.isfinite(skill):
        return "no naive forecast to compare"
    if abs(skill) < 0.005:
        return "the same as naive"
    return f"{abs(skill):.0%} {'lower' if skill > 0 else 'higher'} than naive"
