"""The model's random streams: one per kind of draw, so that two plans run under one seed
share their draws (common random numbers, docs/model.md section 2)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["STREAMS", "SeatStreams", "spawn_streams"]

#: the kinds of draw, each with its own stream (spawned in this order)
STREAMS = ("skill", "acquisition", "revisit", "churn", "orders", "order_value", "survey",
           "csat", "attrition", "replacement")


class SeatStreams:
    """A random stream whose per-seat draws (2-D arrays, paths x seats) take the first ``R``
    seats from ``main``, the next ``H`` (hiring rules' seats) from ``extra`` and each seat
    after those (the ``new_reps`` lever's) from a generator of its own: the roster's draws are
    those of a plan without the extra seats, and a new rep's draws do not depend on how many
    others are hired. Per-path draws (1-D) come from ``main``."""

    def __init__(self, main: np.random.Generator, extra: np.random.Generator, R: int,
                 H: int, own: Sequence[np.random.Generator] = ()) -> None:
        self.main, self.extra, self.R, self.H = main, extra, R, H
        self.own = tuple(own)

    def _split(self, shape) -> bool:
        return isinstance(shape, tuple) and len(shape) == 2 and shape[1] > self.R

    def _parts(self, S: int) -> list[tuple[np.random.Generator, int, int]]:
        """(generator, first seat, last seat + 1) of each block of seats."""
        R, H = self.R, self.H
        parts = [(self.main, 0, R)]
        if H > 0:
            parts.append((self.extra, R, R + H))
        parts += [(g, R + H + i, R + H + i + 1) for i, g in enumerate(self.own)]
        return parts

    def random(self, size=None):
        if not self._split(size):
            return self.main.random(size)
        return np.concatenate([g.random((size[0], b - a)) for g, a, b in self._parts(size[1])],
                              axis=1)

    def standard_normal(self, size=None):
        if not self._split(size):
            return self.main.standard_normal(size)
        return np.concatenate([g.standard_normal((size[0], b - a))
                               for g, a, b in self._parts(size[1])], axis=1)

    def standard_gamma(self, shape):
        shape = np.asarray(shape)
        if not self._split(shape.shape):
            return self.main.standard_gamma(shape)
        return np.concatenate([g.standard_gamma(shape[:, a:b])
                               for g, a, b in self._parts(shape.shape[1])], axis=1)


def spawn_streams(rng: np.random.Generator, n_roster: int, n_seats: int,
                  n_new: int = 0) -> dict:
    """One stream per kind of draw, spawned from ``rng``.

    Seats beyond the roster (hiring rules' seats, then ``n_new`` new reps' seats) draw from
    streams of their own, spawned next, so adding them never changes the roster's draws (a
    rule that never fires changes nothing under one seed). Each new rep's seat has its own
    stream per kind, the same whatever the number of new reps (child ``i`` of one parent).
    """
    streams = dict(zip(STREAMS, rng.spawn(len(STREAMS))))
    # the month's market shock (one draw per path): a child of the acquisition stream, which
    # spawning leaves unchanged, so adding it changed no other draw, whatever the seats; the
    # model discrepancy's shocks (two a path) are its second child, which leaves the first
    market, discrepancy = streams["acquisition"].spawn(2)
    if n_seats > n_roster:
        extra = dict(zip(STREAMS, rng.spawn(len(STREAMS))))
        own: dict[str, list] = {k: [] for k in STREAMS}
        if n_new > 0:
            parents = dict(zip(STREAMS, rng.spawn(len(STREAMS))))
            own = {k: parents[k].spawn(n_new) for k in STREAMS}
        H = n_seats - n_roster - n_new
        streams = {k: SeatStreams(streams[k], extra[k], n_roster, H, own[k]) for k in STREAMS}
    streams["market"] = market
    streams["discrepancy"] = discrepancy
    return streams
