"""User-facing CLI defects: unusable output folders, failed simulate runs, the supported HOA
order range, truncated recordings and the help examples.

Commands are run through :func:`audiolrp.cli.main` (the console-script entry point) or through
typer's ``CliRunner``: both give ``error: ...`` and exit 2 for an
:class:`~audiolrp.errors.AudioLRPError`, since every command runs under the one guard
(:func:`audiolrp.cli.app.guarded`, applied by the top-level command group).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from typer.testing import CliRunner

from audiolrp.cli import app, main
from audiolrp.cli.app import prepare_output_dir
from audiolrp.errors import AudioLRPError
from test_cli_demo import _output

runner = CliRunner()

TINY_SIM = ["--n-train", "1", "--n-val", "0", "--n-test", "0", "--shard-size", "1",
            "--corpus", "noise", "--no-progress"]


def run_main(args: list[str], monkeypatch: pytest.MonkeyPatch,
             capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the console-script entry point with ``args``; ``(exit code, stdout, stderr)``."""
    monkeypatch.setattr(sys, "argv", ["audiolrp", *args])
    with pytest.raises(SystemExit) as exc:
        main()
    captured = capsys.readouterr()
    code = exc.value.code
    return (0 if code is None else int(code)), captured.out, captured.err


def _one_error_line(text: str, needle: str) -> None:
    text = text.strip()
    assert text.startswith("error: ") and needle in text, text
    assert "Traceback" not in text and len(text.splitlines()) == 1, text


@pytest.fixture
def lite_config(tmp_path: Path) -> Path:
    """SceneConfig overrides that make one simulated scene cheap."""
    cfg = tmp_path / "lite.json"
    cfg.write_text(json.dumps({"speech_lead_in_s": 0.2}))
    return cfg


@pytest.fixture(scope="module")
def tiny_intensity_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    from audiolrp.models import build_model, save

    tmp = tmp_path_factory.mktemp("model")
    torch.manual_seed(0)
    save(build_model("intensity", size="tiny"), tmp / "tiny_int", feature="intensity")
    return str(tmp / "tiny_int.json")


# ---------------------------------------------------------------------- prepare_output_dir
def test_prepare_output_dir_creates_and_returns_the_folder(tmp_path: Path) -> None:
    out = prepare_output_dir(tmp_path / "a" / "b")
    assert out == tmp_path / "a" / "b" and out.is_dir()
    assert prepare_output_dir(str(out)) == out  # an existing folder is fine
    assert list(out.iterdir()) == []  # the write test leaves nothing behind


def test_prepare_output_dir_file_in_the_way(tmp_path: Path) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("x")
    with pytest.raises(AudioLRPError, match="taken is an existing file, not a folder") as err:
        prepare_output_dir(blocker)
    assert "pass another --out" in str(err.value)
    with pytest.raises(AudioLRPError, match="taken is a file, not a folder") as err:
        prepare_output_dir(blocker / "sub" / "dir", option="OUT_DIR")
    assert "pass another OUT_DIR" in str(err.value) and "\n" not in str(err.value)


def test_prepare_output_dir_unwritable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(*args: object, **kw: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "mkdir", denied)
    with pytest.raises(AudioLRPError, match=r"cannot create output folder .*Permission denied"):
        prepare_output_dir(tmp_path / "new")
    monkeypatch.undo()
    import tempfile

    monkeypatch.setattr(tempfile, "TemporaryFile", denied)
    with pytest.raises(AudioLRPError, match="is not writable .*make it writable"):
        prepare_output_dir(tmp_path)


