"""The package version (one place, read by the CLI and the JSON envelope)."""

__version__ = "0.1.0"
