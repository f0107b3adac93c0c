"""Matplotlib figures drawn from results' data. Every function takes ``ax=`` and returns the
Axes. The ``.plot`` accessors of the result classes are registered here, from above.
Importing this package does not import matplotlib: each figure imports it when drawn.

Labels and levels
    metric_label, fmt_level, main_target, PERCENT_METRICS, SYMBOL
    metric_name, value_label, cost_label, percent_text, in_sentence (a target's statement:
    okma_sim.results.target_label)
One simulation
    fan_chart, probability_bars, histogram, achievability_curve
Analyses
    tornado, cost_frontier, policy_comparison
Joint targets
    joint_heatmap
Backtests
    pit_histogram, coverage_chart
Files
    save_png, check_figures
"""

from ._analysis_figures import cost_frontier, policy_comparison, tornado
from ._backtest_figures import coverage_chart, pit_histogram
from ._files import check_figures, save_png
from ._joint_figure import joint_heatmap
from ._labels import PERCENT_METRICS, SYMBOL, fmt_level, main_target, metric_label
from ._labels import cost_label, in_sentence, metric_name, percent_text, value_label
from ._result_figures import achievability_curve, fan_chart, histogram, probability_bars

__all__ = ["PERCENT_METRICS", "SYMBOL", "achievability_curve", "check_figures",
           "cost_frontier", "coverage_chart", "fan_chart", "fmt_level", "histogram",
           "joint_heatmap", "main_target", "metric_label", "pit_histogram", "policy_comparison",
           "probability_bars", "save_png", "tornado"]
__all__ += ["cost_label", "in_sentence", "metric_name", "percent_text", "value_label"]
