"""Accessor slots: a result class declares ``plot = AccessorSlot("plot")`` and a higher layer
registers what fills it, so data never imports its pictures (the pattern of xarray's ``.plot``).

The slot holds the registered factory itself; subclasses inherit it as they inherit any class
attribute, and nothing is cached on a (frozen) instance.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

__all__ = ["AccessorSlot", "register_accessor"]


def register_accessor(cls: type, name: str, factory: Callable[[Any], Any]) -> None:
    """Fill ``cls.<name>`` with ``factory(instance)`` (called on each attribute access)."""
    slot = inspect.getattr_static(cls, name, None)
    if not isinstance(slot, AccessorSlot):
        raise TypeError(f"{cls.__name__}.{name} is not an AccessorSlot")
    slot.factory = factory


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
        self.factory: Callable[[Any], Any] | None = None

    def __get__(self, obj: Any, owner: type) -> Any:
        if self.factory is None:
            raise AttributeError(f"{owner.__name__}.{self.name} is provided by okma_sim.viz; "
                                 f"import okma_sim (or okma_sim.viz) to register it")
        return self.factory if obj is None else self.factory(obj)
