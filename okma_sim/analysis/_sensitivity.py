"""Sensitivity: which uncertain parameters and which key results drive the outcome.

- :func:`tornado`: each uncertain parameter pinned at its p10, then its p90, on every path, all
  else equal (the same seed: common random numbers); the swing in P(all objectives met) and in
  each objective metric's median.
- :func:`sobol`: first-order and total Sobol' indices of each objective's aggregated metric over
  the uncertain parameters (``scipy.stats.sobol_indices``), plus the share of variance that no
  parameter explains (the model's own month-to-month randomness).
- :func:`kr_importance`: P(objective met | KR met) - P(objective met | KR missed).
- :func:`sensitivity`: all three.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from okma_sim._core.accessors import AccessorSlot
from okma_sim._core.errors import OkmaError
from okma_sim._core.formatting import format_estimate, format_number, format_points
from okma_sim.plan import Plan
from okma_sim.results import Estimate, SimulationResult, mean_stderr

__all__ = ["tornado", "sobol", "kr_importance", "sensitivity", "uncertain_parameters",
           "SobolIndices", "SensitivityResult"]


def uncertain_parameters(plan: Plan, model: Any = None) -> dict[str, Any]:
    """The plan's parameters that are uncertain (not ``fixed`` and with p10 < p90), in the
    model's order: name -> distribution.

    Examples
    --------
    >>> import okma_sim
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> "order_value_cv" in uncertain_parameters(plan)   # fixed in the model's priors
    False
    """
    from okma_sim.engine import resolve_parameters
    from okma_sim.models import get_model
    model = get_model(plan.model) if model is None else model
    out = {}
    for k, d in resolve_parameters(plan, model).items():
        if getattr(d, "dist", None) == "fixed":
            continue
        lo, hi = (float(np.asarray(d.ppf(q))) for q in (0.1, 0.9))
        if hi > lo:
            out[k] = d
    return out


# --------------------------------------------------------------------------------------------
# tornado
# --------------------------------------------------------------------------------------------
def _median(v: np.ndarray) -> float:
    v = np.asarray(v, dtype=float)
    v = v[~np.isnan(v)]
    return float(np.median(v)) if v.size else math.nan


def _swing_row(plan: Plan, r_lo: SimulationResult, r_hi: SimulationResult) -> dict[str, float]:
    """Two runs under one seed (common random numbers), one at each end of a swing:
    p_low, p_high, swing = p_high - p_low, stderr_low, stderr_high, swing_stderr (paired, from
    the per-path differences of the all-met flags), and each objective's
    ``median_low:o``, ``median_high:o``, ``median_swing:o``."""
    f_lo, f_hi = r_lo.all_met_flags(), r_hi.all_met_flags()
    e_lo, e_hi = r_lo.all_met(), r_hi.all_met()
    _, sw_se = mean_stderr(f_hi.astype(float) - f_lo, r_lo.replicate_index)
    row = {"p_low": e_lo.probability, "p_high": e_hi.probability,
           "swing": e_hi.probability - e_lo.probability, "stderr_low": e_lo.stderr,
           "stderr_high": e_hi.stderr, "swing_stderr": sw_se}
    for o in plan.objectives:
        m_lo, m_hi = _median(r_lo.values[o.id]), _median(r_hi.values[o.id])
        row[f"median_low:{o.id}"] = m_lo
        row[f"median_high:{o.id}"] = m_hi
        row[f"median_swing:{o.id}"] = m_hi - m_lo
    return row


def _swing_entry(row: Mapping[str, Any]) -> dict[str, Any]:
    """A tornado row (:func:`_swing_row` plus parameter, low, high) as its JSON entry: the
    numbers as floats, the medians grouped as ``median: {objective: {low, high, swing}}``."""
    e = {k: (row[k] if k == "parameter" else float(row[k]))
         for k in ("parameter", "low", "high", "p_low", "p_high", "swing", "stderr_low",
                   "stderr_high", "swing_stderr")}
    med: dict[str, dict[str, float]] = {}
    for c in row.keys():
        if c.startswith("median_"):
            kind, oid = c.split(":", 1)
            med.setdefault(oid, {})[kind.replace("median_", "")] = float(row[c])
    e["median"] = med
    return e


def tornado(plan: Plan, n_paths: int = 2000, seed: Any = None, *, model: Any = None,
            sampler: str | None = None, parameters: Sequence[str] | None = None,
            quantiles: tuple[float, float] = (0.1, 0.9), executor: Any = None,
            base: SimulationResult | None = None) -> pd.DataFrame:
    """One-at-a-time swings of P(all objectives met) and of each objective metric's median.

    Each uncertain parameter is pinned at its p10 (``low``), then at its p90 (``high``), on
    every path, while the other parameters and all monthly randomness keep their draws (the
    same seed: common random numbers, so the difference is precise). Parameters declared in a
    rank correlation keep their joint draws; only the pinned one moves.

    Parameters
    ----------
    plan : Plan
    n_paths : int
        Paths of each run (two per parameter, plus the base run).
    seed : int, optional
        Default: the plan's, else fresh entropy.
    parameters : sequence of str, optional
        Default: every uncertain parameter (:func:`uncertain_parameters`).
    quantiles : (float, float)
        Where to pin (default p10 and p90).
    base : SimulationResult, optional
        A run of this plan with the same paths and seed, to reuse.

    Returns
    -------
    DataFrame
        One row per parameter, largest absolute swing first: parameter, low, high (the pinned
        values), p_low, p_high with stderr_low, stderr_high, swing = p_high - p_low with
        swing_stderr (paired, from the per-path differences), and for each objective ``o``:
        ``median_low:o``, ``median_high:o``, ``median_swing:o``.

    Examples
    --------
    >>> import okma_sim
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> t = tornado(plan, 300, seed=1, parameters=["csat_base", "base_win_rate"])
    >>> list(t["parameter"]) == sorted(t["parameter"], key=lambda p: -abs(
    ...     t.set_index("parameter").loc[p, "swing"]))
    True
    """
    from okma_sim._core.seeds import normalize_seed
    from okma_sim.engine import simulate
    from okma_sim.models import get_model

    model = get_model(plan.model) if model is None else model
    seed_int = normalize_seed(seed if seed is not None else plan.simulation.seed)
    unc = uncertain_parameters(plan, model)
    if parameters is None:
        names = list(unc)
    else:
        names = list(parameters)
        for k in names:
            if k not in unc:
                raise OkmaError("not an uncertain parameter of this plan", key="parameters",
                                value=k)
        if len(set(names)) != len(names):
            dup = next(k for k in names if names.count(k) > 1)
            raise OkmaError("parameter listed twice", key="parameters", value=dup)
    qlo, qhi = quantiles
    if not 0 < qlo < qhi < 1:
        raise OkmaError("must be two probabilities, low < high", key="quantiles",
                        value=quantiles)
    kw = dict(n_paths=int(n_paths), seed=seed_int, model=model, sampler=sampler,
              executor=executor, keep_monthly=(), progress=False)
    if base is None:
        base = simulate(plan, **kw)
    rows = []
    for k in names:
        d = unc[k]
        lo, hi = float(np.asarray(d.ppf(qlo))), float(np.asarray(d.ppf(qhi)))
        r_lo = simulate(plan, pinned={k: lo}, **kw)
        r_hi = simulate(plan, pinned={k: hi}, **kw)
        rows.append({"parameter": k, "low": lo, "high": hi, **_swing_row(plan, r_lo, r_hi)})
    # the columns even without rows (a plan with no uncertain parameter)
    cols = ["parameter", "low", "high", "p_low", "p_high", "swing", "stderr_low",
            "stderr_high", "swing_stderr"]
    cols += [f"median_{k}:{o.id}" for o in plan.objectives for k in ("low", "high", "swing")]
    df = pd.DataFrame(rows, columns=cols)
    if len(df):
        df = df.iloc[np.argsort(-df["swing"].abs().to_numpy(), kind="stable")]
        df = df.reset_index(drop=True)
    df.attrs["base"] = base.all_met()
    df.attrs["base_medians"] = {o.id: _median(base.values[o.id]) for o in plan.objectives}
    return df


# --------------------------------------------------------------------------------------------
# Sobol' indices
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SobolIndices:
    """Sobol' indices of one objective's aggregated metric.

    ``first[p]`` = Var(E[Y | p]) / Var(Y); ``total[p]`` = E[Var(Y | everything but p)] / Var(Y),
    where "everything" includes the model's monthly randomness, so a total index counts the
    parameter's interactions with that randomness too. ``unexplained`` = E[Var(Y | all
    parameters)] / Var(Y): the share of the variance that the monthly randomness leaves even
    when every parameter is known (1 minus the closed index of all parameters together). The
    first-order indices sum to at most ``1 - unexplained`` (the rest is interactions).
    Standard errors are bootstrap standard errors over the design rows.
    """

    objective: str
    metric: str
    first: Mapping[str, float]
    total: Mapping[str, float]
    unexplained: float
    first_stderr: Mapping[str, float]
    total_stderr: Mapping[str, float]
    unexplained_stderr: float
    variance: float
    n: int
    nan_paths: int = 0

    def to_frame(self) -> pd.DataFrame:
        """One row per parameter: first, first_stderr, total, total_stderr, and the 95%
        intervals first_low, first_high, total_low, total_high (estimate ± 1.96 SE, not
        clipped: an estimate below 0 is sampling noise around a small index, shown as
        estimated)."""
        df = pd.DataFrame({"parameter": list(self.first),
                           "first": list(self.first.values()),
                           "first_stderr": [self.first_stderr[k] for k in self.first],
                           "total": [self.total[k] for k in self.first],
                           "total_stderr": [self.total_stderr[k] for k in self.first]})
        for kind in ("first", "total"):
            df[f"{kind}_low"] = df[kind] - 1.96 * df[f"{kind}_stderr"]
            df[f"{kind}_high"] = df[kind] + 1.96 * df[f"{kind}_stderr"]
        return df

    def to_dict(self) -> dict[str, Any]:
        """The ``sensitivity --json`` entry: :meth:`to_frame`'s columns by parameter (95%
        intervals included), the unexplained share, the metric and its variance."""
        df = self.to_frame().set_index("parameter")
        cols = ("first", "total", "first_stderr", "total_stderr", "first_low", "first_high",
                "total_low", "total_high")
        return {**{c: {k: float(v) for k, v in df[c].items()} for c in cols},
                "unexplained": self.unexplained,
                "unexplained_stderr": self.unexplained_stderr, "metric": self.metric,
                "variance": self.variance, "n": self.n}


def _model_outputs(plan: Plan, model: Any, values: Mapping[str, np.ndarray],
                   entropy: int, key: int) -> dict[str, np.ndarray]:
    """Run the model on given parameter values and aggregate every objective. A fresh
    SeedSequence each call: the same ``key`` gives path j the same monthly draws."""
    from okma_sim.results import aggregate
    ss = np.random.SeedSequence(entropy, spawn_key=(key,))
    anchors = getattr(model, "anchors", None)
    if anchors is not None and anchors(plan):
        # each row anchored to the baseline year as a run's paths are (docs/model.md 11),
        # its baseline-year draws paired by ``key`` like the monthly ones
        values = model.anchor(plan, values, np.random.SeedSequence(entropy, spawn_key=(key, 1)))
    out = model.simulate(plan, values, np.random.default_rng(ss))
    return {o.id: aggregate(out.metrics[o.metric], o.aggregate, o.threshold, o.comparison)
            for o in plan.objectives}


def sobol(plan: Plan, n: int = 512, seed: Any = None, *, model: Any = None,
          parameters: Sequence[str] | None = None, n_resamples: int = 200
          ) -> dict[str, SobolIndices]:
    """First-order and total Sobol' indices of each objective's aggregated metric, with
    ``scipy.stats.sobol_indices`` (Saltelli 2010 first-order, Jansen total estimators).

    Design: two independent parameter matrices A and B (a scrambled Sobol' sequence of
    2 x d columns, mapped through each prior's quantile function) and the d matrices AB_i (A
    with column i from B). The model's monthly randomness is an input that cannot be set, so
    it is handled as one: rows of A and of every AB_i share their monthly draws (one seed,
    the same path index), B has its own, and a third run C repeats A's parameters with fresh
    draws. Then the scipy estimators stay unbiased: first-order indices measure
    Var(E[Y | p]) / Var(Y), total indices E[Var(Y | all but p)] / Var(Y) including the
    parameter's interactions with the monthly randomness, and ``unexplained`` =
    mean((f_A - f_C)^2) / 2 / Var(Y) estimates E[Var(Y | all parameters)] / Var(Y), the
    randomness no parameter explains. Cost: (d + 3) n paths.

    Parameters are treated as independent (a declared rank correlation is ignored here, with
    a warning). An anchored plan's rows are anchored to its baseline year before they run, so
    the anchored parameters' indices measure what is left of them once the baseline is known
    (about nothing for ``order_value``: the baseline fixes the revenue scale). A path whose
    metric is NaN (no data) gets the metric's mean. A lone uncertain parameter's indices are estimated like any other's: they are not 1, since the monthly
    randomness also varies (its share is ``unexplained``).

    Parameters
    ----------
    plan : Plan
    n : int
        Rows of each design matrix; a power of 2.
    seed : int, optional
    parameters : sequence of str, optional
        Default: every uncertain parameter. The others are held at their medians.
    n_resamples : int
        Bootstrap resamples for the standard errors.

    Returns
    -------
    dict of objective id -> SobolIndices

    Examples
    --------
    >>> import okma_sim
    >>> from okma_sim.plan import Objective
    >>> plan = okma_sim.Plan("toy", "2027-01", 12, model="linear_toy",
    ...                      objectives=(Objective("s", "score", 1.0, aggregate="mean"),))
    >>> idx = sobol(plan, 256, seed=1)["s"]
    >>> round(idx.first["bias"] + idx.first["gain"] + idx.unexplained, 1)
    1.0
    """
    from okma_sim._core.seeds import normalize_seed
    from okma_sim.models import get_model

    model = get_model(plan.model) if model is None else model
    n = int(n)
    if n < 4 or n & (n - 1):
        raise OkmaError("must be a power of 2 (at least 4)", key="sobol_n", value=n)
    seed_int = normalize_seed(seed if seed is not None else plan.simulation.seed)
    unc, names = _sobol_parameters(plan, model, parameters)
    if plan.correlations is not None:
        warnings.warn("Sobol' indices assume independent parameters; the declared rank "
                      "correlations are ignored", stacklevel=2)
    # one root: its first child draws the design, the next ones the bootstraps (in turn)
    ss = np.random.SeedSequence(seed_int)
    A, B = _sobol_design(unc, names, n, ss)
    runs = _sobol_runs(plan, model, names, A, B, seed_int)
    return {o.id: _sobol_indices(o, [f[o.id] for f in runs], names, n, int(n_resamples), ss)
            for o in plan.objectives}


def _sobol_parameters(plan: Plan, model: Any, parameters: Sequence[str] | None
                      ) -> tuple[dict[str, Any], list[str]]:
    """The uncertain parameters and the names to analyse (checked)."""
    unc = uncertain_parameters(plan, model)
    names = list(unc) if parameters is None else list(parameters)
    for k in names:
        if k not in unc:
            raise OkmaError("not an uncertain parameter of this plan", key="parameters", value=k)
    if not names:
        raise OkmaError("the plan has no uncertain parameters", key="parameters", value=[])
    return unc, names


def _sobol_design(unc: Mapping[str, Any], names: Sequence[str], n: int,
                  ss: np.random.SeedSequence) -> tuple[np.ndarray, np.ndarray]:
    """The design matrices A and B: a scrambled Sobol' sequence of 2 x d columns through each
    prior's quantile function."""
    from scipy.stats import qmc
    d = len(names)
    u = qmc.Sobol(2 * d, scramble=True, seed=np.random.default_rng(ss.spawn(1)[0])).random(n)
    u = np.clip(u, 1e-12, 1 - 1e-12)
    A = np.column_stack([np.asarray(unc[k].ppf(u[:, i]), float) for i, k in enumerate(names)])
    B = np.column_stack([np.asarray(unc[k].ppf(u[:, d + i]), float)
                         for i, k in enumerate(names)])
    return A, B


