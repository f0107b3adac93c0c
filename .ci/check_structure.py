"""Structure checks that lint-imports does not make: no import cycle between okma_sim's
modules (imports inside functions and the package root counted), no file over 700 lines, no
function over 120 lines, and no private name imported from another subpackage.

    python .ci/check_structure.py        prints every violation; exit 1 if there is any

Run by tests/test_architecture.py. The graph is grimp's (the library behind import-linter),
which records every import statement wherever it stands, with ``from pkg import submodule``
resolved to the submodule.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

MAX_FILE_LINES = 700
MAX_FUNCTION_LINES = 120
ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "okma_sim"


def import_cycles(package: str = "okma_sim") -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    import grimp
    graph = grimp.build_graph(package, cache_dir=None)
    succ = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # recursion depth is bounded by the module count (~100)
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in succ.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for m in sorted(succ):
        if m not in index:
            visit(m)
    return out


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _subpackage(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2])


def long_files_and_functions(package: Path = PACKAGE) -> list[str]:
    root = package.parent
    out = []
    for path in sorted(package.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        n = len(text.splitlines())
        if n > MAX_FILE_LINES:
            out.append(f"{path.relative_to(root)}: {n} lines (limit {MAX_FILE_LINES})")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    out.append(f"{path.relative_to(root)}:{node.lineno} {node.name}(): "
                               f"{length} lines (limit {MAX_FUNCTION_LINES})")
    return out


def private_cross_imports(package: Path = PACKAGE) -> list[str]:
    """``from okma_sim.<other>... import _x`` or from a private module of another subpackage
    (``<package>._core`` is the one private package every layer may use)."""
    root, top = package.parent, package.name
    out = []
    for path in sorted(package.rglob("*.py")):
        me = _module_name(path, root)
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                base = me.split(".") if is_pkg else me.split(".")[:-1]
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != top or _subpackage(target) == _subpackage(me):
                continue
            private_part = [p for p in target.split(".")[1:] if p.startswith("_")
                            and p != "_core"]
            names = [a.name for a in node.names if a.name.startswith("_")
                     and not a.name.startswith("__")]
            if private_part or names:
                what = ", ".join(names) if names else "a name"
                out.append(f"{path.relative_to(root)}:{node.lineno} imports {what} from "
                           f"{target}" + (" (a private module)" if private_part else ""))
    return out


def main() -> int:
    problems = [f"import cycle: {' <-> '.join(c)}" for c in import_cycles()]
    problems += long_files_and_functions()
    problems += private_cross_imports()
    for p in problems:
        print(p)
    print(f"{len(problems)} structure problem(s)" if problems else "structure OK: no import "
          "cycle, no file over 700 lines, no function over 120, no private name across "
          "subpackages")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
