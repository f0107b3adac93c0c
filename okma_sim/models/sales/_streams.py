"""The model's random streams: one per kind of draw, so that two plans run under one seed
share their draws (common random numbers, docs/model.md section 2)."""

from __future__ import annotations

import numpy as np

__all__ = ["STREAMS", "SeatStreams", "spawn_streams"]

#: the kinds of draw, each with its own stream (spawned in this order)
STREAMS = ("skill", "acquisition", "revisit", "churn", "orders", "order_value", "survey",
           "csat", "attrition", "replacement")


class SeatStreams:
    """A random stream whose per-seat draws (2-D arrays, paths x seats) take the first ``R``
    seats from ``main`` and the rest from ``extra``: the roster's draws are those of a plan
    without the extra seats. Per-path draws (1-D) come from ``main``."""

    def __init__(self, main: np.random.Generator, extra: np.random.Generator, R: int) -> None:
        self.main, self.extra, self.R = main, extra, R

    def _split(self, shape) -> bool:
        return isinstance(shape, tuple) and len(shape) == 2 and shape[1] > self.R

    def random(self, size=None):
        if not self._split(size):
            return self.main.random(size)
        return np.concatenate([self.main.random((size[0], self.R)),
                               self.extra.random((size[0], size[1] - self.R))], axis=1)

    def standard_normal(self, size=None):
        if not self._split(size):
            return self.main.standard_normal(size)
        return np.concatenate([self.main.standard_normal((size[0], self.R)),
                               self.extra.standard_normal((size[0], size[1] - self.R))],
                              axis=1)

    def standard_gamma(self, shape):
        shape = np.asarray(shape)
        if not self._split(shape.shape):
            return self.main.standard_gamma(shape)
        R = self.R
        return np.concatenate([self.main.standard_gamma(shape[:, :R]),
                               self.extra.standard_gamma(shape[:, R:])], axis=1)


def spawn_streams(rng: np.random.Generator, n_roster: int, n_seats: int) -> dict:
    """One stream per kind of draw, spawned from ``rng``.

    Seats beyond the roster (hiring rules, new hires) draw from streams of their own, spawned
    next, so adding them never changes the roster's draws (a rule that never fires changes
    nothing under one seed).
    """
    streams = dict(zip(STREAMS, rng.spawn(len(STREAMS))))
    if n_seats > n_roster:
        extra = dict(zip(STREAMS, rng.spawn(len(STREAMS))))
        streams = {k: SeatStreams(streams[k], extra[k], n_roster) for k in STREAMS}
    return streams
