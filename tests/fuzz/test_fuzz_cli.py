"""The fuzzer (issue 16): every subcommand ``okma-sim --help`` lists, run on mutated scenarios,
histories and actuals, exits 0 or 2; on 2 with one ``okma-sim: error:`` line naming the input
and where in it, and the folder unchanged; never a traceback or a Python warning on stderr.

Each example is a real ``okma-sim`` process (a fork of a server that imported the package
once, see forkserver.py). The suite's run is bounded (``EXAMPLES`` per subcommand, derandomized);
``pytest -m fuzz_long tests/fuzz`` runs ``OKMA_FUZZ_EXAMPLES`` (default 300) per subcommand.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli_helpers import snapshot
from fuzz_helpers import (ACTUALS, HISTORY, OTHER, SCENARIO, check_run, command_args, csv_bytes,
                          reads, scenario_text, subcommands)

COMMANDS = subcommands()
EXAMPLES = 6
LONG = int(os.environ.get("OKMA_FUZZ_EXAMPLES", "300"))


@st.composite
def example(draw, name: str) -> tuple[list[str], dict[str, bytes], set[str]]:
    """The arguments, the files of the folder the command runs in, and which were mutated."""
    argv = command_args(name, COMMANDS[name], {SCENARIO})
    takes = reads(argv)
    targets = sorted(takes)
    mutated = set(draw(st.lists(st.sampled_from(targets), min_size=1, max_size=len(targets),
                                unique=True)))
    argv = command_args(name, COMMANDS[name], mutated)
    files: dict[str, bytes] = {}
    # review reads actuals of the case study; calibrate's --plan is the case study's kind
    base = "case_study.toml" if (ACTUALS in takes or HISTORY in takes) else None
    files[SCENARIO] = (draw(scenario_text(base)) if SCENARIO in mutated else
                       _bundled("scenarios", base or "case_study.toml")).encode("utf-8")
    files[OTHER] = _bundled("scenarios", "case_study.toml").encode("utf-8")
    for name_, base_csv in ((HISTORY, "sales_history.csv"), (ACTUALS, "case_study_actuals.csv")):
        files[name_] = draw(csv_bytes(base_csv)) if name_ in mutated else \
            _bundled(base_csv).encode("utf-8")
    return argv, files, mutated


def _bundled(*parts: str) -> str:
    import okma_sim
    return okma_sim.data_path(*parts).read_text(encoding="utf-8")


def _run_example(server, ex) -> None:
    argv, files, mutated = ex
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "outputs").mkdir()
        for n, data in files.items():
            (folder / n).write_bytes(data)
        before = snapshot(folder)
        res = server.run(argv, folder)
        check_run(res, argv, mutated, before, snapshot(folder))


def test_every_help_subcommand_is_fuzzed():
    """The fuzzer reads its commands from the parser behind ``okma-sim --help``."""
    from cli_helpers import run_cli
    help_text = run_cli("--help").stdout
    assert set(COMMANDS) and all(name in help_text for name in COMMANDS)
    for name, parser in COMMANDS.items():
        assert reads(command_args(name, parser, {SCENARIO})), name


def _fuzz(server, name: str, examples: int, derandomize: bool) -> None:
    @settings(max_examples=examples, deadline=None, derandomize=derandomize, database=None,
              suppress_health_check=list(HealthCheck))
    @given(ex=example(name))
    def run(ex):
        _run_example(server, ex)
    run()


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_fuzz(server, name):
    _fuzz(server, name, EXAMPLES, derandomize=True)


@pytest.mark.fuzz_long
@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_fuzz_long(server, name):
    _fuzz(server, name, LONG, derandomize=False)
