"""Models: the protocol, the built-in sales-team model, and a small test model."""

from __future__ import annotations

from typing import Any

from .protocol import LeverInfo, MetricInfo, Model, Outcomes, ParameterInfo
from .sales import SalesState, SalesTeamModel
from .toy import LinearToyModel

__all__ = ["LeverInfo", "LinearToyModel", "MetricInfo", "Model", "Outcomes", "ParameterInfo",
           "SalesState", "SalesTeamModel", "get_model", "register_model"]

_REGISTRY: dict[str, Any] = {"sales_team": SalesTeamModel, "linear_toy": LinearToyModel}


def register_model(name: str, factory: Any) -> None:
    """Make a model available to scenario files as ``model = "name"``."""
    _REGISTRY[name] = factory


def get_model(name: str = "sales_team") -> Any:
    """The model a scenario names (``model = "..."``; default ``sales_team``)."""
    from .._errors import PlanError
    if name not in _REGISTRY:
        raise PlanError(f"unknown model; known: {', '.join(sorted(_REGISTRY))}", key="model",
                        value=name)
    return _REGISTRY[name]()
