"""Validated loaders for what the model is fitted to or conditioned on: the rep-month history
CSV and CRM opportunity exports. Every bad cell is named by file, row and column."""

from ._actuals import Actuals, load_actuals
from ._history import (DEAL_STAGES, OPPORTUNITY_COLUMNS, REP_MONTH_COLUMNS, load_opportunities,
                       load_rep_month, opportunities_to_panel, opportunity_summary)

__all__ = ["Actuals", "load_actuals",
           "DEAL_STAGES", "OPPORTUNITY_COLUMNS", "REP_MONTH_COLUMNS", "load_opportunities",
           "load_rep_month", "opportunities_to_panel", "opportunity_summary"]
