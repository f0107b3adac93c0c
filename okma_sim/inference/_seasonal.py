"""The seasonal form a history supports, chosen by held-out likelihood, and the monthly
totals' model that it and the dispersion's fit (``_dispersion.py``) share (docs/calibration.md,
"Seasonality and overdispersion").

Both work on the monthly team totals of the rows the acquisition fit uses: ``N_m`` new
customers against ``E_m``, the total the fitted rates expect without the seasonal factor. Given
the rates, ``N_m ~ NegativeBinomial(mean c E_m season(cm), dispersion phi)``: the model's law
of a team's month (docs/model.md 5.2), with a free level ``c`` so that the choice of form does
not lean on the fit's level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
from scipy import optimize, special

from okma_sim._core.calendar import calendar_month
from okma_sim.models import SEASON_QUARTER, SEASON_YEAR
from okma_sim.params import Distribution

from ._entries import entry
from ._priors import frozen, is_fixed, named_from_quantiles, prior_mean

__all__ = ["FORMS", "FORM_LABELS", "MonthlyTotals", "SeasonChoice", "choose_and_refit",
           "choose_form", "fitted_form", "fitted_totals", "form_parameters", "form_priors",
           "nb_loglik", "neutral_forms", "normalise_factors", "record_form",
           "season_notes", "totals_model", "write_marginals"]

#: seasonal forms, simplest first
FORMS = ("quarter_end", "month_of_quarter", "month_of_year")
FORM_LABELS = {"quarter_end": "quarter end (two levels)",
               "month_of_quarter": "month of quarter (three levels)",
               "month_of_year": "month of year (twelve levels)"}
#: held-out log score (nats, summed over the held-out months) a richer form must gain over
#: a simpler one: one per extra free factor, at least ``MARGIN``, so that noise rarely picks it
MARGIN = 2.0
#: free factors of each form (the factors are divided by their mean)
_FREE = {"quarter_end": 1, "month_of_quarter": 2, "month_of_year": 11}
#: sd of a month's log factor around the quarter-end form in the richer forms' priors
#: (assumption: a within-quarter or calendar pattern of about +-20%)
TAU = 0.2


@dataclass(frozen=True)
class MonthlyTotals:
    """Team totals by history month: calendar month (1..12), new customers, the total the
    fitted rates expect without the seasonal factor, and the calendar quarter (a count)."""

    cm: np.ndarray
    N: np.ndarray
    E: np.ndarray
    quarter: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.quarter is None:  # months in order, the first in its calendar position
            ym = np.arange(self.N.size) + int(self.cm[0]) - 1 if self.N.size else self.cm
            object.__setattr__(self, "quarter", np.asarray(ym) // 3)

    @classmethod
    def from_rows(cls, ym: np.ndarray, n: np.ndarray, expected: np.ndarray) -> "MonthlyTotals":
        """Sum rows by month number (``Period[M]`` ordinals)."""
        months, inv = np.unique(np.asarray(ym, dtype=int), return_inverse=True)
        N = np.bincount(inv, weights=np.asarray(n, dtype=float))
        E = np.bincount(inv, weights=np.asarray(expected, dtype=float))
        return cls(cm=calendar_month(months), N=N, E=E, quarter=months // 3)


@dataclass(frozen=True)
class SeasonChoice:
    """The chosen form and each candidate's held-out log score (nats over ``months``)."""

    form: str
    scores: dict[str, float]
    months: int

    def note(self) -> str:
        """One line for the fit report."""
        if not self.scores:
            return (f"only {self.months} months: too short to judge a richer seasonal form (4 "
                    "months over two calendar quarters needed); the quarter-end form is kept")
        ranked = ", ".join(f"{FORM_LABELS[f].split(' (')[0]} {s:+.1f}"
                           for f, s in self.scores.items())
        return (f"{FORM_LABELS[self.form]} chosen by held-out likelihood over {self.months} "
                f"months, a quarter held out at a time (log score: {ranked}; a richer form "
                f"must gain at least {MARGIN:g} and one per extra factor)")


def form_parameters(form: str) -> tuple[str, ...]:
    """The model parameters of a seasonal form."""
    return {"quarter_end": ("quarter_end_uplift",), "month_of_quarter": SEASON_QUARTER,
            "month_of_year": SEASON_YEAR}[form]


