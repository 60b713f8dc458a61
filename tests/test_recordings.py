"""Reading user Ambisonics recordings (audiolrp.app.recordings)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

from audiolrp.app.recordings import (
    check_channels,
    order_from_channels,
    read_ambisonics,
    resample_to_model_rate,
    sliding_windows,
)
from audiolrp.audio_io import check_not_truncated
from audiolrp.errors import AudioFileError, AudioLRPError


def first_order_ambix(s: np.ndarray, az: float, el: float) -> np.ndarray:
    """Plane wave, first-order ACN/SN3D, written out by hand: W, Y, Z, X."""
    return np.stack([
        s,
        math.sin(az) * math.cos(el) * s,
        math.sin(el) * s,
        math.cos(az) * math.cos(el) * s,
    ])


def test_order_from_channels() -> None:
    for n in range(0, 6):
        assert order_from_channels((n + 1) ** 2) == n
    for k in (0, 2, 3, 5, 8, 10, 15, 17, 24):
        assert order_from_channels(k) is None


def test_required_channels() -> None:
    """The audio channels a model reads (InputLayout) are what check_channels demands."""
    from audiolrp.signal.layout import InputLayout

    assert InputLayout("intensity", 1).n_audio_channels == 4
    assert [InputLayout("hoa", n).n_audio_channels for n in range(1, 5)] == [4, 9, 16, 25]
    for n, k in zip(range(1, 5), (4, 9, 16, 25), strict=True):
        check_channels("x.wav", k, "hoa", n, "m")
        with pytest.raises(AudioFileError, match=f"needs >= {k} "):
            check_channels("x.wav", k - 1, "hoa", n, "m")


def test_read_ambix_roundtrip(tmp_path) -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(-0.5, 0.5, size=(9, 1234))
    path = tmp_path / "rec.wav"
    sf.write(path, x.T, 48000, subtype="FLOAT")
    sig, fs = read_ambisonics(path)
    assert fs == 48000
    assert sig.shape == (9, 1234)
    np.testing.assert_allclose(sig, x.astype(np.float32), atol=0)
    sig1, _ = read_ambisonics(path, order=1)
    np.testing.assert_array_equal(sig1, sig[:4])


def test_read_flac(tmp_path) -> None:
    x = 0.3 * np.sin(2 * np.pi * 440 * np.arange(800) / 16000)
    path = tmp_path / "rec.flac"
    sf.write(path, first_order_ambix(x, 0.3, 0.1).T, 16000, subtype="PCM_24")
    sig, fs = read_ambisonics(path)
    assert sig.shape == (4, 800) and fs == 16000
    np.testing.assert_allclose(sig[0], x, atol=1e-6)


def test_fuma_first_order_matches_ambix(tmp_path) -> None:
    rng = np.random.default_rng(1)
    s = rng.standard_normal(500) * 0.1
    az, el = 2.1, -0.4
    ambix = first_order_ambix(s, az, el)
    # FuMa: W = W_SN3D / sqrt(2), then X, Y, Z.
    fuma = np.stack([ambix[0] / math.sqrt(2), ambix[3], ambix[1], ambix[2]])
    path = tmp_path / "fuma.wav"
    sf.write(path, fuma.T, 16000, subtype="DOUBLE")
    sig, _ = read_ambisonics(path, format="fuma")
    np.testing.assert_allclose(sig, ambix, atol=1e-12)


def _write(tmp_path, name: str, data: np.ndarray, fs: int = 16000):
    path = tmp_path / name
    sf.write(path, data, fs, subtype="FLOAT")
    return path


@pytest.mark.parametrize("n_ch", [1, 2, 3, 5, 8, 36])
def test_bad_channel_counts(tmp_path, n_ch: int) -> None:
    path = _write(tmp_path, "bad.wav", np.zeros((100, n_ch)))
    with pytest.raises(AudioFileError) as exc:
        read_ambisonics(path)
    msg = str(exc.value)
    assert "\n" not in msg and f"{n_ch} channel" in msg and "bad.wav" in msg


def test_model_requirement_message(tmp_path) -> None:
    path = _write(tmp_path, "rec.wav", np.zeros((100, 2)))
    with pytest.raises(AudioFileError) as exc:
        read_ambisonics(path, model=("hoa", 2, "hoa2"))
    assert str(exc.value) == (
        "rec.wav has 2 channels; the hoa2 model needs >= 9 Ambisonics channels "
        "(2nd-order AmbiX, ACN/SN3D)"
    )
    path4 = _write(tmp_path, "foa.wav", np.zeros((100, 4)))
    with pytest.raises(AudioFileError, match="needs >= 9"):
        read_ambisonics(path4, model=("hoa", 2, "hoa2"))
    sig, _ = read_ambisonics(path4, model=("intensity", 1, "intensity"))
    assert sig.shape == (4, 100)
    check_channels("x.wav", 25, "hoa", 4, "hoa4")  # enough: no error


def test_fuma_above_third_order_rejected(tmp_path) -> None:
    path = _write(tmp_path, "o4.wav", np.zeros((50, 25)))
    with pytest.raises(AudioFileError, match="FuMa"):
        read_ambisonics(path, format="fuma")


def test_nonfinite_rejected(tmp_path) -> None:
    x = np.zeros((100, 4))
    x[10, 2] = np.nan
    path = _write(tmp_path, "nan.wav", x)
    with pytest.raises(AudioFileError, match="NaN or infinite"):
        read_ambisonics(path)
    x[10, 2] = np.inf
    path = _write(tmp_path, "inf.wav", x)
    with pytest.raises(AudioFileError, match="NaN or infinite"):
        read_ambisonics(path)


def test_not_audio_truncated_missing_empty(tmp_path) -> None:
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio\n" * 20)
    with pytest.raises(AudioFileError, match="not a readable audio file"):
        read_ambisonics(text)
    good = _write(tmp_path, "good.wav", np.zeros((1000, 4)))
    trunc = tmp_path / "trunc.wav"
    trunc.write_bytes(good.read_bytes()[:30])
    with pytest.raises(AudioFileError):
        read_ambisonics(trunc)
    with pytest.raises(AudioFileError, match="does not exist"):
        read_ambisonics(tmp_path / "missing.wav")
    with pytest.raises(AudioFileError, match="folder"):
        read_ambisonics(tmp_path)
    empty = _write(tmp_path, "empty.wav", np.zeros((0, 4)))
    with pytest.raises(AudioFileError, match="no samples"):
        read_ambisonics(empty)
    with pytest.raises(AudioLRPError, match="unknown Ambisonics format"):
        read_ambisonics(good, format="bformat")


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "FLOAT"])
def test_truncated_wav_rejected(tmp_path, subtype: str) -> None:
    """A real WAV cut to half its bytes: libsndfile would silently read the first half."""
    rng = np.random.default_rng(3)
    full = tmp_path / "full.wav"
    sf.write(full, 0.1 * rng.standard_normal((2 * 16000, 4)), 16000, subtype=subtype)
    signals, _ = read_ambisonics(full)
    assert signals.shape == (4, 32000)
    check_not_truncated(full)
    half = tmp_path / "half.wav"
    data = full.read_bytes()
    half.write_bytes(data[: len(data) // 2])
    assert sf.info(str(half)).frames < 32000  # what soundfile alone reports, without a word
    with pytest.raises(AudioFileError, match="half.wav is truncated: its header announces "
                       "2.00 s but the file holds only 1.00 s of audio") as err:
        read_ambisonics(half)
    assert "\n" not in str(err.value)
    lost_one_frame = tmp_path / "minus.wav"
    lost_one_frame.write_bytes(data[:-1])
    with pytest.raises(AudioFileError, match="truncated"):
        read_ambisonics(lost_one_frame)


def test_truncation_check_ignores_other_files(tmp_path) -> None:
    """Files the truncation check must let through (each read as a whole, or reported by
    soundfile), each beside a truncated twin that it must still reject: a check that rejected
    nothing, or everything, fails here."""
    from audiolrp.audio_io import read_audio, wav_data_sizes

    def rejected(path) -> bool:
        try:
            check_not_truncated(path)
        except AudioFileError as err:
            assert "is truncated" in str(err)
            return True
        return False

    # not a WAV: decoders report their own truncation; read whole
    flac = tmp_path / "x.flac"
    sf.write(flac, np.zeros((1000, 4)), 16000)
    assert wav_data_sizes(flac) is None and not rejected(flac)
    assert read_audio(flac)[0].shape == (1000, 4)
    # "length unknown" (0xFFFFFFFF) of streaming writers: nothing to compare against
    stream = tmp_path / "stream.wav"
    sf.write(stream, 0.1 * np.ones((1000, 4)), 16000, subtype="PCM_16")
    data = bytearray(stream.read_bytes())
    pos = data.index(b"data")
    twin = tmp_path / "stream-cut.wav"
    twin.write_bytes(bytes(data[:-100]))
    assert rejected(twin)  # the same file with its real length, cut, is caught
    data[pos + 4 : pos + 8] = b"\xff\xff\xff\xff"
    stream.write_bytes(bytes(data))
    declared, present, block_align, fs_hz = wav_data_sizes(stream)
    assert declared == 0xFFFFFFFF and present == 8000 and (block_align, fs_hz) == (8, 16000)
    assert not rejected(stream)
    # 3 data bytes and the RIFF pad byte: complete, the pad byte is not audio
    odd = tmp_path / "odd.wav"
    sf.write(odd, 0.1 * np.ones((3, 1)), 16000, subtype="PCM_U8")
    assert wav_data_sizes(odd) == (3, 4, 1, 16000) and not rejected(odd)
    assert read_audio(odd)[0].shape == (3, 1)
    odd_cut = tmp_path / "odd-cut.wav"
    odd_cut.write_bytes(odd.read_bytes()[:-2])  # pad byte and one sample gone
    assert wav_data_sizes(odd_cut) == (3, 2, 1, 16000) and rejected(odd_cut)
    # a header too damaged to find the data chunk: soundfile reports it, in one line
    header_only = tmp_path / "header.wav"
    header_only.write_bytes(stream.read_bytes()[:30])
    assert wav_data_sizes(header_only) is None and not rejected(header_only)
    with pytest.raises(AudioFileError, match="header.wav is not a readable audio file"):
        read_audio(header_only)


@pytest.mark.parametrize("fs_in", [8000, 22050, 44100, 48000])
def test_resample_preserves_a_sine(fs_in: int) -> None:
    f_hz, dur_s = 500.0, 0.5
    t_in = np.arange(int(fs_in * dur_s)) / fs_in
    x = np.stack([np.sin(2 * np.pi * f_hz * t_in), 0.5 * np.cos(2 * np.pi * f_hz * t_in)])
    y = resample_to_model_rate(x, fs_in)
    n_out = math.ceil(len(t_in) * 16000 / fs_in)
    assert y.shape == (2, n_out)
    t_out = np.arange(n_out) / 16000
    ref = np.stack([np.sin(2 * np.pi * f_hz * t_out), 0.5 * np.cos(2 * np.pi * f_hz * t_out)])
    core = slice(n_out // 5, 4 * n_out // 5)  # away from the filter's edge transients
    np.testing.assert_allclose(y[:, core], ref[:, core], atol=2e-3)


def test_resample_identity_at_16k() -> None:
    x = np.random.default_rng(0).standard_normal((4, 100))
    np.testing.assert_array_equal(resample_to_model_rate(x, 16000), x)


def test_sliding_windows_explicit() -> None:
    x = np.arange(2 * 41, dtype=np.float64).reshape(2, 41)
    win, starts = sliding_windows(x, 10, 5)
    expected = [0, 5, 10, 15, 20, 25, 30, 31]
    assert starts.tolist() == expected
    for w, s in zip(win, starts, strict=True):
        np.testing.assert_array_equal(w, x[:, s : s + 10])


def test_sliding_windows_short_recording_padded() -> None:
    x = np.ones((4, 7))
    win, starts = sliding_windows(x, 10, 5)
    assert win.shape == (1, 4, 10) and starts.tolist() == [0]
    np.testing.assert_array_equal(win[0, :, :7], 1.0)
    np.testing.assert_array_equal(win[0, :, 7:], 0.0)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 400), window=st.integers(1, 60), hop=st.integers(1, 60))
def test_sliding_windows_cover_every_sample(n: int, window: int, hop: int) -> None:
    hop = min(hop, window)  # hops longer than the window leave gaps by design
    x = np.arange(n, dtype=np.float64)[None] + 1.0
    win, starts = sliding_windows(x, window, hop)
    covered = np.zeros(n, dtype=bool)
    for w, s in zip(win, starts, strict=True):
        seg = x[0, s : s + window]
        np.testing.assert_array_equal(w[0, : seg.size], seg)
        covered[s : s + window] = True
    assert covered.all()
    assert np.all(np.diff(starts) > 0)
    assert np.all(np.diff(starts) <= hop)


# ------------------------------------------------- one audio -> model input for every source
@pytest.fixture(scope="module")
def tiny_explainers(tmp_path_factory):
    import torch

    from audiolrp.app.explainer import Explainer
    from audiolrp.models import build_model, save

    tmp = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    save(build_model("hoa", 2, size="tiny"), tmp / "hoa2", feature="hoa", order=2)
    save(build_model("intensity", size="tiny"), tmp / "int", feature="intensity")
    return {k: Explainer.load(tmp / f"{k}.json") for k in ("hoa2", "int")}


@pytest.mark.parametrize("key", ["hoa2", "int"])
def test_demo_scene_and_its_wav_give_the_same_model_input(
    tiny_explainers, tmp_path, monkeypatch, one_thread, key
) -> None:
    """The demo's simulated scene and the same audio written to a WAV and explained as a
    recording reach the model through the one function LoadedModel.input, with
    bit-identical input, prediction and relevance."""
    from audiolrp.app.demo import analyse_demo
    from audiolrp.app.windows import analyse_recording
    from audiolrp.models import LoadedModel
    from audiolrp.signal.features import compute_features

    calls: list[int] = []
    original = LoadedModel.input

    def spy(self, audio, **kw):
        calls.append(np.ndim(audio))
        return original(self, audio, **kw)

    monkeypatch.setattr(LoadedModel, "input", spy)
    ex = tiny_explainers[key]
    demo = analyse_demo(ex, seed=5, pixel_flipping=False)
    assert calls, "the demo did not go through LoadedModel.input"
    n_demo = len(calls)
    path = tmp_path / "scene.wav"
    sf.write(path, demo.audio.T, 16000, subtype="DOUBLE")  # 64-bit: the exact samples
    rec = analyse_recording(ex, path, windows=[0], pixel_flipping=False)
    assert len(calls) > n_demo, "the recording did not go through LoadedModel.input"
    assert rec.n_windows == 1
    x_demo, x_rec = demo.clip.features, rec.details[0].clip.features
    assert x_demo.dtype == np.float32 and x_demo.shape == (ex.layout.n_channels, 50, 512)
    np.testing.assert_array_equal(x_rec, x_demo)
    # and both equal the features of the mixture scaled to W RMS 0.05, computed directly
    audio = demo.audio[: ex.n_audio_channels].astype(np.float64)
    gain = 0.05 / np.sqrt(np.mean(audio[0] ** 2))
    direct = compute_features((audio * gain).astype(np.float32), ex.feature, ex.order)
    np.testing.assert_array_equal(x_demo, np.asarray(direct, dtype=np.float32))
    np.testing.assert_array_equal(rec.probabilities[0], demo.clip.probabilities)
    assert rec.details[0].clip.predicted_class == demo.clip.predicted_class
    np.testing.assert_array_equal(rec.details[0].clip.relevance, demo.clip.relevance)


def test_model_input_checks_and_batches(tiny_explainers) -> None:
    lm = tiny_explainers["hoa2"].model
    rng = np.random.default_rng(1)
    clips = rng.standard_normal((3, 16, 16000))  # extra channels are ignored
    batch = lm.features(clips)
    assert batch.shape == (3, 18, 50, 512) and batch.dtype == np.float32
    for i in range(3):
        np.testing.assert_array_equal(batch[i], lm.features(clips[i, :9]))
    with pytest.raises(AudioLRPError, match=">= 9 AmbiX channels"):
        lm.features(clips[0, :4])
    with pytest.raises(AudioLRPError, match="1-s AmbiX"):
        lm.features(clips[0, :, :8000])
