"""The seeding rule, pinned by an independent computation: block k of a run draws its
parameters from child 0 of child k of ``SeedSequence(seed)`` (uniforms, then each prior's
quantile), its model streams from child 1 and its baseline year from child 2.

Chunking tests compare the engine with itself and cannot see a consistent shift of the rule
(block k drawing from child k + 1, say); this recomputes each block from ``SeedSequence``'s
``spawn`` and the model's public ``simulate``/``anchor``, without the engine.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import okma_sim
from okma_sim._core.seeds import BLOCK_SIZE
from okma_sim.engine import draw_parameters, resolve_parameters
from okma_sim.models import get_model

SEED = 2026
N = 2 * BLOCK_SIZE + 37  # two full blocks and a partial one
SIZES = [BLOCK_SIZE, BLOCK_SIZE, 37]


@pytest.fixture(scope="module")
def plan():
    return okma_sim.load_plan(okma_sim.case_study_path())


def _children(k):
    """Param, model and anchor seeds of block k, by spawning as the rule says."""
    return np.random.SeedSequence(SEED).spawn(len(SIZES))[k].spawn(3)


def _raw_params(plan, k, size):
    dists = resolve_parameters(plan, get_model(plan.model))
    u = np.random.default_rng(_children(k)[0]).random((size, len(dists)))
    u = np.clip(u, 1e-12, 1 - 1e-12)
    out = {}
    for i, (name, d) in enumerate(dists.items()):
        frozen = d.frozen()  # scipy's distribution; None for a fixed value
        out[name] = np.asarray((d if frozen is None else frozen).ppf(u[:, i]), dtype=float)
    return out


def test_block_k_draws_from_child_k_of_the_seed(plan):
    assert plan.correlations is None  # the uniforms go to the quantiles as drawn
    model = get_model(plan.model)
    res = okma_sim.simulate(plan, n_paths=N, seed=SEED, keep_monthly=["revenue"],
                            progress=False)
    start = 0
    for k, size in enumerate(SIZES):
        rows = slice(start, start + size)
        raw = _raw_params(plan, k, size)
        # the plan is anchored: the draws are rescaled to its baseline year with child 2
        params = model.anchor(plan, {n: v.copy() for n, v in raw.items()}, _children(k)[2])
        for name in res.params.columns:
            np.testing.assert_allclose(res.params[name].to_numpy()[rows], params[name],
                                       rtol=1e-12, err_msg=f"block {k}, {name}")
        out = model.simulate(plan, params, np.random.default_rng(_children(k)[1]))
        np.testing.assert_allclose(res.monthly["revenue"][rows],
                                   out.metrics["revenue"].astype(np.float32), rtol=1e-6,
                                   err_msg=f"block {k}")
        start += size


def test_without_anchoring_the_draws_are_the_quantiles_of_child_0(plan):
    off = plan.replace(simulation=dataclasses.replace(plan.simulation, anchor=False))
    got = draw_parameters(off, N, SEED)
    start = 0
    for k, size in enumerate(SIZES):
        raw = _raw_params(off, k, size)
        for name in got.columns:
            np.testing.assert_array_equal(got[name].to_numpy()[start:start + size], raw[name],
                                          err_msg=f"block {k}, {name}")
        start += size
