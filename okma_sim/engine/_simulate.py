"""The entry point: :func:`simulate` checks its arguments, then runs one fixed-size run or, with
a ``tolerance``, adaptive stages of runs."""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from okma_sim._core.seeds import normalize_seed
from okma_sim.models import get_model
from okma_sim.plan import Plan
from ._adaptive import simulate_adaptive
from ._blocks import check_paths
from ._run import RunOptions, run

__all__ = ["simulate"]


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
        Show a tqdm bar (default: for runs of 4 blocks or more, on a terminal).
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
        Not with ``record_reps``, ``initial_state``, ``observed`` or ``parameter_values``
        (an ``OkmaError`` names the one given).
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
    opts = _options(plan, n_paths, seed, rng, model, sampler, replicates,
                    chunk_size=chunk_size, executor=executor, progress=progress,
                    keep_monthly=keep_monthly, record_reps=record_reps, pinned=pinned,
                    initial_state=initial_state, observed=observed,
                    parameter_values=parameter_values)
    if tolerance is not None:
        return simulate_adaptive(opts, tolerance=tolerance, max_paths=max_paths or 1_000_000)
    return run(opts)


def _options(plan: Any, n_paths: Any, seed: Any, rng: np.random.Generator | None,
             model: Any, sampler: str | None, replicates: int | None, **rest: Any
             ) -> RunOptions:
    """The checked plan, model, paths, seed, sampler and replicates (with the plan's
    defaults), and the ``rest`` of the options as given."""
    if not isinstance(plan, Plan):
        raise TypeError(f"'plan' must be a Plan, got {type(plan).__name__}")
    model = get_model(plan.model) if model is None else model
    if n_paths is None:
        n_paths = plan.simulation.paths or 10_000
    return RunOptions(plan=plan, model=model, n_paths=check_paths(n_paths),
                      seed=normalize_seed(seed, rng), sampler=sampler or plan.simulation.sampler,
                      replicates=int(replicates or plan.simulation.replicates), **rest)
