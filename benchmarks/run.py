"""okma_sim benchmarks (issue 7, and issue 2's benchmark): one command, one table.

    python benchmarks/run.py                 # everything (about 10 minutes on 2 cores)
    python benchmarks/run.py --quick         # smaller sizes, a smoke run (about 1 minute)
    python benchmarks/run.py --sections scale,floor

It prints a table and writes it to ``benchmarks/results/benchmark.csv`` and ``.json`` (the
folder is git-ignored; benchmarks/RESULTS.md keeps a committed summary). Sections:

``scale``      the case study (12 reps, 12 months) at 10k, 100k and 1M paths, each in a fresh
               subprocess: wall time of ``simulate``, rep-months per second, peak RSS
               (``ru_maxrss``), and RSS after the imports. Goal: 1M paths in at most 1 GiB.
``floor``      the RNG floor: every variate a run draws is recorded by an instrumented
               Generator (benchmarks/rngfloor.py), then numpy draws just those, timed. The
               ratio is simulation time / floor, for the raw draws (uniforms that are then
               inverted count as uniforms) and by kind (an inverted uniform counts as the
               Poisson or binomial variate it becomes). Goal: at most 2x.
``reference``  time per path of the pure-Python reference (benchmarks/reference.py) over the
               engine's. Goal: at least 30x.
``widget``     the dashboard's refresh latency (benchmarks/bench_widget.py, when the dashboard
               exists). Goal: a median of at most 150 ms.
``scaling``    empirical exponents of time in paths, reps and months (log-log slopes); each
               should be about 1.
``tolerance``  wall time and paths to pin P(all objectives met) to a 95% half-width of 0.01 by
               adaptive stopping (``simulate(tolerance=0.01)``), for each sampler.
``dask``       throughput on a LocalCluster (one single-threaded worker per CPU) against
               in-process: one large run, and a sweep whose rows run as tasks.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import json
import math
import os
import platform
import re
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
#: the clock of in-process timings: process CPU time by default, which a busy shared machine
#: distorts far less than wall time (--clock wall to change it)
CLOCK = time.process_time
SECTIONS = ("scale", "floor", "reference", "widget", "scaling", "tolerance", "dask")
GIB = 1024 ** 3


def _rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _case():
    import okma_sim
    return okma_sim.load_plan(okma_sim.case_study_path())


# -- child process: one size of the case study ---------------------------------------------
def child_scale(n: int, seed: int, anchor: bool = True) -> dict[str, Any]:
    import dataclasses
    import okma_sim
    plan = _case()
    # anchoring to the baseline year (docs/model.md 11) re-runs last year twice per path first
    plan = plan.replace(simulation=dataclasses.replace(plan.simulation, anchor=anchor))
    after_import = _rss_bytes()
    t0, c0 = time.perf_counter(), time.process_time()
    res = okma_sim.simulate(plan, n_paths=n, seed=seed, progress=False)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    a = res.all_met()
    return {"paths": n, "wall_s": wall, "cpu_s": cpu, "peak_rss": _rss_bytes(),
            "rss_after_import": after_import,
            "reps": plan.team.n_reps, "months": plan.horizon_months,
            "all_met": a.probability, "all_met_stderr": a.stderr}


# -- the table ------------------------------------------------------------------------------
class Table:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, section: str, name: str, value: float, unit: str, goal: str = "",
            met: bool | None = None, notes: str = "") -> None:
        self.rows.append({"section": section, "name": name, "value": value, "unit": unit,
                          "goal": goal, "met": "" if met is None else ("yes" if met else "no"),
                          "notes": notes})
        print(f"  {name:<52} {_fmt(value):>12} {unit:<14} {goal:<12} "
              f"{'' if met is None else ('met' if met else 'NOT met'):<8} {notes}", flush=True)


def _fmt(v: float) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    if abs(v) >= 1e5:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:.1f}"
    return f"{v:.3g}"


# -- sections -------------------------------------------------------------------------------
def run_scale(t: Table, sizes: list[int], seed: int) -> dict[int, dict]:
    out = {}
    for n in sizes:
        d = _scale_child(n, seed, True)
        out[n] = d
        rm = n * d["reps"] * d["months"]
        if n <= 100_000:
            off = _scale_child(n, seed, False)
            t.add("scale", f"case study {n:,} paths, not anchored: CPU time", off["cpu_s"], "s",
                  notes=f"the plan's months alone: {rm / off['cpu_s']:,.0f} rep-months per "
                  f"CPU second; anchoring to the baseline year costs the rest")
        t.add("scale", f"case study {n:,} paths: CPU time", d["cpu_s"], "s",
              notes=f"wall {d['wall_s']:.1f} s")
        t.add("scale", f"case study {n:,} paths: rep-months per CPU second", rm / d["cpu_s"],
              "rep-months/s", notes=f"{rm / d['wall_s']:,.0f} per wall second")
        big = n >= 1_000_000
        t.add("scale", f"case study {n:,} paths: peak RSS", d["peak_rss"] / 2**20, "MiB",
              "<= 1024 MiB" if big else "", (d["peak_rss"] <= GIB) if big else None,
              f"after imports {d['rss_after_import'] / 2**20:.0f} MiB; "
              f"P(all met) {d['all_met']:.4f} ± {d['all_met_stderr']:.4f}")
    return out


def _scale_child(n: int, seed: int, anchor: bool) -> dict[str, Any]:
    """One size of the case study in a fresh process (its peak memory is the run's own)."""
    r = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child-scale",
                        str(n), "--seed", str(seed)] + ([] if anchor else ["--no-anchor"]),
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stderr, file=sys.stderr)
        raise SystemExit(f"child for {n} paths failed")
    return json.loads(r.stdout.strip().splitlines()[-1])


