"""A run resumed from an observed state whose path count is not a multiple of the block size,
checked row by row against an independent computation: path i starts from row i of the
state, draws its model streams from its block's seed, and its observed months come first.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import okma_sim
from okma_sim._core.seeds import BLOCK_SIZE
from okma_sim.engine import draw_parameters
from okma_sim.models import get_model

SEED = 41
N = BLOCK_SIZE + 301  # one full block and a partial one
DONE = 3  # months already observed


@pytest.fixture(scope="module")
def case():
    plan = okma_sim.load_plan(okma_sim.case_study_path())
    # parameters drawn without the baseline year: the state and the draws are what is tested
    return plan.replace(simulation=dataclasses.replace(plan.simulation, anchor=False))


def test_resumed_partial_blocks_row_by_row(case):
    model = get_model(case.model)
    params = {k: v.to_numpy() for k, v in draw_parameters(case, N, SEED).items()}
    # a different state on every row: the first months run on other draws and streams
    first = model.simulate(case.replace(horizon_months=DONE),
                           {k: v[::-1].copy() for k, v in params.items()},
                           np.random.default_rng(5))
    state = first.state
    # the quarters' survey flags of the whole horizon (the first run knew only its own)
    whole = model.initial_state(case, params, N, np.random.default_rng(6)).quarters_done
    done = np.zeros_like(whole)
    done[:, :state.quarters_done.shape[1]] = state.quarters_done
    state.quarters_done = done
    observed = {"revenue": [100.0, 200.0, 300.0], "new_customers": [4.0, 5.0, 6.0]}
    res = okma_sim.simulate(case, n_paths=N, seed=SEED, initial_state=state, observed=observed,
                            keep_monthly=["revenue", "new_customers"], progress=False)
    children = np.random.SeedSequence(SEED).spawn(2)
    for k, (lo, hi) in enumerate([(0, BLOCK_SIZE), (BLOCK_SIZE, N)]):
        rows = np.arange(lo, hi)
        p = {n: v[lo:hi].copy() for n, v in params.items()}
        out = model.simulate(case, p, np.random.default_rng(children[k].spawn(3)[1]),
                             initial_state=state.select(rows))
        rev = res.monthly["revenue"][lo:hi]
        # observed months first, the same on every path, then the simulated ones
        np.testing.assert_array_equal(rev[:, :DONE], np.tile([100.0, 200.0, 300.0],
                                                             (hi - lo, 1)))
        np.testing.assert_allclose(rev[:, DONE:], out.metrics["revenue"].astype(np.float32),
                                   rtol=1e-6, err_msg=f"block {k}")
        new = res.monthly["new_customers"][lo:hi]
        np.testing.assert_array_equal(new[:, :DONE], np.tile([4.0, 5.0, 6.0], (hi - lo, 1)))
        np.testing.assert_array_equal(new[:, DONE:],
                                      out.metrics["new_customers"].astype(np.float32))
        for name in res.params.columns:
            np.testing.assert_array_equal(res.params[name].to_numpy()[lo:hi], p[name])
    # the objectives aggregate the observed months too: new customers a month, over all
    obj = next(o for o in case.key_results if o.metric == "new_customers")
    assert obj.aggregate == "mean"
    np.testing.assert_allclose(res.values[obj.id],
                               res.monthly["new_customers"].astype(float).mean(axis=1),
                               rtol=1e-6)
