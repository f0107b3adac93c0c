"""Mutation testing of okma_sim's core: mutmut's operators, one mutant at a time, each against
only the test files that cover its module (``map.toml``).

mutmut's own runner rewrites every function into a trampoline and runs the whole suite once
per mutant set; here each mutant is a plain copy of one source file with one node replaced
(``mutmut.mutation.file_mutation.MutationVisitor`` with mutmut's operators, string literals
left out: they are error messages and labels), run in a private copy of the worktree with the
module's mapped tests, ``-x``, and a timeout (900 s; with ``--clean``, twice the time of the
unmutated tests, which must pass, plus 20 s). A mutant that fails a test, errors or times out
is killed.

Run by hand (not part of the test command), at low priority on a shared machine::

    nice -n 19 python benchmarks/mutation/run.py --subpackage engine --sample 25 --workers 2
    python benchmarks/mutation/run.py --summary          # the table from out/*.jsonl
    python benchmarks/mutation/run.py --rerun-survivors  # after new tests: the survivors again

``--sample N`` draws N mutants per module (uniformly, ``random.Random(seed)``), so the run's
cost is bounded; without it every mutant runs. Results go to ``benchmarks/mutation/out/`` (one
JSON line per mutant: module, index, line, diff, outcome, seconds); ``equivalent.toml`` marks
the mutants argued equivalent (one line each), which the summary counts apart.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper
from mutmut.mutation.file_mutation import MutationVisitor, deep_replace
from mutmut.mutation.mutators import mutation_operators, operator_string
from mutmut.mutation.pragma_handling import IgnoredCode

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OUT = HERE / "out"
#: what a sandbox needs: the package, the tests, the oracle in benchmarks/, the data files
COPIED = ("okma_sim", "tests", "benchmarks", "data", "pyproject.toml")
#: seconds before a mutant's test run counts as killed (an endless loop) without --clean
TIMEOUT = 900
OPERATORS = [(t, op) for t, op in mutation_operators if op is not operator_string]


class Mutants:
    """The mutants of one module, in a stable order; the mutated source is built on demand.

    Only code inside functions is mutated (as mutmut does); string literals are not.
    """

    def __init__(self, path: Path):
        self.code = path.read_text()
        wrapper = MetadataWrapper(cst.parse_module(self.code))
        visitor = MutationVisitor(OPERATORS, IgnoredCode(set(), set(), set()))
        self.module = wrapper.visit(visitor)
        pos = wrapper.resolve(cst.metadata.PositionProvider)
        self.items = [(pos[m.original_node].start.line if m.original_node in pos else 0, m)
                      for m in visitor.mutations if m.contained_by_top_level_function is not None]

    def __len__(self) -> int:
        return len(self.items)

    def line(self, i: int) -> int:
        return self.items[i][0]

    def source(self, i: int) -> str:
        m = self.items[i][1]
        return deep_replace(self.module, m.original_node, m.mutated_node).code

    def diff(self, i: int) -> str:
        return _diff(self.code, self.source(i))


def _diff(old: str, new: str) -> str:
    lines = [d for d in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0)
             if d[:1] in "+-" and d[:3] not in ("+++", "---")]
    return " | ".join(s.strip() for s in lines)[:240]


def _ignore(folder: str, names: list[str]) -> set[str]:
    """Caches, and the run outputs of benchmarks/ (not okma_sim/results, a package)."""
    out = {n for n in names if n in ("__pycache__", ".hypothesis")}
    if Path(folder).resolve() in (ROOT / "benchmarks", HERE):
        out |= {n for n in names if n in ("results", "out")}
    return out


def _sandbox() -> Path:
    box = Path(tempfile.mkdtemp(prefix="okma_mut_"))
    for name in COPIED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, box / name, ignore=_ignore)
        else:
            shutil.copy2(src, box / name)
    # every subpackage must come from the copy (an editable install must not fill a gap)
    env = dict(os.environ, PYTHONPATH=str(box))
    probe = "import okma_sim, pkgutil, importlib; print(all(importlib.import_module(" \
            "'okma_sim.' + m.name).__file__.startswith(%r) for m in " \
            "pkgutil.iter_modules(okma_sim.__path__) if m.ispkg))" % str(box)
    got = subprocess.run([sys.executable, "-c", probe], cwd=box, env=env, capture_output=True,
                         text=True)
    if got.stdout.strip() != "True":
        raise SystemExit(f"sandbox {box} does not import okma_sim from itself: {got.stderr}")
    return box


def _pytest(box: Path, tests: list[str], timeout: float) -> tuple[str, float]:
    env = dict(os.environ, PYTHONPATH=str(box), PYTHONDONTWRITEBYTECODE="1",
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MPLBACKEND="Agg")
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-n", "0", "-p", "no:cacheprovider",
           "-o", "addopts=", "-W", "ignore", *tests]
    start = time.perf_counter()
    try:
        rc = subprocess.run(cmd, cwd=box, env=env, capture_output=True, timeout=timeout).returncode
    except subprocess.TimeoutExpired:
        return "timeout", time.perf_counter() - start
    # 0: every test passed (the mutant survived); 5: nothing collected (a broken map)
    outcome = {0: "survived", 5: "no tests"}.get(rc, "killed")
    return outcome, time.perf_counter() - start


def _load_map() -> dict[str, dict]:
    return tomllib.loads((HERE / "map.toml").read_text())


def _modules(spec: dict, subpackage: str | None, module: str | None) -> list[tuple[str, str, list]]:
    rows = []
    for sub, entries in spec.items():
        for mod, tests in entries.items():
            if (subpackage in (None, sub)) and (module in (None, mod)):
                rows.append((sub, mod, tests))
    return rows


def _existing(tests: list[str], at: str | None) -> list[str]:
    """The mapped test files that exist (in the worktree, or at commit ``at``: a run "before"
    new tests uses the test files of the base commit only)."""
    if at is None:
        return [t for t in tests if (ROOT / t).exists()]
    return [t for t in tests if subprocess.run(["git", "cat-file", "-e", f"{at}:{t}"], cwd=ROOT,
                                               capture_output=True).returncode == 0]


def run(subpackage, module, sample, seed, workers, only=None, at=None, clean=False,
        lines=None) -> None:
    """Run the sampled mutants of the selected modules; append outcomes to out/<sub>.jsonl.

    ``lines`` (first, last) keeps the mutants of those source lines only (a targeted run)."""
    OUT.mkdir(exist_ok=True)
    boxes = [_sandbox() for _ in range(workers)]
    try:
        for sub, mod, tests in _modules(_load_map(), subpackage, module):
            tests = _existing(tests, at)
            all_m = Mutants(ROOT / mod)
            idx = [i for i in range(len(all_m))
                   if lines is None or lines[0] <= all_m.line(i) <= lines[1]]
            if only is not None:
                idx = sorted(only.get(mod, ()))
            elif sample and sample < len(idx):
                idx = sorted(random.Random(f"{seed}:{mod}").sample(idx, sample))
            if not idx:
                continue
            timeout = TIMEOUT
            if clean:
                outcome, base = _pytest(boxes[0], tests, 1800)
                if outcome != "survived":
                    print(f"{mod}: the clean run fails ({outcome}); skipped", flush=True)
                    continue
                timeout = 2 * base + 20
            print(f"{mod}: {len(idx)} of {len(all_m)} mutants", flush=True)
            _run_module(boxes, sub, mod, tests, all_m, idx, timeout)
    finally:
        for box in boxes:
            shutil.rmtree(box, ignore_errors=True)


def _run_module(boxes, sub, mod, tests, all_m, idx, timeout) -> None:
    free = list(boxes)

    def one(i):
        box = free.pop()
        try:
            target = box / mod
            original = target.read_text()
            target.write_text(all_m.source(i))
            try:
                outcome, secs = _pytest(box, tests, timeout)
            finally:
                target.write_text(original)
        finally:
            free.append(box)
        return {"subpackage": sub, "module": mod, "index": i, "line": all_m.line(i),
                "diff": all_m.diff(i), "outcome": outcome, "seconds": round(secs, 1),
                "of": len(all_m), "tests": len(tests)}

    with ThreadPoolExecutor(len(boxes)) as pool, open(OUT / f"{sub}.jsonl", "a") as fh:
        for row in pool.map(one, idx):
            fh.write(json.dumps(row) + "\n")
            fh.flush()
            if row["outcome"] != "killed":
                print(f"  {row['outcome']}: {mod}:{row['line']} #{row['index']}  {row['diff']}",
                      flush=True)


def planted(workers: int, at: str | None, ids=None) -> None:
    """Run the bugs of planted.toml against their modules' mapped tests (out/planted.jsonl)."""
    bugs = tomllib.loads((HERE / "planted.toml").read_text())["bug"]
    where = {mod: tests for _, mod, tests in _modules(_load_map(), None, None)}
    OUT.mkdir(exist_ok=True)
    boxes = [_sandbox() for _ in range(workers)]
    free = list(boxes)

    def one(bug):
        code = (ROOT / bug["module"]).read_text()
        if code.count(bug["old"]) != 1:
            raise SystemExit(f"{bug['id']}: 'old' must occur once in {bug['module']}")
        tests = _existing(where[bug["module"]], at)
        box = free.pop()
        try:
            (box / bug["module"]).write_text(code.replace(bug["old"], bug["new"]))
            try:
                outcome, secs = _pytest(box, tests, TIMEOUT)
            finally:
                (box / bug["module"]).write_text(code)
        finally:
            free.append(box)
        return {"subpackage": "planted", "module": bug["module"], "index": bug["id"],
                "line": code[:code.index(bug["old"])].count("\n") + 1, "diff": bug["why"],
                "outcome": outcome, "seconds": round(secs, 1), "of": len(bugs),
                "tests": len(tests), "tests_at": at or "worktree"}

    todo = [b for b in bugs if ids is None or b["id"] in ids]
    try:
        with ThreadPoolExecutor(workers) as pool, open(OUT / "planted.jsonl", "a") as fh:
            for row in pool.map(one, todo):
                fh.write(json.dumps(row) + "\n")
                fh.flush()
                print(f"  {row['outcome']}: {row['index']} ({row['seconds']} s)", flush=True)
    finally:
        for box in boxes:
            shutil.rmtree(box, ignore_errors=True)


