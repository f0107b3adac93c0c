"""Reproducibility: seeds, seed blocks, chunk sizes and executors.

Paths run in fixed blocks of BLOCK_SIZE; block k draws from child k of SeedSequence(seed). So
one seed gives bit-identical results whatever the chunk size or executor.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import okma_sim
from okma_sim._core.seeds import BLOCK_SIZE

N = 10_000  # not a multiple of the block: the last block is partial
KEEP = ["revenue", "new_customers"]


@pytest.fixture(scope="module")
def plan():
    return okma_sim.load_plan(okma_sim.case_study_path())


@pytest.fixture(scope="module")
def reference(plan):
    return okma_sim.simulate(plan, n_paths=N, seed=123, chunk_size=None, keep_monthly=KEEP,
                             progress=False)


def assert_identical(a, b):
    assert a.n_paths == b.n_paths and a.seed == b.seed
    assert a.values.keys() == b.values.keys()
    for k in a.values:
        np.testing.assert_array_equal(a.values[k], b.values[k], err_msg=k)
    assert a.monthly.keys() == b.monthly.keys()
    for k in a.monthly:
        np.testing.assert_array_equal(a.monthly[k], b.monthly[k], err_msg=k)
    np.testing.assert_array_equal(a.params.to_numpy(), b.params.to_numpy())
    assert list(a.params.columns) == list(b.params.columns)
    assert dict(a.diagnostics) == dict(b.diagnostics)
    assert a.all_met() == b.all_met()


def test_block_size_is_documented():
    assert BLOCK_SIZE == 2048
    assert N % BLOCK_SIZE != 0


def test_same_seed_identical(plan, reference):
    again = okma_sim.simulate(plan, n_paths=N, seed=123, keep_monthly=KEEP, progress=False)
    assert_identical(reference, again)


@pytest.mark.parametrize("chunk_size", [BLOCK_SIZE, 3 * BLOCK_SIZE, 1, 5000])
def test_chunk_size_does_not_change_results(plan, reference, chunk_size):
    other = okma_sim.simulate(plan, n_paths=N, seed=123, chunk_size=chunk_size,
                              keep_monthly=KEEP, progress=False)
    assert_identical(reference, other)


def test_thread_pool_identical_to_in_process(plan, reference):
    with ThreadPoolExecutor(max_workers=2) as ex:
        other = okma_sim.simulate(plan, n_paths=N, seed=123, chunk_size=BLOCK_SIZE,
                                  executor=ex, keep_monthly=KEEP, progress=False)
    assert_identical(reference, other)


def test_prefix_of_a_longer_run(plan, reference):
    # block k's draws do not depend on how many blocks follow: the first full blocks agree
    longer = okma_sim.simulate(plan, n_paths=3 * BLOCK_SIZE, seed=123, keep_monthly=KEEP,
                               progress=False)
    m = 2 * BLOCK_SIZE
    for k in reference.values:
        np.testing.assert_array_equal(reference.values[k][:m], longer.values[k][:m])


def test_different_seed_differs(plan, reference):
    other = okma_sim.simulate(plan, n_paths=N, seed=124, keep_monthly=KEEP, progress=False)
    for k in reference.values:
        assert not np.array_equal(reference.values[k], other.values[k]), k
    assert not np.array_equal(reference.params.to_numpy(), other.params.to_numpy())


def test_seed_zero_is_a_seed(plan):
    a = okma_sim.simulate(plan, n_paths=500, seed=0, progress=False)
    b = okma_sim.simulate(plan, n_paths=500, seed=0, progress=False)
    c = okma_sim.simulate(plan, n_paths=500, seed=1, progress=False)
    assert a.seed == 0
    assert_identical(a, b)
    assert not np.array_equal(a.values["revenue"], c.values["revenue"])


def test_no_seed_reports_a_reproducing_seed(plan):
    a = okma_sim.simulate(plan, n_paths=300, progress=False)
    b = okma_sim.simulate(plan, n_paths=300, seed=a.seed, progress=False)
    assert isinstance(a.seed, int)
    assert_identical(a, b)


def test_rng_generator(plan):
    a = okma_sim.simulate(plan, n_paths=500, rng=np.random.default_rng(42), progress=False)
    b = okma_sim.simulate(plan, n_paths=500, rng=np.random.default_rng(42), progress=False)
    c = okma_sim.simulate(plan, n_paths=500, rng=np.random.default_rng(43), progress=False)
    assert_identical(a, b)
    assert not np.array_equal(a.values["revenue"], c.values["revenue"])
    # the seed drawn from the generator reproduces the run
    assert_identical(a, okma_sim.simulate(plan, n_paths=500, seed=a.seed, progress=False))
    with pytest.raises(ValueError):
        okma_sim.simulate(plan, n_paths=10, seed=1, rng=np.random.default_rng(1))


def test_seed_sequence(plan):
    a = okma_sim.simulate(plan, n_paths=500, seed=np.random.SeedSequence(77), progress=False)
    b = okma_sim.simulate(plan, n_paths=500, seed=77, progress=False)
    assert_identical(a, b)
    # fresh entropy (128 bits) is reported as an int that reproduces the run
    c = okma_sim.simulate(plan, n_paths=300, seed=np.random.SeedSequence(), progress=False)
    assert_identical(c, okma_sim.simulate(plan, n_paths=300, seed=c.seed, progress=False))


@pytest.mark.parametrize("bad", [-1, 1.5, "7", True, np.random.SeedSequence([1, 2]),
                                 np.random.SeedSequence(5).spawn(1)[0]])
def test_bad_seed_rejected(plan, bad):
    with pytest.raises(ValueError, match="seed"):
        okma_sim.simulate(plan, n_paths=10, seed=bad)


@pytest.mark.parametrize("sampler", ["lhs", "sobol"])
def test_designs_do_not_depend_on_chunking(plan, sampler):
    kw = dict(n_paths=BLOCK_SIZE + 1000, seed=5, sampler=sampler, replicates=4, keep_monthly=KEEP,
              progress=False)
    a = okma_sim.simulate(plan, chunk_size=None, **kw)
    b = okma_sim.simulate(plan, chunk_size=BLOCK_SIZE, **kw)
    with ThreadPoolExecutor(max_workers=2) as ex:
        c = okma_sim.simulate(plan, chunk_size=BLOCK_SIZE, executor=ex, **kw)
    assert_identical(a, b)
    assert_identical(a, c)
    np.testing.assert_array_equal(a.replicate_index, b.replicate_index)


def test_draw_parameters_checks_inputs_as_simulate_does(plan):
    from okma_sim import OkmaError
    from okma_sim.engine import draw_parameters
    for fn in (okma_sim.simulate, draw_parameters):
        with pytest.raises(OkmaError, match="pinned.*nope"):
            fn(plan, 10, 1, pinned={"nope": 1.0})
        with pytest.raises(OkmaError, match="paths"):
            fn(plan, 0, 1)
    # the same draws as a run, pins included
    pins = {"csat_base": 0.8}
    d = draw_parameters(plan, BLOCK_SIZE + 10, 3, pinned=pins)
    r = okma_sim.simulate(plan, BLOCK_SIZE + 10, seed=3, pinned=pins, progress=False)
    np.testing.assert_array_equal(d.to_numpy(), r.params.to_numpy())
    assert d.attrs["warnings"] == []
