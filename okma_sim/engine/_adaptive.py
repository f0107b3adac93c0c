"""Adaptive stopping: add paths until P(all objectives met) is known to a stated precision.

``simulate(plan, tolerance=T)`` runs in stages. Each stage is an ordinary run,
``simulate(plan, n_k, seed)``, so the final result is *exactly* the run of its reported paths
with its reported seed (and, for LHS/Sobol, its reported number of replicates): anyone can
reproduce it without the adaptive machinery. Stage sizes are projected from the previous
stage's half-width, ``n_{k+1} = n_k (h_k / T)^2 * 1.1``, so there are usually two stages (a
pilot and the final run) and the work is about the pilot plus the final run.

- **Plain Monte Carlo** adds seed blocks: a stage of ``n`` paths is blocks 0, 1, ... of the
  seed, so a larger stage contains the smaller one's full blocks.
- **LHS and Sobol** add independent randomised replicates of a fixed size ``m`` (the pilot's
  ``n / replicates``, with at least :data:`MIN_REPLICATES` replicates; a power of 2 for Sobol),
  so each replicate keeps its design balance. Their standard error is the spread of the
  replicate estimates, and the half-width uses Student's t with ``replicates - 1`` degrees of
  freedom.

The stopping half-width is never computed from a degenerate estimate: for plain Monte Carlo it
uses the Agresti-Coull centre ``(x + 2) / (n + 4)`` (so an estimate of 0 or 1 does not stop a run
at once), and for designs whose replicates all agree at 0 or 1 likewise.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
from scipy import stats

from okma_sim._core.errors import OkmaError
from okma_sim.results import estimate
from ._run import RunOptions, run

__all__ = ["MIN_TOLERANCE", "simulate_adaptive", "half_width", "GROWTH_MARGIN", "DEFAULT_FIRST"]

#: stage sizes are projected with this safety factor on (h / T)^2, so a third stage is rare
GROWTH_MARGIN = 1.1
#: an adaptive run from the command line starts with this many paths unless --paths is given
DEFAULT_FIRST = 1000
#: replicates of an adaptive LHS/Sobol' run, at least: with fewer, a replicate-based standard
#: error is too rough (16 replicates: about 18% relative error), and stopping on a lucky low
#: one undercovers
MIN_REPLICATES = 32

#: the smallest half-width adaptive stopping accepts: at the default cap of a million paths
#: the half-width of a probability near 0.5 is 0.00098, and a smaller target is never reached
MIN_TOLERANCE = 0.001


def half_width(flags: np.ndarray, replicate_index: np.ndarray | None = None,
               level: float = 0.95) -> tuple[float, float, float]:
    """Half-width of the ``level`` interval of P(flag), for the stopping rule.

    Returns ``(estimate, stderr, half_width)``. Plain Monte Carlo (``replicate_index`` None):
    the normal interval with the Agresti-Coull centre, ``z sqrt(p~ (1 - p~) / (n + z^2))``.
    Replicated designs: ``t_{R-1} * stderr`` from the spread of the R replicate means (the
    Agresti-Coull form when every path agrees, where that spread is 0).

    Examples
    --------
    >>> import numpy as np
    >>> p, se, h = half_width(np.r_[np.ones(300), np.zeros(700)].astype(bool))
    >>> round(p, 2), round(h, 3)
    (0.3, 0.028)
    """
    f = np.asarray(flags, dtype=bool)
    n = f.size
    e = estimate(f, replicate_index)
    z = float(stats.norm.ppf(0.5 + level / 2))
    x = float(f.sum())
    p_ac = (x + z * z / 2) / (n + z * z)
    ac = z * math.sqrt(p_ac * (1 - p_ac) / (n + z * z))
    if replicate_index is None or x in (0.0, float(n)):
        return e.probability, e.stderr, ac
    R = int(replicate_index.max()) + 1
    t = float(stats.t.ppf(0.5 + level / 2, df=max(R - 1, 1)))
    return e.probability, e.stderr, t * e.stderr


def _check_stopping(tolerance: Any, max_paths: Any, sampler: str) -> int:
    """Check the stopping rule's inputs; ``max_paths`` as an int."""
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) \
            or not math.isfinite(tolerance) or not MIN_TOLERANCE <= tolerance <= 0.5:
        raise OkmaError(f"must be a number from {MIN_TOLERANCE} to 0.5", key="tolerance",
                        value=tolerance)
    if isinstance(max_paths, bool) or not isinstance(max_paths, (int, np.integer)) \
            or max_paths < 1:
        raise OkmaError("must be a positive whole number", key="max_paths", value=max_paths)
    if sampler != "mc" and max_paths < 4:
        # the smallest replicated design: 2 replicates of 2 paths
        raise OkmaError(f"must be at least 4 with the {sampler} sampler (2 replicates of 2 "
                        f"paths)", key="max_paths", value=int(max_paths))
    return int(max_paths)


