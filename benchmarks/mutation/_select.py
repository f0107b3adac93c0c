"""Which tests can see a mutant: one coverage run of the test pool, per test (pytest-cov's
``--cov-context=test``), and the statement a mutant sits in.

A mutant runs only the tests that executed its statement in the clean run (fastest first,
``-x``), as mutmut and cosmic-ray do. A test that never executes the statement cannot fail
because of it, so leaving it out changes no outcome; a mutant whose statement no test executes
survives without a run ("not covered"). Lines that ran outside any test (imports, collection)
are recorded too: a function whose body runs at import time cannot be patched in a process
that has already imported it (``_worker.py``), so its mutants run in a fresh process.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def coverage_pass(box: Path, files: list[str], workers: int = 2) -> dict:
    """Run ``files`` once in ``box`` with per-test coverage; return the selection data.

    Returns ``{"lines": {module: {line: [test, ...]}}, "import_lines": {module: [line, ...]},
    "seconds": {test: s}, "passed": [test, ...]}``, modules as paths relative to ``box``.
    """
    data_file = box / ".coverage_select"
    log = box / ".outcomes.jsonl"
    for f in (data_file, log):
        f.unlink(missing_ok=True)
    env = dict(os.environ, PYTHONPATH=f"{box}{os.pathsep}{HERE}", PYTHONDONTWRITEBYTECODE="1",
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MPLBACKEND="Agg",
               COVERAGE_FILE=str(data_file), OKMA_MUT_OUTCOMES=str(log))
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
           "-n", str(workers), "-p", "_outcomes", "--cov=okma_sim", "--cov-context=test",
           "--cov-report=", *files]
    subprocess.run(cmd, cwd=box, env=env, stdout=subprocess.DEVNULL, check=False)
    seconds: dict[str, float] = {}
    failed: set[str] = set()
    for row in map(json.loads, log.read_text().splitlines()):
        seconds[row["test"]] = seconds.get(row["test"], 0.0) + row["seconds"]
        if row["outcome"] != "passed":
            failed.add(row["test"])
    passed = sorted(set(seconds) - failed)

    from coverage import CoverageData
    cov = CoverageData(basename=str(data_file))
    cov.read()
    lines: dict[str, dict[str, list[str]]] = {}
    import_lines: dict[str, list[int]] = {}
    for measured in cov.measured_files():
        rel = os.path.relpath(measured, box)
        by_line = cov.contexts_by_lineno(measured)
        lines[rel] = {str(n): sorted({c.rsplit("|", 1)[0] for c in ctx if c})
                      for n, ctx in by_line.items()}
        import_lines[rel] = sorted(n for n, ctx in by_line.items() if "" in ctx)
    return {"lines": lines, "import_lines": import_lines, "seconds": seconds, "passed": passed}


class Statements:
    """The statement (its header, for compound statements) and the function around each line."""

    def __init__(self, code: str):
        self.span: dict[int, tuple[int, int]] = {}
        self.functions: dict[int, tuple[str, int, int]] = {}  # def line -> qualname, body lines
        self._walk(ast.parse(code).body, "")

    def _walk(self, body, prefix: str) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = prefix + node.name
                if not isinstance(node, ast.ClassDef):
                    self.functions[node.lineno] = (name, node.body[0].lineno, node.end_lineno)
                self._mark(node.lineno, node.body[0].lineno - 1)
                self._walk(node.body, name + "." if isinstance(node, ast.ClassDef)
                           else name + ".<locals>.")
                continue
            inner = [getattr(node, f, None) for f in ("body", "orelse", "finalbody", "handlers")]
            inner = [b for b in inner if isinstance(b, list) and b
                     and isinstance(b[0], (ast.stmt, ast.excepthandler))]
            if isinstance(node, ast.Match):
                inner = [c.body for c in node.cases]
            if not inner:
                self._mark(node.lineno, node.end_lineno)
                continue
            first = min(b[0].lineno for b in inner)
            self._mark(node.lineno, max(node.lineno, first - 1))
            for b in inner:
                if isinstance(b[0], ast.excepthandler):
                    for h in b:
                        self._mark(h.lineno, h.body[0].lineno - 1)
                        self._walk(h.body, prefix)
                else:
                    self._walk(b, prefix)

    def _mark(self, first: int, last: int) -> None:
        for n in range(first, last + 1):
            self.span.setdefault(n, (first, last))

    def statement(self, line: int) -> tuple[int, int]:
        """The lines of the statement (or compound statement's header) holding ``line``."""
        return self.span.get(line, (line, line))

    def function(self, def_line: int) -> tuple[str, int, int]:
        """``(qualname, first body line, last line)`` of the function defined on ``def_line``."""
        return self.functions[def_line]


def tests_for(sel: dict, module: str, lines: tuple[int, int]) -> list[str]:
    """The passing tests that executed any of ``lines`` of ``module``, fastest first."""
    by_line = sel["lines"].get(module, {})
    passed = set(sel["passed"])
    found = {t for n in range(lines[0], lines[1] + 1) for t in by_line.get(str(n), ())}
    return sorted(found & passed, key=lambda t: (sel["seconds"].get(t, 0.0), t))


def runs_at_import(sel: dict, module: str, body: tuple[int, int]) -> bool:
    """Whether any line of this function body ran outside a test (at import or collection)."""
    return any(body[0] <= n <= body[1] for n in sel["import_lines"].get(module, ()))
