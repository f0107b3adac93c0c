"""Atomic file writes: a file is never half-written and never silently replaced."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Sequence

from .errors import OkmaError

__all__ = ["atomic_write", "atomic_write_all"]

# the process umask, read once here: reading it means setting it, and setting it while Dask's
# threads create files would race with them
_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write(path: str | os.PathLike, data: str | bytes, *, overwrite: bool = False) -> Path:
    """Write a file through a temporary file and a rename, so it is never half-written.

    Refuses to replace an existing file unless ``overwrite``, and even then anything but a
    regular file (a symbolic link, a device, a pipe); raises OkmaError naming the file for that
    and for any path the system cannot write (missing folder, a file where a folder should be,
    a name too long, a NUL byte, no permission, no space left).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = atomic_write(Path(d) / "a.txt", "hello")
    ...     p.read_text()
    'hello'
    """
    return atomic_write_all([(path, data)], overwrite=overwrite)[0]


def atomic_write_all(outputs: Sequence[tuple[str | os.PathLike, str | bytes]], *,
                     overwrite: bool = False) -> list[Path]:
    """Write several files all or nothing: every target is checked first, every file is
    written to a temporary file beside its target, and only when all are written are they
    renamed into place. If anything fails (no space left, an interrupt), no target changes:
    the temporary files go, and a file already replaced under ``overwrite`` gets its old
    content back. Errors as :func:`atomic_write`; returns the paths.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = atomic_write_all([(Path(d) / "a.txt", "1"), (Path(d) / "b.txt", b"2")])
    ...     sorted(p.name for p in Path(d).iterdir())
    ['a.txt', 'b.txt']
    """
    paths = [_target(p) for p, _ in outputs]
    current = paths[0] if paths else None
    staged: list[tuple[Path, str]] = []  # (target, temporary file), in order
    try:
        for path in paths:
            current = path
            _check_target(path, overwrite)
        for path, (_, data) in zip(paths, outputs):
            current = path
            staged.append((path, _stage(path, data)))
        _rename_all(staged, overwrite)
    except OkmaError:
        raise
    except (OSError, ValueError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise OkmaError(f"cannot write the file ({why})", file=str(current)) from None
    finally:
        for _, tmp in staged:
            if os.path.lexists(tmp):
                os.unlink(tmp)
    return paths


def _target(path: str | os.PathLike) -> Path:
    if str(path).endswith(("/", os.sep)):  # Path("new/") is "new": it would become a file
        raise OkmaError("names a folder (it ends with '/'); give a file name", file=str(path))
    if "\0" in str(path):
        raise OkmaError("not a valid file name (NUL byte)", file=str(path).replace("\0", "\\0"))
    return Path(path)


def _check_target(path: Path, overwrite: bool) -> None:
    if path.is_dir():
        raise OkmaError("is a folder; give a file name", file=str(path))
    if os.path.lexists(path):
        if not overwrite:
            raise OkmaError("file exists; pass --force (overwrite=True) to replace it",
                            file=str(path))
        if not stat.S_ISREG(os.lstat(path).st_mode):  # replacing it would not write into it
            raise OkmaError("is a symbolic link, a device or a pipe, not a regular file; "
                            "--force (overwrite=True) replaces only regular files",
                            file=str(path))
    if not path.parent.is_dir():
        raise OkmaError("folder does not exist or is a file", file=str(path),
                        value=str(path.parent))


def _stage(path: Path, data: str | bytes) -> str:
    """Write ``data`` to a new temporary file beside ``path``; returns its name."""
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as fh:
            fh.write(data)
        # mkstemp creates the file private (0600); give it the permissions a plain open() would
        os.chmod(tmp, 0o666 & ~_UMASK)
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def _rename_all(staged: Sequence[tuple[Path, str]], overwrite: bool) -> None:
    """Move every temporary file onto its target; on a failure, undo the moves made."""
    undo: list[tuple[Path, str | None]] = []  # (target, its old content's backup or None)
    try:
        for path, tmp in staged:
            backup = None
            if overwrite and os.path.lexists(path):
                backup = tempfile.mktemp(prefix=f".{path.name}.", suffix=".old",
                                         dir=path.parent)
                os.link(path, backup)
            if not overwrite:
                # link() fails if the target appeared meanwhile: never clobber a user's file
                try:
                    os.link(tmp, path)
                except FileExistsError:
                    raise OkmaError("file exists; pass --force to replace it",
                                    file=str(path)) from None
                except OSError:  # a file system without hard links
                    os.replace(tmp, path)
            else:
                os.replace(tmp, path)
            undo.append((path, backup))
    except BaseException:
        for path, backup in reversed(undo):
            if backup is None:
                os.unlink(path)
            else:
                os.replace(backup, path)
        raise
    finally:
        for _, backup in undo:
            if backup is not None and os.path.lexists(backup):
                os.unlink(backup)
