"""Shared foundations that any layer may import: errors, months, number formatting, atomic
file writes, seeds and blocks, exact count samplers, bundled-data paths and the version.

This is the one private package: its names are public to okma_sim's own subpackages, not to
users (who get what they need re-exported from ``okma_sim``).
"""
