"""Matplotlib figures drawn from results' data. Every function takes ``ax=`` and returns the
Axes. The ``.plot`` accessors of the result classes are registered here, from above."""

from ._plots import (PERCENT_METRICS, SYMBOL, achievability_curve, achievable_level,
                     cost_frontier, coverage_chart, fan_chart, fmt_level, histogram, main_target, metric_label,
                     pit_histogram, policy_comparison, probability_bars, save_check_figures,
                     save_png, tornado)

__all__ = ["PERCENT_METRICS", "SYMBOL", "achievability_curve", "achievable_level",
           "cost_frontier", "coverage_chart", "fan_chart", "fmt_level", "histogram", "main_target",
           "metric_label", "pit_histogram", "policy_comparison", "probability_bars",
           "save_check_figures", "save_png", "tornado"]
