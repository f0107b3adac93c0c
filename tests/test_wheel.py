"""A clean install works anywhere: the wheel, built offline from this checkout and installed
without dependencies into a fresh virtual environment (which reuses the test environment's
installed dependencies), runs ``okma-sim check`` from an empty folder, with the bundled data
read from inside the installed package."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import okma_sim

ROOT = Path(__file__).resolve().parents[1]


def _run(*cmd, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                          timeout=600, **kw)
    assert proc.returncode == 0, (cmd, proc.stdout[-2000:], proc.stderr[-4000:])
    return proc


def _site_dirs() -> list[str]:
    """The test environment's site-packages folders (those added by .pth files included), so
    the fresh venv sees numpy, pandas, ... but not this checkout. The test venv may live
    inside the checkout (the README's `.venv`): its site-packages is kept; the checkout's
    editable install is not seen, because a folder listed in a .pth file is only put on the
    path (its own .pth files, the editable finder's among them, are not run), and the fresh
    venv's own site-packages, holding the wheel, comes first."""
    return [p for p in sys.path if p.endswith(("site-packages", "dist-packages"))
            and Path(p).is_dir()]


def test_wheel_installs_and_runs_from_any_folder(tmp_path):
    import importlib.metadata as md
    from importlib.util import find_spec
    major, minor = (int(x) for x in md.version("setuptools").split(".")[:2])
    assert (major, minor) >= (70, 1) or find_spec("wheel"), \
        "an offline build needs the test extra's setuptools>=70.1: pip install -e '.[test]'"
    # build from a copy, so the checkout gets no build/ or .egg-info folder
    src = tmp_path / "src"
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info", ".ipynb_checkpoints")
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for name in ("okma_sim", "data"):
        shutil.copytree(ROOT / name, src / name, ignore=skip)
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    wheels = tmp_path / "wheels"
    _run(sys.executable, "-m", "pip", "wheel", src, "--no-deps", "--no-build-isolation",
         "--no-index", "-q", "-w", wheels, env=clean, cwd=tmp_path)
    (wheel,) = wheels.glob("okma_sim-*.whl")

    names = set(zipfile.ZipFile(wheel).namelist())
    # every subpackage of the checkout is in the wheel (pyproject.toml lists them by name)
    packages = {str(p.parent.relative_to(ROOT)) for p in (ROOT / "okma_sim").rglob("__init__.py")
                if "__pycache__" not in p.parts}
    assert {f"{p}/__init__.py" for p in packages} <= names, packages
    # the bundled data ships inside the package, once; the CRM dataset does not
    bundled = [f"scenarios/{p.name}" for p in (ROOT / "data/scenarios").glob("*.toml")]
    bundled += ["case_study_actuals.csv", "sales_history.csv"]
    assert {f"okma_sim/data/{b}" for b in bundled} <= names
    assert not any("crm_sales_opportunities" in n for n in names)

    env = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", env, env=clean)
    (site,) = (env / "lib").glob("python3*/site-packages")
    (site / "test_environment.pth").write_text("\n".join(_site_dirs()) + "\n")
    py = env / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--python", py, "install", "--no-deps", "--no-index", "-q",
         wheel, env=clean)

    work = tmp_path / "elsewhere"
    work.mkdir()
    where = json.loads(_run(py, "-c", "import json, numpy, okma_sim; print(json.dumps("
                            "[okma_sim.__file__, str(okma_sim.case_study_path())]))",
                            env=clean, cwd=work).stdout)
    for f in where:  # imported from the fresh venv, not from the checkout
        assert Path(f).resolve().is_relative_to(site.resolve()), where

    proc = _run(env / "bin" / "okma-sim", "check", "--paths", "1000", "--seed", "1", "--json",
                "--no-progress", env=clean, cwd=work)
    doc = json.loads(proc.stdout)
    assert Path(doc["scenario"]).resolve() == Path(where[1]).resolve()
    # the installed package gives the checkout's answer (same scenario, paths and seed)
    mine = okma_sim.simulate(okma_sim.load_plan(okma_sim.case_study_path()), 1000, seed=1)
    assert doc["paths"] == 1000 and doc["all_met"]["probability"] == mine.all_met().probability
    assert list(work.iterdir()) == []  # nothing written where it ran

    proc = subprocess.run([py, "-c", "import okma_sim; okma_sim.data_path("
                           "'crm_sales_opportunities')"], capture_output=True, text=True,
                          env=clean, cwd=work, timeout=120)
    assert proc.returncode == 1 and "data/crm_sales_opportunities/" in proc.stderr


def test_readme_examples_run_after_the_readme_install():
    """Every command-line example of the README parses (subcommand, options, their values),
    names files that exist in the repository, and needs no extra beyond what the README's main
    install command installs (``--workers`` and ``--scheduler`` need ``dist``)."""
    import re
    import shlex

    from okma_sim.cli import build_parser

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    install = next(line for line in text.splitlines() if "okma-sim check --figures" in line)
    extras = set(re.findall(r"\.\[([a-z,]+)\]", install)[0].split(",")) \
        if ".[" in install else set()
    block = text.split("## Examples on the bundled data", 1)[1].split("```bash", 1)[1]
    examples = [line.split("#")[0] for line in block.split("```", 1)[0].splitlines()
                if line.startswith(".venv/bin/okma-sim ")]
    assert len(examples) >= 9  # the examples block was found and read
    parser = build_parser()
    for line in examples:
        argv = shlex.split(line)[1:]
        args = parser.parse_args(argv)
        assert args.func, line
        for a in argv:
            if a.startswith("data/"):
                assert (ROOT / a).exists(), (line, a)
        if getattr(args, "workers", None) or getattr(args, "scheduler", None):
            assert "dist" in extras, (line, install)
