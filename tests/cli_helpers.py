"""The real ``okma-sim`` command in a subprocess, and what a bad input must give."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def run_cli(*args: object, cwd: Path | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "okma_sim.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=timeout)


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
