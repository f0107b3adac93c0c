"""``okma-sim backtest --rolling`` through the real CLI in a subprocess: the scores by horizon
step (``by_step``) and of the agent-months (``agent_months``) in the JSON, and the
per-horizon and agent-months blocks of the text table."""

from __future__ import annotations

import json
from pathlib import Path

from cli_helpers import run_cli

ROOT = Path(__file__).resolve().parents[2]
CRM = ROOT / "data" / "crm_sales_opportunities"
KEYS = {"coverage", "coverage_by_metric", "crps", "baseline_crps", "crps_skill", "n"}


def test_rolling_backtest_json_carries_scores_by_step():
    """Horizon 3 on the CRM export: by_step has steps 1..3, each with the summary keys and
    as many metric-months as the entries of that step; each entry's step is 1..3; the
    existing top-level keys stay, next to coverage_by_metric."""
    proc = run_cli("backtest", CRM, "--format", "opportunities", "--rolling", "--horizon", "3",
                   "--paths", "200", "--seed", "1", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert {"cutoff", "cutoffs", "horizon", "metrics", "coverage", "crps", "baseline_crps",
            "crps_skill", "n", "runs", "coverage_by_metric", "by_step"} <= set(doc)
    assert list(doc["by_step"]) == ["1", "2", "3"]
    steps = [e["step"] for e in doc["metrics"]]
    assert set(steps) == {1, 2, 3}
    for step, sc in doc["by_step"].items():
        assert set(sc) == KEYS
        assert sc["n"] == steps.count(int(step)) == 2 * len(doc["cutoffs"])
        assert set(sc["coverage"]) == {"50", "80", "95"}
        assert set(sc["coverage_by_metric"]) == set(sc["crps_skill"]) == {"revenue", "wins"}
    assert set(doc["coverage_by_metric"]) == {"revenue", "wins"}
    for run in doc["runs"]:
        assert list(run["by_step"]) == ["1", "2", "3"]
        assert all(sc["n"] == 2 for sc in run["by_step"].values())
    # agent-months (--by sales_agent, the default): the team level's summary shapes; the
    # export's 30 agents all work every month of the forecast windows
    am = doc["agent_months"]
    assert set(am) == KEYS | {"level", "by_step"} and am["level"] == "sales_agent"
    assert am["n"] == 2 * 30 * 3 * len(doc["cutoffs"])
    assert list(am["by_step"]) == ["1", "2", "3"]
    for sc in am["by_step"].values():
        assert set(sc) == KEYS and sc["n"] == 2 * 30 * len(doc["cutoffs"])
        assert set(sc["crps_skill"]) == {"revenue", "wins"}
        assert all(0.0 <= v <= 1.0 for v in sc["coverage"].values())
    assert sum(run["agent_months"]["n"] for run in doc["runs"]) == am["n"]


def test_rolling_backtest_table_has_a_block_per_horizon():
    proc = run_cli("backtest", CRM, "--format", "opportunities", "--rolling", "--horizon", "2",
                   "--cutoff", "2017-09", "--paths", "200", "--seed", "1")
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    # cutoffs 2017-09 and 2017-10: two revenue and two wins months at each step
    for head in ("1 month ahead (4 metric-months", "2 months ahead (4 metric-months"):
        assert head in text
    block = text[text.index("1 month ahead"):text.index("2 months ahead")]
    rows = [ln.split()[0] for ln in block.splitlines()[1:]]
    assert rows == ["all", "revenue", "wins"]
    assert "than naive" in block and "/2 (" in block and "/4 (" in block
    # 30 agents, two metrics, two cutoffs, two months ahead
    assert "agent-months (240 scored, one per sales_agent and month worked" in text
