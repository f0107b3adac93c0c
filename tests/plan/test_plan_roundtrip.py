"""TOML round trip: load_plan(save_plan(plan)) == plan for every plan TOML can represent.

A hypothesis property test over generated plans, plus the rules for Python-only parameters
(scipy.stats frozen distributions) and for overwriting files.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

import okma_sim
from okma_sim._core.errors import OkmaError, PlanError
from okma_sim._core.numbers import MAX_MAGNITUDE, MIN_MAGNITUDE
from okma_sim.models.sales import LEVERS, METRICS, PARAMETERS, RESPONSES
from okma_sim.params import Distribution
from okma_sim.plan import (AGGREGATES, NEW_REP_BOOKS, VACANCY_MODES, Baseline, Calibration,
                           Correlations, Grading, KeyResult, Lever, Management, Objective, Plan, Rep, Rule,
                           Simulation, Team, dumps_plan, load_plan, loads_plan, save_plan)

# -- building blocks -------------------------------------------------------------------------


def _floats(low: float, high: float) -> st.SearchStrategy[float]:
    """Floats in [low, high] that a scenario accepts: sizes up to MAX_MAGNITUDE, and none
    nonzero below MIN_MAGNITUDE (those become 0)."""
    return st.floats(max(low, -MAX_MAGNITUDE), min(high, MAX_MAGNITUDE)).map(
        lambda x: 0.0 if abs(x) < MIN_MAGNITUDE and low <= 0 <= high else x)


finite = _floats(-math.inf, math.inf)
nonneg = _floats(0.0, math.inf)
positive = st.floats(min_value=1e-3, max_value=1e6)
prob = _floats(0.0, 1.0)
number = st.one_of(finite, st.integers(-10**15, 10**15))
nonneg_number = st.one_of(nonneg, st.integers(0, 10**12))
# any text TOML can hold: every code point except surrogates (not encodable in UTF-8)
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
ident = st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_\-]{0,12}\Z")
metric = st.sampled_from(sorted(METRICS))
months = st.builds("{:04d}-{:02d}".format, st.integers(1900, 2200), st.integers(1, 12))


def distinct_ids(n_min: int, n_max: int):
    return st.lists(ident, min_size=n_min, max_size=n_max, unique=True)


@st.composite
def target_fields(draw, id_: str) -> dict:
    agg = draw(st.sampled_from(AGGREGATES))
    kw = dict(id=id_, metric=draw(metric), aggregate=agg,
              comparison=draw(st.sampled_from([">=", "<="])),
              statement=draw(st.none() | text), owner=draw(st.none() | text))
    if agg == "share_of_months":
        kw["threshold"] = draw(number)
        kw["target"] = draw(prob)
    else:
        kw["target"] = draw(number)
    return kw


@st.composite
def distributions(draw) -> Distribution:
    name = draw(st.sampled_from(["fixed", "uniform", "triangular", "pert", "normal",
                                 "lognormal", "gamma", "beta"]))
    if name == "fixed":
        return Distribution(name, {"value": draw(finite)})
    if name in ("uniform", "triangular", "pert"):
        a, b = sorted(draw(st.lists(_floats(-1e6, 1e6), min_size=2, max_size=2)))
        if a == b:  # a range needs low < high (a constant is dist = "fixed")
            b = a + 1.0
        args = {"low": a, "high": b}
        if name != "uniform":
            args["mode"] = draw(_floats(a, b))
        return Distribution(name, args)
    if name == "normal":
        args = {"mu": draw(_floats(-1e6, 1e6)), "sigma": draw(st.floats(1e-6, 1e6))}
        bound = draw(st.sampled_from(["none", "low", "high", "both"]))
        lo, hi = sorted(draw(st.lists(_floats(-1e6, 1e6), min_size=2, max_size=2)))
        if lo == hi:
            hi = lo + 1.0
        if bound in ("low", "both"):
            args["low"] = lo
        if bound in ("high", "both"):
            args["high"] = hi
        return Distribution(name, args)
    if name == "lognormal":
        return Distribution(name, {"median": draw(positive), "sigma": draw(st.floats(1e-6, 3))})
    if name == "gamma":
        return Distribution(name, {"shape": draw(positive), "scale": draw(positive)})
    return Distribution(name, {"a": draw(positive), "b": draw(positive)})


def _rule_id(r: Rule) -> object:
    """A rule's id, which must be unique among the rules (rules without one never clash)."""
    return r.id if r.id is not None else object()


@st.composite
def rules(draw) -> Rule:
    kw = dict(metric=draw(metric), response=draw(st.sampled_from(sorted(RESPONSES))),
              per_rep=draw(st.booleans()))
    kw[draw(st.sampled_from(["below", "above"]))] = draw(number)
    optional = {
        "id": text, "owner": text, "hours_per_month": nonneg_number,
        "delay_months": st.integers(0, 36), "duration_months": st.integers(1, 36),
        "effect": number, "cost": nonneg_number, "visits_per_week": number,
        "events": nonneg_number, "reps": st.integers(1, 20),
    }
    for k, strat in optional.items():
        if draw(st.booleans()):
            kw[k] = draw(strat)
    return Rule(**kw)