def run_floor(t: Table, n: int, seed: int, repeats: int) -> float:
    import okma_sim
    sys.path.insert(0, str(HERE))
    from rngfloor import measure_floor
    plan = _case()
    okma_sim.simulate(plan, n_paths=min(n, 4096), seed=seed, progress=False)  # warm up
    # a new seed each time: the engine caches a seed's parameter draws
    sim_t = _time(lambda s: okma_sim.simulate(plan, n_paths=n, seed=s, progress=False), repeats)
    fl = measure_floor(plan, n, seed, repeats=repeats, clock=CLOCK)
    counts = ", ".join(f"{k} {v / 1e6:.2f}M" for k, v in sorted(fl["counts"].items()))
    t.add("floor", f"simulate {n:,} paths (best of {repeats})", sim_t, "s")
    t.add("floor", "RNG floor, raw Generator draws", fl["raw_floor_s"], "s", notes=counts)
    t.add("floor", "RNG floor, by kind (inverted uniforms as Poisson/binomial)",
          fl["by_kind_floor_s"], "s")
    r_raw = sim_t / fl["raw_floor_s"]
    r_kind = sim_t / fl["by_kind_floor_s"]
    t.add("floor", "RNG floor ratio, raw draws", r_raw, "x", "<= 2x", r_raw <= 2)
    t.add("floor", "RNG floor ratio, by kind", r_kind, "x", "<= 2x", r_kind <= 2)
    return sim_t / n


def run_reference(t: Table, n_ref: int, engine: tuple[float, str], repeats: int,
                  at_scale: tuple[float, str] | None = None) -> None:
    """Per-path time of the reference (best of ``repeats`` runs of ``n_ref`` paths) over the
    engine's (``engine``: seconds per path and how it was measured)."""
    sys.path.insert(0, str(HERE))
    from reference import simulate_reference
    plan = _case()
    ref = _time(lambda s: simulate_reference(plan, n_ref, s), repeats) / n_ref
    t.add("reference", f"reference implementation, per path (best of {repeats} x {n_ref})",
          ref * 1e3, "ms/path")
    t.add("reference", f"engine, per path ({engine[1]})", engine[0] * 1e3, "ms/path")
    notes = "" if at_scale is None else \
        f"{ref / at_scale[0]:.1f}x against the engine's {at_scale[1]}"
    t.add("reference", "speed-up over the reference", ref / engine[0], "x", ">= 30x",
          ref / engine[0] >= 30, notes)


