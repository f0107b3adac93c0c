"""A report from a simulation or a review: its title, what was run, and the registry's
sections."""

from __future__ import annotations

from typing import Any, Callable, Sequence

from okma_sim._core.version import __version__

from ._blocks import Report, Section
from ._review_sections import REVIEW_SECTIONS
from ._sections import SECTIONS

__all__ = ["plan_report", "review_report"]


def _sections(subject: Any, registry: Sequence[Callable[[Any], Section | None]]
              ) -> tuple[Section, ...]:
    return tuple(s for s in (build(subject) for build in registry) if s is not None)


def plan_report(result: Any, sections: Sequence[Callable[[Any], Section | None]] | None = None
                ) -> Report:
    """The plan report of one simulation (:func:`okma_sim.simulate`; pass it
    ``**report_options(plan)`` for the per-rep outlook and the cost of the hours).

    Parameters
    ----------
    result : SimulationResult
    sections : list of callables, optional
        Default: :data:`okma_sim.report.SECTIONS`.

    Examples
    --------
    >>> import okma_sim
    >>> res = okma_sim.simulate(okma_sim.load_plan(okma_sim.case_study_path()), 300, seed=1)
    >>> rep = plan_report(res)
    >>> [s.key for s in rep.sections][:3], len(rep.figures)
    (['verdicts', 'odds', 'outlook'], 6)
    """
    plan = result.plan
    sub = (f"{result.n_paths:,} simulated runs, seed {result.seed} (the same seed gives the "
           f"same figures); okma_sim {__version__}",)
    return Report(f"{plan.name}: will the plan be met?", sub,
                  _sections(result, SECTIONS if sections is None else sections),
                  tuple(result.warnings))


def review_report(rv: Any, sections: Sequence[Callable[[Any], Section | None]] | None = None
                  ) -> Report:
    """The report of a mid-period review (:func:`okma_sim.inference.review`): the verdicts now
    and at plan time, the reps behind pace and the recommendation."""
    plan = rv.plan
    sub = (f"review after {rv.months_observed} of {plan.horizon_months} months"
           + ("" if rv.complete else f"; {rv.n_paths:,} simulated runs, seed {rv.seed}")
           + f"; okma_sim {__version__}",)
    return Report(f"{plan.name}: mid-period review", sub,
                  _sections(rv, REVIEW_SECTIONS if sections is None else sections),
                  tuple(rv.warnings))
