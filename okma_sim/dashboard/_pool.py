"""The dashboard's worker pool: processes that run a refresh's seed blocks in parallel.

Workers start by forkserver (a Jupyter kernel runs threads, so a plain fork is not safe), else
spawn. A model whose class workers cannot import runs in the kernel's process, and so does
everything once a worker has died. Chunking never changes the numbers: a refresh on the
workers gives exactly what ``simulate`` gives in the kernel.
"""

from __future__ import annotations

import os
from typing import Any, Callable

from okma_sim.plan import Plan

__all__ = ["ProgressExecutor", "default_workers", "process_pool", "run_or_fall_back",
           "shippable", "warm_up"]


def default_workers(n_paths: int) -> int:
    """Worker processes a dashboard uses: one per seed block of a refresh, at most one per
    CPU and at most 4 (1: everything runs in the kernel's process).

    Examples
    --------
    >>> default_workers(100)
    1
    """
    from okma_sim._core.seeds import BLOCK_SIZE
    blocks = -(-int(n_paths) // BLOCK_SIZE)
    return max(1, min(4, os.cpu_count() or 1, blocks))


def shippable(model: Any) -> bool:
    """Whether worker processes can receive the model: its class must be importable there
    (a class defined in a notebook cell lives in ``__main__``, which workers do not have)."""
    import pickle
    if type(model).__module__ in ("__main__", "__mp_main__"):
        return False
    try:
        pickle.dumps(model)
    except Exception:
        return False
    return True


def process_pool(workers: int) -> Any:
    """A process pool that is safe to start from a Jupyter kernel (which runs threads, so a
    plain fork is not): forkserver where the platform has it, else spawn."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor
    methods = mp.get_all_start_methods()
    ctx = mp.get_context("forkserver" if "forkserver" in methods else "spawn")
    if ctx.get_start_method() == "forkserver":
        ctx.set_forkserver_preload(["okma_sim.engine", "okma_sim.models.sales"])
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx)


def warm_up(plan: Plan, model: Any, seed: int, n_paths: int) -> bool:
    """Run in each new worker: the first simulation of a process pays for imports and
    caches, so pay it before the analyst moves a slider."""
    from okma_sim.engine import simulate
    simulate(plan, n_paths, seed=seed, model=model, progress=False)
    return True


# progress for "Run precise": an executor that runs each chunk when its result is asked for
class _Lazy:
    def __init__(self, fn: Callable, args: tuple, kwargs: dict, done: Callable[[Any], None]):
        self._fn, self._args, self._kwargs, self._done = fn, args, kwargs, done

    def result(self) -> Any:
        out = self._fn(*self._args, **self._kwargs)
        self._done(out)
        return out


class ProgressExecutor:
    """Reports each finished chunk as the engine collects it.

    The engine submits every chunk, then collects results in order in this thread, so the
    report (a widget update) always runs in the kernel's thread. Without an ``inner`` executor
    each chunk is computed when its result is asked for; with one (the dashboard's worker
    pool) the chunks run there in parallel. Results are identical to a plain ``simulate``
    either way: chunking never changes them.
    """

    def __init__(self, on_chunk: Callable[[Any], None], inner: Any = None):
        self.on_chunk = on_chunk
        self.inner = inner

    def submit(self, fn: Callable, *args: Any, **kwargs: Any) -> _Lazy:
        if self.inner is None:
            return _Lazy(fn, args, kwargs, self.on_chunk)
        fut = self.inner.submit(fn, *args, **kwargs)
        return _Lazy(fut.result, (), {}, self.on_chunk)


def run_or_fall_back(run: Callable[[Any], Any], executor: Any,
                     on_broken: Callable[[], None]) -> Any:
    """``run(executor)``; if a worker died (killed, out of memory), call ``on_broken`` and
    carry on in this process, still reporting progress when ``executor`` did."""
    from concurrent.futures import BrokenExecutor
    try:
        return run(executor)
    except BrokenExecutor:
        on_broken()
        return run(ProgressExecutor(executor.on_chunk)
                   if isinstance(executor, ProgressExecutor) else None)
