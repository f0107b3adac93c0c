"""The engine: runs a model for a plan, in fixed seed blocks of paths.

Paths are grouped in blocks of :data:`BLOCK_SIZE`. Block k always draws from child k of
``SeedSequence(seed)``, whatever the chunking, the number of workers or the executor; chunks
are whole numbers of blocks, and their summaries merge in block order. So one seed gives
identical results in-process, chunked, or on a Dask cluster.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ._errors import OkmaError, PlanError
from .params import as_distribution
from .plan import Plan
from .sampling import ParameterDesign, nearest_correlation

__all__ = ["BLOCK_SIZE", "simulate", "aggregate", "resolve_parameters", "normalize_seed",
           "RunSpec"]

#: paths per seed block (a documented constant: results depend on it)
BLOCK_SIZE = 4096


def normalize_seed(seed: Any = None, rng: np.random.Generator | None = None) -> int:
    """An int seed from ``seed`` (int, SeedSequence or None) or ``rng``; None draws fresh
    entropy, so every result can report the seed that reproduces it."""
    if seed is not None and rng is not None:
        raise ValueError("pass seed or rng, not both")
    if rng is not None:
        return int(rng.integers(0, 2**63 - 1))
    if seed is None:
        return int(np.random.SeedSequence().entropy % (2**63 - 1))
    if isinstance(seed, np.random.SeedSequence):
        if seed.spawn_key:
            raise ValueError("pass a root SeedSequence (no spawn_key) or an int seed")
        return int(seed.entropy)
    if isinstance(seed, (bool, float)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"'seed' must be a non-negative int or a SeedSequence, got {seed!r}")
    return int(seed)


def resolve_parameters(plan: Plan, model: Any) -> dict[str, Any]:
    """Model priors overridden by the plan's ``[parameters]``: name -> distribution."""
    out = {k: as_distribution(v, f"parameters.{k}") for k, v in model.parameters.items()}
    for k, v in plan.parameters.items():
        if k in out:
            out[k] = v
    return out


def aggregate(values: np.ndarray, how: str, threshold: float | None = None,
              comparison: str = ">=") -> np.ndarray:
    """Aggregate monthly values (paths, months) over the months.

    ``final``, ``mean``, ``sum``, ``min``, ``max`` skip NaN months (a month with no data);
    ``share_of_months`` is the share of months whose value meets ``threshold``.

    Examples
    --------
    >>> import numpy as np
    >>> aggregate(np.array([[1.0, 3.0, np.nan]]), "mean")
    array([2.])
    >>> aggregate(np.array([[0.7, 0.9, 0.8]]), "share_of_months", 0.8)
    array([0.66666667])
    """
    v = np.asarray(values, dtype=float)
    with np.errstate(all="ignore"), _quiet():
        if how == "final":
            # last non-NaN month
            ok = ~np.isnan(v)
            idx = v.shape[1] - 1 - np.argmax(ok[:, ::-1], axis=1)
            out = v[np.arange(v.shape[0]), idx]
            return np.where(ok.any(1), out, np.nan)
        if how == "mean":
            return np.nanmean(v, axis=1)
        if how == "sum":
            return np.where(np.isnan(v).all(1), np.nan, np.nansum(v, axis=1))
        if how == "min":
            return np.nanmin(v, axis=1)
        if how == "max":
            return np.nanmax(v, axis=1)
        if how == "share_of_months":
            hit = v >= threshold if comparison == ">=" else v <= threshold
            n = (~np.isnan(v)).sum(1)
            return np.where(n > 0, (hit & ~np.isnan(v)).sum(1) / np.maximum(n, 1), np.nan)
    raise ValueError(f"unknown aggregate {how!r}")


class _quiet:
    def __enter__(self):
        import warnings
        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        self._w.__exit__(*exc)


@dataclass
class RunSpec:
    """Everything a worker needs to run some blocks (picklable)."""

    plan: Plan
    model: Any
    entropy: int
    param_names: tuple[str, ...]
    dists: dict[str, Any]
    pinned: dict[str, float]
    keep_monthly: tuple[str, ...]
    record_reps: bool
    sampler: str
    replicates: int
    n_paths: int
    corr: Any
    corr_names: tuple[str, ...]
    initial_state: Any = None
    observed: Mapping[str, np.ndarray] | None = None
    path_offset: int = 0  # initial_state rows of this run start here


def _block_sizes(n: int) -> list[int]:
    full, rest = divmod(n, BLOCK_SIZE)
    return [BLOCK_SIZE] * full + ([rest] if rest else [])


