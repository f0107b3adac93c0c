"""The engine: runs a model for a plan in fixed seed blocks of paths, with MC, Latin
hypercube or Sobol designs, any executor (in-process, threads, Dask), and adaptive stopping."""

from ._adaptive import DEFAULT_FIRST, MIN_TOLERANCE, half_width
from ._blocks import RunSpec
from ._designs import (ParameterDesign, check_correlation, iman_conover, nearest_correlation,
                       spearman_to_normal)
from ._memory import (MemoryEstimate, available_memory, check_memory, estimate_memory,
                      format_bytes)
from ._parameters import draw_parameters, resolve_parameters
from ._simulate import simulate

__all__ = ["DEFAULT_FIRST", "MIN_TOLERANCE", "MemoryEstimate", "ParameterDesign", "RunSpec",
           "available_memory", "check_correlation", "check_memory", "draw_parameters",
           "estimate_memory", "format_bytes", "half_width", "iman_conover",
           "nearest_correlation", "resolve_parameters", "simulate", "spearman_to_normal"]
