"""Seeds and blocks: the rule that makes one seed give one answer.

Paths are grouped in blocks of :data:`BLOCK_SIZE`; block k draws from child k of
``SeedSequence(seed)`` whatever the chunking, the workers or the executor.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["BLOCK_SIZE", "normalize_seed"]

#: paths per seed block (a documented constant: results depend on it)
BLOCK_SIZE = 2048


def normalize_seed(seed: Any = None, rng: np.random.Generator | None = None) -> int:
    """An int seed from ``seed`` (int, SeedSequence or None) or ``rng``; None draws fresh
    entropy, so every result can report the seed that reproduces it."""
    if seed is not None and rng is not None:
        raise ValueError("pass seed or rng, not both")
    if rng is not None:
        return int(rng.integers(0, 2**63 - 1))
    if seed is None:
        return int(np.random.SeedSequence().entropy % (2**63 - 1))
    if isinstance(seed, np.random.SeedSequence):
        if seed.spawn_key:
            raise ValueError("pass a root SeedSequence (no spawn_key) or an int seed")
        if not isinstance(seed.entropy, (int, np.integer)):
            # a list of ints has no single-int form that would reproduce the run
            raise ValueError(f"'seed' must be a SeedSequence with int entropy, got entropy "
                             f"{seed.entropy!r}")
        return int(seed.entropy)
    if isinstance(seed, (bool, float)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"'seed' must be a non-negative int or a SeedSequence, got {seed!r}")
    return int(seed)
