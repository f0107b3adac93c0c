"""Why the action solver found no setting: which constraint binds (the reps' hours, the lever
bounds such as the headcount's, or a probability too noisy to tell) and what it would take."""

from __future__ import annotations

from typing import Any

from okma_sim._core.formatting import format_number, format_share
from ._search import MAX_CAPPED_SHARE, Evaluator, within_hours

__all__: list[str] = []


def binding_constraints(ev: Evaluator, chosen: dict, verified: Any, hours: dict | None
                        ) -> list[dict[str, str]]:
    """The constraints that bind when no setting within the bounds reaches the confidence,
    each ``{"constraint": "hours" | "bounds" | "noise", "detail": ...}`` in plain words.

    - hours: settings that reach the confidence were found, but their planned hours exceed
      the reps' selling hours in more than 5% of rep-months;
    - bounds: the best setting has levers at their upper bounds (the headcount named first);
    - noise: the best setting's verified probability is within 2 standard errors of the
      confidence.
    """
    s, c = ev.s, ev.s.confidence
    # the whole-number levers (a headcount): named first, and the advice for the hours
    heads = [k for k, w in zip(s.names, ev.whole) if w]
    out: list[dict[str, str]] = []
    over = [r for r in ev.records() if r["probability"] >= c and not within_hours(r)]
    if over:
        r = min(over, key=lambda r: r["capped"])
        need = f"{hours['hours_planned']:.0f} h" if hours else "more hours"
        avail = f"{hours['hours_available']:.0f} h" if hours else "the selling hours"
        out.append({"constraint": "hours", "detail": (
            f"settings reaching {c:.0%} were found (e.g. {_levels(s.names, r['x'])}), but "
            f"they ask for more hours than a rep has in {format_share(r['capped'])} of "
            f"rep-months (at most {MAX_CAPPED_SHARE:.0%} allowed; the best feasible setting "
            f"plans {need} a rep-month against {avail}): "
            + (f"more reps (the {heads[0]} lever, a higher levers.{heads[0]}.high) or "
               if heads else "more reps or ")
            + "fewer visits per rep would free the hours")})
    at_top = [k for k, x, hi in zip(s.names, chosen["x"], ev.highs) if x >= hi - 1e-9]
    if at_top:
        at_top.sort(key=lambda k: k not in heads)
        out.append({"constraint": "bounds", "detail": (
            "the best setting has " + ", ".join(
                f"{k} at its upper bound {format_number(s.plan.levers[k].high)}"
                for k in at_top)
            + ": raising levers." + at_top[0] + ".high (or adding reps) may reach "
            f"{c:.0%}" + _beyond(ev, chosen, at_top[0]))})
    ve = verified.estimate
    if ve.probability + 2 * ve.stderr >= c:
        out.append({"constraint": "noise", "detail": (
            f"the best setting's probability, {ve.probability:.1%} ± {ve.stderr:.1%}, is within "
            f"2 standard errors of {c:.0%}: rerun with more --paths to tell")})
    if not out:
        out.append({"constraint": "bounds", "detail": (
            f"the best setting found reaches {ve.probability:.1%} ± {ve.stderr:.1%}, short of "
            f"{c:.0%}, with no lever at its upper bound: a longer search (more "
            "--max-evaluations) may find more; otherwise the targets need more than these "
            "levers can give (lower a target, or add a lever)")})
    return out


def _beyond(ev: Evaluator, chosen: dict, lever: str) -> str:
    """What the best setting would give with ``lever`` two steps beyond its upper bound (one
    more simulation under the search's seed), in words; "" when the model's range ends there."""
    from okma_sim.engine import simulate
    s = ev.s
    lv = s.plan.levers[lever]
    step = ev.steps[s.names.index(lever)] or (lv.high - lv.low) / 10 or 1.0
    info = (getattr(s.model, "levers", None) or {}).get(lever)
    level = lv.high + 2 * step
    if info is not None and level > info.bounds[1]:
        return ""
    x = {**dict(zip(s.names, chosen["x"])), lever: level}
    res = simulate(s.plan.with_actions(**x), n_paths=s.n_paths, seed=s.seed, model=s.model,
                   sampler=s.sampler, executor=s.executor, progress=False)
    e = res.all_met()
    return (f"; at {lever} = {format_number(level)} the search's simulated runs give "
            f"{e.probability:.1%} ± {e.stderr:.1%}")


def _levels(names, x) -> str:
    return ", ".join(f"{k} = {format_number(v)}" for k, v in zip(names, x))
