"""Every subcommand through the real console script: a bad input is one ``error:`` line.

The commands are enumerated from the typer application (``analyze *`` and ``corpus *``
included), so a new command without a row in :data:`BAD_INPUT` fails here. Each runs as
``.venv/bin/audiolrp ...`` in a subprocess (the entry point a user runs, with its real
stderr) with a path that does not exist, and must exit with code 2, print exactly one stderr
line starting with ``error:`` and nothing on stdout, and leave no output folder behind.
Command-line mistakes typer finds itself (unknown option, missing argument, bad value) must
also be one line and exit 2. Two subprocesses run at a time (the machine is shared).
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import typer

from audiolrp.cli import app

MISSING = "/nonexistent-audiolrp-input"
"""A path that does not exist (input file, dataset folder, model, speech corpus)."""

BAD_INPUT: dict[str, list[str]] = {
    "demo": ["--model", f"{MISSING}/model.json", "--out", "{tmp}/out"],
    "explain": [f"{MISSING}/rec.wav", "--out", "{tmp}/out"],
    "locate": [f"{MISSING}/rec.wav", "--out", "{tmp}/out"],
    "simulate": ["{tmp}/out", "--corpus", f"{MISSING}/speech", "--n-train", "1", "--n-val", "0",
                 "--n-test", "0"],
    "train": [f"{MISSING}/data", "{tmp}/out"],
    "evaluate": ["--model", "intensity", "--data", f"{MISSING}/data", "--out", "{tmp}/out"],
    "analyze channels": ["-m", "intensity", "-d", f"{MISSING}/data", "-o", "{tmp}/out"],
    "analyze flip": ["-m", "intensity", "-d", f"{MISSING}/data", "-o", "{tmp}/out"],
    "analyze auralize": ["-m", "intensity", "-a", f"{MISSING}/clip.wav", "-o", "{tmp}/out"],
    "analyze replicate": ["--intensity-model", f"{MISSING}/model.json", "--stages", "channels",
                          "-o", "{tmp}/out"],
    "analyze methods": ["--data", f"{MISSING}/data", "-o", "{tmp}/out"],
    "analyze directions": ["--data", f"{MISSING}/data", "-o", "{tmp}/out"],
    "analyze sources": ["-m", f"{MISSING}/model.json", "-o", "{tmp}/out"],
    "corpus debian": ["--package", "no-such-package", "--out", "{tmp}/out"],
    "corpus describe": [f"{MISSING}/speech"],
    "corpus sample": [f"{MISSING}/speech", "--out", "{tmp}/out/sample.wav"],
}
"""A bad input per command: ``{tmp}`` is a fresh folder; ``{tmp}/out`` must not be left."""

USAGE_ERRORS: list[list[str]] = [
    ["demo", "--no-such-option"],  # unknown option
    ["simulate"],  # missing argument
    ["analyze", "flip", "-m", "intensity"],  # missing required option
    ["demo", "--seed", "-1"],  # out of range
    ["simulate", "{tmp}/out", "--n-train", "abc"],  # not a number
    ["no-such-command"],
    ["analyze", "no-such-analysis"],
]


def subcommands() -> list[str]:
    """Every leaf command of the application, e.g. ``"analyze flip"``."""
    found: list[str] = []

    def walk(command: object, path: list[str]) -> None:
        children = getattr(command, "commands", None)
        if children:
            for name, child in children.items():
                walk(child, [*path, name])
        else:
            found.append(" ".join(path))

    walk(typer.main.get_command(app), [])
    return found


def console_script() -> Path:
    """The installed ``audiolrp`` console script; a failure (not a skip) when it is missing."""
    exe = Path(sys.executable).parent / "audiolrp"
    assert exe.exists(), f"console script {exe} not installed: run `pip install -e .`"
    return exe


def run(args: list[str], tmp: Path) -> subprocess.CompletedProcess[str]:
    """``audiolrp ARGS`` in ``tmp`` (``{tmp}`` in ``args`` replaced), stdin closed."""
    env = {**os.environ, "COLUMNS": "200", "AUDIOLRP_DEBUG": ""}
    return subprocess.run(
        [str(console_script()), *(a.replace("{tmp}", str(tmp)) for a in args)],
        capture_output=True, text=True, timeout=180, cwd=tmp, env=env,
        stdin=subprocess.DEVNULL,
    )


Ran = tuple[list[str], Path, subprocess.CompletedProcess[str]]


def run_all(cases: list[list[str]], tmp_path: Path) -> list[Ran]:
    """Run ``cases`` two at a time, each in its own folder under ``tmp_path``."""
    folders = []
    for i in range(len(cases)):
        folder = tmp_path / f"case{i}"
        folder.mkdir()
        folders.append(folder)
    with ThreadPoolExecutor(max_workers=2) as pool:
        procs = list(pool.map(run, cases, folders))
    return list(zip(cases, folders, procs, strict=True))


def assert_one_error_line(args: list[str], proc: subprocess.CompletedProcess[str]) -> None:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, (args, proc.returncode, proc.stderr[-2000:])
    assert len(lines) == 1 and lines[0].startswith("error: "), (args, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr and proc.stdout == "", (args, proc.stdout[-500:])


def test_every_command_has_a_bad_input_case() -> None:
    commands = subcommands()
    assert "locate" in commands and "analyze flip" in commands and "corpus sample" in commands
    assert sorted(commands) == sorted(BAD_INPUT), "add a row to BAD_INPUT for each command"


@pytest.mark.slow
def test_every_command_bad_input_is_one_error_line(tmp_path: Path) -> None:
    console_script()
    cases = [[*name.split(), *args] for name, args in BAD_INPUT.items()]
    for args, folder, proc in run_all(cases, tmp_path):
        assert_one_error_line(args, proc)
        assert MISSING in proc.stderr or "no-such-package" in proc.stderr, proc.stderr
        assert not (folder / "out").exists(), (args, "left its output folder behind")


def test_usage_errors_are_one_error_line(tmp_path: Path) -> None:
    for args, _, proc in run_all(USAGE_ERRORS, tmp_path):
        assert_one_error_line(args, proc)
        assert "--help" in proc.stderr, proc.stderr  # where to find help


def test_help_exits_0(tmp_path: Path) -> None:
    for args, _, proc in run_all([["--help"], ["analyze", "flip", "--help"]], tmp_path):
        assert proc.returncode == 0 and "Usage" in proc.stdout and proc.stderr == "", args
