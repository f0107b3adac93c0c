"""The identification report (docs/calibration.md, "Identification report"): each fit report
entry's ``width_ratio`` (its 90% interval's width over the prior's) and ``identified`` flag,
computed against the prior the fit used, and written as comments in the calibrated scenario."""

from __future__ import annotations

import re
import tomllib

import numpy as np
import pytest
from scipy import stats

import okma_sim
from okma_sim import Distribution as D
from okma_sim.inference import (IDENTIFIED_WIDTH_RATIO, FitResult, fit_history,
                                fit_opportunities, fit_rep_month, history_from_simulation,
                                load_history)
from okma_sim.inference._seasonal import form_priors
from okma_sim.models.sales import PARAMETERS
from okma_sim.plan import Rule, loads_plan
from history_helpers import ROOT, generator, recovery_priors

G = generator()
PRIORS = recovery_priors()
REPS, MONTHS = 30, 48
#: 13 prospect visits and 1 follow-up visit a week, no training (so that the hours fit)
ACTIONS = {**G.ACTIONS, "prospect_visits_per_week": 13.0, "customer_visits_per_week": 1.0,
           "training_hours_per_month": 0.0}
#: a rep whose revisit rate falls under 0.6 (every rep at 1 follow-up visit a week) moves 11
#: visits a week from prospects to follow-ups for two months: prospect visits then swing
#: between 56 and 9 a month
SHIFT = (Rule(id="shift", metric="revisit_rate", per_rep=True, below=0.6,
              response="shift_visits", visits_per_week=11.0, duration_months=2),)
#: the priors' medians; nobody leaves, so no covering of vacant seats moves the visits
TRUTH = {**{k: (float(v.ppf(0.5)) if isinstance(v, D) else v) for k, v in PRIORS.items()},
         "visit_elasticity": 0.34, "rep_attrition_annual": 0.0}


def _history(rules: tuple[Rule, ...], seed: int):
    plan = G.build_plan(TRUTH, reps=REPS, months=MONTHS, rules=rules, actions=ACTIONS)
    res = okma_sim.simulate(plan, n_paths=1, seed=seed, record_reps=True, progress=False)
    return history_from_simulation(res).drop(columns="path")


@pytest.fixture(scope="module")
def histories():
    return _history((), 1), _history(SHIFT, 1)


@pytest.mark.parametrize("sigma", [0.08, 0.25])
def test_visit_elasticity_is_identified_only_where_prospect_visits_vary(histories, sigma):
    """Constant customer and prospect visits cannot tell the elasticity from the base win rate
    (the data pin only base_win_rate x (56/26)^elasticity): not identified. 30 reps x 48
    months whose prospect visits swing between 56 and 9 a month identify it. Both under a
    narrow prior (sd 0.08, the sd of a meta-analytic mean) and a wide one (sd 0.25, wider than
    the default's 0.18)."""
    priors = {**PRIORS, "visit_elasticity": D("normal", {"mu": 0.34, "sigma": sigma,
                                                         "low": 0.0, "high": 1.0})}
    fit_plan = G.build_plan(priors, reps=REPS, months=MONTHS, rules=(), actions=ACTIONS)
    flat, varied = histories
    assert flat["prospect_visits"].nunique() == 1 and flat["customer_visits"].nunique() == 1
    e = fit_rep_month(flat, fit_plan).entry("visit_elasticity")
    print(f"\nsd {sigma}: constant visits width_ratio {e.width_ratio:.3f} ({e.source})")
    assert e.identified is False and e.width_ratio > IDENTIFIED_WIDTH_RATIO
    # "fitted" on the fitting scale (its sd shrank a little, or jointly with the win rate),
    # yet its own interval narrowed by less than half: the two flags differ by design
    assert e.source == "fitted" and e.width_ratio > 0.6
    assert np.log(varied["prospect_visits"]).std() > 0.8
    v = fit_rep_month(varied, fit_plan).entry("visit_elasticity")
    print(f"sd {sigma}: varied visits width_ratio {v.width_ratio:.3f} ({v.note or v.source})")
    assert v.identified is True and v.source == "fitted"
    assert v.width_ratio <= IDENTIFIED_WIDTH_RATIO


# ---------------------------------------------------------------------------------------------
# the ratio against the prior the fit used
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sales_fit() -> FitResult:
    return fit_history(load_history(ROOT / "data" / "sales_history.csv"))


def _scipy(spec: dict):
    """A named distribution's spec as a frozen scipy distribution (built here, not by
    okma_sim)."""
    a = {k: float(v) for k, v in spec.items() if k != "dist"}
    if spec["dist"] == "gamma":
        return stats.gamma(a["shape"], scale=a["scale"])
    if spec["dist"] == "lognormal":
        return stats.lognorm(a["sigma"], scale=a["median"])
    if spec["dist"] == "beta":
        return stats.beta(a["a"], a["b"])
    if spec["dist"] == "normal":
        lo, hi = a.get("low", -np.inf), a.get("high", np.inf)
        return stats.truncnorm((lo - a["mu"]) / a["sigma"], (hi - a["mu"]) / a["sigma"],
                               loc=a["mu"], scale=a["sigma"])
    raise ValueError(spec["dist"])


