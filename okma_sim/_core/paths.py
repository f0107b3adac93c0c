"""Where the bundled data lives (scenarios, histories, the CRM dataset)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["data_path", "case_study_path"]


def data_path(*parts: str) -> Path:
    """A path inside the bundled ``data/`` folder (scenarios, histories, the CRM dataset)."""
    return Path(__file__).resolve().parents[2].joinpath("data", *parts)


def case_study_path() -> Path:
    """The bundled case study scenario (``data/scenarios/case_study.toml``)."""
    return data_path("scenarios", "case_study.toml")
