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

from okma_sim._core.errors import OkmaError, PlanError
from okma_sim._core.seeds import BLOCK_SIZE, normalize_seed
from okma_sim.params import Distribution, as_distribution
from okma_sim.plan import Plan
from okma_sim.results import aggregate
from ._designs import ParameterDesign, nearest_correlation

__all__ = ["simulate", "resolve_parameters", "RunSpec", "draw_parameters"]


def resolve_parameters(plan: Plan, model: Any) -> dict[str, Any]:
    """Model priors overridden by the plan's ``[parameters]``: name -> distribution."""
    out = {k: as_distribution(v, f"parameters.{k}") for k, v in model.parameters.items()}
    for k, v in plan.parameters.items():
        if k in out:
            out[k] = v
    return out


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
    # per-path parameter values replacing the draws (n_paths rows; e.g. a review's posterior)
    parameter_values: Mapping[str, np.ndarray] | None = None

    def __getstate__(self) -> dict:
        # scipy's frozen distributions (the per-process _ppf cache) pickle to ~100 kB: a
        # worker builds its own
        return {k: v for k, v in self.__dict__.items() if k != "_ppf_cache"}


def _block_sizes(n: int) -> list[int]:
    full, rest = divmod(n, BLOCK_SIZE)
    return [BLOCK_SIZE] * full + ([rest] if rest else [])


class _LRU:
    """A small thread-safe least-recently-used cache of parameter draws (about 32 blocks of
    20 parameters: 20 MB at most)."""

    def __init__(self, max_items: int) -> None:
        import collections
        import threading
        self._d: "collections.OrderedDict[Any, np.ndarray]" = collections.OrderedDict()
        self._lock = threading.Lock()
        self.max_items = max_items

    def get(self, key: Any) -> np.ndarray | None:
        with self._lock:
            v = self._d.get(key)
            if v is not None:
                self._d.move_to_end(key)
            return v

    def put(self, key: Any, value: np.ndarray) -> None:
        with self._lock:
            self._d[key] = value
            self._d.move_to_end(key)
            while len(self._d) > self.max_items:
                self._d.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._d.clear()


_PARAM_CACHE = _LRU(640)


def _ppf(spec: RunSpec, name: str):
    """The quantile function of a parameter, with scipy's frozen distribution built once per
    run and process (building one costs about a millisecond: 20 of them per block add up)."""
    fns = spec.__dict__.setdefault("_ppf_cache", {})  # not a field: eq and repr ignore it
    fn = fns.get(name)
    if fn is None:
        d = spec.dists[name]
        frozen = d.frozen() if isinstance(d, Distribution) else None
        fn = fns[name] = d.ppf if frozen is None else frozen.ppf
    return fn


def _block_params(spec: RunSpec, k: int, size: int, u: np.ndarray | None
                  ) -> tuple[dict[str, np.ndarray], np.random.SeedSequence]:
    """Block k's parameter draws, and the seed of its model streams."""
    root = np.random.SeedSequence(spec.entropy)
    block_ss = np.random.SeedSequence(root.entropy, spawn_key=(k,))
    param_ss, model_ss = block_ss.spawn(2)
    design = ParameterDesign(spec.param_names, spec.n_paths, root, spec.sampler,
                             spec.replicates, spec.corr, spec.corr_names, BLOCK_SIZE)
    # plain Monte Carlo draws of a block depend only on these: cache their quantiles (an
    # interactive refresh or a solver step reruns one seed with other levers)
    base = (spec.entropy, k, size, spec.param_names, spec.corr_names,
            None if spec.corr is None else np.asarray(spec.corr, dtype=float).tobytes()) \
        if u is None and spec.sampler == "mc" else None
    if u is None:
        u = design.uniforms(k, np.random.default_rng(param_ss), size)
    params = {}
    for i, name in enumerate(spec.param_names):
        if name in spec.pinned:
            params[name] = np.full(size, float(spec.pinned[name]))
            continue
        d = spec.dists[name]
        key = None if base is None or not isinstance(d, Distribution) else \
            (base, name, d.dist, tuple(sorted(d.args.items())))
        v = _PARAM_CACHE.get(key) if key is not None else None
        if v is None:
            v = np.asarray(_ppf(spec, name)(u[:, i]), dtype=float)
            if key is not None:
                _PARAM_CACHE.put(key, v)
        params[name] = v.copy()  # the model may write into its inputs; the cache stays
    if spec.parameter_values:
        start = k * BLOCK_SIZE
        for name, v in spec.parameter_values.items():
            params[name] = np.asarray(v[start:start + size], dtype=float)
    return params, model_ss