_KEY_A, _KEY_B, _KEY_C = 1, 2, 3  # the monthly draws of A (and every AB_i), B and C


def _sobol_runs(plan: Plan, model: Any, names: Sequence[str], A: np.ndarray, B: np.ndarray,
                seed_int: int) -> list[dict[str, np.ndarray]]:
    """The model's objective values on A, B, C (A's parameters, fresh monthly draws) and each
    AB_i, in that order."""
    from okma_sim.engine import resolve_parameters
    dists = resolve_parameters(plan, model)
    n = len(A)
    # the other parameters (fixed, or not analysed) at their medians on every path
    const = {k: float(np.asarray(v.ppf(0.5))) for k, v in dists.items() if k not in names}

    def run(M: np.ndarray, key: int) -> dict[str, np.ndarray]:
        vals = {k: np.full(n, v) for k, v in const.items()}
        vals.update({k: M[:, i] for i, k in enumerate(names)})
        vals = {k: vals[k] for k in dists}  # the model's parameter order
        return _model_outputs(plan, model, vals, seed_int, key)

    out = [run(A, _KEY_A), run(B, _KEY_B), run(A, _KEY_C)]
    for i in range(len(names)):
        M = A.copy()
        M[:, i] = B[:, i]
        out.append(run(M, _KEY_A))  # A's monthly draws: only parameter i differs
    return out


