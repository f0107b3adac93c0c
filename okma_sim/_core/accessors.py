"""Accessor slots: a result class declares ``plot = AccessorSlot("plot")`` and a higher layer
registers what fills it, so data never imports its pictures (the pattern of xarray's ``.plot``).

The slot looks the factory up along the owner's MRO on every access, so subclasses inherit a
registration and nothing is cached on a frozen dataclass.
"""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["AccessorSlot", "register_accessor"]

_REGISTRY: dict[tuple[type, str], Callable[[Any], Any]] = {}


def register_accessor(cls: type, name: str, factory: Callable[[Any], Any]) -> None:
    """Fill ``cls.<name>`` with ``factory(instance)`` (called on each attribute access)."""
    _REGISTRY[(cls, name)] = factory


class AccessorSlot:
    """A class attribute whose value a higher layer provides through :func:`register_accessor`.

    Examples
    --------
    >>> class Data:
    ...     plot = AccessorSlot("plot")
    >>> class DataPlot:
    ...     def __init__(self, obj): self.obj = obj
    ...     def __call__(self): return "drawn"
    >>> register_accessor(Data, "plot", DataPlot)
    >>> Data().plot()
    'drawn'
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type) -> Any:
        for klass in owner.__mro__:
            factory = _REGISTRY.get((klass, self.name))
            if factory is not None:
                return factory if obj is None else factory(obj)
        raise AttributeError(f"{owner.__name__}.{self.name} is provided by okma_sim.viz; "
                             f"import okma_sim (or okma_sim.viz) to register it")
