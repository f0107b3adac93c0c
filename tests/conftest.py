"""Test-suite set-up. The tests mirror the package's layers (tests/engine, tests/inference,
...); this file sits at their root so that pytest puts ``tests/`` on ``sys.path`` and every
folder can import the shared helpers (``cli_helpers``)."""

import pytest

import okma_sim


@pytest.fixture(scope="module")
def case():
    """The bundled case study (a module may define its own ``case``, which then wins)."""
    return okma_sim.load_plan(okma_sim.case_study_path())