def _sobol_indices(o: Any, ys: Sequence[np.ndarray], names: Sequence[str], n: int,
                   n_resamples: int, ss: np.random.SeedSequence) -> SobolIndices:
    """One objective's indices from its values on A, B, C and the AB_i, with bootstrap
    standard errors (drawn from the next child of ``ss``)."""
    d = len(names)
    ya, yb, yc = ys[:3]
    yab = np.stack(ys[3:])
    allv = np.concatenate([ya, yb, yc, yab.ravel()])
    nan = int(np.isnan(allv).sum())
    fill = float(np.nanmean(allv)) if nan < allv.size else 0.0
    ya, yb, yc, yab = (np.where(np.isnan(a), fill, a) for a in (ya, yb, yc, yab))

    def indices(idx):
        f_ab = yab[:, None, idx]
        if d == 1:
            # scipy squeezes the indices of one output and one parameter to a scalar and then
            # fails assigning into it: give the one page twice, and keep the first index
            f_ab = np.concatenate([f_ab, f_ab])
        r = stats.sobol_indices(func={"f_A": ya[None, idx], "f_B": yb[None, idx],
                                      "f_AB": f_ab}, n=n)
        a, b = ya[idx], yb[idx]
        var = np.var(np.concatenate([a, b]))
        unexpl = 0.5 * np.mean((a - yc[idx]) ** 2) / var if var > 0 else 0.0
        return np.r_[np.atleast_1d(r.first_order)[:d], np.atleast_1d(r.total_order)[:d],
                     unexpl]

    est = indices(np.arange(n))
    boot = stats.bootstrap((np.arange(n),), indices, n_resamples=n_resamples,
                           vectorized=False, method="percentile",
                           rng=np.random.default_rng(ss.spawn(1)[0]))
    se = np.asarray(boot.standard_error, dtype=float)
    return SobolIndices(
        objective=o.id, metric=o.metric,
        first={k: float(est[i]) for i, k in enumerate(names)},
        total={k: float(est[d + i]) for i, k in enumerate(names)},
        unexplained=float(est[2 * d]),
        first_stderr={k: float(se[i]) for i, k in enumerate(names)},
        total_stderr={k: float(se[d + i]) for i, k in enumerate(names)},
        unexplained_stderr=float(se[2 * d]), variance=float(np.var(np.concatenate([ya, yb]))),
        n=n, nan_paths=nan)


