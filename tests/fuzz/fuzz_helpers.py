"""The fuzzer's pieces: the fork server client, the subcommands read from ``okma-sim --help``'s
parser, the arguments that make each one cheap, the mutations of scenarios and CSV files, and
the property every run must hold."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import tomli_w
from hypothesis import strategies as st

import okma_sim

SERVER = Path(__file__).with_name("forkserver.py")
ROOT = Path(__file__).resolve().parents[2]


class ForkServer:
    """A client of forkserver.py: ``run(argv, cwd)`` -> (code, stdout, stderr, timed_out)."""

    def __enter__(self) -> "ForkServer":
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        self.proc = subprocess.Popen([sys.executable, str(SERVER)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env)
        assert self.proc.stdout.readline().strip() == "ready"
        return self

    def run(self, argv: list[str], cwd: Path, timeout: float = 60) -> dict:
        self.proc.stdin.write(json.dumps({"argv": argv, "cwd": str(cwd),
                                          "timeout": timeout}) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def __exit__(self, *exc) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


# --------------------------------------------------------------------------------------------
# the subcommands and their arguments
# --------------------------------------------------------------------------------------------
def subcommands() -> dict[str, argparse.ArgumentParser]:
    """Every subcommand ``okma-sim --help`` lists, with its parser."""
    from okma_sim.cli import build_parser
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


#: options that keep a run cheap, given whenever a subcommand has them
CHEAP = {"--paths": "200", "--seed": "1", "--no-progress": None, "--sobol-n": "8",
         "--verify-paths": "200", "--max-evaluations": "3", "--points": "3",
         "--search-paths": "200", "--no-recommend": None, "--cutoff": "2026-06",
         "--horizon": "3"}

#: input files by argument name (anything else that must be given gets the scenario)
SCENARIO, HISTORY, ACTUALS = "scenario.toml", "history.csv", "actuals.csv"
#: a second, unmutated scenario, for commands that take several (compare, sweep)
OTHER = "other.toml"
_BY_DEST = {"history": HISTORY, "actuals": ACTUALS, "plan": SCENARIO}


def _output_name(action: argparse.Action) -> str:
    meta = (action.metavar or "out").lower()
    return "outputs/" + (meta if "." in meta else meta + ".out")


def command_args(name: str, parser: argparse.ArgumentParser, inputs: set[str]) -> list[str]:
    """``[name, ...]``: the inputs (positional and required options), ``--plan`` when the
    example mutated the scenario, and every cheap option the command has."""
    argv = [name]
    for a in parser._actions:
        if a.dest == "help":
            continue
        opt = a.option_strings[0] if a.option_strings else None
        if opt is None:
            argv += [_BY_DEST.get(a.dest, SCENARIO)] + ([OTHER] if a.nargs == "+" else [])
        elif opt == "--out":
            argv += [opt, _output_name(a)] if a.required else []
        elif opt == "--plan" and SCENARIO in inputs:
            argv += [opt, SCENARIO]
        elif a.required:
            argv += [opt, _BY_DEST.get(a.dest, SCENARIO)]
        elif opt in CHEAP:
            argv += [opt] if CHEAP[opt] is None else [opt, CHEAP[opt]]
    return argv


def reads(argv: list[str]) -> set[str]:
    return {f for f in (SCENARIO, HISTORY, ACTUALS) if f in argv}


# --------------------------------------------------------------------------------------------
# scenario mutations
# --------------------------------------------------------------------------------------------
#: numbers near a float's limits (most are refused), and large or small ones a scenario may
#: hold (which must then run cleanly)
EXTREMES = [1e308, -1e308, 1.7976931348623157e308, 5e-324, -5e-324, 1e-300, 1e300, 10**30,
            -(10**30), 2**63, 2**64 + 1, 10**400]
ALLOWED = [0, -0.0, 1e12, 1e15, -1e15, 1e-12, 1e-9, 1e-6, 1e6, 1e9, 0.5, 3.5, -1, 2, 100]
SWAPS = ["x", "", True, False, [], {}, [1, 2], {"a": 1}, "2027-01", 1.5, 7]


def _leaves(x: Any, path: tuple = ()) -> list[tuple]:
    """Every path into the document (tables, arrays and scalars)."""
    out = [path] if path else []
    if isinstance(x, dict):
        for k, v in x.items():
            out += _leaves(v, path + (k,))
    elif isinstance(x, list):
        for i, v in enumerate(x):
            out += _leaves(v, path + (i,))
    return out


def _get(doc: Any, path: tuple) -> Any:
    for p in path:
        doc = doc[p]
    return doc


@st.composite
def scenario_text(draw, base: str | None = None) -> str:
    """A bundled scenario with one to three mutations: an extreme number, a swapped type, a
    dropped or duplicated key, a huge array, deep nesting (arrays, inline tables, dotted
    tables)."""
    names = sorted(p.name for p in okma_sim.data_path("scenarios").glob("*.toml"))
    # positions and kinds are drawn from a hypothesis-controlled Random: uniform choices (a
    # sampled_from would favour the first keys of the file)
    rnd = draw(st.randoms(use_true_random=False))
    path = okma_sim.data_path("scenarios", base or rnd.choice(names))
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    text_ops, huge = [], False
    for _ in range(rnd.choice([1, 1, 2, 3])):
        op = rnd.choice(["extreme"] * 5 + ["swap", "drop", "huge", "duplicate", "deep"])
        if op == "huge" and huge:  # one huge array an example (copies of copies: no memory)
            op = "extreme"
        huge = huge or op == "huge"
        if op in ("duplicate", "deep"):
            text_ops.append((op, rnd.randrange(10**6), rnd.choice([40, 400, 3000, 100_000])))
            continue
        paths = _leaves(doc)
        if op == "extreme":
            paths = [p for p in paths if isinstance(_get(doc, p), (int, float))
                     and not isinstance(_get(doc, p), bool)]
        where = rnd.choice(paths)
        parent, key = _get(doc, where[:-1]), where[-1]
        if op == "extreme":
            parent[key] = rnd.choice(EXTREMES if rnd.random() < 0.3 else ALLOWED)
        elif op == "swap":
            parent[key] = rnd.choice(SWAPS)
        elif op == "drop":
            del parent[key]
        else:  # huge: an array of n copies
            v = parent[key]
            n = rnd.choice([1000, 100_000]) if not isinstance(v, (list, dict)) else 1000
            parent[key] = (v * (n // max(len(v), 1))) if isinstance(v, list) and v else [v] * n
    try:
        text = tomli_w.dumps(doc)
    except (TypeError, ValueError, RecursionError):
        text = path.read_text(encoding="utf-8")
    for op, seed, n in text_ops:
        text = _duplicate_line(text, seed) if op == "duplicate" else _deep(text, seed, n)
    return text


def _duplicate_line(text: str, seed: int) -> str:
    lines = text.splitlines()
    keyed = [i for i, s in enumerate(lines) if re.match(r"^\s*[\w\"'.-]+\s*=", s)]
    if not keyed:
        return text
    i = keyed[seed % len(keyed)]
    return "\n".join(lines[:i + 1] + [lines[i]] + lines[i + 1:]) + "\n"


def _deep(text: str, seed: int, depth: int) -> str:
    """Nest ``depth`` levels at a key: arrays, inline tables, or a dotted table header."""
    kind = seed % 3
    if kind == 2:
        return text + "\n[" + ".".join(["a"] * depth) + "]\nx = 1\n"
    value = "[" * depth + "1" + "]" * depth if kind == 0 else \
        "{a = " * depth + "1" + "}" * depth
    lines = text.splitlines()
    keyed = [i for i, s in enumerate(lines) if re.match(r"^[\w-]+\s*=", s)]
    i = keyed[seed % len(keyed)] if keyed else 0
    key = lines[i].split("=")[0].strip() if keyed else "deep"
    lines[i] = f"{key} = {value}"
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# CSV mutations
# --------------------------------------------------------------------------------------------
#: cells a loader must refuse (mostly), and valid ones at the extremes of a business
CELLS = ["1e308", "-1e308", "5e-324", "inf", "-inf", "nan", "NaN", "9" * 400, "-5", "", "abc",
         "1,5", "2025-13", "0x10", "1e-300", "Renée", "2027-02", "-1e-9"]
GOOD_CELLS = ["0", "-0.0", "1e12", "1e15", "1e-12", "123456789012.5", "1000000", "1e6", "3.7",
              "2", "40"]


@st.composite
def csv_bytes(draw, base: str) -> bytes:
    """A history or actuals CSV with extreme or wrong cells, shuffled, duplicated or dropped
    rows, a dropped or repeated column, another delimiter, encoding or line ending."""
    rows = list(csv.reader(io.StringIO(okma_sim.data_path(base).read_text(encoding="utf-8"))))
    header, body = rows[0], rows[1:]
    rnd = draw(st.randoms(use_true_random=False))

    def cell() -> str:
        return rnd.choice(CELLS if rnd.random() < 0.4 else GOOD_CELLS)

    for _ in range(rnd.choice([1, 1, 2])):
        op = rnd.choice(["cell"] * 4 + ["column", "shuffle", "shuffle", "duplicate",
                                        "drop_rows", "drop_column", "repeat_column"])
        c = rnd.randrange(len(header))
        if op == "cell" and body:
            body[rnd.randrange(len(body))][c] = cell()
        elif op == "column" and body:  # one value down a whole column
            v = cell()
            for row in body:
                row[c] = v
        elif op == "shuffle":
            rnd.shuffle(body)
        elif op == "duplicate" and body:
            body = body + [list(rnd.choice(body)) for _ in range(rnd.randint(1, 5))]
        elif op == "drop_rows":
            body = body[:rnd.randint(0, 3)]
        elif op == "drop_column" and len(header) > 1:
            header = header[:c] + header[c + 1:]
            body = [r[:c] + r[c + 1:] for r in body]
        elif op == "repeat_column":
            header = header + [header[c]]
            body = [r + [r[c]] for r in body]
    delim = rnd.choice([",", ",", ",", ";", "\t"])
    end = rnd.choice(["\n", "\r\n"])
    out = io.StringIO()
    csv.writer(out, delimiter=delim, lineterminator=end).writerows([header] + body)
    enc = rnd.choice(["utf-8", "utf-8", "utf-8", "utf-8-sig", "utf-16", "latin-1"])
    return out.getvalue().encode(enc, errors="replace")


# --------------------------------------------------------------------------------------------
# the property
# --------------------------------------------------------------------------------------------
_WARNING = re.compile(r"\w*Warning: |warnings\.warn")
#: where in the input: a line, row or column, a key path, a flag (or the whole file: empty)
_LOCATED = re.compile(r"(line|row|column) \d+|[\w\])'\"-]: |--[a-z]|^: file is empty")


def check_run(res: dict, argv: list[str], mutated: set[str], before: dict, after: dict) -> None:
    """Exit 0 or 2, no traceback, no text of Python's warnings on stderr; on 2, one
    ``okma-sim: error:`` line naming a mutated input and where in it, the folder unchanged."""
    where = f"okma-sim {' '.join(argv)}"
    assert not res["timeout"], f"{where}: no answer within the time limit"
    err = res["stderr"]
    assert res["code"] in (0, 2), f"{where}: exit {res['code']}\n{err[-3000:]}"
    assert "Traceback" not in err, f"{where}:\n{err[-3000:]}"
    assert not _WARNING.search(err), f"{where}: warnings on stderr:\n{err[-3000:]}"
    if res["code"] == 0:
        return
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("okma-sim: error: "), f"{where}:\n{err}"
    line = lines[0]
    named = [f for f in mutated if f in line]
    assert named, f"{where}: the error names none of {sorted(mutated)}: {line}"
    rest = line.split(named[0], 1)[1]
    assert _LOCATED.search(rest), f"{where}: the error says not where: {line}"
    assert before == after, f"{where}: the folder changed: {line}"
