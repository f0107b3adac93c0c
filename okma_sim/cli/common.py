"""Shared CLI pieces: one-line errors, common options, the JSON envelope, atomic outputs,
executors (Dask) from --workers / --scheduler."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import signal
import stat
import sys
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from okma_sim._core.errors import OkmaError
from okma_sim.engine import MIN_TOLERANCE

__all__ = ["CliError", "OneLineParser", "fail", "add_dask_options", "add_sim_options", "add_json",
           "load_scenario", "envelope", "emit_json", "emit_result", "executor_from_args",
           "positive_int", "seed_int", "probability_arg", "tolerance_arg", "unit_arg", "nonempty",
           "check_output_path", "check_output_folder", "check_paths_memory", "sha256_file",
           "sim_kwargs", "add_extrapolation"]


class CliError(Exception):
    """A usage error already formatted as one line."""


def fail(message: str, code: int = 2) -> int:
    print(f"okma-sim: error: {' '.join(str(message).split())}", file=sys.stderr)
    return code


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        # fail() already says "okma-sim: error:"; a subcommand's parser adds its name
        fail(message if self.prog == "okma-sim" else f"{self.prog}: {message}")
        raise SystemExit(2)


def _bounded(kind: type, ok: Callable[[Any], bool], wanted: str) -> Callable[[str], Any]:
    """An argparse ``type``: ``kind(text)`` (int or float) that must satisfy ``ok``."""
    def parse(text: str) -> Any:
        try:
            v = kind(text)
        except ValueError:
            v = None
        if v is None or (kind is float and not math.isfinite(v)) or not ok(v):
            raise argparse.ArgumentTypeError(f"must be {wanted} (got {text!r})")
        return v
    parse.__name__ = kind.__name__
    return parse


positive_int = _bounded(int, lambda v: v >= 1, "a positive whole number")
#: local Dask workers: more processes than 4 per CPU only add memory and start-up time
MAX_WORKERS = 4 * len(os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity")
                      else range(os.cpu_count() or 1))
workers_arg = _bounded(int, lambda v: 1 <= v <= MAX_WORKERS,
                       f"a whole number from 1 to {MAX_WORKERS} (4 per CPU of this machine)")
seed_int = _bounded(int, lambda v: v >= 0, "a non-negative whole number")
#: a confidence strictly inside (0, 1)
probability_arg = _bounded(float, lambda v: 0 < v < 1, "a number strictly between 0 and 1")
#: an adaptive-stopping half-width from MIN_TOLERANCE to 0.5
tolerance_arg = _bounded(float, lambda v: MIN_TOLERANCE <= v <= 0.5,
                         f"a number from {MIN_TOLERANCE} to 0.5")
#: a number in [0, 1]
unit_arg = _bounded(float, lambda v: 0 <= v <= 1, "a number in [0, 1]")


def nonempty(text: str) -> str:
    """A file, folder or address that must not be empty (an empty one would be ignored)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"must not be empty (got {text!r})")
    return text


def reword_help(p: argparse.ArgumentParser, dest: str, text: str) -> None:
    """Reword a common option's help for one subcommand."""
    for a in p._actions:
        if a.dest == dest:
            a.help = text


def add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")


def add_dask_options(p: argparse.ArgumentParser) -> None:
    """--workers N (a LocalCluster on 127.0.0.1) or --scheduler ADDRESS."""
    g = p.add_mutually_exclusive_group()
    g.add_argument("--workers", type=workers_arg, default=None,
                   help="run on a local Dask cluster of N workers (127.0.0.1)")
    g.add_argument("--scheduler", type=nonempty, default=None, metavar="ADDRESS",
                   help="run on an existing Dask scheduler, e.g. tcp://host:8786")


