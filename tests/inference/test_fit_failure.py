"""A joint fit that fails is reported as failed, not as data without information."""

from __future__ import annotations

import numpy as np

from okma_sim.inference._entries import Collector
from okma_sim.inference._laplace import Laplace
from okma_sim.models.sales import PARAMETERS

NAMES = ["base_win_rate", "order_value", "repeat_order_rate"]


def _collector() -> Collector:
    return Collector({n: PARAMETERS[n].prior for n in NAMES},
                     {n: PARAMETERS[n].bounds for n in NAMES})


def _laplace(col: Collector, ok: bool) -> Laplace:
    # a posterior a tenth of each prior's sd wide, centred on the prior's median
    priors = [col.prior_of(n) for n in NAMES]
    mode = np.array([p.phi_med for p in priors])
    sd = np.array([0.1 * p.phi_sd for p in priors])
    q = np.column_stack([mode - 1.645 * sd, mode, mode + 1.645 * sd])
    cov = np.diag(sd ** 2)
    return Laplace(NAMES, mode, cov, priors, np.zeros(3, bool), ok, q if ok else None)


def test_a_failed_joint_fit_warns_and_says_so_per_parameter():
    col = _collector()
    col.from_laplace(_laplace(col, ok=False), {n: 100 for n in NAMES}, {})
    assert [col.entries[n].source for n in NAMES] == ["prior"] * 3
    assert all(col.entries[n].note == "the joint fit failed: prior kept" for n in NAMES)
    assert col.warnings == ["the joint fit of base_win_rate, order_value, repeat_order_rate "
                            "failed (its curvature at the mode is not positive definite): "
                            "they keep their priors"]


def test_a_successful_joint_fit_does_not_warn():
    col = _collector()
    col.from_laplace(_laplace(col, ok=True), {n: 100 for n in NAMES}, {})
    assert col.warnings == []
    assert [col.entries[n].source for n in NAMES] == ["fitted"] * 3
