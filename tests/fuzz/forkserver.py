"""A fork server for the fuzzer: one fresh interpreter imports ``okma_sim.cli`` once, then
forks one child per example, which runs ``okma-sim ARGS`` exactly as ``python -m okma_sim.cli``
would (its own stdout, stderr, exit code, Python's default warning filters, an uncaught
exception printed as a traceback), so an example costs a fork, not an interpreter start.

Protocol, one JSON line each way: ``{"argv": [...], "cwd": DIR, "timeout": S}`` ->
``{"code": N, "stdout": ..., "stderr": ..., "timeout": bool}``.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import tempfile
import time
import traceback


#: the memory a child may map: a runaway example fails with a MemoryError, not the machine
CHILD_MEMORY = 6 << 30


def _child(argv: list[str], cwd: str, out: int, err: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))
    os.chdir(cwd)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(err, 2)
    from okma_sim.cli import main
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if exc.code is not None and not isinstance(exc.code, int):
            print(exc.code, file=sys.stderr)
    except BaseException:  # what the interpreter does with an uncaught exception
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _run(req: dict) -> dict:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            try:
                _child(req["argv"], req["cwd"], out.fileno(), err.fileno())
            finally:
                os._exit(99)
        deadline = time.monotonic() + req.get("timeout", 60)
        timed_out = False
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                _, status = os.waitpid(pid, 0)
                timed_out = True
                break
            time.sleep(0.01)
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {"code": code, "timeout": timed_out,
                "stdout": out.read().decode("utf-8", "replace"),
                "stderr": err.read().decode("utf-8", "replace")}


def main() -> None:
    import okma_sim.cli
    okma_sim.cli.build_parser()  # imports every subcommand module
    import okma_sim.engine  # noqa: F401  (the heavy layers, imported once before forking)
    import okma_sim.inference  # noqa: F401
    import okma_sim.analysis  # noqa: F401
    import okma_sim.viz  # noqa: F401
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    for line in sys.stdin:
        sys.stdout.write(json.dumps(_run(json.loads(line))) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
