"""Tests of :mod:`audiolrp.io` (atomic writes with the usual file permissions)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audiolrp.io import atomic_path, atomic_write_bytes, atomic_write_text


@pytest.fixture(params=[0o022, 0o027, 0o002])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _reference_mode(folder: Path) -> int:
    """Mode a plain ``open(..., "w")`` gives under the current umask."""
    ref = folder / "reference.txt"
    with open(ref, "w") as fh:
        fh.write("x")
    mode = _mode(ref)
    ref.unlink()
    return mode


def _only(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_permissions_match_open(tmp_path: Path, umask: int) -> None:
    ref = _reference_mode(tmp_path)
    assert ref == 0o666 & ~umask
    a = atomic_write_bytes(tmp_path / "a.bin", b"\x00\x01")
    b = atomic_write_text(tmp_path / "b.txt", "héllo")
    with atomic_path(tmp_path / "c.wav", suffix=".wav") as tmp:
        assert tmp.parent == tmp_path and tmp.name.endswith(".wav") and tmp.exists()
        sf.write(tmp, np.zeros(16, np.float32), 16000, subtype="PCM_16")
    for p in (a, b, tmp_path / "c.wav"):
        assert _mode(p) == ref, (p, oct(_mode(p)), oct(ref))
    assert a.read_bytes() == b"\x00\x01"
    assert b.read_text(encoding="utf-8") == "héllo"
    assert sf.info(str(tmp_path / "c.wav")).frames == 16
    assert _only(tmp_path) == ["a.bin", "b.txt", "c.wav"]


def test_creates_missing_folders(tmp_path: Path) -> None:
    target = tmp_path / "x" / "y" / "z.txt"
    atomic_write_text(target, "ok")
    assert target.read_text() == "ok"


def test_overwrite_replaces_content(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    atomic_write_text(target, "first, longer content")
    atomic_write_text(target, "second")
    assert target.read_text() == "second"
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"third")
        assert target.read_text() == "second"  # not visible before the block ends
    assert target.read_text() == "third"
    assert _only(tmp_path) == ["f.txt"]


def test_failure_leaves_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "f.bin"
    atomic_write_bytes(target, b"old")

    class Boom(RuntimeError):
        pass

    with pytest.raises(Boom), atomic_path(target) as tmp:
        tmp.write_bytes(b"partial new content")
        raise Boom
    assert target.read_bytes() == b"old"
    assert _only(tmp_path) == ["f.bin"]

    with pytest.raises(TypeError):
        atomic_write_bytes(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert _only(tmp_path) == ["f.bin"]

    fresh = tmp_path / "never.bin"
    with pytest.raises(Boom), atomic_path(fresh):
        raise Boom
    assert not fresh.exists() and _only(tmp_path) == ["f.bin"]


def test_concurrent_temp_names_differ(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    with atomic_path(target) as t1, atomic_path(target) as t2:
        assert t1 != t2
        t1.write_text("one")
        t2.write_text("two")
    assert target.read_text() == "one"  # the outer block finishes last
    assert _only(tmp_path) == ["f.txt"]


def test_package_writers_use_normal_permissions(tmp_path: Path, umask: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from audiolrp.audio_io import write_wav
    from audiolrp.plots import save_figure
    from audiolrp.report.html import write_atomic

    ref = _reference_mode(tmp_path)
    fig = plt.figure(figsize=(1, 1))
    try:
        files = [
            write_wav(tmp_path / "a.wav", np.zeros((1, 32)), 16000),
            write_atomic(tmp_path / "r.html", "<p>x</p>"),
            save_figure(fig, tmp_path / "f.png", dpi=20),
        ]
    finally:
        plt.close(fig)
    assert {p.name: _mode(p) for p in files} == {p.name: ref for p in files}
    assert _only(tmp_path) == ["a.wav", "f.png", "r.html"]


def test_json_ready_converts_arrays_keys_and_non_finite() -> None:
    import json

    import numpy as np

    from audiolrp.io import json_ready

    obj = {1: np.array([1.0, np.nan]), "t": (np.float32(2.5), float("inf")), "s": "x"}
    out = json_ready(obj)
    assert out == {"1": [1.0, None], "t": [2.5, None], "s": "x"}
    json.dumps(out, allow_nan=False)  # strict JSON
