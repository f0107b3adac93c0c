"""Properties of the parameter designs that hold by construction, whatever the seed: each
Latin hypercube replicate puts one point in each of its m strata per dimension, each scrambled
Sobol' replicate of 2^k points does too (a (0, k, d)-net in base 2 is stratified in each
coordinate), the replicates are independent randomisations (none equal, none the unscrambled
sequence), and the repaired correlation matrix keeps its documented eigenvalue floor."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import qmc

from okma_sim.engine._designs import ParameterDesign, nearest_correlation


def _replicates(sampler: str, m: int, r: int, d: int = 3) -> list[np.ndarray]:
    design = ParameterDesign([f"p{i}" for i in range(d)], m * r, np.random.SeedSequence(5),
                             sampler, replicates=r, block_size=2048)
    u = design.uniforms(0, np.random.default_rng(0), m * r)
    idx = design.replicate_index()
    assert np.array_equal(np.bincount(idx), np.full(r, m))
    return [u[idx == k] for k in range(r)]


@pytest.mark.parametrize("sampler", ["lhs", "sobol"])
def test_each_replicate_is_stratified_in_every_dimension(sampler):
    m, r = 16, 4
    reps = _replicates(sampler, m, r)
    for u in reps:
        assert np.all((u > 0) & (u < 1))
        for j in range(u.shape[1]):
            assert sorted(np.floor(u[:, j] * m).astype(int)) == list(range(m))
    # independent randomisations: no two replicates alike, none the plain Sobol' points
    for a in range(r):
        for b in range(a + 1, r):
            assert not np.allclose(reps[a], reps[b])
    plain = qmc.Sobol(3, scramble=False).random(m)
    assert not any(np.allclose(np.sort(u, 0), np.sort(plain, 0), atol=1e-9) for u in reps)


def test_mc_uniforms_are_the_blocks_generator_draws():
    design = ParameterDesign(["a", "b"], 100, np.random.SeedSequence(5), "mc")
    got = design.uniforms(0, np.random.default_rng(9), 100)
    np.testing.assert_array_equal(got, np.random.default_rng(9).random((100, 2)))
    assert design.replicate_index() is None and design.replicates == 1


def test_repair_keeps_the_eigenvalue_floor():
    # Higham's example: the nearest correlation matrix is singular; the repair floors its
    # eigenvalues at eps = 1e-6 before restoring the unit diagonal by D^-1/2 C D^-1/2
    # (docstring). Flooring moves each diagonal entry by at most n eps (n = 3), so the
    # smallest eigenvalue is eps within a relative 1e-5, not zero and not above
    a = np.array([[1.0, 1, 0], [1, 1, 1], [0, 1, 1]])
    c, repaired = nearest_correlation(a)
    low = np.linalg.eigvalsh(c).min()
    assert repaired and low == pytest.approx(1e-6, rel=1e-5), low
    np.testing.assert_array_equal(c, c.T)
