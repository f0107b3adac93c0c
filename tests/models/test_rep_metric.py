"""A rep's metric since the last review is its total over the months the rep worked; a seat
nobody filled has no value (NaN), even when its book holds customers, so no rule fires on it
(docs/model.md, management review)."""

from __future__ import annotations

import numpy as np

from okma_sim.models.sales._rules import rep_metric


def test_rep_metric_is_per_month_worked_and_nan_for_an_unfilled_seat():
    acc = {"filled": np.array([[2.0, 0.0, 1.0]]), "active": np.array([[80.0, 40.0, 30.0]]),
           "new": np.array([[4.0, 0.0, 3.0]]), "revisited": np.array([[60.0, 0.0, 15.0]])}
    np.testing.assert_array_equal(rep_metric("active_customers", acc), [[40.0, np.nan, 30.0]])
    np.testing.assert_array_equal(rep_metric("new_customers", acc), [[2.0, np.nan, 3.0]])
    rr = rep_metric("revisit_rate", acc)
    np.testing.assert_array_equal(rr[:, [0, 2]], [[0.75, 0.5]])  # pooled, not a mean of months
