"""The seats' random streams against the rule docs/model.md states, recomputed independently
from ``numpy.random.SeedSequence``: the roster's seats draw from the kind's own child, the
hiring rules' seats from a second set of children, and each new rep's seat from child ``i``
of a third set, so that adding hires or new reps never changes anyone else's draws."""

from __future__ import annotations

import numpy as np
import pytest

from okma_sim.models.sales._streams import STREAMS, spawn_streams

K = len(STREAMS)


def _expected(seed: int, kind: str, R: int, H: int, n_new: int, paths: int) -> np.ndarray:
    """(paths, R + H + n_new) uniforms as the rule says, from SeedSequence(seed) alone."""
    kids = np.random.SeedSequence(seed).spawn(3 * K)
    k = STREAMS.index(kind)
    cols = [np.random.default_rng(kids[k]).random((paths, R))]
    if H:
        cols.append(np.random.default_rng(kids[K + k]).random((paths, H)))
    if n_new:
        for child in kids[2 * K + k].spawn(n_new):
            cols.append(np.random.default_rng(child).random((paths, 1)))
    return np.concatenate(cols, axis=1)


@pytest.mark.parametrize("R, H, n_new", [(4, 0, 0), (4, 2, 0), (4, 0, 3), (4, 2, 3), (1, 3, 1)])
@pytest.mark.parametrize("kind", ["skill", "orders", "replacement"])
def test_each_seat_draws_from_its_documented_stream(R, H, n_new, kind):
    streams = spawn_streams(np.random.default_rng(np.random.SeedSequence(5)), R, R + H + n_new,
                            n_new)
    got = streams[kind].random((6, R + H + n_new))
    np.testing.assert_array_equal(got, _expected(5, kind, R, H, n_new, 6))


def test_per_path_draws_come_from_the_roster_stream():
    """1-D draws (one per path) are the kind's own child, whatever the seats."""
    streams = spawn_streams(np.random.default_rng(np.random.SeedSequence(9)), 3, 7, 2)
    want = np.random.default_rng(np.random.SeedSequence(9).spawn(K)[STREAMS.index("churn")])
    np.testing.assert_array_equal(streams["churn"].random(5), want.random(5))


def test_normal_and_gamma_draws_split_by_seat_the_same_way():
    R, H, n_new = 2, 2, 2
    streams = spawn_streams(np.random.default_rng(np.random.SeedSequence(3)), R, 6, n_new)
    shape = np.full((4, 6), 2.5)
    got = streams["order_value"].standard_gamma(shape)
    kids = np.random.SeedSequence(3).spawn(3 * K)
    k = STREAMS.index("order_value")
    gens = [np.random.default_rng(kids[k]), np.random.default_rng(kids[K + k]),
            *map(np.random.default_rng, kids[2 * K + k].spawn(n_new))]
    widths = [R, H, 1, 1]
    want = np.concatenate([g.standard_gamma(np.full((4, w), 2.5)) for g, w in zip(gens, widths)],
                          axis=1)
    np.testing.assert_array_equal(got, want)
