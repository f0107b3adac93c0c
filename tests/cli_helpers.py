"""The real ``okma-sim`` command in a subprocess, and what a bad input must give."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path


def run_cli(*args: object, cwd: Path | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "okma_sim.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=timeout)


def run_ok(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``run_cli`` that must exit 0 without a traceback."""
    proc = run_cli(*args, cwd=cwd)
    assert proc.returncode == 0, (args, proc.stderr)
    assert "Traceback" not in proc.stderr
    return proc


def one_error_line(proc: subprocess.CompletedProcess, *parts: str) -> str:
    """Exit 2, one stderr line ``okma-sim: error: ...`` holding every part, no traceback,
    nothing on stdout; returns the line."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    line = lines[0]
    assert line.startswith("okma-sim: error: "), line
    for part in parts:
        assert part in line, (part, line)
    assert proc.stdout == ""
    return line


def tree(folder: Path) -> list[str]:
    """The names of every file and folder under ``folder``, sorted."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def snapshot(folder: Path) -> dict[str, str]:
    """Every file and folder under ``folder`` with its content's hash (a named pipe is
    listed, not read): two equal snapshots mean nothing was written, removed or changed."""
    return {str(p.relative_to(folder)): "pipe" if p.is_fifo() else
            hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(folder.rglob("*"))}


#: a scenario of the linear toy model (no hours, no team): one objective, two key results;
#: a template: TOY.format(low=, high=, cost=, sampler=, extra=) fills the effort lever
TOY = """\
schema_version = 1
name = "Toy"
start_month = "2027-01"
horizon_months = 12
model = "linear_toy"

[[objectives]]
id = "score"
metric = "score"
aggregate = "mean"
target = 1.2

[[key_results]]
id = "hit"
objective = "score"
metric = "hit"
aggregate = "mean"
target = 0.6
baseline = 0.4

[[key_results]]
id = "floor"
objective = "score"
metric = "score"
aggregate = "min"
target = -0.8

[actions]
effort = 1.0

[levers.effort]
low = {low}
high = {high}
unit_cost = {cost}

[parameters.noise]
dist = "fixed"
value = 1.0
{extra}
[simulation]
paths = 500
seed = 3
sampler = "{sampler}"
"""
