"""Bit-identity harness: dump every number from a git ref and from the working tree, and
compare them exactly.

    .venv/bin/python benchmarks/identity/compare.py [REF]      (default REF: HEAD)

The ref is checked out in a temporary git worktree; ``dump.py`` (always the working tree's
copy) runs once with each tree first on ``PYTHONPATH``. It uses only the public API and the
real CLI, so a refactor that moves modules can be checked against the code before it. Prints
every difference and exits 1 if there is any.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def dump(tree: Path, out: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(tree), PYTHONHASHSEED="0")
    subprocess.run([sys.executable, str(HERE / "dump.py"), str(out)], check=True, env=env,
                   cwd=tree)


def diff(a, b, path: str = "") -> list[str]:
    """Exact differences between two dumps, as 'path: what' lines."""
    if type(a) is not type(b) and not (isinstance(a, np.generic) or isinstance(b, np.generic)):
        return [f"{path}: type {type(a).__name__} != {type(b).__name__}"]
    if isinstance(a, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                out.append(f"{path}/{k}: only in {'ref' if k in a else 'tree'}")
            else:
                out += diff(a[k], b[k], f"{path}/{k}")
        return out
    if isinstance(a, (list, tuple)):
        if len(a) != len(b):
            return [f"{path}: length {len(a)} != {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in diff(x, y, f"{path}[{i}]")]
    if isinstance(a, (pd.DataFrame, pd.Series)):
        try:
            pd.testing.assert_frame_equal(a, b, check_exact=True) if isinstance(
                a, pd.DataFrame) else pd.testing.assert_series_equal(a, b, check_exact=True)
        except AssertionError as exc:
            return [f"{path}: {str(exc).splitlines()[0]}"]
        return []
    if isinstance(a, np.ndarray):
        if a.shape != b.shape or a.dtype != b.dtype:
            return [f"{path}: shape/dtype {a.shape} {a.dtype} != {b.shape} {b.dtype}"]
        same = np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
        return [] if same else [f"{path}: {int(np.sum(a != b))} of {a.size} values differ"]
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return []
    return [] if a == b else [f"{path}: {a!r} != {b!r}"[:400]]


def main(argv: list[str]) -> int:
    ref = argv[0] if argv else "HEAD"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        wt = tmp / "ref"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(wt), ref], check=True,
                       cwd=ROOT)
        try:
            dump(wt, tmp / "ref.pkl")
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(wt)], cwd=ROOT)
        dump(ROOT, tmp / "tree.pkl")
        with open(tmp / "ref.pkl", "rb") as fa, open(tmp / "tree.pkl", "rb") as fb:
            a, b = pickle.load(fa), pickle.load(fb)
    lines = diff(a, b)
    n_sims = len(a["simulations"])
    n_cli = len(a["cli"])
    if lines:
        print(f"DIFFERENT from {ref}: {len(lines)} differences")
        print("\n".join(lines[:200]))
        return 1
    print(f"bit-identical to {ref}: {n_sims} simulations, {len(a['analyses'])} analyses, "
          f"{n_cli} CLI outputs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