# --------------------------------------------------------------------------------------------
# KR importance
# --------------------------------------------------------------------------------------------
def _cond(o: np.ndarray, k: np.ndarray, rep: np.ndarray | None, w: np.ndarray | None
          ) -> tuple[float, float, float, float, float, float]:
    """P(o | k), P(o | not k), their difference and its standard error."""
    o = o.astype(float)
    if w is None:
        w = np.ones(o.size)
    w1, w0 = w * k, w * ~k
    s1, s0 = w1.sum(), w0.sum()
    if s1 == 0 or s0 == 0:
        return math.nan, math.nan, math.nan, math.nan, float(k.mean()), 0.0
    p1, p0 = float((w1 * o).sum() / s1), float((w0 * o).sum() / s0)
    diff = p1 - p0
    if rep is not None:
        # replicate designs: the spread of the replicate differences
        R = int(rep.max()) + 1
        ds = []
        for r in range(R):
            m = rep == r
            a, b = k[m], ~k[m]
            if a.any() and b.any():
                ds.append(o[m][a].mean() - o[m][b].mean())
        se = float(np.std(ds, ddof=1) / math.sqrt(len(ds))) if len(ds) > 1 else math.nan
    else:
        # delta method: the two conditional shares are ratio estimators, one per group, with
        # (for weights) Kish's effective sample sizes
        n1 = s1 ** 2 / (w1 ** 2).sum()
        n0 = s0 ** 2 / (w0 ** 2).sum()
        se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    return p1, p0, diff, se, float((w * k).sum() / w.sum()), 1.0


