"""Seed blocks: what a worker needs to run some blocks of paths (:class:`RunSpec`), one block's
parameter draws and model run, and the merge of block outputs in block order.

Paths are grouped in blocks of :data:`BLOCK_SIZE`. Block k always draws from child k of
``SeedSequence(seed)``, whatever the chunking, the number of workers or the executor; chunks
are whole numbers of blocks, and their outputs merge in block order. So one seed gives
identical results in-process, chunked, or on a Dask cluster.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from okma_sim._core.errors import OkmaError, PlanError
from okma_sim._core.seeds import BLOCK_SIZE
from okma_sim.params import Distribution
from okma_sim.plan import Plan
from okma_sim.results import BlockOutput, aggregate
from ._designs import ParameterDesign

__all__ = ["RunSpec"]


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
    # per-path parameter values replacing the draws (n_paths rows; e.g. a review's posterior)
    parameter_values: Mapping[str, np.ndarray] | None = None
    # rescale the draws to the plan's baseline year (the model's ``anchor``; docs/model.md 11)
    anchor: bool = False

    def __getstate__(self) -> dict:
        # scipy's frozen distributions (the per-process _ppf cache) pickle to ~100 kB: a
        # worker builds its own
        return {k: v for k, v in self.__dict__.items() if k != "_ppf_cache"}

    def design(self) -> ParameterDesign:
        """The run's parameter design (the same in every process)."""
        return ParameterDesign(self.param_names, self.n_paths,
                               np.random.SeedSequence(self.entropy), self.sampler,
                               self.replicates, self.corr, self.corr_names, BLOCK_SIZE)


def check_paths(n_paths: Any) -> int:
    """``n_paths`` as an int, or an error naming ``paths``."""
    if isinstance(n_paths, bool) or not isinstance(n_paths, (int, np.integer)) or n_paths < 1:
        raise OkmaError("must be a positive whole number", key="paths", value=n_paths)
    return int(n_paths)


def block_sizes(n: int) -> list[int]:
    """Paths of each block of an ``n``-path run: full blocks, then the rest."""
    full, rest = divmod(n, BLOCK_SIZE)
    return [BLOCK_SIZE] * full + ([rest] if rest else [])


# --------------------------------------------------------------------------------------------
# one block's parameters
# --------------------------------------------------------------------------------------------
class _LRU:
    """A small thread-safe least-recently-used cache of parameter draws (about 32 blocks of
    20 parameters: 20 MB at most)."""

    def __init__(self, max_items: int) -> None:
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
#: anchored draws of whole blocks (a dashboard refresh or a solver step reruns one seed with
#: other levers, and the baseline year does not move with them): 64 blocks, about 20 MB
_ANCHOR_CACHE = _LRU(64)


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


def _cache_base(spec: RunSpec, k: int, size: int) -> tuple:
    """The part of a cache key that fixes a plain Monte Carlo block's uniforms."""
    return (spec.entropy, k, size, spec.param_names, spec.corr_names,
            None if spec.corr is None else np.asarray(spec.corr, dtype=float).tobytes())


def _quantiles(spec: RunSpec, name: str, u: np.ndarray, base: tuple | None) -> np.ndarray:
    """One parameter's values from its uniforms, from the cache when ``base`` allows."""
    d = spec.dists[name]
    key = None if base is None or not isinstance(d, Distribution) else \
        (base, name, d.dist, tuple(sorted(d.args.items())))
    v = _PARAM_CACHE.get(key) if key is not None else None
    if v is None:
        v = np.asarray(_ppf(spec, name)(u), dtype=float)
        if key is not None:
            _PARAM_CACHE.put(key, v)
    return v.copy()  # the model may write into its inputs; the cache stays


def _anchor_key(spec: RunSpec, base: tuple | None) -> tuple | None:
    """What fixes a block's anchored draws beyond its uniforms: every parameter's law, the
    pins, and the parts of the plan the baseline year reads (not this year's actions)."""
    if base is None or not all(isinstance(d, Distribution) for d in spec.dists.values()):
        return None
    plan = spec.plan
    laws = tuple((n, d.dist, tuple(sorted(d.args.items()))) for n, d in spec.dists.items())
    return (base, laws, tuple(sorted(spec.pinned.items())), type(spec.model).__qualname__,
            repr((plan.team, plan.baseline, plan.start_month, plan.simulation.anchor,
                  spec.model.anchors(plan))))


def _anchored(spec: RunSpec, params: dict[str, np.ndarray], seed: np.random.SeedSequence,
              base: tuple | None) -> dict[str, np.ndarray]:
    """Block parameters rescaled to the plan's baseline year, from the cache when allowed."""
    key = _anchor_key(spec, base)
    hit = _ANCHOR_CACHE.get(key) if key is not None else None
    if hit is None:
        hit = spec.model.anchor(spec.plan, params, seed)
        if key is not None:
            _ANCHOR_CACHE.put(key, hit)
    return {k: v.copy() for k, v in hit.items()}  # the model may write into its inputs