def _run_block(spec: RunSpec, k: int, size: int, u: np.ndarray | None) -> dict:
    """Simulate block k: draw its parameters, run the model, aggregate."""
    root = np.random.SeedSequence(spec.entropy)
    block_ss = np.random.SeedSequence(root.entropy, spawn_key=(k,))
    param_ss, model_ss = block_ss.spawn(2)
    design = ParameterDesign(spec.param_names, spec.n_paths, root, spec.sampler,
                             spec.replicates, spec.corr, spec.corr_names, BLOCK_SIZE)
    if u is None:
        u = design.uniforms(k, np.random.default_rng(param_ss), size)
    params = {}
    for i, name in enumerate(spec.param_names):
        if name in spec.pinned:
            params[name] = np.full(size, float(spec.pinned[name]))
        else:
            params[name] = np.asarray(spec.dists[name].ppf(u[:, i]), dtype=float)
    state = None
    if spec.initial_state is not None:
        start = k * BLOCK_SIZE
        state = spec.initial_state.select(np.arange(start, start + size))
    kwargs = {"record_reps": True} if spec.record_reps else {}
    out = spec.model.simulate(spec.plan, params, np.random.default_rng(model_ss),
                              initial_state=state, **kwargs)
    metrics = out.metrics
    if spec.observed:
        metrics = _prepend(metrics, spec.observed, size)
    values = {}
    for t in spec.plan.targets:
        if t.metric not in metrics:
            raise PlanError(f"the model '{spec.model.name}' did not produce this metric",
                            key=f"{t.id}.metric", value=t.metric)
        values[t.id] = aggregate(metrics[t.metric], t.aggregate, t.threshold, t.comparison)
    monthly = {m: np.asarray(metrics[m], dtype=np.float32) for m in spec.keep_monthly
               if m in metrics}
    return {"k": k, "values": values, "monthly": monthly,
            "params": np.column_stack([params[nm] for nm in spec.param_names])
            if spec.param_names else np.zeros((size, 0)),
            "diagnostics": dict(out.diagnostics),
            "per_rep": out.per_rep if spec.record_reps else None,
            "state": out.state if spec.record_reps else None}


def _prepend(metrics: Mapping[str, np.ndarray], observed: Mapping[str, np.ndarray],
             n: int) -> dict[str, np.ndarray]:
    out = {}
    for k, v in metrics.items():
        if k in observed:
            obs = np.broadcast_to(np.asarray(observed[k], dtype=float), (n, len(observed[k])))
            out[k] = np.concatenate([obs, v], axis=1)
        else:
            out[k] = v
    return out


def _run_chunk(spec: RunSpec, blocks: Sequence[tuple[int, int]],
               us: Sequence[np.ndarray | None]) -> list[dict]:
    return [_run_block(spec, k, size, u) for (k, size), u in zip(blocks, us)]


