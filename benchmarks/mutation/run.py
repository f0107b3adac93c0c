"""Mutation testing of okma_sim's core: mutmut's operators, one mutant at a time, each against
the tests that executed its statement (README.md in this folder).

The mutants are mutmut's (``mutmut.mutation.file_mutation.MutationVisitor`` with mutmut's
operators, string literals left out: they are error messages and labels), each a copy of one
source file with one node replaced. ``_select.py`` finds the tests that can see a mutant (one
coverage pass per test set), ``_worker.py`` runs it in a process that imported everything
once and forks per mutant. Outcomes go to ``out/<tag>.jsonl`` (one JSON line per mutant:
module, index, line, diff, outcome, seconds, how); ``equivalent.toml`` marks the mutants
argued equivalent, which the summary counts apart.

Run by hand (not part of the test command)::

    python benchmarks/mutation/run.py --fraction 0.05 --workers 2
    python benchmarks/mutation/run.py --summary          # the table from out/after.jsonl
    python benchmarks/mutation/run.py --rerun-survivors  # after new tests: the survivors again
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import math
import os
import queue
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper
from mutmut.mutation.file_mutation import MutationVisitor, deep_replace
from mutmut.mutation.mutators import mutation_operators, operator_string
from mutmut.mutation.pragma_handling import IgnoredCode

from _select import Statements, coverage_pass, runs_at_import, tests_for

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OUT = HERE / "out"
#: what a sandbox needs: the package, the tests, the oracle in benchmarks/, the data files
COPIED = ("okma_sim", "tests", "benchmarks", "data", "pyproject.toml")
#: seconds before a planted bug's test run counts as killed (an endless loop)
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
        pos = self._pos = wrapper.resolve(cst.metadata.PositionProvider)
        self.items = [(pos[m.original_node].start.line if m.original_node in pos else 0, m)
                      for m in visitor.mutations if m.contained_by_top_level_function is not None]

    def __len__(self) -> int:
        return len(self.items)

    def line(self, i: int) -> int:
        return self.items[i][0]

    def def_line(self, i: int) -> int | None:
        """The ``def`` line of the top-level function or method holding mutant ``i`` (None for
        a statement of a class body: it runs at import)."""
        top = self.items[i][1].contained_by_top_level_function
        return self._pos[top.name].start.line if isinstance(top, cst.FunctionDef) else None

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


def _sandbox(at: str | None = None) -> Path:
    """A private copy of the worktree; with ``at``, its tests/ are those of commit ``at``."""
    box = Path(tempfile.mkdtemp(prefix="okma_mut_"))
    for name in COPIED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, box / name, ignore=_ignore)
        else:
            shutil.copy2(src, box / name)
    if at is not None:
        shutil.rmtree(box / "tests")
        tar = subprocess.run(["git", "archive", at, "tests"], cwd=ROOT, capture_output=True,
                             check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(box)], input=tar, check=True)
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
           "-o", "addopts=", *tests]
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


def _modules(spec: dict, subpackage: str | None,
             module: str | None) -> list[tuple[str, str, list]]:
    """(subpackage, module, its test files) of map.toml, filtered."""
    return [(sub, mod, entry["tests"]) for sub, entry in spec.items() for mod in entry["modules"]
            if subpackage in (None, sub) and module in (None, mod)]


def _pool(spec: dict) -> list[str]:
    """Every mapped test file: the pool the coverage pass runs (a module's row in map.toml
    says which subpackage it reports under; its mutants run whichever pool tests cover them)."""
    return sorted({t for _, _, tests in _modules(spec, None, None) for t in tests})


def _fingerprint(box: Path, files: list[str]) -> str:
    h = hashlib.sha256()
    for f in sorted(box.glob("okma_sim/**/*.py")) + [box / t for t in files]:
        h.update(str(f.relative_to(box)).encode() + f.read_bytes())
    return h.hexdigest()[:16]


def _selection(box: Path, files: list[str], tag: str, workers: int) -> dict:
    """The coverage pass of ``files`` (cached in out/select-<tag>.json for the same sources)."""
    path = OUT / f"select-{tag}.json"
    key = _fingerprint(box, files)
    if path.exists():
        sel = json.loads(path.read_text())
        if sel.get("key") == key:
            return sel
    print(f"coverage pass of {len(files)} test files ({tag}) ...", flush=True)
    start = time.perf_counter()
    sel = coverage_pass(box, files, workers)
    sel["key"], sel["pass_seconds"] = key, round(time.perf_counter() - start, 1)
    path.write_text(json.dumps(sel))
    print(f"  {len(sel['passed'])} passing tests, {sel['pass_seconds']} s", flush=True)
    return sel


def _jobs(rows, sel, sample, fraction, seed, only, lines, wide=False):
    """The mutants to run (jobs for the workers) and the ones no test covers (no run).

    A mutant runs the tests of its module's mapped files that execute its statement; with
    ``wide``, those of every file in the pool (a second look at survivors)."""
    jobs, uncovered = [], []
    for sub, mod, mapped in rows:
        all_m = Mutants(ROOT / mod)
        st = Statements(all_m.code)
        idx = [i for i in range(len(all_m))
               if lines is None or lines[0] <= all_m.line(i) <= lines[1]]
        n = sample or (math.ceil(fraction * len(idx)) if fraction else 0)
        if only is not None:
            idx = sorted(only.get(mod, ()))
        elif n and n < len(idx):
            idx = sorted(random.Random(f"{seed}:{mod}").sample(idx, n))
        modname = mod[:-3].replace("/", ".")
        for i in idx:
            at_def = all_m.def_line(i)
            qualname, first, last = st.function(at_def) if at_def else ("", 0, 10 ** 9)
            tests = [t for t in tests_for(sel, mod, st.statement(all_m.line(i)))
                     if wide or t.split("::")[0] in mapped]
            row = {"subpackage": sub, "module": mod, "index": i, "line": all_m.line(i),
                   "diff": all_m.diff(i), "of": len(all_m), "tests": len(tests), "wide": wide}
            if not tests:
                uncovered.append(dict(row, outcome="not covered", seconds=0.0, how="none"))
                continue
            budget = sum(sel["seconds"].get(t, 1.0) for t in tests)
            jobs.append(dict(row, job={
                "module": mod, "modname": modname, "qualname": qualname,
                "source": all_m.source(i), "tests": tests, "timeout": 3 * budget + 30,
                "fresh": runs_at_import(sel, mod, (first, last))}))
    return jobs, uncovered


class Worker:
    """A ``_worker.py`` process in its own sandbox: collects the pool once, forks per job."""

    def __init__(self, box: Path, pool: list[str]):
        env = dict(os.environ, PYTHONPATH=str(box), PYTHONDONTWRITEBYTECODE="1",
                   OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MPLBACKEND="Agg")
        self.proc = subprocess.Popen([sys.executable, str(HERE / "_worker.py")], cwd=box,
                                     env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        self.ask(pool)

    def ask(self, message) -> dict:
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline()
        if not reply:
            raise SystemExit("a mutation worker died")
        return json.loads(reply)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def run(subpackage, module, sample, seed, workers, only=None, at=None, lines=None,
        fraction=0.0, wide=False, fresh=False) -> None:
    """Run the selected mutants; append outcomes to out/<tag>.jsonl (tag: before or after).

    ``at``: the tests of that commit (the "before" run); ``lines`` (first, last) keeps the
    mutants of those source lines only (a targeted run)."""
    OUT.mkdir(exist_ok=True)
    tag = "before" if at else "after"
    spec = _load_map()
    sel_tag, tag = tag, tag + ("-fresh" if fresh else "")
    boxes = [_sandbox(at) for _ in range(workers)]
    try:
        rows = _modules(spec, subpackage, module)
        # the coverage pass runs only the files the selected modules can use
        files = _pool(spec) if wide else sorted({t for _, _, ts in rows for t in ts})
        pool = [t for t in files if (boxes[0] / t).exists()]
        sel = _selection(boxes[0], pool, sel_tag, workers)
        jobs, uncovered = _jobs(rows, sel, sample, fraction, seed, only, lines, wide)
        for j in jobs:
            j["job"]["fresh"] = j["job"]["fresh"] or fresh
        print(f"{len(jobs)} mutants to run, {len(uncovered)} not covered by any test",
              flush=True)
        with open(OUT / f"{tag}.jsonl", "a") as fh:
            for row in uncovered:
                fh.write(json.dumps(dict(row, tag=tag)) + "\n")
            _dispatch(boxes, pool, jobs, fh, tag)
    finally:
        for box in boxes:
            shutil.rmtree(box, ignore_errors=True)


def _dispatch(boxes, pool, jobs, fh, tag) -> None:
    todo = queue.SimpleQueue()
    for j in jobs:
        todo.put(j)
    lock = threading.Lock()
    done = [0]
    start = time.perf_counter()

    def serve(box):
        w = Worker(box, pool)
        try:
            while True:
                try:
                    item = todo.get_nowait()
                except queue.Empty:
                    return
                job = item.pop("job")
                row = dict(item, **w.ask(job), tag=tag)
                with lock:
                    fh.write(json.dumps(row) + "\n")
                    fh.flush()
                    done[0] += 1
                    if row["outcome"] != "killed":
                        print(f"  {row['outcome']}: {row['module']}:{row['line']} "
                              f"#{row['index']}  {row['diff']}", flush=True)
                    if done[0] % 50 == 0:
                        print(f"[{done[0]}/{len(jobs)} in {time.perf_counter() - start:.0f} s]",
                              flush=True)
        finally:
            w.close()

    threads = [threading.Thread(target=serve, args=(b,)) for b in boxes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def planted(workers: int, at: str | None, ids=None) -> None:
    """Run the bugs of planted.toml against their modules' mapped tests (out/planted.jsonl)."""
    bugs = tomllib.loads((HERE / "planted.toml").read_text())["bug"]
    where = {mod: tests for _, mod, tests in _modules(_load_map(), None, None)}
    OUT.mkdir(exist_ok=True)
    boxes = [_sandbox(at) for _ in range(workers)]
    free = list(boxes)

    def one(bug):
        code = (ROOT / bug["module"]).read_text()
        if code.count(bug["old"]) != 1:
            raise SystemExit(f"{bug['id']}: 'old' must occur once in {bug['module']}")
        box = free.pop()
        tests = [t for t in where[bug["module"]] if (box / t).exists()]
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


