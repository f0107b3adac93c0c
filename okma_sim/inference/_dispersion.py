"""The dispersion of a team's monthly new customers and the seasonal factors' uncertainty
(docs/calibration.md, "Seasonality and overdispersion"), both from the monthly totals with
the other coordinates integrated out.

The rates, the level and the seasonal factors are fitted to the same months whose spread
the dispersion measures. Plugging them in leaves the residuals fewer free months than there
are months, so the spread looks smaller than it is: the dispersion's 90% intervals held the
truth in only 82% of 720 simulated histories, missing mostly above. Here the dispersion's
marginal posterior is computed on a grid of its log, each point with the level and the
form's free factors integrated out by a Laplace approximation: the determinant of their
curvature is what gives back the degrees of freedom they used. The factors' posterior is the
mixture of those conditional Laplace approximations over the same grid: a Laplace at the
joint mode took the dispersion too low and as known, and their intervals held the truth in
about 87% of 1,440 simulated histories.
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
from ._seasonal import (MonthlyTotals, fitted_form, fitted_totals, form_parameters,
                        totals_model, write_marginals)

__all__ = ["dispersion_marginal", "factor_draws", "fit_dispersion", "season_from_totals"]

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
    grid, logp, _, _ = _shared_grid(col, form, t, base)
    ok = np.isfinite(logp)
    if ok.sum() < 3:
        col.warnings.append(f"the fit of {name} failed (no finite posterior on its grid): "
                            "it keeps its prior")
        col.prior(name, "the fit failed: prior kept")
        return
    q05, q50, q95 = _quantiles(grid[ok], logp[ok], (0.05, 0.5, 0.95))
    # a prior narrower than the tabulated prior's step (0.004 on the log scale) is all cliff
    # there: the "posterior" is then the months' alone, its median outside the prior
    if not frozen(col.priors[name]).pdf(math.exp(q50)) > 0:
        col.prior(name, "its prior is narrower than the fit's grid resolves: prior kept")
        return
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
    grid, logp, _, _ = _grid_posterior(t, ff, n_grid)
    return grid, logp


def _shared_grid(col: Any, form: str | None, t: MonthlyTotals, base: Mapping[str, Any]
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_grid_posterior` of the totals ``t`` in ``form``, computed once a fit: the
    factors' and the dispersion's steps ask for the same one."""
    key = ("dispersion grid", form, t.cm.tobytes(), t.N.tobytes(), t.E.tobytes())
    if key not in col.memo:
        col.memo[key] = _grid_posterior(t, totals_model(form, base, col.priors))
    return col.memo[key]


