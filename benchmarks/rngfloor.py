"""The RNG floor: what numpy alone needs to draw the variates a simulation draws.

An instrumented model wraps the model's Generator (and the generators it spawns) and records
every draw: the method, its shape and, for distributions with parameters, the parameter arrays.
The inverse-CDF samplers of ``okma_sim._core.counts`` are wrapped too, so each uniform or normal
they invert is also recorded as the Poisson or binomial variate it becomes.

Two floors come out of one recording:

- ``raw``: replay exactly the Generator calls the run made (uniforms, normals, gammas, ...).
  This is the literal reading of "time numpy drawing just those variates".
- ``by_kind``: the same, but each inverted uniform or normal is drawn by numpy's own sampler
  of the distribution it stands for (``Generator.poisson(lam)``, ``Generator.binomial(n, q)``
  with the recorded parameters). This is the cost of the same variates *by kind*.

The engine's parameter uniforms (one per path and parameter) are added to both floors.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

__all__ = ["Recorder", "InstrumentedModel", "measure_floor"]


class Recorder:
    """A list of draws: (kind, args) with args as replayable arrays or shapes."""

    def __init__(self) -> None:
        self.raw: list[tuple[str, tuple]] = []
        self.inverted: list[tuple[str, tuple, tuple]] = []  # (kind, params, raw shape)

    def counts(self) -> dict[str, int]:
        """Variates drawn, by Generator method (raw) and by inverted kind."""
        out: dict[str, int] = {}
        for kind, args in self.raw:
            out[f"raw:{kind}"] = out.get(f"raw:{kind}", 0) + _size(kind, args)
        for kind, _, shape in self.inverted:
            out[f"inverted:{kind}"] = out.get(f"inverted:{kind}", 0) + int(np.prod(shape))
        return out


def _size(kind: str, args: tuple) -> int:
    if kind in ("random", "standard_normal"):
        shape = args[0]
        return 1 if shape is None else int(np.prod(shape))
    return int(np.prod(np.broadcast_shapes(*[np.shape(a) for a in args])))


class CountingGenerator:
    """Forwards to a numpy Generator and records each draw in a :class:`Recorder`."""

    def __init__(self, rng: np.random.Generator, rec: Recorder) -> None:
        self._rng, self._rec = rng, rec

    def spawn(self, n: int) -> list["CountingGenerator"]:
        return [CountingGenerator(g, self._rec) for g in self._rng.spawn(n)]

    def random(self, size=None, dtype=np.float64, out=None):
        shape = out.shape if out is not None else size
        self._rec.raw.append(("random", (shape,)))
        return self._rng.random(size, dtype=dtype, out=out)

    def standard_normal(self, size=None, dtype=np.float64, out=None):
        shape = out.shape if out is not None else size
        self._rec.raw.append(("standard_normal", (shape,)))
        return self._rng.standard_normal(size, dtype=dtype, out=out)

    def standard_gamma(self, shape, size=None, dtype=np.float64, out=None):
        self._rec.raw.append(("standard_gamma", (np.array(shape, dtype=float),)))
        return self._rng.standard_gamma(shape, size, dtype=dtype, out=out)

    def poisson(self, lam=1.0, size=None):
        self._rec.raw.append(("poisson", (np.array(lam, dtype=float),)))
        return self._rng.poisson(lam, size)

    def binomial(self, n, p, size=None):
        self._rec.raw.append(("binomial", (np.array(n), np.array(p, dtype=float))))
        return self._rng.binomial(n, p, size)

    def __getattr__(self, name: str) -> Any:  # anything else: unrecorded, so refuse
        raise AttributeError(f"CountingGenerator does not record {name!r}; add it to "
                             "benchmarks/rngfloor.py")


class InstrumentedModel:
    """A model whose ``simulate`` draws through a :class:`CountingGenerator`."""

    def __init__(self, model: Any, rec: Recorder) -> None:
        self._model, self._rec = model, rec

    def simulate(self, plan, params, rng, initial_state=None, **kw):
        return self._model.simulate(plan, params, CountingGenerator(rng, self._rec),
                                    initial_state=initial_state, **kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


def _patch_samplers(rec: Recorder):
    """Wrap the inverse-CDF samplers where the sales model looks them up; returns an undo.

    A sampler missing there (the monthly step moved, or draws another way) is an error: a
    silent skip would leave the ``by_kind`` floor without the draws it stands for."""
    import okma_sim.models.sales._month as sales  # where the monthly step looks the samplers up
    kinds = {"poisson_icdf": "poisson", "binomial_icdf": "binomial",
             "binomial_normal_icdf": "binomial"}
    saved = {name: getattr(sales, name) for name in kinds}  # all found before any is patched
    for name, fn in saved.items():
        kind = kinds[name]

        def wrapped(x, *params, _fn=fn, _kind=kind):
            rec.inverted.append((_kind, tuple(np.array(p, dtype=float) for p in params),
                                 np.shape(x)))
            return _fn(x, *params)

        setattr(sales, name, wrapped)

    def undo():
        for name, fn in saved.items():
            setattr(sales, name, fn)

    return undo


def record(plan, n_paths: int, seed: int) -> Recorder:
    """Run the plan once with every draw recorded."""
    import okma_sim
    from okma_sim.models import get_model
    # the plan's own months: anchoring to the baseline year (docs/model.md 11) runs the same
    # monthly step twice more before them, with the same draws per month
    plan = plan.replace(simulation=dataclasses.replace(plan.simulation, anchor=False))
    rec = Recorder()
    undo = _patch_samplers(rec)
    try:
        okma_sim.simulate(plan, n_paths=n_paths, seed=seed, progress=False,
                          model=InstrumentedModel(get_model(plan.model), rec))
    finally:
        undo()
    return rec


def _replay(calls: list[tuple[str, tuple]], rng: np.random.Generator,
            clock=time.perf_counter) -> float:
    t0 = clock()
    for kind, args in calls:
        if kind == "random":
            rng.random(args[0])
        elif kind == "standard_normal":
            rng.standard_normal(args[0])
        elif kind == "standard_gamma":
            rng.standard_gamma(args[0])
        elif kind == "poisson":
            rng.poisson(args[0])
        elif kind == "binomial":
            n, p = np.broadcast_arrays(np.rint(args[0]).astype(np.int64),
                                       np.clip(args[1], 0.0, 1.0))
            rng.binomial(n, p)
    return clock() - t0


def _by_kind_calls(rec: Recorder) -> list[tuple[str, tuple]]:
    """The raw calls, with each inverted uniform/normal replaced by its distribution's draw."""
    # the inverted draws consumed raw calls of the same shape, in order: drop one such raw
    # call per inversion (the recorder saw the raw call first, then the inversion)
    raw = list(rec.raw)
    used = [False] * len(raw)
    calls: list[tuple[str, tuple]] = []
    j = 0
    for kind, params, shape in rec.inverted:
        while j < len(raw) and not (raw[j][0] in ("random", "standard_normal")
                                    and _shape(raw[j][1][0]) == tuple(shape) and not used[j]):
            j += 1
        if j < len(raw):
            used[j] = True
        calls.append((kind, params))
    calls.extend(c for c, u in zip(raw, used) if not u)
    return calls


