"""Reliability of outputs, resources and interrupts, through the real CLI in a subprocess:
outputs are all or nothing (a second output failing, a full disk), --force replaces only
regular files, a run that cannot fit in memory is refused before it starts, concurrent sweeps
on one file never lose rows silently, and Ctrl-C with workers is one line and exit 130."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from cli_helpers import one_error_line, run_cli


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def _run_limited(*args: object, cwd: Path, max_file_bytes: int) -> subprocess.CompletedProcess:
    """The CLI with a file-size limit (RLIMIT_FSIZE): a write past it fails with EFBIG, as on
    a full disk (SIGXFSZ, which would kill the process instead, is ignored)."""
    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))

    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-m", "okma_sim.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=600,
                          preexec_fn=limit, env=env)


# --- all or nothing -------------------------------------------------------------------------

def test_export_failing_after_the_figures_leaves_nothing(tmp_path):
    """The figures (< 100 kB each) fit under the limit, the 3000-path CSV (~340 kB) does not:
    neither the figures nor their folder may stay behind."""
    (tmp_path / "old.txt").write_text("keep", encoding="utf-8")
    proc = _run_limited("check", "--paths", "3000", "--seed", "1", "--no-progress",
                        "--figures", "figs", "--export", "paths.csv", cwd=tmp_path,
                        max_file_bytes=200_000)
    one_error_line(proc, "paths.csv", "cannot write the file")
    assert _tree(tmp_path) == ["old.txt"]


def test_full_disk_on_the_first_figure_leaves_nothing(tmp_path):
    (tmp_path / "figs").mkdir()
    (tmp_path / "figs" / "fan_chart.png").write_bytes(b"old figure")
    proc = _run_limited("check", "--paths", "200", "--seed", "1", "--no-progress", "--force",
                        "--figures", "figs", "--export", "paths.csv", cwd=tmp_path,
                        max_file_bytes=2_000)
    one_error_line(proc, "fan_chart.png", "cannot write the file")
    assert _tree(tmp_path) == ["figs", "figs/fan_chart.png"]
    assert (tmp_path / "figs" / "fan_chart.png").read_bytes() == b"old figure"


def test_replaced_outputs_get_their_old_content_back(tmp_path):
    """Under --force, the figures are renamed over old ones only after the CSV is written;
    when the CSV fails, both old figures are as they were."""
    figs = tmp_path / "figs"
    figs.mkdir()
    for name in ("fan_chart.png", "probabilities.png"):
        (figs / name).write_bytes(name.encode())
    proc = _run_limited("check", "--paths", "3000", "--seed", "1", "--no-progress", "--force",
                        "--figures", "figs", "--export", "paths.csv", cwd=tmp_path,
                        max_file_bytes=200_000)
    one_error_line(proc, "paths.csv")
    assert _tree(tmp_path) == ["figs", "figs/fan_chart.png", "figs/probabilities.png"]
    assert [(figs / n).read_bytes() for n in ("fan_chart.png", "probabilities.png")] == \
        [b"fan_chart.png", b"probabilities.png"]


@pytest.mark.parametrize("option, value", [("--export", "newdir/"), ("--out", "sweepdir/")])
def test_a_file_option_ending_in_a_slash_is_refused(tmp_path, option, value):
    cmd = ["check", "--paths", "100"] if option == "--export" else \
        ["sweep", str(_case_study()), "--paths", "100"]
    proc = run_cli(*cmd, option, value, cwd=tmp_path)
    one_error_line(proc, option, value, "ends with '/'")
    assert _tree(tmp_path) == []


def _case_study() -> Path:
    import okma_sim
    return okma_sim.case_study_path()


@pytest.mark.parametrize("kind", ["symlink", "fifo", "device"])
def test_force_replaces_only_regular_files(tmp_path, kind):
    (tmp_path / "real.csv").write_text("precious", encoding="utf-8")
    if kind == "symlink":
        (tmp_path / "link.csv").symlink_to("real.csv")
        target = "link.csv"
    elif kind == "fifo":
        os.mkfifo(tmp_path / "pipe.csv")
        target = "pipe.csv"
    else:
        target = "/dev/null"
    before = _tree(tmp_path)
    for cmd in (["check", "--paths", "100", "--no-progress", "--export"],
                ["sweep", str(_case_study()), "--paths", "100", "--no-progress", "--out"]):
        proc = run_cli(*cmd, target, "--force", cwd=tmp_path)
        one_error_line(proc, target, "not a regular file")
        assert _tree(tmp_path) == before
        assert (tmp_path / "real.csv").read_text(encoding="utf-8") == "precious"
    assert Path("/dev/null").is_char_device()
    if kind == "symlink":
        assert (tmp_path / "link.csv").is_symlink()
