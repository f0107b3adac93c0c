"""A metric's monthly values reduced to one number per path, as a KR or objective says."""

from __future__ import annotations

import numpy as np

__all__ = ["aggregate"]


class _quiet:
    def __enter__(self):
        import warnings
        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        self._w.__exit__(*exc)


def aggregate(values: np.ndarray, how: str, threshold: float | None = None,
              comparison: str = ">=") -> np.ndarray:
    """Aggregate monthly values (paths, months) over the months.

    ``final``, ``mean``, ``sum``, ``min``, ``max`` skip NaN months (a month with no data);
    ``share_of_months`` is the share of months whose value meets ``threshold``.

    Examples
    --------
    >>> import numpy as np
    >>> aggregate(np.array([[1.0, 3.0, np.nan]]), "mean")
    array([2.])
    >>> aggregate(np.array([[0.7, 0.9, 0.8]]), "share_of_months", 0.8)
    array([0.66666667])
    """
    v = np.asarray(values, dtype=float)
    with np.errstate(all="ignore"), _quiet():
        if how == "final":
            # last non-NaN month
            ok = ~np.isnan(v)
            idx = v.shape[1] - 1 - np.argmax(ok[:, ::-1], axis=1)
            out = v[np.arange(v.shape[0]), idx]
            return np.where(ok.any(1), out, np.nan)
        if how == "mean":
            return np.nanmean(v, axis=1)
        if how == "sum":
            return np.where(np.isnan(v).all(1), np.nan, np.nansum(v, axis=1))
        if how == "min":
            return np.nanmin(v, axis=1)
        if how == "max":
            return np.nanmax(v, axis=1)
        if how == "share_of_months":
            hit = v >= threshold if comparison == ">=" else v <= threshold
            n = (~np.isnan(v)).sum(1)
            return np.where(n > 0, (hit & ~np.isnan(v)).sum(1) / np.maximum(n, 1), np.nan)
    raise ValueError(f"unknown aggregate {how!r}")
