"""Atomic file writes: a file is never half-written and never silently replaced."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import OkmaError

__all__ = ["atomic_write"]

# the process umask, read once here: reading it means setting it, and setting it while Dask's
# threads create files would race with them
_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write(path: str | os.PathLike, data: str | bytes, *, overwrite: bool = False) -> Path:
    """Write a file through a temporary file and a rename, so it is never half-written.

    Refuses to replace an existing file unless ``overwrite``; raises OkmaError naming the file
    for that and for any path the system cannot write (missing folder, a file where a folder
    should be, a name too long, a NUL byte, no permission).
    """
    if str(path).endswith(("/", os.sep)):  # Path("new/") is "new": it would become a file
        raise OkmaError("names a folder (it ends with '/'); give a file name", file=str(path))
    path = Path(path)
    if "\0" in str(path):
        raise OkmaError("not a valid file name (NUL byte)", file=str(path).replace("\0", "\\0"))
    try:
        _atomic_write(path, data, overwrite)
    except OkmaError:
        raise
    except (OSError, ValueError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise OkmaError(f"cannot write the file ({why})", file=str(path)) from None
    return path


def _atomic_write(path: Path, data: str | bytes, overwrite: bool) -> None:
    if path.is_dir():
        raise OkmaError("is a folder; give a file name", file=str(path))
    if path.exists() and not overwrite:
        raise OkmaError("file exists; pass --force (overwrite=True) to replace it",
                        file=str(path))
    if not path.parent.is_dir():
        raise OkmaError("folder does not exist or is a file", file=str(path),
                        value=str(path.parent))
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as fh:
            fh.write(data)
        # mkstemp creates the file private (0600); give it the permissions a plain open() would
        os.chmod(tmp, 0o666 & ~_UMASK)
        if not overwrite:
            # link() fails if the target appeared meanwhile: never clobber a user's file
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise OkmaError("file exists; pass --force to replace it",
                                file=str(path)) from None
            except OSError:
                os.replace(tmp, path)
        else:
            os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
