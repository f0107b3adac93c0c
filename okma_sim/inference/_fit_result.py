"""What a calibration found (:class:`FitEntry`, :class:`FitResult`) and the calibrated
scenario written from it: fitted parameters, rank correlations, roster and baseline."""

from __future__ import annotations

import dataclasses
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from okma_sim._core.formatting import format_number
from okma_sim.engine import nearest_correlation
from okma_sim.models import SEASON_QUARTER, SEASON_YEAR
from okma_sim.params import describe, to_named
from okma_sim.plan import Baseline, Calibration, Correlations, Plan, Rep, dumps_plan

__all__ = ["IDENTIFIED_WIDTH_RATIO", "FitEntry", "FitResult"]

#: a fitted parameter is "identified" when the history narrowed its 90% interval to at most
#: this share of the prior's: the data then carry at least three times the prior's
#: information (for a normal, precisions add: 1 / 0.5**2 = 4 = 1 prior + 3 data)
IDENTIFIED_WIDTH_RATIO = 0.5


@dataclass(frozen=True)
class FitEntry:
    """One parameter of a fit report.

    ``estimate`` is the median of the written distribution and ``low90``/``high90`` its 5% and
    95% quantiles, so the report says exactly what the scenario holds. ``rows_used`` counts the
    data rows the estimate came from (``rows`` says which), 0 for a prior.

    ``width_ratio`` is the written 90% interval's width over the prior's (the prior the fit
    used, on the parameter's own scale); ``None`` for a fixed prior, which has no width to
    narrow. :attr:`identified` says whether the history narrowed it enough to carry the
    answer (docs/calibration.md, "Identification report").

    Examples
    --------
    >>> import okma_sim
    >>> from okma_sim.inference import fit_history, load_history
    >>> fit = fit_history(load_history(okma_sim.data_path("sales_history.csv")))
    >>> e = fit.entry("order_value")
    >>> e.source, round(e.width_ratio, 2), e.identified
    ('fitted', 0.38, True)
    >>> e.identification()
    'identified: narrowed to 38% of prior'
    """

    name: str
    estimate: float
    low90: float
    high90: float
    rows_used: int
    source: str  # "fitted" | "prior"
    distribution: Any
    rows: str = ""
    note: str = ""
    width_ratio: float | None = None

    @property
    def identified(self) -> bool:
        """Fitted, with a 90% interval at most :data:`IDENTIFIED_WIDTH_RATIO` of the prior's
        (a ``"prior"`` entry never is; a ``"fitted"`` one that narrowed less is not)."""
        return (self.source == "fitted" and self.width_ratio is not None
                and self.width_ratio <= IDENTIFIED_WIDTH_RATIO)

    def identification(self) -> str:
        """What the history did to the parameter, in plain words (the report's column)."""
        if self.width_ratio is None:
            return "fixed value, not fitted"
        if self.source != "fitted":
            return "not identified: prior kept"
        if self.identified:
            if self.width_ratio < 0.005:
                return "identified: the prior plays no part"
            return f"identified: narrowed to {self.width_ratio:.0%} of prior"
        return f"not identified: {self.width_ratio:.0%} of prior width"

    def comment(self) -> str:
        """The line written above the parameter in the calibrated scenario."""
        if self.width_ratio is None:
            how = "fixed value, nothing to fit"
        elif self.source == "fitted":
            how = (f"fitted on {self.rows_used} {self.rows or 'data rows'}; " + (
                "the prior plays no part" if self.width_ratio < 0.005 else
                f"its 90% interval is {self.width_ratio:.0%} of the prior's"))
        else:
            how = "prior kept" + (f" ({self.note})" if self.note else "")
        ratio = "none" if self.width_ratio is None else f"{self.width_ratio:.2f}"
        return (f"# calibrate: {how}: width_ratio = {ratio}, identified = "
                f"{str(self.identified).lower()}")

    def to_dict(self) -> dict[str, Any]:
        d = to_named(self.distribution, self.name).to_dict()
        return {"name": self.name, "estimate": self.estimate, "low90": self.low90,
                "high90": self.high90, "rows_used": self.rows_used, "source": self.source,
                "width_ratio": self.width_ratio, "identified": self.identified,
                "distribution": d, "rows": self.rows, "note": self.note}