@st.composite
def teams(draw) -> Team:
    if draw(st.booleans()):
        reps = draw(st.integers(1, 500))
    else:
        ids = draw(st.lists(text.filter(bool), min_size=1, max_size=4, unique=True))
        reps = tuple(Rep(id=i, tenure_months=draw(st.none() | nonneg_number),
                         customers=draw(st.none() | nonneg_number),
                         skill=draw(st.none() | nonneg_number),
                         vacant_months=draw(st.none() | st.integers(0, 200))) for i in ids)
    kw = {"reps": reps}
    for k in ("customers_per_rep", "tenure_months", "hours_per_prospect_visit",
              "hours_per_customer_visit", "hourly_cost"):
        if draw(st.booleans()):
            kw[k] = draw(nonneg_number)
    if draw(st.booleans()):
        kw["selling_hours_per_month"] = draw(st.floats(1, 744))
    if draw(st.booleans()):
        kw["allow_new_hires"] = draw(st.booleans())
    if draw(st.booleans()):
        kw["new_reps_month"] = draw(months)
    if draw(st.booleans()):
        kw["new_rep_book"] = draw(st.sampled_from(NEW_REP_BOOKS))
    if draw(st.booleans()):
        kw["vacancy"] = draw(st.sampled_from(VACANCY_MODES))
    return Team(**kw)


@st.composite
def baselines(draw, actions: dict) -> Baseline | None:
    """A baseline as the loader makes it: last year's stated levels, and this year's
    ``actions`` standing in for the levers it does not state (``assumed``)."""
    kind = draw(st.sampled_from(["none", "monthly", "annual"]))
    if kind == "none":
        return None
    stated = draw(st.dictionaries(st.sampled_from(sorted(LEVERS)), nonneg_number))
    kw = {"actions": {**actions, **stated},
          "assumed": tuple(k for k in actions if k not in stated)}
    if kind == "annual":
        return Baseline(annual_revenue=draw(st.floats(1e-9, 1e15)), **kw)
    vals = draw(st.lists(_floats(0, 1e12), min_size=12, max_size=12).filter(
        lambda v: v[0] > 0))  # growth is measured from the first month's baseline
    return Baseline(monthly_revenue=tuple(vals), **kw)


@st.composite
def levers(draw) -> Lever:
    lo, hi = sorted(draw(st.lists(nonneg, min_size=2, max_size=2)))
    return Lever(low=lo, high=hi, unit_cost=draw(nonneg),
                 step=draw(st.none() | st.floats(1e-12, 1e6)))


@st.composite
def correlations(draw) -> Correlations | None:
    names = draw(st.lists(st.sampled_from(sorted(PARAMETERS)), min_size=0, max_size=4,
                          unique=True))
    if not names:
        return None
    k = len(names)
    m = [[1.0] * k for _ in range(k)]
    for i in range(k):
        for j in range(i):
            m[i][j] = m[j][i] = draw(_floats(-1, 1))
    return Correlations(parameters=tuple(names), matrix=tuple(tuple(r) for r in m))


@st.composite
def calibrations(draw) -> Calibration | None:
    if draw(st.booleans()):
        return None
    ranges = draw(st.dictionaries(st.sampled_from(sorted(LEVERS)),
                                  st.lists(nonneg_number, min_size=2, max_size=2)))
    return Calibration({k: tuple(sorted(v)) for k, v in ranges.items()})


@st.composite
def plans(draw) -> Plan:
    ids = draw(distinct_ids(1, 7))
    n_obj = draw(st.integers(0, len(ids)))
    obj_ids, kr_ids = ids[:n_obj], ids[n_obj:]
    objectives = tuple(Objective(**draw(target_fields(i))) for i in obj_ids)
    krs = []
    for i in kr_ids:
        kw = draw(target_fields(i))
        # the objective(s) it serves: existing ids or not (round trip does not check them)
        pool = list(obj_ids) or ["missing"]
        objs = draw(st.lists(st.sampled_from(pool + ["other"]), min_size=1, max_size=3))
        krs.append(KeyResult(**kw, objective=tuple(objs),
                             baseline=draw(st.none() | number)))
    grade = sorted(draw(st.lists(prob, min_size=2, max_size=2)))
    sim = Simulation(paths=draw(st.none() | st.integers(1, 10**9)),
                     seed=draw(st.none() | st.integers(0, 2**63 - 1)),
                     sampler=draw(st.sampled_from(["mc", "lhs", "sobol"])),
                     replicates=draw(st.integers(2, 64)))
    actions = draw(st.dictionaries(st.sampled_from(sorted(LEVERS)), nonneg_number))
    return Plan(
        name=draw(text),
        start_month=f"{draw(st.integers(1900, 2200)):04d}-{draw(st.integers(1, 12)):02d}",
        horizon_months=draw(st.integers(1, 120)),
        objectives=objectives,
        key_results=tuple(krs),
        team=draw(teams()),
        baseline=draw(baselines(actions)),
        actions=actions,
        levers=draw(st.dictionaries(st.sampled_from(sorted(LEVERS)), levers())),
        parameters=draw(st.dictionaries(st.sampled_from(sorted(PARAMETERS)),
                                        distributions())),
        management=Management(review_every_months=draw(st.integers(0, 12)),
                              owner=draw(st.none() | text),
                              rules=tuple(draw(st.lists(rules(), max_size=3, unique_by=_rule_id)))),
        currency=draw(st.sampled_from(["", "CNY", "EUR"]) | text),
        description=draw(st.none() | text),
        model=draw(st.sampled_from(["sales_team", "linear_toy"])),
        simulation=sim,
        correlations=draw(correlations()),
        grading=Grading(stretch=grade[0], committed=grade[1]),
        calibration=draw(calibrations()),
    )


