"""Accessor slots: empty until a higher layer registers a factory, then filled on every access,
inherited by subclasses, and only a declared slot can be filled."""

from __future__ import annotations

import pytest

from okma_sim._core.accessors import AccessorSlot, register_accessor


def _classes():
    class Data:
        plot = AccessorSlot("plot")

    class Sub(Data):
        pass

    class Drawing:
        def __init__(self, obj):
            self.obj = obj

    return Data, Sub, Drawing


def test_slot_is_empty_until_registered_then_filled_per_instance():
    Data, Sub, Drawing = _classes()
    with pytest.raises(AttributeError, match="okma_sim.viz"):
        Data().plot
    assert not hasattr(Sub(), "plot")
    register_accessor(Data, "plot", Drawing)
    d, s = Data(), Sub()
    assert isinstance(d.plot, Drawing) and d.plot.obj is d
    assert s.plot.obj is s  # a subclass inherits the registration
    assert Data.plot is Drawing  # on the class: the factory itself


def test_only_a_declared_slot_can_be_filled():
    Data, _, Drawing = _classes()
    with pytest.raises(TypeError, match="Data.figure is not an AccessorSlot"):
        register_accessor(Data, "figure", Drawing)