def _run_block(spec: RunSpec, k: int, size: int, u: np.ndarray | None) -> dict:
    """Simulate block k: draw its parameters, run the model, aggregate."""
    params, model_ss = _block_params(spec, k, size, u)
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


class _Merger:
    """Collects block results into one part with whole-run arrays, written in place as blocks
    arrive, so that a run holds a single copy of its per-path values (1M paths of the case
    study fit in well under 1 GiB). Diagnostics are summed in block order, as a list of parts
    would be. Blocks with per-rep records (or keys this merger does not know) are kept as a
    list of parts instead."""

    _KNOWN = frozenset({"k", "values", "monthly", "params", "diagnostics", "per_rep", "state"})

    def __init__(self, n_paths: int) -> None:
        self.n = n_paths
        self.merged: dict | None = None
        self.diags: dict[int, Mapping[str, float]] = {}
        self.listed: list[dict] = []

    def add(self, part: dict) -> None:
        if self.listed or part.get("per_rep") is not None or not set(part) <= self._KNOWN:
            if self.merged is not None:
                raise RuntimeError("blocks of one run differ in structure")
            self.listed.append(part)
            return
        k = part["k"]
        lo = k * BLOCK_SIZE
        hi = lo + len(part["params"])
        if self.merged is None:
            def whole(a):
                return np.empty((self.n,) + np.shape(a)[1:], dtype=np.asarray(a).dtype)
            self.merged = {"k": 0, "values": {i: whole(v) for i, v in part["values"].items()},
                           "monthly": {m: whole(v) for m, v in part["monthly"].items()},
                           "params": whole(part["params"]), "per_rep": None, "state": None}
        m = self.merged
        for i, v in part["values"].items():
            m["values"][i][lo:hi] = v
        for name, v in part["monthly"].items():
            m["monthly"][name][lo:hi] = v
        m["params"][lo:hi] = part["params"]
        self.diags[k] = part["diagnostics"]

    def parts(self) -> list[dict]:
        if self.merged is None:
            self.listed.sort(key=lambda d: d["k"])  # merge in block order
            return self.listed
        diag: dict[str, float] = {}
        for k in sorted(self.diags):
            for name, v in self.diags[k].items():
                diag[name] = diag.get(name, 0.0) + float(v)
        self.merged["diagnostics"] = diag
        return [self.merged]


def _check_paths(n_paths: Any) -> int:
    if isinstance(n_paths, bool) or not isinstance(n_paths, (int, np.integer)) or n_paths < 1:
        raise OkmaError("must be a positive whole number", key="paths", value=n_paths)
    return int(n_paths)


def _parameter_setup(plan: Plan, model: Any, pinned: Mapping[str, float] | None):
    """What :func:`simulate` and :func:`draw_parameters` both need to draw parameters: the
    resolved priors and their names, the (repaired) correlation matrix, the checked pins, and
    warnings."""
    dists = resolve_parameters(plan, model)
    warn: list[str] = []
    corr, corr_names = None, ()
    if plan.correlations is not None:
        corr, repaired = nearest_correlation(np.array(plan.correlations.matrix, dtype=float))
        corr_names = tuple(plan.correlations.parameters)
        if repaired:
            warn.append("correlation matrix repaired: it was not positive definite; the "
                        "nearest one was used")
    pinned = dict(pinned or {})
    for k in pinned:
        if k not in dists:
            raise OkmaError("unknown parameter", key="pinned", value=k)
    return dists, tuple(dists), corr, corr_names, pinned, warn


