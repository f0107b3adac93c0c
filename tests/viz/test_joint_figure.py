"""The joint-target heat map: the drawn cells are P(all objectives met) recomputed here from the
verification run's values, the contour is at the confidence, the dot at the joint targets, and
the axes speak in % with readable names."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402

import okma_sim  # noqa: E402
from okma_sim.analysis import joint_targets  # noqa: E402
from okma_sim.viz import joint_heatmap  # noqa: E402


@pytest.fixture(scope="module")
def joint():
    plan = okma_sim.load_plan(okma_sim.case_study_path())
    return joint_targets(plan, confidence=0.75, n_paths=1500, seed=8, progress=False)


def test_heatmap_draws_p_all_over_the_targets_grid(joint):
    n = 13
    ax = joint_heatmap(joint, n=n)
    x, y, _ = joint.grid(n)
    mesh = next(c for c in ax.collections if c.get_gid() == "heatmap")
    drawn = np.asarray(mesh.get_array()).reshape(n, n)
    # independent: on the verification run, the share of runs whose revenue growth reaches
    # x[i] and whose CSAT reaches y[j] (both ">=" objectives; a run without CSAT meets neither)
    v = joint.verification.values
    rev, csat = np.asarray(v["revenue"]), np.asarray(v["csat"])
    with np.errstate(invalid="ignore"):
        expect = np.array([[np.mean((rev >= xi) & (csat >= yj)) for xi in x] for yj in y])
    np.testing.assert_allclose(drawn, expect, atol=1e-12)
    # the cells sit at the grid's targets ('nearest' shading: edges halfway between them)
    edges = mesh.get_coordinates()
    np.testing.assert_allclose(edges[0, 1:-1, 0], (x[:-1] + x[1:]) / 2)
    np.testing.assert_allclose(edges[1:-1, 0, 1], (y[:-1] + y[1:]) / 2)
    # the grid spans the targets each objective meets alone from C - 0.3 to 99.5% of the time
    assert np.mean(rev >= x[0]) >= 0.995 and np.mean(rev >= x[-1]) >= 0.45
    # the joint targets lie on the map, with P(all) = the reported probability there
    dot = next(line for line in ax.lines if line.get_gid() == "joint")
    assert (dot.get_xdata()[0], dot.get_ydata()[0]) == (joint.targets["revenue"],
                                                        joint.targets["csat"])
    at_dot = np.mean((rev >= joint.targets["revenue"]) & (csat >= joint.targets["csat"]))
    assert at_dot == joint.probability
    plt.close(ax.figure)


def test_heatmap_contour_level_and_labels(joint):
    ax = joint_heatmap(joint, n=11)
    cs = next(c for c in ax.collections if c.get_gid() == "contour")
    assert list(cs.levels) == [0.75]
    assert ax.get_xlabel().startswith("Revenue growth") and "(%)" in ax.get_xlabel()
    assert ax.get_ylabel().startswith("CSAT") and "(%)" in ax.get_ylabel()
    assert isinstance(ax.xaxis.get_major_formatter(), PercentFormatter)
    assert isinstance(ax.yaxis.get_major_formatter(), PercentFormatter)
    assert "75%" in ax.get_title()
    bar = ax.figure.axes[-1]
    assert isinstance(bar.yaxis.get_major_formatter(), PercentFormatter)
    assert bar.get_ylabel() == "Chance all objectives are met"
    # the legend sits below the map, outside the data
    box = ax.get_legend().get_window_extent(ax.figure.canvas.get_renderer())
    assert box.y1 < ax.get_window_extent().y0
    plt.close(ax.figure)
