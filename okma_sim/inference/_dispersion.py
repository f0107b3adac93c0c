"""The dispersion of a team's monthly new customers (docs/calibration.md, "Seasonality and
overdispersion"), fitted to the monthly totals with their level and seasonal factors
integrated out.

The rates, the level and the seasonal factors are fitted to the same months whose spread
the dispersion measures. Plugging them in leaves the residuals fewer free months than there
are months, so the spread looks smaller than it is: the dispersion's 90% intervals held the
truth in only 82% of 720 simulated histories, missing mostly above. Here the dispersion's
marginal posterior is computed on a grid of its log, each point with the level and the
form's free factors integrated out by a Laplace approximation: the determinant of their
curvature is what gives back the degrees of freedom they used.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
from scipy import interpolate, optimize

from okma_sim.models import season_factors
from okma_sim.params import Distribution

from ._entries import entry
from ._priors import frozen, is_fixed, named_from_quantiles
from ._seasonal import MonthlyTotals, fitted_form, fitted_totals, totals_model

__all__ = ["dispersion_marginal", "fit_dispersion"]

#: points of the grid of log dispersion
N_GRID = 41
#: the grid's half-width in Laplace standard deviations of the log dispersion at the mode
SPAN = 6.0
#: a grid side is extended while its end's log density is within DROP nats of the peak
DROP = 10.0
#: points further than this below the peak (nats) carry no mass worth interpolating
TAIL = 50.0


def fit_dispersion(col: Any, acq: Any, th: Mapping[str, float], what: str,
                   base: Mapping[str, Any]) -> None:
    """Fit ``new_customer_dispersion`` to the monthly totals: written through the 5% and 95%
    points of its marginal posterior, kept at its prior when the data do not narrow it.
    ``base``: the priors before the choice of seasonal form."""
    name = "new_customer_dispersion"
    if acq is None:
        col.prior(name, "no rows")
        return
    t = fitted_totals(acq, th)
    if t.N.size < 4:
        col.prior(name, f"only {t.N.size} months (4 needed)")
        return
    if is_fixed(col.priors[name]):
        col.prior(name)
        return
    form = fitted_form(col)
    if form is None:  # no seasonal parameter fitted: the season held at its values
        s = season_factors({k: float(v) for k, v in th.items()})
        t = MonthlyTotals(t.cm, t.N, t.E * s[t.cm - 1], t.quarter)
    grid, logp = dispersion_marginal(t, totals_model(form, base, col.priors))
    ok = np.isfinite(logp)
    if ok.sum() < 3:
        col.warnings.append(f"the fit of {name} failed (no finite posterior on its grid): "
                            "it keeps its prior")
        col.prior(name, "the fit failed: prior kept")
        return
    q05, q95 = _quantiles(grid[ok], logp[ok], (0.05, 0.95))
    p = col.prior_of(name)
    post = named_from_quantiles(p, float(p.scale.phi(math.exp(q05))),
                                float(p.scale.phi(math.exp(q95))))
    col.keep_if_contracted(name, post, t.N.size, what)
    if col.entries[name].source == "fitted":
        e = col.entries[name]
        col.entries[name] = entry(name, e.distribution, e.rows_used, "fitted", e.rows,
                                  "level and seasonal factors integrated out")
    _widen_level(col, t.N.size)


def dispersion_marginal(t: MonthlyTotals, ff: Any, n_grid: int = N_GRID
                        ) -> tuple[np.ndarray, np.ndarray]:
    """The log dispersion's grid and its marginal log posterior there (up to a constant),
    the other coordinates of the totals' model ``ff`` (level, seasonal factors) integrated
    out by Laplace at each point: the conditional mode's value minus half the log
    determinant of the curvature there (NaN where that curvature is not positive).

    The grid spans ``SPAN`` Laplace standard deviations either side of the joint mode, a side
    extended (up to twice) while its end is within ``DROP`` nats of the peak: a posterior
    that only the prior bounds towards the Poisson limit has a long left tail.

    Examples
    --------
    >>> import numpy as np
    >>> from okma_sim.models.sales import PARAMETERS
    >>> from okma_sim.inference._seasonal import MonthlyTotals, totals_model
    >>> priors = {k: v.prior for k, v in PARAMETERS.items()}
    >>> rng = np.random.default_rng(3)
    >>> cm = (np.arange(24) % 12) + 1
    >>> N = rng.negative_binomial(10, 10 / (10 + 100.0), size=24).astype(float)
    >>> grid, logp = dispersion_marginal(MonthlyTotals(cm, N, np.full(24, 100.0)),
    ...                                  totals_model(None, priors, priors))
    >>> bool(0.02 < np.exp(grid[np.nanargmax(logp)]) < 0.3)  # the truth is 1/10
    True
    """
    idx = np.arange(t.N.size)
    full = ff.fit(t, idx)
    keep = np.r_[0, 2:full.size]  # every coordinate but the dispersion's
    lo_b, hi_b = ff._BOUNDS["phi"]
    try:
        sd = math.sqrt(max(np.linalg.inv(ff.hessian(full, t, idx))[1, 1], 1e-4))
    except np.linalg.LinAlgError:
        sd = 1.0
    step = 2 * SPAN * sd / (n_grid - 1)
    grid = full[1] + step * np.arange(-(n_grid // 2), n_grid - n_grid // 2)
    grid = grid[(grid >= lo_b) & (grid <= hi_b)]
    logp = _conditional_laplace(ff, t, idx, full, keep, grid)
    def beyond(end: float, bound: float) -> np.ndarray:
        """Up to half a grid of points past ``end`` towards ``bound``, the bound itself last
        when the steps overshoot it."""
        pts = end + np.sign(bound - end) * step * np.arange(1, n_grid // 2 + 1)
        inside = pts[(pts >= lo_b) & (pts <= hi_b)]
        return inside if inside.size == pts.size else np.append(inside, bound)

    for _ in range(2):  # extend a side whose end is still near the peak
        top = np.nanmax(logp) if np.isfinite(logp).any() else np.nan
        more = []
        if np.isfinite(logp[0]) and logp[0] > top - DROP and grid[0] > lo_b:
            more.append(beyond(grid[0], lo_b))
        if np.isfinite(logp[-1]) and logp[-1] > top - DROP and grid[-1] < hi_b:
            more.append(beyond(grid[-1], hi_b))
        if not more:
            break
        new = np.concatenate(more)
        grid = np.concatenate([grid, new])
        logp = np.concatenate([logp, _conditional_laplace(ff, t, idx, full, keep, new)])
        order = np.argsort(grid)
        grid, logp = grid[order], logp[order]
    return grid, logp


def _conditional_laplace(ff: Any, t: MonthlyTotals, idx: np.ndarray, full: np.ndarray,
                         keep: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """At each log dispersion of ``grid``: the conditional mode of the other coordinates
    and its Laplace log integral. The searches go outwards from the point nearest the
    joint mode ``full``, each starting from its neighbour's optimum."""
    logp = np.full(grid.size, np.nan)
    bounds = [bd for i, bd in enumerate(ff.bounds()) if i != 1]
    start = int(np.argmin(np.abs(grid - full[1])))
    for order in (range(start, grid.size), range(start - 1, -1, -1)):
        z = full[keep]
        for i in order:
            b = grid[i]

            def f(zz: np.ndarray, b: float = b) -> tuple[float, np.ndarray]:
                v, g = ff.neg_post(np.insert(zz, 1, b), t, idx)
                return v, g[keep]
            r = optimize.minimize(f, z, jac=True, method="TNC", bounds=bounds)
            z = r.x
            sign, logdet = np.linalg.slogdet(
                ff.hessian(np.insert(z, 1, b), t, idx)[np.ix_(keep, keep)])
            if np.isfinite(r.fun) and r.fun < 1e299 and sign > 0:
                logp[i] = -r.fun - 0.5 * logdet
    return logp


