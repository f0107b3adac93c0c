"""The project's one error type, so the CLI can catch it once and print one line."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

__all__ = ["OkmaError", "PlanError", "DataError", "suggest"]


def suggest(name: str, allowed: Sequence[str]) -> str:
    """The tail of an "unknown name" message: the closest allowed name, or all of them.

    Matching ignores case, so ``NEW_REPS`` finds ``new_reps`` (difflib alone compares
    characters exactly and finds nothing there).

    Examples
    --------
    >>> suggest("NEW_REPS", ["new_reps", "visits"])
    "; did you mean 'new_reps'?"
    >>> suggest("xyz", ["new_reps", "visits"])
    '; allowed: new_reps, visits'
    """
    allowed = [str(a) for a in allowed]
    by_lower: dict[str, str] = {}
    for a in allowed:
        by_lower.setdefault(a.lower(), a)
    close = difflib.get_close_matches(str(name).lower(), list(by_lower), n=1)
    return (f"; did you mean '{by_lower[close[0]]}'?" if close
            else f"; allowed: {', '.join(allowed)}")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class OkmaError(ValueError):
    """Bad input, located: the file, the key path or row, and the bad value.

    ``str(err)`` is a single line, e.g.
    ``case.toml: key_results[2].target: must be a finite number (got nan)``.
    """

    _MISSING = object()

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None,
                 value: Any = _MISSING) -> None:
        self.message = message
        self.file = None if file is None else str(file)
        self.key = key
        self.value = value
        super().__init__(self._format())

    def _format(self) -> str:
        parts = [p for p in (self.file, self.key) if p]
        text = self.message
        if self.value is not OkmaError._MISSING:
            text += f" (got {_show(self.value)})"
        line = ": ".join(parts + [text])
        return " ".join(line.split())  # one line, always

    def with_file(self, file: str) -> "OkmaError":
        """Return a copy located in ``file`` (used when the check ran before the file was known)."""
        return type(self)(self.message, file=file, key=self.key, value=self.value)


class PlanError(OkmaError):
    """A scenario (plan) is invalid."""


class DataError(OkmaError):
    """A history, actuals or CRM file is invalid."""
