"""Executors: a Dask LocalCluster (and a plain thread pool) give results identical to
in-process under one seed, for simulate, for `check --workers 2` and for a sweep; an
unreachable scheduler fails fast with one line."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest

import okma_sim
from okma_sim.analysis import sweep
from cli_helpers import one_error_line, run_cli

distributed = pytest.importorskip("dask.distributed")

CASE = okma_sim.case_study_path()


@pytest.fixture(scope="module")
def client():
    import dask
    logging.getLogger("distributed").setLevel(logging.ERROR)
    # as `--workers` does: keep glibc's dynamic mmap threshold in the workers (speed only)
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           host="127.0.0.1", dashboard_address=None)
    c = distributed.Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


def assert_same_result(a, b) -> None:
    assert a.n_paths == b.n_paths and a.seed == b.seed
    for k in a.values:
        np.testing.assert_array_equal(a.values[k], b.values[k])
    assert set(a.monthly) == set(b.monthly)
    for k in a.monthly:
        np.testing.assert_array_equal(a.monthly[k], b.monthly[k])
    pd.testing.assert_frame_equal(a.params, b.params)
    assert a.diagnostics == b.diagnostics
    assert a.to_json_dict() == b.to_json_dict()


def test_simulate_on_two_dask_workers_is_identical(client):
    plan = okma_sim.load_plan(CASE)
    # 3 blocks (the last one partial), one block per task, so both workers take part
    n = 2 * okma_sim.BLOCK_SIZE + 700
    local = okma_sim.simulate(plan, n_paths=n, seed=11, progress=False)
    remote = okma_sim.simulate(plan, n_paths=n, seed=11, progress=False, executor=client,
                               chunk_size=okma_sim.BLOCK_SIZE)
    assert_same_result(local, remote)
    assert len(client.scheduler_info()["workers"]) == 2


def test_sweep_on_dask_is_identical(client, tmp_path):
    grid = {"prospect_visits_per_week": [6, 8], "training_hours_per_month": [4, 10]}
    local = sweep([CASE], grid, n_paths=500, seed=21, out=tmp_path / "local.csv")
    remote = sweep([CASE], grid, n_paths=500, seed=21, out=tmp_path / "dask.csv",
                   executor=client)
    pd.testing.assert_frame_equal(local, remote)
    assert (tmp_path / "local.csv").read_bytes() == (tmp_path / "dask.csv").read_bytes()


def test_rolling_backtest_on_dask_is_identical(client):
    from okma_sim.inference import rolling_backtest
    from okma_sim.inference import load_history
    hist = load_history(okma_sim.data_path("sales_history.csv"))
    kw = dict(n_paths=300, seed=5, first_cutoff="2026-07")
    local = rolling_backtest(hist, 3, **kw)
    remote = rolling_backtest(hist, 3, executor=client, **kw)
    assert len(local.runs) >= 2  # several cutoffs, so both workers can take part
    assert local.to_json_dict() == remote.to_json_dict()


def test_check_with_workers_is_identical_to_in_process(capsys):
    from okma_sim.cli import main
    args = ["check", "--paths", "5000", "--seed", "31", "--json", "--no-progress"]
    remote = run_cli(*args, "--workers", "2")
    assert remote.returncode == 0, remote.stderr
    assert main(args) == 0
    a, b = json.loads(capsys.readouterr().out), json.loads(remote.stdout)
    assert a == b
    assert a["paths"] == 5000 and a["seed"] == 31


def test_unreachable_scheduler_fails_with_one_line_instead_of_hanging():
    address = "tcp://127.0.0.1:1"  # nothing listens on port 1
    # a hang would end in TimeoutExpired (the probe itself gives up after 5 s); no timing assert
    r = run_cli("check", "--paths", "100", "--scheduler", address, timeout=120)
    one_error_line(r, "--scheduler", address)