def neutral_forms(priors: Mapping[str, Any]) -> bool:
    """Whether the richer forms are at the model's neutral default (fixed factors of 1): only
    then does the fit choose the form (a scenario that states one keeps it)."""
    return all(is_fixed(priors[k]) and float(priors[k].args["value"]) == 1.0
               for k in SEASON_QUARTER + SEASON_YEAR)


def form_priors(form: str, priors: Mapping[str, Any]) -> dict[str, Distribution]:
    """Priors of a form's parameters. A richer form's factors are lognormal around the
    quarter-end form at the uplift's prior mean (the two-level form stays the prior of a
    short history), with a log sd of ``TAU`` plus the uplift's own uncertainty."""
    if form == "quarter_end":
        return {"quarter_end_uplift": priors["quarter_end_uplift"]}
    qe = priors["quarter_end_uplift"]
    u = prior_mean(qe)
    sd_u = 0.0 if is_fixed(qe) else float(frozen(qe).std())
    names = form_parameters(form)
    cms = np.arange(1, 4) if form == "month_of_quarter" else np.arange(1, 13)
    out = {}
    for name, cm in zip(names, cms):
        qe_end = cm % 3 == 0
        med = 1.0 + u if qe_end else 1.0 - u / 2.0
        dlog = (1.0 if qe_end else 0.5) * sd_u / max(med, 1e-9)  # sd of log(form) from u's
        out[name] = Distribution("lognormal", {"median": med,
                                               "sigma": math.sqrt(TAU ** 2 + dlog ** 2)})
    return out


