"""The engine against an independent per-path, per-rep, per-month reference implementation
(benchmarks/reference.py, pure Python, written from docs/model.md; it imports nothing from
okma_sim but the plan loader).

The run is small but busy: 3 new reps (so that ramp-up matters) over 12 months, the case
study's coaching rule plus a rule of every other response type (training, shift_visits,
marketing_push, hiring), and attrition with refills. The per-path aggregates of several
metrics must agree in distribution:

- a two-sample Kolmogorov-Smirnov test at alpha = 0.001 for each of the eight metrics (a false
  alarm about 0.8% of the time; the seeds are fixed, so the outcome is deterministic);
- the means within 4 standard errors of their difference.

The engine draws revisits by a continuity-corrected normal approximation (docs/model.md section
2). The main comparison has the reference mirror that approximation, so both sample one law.
A second comparison lets the reference draw the exact binomial instead and checks the metrics
that revisits drive: the approximation keeps the mean almost exactly, so the means must still
agree within 4 standard errors.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import okma_sim
from okma_sim.results import aggregate
from okma_sim.plan import Rule

ALPHA = 0.001
Z = 4.0
N_REF = 500
N_ENGINE = 4000

#: metric -> aggregation over the months (one number per path)
METRICS = {"new_customers": "mean", "churned_customers": "sum", "revenue": "sum",
           "revisit_rate": "mean", "csat": "final", "headcount": "mean",
           "active_customers": "final", "cost": "sum"}


def _load_reference():
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "reference.py"
    spec = importlib.util.spec_from_file_location("okma_reference", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def reference():
    return _load_reference()


@pytest.fixture(scope="module")
def plan():
    base = okma_sim.load_plan(okma_sim.case_study_path())
    rules = tuple(base.management.rules) + (
        Rule(id="train", metric="new_customers", per_rep=True, below=0.9,
             response="training"),
        Rule(id="shift", metric="revisit_rate", per_rep=False, below=0.7,
             response="shift_visits", visits_per_week=1.0),
        Rule(id="push", metric="new_customers", per_rep=False, below=2.5,
             response="marketing_push"),
        Rule(id="hire", metric="headcount", per_rep=False, below=3, response="hiring",
             reps=1),
    )
    return dataclasses.replace(
        base, team=dataclasses.replace(base.team, reps=3, tenure_months=1,
                                       allow_new_hires=True),
        management=dataclasses.replace(base.management, rules=rules))


@pytest.fixture(scope="module")
def engine_run(plan):
    return okma_sim.simulate(plan, n_paths=N_ENGINE, seed=2, keep_monthly="all",
                             progress=False)


def _per_path(monthly, how: str) -> np.ndarray:
    # float32 months, as the engine keeps them, so equal values stay equal (KS counts ties)
    v = aggregate(np.asarray(monthly, dtype=np.float32), how)
    return v[~np.isnan(v)]


def _compare(name: str, a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    z = (a.mean() - b.mean()) / se if se > 0 else 0.0
    assert abs(z) < Z, f"{name}: reference mean {a.mean():.6g}, engine {b.mean():.6g} " \
                       f"({z:+.2f} SE)"
    return z, se


def test_engine_agrees_with_the_reference(plan, engine_run, reference):
    ref = reference.simulate_reference(plan, N_REF, seed=1, revisits="normal")
    # the run is busy: every rule fires and reps leave and are replaced, in both
    diag = ref["diagnostics"]
    for key in diag[0]:
        assert sum(d[key] for d in diag) > 0, key
        assert engine_run.diagnostics[key] > 0, key
    for metric, how in METRICS.items():
        a = _per_path(ref["metrics"][metric], how)
        b = _per_path(engine_run.monthly[metric], how)
        assert a.size > 0.9 * N_REF and b.size > 0.9 * N_ENGINE
        _compare(metric, a, b)
        p = stats.ks_2samp(a, b).pvalue
        assert p > ALPHA, f"{metric}: KS p = {p:.2g}"


def test_rules_fire_as_often_as_in_the_reference(plan, engine_run, reference):
    ref = reference.simulate_reference(plan, N_REF, seed=3, revisits="normal")
    for key in ref["diagnostics"][0]:
        per_path = np.array([d[key] for d in ref["diagnostics"]])
        eng = engine_run.diagnostics[key] / N_ENGINE
        # SE of the difference, with the reference's spread for both sides
        se = per_path.std(ddof=1) * np.sqrt(1 / N_REF + 1 / N_ENGINE)
        assert abs(per_path.mean() - eng) < Z * se, (key, per_path.mean(), eng, se)


def test_exact_binomial_revisits_keep_the_means(plan, engine_run, reference):
    ref = reference.simulate_reference(plan, N_REF, seed=4, revisits="binomial")
    for metric in ("revisit_rate", "churned_customers", "csat"):
        a = _per_path(ref["metrics"][metric], METRICS[metric])
        b = _per_path(engine_run.monthly[metric], METRICS[metric])
        _compare(metric, a, b)
