"""What a report is made of: sections of paragraphs, bullet lists, tables and figures, with no
HTML in them (the renderer turns them into a page)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence, Union

__all__ = ["Paragraph", "Bullets", "Table", "Figure", "Section", "Report", "draw"]


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A table of strings already worded for reading; ``numeric`` columns align right."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[int, ...] = ()


@dataclass(frozen=True)
class Figure:
    """A figure rendered to PNG, with its caption."""

    caption: str
    png: bytes


Block = Union[Paragraph, Bullets, Table, Figure]


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Report:
    """A report: its title, the lines under it (what was run), and its sections.

    Examples
    --------
    >>> r = Report("Plan", ("1,000 simulated runs",), (Section("a", "A", (Paragraph("x"),)),))
    >>> r.figures
    []
    """

    title: str
    subtitle: tuple[str, ...]
    sections: tuple[Section, ...]
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def figures(self) -> list[Figure]:
        """Every figure of the report, in order."""
        return [b for s in self.sections for b in s.blocks if isinstance(b, Figure)]


def draw(caption: str, plot: Callable[..., Any], *args: Any, size: Sequence[float] = (9, 5),
         **kwargs: Any) -> Figure:
    """Draw ``plot(*args, ax=ax, **kwargs)`` (a :mod:`okma_sim.viz` function) on a new figure
    and render it to PNG.

    Examples
    --------
    >>> import okma_sim
    >>> from okma_sim.viz import probability_bars
    >>> res = okma_sim.simulate(okma_sim.load_plan(okma_sim.case_study_path()), 300, seed=1)
    >>> draw("odds", probability_bars, res).png[:4]
    b'\\x89PNG'
    """
    # a Figure without pyplot: no backend is switched and no global figure is kept (a
    # notebook's inline plots are left alone)
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=tuple(size))
    plot(*args, ax=fig.subplots(), **kwargs)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return Figure(caption, buf.getvalue())