@dataclass(frozen=True)
class FitResult:
    """What a calibration found.

    Attributes
    ----------
    entries : tuple of FitEntry
        One per model parameter, in the model's order.
    correlations : Correlations or None
        Rank correlations between jointly fitted parameters (written to the scenario).
    skills : DataFrame
        Per rep: ``rep_id, months, new_customers, exposure, raw, shrunk, sd`` (empirical-Bayes
        partial pooling of the skill multiplier; ``raw`` is the rep's own ratio of wins to
        expected wins at skill 1).
    monthly : DataFrame
        Team totals per month of the fitted window (``month, reps, revenue, new_customers,
        active_customers, revisited_customers, revisit_rate, csat_responses, csat_satisfied,
        csat``).
    roster : tuple of Rep
        The reps of the last month, with tenure, customer book and shrunk skill, then the
        seats vacant in it (``vacant:<id of the rep who left>``, with the book that rep left
        and ``vacant_months``; docs/calibration.md, section 3).
    baseline : Baseline or None
        Revenue of the last 12 months (or an annual figure from fewer, with a warning).
    start_month : str
        The month after the fitted window.
    warnings : tuple of str
    details : dict
        Format-specific summaries (for the opportunity export: win rate, deal value per product,
        cycle time, rep spread, monthly revenue and wins by agent, manager and office).
    plugins : dict
        Values the fit assumed for what the history does not record (training retention,
        marketing effect and events, CSAT surveys a year); backtests reuse them.
    observed : dict of lever -> (low, high)
        The range of each lever's level over the rep-months the history records, in the
        lever's units (written to ``[calibration.observed]``; empty when the history records
        no lever, as an opportunity export).
    """

    entries: tuple[FitEntry, ...]
    correlations: Correlations | None
    skills: pd.DataFrame
    monthly: pd.DataFrame
    roster: tuple[Rep, ...]
    baseline: Baseline | None
    start_month: str
    first_month: str
    last_month: str
    format: str
    source: str | None
    warnings: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)
    plugins: Mapping[str, float] = field(default_factory=dict)
    observed: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    # -- views -----------------------------------------------------------------------------------
    def entry(self, name: str) -> FitEntry:
        for e in self.entries:
            if e.name == name:
                return e
        raise KeyError(name)

    @property
    def parameters(self) -> dict[str, Any]:
        """name -> distribution, for every model parameter (fitted or prior)."""
        return {e.name: e.distribution for e in self.entries}

    @property
    def fitted(self) -> dict[str, Any]:
        """name -> distribution, for the fitted parameters only."""
        return {e.name: e.distribution for e in self.entries if e.source == "fitted"}

    def to_frame(self) -> pd.DataFrame:
        """The fit report: one row per parameter."""
        return pd.DataFrame([{k: v for k, v in e.to_dict().items() if k != "distribution"}
                             | {"distribution": describe(e.distribution)}
                             for e in self.entries])

    def to_json_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (``parameters`` holds the contract entries)."""
        return {
            "format": self.format, "history": self.source, "first_month": self.first_month,
            "last_month": self.last_month, "start_month": self.start_month,
            "parameters": [e.to_dict() for e in self.entries],
            "correlations": None if self.correlations is None else {
                "parameters": list(self.correlations.parameters),
                "matrix": [list(r) for r in self.correlations.matrix]},
            "baseline": None if self.baseline is None else {
                k: (list(v) if isinstance(v, tuple) else v)
                for k, v in dataclasses.asdict(self.baseline).items() if v is not None},
            "team": [dataclasses.asdict(r) for r in self.roster],
            "skills": self.skills.to_dict(orient="records"),
            "details": _jsonable(dict(self.details)),
            "observed": {k: [float(lo), float(hi)] for k, (lo, hi) in self.observed.items()},
        }

    def table(self) -> str:
        """A readable fit report."""
        lines = [f"calibrated on {self.source or 'history'} ({self.format}, "
                 f"{self.first_month} to {self.last_month}); scenario starts {self.start_month}",
                 "", f"{'parameter':<24}{'source':<8}{'estimate':>12}{'low90':>12}"
                 f"{'high90':>12}{'rows':>7}  {'identification':<38}distribution"]
        lines.append("-" * (len(lines[-1]) + 20))
        neutral = _neutral_forms(self.entries)
        for e in self.entries:
            if e.name in neutral:
                continue
            lines.append(f"{e.name:<24}{e.source:<8}{format_number(e.estimate):>12}"
                         f"{format_number(e.low90):>12}{format_number(e.high90):>12}"
                         f"{e.rows_used:>7}  {e.identification():<38}"
                         f"{describe(e.distribution)}")
        if neutral:
            lines.append(f"{'+ ' + str(len(neutral)) + ' seasonal factors':<24}{'prior':<8}"
                         f"{'1':>12}{'1':>12}{'1':>12}{0:>7}  neutral: "
                         + ", ".join(_SPANS[k] for k in _SPANS if set(_FORM[k]) <= neutral)
                         + " (the form calibrate did not choose)")
        lines.append(f"identified: the history narrowed the 90% interval to at most "
                     f"{IDENTIFIED_WIDTH_RATIO:.0%} of the prior's; elsewhere the forecast "
                     "leans on the prior")
        if self.observed:
            lines.append("levels the history observed (outside them, the answer rests on "
                         "priors): " + ", ".join(f"{k} {lo:.4g} to {hi:.4g}"
                                                 for k, (lo, hi) in self.observed.items()))
        for w in self.warnings:
            lines.append(f"warning: {w}")
        return "\n".join(lines)

    def scenario_toml(self, scenario: Plan) -> str:
        """TOML text of ``scenario`` (the plan :meth:`to_plan` built) with the identification
        report as comments: a line above each parameter's table, and a block for the
        parameters the file leaves to the model's defaults.

        Examples
        --------
        >>> import okma_sim
        >>> from okma_sim.inference import fit_history, load_history
        >>> from okma_sim.plan import loads_plan
        >>> fit = fit_history(load_history(okma_sim.data_path("sales_history.csv")))
        >>> plan = fit.to_plan(okma_sim.load_plan(okma_sim.case_study_path()))
        >>> text = fit.scenario_toml(plan)
        >>> loads_plan(text) == loads_plan(okma_sim.dumps_plan(plan))
        True
        >>> above = text.split("[parameters.order_value]")[0].splitlines()[-1]
        >>> above.split(": ")[-1]
        'width_ratio = 0.38, identified = true'
        """
        by_name = {e.name: e for e in self.entries}
        header = re.compile(r"^\[parameters\.([A-Za-z_][A-Za-z0-9_]*)\]$")
        block = _unwritten_block([e for e in self.entries
                                  if e.name not in scenario.parameters])
        out: list[str] = []
        for line in dumps_plan(scenario).split("\n"):
            m = header.match(line)
            if m and block:  # before the first parameter's table
                out += block
                block = []
            if m and m.group(1) in by_name:
                out.append(by_name[m.group(1)].comment())
            out.append(line)
        if block:  # no parameter table at all
            out[-1:-1] = ["", *block]
        return "\n".join(out)

    def to_plan(self, plan: Plan, *, name: str | None = None) -> Plan:
        """The scenario: ``plan``'s objectives, key results, levers, actions and management,
        with the fitted parameters, the history's roster and baseline, the lever ranges it
        observed (``[calibration.observed]``, replacing any of ``plan``'s), and
        ``start_month`` after the history.

        Examples
        --------
        >>> import okma_sim
        >>> from okma_sim.inference import fit_history, load_history
        >>> hist = load_history(okma_sim.data_path("sales_history.csv"))
        >>> fit = fit_history(hist)
        >>> plan = fit.to_plan(okma_sim.load_plan(okma_sim.case_study_path()))
        >>> plan.start_month
        '2027-01'
        """
        params = dict(plan.parameters)
        for e in self.entries:
            if e.source == "fitted":
                params[e.name] = e.distribution
        corr = merge_correlations(plan.correlations, self.correlations)
        team = plan.team
        if self.roster:
            team = dataclasses.replace(team, reps=tuple(self.roster))
        desc = (f"{plan.name} calibrated on {Path(self.source).name if self.source else 'history'}"
                f" ({self.format}, {self.first_month} to {self.last_month})")
        observed = Calibration(observed=dict(self.observed)) if self.observed else None
        return plan.replace(name=name or f"{plan.name} (calibrated)", description=desc,
                            start_month=self.start_month, parameters=params, correlations=corr,
                            team=team, baseline=self.baseline or plan.baseline,
                            calibration=observed, source=None)


def _unwritten_block(entries: Sequence[FitEntry]) -> list[str]:
    """Comment lines for the parameters a scenario does not write (the model's defaults)."""
    if not entries:
        return []
    lines = ["# calibrate: not written below, these keep the model's default prior"]
    fixed = [e.name for e in entries if e.width_ratio is None]
    lines += [f"#   {e.name}: {e.comment().removeprefix('# calibrate: ')}"
              for e in entries if e.width_ratio is not None]
    if fixed:
        lines += textwrap.wrap(f"{', '.join(fixed)}: fixed values, nothing to fit: "
                               "width_ratio = none, identified = false", width=96,
                               initial_indent="#   ", subsequent_indent="#     ")
    return lines + [""]


#: the richer seasonal forms: their parameters, and how the table names them
_FORM = {"quarter": SEASON_QUARTER, "year": SEASON_YEAR}
_SPANS = {"quarter": "season_q1..q3", "year": "season_jan..dec"}


def _neutral_forms(entries: Sequence[FitEntry]) -> set[str]:
    """Parameters of the richer seasonal forms left at their neutral prior (fixed 1), whole
    forms only: the table gives them one line instead of fifteen."""
    by = {e.name: e for e in entries}
    out: set[str] = set()
    for names in _FORM.values():
        if all(n in by and by[n].source == "prior" and by[n].distribution.dist == "fixed"
               and by[n].estimate == 1.0 for n in names):
            out.update(names)
    return out


def _jsonable(o: Any) -> Any:
    """Plain JSON-ready data from frames, periods and numpy scalars."""
    if isinstance(o, pd.DataFrame):
        return _jsonable(o.reset_index().to_dict(orient="records"))
    if isinstance(o, dict):
        return {str(k): _jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_jsonable(v) for v in o]
    if isinstance(o, (pd.Period,)):
        return str(o)
    if isinstance(o, np.generic):
        return o.item()
    return o


def as_correlations(names: Sequence[str], M: np.ndarray) -> Correlations:
    """A correlation block as the scenario writes it: the nearest correlation matrix,
    rounded to 6 decimals and still positive definite."""
    M = (M + M.T) / 2
    np.fill_diagonal(M, 1.0)
    M, _ = nearest_correlation(M)
    # round for the file, keeping it positive definite
    for shrink in (1.0, 0.99, 0.97, 0.9):
        R = np.round(M * shrink + np.eye(len(names)) * (1 - shrink), 6)
        R = (R + R.T) / 2
        np.fill_diagonal(R, 1.0)
        if np.linalg.eigvalsh(R).min() > 1e-6:
            break
    return Correlations(parameters=tuple(names),
                        matrix=tuple(tuple(float(x) for x in row) for row in R))


def merge_correlations(plan_corr: Correlations | None,
                       fit_corr: Correlations | None) -> Correlations | None:
    """The plan's correlations with the fit's block replacing any that name its
    parameters."""
    if fit_corr is None:
        return plan_corr
    if plan_corr is None:
        return fit_corr
    keep = [i for i, n in enumerate(plan_corr.parameters) if n not in fit_corr.parameters]
    pm = np.array(plan_corr.matrix)[np.ix_(keep, keep)]
    fm = np.array(fit_corr.matrix)
    names = [plan_corr.parameters[i] for i in keep] + list(fit_corr.parameters)
    M = np.eye(len(names))
    M[:len(keep), :len(keep)] = pm
    M[len(keep):, len(keep):] = fm
    return as_correlations(names, M)


def scenario_baseline(monthly: pd.DataFrame, warn: list[str]) -> Baseline | None:
    """The scenario's baseline from the team's monthly revenue: the last 12 months, or an
    annual figure from fewer (with a warning)."""
    rev = monthly["revenue"].to_numpy(float)
    if rev.size == 0 or rev.sum() <= 0:
        warn.append("no revenue in the history: the baseline is left to the plan")
        return None
    if rev.size >= 12:
        return Baseline(monthly_revenue=tuple(float(round(x, 2)) for x in rev[-12:]))
    warn.append(f"only {rev.size} months of history: the baseline is an annual figure "
                f"(12 x the monthly mean {rev.mean():,.0f}), spread by the seasonality")
    return Baseline(annual_revenue=float(round(rev.mean() * 12, 2)))
