"""Reports to hand on: one self-contained HTML page (figures inline, no external resource)
and an Excel workbook, for a plan (one simulation) or a mid-period review, and the glossary.

Build
    plan_report, review_report, SECTIONS, REVIEW_SECTIONS, has_reps, report_options
Write
    render_html, workbook_bytes, SHEETS
Parts
    Report, Section, Paragraph, Bullets, Table, Figure, draw, GLOSSARY

A section is one function ``(result) -> Section | None`` in a registry (``SECTIONS`` for the
plan report, ``REVIEW_SECTIONS`` for the review's); adding a section is adding a function.
"""

from ._blocks import Bullets, Figure, Paragraph, Report, Section, Table, draw
from ._build import plan_report, review_report
from ._facts import has_reps, report_options
from ._glossary import GLOSSARY
from ._html import render_html
from ._review_sections import REVIEW_SECTIONS
from ._sections import SECTIONS
from ._workbook import SHEETS, workbook_bytes

__all__ = ["GLOSSARY", "REVIEW_SECTIONS", "SECTIONS", "SHEETS", "Bullets", "Figure",
           "Paragraph", "Report", "Section", "Table", "draw", "has_reps", "plan_report", "report_options",
           "render_html", "review_report", "workbook_bytes"]
