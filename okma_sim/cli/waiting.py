"""A line on the terminal while a command works: after about 2 s, the command's name and the
time it has taken so far, redrawn in place and erased at the end.

Commands that count their own steps (``solve``, ``review``, ``sweep``) and the engine's bar
for long simulations show more; this line is for the rest, so that no command sits silent
for long. It is drawn only when stderr is a terminal, and never with ``--no-progress`` or
``--json``.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
from typing import Iterator

__all__ = ["waiting", "shows_progress", "DELAY"]

#: seconds before the line appears (a quick command never draws it)
DELAY = 2.0


def shows_progress(args: argparse.Namespace) -> bool:
    """Whether this run may draw progress: stderr is a terminal, and neither ``--no-progress``
    nor ``--json`` was given.

    Examples
    --------
    >>> shows_progress(argparse.Namespace(json=True, no_progress=False))
    False
    """
    if getattr(args, "no_progress", False) or getattr(args, "json", False):
        return False
    return sys.stderr.isatty()


@contextlib.contextmanager
def waiting(args: argparse.Namespace, what: str) -> Iterator[None]:
    """Show ``what: 00:05 so far`` on stderr while the block runs, from :data:`DELAY` seconds
    on (:func:`shows_progress` decides whether at all).

    Examples
    --------
    >>> with waiting(argparse.Namespace(json=True), "okma-sim check"):
    ...     pass
    """
    if not shows_progress(args):
        yield
        return
    from tqdm.auto import tqdm

    # delay > 0: nothing is drawn at creation; the ticker draws once DELAY has passed
    bar = tqdm(total=None, desc=what, bar_format="{desc}: {elapsed} so far", delay=DELAY,
               leave=False, file=sys.stderr)
    stop = threading.Event()

    def tick() -> None:
        if stop.wait(DELAY):
            return
        while True:
            bar.refresh()
            if stop.wait(0.5):
                return

    ticker = threading.Thread(target=tick, name="okma-sim-waiting", daemon=True)
    ticker.start()
    try:
        yield
    finally:
        stop.set()
        ticker.join()
        bar.close()