def simulate(plan: Plan, n_paths: int | None = None, seed: Any = None, *,
             rng: np.random.Generator | None = None, model: Any = None,
             sampler: str | None = None, replicates: int | None = None,
             chunk_size: int | None = None, executor: Any = None,
             progress: bool | None = None, keep_monthly: Iterable[str] | str | None = None,
             record_reps: bool = False, pinned: Mapping[str, float] | None = None,
             initial_state: Any = None, observed: Mapping[str, Sequence[float]] | None = None,
             tolerance: float | None = None, max_paths: int | None = None):
    """Simulate a plan by Monte Carlo and evaluate its objectives and key results.

    Parameters
    ----------
    plan : Plan
        From :func:`okma_sim.load_plan` (or built in Python).
    n_paths : int, optional
        Number of paths (default: the plan's ``simulation.paths``, else 10,000).
    seed : int or numpy.random.SeedSequence, optional
        Fixes every draw; None draws fresh entropy (reported in ``result.seed``).
    rng : numpy.random.Generator, optional
        Alternative to ``seed``: an int seed is drawn from it.
    model : Model, optional
        Default: the model the plan names (the built-in SalesTeamModel).
    sampler : {"mc", "lhs", "sobol"}, optional
        How per-path parameter values are drawn (default: the plan's, else ``mc``).
    replicates : int, optional
        Independent randomised designs for ``lhs``/``sobol`` standard errors (default 16).
    chunk_size : int, optional
        Paths per unit of work, rounded up to whole blocks. Never changes results.
    executor : concurrent.futures.Executor or dask.distributed.Client, optional
        Runs chunks in parallel; results are identical to in-process.
    progress : bool, optional
        Show a tqdm bar (default: for runs of 16 blocks or more, on a terminal).
    keep_monthly : iterable of str, "all" or None
        Metrics whose per-path, per-month values are kept as float32 for bands and fan charts
        (default: every metric an objective or key result uses, plus revenue).
    record_reps : bool
        Keep per-rep history columns and final states (memory heavy; for generators and
        reviews).
    pinned : mapping, optional
        Parameters held at a fixed value on every path (tornado swings).
    initial_state, observed :
        Resume from a model state; ``observed`` metric values for the months already done are
        prepended before aggregating (mid-period review).
    tolerance : float, optional
        Adaptive stopping: add paths until the 95% half-width of P(all objectives met) is at
        most ``tolerance`` (or ``max_paths`` is reached). ``n_paths`` is then the first batch.
    max_paths : int, optional
        Cap for adaptive stopping (default 1,000,000).

    Returns
    -------
    SimulationResult

    Examples
    --------
    >>> import okma_sim
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> res = okma_sim.simulate(plan, n_paths=2000, seed=1)
    >>> p = res.all_met()
    >>> 0 <= p.probability <= 1 and p.stderr > 0
    True
    """
    from .models import get_model
    from .results import SimulationResult

    if not isinstance(plan, Plan):
        raise TypeError(f"'plan' must be a Plan, got {type(plan).__name__}")
    model = get_model(plan.model) if model is None else model
    if n_paths is None:
        n_paths = plan.simulation.paths or 10_000
    if isinstance(n_paths, bool) or not isinstance(n_paths, (int, np.integer)) or n_paths < 1:
        raise OkmaError("must be a positive whole number", key="paths", value=n_paths)
    n_paths = int(n_paths)
    seed_int = normalize_seed(seed, rng)
    sampler = sampler or plan.simulation.sampler
    replicates = int(replicates or plan.simulation.replicates)

    if tolerance is not None:
        from .convergence import simulate_adaptive
        return simulate_adaptive(plan, tolerance=tolerance, first=n_paths, seed=seed_int,
                                 max_paths=max_paths or 1_000_000, model=model,
                                 sampler=sampler, replicates=replicates, executor=executor,
                                 keep_monthly=keep_monthly, pinned=pinned, progress=progress)

    t0 = time.perf_counter()
    dists = resolve_parameters(plan, model)
    names = tuple(dists)
    warn: list[str] = []
    corr, corr_names = None, ()
    if plan.correlations is not None:
        corr, repaired = nearest_correlation(np.array(plan.correlations.matrix, dtype=float))
        corr_names = tuple(plan.correlations.parameters)
        if repaired:
            warn.append("correlation matrix repaired: it was not positive definite; the "
                        "nearest one was used")
    if keep_monthly is None:
        keep = tuple(dict.fromkeys([t.metric for t in plan.targets] + ["revenue"]))
    elif keep_monthly == "all":
        keep = tuple(model.metrics)
    else:
        keep = tuple(keep_monthly)
    pinned = dict(pinned or {})
    for k in pinned:
        if k not in dists:
            raise OkmaError("unknown parameter", key="pinned", value=k)
    obs = None if observed is None else {k: np.asarray(v, dtype=float)
                                         for k, v in observed.items()}
    spec = RunSpec(plan=plan, model=model, entropy=seed_int, param_names=names, dists=dists,
                   pinned=pinned, keep_monthly=keep, record_reps=record_reps, sampler=sampler,
                   replicates=replicates, n_paths=n_paths, corr=corr, corr_names=corr_names,
                   initial_state=initial_state, observed=obs)
    design = ParameterDesign(names, n_paths, np.random.SeedSequence(seed_int), sampler,
                             replicates, corr, corr_names, BLOCK_SIZE)
    sizes = _block_sizes(n_paths)
    blocks = list(enumerate(sizes))
    per_chunk = max(1, math.ceil((chunk_size or BLOCK_SIZE * 4) / BLOCK_SIZE))
    chunks = [blocks[i:i + per_chunk] for i in range(0, len(blocks), per_chunk)]

    def slices(chunk):
        if sampler == "mc":
            return [None] * len(chunk)
        return [design.uniforms(k, None, size) for k, size in chunk]

    show = progress if progress is not None else (len(blocks) >= 16 and sys.stderr.isatty())
    bar = None
    if show:
        from tqdm.auto import tqdm
        bar = tqdm(total=n_paths, unit="path", desc=f"simulating {plan.name}", leave=False)
    parts: list[dict] = []
    try:
        if executor is None:
            for chunk in chunks:
                parts.extend(_run_chunk(spec, chunk, slices(chunk)))
                if bar is not None:
                    bar.update(sum(s for _, s in chunk))
        else:
            futures = [executor.submit(_run_chunk, spec, chunk, slices(chunk))
                       for chunk in chunks]
            for chunk, fut in zip(chunks, futures):
                parts.extend(fut.result())
                if bar is not None:
                    bar.update(sum(s for _, s in chunk))
    finally:
        if bar is not None:
            bar.close()
    parts.sort(key=lambda d: d["k"])  # merge in block order, whatever finished first
    return SimulationResult._from_parts(
        plan=plan, model=model, parts=parts, n_paths=n_paths, seed=seed_int, sampler=sampler,
        replicate_index=design.replicate_index(), param_names=names, warnings=warn,
        elapsed=time.perf_counter() - t0, pinned=pinned)
