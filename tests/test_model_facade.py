"""The model façade (models.LoadedModel): level invariance of every shipped model, digital
silence, the Prediction API, the model file entries, and `audiolrp locate` (streamed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from audiolrp import models
from audiolrp.errors import AudioLRPError, ModelFileError

GAINS_DB = (-80.0, -60.0, -40.0, -20.0, 0.0, 20.0)


@pytest.fixture(scope="module")
def scenes4() -> np.ndarray:
    """Two 4th-order scenes of the built-in speech at W RMS 0.05 (the training level)."""
    from audiolrp.simulation import scenes

    cfg = scenes.SceneConfig(order=4, snr_db=(15.0, 25.0))
    return np.stack([scenes.simulate_scene(cfg, s, split="test").mixture for s in (1, 2)])


@pytest.mark.parametrize("name", models.list_models())
def test_every_shipped_model_is_level_invariant(name: str, scenes4: np.ndarray) -> None:
    """Same class, probabilities and refined direction for gains from -80 to +20 dB."""
    torch.set_num_threads(1)
    lm = models.load(name)
    clips = scenes4[:, : lm.n_audio_channels].astype(np.float64)
    ref = lm.predict(clips)
    assert not ref.silent.any()
    for g_db in GAINS_DB:
        p = lm.predict(clips * 10 ** (g_db / 20))
        np.testing.assert_array_equal(p.class_index, ref.class_index)
        np.testing.assert_allclose(p.probabilities, ref.probabilities, atol=2e-6)
        np.testing.assert_allclose(p.direction, ref.direction, atol=1e-5)
        np.testing.assert_allclose(p.level_dbfs, ref.level_dbfs + g_db, atol=1e-6)


@pytest.mark.parametrize("name", ["hoa2", "intensity"])
def test_relevance_is_level_invariant(name: str, scenes4: np.ndarray) -> None:
    """LRP of the level-normalised input: the same relevance (not scaled) at any gain."""
    from audiolrp.app.explainer import Explainer

    torch.set_num_threads(1)
    ex = Explainer.load(name)
    clip = scenes4[:1, : ex.n_audio_channels].astype(np.float64)
    r0, p0 = ex.explain(ex.features(clip))
    for g_db in (-80.0, 20.0):
        r, p = ex.explain(ex.features(clip * 10 ** (g_db / 20)))
        assert p.tolist() == p0.tolist()
        scale = float(np.abs(r0).max())
        np.testing.assert_allclose(r, r0, atol=1e-4 * scale)


def test_digital_silence_gets_no_direction() -> None:
    lm = models.load("hoa1")
    clips = np.zeros((3, 4, 16000))
    clips[1] = np.random.default_rng(0).standard_normal((4, 16000)) * 0.01
    p = lm.predict(clips)
    assert p.silent.tolist() == [True, False, True]
    assert p.class_index[0] == -1 and np.isnan(p.direction[0]).all()
    assert p.class_index[1] >= 0 and np.isfinite(p.direction[1]).all()
    assert p.confidence[0] == 0.0 and p.probabilities[0].sum() == 0.0


def test_predict_shapes_and_bad_input() -> None:
    lm = models.load("hoa2")
    rng = np.random.default_rng(1)
    one = lm.predict(rng.standard_normal((16, 16000)) * 0.1)  # one clip, extra channels ignored
    assert one.direction.shape == (1, 3) and one.probabilities.shape == (1, 425)
    np.testing.assert_allclose(np.linalg.norm(one.direction, axis=1), 1.0)
    assert one.probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(AudioLRPError, match=">= 9 AmbiX channels"):
        lm.predict(np.zeros((2, 4, 16000)))
    with pytest.raises(AudioLRPError, match="16000 samples"):
        lm.predict(np.zeros((2, 9, 8000)))
    bad = np.zeros((1, 9, 16000))
    bad[0, 0, 5] = np.nan
    with pytest.raises(AudioLRPError, match="NaN"):
        lm.predict(bad)


def test_model_file_records_level_and_refinement(tmp_path: Path) -> None:
    torch.manual_seed(0)
    ref = models.DirectionRefinement(20.0, 2.0)
    path = models.save(models.build_model("hoa", 1, size="tiny"), tmp_path / "m", feature="hoa",
                       order=1, input_rms=0.1, refinement=ref)
    lm = models.load(path)
    assert lm.input_rms == 0.1 and lm.refinement == ref
    x = np.random.default_rng(2).standard_normal((1, 4, 16000))
    inp = lm.input(x)
    scaled = x[0] * inp.gain[0]
    assert np.sqrt(np.mean(scaled[0] ** 2)) == pytest.approx(0.1, rel=1e-12)
    cfg = json.loads(Path(path).read_text())
    assert cfg["input_level"]["w_rms"] == 0.1 and cfg["direction_refinement"]["radius_deg"] == 20


def test_shipped_models_carry_a_measured_refinement() -> None:
    for name in models.list_models():
        entry = models.load(name).config.get("direction_refinement") or {}
        chosen = entry.get("chosen_on")
        assert chosen, f"{name}: direction_refinement was not chosen on validation scenes"
        assert chosen["split"] == "val"
        assert chosen["refined_median_error_deg"] <= chosen["class_median_error_deg"]


def test_pickled_checkpoints_are_refused_with_the_fix(tmp_path: Path) -> None:
    (tmp_path / "model.pt").write_bytes(b"\x80\x04")
    with pytest.raises(ModelFileError, match="never unpickles.*models.save"):
        models.load(tmp_path / "model.pt")


# --------------------------------------------------------------------------------- locate
def _recording(tmp_path: Path, fs: int, seconds: float, order: int = 1) -> tuple[Path, float]:
    """A recording: one scene repeated, then a silent second, at ``fs``."""
    from audiolrp.audio_io import resample
    from audiolrp.simulation import scenes

    sc = scenes.simulate_scene(scenes.SceneConfig(order=order, snr_db=(20.0, 30.0)), 4,
                               split="test")
    reps = int(np.ceil(seconds))
    x = np.concatenate([sc.mixture] * reps + [np.zeros_like(sc.mixture)], axis=1)
    y = x if fs == 16000 else resample(x.astype(np.float64), 16000, fs)
    path = tmp_path / f"rec{fs}.wav"
    sf.write(path, (0.02 * y).T, fs, subtype="FLOAT")
    return path, float(sc.azimuth_rad)


@pytest.mark.parametrize("fs", [16000, 44100, 48000])
def test_streamed_resampling_equals_the_whole_file(tmp_path: Path, fs: int, monkeypatch) -> None:
    import audiolrp.app.recordings as rec

    path, _ = _recording(tmp_path, fs, 3.2)
    monkeypatch.setattr(rec, "STREAM_SEGMENT_S", 0.7)  # many segment joins
    info = rec.open_recording(path, "ambix", ("intensity", 1, "intensity"))
    streamed = np.concatenate(list(rec.stream_16k(info, segment_s=0.7)), axis=1)
    signals, fs_file = rec.read_ambisonics(path)
    whole = rec.resample_to_model_rate(signals[:4], fs_file)
    assert streamed.shape == whole.shape == (4, info.n_samples_16k)
    np.testing.assert_allclose(streamed, whole, atol=1e-9 * np.abs(whole).max())
    hop = 8000
    starts = rec.window_starts(whole.shape[1], 16000, hop)
    got = [(i, w) for i, w in rec.stream_windows(info, hop, batch=3)]
    all_starts = np.concatenate([i for i, _ in got])
    np.testing.assert_array_equal(all_starts, starts)
    wins = np.concatenate([w for _, w in got])
    for k, s in enumerate(starts):
        np.testing.assert_allclose(wins[k], rec.get_window(whole, int(s)), atol=1e-9)


def test_locate_command_table_json_and_plots(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from audiolrp.cli.app import app

    path, az = _recording(tmp_path, 48000, 3.0)
    out = tmp_path / "doa"
    res = CliRunner().invoke(app, ["locate", str(path), "-m", "hoa1", "--json", "-q",
                                   "--out", str(out)])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data == json.loads((out / "locate.json").read_text())
    assert (out / "directions.png").stat().st_size > 0 and (out / "timeline.png").stat().st_size
    wins = data["windows"]
    assert len(wins) == data["n_windows"] == 4  # 4 s at a 1-s hop
    assert [w["silent"] for w in wins] == [False, False, False, True]
    assert wins[3]["azimuth_deg"] is None and wins[3]["class"] is None
    res = CliRunner().invoke(app, ["locate", str(path), "-m", "hoa1", "-q"])
    assert res.exit_code == 0
    lines = res.stdout.strip().splitlines()
    assert lines[0].split()[:4] == ["window", "start_s", "azimuth_deg", "elevation_deg"]
    assert lines[-1].endswith("silent") and len(lines) == 5
    assert data["views"] == 1  # the fast default
    # --views 3: the directions fuse three views of the field, the classes stay view 0's
    res = CliRunner().invoke(app, ["locate", str(path), "-m", "hoa1", "--json", "-q",
                                   "--views", "3"])
    assert res.exit_code == 0, res.output
    three = json.loads(res.stdout)
    assert three["views"] == 3 and "3 rotated/mirrored views" in three["direction"]
    assert [w["class"] for w in three["windows"]] == [w["class"] for w in wins]
    assert three["windows"][0]["azimuth_deg"] != wins[0]["azimuth_deg"]


def test_locate_rejects_bad_input_in_one_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from audiolrp.cli.app import app

    stereo = tmp_path / "stereo.wav"
    sf.write(stereo, np.zeros((16000, 2)), 16000)
    text = tmp_path / "notes.wav"
    text.write_text("not audio")
    cases = [([str(stereo)], "has 2 channels"), ([str(text)], "not a readable audio file"),
             ([str(tmp_path / "missing.wav")], "does not exist"),
             ([str(stereo), "--hop-s", "0.001"], None),
             ([str(stereo), "--views", "17"], "--views 17 is invalid")]
    for args, match in cases:
        res = CliRunner().invoke(app, ["locate", *args, "-q"])
        assert res.exit_code == 2, res.output
        lines = [ln for ln in res.output.strip().splitlines() if ln]
        assert len(lines) == 1 and lines[0].startswith("error:")
        if match:
            assert match in lines[0]