def add_sim_options(p: argparse.ArgumentParser, *, sampler: bool = True,
                    dask: bool = True, adaptive: bool = True) -> None:
    p.add_argument("--paths", type=positive_int, default=None,
                   help="Monte Carlo paths (default: the scenario's, else 10000)")
    p.add_argument("--seed", type=seed_int, default=None,
                   help="random seed (default: the scenario's, else fresh entropy, reported)")
    if sampler:
        p.add_argument("--sampler", choices=("mc", "lhs", "sobol"), default=None,
                       help="parameter sampling: plain Monte Carlo, Latin hypercube or Sobol")
    if dask:
        add_dask_options(p)
    if adaptive:
        p.add_argument("--tolerance", type=tolerance_arg, default=None, metavar="T",
                       help="adaptive stopping: add paths until the 95%% half-width of "
                            "P(all objectives met) is at most T (--paths is then the first "
                            "batch, default 1000)")
        p.add_argument("--max-paths", type=positive_int, default=None, metavar="N",
                       help="cap for --tolerance (default 1000000)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def sha256_file(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_scenario(path: str | None):
    """Load a scenario (the bundled case study when ``path`` is None)."""
    import okma_sim
    p = okma_sim.case_study_path() if path is None else Path(path)
    plan = okma_sim.load_plan(p)
    return plan, str(p), sha256_file(p)


def sim_kwargs(args: argparse.Namespace, plan) -> dict[str, Any]:
    """simulate() keywords from the common options (scenario defaults otherwise)."""
    seed = args.seed if args.seed is not None else plan.simulation.seed
    if seed is None:
        from okma_sim._core.seeds import normalize_seed
        seed = normalize_seed(None)
    kw = {"n_paths": args.paths or plan.simulation.paths or 10_000, "seed": seed,
          "progress": False if getattr(args, "no_progress", False) or getattr(args, "json", False)
          else None}
    if getattr(args, "sampler", None):
        kw["sampler"] = args.sampler
    if getattr(args, "tolerance", None) is not None:
        from okma_sim.engine import DEFAULT_FIRST
        kw["tolerance"] = args.tolerance
        kw["n_paths"] = args.paths or DEFAULT_FIRST
        if getattr(args, "max_paths", None) is not None:
            kw["max_paths"] = args.max_paths
    elif getattr(args, "max_paths", None) is not None:
        raise CliError("--max-paths applies only with --tolerance "
                       f"(got --max-paths {args.max_paths})")
    _check_memory(args, plan, kw)
    return kw


def check_paths_memory(args: argparse.Namespace, plan, **runs: int) -> None:
    """Refuse, before any work, a command whose largest simulation would not fit in memory,
    naming its option: ``runs`` maps each option (``--paths``, ``--verify-paths``) to the paths
    of its simulation. For commands that do not simulate through :func:`sim_kwargs`."""
    from okma_sim.engine import check_memory
    key, n = max(runs.items(), key=lambda kv: kv[1])
    check_memory(plan, n, paths_key=key, workers=getattr(args, "workers", None) or 0)


def _check_memory(args: argparse.Namespace, plan, kw: dict[str, Any]) -> None:
    """Refuse, before any work, a run that would not fit in memory, naming the option or key
    to lower (an adaptive run may grow to --max-paths)."""
    from okma_sim.engine import check_memory
    if "tolerance" in kw:
        n, key = kw.get("max_paths", 1_000_000), "--max-paths"
    else:
        n, key = kw["n_paths"], "--paths" if args.paths else "simulation.paths"
    check_memory(plan, n, paths_key=key, workers=getattr(args, "workers", None) or 0)


def envelope(scenario: str, sha: str, paths: int, seed: int,
             warnings: list[str] | None = None) -> dict[str, Any]:
    from okma_sim._core.version import __version__
    return {"version": __version__, "scenario": scenario, "scenario_sha256": sha,
            "paths": int(paths), "seed": int(seed), "warnings": list(warnings or [])}


def add_extrapolation(doc: dict[str, Any], found: Sequence[Any]) -> list[str]:
    """Report levers outside the calibration history's range (:func:`okma_sim.plan.extrapolation`):
    ``doc["extrapolation"]`` gets their entries (an empty list when none), ``doc["warnings"]``
    their messages; returns the text's ``warning:`` lines."""
    doc["extrapolation"] = [e.to_dict() for e in found]
    doc["warnings"] = list(doc.get("warnings", [])) + [e.message() for e in found]
    return [f"warning: {e.message()}" for e in found]


def add_unit_warnings(doc: dict[str, Any], plan) -> list[str]:
    """Repeat validate's unit warnings (a growth target of 30 meant as +30%) in
    ``doc["warnings"]`` where the run's own warnings do not carry them; returns the text's
    ``warning:`` lines for those added."""
    from okma_sim.plan import unit_warnings
    have = list(doc.get("warnings", []))
    new = [w for w in unit_warnings(plan) if w not in have]
    doc["warnings"] = new + have
    return [f"warning: {w}" for w in new]


def _default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(type(o).__name__)


def _finite(o: Any) -> Any:
    # JSON has no NaN: report it as null
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite(v) for v in o]
    if isinstance(o, np.generic):
        return _finite(o.item())
    return o


def emit_json(doc: dict[str, Any]) -> None:
    print(json.dumps(_finite(doc), default=_default, indent=2))


