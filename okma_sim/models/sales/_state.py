"""The state of the sales-team model between months: what a resumed run starts from."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

__all__ = ["SalesState"]


@dataclass
class SalesState:
    """Everything the model needs to resume (all arrays are per path, or per path and seat)."""

    month_index: int
    # 0 closed (a hiring rule's slot not yet opened), 1 vacant, 2 filled, 3 a new rep's seat
    # (the new_reps lever) not yet open
    seat: np.ndarray
    vacancy_left: np.ndarray
    tenure: np.ndarray
    skill: np.ndarray
    active: np.ndarray
    train_stock: np.ndarray
    coach_wait: np.ndarray
    coach_left: np.ndarray
    coach_hours: np.ndarray
    train_wait: np.ndarray
    train_left: np.ndarray
    train_extra: np.ndarray
    shift_wait: np.ndarray
    shift_left: np.ndarray
    shift_amount: np.ndarray
    mkt_wait: np.ndarray
    mkt_left: np.ndarray
    mkt_events: np.ndarray
    hires_done: np.ndarray  # per path and hiring rule
    cum_revenue: np.ndarray
    last_csat: np.ndarray
    quarters_done: np.ndarray  # (paths, n_quarters of horizon) bool
    acc: dict[str, np.ndarray] = field(default_factory=dict)  # since the last review
    # per seat: the uplift while coached (the firing rule's `effect`, else coaching_effect),
    # and which rule's coaching / training runs (-1 none), to charge its hours to that rule;
    # None in states built elsewhere: the model fills them in (_rules.init_rule_state)
    coach_effect: np.ndarray | None = None
    coach_rule: np.ndarray | None = None
    train_rule: np.ndarray | None = None
    # per seat: a new rep's seat never filled yet (takes a share of the books when first
    # filled, under team.new_rep_book = "share"); None: no such seat
    fresh: np.ndarray | None = None
    # per path: the model discrepancy's standardised AR(1) log shocks of the last month
    # (columns: acquisition, repeat orders); None: none drawn yet (the next month starts the
    # series at its stationary law)
    discrepancy: np.ndarray | None = None

    def tick_timers(self, idle: frozenset[str] = frozenset()) -> None:
        """Advance every response timer by one month (after the month they covered).

        ``idle`` names timers ("coach", "train", "shift", "mkt") whose arrays are all +0.0 and
        that no rule can start: ticking would leave them unchanged, so they are skipped."""
        for t in ("coach", "train", "shift"):
            if t in idle:
                continue
            w, left = f"{t}_wait", f"{t}_left"
            on = (getattr(self, w) <= 0) & (getattr(self, left) > 0)
            setattr(self, left, getattr(self, left) - on)
            setattr(self, w, np.maximum(getattr(self, w) - 1, 0))
        if "mkt" in idle:
            return
        on = (self.mkt_wait <= 0) & (self.mkt_left > 0)
        self.mkt_left = self.mkt_left - on
        self.mkt_wait = np.maximum(self.mkt_wait - 1, 0)
        self.mkt_events = np.where(self.mkt_left > 0, self.mkt_events, 0.0)

    def select(self, idx: np.ndarray) -> "SalesState":
        """The state of a subset (or resampling) of paths."""
        kw = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                kw[f.name] = v[idx]
            elif isinstance(v, dict):
                kw[f.name] = {k: a[idx] for k, a in v.items()}
            else:
                kw[f.name] = v
        return SalesState(**kw)
