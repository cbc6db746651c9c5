"""The `stdf-duck` command line (entry point `stdf_duck.cli:main`)."""

from __future__ import annotations

from .main import EXIT_CODES, cli, exit_code, main

__all__ = ["EXIT_CODES", "cli", "exit_code", "main"]
