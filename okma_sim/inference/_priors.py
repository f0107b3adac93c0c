"""Priors as the fit sees them: the plan's (or the model's) distributions, their unconstrained
fitting scale, and the named distributions a posterior is written back as (a Laplace
posterior's quantiles, a conjugate or grid beta posterior)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from scipy import optimize, special
from scipy.interpolate import CubicSpline

from okma_sim._core.errors import OkmaError
from okma_sim._core.paths import case_study_path
from okma_sim.engine import resolve_parameters
from okma_sim.models import get_model
from okma_sim.params import Distribution
from okma_sim.plan import Plan, load_plan

from ._likelihoods import ACQUISITION, REVENUE

#: sd (on the fitting scale) of the vague prior
VAGUE_SD = 10.0
Z95 = 1.6448536269514722  # standard normal 95% point


# --------------------------------------------------------------------------------------------
# distributions of a plan's parameters
# --------------------------------------------------------------------------------------------
_FROZEN: dict[tuple, Any] = {}


def frozen(d: Any):
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


def is_fixed(d: Any) -> bool:
    """Whether a parameter's distribution is a fixed value."""
    return isinstance(d, Distribution) and d.dist == "fixed"


def prior_mean(d: Any) -> float:
    """The mean of a distribution (its value when fixed)."""
    if is_fixed(d):
        return float(d.args["value"])
    return float(frozen(d).mean())


def ppf(d: Any, q: Any) -> Any:
    """Quantiles of a distribution: a float for a scalar ``q``, else an array."""
    if is_fixed(d):
        return np.full(np.shape(q), float(d.args["value"])) if np.ndim(q) else \
            float(d.args["value"])
    out = np.asarray(frozen(d).ppf(q), dtype=float)
    return float(out) if out.ndim == 0 else out


def support(d: Any) -> tuple[float, float]:
    """A distribution's support (lo, hi)."""
    if is_fixed(d):
        return d.support()
    lo, hi = frozen(d).support()
    return float(lo), float(hi)


def model_and_priors(plan: Plan | None, model: Any) -> tuple[Plan, Any, dict[str, Any]]:
    """The plan (default: the case study), its model, and every parameter's prior (the plan's
    ``[parameters]`` over the model's); refuses a model without the sales-team parameters."""
    if plan is None:
        plan = load_plan(case_study_path())
    model = get_model(plan.model) if model is None else model
    missing = [n for n in ACQUISITION + REVENUE + ("training_retention", "marketing_effect",
                                                   "ramp_months", "churn_base")
               if n not in model.parameters]
    if missing:
        name = getattr(model, "name", None)
        raise OkmaError("calibration fits the sales-team model's parameters; this model "
                        f"lacks {missing[0]}", file=plan.source if name == plan.model else None,
                        key="model", value=name)
    return plan, model, resolve_parameters(plan, model)


# --------------------------------------------------------------------------------------------
# unconstrained scale for each parameter
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scale:
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
class Prior:
    """A parameter's prior as the fit sees it: its scale, density and moments on that scale."""

    name: str
    dist: Any
    scale: Scale
    phi_med: float
    phi_sd: float

    @classmethod
    def of(cls, name: str, dist: Any, bounds: tuple[float, float]) -> "Prior":
        lo, hi = support(dist)
        lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
        sc = Scale(lo, hi)
        u = (np.arange(1, 200) - 0.5) / 199.0
        ph = sc.phi(ppf(dist, u))
        ph = ph[np.isfinite(ph)]
        med = float(sc.phi(ppf(dist, 0.5)))
        sd = float(np.std(ph)) if ph.size > 2 else 1.0
        return cls(name, dist, sc, med, max(sd, 1e-6))

    def derivs(self, phi: Any, vague: bool) -> tuple[Any, Any, Any]:
        """Log prior density on the fitting scale and its first two derivatives, at a number
        or an array (vague: a wide normal around the prior's median)."""
        phi = np.asarray(phi, dtype=float)
        if vague:
            z = (phi - self.phi_med) / VAGUE_SD
            return -0.5 * z * z, -z / VAGUE_SD, np.full(phi.shape, -1.0 / VAGUE_SD ** 2)
        if not hasattr(self, "_spline"):
            self._build_spline()
        lo, hi = self._range
        x = np.clip(phi, lo, hi)
        d = phi - x
        # beyond the tabulated range (prior tail mass under 1e-9): a steep quadratic wall
        return (self._spline(x) - 1e3 * d * d - self._slope_pen * np.abs(d),
                self._spline(x, 1) - 2e3 * d - self._slope_pen * np.sign(d),
                self._spline(x, 2) - np.where(d != 0, 2e3, 0.0))

    def tabulated_range(self) -> tuple[float, float]:
        """The fitting-scale range where the prior's log density is tabulated (from its
        1e-9 to its 1 - 1e-9 point); beyond it, :meth:`derivs` is a steep wall."""
        if not hasattr(self, "_spline"):
            self._build_spline()
        return self._range

    def _build_spline(self) -> None:
        # scipy's frozen logpdf costs ~0.5 ms a call whatever the size; the fit calls it
        # thousands of times, so tabulate it once on a fine grid and use a cubic spline
        fz = frozen(self.dist)
        a, b = (float(self.scale.phi(ppf(self.dist, q))) for q in (1e-9, 1 - 1e-9))
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