def simulate(plan: Plan, n_paths: int | None = None, seed: Any = None, *,
             rng: np.random.Generator | None = None, model: Any = None,
             sampler: str | None = None, replicates: int | None = None,
             chunk_size: int | None = None, executor: Any = None,
             progress: bool | None = None, keep_monthly: Iterable[str] | str | None = None,
             record_reps: bool = False, pinned: Mapping[str, float] | None = None,
             initial_state: Any = None, observed: Mapping[str, Sequence[float]] | None = None,
             tolerance: float | None = None, max_paths: int | None = None,
             parameter_values: Mapping[str, Sequence[float]] | None = None):
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
    parameter_values : mapping of name -> array (n_paths,), optional
        Per-path parameter values that replace the drawn ones (for example a review's
        posterior draws); ``result.params`` then shows them.
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
    from okma_sim.models import get_model
    from okma_sim.results import SimulationResult

    if not isinstance(plan, Plan):
        raise TypeError(f"'plan' must be a Plan, got {type(plan).__name__}")
    model = get_model(plan.model) if model is None else model
    if n_paths is None:
        n_paths = plan.simulation.paths or 10_000
    n_paths = _check_paths(n_paths)
    seed_int = normalize_seed(seed, rng)
    sampler = sampler or plan.simulation.sampler
    replicates = int(replicates or plan.simulation.replicates)

    if tolerance is not None:
        from ._adaptive import simulate_adaptive
        return simulate_adaptive(plan, tolerance=tolerance, first=n_paths, seed=seed_int,
                                 max_paths=max_paths or 1_000_000, model=model,
                                 sampler=sampler, replicates=replicates, executor=executor,
                                 keep_monthly=keep_monthly, pinned=pinned, progress=progress)

    t0 = time.perf_counter()
    dists, names, corr, corr_names, pinned, warn = _parameter_setup(plan, model, pinned)
    if keep_monthly is None:
        keep = tuple(dict.fromkeys([t.metric for t in plan.targets] + ["revenue"]))
    elif keep_monthly == "all":
        keep = tuple(model.metrics)
    else:
        keep = tuple(keep_monthly)
    obs = None if observed is None else {k: np.asarray(v, dtype=float)
                                         for k, v in observed.items()}
    pvals = None
    if parameter_values is not None:
        pvals = {}
        for k, v in parameter_values.items():
            if k not in dists:
                raise OkmaError("unknown parameter", key="parameter_values", value=k)
            a = np.asarray(v, dtype=float)
            if a.shape != (n_paths,):
                raise OkmaError(f"must have one value per path ({n_paths})",
                                key=f"parameter_values.{k}", value=a.shape)
            pvals[k] = a
    spec = RunSpec(plan=plan, model=model, entropy=seed_int, param_names=names, dists=dists,
                   pinned=pinned, keep_monthly=keep, record_reps=record_reps, sampler=sampler,
                   replicates=replicates, n_paths=n_paths, corr=corr, corr_names=corr_names,
                   initial_state=initial_state, observed=obs, parameter_values=pvals)
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
    merger = _Merger(n_paths)
    try:
        if executor is None:
            for chunk in chunks:
                for part in _run_chunk(spec, chunk, slices(chunk)):
                    merger.add(part)
                if bar is not None:
                    bar.update(sum(s for _, s in chunk))
        else:
            futures = [executor.submit(_run_chunk, spec, chunk, slices(chunk))
                       for chunk in chunks]
            for i, chunk in enumerate(chunks):
                for part in futures[i].result():
                    merger.add(part)
                futures[i] = None  # let the cluster free the chunk's result
                if bar is not None:
                    bar.update(sum(s for _, s in chunk))
    finally:
        if bar is not None:
            bar.close()
    parts = merger.parts()
    return SimulationResult._from_parts(
        plan=plan, model=model, parts=parts, n_paths=n_paths, seed=seed_int, sampler=sampler,
        replicate_index=design.replicate_index(), param_names=names, warnings=warn,
        elapsed=time.perf_counter() - t0, pinned=pinned)


def draw_parameters(plan: Plan, n_paths: int, seed: Any, *, model: Any = None,
                    sampler: str | None = None, replicates: int | None = None,
                    pinned: Mapping[str, float] | None = None):
    """The parameter values :func:`simulate` draws for each path, without running the model.

    Same seed, paths, sampler and pins give exactly ``simulate(...).params`` (the same blocks
    and designs), so an analysis can work on the draws before a run (a review's reweighting).
    Inputs are checked as ``simulate`` checks them; its warnings (a repaired correlation
    matrix) are in ``.attrs["warnings"]``.

    Examples
    --------
    >>> import okma_sim
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> draw_parameters(plan, 10, 1).shape[0]
    10
    """
    import pandas as pd
    from okma_sim.models import get_model

    model = get_model(plan.model) if model is None else model
    n_paths = _check_paths(n_paths)
    seed_int = normalize_seed(seed)
    sampler = sampler or plan.simulation.sampler
    replicates = int(replicates or plan.simulation.replicates)
    dists, names, corr, corr_names, pinned, warn = _parameter_setup(plan, model, pinned)
    spec = RunSpec(plan=plan, model=model, entropy=seed_int, param_names=names, dists=dists,
                   pinned=pinned, keep_monthly=(), record_reps=False, sampler=sampler,
                   replicates=replicates, n_paths=n_paths, corr=corr, corr_names=corr_names)
    design = ParameterDesign(names, n_paths, np.random.SeedSequence(seed_int), sampler,
                             replicates, corr, corr_names, BLOCK_SIZE)
    parts = []
    for k, size in enumerate(_block_sizes(n_paths)):
        u = None if sampler == "mc" else design.uniforms(k, None, size)
        params, _ = _block_params(spec, k, size, u)
        parts.append(np.column_stack([params[nm] for nm in names]) if names
                     else np.zeros((size, 0)))
    out = pd.DataFrame(np.concatenate(parts), columns=list(names))
    out.attrs["warnings"] = warn  # as simulate would report them
    return out
