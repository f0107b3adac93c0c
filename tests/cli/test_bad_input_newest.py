"""Bad input to the newest options, through the real CLI in a subprocess: ``report --out /
--xlsx``, ``review --report``, ``target --joint --weights / --figure`` and ``sensitivity
--levers``. Each bad value exits 2 with one stderr line ``okma-sim: error: ...`` naming the
option or file and the value, no traceback, and nothing written or changed in the folder."""

from __future__ import annotations

from cli_helpers import one_error_line, run_cli, snapshot


def test_sensitivity_levers_with_an_empty_value_is_refused(tmp_path):
    """``--levers ""`` (e.g. an unset shell variable) names no lever: refused as ``solve
    --levers ""`` is, not read as the bare flag's "every lever"."""
    before = snapshot(tmp_path)
    proc = run_cli("sensitivity", "--levers", "", "--sobol-n", "0", "--paths", "50",
                   cwd=tmp_path)
    one_error_line(proc, "--levers", "at least one lever", "''")
    assert snapshot(tmp_path) == before