def _refuse_writes_under(folder: Path, code: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the OS refuse, with ``errno`` ``code``, to create anything inside ``folder``: the
    system calls (``os.open`` of a new file, ``os.mkdir``) fail as on a read-only folder
    (``EACCES``, which chmod cannot give root), a read-only file system (``EROFS``) or a full
    disk (``ENOSPC``), whatever the library calls above them."""
    import errno as errno_mod

    real_open, real_mkdir = os.open, os.mkdir
    inside = str(folder.resolve())

    def refused(path: object) -> bool:
        p = os.path.abspath(os.fspath(path))
        return p == inside or p.startswith(inside + os.sep)

    def fake_open(path, flags, *args, **kw):
        if flags & (os.O_CREAT | os.O_WRONLY | os.O_RDWR) and refused(path):
            raise OSError(code, os.strerror(code), os.fspath(path))
        return real_open(path, flags, *args, **kw)

    def fake_mkdir(path, *args, **kw):
        if refused(path):
            raise OSError(code, os.strerror(code), os.fspath(path))
        return real_mkdir(path, *args, **kw)

    assert code in (errno_mod.EACCES, errno_mod.EROFS, errno_mod.ENOSPC)
    monkeypatch.setattr(os, "open", fake_open)
    monkeypatch.setattr(os, "mkdir", fake_mkdir)


@pytest.mark.parametrize("code", ["EACCES", "EROFS", "ENOSPC"])
def test_prepare_output_dir_read_only_or_full_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: str
) -> None:
    """A folder the OS refuses to write into (read-only, read-only file system, full disk):
    one line naming the folder and the OS's reason, nothing left behind. Runs as root too
    (the refusal comes from the patched system calls, not from permission bits)."""
    import errno as errno_mod

    number = getattr(errno_mod, code)
    ro = tmp_path / "ro"
    ro.mkdir()
    _refuse_writes_under(ro, number, monkeypatch)
    reason = os.strerror(number).lower()
    for target in (ro, ro / "sub" / "deeper"):
        with pytest.raises(AudioLRPError) as err:
            prepare_output_dir(target)
        msg = str(err.value)
        # one line: the folder, the OS's reason (or the full disk in words), the fix
        assert str(target) in msg and "\n" not in msg, msg
        assert reason in msg.lower() or (code == "ENOSPC" and "no space left" in msg.lower())
        assert "--out" in msg
    monkeypatch.undo()
    assert list(ro.iterdir()) == []  # no half-made folder, no write-test file


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="permission bits do not stop root: the test above covers root")
def test_prepare_output_dir_read_only_folder_by_permissions(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(AudioLRPError, match="not writable|cannot create"):
            prepare_output_dir(ro)
        with pytest.raises(AudioLRPError, match="cannot create"):
            prepare_output_dir(ro / "sub")
    finally:
        ro.chmod(0o755)


# ------------------------------------------------- bad output folders fail first, one line
def test_simulate_output_is_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    import audiolrp.data.datasets as datasets

    def never(*args: object, **kw: object) -> None:
        raise AssertionError("the dataset must not be generated")

    monkeypatch.setattr(datasets, "generate_dataset", never)
    blocker = tmp_path / "taken"
    blocker.write_text("x")
    for out in (blocker, blocker / "data"):
        code, stdout, stderr = run_main(["simulate", str(out), *TINY_SIM], monkeypatch, capsys)
        assert code == 2 and stdout == ""
        _one_error_line(stderr, "not a folder: pass another OUT_DIR")


def test_demo_output_is_a_file_fails_before_computing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import audiolrp.cli.demo as pages

    def never(*args: object, **kw: object) -> None:
        raise AssertionError("the demo must not run")

    monkeypatch.setattr(pages, "run_demo", never)
    blocker = tmp_path / "taken"
    blocker.write_text("x")
    res = runner.invoke(app, ["demo", "--out", str(blocker / "report"), "--quiet"])
    assert res.exit_code == 2, _output(res)
    _one_error_line(_output(res), "taken is a file, not a folder: pass another --out")


def test_explain_output_is_a_file_fails_before_computing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import audiolrp.cli.explain as pages

    def never(*args: object, **kw: object) -> None:
        raise AssertionError("the recording must not be explained")

    monkeypatch.setattr(pages, "run_recording", never)
    rec = tmp_path / "rec.wav"
    sf.write(rec, np.zeros((16000, 4)), 16000, subtype="FLOAT")
    (tmp_path / "rec-audiolrp").write_text("x")  # the default output folder is a file
    monkeypatch.chdir(tmp_path)
    for extra in ([], ["--out", str(tmp_path / "rec-audiolrp" / "sub")]):
        res = runner.invoke(app, ["explain", str(rec), "--quiet", *extra])
        assert res.exit_code == 2, _output(res)
        _one_error_line(_output(res), "not a folder: pass another --out")


@pytest.mark.parametrize(
    "args",
    [
        ["channels", "-m", "x", "-d", "."],
        ["flip", "-m", "x", "-d", "."],
        ["auralize", "-m", "x", "-a", "clip.wav"],
        ["replicate", "--stages", "channels"],
    ],
)
def test_analyze_output_is_a_file_fails_before_computing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    import audiolrp.app.replication as replication
    from audiolrp.cli import analyze

    def never(*a: object, **kw: object) -> None:
        raise AssertionError("nothing must be computed")

    monkeypatch.setattr(analyze, "_load_model", never)
    monkeypatch.setattr(replication, "replicate", never)
    blocker = tmp_path / "taken"
    blocker.write_text("x")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "clip.wav").write_bytes(b"")  # inputs are checked first: this one exists
    res = runner.invoke(app, ["analyze", *args, "-o", str(blocker)])
    assert res.exit_code == 2, _output(res)
    _one_error_line(_output(res), "taken is an existing file, not a folder: pass another --out")


# ------------------------------------------------------------ failed simulate leaves no spec
@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        (["--order", "7"], "--order 7 is not supported"),
        (["--order", "1", "--corpus", "/does/not/exist"], "/does/not/exist does not exist"),
    ],
)
def test_failed_simulate_does_not_block_the_corrected_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    lite_config: Path, bad: list[str], needle: str,
) -> None:
    out = tmp_path / "data"
    base = ["simulate", str(out), *TINY_SIM, "--config", str(lite_config)]
    code, _, stderr = run_main([*base, *bad], monkeypatch, capsys)
    assert code == 2
    _one_error_line(stderr, needle)
    assert not (out / "dataset_spec.json").exists() and not out.exists()
    code, stdout, stderr = run_main([*base, "--order", "1", "--json"], monkeypatch, capsys)
    assert code == 0, stderr
    summary = json.loads(stdout)
    assert summary["order"] == 1 and summary["shards_written"] == 1
    assert (out / "manifest.json").is_file()


def test_simulate_failing_while_generating_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    lite_config: Path,
) -> None:
    import audiolrp.data.shards as shards  # the owner: generate_dataset calls it there

    def broken(*args: object, **kw: object) -> None:
        raise AudioLRPError("corpus has no usable speech in split 'train'")

    monkeypatch.setattr(shards, "generate_shard", broken)
    out = tmp_path / "deep" / "data"
    args = ["simulate", str(out), *TINY_SIM, "--order", "1", "--config", str(lite_config)]
    code, _, stderr = run_main(args, monkeypatch, capsys)
    assert code == 2
    _one_error_line(stderr, "no usable speech")
    assert not (tmp_path / "deep").exists()  # spec and the folders this run created are gone
    existing = tmp_path / "mine"
    existing.mkdir()
    code, _, _ = run_main(["simulate", str(existing), *args[2:]], monkeypatch, capsys)
    assert code == 2 and existing.is_dir()  # a folder the user made is kept


# ------------------------------------------------------------------- supported order range
@pytest.mark.parametrize("order", ["-1", "6", "10"])
def test_simulate_rejects_orders_outside_0_to_5(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    order: str,
) -> None:
    out = tmp_path / "data"
    code, stdout, stderr = run_main(["simulate", str(out), *TINY_SIM, "--order", order],
                                    monkeypatch, capsys)
    assert code == 2 and stdout == ""
    _one_error_line(stderr, f"--order {order} is not supported: simulated scenes have HOA "
                            "order 0..5")
    assert "pass an order in 0..5" in stderr
    assert not out.exists()  # validated before anything was created


@pytest.mark.slow
@pytest.mark.parametrize("order", [0, 5])
def test_simulate_works_at_both_ends_of_the_order_range(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    lite_config: Path, order: int,
) -> None:
    import h5py

    out = tmp_path / f"order{order}"
    code, stdout, stderr = run_main(
        ["simulate", str(out), *TINY_SIM, "--order", str(order), "--config", str(lite_config),
         "--json"], monkeypatch, capsys)
    assert code == 0, stderr
    assert json.loads(stdout)["order"] == order
    with h5py.File(out / "train-00000.h5", "r") as f:
        assert int(f.attrs["order"]) == order


def test_simulate_help_states_the_order_range() -> None:
    res = runner.invoke(app, ["simulate", "--help"], terminal_width=200)
    assert res.exit_code == 0
    assert "0 to 5" in res.stdout


# ----------------------------------------------------------------- truncated recordings
def test_explain_truncated_wav_is_an_error(tmp_path: Path, tiny_intensity_model: str) -> None:
    rng = np.random.default_rng(0)
    full = tmp_path / "full.wav"
    sf.write(full, 0.1 * rng.standard_normal((32000, 4)), 16000, subtype="PCM_16")
    half = tmp_path / "half.wav"
    data = full.read_bytes()
    half.write_bytes(data[: len(data) // 2])
    res = runner.invoke(app, ["explain", str(half), "--model", tiny_intensity_model,
                              "--quiet", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2, _output(res)
    _one_error_line(_output(res), "half.wav is truncated: its header announces 2.00 s but "
                                  "the file holds only 1.00 s of audio")
    assert not (tmp_path / "o").exists()  # the empty output folder is removed again


# -------------------------------------------------------------------------- help examples
@pytest.mark.parametrize(
    "cmd",
    [
        ["simulate"],
        ["analyze", "channels"],
        ["analyze", "flip"],
        ["analyze", "auralize"],
        ["analyze", "replicate"],
        ["corpus", "debian"],
        ["corpus", "describe"],
        ["corpus", "sample"],
    ],
)
def test_help_has_examples(cmd: list[str]) -> None:
    res = runner.invoke(app, [*cmd, "--help"], terminal_width=200)
    assert res.exit_code == 0 and "Examples:" in res.stdout
    prefix = f"audiolrp {' '.join(cmd)} "
    # an example line, not the "Usage: audiolrp ..." line
    examples = [ln for ln in res.stdout.splitlines() if ln.strip(" │").startswith(prefix)]
    assert examples, res.stdout


@pytest.mark.parametrize(
    "cmd",
    [
        ["analyze", "channels"],
        ["analyze", "flip"],
        ["analyze", "auralize"],
        ["analyze", "replicate"],
        ["corpus", "debian"],
        ["corpus", "describe"],
        ["corpus", "sample"],
        ["simulate"],
        ["demo"],
        ["explain"],
    ],
)
def test_every_command_has_json(cmd: list[str]) -> None:
    res = runner.invoke(app, [*cmd, "--help"], terminal_width=200)
    assert res.exit_code == 0 and "--json" in res.stdout


# ------------------------------------------- full disk, Ctrl-C, broken pipe, progress (issue 22)
def test_simulate_full_disk_is_one_line_before_hdf5_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    lite_config: Path,
) -> None:
    """A shard that does not fit is refused before HDF5 writes it (h5py cannot recover from a
    full disk: the process crashed at exit, code 139): one line saying how much to free, exit
    2, the new dataset folder removed."""
    import shutil as shutil_module

    import audiolrp.data.shards as shards

    usage = shutil_module.disk_usage(tmp_path)
    monkeypatch.setattr(shards.shutil, "disk_usage",
                        lambda p: usage._replace(free=1000))
    out = tmp_path / "data"
    args = ["simulate", str(out), *TINY_SIM, "--order", "4", "--config", str(lite_config)]
    code, stdout, stderr = run_main(args, monkeypatch, capsys)
    assert code == 2 and stdout == ""
    _one_error_line(stderr, f"no space left on the device of {out}: free ")
    assert "MB or pass another OUT_DIR" in stderr
    assert not out.exists()


def test_write_audio_on_a_full_disk_raises_enospc_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Audio goes to disk through :mod:`audiolrp.io`: a full disk is ``OSError(ENOSPC)`` (the
    guard's one line), not libsndfile's ``System error.``, and no file or temporary is left."""
    import errno

    import audiolrp.io as aio
    from audiolrp.audio_io import write_audio

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(aio.os, "fsync", full)
    with pytest.raises(OSError) as err:
        write_audio(tmp_path / "a.wav", np.zeros((4, 1600), np.float32), 16000)
    assert err.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []


def _tmpfs(path: Path, size: str) -> bool:
    """Mount a small tmpfs at ``path`` (root only); whether it worked."""
    import subprocess

    if os.name != "posix" or os.geteuid() != 0:
        return False
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True)
    return done.returncode == 0


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_simulate_on_a_real_full_disk_is_one_line_not_a_crash(
    tmp_path: Path, workers: str
) -> None:
    """The user's case: ``simulate --order 4`` into a 3 MB tmpfs crashed (exit 139) and, with
    workers, printed dozens of HDF5 tracebacks. Now: one line, exit 2, nothing kept. Needs
    root to mount the tmpfs (skipped otherwise; the monkeypatched test above runs anywhere)."""
    import subprocess

    disk = tmp_path / "full"
    if not _tmpfs(disk, "3m"):
        pytest.skip("mounting a tmpfs needs root")
    try:
        out = disk / "data"
        done = subprocess.run(
            [str(Path(sys.executable).parent / "audiolrp"), "simulate", str(out), "--order", "4",
             "--n-train", "8", "--n-val", "0", "--n-test", "0", "--shard-size", "2",
             "--corpus", "noise", "--workers", workers, "--no-progress"],
            capture_output=True, text=True, timeout=300,
        )
        assert done.returncode == 2, done.stderr
        _one_error_line(done.stderr, f"no space left on the device of {out}")
        assert list(disk.iterdir()) == []
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (Linux ``/proc``; empty elsewhere)."""
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def _ignores_sigint(pid: int) -> bool:
    """Whether process ``pid`` ignores SIGINT (``SigIgn`` of ``/proc/PID/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            return bool(int(line.split()[1], 16) & (1 << (2 - 1)))  # SIGINT is signal 2
    return False


@pytest.mark.slow
@pytest.mark.parametrize("when", ["workers starting", "first shard written"])
def test_simulate_ctrl_c_with_workers_stops_at_once_silently_and_resumes(
    tmp_path: Path, when: str,
) -> None:
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it) during
    ``simulate --workers 2``, while the workers start (they printed ``KeyboardInterrupt``
    tracebacks from their imports) or after the first shard (the rest used to be written
    first): exit 130 within 2 s, one ``interrupted:`` line and no traceback, no temporary file
    kept; the same command then resumes and finishes."""
    import signal
    import subprocess
    import time

    if when == "workers starting" and not Path("/proc/self/stat").exists():
        pytest.skip("needs /proc to see the worker processes start")
    out = tmp_path / "data"
    cmd = [str(Path(sys.executable).parent / "audiolrp"), "simulate", str(out), "--order", "1",
           "--n-train", "16", "--n-val", "0", "--n-test", "0", "--shard-size", "2",
           "--corpus", "noise", "--workers", "2", "--no-progress"]
    # Ctrl-C's default disposition in the command, as in a terminal: a test run started in the
    # background by a non-interactive shell (`nohup make test &`) inherits SIGINT ignored, and
    # Python then keeps ignoring it (a user's `nohup audiolrp simulate ... &` wants exactly that)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        t0 = time.monotonic()
        while proc.poll() is None and time.monotonic() - t0 < 240:
            if (list(out.glob("*.h5")) if when == "first shard written"
                    else len(_children(proc.pid)) >= 3):  # 2 workers + resource tracker
                break
            time.sleep(0.02)
        if when == "workers starting":
            time.sleep(1.0)  # the workers are importing numpy and torch (seconds)
            ignoring = [_ignores_sigint(k) for k in _children(proc.pid)
                        if b"spawn_main" in Path(f"/proc/{k}/cmdline").read_bytes()]
            assert ignoring and all(ignoring)  # from their first instruction, not after imports
        assert proc.poll() is None, proc.communicate()
        t_signal = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
        seconds = time.monotonic() - t_signal
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, stderr
    assert seconds < 2.0, f"took {seconds:.1f} s to stop"
    assert stdout == ""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("interrupted: "), stderr
    assert "shards kept; rerun the same command to resume" in lines[0]
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    kept = sorted(p.name for p in out.glob("*.h5"))
    assert len(kept) < 8
    assert not list(out.glob(".*.tmp"))  # no half-written shard of a terminated worker
    if when == "workers starting":
        return
    assert kept
    done = subprocess.run([*cmd, "--json"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["shards_kept"] >= len(kept) and summary["shards_total"] == 8
    assert (out / "manifest.json").is_file()


def test_a_closed_pipe_is_quiet(tmp_path: Path) -> None:
    """``audiolrp ... | head`` (the reader goes away): no ``internal error:
    BrokenPipeError``, nothing on stderr, exit 141 (128 + SIGPIPE, as git's), for a command's
    output and for ``--help`` alike."""
    import subprocess

    exe = str(Path(sys.executable).parent / "audiolrp")
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first byte
    try:
        for args in (["simulate", "--help"], ["--version"],
                     ["simulate", str(tmp_path / "d"), *TINY_SIM, "--order", "0", "--json"]):
            done = subprocess.run([exe, *args], stdout=write, stderr=subprocess.PIPE,
                                  text=True, timeout=300)
            assert (done.returncode, done.stderr) == (141, ""), args
    finally:
        os.close(write)


def test_progress_bar_ends_at_100_percent(capsys: pytest.CaptureFixture[str]) -> None:
    """``explain``'s bar ended at 89 % (8/9): the last update came within tqdm's refresh
    interval and the bar was cleared unseen. It now always shows n/n before it goes."""
    import time

    from audiolrp.progress import progress_bar

    update = progress_bar(9, True)
    time.sleep(0.15)
    update(8)  # the first batch is slow and shown at 8/9 ...
    update(1)  # ... the last one quick, within the refresh interval
    err = capsys.readouterr().err
    assert "9/9" in err and "100%" in err
