"""The monthly step's speed shortcuts against the plain numpy they stand for, bit for bit, on
every kind of input their guards sort (the model's runs reach only some of them)."""

from __future__ import annotations

import numpy as np
import pytest

from okma_sim.models.sales._fast import is_plain, sparse_where

N, S = 5, 4


def _cond(seed: int, share: float = 0.3) -> np.ndarray:
    return np.random.default_rng(seed).random((N, S)) < share


VALUES = {
    "number": 2.5,
    "int": 3,
    "per path": np.arange(N, dtype=float).reshape(N, 1) + 0.5,
    "per seat": np.arange(N * S, dtype=float).reshape(N, S),
    "one row (broadcast)": np.arange(S, dtype=float).reshape(1, S) + 10.0,
    "1-D per seat (broadcast)": np.arange(S, dtype=float) + 20.0,
    "float32": np.full((N, S), 1.25, dtype=np.float32),
    "bool": True,
    "wide column block": np.ones((N, 2)) * 7.0,
}


@pytest.mark.parametrize("name", [n for n in VALUES if n != "wide column block"])
@pytest.mark.parametrize("cast", [None, np.int8])
def test_sparse_where_equals_np_where(name, cast):
    value = VALUES[name]
    old = np.random.default_rng(1).integers(0, 9, (N, S)).astype(cast or float)
    for seed in range(4):
        cond = _cond(seed)
        want = np.where(cond, value, old)
        want = want if cast is None else want.astype(cast)
        got = sparse_where(cond, value, old, cast=cast)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(old, np.random.default_rng(1).integers(0, 9, (N, S)))


def test_a_value_np_where_cannot_broadcast_is_refused_as_np_where_refuses():
    """(N, 2) against (N, S): np.where raises; the shortcut must not fill seats from it."""
    with pytest.raises(ValueError):
        np.where(_cond(0), VALUES["wide column block"], np.zeros((N, S)))
    with pytest.raises(ValueError):
        sparse_where(_cond(0), VALUES["wide column block"], np.zeros((N, S)))


def test_sparse_where_with_no_seat_returns_old_and_with_idx_matches():
    old = np.ones((N, S))
    assert sparse_where(np.zeros((N, S), bool), 5.0, old) is old
    cond = _cond(2, 0.5)
    np.testing.assert_array_equal(sparse_where(cond, 5.0, old, idx=np.flatnonzero(cond)),
                                  np.where(cond, 5.0, old))


def test_other_old_arrays_take_np_where():
    """An int or 1-D ``old`` is outside the fast path's contract: np.where's answer."""
    cond = _cond(3)
    old_int = np.arange(N * S).reshape(N, S)
    np.testing.assert_array_equal(sparse_where(cond, 1.5, old_int), np.where(cond, 1.5, old_int))
    row = np.arange(S, dtype=float)
    np.testing.assert_array_equal(sparse_where(cond, 1.5, row), np.where(cond, 1.5, row))


@pytest.mark.parametrize("a, plain", [
    (np.array([0.0, 1.0, 2.0]), True), (np.array([-0.0, 1.0]), False),
    (np.array([1.0, np.inf]), False), (np.array([1.0, np.nan]), False),
    (np.array([1.0, -1.0]), False), (np.array([1, 2]), False)])
def test_is_plain_is_exactly_when_a_product_equals_np_where(a, plain):
    assert is_plain(a) is plain
    if plain:  # then a product is np.where, sign bits included
        mask = np.arange(a.size) % 2 == 0
        np.testing.assert_array_equal(np.signbit(a * mask), np.signbit(np.where(mask, a, 0.0)))
        np.testing.assert_array_equal(a * mask, np.where(mask, a, 0.0))
