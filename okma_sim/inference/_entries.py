"""The fit report's entries as a fit gathers them: each parameter is ``"fitted"`` when the
data shrank its uncertainty (or identify it jointly with a fitted one), else it keeps its
prior; the posterior correlations of each fitted group are kept for the scenario. The
report's entries carry their width ratio against the prior the fit used."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping, Sequence

import numpy as np

from okma_sim.params import Distribution, to_named
from okma_sim.plan import Correlations

from ._fit_result import FitEntry, as_correlations
from ._laplace import Laplace, laplace
from ._priors import Prior, beta_posterior, is_fixed, named_from_quantiles, ppf

#: posterior sd below this share of the prior sd (fitting scale) counts as "fitted"
_CONTRACTION = 0.9
#: |posterior correlation| with a fitted parameter above which a parameter is fitted jointly
_JOINT = 0.5


def entry(name: str, dist: Any, rows: int, source: str, what: str, note: str = "") -> FitEntry:
    """The report entry of a parameter's written distribution (``rows`` and ``what`` count
    only when it was fitted)."""
    d = to_named(dist, name) if not isinstance(dist, Distribution) else dist
    if d.dist == "fixed":
        v = float(d.args["value"])
        lo = hi = med = v
    else:
        med, lo, hi = (ppf(d, q) for q in (0.5, 0.05, 0.95))
    return FitEntry(name, float(med), float(lo), float(hi), int(rows) if source == "fitted"
                    else 0, source, d, what if source == "fitted" else "", note)


def width_ratio(e: FitEntry, prior: Any) -> float | None:
    """The entry's 90% interval width over ``prior``'s (5% to 95% points, on the parameter's
    own scale); ``None`` for a fixed prior (nothing to narrow)."""
    d = prior if isinstance(prior, Distribution) else to_named(prior, e.name)
    if d.dist == "fixed":
        return None
    prior_width = float(ppf(d, 0.95)) - float(ppf(d, 0.05))
    r = (e.high90 - e.low90) / prior_width if prior_width > 0 else math.nan
    return float(r) if math.isfinite(r) else None


class Collector:
    """Gathers entries and correlation blocks while fitting."""

    def __init__(self, priors: Mapping[str, Any], bounds: Mapping[str, tuple[float, float]]):
        self.priors = priors
        self.bounds = bounds
        self.entries: dict[str, FitEntry] = {}
        self.blocks: list[tuple[list[str], np.ndarray]] = []
        self.warnings: list[str] = []
        #: parameters fitted with a flat prior: a vague one replaced theirs (the data carried
        #: over ten times its information), or the data alone estimated them
        self.flat: set[str] = set()
        #: results one step of a fit computes and a later one reuses (the monthly totals'
        #: dispersion grid: the factors' and the dispersion's fits need the same one)
        self.memo: dict[Any, Any] = {}

    def prior(self, name: str, note: str = "") -> None:
        """Report ``name`` with its prior."""
        self.entries[name] = entry(name, self.priors[name], 0, "prior", "", note)

    def prior_of(self, name: str) -> Prior:
        """``name``'s prior on its fitting scale (within the model's bounds)."""
        return Prior.of(name, self.priors[name], self.bounds.get(name, (-math.inf, math.inf)))

    def report(self, order: Sequence[str]) -> tuple[FitEntry, ...]:
        """The entries in ``order``, each with its width ratio against the prior the fit used
        (for the seasonal factors, the chosen form's prior that replaced the plan's; 0 for a
        flat prior, which has no finite width)."""
        return tuple(dataclasses.replace(
            self.entries[n], width_ratio=0.0 if n in self.flat and
            self.entries[n].source == "fitted" else width_ratio(self.entries[n],
                                                                self.priors[n]))
            for n in order if n in self.entries)

    # -- fitting steps -----------------------------------------------------------------------
    def fit_group(self, names: Sequence[str], data: Any, rows: int, what: str) -> None:
        """Fit a group of parameters jointly to one likelihood (``data.loglik``; ``None``:
        no rows), the fixed ones held at their value."""
        free = [n for n in names if not is_fixed(self.priors[n])]
        if data is None or not free:
            for n in names:
                self.prior(n, "" if data is not None else "no rows")
            return
        pri = [self.prior_of(n) for n in free]
        fixed = {n: float(self.priors[n].args["value"]) for n in names if n not in free}
        lap = laplace(pri, data.loglik, fixed)
        self.from_laplace(lap, {n: rows for n in free}, {n: what for n in free})
        for n in names:
            if n not in self.entries:
                self.prior(n)

    def conjugate(self, name: str, successes: float, trials: float, rows: int,
                  what: str) -> None:
        """Fit a probability to ``successes`` of ``trials`` (beta posterior)."""
        prior = self.priors[name]
        if is_fixed(prior):
            self.prior(name)
            return
        self.keep_if_contracted(name, beta_posterior(prior, successes, trials), rows, what)

    def keep_if_contracted(self, name: str, post: Distribution, rows: int, what: str) -> None:
        """Report ``post`` as fitted if it is narrower than the prior, else keep the prior."""
        p = self.prior_of(name)
        u = (np.arange(1, 200) - 0.5) / 199.0
        sd = float(np.std(p.scale.phi(ppf(post, u))))
        if sd < _CONTRACTION * p.phi_sd:
            self.entries[name] = entry(name, post, rows, "fitted", what)
        else:
            self.prior(name, "too few data to move the prior")

    def from_laplace(self, lap: Laplace, rows: Mapping[str, int], what: Mapping[str, str],
                     require: Mapping[str, bool] | None = None,
                     notes: Mapping[str, str] | None = None) -> None:
        """Report a fitted group: each parameter fitted (written from its line marginal) or
        kept at its prior, and the group's correlations when any was fitted."""
        m = len(lap.names)
        if not lap.ok:
            # a failed fit is not "no information": say so, in the report and as a warning
            self.warnings.append(
                f"the joint fit of {', '.join(lap.names)} failed (its curvature at the mode is "
                "not positive definite): they keep their priors")
            notes = {n: "the joint fit failed: prior kept" for n in lap.names}
        allowed = np.array([lap.ok and rows.get(n, 0) > 0 and
                            (require is None or require.get(n, True)) for n in lap.names])
        fit_mask, partner, corr = _fit_mask(lap, allowed)
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
                    self.flat.add(n)
                dd = named_from_quantiles(p, float(lap.q[i, 0]), float(lap.q[i, 2]))
                self.entries[n] = entry(n, dd, rows.get(n, 0), "fitted", what.get(n, ""), note)
                fitted.append(i)
            else:
                self.prior(n, note or "not identified by these data")
        if fitted and m >= 2 and lap.ok:
            # the whole block's correlations, prior-labelled members included: their written
            # prior is their posterior marginal to within 10% in sd, and leaving out, say,
            # the training effect's trade-off with the win rate would widen every forecast
            self.blocks.append((list(lap.names), corr))

    # -- the scenario's correlations -----------------------------------------------------------
    def correlations(self, min_abs: float = 0.2) -> Correlations | None:
        """Rank correlations of the fitted groups' members correlated by ``min_abs`` or more."""
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
        return as_correlations(names, M)


def _fit_mask(lap: Laplace, allowed: np.ndarray) -> tuple[np.ndarray, dict[int, int],
                                                          np.ndarray]:
    """Which parameters of a group count as fitted, the partner each joint one was identified
    with, and the posterior correlation matrix."""
    m = len(lap.names)
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
    return fit_mask, partner, corr
