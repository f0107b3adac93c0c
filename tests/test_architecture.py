"""The architecture is checked, not hoped for: the import-linter layers contract holds (and
fails when a lower layer imports a higher one), no import cycle, no file or function over its
size limit, no private name across subpackages, and no reference to notes users don't have."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = shutil.which("lint-imports", path=str(Path(sys.executable).parent))


def _structure():
    spec = importlib.util.spec_from_file_location("check_structure",
                                                  ROOT / ".ci" / "check_structure.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    assert LINT, "lint-imports is not installed (it comes with the test extra)"
    return subprocess.run([LINT, "--no-cache"], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_layers_contract_is_kept():
    proc = _lint(ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 kept, 0 broken" in proc.stdout


def test_layers_contract_fails_when_a_lower_layer_imports_a_higher_one(tmp_path):
    # a copy of the package and its pyproject, with results importing viz
    shutil.copytree(ROOT / "okma_sim", tmp_path / "okma_sim",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    bad = tmp_path / "okma_sim" / "results" / "_estimate.py"
    bad.write_text(bad.read_text() + "\n\ndef _draw():\n    from okma_sim.viz import fan_chart\n"
                   "    return fan_chart\n")
    env_path = str(tmp_path)
    proc = subprocess.run([LINT, "--no-cache"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "okma_sim.results is not allowed to import okma_sim.viz" in proc.stdout


def test_no_import_cycle_between_modules():
    assert _structure().import_cycles() == []


def test_cycle_finder_sees_a_cycle_through_a_function_level_import(tmp_path, monkeypatch):
    pkg = tmp_path / "cyc"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from cyc import b\n")
    (pkg / "b.py").write_text("def f():\n    from cyc import a\n    return a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _structure().import_cycles("cyc") == [["cyc.a", "cyc.b"]]


def test_no_long_file_or_function_and_no_private_name_across_subpackages():
    s = _structure()
    assert s.long_files_and_functions() == []
    assert s.private_cross_imports() == []


def test_size_and_privacy_checks_see_planted_violations(tmp_path):
    s = _structure()
    pkg = tmp_path / "pkg"
    for sub in ("low", "high", "_core"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    body = "".join(f"    x{i} = {i}\n" for i in range(s.MAX_FUNCTION_LINES))  # +1 def line
    (pkg / "low" / "_long.py").write_text("def f():\n" + body + "\n" * s.MAX_FILE_LINES)
    (pkg / "low" / "_ok.py").write_text("def _helper():\n    return 1\n")
    (pkg / "high" / "use.py").write_text(
        "from pkg.low._ok import _helper\n"       # private module and name of another package
        "from ..low import _ok\n"                 # a private module, relative
        "from pkg.low._ok import public\n"        # a public name from a private module
        "from pkg._core import thing\n"           # _core may be used by anyone
        "from ._mine import _own\n")              # inside its own subpackage: fine
    long = s.long_files_and_functions(pkg)
    assert long == [f"pkg/low/_long.py: {s.MAX_FUNCTION_LINES + s.MAX_FILE_LINES + 1} lines "
                    f"(limit {s.MAX_FILE_LINES})",
                    f"pkg/low/_long.py:1 f(): {s.MAX_FUNCTION_LINES + 1} lines "
                    f"(limit {s.MAX_FUNCTION_LINES})"]
    assert s.private_cross_imports(pkg) == [
        "pkg/high/use.py:1 imports _helper from pkg.low._ok (a private module)",
        "pkg/high/use.py:2 imports _ok from pkg.low",
        "pkg/high/use.py:3 imports a name from pkg.low._ok (a private module)"]


def test_importing_okma_sim_does_not_import_matplotlib_or_ipywidgets():
    code = ("import sys, okma_sim\n"
            "assert 'matplotlib' not in sys.modules, 'matplotlib'\n"
            "assert 'ipywidgets' not in sys.modules, 'ipywidgets'\n"
            "assert 'okma_sim.viz.accessor' in sys.modules  # registered, not drawn\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_results_never_name_viz():
    for path in (ROOT / "okma_sim" / "results").rglob("*.py"):
        assert "viz" not in path.read_text(), path  # no import, no module name in a string


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="needs the git checkout")
def test_no_file_mentions_the_internal_design_notes():
    proc = subprocess.run(["git", "grep", "-n", "-e", "DESIGN" + ".md", "-e", "../" + "shared"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.stdout == "", proc.stdout
