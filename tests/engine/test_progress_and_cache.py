"""What a run shows and keeps beyond its estimates: the progress bar (asked for, or by default
for 4 blocks or more on a terminal), the kept monthly metrics stored as float32 however many
blocks a run merges, each block's final model state with record_reps, the parameter draws of
a design sampler equal to the run's, and the offending max_paths named in its error."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest

import okma_sim
from okma_sim import BLOCK_SIZE
from okma_sim._core.errors import OkmaError
from okma_sim.engine import draw_parameters

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parents[1] / "results"))
from test_targets import toy_plan  # noqa: E402


class _Terminal(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self) -> bool:
        return True


class _Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


def _stderr_of(monkeypatch, stream, **kw) -> str:
    monkeypatch.setattr(sys, "stderr", stream)
    okma_sim.simulate(toy_plan(), seed=1, **kw)
    monkeypatch.undo()
    return stream.getvalue()


def test_progress_true_shows_the_bar_even_for_one_block_off_a_terminal(monkeypatch):
    """progress=True always shows the bar, named after the plan."""
    err = _stderr_of(monkeypatch, _Pipe(), n_paths=10, progress=True)
    assert "simulating toy" in err


def test_progress_false_hides_the_bar_on_a_terminal(monkeypatch):
    """progress=False never shows it, even for a long run on a terminal."""
    err = _stderr_of(monkeypatch, _Terminal(), n_paths=8 * BLOCK_SIZE, progress=False)
    assert "simulating" not in err


@pytest.mark.parametrize("blocks, shown", [(3, False), (4, True)])
def test_default_bar_from_four_blocks_on_a_terminal(monkeypatch, blocks, shown):
    """By default the bar shows for runs of 4 blocks or more when stderr is a terminal."""
    err = _stderr_of(monkeypatch, _Terminal(), n_paths=blocks * BLOCK_SIZE)
    assert ("simulating toy" in err) == shown
    if shown:  # and never off a terminal
        assert "simulating" not in _stderr_of(monkeypatch, _Pipe(),
                                              n_paths=blocks * BLOCK_SIZE)


def test_kept_monthly_metrics_are_float32_whatever_the_block_count():
    """Kept monthly values are stored as float32 (docs/scaling.md) in a one-block run and in
    a run merging several blocks, and the merged values are the one-block run's own."""
    one = okma_sim.simulate(toy_plan(), BLOCK_SIZE, seed=4, progress=False)
    many = okma_sim.simulate(toy_plan(), 3 * BLOCK_SIZE, seed=4, progress=False)
    for m in ("score", "hit"):
        assert one.monthly[m].dtype == np.float32
        assert many.monthly[m].dtype == np.float32
        assert np.array_equal(many.monthly[m][:BLOCK_SIZE], one.monthly[m])


def test_record_reps_keeps_each_blocks_final_state():
    """With record_reps, result.states holds each block's model state at the horizon, one
    per block, covering that block's paths."""
    plan = okma_sim.load_plan(okma_sim.case_study_path())
    n = BLOCK_SIZE + 7
    res = okma_sim.simulate(plan, n, seed=2, record_reps=True, progress=False)
    assert len(res.states) == 2
    assert [s.seat.shape[0] for s in res.states] == [BLOCK_SIZE, 7]
    assert all(s.month_index == plan.horizon_months for s in res.states)


@pytest.mark.parametrize("sampler", ["lhs", "sobol"])
def test_draw_parameters_are_the_runs_draws_with_a_design(sampler):
    """draw_parameters gives exactly simulate(...).params for a design sampler too."""
    plan = okma_sim.load_plan(okma_sim.case_study_path())
    n = 300
    got = draw_parameters(plan, n, 5, sampler=sampler)
    run = okma_sim.simulate(plan, n, seed=5, sampler=sampler, progress=False)
    assert got.shape == (n, run.params.shape[1])
    assert np.array_equal(got.to_numpy(), run.params.to_numpy())


def test_too_small_max_paths_for_a_design_is_named_in_the_error():
    """max_paths below 4 with LHS is refused, and the error shows the value given."""
    with pytest.raises(OkmaError) as e:
        okma_sim.simulate(toy_plan(), seed=1, sampler="lhs", tolerance=0.05, max_paths=3,
                          progress=False)
    assert e.value.key == "max_paths" and e.value.value == 3
    assert "(got 3)" in str(e.value)
