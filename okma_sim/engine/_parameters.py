"""The parameters a run draws: the model's priors overridden by the plan, the correlation
matrix, pins, and the per-path draws without running the model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd

from okma_sim._core.errors import OkmaError
from okma_sim._core.seeds import normalize_seed
from okma_sim.models import get_model
from okma_sim.params import as_distribution
from okma_sim.plan import Plan
from ._blocks import RunSpec, block_parameters, block_sizes, check_paths, parameter_matrix
from ._designs import nearest_correlation

__all__ = ["resolve_parameters", "draw_parameters"]


def resolve_parameters(plan: Plan, model: Any) -> dict[str, Any]:
    """Model priors overridden by the plan's ``[parameters]``: name -> distribution."""
    out = {k: as_distribution(v, f"parameters.{k}") for k, v in model.parameters.items()}
    for k, v in plan.parameters.items():
        if k in out:
            out[k] = v
    return out


@dataclass(frozen=True)
class ParameterSetup:
    """What :func:`okma_sim.simulate` and :func:`draw_parameters` both need to draw
    parameters: the resolved priors and their names, the (repaired) correlation matrix over
    ``corr_names``, the checked pins, and warnings."""

    dists: dict[str, Any]
    names: tuple[str, ...]
    corr: np.ndarray | None
    corr_names: tuple[str, ...]
    pinned: dict[str, float]
    warnings: list[str]
    anchor: bool = False  # rescale the draws to the plan's baseline year


def parameter_setup(plan: Plan, model: Any, pinned: Mapping[str, float] | None
                    ) -> ParameterSetup:
    """Resolve the priors, repair the correlation matrix if need be, and check the pins."""
    dists = resolve_parameters(plan, model)
    warn: list[str] = []
    corr, corr_names = None, ()
    if plan.correlations is not None:
        corr, repaired = nearest_correlation(np.array(plan.correlations.matrix, dtype=float))
        corr_names = tuple(plan.correlations.parameters)
        if repaired:
            warn.append("correlation matrix repaired: it was not positive definite; the "
                        "nearest one was used")
    pinned = dict(pinned or {})
    for k in pinned:
        if k not in dists:
            raise OkmaError("unknown parameter", key="pinned", value=k)
    anchors = getattr(model, "anchors", None)
    return ParameterSetup(dists, tuple(dists), corr, corr_names, pinned, warn,
                          anchor=bool(anchors is not None and anchors(plan)))


def draw_parameters(plan: Plan, n_paths: int, seed: Any, *, model: Any = None,
                    sampler: str | None = None, replicates: int | None = None,
                    pinned: Mapping[str, float] | None = None):
    """The parameter values :func:`simulate` draws for each path, without running the model.

    Same seed, paths, sampler and pins give exactly ``simulate(...).params`` (the same blocks
    and designs), so an analysis can work on the draws before a run (a review's reweighting).
    Inputs are checked as ``simulate`` checks them; its warnings (a repaired correlation
    matrix) are in ``.attrs["warnings"]``.

    Examples
    --------
    >>> import okma_sim
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> draw_parameters(plan, 10, 1).shape[0]
    10
    """
    model = get_model(plan.model) if model is None else model
    n_paths = check_paths(n_paths)
    seed_int = normalize_seed(seed)
    sampler = sampler or plan.simulation.sampler
    replicates = int(replicates or plan.simulation.replicates)
    ps = parameter_setup(plan, model, pinned)
    spec = RunSpec(plan=plan, model=model, entropy=seed_int, param_names=ps.names,
                   dists=ps.dists, pinned=ps.pinned, keep_monthly=(), record_reps=False,
                   sampler=sampler, replicates=replicates, n_paths=n_paths, corr=ps.corr,
                   corr_names=ps.corr_names, anchor=ps.anchor)
    design = spec.design()
    parts = []
    for k, size in enumerate(block_sizes(n_paths)):
        u = None if sampler == "mc" else design.uniforms(k, None, size)
        params, _ = block_parameters(spec, k, size, u)
        parts.append(parameter_matrix(spec, params, size))
    out = pd.DataFrame(np.concatenate(parts), columns=list(ps.names))
    out.attrs["warnings"] = ps.warnings  # as simulate would report them
    return out