# -- the property ----------------------------------------------------------------------------
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=plans())
def test_load_save_round_trip(plan, tmp_path_factory):
    path = tmp_path_factory.mktemp("rt") / "plan.toml"
    save_plan(plan, path)
    back = load_plan(path, check=False)
    assert back == plan
    # and the text form is a fixed point
    assert dumps_plan(back) == dumps_plan(plan)
    assert loads_plan(dumps_plan(plan), check=False) == plan


def test_case_study_round_trip(tmp_path):
    plan = load_plan(okma_sim.case_study_path())
    out = save_plan(plan, tmp_path / "copy.toml")
    assert load_plan(out) == plan  # checked load: still SMART-valid


def test_round_trip_keeps_kr_objective_forms(tmp_path):
    plan = load_plan(okma_sim.case_study_path())
    back = load_plan(save_plan(plan, tmp_path / "c.toml"))
    krs = {k.id: k.objective for k in back.key_results}
    assert krs["new_customers"] == ("revenue",)
    assert krs["revisit_rate"] == ("revenue", "csat")


# -- scipy.stats frozen parameters -------------------------------------------------------------
def test_save_refuses_unnamed_scipy_distribution(tmp_path):
    plan = load_plan(okma_sim.case_study_path()).with_parameters(
        ramp_months=stats.weibull_min(1.5, scale=5.0))
    out = tmp_path / "w.toml"
    with pytest.raises(PlanError) as info:
        save_plan(plan, out)
    msg = str(info.value)
    assert "parameters.ramp_months" in msg and "weibull_min" in msg
    assert "\n" not in msg
    assert not out.exists()
    # it is still usable in Python
    res = okma_sim.simulate(plan, n_paths=200, seed=1, progress=False)
    assert res.params["ramp_months"].min() > 0


def test_save_converts_scipy_norm_to_normal(tmp_path):
    plan = load_plan(okma_sim.case_study_path()).with_parameters(
        training_effect=stats.norm(0.12, 0.03), marketing_effect=stats.norm(loc=0.05,
                                                                            scale=0.02))
    out = save_plan(plan, tmp_path / "n.toml")
    back = load_plan(out)
    assert back.parameters["training_effect"] == Distribution("normal",
                                                              {"mu": 0.12, "sigma": 0.03})
    assert back.parameters["marketing_effect"] == Distribution("normal",
                                                               {"mu": 0.05, "sigma": 0.02})
    text_ = out.read_text()
    assert 'dist = "normal"' in text_


@pytest.mark.parametrize("frozen,named", [
    (stats.uniform(1.0, 2.0), Distribution("uniform", {"low": 1.0, "high": 3.0})),
    (stats.lognorm(0.2, scale=3.0), Distribution("lognormal", {"median": 3.0, "sigma": 0.2})),
    (stats.gamma(2.0, scale=0.5), Distribution("gamma", {"shape": 2.0, "scale": 0.5})),
    (stats.beta(2.0, 5.0), Distribution("beta", {"a": 2.0, "b": 5.0})),
])
def test_save_converts_other_scipy_families(tmp_path, frozen, named):
    plan = load_plan(okma_sim.case_study_path()).with_parameters(order_value_cv=frozen)
    back = load_plan(save_plan(plan, tmp_path / "p.toml"), check=False)
    assert back.parameters["order_value_cv"] == named
    for u in (0.1, 0.5, 0.9):
        assert math.isclose(float(named.ppf(u)), float(frozen.ppf(u)), rel_tol=1e-12)


# -- overwrite -------------------------------------------------------------------------------
def test_save_refuses_to_overwrite(tmp_path):
    plan = load_plan(okma_sim.case_study_path())
    out = tmp_path / "p.toml"
    out.write_text("precious", encoding="utf-8")
    with pytest.raises(OkmaError, match="exists"):
        save_plan(plan, out)
    assert out.read_text(encoding="utf-8") == "precious"
    save_plan(plan, out, overwrite=True)
    assert load_plan(out) == plan
    assert not [p for p in tmp_path.iterdir() if p.name != "p.toml"]  # no temp files left



def test_save_to_a_folder_is_refused(tmp_path):
    plan = load_plan(okma_sim.case_study_path())
    with pytest.raises(OkmaError, match="folder"):
        save_plan(plan, tmp_path, overwrite=True)
    assert list(tmp_path.iterdir()) == []
