"""Reading an input file safely: only a regular file, never more than a size cap.

A named pipe would block a plain ``open``, and ``/dev/zero`` or a socket would be read until
memory runs out; both are refused before a byte is read. Every loader of user input (scenario
TOML, history, actuals and CRM CSVs) reads through :func:`read_input`.
"""

from __future__ import annotations

import os
import stat
from typing import Type

from .errors import OkmaError

__all__ = ["MAX_INPUT_BYTES", "read_input"]

#: the largest input file read (1 GiB): far beyond any scenario or CRM export, small enough
#: that reading it cannot exhaust a machine that can run a simulation
MAX_INPUT_BYTES = 1 << 30


def _size(n: int) -> str:
    return f"{n / (1 << 30):.3g} GiB" if n >= 1 << 30 else f"{n / (1 << 20):.3g} MiB"


def read_input(path: str | os.PathLike, what: str, *, error: Type[OkmaError] = OkmaError,
               max_bytes: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``, else ``error`` naming the file.

    Parameters
    ----------
    path : path-like
    what : str
        What the file should be, for the messages ("scenario file", "rep-month history CSV").
    error : type
        The OkmaError subclass to raise (PlanError, DataError).
    max_bytes : int
        The size cap (default :data:`MAX_INPUT_BYTES`).

    Raises
    ------
    OkmaError
        Missing, a directory, not a regular file (a named pipe, device or socket), larger
        than the cap, or unreadable.

    Examples
    --------
    >>> read_input("/dev/null", "scenario file")
    Traceback (most recent call last):
    ...
    okma_sim._core.errors.OkmaError: /dev/null: not a regular file (a character device); give a scenario file
    """
    file = os.fspath(path)
    try:
        # O_NONBLOCK: opening a named pipe must not wait for a writer (no effect on files)
        fd = os.open(file, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise error("no such file", file=file) from None
    except OSError as exc:
        raise error(f"cannot read the file ({exc.strerror or type(exc).__name__})",
                    file=file) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        if stat.S_ISDIR(info.st_mode):
            raise error(f"is a directory, not a {what}", file=file)
        raise error(f"not a regular file ({_kind(info.st_mode)}); give a {what}", file=file)
    with os.fdopen(fd, "rb") as f:
        size = info.st_size
        if size > max_bytes:
            raise error(f"the file is {_size(size)}, more than the {_size(max_bytes)} a {what} "
                        "may have", file=file)
        try:
            data = f.read(max_bytes + 1)  # the file may have grown since fstat
        except OSError as exc:
            raise error(f"cannot read the file ({exc.strerror or type(exc).__name__})",
                        file=file) from None
    if len(data) > max_bytes:
        raise error(f"the file is more than the {_size(max_bytes)} a {what} may have",
                    file=file)
    return data


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a file"
