"""Test-suite set-up. The tests mirror the package's layers (tests/engine, tests/inference,
...); this file sits at their root so that pytest puts ``tests/`` on ``sys.path`` and every
folder can import the shared helpers (``cli_helpers``)."""
