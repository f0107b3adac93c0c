"""The bundled data, installed as ``okma_sim.data``: scenarios, the example actuals and the
synthetic rep-month history (pyproject.toml maps this folder onto that package; read it
through :func:`okma_sim.data_path`). The CRM dataset stays in the repository only."""