def _read_out(tag: str) -> list[dict]:
    f = OUT / f"{tag}.jsonl"
    return [json.loads(x) for x in f.read_text().splitlines() if x.strip()] if f.exists() else []


def _equivalent() -> set[tuple[str, int]]:
    eq_path = HERE / "equivalent.toml"
    eq = tomllib.loads(eq_path.read_text()) if eq_path.exists() else {}
    return {(m, int(i)) for m, d in eq.items() for i in d}


def _interval(k: int, n: int) -> str:
    """Clopper-Pearson 95% interval of a survival rate k / n, in percent."""
    from scipy import stats
    ci = stats.binomtest(k, max(n, 1)).proportion_ci(0.95)
    return f"{100 * ci.low:.1f}-{100 * ci.high:.1f}%"


def summary(tag: str) -> str:
    """A markdown table per subpackage: mutants run, killed, survived, equivalent, survival."""
    latest = _latest(_read_out(tag))
    equivalent = _equivalent()
    lines = ["| subpackage | modules | mutants run (of all) | killed | survived (not covered) "
             "| equivalent | survival of non-equivalent (95% interval) | CPU time (s) |",
             "|---|---|---|---|---|---|---|---|"]
    total = [0, 0, 0, 0]
    for sub in sorted({r["subpackage"] for r in latest.values()}):
        rs = [r for r in latest.values() if r["subpackage"] == sub]
        mods = {r["module"]: r["of"] for r in rs}
        eqv = sum((r["module"], r["index"]) in equivalent for r in rs)
        killed = sum(r["outcome"] in ("killed", "timeout") for r in rs)
        errors = sum(r["outcome"].startswith("error") for r in rs)
        uncovered = sum(r["outcome"] == "not covered" for r in rs
                        if (r["module"], r["index"]) not in equivalent)
        surv = len(rs) - killed - eqv - errors
        n = len(rs) - eqv - errors
        rate = surv / max(1, n)
        secs = sum(r["seconds"] for r in rs)
        total = [total[0] + killed, total[1] + surv, total[2] + eqv, total[3] + errors]
        lines.append(f"| {sub} | {len(mods)} | {len(rs)} ({sum(mods.values())}) | {killed} "
                     f"| {surv} ({uncovered}) | {eqv} | {100 * rate:.1f}% ({_interval(surv, n)}) "
                     f"| {secs:.0f} |"
                     + (f" {errors} harness errors" if errors else ""))
    k, sv, _, _ = total
    if k + sv:
        lines.append(f"\nPooled: {sv} of {k + sv} non-equivalent mutants survive "
                     f"({100 * sv / (k + sv):.1f}%, 95% interval {_interval(sv, k + sv)}).")
    return "\n".join(lines)


