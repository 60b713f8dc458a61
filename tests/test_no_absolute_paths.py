"""No shipped file or doc quotes a folder of the machine it was made on: every git-tracked text
file is free of absolute paths under the machine roots below (model cards and model JSONs,
docs, experiment logs, code). Use a relative path or words instead (``~/.cache/...`` for the
user's cache, ``runs/NAME`` for a run folder)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: An absolute path under a machine root: ``/`` not continuing a word, a relative path, a URL
#: (``://``) or ``~/``, then one of these top folders and another ``/``.
MACHINE_PATH = re.compile(r"(?<![\w.~:/-])/(?:work|root|tmp|home|Users)/")

#: Tests whose inputs are made-up machine paths (they check that such paths are removed).
ALLOWED = {
    "tests/test_no_absolute_paths.py": "this test's own examples",
    "tests/test_training_cards.py": "input of the card's path-shortening test",
    "tests/test_export_policy.py": "inputs of without_machine_paths and the export test",
}


def _tracked_files() -> list[str]:
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the tracked files are unknown")
    return [name for name in out.decode("utf-8").split("\0") if name]


def _machine_paths(text: str) -> list[str]:
    """``LINE: excerpt`` of every machine path in ``text``."""
    hits = []
    for number, line in enumerate(text.splitlines(), start=1):
        for m in MACHINE_PATH.finditer(line):
            hits.append(f"{number}: {line[max(0, m.start() - 30) : m.end() + 40].strip()}")
    return hits


def test_the_pattern_finds_machine_paths_only() -> None:
    found = [
        "audiolrp train /work/campaign/data/x out",
        '"root": "/root/.cache/audiolrp/debian-speech"',
        "-o /tmp/methods",
        "--init-from=/home/me/runs/a/model.json",
        "(/Users/me/x)",
        "/tmp/x at the start of a line",
    ]
    kept = [
        "runs/work/tmp/x",
        "~/.cache/audiolrp",
        "https://example.org/home/index.html",
        "file:///tmp/x is a URL",
        "docs/home/x",
        "/data/TIMIT",
        "a /work without a folder after it",
    ]
    assert all(_machine_paths(s) for s in found), [s for s in found if not _machine_paths(s)]
    assert not any(_machine_paths(s) for s in kept), [s for s in kept if _machine_paths(s)]


def test_no_tracked_text_file_holds_a_machine_path() -> None:
    files = _tracked_files()
    assert "README.md" in files and "pyproject.toml" in files
    offenders: dict[str, list[str]] = {}
    scanned = 0
    for name in files:
        path = ROOT / name
        if name in ALLOWED or not path.is_file():  # deleted in the working tree, or a link
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:  # binary: weights, images
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        scanned += 1
        hits = _machine_paths(text)
        if hits:
            offenders[name] = hits[:5]
    assert scanned > 100
    assert not offenders, "absolute machine paths (use a relative path or words):\n" + "\n".join(
        f"{name}:{hit}" for name, hits in sorted(offenders.items()) for hit in hits
    )