def _shape(s) -> tuple:
    if s is None:
        return ()
    return tuple(s) if isinstance(s, (tuple, list)) else (int(s),)


def measure_floor(plan, n_paths: int, seed: int = 1, repeats: int = 5,
                  clock=time.perf_counter) -> dict[str, Any]:
    """Record a run's draws, then time numpy drawing just those (best of ``repeats``).

    Returns the variate counts and both floors in seconds (see the module docstring).
    """
    from okma_sim._core.seeds import BLOCK_SIZE
    from okma_sim.engine import resolve_parameters
    from okma_sim.models import get_model
    rec = record(plan, n_paths, seed)
    d = len(resolve_parameters(plan, get_model(plan.model)))
    blocks = [min(BLOCK_SIZE, n_paths - k) for k in range(0, n_paths, BLOCK_SIZE)]
    param_calls = [("random", ((b, d),)) for b in blocks]
    raw_calls = param_calls + rec.raw
    kind_calls = param_calls + _by_kind_calls(rec)
    rng = np.random.default_rng(seed)
    raw_t = min(_replay(raw_calls, rng, clock) for _ in range(repeats))
    kind_t = min(_replay(kind_calls, rng, clock) for _ in range(repeats))
    counts = rec.counts()
    counts["raw:random"] = counts.get("raw:random", 0) + n_paths * d
    return {"paths": n_paths, "counts": counts, "raw_floor_s": raw_t, "by_kind_floor_s": kind_t}
