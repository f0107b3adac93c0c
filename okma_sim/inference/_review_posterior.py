"""The review's parameter update: importance weights, refined parameters and rep skills.

The target is the posterior of the parameters and the reps' skills given the actuals, with the
model's own likelihood of the observed counts given the recorded efforts, one term per kind of
data (:data:`LIKELIHOOD_TERMS`): new customers (Poisson per rep-month), revisited customers
(the model's normal-approximated binomial), churned customers (Poisson, capped at the book),
revenue (per team-month, a normal approximation of the gamma-Poisson compound), CSAT responses
(binomial), survey completion and response (Bernoulli, binomial) and rep departures
(Bernoulli). docs/management.md states it in full.

Importance sampling starts from the engine's own prior draws (same seed, sampler and
correlations as any run). Plain reweighting of those draws collapses with a dozen reps' data
(about 1% of the paths left on the case study), because several terms are sharp. Two exact
devices keep it healthy:

- **Skills are integrated out.** Given the parameters, a rep's new-customer likelihood in the
  skill s is ``s^N exp(-s A)``; its integral over the lognormal skill prior is taken by
  adaptive Gauss-Hermite quadrature, and the rep's skill on the path is then drawn from its
  posterior on a grid by inverse CDF.
- **Local parameters are refined.** A parameter that enters one term only, and is neither
  pinned nor rank-correlated in the plan, gets ``candidates`` (K) prior draws per path (the
  engine's and K - 1 more); the path keeps one with probability proportional to its likelihood
  and is weighted by the mean likelihood of the K (random-weight importance sampling: properly
  weighted for any K, Liu 2001, section 2.5). With ``candidates=1`` this is plain reweighting.

The parameters shared by several terms (``training_retention``, ``coaching_effect``,
``quarter_end_uplift``) are plainly reweighted; ``hiring_delay_months`` has no data and keeps
its prior. The stages: the local terms (:func:`_local_terms`) -> the new-customer term with
the skills -> the weights and their effective sample size (ESS).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from okma_sim._core.errors import OkmaError
from okma_sim.engine import resolve_parameters
from okma_sim.io import Actuals
from okma_sim.models import REFERENCE_TRAINING_HOURS, season_factors
from okma_sim.plan import Plan

from ._review_likelihood import _DZ, _LOCAL, _Z, _NewCustomers, _local_terms

#: elements per chunk of the (paths, candidates, seats, months) arrays
_CHUNK = 2_000_000


@dataclass
class _Posterior:
    params: pd.DataFrame
    log_weights: np.ndarray
    skill: np.ndarray           # (n, S) for the seats' current occupants (prior elsewhere)
    ess: float
    terms: dict[str, float]     # ESS of each term's weights alone
    stock: np.ndarray           # (n, S, T+1) training stock (training_retention is not refined)


def _ess(logw: np.ndarray) -> float:
    w = np.exp(logw - np.max(logw))
    return float(w.sum() ** 2 / np.sum(w * w))


def _select(ll: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Index of the candidate kept on each path, with probability proportional to exp(ll)."""
    pr = np.exp(ll - ll.max(1, keepdims=True))
    c = np.cumsum(pr, 1)
    return np.minimum((c < (u * c[:, -1])[:, None]).sum(1), ll.shape[1] - 1)


def _stock(act: Actuals, retention: np.ndarray) -> np.ndarray:
    """Training stock at the start of each observed month, and after the last: (n, S, T+1)."""
    n = retention.shape[0]
    S, T = act.n_seats, act.T
    out = np.zeros((n, S, T + 1))
    ret = retention[:, None]
    cur = np.zeros((n, S))
    for t in range(T):
        cur = np.where(act.new_occupant[:, t], 0.0, cur)  # a new rep starts untrained
        out[:, :, t] = cur
        cur = ret * cur + (1.0 - ret) * act.cols["training_hours"][:, t] / \
            REFERENCE_TRAINING_HOURS
    out[:, :, T] = cur
    return out


def _collapse_warning(ess: float, n_paths: int) -> str | None:
    """The warning for importance weights that collapsed (ESS under 200 or 1% of the paths)."""
    if ess < max(200.0, 0.01 * n_paths):
        return (f"the importance weights collapsed: the actuals fit few of the simulated "
                f"runs, which weigh as much as {ess:,.0f} of {n_paths:,} (the effective "
                "sample size), so the re-forecast rests on few parameter draws (run more "
                "simulated runs with --paths, or check the actuals against the plan)")
    return None


