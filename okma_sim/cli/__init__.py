"""The ``okma-sim`` command line: a thin front end over the library.

Every subcommand lives in its own module here and exposes ``register(subparsers)``, which adds
its parser and sets ``func``. Bad input exits 2 with one line on stderr and no traceback.
"""

from __future__ import annotations

import importlib
import sys

from .common import CliError, OneLineParser, fail

__all__ = ["main", "SUBCOMMANDS"]

#: subcommand -> module (imported lazily; a missing module means "not available yet")
SUBCOMMANDS = {
    "check": "okma_sim.cli.check",
    "validate": "okma_sim.cli.validate",
    "target": "okma_sim.cli.target",
    "solve": "okma_sim.cli.solve",
    "sensitivity": "okma_sim.cli.sensitivity",
    "calibrate": "okma_sim.cli.calibrate",
    "backtest": "okma_sim.cli.backtest",
    "compare": "okma_sim.cli.compare",
    "review": "okma_sim.cli.review",
    "sweep": "okma_sim.cli.sweep",
    "report": "okma_sim.cli.report",
}


def build_parser() -> OneLineParser:
    parser = OneLineParser(prog="okma-sim",
                           description="Test sales targets (OKMA plans) for achievability "
                                       "by Monte Carlo.")
    from okma_sim._core.version import __version__
    parser.add_argument("--version", action="version", version=f"okma-sim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND",
                                parser_class=OneLineParser)
    for name, mod in SUBCOMMANDS.items():
        try:
            module = importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name == mod:
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``okma-sim``; returns the exit code (0 ok, 2 bad input)."""
    from okma_sim._core.errors import OkmaError
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help(sys.stderr)
            return 2
        if getattr(args, "counts_steps", False):  # it draws its own progress
            code = args.func(args)
        else:
            from .waiting import waiting
            with waiting(args, f"okma-sim {args.command}"):
                code = args.func(args)
        return 0 if code is None else int(code)
    except CliError as exc:
        return fail(str(exc))
    except OkmaError as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        return fail("interrupted", code=130)
    except BrokenPipeError:
        # the reader went away (e.g. `| head`): not an error of ours, and no traceback
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
