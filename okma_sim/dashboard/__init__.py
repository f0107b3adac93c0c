"""The live ipywidgets dashboard: slider specs declared apart from the model, a worker pool,
and the Dashboard itself. The model never imports this package."""

from ._widgets import Dashboard, SliderSpec, default_workers, slider_specs

__all__ = ["Dashboard", "SliderSpec", "default_workers", "slider_specs"]