def nb_loglik(N: np.ndarray, mu: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """log NegativeBinomial(N; mean mu, variance mu + phi mu^2), summed over the last axis;
    phi = 0 is the Poisson limit. ``mu`` and ``phi`` broadcast against ``N``."""
    mu = np.maximum(mu, 1e-300)
    phi = np.asarray(phi, dtype=float)
    small = phi < 1e-10
    ph = np.where(small, 1.0, phi)
    r = 1.0 / ph
    nb = (special.gammaln(N + r) - special.gammaln(r) - special.gammaln(N + 1.0)
          + r * np.log(r / (r + mu)) + N * np.log(mu / (r + mu)))
    pois = N * np.log(mu) - mu - special.gammaln(N + 1.0)
    return np.where(small, pois, nb).sum(-1)


class _Tabulated:
    """A 1-D log density and its derivative, tabulated on a grid (the search evaluates them
    thousands of times; a frozen scipy distribution costs tens of microseconds a call)."""

    def __init__(self, logpdf, lo: float, hi: float, n: int = 4001) -> None:
        self.x = np.linspace(lo, hi, n)
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.asarray(logpdf(self.x), dtype=float)
        self.y = np.where(np.isfinite(y), y, -1e6)
        self.dy = np.gradient(self.y, self.x)

    def __call__(self, v: float) -> tuple[float, float]:
        return float(np.interp(v, self.x, self.y)), float(np.interp(v, self.x, self.dy))


class _FormFit:
    """MAP of x = (log level c, log dispersion, the form's parameters) on some months, with
    the gradient in closed form: for the negative binomial of mean mu and size r = 1/phi,
    d ll / d log mu = (N - mu) r / (r + mu). Form ``None``: no seasonal parameter (a season
    already multiplied into the totals' ``E``)."""

    # the log dispersion's search runs to the model's bound of the dispersion (10): a prior
    # beyond the search's end would be all cliff (-1e6) there, and its "fit" a point
    _BOUNDS = {"level": (-3.0, 3.0), "phi": (-14.0, math.log(10.0)), "u": (-0.49, 1.49),
               "log_factor": (-3.0, 3.0)}

    def __init__(self, form: str | None, priors: Mapping[str, Any],
                 factor_priors: Mapping[str, Distribution] | None = None) -> None:
        """``factor_priors``: the form's own priors (lognormal), default
        :func:`form_priors`."""
        self.form = form
        self.names = form_parameters(form) if form else ()
        self.fp = {} if not form else (dict(factor_priors) if factor_priors is not None
                                       else form_priors(form, priors))
        dphi = priors["new_customer_dispersion"]
        self.phi_fixed = is_fixed(dphi)
        self.phi0 = max(prior_mean(dphi), 1e-6)
        fz = frozen(dphi)
        # the dispersion's prior on the log scale (with the Jacobian)
        self.phi_prior = None if self.phi_fixed else _Tabulated(
            lambda b: fz.logpdf(np.exp(b)) + b, *self._BOUNDS["phi"])
        self.u_prior = None
        if form == "quarter_end":
            fu = frozen(self.fp["quarter_end_uplift"])
            self.u_prior = _Tabulated(fu.logpdf, *self._BOUNDS["u"])
        else:
            self.mlog = np.array([math.log(self.fp[n].args["median"]) for n in self.names])
            self.sig2 = np.array([self.fp[n].args["sigma"] ** 2 for n in self.names])

    def _phi(self, x: np.ndarray) -> float:
        return self.phi0 if self.phi_fixed else math.exp(x[1])

    def _log_season(self, x: np.ndarray, cm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """log season of each month and its derivative in the form's parameters (rows)."""
        if self.form is None:
            return np.zeros(cm.size), np.zeros((0, cm.size))
        if self.form == "quarter_end":
            u = x[2]
            qe = cm % 3 == 0
            ls = np.where(qe, math.log1p(u), math.log1p(-u / 2.0))
            return ls, np.where(qe, 1.0 / (1.0 + u), -0.5 / (1.0 - u / 2.0))[None, :]
        f = np.exp(x[2:])
        pos = (cm - 1) % 3 if self.form == "month_of_quarter" else cm - 1
        ls = x[2:][pos] - math.log(f.mean())
        d = (np.arange(f.size)[:, None] == pos[None, :]).astype(float) - (f / f.sum())[:, None]
        return ls, d

    def mean(self, x: np.ndarray, t: MonthlyTotals, idx: np.ndarray) -> np.ndarray:
        return math.exp(x[0]) * t.E[idx] * np.exp(self._log_season(x, t.cm[idx])[0])

    def neg_post(self, x: np.ndarray, t: MonthlyTotals, idx: np.ndarray
                 ) -> tuple[float, np.ndarray]:
        N, E, cm = t.N[idx], t.E[idx], t.cm[idx]
        ls, dls = self._log_season(x, cm)
        mu = np.maximum(math.exp(x[0]) * E * np.exp(ls), 1e-300)
        phi = self._phi(x)
        grad = np.zeros(x.size)
        ll = float(nb_loglik(N, mu, phi))
        if phi < 1e-10:
            gm = N - mu
        else:
            r = 1.0 / phi
            gm = (N - mu) * r / (r + mu)
            if not self.phi_fixed:
                dr = (special.digamma(N + r) - special.digamma(r) + np.log(r / (r + mu)) + 1.0
                      - (N + r) / (r + mu))
                grad[1] = -r * float(dr.sum())
        grad[0] = float(gm.sum())
        grad[2:] = dls @ gm
        lp = -0.5 * x[0] ** 2  # level: log c ~ N(0, 1)
        grad[0] -= x[0]
        if not self.phi_fixed:
            v, dv = self.phi_prior(x[1])
            lp += v
            grad[1] += dv
        if self.form == "quarter_end":
            v, dv = self.u_prior(x[2])
            lp += v
            grad[2] += dv
        else:
            z = x[2:] - self.mlog
            lp += float(-0.5 * np.sum(z * z / self.sig2))
            grad[2:] -= z / self.sig2
        f = -(ll + lp)
        if not np.isfinite(f):
            return 1e300, np.zeros(x.size)
        return f, -grad

    def start(self) -> np.ndarray:
        rest = [prior_mean(self.fp["quarter_end_uplift"])] if self.form == "quarter_end" \
            else list(self.mlog)
        return np.array([0.0, math.log(self.phi0), *rest])

    def bounds(self) -> list[tuple[float, float]]:
        """The search's bounds of each coordinate of x."""
        B = self._BOUNDS
        return [B["level"], B["phi"]] + (
            [B["u"]] if self.form == "quarter_end" else [B["log_factor"]] * len(self.names))

    def fit(self, t: MonthlyTotals, idx: np.ndarray, x0: np.ndarray | None = None
            ) -> np.ndarray:
        bounds = self.bounds()
        # TNC, not L-BFGS-B: on problems this small the latter's solver step is slowed
        # several-fold by multithreaded BLAS
        res = optimize.minimize(self.neg_post, self.start() if x0 is None else x0,
                                args=(t, idx), method="TNC", jac=True, bounds=bounds)
        return res.x

    def hessian(self, x: np.ndarray, t: MonthlyTotals, idx: np.ndarray) -> np.ndarray:
        """The negative log posterior's Hessian at ``x``, by central differences of the
        closed-form gradient (symmetrised)."""
        h = 1e-5
        H = np.array([(self.neg_post(x + h * e, t, idx)[1] - self.neg_post(x - h * e, t, idx)[1])
                      / (2 * h) for e in np.eye(x.size)])
        return (H + H.T) / 2

    def held_out(self, t: MonthlyTotals) -> float:
        """Leave-one-quarter-out log score: each calendar quarter of the history predicted
        from the others' fit (each fold's search starts from the fit to all months)."""
        n = t.N.size
        full = self.fit(t, np.arange(n))
        total = 0.0
        for q in np.unique(t.quarter):
            out = np.flatnonzero(t.quarter == q)
            x = self.fit(t, np.flatnonzero(t.quarter != q), full)
            total += float(nb_loglik(t.N[out], self.mean(x, t, out), self._phi(x)))
        return total


def fitted_form(col: Any) -> str | None:
    """The seasonal form whose parameters the fit ``col`` wrote as fitted (None: none, or
    more than one). A quarter-end uplift fixed at 0 by a richer form's choice does not count."""
    active = [f for f in FORMS
              if all(col.entries.get(n) is not None and col.entries[n].source == "fitted"
                     and col.entries[n].distribution.dist != "fixed"
                     for n in form_parameters(f))]
    return active[0] if len(active) == 1 else None


def totals_model(form: str | None, base: Mapping[str, Any], priors: Mapping[str, Any]
                 ) -> _FormFit:
    """The monthly totals' posterior in ``form`` (None: the season held in the totals' E):
    the priors before the choice of form (``base``: a richer form's prior is centred on
    their quarter-end form), a richer form's factors with the fit's own lognormal priors
    (``priors``: a scenario's or the form's)."""
    own = None
    if form not in (None, "quarter_end"):
        own = form_priors(form, base)
        own.update({n: priors[n] for n in form_parameters(form)
                    if getattr(priors[n], "dist", "") == "lognormal"})
    return _FormFit(form, base, own)


def choose_form(t: MonthlyTotals, priors: Mapping[str, Any]) -> SeasonChoice:
    """The richest seasonal form whose held-out log score (leave one calendar quarter out)
    beats every simpler form's by ``MARGIN`` and one per extra factor; the quarter-end form
    when the history is too short to judge (fewer than four months, or one quarter) or holds
    no new customers.

    Examples
    --------
    >>> import numpy as np
    >>> from okma_sim.models.sales import PARAMETERS
    >>> priors = {k: v.prior for k, v in PARAMETERS.items()}
    >>> cm = np.tile([1, 2, 3], 8) + np.repeat(np.arange(8) % 4 * 3, 3)
    >>> rng = np.random.default_rng(1)
    >>> N = rng.poisson(100 * np.tile([0.7, 1.0, 1.3], 8)).astype(float)
    >>> choose_form(MonthlyTotals(cm, N, np.full(24, 100.0)), priors).form
    'month_of_quarter'
    """
    n = t.N.size
    if n < 4 or t.N.sum() <= 0 or np.unique(t.quarter).size < 2:
        return SeasonChoice("quarter_end", {}, n)
    candidates = ["quarter_end", "month_of_quarter"]
    if n >= 24:  # every calendar month seen twice
        candidates.append("month_of_year")
    scores = {f: _FormFit(f, priors).held_out(t) for f in candidates}
    best = "quarter_end"
    for f in candidates[1:]:
        if all(scores[f] >= scores[g] + max(MARGIN, _FREE[f] - _FREE[g])
               for g in candidates[:candidates.index(f)]):
            best = f
    return SeasonChoice(best, scores, n)


def fitted_totals(acq: Any, th: Mapping[str, float]) -> MonthlyTotals:
    """The monthly totals of the acquisition rows (``acq``, an AcquisitionData with ``ym``)
    and what the fit ``th`` expects of them without the seasonal factor, with the reps'
    shrunk skills."""
    skills = acq.skills(th)["shrunk"].to_numpy(float)
    return MonthlyTotals.from_rows(acq.ym, acq.n, acq.expected(th, skills, season=False))


def choose_and_refit(col: Any, acq: Any, names: list[str], lap: Any, th: dict[str, float],
                     refit: Any) -> tuple[SeasonChoice | None, list[str], Any, dict[str, float]]:
    """After a fit in the quarter-end form: choose the form from the monthly totals and, when
    a richer one wins, refit with its parameters in place of the uplift (fixed at 0).

    ``col`` is the fit's Collector (its priors are updated to the chosen form's), ``acq`` the
    AcquisitionData (with ``ym``), ``refit(names, priors)`` returns ``(lap, th)``. Returns the
    choice (None when the scenario fixes the form), the fitted names, ``lap`` and ``th``."""
    pri = col.priors
    if acq is None or not neutral_forms(pri) or is_fixed(pri["quarter_end_uplift"]):
        return None, names, lap, th
    choice = choose_form(fitted_totals(acq, th), pri)
    if choice.form == "quarter_end":
        return choice, names, lap, th
    col.priors = {**pri, **form_priors(choice.form, pri),
                  "quarter_end_uplift": Distribution("fixed", {"value": 0.0})}
    names = [n for n in names if n != "quarter_end_uplift"] + list(form_parameters(choice.form))
    lap, th = refit(names, col.priors)
    return choice, names, lap, th


def season_notes(choice: SeasonChoice | None, notes: Mapping[str, str] | None = None
                 ) -> dict[str, str]:
    """``notes`` with the fit-report notes of the seasonal parameters after a choice added
    (joined to a note already there)."""
    out = dict(notes or {})
    for k, v in _choice_notes(choice).items():
        out[k] = "; ".join(x for x in (out.get(k, ""), v) if x)
    return out


def _choice_notes(choice: SeasonChoice | None) -> dict[str, str]:
    if choice is None:
        return {}
    notes = {n: choice.note() for n in form_parameters(choice.form)}
    for form in FORMS:
        if form != choice.form:
            for n in form_parameters(form):
                notes[n] = (f"not used: the {FORM_LABELS[choice.form]} form was chosen"
                            if choice.scores else "the history is too short to judge a "
                            "richer seasonal form (4 months over two calendar quarters needed)")
    return notes


def normalise_factors(col: Any, lap: Any, n_draws: int = 4000) -> None:
    """Rewrite the fitted month-of-quarter or month-of-year factors as the marginals of the
    factors divided by their mean. The model divides them so (docs/model.md 5.9), which
    leaves their common scale to the prior alone; the marginals of the raw factors would
    carry that unidentified spread. Draws come from the Laplace posterior (fixed seed)."""
    if not getattr(lap, "ok", False):
        return
    for names in (SEASON_QUARTER, SEASON_YEAR):
        idx = [lap.names.index(n) for n in names if n in lap.names]
        if len(idx) != len(names) or not all(col.entries.get(n) is not None and
                                             col.entries[n].source == "fitted" for n in names):
            continue
        z = np.random.default_rng(0).multivariate_normal(
            lap.mode[idx], lap.cov[np.ix_(idx, idx)], size=n_draws)
        theta = np.column_stack([lap.priors[i].scale.theta(z[:, j])
                                 for j, i in enumerate(idx)])
        write_marginals(col, names, theta, True, "divided by their mean")


def write_marginals(col: Any, names: Sequence[str], theta: np.ndarray, normalise: bool,
                    note: str) -> None:
    """Write each fitted entry of ``names`` from the posterior draws ``theta`` (one column a
    parameter; divided by the row mean first when ``normalise``: the factors as the model
    uses them), through its 5% and 95% points, with ``note`` added."""
    if normalise:
        theta = theta / theta.mean(axis=1, keepdims=True)
    for j, n in enumerate(names):
        e = col.entries[n]
        p = col.prior_of(n)
        q05, q95 = np.quantile(theta[:, j], (0.05, 0.95))
        d = named_from_quantiles(p, float(p.scale.phi(q05)), float(p.scale.phi(q95)))
        col.entries[n] = entry(n, d, e.rows_used, "fitted", e.rows,
                               "; ".join(x for x in (e.note, note) if x))


def record_form(col: Any, choice: SeasonChoice | None, rows: int, what: str) -> None:
    """When a richer form replaced the quarter-end one, report ``quarter_end_uplift`` as
    fitted at exactly 0: a value the data chose, so the written scenario must carry it (a
    calibrated scenario writes its fitted entries, and the model's default uplift would
    otherwise stack on the fitted factors)."""
    if choice is None or choice.form == "quarter_end":
        return
    n = "quarter_end_uplift"
    col.entries[n] = entry(n, Distribution("fixed", {"value": 0.0}), rows, "fitted", what,
                           f"0: replaced by the {FORM_LABELS[choice.form]} form; "
                           + choice.note())