class _Update:
    """The running update: the paths' parameter draws ``P`` (local ones refined term by
    term), their log weights and each term's ESS."""

    def __init__(self, plan: Plan, model: Any, act: Actuals, params: pd.DataFrame,
                 rng: np.random.Generator, candidates: int, pinned: Mapping[str, float]):
        self.n = len(params)
        self.act, self.rng, self.candidates, self.pinned = act, rng, candidates, pinned
        self.dists = resolve_parameters(plan, model)
        self.correlated = set(plan.correlations.parameters) if plan.correlations else set()
        # anchored to the baseline year (docs/model.md 11): a fresh prior candidate would
        # forget the baseline, so these are reweighted as drawn
        anchors = getattr(model, "anchors", None)
        self.anchored = {model.anchored[m] for m in (anchors(plan) if anchors else {})}
        self.P = {k: params[k].to_numpy(dtype=float).copy() for k in params.columns}
        self.logw = np.zeros(self.n)
        self.term_ess: dict[str, float] = {}

    def refine(self, term: str, ll_fn, width: int) -> None:
        """K prior candidates of the term's local parameters; keep one, weight by the mean.
        ``width``: elements of the term's arrays per path and candidate (for chunking)."""
        names = self._refined(term)
        K = self.candidates if names else 1
        cand = self._candidates(names, K)
        ll = self._loglik(term, ll_fn, cand, K, width)
        lw, ok = self._term_weights(term, ll, K)
        if K > 1:
            pick = np.zeros(self.n, dtype=int)
            pick[ok] = _select(ll[ok], self.rng.random(int(ok.sum())))
            for k in names:
                self.P[k] = cand[k][np.arange(self.n), pick]
        else:
            self.rng.random(self.n)  # keep the stream's use independent of K
        self.term_ess[term] = _ess(lw)
        self.logw = self.logw + lw

    def _refined(self, term: str) -> list[str]:
        """The term's local parameters that are drawn, not pinned, not rank-correlated and not
        anchored."""
        dists = self.dists
        return [k for k in _LOCAL[term] if k in dists and k not in self.pinned
                and k not in self.correlated and k not in self.anchored
                and not (getattr(dists[k], "dist", "") == "fixed")]

    def _candidates(self, names: list[str], K: int) -> dict[str, np.ndarray]:
        """(paths, K) prior draws of each parameter; the engine's own draw is candidate 0
        (K = 1: plain reweighting)."""
        cand = {k: self.dists[k].ppf(np.clip(self.rng.random((self.n, K)), 1e-12, 1 - 1e-12))
                for k in names}
        for k in names:
            cand[k][:, 0] = self.P[k]
        return cand

    def _loglik(self, term: str, ll_fn, cand: Mapping[str, np.ndarray], K: int,
                width: int) -> np.ndarray:
        """The term's log-likelihood of every path and candidate, in chunks of paths."""
        n, P = self.n, self.P
        ll = np.empty((n, K))
        chunk = max(1, _CHUNK // max(1, K * width))
        for a in range(0, n, chunk):
            b = min(n, a + chunk)
            get = {k: (cand[k][a:b] if k in cand else np.broadcast_to(P[k][a:b, None],
                                                                       (b - a, K)))
                   for k in _LOCAL[term] if k in P}
            ll[a:b] = ll_fn(slice(a, b), get)
        return np.where(np.isfinite(ll), ll, -np.inf)

    def _term_weights(self, term: str, ll: np.ndarray, K: int) -> tuple[np.ndarray, np.ndarray]:
        """log of the mean likelihood of the K candidates, and the paths where it is not 0."""
        mx = ll.max(1)
        if not np.isfinite(mx).any():
            raise OkmaError(f"the actuals are impossible under the model for every path "
                            f"(likelihood term {term!r})", file=self.act.source)
        mxs = np.where(np.isfinite(mx), mx, 0.0)
        lw = mxs + np.log(np.exp(ll - mxs[:, None]).sum(1) / K)
        lw = np.where(np.isfinite(mx), lw, -np.inf)
        return lw, np.isfinite(mx)


def _posterior(plan: Plan, model: Any, act: Actuals, params: pd.DataFrame,
               rng: np.random.Generator, terms: Sequence[str], candidates: int,
               pinned: Mapping[str, float], *, cm: np.ndarray,
               mkt_events: np.ndarray) -> _Posterior:
    """The update of the engine's prior draws ``params`` given the actuals; ``cm`` (n, S, T)
    the replayed coaching multiplier, ``mkt_events`` (n, T) the replayed marketing events."""
    upd = _Update(plan, model, act, params, rng, candidates, pinned)
    P = upd.P
    T = act.T
    stock = _stock(act, P["training_retention"])
    season = season_factors(P)[:, plan.calendar_months()[:T] - 1]  # (n, T)
    for term, ll_fn in _local_terms(plan, act, cm, season, stock).items():
        if term in terms:
            upd.refine(term, ll_fn, width=act.n_seats * T)
    skill_rep, u_skill = _prior_rep_skills(act, P, rng)
    if "new_customers" in terms and len(act.reps):
        acq = _NewCustomers(plan, act, cm, season, stock, mkt_events)
        upd.refine("new_customers", acq.loglik, width=acq.width)
        _draw_rep_skills(acq, P, u_skill, skill_rep)
    skill = _seat_skills(act, P, skill_rep, rng)
    if not np.isfinite(upd.logw).any():
        raise OkmaError("the actuals are impossible under the model for every path",
                        file=act.source)
    out = params.copy()
    for k in out.columns:
        out[k] = P[k]
    return _Posterior(params=out, log_weights=upd.logw, skill=skill, ess=_ess(upd.logw),
                      terms=upd.term_ess, stock=stock)


def _prior_rep_skills(act: Actuals, P: Mapping[str, np.ndarray],
                      rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Each rep's skill drawn from its prior (n, reps), and the uniforms that draw it from
    its posterior instead when the new-customer term is used."""
    n, nrep = len(P["skill_cv"]), len(act.reps)
    sig0 = np.sqrt(np.log1p(P["skill_cv"] ** 2))
    skill_rep = np.exp(-sig0[:, None] ** 2 / 2 + sig0[:, None]
                       * rng.standard_normal((n, max(nrep, 1))))[:, :nrep]
    u_skill = rng.random((n, max(nrep, 1)))[:, :nrep]
    return skill_rep, u_skill


def _draw_rep_skills(acq: _NewCustomers, P: Mapping[str, np.ndarray], u_skill: np.ndarray,
                     skill_rep: np.ndarray) -> None:
    """Each rep's skill on each path, in place: inverse CDF of its grid posterior."""
    n, nrep = skill_rep.shape
    chunk = max(1, _CHUNK // (nrep * len(_Z) + acq.act.n_seats * acq.act.T))
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        sl = slice(a, b)
        g = {k: P[k][sl, None] for k in _LOCAL["new_customers"]}
        A, _ = acq.parts(sl, g)
        sig = np.sqrt(np.log1p(g["skill_cv"] ** 2))
        lg = acq.log_grid(A, sig)[:, 0]  # (m, reps, grid)
        dens = np.exp(lg - lg.max(-1, keepdims=True))
        cdf = np.cumsum(dens, -1)
        cdf /= cdf[..., -1:]
        u = u_skill[sl]
        i = (cdf < u[..., None]).sum(-1).clip(0, len(_Z) - 1)
        i0 = np.maximum(i - 1, 0)
        c0 = np.where(i > 0, np.take_along_axis(cdf, i0[..., None], -1)[..., 0], 0.0)
        c1 = np.take_along_axis(cdf, i[..., None], -1)[..., 0]
        frac = np.clip((u - c0) / np.maximum(c1 - c0, 1e-300), 0.0, 1.0)
        z = np.where(i > 0, _Z[i0] + frac * _DZ, _Z[0])
        skill_rep[sl] = np.exp(-sig ** 2 / 2 + sig * z)


def _seat_skills(act: Actuals, P: Mapping[str, np.ndarray], skill_rep: np.ndarray,
                 rng: np.random.Generator) -> np.ndarray:
    """(n, S) skills of the seats' current occupants (a known skill is used as is); the other
    seats get prior draws, used by nobody."""
    kk = np.isfinite(act.rep_known_skill)
    if kk.any():
        skill_rep[:, kk] = act.rep_known_skill[kk][None, :]
    n, S = len(P["skill_cv"]), act.n_seats
    s2 = np.log1p(P["skill_cv"] ** 2)[:, None]
    skill = np.exp(-s2 / 2 + np.sqrt(s2) * rng.standard_normal((n, S)))
    cur = act.occupant[:, act.T - 1]
    for s in range(S):
        if cur[s] >= 0:
            skill[:, s] = skill_rep[:, cur[s]]
    return skill
