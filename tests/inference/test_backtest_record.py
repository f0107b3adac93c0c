"""The backtest's record and its cutoff messages: a single backtest is not rolling, a
rolling series is, both record the paths asked for; the cutoff error names the history's
own unit (months of a rep-month history, fitted months of an opportunities history) and the
fit's minimum only when there is one."""

from __future__ import annotations

import re

import pytest

import okma_sim
from okma_sim import DataError
from okma_sim.inference import backtest, check_cutoff, load_history, rolling_backtest

HISTORY = okma_sim.data_path("sales_history.csv")


@pytest.fixture(scope="module")
def hist():
    return load_history(HISTORY)


def test_single_and_rolling_records(hist):
    """backtest(): one run, rolling False; rolling_backtest(): rolling True; n_paths as asked."""
    one = backtest(hist, "2026-10", 1, n_paths=50, seed=3)
    assert one.rolling is False and len(one.runs) == 1 and one.n_paths == 50
    roll = rolling_backtest(hist, 1, n_paths=40, seed=3, first_cutoff="2026-10")
    assert roll.rolling is True and roll.n_paths == 40
    assert [r.cutoff for r in roll.runs] == ["2026-10", "2026-11"]


def test_cutoff_message_names_the_months_and_the_minimum(hist):
    with pytest.raises(DataError) as e:
        check_cutoff(hist, "2024-12", 1)
    msg = str(e.value)
    assert re.search(r"the history's months run", msg) and "fit needs" not in msg
    with pytest.raises(DataError) as e:
        check_cutoff(hist, "2024-12", 1, min_train=3)
    assert "the fit needs 3 of them" in str(e.value)


def test_option_errors_name_the_culprit(hist):
    """A horizon that is not a positive whole number is named with its message; a rolling
    backtest whose horizon leaves no cutoff names --horizon, not the --min-train given."""
    with pytest.raises(DataError, match="--horizon must be a positive whole number") as e:
        check_cutoff(hist, "2026-11", 0)
    assert e.value.key == "--horizon"
    with pytest.raises(DataError, match="no feasible cutoff") as e:
        rolling_backtest(hist, 40, n_paths=10, seed=1, min_train=3)
    assert (e.value.key, e.value.value) == ("--horizon", 40)