def emit_result(args: argparse.Namespace, doc: dict[str, Any], text: str,
                written: list) -> int:
    """The end of a subcommand: the JSON document (with ``outputs``) under --json, else the
    readable text and one ``wrote FILE`` line per output file."""
    if getattr(args, "json", False):
        doc["outputs"] = [str(w) for w in written]
        emit_json(doc)
    else:
        print(text)
        for w in written:
            print(f"wrote {w}")
    return 0


def _same_file(a: Path, b: str | Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def check_output_path(path: str | Path, force: bool, what: str = "--out", *,
                      inputs: Sequence[tuple[str, str | Path]] = (),
                      hint: str = "pass --force to overwrite it") -> Path:
    """Check an output file before any work: not a folder, a device or a pipe, not an existing
    file unless ``force`` (else the error says ``hint``), not one of the ``inputs`` (``(option,
    path)`` pairs: the files the command reads), and in an existing folder this process may
    write in."""
    p = Path(path)
    if "\0" in str(p):
        raise OkmaError(f"{what}: not a valid file name (NUL byte)",
                        file=str(p).replace("\0", "\\0"))
    if str(path).endswith(("/", os.sep)):  # Path("new/") is "new": it would become a file
        raise OkmaError(f"{what} names a folder (it ends with '/'); give a file name",
                        file=str(path))
    try:
        if p.is_dir():  # --force cannot replace a folder with a file
            raise OkmaError(f"{what} names a folder; give a file name", file=str(p))
        exists = os.path.lexists(p)
        if exists and not stat.S_ISREG(os.lstat(p).st_mode):
            # --force renames over the target: a link, a device or a pipe would be replaced
            raise OkmaError(f"{what} names a symbolic link, a device or a pipe, not a regular "
                            "file; give a file name", file=str(p))
        parent_ok = p.parent.is_dir()
        parent_is_file = not parent_ok and p.parent.exists()
    except OSError as exc:  # e.g. a name too long for the file system
        raise OkmaError(f"{what}: cannot use this path ({exc.strerror or exc})",
                        file=str(p)) from None
    for option, source in inputs:
        # (a file that does not exist yet cannot be an input)
        if exists and _same_file(p, source):
            raise OkmaError(f"{what} names the input {option}; write to another file",
                            file=str(p))
    if exists and not force:
        raise OkmaError(f"{what} names an existing file; {hint}", file=str(p))
    if parent_is_file:
        raise OkmaError(f"{what}: the folder part names a file", file=str(p),
                        value=str(p.parent))
    if not parent_ok:
        raise OkmaError(f"{what}: folder does not exist", file=str(p), value=str(p.parent))
    _check_writable(p.parent, what, p)
    return p


def check_output_folder(path: str | Path, what: str) -> Path:
    """Check an output folder before any work: it, or else its nearest existing ancestor (it
    is created later), must be a folder this process may write in."""
    p = Path(path)
    if "\0" in str(p):
        raise OkmaError(f"{what}: not a valid folder name (NUL byte)",
                        file=str(p).replace("\0", "\\0"))
    try:
        for a in (p, *p.parents):
            if a.exists():
                if not a.is_dir():
                    raise OkmaError(f"{what} must name a folder, but this is a file",
                                    file=str(a))
                break
    except OSError as exc:
        raise OkmaError(f"{what}: cannot use this path ({exc.strerror or exc})",
                        file=str(p)) from None
    # the folder itself, or the existing ancestor it is to be created in
    _check_writable(a, what, p)
    return p


def _check_writable(folder: Path, what: str, path: Path) -> None:
    """Refuse, before any work, a folder this process may not create files in."""
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OkmaError(f"{what}: no permission to write in this folder", file=str(path),
                        value=str(folder))


def _probe_scheduler(address: str, timeout: float = 5.0) -> None:
    """Fail fast on a TCP scheduler address nobody listens on (a refused connection returns at
    once; a silent host after ``timeout`` s), instead of Dask's retries until its timeout."""
    import socket
    from urllib.parse import urlsplit

    text = address if "://" in address else f"tcp://{address}"
    try:
        parts = urlsplit(text)
        host, port = parts.hostname, parts.port
    except ValueError:
        raise OkmaError("not a scheduler address (expected tcp://HOST:PORT)",
                        key="--scheduler", value=address) from None
    if parts.scheme != "tcp":
        return  # tls://, ws://, ...: leave it to Dask
    if not host or port is None:
        raise OkmaError("not a scheduler address (expected tcp://HOST:PORT)",
                        key="--scheduler", value=address)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        why = "connection refused" if isinstance(exc, ConnectionRefusedError) else \
            "timed out" if isinstance(exc, TimeoutError) else type(exc).__name__
        raise OkmaError(f"cannot reach the Dask scheduler ({why})", key="--scheduler",
                        value=address) from None


@contextlib.contextmanager
def _sigint_held() -> Iterator[None]:
    """Ignore SIGINT while a local cluster starts: its worker processes inherit the ignored
    signal (a handler or a blocked mask would not reach them through the spawn), so a Ctrl-C,
    which the terminal sends to the whole process group, reaches only this process, which then
    shuts the cluster down. A Ctrl-C during the start itself (a second or two) is lost."""
    import threading
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


class _InsistentInterrupt:
    """While a cluster computes, Ctrl-C raises KeyboardInterrupt in the main thread and repeats
    the signal every half second until the interrupt has left the block.

    Python raises the interrupt wherever the main thread happens to be; inside a garbage
    collector's callback (distributed's GCDiagnosis) or a ``__del__`` it is printed as
    "Exception ignored" and dropped, and the run went on to its end (seen in CI); that print
    is silenced too, since the repeat delivers the interrupt. Repeats that
    arrive within a second of the block's end are ignored, so the cluster's shutdown is not cut
    short by one of them; a later Ctrl-C interrupts as usual."""

    REPEAT_S = 0.5

    def __init__(self) -> None:
        import threading
        self._done = threading.Event()
        self._repeating = False
        self._done_at: float | None = None

    def _handler(self, signum: int, frame: Any) -> None:
        import time
        if self._done_at is not None:
            if time.monotonic() - self._done_at < 2 * self.REPEAT_S:
                return  # a repeat still in flight when the block ended
            raise KeyboardInterrupt
        if not self._repeating:
            import threading
            self._repeating = True
            threading.Thread(target=self._repeat, daemon=True).start()
        raise KeyboardInterrupt

    def _repeat(self) -> None:
        while not self._done.wait(self.REPEAT_S):
            os.kill(os.getpid(), signal.SIGINT)

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """The handler for the cluster's whole life; :meth:`computing` marks the part that
        repeats."""
        import threading
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        old = signal.signal(signal.SIGINT, self._handler)
        old_hook = sys.unraisablehook

        def hook(unraisable: Any) -> None:
            # a dropped interrupt is not news to the user: the repeat delivers it
            if not isinstance(unraisable.exc_value, KeyboardInterrupt):
                old_hook(unraisable)
        sys.unraisablehook = hook
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, old)
            sys.unraisablehook = old_hook

    @contextlib.contextmanager
    def computing(self) -> Iterator[None]:
        import time
        try:
            yield
        finally:
            self._done_at = time.monotonic()
            self._done.set()