# --------------------------------------------------------------------------------------------
# a posterior written as a named distribution
# --------------------------------------------------------------------------------------------
def named_from_quantiles(p: Prior, q05: float, q95: float) -> Distribution:
    """The named distribution whose 5% and 95% points are ``q05`` and ``q95`` (fitting scale),
    in the family that suits the parameter's support: lognormal on (0, inf), normal on the
    real line, beta on (0, 1), a truncated normal on other intervals."""
    sc = p.scale
    k = sc.kind
    q05, q95 = float(q05), float(max(q95, q05 + 1e-9))
    if k == "log" and sc.lo == 0.0:
        return Distribution("lognormal", {"median": float(math.exp((q05 + q95) / 2)),
                                          "sigma": float((q95 - q05) / (2 * Z95))})
    if k == "id":
        return Distribution("normal", {"mu": (q05 + q95) / 2, "sigma": (q95 - q05) / (2 * Z95)})
    a, b = float(sc.theta(q05)), float(sc.theta(q95))
    if k == "logit" and sc.lo == 0.0 and sc.hi == 1.0:
        return _beta_from_quantiles(a, b)
    return _truncated_normal_from_quantiles(a, b, sc)


def _beta_from_quantiles(a: float, b: float) -> Distribution:
    """The beta distribution whose 5% and 95% points are ``a`` and ``b``."""
    target = special.logit([a, b])

    def resid(z):
        qs = special.betaincinv(math.exp(z[0]), math.exp(z[1]), [0.05, 0.95])
        return special.logit(np.clip(qs, 1e-15, 1 - 1e-15)) - target
    m = (a + b) / 2
    v = ((b - a) / (2 * Z95)) ** 2
    c = max(m * (1 - m) / max(v, 1e-300) - 1.0, 1e-3)
    z0 = np.log([max(m * c, 1e-3), max((1 - m) * c, 1e-3)])
    sol = optimize.least_squares(resid, z0, method="lm")
    aa, bb = np.exp(sol.x)
    return Distribution("beta", {"a": float(aa), "b": float(bb)})


def _truncated_normal_from_quantiles(a: float, b: float, sc: Scale) -> Distribution:
    """The normal truncated to the scale's support whose 5% and 95% points are ``a``, ``b``."""
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
        z0 = [mu0, math.log(fs * width / (2 * Z95))]
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
# conjugate and grid posteriors
# --------------------------------------------------------------------------------------------
def beta_posterior(prior: Any, successes: float, trials: float) -> Distribution:
    """Beta posterior: conjugate when the prior is a beta, else a grid posterior moment-matched
    to a beta."""
    if isinstance(prior, Distribution) and prior.dist == "beta":
        return Distribution("beta", {"a": float(prior.args["a"] + successes),
                                     "b": float(prior.args["b"] + trials - successes)})
    return grid_beta(prior, lambda p: successes * np.log(p) + (trials - successes)
                     * np.log1p(-p))


def grid_beta(prior: Any, loglik: Callable[[np.ndarray], np.ndarray]) -> Distribution:
    """The posterior of a probability on a fine grid, moment-matched to a beta."""
    p = (np.arange(1, 20000) - 0.5) / 19999.0
    with np.errstate(all="ignore"):
        lp = frozen(prior).logpdf(p) + loglik(p)
    lp = np.where(np.isfinite(lp), lp, -np.inf)
    w = np.exp(lp - lp.max())
    w /= w.sum()
    mean = float(np.sum(w * p))
    var = float(np.sum(w * (p - mean) ** 2))
    c = mean * (1 - mean) / max(var, 1e-300) - 1.0
    return Distribution("beta", {"a": float(mean * c), "b": float((1 - mean) * c)})