def run_widget(t: Table, repeats: int) -> None:
    bench = HERE / "bench_widget.py"
    if not bench.exists():
        t.add("widget", "widget refresh", math.nan, "ms", "<= 150 ms", None,
              "benchmarks/bench_widget.py not present")
        return
    r = subprocess.run([sys.executable, str(bench), "--repeats", str(repeats)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        t.add("widget", "widget refresh", math.nan, "ms", "<= 150 ms", None,
              f"bench_widget.py failed: {r.stderr.strip().splitlines()[-1:]}")
        return
    found = {m.group(1).strip(): float(m.group(2)) for m in
             re.finditer(r"^([a-z()\s]+?):\s+median\s+([\d.]+) ms", r.stdout, re.M)}
    head = re.search(r"([\d,]+) paths", r.stdout)
    paths = head.group(1) if head else "?"
    for label, ms in found.items():
        headline = label == "lever (new setting)"
        t.add("widget", f"widget refresh, {label} ({paths} paths)", ms, "ms median",
              "<= 150 ms" if headline else "", (ms <= 150) if headline else None)


def _time(fn, repeats: int, clock=None) -> float:
    """Best time (``CLOCK``) of ``fn(seed)`` over ``repeats`` calls, each with a new seed (the
    engine caches a seed's parameter draws, which would flatter a repeated run)."""
    clock = clock or CLOCK
    best = math.inf
    for i in range(repeats):
        seed = 1_000_003 + i + int(time.time_ns() % 1_000_000) * 1000
        t0 = clock()
        fn(seed)
        best = min(best, clock() - t0)
    return best


def _slope(xs: list[float], ys: list[float]) -> float:
    import numpy as np
    return float(np.polyfit(np.log(xs), np.log(ys), 1)[0])


def _last_slope(xs: list[float], ys: list[float]) -> float:
    return math.log(ys[-1] / ys[-2]) / math.log(xs[-1] / xs[-2])


def run_scaling(t: Table, base_paths: int, repeats: int, quick: bool) -> None:
    import okma_sim
    plan = _case()
    okma_sim.simulate(plan, n_paths=4096, seed=1, progress=False)

    def sim(p, n=base_paths):
        return lambda seed: okma_sim.simulate(p, n_paths=n, seed=seed, progress=False)

    paths = [4096, 8192, 16384] if quick else [4096, 8192, 16384, 32768, 65536]
    tp = [_time(sim(plan, n), repeats) for n in paths]
    reps = [3, 6, 12] if quick else [3, 6, 12, 24, 48]
    tr = [_time(sim(dataclasses.replace(plan, team=dataclasses.replace(plan.team, reps=r))),
                repeats) for r in reps]
    months = [6, 12, 24] if quick else [6, 12, 24, 48]
    tm = [_time(sim(dataclasses.replace(plan, horizon_months=m)), repeats) for m in months]
    for label, xs, ys in (("paths", paths, tp), ("reps", reps, tr), ("months", months, tm)):
        s = _slope(xs, ys)
        pts = "; ".join(f"{x:,}: {y:.3f} s" for x, y in zip(xs, ys))
        t.add("scaling", f"exponent of time in {label} (log-log fit, all points)", s, "",
              "about 1", 0.8 <= s <= 1.2,
              f"{pts}; between the two largest {_last_slope(xs, ys):.2f}")


def run_tolerance(t: Table, seed: int) -> None:
    import okma_sim
    plan = _case()
    best = None
    for sampler in ("mc", "lhs", "sobol"):
        from okma_sim.engine import DEFAULT_FIRST
        t0 = CLOCK()
        res = okma_sim.simulate(plan, n_paths=DEFAULT_FIRST, seed=seed, sampler=sampler,
                                tolerance=0.01, progress=False)
        wall = CLOCK() - t0
        info = res.extra.get("adaptive", {})
        a = res.all_met()
        t.add("tolerance", f"P(all met) to ±0.01 (95%), sampler {sampler}: time", wall,
              "s", notes=f"{res.n_paths:,} paths (stages {info.get('stages')}); "
                         f"P = {a.probability:.4f}, half-width "
                         f"{info.get('half_width', float('nan')):.4f}")
        if best is None or wall < best[1]:
            best = (sampler, wall, res.n_paths, a.probability)
    p = best[3]  # the binomial formula at the best sampler's estimate
    n_binom = math.ceil(p * (1 - p) * (1.959964 / 0.01) ** 2)
    t.add("tolerance", f"best: sampler {best[0]}, time", best[1], "s",
          notes=f"{best[2]:,} paths; the binomial formula gives {n_binom:,} paths at "
                f"p = {p:.3f}")


def _cpu_times() -> tuple[float, float]:
    t = os.times()
    return t.user, t.system


def run_dask(t: Table, n: int, rows: int, row_paths: int) -> None:
    import logging

    import okma_sim
    from okma_sim.analysis import sweep
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        t.add("dask", "dask", math.nan, "", notes="dask.distributed not installed")
        return
    logging.getLogger("distributed").setLevel(logging.ERROR)
    plan = _case()
    workers = os.cpu_count() or 1
    rm = plan.team.n_reps * plan.horizon_months
    wall = time.perf_counter  # several processes: wall time
    local = _time(lambda s: okma_sim.simulate(plan, n_paths=n, seed=s, progress=False), 1, wall)
    grid = {"prospect_visits_per_week": [5 + i for i in range(rows)]}
    t0 = time.perf_counter()
    sweep([okma_sim.case_study_path()], grid, n_paths=row_paths, seed=1)
    local_sweep = time.perf_counter() - t0
    import dask
    t0 = time.perf_counter()
    # as `okma-sim --workers` does (docs/scaling.md): no MALLOC_TRIM_THRESHOLD_ in workers
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}), \
            LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                         host="127.0.0.1", dashboard_address=None) as cluster, \
            Client(cluster) as client:
        start = time.perf_counter() - t0
        okma_sim.simulate(plan, n_paths=4096 * workers, seed=2, executor=client,
                          progress=False)  # warm the workers (imports)
        before = client.run(_cpu_times)
        remote = _time(lambda s: okma_sim.simulate(plan, n_paths=n, seed=s, executor=client,
                                                   progress=False), 1, wall)
        after = client.run(_cpu_times)
        user = sum(after[w][0] - before[w][0] for w in after)
        system = sum(after[w][1] - before[w][1] for w in after)
        t0 = time.perf_counter()
        sweep([okma_sim.case_study_path()], grid, n_paths=row_paths, seed=1, executor=client)
        remote_sweep = time.perf_counter() - t0
    t.add("dask", "LocalCluster start-up", start, "s", notes=f"{workers} workers x 1 thread")
    t.add("dask", f"simulate {n:,} paths in-process", local, "s",
          notes=f"{n * rm / local:,.0f} rep-months/s")
    t.add("dask", f"simulate {n:,} paths on {workers} workers", remote, "s",
          notes=f"{n * rm / remote:,.0f} rep-months/s; "
                f"{n / remote / workers:,.0f} paths/s per worker")
    t.add("dask", "worker CPU per path", (user + system) / n * 1e3, "ms/path",
          notes=f"{n / (user + system):,.0f} paths per worker CPU second; system time "
                f"{system / (user + system):.0%} of it")
    t.add("dask", f"sweep {rows} rows x {row_paths:,} paths in-process", local_sweep, "s")
    t.add("dask", f"sweep {rows} rows x {row_paths:,} paths on {workers} workers",
          remote_sweep, "s", notes=f"{rows * row_paths / remote_sweep / workers:,.0f} "
                                   "paths/s per worker")


