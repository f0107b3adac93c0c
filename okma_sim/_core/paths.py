"""Where the bundled data lives (scenarios, histories, the CRM dataset).

The files sit in the repository's top-level ``data/`` folder, which pyproject.toml installs as
the package ``okma_sim.data``: a wheel carries them inside the package, an editable install
maps the package onto the folder, and both are found through ``importlib.resources``. The
third-party CRM dataset (``crm_sales_opportunities``) ships only with the repository.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from .errors import OkmaError

__all__ = ["data_path", "case_study_path"]

#: the bundled data that is not installed with the package, only found in a clone
REPOSITORY_ONLY = ("crm_sales_opportunities",)


def _data_root() -> Path:
    try:
        return Path(str(resources.files("okma_sim.data")))
    except ModuleNotFoundError:
        # a checkout used without installing it (PYTHONPATH): the data/ folder beside the package
        return Path(__file__).resolve().parents[2] / "data"


def data_path(*parts: str) -> Path:
    """A path inside the bundled data: scenarios, histories and, in a clone of the repository,
    the CRM dataset.

    Raises OkmaError saying where to get the CRM dataset when it is asked for and absent (an
    installed wheel does not carry it).

    Examples
    --------
    >>> data_path("scenarios", "cautious.toml").name
    'cautious.toml'
    """
    path = _data_root().joinpath(*parts)
    if parts and parts[0] in REPOSITORY_ONLY and not path.exists():
        raise OkmaError("the CRM dataset is not installed with the package: it is in the "
                        "repository's data/crm_sales_opportunities/ folder (clone it and pass "
                        "that folder)", file=str(path))
    return path


def case_study_path() -> Path:
    """The bundled case study scenario (``data/scenarios/case_study.toml``).

    Examples
    --------
    >>> case_study_path().name
    'case_study.toml'
    """
    return data_path("scenarios", "case_study.toml")
