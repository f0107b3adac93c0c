"""Bad input through the real CLI: one case per class of mistake.

One case per class runs ``okma-sim check BAD.toml --paths 200`` (with output options pointing
at new paths) and ``okma-sim validate BAD.toml`` in a subprocess; every case (several per class)
also runs through the same entry point in-process. Each asserts: exit code 2; exactly one
line on stderr naming the file, the key path and the bad value; no traceback; nothing on stdout
from ``check``; and no output file created.

The bad files are the bundled case study with one edit, made on the parsed document and written
back with tomli_w (so the edits survive changes to the case study's text), or raw bytes for
files that are not TOML at all.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any, Callable

import pytest
import tomli_w

import okma_sim

CASE = tomllib.loads(okma_sim.case_study_path().read_text(encoding="utf-8"))
DELETE = object()


def edited(*edits: tuple[tuple[Any, ...], Any]) -> Callable[[], bytes]:
    """The case study with ``path -> value`` edits (DELETE removes the key)."""
    def build() -> bytes:
        doc = copy.deepcopy(CASE)
        for path, value in edits:
            node = doc
            for k in path[:-1]:
                node = node[k]
            if value is DELETE:
                del node[path[-1]]
            else:
                node[path[-1]] = value
        return tomli_w.dumps(doc).encode("utf-8")
    return build


def renamed(path: tuple[Any, ...], new: str) -> Callable[[], bytes]:
    def build() -> bytes:
        doc = copy.deepcopy(CASE)
        node = doc
        for k in path[:-1]:
            node = node[k]
        node[new] = node.pop(path[-1])
        return tomli_w.dumps(doc).encode("utf-8")
    return build


def raw(data: bytes) -> Callable[[], bytes]:
    return lambda: data


KR = "key_results"
# id -> (file contents builder (None: no file), [substrings the error line must contain])
CASES: dict[str, tuple[Callable[[], bytes] | None, list[str]]] = {
    # unknown keys
    "unknown_key": (renamed((KR, 2, "target"), "taget"),
                    ["key_results[2].taget", "'taget'", "did you mean 'target'"]),
    # matching ignores case: difflib alone finds nothing close to "HORIZON_MONTHS"
    "key_in_capitals": (renamed(("horizon_months",), "HORIZON_MONTHS"),
                        ["HORIZON_MONTHS", "did you mean 'horizon_months'?"]),
    "unknown_top_key": (renamed(("horizon_months",), "horizon"),
                        ["horizon", "'horizon'", "horizon_months"]),
    # wrong types
    "wrong_type_target": (edited(((KR, 0, "target"), "ten")),
                          ["key_results[0].target", "'ten'"]),
    "wrong_type_horizon": (edited((("horizon_months",), "12")), ["horizon_months", "'12'"]),
    "wrong_type_reps": (edited((("team", "reps"), 12.5)), ["team.reps", "12.5"]),
    "wrong_type_table": (edited((("objectives",), {"id": "x"})), ["objectives", "'id': 'x'"]),
    # a section that is not a table (or not an array of tables): the section's name, the value
    "actions_not_a_table": (edited((("actions",), 5)), ["actions: must be a table", "5"]),
    "levers_not_a_table": (edited((("levers",), 5)), ["levers: must be a table", "5"]),
    "levers_a_string": (edited((("levers",), "x")), ["levers: must be a table", "'x'"]),
    "parameters_not_a_table": (edited((("parameters",), [1])),
                               ["parameters: must be a table", "[1]"]),
    "team_not_a_table": (edited((("team",), 3)), ["team: must be a table", "3"]),
    "baseline_not_a_table": (edited((("baseline",), 3)), ["baseline: must be a table", "3"]),
    "management_not_a_table": (edited((("management",), 3)),
                               ["management: must be a table", "3"]),
    "simulation_not_a_table": (edited((("simulation",), 3)),
                               ["simulation: must be a table", "3"]),
    "grading_not_a_table": (edited((("grading",), 3)), ["grading: must be a table", "3"]),
    "correlations_not_a_table": (edited((("correlations",), 3)),
                                 ["correlations: must be a table", "3"]),
    "objectives_not_an_array": (edited((("objectives",), 3)),
                                ["objectives: must be an array", "3"]),
    "key_results_not_an_array": (edited(((KR,), {})), ["key_results: must be an array", "{}"]),
    # probabilities outside [0, 1]
    "prob_kr_target": (edited(((KR, 1, "target"), 1.4)), ["key_results[1].target", "1.4"]),
    "prob_param_beta_fixed": (edited((("parameters", "csat_base"),
                                      {"dist": "fixed", "value": 1.4})),
                              ["parameters.csat_base", "1.4"]),
    # a bare number: the error names the key as written, not an implied ".value"
    "prob_param_bare_number": (edited((("parameters", "csat_base"), 1.4)),
                               ["parameters.csat_base:", "1.4"]),
    "prob_param_uniform": (edited((("parameters", "survey_completion"),
                                   {"dist": "uniform", "low": 0.5, "high": 1.4})),
                           ["parameters.survey_completion.high", "1.4"]),
    "prob_rule_threshold": (edited((("management", "rules", 0, "below"), 1.4)),
                            ["management.rules[0].below", "1.4"]),
    # negative counts or levels
    "negative_reps": (edited((("team", "reps"), -3)), ["team.reps", "-3"]),
    "negative_action": (edited((("actions", "prospect_visits_per_week"), -1)),
                        ["actions.prospect_visits_per_week", "-1"]),
    "negative_customers": (edited((("team", "customers_per_rep"), -5)),
                           ["team.customers_per_rep", "-5"]),
    # NaN or inf (TOML has nan and inf literals)
    "nan_target": (edited(((KR, 0, "target"), float("nan"))), ["key_results[0].target", "nan"]),
    "inf_target": (edited(((KR, 0, "target"), float("inf"))), ["key_results[0].target", "inf"]),
    "minus_inf_objective": (edited((("objectives", 0, "target"), float("-inf"))),
                            ["objectives[0].target", "-inf"]),
    "nan_param": (edited((("parameters", "order_value", "sigma"), float("nan"))),
                  ["parameters.order_value.sigma", "nan"]),
    # a metric the model does not produce
    "unknown_metric": (edited(((KR, 0, "metric"), "new_clients")),
                       ["key_results[0].metric", "'new_clients'"]),
    # a KR whose objective does not exist
    "missing_objective": (edited(((KR, 0, "objective"), "profit")),
                          ["key_results[0].objective", "'profit'"]),
    "missing_objective_in_list": (edited(((KR, 1, "objective"), ["revenue", "profit"])),
                                  ["key_results[1].objective[1]", "'profit'"]),
    # duplicate ids
    "duplicate_kr_id": (edited(((KR, 2, "id"), "new_customers")),
                        ["key_results[2].id", "'new_customers'", "key_results[0]"]),
    "duplicate_objective_kr_id": (edited(((KR, 2, "id"), "csat")),
                                  ["key_results[2].id", "'csat'", "objectives[1]"]),
    # an empty plan
    "empty_file": (raw(b""), ["empty"]),
    "header_only": (raw(b'name = "x"\nstart_month = "2027-01"\nhorizon_months = 12\n'),
                    ["objectives", "empty"]),
    # not TOML, or no file
    "binary_garbage": (raw(bytes(range(256)) * 4), ["not a TOML file"]),
    "csv_file": (raw(b"month,rep_id,new_customers\n2027-01,r1,3\n"),
                 ["not valid TOML", "line 1"]),
    "nul_bytes": (raw(b"\x00\x00\x00"), ["not valid TOML"]),
    "missing_file": (None, ["no such file"]),
    # unknown distributions, impossible parameters
    "unknown_distribution": (edited((("parameters", "order_value", "dist"), "weibull")),
                             ["parameters.order_value.dist", "'weibull'"]),
    "sigma_zero": (edited((("parameters", "order_value", "sigma"), 0.0)),
                   ["parameters.order_value.sigma", "0.0"]),
    "sigma_negative": (edited((("parameters", "order_value", "sigma"), -0.1)),
                       ["parameters.order_value.sigma", "-0.1"]),
    "low_above_high": (edited((("parameters", "followup_targeting"),
                               {"dist": "uniform", "low": 2.0, "high": 1.0})),
                       ["parameters.followup_targeting.low", "2.0"]),
    "beta_a_zero": (edited((("parameters", "csat_base", "a"), 0.0)),
                    ["parameters.csat_base.a", "0.0"]),
    "missing_distribution_key": (edited((("parameters", "order_value", "sigma"), DELETE)),
                                 ["parameters.order_value.sigma", "needs 'sigma'"]),
    # headcount and vacancies: the new_reps lever and the team's keys
    "new_reps_fractional": (edited((("actions", "new_reps"), 1.5)),
                            ["actions.new_reps", "whole number", "1.5"]),
    "new_reps_above_bounds": (edited((("actions", "new_reps"), 51)),
                              ["actions.new_reps", "[0, 50]", "51"]),
    "new_reps_lever_high": (edited((("levers", "new_reps", "high"), 6.5)),
                            ["levers.new_reps.high", "whole number", "6.5"]),
    "new_reps_lever_step": (edited((("levers", "new_reps", "step"), 0.5)),
                            ["levers.new_reps.step", "at least 1", "0.5"]),
    "new_reps_month_format": (edited((("team", "new_reps_month"), "2027-13")),
                              ["team.new_reps_month", "YYYY-MM", "'2027-13'"]),
    "new_reps_month_outside": (edited((("team", "new_reps_month"), "2028-01")),
                               ["team.new_reps_month", "horizon (2027-01 to 2027-12)",
                                "'2028-01'"]),
    "new_rep_book_unknown": (edited((("team", "new_rep_book"), "shares")),
                             ["team.new_rep_book", "did you mean 'share'?", "'shares'"]),
    "vacancy_unknown": (edited((("team", "vacancy"), "nobody")),
                        ["team.vacancy", "allowed: unserved, shared", "'nobody'"]),
    "vacant_months_fractional": (edited((("team", "reps"),
                                         [{"id": "a"}, {"id": "b", "vacant_months": 1.5}])),
                                 ["team.reps[1].vacant_months", "whole number", "1.5"]),
    "vacant_months_negative": (edited((("team", "reps"),
                                       [{"id": "a"}, {"id": "b", "vacant_months": -2}])),
                               ["team.reps[1].vacant_months", "must not be negative", "-2"]),
}


def write_case(tmp_path: Path, case: str) -> Path:
    build = CASES[case][0]
    path = tmp_path / f"bad_{case}.toml"
    if build is not None:
        path.write_bytes(build())
    return path


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "okma_sim.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


def assert_one_line_error(proc: subprocess.CompletedProcess, path: Path,
                          expected: list[str]) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    line = lines[0]
    assert line.startswith("okma-sim: error: ")
    assert path.name in line, line
    for s in expected:
        assert s in line, (s, line)
    return line


#: one case per class of the issue, run in a real subprocess (each costs an interpreter start)
SUBPROCESS_CASES = ["unknown_key", "wrong_type_target", "prob_kr_target", "negative_reps",
                    "nan_target", "unknown_metric", "missing_objective", "duplicate_kr_id",
                    "empty_file", "csv_file", "missing_file", "unknown_distribution",
                    "sigma_zero", "actions_not_a_table", "levers_not_a_table",
                    "parameters_not_a_table",
                    # one per new key of issue 12
                    "new_reps_fractional", "new_reps_lever_step", "new_reps_month_outside",
                    "new_rep_book_unknown", "vacancy_unknown", "vacant_months_fractional"]


@pytest.mark.parametrize("case", SUBPROCESS_CASES)
def test_bad_scenario_subprocess(tmp_path, case):
    path = write_case(tmp_path, case)
    before = sorted(p.name for p in tmp_path.iterdir())
    export = tmp_path / "out.csv"
    figures = tmp_path / "figs"
    proc = run_cli("check", str(path), "--paths", "200", "--no-progress",
                   "--export", str(export), "--figures", str(figures), cwd=tmp_path)
    line = assert_one_line_error(proc, path, CASES[case][1])
    assert proc.stdout == ""
    # nothing written: no export, no figures folder, no stray temporary files
    assert sorted(p.name for p in tmp_path.iterdir()) == before

    proc_v = run_cli("validate", str(path), cwd=tmp_path)
    line_v = assert_one_line_error(proc_v, path, CASES[case][1])
    assert line_v == line  # one check, one message
    # validate may report SMART warnings on stdout, but nothing else
    assert all(s.startswith("warning: ") for s in proc_v.stdout.splitlines())
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize("case", list(CASES))
def test_bad_scenario_in_process(tmp_path, case, capsys):
    # every case, through the same entry point (cli.main) without the interpreter start-up
    from okma_sim.cli import main
    path = write_case(tmp_path, case)
    before = sorted(p.name for p in tmp_path.iterdir())
    code = main(["check", str(path), "--paths", "200", "--no-progress",
                 "--export", str(tmp_path / "out.csv"), "--figures", str(tmp_path / "figs")])
    out, err = capsys.readouterr()
    line = assert_one_line_error(subprocess.CompletedProcess([], code, out, err), path,
                                 CASES[case][1])
    assert out == ""
    code = main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert assert_one_line_error(subprocess.CompletedProcess([], code, out, err), path,
                                 CASES[case][1]) == line
    assert all(s.startswith("warning: ") for s in out.splitlines())
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_validate_json_on_bad_input(tmp_path):
    path = write_case(tmp_path, "nan_target")
    proc = run_cli("validate", str(path), "--json", cwd=tmp_path)
    assert proc.returncode == 2
    import json
    doc = json.loads(proc.stdout)
    assert doc["ok"] is False and doc["scenario"] == str(path)
    assert len(doc["errors"]) == 1 and "key_results[0].target" in doc["errors"][0]
    assert len(proc.stderr.splitlines()) == 1


def test_existing_export_untouched_on_bad_input(tmp_path):
    path = write_case(tmp_path, "unknown_key")
    export = tmp_path / "out.csv"
    export.write_text("keep me\n", encoding="utf-8")
    mtime = export.stat().st_mtime_ns
    proc = run_cli("check", str(path), "--paths", "200", "--export", str(export), "--force",
                   cwd=tmp_path)
    assert_one_line_error(proc, path, CASES["unknown_key"][1])
    assert export.read_text(encoding="utf-8") == "keep me\n"
    assert export.stat().st_mtime_ns == mtime


def test_bad_command_line_value_subprocess(tmp_path):
    proc = run_cli("check", "--paths", "0", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "--paths" in lines[0] and "'0'" in lines[0]
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("args,needle", [(["--paths", "ten"], "'ten'"),
                                         (["--paths", "-5"], "--paths"),
                                         # int() takes 1_000 but not a stray underscore
                                         (["--paths", "_5"], "'_5'"),
                                         (["--paths", "1__0"], "'1__0'"),
                                         (["--seed", "-1"], "--seed"),
                                         (["--sampler", "halton"], "'halton'"),
                                         # an empty value would be silently ignored
                                         (["--export", ""], "--export"),
                                         (["--figures", ""], "--figures"),
                                         (["--scheduler", ""], "--scheduler")])
def test_bad_command_line_values(args, needle, capsys):
    from okma_sim.cli import main
    with pytest.raises(SystemExit) as info:
        main(["check", *args])
    assert info.value.code == 2
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert len(lines) == 1 and needle in lines[0] and out == ""


def test_utf8_bom_is_accepted(tmp_path):
    # files saved by some Windows editors start with a byte-order mark; it is not an error
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + okma_sim.case_study_path().read_bytes())
    assert okma_sim.load_plan(path) == okma_sim.load_plan(okma_sim.case_study_path())


def test_unreadable_file_is_one_line(tmp_path, monkeypatch, capsys):
    # (run in-process: permissions cannot be tested as root)
    from okma_sim.cli import main
    path = tmp_path / "locked.toml"
    path.write_bytes(okma_sim.case_study_path().read_bytes())

    real_open = os.open

    def denied(file, *a, **k):  # the scenario only: everything else opens as usual
        if str(file).endswith("locked.toml"):
            raise PermissionError(13, "Permission denied")
        return real_open(file, *a, **k)

    monkeypatch.setattr(os, "open", denied)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "locked.toml" in err[0] and "Permission denied" in err[0]


def test_underscores_between_digits_are_accepted():
    from okma_sim.cli.common import positive_int
    assert positive_int("1_000") == 1000


@pytest.mark.parametrize("option,target", [("--export", "afile/x.csv"),
                                           ("--figures", "afile/sub")])
def test_output_below_a_file_subprocess(tmp_path, option, target):
    # the folder part names a file: refused before the run, not a traceback after it
    afile = tmp_path / "afile"
    afile.write_text("keep me\n", encoding="utf-8")
    proc = run_cli("check", "--paths", "200", "--no-progress", option, target, cwd=tmp_path)
    assert_one_line_error(proc, afile, [option, "afile"])
    assert proc.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]
    assert afile.read_text(encoding="utf-8") == "keep me\n"


def test_file_name_too_long_is_one_line(tmp_path, monkeypatch, capsys):
    from okma_sim.cli import main
    monkeypatch.chdir(tmp_path)
    name = "a" * 300 + ".csv"  # longer than any file system's name limit (255 bytes)
    assert main(["check", "--paths", "200", "--no-progress", "--export", name]) == 2
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert len(lines) == 1 and "--export" in lines[0] and name in lines[0] and out == ""
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_turns_system_errors_into_one_line(tmp_path, monkeypatch):
    from okma_sim._core.errors import OkmaError
    from okma_sim._core.files import atomic_write

    def full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("okma_sim._core.files.tempfile.mkstemp", full)
    with pytest.raises(OkmaError, match="No space left on device") as info:
        atomic_write(tmp_path / "out.csv", "x")
    assert info.value.file == str(tmp_path / "out.csv")
    monkeypatch.undo()
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    for bad in (tmp_path / "afile" / "x.csv", tmp_path / "x\0y.csv"):
        with pytest.raises(OkmaError) as info:
            atomic_write(bad, "x")
        assert "\n" not in str(info.value) and "\0" not in str(info.value)
        assert bad.name.replace("\0", "\\0") in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_outputs_may_not_overwrite_the_scenario(tmp_path):
    scen = tmp_path / "scenario.toml"
    scen.write_bytes(okma_sim.case_study_path().read_bytes())
    for args in (["check", str(scen), "--paths", "200", "--export", str(scen), "--force"],
                 ["sweep", str(scen), "--paths", "200", "--out", str(scen), "--force"]):
        proc = run_cli(*args, cwd=tmp_path)
        assert_one_line_error(proc, scen, ["--", "input"])
        assert scen.read_bytes() == okma_sim.case_study_path().read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["scenario.toml"]


def test_sweep_out_names_a_folder(tmp_path):
    (tmp_path / "somedir").mkdir()
    proc = run_cli("sweep", str(okma_sim.case_study_path()), "--paths", "200", "--out",
                   "somedir", cwd=tmp_path)
    assert_one_line_error(proc, tmp_path / "somedir", ["--out", "folder"])
    assert list((tmp_path / "somedir").iterdir()) == []


@pytest.mark.parametrize("command,option", [("check", "--export"), ("sweep", "--out"),
                                            ("calibrate", "--out")])
def test_an_output_ending_in_a_slash_names_a_folder(tmp_path, command, option):
    # "new/" is a folder that does not exist yet: Path() drops the slash, and the file "new"
    # would be written in its place
    args = {"check": ["check", str(okma_sim.case_study_path()), "--paths", "100"],
            "sweep": ["sweep", str(okma_sim.case_study_path()), "--paths", "100", "--grid",
                      "prospect_visits_per_week=6,8"],
            "calibrate": ["calibrate", str(okma_sim.data_path("sales_history.csv"))]}[command]
    proc = run_cli(*args, option, "new/", cwd=tmp_path)
    line = assert_one_line_error(proc, tmp_path / "new", [option, "new/", "folder"])
    assert proc.stdout == "" and line
    assert list(tmp_path.iterdir()) == []
