"""The `okma-sim check` and `okma-sim validate` contracts (run in a subprocess), and the Python
API they stand on."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cli_helpers import one_error_line, run_cli, tree
import okma_sim

PATHS = 600
SEED = 7
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
QUANTILE_KEYS = {"p05", "p50", "p95"}


@pytest.fixture(scope="module")
def check_json():
    proc = run_cli("check", "--json", "--paths", str(PATHS), "--seed", str(SEED),
                   "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return json.loads(proc.stdout)


def test_check_json_envelope(check_json):
    doc = check_json
    for key in ("version", "scenario", "scenario_sha256", "paths", "seed", "warnings",
                "objectives", "key_results", "all_met", "all_key_results_met"):
        assert key in doc, key
    assert doc["version"] == okma_sim.__version__
    assert Path(doc["scenario"]).resolve() == okma_sim.case_study_path().resolve()
    import hashlib
    assert doc["scenario_sha256"] == hashlib.sha256(
        okma_sim.case_study_path().read_bytes()).hexdigest()
    assert doc["paths"] == PATHS and doc["seed"] == SEED
    assert isinstance(doc["warnings"], list)


def test_check_json_targets(check_json):
    plan = okma_sim.load_plan(okma_sim.case_study_path())
    assert [o["id"] for o in check_json["objectives"]] == [o.id for o in plan.objectives]
    assert [k["id"] for k in check_json["key_results"]] == [k.id for k in plan.key_results]
    for entry, t in zip(check_json["objectives"] + check_json["key_results"], plan.targets):
        for key in ("id", "metric", "target", "probability", "stderr", "quantiles"):
            assert key in entry, (t.id, key)
        assert entry["metric"] == t.metric and entry["target"] == t.target
        assert set(entry["quantiles"]) >= QUANTILE_KEYS
        q = entry["quantiles"]
        assert q["p05"] <= q["p50"] <= q["p95"]
        p = entry["probability"]
        assert 0 <= p <= 1
        # plain Monte Carlo: the binomial standard error
        assert math.isclose(entry["stderr"], math.sqrt(p * (1 - p) / PATHS), rel_tol=1e-9,
                            abs_tol=1e-15)
    krs = {k["id"]: k for k in check_json["key_results"]}
    assert krs["new_customers"]["objective"] == "revenue"
    assert krs["revisit_rate"]["objective"] == ["revenue", "csat"]
    for key in ("all_met", "all_key_results_met"):
        e = check_json[key]
        assert set(e) >= {"probability", "stderr"}
        p = e["probability"]
        assert math.isclose(e["stderr"], math.sqrt(p * (1 - p) / PATHS), abs_tol=1e-15)
    assert check_json["all_met"]["probability"] <= min(
        o["probability"] for o in check_json["objectives"])


def test_check_json_matches_python_api(check_json):
    plan = okma_sim.load_plan(okma_sim.case_study_path())
    res = okma_sim.simulate(plan, n_paths=PATHS, seed=SEED, progress=False)
    for entry in check_json["objectives"] + check_json["key_results"]:
        e = res.probability(entry["id"])
        assert entry["probability"] == e.probability and entry["stderr"] == e.stderr
        assert entry["quantiles"] == pytest.approx(res.quantiles(entry["id"]), rel=1e-12)
    assert check_json["all_met"]["probability"] == res.all_met().probability


def test_check_default_table(tmp_path):
    proc = run_cli("check", "--paths", "300", "--seed", "3", "--no-progress", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for word in ("Grow revenue 30% over last year", "Customer satisfaction of at least 90%",
                 "Win 10 new customers a month", "Run a CSAT survey every quarter",
                 "All objectives together:", "All key results together:", "±",
                 "300 simulated runs"):
        assert word in out, word
    assert not out.lstrip().startswith("{")
    assert list(tmp_path.iterdir()) == []  # nothing written without --figures / --export


def test_check_figures_and_export(tmp_path):
    figs = tmp_path / "figs"
    export = tmp_path / "paths.csv"
    proc = run_cli("check", "--paths", "300", "--seed", "5", "--no-progress", "--json",
                   "--figures", str(figs), "--export", str(export))
    assert proc.returncode == 0, proc.stderr
    pngs = sorted(figs.iterdir())
    assert [p.name for p in pngs] == ["fan_chart.png", "probabilities.png"]
    for p in pngs:
        data = p.read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 1000
        assert data[12:16] == b"IHDR"
    df = pd.read_csv(export)
    assert len(df) == 300
    plan = okma_sim.load_plan(okma_sim.case_study_path())
    for t in plan.targets:
        assert t.id in df.columns and f"{t.id}_met" in df.columns
    # the exported per-path values are the simulation's
    res = okma_sim.simulate(plan, n_paths=300, seed=5, progress=False)
    np.testing.assert_allclose(df["new_customers"].to_numpy(), res.values["new_customers"],
                               rtol=1e-12)
    assert df["all_met"].mean() == pytest.approx(json.loads(proc.stdout)["all_met"]
                                                 ["probability"])

    # a second run refuses to overwrite: exit 2, one line, files untouched
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in pngs + [export]}
    for extra in (["--figures", str(figs)], ["--export", str(export)]):
        again = run_cli("check", "--paths", "300", "--seed", "6", "--no-progress", *extra)
        assert again.returncode == 2
        lines = again.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in again.stderr
        assert "--force" in lines[0]
        assert again.stdout == ""
    for p, (data, mtime) in before.items():
        assert p.read_bytes() == data and p.stat().st_mtime_ns == mtime

    # with --force they are replaced
    forced = run_cli("check", "--paths", "200", "--seed", "6", "--no-progress", "--force",
                     "--export", str(export))
    assert forced.returncode == 0, forced.stderr
    assert len(pd.read_csv(export)) == 200


def test_validate_case_study_json():
    proc = run_cli("validate", str(okma_sim.case_study_path()), "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert set(doc) >= {"scenario", "ok", "errors", "warnings"}
    assert doc["ok"] is True and doc["errors"] == [] and doc["warnings"] == []
    assert doc["scenario"] == str(okma_sim.case_study_path())


def test_validate_bad_file_json(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(okma_sim.case_study_path().read_text().replace(
        'metric = "new_customers"', 'metric = "new_custmers"'), encoding="utf-8")
    proc = run_cli("validate", str(bad), "--json")
    assert proc.returncode == 2
    doc = json.loads(proc.stdout)
    assert doc["ok"] is False and doc["scenario"] == str(bad)
    assert len(doc["errors"]) == 1
    assert "key_results[0].metric" in doc["errors"][0] and "new_custmers" in doc["errors"][0]
    assert len(proc.stderr.strip().splitlines()) == 1


def test_validate_warns_on_too_few_key_results(tmp_path):
    text = okma_sim.case_study_path().read_text()
    text = text.replace('objective = ["revenue", "csat"]', 'objective = "revenue"')
    path = tmp_path / "few.toml"
    path.write_text(text, encoding="utf-8")
    proc = run_cli("validate", str(path), "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["ok"] is True
    assert any("'csat' has 1 key results" in w for w in doc["warnings"])


def test_python_api_case_study():
    plan = okma_sim.load_plan(okma_sim.case_study_path())
    res = okma_sim.simulate(plan, n_paths=1000, seed=2, progress=False)
    probs = res.probabilities()
    assert set(probs["id"]) == {t.id for t in plan.targets}
    assert ((probs["probability"] >= 0) & (probs["probability"] <= 1)).all()
    assert (probs["stderr"] > 0).all()
    p_all = res.all_met()
    assert p_all.probability <= min(res.probability(o.id).probability
                                    for o in plan.objectives)
    assert res.all_key_results_met().probability <= min(
        res.probability(k.id).probability for k in plan.key_results)
    # P(all met) is exactly the share of paths meeting every objective
    frame = res.to_frame()
    assert len(frame) == 1000
    assert frame["all_met"].mean() == p_all.probability
    assert (frame[[f"{o.id}_met" for o in plan.objectives]].all(axis=1)
            == frame["all_met"]).all()
    bands = res.bands("revenue")
    assert list(bands.index) == plan.months()
    assert (bands["p05"] <= bands["p50"]).all() and (bands["p50"] <= bands["p95"]).all()


def test_export_to_a_folder_is_refused_even_with_force(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "keep.txt").write_text("x", encoding="utf-8")
    proc = run_cli("check", "--paths", "100", "--seed", "1", "--no-progress", "--force",
                   "--export", str(folder))
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "out" in lines[0] and "folder" in lines[0]
    assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["keep.txt"]


# -- all or nothing: --figures and --export together -----------------------------------------
@pytest.mark.parametrize("figures, export, force", [
    ("out", "out", False),  # both name one new path: the folder would block the file
    ("figs", "figs/fan_chart.png", True),  # the CSV would replace a figure it just wrote
    ("figs", "figs/../figs/probabilities.png", False),
    ("new/figs", "new", False),  # the figures would make a folder of the export's name
])
def test_export_naming_a_figure_is_refused_before_the_run(tmp_path, figures, export, force):
    (tmp_path / "figs").mkdir()
    proc = run_cli("check", "--paths", "100", "--seed", "1", "--no-progress",
                   "--figures", figures, "--export", export, *(["--force"] if force else []),
                   cwd=tmp_path)
    one_error_line(proc, "--export", "--figures")
    assert tree(tmp_path) == ["figs"]


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_export_failing_after_the_run_takes_back_the_figures(tmp_path):
    """/proc is a folder no file can be created in: the export fails after the run (as root)
    or is refused before it; either way the figures and their new folders are gone."""
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep" / "old.txt").write_text("x", encoding="utf-8")
    proc = run_cli("check", "--paths", "100", "--seed", "1", "--no-progress",
                   "--figures", "keep/new/figs", "--export", "/proc/okma_export.csv",
                   cwd=tmp_path)
    one_error_line(proc, "/proc/okma_export.csv")
    assert tree(tmp_path) == ["keep", "keep/old.txt"]


def test_export_failing_after_figures_into_an_existing_folder(tmp_path, monkeypatch, capsys):
    """No space left for the CSV: the new figures go, a file there before stays."""
    from okma_sim.cli import main
    import okma_sim._core.files as files
    figs = tmp_path / "figs"
    figs.mkdir()
    (figs / "notes.txt").write_text("keep me", encoding="utf-8")
    real = files.tempfile.mkstemp

    def mkstemp(*a, prefix="", **k):
        if prefix.startswith(".paths.csv."):
            raise OSError(28, "No space left on device")
        return real(*a, prefix=prefix, **k)

    monkeypatch.setattr(files.tempfile, "mkstemp", mkstemp)
    code = main(["check", "--paths", "100", "--seed", "1", "--no-progress",
                 "--figures", str(figs), "--export", str(tmp_path / "paths.csv")])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and len(err.splitlines()) == 1
    assert "No space left on device" in err
    assert tree(tmp_path) == ["figs", "figs/notes.txt"]


@pytest.mark.parametrize("option, value", [("--export", "ro/x.csv"),
                                           ("--figures", "ro/figs"), ("--figures", "ro")])
def test_output_in_a_folder_without_write_permission_is_refused_before_the_run(
        tmp_path, monkeypatch, capsys, option, value):
    import os

    import okma_sim.cli.common as common
    from okma_sim.cli import main
    (tmp_path / "ro").mkdir()
    monkeypatch.chdir(tmp_path)
    real = os.access
    # (root may write anywhere, so the folder's mode bits cannot stand in for this)
    monkeypatch.setattr(common.os, "access", lambda p, mode, **k: (
        False if Path(p).resolve() == (tmp_path / "ro").resolve() and mode & os.W_OK
        else real(p, mode, **k)))
    monkeypatch.setattr(okma_sim, "simulate", lambda *a, **k: pytest.fail("simulated"))
    code = main(["check", "--paths", "100", "--seed", "1", "--no-progress", option, value])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and len(err.splitlines()) == 1
    assert f"{option}: no permission to write in this folder" in err
    assert tree(tmp_path) == ["ro"]


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="needs mkfifo")
def test_export_to_a_pipe_is_refused_even_with_force(tmp_path):
    """--force replaces a file atomically by renaming over it: over a pipe (or /dev/null, as
    root) that would put a regular file in its place."""
    import os
    import stat
    os.mkfifo(tmp_path / "pipe")
    proc = run_cli("check", "--paths", "100", "--seed", "1", "--no-progress", "--force",
                   "--export", "pipe", cwd=tmp_path)
    one_error_line(proc, "--export", "pipe", "not a regular file")
    assert stat.S_ISFIFO((tmp_path / "pipe").stat().st_mode)
    assert tree(tmp_path) == ["pipe"]
