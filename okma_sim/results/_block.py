"""What the engine hands to a result: the outputs of one block of paths (or of a whole run,
when the engine has merged its blocks in place)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

__all__ = ["BlockOutput"]


@dataclass(frozen=True)
class BlockOutput:
    """The outputs of block ``block`` of a run (picklable: workers send it back).

    Attributes
    ----------
    block : int
        The block's index (0 for a whole run merged from its blocks).
    values : dict of id -> ndarray (paths,)
        Each objective's and key result's aggregated metric, per path.
    monthly : dict of metric -> ndarray (paths, months), float32
        The kept per-month values.
    params : ndarray (paths, parameters)
        The parameter values of each path, in the run's parameter order.
    diagnostics : dict of name -> float
        The model's counters, summed over the block's paths.
    per_rep, state :
        Per-rep history columns and the final model state, when the run records reps
        (else None).
    """

    block: int
    values: Mapping[str, np.ndarray]
    monthly: Mapping[str, np.ndarray]
    params: np.ndarray
    diagnostics: Mapping[str, float]
    per_rep: Mapping[str, np.ndarray] | None = None
    state: Any = None