# -- main -------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    ap.add_argument("--sections", default=",".join(SECTIONS),
                    help=f"comma-separated subset of {','.join(SECTIONS)}")
    ap.add_argument("--sizes", default=None, help="case study path counts (default "
                    "10000,100000,1000000; --quick 10000,40000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=str(HERE / "results"), help="folder for the CSV/JSON")
    ap.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                    help="in-process timings in process CPU time (default) or wall time")
    ap.add_argument("--child-scale", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--no-anchor", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter

    if args.child_scale is not None:
        print(json.dumps(child_scale(args.child_scale, args.seed, not args.no_anchor)))
        return 0

    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        ap.error(f"unknown sections: {', '.join(sorted(unknown))}")
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else \
        ([10_000, 40_000] if args.quick else [10_000, 100_000, 1_000_000])
    import numpy as np
    import okma_sim
    meta = {"okma_sim": okma_sim.__version__, "numpy": np.__version__,
            "python": platform.python_version(), "machine": platform.machine(),
            "cpus": os.cpu_count(), "load_before": os.getloadavg(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S"), "quick": args.quick,
            "clock": args.clock}
    print(f"okma_sim {meta['okma_sim']}, numpy {meta['numpy']}, python {meta['python']}, "
          f"{meta['cpus']} cpus, load {meta['load_before'][0]:.2f}; times are "
          f"{'process CPU' if args.clock == 'cpu' else 'wall'} seconds unless marked")
    t = Table()
    t0 = time.perf_counter()
    engine_best = at_scale = None
    repeats = 3 if args.quick else 5
    n_floor = 8192 if args.quick else 16384
    if "scale" in sections:
        print("case study at scale (fresh subprocess per size)")
        scale = run_scale(t, sizes, args.seed)
        big = max(scale)
        key = "cpu_s" if CLOCK is time.process_time else "wall_s"
        at_scale = (scale[big][key] / big, f"{big:,}-path run")
    if "floor" in sections:
        print("RNG floor")
        per_path = run_floor(t, n_floor, args.seed, repeats)
        engine_best = (per_path, f"best of {repeats} x {n_floor:,} paths")
    if "reference" in sections:
        print("reference implementation")
        if engine_best is None:
            engine_best = (_time(lambda s: okma_sim.simulate(
                _case(), n_paths=n_floor, seed=s, progress=False), repeats) / n_floor,
                f"best of {repeats} x {n_floor:,} paths")
        run_reference(t, 20 if args.quick else 50, engine_best, 3, at_scale)
    if "widget" in sections:
        print("widget refresh")
        run_widget(t, 5 if args.quick else 15)
    if "scaling" in sections:
        print("scaling exponents")
        run_scaling(t, 8192, 2 if args.quick else 3, args.quick)
    if "tolerance" in sections:
        print("adaptive stopping to a half-width of 0.01")
        run_tolerance(t, args.seed)
    if "dask" in sections:
        print("Dask LocalCluster")
        run_dask(t, 32_768 if args.quick else 131_072, 4 if args.quick else 8,
                 4096 if args.quick else 16_384)
    meta["load_after"] = os.getloadavg()
    meta["total_s"] = time.perf_counter() - t0

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(t.rows[0]) if t.rows else ["section"],
                       lineterminator="\n")
    w.writeheader()
    w.writerows(t.rows)
    (out / "benchmark.csv").write_text(buf.getvalue())
    (out / "benchmark.json").write_text(json.dumps({"meta": meta, "rows": t.rows}, indent=1,
                                                   default=float))
    print(f"wrote {out / 'benchmark.csv'} and {out / 'benchmark.json'} "
          f"({meta['total_s']:.0f} s; load {meta['load_after'][0]:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