def _first_stage(first: int, sampler: str, replicates: int, max_paths: int
                 ) -> tuple[int, int, int]:
    """The pilot stage: replicate size m, replicates R and paths n = R m (for plain Monte
    Carlo m = R = 1 and n = ``first``)."""
    if sampler == "mc":
        return 1, 1, first
    R = max(MIN_REPLICATES, int(replicates))
    m = max(2, math.ceil(first / R))
    if sampler == "sobol":
        m = 1 << (m - 1).bit_length()  # keep each replicate a whole Sobol' base-2 design
    while R * m > max_paths and m > 2:
        m //= 2
    R = max(2, min(R, max_paths // m))
    return m, R, R * m


def _next_stage(n: int, m: int, R: int, grow: float, qmc: bool, max_paths: int
                ) -> tuple[int, int] | None:
    """The next stage's replicates and paths, projected by ``grow`` = (h / T)^2 times the
    margin; None when the cap leaves no room to grow."""
    if not qmc:
        return R, min(max(n + 1, math.ceil(n * grow)), max_paths)
    R_next = min(max(R + 1, math.ceil(R * grow)), max_paths // m)
    if R_next <= R:
        return None
    return R_next, R_next * m


def _check_options(opts: RunOptions) -> None:
    """Refuse the options adaptive stages cannot honour, naming the first one given: each stage
    is a fresh run of its own number of paths, so per-path inputs and records have no fixed
    length."""
    given = (("record_reps", bool(opts.record_reps)),
             ("initial_state", opts.initial_state is not None),
             ("observed", opts.observed is not None),
             ("parameter_values", opts.parameter_values is not None))
    for name, on in given:
        if on:
            raise OkmaError("cannot be combined with tolerance (adaptive stopping); run a fixed "
                            "number of paths instead", key=name)


def _stage_options(opts: RunOptions, n: int, R: int | None) -> RunOptions:
    """A stage: the plain run of ``n`` paths (``R`` replicates for LHS/Sobol')."""
    return dataclasses.replace(opts, n_paths=n,
                               replicates=int(R or opts.plan.simulation.replicates))


def simulate_adaptive(opts: RunOptions, *, tolerance: float, max_paths: int,
                      level: float = 0.95):
    """Run stages until the ``level`` half-width of P(all objectives met) is at most
    ``tolerance``, or ``max_paths`` is reached. Called by ``simulate(tolerance=...)``.

    Parameters
    ----------
    opts : RunOptions
        The checked options of :func:`okma_sim.simulate`; ``opts.n_paths`` is the first
        (pilot) stage's paths.
    tolerance : float
        Target half-width, from ``MIN_TOLERANCE`` (0.001) to 0.5.
    max_paths : int
        Cap on the final number of paths (the run stops there with a warning).

    Returns
    -------
    SimulationResult
        Exactly ``simulate(plan, result.n_paths, seed, sampler=..., replicates=R)`` where R is
        ``result.extra["adaptive"]["replicates"]``, with ``result.extra["adaptive"]``: the
        tolerance, the final half-width and interval, ``converged``, the paths of every
        stage and the total paths simulated.

    Examples
    --------
    >>> import okma_sim
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> res = okma_sim.simulate(plan, n_paths=500, seed=1, tolerance=0.03)
    >>> res.extra["adaptive"]["half_width"] <= 0.03
    True
    """
    max_paths = _check_stopping(tolerance, max_paths, opts.sampler)
    _check_options(opts)
    qmc = opts.sampler != "mc"
    m, R, n = _first_stage(min(int(opts.n_paths), max_paths), opts.sampler, opts.replicates,
                           max_paths)
    stages: list[int] = []
    while True:
        res = run(_stage_options(opts, n, R if qmc else None))
        stages.append(n)
        p, se, h = half_width(res.all_met_flags(), res.replicate_index, level)
        if h <= tolerance or n >= max_paths:
            break
        nxt = _next_stage(n, m, R, (h / tolerance) ** 2 * GROWTH_MARGIN, qmc, max_paths)
        if nxt is None:
            break
        R, n = nxt
    converged = h <= tolerance
    warn = list(res.warnings)
    if not converged:
        warn.append(f"adaptive stopping reached max_paths = {max_paths} before the 95% "
                    f"half-width of P(all objectives met) fell to {tolerance:g} "
                    f"(it is {h:.4f})")
    info = {"tolerance": float(tolerance), "level": float(level), "half_width": float(h),
            "interval": [max(0.0, p - h), min(1.0, p + h)], "converged": bool(converged),
            "stages": stages, "paths_simulated": int(sum(stages)), "max_paths": max_paths,
            "replicates": int(R) if qmc else None,
            "replicate_size": int(m) if qmc else None}
    return dataclasses.replace(res, warnings=warn, extra={**res.extra, "adaptive": info})
