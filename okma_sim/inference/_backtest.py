"""Backtests: fit on the history up to a cutoff, forecast the next months, compare with what
happened.

For a cutoff month and a horizon of K months, :func:`backtest`

1. fits the model to the history up to and including the cutoff (:mod:`okma_sim.inference`);
2. simulates the next K months with what is recorded for them: the roster (who worked which
   month; a new rep takes a vacated seat and its customer book) and the team's average
   prospect visits, follow-up visits and training hours of each month. Parameters are drawn
   from the fitted distributions (with their rank correlations), so the forecast carries the
   estimation uncertainty as well as the month-to-month noise;
3. compares, for each metric the data support and each month, the actual value with the
   forecast's p05, p50, p95 and its PIT (probability integral transform, randomised for
   counts so that it is uniform under a calibrated forecast); reports the coverage of the
   central 50/80/95% intervals (the share of metric-months whose PIT falls inside them), and
   the CRPS of the forecast against a naive baseline: the trailing (up to 12) months' values
   of the metric as an ensemble, i.e. the trailing mean with its empirical spread.

Metrics: ``revenue``, ``new_customers``, ``revisit_rate`` and ``csat`` (survey months only)
for a rep-month history; ``revenue`` and ``wins`` for an opportunity export. Each is the team
total (or team ratio) over the reps who worked the month, as the history CSV defines it.

:func:`rolling_backtest` repeats this at every feasible cutoff and pools the metric-months.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from okma_sim._core.errors import DataError, OkmaError
from ._calibrate import (FitResult, _fmt, _frozen, _is_fixed, _month, _ym, _ymv, crm_effort,
                         fit_history, rep_month_features)
from okma_sim._core.calendar import MONTH_PATTERN, month_ordinal
from okma_sim.io import opportunities_to_panel
from okma_sim.models import REFERENCE_TRAINING_HOURS, WEEKS_PER_MONTH
from okma_sim.plan import Objective, Plan, Rep
from okma_sim.engine import iman_conover

__all__ = ["LEVELS", "BacktestRun", "BacktestResult", "backtest", "rolling_backtest",
           "crps_ensemble", "randomized_pit", "history_months", "check_cutoff"]

#: central interval levels whose coverage is reported
LEVELS = (0.5, 0.8, 0.95)
#: default number of months the fit needs before the first rolling cutoff
MIN_TRAIN = {"rep-month": 6, "opportunities": 3}


# --------------------------------------------------------------------------------------------
# scores
# --------------------------------------------------------------------------------------------
def crps_ensemble(samples: np.ndarray, y: float) -> float:
    """CRPS of an ensemble forecast at the outcome ``y`` (sample formula).

    ``CRPS = mean|X - y| - 0.5 mean|X - X'|`` over the ensemble members, with
    ``mean|X - X'| = (2 / n^2) sum_i (2i - n - 1) x_(i)`` for the sorted members.

    Examples
    --------
    >>> round(crps_ensemble(np.array([0.0, 1.0]), 0.0), 4)
    0.25
    """
    x = np.sort(np.asarray(samples, dtype=float))
    x = x[np.isfinite(x)]
    n = x.size
    if n == 0 or not np.isfinite(y):
        return math.nan
    i = np.arange(1, n + 1)
    spread = 2.0 * np.sum((2 * i - n - 1) * x) / (n * n)
    return float(np.mean(np.abs(x - y)) - 0.5 * spread)


def randomized_pit(samples: np.ndarray, y: float, v: float) -> float:
    """Randomised PIT: ``F(y-) + v (F(y) - F(y-))`` for a uniform ``v``; for counts this is
    uniform under a calibrated forecast (Czado, Gneiting & Held 2009), for continuous
    outcomes it is the plain PIT.

    Examples
    --------
    >>> randomized_pit(np.array([0.0, 1.0, 1.0, 2.0]), 1.0, 0.5)
    0.5
    """
    x = np.asarray(samples, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0 or not np.isfinite(y):
        return math.nan
    below = float(np.mean(x < y))
    at = float(np.mean(x == y))
    return below + v * at


# --------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------
def _summ(entries: Sequence[Mapping[str, Any]]) -> tuple[dict, dict, dict, dict]:
    pits = np.array([e["pit"] for e in entries if e["pit"] is not None
                     and np.isfinite(e["pit"])])
    cov = {f"{round(L * 100)}": (float(np.mean(np.abs(pits - 0.5) <= L / 2))
                                 if pits.size else math.nan) for L in LEVELS}
    crps: dict[str, float] = {}
    base: dict[str, float] = {}
    skill: dict[str, float] = {}
    for m in dict.fromkeys(e["metric"] for e in entries):
        c = [e["crps"] for e in entries if e["metric"] == m and np.isfinite(e["crps"])]
        b = [e["baseline_crps"] for e in entries if e["metric"] == m
             and np.isfinite(e["baseline_crps"])]
        crps[m] = float(np.mean(c)) if c else math.nan
        base[m] = float(np.mean(b)) if b else math.nan
        skill[m] = 1.0 - crps[m] / base[m] if base[m] and np.isfinite(base[m]) else math.nan
    return cov, crps, base, skill


@dataclass(frozen=True)
class BacktestRun:
    """One cutoff: the metric-months compared, their coverage and CRPS.

    ``metrics`` holds one dict per metric and month: ``metric, month, actual, p05, p50, p95,
    pit, crps, baseline_crps``. ``coverage`` maps ``"50"``, ``"80"``, ``"95"`` to the share
    of those whose PIT lies in the central interval; ``crps`` and ``baseline_crps`` map each
    metric to its mean CRPS over the months (in the metric's unit), ``crps_skill`` to
    ``1 - crps / baseline_crps`` (positive: the model beats the naive baseline).
    """

    cutoff: str
    horizon: int
    metrics: tuple[Mapping[str, Any], ...]
    warnings: tuple[str, ...] = ()

    @property
    def coverage(self) -> dict[str, float]:
        return _summ(self.metrics)[0]

    def to_json_dict(self) -> dict[str, Any]:
        cov, crps, base, skill = _summ(self.metrics)
        return {"cutoff": self.cutoff, "horizon": self.horizon,
                "metrics": [dict(e) for e in self.metrics], "coverage": cov, "crps": crps,
                "baseline_crps": base, "crps_skill": skill, "n": len(self.metrics),
                "warnings": list(self.warnings)}


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
    def coverage(self) -> dict[str, float]:
        """Pooled coverage of the 50/80/95% central intervals."""
        return _summ(self.entries)[0]

    @property
    def crps(self) -> dict[str, float]:
        return _summ(self.entries)[1]

    @property
    def baseline_crps(self) -> dict[str, float]:
        return _summ(self.entries)[2]

    def to_frame(self) -> pd.DataFrame:
        """One row per cutoff, metric and month."""
        return pd.DataFrame(self.entries)

    def to_json_dict(self) -> dict[str, Any]:
        """The ``backtest --json`` document (without the common CLI keys)."""
        if not self.rolling and len(self.runs) == 1:
            doc = self.runs[0].to_json_dict()
            doc.pop("warnings", None)
            return doc
        cov, crps, base, skill = _summ(self.entries)
        return {"cutoff": self.runs[0].cutoff if self.runs else None,
                "cutoffs": [r.cutoff for r in self.runs],
                "horizon": self.runs[0].horizon if self.runs else None,
                "metrics": self.entries, "coverage": cov, "crps": crps,
                "baseline_crps": base, "crps_skill": skill, "n": len(self.entries),
                "runs": [r.to_json_dict() for r in self.runs]}

    def table(self) -> str:
        """A readable summary."""
        cov, crps, base, skill = _summ(self.entries)
        lines = []
        if self.rolling:
            lines.append(f"rolling backtest: {len(self.runs)} cutoffs "
                         f"({self.runs[0].cutoff} to {self.runs[-1].cutoff}), horizon "
                         f"{self.runs[0].horizon}, {self.n_paths:,} paths, seed {self.seed}")
        else:
            r = self.runs[0]
            lines.append(f"backtest: cutoff {r.cutoff}, horizon {r.horizon}, "
                         f"{self.n_paths:,} paths, seed {self.seed}")
            lines.append("")
            lines.append(f"{'metric':<16}{'month':<9}{'actual':>13}{'p05':>13}{'p50':>13}"
                         f"{'p95':>13}{'PIT':>7}")
            for e in r.metrics:
                lines.append(f"{e['metric']:<16}{e['month']:<9}{_fmt(e['actual']):>13}"
                             f"{_fmt(e['p05']):>13}{_fmt(e['p50']):>13}{_fmt(e['p95']):>13}"
                             f"{e['pit']:>7.2f}")
        n = len(self.entries)
        lines.append("")
        lines.append(f"coverage over {n} metric-months (binomial SE at 80%: "
                     f"{math.sqrt(0.16 / max(n, 1)):.3f}): " + ", ".join(
                         f"{k}% -> {v:.2f}" for k, v in cov.items()))
        for m in crps:
            lines.append(f"CRPS {m:<14}{_fmt(crps[m]):>13}  naive {_fmt(base[m]):>13}  "
                         f"skill {skill[m]:+.2f}")
        for w in self.warnings:
            lines.append(f"warning: {w}")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# the history's months and cutoff checks
# --------------------------------------------------------------------------------------------
def _fmt_of(history: pd.DataFrame, fmt: str | None) -> str:
    if fmt is None:
        return "opportunities" if "deal_stage" in history.columns else "rep-month"
    return fmt


def history_months(history: pd.DataFrame, fmt: str | None = None) -> tuple[int, int]:
    """(first fitted month, last month) as month numbers (``Period[M]`` ordinals).

    For an opportunity export the months are close months, and the first one (a backlog)
    is not fitted.
    """
    fmt = _fmt_of(history, fmt)
    if fmt == "rep-month":
        ym = _ymv(history)
        return int(ym.min()), int(ym.max())
    closed = history.loc[history["deal_stage"].isin(["Won", "Lost"]), "close_date"].dropna()
    if closed.empty:
        raise DataError("the export has no closed (Won or Lost) deals",
                        file=history.attrs.get("source"))
    ym = month_ordinal(closed)
    return int(ym.min()) + 1, int(ym.max())


def check_cutoff(history: pd.DataFrame, cutoff: str, horizon: int, fmt: str | None = None,
                 min_train: int = 1) -> int:
    """Validate a cutoff (``YYYY-MM``) and horizon against the history; returns the cutoff's
    month number. Raises DataError naming the file, the option and the bad value."""
    import re
    src = history.attrs.get("source")
    if not isinstance(cutoff, str) or not re.fullmatch(MONTH_PATTERN, cutoff):
        raise DataError("must be a month written YYYY-MM", file=src, key="--cutoff",
                        value=cutoff)
    first, last = history_months(history, fmt)
    c = _ym(cutoff)
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise DataError("--horizon must be a positive whole number of months", file=src,
                        key="--horizon", value=horizon)
    if c < first + min_train - 1 or c > last:
        what = "fitted months" if _fmt_of(history, fmt) == "opportunities" else "months"
        raise DataError(f"cutoff outside the data: the history's {what} run "
                        f"{_month(first)} to {_month(last)}"
                        + (f" and the fit needs {min_train} of them" if min_train > 1 else ""),
                        file=src, key="--cutoff", value=cutoff)
    if c + horizon > last:
        raise DataError(f"horizon longer than the data after the cutoff: {last - c} month(s) "
                        f"follow {cutoff} (to {_month(last)})", file=src, key="--horizon",
                        value=int(horizon))
    return c


# --------------------------------------------------------------------------------------------
# forecasting the months after a cutoff
# --------------------------------------------------------------------------------------------
def _draw_params(fit: FitResult, n: int, rng: np.random.Generator,
                 pinned: Mapping[str, float], sampler: str = "mc") -> dict[str, np.ndarray]:
    from scipy.stats import qmc
    dists = fit.parameters
    names = list(dists)
    if sampler == "lhs":
        u = qmc.LatinHypercube(len(names), seed=rng).random(n)
    elif sampler == "sobol":
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # n need not be a power of 2
            u = qmc.Sobol(len(names), scramble=True, seed=rng).random(n)
    elif sampler == "mc":
        u = rng.random((n, len(names)))
    else:
        raise OkmaError("unknown sampler; use mc, lhs or sobol", key="--sampler", value=sampler)
    u = np.clip(u, 1e-12, 1 - 1e-12)
    corr = fit.correlations
    if corr is not None and n >= 3:
        idx = [names.index(c) for c in corr.parameters]
        u[:, idx] = iman_conover(u[:, idx], np.array(corr.matrix, dtype=float))
    out = {}
    for i, name in enumerate(names):
        if name in pinned:
            out[name] = np.full(n, float(pinned[name]))
        elif _is_fixed(dists[name]):
            out[name] = np.full(n, float(dists[name].args["value"]))
        else:
            out[name] = np.asarray(_frozen(dists[name]).ppf(u[:, i]), dtype=float)
    return out


@dataclass
class _Seat:
    rep: str | None
    book: float
    tenure: float = 0.0
    stock: float = 0.0
    skill: float | None = None
    state: int = 2  # 2 filled, 1 vacant, 0 closed (an extra seat not used yet)
    vacated: int = 0  # month the seat fell vacant (FIFO for new hires)


def _simulate_window(plan: Plan, seats: list[_Seat], roster: Sequence[set[str]],
                     levers: Sequence[Mapping[str, float]], params: Mapping[str, np.ndarray],
                     start_month: str, seed: int, model: Any,
                     new_rep_info: Mapping[str, float] | None = None) -> dict[str, np.ndarray]:
    """Step the model month by month through a recorded roster; returns per-month arrays
    (paths, months) of team totals over the reps who worked: revenue, new, active,
    revisited, responses, satisfied."""
    K = len(levers)
    n = len(next(iter(params.values())))
    reps = tuple(Rep(id=f"seat{i}", tenure_months=float(s.tenure), customers=float(s.book),
                     skill=s.skill) for i, s in enumerate(seats))
    # the recorded visits were made: no capacity cap
    team = dataclasses.replace(plan.team, reps=reps, selling_hours_per_month=1e6)
    base = Plan(name="backtest", start_month=start_month, horizon_months=K,
                objectives=(Objective(id="revenue", metric="revenue", aggregate="mean",
                                      target=0.0),),
                team=team, actions=dict(levers[0]), currency=plan.currency)
    ss = np.random.SeedSequence(seed)
    children = ss.spawn(K + 1)
    st = model.initial_state(base, params, n, np.random.default_rng(children[0]))
    cvk = np.asarray(params["skill_cv"], dtype=float)
    s2 = np.log1p(cvk * cvk)
    st.seat[:] = np.array([s.state for s in seats], dtype=np.int8)[None, :]
    st.vacancy_left[:] = 1e9  # the recorded roster decides who works: the model never refills
    st.train_stock[:] = np.array([s.stock for s in seats])[None, :]
    seat_of = {s.rep: i for i, s in enumerate(seats) if s.rep is not None}
    out = {k: np.zeros((n, K)) for k in ("revenue", "new", "active", "revisited", "responses",
                                         "satisfied")}
    z_rng = np.random.default_rng(children[0].spawn(1)[0])
    for g in range(K):
        working = roster[g]
        # who left: their seat falls vacant (kept for them if they come back)
        for rep, i in list(seat_of.items()):
            if rep not in working and seats[i].state == 2:
                seats[i].state = 1
                seats[i].vacated = g
                st.seat[:, i] = 1
        # who is back or new
        for rep in sorted(working):
            if rep in seat_of:
                i = seat_of[rep]
                if seats[i].state != 2:
                    seats[i].state = 2
                    st.seat[:, i] = 2
                continue
            # a new rep takes the seat vacated longest ago whose rep does not come back
            future = set().union(*roster[g:]) if g < K else set()
            free = [i for i, s in enumerate(seats) if s.state == 1
                    and (s.rep is None or s.rep not in future)]
            closed = [i for i, s in enumerate(seats) if s.state == 0]
            if free:
                i = min(free, key=lambda k: seats[k].vacated)
            elif closed:
                i = closed[0]
            else:  # pragma: no cover - seats are allocated for every new rep
                continue
            if seats[i].rep in seat_of:
                del seat_of[seats[i].rep]
            seats[i].rep, seats[i].state = rep, 2
            seat_of[rep] = i
            st.seat[:, i] = 2
            st.tenure[:, i] = float((new_rep_info or {}).get(rep, 0.0))
            st.train_stock[:, i] = 0.0
            st.skill[:, i] = np.exp(-s2 / 2 + np.sqrt(s2) * z_rng.standard_normal(n))
        st.vacancy_left[:] = 1e9
        plan_g = base.replace(horizon_months=g + 1, actions=dict(levers[g]))
        res = model.simulate(plan_g, params, np.random.default_rng(children[g + 1]),
                             initial_state=st, record_reps=True)
        pr = res.per_rep
        f = pr["filled"][:, :, 0]
        out["revenue"][:, g] = (pr["revenue"][:, :, 0] * f).sum(1)
        out["new"][:, g] = (pr["new_customers"][:, :, 0] * f).sum(1)
        out["active"][:, g] = (pr["active_customers"][:, :, 0] * f).sum(1)
        out["revisited"][:, g] = (pr["revisited_customers"][:, :, 0] * f).sum(1)
        out["responses"][:, g] = (pr["csat_responses"][:, :, 0] * f).sum(1)
        out["satisfied"][:, g] = (pr["csat_satisfied"][:, :, 0] * f).sum(1)
        st = res.state
    return out


def _rep_month_setup(hist: pd.DataFrame, fit: FitResult, plan: Plan, cutoff: int,
                     horizon: int) -> tuple[list[_Seat], list[set[str]], list[dict], dict]:
    """Seats at the cutoff (filled by the cutoff month's reps, plus seats left vacant by
    earlier leavers nobody replaced yet), the recorded roster and levers of each forecast
    month."""
    pl = fit.plugins
    feats = rep_month_features(hist, retention=pl.get("training_retention", 0.7),
                               ramp_full=1.0, start_tenure=plan.team.tenure_months)
    r = pl.get("training_retention", 0.7)
    train = feats[feats["ym"] <= cutoff]
    skills = dict(zip(fit.skills["rep_id"], fit.skills["shrunk"])) if len(fit.skills) else {}
    cb = fit.entry("churn_base").estimate
    seats: list[_Seat] = []
    at_cut = train[train["ym"] == cutoff]
    for row in at_cut.itertuples():
        seats.append(_Seat(rep=row.rep_id,
                           book=float(row.active_customers - row.churned_customers
                                      + row.new_customers),
                           tenure=float(row.tenure + 1),
                           stock=float(r * row.stock + (1 - r) * row.training_hours
                                      / REFERENCE_TRAINING_HOURS),
                           skill=float(skills[row.rep_id]) if row.rep_id in skills else None))
    # earlier leavers whose seat nobody has taken yet (FIFO match of hires to leavers)
    span = train.groupby("rep_id")["ym"].agg(["min", "max"])
    first_ym = int(feats["ym"].min())
    leavers = span[span["max"] < cutoff].sort_values("max")
    hires = span[span["min"] > first_ym].sort_values("min")
    open_seats: list[tuple[str, int]] = []
    li = list(leavers.itertuples())
    used: set[str] = set()
    for h in hires.itertuples():
        cand = [lv for lv in li if lv.Index not in used and lv.max < h.min]
        if cand:
            used.add(cand[0].Index)
    last_rows = train.sort_values("ym").groupby("rep_id").tail(1).set_index("rep_id")
    for lv in li:
        if lv.Index in used:
            continue
        row = last_rows.loc[lv.Index]
        months_vacant = cutoff - int(lv.max)
        book = float(row.active_customers - row.churned_customers + row.new_customers)
        seats.append(_Seat(rep=None, book=round(book * (1 - cb) ** months_vacant), state=1,
                           vacated=-months_vacant))
    future = feats[(feats["ym"] > cutoff) & (feats["ym"] <= cutoff + horizon)]
    roster = [set(future.loc[future["ym"] == cutoff + 1 + g, "rep_id"]) for g in range(horizon)]
    known = {s.rep for s in seats if s.rep is not None}
    newcomers = set().union(*roster) - known
    seats += [_Seat(rep=None, book=0.0, state=0) for _ in newcomers]
    levers = []
    last = at_cut if len(at_cut) else train
    for g in range(horizon):
        rows = future[future["ym"] == cutoff + 1 + g]
        src = rows if len(rows) else last  # a month nobody worked: levels do not matter
        levers.append({
            "prospect_visits_per_week": float(src["prospect_visits"].mean()) / WEEKS_PER_MONTH,
            "customer_visits_per_week": float(src["customer_visits"].mean()) / WEEKS_PER_MONTH,
            "training_hours_per_month": float(src["training_hours"].mean()),
            "marketing_events_per_quarter": pl.get("marketing_events_per_quarter", 0.0),
            "csat_surveys_per_year": pl.get("csat_surveys_per_year", 4.0)})
        if len(rows):
            last = rows
    # a newcomer's tenure at their first month (0 unless the file says otherwise)
    info = {}
    for rep in newcomers:
        first = future[future["rep_id"] == rep].sort_values("ym").iloc[0]
        info[rep] = float(first["tenure"]) if bool(first["new_rep"]) else 0.0
    return seats, roster, levers, info


def _actual_rep_month(hist: pd.DataFrame, months: Sequence[int]) -> dict[str, np.ndarray]:
    # not calibrate._team_monthly: its groupby sums round revenue differently in the last bit,
    # which would change the backtest's published numbers
    ym = _ymv(hist)
    out = {k: np.zeros(len(months)) for k in ("revenue", "new", "active", "revisited",
                                              "responses", "satisfied")}
    for g, m in enumerate(months):
        rows = hist[ym == m]
        out["revenue"][g] = rows["revenue"].sum()
        out["new"][g] = rows["new_customers"].sum()
        out["active"][g] = rows["active_customers"].sum()
        out["revisited"][g] = rows["revisited_customers"].sum()
        out["responses"][g] = rows["csat_responses"].sum()
        out["satisfied"][g] = rows["csat_satisfied"].sum()
    return out


def _metric_series(t: Mapping[str, np.ndarray], fmt: str) -> dict[str, np.ndarray]:
    """Team metrics from team totals (works on (months,) and (paths, months) arrays)."""
    with np.errstate(all="ignore"):
        m = {"revenue": np.asarray(t["revenue"], dtype=float),
             "wins" if fmt == "opportunities" else "new_customers":
                 np.asarray(t["new"], dtype=float)}
        if fmt == "rep-month":
            a = np.asarray(t["active"], dtype=float)
            m["revisit_rate"] = np.where(a > 0, t["revisited"] / np.where(a > 0, a, 1), np.nan)
            r = np.asarray(t["responses"], dtype=float)
            m["csat"] = np.where(r > 0, t["satisfied"] / np.where(r > 0, r, 1), np.nan)
    return m


def _opp_setup(opps: pd.DataFrame, fit: FitResult, plan: Plan, cutoff: int, horizon: int,
               by: str) -> tuple[list[_Seat], list[set[str]], list[dict], dict[str, np.ndarray]]:
    panel = opportunities_to_panel(opps, by=by)
    panel["ym"] = _ymv(panel)
    skills = dict(zip(fit.skills["rep_id"], fit.skills["shrunk"])) if len(fit.skills) else {}
    at_cut = sorted(panel.loc[panel["ym"] == cutoff, "rep_id"])
    seats = [_Seat(rep=r, book=0.0, tenure=float(plan.team.tenure_months),
                   skill=float(skills[r]) if r in skills else None) for r in at_cut]
    fut = panel[(panel["ym"] > cutoff) & (panel["ym"] <= cutoff + horizon)]
    roster = [set(fut.loc[fut["ym"] == cutoff + 1 + g, "rep_id"]) for g in range(horizon)]
    newcomers = set().union(*roster) - set(at_cut)
    seats += [_Seat(rep=None, book=0.0, state=0) for _ in newcomers]
    pl = fit.plugins
    effort = crm_effort(panel)
    levers, actual = [], {k: np.zeros(horizon) for k in ("revenue", "new")}
    for g in range(horizon):
        rows = fut[fut["ym"] == cutoff + 1 + g]
        levers.append({"prospect_visits_per_week": float(effort.get(cutoff + 1 + g, 0.0))
                       / WEEKS_PER_MONTH,
                       "customer_visits_per_week": 0.0, "training_hours_per_month": 0.0,
                       "marketing_events_per_quarter": pl.get("marketing_events_per_quarter",
                                                              0.0),
                       "csat_surveys_per_year": 0.0})
        actual["revenue"][g] = rows["revenue"].sum()
        actual["new"][g] = rows["won"].sum()
    return seats, roster, levers, actual


def _trailing(monthly: pd.DataFrame, metric: str) -> np.ndarray:
    col = {"new_customers": "new_customers", "wins": "new_customers"}.get(metric, metric)
    if col not in monthly.columns:
        return np.array([])
    v = monthly[col].to_numpy(dtype=float)
    v = v[np.isfinite(v)]
    return v[-12:]


def backtest(history: pd.DataFrame, cutoff: str, horizon: int = 3, *, fmt: str | None = None,
             plan: Plan | None = None, n_paths: int = 2000, seed: int = 0,
             by: str = "sales_agent", model: Any = None, sampler: str = "mc",
             executor: Any = None) -> BacktestResult:
    """Fit on the history up to and including ``cutoff``, forecast the next ``horizon``
    months with what was recorded for them, and score the forecast against what happened.

    Parameters
    ----------
    history : DataFrame
        From :func:`okma_sim.inference.load_history` (rep-month or opportunity export).
    cutoff : str
        Last month (``YYYY-MM``) the fit sees.
    horizon : int
        Months forecast after the cutoff.
    fmt : {"rep-month", "opportunities"}, optional
        Detected from the columns when omitted.
    plan : Plan, optional
        Priors, working assumptions and the levels of levers the history does not record
        (default: the bundled case study).
    n_paths, seed : int
        Monte Carlo paths and the seed that fixes every draw.
    by : str
        Panel grouping of an opportunity export.
    sampler : {"mc", "lhs", "sobol"}
        Design of the parameter draws.
    executor : concurrent.futures.Executor or dask.distributed.Client, optional
        Runs the backtest there; the result is identical to in-process.

    Returns
    -------
    BacktestResult

    Examples
    --------
    >>> import okma_sim
    >>> from okma_sim.inference import load_history
    >>> h = load_history(okma_sim.data_path("sales_history.csv"))
    >>> bt = backtest(h, "2026-06", 3, n_paths=500, seed=1)
    >>> sorted(bt.coverage)
    ['50', '80', '95']
    """
    kw = dict(fmt=fmt, plan=plan, n_paths=n_paths, seed=seed, by=by, model=model, min_train=1,
              sampler=sampler)
    if executor is None:
        return _backtest_one(history, cutoff, horizon, **kw)
    return executor.submit(_backtest_one, history, cutoff, horizon, **kw).result()


def _backtest_one(history, cutoff, horizon, *, fmt, plan, n_paths, seed, by, model,
                  min_train, sampler="mc") -> BacktestResult:
    from okma_sim._core.paths import case_study_path
    from okma_sim.plan import load_plan
    from okma_sim.models import get_model
    fmt = _fmt_of(history, fmt)
    if plan is None:
        plan = load_plan(case_study_path())
    model = get_model(plan.model) if model is None else model
    c = check_cutoff(history, cutoff, horizon, fmt, min_train)
    fit = fit_history(history, plan, fmt, through=cutoff, by=by, seed=seed, model=model)
    months = [c + 1 + g for g in range(horizon)]
    ss = np.random.SeedSequence(seed)
    s_par, s_sim, s_pit = ss.spawn(3)
    pinned = {"rep_attrition_annual": 0.0,  # the recorded roster says who works
              "marketing_effect": fit.plugins.get("marketing_effect", 0.0)}
    params = _draw_params(fit, n_paths, np.random.default_rng(s_par), pinned, sampler)
    # the fit's notes about the scenario it would write (roster vacancies, a short baseline)
    # do not concern a backtest, which follows the recorded roster
    warn = [w for w in fit.warnings if "vacant in" not in w and "baseline" not in w]
    if fmt == "rep-month":
        seats, roster, levers, info = _rep_month_setup(history, fit, plan, c, horizon)
        actual_t = _actual_rep_month(history, months)
    else:
        seats, roster, levers, actual_t = _opp_setup(history, fit, plan, c, horizon, by)
        info = {}
        actual_t = {**actual_t, "active": np.zeros(horizon)}
    sim_t = _simulate_window(plan, seats, roster, levers, params, _month(c + 1),
                             int(s_sim.generate_state(1)[0]), model, info)
    sim = _metric_series(sim_t, fmt)
    act = _metric_series(actual_t, fmt)
    v_rng = np.random.default_rng(s_pit)
    entries = []
    for metric in sim:
        base = _trailing(fit.monthly, metric)
        for g, m in enumerate(months):
            y = float(act[metric][g])
            v = float(v_rng.random())  # drawn for every metric-month: fixed by the seed
            if not np.isfinite(y):
                continue  # no survey this month, say
            x = sim[metric][:, g]
            x = x[np.isfinite(x)]
            if x.size < max(20, n_paths // 20):
                warn.append(f"{metric} {_month(m)}: only {x.size} of {n_paths} paths have a "
                            "value (e.g. no survey scheduled that month): not compared")
                continue
            q05, q50, q95 = np.quantile(x, [0.05, 0.5, 0.95])
            entries.append({"metric": metric, "month": _month(m), "actual": y,
                            "p05": float(q05), "p50": float(q50), "p95": float(q95),
                            "pit": randomized_pit(x, y, v),
                            "crps": crps_ensemble(x, y),
                            "baseline_crps": crps_ensemble(base, y) if base.size >= 2
                            else math.nan})
    run = BacktestRun(cutoff=cutoff, horizon=horizon, metrics=tuple(entries),
                      warnings=tuple(warn))
    return BacktestResult(runs=(run,), rolling=False, format=fmt, n_paths=n_paths, seed=seed,
                          warnings=tuple(dict.fromkeys(warn)), fit=fit)


def rolling_backtest(history: pd.DataFrame, horizon: int = 3, *, fmt: str | None = None,
                     plan: Plan | None = None, n_paths: int = 2000, seed: int = 0,
                     by: str = "sales_agent", first_cutoff: str | None = None,
                     min_train: int | None = None, model: Any = None,
                     sampler: str = "mc", executor: Any = None) -> BacktestResult:
    """:func:`backtest` at every feasible cutoff, pooled.

    Cutoffs run from the first month that leaves ``min_train`` fitted months (or
    ``first_cutoff``) to the last that leaves ``horizon`` months after it. Run k uses seed
    ``SeedSequence(seed)`` child k, so with an ``executor`` (a concurrent.futures Executor or
    a Dask client) the cutoffs run in parallel and the result is identical to in-process.

    Examples
    --------
    >>> import okma_sim
    >>> from okma_sim.inference import load_history
    >>> h = load_history(okma_sim.data_path("sales_history.csv"))
    >>> bt = rolling_backtest(h, 3, n_paths=300, seed=2, first_cutoff="2026-08")
    >>> [r.cutoff for r in bt.runs]
    ['2026-08', '2026-09']
    """
    fmt = _fmt_of(history, fmt)
    min_train = MIN_TRAIN[fmt] if min_train is None else int(min_train)
    first, last = history_months(history, fmt)
    start = first + min_train - 1
    if first_cutoff is not None:
        start = check_cutoff(history, first_cutoff, horizon, fmt, min_train)
    if start + horizon > last:
        src = history.attrs.get("source")
        raise DataError(f"no feasible cutoff: {last - first + 1} fitted months, {min_train} "
                        f"needed to fit and {horizon} to compare", file=src, key="--horizon",
                        value=horizon)
    cutoffs = list(range(start, last - horizon + 1))
    seeds = np.random.SeedSequence(seed).spawn(len(cutoffs))
    runs, warn = [], []
    calls = [((history, _month(c), horizon),
              dict(fmt=fmt, plan=plan, n_paths=n_paths, seed=int(s.generate_state(1)[0]),
                   by=by, model=model, min_train=min_train, sampler=sampler))
             for c, s in zip(cutoffs, seeds)]
    if executor is None:
        results = [_backtest_one(*a, **k) for a, k in calls]
    else:
        futures = [executor.submit(_backtest_one, *a, **k) for a, k in calls]
        results = [f.result() for f in futures]  # in cutoff order, whatever finished first
    for r in results:
        runs.append(r.runs[0])
        warn += list(r.warnings)
    return BacktestResult(runs=tuple(runs), rolling=True, format=fmt, n_paths=n_paths,
                          seed=seed, warnings=tuple(dict.fromkeys(warn)))