def _quantiles(x: np.ndarray, logp: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    """Quantiles of the density exp(logp) tabulated at ``x``: the points within ``TAIL`` nats
    of the peak (beyond a prior's support the tabulated log density drops by 1e6, and no
    interpolant should see that cliff), the log density interpolated by PCHIP (no
    overshoot) onto a grid 20 times finer (a trapezoid on the coarse grid fattens the tails
    of a peaked density), then a trapezoid CDF."""
    near = np.flatnonzero(logp >= logp.max() - TAIL)
    x, logp = x[near[0]:near[-1] + 1], logp[near[0]:near[-1] + 1]
    if x.size < 2:
        return np.full(len(qs), x[0])
    fine = np.linspace(x[0], x[-1], 20 * (x.size - 1) + 1)
    lf = interpolate.PchipInterpolator(x, logp)(fine)
    p = np.exp(lf - lf.max())
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (p[1:] + p[:-1]) * np.diff(fine))])
    return np.interp(qs, cdf / cdf[-1], fine)


def _widen_level(col: Any, months: int) -> None:
    """Add the shared shocks' share to ``base_win_rate``'s written uncertainty: its interval
    comes from the rep-month likelihood, which takes a month's reps as independent, while
    the shocks of ``months`` months add about ``dispersion / months`` to the variance of its
    log (the mean of that many gamma shocks of variance ``dispersion``)."""
    e = col.entries.get("base_win_rate")
    if e is None or e.source != "fitted" or e.distribution.dist != "lognormal":
        return
    d = col.entries["new_customer_dispersion"].distribution
    phi = float(d.args["value"]) if d.dist == "fixed" else float(frozen(d).mean())
    a = dict(e.distribution.args)
    a["sigma"] = math.sqrt(a["sigma"] ** 2 + phi / months)
    note = "; ".join(x for x in (e.note, f"widened for the market shock of {months} months "
                                 f"(dispersion {phi:.3g})") if x)
    col.entries["base_win_rate"] = entry("base_win_rate", Distribution("lognormal", a),
                                         e.rows_used, "fitted", e.rows, note)
