"""Sweeps: every scenario at every point of a grid of lever levels, one result row per run.

A sweep is a list of independent runs. Each row's seed derives from the sweep seed and the
row's key (the scenario's SHA-256 and its grid values) through ``SeedSequence``, so a row's
result is the same whichever other rows run, in whatever order, on whatever executor, and a
sweep interrupted part way can resume without redoing its finished rows: the results file is
rewritten atomically after every finished row, always in row order, and a resumed sweep keeps
the rows it finds there, verbatim. The final file is byte for byte the file an uninterrupted
sweep writes.

With an executor (a ``dask.distributed.Client`` or any ``concurrent.futures.Executor``) whole
rows run as tasks, as many at once as the cluster has workers.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from okma_sim._core.errors import OkmaError, PlanError
from okma_sim.plan import Plan
from ._costs import action_cost, cost_metrics

__all__ = ["sweep", "sweep_rows", "row_seed", "SweepRow", "format_value"]


@dataclass(frozen=True)
class SweepRow:
    """One run of a sweep: a scenario at one grid point, with its own seed."""

    index: int
    scenario: str
    sha256: str
    plan: Plan
    grid: tuple[tuple[str, float], ...]
    seed: int
    paths: int

    def key(self) -> tuple[str, ...]:
        """The fields that identify the row in a results file (as written there)."""
        return (self.scenario, self.sha256, *(format_value(v) for _, v in self.grid),
                str(self.seed), str(self.paths))


def format_value(v: Any) -> str:
    """How a number is written in a sweep file: whole numbers without a decimal point, other
    floats in their shortest round-tripping form, NaN as an empty field.

    Examples
    --------
    >>> format_value(7.0), format_value(0.125), format_value(float("nan"))
    ('7', '0.125', '')
    """
    if isinstance(v, (bool, np.bool_)):
        return str(int(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    f = float(v)
    if math.isnan(f):
        return ""
    if f.is_integer() and abs(f) < 2**53:
        return str(int(f))
    return repr(f)


def row_seed(sweep_seed: int, scenario_sha256: str,
             grid: Sequence[tuple[str, float]] = ()) -> int:
    """The seed of one sweep row: ``SeedSequence(sweep_seed, spawn_key=...)`` keyed by a
    stable hash of the scenario's SHA-256 and the row's grid values, reduced to a 63-bit int
    (so ``okma-sim check --seed`` can reproduce the row).

    Examples
    --------
    >>> row_seed(0, "ab" * 32, [("prospect_visits_per_week", 7.0)]) == \\
    ...     row_seed(0, "ab" * 32, [("prospect_visits_per_week", 7)])
    True
    """
    text = json.dumps([scenario_sha256, [[k, float(v)] for k, v in grid]],
                      separators=(",", ":"))
    digest = hashlib.sha256(text.encode()).digest()
    key = tuple(int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4))
    ss = np.random.SeedSequence(int(sweep_seed), spawn_key=key)
    return int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))


def _scenario(s: str | Path | Plan) -> tuple[str, str, Plan]:
    from okma_sim.plan import dumps_plan, load_plan
    if isinstance(s, Plan):
        return s.name, hashlib.sha256(dumps_plan(s).encode()).hexdigest(), s
    p = Path(s)
    plan = load_plan(p)
    return str(s), hashlib.sha256(p.read_bytes()).hexdigest(), plan


def _grid_points(grid: Mapping[str, Sequence[float]]) -> list[tuple[tuple[str, float], ...]]:
    levers = list(grid)
    values = [[float(v) for v in grid[k]] for k in levers]
    return [tuple(zip(levers, combo)) for combo in itertools.product(*values)]


def _check_grid(label: str, plan: Plan, grid: Mapping[str, Sequence[float]], model) -> None:
    from okma_sim.plan import check_plan
    levers = getattr(model, "levers", {})
    for lever, values in grid.items():
        if lever not in levers:
            raise OkmaError(f"unknown lever (the {getattr(model, 'name', 'model')} model has: "
                            f"{', '.join(sorted(levers))})", key="--grid", value=lever)
        if len(values) == 0:
            raise OkmaError("no values given", key=f"--grid {lever}")
        for v in values:
            if not math.isfinite(float(v)):
                raise OkmaError("values must be finite numbers", key=f"--grid {lever}",
                                value=v)
    for point in _grid_points(grid):
        errors, _ = check_plan(plan.with_actions(**dict(point)), model)
        if errors:
            e = errors[0]
            raise PlanError(e.message, file=label, key=f"{e.key} (--grid)", value=e.value)


def sweep_rows(scenarios: Sequence[str | Path | Plan],
               grid: Mapping[str, Sequence[float]] | None = None, *, seed: int = 0,
               n_paths: int | None = None, model: Any = None,
               common_random_numbers: bool = False) -> list[SweepRow]:
    """The rows of a sweep, in their fixed order: scenarios in the order given, then grid
    points in the order of the levers and values given (the last lever varies fastest).

    Parameters
    ----------
    scenarios : paths of scenario files, or Plans
    grid : mapping lever -> values, optional
        Lever levels to try (each must be a lever of the model).
    seed : int
        The sweep seed; each row's seed is :func:`row_seed` of it.
    n_paths : int, optional
        Paths per run (default: each scenario's ``simulation.paths``, else 10,000).
    common_random_numbers : bool
        Key row seeds on the scenario only, so every grid point of a scenario shares its
        random draws (sharper differences between grid points); by default the grid values
        are part of the key too.

    Examples
    --------
    >>> import okma_sim
    >>> rows = sweep_rows([okma_sim.case_study_path()],
    ...                   {"prospect_visits_per_week": [6, 8]}, n_paths=100)
    >>> [r.grid for r in rows]
    [(('prospect_visits_per_week', 6.0),), (('prospect_visits_per_week', 8.0),)]
    """
    from okma_sim.models import get_model
    grid = dict(grid or {})
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise OkmaError("must be a non-negative whole number", key="seed", value=seed)
    if not scenarios:
        raise OkmaError("no scenarios given", key="scenarios")
    rows: list[SweepRow] = []
    seen: set[str] = set()
    for s in scenarios:
        label, sha, plan = _scenario(s)
        if label in seen:
            raise OkmaError("scenario listed twice", key="scenarios", value=label)
        seen.add(label)
        m = get_model(plan.model) if model is None else model
        _check_grid(label, plan, grid, m)
        paths = int(n_paths or plan.simulation.paths or 10_000)
        for point in _grid_points(grid):
            rs = row_seed(seed, sha, () if common_random_numbers else point)
            rows.append(SweepRow(len(rows), label, sha, plan.with_actions(**dict(point)),
                                 point, rs, paths))
    return rows


def _run_row(plan: Plan, seed: int, paths: int, sampler: str | None, model: Any
             ) -> dict[str, float]:
    """One row's numbers (runs on a worker when the sweep has an executor)."""
    from okma_sim.engine import simulate
    from okma_sim.models import get_model
    model = get_model(plan.model) if model is None else model
    res = simulate(plan, n_paths=paths, seed=seed, sampler=sampler, model=model,
                   keep_monthly=cost_metrics(model), progress=False)
    a = res.all_met()
    out = {"plan_cost": action_cost(plan, res, model=model)["total"],
           "all_met": a.probability, "all_met_stderr": a.stderr}
    for o in plan.objectives:
        e = res.probability(o.id)
        out[o.id] = e.probability
        out[f"{o.id}_stderr"] = e.stderr
    return out


def _columns(rows: Sequence[SweepRow], grid_levers: Sequence[str]) -> list[str]:
    objectives: list[str] = []
    for r in rows:
        for o in r.plan.objectives:
            if o.id not in objectives:
                objectives.append(o.id)
    cols = ["scenario", "scenario_sha256", *grid_levers, "seed", "paths", "plan_cost",
            "all_met", "all_met_stderr"]
    for o in objectives:
        cols += [o, f"{o}_stderr"]
    return cols


def _line(fields: Sequence[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(fields)
    return buf.getvalue()


def _read_existing(path: Path, header: list[str], rows: Sequence[SweepRow],
                   n_key: int) -> dict[int, list[str]]:
    """Finished rows of a results file, by row index; refuses a file of another sweep."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            table = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError) as exc:
        raise OkmaError(f"cannot read the file to resume ({type(exc).__name__})",
                        file=str(path)) from None
    if not table:
        return {}
    if table[0] != header:
        raise OkmaError("--resume: the file's columns are not this sweep's (other scenarios, "
                        "grid or objectives); use a new --out or --force", file=str(path),
                        value=",".join(table[0])[:60])
    by_key = {r.key(): r.index for r in rows}
    done: dict[int, list[str]] = {}
    for i, fields in enumerate(table[1:], start=2):
        if len(fields) != len(header):
            raise OkmaError(f"--resume: row {i} has {len(fields)} fields, expected "
                            f"{len(header)}", file=str(path))
        key = tuple(fields[:n_key])
        if key not in by_key:
            raise OkmaError(f"--resume: row {i} is not a row of this sweep (other seed, paths "
                            "or grid); use a new --out or --force", file=str(path),
                            value=",".join(key[:2] + key[-2:])[:60])
        done[by_key[key]] = fields
    return done


def sweep(scenarios: Sequence[str | Path | Plan],
          grid: Mapping[str, Sequence[float]] | None = None, *, n_paths: int | None = None,
          seed: int = 0, sampler: str | None = None, executor: Any = None,
          out: str | Path | None = None, resume: bool = False, force: bool = False,
          progress: bool | None = None, model: Any = None,
          common_random_numbers: bool = False,
          on_row: Callable[[int, dict[str, str]], None] | None = None,
          rows: Sequence[SweepRow] | None = None) -> pd.DataFrame:
    """Run every scenario at every grid point; one row per run.

    Parameters
    ----------
    scenarios : sequence of paths or Plans
    grid : mapping lever -> values, optional
        See :func:`sweep_rows` for the row order and seeds.
    n_paths, seed, sampler :
        Paths per run (default: each scenario's), the sweep seed (default 0, so a resumed
        sweep that gave none matches), and the parameter sampler (default: each scenario's).
    executor : concurrent.futures.Executor or dask.distributed.Client, optional
        Rows run as tasks on it; results are identical to in-process.
    out : path, optional
        Results CSV, rewritten atomically after every finished row.
    resume : bool
        Keep the finished rows found in ``out`` and run only the others.
    force : bool
        Replace an existing ``out`` (without ``resume``).
    common_random_numbers : bool
        Share random draws across the grid points of a scenario (see :func:`sweep_rows`).
    on_row : callable, optional
        Called as ``on_row(index, fields)`` after each row is finished and written.
    rows : list of SweepRow, optional
        The rows already built by :func:`sweep_rows` from these same ``scenarios``, ``grid``,
        ``seed``, ``n_paths`` and ``common_random_numbers`` (a caller that validated its
        input with it need not build them again: that reads and checks every scenario at
        every grid point).

    Returns
    -------
    DataFrame
        Columns ``scenario``, ``scenario_sha256``, one per grid lever, ``seed``, ``paths``,
        ``plan_cost`` (the plan's action cost as the solver counts it, :func:`action_cost`
        ``total``), ``all_met``, ``all_met_stderr`` and ``<objective>``,
        ``<objective>_stderr`` for each objective (the probability that it is met, with its
        Monte Carlo standard error).

    Examples
    --------
    >>> import okma_sim
    >>> df = sweep([okma_sim.case_study_path()], {"customer_visits_per_week": [8, 12]},
    ...            n_paths=500, seed=1)
    >>> list(df.columns[:5])
    ['scenario', 'scenario_sha256', 'customer_visits_per_week', 'seed', 'paths']
    >>> len(df)
    2
    """
    grid = {k: list(v) for k, v in (grid or {}).items()}
    if rows is None:
        rows = sweep_rows(scenarios, grid, seed=seed, n_paths=n_paths, model=model,
                          common_random_numbers=common_random_numbers)
    else:
        rows = _check_rows(rows, scenarios, grid)
    header = _columns(rows, list(grid))
    results = _ResultsFile(None if out is None else Path(out), header, 2 + len(grid) + 2,
                           on_row)
    with _locked(results.path):  # the only writer of ``out`` from its check to the last row
        results.open(rows, resume, force)
        pending = [r for r in rows if r.index not in results.done]
        bar = None
        if progress and pending:
            from tqdm.auto import tqdm
            bar = tqdm(total=len(pending), unit="run", desc="sweep", leave=False)
        try:
            _run_rows(pending, results.finish, executor, sampler, model, bar)
        finally:
            if bar is not None:
                bar.close()
    return _frame(header, [results.done[i] for i in sorted(results.done)])


@contextlib.contextmanager
def _locked(path: Path | None) -> Iterator[None]:
    """Hold the lock of a results file (``.NAME.lock`` beside it, left in place: deleting a
    lock file others may be waiting on would let two writers in) for the whole sweep; a second
    sweep on the same file is refused at once rather than left to lose rows."""
    if path is None:
        yield
        return
    from filelock import FileLock, Timeout
    lock = FileLock(str(path.parent / f".{path.name}.lock"), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise OkmaError("another sweep is writing this file; wait until it ends, or use "
                        "another --out", file=str(path)) from None
    except OSError as exc:
        raise OkmaError(f"cannot lock the file ({exc.strerror or exc})", file=str(path)) \
            from None
    try:
        yield
    finally:
        lock.release()


def _check_rows(rows: Sequence[SweepRow], scenarios: Sequence[Any],
                grid: Mapping[str, Sequence[float]]) -> list[SweepRow]:
    """A cheap guard against rows of another sweep (the columns come from the grid)."""
    rows = list(rows)
    n_points = math.prod(len(v) for v in grid.values())
    if len(rows) != len(scenarios) * n_points or any(
            [k for k, _ in r.grid] != list(grid) for r in rows):
        raise ValueError("'rows' are not the rows of this sweep's scenarios and grid")
    return rows


class _ResultsFile:
    """The finished rows of a sweep, by row index, and the results CSV (if any) that is
    rewritten atomically, in row order, after every finished row."""

    def __init__(self, path: Path | None, header: list[str], n_key: int,
                 on_row: Callable[[int, dict[str, str]], None] | None) -> None:
        self.path, self.header, self.n_key, self.on_row = path, header, n_key, on_row
        self.done: dict[int, list[str]] = {}

    def open(self, rows: Sequence[SweepRow], resume: bool, force: bool) -> None:
        """Check ``out``, keep the finished rows of a resumed file, and claim a new file."""
        path = self.path
        if path is None:
            return
        if path.exists() and not (resume or force):
            raise OkmaError("--out names an existing file; pass --resume to finish that "
                            "sweep or --force to replace it", file=str(path))
        if not path.parent.exists():
            raise OkmaError("--out: folder does not exist", file=str(path),
                            value=str(path.parent))
        if resume and path.exists():
            self.done = _read_existing(path, self.header, rows, self.n_key)
        if (force or not path.exists()) and not self.done:
            # claim the file at once (header only), so a second sweep cannot clobber it
            self.write()

    def write(self) -> None:
        """Rewrite the file: the header and the finished rows in row order."""
        if self.path is None:
            return
        from okma_sim._core.files import atomic_write
        text = _line(self.header) + "".join(_line(self.done[i]) for i in sorted(self.done))
        atomic_write(self.path, text, overwrite=True)

    def finish(self, row: SweepRow, numbers: Mapping[str, float]) -> None:
        """Record a finished row, rewrite the file, and tell ``on_row``."""
        fields = list(row.key()) + [format_value(numbers.get(c, math.nan))
                                    for c in self.header[self.n_key:]]
        self.done[row.index] = fields
        self.write()
        if self.on_row is not None:
            self.on_row(row.index, dict(zip(self.header, fields)))


def _run_rows(pending: Sequence[SweepRow], finish: Callable, executor: Any,
              sampler: str | None, model: Any, bar: Any) -> None:
    """Run the rows in-process, or as tasks on the executor (finished as they complete)."""
    if executor is None:
        for r in pending:
            finish(r, _run_row(r.plan, r.seed, r.paths, sampler, model))
            if bar is not None:
                bar.update(1)
        return
    futures = {_submit(executor, _run_row, r.plan, r.seed, r.paths, sampler, model): r
               for r in pending}
    for fut in _as_completed(executor, list(futures)):
        finish(futures[fut], fut.result())
        if bar is not None:
            bar.update(1)


def _is_dask(executor: Any) -> bool:
    return hasattr(executor, "gather") and hasattr(executor, "scheduler")


def _submit(executor: Any, fn: Callable, *args: Any):
    if _is_dask(executor):
        # pure=False: two rows with equal arguments are still two tasks (two futures)
        return executor.submit(fn, *args, pure=False)
    return executor.submit(fn, *args)


def _as_completed(executor: Any, futures: list) -> Iterable:
    if _is_dask(executor):
        from dask.distributed import as_completed
        return as_completed(futures)
    import concurrent.futures
    return concurrent.futures.as_completed(futures)


def _frame(header: list[str], lines: list[list[str]]) -> pd.DataFrame:
    df = pd.DataFrame(lines, columns=header)
    for c in header[2:]:
        df[c] = pd.to_numeric(df[c].replace("", np.nan))
    df["seed"] = df["seed"].astype("int64") if len(df) else df["seed"]
    df["paths"] = df["paths"].astype("int64") if len(df) else df["paths"]
    return df
