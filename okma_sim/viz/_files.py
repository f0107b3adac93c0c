"""Figures as PNG: rendered in memory, and written to files atomically."""

from __future__ import annotations

import io
from typing import Any

from okma_sim._core.files import atomic_write

from ._result_figures import fan_chart, probability_bars

__all__ = ["save_png", "check_figures"]


def _render_png(fig, *, dpi: int = 110, **kwargs) -> bytes:
    """A figure rendered to PNG bytes; the figure is then closed."""
    import matplotlib.pyplot as plt
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, **kwargs)
    plt.close(fig)
    return buf.getvalue()


def save_png(fig, path, *, overwrite: bool = False, dpi: int = 110, **kwargs):
    """Render a figure to PNG and write it atomically (never half-written; no overwrite
    unless asked), then close it. Returns the path."""
    atomic_write(path, _render_png(fig, dpi=dpi, **kwargs), overwrite=overwrite)
    return path


def check_figures(result: Any) -> list[bytes]:
    """The fan chart of the main objective and the probability bars, as PNG bytes (what
    ``okma-sim check --figures`` writes): drawn in full before any file is written."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pngs = []
    for draw in (fan_chart, probability_bars):
        fig, ax = plt.subplots(figsize=(9, 5))
        draw(result, ax=ax)
        fig.tight_layout()
        pngs.append(_render_png(fig))
    return pngs
