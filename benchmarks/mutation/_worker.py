"""One mutation worker: a process that imports the test pool once and forks per mutant.

Started by run.py in its own copy of the worktree (the current directory), it collects the
pool's tests (importing numpy, scipy, pandas, okma_sim and the test modules once), then reads
one JSON job per line on stdin and answers one JSON line on stdout.

A job's mutated source is written over the module's file in this copy (so that a process the
tests start, or a module imported later, sees the mutant), and in the forked child the
mutated function's code object replaces the original's (``function.__code__``), which every
module that imported the function shares. The child runs the selected tests with pytest,
``-x``; the parent waits up to the job's timeout, kills the child's process group after it,
and puts the file back. A job marked ``fresh`` (its function runs at import time, or the
mutant is outside its code object) runs in a new interpreter instead.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import types

PYTEST_ARGS = ["-x", "-q", "-p", "no:cacheprovider", "-o", "addopts=", "-p", "no:randomly"]


def _quiet() -> None:
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)


def _original(mod, qualname: str):
    """The live function object behind ``qualname`` in ``mod`` (methods unwrapped)."""
    obj = mod
    for part in qualname.split("."):
        obj = vars(obj)[part]
        obj = getattr(obj, "__func__", obj)  # staticmethod, classmethod
    return obj if isinstance(obj, types.FunctionType) else None


def _find(code: types.CodeType, qualname: str):
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            if const.co_qualname == qualname:
                return const
            found = _find(const, qualname)
            if found is not None:
                return found
    return None


def plan_patch(job: dict):
    """``(function, new code)`` to swap in the child, or None when the module is not imported
    yet (the child imports the mutated file); raises LookupError when no swap can stand for
    the mutant (then the job runs fresh)."""
    mod = sys.modules.get(job["modname"])
    if mod is None:
        return None
    func = _original(mod, job["qualname"])
    new = _find(compile(job["source"], mod.__file__, "exec"), job["qualname"])
    if func is None or new is None:
        raise LookupError("function not found")
    if new == func.__code__:
        raise LookupError("mutant outside the code object (a default value)")
    if len(new.co_freevars) != len(func.__code__.co_freevars):
        raise LookupError("closure changed")
    return func, new


def _wait(pid: int, timeout: float) -> int | None:
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
            return None
        time.sleep(0.02)


def _forked(job: dict, patch) -> int | None:
    pid = os.fork()
    if pid == 0:  # the child
        os.setpgid(0, 0)
        _quiet()
        try:
            if patch is not None:
                patch[0].__code__ = patch[1]
            rc = int(__import__("pytest").main([*PYTEST_ARGS, *job["tests"]]))
        except BaseException:  # noqa: BLE001 - the child must never return into the loop
            rc = 3
        os._exit(rc)
    return _wait(pid, job["timeout"])


def _fresh(job: dict) -> int | None:
    cmd = [sys.executable, "-m", "pytest", *PYTEST_ARGS, *job["tests"]]
    try:
        return subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=job["timeout"], start_new_session=True).returncode
    except subprocess.TimeoutExpired:
        return None


def run_job(job: dict) -> dict:
    path = job["module"]
    with open(path, encoding="utf-8") as fh:
        original = fh.read()
    start = time.perf_counter()
    how = "fresh" if job.get("fresh") else "fork"
    try:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(job["source"])
        patch = None
        if how == "fork":
            try:
                patch = plan_patch(job)
            except LookupError as why:
                how = f"fresh ({why})"
        rc = _forked(job, patch) if how == "fork" else _fresh(job)
    finally:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(original)
    # 0: every test passed; 1: a test failed; 2: interrupted (a collection error: the mutant
    # breaks an import); 3, 4: pytest's internal or usage error (a harness problem)
    outcome = {None: "timeout", 0: "survived", 1: "killed", 2: "killed"}.get(rc, f"error {rc}")
    return {"outcome": outcome, "seconds": round(time.perf_counter() - start, 2), "how": how}


def main() -> None:
    out = os.fdopen(os.dup(1), "w")
    _quiet()
    sys.dont_write_bytecode = True
    pool = json.loads(sys.stdin.readline())
    import pytest
    pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", "-o", "addopts=", *pool])
    out.write(json.dumps({"ready": True}) + "\n")
    out.flush()
    for line in sys.stdin:
        out.write(json.dumps(run_job(json.loads(line))) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