def kr_importance(result: SimulationResult) -> pd.DataFrame:
    """For each objective and each key result serving it: P(objective met | KR met) -
    P(objective met | KR missed), with its standard error.

    The standard error is the delta-method (two-group) one for plain Monte Carlo,
    ``sqrt(p1 (1 - p1) / n1 + p0 (1 - p0) / n0)`` with the two groups' sizes (Kish effective
    sizes for weighted paths), and the spread of the per-replicate differences for LHS/Sobol.
    NaN when the KR is met on every path or on none.

    Returns
    -------
    DataFrame
        objective, key_result, difference, stderr, p_given_met, p_given_missed, p_kr.

    Examples
    --------
    >>> import okma_sim
    >>> res = okma_sim.simulate(okma_sim.load_plan(okma_sim.case_study_path()), 1000, seed=1)
    >>> list(kr_importance(res).columns)[:4]
    ['objective', 'key_result', 'difference', 'stderr']
    """
    rows = []
    w = None if result.weights is None else np.asarray(result.weights, dtype=float)
    for o in result.plan.objectives:
        om = result.met(o.id)
        for k in result.plan.key_results:
            if o.id not in k.objective:
                continue
            p1, p0, diff, se, pk, _ = _cond(om, result.met(k.id), result.replicate_index, w)
            rows.append({"objective": o.id, "key_result": k.id, "difference": diff,
                         "stderr": se, "p_given_met": p1, "p_given_missed": p0, "p_kr": pk})
    return pd.DataFrame(rows, columns=["objective", "key_result", "difference", "stderr",
                                       "p_given_met", "p_given_missed", "p_kr"])


