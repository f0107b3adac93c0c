"""Calibration: fit the sales-team model's parameters to history, with honest uncertainty.

Two inputs are understood (see :mod:`okma_sim.io` for the loaders):

* the **rep-month history** CSV (docs/calibration.md, section 1): every parameter it identifies is fitted;
* the **opportunity-level CRM export**: wins per agent-month, deal values, rep spread and
  quarter-end bunching are mapped onto the model; everything else keeps its prior.

How the fit works (docs/calibration.md has the full story and every row rule):

* Each group of parameters that share data is fitted jointly by its posterior mode on an
  unconstrained scale (log, logit or identity, from the prior's support), with a Laplace
  (Fisher information plus prior) approximation of the joint uncertainty: acquisition and
  revenue (``base_win_rate``, ``skill_cv``, ``visit_elasticity``, ``training_effect``,
  ``quarter_end_uplift``, ``order_value``, ``repeat_order_rate``), churn, follow-up reach and
  CSAT. Each parameter's marginal interval then comes from the posterior along its conditional
  line, which keeps the skew the symmetric Laplace normal loses (a variance component such as
  ``skill_cv`` from a dozen reps). Survey completion and response rate use conjugate beta
  posteriors, rep attrition a grid posterior.
* Rep skill is a random effect (lognormal, mean 1): the acquisition likelihood integrates it out
  per rep (adaptive Gauss-Hermite), so ``skill_cv`` is fitted from the between-rep spread, and
  each rep's skill is partially pooled (empirical Bayes): a rep with three months is pulled
  toward the team mean.
* The prior of each parameter is the plan's (or the model's). Where the data carry more than
  ten times the prior's information about a parameter on its own, a vague prior replaces it, so
  a generic default never drags a well-measured quantity.
* A parameter is reported ``"fitted"`` when the data shrank its uncertainty (posterior sd under
  0.9 of the prior's, on the fitting scale), or when it is identified jointly with another
  (posterior correlation of 0.5 or more and a shrunk joint spread: order value and repeat-order
  rate are pinned mostly as their product). Otherwise it keeps its prior, is written unchanged
  and is reported with ``source = "prior"``. Posterior correlations within a group are written
  to the scenario's ``[correlations]`` (rank correlations, applied by Iman-Conover).
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import differentiate, optimize, special, stats

from okma_sim._core.errors import DataError, OkmaError
from okma_sim.engine import resolve_parameters
from okma_sim._core.calendar import month_ordinal
from okma_sim.io import opportunities_to_panel
from okma_sim.params import Distribution, to_named
from okma_sim.plan import Baseline, Correlations, Plan, Rep
from okma_sim.models import (REFERENCE_PROSPECT_VISITS, REFERENCE_REVISIT_RATE,
                             REFERENCE_TRAINING_HOURS, survey_month)

__all__ = ["FORMATS", "FitEntry", "FitResult", "fit_rep_month", "fit_opportunities",
           "fit_history", "load_history", "calibrate", "rep_month_features",
           "history_from_simulation", "crm_effort"]

#: history formats the CLI and :func:`load_history` understand
FORMATS = ("rep-month", "opportunities")

#: data information above this multiple of the prior's replaces the prior by a vague one
_VAGUE_ABOVE = 10.0
#: sd (on the fitting scale) of the vague prior
_VAGUE_SD = 10.0
#: posterior sd below this share of the prior sd (fitting scale) counts as "fitted"
_CONTRACTION = 0.9
_Z95 = 1.6448536269514722  # standard normal 95% point
#: |posterior correlation| with a fitted parameter above which a parameter is fitted jointly
_JOINT = 0.5
#: Gauss-Hermite nodes for the rep-skill integral (adaptive: centred on each rep's mode)
_GH_X, _GH_W = np.polynomial.hermite.hermgauss(12)
#: skill parameters held by the acquisition block, in order
_ACQ = ("base_win_rate", "skill_cv", "visit_elasticity", "training_effect",
        "quarter_end_uplift")
_REV = ("order_value", "repeat_order_rate", "order_value_cv")


# --------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FitEntry:
    """One parameter of a fit report.

    ``estimate`` is the median of the written distribution and ``low90``/``high90`` its 5% and
    95% quantiles, so the report says exactly what the scenario holds. ``rows_used`` counts the
    data rows the estimate came from (``rows`` says which), 0 for a prior.
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

    def to_dict(self) -> dict[str, Any]:
        d = to_named(self.distribution, self.name).to_dict()
        return {"name": self.name, "estimate": self.estimate, "low90": self.low90,
                "high90": self.high90, "rows_used": self.rows_used, "source": self.source,
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
        The reps of the last month, with tenure, customer book and shrunk skill.
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
                             | {"distribution": _describe(e.distribution)}
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
        }

    def table(self) -> str:
        """A readable fit report."""
        lines = [f"calibrated on {self.source or 'history'} ({self.format}, "
                 f"{self.first_month} to {self.last_month}); scenario starts {self.start_month}",
                 "", f"{'parameter':<24}{'source':<8}{'estimate':>12}{'low90':>12}"
                 f"{'high90':>12}{'rows':>7}  distribution"]
        lines.append("-" * (len(lines[-1]) + 20))
        for e in self.entries:
            lines.append(f"{e.name:<24}{e.source:<8}{_fmt(e.estimate):>12}{_fmt(e.low90):>12}"
                         f"{_fmt(e.high90):>12}{e.rows_used:>7}  {_describe(e.distribution)}")
        for w in self.warnings:
            lines.append(f"warning: {w}")
        return "\n".join(lines)

    def to_plan(self, plan: Plan, *, name: str | None = None) -> Plan:
        """The scenario: ``plan``'s objectives, key results, levers, actions and management,
        with the fitted parameters, the history's roster and baseline, and ``start_month``
        after the history.

        Examples
        --------
        >>> import okma_sim
        >>> from okma_sim.inference import fit_history, load_history
        >>> hist = load_history(okma_sim.data_path("sales_history.csv"))
        >>> fit = fit_history(hist)
        >>> plan = fit.to_plan(load_plan(case_study_path()))
        >>> plan.start_month
        '2027-01'
        """
        params = dict(plan.parameters)
        for e in self.entries:
            if e.source == "fitted":
                params[e.name] = e.distribution
        corr = _merge_correlations(plan.correlations, self.correlations)
        team = plan.team
        if self.roster:
            team = dataclasses.replace(team, reps=tuple(self.roster))
        desc = (f"{plan.name} calibrated on {Path(self.source).name if self.source else 'history'}"
                f" ({self.format}, {self.first_month} to {self.last_month})")
        return plan.replace(name=name or f"{plan.name} (calibrated)", description=desc,
                            start_month=self.start_month, parameters=params, correlations=corr,
                            team=team, baseline=self.baseline or plan.baseline, source=None)


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------
def _fmt(x: float | None) -> str:
    if x is None or not np.isfinite(x):
        return "nan"
    ax = abs(x)
    if ax >= 1e4:
        return f"{x:,.0f}"
    if ax >= 100:
        return f"{x:.1f}"
    return f"{x:.4g}"


def _describe(d: Any) -> str:
    from okma_sim.params import describe
    return describe(d)


def _jsonable(o: Any) -> Any:
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


# Month numbers are ``Period[M]`` ordinals (months since 1970-01), as in okma_sim.io
# (``month_ordinal``, the loaders' ``period`` column): consecutive months differ by 1 and
# ``ym % 12`` is the calendar month - 1.
def _ym(month: str) -> int:
    return int(pd.Period(month, freq="M").ordinal)


def _month(ym: int) -> str:
    return pd.Period(ordinal=int(ym), freq="M").strftime("%Y-%m")


def _ymv(frame: pd.DataFrame) -> np.ndarray:
    """Month numbers of a history's or panel's rows: its ``period`` column (the loaders'),
    else its ``month`` text (e.g. :func:`history_from_simulation`)."""
    period = frame.get("period")
    if period is not None and isinstance(period.dtype, pd.PeriodDtype):
        return period.array.asi8.copy()
    return pd.PeriodIndex(frame["month"].astype(str), freq="M").asi8


_FROZEN: dict[tuple, Any] = {}


def _frozen(d: Any):
    """The scipy frozen distribution of a spec, cached (building one costs ~2 ms)."""
    if not isinstance(d, Distribution):
        return d
    key = (d.dist, tuple(sorted(d.args.items())))
    fz = _FROZEN.get(key)
    if fz is None:
        if len(_FROZEN) > 4096:
            _FROZEN.clear()
        fz = _FROZEN[key] = d.frozen()
    return fz


def _is_fixed(d: Any) -> bool:
    return isinstance(d, Distribution) and d.dist == "fixed"


def _prior_mean(d: Any) -> float:
    if _is_fixed(d):
        return float(d.args["value"])
    return float(_frozen(d).mean())


def _ppf(d: Any, q: Any) -> Any:
    if _is_fixed(d):
        return np.full(np.shape(q), float(d.args["value"])) if np.ndim(q) else \
            float(d.args["value"])
    out = np.asarray(_frozen(d).ppf(q), dtype=float)
    return float(out) if out.ndim == 0 else out


# --------------------------------------------------------------------------------------------
# unconstrained scale for each parameter
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Scale:
    """Maps a parameter's support (lo, hi) to the real line: logit, log, or identity."""

    lo: float
    hi: float

    @property
    def kind(self) -> str:
        if np.isfinite(self.lo) and np.isfinite(self.hi):
            return "logit"
        if np.isfinite(self.lo):
            return "log"
        if np.isfinite(self.hi):
            return "neglog"
        return "id"

    def theta(self, phi: np.ndarray) -> np.ndarray:
        k = self.kind
        if k == "logit":
            return self.lo + (self.hi - self.lo) * special.expit(phi)
        if k == "log":
            return self.lo + np.exp(phi)
        if k == "neglog":
            return self.hi - np.exp(phi)
        return phi

    def phi(self, theta: np.ndarray) -> np.ndarray:
        theta = np.asarray(theta, dtype=float)
        k = self.kind
        with np.errstate(divide="ignore", invalid="ignore"):
            if k == "logit":
                p = np.clip((theta - self.lo) / (self.hi - self.lo), 1e-12, 1 - 1e-12)
                return special.logit(p)
            if k == "log":
                return np.log(np.maximum(theta - self.lo, 1e-300))
            if k == "neglog":
                return np.log(np.maximum(self.hi - theta, 1e-300))
        return theta

    def logjac(self, phi: np.ndarray) -> np.ndarray:
        k = self.kind
        if k == "logit":
            return (math.log(self.hi - self.lo) + special.log_expit(phi)
                    + special.log_expit(-phi))
        if k in ("log", "neglog"):
            return phi
        return np.zeros_like(phi)


