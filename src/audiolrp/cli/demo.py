"""`audiolrp demo` subcommand(s)."""

from __future__ import annotations

from audiolrp.cli.app import app  # noqa: F401
