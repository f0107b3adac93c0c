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

from cli_helpers import one_error_line, run_cli, tree


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
    assert tree(tmp_path) == ["old.txt"]


def test_full_disk_on_the_first_figure_leaves_nothing(tmp_path):
    (tmp_path / "figs").mkdir()
    (tmp_path / "figs" / "fan_chart.png").write_bytes(b"old figure")
    proc = _run_limited("check", "--paths", "200", "--seed", "1", "--no-progress", "--force",
                        "--figures", "figs", "--export", "paths.csv", cwd=tmp_path,
                        max_file_bytes=2_000)
    one_error_line(proc, "fan_chart.png", "cannot write the file")
    assert tree(tmp_path) == ["figs", "figs/fan_chart.png"]
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
    assert tree(tmp_path) == ["figs", "figs/fan_chart.png", "figs/probabilities.png"]
    assert [(figs / n).read_bytes() for n in ("fan_chart.png", "probabilities.png")] == \
        [b"fan_chart.png", b"probabilities.png"]


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
    before = tree(tmp_path)
    for cmd in (["check", "--paths", "100", "--no-progress", "--export"],
                ["sweep", str(_case_study()), "--paths", "100", "--no-progress", "--out"]):
        proc = run_cli(*cmd, target, "--force", cwd=tmp_path)
        one_error_line(proc, target, "not a regular file")
        assert tree(tmp_path) == before
        assert (tmp_path / "real.csv").read_text(encoding="utf-8") == "precious"
    assert Path("/dev/null").is_char_device()
    if kind == "symlink":
        assert (tmp_path / "link.csv").is_symlink()


# --- resource limits ------------------------------------------------------------------------

