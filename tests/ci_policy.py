"""What a test does when this machine lacks something it needs (the Debian speech corpus,
Chromium, selenium, the installed console script): skip on a developer machine, fail in CI
(``CI`` set, as ``.ci/run`` sets it after installing everything), so that a CI run can never
pass by skipping."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    """Whether the tests run in CI (``CI`` set to anything but empty, ``0`` or ``false``)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false")


def skip_or_fail(reason: str) -> NoReturn:
    """Skip the test with ``reason`` locally; fail it in CI."""
    if in_ci():
        pytest.fail(f"cannot run in CI: {reason}")
    pytest.skip(reason)


def need_debian_corpus(what: str = "this test") -> None:
    """Skip (locally) or fail (CI) unless the Debian speech corpus is built."""
    from audiolrp.simulation.speech import default_debian_dir

    if not (default_debian_dir() / "MANIFEST.tsv").is_file():
        skip_or_fail(f"{what} needs the Debian corpus: run `audiolrp corpus debian`")
