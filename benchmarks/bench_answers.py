"""How long ``okma-sim solve`` and ``okma-sim review`` make the analyst wait (issue 15: 5 s or
less at their default settings on the case study, on a 2-core machine).

Each command runs at its defaults (``solve``: C = 0.7, 2,000 paths per evaluation, at most 120
evaluations, 8,000 verification paths; ``review``: the scenario's 20,000 paths, the bundled
actuals, the recommendation search on) in a fresh Python process, as the command line does,
with ``--json --no-progress``. Inside that process the parts are timed (wall and process CPU
seconds) by wrapping the functions that do them:

- ``solve``: importing the package, the design of start points, the climb in probability
  (when nothing is feasible), the cost minimisation, the frontier's searches, the fresh-seed
  verification, the correction round, judging the answer (the constraints that bind);
- ``review``: importing, the plan-time run, the update with the actuals (importance
  sampling), the re-forecast of the months left, the lever search.

"other" is the rest (reading the scenario, the JSON). The load average is printed: on a
machine shared with other jobs wall time means little, CPU seconds more.

Usage::

    python benchmarks/bench_answers.py [--compare-with OTHER_CHECKOUT] [--write]

``--compare-with`` runs the same commands on another checkout of okma_sim too (the code
before a change) and puts both in the table; ``--write`` replaces this benchmark's section of
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
HEADING = "## Issue 15: answers while the analyst waits (`bench_answers.py`)"

#: part -> (module, function) wrapped to time it, per command
PARTS = {
    "solve": [("design", "okma_sim.analysis._solver", "design"),
              ("climb", "okma_sim.analysis._solver", "climb"),
              ("minimise", "okma_sim.analysis._solver", "minimise"),
              ("frontier", "okma_sim.analysis._solver", "tighten_frontier"),
              ("verification", "okma_sim.analysis._solver", "_verify"),
              ("correction", "okma_sim.analysis._solver", "_correct"),
              ("judging (what binds)", "okma_sim.analysis._solver", "_judge")],
    "review": [("plan-time run, re-forecast", "okma_sim.inference._review", "simulate"),
               ("update with the actuals", "okma_sim.inference._review", "observed_state"),
               ("lever search", "okma_sim.inference._review", "_recommend")],
}


def _child(command: str) -> None:
    """Run one command in this process and print its parts' times as JSON."""
    t0, c0 = time.perf_counter(), time.process_time()
    import contextlib
    import importlib
    import io

    import okma_sim
    import okma_sim.analysis  # noqa: F401  (what the commands import)
    import okma_sim.cli
    import okma_sim.inference  # noqa: F401
    times: dict[str, list[float]] = {"import": [time.perf_counter() - t0,
                                                time.process_time() - c0]}
    calls: dict[str, int] = {}

    def timed(part: str, fn):
        def wrapper(*args, **kwargs):
            w, c = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                name = part
                if part.startswith("plan-time run"):  # first the plan-time run, then the rest
                    name = "plan-time run" if calls.get(part, 0) == 0 else "re-forecast"
                calls[part] = calls.get(part, 0) + 1
                t = times.setdefault(name, [0.0, 0.0])
                t[0] += time.perf_counter() - w
                t[1] += time.process_time() - c
        return wrapper

    for part, mod, fn in PARTS[command]:
        m = importlib.import_module(mod)
        setattr(m, fn, timed(part, getattr(m, fn)))
    case = str(okma_sim.case_study_path())
    argv = [command, case, "--json", "--no-progress"]
    if command == "review":
        argv += ["--actuals", str(okma_sim.data_path("case_study_actuals.csv"))]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = okma_sim.cli.main(argv)
    doc = json.loads(out.getvalue())
    total = [time.perf_counter() - t0, time.process_time() - c0]
    times["other"] = [total[i] - sum(v[i] for v in times.values()) for i in (0, 1)]
    summary = {"solve": lambda d: (f"P(all objectives met) {d['probability']:.3f} ± "
                                   f"{d['stderr']:.3f}, {d['evaluations']} evaluations, "
                                   f"feasible {d['feasible']}"),
               "review": lambda d: (f"P(all objectives met) now {d['all_met']['probability']:.3f}"
                                    f" ± {d['all_met']['stderr']:.3f}")}[command]
    print(json.dumps({"code": code, "total": total, "parts": times,
                      "answer": summary(doc)}))


def _run(command: str, pythonpath: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(pythonpath))
    load0 = os.getloadavg()[0]
    proc = subprocess.run([sys.executable, __file__, "--child", command], env=env,
                          capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise SystemExit(f"{command} failed:\n{proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["load"] = (load0, os.getloadavg()[0])
    return out


def _rows(command: str, runs: dict[str, dict]) -> list[str]:
    labels = list(runs)
    parts = list(dict.fromkeys(p for r in runs.values() for p in r["parts"]))
    head = f"| `{command}` part | " + " | ".join(f"{lb}: wall / CPU s" for lb in labels) + " |"
    lines = [head, "|---|" + "---|" * len(labels)]
    for p in parts:
        cells = [(f"{r['parts'][p][0]:.2f} / {r['parts'][p][1]:.2f}" if p in r["parts"] else "—")
                 for r in runs.values()]
        lines.append(f"| {p} | " + " | ".join(cells) + " |")
    lines.append("| **total** | " + " | ".join(
        f"**{r['total'][0]:.2f} / {r['total'][1]:.2f}**" for r in runs.values()) + " |")
    lines.append("| load average (start, end) | " + " | ".join(
        f"{r['load'][0]:.1f}, {r['load'][1]:.1f}" for r in runs.values()) + " |")
    lines.append("| answer | " + " | ".join(r["answer"] for r in runs.values()) + " |")
    return lines


def _write(section: str) -> None:
    path = HERE / "RESULTS.md"
    text = path.read_text()
    if HEADING in text:
        start = text.index(HEADING)
        nxt = text.find("\n## ", start + len(HEADING))
        text = text[:start] + section + ("\n" + text[nxt + 1:] if nxt >= 0 else "")
    else:  # the newest section first, after the introduction
        first = text.index("\n## ")
        text = text[:first + 1] + section + "\n" + text[first + 1:]
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", choices=sorted(PARTS), help=argparse.SUPPRESS)
    ap.add_argument("--compare-with", type=Path, default=None, metavar="CHECKOUT",
                    help="also time another checkout of okma_sim (labelled 'before')")
    ap.add_argument("--write", action="store_true",
                    help="replace this benchmark's section of benchmarks/RESULTS.md")
    args = ap.parse_args(argv)
    if args.child:
        _child(args.child)
        return 0
    checkouts = {"after": ROOT} if args.compare_with is None else \
        {"before": args.compare_with.resolve(), "after": ROOT}
    lines = [HEADING, "",
             f"Measured on {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, "
             f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}; each command at its "
             "defaults on the case study in a fresh process (`--json --no-progress`).", ""]
    for command in PARTS:
        runs = {label: _run(command, path) for label, path in checkouts.items()}
        lines += _rows(command, runs) + [""]
        print("\n".join(_rows(command, runs)), flush=True)
    if args.write:
        _write("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
