"""Dump every number okma_sim produces on a fixed set of plans, through the public API and
the real CLI only, so that two source trees can be compared bit for bit.

Run by ``compare.py``; on its own: ``python benchmarks/identity/dump.py OUT.pkl`` with the
tree to dump first on ``PYTHONPATH``. Only ``okma_sim.__all__`` names, result methods and the
``okma-sim`` command are used: module paths may move, numbers may not.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

import okma_sim

PATHS = 2_500          # more than one block (2,048), so a partial block is always in play
TIMING_KEYS = {"elapsed", "elapsed_seconds"}  # wall-clock fields (results, solve JSON)


def _result_record(res) -> dict:
    """Every array, table and text a SimulationResult carries."""
    rec = {
        "values": {k: np.asarray(v) for k, v in res.values.items()},
        "monthly": {k: np.asarray(v) for k, v in res.monthly.items()},
        "params": res.params.copy(),
        "diagnostics": dict(res.diagnostics),
        "warnings": list(res.warnings),
        "json": _strip(res.to_json_dict()),
        "probabilities": res.probabilities(),
        "frame": res.to_frame(params=True),
        "rules": res.rules(),
        "grading": res.grading(),
        "table": res.table(),
        "per_rep": None if res.per_rep is None else {k: np.asarray(v)
                                                     for k, v in res.per_rep.items()},
        "replicate_index": None if res.replicate_index is None else np.asarray(
            res.replicate_index),
        "weights": None if res.weights is None else np.asarray(res.weights),
    }
    if res.states is not None:
        rec["states"] = [_state_record(s) for s in res.states]
    return rec


def _state_record(state) -> dict:
    """A model state's fields: arrays as they are, anything else by its repr."""
    return {name: np.asarray(v) if isinstance(v, np.ndarray) else repr(v)
            for name, v in sorted(vars(state).items())}


def _strip(obj):
    """Drop wall-clock timings, which differ from run to run."""
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k not in TIMING_KEYS}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def plans() -> dict[str, "okma_sim.Plan"]:
    """Every bundled scenario, plus generated variants of the case study."""
    out = {}
    for path in sorted(okma_sim.data_path("scenarios").glob("*.toml")):
        out[path.stem] = okma_sim.load_plan(path)
    base = okma_sim.load_plan(okma_sim.case_study_path())
    levers = dict(base.actions)
    rng = np.random.default_rng(20261203)
    for i in range(12):
        changes = {}
        for name, lv in base.levers.items():
            if name not in levers:
                continue
            v = float(rng.uniform(lv.low, lv.high))
            changes[name] = round(v) if float(levers[name]).is_integer() else round(v, 2)
        out[f"generated_{i:02d}"] = base.with_actions(**changes)
    return out


def simulations() -> dict:
    out = {}
    for name, plan in plans().items():
        out[f"{name}/mc"] = _result_record(okma_sim.simulate(plan, n_paths=PATHS, seed=7,
                                                             keep_monthly="all"))
    case = okma_sim.load_plan(okma_sim.case_study_path())
    out["case/reps"] = _result_record(okma_sim.simulate(case, n_paths=300, seed=11,
                                                        record_reps=True, keep_monthly="all"))
    for sampler in ("lhs", "sobol"):
        out[f"case/{sampler}"] = _result_record(okma_sim.simulate(
            case, n_paths=1024, seed=5, sampler=sampler, replicates=4))
    out["case/adaptive"] = _result_record(okma_sim.simulate(case, n_paths=1000, seed=3,
                                                            tolerance=0.03, max_paths=8000))
    out["case/chunked"] = _result_record(okma_sim.simulate(case, n_paths=PATHS, seed=7,
                                                           chunk_size=512))
    return out


def analyses() -> dict:
    case = okma_sim.load_plan(okma_sim.case_study_path())
    out = {}
    res = okma_sim.simulate(case, n_paths=1500, seed=2)
    out["achievable_targets"] = okma_sim.achievable_targets(res, 0.8)
    out["achievable_target"] = _plain(okma_sim.achievable_target(res, "revenue", 0.8))
    out["curve"] = okma_sim.achievability_curve(res, "revenue")
    out["grade"] = _plain(okma_sim.grade(res))
    return out


def _plain(obj):
    """Turn results of analysis functions into comparable plain data."""
    import dataclasses
    import pandas as pd
    if isinstance(obj, (pd.DataFrame, pd.Series, np.ndarray)):
        return obj
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)
                if f.name not in TIMING_KEYS}
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (int, float, str, bool, type(None), np.generic)):
        return obj
    if hasattr(obj, "to_frame"):
        return obj.to_frame()
    return repr(obj)


