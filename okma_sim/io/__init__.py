"""Validated loaders for what the model is fitted to or conditioned on: the rep-month history
CSV, CRM opportunity exports, and the mid-period actuals a review starts from. Every bad cell
is named by file, row and column."""

from ._actuals import Actuals, load_actuals
from ._crm import (DEAL_STAGES, OPPORTUNITY_COLUMNS, load_opportunities, opportunities_to_panel,
                   opportunity_summary)
from ._history import REP_MONTH_COLUMNS, load_rep_month

__all__ = ["Actuals", "DEAL_STAGES", "OPPORTUNITY_COLUMNS", "REP_MONTH_COLUMNS", "load_actuals",
           "load_opportunities", "load_rep_month", "opportunities_to_panel",
           "opportunity_summary"]