def _grid_posterior(t: MonthlyTotals, ff: Any, n_grid: int = N_GRID
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`dispersion_marginal`'s grid and log posterior, with the other coordinates'
    conditional modes and covariances at each point (see :func:`_conditional_laplace`)."""
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
    logp, modes, covs = _conditional_laplace(ff, t, idx, full, keep, grid)

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
        lp, md, cv = _conditional_laplace(ff, t, idx, full, keep, new)
        order = np.argsort(np.concatenate([grid, new]))
        grid, logp, modes, covs = (np.concatenate(pair)[order] for pair in
                                   ((grid, new), (logp, lp), (modes, md), (covs, cv)))
    return grid, logp, modes, covs


def _conditional_laplace(ff: Any, t: MonthlyTotals, idx: np.ndarray, full: np.ndarray,
                         keep: np.ndarray, grid: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """At each log dispersion of ``grid``: the conditional mode of the other coordinates
    (``keep``), its Laplace log integral and the inverse of the curvature there (NaN where
    that curvature is not positive). The searches go outwards from the point nearest the
    joint mode ``full``, each starting from its neighbour's optimum."""
    logp = np.full(grid.size, np.nan)
    modes = np.full((grid.size, keep.size), np.nan)
    covs = np.full((grid.size, keep.size, keep.size), np.nan)
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
            H = ff.hessian(np.insert(z, 1, b), t, idx)[np.ix_(keep, keep)]
            sign, logdet = np.linalg.slogdet(H)
            if np.isfinite(r.fun) and r.fun < 1e299 and sign > 0:
                logp[i] = -r.fun - 0.5 * logdet
                modes[i], covs[i] = z, np.linalg.inv(H)
    return logp, modes, covs


def factor_draws(t: MonthlyTotals, ff: Any, n_draws: int, rng: np.random.Generator
                 ) -> np.ndarray:
    """Draws of the form's factor coordinates (``x[2:]`` of ``ff``) from their posterior
    with the dispersion integrated out: a mixture over the dispersion's grid, each point
    weighted by its marginal posterior and its share of the grid, of the Gaussian of the
    other coordinates' conditional Laplace approximation there.

    A Laplace approximation at the joint mode took the dispersion at that mode, below the
    marginal's (the determinant term), and ignored its spread: the factors' 90% intervals
    held the truth in about 87% of simulated histories. One row a draw.

    Examples
    --------
    A 30% quarter-end uplift over two years of about 100 new customers a month:

    >>> import numpy as np
    >>> from okma_sim.inference._seasonal import MonthlyTotals, totals_model
    >>> from okma_sim.models.sales import PARAMETERS
    >>> rng, months = np.random.default_rng(4), np.arange(1, 25)
    >>> mu = 100.0 * np.where(months % 3 == 0, 1.3, 0.85)
    >>> N = rng.negative_binomial(50, 50 / (50 + mu)).astype(float)
    >>> pri = {k: v.prior for k, v in PARAMETERS.items()}
    >>> totals = MonthlyTotals((months - 1) % 12 + 1, N, np.full(24, 100.0))
    >>> draws = factor_draws(totals, totals_model("quarter_end", pri, pri), 2000, rng)
    >>> u = draws[:, 0]
    >>> bool(0.15 < np.median(u) < 0.45)
    True
    """
    return _mixture_draws(_grid_posterior(t, ff), n_draws, rng)


def _mixture_draws(post: tuple[np.ndarray, ...], n_draws: int, rng: np.random.Generator
                   ) -> np.ndarray:
    """:func:`factor_draws` from a :func:`_grid_posterior`."""
    grid, logp, modes, covs = post
    ok = np.flatnonzero(np.isfinite(logp))
    if ok.size < 3:
        raise ValueError("no finite posterior on the dispersion's grid")
    g = grid[ok]
    width = np.gradient(g)  # each point's share of the grid
    w = np.exp(logp[ok] - logp[ok].max()) * width
    pick = rng.choice(ok, size=n_draws, p=w / w.sum())
    out = np.empty((n_draws, modes.shape[1] - 1))
    for i in np.unique(pick):
        rows = np.flatnonzero(pick == i)
        out[rows] = rng.multivariate_normal(modes[i, 1:], covs[i, 1:, 1:], size=rows.size)
    return out


def season_from_totals(col: Any, acq: Any, th: Mapping[str, float], base: Mapping[str, Any],
                       n_draws: int = 4000) -> None:
    """Rewrite the fitted seasonal parameters' entries from the monthly totals' negative
    binomial posterior (level, dispersion and the form's factors): the dispersion integrated
    out on its grid, the rest by Laplace (:func:`factor_draws`).

    The rep-month likelihood of the joint fit treats a month's reps as independent Poisson
    draws; the market shock they share (docs/model.md 5.2) makes a month count as one
    observation of the season, not as many as it has reps. Only the monthly totals carry
    that, so the factors' uncertainty is taken from them. ``base``: the priors before the
    choice of form (a richer form's prior is centred on their quarter-end form). Factors of
    the richer forms are written divided by their mean (see :func:`normalise_factors`)."""
    form = fitted_form(col)
    if acq is None or form is None:
        return
    names = form_parameters(form)
    t = fitted_totals(acq, th)
    ff = totals_model(form, base, col.priors)
    idx = np.arange(t.N.size)
    rng = np.random.default_rng(0)
    try:
        if ff.phi_fixed:  # Laplace at the mode, the dispersion's coordinate unused
            x = ff.fit(t, idx)
            H = ff.hessian(x, t, idx)
            H[1, :] = H[:, 1] = 0.0
            H[1, 1] = 1.0
            draws = rng.multivariate_normal(x[2:], np.linalg.inv(H)[2:, 2:], size=n_draws)
        else:
            draws = _mixture_draws(_shared_grid(col, form, t, base), n_draws, rng)
    except (np.linalg.LinAlgError, ValueError):
        return
    theta = draws if form == "quarter_end" else np.exp(draws)
    write_marginals(col, names, theta, form != "quarter_end",
                    f"uncertainty from the {t.N.size} monthly totals (the market shock "
                    "included)")


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
