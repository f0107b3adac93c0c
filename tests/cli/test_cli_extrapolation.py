"""Extrapolation warnings through the real CLI in subprocesses: ``calibrate`` records the lever
ranges the history observed in ``[calibration.observed]``; ``check``, ``target``, ``solve`` and
``review`` warn, in their table and in their JSON ``extrapolation`` list, when a lever leaves
that range by more than the margin, and say nothing inside it."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from cli_helpers import one_error_line, run_cli
import okma_sim
from okma_sim.plan import EXTRAPOLATION_MARGIN, Lever, dumps_plan, save_plan

ROOT = Path(__file__).resolve().parents[2]
HISTORY = ROOT / "data" / "sales_history.csv"
ACTUALS = ROOT / "data" / "case_study_actuals.csv"
LEVER = "prospect_visits_per_week"
#: the recorded levers: lever -> (history column, history units per lever unit)
RECORDED = {"prospect_visits_per_week": ("prospect_visits", 52 / 12),
            "customer_visits_per_week": ("customer_visits", 52 / 12),
            "training_hours_per_month": ("training_hours", 1.0)}
FAST = {"check": ("--paths", 300, "--seed", 1),
        "target": ("--paths", 300, "--seed", 1),
        "solve": ("--paths", 300, "--seed", 1, "--levers", LEVER, "--max-evaluations", 6,
                  "--verify-paths", 300, "--confidence", 0.5),
        "review": ("--actuals", ACTUALS, "--paths", 300, "--seed", 1, "--no-recommend")}


def _expected_ranges() -> dict[str, tuple[float, float]]:
    """The history's lever ranges, from the CSV itself: monthly counts at 12/52 per week."""
    df = pd.read_csv(HISTORY)
    return {lever: (df[col].min() / per, df[col].max() / per)
            for lever, (col, per) in RECORDED.items()}


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """The bundled history's calibrated scenario (the real CLI), and its fit report."""
    folder = tmp_path_factory.mktemp("extrapolation")
    out = folder / "fitted.toml"
    proc = run_cli("calibrate", HISTORY, "--out", out, "--json")
    assert proc.returncode == 0, proc.stderr
    return okma_sim.load_plan(out), json.loads(proc.stdout), folder


def _scenario(fitted, name: str, level: float, bounds: tuple[float, float]) -> Path:
    """The calibrated scenario with prospect visits at ``level`` (the solver searches
    ``bounds``) and the other recorded levers inside their ranges."""
    plan, _doc, folder = fitted
    plan = plan.with_actions(**{LEVER: level, "customer_visits_per_week": 10,
                                "training_hours_per_month": 10})
    plan = plan.replace(levers={**plan.levers, LEVER: Lever(*bounds, unit_cost=120000.0)})
    return save_plan(plan, folder / f"{name}.toml", overwrite=True)


@pytest.fixture(scope="module")
def outside(fitted):
    return _scenario(fitted, "outside", 9, (8.5, 10))  # observed 4.85 to 6.92 a week


@pytest.fixture(scope="module")
def inside(fitted):
    return _scenario(fitted, "inside", 6, (5, 6.5))


def test_calibrate_records_the_observed_ranges(fitted):
    plan, doc, _ = fitted
    expected = _expected_ranges()
    observed = dict(plan.calibration.observed)
    assert set(observed) == set(expected)
    for lever, (low, high) in expected.items():
        assert observed[lever] == pytest.approx((low, high), abs=1e-4), lever
        assert doc["observed"][lever] == pytest.approx([low, high], abs=1e-4), lever
    assert observed[LEVER] == pytest.approx((21 * 12 / 52, 30 * 12 / 52), abs=1e-4)


def _json(command: str, scenario: Path) -> dict:
    proc = run_cli(command, scenario, *FAST[command], "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _text(command: str, scenario: Path) -> str:
    proc = run_cli(command, scenario, *FAST[command])
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("command", sorted(FAST))
def test_a_lever_outside_the_range_is_warned(command, outside, fitted):
    low, high = fitted[0].calibration.observed[LEVER]
    doc = _json(command, outside)
    (entry,) = doc["extrapolation"]
    value = doc["actions"][LEVER] if command == "solve" else 9
    assert 8.5 <= value <= 10
    assert entry == {"lever": LEVER, "value": pytest.approx(value), "observed_low": low,
                     "observed_high": high, "parameters": ["visit_elasticity"]}
    warned = [w for w in doc["warnings"] if w.startswith("extrapolation:")]
    assert len(warned) == 1
    for part in (f"{LEVER} = {value:.4g} ", f"{low:.4g} to {high:.4g}", "visit_elasticity"):
        assert part in warned[0], (part, warned[0])
    text = _text(command, outside)
    assert f"warning: {warned[0]}" in text.splitlines()


@pytest.mark.parametrize("command", sorted(FAST))
def test_inside_the_range_nothing_is_warned(command, inside):
    doc = _json(command, inside)
    assert doc["extrapolation"] == []
    assert not [w for w in doc["warnings"] if "extrapolation" in w]
    assert "extrapolation" not in _text(command, inside)


def test_within_the_margin_nothing_is_warned(fitted):
    high = fitted[0].calibration.observed[LEVER][1]
    level = round(high * (1 + 0.9 * EXTRAPOLATION_MARGIN), 2)  # 7.24: above 6.92, in the margin
    assert level > high
    doc = _json("check", _scenario(fitted, "margin", level, (5, 8)))
    assert doc["extrapolation"] == []


def test_a_scenario_without_the_table_has_an_empty_list():
    doc = json.loads(run_cli("check", "--paths", 200, "--seed", 1, "--json").stdout)
    assert doc["extrapolation"] == []


def test_review_checks_the_recommended_levels_too(fitted):
    from okma_sim.cli.review import _extrapolation
    plan = fitted[0].with_actions(**{LEVER: 6, "customer_visits_per_week": 10,
                                     "training_hours_per_month": 10})
    rv = SimpleNamespace(plan=plan, complete=False,
                         recommendation={"actions": {LEVER: 9.0}})
    (e,) = _extrapolation(rv)
    assert (e.lever, e.value, e.context) == (LEVER, 9.0, "recommended")
    assert _extrapolation(SimpleNamespace(plan=plan, complete=False,
                                          recommendation={"actions": {}})) == []
    # once the actuals cover the horizon nothing is forecast: nothing to warn about
    outside = plan.with_actions(**{LEVER: 9})
    assert _extrapolation(SimpleNamespace(plan=outside, complete=True,
                                          recommendation=None)) == []
    assert len(_extrapolation(SimpleNamespace(plan=outside, complete=False,
                                              recommendation=None))) == 1


@pytest.mark.parametrize("body, parts", [
    ("prospect_visits_per_week = [7, 5]",
     ("calibration.observed.prospect_visits_per_week", "low must not exceed high", "[7, 5]")),
    ("prospect_visits_per_week = [-1, 5]",
     ("calibration.observed.prospect_visits_per_week[0]", "must not be negative", "-1")),
    ("prospect_visits_per_week = [5]",
     ("calibration.observed.prospect_visits_per_week", "must be [low, high]", "[5]")),
    ("visits_per_week = [1, 2]",
     ("calibration.observed.visits_per_week", "unknown lever", "[1, 2]")),
])
def test_a_malformed_table_is_one_error_line(tmp_path, body, parts):
    bad = tmp_path / "bad.toml"
    plan = okma_sim.load_plan(okma_sim.case_study_path())
    bad.write_text(dumps_plan(plan) + "\n[calibration.observed]\n" + body + "\n")
    one_error_line(run_cli("check", bad, "--paths", 100), str(bad), *parts)