@contextlib.contextmanager
def executor_from_args(args: argparse.Namespace) -> Iterator[Any]:
    """A Dask client for --workers N (LocalCluster on 127.0.0.1) or --scheduler ADDRESS."""
    workers = getattr(args, "workers", None)
    address = getattr(args, "scheduler", None)
    if not workers and not address:
        yield None
        return
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise OkmaError("Dask is not installed; pip install 'okma_sim[dist]'",
                        key="--workers" if workers else "--scheduler") from None
    import logging
    logging.getLogger("distributed").setLevel(logging.ERROR)
    if workers:
        import dask
        # Dask's nanny sets MALLOC_TRIM_THRESHOLD_ in workers, which turns off glibc's dynamic
        # mmap threshold: every numpy temporary of the model's loop is then a fresh mmap, and
        # workers spend about as long in page faults as in the model (docs/scaling.md)
        with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_":
                              None}), _sigint_held():
            # the workers' own logs stay quiet: a chunk cancelled by Ctrl-C logs a warning
            # there, and any failure of theirs reaches this process as an exception
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=None,
                                   silence_logs=logging.CRITICAL,
                                   # the scheduler's HTTP server (health checks) on a free
                                   # port: its default, 8787, warns when another run has it
                                   scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
            client = Client(cluster)
        closers = [client.close, cluster.close]
    else:
        _probe_scheduler(address)
        try:
            client = Client(address, timeout="10s")
        except Exception as exc:  # whatever answered there, it is not a usable scheduler
            raise OkmaError(f"cannot reach the Dask scheduler ({type(exc).__name__})",
                            key="--scheduler", value=address) from None
        closers = [client.close]
    interrupt = _InsistentInterrupt()
    with interrupt.installed():
        try:
            with interrupt.computing():
                yield client
        finally:
            for close in closers:
                close()
