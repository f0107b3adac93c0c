"""What a result records about its run: the pins it held (``extra["pinned"]``), and that the
pinned parameter is that value on every path."""

from __future__ import annotations

import numpy as np

import okma_sim


def test_pins_are_recorded():
    plan = okma_sim.load_plan(okma_sim.case_study_path())
    res = okma_sim.simulate(plan, n_paths=300, seed=1, pinned={"churn_base": 0.05},
                            progress=False)
    assert res.extra["pinned"] == {"churn_base": 0.05}
    assert np.all(res.params["churn_base"] == 0.05)
    free = okma_sim.simulate(plan, n_paths=300, seed=1, progress=False)
    assert free.extra["pinned"] == {}
    assert free.params["churn_base"].nunique() > 1


def test_mean_of_no_values_is_nan_not_an_error():
    from okma_sim.results import mean_stderr
    m, se = mean_stderr(np.array([]))
    assert np.isnan(m) and np.isnan(se)
    # and of values: the mean and the plain standard error of the mean
    m, se = mean_stderr(np.array([0.0, 0.5, 1.0, 0.5]))
    assert m == 0.5 and se == np.std([0.0, 0.5, 1.0, 0.5], ddof=1) / 2
