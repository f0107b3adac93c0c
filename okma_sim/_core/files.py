"""Atomic file writes: a file is never half-written and never silently replaced."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Sequence

from .errors import OkmaError

__all__ = ["atomic_write", "atomic_write_many"]

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


def atomic_write_many(outputs: Sequence[tuple[str | os.PathLike, str | bytes]], *,
                      overwrite: bool = False) -> list[Path]:
    """Write several files so that all of them are written or none is.

    Every ``(path, data)`` is first written to a temporary file in its folder; only when all
    are written are they renamed into place. Should one step fail, the temporary files and the
    files this call created are removed (a file already replaced under ``overwrite`` stays
    replaced) and the OkmaError naming the file is raised.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> [p.name for p in atomic_write_many([(d / "a.txt", "A"), (d / "b.bin", b"B")])]
    ['a.txt', 'b.bin']
    >>> try:  # the second folder is missing: neither file is written
    ...     atomic_write_many([(d / "c.txt", "C"), (d / "no" / "d.txt", "D")])
    ... except OkmaError as exc:
    ...     print(exc.message)
    folder does not exist or is a file
    >>> sorted(p.name for p in d.iterdir())
    ['a.txt', 'b.bin']
    """
    staged: list[tuple[Path, str]] = []  # (target, temporary file)
    created: list[Path] = []
    try:
        for path, data in outputs:
            staged.append((Path(path), _stage(path, data, overwrite)))
        for path, tmp in staged:
            existed = path.exists()
            _place(path, tmp, overwrite)
            if not existed:
                created.append(path)
    except BaseException:  # an error or an interrupt: take back what this call wrote
        for path in created:
            if os.path.exists(path):
                os.unlink(path)
        raise
    finally:
        for _, tmp in staged:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return [p for p, _ in staged]


def _stage(path: str | os.PathLike, data: str | bytes, overwrite: bool) -> str:
    """``data`` written to a temporary file beside ``path`` (checked as :func:`atomic_write`
    checks it); returns the temporary file's name."""
    if str(path).endswith(("/", os.sep)):
        raise OkmaError("names a folder (it ends with '/'); give a file name", file=str(path))
    target = Path(path)
    if "\0" in str(target):
        raise OkmaError("not a valid file name (NUL byte)",
                        file=str(target).replace("\0", "\\0"))
    try:
        if target.is_dir():
            raise OkmaError("is a folder; give a file name", file=str(target))
        if target.exists() and not overwrite:
            raise OkmaError("file exists; pass --force (overwrite=True) to replace it",
                            file=str(target))
        if not target.parent.is_dir():
            raise OkmaError("folder does not exist or is a file", file=str(target),
                            value=str(target.parent))
        mode = "wb" if isinstance(data, bytes) else "w"
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                   dir=target.parent)
        try:
            with os.fdopen(fd, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as fh:
                fh.write(data)
            os.chmod(tmp, 0o666 & ~_UMASK)
        except BaseException:
            os.unlink(tmp)
            raise
        return tmp
    except OkmaError:
        raise
    except (OSError, ValueError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise OkmaError(f"cannot write the file ({why})", file=str(target)) from None


def _place(path: Path, tmp: str, overwrite: bool) -> None:
    """Rename a staged temporary file onto ``path`` (never onto a file that appeared meanwhile
    unless ``overwrite``)."""
    try:
        if overwrite:
            os.replace(tmp, path)
            return
        try:
            os.link(tmp, path)  # fails if the target appeared meanwhile
        except FileExistsError:
            raise OkmaError("file exists; pass --force to replace it", file=str(path)) from None
        except OSError:
            os.replace(tmp, path)
    except OkmaError:
        raise
    except OSError as exc:
        raise OkmaError(f"cannot write the file ({exc.strerror or exc})",
                        file=str(path)) from None
