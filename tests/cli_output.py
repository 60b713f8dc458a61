"""Shared by the CLI tests: what a typer ``CliRunner`` result printed."""

from __future__ import annotations

from typing import Any


def cli_output(result: Any) -> str:
    """stdout + stderr of a CliRunner result (typer versions differ in what .output holds)."""
    text = result.output
    try:
        err = result.stderr
    except (ValueError, AttributeError):
        err = ""
    return text + ("" if err in text else err)
