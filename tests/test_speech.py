"""Tests for the package audiolrp.simulation.speech (speech corpora, VAD, resampling, Debian
builder) and the eSpeak driver audiolrp.simulation.speech_synthesis."""

from __future__ import annotations

import importlib
import json
import tomllib
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from audiolrp.constants import FS_HZ
from audiolrp.errors import AudioLRPError, DatasetError
from audiolrp.simulation import speech
from audiolrp.simulation.speech import (
    DirectoryCorpus,
    EspeakCorpus,
    SpeechFileWarning,
    active_window_starts,
    assign_splits,
    debian,
    decode_g722,
    open_corpus,
    resample_to,
    speaker_of,
    speaker_weights,
    vad_activity,
)

# ----------------------------------------------------------------------------- helpers


def dominant_hz(x: np.ndarray, fs: int = FS_HZ) -> float:
    """Frequency of the largest FFT peak (Hann window, 4x zero padding)."""
    n = 4 * len(x)
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)), n))
    return float(np.argmax(spec) * fs / n)


def bursts(f_hz: float, fs: int, seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Tone bursts (200-400 ms) separated by near-silent gaps (100-300 ms): 'speech-like'."""
    n = int(seconds * fs)
    t = np.arange(n) / fs
    env = np.zeros(n)
    pos = int(rng.integers(0, int(0.2 * fs)))
    while pos < n:
        on = int(rng.uniform(0.2, 0.4) * fs)
        env[pos : pos + on] = np.hanning(min(on, n - pos) + 2)[1:-1] ** 0.2
        pos += on + int(rng.uniform(0.1, 0.3) * fs)
    x = 0.3 * env * np.sin(2 * np.pi * f_hz * t) + 1e-5 * rng.standard_normal(n)
    return x.astype(np.float32)


def f0_autocorr_hz(x: np.ndarray, fs: int = FS_HZ, lo_hz=60.0, hi_hz=400.0) -> float:
    """Median pitch of voiced 40-ms frames by autocorrelation (float64)."""
    frame = int(0.04 * fs)
    e = np.array([np.mean(x[i : i + frame] ** 2) for i in range(0, len(x) - frame, frame)])
    thr = 0.3 * np.percentile(e, 90)
    f0s = []
    for k, i in enumerate(range(0, len(x) - frame, frame)):
        if e[k] < thr:
            continue
        seg = x[i : i + frame].astype(np.float64) - x[i : i + frame].mean()
        ac = np.correlate(seg, seg, "full")[frame - 1 :]
        a, b = int(fs / hi_hz), int(fs / lo_hz)
        lag = a + int(np.argmax(ac[a:b]))
        if ac[lag] > 0.3 * ac[0]:
            f0s.append(fs / lag)
    return float(np.median(f0s))


SPEAKER_HZ = {f"spk{k}": 300.0 + 150.0 * k for k in range(10)}


@pytest.fixture(scope="module")
def tone_corpus(tmp_path_factory) -> Path:
    """10 'speakers' (one tone frequency each), mixed formats and rates, plus bad files."""
    root = tmp_path_factory.mktemp("tones")
    rng = np.random.default_rng(0)
    for k, (spk, f) in enumerate(SPEAKER_HZ.items()):
        d = root / spk
        d.mkdir()
        fs = (16000, 44100, 22050)[k % 3]
        for j in range(2):
            x = bursts(f, fs, 2.5, rng)
            if j == 1:  # long silence before the speech: VAD must skip it
                x = np.concatenate([1e-5 * rng.standard_normal(3 * fs).astype(np.float32), x])
            fmt = ("wav", "flac", "ogg")[(k + j) % 3]
            sf.write(d / f"utt{j}.{fmt}", x, fs)
    bad = root / "spk0"
    (bad / "notaudio.wav").write_bytes(b"this is not a RIFF file at all" * 10)
    sf.write(bad / "tmp_full.flac", bursts(333.0, 16000, 2.0, rng), 16000)
    data = (bad / "tmp_full.flac").read_bytes()
    (bad / "tmp_full.flac").unlink()
    (bad / "truncated.flac").write_bytes(data[: len(data) // 3])
    sf.write(bad / "silent.wav", np.zeros(16000, np.float32), 16000)
    sf.write(bad / "stereo.wav", np.zeros((16000, 2), np.float32) + 0.1, 16000)
    sf.write(bad / "narrowband.wav", bursts(440.0, 8000, 2.0, rng), 8000)
    (root / ".hidden").mkdir()
    sf.write(root / ".hidden" / "ignored.wav", bursts(111.0, 16000, 2.0, rng), 16000)
    (root / "notes.txt").write_text("not audio, ignored by extension")
    return root


@pytest.fixture(scope="module")
def opened_tone_corpus(tone_corpus) -> DirectoryCorpus:
    c = DirectoryCorpus(tone_corpus, seed=1)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        for split in ("train", "val", "test"):
            c.pool(split)
    c.caught = [str(w.message) for w in rec if issubclass(w.category, SpeechFileWarning)]
    return c


# ----------------------------------------------------------------------------- the package


#: Public names of the package, with the module that owns each (callers import them from
#: ``audiolrp.simulation.speech``; the owner is where the code lives).
PUBLIC_OWNERS = {
    "audio": [
        "MIN_ACTIVE_FRACTION", "MIN_FS_HZ", "SILENT_PEAK", "VAD_FRAME_SAMPLES",
        "VAD_THRESHOLD_DB", "active_window_starts", "frame_energy", "load_speech_file",
        "resample_to", "vad_activity",
    ],
    "base": ["SPLITS", "SpeechCorpus", "speaker_weights"],
    "espeak": ["EspeakCorpus", "word_list"],
    "directory": [
        "AUDIO_SUFFIXES", "DEFAULT_POOL_S", "LICENCE_FILE", "SPLITS_FILE", "DirectoryCorpus",
        "SpeechFileWarning", "assign_splits", "speaker_of",
    ],
    "debian": [
        "ASTERISK_LANGS", "DEBIAN_LICENCES", "DEBIAN_PACKAGES", "FILLETS_LANGS",
        "build_debian_corpus", "debian_split", "decode_g722", "default_debian_dir",
        "fillets_speaker",
    ],
}  # fmt: skip


def test_package_reexports_each_name_from_its_one_owner():
    owned = [n for names in PUBLIC_OWNERS.values() for n in names]
    assert sorted(speech.__all__) == sorted([*owned, "open_corpus"])
    for module, names in PUBLIC_OWNERS.items():
        mod = importlib.import_module(f"audiolrp.simulation.speech.{module}")
        for name in names:
            assert getattr(speech, name) is getattr(mod, name), (module, name)
    assert speech.open_corpus(None).__class__ is speech.EspeakCorpus


def test_word_list_is_package_data():
    """The eSpeak word list is read from the installed package and listed for the wheel."""
    words = speech.word_list()
    assert len(words) == 2806 and all(w and not w.startswith("#") for w in words)
    root = Path(__file__).resolve().parents[1]
    shipped = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["audiolrp"]
    assert "simulation/speech_words.txt" in shipped
    assert (root / "src/audiolrp/simulation/speech_words.txt").is_file()


# ----------------------------------------------------------------------------- resampling / VAD


@pytest.mark.parametrize("fs_in", [44100, 22050, 48000, 32000])
def test_resample_keeps_frequency(fs_in):
    f = 1234.5
    t = np.arange(int(0.5 * fs_in)) / fs_in
    y = resample_to(np.sin(2 * np.pi * f * t), fs_in)
    assert y.dtype == np.float32
    assert abs(len(y) - 0.5 * FS_HZ) <= 1
    assert abs(dominant_hz(y[200:-200]) - f) < 3.0
    # amplitude preserved in the pass band (independent check: RMS of a unit sine = 1/sqrt 2)
    assert abs(np.sqrt(np.mean(y[500:-500].astype(np.float64) ** 2)) - 2**-0.5) < 0.01


def test_resample_removes_content_above_new_nyquist():
    fs_in = 44100
    t = np.arange(fs_in) / fs_in
    y = resample_to(np.sin(2 * np.pi * 12000.0 * t), fs_in)  # above 8 kHz: must be filtered
    assert np.sqrt(np.mean(y[500:-500] ** 2)) < 0.01


def test_vad_marks_tone_bursts_against_loop_reference():
    rng = np.random.default_rng(3)
    x = 1e-4 * rng.standard_normal(50 * 320)
    on = np.zeros(50, bool)
    for a, b in [(5, 12), (20, 21), (30, 45)]:
        x[a * 320 : b * 320] += np.sin(2 * np.pi * 500 * np.arange((b - a) * 320) / FS_HZ)
        on[a:b] = True
    act = vad_activity(x)
    # independent float64 loop formulation of the documented rule
    e = np.array([sum(float(v) ** 2 for v in x[i * 320 : (i + 1) * 320]) / 320 for i in range(50)])
    ref = np.percentile(e, 95)
    expect = e >= ref * 10 ** (-speech.VAD_THRESHOLD_DB / 10)
    np.testing.assert_array_equal(act, expect)
    np.testing.assert_array_equal(act, on)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.booleans(), min_size=0, max_size=60),
    st.integers(1, 12),
    st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]),
)
def test_active_window_starts_matches_bruteforce(act, n, frac):
    act = np.array(act, dtype=bool)
    got = active_window_starts(act, n, frac)
    want = [s for s in range(len(act) - n + 1) if sum(act[s : s + n]) >= frac * n - 1e-9]
    assert got.tolist() == want


# ----------------------------------------------------------------------------- splits


def test_speaker_of_layouts():
    assert speaker_of(Path("TIMIT/TRAIN/DR1/FCJF0/SX127.WAV")) == ("FCJF0", "train")
    assert speaker_of(Path("timit/test/dr3/MABC0/SI1234.wav")) == ("MABC0", "test")
    assert speaker_of(Path("TIMIT/TRAIN/DR1/FCJF0/SA1.WAV")) is None
    assert speaker_of(Path("LibriSpeech/dev/84/121123/84-121123-0003.flac")) == ("84", None)
    assert speaker_of(Path("alice/session2/a.wav")) == ("alice/session2", None)
    assert speaker_of(Path("x.wav")) == (".", None)


@settings(max_examples=30, deadline=None)
@given(st.sets(st.text("abcdef0123", min_size=1, max_size=6), min_size=3, max_size=40))
def test_assign_splits_disjoint_complete_deterministic(spks):
    spks = sorted(spks)
    a = assign_splits(spks)
    b = assign_splits(list(reversed(spks)))
    assert a == b
    assert set(a) == set(spks)
    assert {v for v in a.values()} == {"train", "val", "test"}


def test_assign_splits_timit_keeps_train_test():
    spks = [f"TR{i}" for i in range(20)] + [f"TE{i}" for i in range(5)]
    fixed = {s: ("train" if s.startswith("TR") else "test") for s in spks}
    a = assign_splits(spks, fixed)
    assert sorted(s for s, v in a.items() if v == "test") == sorted(f"TE{i}" for i in range(5))
    val = [s for s, v in a.items() if v == "val"]
    assert val and all(s.startswith("TR") for s in val)


def test_timit_and_librispeech_layouts(tmp_path):
    rng = np.random.default_rng(5)
    timit = tmp_path / "TIMIT"
    for part, spks in (("TRAIN", ["FAAA0", "MBBB0", "FCCC0", "MDDD0"]), ("TEST", ["MEEE0"])):
        for k, spk in enumerate(spks):
            d = timit / part / f"DR{k + 1}" / spk
            d.mkdir(parents=True)
            for utt in ("SA1", "SX10", "SI20"):  # NIST SPHERE, as distributed
                sf.write(d / f"{utt}.WAV", bursts(400, 16000, 1.5, rng), 16000, format="NIST")
    c = DirectoryCorpus(timit)
    assert c.speakers("test") == ["MEEE0"]
    assert len(c.speakers("val")) == 1 and len(c.speakers("train")) == 3
    assert all(f.stem != "SA1" for s in ("train", "val", "test") for f in c.files(s))
    assert len(c.pool("train").utt_speaker) == 6
    libri = tmp_path / "LibriSpeech" / "dev-clean"
    for spk in ("84", "174", "251", "422"):
        d = libri / spk / "1000"
        d.mkdir(parents=True)
        sf.write(d / f"{spk}-1000-0000.flac", bursts(300, 16000, 1.5, rng), 16000)
    c = DirectoryCorpus(tmp_path / "LibriSpeech")
    assert sorted(sum((c.speakers(s) for s in ("train", "val", "test")), [])) == [
        "174",
        "251",
        "422",
        "84",
    ]


def test_too_few_speakers_is_a_clear_error(tmp_path):
    for k in range(2):
        (tmp_path / f"s{k}").mkdir()
        sf.write(tmp_path / f"s{k}" / "a.wav", np.ones(16000, np.float32) * 0.1, 16000)
    with pytest.raises(DatasetError, match="at least 3") as ei:
        DirectoryCorpus(tmp_path)
    assert "\n" not in str(ei.value)


def test_missing_or_empty_directory(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        open_corpus(tmp_path / "nope")
    with pytest.raises(DatasetError, match="no speech files"):
        open_corpus(tmp_path)


def test_open_corpus_debian_missing_says_how_to_build(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDIOLRP_DEBIAN_CORPUS", str(tmp_path / "none"))
    with pytest.raises(DatasetError, match="audiolrp corpus debian"):
        open_corpus("debian")


# ----------------------------------------------------------------------------- directory corpus


def test_directory_corpus_bad_files_warned(opened_tone_corpus):
    c = opened_tone_corpus
    caught = " | ".join(c.caught)
    for name, reason in [
        ("notaudio.wav", "unreadable"),
        ("truncated.flac", ""),
        ("silent.wav", "silent"),
        ("stereo.wav", "2 channels"),
        ("narrowband.wav", "8000 Hz"),
    ]:
        hit = [m for m in c.caught if name in m]  # the tiny corpus is pooled completely
        assert hit, f"{name} not warned: {caught}"
        assert reason in hit[0]
    assert "ignored.wav" not in caught


def test_directory_corpus_split_is_speaker_disjoint_in_the_signal(opened_tone_corpus):
    c = opened_tone_corpus
    sets = {s: set(c.speakers(s)) for s in ("train", "val", "test")}
    assert set.union(*sets.values()) == set(SPEAKER_HZ)
    assert not (sets["train"] & sets["val"] or sets["train"] & sets["test"])
    assert not sets["val"] & sets["test"]
    rng = np.random.default_rng(0)
    for split, spks in sets.items():
        allowed = np.array([SPEAKER_HZ[s] for s in spks])
        x = c.sample_segments(split, rng, 12)
        for row in x:
            f = dominant_hz(row)
            assert np.min(np.abs(allowed - f)) < 5.0, (split, f, allowed)


def test_segments_shape_activity_normalisation_determinism(opened_tone_corpus):
    c = opened_tone_corpus
    a = c.sample_segments("train", np.random.default_rng(7), 20)
    b = c.sample_segments("train", np.random.default_rng(7), 20)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (20, 16000) and a.dtype == np.float32
    one = c.sample_segment("train", np.random.default_rng(11), duration_s=0.5)
    assert one.shape == (8000,)
    for row in a:
        e = np.mean(row.astype(np.float64).reshape(50, 320) ** 2, axis=1)
        active = e > 0.03  # bursts have ~unit power after normalisation, gaps ~1e-8
        assert active.mean() >= speech.MIN_ACTIVE_FRACTION - 0.04
        # unit RMS over the active part (frame-grid approximation of the jittered window)
        assert 0.8 < np.sqrt(np.mean(e[active])) < 1.25


def test_last_segment_info_names_the_speaker(opened_tone_corpus):
    c = opened_tone_corpus
    rng = np.random.default_rng(9)
    for _ in range(5):
        x = c.sample_segment("test", rng)
        info = c.last_segment_info()
        assert info["speaker"] in c.speakers("test") and info["split"] == "test"
        assert abs(dominant_hz(x) - SPEAKER_HZ[info["speaker"]]) < 5.0


def test_corpus_pickles_with_its_pools(opened_tone_corpus):
    import pickle

    c2 = pickle.loads(pickle.dumps(opened_tone_corpus))
    a = opened_tone_corpus.sample_segments("val", np.random.default_rng(4), 3)
    np.testing.assert_array_equal(a, c2.sample_segments("val", np.random.default_rng(4), 3))


def test_babble_uses_distinct_speakers(opened_tone_corpus):
    c = opened_tone_corpus
    n = len(c.speakers("train"))
    x = c.sample_segments("train", np.random.default_rng(2), n)
    freqs = sorted(round(dominant_hz(r) / 50) for r in x)
    assert len(set(freqs)) == n


@pytest.fixture(scope="module")
def unbalanced_corpus(tmp_path_factory) -> DirectoryCorpus:
    """Four training speakers with very different amounts of speech (file count and length):
    ``big`` 12 x 2 s, ``long`` 6 x 4 s, ``few`` 3 x 2 s and ``tiny`` one 1.5-s file."""
    root = tmp_path_factory.mktemp("unbalanced")
    rng = np.random.default_rng(5)
    layout = {"big": (12, 2.0, 400.0), "long": (6, 4.0, 700.0), "few": (3, 2.0, 1000.0),
              "tiny": (1, 1.5, 1300.0)}
    for spk, (n_files, seconds, f_hz) in layout.items():
        (root / spk).mkdir()
        for j in range(n_files):
            sf.write(root / spk / f"u{j}.wav", bursts(f_hz, 16000, seconds, rng), 16000)
    for spk, f_hz in (("v", 1600.0), ("t", 1900.0)):  # one speaker each for val and test
        (root / spk).mkdir()
        sf.write(root / spk / "u.wav", bursts(f_hz, 16000, 2.0, rng), 16000)
    splits = {"train": list(layout), "val": ["v"], "test": ["t"]}
    (root / "audiolrp-splits.json").write_text(json.dumps(splits))
    return DirectoryCorpus(root, seed=0, pool_s={"train": 30.0})


def test_pool_fills_the_speaker_with_the_least_speech_first(unbalanced_corpus):
    c = unbalanced_corpus
    pool = c.pool("train")
    held: dict[str, list[float]] = {s: [] for s in c.speakers("train")}
    for (a, b), k in zip(pool.utt_frames, pool.utt_speaker, strict=True):
        held[pool.speakers[k]].append((b - a) * speech.VAD_FRAME_SAMPLES / FS_HZ)
    total = {s: sum(v) for s, v in held.items()}
    files = {s: len(c._files[s]) for s in held}
    # every speaker contributes; the budget stops the fill once reached
    assert all(held.values()) and sum(total.values()) >= 30.0
    assert sum(total.values()) - max(v[-1] for v in held.values()) < 30.0 + 1e-9
    # greedy invariant: a speaker took its last file only while it held no more than any
    # speaker that still had files left
    for a in held:
        for b in held:
            if len(held[b]) < files[b]:
                assert total[a] - held[a][-1] <= total[b] + 1e-9, (a, b, total)
    # round-robin by file would give the 4-s speaker twice the time of the 2-s ones
    assert total["long"] < 1.5 * total["big"]


def test_segment_draws_follow_each_speakers_share_of_windows(unbalanced_corpus):
    c = unbalanced_corpus
    pool, starts, usable = c._usable("train", FS_HZ)
    # independent count of admissible windows per speaker, utterance by utterance
    counts = dict.fromkeys(pool.speakers, 0)
    n_frames = FS_HZ // speech.VAD_FRAME_SAMPLES
    for (a, b), k in zip(pool.utt_frames, pool.utt_speaker, strict=True):
        act = pool.active[a:b]
        for t in range(0, (b - a) - n_frames):  # one spare frame for the sub-frame jitter
            if act[t : t + n_frames].mean() >= speech.MIN_ACTIVE_FRACTION:
                counts[pool.speakers[k]] += 1
    expected = np.array([counts[pool.speakers[k]] for k in usable], dtype=np.float64)
    expected /= expected.sum()
    np.testing.assert_allclose(speaker_weights(starts, usable), expected, rtol=1e-12)

    n = 6000
    _, drawn, _ = c._draw("train", np.random.default_rng(3), n)
    for k, p in zip(usable, expected, strict=True):
        share = drawn.count(pool.speakers[k]) / n
        assert abs(share - p) < 5 * np.sqrt(p * (1 - p) / n) + 1e-3, (pool.speakers[k], share, p)
    # the one-file speaker is drawn in proportion to its speech, not a quarter of the time
    assert drawn.count("tiny") / n < 0.08


# ----------------------------------------------------------------------------- G.722 / Debian


def _g722_sine(f_hz: float, seconds: float) -> bytes:
    import G722

    t = np.arange(int(seconds * 16000)) / 16000
    pcm = (8000 * np.sin(2 * np.pi * f_hz * t)).astype(np.int16)
    return bytes(G722.G722(16000, 64000).encode(pcm))


def test_decode_g722_roundtrip():
    y = decode_g722(_g722_sine(700.0, 0.5))
    assert y.dtype == np.float32 and len(y) == 8000
    assert abs(dominant_hz(y[400:]) - 700.0) < 3.0
    assert abs(np.max(np.abs(y[400:])) - 8000 / 32768) < 0.03


def test_build_debian_corpus_offline(tmp_path, monkeypatch):
    """The builder with apt-get/dpkg-deb replaced by fakes: conversion, files, resume."""
    calls = []
    g722 = _g722_sine(500.0, 1.2)
    rng = np.random.default_rng(0)

    def fake_run(cmd, cwd=None):
        calls.append(cmd[0])
        if cmd[0] == "apt-get":
            (Path(cwd) / f"{cmd[2]}_1.0_all.deb").write_bytes(b"deb")
        else:  # dpkg-deb -x DEB TREE
            tree = Path(cmd[3])
            if "asterisk" in cmd[2]:
                d = tree / "usr/share/asterisk/sounds/en_US_f_Allison"
                (d / "digits").mkdir(parents=True)
                (d / "hello.g722").write_bytes(g722)
                (d / "digits" / "1.g722").write_bytes(g722)
                (d / "empty.g722").write_bytes(b"")
            else:
                d = tree / "usr/share/games/fillets-ng/sound/city/cs"
                d.mkdir(parents=True)
                sf.write(d / "vit-m-hlava.ogg", bursts(300, 22050, 1.5, rng), 22050)
                stereo = np.repeat(bursts(200, 44100, 1.5, rng)[:, None], 2, axis=1)
                sf.write(d / "vit-hs-klid1.ogg", stereo, 44100)  # the real files are stereo

    monkeypatch.setattr(debian, "_run", fake_run)
    pk = ("asterisk-core-sounds-en-g722", "fillets-ng-data-cs")
    logs: list[str] = []
    s = debian.build_debian_corpus(tmp_path, packages=pk, log=logs.append)
    assert s["files"] == 4 and s["speakers"] == 3
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.flac"))
    assert files == [
        "asterisk-en/digits__1.flac",
        "asterisk-en/hello.flac",
        "fillets-cs-city/vit-hs-klid1.flac",
        "fillets-cs-m/vit-m-hlava.flac",
    ]
    y, fs = sf.read(tmp_path / "asterisk-en/hello.flac")
    assert fs == 16000 and abs(dominant_hz(y[400:]) - 500.0) < 3.0
    assert sf.info(str(tmp_path / "fillets-cs-m/vit-m-hlava.flac")).samplerate == 16000
    assert any("empty.g722" in m for m in logs)
    man = (tmp_path / "MANIFEST.tsv").read_text().splitlines()
    assert len(man) == 5 and "CC-BY-SA-3.0" in man[1]
    assert "GPL-2" in (tmp_path / "LICENCE.txt").read_text()
    splits = json.loads((tmp_path / "audiolrp-splits.json").read_text())
    assert splits == {
        "train": ["asterisk-en", "fillets-cs-city", "fillets-cs-m"],
        "val": [],
        "test": [],
    }
    assert not list(tmp_path.glob(".extract*")) and not list(tmp_path.rglob("*.deb"))
    # resume: nothing is downloaded or extracted again
    calls.clear()
    s2 = debian.build_debian_corpus(tmp_path, packages=pk, log=logs.append)
    assert calls == [] and s2 == s
    # the splits file is honoured: all three speakers are train, so val/test are empty
    with pytest.raises(DatasetError, match="has no speakers"):
        DirectoryCorpus(tmp_path)


def test_debian_speaker_grouping_and_split():
    assert debian.fillets_speaker("cs", "hanoi", "m-bude") == "fillets-cs-m"
    assert debian.fillets_speaker("nl", "wreck", "pot-v-lod") == "fillets-nl-v"
    assert debian.fillets_speaker("cs", "electromagnet", "rand-0-5-1") == "fillets-cs-electromagnet"
    assert debian.debian_split("fillets-nl-wreck") == "test"
    assert debian.debian_split("asterisk-ru") == "val"
    assert debian.debian_split("fillets-cs-v") == "train"


def test_missing_apt_is_a_clear_error():
    with pytest.raises(AudioLRPError, match="needs a Debian/Ubuntu system") as ei:
        debian._run(["audiolrp-no-such-apt-get-xyz", "download", "x"])
    assert "\n" not in str(ei.value)


# ----------------------------------------------------------------------------- eSpeak


@pytest.fixture(scope="module")
def small_espeak() -> EspeakCorpus:
    return EspeakCorpus(seed=3, n_speakers=6, utterances_per_speaker=1)


def test_espeak_synthesis_is_deterministic():
    from audiolrp.simulation.speech_synthesis import VoiceSpec, synthesize_batch

    jobs = [
        (VoiceSpec("en-us+m3", 170, 40, 50), ["a short test sentence", "second one"]),
        (VoiceSpec("en-gb-scotland+f2", 150, 60, 30), ["hello world"]),
    ]
    a, b = synthesize_batch(jobs), synthesize_batch(jobs)
    assert [len(j) for j in a] == [2, 1]
    for ja, jb in zip(a, b, strict=True):
        for x, y in zip(ja, jb, strict=True):
            assert x.dtype == np.int16 and len(x) > 5000
            np.testing.assert_array_equal(x, y)


def test_espeak_unknown_voice_is_an_error():
    from audiolrp.simulation.speech_synthesis import VoiceSpec, synthesize_batch

    with pytest.raises(AudioLRPError, match="no voice"):
        synthesize_batch([(VoiceSpec("xx-nonexistent+m1"), ["hello"])])


def test_espeak_speech_like_and_pitch_differs():
    from audiolrp.simulation.speech_synthesis import ESPEAK_FS_HZ, VoiceSpec, synthesize_batch

    text = "we were away a year ago, and all our lovely valleys are now yellow"
    lo, hi = synthesize_batch(
        [(VoiceSpec("en-us+m1", 160, 15, 10), [text]), (VoiceSpec("en-us+m1", 160, 85, 10), [text])]
    )
    xs = [resample_to(j[0].astype(np.float32) / 32768, ESPEAK_FS_HZ) for j in (lo, hi)]
    for x in xs:
        assert np.sqrt(np.mean(x**2)) > 0.01
        spec = np.abs(np.fft.rfft(x)) ** 2
        f = np.fft.rfftfreq(len(x), 1 / FS_HZ)
        assert spec[(f >= 100) & (f <= 4000)].sum() / spec.sum() > 0.8
        assert vad_activity(x).mean() > 0.5
    f_lo, f_hi = f0_autocorr_hz(xs[0]), f0_autocorr_hz(xs[1])
    assert 60 < f_lo < f_hi < 400 and f_hi / f_lo > 1.25


def test_espeak_corpus_splits_and_determinism(small_espeak):
    c = small_espeak
    sets = [set(c.speakers(s)) for s in ("train", "val", "test")]
    assert [len(s) for s in sets] == [4, 1, 1]
    assert not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])
    a = c.sample_segments("train", np.random.default_rng(1), 3)
    assert a.shape == (3, 16000) and np.all(np.isfinite(a))
    other = EspeakCorpus(seed=3, n_speakers=6, utterances_per_speaker=1)
    np.testing.assert_array_equal(a, other.sample_segments("train", np.random.default_rng(1), 3))
    assert EspeakCorpus(seed=4, n_speakers=6).speakers("train") != c.speakers("train")
    d = c.describe()
    assert d["splits"]["train"]["speakers"] == 4 and d["splits"]["test"]["hours"] > 0


# ----------------------------------------------------------------------------- CLI


def test_cli_corpus_help_and_sample(tone_corpus, tmp_path):
    import audiolrp.cli  # noqa: F401  registers the subcommands
    from audiolrp.cli.app import app

    r = CliRunner().invoke(app, ["corpus", "--help"])
    assert r.exit_code == 0 and "debian" in r.output and "describe" in r.output
    r = CliRunner().invoke(app, ["corpus", "debian", "--help"])
    assert r.exit_code == 0 and "--out" in r.output
    out = tmp_path / "s.wav"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpeechFileWarning)
        r = CliRunner().invoke(
            app, ["corpus", "sample", str(tone_corpus), "--out", str(out), "--n", "3"]
        )
        assert r.exit_code == 0, r.output
        assert sf.info(str(out)).frames == 3 * 16000
        r = CliRunner().invoke(app, ["corpus", "describe", str(tone_corpus), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["splits"]["train"]["speakers"] >= 1


def test_cli_corpus_readable_and_json_output(tone_corpus, tmp_path):
    import audiolrp.cli  # noqa: F401  registers the subcommands
    from audiolrp.cli.app import app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpeechFileWarning)
        r = CliRunner().invoke(app, ["corpus", "describe", str(tone_corpus)])
        assert r.exit_code == 0, r.output
        lines = r.output.splitlines()
        assert "{" not in r.output and lines[0].startswith("name: ")
        assert any(ln.split()[:1] == ["train"] for ln in lines)
        out = tmp_path / "new" / "s.wav"  # the folder is created
        r = CliRunner().invoke(
            app, ["corpus", "sample", str(tone_corpus), "--out", str(out), "--n", "2", "--json"]
        )
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["file"] == str(out) and data["segments"] == 2 and data["seconds"] == 2.0
    assert sf.info(str(out)).frames == 2 * 16000


class _SpyCorpus:
    """Hands out ``inner``'s segments and records each draw: ``(split, talker)`` for a single
    segment (target speech, a speech point source), ``(split, None)`` for a babble batch."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.drawn = inner, inner.name, []

    def speakers(self, split):
        return self.inner.speakers(split)

    def sample_segment(self, split, rng, duration_s=1.0):
        seg = self.inner.sample_segment(split, rng, duration_s=duration_s)
        self.drawn.append((split, self.inner.last_segment_info()["speaker"]))
        return seg

    def sample_segments(self, split, rng, n, duration_s=1.0):
        self.drawn.append((split, None))
        return self.inner.sample_segments(split, rng, n, duration_s=duration_s)

    def last_segment_info(self):
        return self.inner.last_segment_info()


def _tone_power(x: np.ndarray, f_hz: float, fs: int = FS_HZ) -> float:
    """Power of ``x`` within 20 Hz of ``f_hz`` (Hann window)."""
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    f = np.fft.rfftfreq(len(x), 1 / fs)
    return float(spec[np.abs(f - f_hz) <= 20].sum())


def test_speech_point_noise_talkers_keep_to_the_scene_split(opened_tone_corpus):
    """``point_noise_kind="speech"``: every point source is a talker of the scene's split, in the
    draws and in the signal (each tone-corpus talker is one tone: the point-source noise holds
    the tones of its own talkers and none of another split's), so the talkers of train, val and
    test point noise are disjoint."""
    from audiolrp.simulation.scenes import SceneConfig, simulate_scene

    c = opened_tone_corpus
    splits = ("train", "val", "test")
    own = {s: set(c.speakers(s)) for s in splits}
    cfg = SceneConfig(order=1, speech_lead_in_s=0.25, rt60_s=(0.2, 0.3), n_point_noise=(2, 3),
                      point_noise_share=(1.0, 1.0), point_noise_kind="speech")
    used: dict[str, set[str]] = {s: set() for s in splits}
    for split in splits:
        for seed in range(3):
            spy = _SpyCorpus(c)
            scene = simulate_scene(cfg, seed, spy, split=split)
            assert all(s == split for s, _ in spy.drawn), spy.drawn
            babble = next(i for i, (_, spk) in enumerate(spy.drawn) if spk is None)
            target = [spk for _, spk in spy.drawn[:babble]]
            point = [spk for _, spk in spy.drawn[babble + 1:]]
            k = scene.params["n_point_noise"]
            assert target[-1] == scene.params["speaker"] and len(point) == k >= 2
            assert set(target) | set(point) <= own[split]
            used[split] |= set(point)
            # in the signal: the noise is the point sources alone (share 1); the tones in it
            # are those of the drawn talkers (>= 1e-2 of the loudest; no other talker, of
            # this split or another, above 1e-3: leakage and codec noise stay below 1e-4)
            noise_w = scene.noise[0].astype(np.float64)
            power = {spk: _tone_power(noise_w, hz) for spk, hz in SPEAKER_HZ.items()}
            loudest = max(power.values())
            rel = {spk: p / loudest for spk, p in power.items()}
            assert {spk for spk, r in rel.items() if r > 1e-2} == set(point), rel
            assert all(r < 1e-3 for spk, r in rel.items() if spk not in point), rel
    assert not used["train"] & used["val"] and not used["train"] & used["test"]
    assert not used["val"] & used["test"]
    assert all(used.values()) and len(used["train"]) >= 2
