"""The model registry: the names a scenario's ``model = "..."`` may use."""

from __future__ import annotations

from typing import Any

from okma_sim._core.errors import PlanError

from .sales import SalesTeamModel
from .toy import LinearToyModel

__all__ = ["get_model", "register_model"]

_REGISTRY: dict[str, Any] = {"sales_team": SalesTeamModel, "linear_toy": LinearToyModel}


def register_model(name: str, factory: Any) -> None:
    """Make a model available to scenario files as ``model = "name"``.

    Examples
    --------
    >>> from okma_sim.models import LinearToyModel
    >>> register_model("my_toy", LinearToyModel)
    >>> type(get_model("my_toy")).__name__
    'LinearToyModel'
    """
    _REGISTRY[name] = factory


def get_model(name: str = "sales_team") -> Any:
    """The model a scenario names (``model = "..."``; default ``sales_team``)."""
    if name not in _REGISTRY:
        raise PlanError(f"unknown model; known: {', '.join(sorted(_REGISTRY))}", key="model",
                        value=name)
    return _REGISTRY[name]()
