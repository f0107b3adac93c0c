"""Progress of the slow commands: the real CLI in a subprocess whose stderr is a pseudo-terminal
shows a tqdm bar there; ``--no-progress`` and ``--json`` keep it quiet (and ``--json`` keeps
stdout one JSON document). With stderr a pipe (no terminal) nothing is drawn either."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import struct
import subprocess
import sys
import termios

import pytest

import okma_sim

CASE = okma_sim.case_study_path()
ACTUALS = okma_sim.data_path("case_study_actuals.csv")
# small runs: the bar's presence is the point, not the answer
SOLVE = ("solve", str(CASE), "--paths", "300", "--max-evaluations", "12",
         "--verify-paths", "400", "--seed", "3", "--levers", "new_reps,training_hours_per_month")
REVIEW = ("review", str(CASE), "--actuals", str(ACTUALS), "--paths", "400", "--seed", "3",
          "--search-paths", "200")


def run_on_terminal(*args: str, timeout: float = 600) -> tuple[int, str, str]:
    """The CLI with stderr on a pseudo-terminal (stdout a pipe): exit code, stdout, stderr."""
    leader, follower = pty.openpty()
    # a terminal 100 columns wide (a fresh pseudo-terminal has 0: tqdm would draw nothing)
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "okma_sim.cli", *args],
                            stdout=subprocess.PIPE, stderr=follower)
    os.close(follower)
    err = b""
    while True:  # drain the terminal while the command runs (a full one would block it)
        ready, _, _ = select.select([leader], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the command exited and closed its side
                chunk = b""
            if not chunk:
                break
            err += chunk
        elif proc.poll() is not None:
            break
    out = proc.stdout.read().decode()
    proc.wait(timeout=timeout)
    os.close(leader)
    return proc.returncode, out, err.decode(errors="replace")


@pytest.mark.parametrize("args, words", [(SOLVE, "searching"), (REVIEW, "reviewing")])
def test_progress_on_a_terminal_and_quiet_when_asked(args, words):
    code, out, err = run_on_terminal(*args)
    assert code == 0, err
    # the bar's text, on stderr; the answer alone on stdout
    assert "\r" in err and words in err, err  # a bar redrawn in place
    if args[0] == "solve":  # simulations counted, named by stage
        assert "searching (design)" in err and "/13 [" in err and "verifying" in err, err
    else:  # the review's steps
        assert "step 1 of 4: simulating the plan as made" in err, err
        assert "step 2 of 4: updating with the actuals" in err, err
        assert "step 4 of 4: searching for a lever change" in err, err
    assert words not in out
    code, out, err = run_on_terminal(*args, "--no-progress")
    assert code == 0 and err == "", err
    code, out, err = run_on_terminal(*args, "--json")
    assert code == 0 and err == "", err
    assert json.loads(out)["seed"] == 3


def test_no_bar_without_a_terminal():
    proc = subprocess.run([sys.executable, "-m", "okma_sim.cli", *SOLVE], capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr


def test_a_command_without_its_own_bar_says_it_is_working():
    """sensitivity counts no steps of its own: after 2 s the terminal shows the command and
    the time so far, erased at the end; --json keeps stderr empty."""
    args = ("sensitivity", str(CASE), "--paths", "300", "--seed", "3")
    code, out, err = run_on_terminal(*args)
    assert code == 0, err
    assert "\rokma-sim sensitivity: 00:02 so far" in err, err  # redrawn in place
    assert "so far" not in out and "What moves the chance (tornado)" in out
    code, out, err = run_on_terminal(*args, "--json")
    assert code == 0 and err == "", err
