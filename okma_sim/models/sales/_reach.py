"""The revisit curve (docs/model.md 5.6): the share of a book's customers that follow-up
visits reach, shared by the model and the fits."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["revisit_hazard", "revisit_reach"]


def revisit_hazard(t: Any, x: Any, eta: Any) -> np.ndarray:
    """The revisit curve's cumulative hazard, ``-log(1 - reach)``:
    ``log(1 + eta t x) / eta``, and ``t x`` at ``eta = 0`` (its limit).

    Parameters
    ----------
    t : float or ndarray
        Targeting, ``followup_targeting`` (times the coaching multiplier).
    x : float or ndarray
        Follow-up visits per customer, ``visits / max(customers, 1)``.
    eta : float or ndarray
        Heterogeneity, ``revisit_heterogeneity`` (>= 0): the variance of the customers'
        visit rates (gamma, mean 1).

    Returns
    -------
    ndarray
        ``t x L(eta t x)`` with ``L(y) = log1p(y) / y`` and ``L(0) = 1``, broadcast over the
        inputs: the limit ``eta -> 0`` is the value at 0, not a branch of its own.

    Examples
    --------
    >>> from okma_sim.models import revisit_hazard
    >>> float(revisit_hazard(1.5, 1.0, 0.0)), round(float(revisit_hazard(1.5, 1.0, 1.0)), 4)
    (1.5, 0.9163)
    """
    z = np.multiply(t, x, dtype=float)
    y = np.multiply(eta, z, dtype=float)
    # L(y) = log1p(y) / y -> 1 as y -> 0: the guard only skips the 0 / 0 of y = 0 itself
    L = np.divide(np.log1p(y), y, out=np.ones_like(y), where=y != 0)
    return z * L


def revisit_reach(t: Any, x: Any, eta: Any) -> np.ndarray:
    """Share of a book's customers that follow-up visits reach:
    ``1 - (1 + eta t x) ** (-1 / eta)``, and ``1 - exp(-t x)`` at ``eta = 0`` (its limit).

    Each customer's visits are Poisson with a rate that varies between customers as a gamma
    of mean 1 and variance ``eta``: at ``eta = 0`` every customer has the same rate; the larger
    ``eta``, the more the visits go again and again to the same accounts, and the slower reach
    rises with the visits. The curve never falls as ``x`` rises, for every ``eta``.

    Parameters
    ----------
    t, x, eta : float or ndarray
        As in :func:`revisit_hazard`.

    Returns
    -------
    ndarray
        ``-expm1(-revisit_hazard(t, x, eta))``, in [0, 1).

    Examples
    --------
    >>> from okma_sim.models import revisit_reach
    >>> round(float(revisit_reach(1.5, 1.0, 0.0)), 4), float(revisit_reach(1.5, 1.0, 1.0))
    (0.7769, 0.6)
    """
    return -np.expm1(-revisit_hazard(t, x, eta))