def test_a_run_too_big_for_memory_is_refused_before_it_starts(tmp_path):
    """10^11 paths (about 100 TiB of results) and a team of ten million reps are refused by
    the estimate, naming what to lower, the estimate and the limit; a small limit set through
    OKMA_SIM_MEMORY_LIMIT refuses the bundled case study's own simulation.paths."""
    scen = tmp_path / "huge_team.toml"
    text = _case_study().read_text(encoding="utf-8")
    assert "\nreps = 12\n" in text
    scen.write_text(text.replace("\nreps = 12\n", "\nreps = 10000000\n"), encoding="utf-8")
    before = tree(tmp_path)
    proc = run_cli("check", "--paths", 10**11, "--export", "x.csv", cwd=tmp_path)
    line = one_error_line(proc, "--paths", "100,000,000,000 paths", "TiB of memory",
                          "more than the memory available")
    proc = run_cli("check", scen, "--paths", 1000, "--export", "x.csv", cwd=tmp_path)
    one_error_line(proc, "team.reps", "10,000,000 seats", "TiB of memory")
    env = {**os.environ, "OKMA_SIM_MEMORY_LIMIT": "2MB"}
    proc = subprocess.run([sys.executable, "-m", "okma_sim.cli", "check", "--paths", "50000"],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    one_error_line(proc, "--paths", "OKMA_SIM_MEMORY_LIMIT (1.9 MiB)")
    assert tree(tmp_path) == before and "Traceback" not in line


@pytest.mark.parametrize("args, flag", [
    (["solve", "--paths", "100000000000"], "--paths"),
    (["solve", "--paths", "1000", "--verify-paths", "100000000000"], "--verify-paths"),
    (["sensitivity", "--paths", "100000000000"], "--paths"),
    (["backtest", "SALES_HISTORY", "--cutoff", "2026-06", "--paths",
      "100000000000"], "--paths")])
def test_commands_with_their_own_path_options_name_them_when_refused(tmp_path, args, flag):
    """solve, sensitivity and backtest simulate outside the common options: their memory
    refusal names their own option, before any work."""
    import okma_sim
    args = [str(okma_sim.data_path("sales_history.csv")) if a == "SALES_HISTORY" else a
            for a in args]
    proc = run_cli(*args, cwd=tmp_path)
    one_error_line(proc, f"error: {flag}:", "00,000,000,000 paths",
                   "more than the memory available")
    assert tree(tmp_path) == []


@pytest.mark.parametrize("args, wanted", [(["--workers", "100000"], "--workers"),
                                          (["--tolerance", "0.0001"], "--tolerance")])
def test_workers_and_tolerance_are_bounded(tmp_path, args, wanted):
    proc = run_cli("check", *args, cwd=tmp_path)
    one_error_line(proc, wanted, args[1])
    assert tree(tmp_path) == []


# --- locked writers -------------------------------------------------------------------------

def test_concurrent_sweeps_never_both_claim_rows_missing_from_the_file(tmp_path):
    """Two sweeps with different seeds on one --out, started together: at most one succeeds,
    every row a successful one reports is in the file, and the other says so in one line."""
    from okma_sim.analysis import sweep_rows
    grid = "prospect_visits_per_week=6,7,8,9"
    seeds = (1, 2)
    procs = [subprocess.Popen([sys.executable, "-m", "okma_sim.cli", "sweep",
                               str(_case_study()), "--grid", grid, "--paths", "1500",
                               "--seed", str(s), "--no-progress", "--resume", "--out", "out.csv"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              cwd=tmp_path) for s in seeds]
    results = [(p.wait(timeout=600), *p.communicate()) for p in procs]
    assert sum(rc == 0 for rc, _, _ in results) == 1, results
    final = pd.read_csv(tmp_path / "out.csv")
    for seed, (rc, out, err) in zip(seeds, results):
        if rc == 0:
            rows = sweep_rows([_case_study()], {"prospect_visits_per_week": [6, 7, 8, 9]},
                              seed=seed, n_paths=1500)
            assert sorted(final["seed"]) == sorted(r.seed for r in rows)
            assert f"wrote {len(rows)} rows" in out and err == ""
        else:
            proc = subprocess.CompletedProcess([], rc, "", err)
            one_error_line(proc, "out.csv")


# --- interrupts -----------------------------------------------------------------------------

def _cmdline(p) -> list[str]:
    import psutil
    try:
        return p.cmdline()
    except psutil.Error:  # it ended meanwhile
        return []


def _is_worker(cmdline: list[str]) -> bool:
    """A Dask worker process: titled "dask worker" when setproctitle is installed, else a
    process multiprocessing spawned (the resource tracker is neither)."""
    cmd = " ".join(cmdline)
    return "dask worker" in cmd or "spawn_main" in cmd


def _ignores_sigint(pid: int) -> bool:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)))
    raise AssertionError("no SigIgn line")


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="needs Linux /proc")
def test_ctrl_c_with_workers_is_one_line_and_exit_130(tmp_path):
    """Ctrl-C, as a terminal sends it (SIGINT to the whole process group), while a local
    cluster of two workers computes: one line, exit 130, no worker traceback."""
    import psutil
    proc = subprocess.Popen([sys.executable, "-m", "okma_sim.cli", "check", "--workers", "2",
                             "--paths", "2000000", "--seed", "1", "--no-progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=tmp_path, start_new_session=True,
                            # as from a terminal: pytest-xdist's workers ignore SIGINT, and an
                            # ignored signal is inherited (a CLI started so rightly keeps
                            # ignoring it)
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            workers = [c for c in psutil.Process(proc.pid).children(recursive=True)
                       if _is_worker(_cmdline(c))]
            # the cluster runs: both workers up, and the CLI listens for Ctrl-C again
            if len(workers) == 2 and not _ignores_sigint(proc.pid):
                break
            time.sleep(0.2)
        else:  # say what was seen: the processes, the signal mask and the command's stderr
            seen = [" ".join(_cmdline(c))[:120] for c in
                    psutil.Process(proc.pid).children(recursive=True)]
            ignoring = _ignores_sigint(proc.pid) if proc.poll() is None else None
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            _, err = proc.communicate(timeout=60)
            pytest.fail(f"the cluster did not start in 300 s: exit {proc.poll()}, SIGINT "
                        f"ignored {ignoring}, processes {seen}, stderr {err[-2000:]!r}")
        time.sleep(1.0)  # the workers compute their first chunks
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == ["okma-sim: error: interrupted"], err
    assert "Traceback" not in err and out == ""
    assert tree(tmp_path) == []


_SWALLOWED = '''
import contextlib, os, signal, sys, time
from okma_sim.cli import common

class Finaliser:
    """A finaliser that receives the Ctrl-C: Python prints the KeyboardInterrupt as
    "Exception ignored" and drops it, as it did in distributed's garbage-collector callback."""
    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)
        sum(range(10_000))  # the handler runs here, inside the finaliser

interrupt = common._InsistentInterrupt() if sys.argv[1] == "insist" else None
guard = interrupt.installed() if interrupt else contextlib.nullcontext()
t0 = time.monotonic()
try:
    with guard:
        with (interrupt.computing() if interrupt else contextlib.nullcontext()):
            Finaliser()  # dropped at once: its __del__ runs
            while time.monotonic() - t0 < 8:  # the "computation"
                time.sleep(0.02)
    print(f"finished {time.monotonic() - t0:.1f}")
except KeyboardInterrupt:
    print(f"interrupted {time.monotonic() - t0:.1f}")
'''


@pytest.mark.parametrize("mode", ["insist", "plain"])
def test_a_ctrl_c_dropped_by_a_finaliser_is_repeated(tmp_path, mode):
    """The CI failure behind the Ctrl-C handling: a SIGINT whose KeyboardInterrupt Python drops
    (raised inside a finaliser) is repeated until it stops the computation, and the drop is not
    printed; Python's own handler (the control) prints it and lets the computation run to its
    end."""
    script = tmp_path / "swallow.py"
    script.write_text(_SWALLOWED)
    done = subprocess.run([sys.executable, str(script), mode], capture_output=True, text=True,
                          timeout=60, preexec_fn=lambda: signal.signal(signal.SIGINT,
                                                                       signal.SIG_DFL))
    verdict, _ = done.stdout.split()
    if mode == "insist":  # stopped before its 8 s, and the dropped interrupt's print is not shown
        assert verdict == "interrupted", done.stdout
        assert done.stderr == ""
    else:
        assert verdict == "finished", done.stdout
        assert "Exception ignored" in done.stderr and "KeyboardInterrupt" in done.stderr