def planted_table() -> str:
    """Each planted bug's outcome with the base commit's tests and with the worktree's."""
    out = {}
    for r in _read_out("planted"):
        out.setdefault(r["index"], {})[r.get("tests_at", "worktree")] = r
    lines = ["| planted bug | module | before | after |", "|---|---|---|---|"]
    for bug, runs in out.items():
        before = next((v["outcome"] for k, v in runs.items() if k != "worktree"), "-")
        after = runs["worktree"]["outcome"] if "worktree" in runs else "-"
        mod = next(iter(runs.values()))["module"]
        lines.append(f"| {bug} | {mod} | {before} | {after} |")
    return "\n".join(lines)


def _survivors(tag: str) -> dict[str, set[int]]:
    equivalent = _equivalent()
    out: dict[str, set[int]] = {}
    for (mod, i), r in _latest(_read_out(tag)).items():
        if r["outcome"] in ("survived", "not covered") and (mod, i) not in equivalent:
            out.setdefault(mod, set()).add(i)
    return out


def _line_range(text: str) -> tuple[int, int]:
    try:
        first, last = (int(x) for x in text.split("-"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected FIRST-LAST, got {text!r}") from None
    return first, last


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--subpackage")
    ap.add_argument("--module")
    ap.add_argument("--sample", type=int, default=0, help="mutants per module (0: all)")
    ap.add_argument("--fraction", type=float, default=0.0,
                    help="this share of each module's mutants (rounded up; 0: all)")
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    ap.add_argument("--summary", action="store_true")
    ap.add_argument("--before", action="store_true", help="the summary of the 'before' runs")
    ap.add_argument("--rerun-survivors", action="store_true")
    ap.add_argument("--fresh", action="store_true",
                    help="every mutant in a new interpreter (tag <tag>-fresh): checks the fork")
    ap.add_argument("--wide", action="store_true",
                    help="every pool file's covering tests, not only the module's mapped files")
    ap.add_argument("--tests-at", help="run against the tests of this commit (the 'before' run)")
    ap.add_argument("--lines", type=_line_range,
                    help="FIRST-LAST: only the mutants of these lines")
    ap.add_argument("--planted", nargs="*", help="run the bugs of planted.toml (all, or ids)")
    a = ap.parse_args(argv)
    if a.summary:
        print(summary("before" if a.before else "after") + "\n\n" + planted_table())
    elif a.planted is not None:
        planted(a.workers, a.tests_at, a.planted or None)
    elif a.list:
        for _, mod, _ in _modules(_load_map(), a.subpackage, a.module):
            ms = Mutants(ROOT / mod)
            for i in range(len(ms)):
                print(f"{mod}:{ms.line(i)} #{i}  {ms.diff(i)}")
    else:
        only = _survivors("before" if a.tests_at else "after") if a.rerun_survivors else None
        lines = a.lines
        run(a.subpackage, a.module, a.sample, a.seed, a.workers, only, a.tests_at, lines,
            a.fraction, a.wide, a.fresh)


if __name__ == "__main__":
    main()
