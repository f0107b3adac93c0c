"""What came out of a simulation: per-path aggregates become KR and objective verdicts,
probabilities with Monte Carlo standard errors, quantiles, bands, OKR grades and one-result
views (achievable targets, achievability curves). Results never import plotting: the ``.plot``
accessor is registered from above, by the plotting layer."""

from ._aggregate import aggregate
from ._block import BlockOutput
from ._estimate import QUANTILES, Estimate, estimate, mean_stderr
from ._grading import grade, grading_text, label, score_distribution, scores
from ._plain import (aggregate_phrase, baseline_total, level_text, metric_name, rule_name,
                     target_label, target_name, value_text, verdict)
from ._result import SimulationResult, capacity_text
from ._views import (achievability_curve, achievable_target,
                     achievable_targets, check_confidence)

__all__ = ["QUANTILES", "BlockOutput", "Estimate", "SimulationResult", "capacity_text",
           "aggregate", "achievability_curve", "achievable_target", "achievable_targets",
           "aggregate_phrase", "baseline_total", "check_confidence", "estimate", "grade",
           "grading_text", "label", "level_text", "mean_stderr", "metric_name", "rule_name",
           "score_distribution", "scores", "target_label", "target_name", "value_text",
           "verdict"]
