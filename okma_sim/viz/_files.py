"""Figures written to PNG files, atomically."""

from __future__ import annotations

import io
from typing import Any, Sequence

from okma_sim._core.files import atomic_write

from ._result_figures import fan_chart, probability_bars

__all__ = ["save_png", "save_check_figures"]


def save_png(fig, path, *, overwrite: bool = False, dpi: int = 110, **kwargs):
    """Render a figure to PNG and write it atomically (never half-written; no overwrite
    unless asked), then close it. Returns the path."""
    import matplotlib.pyplot as plt
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, **kwargs)
    plt.close(fig)
    atomic_write(path, buf.getvalue(), overwrite=overwrite)
    return path


def save_check_figures(result: Any, paths: Sequence, *, overwrite: bool = False) -> list:
    """The fan chart of the main objective and the probability bars, as PNG (atomically)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for path, draw in zip(paths, (fan_chart, probability_bars)):
        fig, ax = plt.subplots(figsize=(9, 5))
        draw(result, ax=ax)
        fig.tight_layout()
        written.append(save_png(fig, path, overwrite=overwrite))
    return written