def _latest(rows: list[dict]) -> dict[tuple, dict]:
    """The last outcome of each mutant (a rerun after new tests replaces the first)."""
    return {(r["module"], r["index"]): r for r in rows}


def _read_out() -> list[dict]:
    rows = []
    for f in sorted(OUT.glob("*.jsonl")):
        rows += [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
    return rows


def summary(first: bool) -> str:
    """A markdown table per subpackage: mutants run, killed, survived, equivalent, survival."""
    rows = _read_out()
    if first:  # the first outcome of each mutant: the state before any new test
        seen = {}
        for r in rows:
            seen.setdefault((r["module"], r["index"]), r)
        latest = seen
    else:
        latest = _latest(rows)
    eq_path = HERE / "equivalent.toml"
    eq = tomllib.loads(eq_path.read_text()) if eq_path.exists() else {}
    equivalent = {(m, int(i)) for m, d in eq.items() for i in d}
    lines = ["| subpackage | modules | mutants (of all) | killed | survived | equivalent "
             "| survival of non-equivalent | run time (s) |", "|---|---|---|---|---|---|---|---|"]
    subs = sorted({r["subpackage"] for r in latest.values()} - {"planted"})
    for sub in subs:
        rs = [r for r in latest.values() if r["subpackage"] == sub]
        mods = {r["module"]: r["of"] for r in rs}
        eqv = sum((r["module"], r["index"]) in equivalent for r in rs)
        killed = sum(r["outcome"] in ("killed", "timeout") for r in rs)
        surv = len(rs) - killed - eqv
        rate = surv / max(1, len(rs) - eqv)
        secs = sum(r["seconds"] for r in rs)
        lines.append(f"| {sub} | {len(mods)} | {len(rs)} ({sum(mods.values())}) | {killed} "
                     f"| {surv} | {eqv} | {100 * rate:.0f}% | {secs:.0f} |")
    return "\n".join(lines + ["", planted_table(rows)])


def planted_table(rows: list[dict]) -> str:
    """Each planted bug's outcome with the base commit's tests and with the worktree's."""
    out = {}
    for r in rows:
        if r["subpackage"] == "planted":
            out.setdefault(r["index"], {})[r.get("tests_at", "worktree")] = r
    lines = ["| planted bug | module | before | after |", "|---|---|---|---|"]
    for bug, runs in out.items():
        before = next((v["outcome"] for k, v in runs.items() if k != "worktree"), "-")
        after = runs["worktree"]["outcome"] if "worktree" in runs else "-"
        mod = next(iter(runs.values()))["module"]
        lines.append(f"| {bug} | {mod} | {before} | {after} |")
    return "\n".join(lines)


def _survivors() -> dict[str, set[int]]:
    eq_path = HERE / "equivalent.toml"
    eq = tomllib.loads(eq_path.read_text()) if eq_path.exists() else {}
    out: dict[str, set[int]] = {}
    for (mod, i), r in _latest(_read_out()).items():
        if r["subpackage"] != "planted" and r["outcome"] == "survived" \
                and str(i) not in eq.get(mod, {}):
            out.setdefault(mod, set()).add(i)
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--subpackage")
    ap.add_argument("--module")
    ap.add_argument("--sample", type=int, default=0, help="mutants per module (0: all)")
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    ap.add_argument("--summary", action="store_true")
    ap.add_argument("--before", action="store_true", help="summary of the first outcomes")
    ap.add_argument("--rerun-survivors", action="store_true")
    ap.add_argument("--tests-at", help="use only the mapped test files of this commit")
    ap.add_argument("--lines", help="FIRST-LAST: only the mutants of these lines")
    ap.add_argument("--planted", nargs="*", help="run the bugs of planted.toml (all, or ids)")
    ap.add_argument("--clean", action="store_true",
                    help="run each module's tests unmutated first (they must pass) and time "
                         "out at twice that plus 20 s (default: a fixed 900 s)")
    a = ap.parse_args(argv)
    if a.summary:
        print(summary(first=a.before))
    elif a.planted is not None:
        planted(a.workers, a.tests_at, a.planted or None)
    elif a.list:
        for _, mod, _ in _modules(_load_map(), a.subpackage, a.module):
            ms = Mutants(ROOT / mod)
            for i in range(len(ms)):
                print(f"{mod}:{ms.line(i)} #{i}  {ms.diff(i)}")
    else:
        only = _survivors() if a.rerun_survivors else None
        lines = tuple(int(x) for x in a.lines.split("-")) if a.lines else None
        run(a.subpackage, a.module, a.sample, a.seed, a.workers, only, a.tests_at, a.clean,
            lines)


if __name__ == "__main__":
    main()