def cli_runs(workdir: Path) -> dict:
    """The real command, JSON out; file outputs read back."""
    data = okma_sim.data_path()
    sc = data / "scenarios"
    case = sc / "case_study.toml"
    hist = data / "sales_history.csv"
    crm = data / "crm_sales_opportunities"
    runs = {
        "check": ["check", case, "--paths", "3000", "--seed", "1"],
        "check_cautious": ["check", sc / "cautious.toml", "--paths", "3000", "--seed", "2"],
        "check_lhs": ["check", case, "--paths", "2048", "--seed", "1", "--sampler", "lhs"],
        "validate": ["validate", case],
        "target": ["target", case, "--confidence", "0.8", "--paths", "2000", "--seed", "1"],
        "solve": ["solve", case, "--confidence", "0.25", "--paths", "800", "--seed", "1",
                  "--levers", "prospect_visits_per_week,customer_visits_per_week"],
        "sensitivity": ["sensitivity", case, "--paths", "400", "--seed", "1"],
        "compare": ["compare", sc / "policy_no_reviews.toml", sc / "policy_quarterly.toml",
                    sc / "policy_monthly_coaching.toml", "--paths", "1500", "--seed", "1"],
        "review": ["review", case, "--actuals", data / "case_study_actuals.csv",
                   "--paths", "1500", "--seed", "1"],
        "calibrate": ["calibrate", hist, "--out", workdir / "fitted.toml", "--seed", "1"],
        "calibrate_crm": ["calibrate", crm, "--format", "opportunities",
                          "--out", workdir / "fitted_crm.toml", "--seed", "1"],
        "backtest": ["backtest", hist, "--cutoff", "2026-07", "--horizon", "3",
                     "--paths", "600", "--seed", "1"],
        "backtest_crm": ["backtest", crm, "--format", "opportunities", "--cutoff", "2017-09",
                         "--horizon", "3", "--paths", "600", "--seed", "1"],
        "backtest_rolling": ["backtest", crm, "--format", "opportunities", "--rolling",
                             "--horizon", "2", "--paths", "300", "--seed", "1"],
    }
    out = {}
    for name, args in runs.items():
        proc = subprocess.run([sys.executable, "-m", "okma_sim.cli", *map(str, args), "--json"],
                              capture_output=True, text=True, cwd=workdir)
        doc = None
        if proc.returncode == 0:
            try:
                doc = _strip(json.loads(proc.stdout))
            except json.JSONDecodeError:
                doc = proc.stdout
        out[name] = {"rc": proc.returncode, "doc": doc,
                     "stderr": proc.stderr if proc.returncode else ""}
        if proc.returncode:
            print(f"  cli {name}: exit {proc.returncode}: {proc.stderr.strip()[:300]}",
                  file=sys.stderr)
    for f in ("fitted.toml", "fitted_crm.toml"):
        p = workdir / f
        out[f] = p.read_text() if p.exists() else None
    sweep_out = workdir / "sweep.csv"
    proc = subprocess.run([sys.executable, "-m", "okma_sim.cli", "sweep", str(case),
                           "--grid", "prospect_visits_per_week=6,9", "--paths", "600",
                           "--seed", "1", "--out", str(sweep_out)],
                          capture_output=True, text=True, cwd=workdir)
    out["sweep"] = {"rc": proc.returncode,
                    "csv": sweep_out.read_text() if sweep_out.exists() else None}
    fig = workdir / "figs"
    proc = subprocess.run([sys.executable, "-m", "okma_sim.cli", "check", str(case), "--paths",
                           "1000", "--seed", "1", "--export", str(workdir / "export.csv"),
                           "--figures", str(fig)], capture_output=True, text=True, cwd=workdir)
    out["export"] = {"rc": proc.returncode, "stdout": proc.stdout,
                     "csv": (workdir / "export.csv").read_text()
                     if (workdir / "export.csv").exists() else None,
                     "figures": sorted(p.name for p in fig.glob("*"))}
    return out


def _placeholders(obj, subs: list[tuple[str, str]]):
    """Replace where the tree and the scratch folder happen to be with fixed names."""
    if isinstance(obj, str):
        for old, new in subs:
            obj = obj.replace(old, new)
        return obj
    if isinstance(obj, dict):
        return {k: _placeholders(v, subs) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_placeholders(v, subs) for v in obj]
    return obj


def main(argv: list[str]) -> int:
    out_path = Path(argv[0])
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        root = str(okma_sim.data_path().parent)
        dump = {"simulations": simulations(), "analyses": analyses(),
                "cli": _placeholders(cli_runs(Path(tmp)), [(tmp, "<TMP>"), (root, "<ROOT>")]),
                "all": sorted(okma_sim.__all__)}
    with open(out_path, "wb") as fh:
        pickle.dump(dump, fh)
    print(f"dumped {len(dump['simulations'])} simulations, {len(dump['cli'])} CLI runs "
          f"from {os.path.dirname(okma_sim.__file__)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
