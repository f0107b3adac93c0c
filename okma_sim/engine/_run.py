"""One fixed-size run: set up the parameters, plan the chunks of blocks, run them in-process
or on an executor, and build the result from the merged blocks."""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from okma_sim._core.errors import OkmaError
from okma_sim._core.seeds import BLOCK_SIZE
from okma_sim.plan import Plan
from okma_sim.results import BlockOutput, SimulationResult
from ._blocks import BlockMerger, RunSpec, block_sizes, run_chunk
from ._designs import ParameterDesign
from ._memory import check_memory
from ._parameters import parameter_setup

__all__: list[str] = []


@dataclass(frozen=True)
class RunOptions:
    """A run's checked options (what :func:`okma_sim.simulate` was asked, with defaults)."""

    plan: Plan
    model: Any
    n_paths: int
    seed: int
    sampler: str
    replicates: int
    chunk_size: int | None = None
    executor: Any = None
    progress: bool | None = None
    keep_monthly: Iterable[str] | str | None = None
    record_reps: bool = False
    pinned: Mapping[str, float] | None = None
    initial_state: Any = None
    observed: Mapping[str, Sequence[float]] | None = None
    parameter_values: Mapping[str, Sequence[float]] | None = None


def _kept_metrics(opts: RunOptions) -> tuple[str, ...]:
    """The metrics whose per-month values are kept (see ``keep_monthly``)."""
    if opts.keep_monthly is None:
        return tuple(dict.fromkeys([t.metric for t in opts.plan.targets] + ["revenue"]))
    if opts.keep_monthly == "all":
        return tuple(opts.model.metrics)
    return tuple(opts.keep_monthly)


def _parameter_values(opts: RunOptions, dists: Mapping[str, Any]
                      ) -> dict[str, np.ndarray] | None:
    """``parameter_values`` as float arrays, checked: known parameters, one value per path."""
    if opts.parameter_values is None:
        return None
    out = {}
    for k, v in opts.parameter_values.items():
        if k not in dists:
            raise OkmaError("unknown parameter", key="parameter_values", value=k)
        a = np.asarray(v, dtype=float)
        if a.shape != (opts.n_paths,):
            raise OkmaError(f"must have one value per path ({opts.n_paths})",
                            key=f"parameter_values.{k}", value=a.shape)
        out[k] = a
    return out


def _run_spec(opts: RunOptions) -> tuple[RunSpec, list[str]]:
    """What every worker needs, and the set-up's warnings."""
    ps = parameter_setup(opts.plan, opts.model, opts.pinned)
    keep = _kept_metrics(opts)
    obs = None if opts.observed is None else {k: np.asarray(v, dtype=float)
                                              for k, v in opts.observed.items()}
    pvals = _parameter_values(opts, ps.dists)
    spec = RunSpec(plan=opts.plan, model=opts.model, entropy=opts.seed, param_names=ps.names,
                   dists=ps.dists, pinned=ps.pinned, keep_monthly=keep,
                   record_reps=opts.record_reps, sampler=opts.sampler,
                   replicates=opts.replicates, n_paths=opts.n_paths, corr=ps.corr,
                   corr_names=ps.corr_names, initial_state=opts.initial_state, observed=obs,
                   parameter_values=pvals, anchor=ps.anchor)
    return spec, ps.warnings


def _chunks(n_paths: int, chunk_size: int | None) -> list[list[tuple[int, int]]]:
    """The run's blocks ``(k, size)`` in chunks: whole numbers of blocks per unit of work."""
    blocks = list(enumerate(block_sizes(n_paths)))
    per_chunk = max(1, math.ceil((chunk_size or BLOCK_SIZE * 4) / BLOCK_SIZE))
    return [blocks[i:i + per_chunk] for i in range(0, len(blocks), per_chunk)]


def _progress_bar(opts: RunOptions, n_blocks: int):
    """A tqdm bar, or None (default: for runs of 4 blocks or more, about 2 s of the case study,
    on a terminal)."""
    show = opts.progress if opts.progress is not None else (
        n_blocks >= 4 and sys.stderr.isatty())
    if not show:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=opts.n_paths, unit="path", desc=f"simulating {opts.plan.name}",
                leave=False)


def _execute(spec: RunSpec, design: ParameterDesign, chunks: list[list[tuple[int, int]]],
             executor: Any, bar: Any) -> list[BlockOutput]:
    """Run the chunks (in-process or on the executor) and merge their blocks in order."""
    def slices(chunk):
        if spec.sampler == "mc":
            return [None] * len(chunk)
        return [design.uniforms(k, None, size) for k, size in chunk]

    merger = BlockMerger(spec.n_paths)
    futures = None if executor is None else \
        [executor.submit(run_chunk, spec, chunk, slices(chunk)) for chunk in chunks]
    for i, chunk in enumerate(chunks):
        if futures is None:
            parts = run_chunk(spec, chunk, slices(chunk))
        else:
            parts = futures[i].result()
            futures[i] = None  # let the cluster free the chunk's result
        for part in parts:
            merger.add(part)
        if bar is not None:
            bar.update(sum(s for _, s in chunk))
    return merger.parts()


def run(opts: RunOptions) -> SimulationResult:
    """One run of ``opts.n_paths`` paths under ``opts.seed``."""
    t0 = time.perf_counter()
    spec, warn = _run_spec(opts)
    check_memory(opts.plan, opts.n_paths, model=opts.model, keep_monthly=spec.keep_monthly,
                 record_reps=opts.record_reps, n_params=len(spec.param_names))
    design = spec.design()
    chunks = _chunks(opts.n_paths, opts.chunk_size)
    bar = _progress_bar(opts, sum(len(c) for c in chunks))
    try:
        parts = _execute(spec, design, chunks, opts.executor, bar)
    finally:
        if bar is not None:
            bar.close()
    res = SimulationResult.from_blocks(
        plan=opts.plan, model=opts.model, parts=parts, n_paths=opts.n_paths, seed=opts.seed,
        sampler=opts.sampler, replicate_index=design.replicate_index(),
        param_names=spec.param_names, warnings=warn, elapsed=time.perf_counter() - t0,
        pinned=spec.pinned)
    if spec.anchor and not spec.parameter_values:
        b = opts.plan.baseline
        res.extra["anchor"] = {"figures": dict(opts.model.anchors(opts.plan)),
                               "baseline_actions": dict(b.actions),
                               "assumed": list(b.assumed_levels)}
    return res