@dataclass
class _Prior:
    """A parameter's prior as the fit sees it: its scale, density and moments on that scale."""

    name: str
    dist: Any
    scale: _Scale
    phi_med: float
    phi_sd: float

    @classmethod
    def of(cls, name: str, dist: Any, bounds: tuple[float, float]) -> "_Prior":
        lo, hi = _support(dist)
        lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
        sc = _Scale(lo, hi)
        u = (np.arange(1, 200) - 0.5) / 199.0
        ph = sc.phi(_ppf(dist, u))
        ph = ph[np.isfinite(ph)]
        med = float(sc.phi(_ppf(dist, 0.5)))
        sd = float(np.std(ph)) if ph.size > 2 else 1.0
        return cls(name, dist, sc, med, max(sd, 1e-6))

    def derivs(self, phi: Any, vague: bool) -> tuple[Any, Any, Any]:
        """Log prior density on the fitting scale and its first two derivatives, at a number
        or an array (vague: a wide normal around the prior's median)."""
        phi = np.asarray(phi, dtype=float)
        if vague:
            z = (phi - self.phi_med) / _VAGUE_SD
            return -0.5 * z * z, -z / _VAGUE_SD, np.full(phi.shape, -1.0 / _VAGUE_SD ** 2)
        if not hasattr(self, "_spline"):
            self._build_spline()
        lo, hi = self._range
        x = np.clip(phi, lo, hi)
        d = phi - x
        # beyond the tabulated range (prior tail mass under 1e-9): a steep quadratic wall
        return (self._spline(x) - 1e3 * d * d - self._slope_pen * np.abs(d),
                self._spline(x, 1) - 2e3 * d - self._slope_pen * np.sign(d),
                self._spline(x, 2) - np.where(d != 0, 2e3, 0.0))

    def _build_spline(self) -> None:
        # scipy's frozen logpdf costs ~0.5 ms a call whatever the size; the fit calls it
        # thousands of times, so tabulate it once on a fine grid and use a cubic spline
        from scipy.interpolate import CubicSpline
        fz = _frozen(self.dist)
        a, b = (float(self.scale.phi(_ppf(self.dist, q))) for q in (1e-9, 1 - 1e-9))
        if not (np.isfinite(a) and np.isfinite(b)) or b <= a:
            a, b = self.phi_med - 12 * self.phi_sd, self.phi_med + 12 * self.phi_sd
        grid = np.linspace(a, b, 801)
        with np.errstate(all="ignore"):
            lp = fz.logpdf(self.scale.theta(grid)) + self.scale.logjac(grid)
        ok = np.isfinite(lp)
        grid, lp = grid[ok], lp[ok]
        self._spline = CubicSpline(grid, lp)
        self._range = (float(grid[0]), float(grid[-1]))
        self._slope_pen = float(np.max(np.abs(np.diff(lp) / np.diff(grid)))) + 1.0


def _support(d: Any) -> tuple[float, float]:
    if _is_fixed(d):
        return d.support()
    lo, hi = _frozen(d).support()
    return float(lo), float(hi)


# --------------------------------------------------------------------------------------------
# Laplace approximation of a joint posterior
# --------------------------------------------------------------------------------------------
@dataclass
class _Laplace:
    names: list[str]
    mode: np.ndarray  # on the fitting scale
    cov: np.ndarray
    priors: list[_Prior]
    vague: np.ndarray
    ok: bool = True
    q: np.ndarray | None = None  # (m, 3): marginal 5%, 50%, 95% on the fitting scale

    def sd(self, i: int) -> float:
        """Posterior sd on the fitting scale (from the marginal's 90% interval)."""
        if self.q is not None:
            return float((self.q[i, 2] - self.q[i, 0]) / (2 * _Z95))
        return float(math.sqrt(max(self.cov[i, i], 0.0)))

    def theta(self) -> dict[str, float]:
        return {n: float(p.scale.theta(self.mode[i]))
                for i, (n, p) in enumerate(zip(self.names, self.priors))}


_Term = tuple[Sequence[str], Callable[[dict[str, np.ndarray]], np.ndarray]]


