"""The CLI's one policy (:mod:`audiolrp.cli.app`): every command runs under the same guard
(user errors, full disk, Ctrl-C, bugs), prints ``--json`` through one printer, validates
before it writes, and names its options the same way.

Commands run in-process through the console-script entry point :func:`audiolrp.cli.main`
(the subprocess view of every command is ``tests/test_cli_every_command.py``).
"""

from __future__ import annotations

import errno
import json
import os
import sys
from pathlib import Path

import pytest

from audiolrp.cli import main
from audiolrp.cli.app import MODEL_HELP, SHIPPED_MODELS, SHIPPED_MULTISOURCE_MODELS, print_json


def run_main(args: list[str], monkeypatch: pytest.MonkeyPatch,
             capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the console-script entry point with ``args``; ``(exit code, stdout, stderr)``."""
    monkeypatch.setattr(sys, "argv", ["audiolrp", *args])
    with pytest.raises(SystemExit) as exc:
        main()
    captured = capsys.readouterr()
    code = exc.value.code
    return (0 if code is None else int(code)), captured.out, captured.err


def one_line(stderr: str, start: str = "error: ") -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(start), stderr
    return lines[0]


def fake_demo(failure: BaseException):  # noqa: ANN201
    """A ``run_demo`` that writes part of its output, then fails with ``failure``."""

    def run_demo(out_dir: Path, **kw: object) -> dict:
        (Path(out_dir) / "fig.png").write_bytes(b"png")
        (Path(out_dir) / "sub").mkdir(exist_ok=True)
        raise failure

    return run_demo


# ------------------------------------------------------------------------------ the guard
@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_full_or_read_only_disk_is_one_line_and_removes_the_half_written_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    code: int,
) -> None:
    import audiolrp.cli.demo as pages

    out = tmp_path / "new" / "demo"
    err = OSError(code, os.strerror(code))  # no file name, as a failed write() gives
    monkeypatch.setattr(pages, "run_demo", fake_demo(err))
    rc, stdout, stderr = run_main(["demo", "--out", str(out), "--quiet"], monkeypatch, capsys)
    line = one_line(stderr)
    assert rc == 2 and stdout == "" and str(out) in line and "pass another --out" in line
    expected = {errno.ENOSPC: "no space left on the device of", errno.EROFS: "read-only file "
                "system", errno.EACCES: "permission denied writing"}[code]
    assert expected in line, line
    assert not (tmp_path / "new").exists()  # everything this run created is gone

    mine = tmp_path / "mine"  # a folder the user made: kept, with what was in it
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    rc, _, stderr = run_main(["demo", "--out", str(mine), "--quiet"], monkeypatch, capsys)
    assert rc == 2 and (mine / "notes.txt").read_text() == "keep"


def test_disk_full_named_only_in_the_message_is_recognised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """h5py reports a full disk as an OSError whose errno is only in the message, wrapped in
    another exception."""
    import audiolrp.cli.demo as pages

    inner = OSError("Can't write data (file write failed: errno = 28, error message = 'No "
                    "space left on device')")
    try:
        raise RuntimeError("shard failed") from inner
    except RuntimeError as outer:
        wrapped = outer
    monkeypatch.setattr(pages, "run_demo", fake_demo(wrapped))
    out = tmp_path / "o"
    rc, _, stderr = run_main(["demo", "--out", str(out), "--quiet"], monkeypatch, capsys)
    assert rc == 2 and "no space left" in one_line(stderr) and not out.exists()


def test_full_disk_keeps_a_resumable_training_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    import audiolrp.training as training
    from audiolrp.training.checkpoints import checkpoint_dir

    def train(data: str, out: Path, config: object, **kw: object) -> None:
        checkpoint_dir(Path(out)).mkdir(parents=True)
        (checkpoint_dir(Path(out)) / "latest.json").write_text("{}")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(Path(out) / "log.csv"))

    monkeypatch.setattr(training, "train", train)
    run = tmp_path / "run"
    rc, _, stderr = run_main(["train", str(tmp_path), str(run)], monkeypatch, capsys)
    line = one_line(stderr)
    assert rc == 2 and "no space left" in line and "rerun with --resume" in line
    assert (checkpoint_dir(run) / "latest.json").exists()  # the checkpoint survives


def test_bugs_are_one_internal_error_line_exit_1_traceback_on_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    import audiolrp.cli.demo as pages

    monkeypatch.setattr(pages, "run_demo", fake_demo(ZeroDivisionError("division by zero")))
    out = tmp_path / "o"
    monkeypatch.delenv("AUDIOLRP_DEBUG", raising=False)
    rc, _, stderr = run_main(["demo", "--out", str(out), "--quiet"], monkeypatch, capsys)
    assert rc == 1
    assert one_line(stderr, "internal error: ZeroDivisionError: division by zero")
    monkeypatch.setenv("AUDIOLRP_DEBUG", "1")
    monkeypatch.setattr(sys, "argv", ["audiolrp", "demo", "--out", str(out), "--quiet"])
    with pytest.raises(ZeroDivisionError):
        main()


def test_ctrl_c_is_silent_exit_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    import audiolrp.simulation.speech as speech

    def interrupted(*a: object, **kw: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(speech, "open_corpus", interrupted)
    rc, stdout, stderr = run_main(["corpus", "describe"], monkeypatch, capsys)
    assert (rc, stdout, stderr) == (130, "", "")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["demo", "--bogus"], "No such option: --bogus"),
        (["simulate"], "Missing argument"),
        (["demo", "--seed", "-1"], "--seed"),
        (["simulate", "x", "--n-train", "abc"], "--n-train"),
        (["analyze", "channels", "-m", "intensity"], "--data"),
    ],
)
def test_usage_errors_are_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    args: list[str], needle: str,
) -> None:
    rc, stdout, stderr = run_main(args, monkeypatch, capsys)
    line = one_line(stderr)
    assert rc == 2 and stdout == "" and needle in line and "--help" in line


def test_help_and_version_exit_0(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    for args in (["--help"], ["analyze", "--help"], ["corpus", "sample", "--help"]):
        rc, stdout, _ = run_main(args, monkeypatch, capsys)
        assert rc == 0 and "Usage" in stdout
    rc, stdout, _ = run_main(["--version"], monkeypatch, capsys)
    assert rc == 0 and stdout.startswith("audiolrp ")


# ------------------------------------------------------------------------ the one printer
def test_print_json_is_strict_with_nan_as_null(capsys: pytest.CaptureFixture[str]) -> None:
    import numpy as np

    print_json({"a": float("nan"), "b": np.float32(1.5), "c": np.array([1.0, np.inf]),
                "p": Path("x") / "y", "é": "ü"})
    text = capsys.readouterr().out
    assert json.loads(text) == {"a": None, "b": 1.5, "c": [1.0, None], "p": "x/y", "é": "ü"}
    assert "NaN" not in text and text.endswith("\n")


def test_no_command_prints_json_its_own_way() -> None:
    cli = Path(__file__).parents[1] / "src" / "audiolrp" / "cli"
    for module in cli.glob("*.py"):
        text = module.read_text()
        if module.name != "app.py":
            assert "json.dumps" not in text and "def _echo_json" not in text, module.name
            assert "def print_json" not in text and "def run_guarded" not in text, module.name


# ------------------------------------------------------------------ validation before work
@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--n-train", "0", "--n-val", "0", "--n-test", "0"], "nothing to simulate"),
        (["--workers", "0"], "--workers must be >= 1"),
    ],
)
def test_simulate_refuses_nothing_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    args: list[str], needle: str,
) -> None:
    out = tmp_path / "data"
    rc, _, stderr = run_main(["simulate", str(out), *args], monkeypatch, capsys)
    assert rc == 2 and needle in one_line(stderr) and not out.exists()


def test_resume_into_a_folder_without_a_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    run = tmp_path / "fresh"
    rc, _, stderr = run_main(["train", str(tmp_path), str(run), "--resume"], monkeypatch, capsys)
    line = one_line(stderr)
    assert rc == 2 and "holds no training run" in line and "drop --resume" in line
    assert not run.exists()


def test_demo_refuses_a_foreign_report_unless_forced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    import audiolrp.cli.demo as pages

    calls: list[Path] = []

    def run_demo(out_dir: Path, **kw: object) -> dict:
        calls.append(Path(out_dir))
        (Path(out_dir) / "report.html").write_text("<title>audiolrp demo: x</title>")
        return {"json": True}

    monkeypatch.setattr(pages, "run_demo", run_demo)
    out = tmp_path / "site"
    out.mkdir()
    (out / "report.html").write_text("<html><title>My own page</title></html>")
    rc, _, stderr = run_main(["demo", "--out", str(out), "--json"], monkeypatch, capsys)
    line = one_line(stderr)
    assert rc == 2 and "not written by audiolrp" in line and "--force" in line and not calls
    assert "My own page" in (out / "report.html").read_text()
    rc, stdout, _ = run_main(["demo", "--out", str(out), "--json", "--force"], monkeypatch,
                             capsys)
    assert rc == 0 and json.loads(stdout) == {"json": True}
    # audiolrp's own report is replaced without --force (rerunning the demo works)
    rc, _, _ = run_main(["demo", "--out", str(out), "--json"], monkeypatch, capsys)
    assert rc == 0 and len(calls) == 2


def test_demo_rt60_zero_is_rejected_and_help_is_honest(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    rc, _, stderr = run_main(["demo", "--rt60-s", "0"], monkeypatch, capsys)
    assert rc == 2 and "--rt60-s 0" in one_line(stderr)
    monkeypatch.setenv("COLUMNS", "200")
    _, stdout, _ = run_main(["demo", "--help"], monkeypatch, capsys)
    assert "x>=0.0" not in stdout and "(> 0)" in stdout


# ----------------------------------------------------------------------------- help texts
def test_model_help_lists_every_shipped_model(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    from audiolrp.models import list_models

    assert sorted(SHIPPED_MODELS) == sorted(list_models())
    assert sorted(SHIPPED_MULTISOURCE_MODELS) == sorted(list_models("multi"))
    monkeypatch.setenv("COLUMNS", "250")
    for cmd in (["demo"], ["explain"], ["locate"], ["evaluate"], ["analyze", "channels"],
                ["analyze", "flip"], ["analyze", "auralize"], ["analyze", "methods"],
                ["analyze", "directions"]):
        _, stdout, _ = run_main([*cmd, "--help"], monkeypatch, capsys)
        flat = " ".join(stdout.replace("│", " ").split())
        assert " ".join(MODEL_HELP.split()) in flat, cmd


def test_help_wording(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
                      ) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    _, stdout, _ = run_main(["evaluate", "--help"], monkeypatch, capsys)
    assert "%%" not in stdout and "30-100 % of the noise power" in " ".join(stdout.split())
    _, stdout, _ = run_main(["analyze", "--help"], monkeypatch, capsys)
    for name in ("channels", "flip", "auralize", "replicate", "methods", "directions"):
        assert f"{name} (" in " ".join(stdout.replace("│", " ").split()), name


@pytest.mark.parametrize("cmd", ["channels", "flip", "methods", "directions"])
def test_n_examples_everywhere(cmd: str, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    _, stdout, _ = run_main(["analyze", cmd, "--help"], monkeypatch, capsys)
    assert "--n-examples" in stdout and "--max-examples" not in stdout


def test_max_examples_is_a_hidden_alias(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    rc, _, stderr = run_main(["analyze", "flip", "-m", "intensity", "-d", str(tmp_path),
                              "--max-examples", "0"], monkeypatch, capsys)
    assert rc == 2 and "--n-examples must be >= 1, got 0" in one_line(stderr)


def test_corpus_debian_says_when_it_is_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    import audiolrp.simulation.speech as speech

    def build(folder: Path, packages: tuple, keep_debs: bool, log) -> dict:  # noqa: ANN001
        for p in packages:
            log(f"{p}: already converted")
        return {"dir": str(folder), "files": 6326, "hours": 5.5, "speakers": 9}

    monkeypatch.setattr(speech, "build_debian_corpus", build)
    rc, stdout, stderr = run_main(["corpus", "debian", "--out", str(tmp_path)], monkeypatch,
                                  capsys)
    assert rc == 0 and stdout.startswith("already built: 6326 files") and "wrote" not in stdout
    assert "already converted" in stderr  # progress on stderr
    rc, stdout, _ = run_main(["corpus", "debian", "--out", str(tmp_path), "--json"], monkeypatch,
                             capsys)
    assert json.loads(stdout)["cached"] is True


# ------------------------------------------------------------------------------- progress
@pytest.mark.slow
def test_train_reports_its_first_epoch_when_stderr_is_no_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """A background run (stderr a file or pipe: no bar) still shows the first epoch moving."""
    lite = tmp_path / "lite.json"
    lite.write_text(json.dumps({"speech_lead_in_s": 0.2}))
    data, run = tmp_path / "data", tmp_path / "run"
    rc, _, stderr = run_main(["simulate", str(data), "--n-train", "4", "--n-val", "2",
                              "--n-test", "0", "--shard-size", "4", "--corpus", "noise",
                              "--order", "1", "--config", str(lite), "--no-progress"],
                             monkeypatch, capsys)
    assert rc == 0, stderr
    rc, _, stderr = run_main(["train", str(data), str(run), "--feature", "intensity",
                              "--model-size", "tiny", "--epochs", "1", "--batch-size", "2"],
                             monkeypatch, capsys)
    assert rc == 0, stderr
    assert "epoch 1/1: batch 1/2, train loss" in stderr and "epoch 1/1: batch 2/2" in stderr