def _interval(row: Mapping[str, float], kind: str) -> str:
    return f"[{_pct(row[f'{kind}_low'], 1)}, {_pct(row[f'{kind}_high'], 1)}]"


def _pct(x: float, digits: int = 0) -> str:
    """A share in % (negative estimates as estimated)."""
    return f"{100 * x:.{digits}f}%"


# --------------------------------------------------------------------------------------------
# all together
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SensitivityResult:
    """Tornado, Sobol' indices and KR importance of one plan (see :func:`sensitivity`)."""

    tornado: pd.DataFrame
    sobol: Mapping[str, SobolIndices]
    kr_importance: pd.DataFrame
    base: Estimate
    n_paths: int
    sobol_n: int
    seed: int
    warnings: tuple[str, ...] = ()

    def to_json_dict(self) -> dict[str, Any]:
        """The ``sensitivity --json`` document (without the common CLI keys)."""
        torn = [_swing_entry(r) for _, r in self.tornado.iterrows()]
        return {"tornado": torn,
                "sobol": {k: v.to_dict() for k, v in self.sobol.items()},
                "kr_importance": [
                    {k: (r[k] if k in ("objective", "key_result") else float(r[k]))
                     for k in self.kr_importance.columns}
                    for _, r in self.kr_importance.iterrows()],
                "all_met": self.base.to_dict(), "sobol_n": self.sobol_n}

    def table(self) -> str:
        """Readable summary: chances in %, changes in percentage points with their paired
        standard errors, variance shares in %."""
        b = self.base
        lines = [f"Chance all objectives are met: {format_estimate(b.probability, b.stderr)} "
                 f"({self.n_paths:,} simulated runs in each run below, seed {self.seed})", "",
                 "What moves the chance (tornado): each uncertain parameter pinned at its 10th, "
                 "then its 90th percentile, the others as drawn, on the same simulated runs",
                 f"  {'parameter':<24}{'at p10':>11}{'at p90':>11}{'chance':>9}{'chance':>9}"
                 f"{'change':>22}",
                 f"  {'':<24}{'':>11}{'':>11}{'at p10':>9}{'at p90':>9}"]
        for _, r in self.tornado.iterrows():
            lines.append(f"  {r['parameter']:<24}{format_number(r['low']):>11}"
                         f"{format_number(r['high']):>11}{_pct(r['p_low'], 1):>9}"
                         f"{_pct(r['p_high'], 1):>9}"
                         f"{format_points(r['swing'], r['swing_stderr']):>22}")
        for oid, s in self.sobol.items():
            lines += ["", f"What makes {oid} uncertain (Sobol' indices of {s.metric}, n = {s.n}): "
                          "the share of its variance each parameter explains alone and with "
                          "its interactions; the monthly ups and downs leave "
                          f"{_pct(s.unexplained)} ± {_pct(s.unexplained_stderr)} unexplained",
                      f"  {'parameter':<24}{'alone':>8}{'95% interval':>18}{'in all':>8}"
                      f"{'95% interval':>18}"]
            f = s.to_frame().set_index("parameter")
            for k in sorted(s.first, key=lambda k: -s.total[k]):
                r = f.loc[k]
                lines.append(f"  {k:<24}{_pct(r['first'], 1):>8}{_interval(r, 'first'):>18}"
                             f"{_pct(r['total'], 1):>8}{_interval(r, 'total'):>18}")
            if (f[["first", "total"]] < 0).any().any():
                lines.append("  (a share below 0 is shown as estimated: sampling noise around "
                             "a small share; its interval says how small)")
        lines += ["", "How much each key result matters: the objective's chance when the key "
                      "result is met minus when it is missed"]
        for _, r in self.kr_importance.iterrows():
            lines.append(f"  {r['objective']:<12}{r['key_result']:<22}"
                         f"{format_points(r['difference'], r['stderr']):>22}")
        for w in self.warnings:
            lines.append(f"warning: {w}")
        return "\n".join(lines)

    #: ``plot.tornado()`` (and ``plot()``): filled from above by okma_sim.viz
    plot = AccessorSlot("plot")

    def plot_tornado(self, ax=None, *, top: int | None = 12):
        """The tornado chart (bars from P at p10 to P at p90 around the base probability,
        largest swing on top); alias of ``self.plot.tornado``."""
        return self.plot.tornado(ax=ax, top=top)


