"""The live ipywidgets dashboard: slider specs declared apart from the model, a worker pool,
and the Dashboard itself. The model never imports this package.

Sliders
    SliderSpec, slider_specs
Workers
    default_workers
The dashboard
    Dashboard
"""

from ._dashboard import Dashboard
from ._pool import default_workers
from ._sliders import SliderSpec, slider_specs

__all__ = ["Dashboard", "SliderSpec", "default_workers", "slider_specs"]