def _laplace(priors: list[_Prior], terms: Sequence[_Term] | Callable,
             fixed: Mapping[str, float], x0: np.ndarray | None = None) -> _Laplace:
    """Posterior mode and Laplace covariance on the fitting scale.

    ``terms`` is a list of ``(parameter names, loglik)``: each ``loglik`` takes a dict of
    parameter arrays of one shape (a batch of parameter values) and returns the
    log-likelihood of each; a bare callable is one term over every parameter. Terms that share
    no parameter need no cross derivatives, so the Hessian is assembled term by term, each in
    its own (smaller) dimension. ``fixed`` holds the values of parameters not fitted.
    """
    m = len(priors)
    names = [p.name for p in priors]
    if callable(terms):
        terms = [(names, terms)]
    vague = np.zeros(m, dtype=bool)
    x = np.array([p.phi_med for p in priors], dtype=float) if x0 is None else np.asarray(x0)
    parts = []
    for tnames, fn in terms:
        idx = [names.index(n) for n in tnames if n in names]
        if idx:
            parts.append((idx, fn))

    def term_neg(idx: list[int], fn: Callable) -> Callable:
        def f(X: np.ndarray) -> np.ndarray:
            X = np.asarray(X, dtype=float)
            shape = X.shape[1:]
            Xf = X.reshape(len(idx), -1)
            B = Xf.shape[1]
            th = {k: np.full(B, float(v)) for k, v in fixed.items()}
            for r, i in enumerate(idx):
                th[names[i]] = priors[i].scale.theta(Xf[r])
            with np.errstate(all="ignore"):
                ll = fn(th)
            ll = np.where(np.isfinite(ll), ll, -1e12)
            return (-ll).reshape(shape)
        return f

    negs = [(idx, term_neg(idx, fn)) for idx, fn in parts]

    def prior_derivs(v: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        lp, d1, d2 = 0.0, np.zeros(m), np.zeros(m)
        for i, p in enumerate(priors):
            a, b, c = p.derivs(float(v[i]), bool(vague[i]))
            lp += float(a)
            d1[i], d2[i] = float(b), float(c)
        return lp, d1, d2

    def fun(v: np.ndarray) -> float:
        out = -prior_derivs(v)[0]
        for idx, f in negs:
            out += float(f(v[idx][:, None])[0])
        return out

    def jac(v: np.ndarray) -> np.ndarray:
        # central differences in one batched call per term: BFGS asks for many gradients,
        # and scipy.differentiate's adaptive machinery costs more than these evaluations
        g = -prior_derivs(v)[1]
        for idx, f in negs:
            k = len(idx)
            step = 1e-5 * np.maximum(1.0, np.abs(v[idx]))
            pts = np.repeat(v[idx][:, None], 2 * k, axis=1)
            pts[np.arange(k), np.arange(k)] += step
            pts[np.arange(k), k + np.arange(k)] -= step
            val = f(pts)
            g[idx] += (val[:k] - val[k:]) / (2 * step)
        return g

    def hess(v: np.ndarray) -> np.ndarray:
        h = -np.diag(prior_derivs(v)[2])
        for idx, f in negs:
            # central differences of central differences: (2k + 1)^2 points, batched
            hk = np.asarray(differentiate.hessian(f, v[idx], initial_step=0.01, order=2,
                                                  maxiter=1).ddf, dtype=float)
            h[np.ix_(idx, idx)] += (hk + hk.T) / 2
        return h

    def pd_inverse(h: np.ndarray) -> np.ndarray:
        w, v = np.linalg.eigh(h)
        w = np.maximum(w, max(np.abs(w).max(), 1.0) * 1e-6)
        inv = (v / w) @ v.T
        return (inv + inv.T) / 2

    prior_prec = np.array([1.0 / p.phi_sd ** 2 for p in priors])
    H = hess(x)
    for _ in range(3):  # at most two switches to vague priors
        # quasi-Newton started from the true (numerical) Hessian: a few cheap gradient steps
        # instead of many on these small, often ill-conditioned problems
        res = optimize.minimize(fun, x, jac=jac, method="BFGS",
                                options={"gtol": 1e-4, "maxiter": 200,
                                         "hess_inv0": pd_inverse(H)})
        x = res.x
        H = hess(x)
        # the data's information about each parameter on its own (marginal: a parameter
        # pinned only jointly with another, such as order value with the repeat-order rate,
        # keeps its prior)
        marg = 1.0 / np.maximum(np.diag(pd_inverse(H)), 1e-300)
        data_info = marg - np.where(vague, 1.0 / _VAGUE_SD ** 2, prior_prec)
        switch = (~vague) & (data_info > _VAGUE_ABOVE * prior_prec)
        if not switch.any():
            break
        d2_old = prior_derivs(x)[2]
        vague |= switch
        H = H + np.diag(d2_old) - np.diag(prior_derivs(x)[2])  # same data part, new prior
    ok = bool(np.all(np.isfinite(H)))
    if ok:
        w, v = np.linalg.eigh(H)
        if w.min() <= 0:
            ok = False
            w = np.maximum(w, 1e-8 + np.abs(w).max() * 1e-10)
        cov = (v / w) @ v.T
    else:
        cov = np.diag([p.phi_sd ** 2 for p in priors])

    def negpost(X: np.ndarray, moving: np.ndarray) -> np.ndarray:
        # terms and priors whose parameters do not move along the line add a constant
        out = np.zeros(X.shape[1])
        for i, p in enumerate(priors):
            if moving[i]:
                out -= p.derivs(X[i], bool(vague[i]))[0]
        for idx, f in negs:
            if moving[idx].any():
                out += f(X[idx])
        return out

    q = _line_marginals(negpost, x, cov) if ok else None
    return _Laplace(names, x, cov, priors, vague, ok, q)


def _line_marginals(negpost: Callable[[np.ndarray, np.ndarray], np.ndarray], mode: np.ndarray,
                    cov: np.ndarray, n: int = 41) -> np.ndarray:
    """Marginal 5/50/95% points of each parameter, from the posterior along its conditional
    line ``mode + t * cov[:, i] / cov[i, i]`` (the other parameters at their conditional
    modes under the Laplace fit).

    The Laplace normal alone is symmetric on the fitting scale; a variance component such as
    ``skill_cv`` from a dozen reps has a skewed posterior, and the normal's interval then
    misses the truth far more often than 10%. The line (profile) posterior keeps the skew at
    the cost of one batched evaluation of ``n`` points per parameter.
    """
    m = mode.size
    out = np.empty((m, 3))
    for i in range(m):
        sd = math.sqrt(max(cov[i, i], 1e-300))
        slope = cov[:, i] / cov[i, i]
        # a parameter moving by under 1e-3 of its own sd changes f by ~1e-6: treat as fixed
        own = np.sqrt(np.maximum(np.diag(cov), 1e-300))
        moving = np.abs(slope) * sd * 20.0 > 1e-3 * own
        moving[i] = True
        # where the posterior is normal along the line (f rises by 2 at +-2 sd), the
        # Laplace interval stands: two points decide it
        X2 = mode[:, None] + np.outer(slope, np.array([-2.0, 0.0, 2.0]) * sd)
        f2 = negpost(X2, moving)
        if np.all(np.abs(f2[[0, 2]] - f2[1] - 2.0) < 0.1):
            out[i] = mode[i] + np.array([-_Z95, 0.0, _Z95]) * sd
            continue
        for width in (6.0, 12.0, 24.0):
            t = np.linspace(-width, width, n) * sd
            X = mode[:, None] + np.outer(slope, t)
            f = negpost(X, moving)
            w = np.exp(-(f - np.min(f)))
            if w[0] < 1e-6 * w.max() and w[-1] < 1e-6 * w.max():
                break
        # the log density is smooth: a cubic spline through the n points, then a fine grid
        from scipy.interpolate import CubicSpline
        fine = np.linspace(t[0], t[-1], 20 * n)
        # (capped: a failed evaluation returns 1e12, and a spline through that overshoots)
        g = np.minimum(f - np.min(f), 60.0)
        wf = np.exp(-np.clip(CubicSpline(t, g)(fine), 0.0, 60.0))
        seg = (wf[1:] + wf[:-1]) / 2
        cdf = np.concatenate([[0.0], np.cumsum(seg)])
        cdf /= cdf[-1]
        out[i] = mode[i] + slope[i] * np.interp([0.05, 0.5, 0.95], cdf, fine)
    return out


def _named_from_quantiles(p: _Prior, q05: float, q95: float) -> Distribution:
    """The named distribution whose 5% and 95% points are ``q05`` and ``q95`` (fitting scale),
    in the family that suits the parameter's support: lognormal on (0, inf), normal on the
    real line, beta on (0, 1), a truncated normal on other intervals."""
    sc = p.scale
    k = sc.kind
    q05, q95 = float(q05), float(max(q95, q05 + 1e-9))
    if k == "log" and sc.lo == 0.0:
        return Distribution("lognormal", {"median": float(math.exp((q05 + q95) / 2)),
                                          "sigma": float((q95 - q05) / (2 * _Z95))})
    if k == "id":
        return Distribution("normal", {"mu": (q05 + q95) / 2, "sigma": (q95 - q05) / (2 * _Z95)})
    a, b = float(sc.theta(q05)), float(sc.theta(q95))
    if k == "logit" and sc.lo == 0.0 and sc.hi == 1.0:
        target = special.logit([a, b])

        def resid(z):
            qs = special.betaincinv(math.exp(z[0]), math.exp(z[1]), [0.05, 0.95])
            return special.logit(np.clip(qs, 1e-15, 1 - 1e-15)) - target
        m = (a + b) / 2
        v = ((b - a) / (2 * _Z95)) ** 2
        c = max(m * (1 - m) / max(v, 1e-300) - 1.0, 1e-3)
        z0 = np.log([max(m * c, 1e-3), max((1 - m) * c, 1e-3)])
        sol = optimize.least_squares(resid, z0, method="lm")
        aa, bb = np.exp(sol.x)
        return Distribution("beta", {"a": float(aa), "b": float(bb)})
    lo = float(sc.lo) if np.isfinite(sc.lo) else None
    hi = float(sc.hi) if np.isfinite(sc.hi) else None

    width = max(b - a, 1e-12)

    def resid2(z):
        return (_truncnorm_ppf(np.array([0.05, 0.95]), z[0], math.exp(z[1]), lo, hi)
                - [a, b]) / width
    best = None
    # the untruncated match is usually close; a few other starts guard against the solver
    # sliding into a degenerate corner (sigma -> 0 at a bound)
    # mu stays inside [low, high] (a scenario checks it against the parameter's range)
    mu_lo = lo if lo is not None else -np.inf
    mu_hi = hi if hi is not None else np.inf
    for dmu, fs in ((0.0, 1.0), (0.0, 2.0), (-0.5, 1.0), (0.5, 1.0), (0.0, 0.5)):
        mu0 = min(max((a + b) / 2 + dmu * width, mu_lo), mu_hi)
        z0 = [mu0, math.log(fs * width / (2 * _Z95))]
        sol = optimize.least_squares(resid2, z0, method="trf",
                                     bounds=([mu_lo, math.log(width * 1e-3)],
                                             [mu_hi, math.log(width * 1e3)]))
        if best is None or sol.cost < best.cost:
            best = sol
        if sol.cost < 1e-10:
            break
    args: dict[str, float] = {"mu": float(best.x[0]), "sigma": float(math.exp(best.x[1]))}
    if lo is not None:
        args["low"] = lo
    if hi is not None:
        args["high"] = hi
    return Distribution("normal", args)


def _truncnorm_ppf(q: np.ndarray, mu: float, sigma: float, lo: float | None,
                   hi: float | None) -> np.ndarray:
    # the truncated normal's quantiles through ndtr/ndtri (scipy.stats objects are slow to
    # build inside a solver loop)
    pa = 0.0 if lo is None else special.ndtr((lo - mu) / sigma)
    pb = 1.0 if hi is None else special.ndtr((hi - mu) / sigma)
    return mu + sigma * special.ndtri(np.clip(pa + q * (pb - pa), 1e-300, 1 - 1e-16))


# --------------------------------------------------------------------------------------------
# likelihoods (vectorised over a batch of parameter values: every parameter array is (B,))
# --------------------------------------------------------------------------------------------
@dataclass
class _AcqData:
    """Acquisition rows: wins ~ Poisson(bwr * skill_rep * x), skill ~ lognormal(mean 1, cv)."""

    rep: np.ndarray  # rep index per row
    n: np.ndarray  # wins per row
    lpv: np.ndarray  # log(visits / reference)
    g: np.ndarray  # saturating training stock, (1 - exp(-stock)) / (1 - exp(-1))
    qe: np.ndarray  # quarter-end month
    lmkt: float  # log marketing multiplier (assumed, constant)
    n_reps: int
    rep_ids: list[str]

    def __post_init__(self) -> None:
        self.onehot = np.zeros((self.n.size, self.n_reps))
        self.onehot[np.arange(self.n.size), self.rep] = 1.0
        self.N = self.onehot.T @ self.n
        self.lgam = float(special.gammaln(self.n + 1).sum())

    def log_x(self, th: Mapping[str, np.ndarray]) -> np.ndarray:
        e = th["visit_elasticity"][:, None]
        te = th["training_effect"][:, None]
        u = th["quarter_end_uplift"][:, None]
        season = np.where(self.qe[None, :], 1.0 + u, 1.0 - u / 2.0)
        return e * self.lpv[None, :] + np.log1p(te * self.g[None, :]) + np.log(season) \
            + self.lmkt

    def _mode(self, a: np.ndarray, s2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mode and curvature of N*y - a*e^y - (y - m)^2 / (2 s2), per rep (Newton)."""
        N = self.N[None, :]
        m = -s2 / 2.0
        with np.errstate(divide="ignore"):
            ell = np.log((N + 0.5) / np.maximum(a, 1e-300))
        y = (N * ell + m / s2) / (N + 1.0 / s2)
        for _ in range(12):
            ey = a * np.exp(y)
            grad = N - ey - (y - m) / s2
            curv = ey + 1.0 / s2
            y = y + grad / curv
        curv = a * np.exp(y) + 1.0 / s2
        return y, curv

    def rep_integral(self, a: np.ndarray, s2: np.ndarray, moment: bool = False):
        """log of the integral over log-skill y of exp(N y - a e^y) N(y; -s2/2, s2), per rep;
        with ``moment`` also the posterior mean and sd of skill e^y."""
        y0, curv = self._mode(a, s2)
        scale = np.sqrt(2.0 / curv)
        y = y0[..., None] + scale[..., None] * _GH_X  # (B, R, Q)
        m = (-s2 / 2.0)[..., None]
        h = (self.N[None, :, None] * y - a[..., None] * np.exp(y)
             - (y - m) ** 2 / (2.0 * s2[..., None]))
        lw = np.log(_GH_W) + _GH_X ** 2 + h
        logI = (special.logsumexp(lw, axis=-1) + np.log(scale)
                - 0.5 * np.log(2 * np.pi * s2))
        if not moment:
            return logI
        w = np.exp(lw - lw.max(axis=-1, keepdims=True))
        w = w / w.sum(axis=-1, keepdims=True)
        mean = np.sum(w * np.exp(y), axis=-1)
        sd = np.sqrt(np.maximum(np.sum(w * np.exp(2 * y), axis=-1) - mean ** 2, 0.0))
        return logI, mean, sd

    def loglik(self, th: Mapping[str, np.ndarray]) -> np.ndarray:
        bwr = th["base_win_rate"]
        cv = th["skill_cv"]
        lx = self.log_x(th)
        X = np.exp(lx) @ self.onehot  # (B, R)
        C = (lx * self.n[None, :]).sum(1)
        s2 = np.log1p(cv * cv)[:, None] * np.ones((1, self.n_reps))
        a = bwr[:, None] * X
        logI = self.rep_integral(a, s2)
        return self.N.sum() * np.log(bwr) + C - self.lgam + logI.sum(1)

    def skills(self, th: Mapping[str, float]) -> pd.DataFrame:
        one = {k: np.array([float(v)]) for k, v in th.items()}
        lx = self.log_x(one)
        X = (np.exp(lx) @ self.onehot)[0]
        cv = float(th["skill_cv"])
        s2 = np.full((1, self.n_reps), math.log1p(cv * cv))
        a = float(th["base_win_rate"]) * X[None, :]
        _, mean, sd = self.rep_integral(a, s2, moment=True)
        months = self.onehot.sum(0)
        with np.errstate(divide="ignore", invalid="ignore"):
            raw = np.where(a[0] > 0, self.N / a[0], np.nan)
        return pd.DataFrame({"rep_id": self.rep_ids, "months": months.astype(int),
                             "new_customers": self.N.astype(int), "exposure": a[0],
                             "raw": raw, "shrunk": mean[0], "sd": sd[0]})


class _RevData:
    """Revenue rows: orders = new + Poisson(keep * ror * season); revenue | orders ~
    Gamma(orders / v^2, scale = order_value * v^2) (the model's own draw).

    The sum over repeat orders runs over a window of ``width`` counts per row, centred where
    the row's revenue puts it (from a rough moment estimate of the order value), so the cost
    does not grow with the book size.
    """

    def __init__(self, new: np.ndarray, keep: np.ndarray, qe: np.ndarray, rev: np.ndarray,
                 v: float | None, width: int = 48) -> None:
        self.new, self.keep, self.qe, self.rev = new, keep, qe, rev
        self.n_rows = rev.size
        self.logrev = np.log(np.where(rev > 0, rev, 1.0))
        self.width = width
        self.v = v
        self._center(v if v is not None else 0.8)

    def _center(self, v: float) -> None:
        # rough moments: rev ~ ov * new + (ov * ror) * keep; var ~ ov^2 (1 + v^2) E[orders]
        X = np.column_stack([self.new, self.keep])
        coef, *_ = np.linalg.lstsq(X, self.rev, rcond=None)
        fit = np.maximum(X @ coef, 1e-9)
        disp = float(np.sum((self.rev - fit) ** 2) / np.sum(fit))
        ov0 = max(disp / (1.0 + v * v), 1e-9)
        if not np.isfinite(ov0) or ov0 <= 0:
            ov0 = max(float(self.rev.mean()) / max(float((self.new + self.keep).mean()), 1.0),
                      1e-9)
        self._window(ov0, v)

    def _window(self, ov: float, v: float) -> None:
        """Centre each row's window of repeat-order counts where order value ``ov`` puts it."""
        self.ov0 = ov
        c = np.maximum(self.rev / ov - self.new, 0.0)
        lo = np.maximum(np.rint(c) - self.width // 2, 0.0)
        self.j = lo[:, None] + np.arange(self.width)[None, :]  # (R, W)
        self.lgj = special.gammaln(self.j + 1.0)
        self.O = self.new[:, None] + self.j
        self._prep_v(v)

    def _prep_v(self, v: float) -> None:
        self._v = v
        s = self.O / (v * v)
        with np.errstate(all="ignore"):
            G = (s - 1.0) * self.logrev[:, None] - special.gammaln(np.where(s > 0, s, 1.0))
        zero = self.O == 0
        bad = (~zero) & (self.rev[:, None] == 0)
        G = np.where(zero, np.where(self.rev[:, None] == 0, 0.0, -np.inf), G)
        self.G = np.where(bad, -np.inf, G)
        self.K = self.G - self.lgj
        self.s = s
        self.zero = zero

    def loglik(self, th: Mapping[str, np.ndarray]) -> np.ndarray:
        vv = np.asarray(th["order_value_cv"], dtype=float)
        if np.all(vv == vv[0]):
            if vv[0] != self._v:
                self._prep_v(float(vv[0]))
            return self._loglik(th, self.G[None], self.s[None], float(vv[0]) ** 2)
        out = np.empty(vv.size)
        for b in range(vv.size):  # order_value_cv varies across the batch: one at a time
            one = {k: np.asarray(x)[b:b + 1] for k, x in th.items()}
            self._prep_v(float(vv[b]))
            out[b] = self._loglik(one, self.G[None], self.s[None], float(vv[b]) ** 2)[0]
        return out

    def _loglik(self, th, G, s, v2) -> np.ndarray:
        # log term of repeat-order count j (orders O = new + j), rearranged so that only two
        # operations touch the (batch, rows, window) array before the log-sum-exp:
        #   j log(mu) - mu - log j! + G(O) - rev / (ov v2) - (O / v2) log(ov v2)
        # = j * [log(mu) - log(ov v2) / v2] + [G - log j!] + [-mu - rev/(ov v2) - new log(ov v2)/v2]
        ov = th["order_value"][:, None]
        ror = th["repeat_order_rate"][:, None]
        u = th["quarter_end_uplift"][:, None]
        season = np.where(self.qe[None, :], 1.0 + u, 1.0 - u / 2.0)
        mu = self.keep[None, :] * ror * season  # (B, R)
        lsc = np.log(ov * v2)
        c = np.log(np.maximum(mu, 1e-300)) - lsc / v2
        d = -mu - self.rev[None, :] / (ov * v2) - self.new[None, :] * lsc / v2
        x = self.j[None] * c[..., None] + self.K[None]
        mx = np.max(x, axis=-1, keepdims=True)
        mx = np.where(np.isfinite(mx), mx, 0.0)
        with np.errstate(divide="ignore"):
            lse = np.log(np.sum(np.exp(x - mx), axis=-1)) + mx[..., 0]
        return (lse + d).sum(1)

    def window_ok(self, th: Mapping[str, float]) -> bool:
        """Whether every row's window holds its mass at ``th`` (else recentre and refit):
        the terms at the window's edges must be negligible next to the largest."""
        one = {k: np.array([float(v)]) for k, v in th.items()}
        v2 = float(one["order_value_cv"][0]) ** 2
        ov = one["order_value"][:, None, None]
        u = one["quarter_end_uplift"][:, None]
        season = np.where(self.qe[None, :], 1.0 + u, 1.0 - u / 2.0)
        mu = (self.keep[None, :] * one["repeat_order_rate"][:, None] * season)[..., None]
        with np.errstate(divide="ignore", invalid="ignore"):
            lpois = self.j[None] * np.log(mu) - mu - self.lgj[None]
            x = (lpois + self.G[None] - self.rev[None, :, None] / (ov * v2)
                 - np.where(self.zero[None], 0.0, self.s[None] * np.log(ov * v2)))[0]
        mx = np.max(x, axis=1)
        ok = np.isfinite(mx)
        low_edge = (x[:, 0] < mx - 12.0) | (self.j[:, 0] == 0)
        high_edge = x[:, -1] < mx - 12.0
        return bool(np.all(~ok | (low_edge & high_edge)))

    def recenter(self, ov: float, width: int) -> None:
        self.width = width
        self._window(ov, self._v)


@dataclass
class _ChurnData:
    """churned ~ Poisson(active * churn_base * (1 - churn_revisit_effect * revisit rate))."""

    A: np.ndarray
    rr: np.ndarray
    c: np.ndarray

    def loglik(self, th: Mapping[str, np.ndarray]) -> np.ndarray:
        cb = th["churn_base"][:, None]
        ce = th["churn_revisit_effect"][:, None]
        lam = self.A[None, :] * cb * (1.0 - ce * self.rr[None, :])
        lam = np.maximum(lam, 1e-300)
        return (self.c[None, :] * np.log(lam) - lam).sum(1) - special.gammaln(self.c + 1).sum()


@dataclass
class _ReachData:
    """revisited ~ Binomial(active, 1 - exp(-targeting * customer visits / active))."""

    A: np.ndarray
    cv: np.ndarray
    r: np.ndarray

    def loglik(self, th: Mapping[str, np.ndarray]) -> np.ndarray:
        t = th["followup_targeting"][:, None]
        z = t * self.cv[None, :] / np.maximum(self.A[None, :], 1.0)
        lq = np.log(-np.expm1(-np.maximum(z, 1e-300)))
        return (self.r[None, :] * lq - (self.A - self.r)[None, :] * z).sum(1)


@dataclass
class _CsatData:
    """satisfied ~ Binomial(responses, expit(logit(csat_base) + coverage * (rr - 0.8)
    + training * min(stock, 3)))."""

    resp: np.ndarray
    sat: np.ndarray
    rr: np.ndarray
    stock: np.ndarray

    def loglik(self, th: Mapping[str, np.ndarray]) -> np.ndarray:
        cb = np.clip(th["csat_base"], 1e-12, 1 - 1e-12)[:, None]
        eta = (special.logit(cb) + th["csat_coverage_effect"][:, None]
               * (self.rr[None, :] - REFERENCE_REVISIT_RATE)
               + th["csat_training_effect"][:, None] * np.minimum(self.stock, 3.0)[None, :])
        return (self.sat[None, :] * special.log_expit(eta)
                + (self.resp - self.sat)[None, :] * special.log_expit(-eta)).sum(1)


# --------------------------------------------------------------------------------------------
# features of a rep-month history
# --------------------------------------------------------------------------------------------
def rep_month_features(hist: pd.DataFrame, *, retention: float, ramp_full: float,
                       start_tenure: float, history_start: str | None = None) -> pd.DataFrame:
    """Per-row features the fit needs, added to a copy of a validated rep-month history.

    Parameters
    ----------
    hist : DataFrame
        From :func:`okma_sim.io.load_rep_month` (any row subset).
    retention : float
        Training retention used to rebuild each rep's training stock from the recorded hours
        (the stock starts at 0 in a rep's first month, as in the model).
    ramp_full : float
        Months after which every rep is fully ramped (the ramp prior's upper end).
    start_tenure : float
        Tenure assumed for reps already present in the first month of the history (their start
        is not observed), unless a ``tenure_months`` column gives it.
    history_start : str, optional
        The first month of the whole history (default: the first month of ``hist``).

    Returns
    -------
    DataFrame
        ``hist`` sorted by rep and month, plus ``ym`` (month number: the ``Period[M]``
        ordinal), ``k`` (the rep's row number), ``new_rep`` (joined after the history start),
        ``tenure``, ``ramped``, ``stock`` (training stock at the start of the month), ``g``
        (its saturating uplift feature), ``rr`` (revisit rate), ``keep`` (active - churned),
        ``qe`` (quarter-end), ``departed`` (the rep's last month before the end of ``hist``).

    Examples
    --------
    >>> import okma_sim
    >>> from okma_sim.inference import load_history, rep_month_features
    >>> h = load_history(okma_sim.data_path("sales_history.csv"))
    >>> f = rep_month_features(h, retention=0.7, ramp_full=8, start_tenure=24)
    >>> bool((f["stock"] >= 0).all())
    True
    """
    df = hist.copy()
    df["ym"] = _ymv(df)
    df = df.sort_values(["rep_id", "ym"], kind="stable", ignore_index=True)
    first = _ym(history_start) if history_start else int(df["ym"].min())
    last = int(df["ym"].max())
    grp = df.groupby("rep_id", sort=False)
    df["k"] = grp.cumcount()
    df["new_rep"] = grp["ym"].transform("min") > first
    if "tenure_months" in df.columns and pd.api.types.is_numeric_dtype(df["tenure_months"]):
        ten = df["tenure_months"].astype(float)
        df["tenure"] = ten.where(ten.notna(), np.where(df["new_rep"], df["k"],
                                                       df["k"] + start_tenure))
    else:
        df["tenure"] = np.where(df["new_rep"], df["k"], df["k"] + start_tenure).astype(float)
    df["ramped"] = df["tenure"] + 1.0 >= ramp_full
    # training stock at the start of each row's month: s_{k+1} = r s_k + (1 - r) h_k / 8
    th = df["training_hours"].to_numpy(float) / REFERENCE_TRAINING_HOURS
    k = df["k"].to_numpy()
    stock = np.zeros(len(df))
    for step in range(1, int(k.max()) + 1 if len(df) else 0):
        idx = np.flatnonzero(k == step)
        stock[idx] = retention * stock[idx - 1] + (1 - retention) * th[idx - 1]
    df["stock"] = stock
    df["g"] = (1.0 - np.exp(-stock)) / (1.0 - math.exp(-1.0))
    A = df["active_customers"].to_numpy(float)
    df["rr"] = np.divide(df["revisited_customers"].to_numpy(float), A,
                         out=np.zeros(len(df)), where=A > 0)
    df["keep"] = A - df["churned_customers"].to_numpy(float)
    df["qe"] = ((df["ym"] % 12) + 1) % 3 == 0
    lastrow = grp["ym"].transform("max")
    df["departed"] = (df["ym"] == lastrow) & (lastrow < last)
    return df


def _complete_quarters(yms: np.ndarray) -> int:
    s = set(int(v) for v in yms)
    q = {v // 3 for v in s}
    return sum(all(3 * qq + i in s for i in range(3)) for qq in q)


# --------------------------------------------------------------------------------------------
# entries
# --------------------------------------------------------------------------------------------
def _entry(name: str, dist: Any, rows: int, source: str, what: str, note: str = "") -> FitEntry:
    d = to_named(dist, name) if not isinstance(dist, Distribution) else dist
    if d.dist == "fixed":
        v = float(d.args["value"])
        lo = hi = med = v
    else:
        med, lo, hi = (_ppf(d, q) for q in (0.5, 0.05, 0.95))
    return FitEntry(name, float(med), float(lo), float(hi), int(rows) if source == "fitted"
                    else 0, source, d, what if source == "fitted" else "", note)


class _Collector:
    """Gathers entries and correlation blocks while fitting."""

    def __init__(self, priors: Mapping[str, Any], bounds: Mapping[str, tuple[float, float]]):
        self.priors = priors
        self.bounds = bounds
        self.entries: dict[str, FitEntry] = {}
        self.blocks: list[tuple[list[str], np.ndarray]] = []
        self.warnings: list[str] = []

    def prior(self, name: str, note: str = "") -> None:
        self.entries[name] = _entry(name, self.priors[name], 0, "prior", "", note)

    def prior_of(self, name: str) -> _Prior:
        return _Prior.of(name, self.priors[name], self.bounds.get(name, (-math.inf, math.inf)))

    def from_laplace(self, lap: _Laplace, rows: Mapping[str, int], what: Mapping[str, str],
                     require: Mapping[str, bool] | None = None,
                     notes: Mapping[str, str] | None = None) -> None:
        m = len(lap.names)
        allowed = np.array([lap.ok and rows.get(n, 0) > 0 and
                            (require is None or require.get(n, True)) for n in lap.names])
        shrunk = np.array([lap.sd(i) < _CONTRACTION * p.phi_sd
                           for i, p in enumerate(lap.priors)])
        fit_mask = allowed & shrunk
        d = np.sqrt(np.maximum(np.diag(lap.cov), 1e-300))
        corr = lap.cov / np.outer(d, d)
        # a parameter strongly correlated with a fitted one is identified jointly with it
        # (order value and repeat-order rate: mostly their product): writing its prior beside
        # the partner's posterior would break the product, so it is fitted too
        partner: dict[int, int] = {}
        # a strongly correlated pair can be well identified together (their product, say)
        # while neither marginal moves: the pair is fitted when its joint spread shrank
        pv = np.array([p.phi_sd ** 2 for p in lap.priors])
        for i in range(m):
            for k in range(m):
                if k == i or not (allowed[i] and allowed[k]) or abs(corr[i, k]) < _JOINT:
                    continue
                det_post = lap.cov[i, i] * lap.cov[k, k] * (1 - corr[i, k] ** 2)
                if det_post < _CONTRACTION ** 4 * pv[i] * pv[k] and not fit_mask[i]:
                    fit_mask[i] = True
                    partner[i] = k
        changed = True
        while changed:
            changed = False
            for i in range(m):
                if fit_mask[i] or not allowed[i]:
                    continue
                j = [k for k in range(m) if fit_mask[k] and abs(corr[i, k]) >= _JOINT]
                if j:
                    fit_mask[i] = True
                    partner[i] = j[0]
                    changed = True
        fitted = []
        for i, (n, p) in enumerate(zip(lap.names, lap.priors)):
            note = (notes or {}).get(n, "")
            if fit_mask[i]:
                if i in partner:
                    k = partner[i]
                    note = (note + "; " if note else "") + (
                        f"identified jointly with {lap.names[k]} (posterior correlation "
                        f"{corr[i, k]:+.2f})")
                if lap.vague[i]:
                    note = (note + "; " if note else "") + "data dominate: vague prior"
                dd = _named_from_quantiles(p, float(lap.q[i, 0]), float(lap.q[i, 2]))
                self.entries[n] = _entry(n, dd, rows.get(n, 0), "fitted", what.get(n, ""), note)
                fitted.append(i)
            else:
                self.prior(n, note or "not identified by these data")
        if fitted and m >= 2 and lap.ok:
            # the whole block's correlations, prior-labelled members included: their written
            # prior is their posterior marginal to within 10% in sd, and leaving out, say,
            # the training effect's trade-off with the win rate would widen every forecast
            self.blocks.append((list(lap.names), corr))

    def correlations(self, min_abs: float = 0.2) -> Correlations | None:
        names: list[str] = []
        mats: list[np.ndarray] = []
        for nm, r in self.blocks:
            off = np.abs(r - np.eye(len(nm)))
            keep = [i for i in range(len(nm)) if off[i].max() >= min_abs]
            if len(keep) < 2:
                continue
            names += [nm[i] for i in keep]
            # Pearson on the fitting scale -> Spearman (rank) correlation, which the engine
            # applies by Iman-Conover
            rs = 6.0 / math.pi * np.arcsin(r[np.ix_(keep, keep)] / 2.0)
            mats.append(rs)
        if not names:
            return None
        M = np.eye(len(names))
        o = 0
        for rs in mats:
            k = rs.shape[0]
            M[o:o + k, o:o + k] = rs
            o += k
        return _as_correlations(names, M)


def _as_correlations(names: Sequence[str], M: np.ndarray) -> Correlations:
    from okma_sim.engine import nearest_correlation
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


def _merge_correlations(plan_corr: Correlations | None,
                        fit_corr: Correlations | None) -> Correlations | None:
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
    return _as_correlations(names, M)


# --------------------------------------------------------------------------------------------
# conjugate and grid posteriors
# --------------------------------------------------------------------------------------------
def _beta_posterior(prior: Any, successes: float, trials: float) -> Distribution:
    """Beta posterior: conjugate when the prior is a beta, else a grid posterior moment-matched
    to a beta."""
    if isinstance(prior, Distribution) and prior.dist == "beta":
        return Distribution("beta", {"a": float(prior.args["a"] + successes),
                                     "b": float(prior.args["b"] + trials - successes)})
    return _grid_beta(prior, lambda p: successes * np.log(p) + (trials - successes)
                      * np.log1p(-p))


def _grid_beta(prior: Any, loglik: Callable[[np.ndarray], np.ndarray]) -> Distribution:
    p = (np.arange(1, 20000) - 0.5) / 19999.0
    with np.errstate(all="ignore"):
        lp = _frozen(prior).logpdf(p) + loglik(p)
    lp = np.where(np.isfinite(lp), lp, -np.inf)
    w = np.exp(lp - lp.max())
    w /= w.sum()
    mean = float(np.sum(w * p))
    var = float(np.sum(w * (p - mean) ** 2))
    c = mean * (1 - mean) / max(var, 1e-300) - 1.0
    return Distribution("beta", {"a": float(mean * c), "b": float((1 - mean) * c)})


# --------------------------------------------------------------------------------------------
# rep-month fit
# --------------------------------------------------------------------------------------------
def _model_and_priors(plan: Plan | None, model: Any) -> tuple[Plan, Any, dict[str, Any]]:
    from okma_sim._core.paths import case_study_path
    from okma_sim.plan import load_plan
    from okma_sim.models import get_model
    if plan is None:
        plan = load_plan(case_study_path())
    model = get_model(plan.model) if model is None else model
    missing = [n for n in _ACQ + _REV + ("training_retention", "marketing_effect",
                                          "ramp_months", "churn_base")
               if n not in model.parameters]
    if missing:
        raise OkmaError("calibration fits the sales-team model's parameters; this model "
                        f"lacks {missing[0]}", key="model", value=getattr(model, "name", None))
    return plan, model, resolve_parameters(plan, model)


def _baseline(monthly: pd.DataFrame, warn: list[str]) -> Baseline | None:
    rev = monthly["revenue"].to_numpy(float)
    if rev.size == 0 or rev.sum() <= 0:
        warn.append("no revenue in the history: the baseline is left to the plan")
        return None
    if rev.size >= 12:
        return Baseline(monthly_revenue=tuple(float(round(x, 2)) for x in rev[-12:]))
    warn.append(f"only {rev.size} months of history: the baseline is an annual figure "
                f"(12 x the monthly mean {rev.mean():,.0f}), spread by the seasonality")
    return Baseline(annual_revenue=float(round(rev.mean() * 12, 2)))


def _team_monthly(df: pd.DataFrame, all_yms: np.ndarray) -> pd.DataFrame:
    g = df.groupby("ym")
    out = pd.DataFrame({"ym": all_yms})
    agg = pd.DataFrame({
        "reps": g.size(),
        "revenue": g["revenue"].sum(),
        "new_customers": g["new_customers"].sum(),
        "active_customers": g["active_customers"].sum(),
        "revisited_customers": g["revisited_customers"].sum(),
        "csat_responses": g["csat_responses"].sum(),
        "csat_satisfied": g["csat_satisfied"].sum(),
    }).reset_index()
    out = out.merge(agg, on="ym", how="left").fillna(0)
    out.insert(0, "month", [_month(int(v)) for v in out["ym"]])
    with np.errstate(all="ignore"):
        out["revisit_rate"] = np.where(out["active_customers"] > 0, out["revisited_customers"]
                                       / out["active_customers"].where(
                                           out["active_customers"] > 0, 1), np.nan)
        out["csat"] = np.where(out["csat_responses"] > 0, out["csat_satisfied"]
                               / out["csat_responses"].where(out["csat_responses"] > 0, 1),
                               np.nan)
    for c in ("reps", "new_customers", "active_customers", "revisited_customers",
              "csat_responses", "csat_satisfied"):
        out[c] = out[c].astype(np.int64)
    return out.drop(columns="ym")


def fit_rep_month(hist: pd.DataFrame, plan: Plan | None = None, *, model: Any = None,
                  through: str | None = None) -> FitResult:
    """Fit the model's parameters to a rep-month history.

    Parameters
    ----------
    hist : DataFrame
        From :func:`okma_sim.io.load_rep_month`.
    plan : Plan, optional
        Supplies the priors (its ``[parameters]`` over the model's), the levers the history
        does not record (marketing events, CSAT surveys a year: assumed at the plan's levels),
        and the working assumptions (tenure of reps already present). Default: the case study.
    model : Model, optional
        Default: the plan's (the sales-team model).
    through : str, optional
        Last month (``YYYY-MM``) to use; later rows are ignored (backtests).

    Returns
    -------
    FitResult

    Examples
    --------
    >>> import okma_sim
    >>> from okma_sim.inference import fit_rep_month, load_history
    >>> fit = fit_rep_month(load_history(okma_sim.data_path("sales_history.csv")))
    >>> fit.entry("base_win_rate").source
    'fitted'
    """
    plan, model, priors = _model_and_priors(plan, model)
    bounds = dict(getattr(model, "parameter_bounds", {}))
    source = hist.attrs.get("source")
    history_start = str(hist["month"].min())
    if through is not None:
        hist = hist[_ymv(hist) <= _ym(through)]
        if hist.empty:
            raise DataError("no history rows up to this month", file=source, key="cutoff",
                            value=through)
    col = _Collector(priors, bounds)
    warn = col.warnings

    # plug-ins for parameters the rep-month data cannot identify but the features need
    retention = _prior_mean(priors["training_retention"])
    ramp_hi = _support(priors["ramp_months"])[1]
    if not np.isfinite(ramp_hi):
        ramp_hi = _ppf(priors["ramp_months"], 0.999)
    mkt_events = float(plan.actions.get("marketing_events_per_quarter",
                                        model.levers["marketing_events_per_quarter"].default)
                       if hasattr(model, "levers") else 0.0)
    mkt_effect = _prior_mean(priors["marketing_effect"])
    lmkt = math.log1p(mkt_effect * math.log2(1.0 + mkt_events))
    surveys = float(plan.actions.get("csat_surveys_per_year", 4.0))
    plugins = {"training_retention": retention, "marketing_effect": mkt_effect,
               "marketing_events_per_quarter": mkt_events, "csat_surveys_per_year": surveys}

    df = rep_month_features(hist, retention=retention, ramp_full=math.ceil(ramp_hi),
                            start_tenure=plan.team.tenure_months, history_start=history_start)
    yms = np.arange(int(df["ym"].min()), int(df["ym"].max()) + 1)
    n_quarters = _complete_quarters(df["ym"].to_numpy())

    # -- acquisition + revenue (joint: they share the quarter-end uplift) -----------------------
    acq_rows = df[df["ramped"] & (df["prospect_visits"] > 0)]
    dropped = df[(df["prospect_visits"] == 0) & (df["new_customers"] > 0)]
    if len(dropped):
        warn.append(f"{len(dropped)} rep-months with new customers but no prospect visits were "
                    "left out of the win-rate fit")
    reps = sorted(acq_rows["rep_id"].unique())
    rep_index = {r: i for i, r in enumerate(reps)}
    acq = None
    if len(acq_rows):
        acq = _AcqData(rep=acq_rows["rep_id"].map(rep_index).to_numpy(int),
                       n=acq_rows["new_customers"].to_numpy(float),
                       lpv=np.log(acq_rows["prospect_visits"].to_numpy(float)
                                  / REFERENCE_PROSPECT_VISITS),
                       g=acq_rows["g"].to_numpy(float), qe=acq_rows["qe"].to_numpy(bool),
                       lmkt=lmkt, n_reps=len(reps), rep_ids=reps)
    rev_ok = ~((df["revenue"] <= 0) & (df["new_customers"] > 0))
    if (~rev_ok).any():
        warn.append(f"{int((~rev_ok).sum())} rep-months with new customers but no revenue were "
                    "left out of the revenue fit")
    rev_rows = df[rev_ok]
    rev = None
    if len(rev_rows) and rev_rows["revenue"].sum() > 0:
        vprior = priors["order_value_cv"]
        rev = _RevData(new=rev_rows["new_customers"].to_numpy(float),
                       keep=rev_rows["keep"].to_numpy(float), qe=rev_rows["qe"].to_numpy(bool),
                       rev=rev_rows["revenue"].to_numpy(float),
                       v=float(vprior.args["value"]) if _is_fixed(vprior) else None)
    n_acq = len(acq_rows)
    n_rev = len(rev_rows) if rev is not None else 0
    rows = {"base_win_rate": n_acq, "skill_cv": n_acq, "visit_elasticity": n_acq,
            "training_effect": n_acq, "quarter_end_uplift": n_acq + n_rev,
            "order_value": n_rev, "repeat_order_rate": n_rev, "order_value_cv": n_rev}
    what = {k: "ramped rep-months with prospect visits" for k in _ACQ}
    what.update({k: "rep-months (revenue vs new and kept customers)" for k in _REV})
    what["quarter_end_uplift"] = "both of the above"
    skills = pd.DataFrame(columns=["rep_id", "months", "new_customers", "exposure", "raw",
                                   "shrunk", "sd"])
    names = [n for n in (_ACQ if acq is not None else ()) + (_REV if rev is not None else ())
             if not _is_fixed(priors[n])]
    if acq is None:
        for n in _ACQ:
            col.prior(n, "no ramped rep-months with prospect visits")
    if rev is None:
        for n in _REV:
            col.prior(n, "no revenue rows")
    if names:
        lap, th = _fit_main(names, priors, col, acq, rev)
        col.from_laplace(lap, rows, what, require={"quarter_end_uplift": n_quarters >= 3},
                         notes={"quarter_end_uplift": "" if n_quarters >= 3 else
                                f"only {n_quarters} complete quarters (3 needed)"})
        if acq is not None:
            skills = acq.skills(th)
    for n in _ACQ + _REV:
        if n not in col.entries:
            col.prior(n)

    # -- churn ---------------------------------------------------------------------------------
    ch = df[df["active_customers"] > 0]
    _fit_simple(col, ("churn_base", "churn_revisit_effect"),
                _ChurnData(A=ch["active_customers"].to_numpy(float), rr=ch["rr"].to_numpy(float),
                           c=ch["churned_customers"].to_numpy(float)) if len(ch) else None,
                len(ch), "rep-months with customers")
    # -- follow-up reach -----------------------------------------------------------------------
    _fit_simple(col, ("followup_targeting",),
                _ReachData(A=ch["active_customers"].to_numpy(float),
                           cv=ch["customer_visits"].to_numpy(float),
                           r=ch["revisited_customers"].to_numpy(float)) if len(ch) else None,
                len(ch), "rep-months with customers")
    # -- CSAT ----------------------------------------------------------------------------------
    cs = df[df["csat_responses"] > 0]
    _fit_simple(col, ("csat_base", "csat_coverage_effect", "csat_training_effect"),
                _CsatData(resp=cs["csat_responses"].to_numpy(float),
                          sat=cs["csat_satisfied"].to_numpy(float), rr=cs["rr"].to_numpy(float),
                          stock=cs["stock"].to_numpy(float)) if len(cs) else None,
                len(cs), "rep-months with survey responses")

    # -- surveys: completion (team level) and response rate --------------------------------------
    resp_by_month = df.groupby("ym")["csat_responses"].sum().reindex(yms, fill_value=0)
    done = resp_by_month > 0
    sched = np.array([survey_month(int(v % 12) + 1, surveys) for v in yms])
    if (done & ~sched).any():
        bad = _month(int(yms[np.flatnonzero(done.to_numpy() & ~sched)[0]]))
        warn.append(f"survey responses in {bad}, a month the plan's schedule "
                    f"({surveys:g} surveys a year) does not include: survey_completion keeps "
                    "its prior")
        col.prior("survey_completion", "survey schedule of the history unknown")
    elif sched.sum() == 0:
        col.prior("survey_completion", "no survey scheduled in the history's months")
    else:
        _conjugate(col, "survey_completion", float(done[sched].sum()), float(sched.sum()),
                   int(sched.sum()), "scheduled survey months (team level)")
    sv = df[df["ym"].isin(yms[done.to_numpy()])]
    if len(sv) and sv["active_customers"].sum() > 0:
        _conjugate(col, "survey_response_rate", float(sv["csat_responses"].sum()),
                   float(sv["active_customers"].sum()), len(sv),
                   "rep-months of completed survey months")
    else:
        col.prior("survey_response_rate", "no completed surveys")

    # -- attrition from the roster ---------------------------------------------------------------
    at_risk = df[df["ym"] < df["ym"].max()]
    D = float(at_risk["departed"].sum())
    M = float(len(at_risk))
    if M > 0 and not _is_fixed(priors["rep_attrition_annual"]):
        prior = priors["rep_attrition_annual"]
        post = _grid_beta(prior, lambda a: _attrition_loglik(a, D, M))
        _keep_if_contracted(col, "rep_attrition_annual", post, int(M),
                            "rep-months before the last month (a rep's last month before the "
                            "end counts as a departure)")
    else:
        col.prior("rep_attrition_annual")

    for n in ("training_retention", "coaching_effect", "marketing_effect",
              "hiring_delay_months", "ramp_months", "order_value_cv"):
        if n not in col.entries:
            col.prior(n, "not identified by rep-month data")
    for n in priors:
        if n not in col.entries:
            col.prior(n)

    # -- roster, baseline --------------------------------------------------------------------------
    monthly = _team_monthly(df, yms)
    last = int(df["ym"].max())
    end = df[df["ym"] == last]
    shrunk = dict(zip(skills["rep_id"], skills["shrunk"])) if len(skills) else {}
    roster = tuple(Rep(id=str(r.rep_id), tenure_months=float(r.tenure + 1),
                       customers=float(r.active_customers - r.churned_customers
                                       + r.new_customers),
                       skill=float(round(shrunk[r.rep_id], 4)) if r.rep_id in shrunk else None)
                   for r in end.itertuples())
    seats = int(monthly["reps"].max())
    if len(end) < seats:
        warn.append(f"{seats - len(end)} seat(s) vacant in {_month(last)} (the team had {seats} "
                    f"reps at most): the roster holds the {len(end)} reps of the last month")
    baseline = _baseline(monthly.tail(12), warn)
    order = list(model.parameters)
    entries = tuple(col.entries[n] for n in order if n in col.entries)
    return FitResult(entries=entries, correlations=col.correlations(), skills=skills,
                     monthly=monthly, roster=roster, baseline=baseline,
                     start_month=_month(last + 1), first_month=_month(int(yms[0])),
                     last_month=_month(last), format="rep-month", source=source,
                     warnings=tuple(warn), plugins=plugins)


def _attrition_loglik(a: np.ndarray, D: float, M: float) -> np.ndarray:
    h = 1.0 - (1.0 - a) ** (1.0 / 12.0)
    return D * np.log(h) + (M - D) * np.log1p(-h)


def _keep_if_contracted(col: _Collector, name: str, post: Distribution, rows: int,
                        what: str) -> None:
    p = col.prior_of(name)
    u = (np.arange(1, 200) - 0.5) / 199.0
    sd = float(np.std(p.scale.phi(_ppf(post, u))))
    if sd < _CONTRACTION * p.phi_sd:
        col.entries[name] = _entry(name, post, rows, "fitted", what)
    else:
        col.prior(name, "too few data to move the prior")


def _conjugate(col: _Collector, name: str, successes: float, trials: float, rows: int,
               what: str) -> None:
    prior = col.priors[name]
    if _is_fixed(prior):
        col.prior(name)
        return
    _keep_if_contracted(col, name, _beta_posterior(prior, successes, trials), rows, what)


def _fit_simple(col: _Collector, names: Sequence[str], data: Any, rows: int, what: str) -> None:
    free = [n for n in names if not _is_fixed(col.priors[n])]
    if data is None or not free:
        for n in names:
            col.prior(n, "" if data is not None else "no rows")
        return
    pri = [col.prior_of(n) for n in free]
    fixed = {n: float(col.priors[n].args["value"]) for n in names if n not in free}
    lap = _laplace(pri, data.loglik, fixed)
    col.from_laplace(lap, {n: rows for n in free}, {n: what for n in free})
    for n in names:
        if n not in col.entries:
            col.prior(n)


def _fit_main(names: list[str], priors: Mapping[str, Any], col: _Collector,
              acq: _AcqData | None, rev: _RevData | None) -> tuple[_Laplace, dict[str, float]]:
    """Joint fit of acquisition and revenue (they share the quarter-end uplift)."""
    pri = [col.prior_of(n) for n in names]
    fixed = {n: float(priors[n].args["value"]) if _is_fixed(priors[n]) else _prior_mean(priors[n])
             for n in _ACQ + _REV if n not in names}

    terms: list[_Term] = []
    if acq is not None:
        terms.append((_ACQ, acq.loglik))
    if rev is not None:
        terms.append((("order_value", "repeat_order_rate", "quarter_end_uplift",
                       "order_value_cv"), rev.loglik))
    lap = _laplace(pri, terms, fixed)
    th = {**fixed, **lap.theta()}
    for width in (80, 160):
        if rev is None or rev.window_ok(th):
            break
        # the windows missed the mass at the mode: recentre on it, widen, refit from there
        rev.recenter(float(th["order_value"]), width)
        lap = _laplace(pri, terms, fixed, x0=lap.mode)
        th = {**fixed, **lap.theta()}
    return lap, th


# --------------------------------------------------------------------------------------------
# opportunity export fit
# --------------------------------------------------------------------------------------------
def crm_effort(panel: pd.DataFrame, window: int = 3) -> pd.Series:
    """Selling effort of an opportunity panel by month: opportunities engaged per active
    group (agent) per month, averaged over the trailing ``window`` months (wins lag
    engagements by the sales cycle, about 1.5 months in the bundled export).

    Parameters
    ----------
    panel : DataFrame
        From :func:`okma_sim.io.opportunities_to_panel`.

    Returns
    -------
    Series
        Indexed by month number (the ``Period[M]`` ordinal of the panel's ``period``).

    Examples
    --------
    >>> import okma_sim
    >>> from okma_sim.io import load_opportunities, opportunities_to_panel
    >>> p = opportunities_to_panel(load_opportunities(okma_sim.data_path(
    ...     "crm_sales_opportunities")))
    >>> bool((crm_effort(p) > 0).all())
    True
    """
    ym = _ymv(panel)
    g = pd.DataFrame({"ym": ym, "engaged": panel["engaged"].to_numpy(float)}).groupby("ym")
    per = g["engaged"].sum() / g.size()
    per = per.reindex(np.arange(per.index.min(), per.index.max() + 1), fill_value=0.0)
    return per.rolling(window, min_periods=1).mean()


def fit_opportunities(opps: pd.DataFrame, plan: Plan | None = None, *, model: Any = None,
                      by: str = "sales_agent", through: str | None = None,
                      seed: int = 0) -> FitResult:
    """Fit what an opportunity-level CRM export identifies; everything else keeps its prior.

    The mapping (docs/calibration.md): a won deal is a new customer and its one order, so
    ``base_win_rate`` comes from wins per agent-month, with opportunities engaged per
    agent-month (trailing 3-month mean, :func:`crm_effort`) standing in for prospect visits;
    ``skill_cv`` and the shrunk skills from the spread of wins between agents;
    ``quarter_end_uplift`` from the quarter-end bunching of wins (when the window holds three
    complete quarters); ``order_value`` and ``order_value_cv`` from the won deal values (mean
    with its standard error, CV with a bootstrap); ``repeat_order_rate`` is 0 (repeat business
    is booked as new deals). The first close month is left out: it holds a backlog.

    Parameters
    ----------
    opps : DataFrame
        From :func:`okma_sim.io.load_opportunities`.
    plan : Plan, optional
        Priors and working assumptions (default: the case study).
    by : str
        Grouping of the panel: ``sales_agent`` (a rep), ``manager`` or ``regional_office``.
    through : str, optional
        Last close month to use.
    seed : int
        Seed of the deal-value bootstrap.

    Examples
    --------
    >>> import okma_sim
    >>> from okma_sim.inference import fit_opportunities, load_history
    >>> opps = load_history(okma_sim.data_path("crm_sales_opportunities"), "opportunities")
    >>> fit = fit_opportunities(opps)
    >>> fit.entry("order_value").source, fit.entry("churn_base").source
    ('fitted', 'prior')
    """
    from okma_sim.io import opportunity_summary
    plan, model, priors = _model_and_priors(plan, model)
    bounds = dict(getattr(model, "parameter_bounds", {}))
    source = opps.attrs.get("source")
    col = _Collector(priors, bounds)
    warn = col.warnings
    panel = opportunities_to_panel(opps, by=by)
    panel["ym"] = _ymv(panel)
    closes = opps.loc[opps["deal_stage"].isin(["Won", "Lost"]), "close_date"].dropna()
    if closes.empty:
        raise DataError("the export has no closed (Won or Lost) deals", file=source)
    close_ym = month_ordinal(closes)
    first_close, last_close = int(close_ym.min()), int(close_ym.max())
    end = last_close if through is None else _ym(through)
    if end < first_close + 1:
        # a cutoff (backtests) is named as the bad value; without one the export itself is short
        raise DataError(f"needs at least one close month after the first ({_month(first_close)},"
                        " which holds a backlog)", file=source,
                        key=None if through is None else "cutoff", value=_month(end))
    warn.append(f"the first close month ({_month(first_close)}) holds a backlog of older deals "
                "and is left out of the fit")
    win = panel[(panel["ym"] > first_close) & (panel["ym"] <= end)].copy()
    yms = np.arange(first_close + 1, end + 1)
    n_quarters = _complete_quarters(yms)
    won = opps[(opps["deal_stage"] == "Won") & opps["close_date"].notna()]
    won_ym = month_ordinal(won["close_date"])
    won = won[(won_ym > first_close) & (won_ym <= end)]

    mkt_events = float(plan.actions.get("marketing_events_per_quarter", 1.0))
    mkt_effect = _prior_mean(priors["marketing_effect"])
    lmkt = math.log1p(mkt_effect * math.log2(1.0 + mkt_events))
    effort = crm_effort(panel)
    engaged = float(effort.reindex(yms).mean())
    plugins = {"marketing_effect": mkt_effect, "marketing_events_per_quarter": mkt_events,
               "engaged_per_rep_month": engaged, "training_retention":
               _prior_mean(priors["training_retention"]), "csat_surveys_per_year": 0.0}
    reps = sorted(win["rep_id"].unique())
    rep_index = {r: i for i, r in enumerate(reps)}
    qe = ((win["ym"] % 12) + 1) % 3 == 0
    e_row = effort.reindex(win["ym"]).to_numpy(float)
    acq = _AcqData(rep=win["rep_id"].map(rep_index).to_numpy(int),
                   n=win["won"].to_numpy(float),
                   lpv=np.log(np.maximum(e_row, 1e-9) / REFERENCE_PROSPECT_VISITS),
                   g=np.zeros(len(win)), qe=qe.to_numpy(bool), lmkt=lmkt, n_reps=len(reps),
                   rep_ids=reps)
    names = [n for n in ("base_win_rate", "skill_cv", "visit_elasticity", "quarter_end_uplift")
             if not _is_fixed(priors[n])]
    fixed = {n: (float(priors[n].args["value"]) if _is_fixed(priors[n])
                 else _prior_mean(priors[n]))
             for n in _ACQ if n not in names}
    # no training is recorded: the win rate is that of the team as trained
    fixed["training_effect"] = 0.0
    pri = [col.prior_of(n) for n in names]
    lap = _laplace(pri, acq.loglik, fixed)
    th = {**fixed, **lap.theta()}
    n_rows = len(win)
    col.from_laplace(lap, {n: n_rows for n in names},
                     {n: f"{by}-months of the close window (wins)" for n in names},
                     require={"quarter_end_uplift": n_quarters >= 3},
                     notes={"quarter_end_uplift": "" if n_quarters >= 3 else
                            f"only {n_quarters} complete quarters (3 needed)",
                            "base_win_rate": f"wins per {by}-month; opportunities engaged "
                            f"(trailing 3-month mean, {engaged:.1f} per {by}-month) stand in "
                            "for prospect visits"})
    skills = acq.skills(th)

    # deal values: mean with its standard error, CV with a bootstrap
    vals = won["close_value"].to_numpy(float)
    if vals.size >= 2 and vals.mean() > 0:
        mean, se = float(vals.mean()), float(vals.std(ddof=1) / math.sqrt(vals.size))
        d = Distribution("lognormal", {"median": mean, "sigma": max(se / mean, 1e-9)})
        col.entries["order_value"] = _entry("order_value", d, vals.size, "fitted",
                                            "won deals of the close window (close_value)",
                                            "a won deal is one order")
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, vals.size, size=(400, vals.size))
        boot = vals[idx]
        cvs = boot.std(axis=1, ddof=1) / boot.mean(axis=1)
        cv = float(vals.std(ddof=1) / mean)
        sig = float(np.std(np.log(cvs)))
        col.entries["order_value_cv"] = _entry(
            "order_value_cv", Distribution("lognormal", {"median": cv, "sigma": max(sig, 1e-9)}),
            vals.size, "fitted", "won deals of the close window (close_value)",
            "coefficient of variation of deal values (bootstrap, 400 resamples)")
        # every order is a won deal (repeat business is booked as new deals in the export)
        col.entries["repeat_order_rate"] = _entry(
            "repeat_order_rate", Distribution("fixed", {"value": 0.0}), vals.size, "fitted",
            "won deals of the close window", "mapping: every order is a won deal (repeat "
            "business is booked as new deals), so no repeat orders")
    else:
        col.prior("order_value", "fewer than 2 won deals")
        col.prior("order_value_cv", "fewer than 2 won deals")
    for n in priors:
        if n not in col.entries:
            col.prior(n, "not in an opportunity export")

    summary = opportunity_summary(opps)
    mon = panel[(panel["ym"] >= first_close) & (panel["ym"] <= end)]
    monthly = (mon.groupby("month").agg(reps=("rep_id", "nunique"), engaged=("engaged", "sum"),
                                        wins=("won", "sum"), lost=("lost", "sum"),
                                        revenue=("revenue", "sum")).reset_index())
    by_group = {}
    for g in ("sales_agent", "manager", "regional_office"):
        if g in opps.columns and opps[g].notna().all():
            p = panel if g == by else opportunities_to_panel(opps, by=g)
            p = p[(_ymv(p) >= first_close) & (_ymv(p) <= end)]
            by_group[g] = p[["month", "rep_id", "won", "revenue"]].rename(
                columns={"rep_id": g, "won": "wins"}).to_dict(orient="records")
    wr = summary["win_rate"]
    beta = stats.beta(wr["won"] + 0.5, wr["lost"] + 0.5)
    details = {
        "win_rate": {"estimate": wr["rate"], "low90": float(beta.ppf(0.05)),
                     "high90": float(beta.ppf(0.95)), "won": wr["won"], "lost": wr["lost"]},
        "deal_value": summary["deal_value"],
        "cycle_days": summary["cycle_days"],
        "rep_spread": summary["rep_spread"],
        "engaged_per_rep_month": engaged,
        "monthly": monthly,
        "by_group": by_group,
    }
    roster = tuple(Rep(id=str(r), tenure_months=float(plan.team.tenure_months), customers=0.0,
                       skill=float(round(s, 4)))
                   for r, s in zip(skills["rep_id"], skills["shrunk"])
                   if r in set(win.loc[win["ym"] == end, "rep_id"]))
    warn.append("the export has no customer book: the roster starts with no customers; "
                "repeat orders, churn, follow-ups and CSAT keep their priors")
    rev_monthly = monthly[monthly["month"] > _month(first_close)]
    baseline = _baseline(rev_monthly.tail(12), warn)
    order = list(model.parameters)
    entries = tuple(col.entries[n] for n in order if n in col.entries)
    mon_tm = monthly.rename(columns={"wins": "new_customers"})
    return FitResult(entries=entries, correlations=col.correlations(), skills=skills,
                     monthly=mon_tm, roster=roster, baseline=baseline,
                     start_month=_month(end + 1), first_month=_month(first_close + 1),
                     last_month=_month(end), format="opportunities", source=source,
                     warnings=tuple(warn), details=details, plugins=plugins)


# --------------------------------------------------------------------------------------------
# entry points
# --------------------------------------------------------------------------------------------
def load_history(path: str | os.PathLike, fmt: str = "rep-month", *,
                 columns: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Load and validate a history file in one of :data:`FORMATS`.

    Examples
    --------
    >>> import okma_sim
    >>> h = load_history(okma_sim.data_path("sales_history.csv"))
    >>> h["month"].min(), h["month"].max()
    ('2025-01', '2026-12')
    """
    from okma_sim.io import load_opportunities, load_rep_month
    if fmt == "rep-month":
        return load_rep_month(path, columns=columns)
    if fmt == "opportunities":
        return load_opportunities(path, columns=columns)
    raise OkmaError(f"unknown history format; use one of {', '.join(FORMATS)}", key="--format",
                    value=fmt)


def fit_history(history: pd.DataFrame, plan: Plan | None = None, fmt: str | None = None, *,
                model: Any = None, through: str | None = None, by: str = "sales_agent",
                seed: int = 0) -> FitResult:
    """Fit a loaded history (the format is detected from its columns unless given).

    Examples
    --------
    >>> import okma_sim
    >>> fit = fit_history(load_history(okma_sim.data_path("sales_history.csv")))
    >>> fit.format, fit.start_month
    ('rep-month', '2027-01')
    """
    if fmt is None:
        fmt = "opportunities" if "deal_stage" in history.columns else "rep-month"
    if fmt == "rep-month":
        return fit_rep_month(history, plan, model=model, through=through)
    if fmt == "opportunities":
        return fit_opportunities(history, plan, model=model, by=by, through=through, seed=seed)
    raise OkmaError(f"unknown history format; use one of {', '.join(FORMATS)}", key="--format",
                    value=fmt)


def calibrate(history: str | os.PathLike, plan: Plan | str | os.PathLike | None = None, *,
              fmt: str = "rep-month", columns: Mapping[str, str] | None = None,
              by: str = "sales_agent", seed: int = 0) -> tuple[Plan, FitResult]:
    """Fit a history file and build the calibrated scenario.

    Parameters
    ----------
    history : path
        A rep-month CSV, or an opportunity export (directory or ``sales_pipeline.csv``).
    plan : Plan or path, optional
        Objectives, key results, levers, actions, management and priors (default: the bundled
        case study).
    fmt : {"rep-month", "opportunities"}
    columns : mapping, optional
        Renames the file's columns to ours.
    by : str
        Panel grouping for the opportunity export.
    seed : int
        Seed of any bootstrap (the fit is otherwise deterministic).

    Returns
    -------
    (Plan, FitResult)

    Examples
    --------
    >>> import okma_sim
    >>> plan, fit = calibrate(okma_sim.data_path("sales_history.csv"))
    >>> okma_sim.check_plan(plan)[0]
    []
    """
    from okma_sim._core.paths import case_study_path
    from okma_sim.plan import load_plan
    if plan is None or isinstance(plan, (str, os.PathLike)):
        plan = load_plan(case_study_path() if plan is None else plan)
    hist = load_history(history, fmt, columns=columns)
    fit = fit_history(hist, plan, fmt, by=by, seed=seed)
    return fit.to_plan(plan), fit


# --------------------------------------------------------------------------------------------
# simulated histories (generators, recovery tests)
# --------------------------------------------------------------------------------------------
_HISTORY_INT = ("prospect_visits", "customer_visits", "new_customers", "active_customers",
                "revisited_customers", "churned_customers", "csat_responses", "csat_satisfied")


def history_from_simulation(result: Any, *, rep_prefix: str = "R") -> pd.DataFrame:
    """Rep-month history rows (the CSV schema) from a simulation run with ``record_reps=True``.

    One row per rep per month worked (``filled == 1``). A seat's occupant changes when it is
    filled again after a vacancy, so each new hire gets a new ``rep_id`` (numbered per path in
    order of first appearance). A refill with no vacant month (a hiring delay of 0) cannot be
    told apart from the previous occupant: generate histories with a delay of at least 1.

    Parameters
    ----------
    result : SimulationResult
        From ``okma_sim.simulate(plan, ..., record_reps=True)``.
    rep_prefix : str
        Prefix of the rep ids (``R01``, ``R02``, ...).

    Returns
    -------
    DataFrame
        ``path`` then the rep-month columns (``month, rep_id, prospect_visits, ...``), sorted
        by path, month and rep.

    Examples
    --------
    >>> import okma_sim
    >>> plan = load_plan(case_study_path())
    >>> res = okma_sim.simulate(plan, n_paths=2, seed=1, record_reps=True)
    >>> h = history_from_simulation(res)
    >>> int(h.groupby("path")["month"].nunique().min())
    12
    """
    from okma_sim.io import REP_MONTH_COLUMNS
    pr = result.per_rep
    if pr is None:
        raise ValueError("the result has no per-rep history; simulate with record_reps=True")
    filled = np.asarray(pr["filled"]) > 0.5
    P, S, M = filled.shape
    prev = np.concatenate([np.zeros((P, S, 1), bool), filled[:, :, :-1]], axis=2)
    starts = filled & ~prev
    occ = np.cumsum(starts, axis=2) - 1
    p_i, s_i, m_i = np.nonzero(filled)
    months = np.asarray(result.months if result.months else result.plan.months())
    df = pd.DataFrame({"path": p_i, "seat": s_i, "m": m_i, "occ": occ[p_i, s_i, m_i]})
    first = df.groupby(["path", "seat", "occ"])["m"].transform("min")
    df["first"] = first
    keys = df[["path", "first", "seat", "occ"]].drop_duplicates().sort_values(
        ["path", "first", "seat"], kind="stable")
    keys["num"] = keys.groupby("path").cumcount() + 1
    df = df.merge(keys[["path", "seat", "occ", "num"]], on=["path", "seat", "occ"],
                  how="left")
    width = max(2, len(str(int(df["num"].max()) if len(df) else 1)))
    out = pd.DataFrame({"path": df["path"].to_numpy(),
                        "month": months[df["m"].to_numpy()],
                        "rep_id": [f"{rep_prefix}{n:0{width}d}" for n in df["num"]]})
    idx = (df["path"].to_numpy(), df["seat"].to_numpy(), df["m"].to_numpy())
    for c in REP_MONTH_COLUMNS[2:]:
        v = np.asarray(pr[c])[idx]
        if c in _HISTORY_INT:
            out[c] = np.rint(v).astype(np.int64)
        else:
            out[c] = np.round(v, 2)
    return out.sort_values(["path", "month", "rep_id"], kind="stable", ignore_index=True)
