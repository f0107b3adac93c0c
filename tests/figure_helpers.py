"""Reading a drawn figure back: an artist by its gid, the edges of a band, tick texts."""

from __future__ import annotations

import numpy as np


def by_gid(artists, gid):
    """The one artist with this gid (fails when there is none, or more than one)."""
    found = [a for a in artists if a.get_gid() == gid]
    assert len(found) == 1, f"expected one artist with gid {gid!r}, found {len(found)}"
    return found[0]


def band_edges(coll, n):
    """Lower and upper edge of a fill_between polygon at x = 0..n-1."""
    v = coll.get_paths()[0].vertices
    lo = np.array([v[np.isclose(v[:, 0], i), 1].min() for i in range(n)])
    hi = np.array([v[np.isclose(v[:, 0], i), 1].max() for i in range(n)])
    return lo, hi


def tick_texts(fig, axis):
    """The non-empty tick label texts of ``axis`` (set when the figure is drawn)."""
    fig.canvas.draw()
    return [t.get_text() for t in axis.get_ticklabels() if t.get_text()]