def block_parameters(spec: RunSpec, k: int, size: int, u: np.ndarray | None
                     ) -> tuple[dict[str, np.ndarray], np.random.SeedSequence]:
    """Block k's parameter draws, and the seed of its model streams."""
    # children 0 and 1 are the same whatever the count spawned: adding the baseline year's
    # seed (child 2) left every earlier draw where it was
    param_ss, model_ss, anchor_ss = np.random.SeedSequence(
        spec.entropy, spawn_key=(k,)).spawn(3)
    # plain Monte Carlo draws of a block depend only on the cache base: cache their quantiles
    # (an interactive refresh or a solver step reruns one seed with other levers)
    base = _cache_base(spec, k, size) if u is None and spec.sampler == "mc" else None
    if u is None:
        u = spec.design().uniforms(k, np.random.default_rng(param_ss), size)
    params = {}
    for i, name in enumerate(spec.param_names):
        if name in spec.pinned:
            params[name] = np.full(size, float(spec.pinned[name]))
        else:
            params[name] = _quantiles(spec, name, u[:, i], base)
    if spec.anchor and not spec.parameter_values:
        # given values are used as they are (a review's posterior draws were anchored when
        # they were drawn)
        params = _anchored(spec, params, anchor_ss, base)
    if spec.parameter_values:
        start = k * BLOCK_SIZE
        for name, v in spec.parameter_values.items():
            params[name] = np.asarray(v[start:start + size], dtype=float)
    return params, model_ss


def parameter_matrix(spec: RunSpec, params: Mapping[str, np.ndarray], size: int) -> np.ndarray:
    """A block's parameters as columns in the run's parameter order."""
    return np.column_stack([params[nm] for nm in spec.param_names]) if spec.param_names \
        else np.zeros((size, 0))


# --------------------------------------------------------------------------------------------
# one block's run
# --------------------------------------------------------------------------------------------
def _prepend(metrics: Mapping[str, np.ndarray], observed: Mapping[str, np.ndarray],
             n: int) -> dict[str, np.ndarray]:
    """The observed months before the simulated ones, for the metrics observed."""
    out = {}
    for k, v in metrics.items():
        if k in observed:
            obs = np.broadcast_to(np.asarray(observed[k], dtype=float), (n, len(observed[k])))
            out[k] = np.concatenate([obs, v], axis=1)
        else:
            out[k] = v
    return out


def _target_values(spec: RunSpec, metrics: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each objective's and key result's aggregated metric, per path."""
    values = {}
    for t in spec.plan.targets:
        if t.metric not in metrics:
            raise PlanError(f"the model '{spec.model.name}' did not produce this metric",
                            key=f"{t.id}.metric", value=t.metric)
        values[t.id] = aggregate(metrics[t.metric], t.aggregate, t.threshold, t.comparison)
    return values


def run_block(spec: RunSpec, k: int, size: int, u: np.ndarray | None) -> BlockOutput:
    """Simulate block k: draw its parameters, run the model, aggregate."""
    params, model_ss = block_parameters(spec, k, size, u)
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
    monthly = {m: np.asarray(metrics[m], dtype=np.float32) for m in spec.keep_monthly
               if m in metrics}
    return BlockOutput(block=k, values=_target_values(spec, metrics), monthly=monthly,
                       params=parameter_matrix(spec, params, size),
                       diagnostics=dict(out.diagnostics),
                       per_rep=out.per_rep if spec.record_reps else None,
                       state=out.state if spec.record_reps else None)


def run_chunk(spec: RunSpec, blocks: Sequence[tuple[int, int]],
              us: Sequence[np.ndarray | None]) -> list[BlockOutput]:
    """Run some blocks (a unit of work for an executor): ``(k, size)`` and their uniforms."""
    return [run_block(spec, k, size, u) for (k, size), u in zip(blocks, us)]


# --------------------------------------------------------------------------------------------
# merging blocks
# --------------------------------------------------------------------------------------------
class BlockMerger:
    """Collects block outputs into one whole-run output, written in place as blocks arrive, so
    that a run holds a single copy of its per-path values (1M paths of the case study fit in
    well under 1 GiB). Diagnostics are summed in block order, as a list of blocks would be.
    Blocks with per-rep records are kept as a list of blocks instead."""

    def __init__(self, n_paths: int) -> None:
        self.n = n_paths
        self.merged: BlockOutput | None = None
        self.diags: dict[int, Mapping[str, float]] = {}
        self.listed: list[BlockOutput] = []

    def _whole(self, a: Any) -> np.ndarray:
        return np.empty((self.n,) + np.shape(a)[1:], dtype=np.asarray(a).dtype)

    def add(self, part: BlockOutput) -> None:
        if self.listed or part.per_rep is not None:
            if self.merged is not None:
                raise RuntimeError("blocks of one run differ in structure")
            self.listed.append(part)
            return
        if self.merged is None:
            self.merged = BlockOutput(
                block=0, values={i: self._whole(v) for i, v in part.values.items()},
                monthly={m: self._whole(v) for m, v in part.monthly.items()},
                params=self._whole(part.params), diagnostics={})
        lo = part.block * BLOCK_SIZE
        hi = lo + len(part.params)
        m = self.merged
        for i, v in part.values.items():
            m.values[i][lo:hi] = v
        for name, v in part.monthly.items():
            m.monthly[name][lo:hi] = v
        m.params[lo:hi] = part.params
        self.diags[part.block] = part.diagnostics

    def parts(self) -> list[BlockOutput]:
        """The run's outputs: one merged output, or the listed blocks in block order."""
        if self.merged is None:
            self.listed.sort(key=lambda b: b.block)  # merge in block order
            return self.listed
        diag: dict[str, float] = {}
        for k in sorted(self.diags):
            for name, v in self.diags[k].items():
                diag[name] = diag.get(name, 0.0) + float(v)
        return [dataclasses.replace(self.merged, diagnostics=diag)]