def _case_study_prior(name: str) -> dict:
    """The case study's [parameters] entry, else the model's default prior."""
    doc = tomllib.loads(okma_sim.case_study_path().read_text(encoding="utf-8"))
    if name in doc.get("parameters", {}):
        return doc["parameters"][name]
    p = PARAMETERS[name].prior
    return {"dist": p.dist, **p.args}


@pytest.mark.parametrize("name", ["base_win_rate", "order_value", "followup_targeting",
                                  "churn_base", "visit_order_effect", "csat_coverage_effect"])
def test_width_ratio_is_the_written_width_over_the_prior_s(sales_fit, name):
    e = sales_fit.entry(name)
    assert e.source == "fitted" and "vague" not in e.note
    prior = _scipy(_case_study_prior(name))
    want = (e.high90 - e.low90) / (prior.ppf(0.95) - prior.ppf(0.05))
    assert e.width_ratio == pytest.approx(want, rel=1e-6)
    assert e.identified is bool(want <= IDENTIFIED_WIDTH_RATIO)


def test_the_flags_agree_with_the_source(sales_fit):
    """A prior entry is never identified (its ratio is 1, or None for a fixed value); an
    identified one is fitted with a ratio of at most the threshold; the JSON and the frame
    carry both fields."""
    for e in sales_fit.entries:
        if e.source == "prior":
            assert e.identified is False
            fixed = e.distribution.dist == "fixed"
            assert (e.width_ratio is None) if fixed else e.width_ratio == pytest.approx(1.0)
        if e.identified:
            assert e.source == "fitted" and e.width_ratio <= IDENTIFIED_WIDTH_RATIO
    by_name = {p["name"]: p for p in sales_fit.to_json_dict()["parameters"]}
    frame = sales_fit.to_frame().set_index("name")
    for e in sales_fit.entries:
        assert by_name[e.name]["identified"] is e.identified
        assert by_name[e.name]["width_ratio"] == e.width_ratio
        assert frame.at[e.name, "identified"] == e.identified
    # the bundled history: the order value narrowed to under half its prior; the visits'
    # effects on orders and on acquisition moved on their fitting scales but not on their own
    # (prospect visits stay within 4.8-6.9 a week): fitted, not identified
    assert sales_fit.entry("order_value").identified
    for name in ("visit_order_effect", "visit_elasticity"):
        e = sales_fit.entry(name)
        assert e.source == "fitted" and not e.identified, name
    table = sales_fit.table()
    assert "identification" in table
    assert re.search(r"order_value .*identified: narrowed to \d+% of prior", table)
    assert re.search(r"ramp_months .*not identified: prior kept", table)
    assert re.search(r"order_value_cv .*fixed value, not fitted", table)


def test_the_opportunity_export_seasonal_and_flat_priors():
    """The export's richer seasonal form replaces the fixed neutral factors by the form's
    priors, and the ratio is taken against those; a parameter fitted with a flat prior (the
    win rate, where the data dominate, and the deal values, from the data alone) has ratio 0
    and is identified."""
    opps = load_history(okma_sim.data_path("crm_sales_opportunities"), "opportunities")
    plan = okma_sim.load_plan(okma_sim.case_study_path())
    fit = fit_opportunities(opps, plan)
    moq = form_priors("month_of_quarter", {"quarter_end_uplift":
                                           PARAMETERS["quarter_end_uplift"].prior})
    for n in ("season_q1", "season_q2", "season_q3"):
        e = fit.entry(n)
        assert e.source == "fitted", n
        prior = _scipy({"dist": "lognormal", **moq[n].args})
        want = (e.high90 - e.low90) / (prior.ppf(0.95) - prior.ppf(0.05))
        assert e.width_ratio == pytest.approx(want, rel=1e-6)
    assert "data dominate: vague prior" in fit.entry("base_win_rate").note
    for n in ("base_win_rate", "order_value", "order_value_cv"):
        e = fit.entry(n)
        assert e.width_ratio == 0.0 and e.identified, n
    assert fit.entry("churn_base").source == "prior" and not fit.entry("churn_base").identified


def test_the_written_scenario_carries_the_report_as_comments(sales_fit, tmp_path):
    plan = sales_fit.to_plan(okma_sim.load_plan(okma_sim.case_study_path()))
    text = sales_fit.scenario_toml(plan)
    path = tmp_path / "fitted.toml"
    path.write_text(text, encoding="utf-8")
    assert okma_sim.load_plan(path) == loads_plan(okma_sim.dumps_plan(plan))
    lines = text.splitlines()
    seen = set()
    for i, line in enumerate(lines):
        m = re.fullmatch(r"\[parameters\.(\w+)\]", line)
        if not m:
            continue
        e = sales_fit.entry(m.group(1))
        ratio = "none" if e.width_ratio is None else f"{e.width_ratio:.2f}"
        assert lines[i - 1].startswith("# calibrate: ")
        assert lines[i - 1].endswith(f"width_ratio = {ratio}, identified = "
                                     f"{str(e.identified).lower()}")
        seen.add(e.name)
    assert {e.name for e in sales_fit.entries if e.source == "fitted"} <= seen
    # the parameters the file leaves to the model's defaults are listed once, above
    block = text[:text.index("[parameters.")]
    for e in sales_fit.entries:
        if e.name not in seen:
            assert re.search(rf"^#  .*\b{e.name}\b", block, re.MULTILINE), e.name
    assert "#   ramp_months: prior kept" in block
