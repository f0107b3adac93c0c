"""The memory a run needs, estimated before anything is allocated, and the refusal of a run
that would not fit in the memory available (docs/limits.md).

A run holds, for its whole length, every path's aggregate per objective and key result
(float64), the kept monthly metrics (float32 per path and month), the per-path parameter draws
(float64) and, with ``record_reps``, every rep's monthly columns. While it runs, each process
simulating a block of paths also needs the model's working arrays: for the sales-team model
about ``WORKING_PER_SEAT`` bytes per path and seat, plus ``WORKING_PER_PATH`` per path.
The constants were measured with tracemalloc on the case study (12 to 200 reps, 12 and 36
months; benchmarks/ measures peak memory too) and rounded up.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Iterable

from okma_sim._core.errors import OkmaError
from okma_sim._core.seeds import BLOCK_SIZE

__all__ = ["MemoryEstimate", "estimate_memory", "check_memory", "available_memory",
           "format_bytes"]

#: bytes of working arrays per path and seat while a block runs (measured: ~490)
WORKING_PER_SEAT = 600
#: bytes of working arrays per path of a block, whatever the team (measured: ~5,000)
WORKING_PER_PATH = 6_000
#: bytes kept per path and per float of its results, for the copies a result makes (x 2)
KEPT_FACTOR = 2
#: bytes per rep, month and column of ``record_reps`` (float64, with the copy made merging)
REP_RECORD_BYTES = 16
#: the process running a Dask worker, before any work (Python, numpy, scipy, Dask)
WORKER_PROCESS_BYTES = 200 * 2**20
#: sets the memory limit instead of the available memory (bytes, or 500MB, 4GiB, ...)
LIMIT_VARIABLE = "OKMA_SIM_MEMORY_LIMIT"


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes a run needs: ``kept`` (its results, held to the end) and ``working`` (the
    model's arrays while blocks run, in every process that runs them)."""

    kept: int
    working: int

    @property
    def total(self) -> int:
        return self.kept + self.working


def _seats(plan: Any, model: Any) -> int:
    n_seats = getattr(model, "n_seats", None)
    return max(1, int(n_seats(plan))) if callable(n_seats) else 1


def estimate_memory(plan: Any, n_paths: int, *, model: Any = None,
                    keep_monthly: Iterable[str] | str | None = None, record_reps: bool = False,
                    workers: int = 0, n_params: int | None = None) -> MemoryEstimate:
    """Estimate the memory of a run of ``n_paths`` paths before running it.

    Parameters
    ----------
    plan : Plan
    n_paths : int
    model : Model, optional
        Default: the model the plan names.
    keep_monthly, record_reps :
        As for :func:`okma_sim.simulate` (what the run keeps).
    workers : int
        Local worker processes (``--workers``); 0 runs the blocks in this process.
    n_params : int, optional
        Uncertain parameters (default: the model's).

    Examples
    --------
    >>> import okma_sim
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> small = estimate_memory(plan, 10_000)
    >>> big = estimate_memory(plan, 1_000_000)
    >>> small.total < big.total < 2**31   # a million paths fit in well under 2 GiB
    True
    """
    from okma_sim.models import get_model
    model = get_model(plan.model) if model is None else model
    months = int(plan.horizon_months)
    n_targets = len(plan.targets)
    if keep_monthly is None:
        n_kept = len({t.metric for t in plan.targets} | {"revenue"})
    elif keep_monthly == "all":
        n_kept = len(getattr(model, "metrics", ()))
    else:
        n_kept = len(tuple(keep_monthly))
    if n_params is None:
        n_params = len(getattr(model, "parameters", {}))
    seats = _seats(plan, model)
    per_path = 8 * n_targets + 4 * months * n_kept + 8 * n_params
    kept = KEPT_FACTOR * per_path * int(n_paths)
    if record_reps:
        kept += REP_RECORD_BYTES * seats * months * 11 * int(n_paths)
    block = min(int(n_paths), BLOCK_SIZE)
    per_process = block * (WORKING_PER_PATH + WORKING_PER_SEAT * seats)
    working = per_process if workers <= 0 else workers * (per_process + WORKER_PROCESS_BYTES)
    return MemoryEstimate(kept=kept, working=working)


def available_memory() -> tuple[int, str]:
    """The memory a run may use, and where that limit comes from: ``OKMA_SIM_MEMORY_LIMIT``
    when set, else the memory available now (psutil)."""
    text = os.environ.get(LIMIT_VARIABLE, "").strip()
    if text:
        return _parse_bytes(text), LIMIT_VARIABLE
    import psutil
    return int(psutil.virtual_memory().available), "available"


def _parse_bytes(text: str) -> int:
    units = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
             "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
    t = text.lower().replace("_", "").replace(" ", "")
    number = t.rstrip("kmgtib")
    try:
        value = float(number) * units[t[len(number):]]
    except (KeyError, ValueError):
        value = -1.0
    if not 0 < value < 2**63:
        raise OkmaError("must be a number of bytes, e.g. 4GiB", key=LIMIT_VARIABLE, value=text)
    return int(value)


def format_bytes(n: float) -> str:
    """``1.2 GiB``-style sizes for messages.

    Examples
    --------
    >>> format_bytes(3 * 2**30), format_bytes(1500)
    ('3.0 GiB', '1.5 KiB')
    """
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def check_memory(plan: Any, n_paths: int, *, paths_key: str = "n_paths",
                 team_key: str = "team.reps", workers_key: str = "--workers",
                 **kw: Any) -> MemoryEstimate:
    """Refuse, before it starts, a run whose estimated memory (:func:`estimate_memory`, same
    keywords) exceeds the limit (:func:`available_memory`): one OkmaError naming what to
    lower (the paths, the team or the workers, whichever needs the most), the estimate and
    the limit.

    Examples
    --------
    >>> import okma_sim
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> try:
    ...     check_memory(plan, 10**12, paths_key="--paths")
    ... except OkmaError as exc:
    ...     print(exc.key, "|", exc.message[:38])
    --paths | a run of 1,000,000,000,000 paths needs
    """
    from okma_sim.models import get_model
    kw["model"] = model = kw.get("model") or get_model(plan.model)
    est = estimate_memory(plan, n_paths, **kw)
    limit, source = available_memory()
    if est.total <= limit:
        return est
    workers = kw.get("workers", 0)
    if est.kept >= est.working:
        key, what = paths_key, f"a run of {int(n_paths):,} paths"
    elif workers > 1 and workers * WORKER_PROCESS_BYTES >= est.working / 2:
        key, what = workers_key, f"{workers} worker processes"
    else:
        key, what = team_key, f"a team of {_seats(plan, model):,} seats"
    where = "the memory available" if source == "available" else f"the limit {LIMIT_VARIABLE}"
    raise OkmaError(f"{what} needs about {format_bytes(est.total)} of memory, more than "
                    f"{where} ({format_bytes(limit)})", key=key)