def sensitivity(plan: Plan, n_paths: int = 2000, seed: Any = None, *, model: Any = None,
                sampler: str | None = None, sobol_n: int = 512, tornado_parameters:
                Sequence[str] | None = None, executor: Any = None) -> SensitivityResult:
    """Tornado, Sobol' indices and KR importance of a plan, under one seed.

    Parameters
    ----------
    plan : Plan
    n_paths : int
        Paths of the base run (KR importance) and of each tornado run.
    seed : int, optional
    sobol_n : int
        Rows of each Sobol' design matrix (a power of 2; 0 skips the Sobol' indices).
    tornado_parameters : sequence of str, optional

    Examples
    --------
    >>> import okma_sim
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> s = sensitivity(plan, 300, seed=1, sobol_n=0, tornado_parameters=["csat_base"])
    >>> list(s.to_json_dict())[:3]
    ['tornado', 'sobol', 'kr_importance']
    """
    from okma_sim._core.seeds import normalize_seed
    from okma_sim.engine import simulate
    from okma_sim.models import get_model

    model = get_model(plan.model) if model is None else model
    seed_int = normalize_seed(seed if seed is not None else plan.simulation.seed)
    base = simulate(plan, n_paths=int(n_paths), seed=seed_int, model=model, sampler=sampler,
                    executor=executor, progress=False)
    torn = tornado(plan, n_paths, seed_int, model=model, sampler=sampler,
                   parameters=tornado_parameters, executor=executor, base=base)
    warns = list(base.warnings)
    sob: dict[str, SobolIndices] = {}
    if sobol_n and not uncertain_parameters(plan, model):
        warns.append("the scenario has no uncertain parameter (each is fixed): no Sobol' "
                     "indices")
    elif sobol_n:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sob = sobol(plan, sobol_n, seed_int, model=model)
        warns += [str(w.message) for w in caught]
        for s in sob.values():
            if s.nan_paths:
                warns.append(f"Sobol' indices of {s.objective}: {s.nan_paths} model runs had "
                             f"no value of {s.metric}; they were given its mean")
    return SensitivityResult(tornado=torn, sobol=sob, kr_importance=kr_importance(base),
                             base=base.all_met(), n_paths=int(n_paths), sobol_n=int(sobol_n),
                             seed=seed_int, warnings=tuple(warns))
