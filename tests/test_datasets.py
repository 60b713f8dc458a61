"""Tests of audiolrp.data.datasets: byte-identical shards (serial/split/resume/parallel), manifest,
FeatureDataset and the `audiolrp simulate` CLI. Tiny datasets (order 1, noise corpus)."""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from audiolrp.data.datasets import (
    MANIFEST_NAME,
    DatasetSpec,
    FeatureDataset,
    finalize_dataset,
    generate_dataset,
    iter_batches,
    parse_shard_arg,
    scene_seed,
    verify_dataset,
)
from audiolrp.errors import AudioLRPError, DatasetError
from audiolrp.signal import features as F
from audiolrp.simulation.scenes import SPLITS, SceneConfig, simulate_scene


def tiny_spec(**kw: object) -> DatasetSpec:
    cfg = SceneConfig(order=1, speech="noise", speech_lead_in_s=0.2)
    base: dict[str, object] = dict(
        config=cfg, seed=7, counts={"train": 3, "val": 1, "test": 2}, shard_size=2
    )
    base.update(kw)
    return DatasetSpec(**base)  # type: ignore[arg-type]


def digests(root: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.iterdir())
        if p.is_file()
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ds") / "serial"
    generate_dataset(root, tiny_spec(), progress=False)
    return root


def test_manifest_and_files(built: Path) -> None:
    m = json.loads((built / MANIFEST_NAME).read_text())
    assert m["counts"] == {"train": 3, "val": 1, "test": 2}
    assert [s["file"] for s in m["shards"]] == [
        "train-00000.h5", "train-00001.h5", "val-00000.h5", "test-00000.h5"
    ]
    for s in m["shards"]:
        assert hashlib.sha256((built / s["file"]).read_bytes()).hexdigest() == s["sha256"]
    assert m["normalization"]["intensity"] is None
    assert set(m["normalization"]["hoa"]) == {"0", "1"}
    assert not list(built.glob("*.tmp"))
    verify_dataset(built)


def test_stats_match_direct_computation(built: Path) -> None:
    ds = FeatureDataset(built, "train", "hoa", order=1)
    audio = np.stack([ds.audio(i) for i in range(len(ds))])
    for order in (0, 1):
        ref = F.hoa_normalization_stats(audio.astype(np.float64), order)
        got = FeatureDataset(built, "train", "hoa", order=order).hoa_stats()
        assert math.isclose(got.magnitude_mean, ref.magnitude_mean, rel_tol=1e-6)
        assert math.isclose(got.magnitude_std, ref.magnitude_std, rel_tol=1e-6)
        assert math.isclose(got.phase_std, ref.phase_std, rel_tol=1e-6)
    mean, std = ds.normalization_stats()
    assert mean.shape == std.shape == (8,) and mean.dtype == np.float32
    m_i, s_i = FeatureDataset(built, "val", "intensity").normalization_stats()
    assert np.all(m_i == 0) and np.all(s_i == 1) and m_i.shape == (6,)


def test_split_run_and_resume_are_byte_identical(built: Path, tmp_path: Path) -> None:
    ref = digests(built)
    # two "machines", then finalize
    split_root = tmp_path / "split"
    s0 = generate_dataset(split_root, tiny_spec(), shard=(0, 2), progress=False)
    s1 = generate_dataset(split_root, tiny_spec(), shard=(1, 2), progress=False)
    assert s0["manifest"] is None and s0["shards_written"] + s1["shards_written"] == 4
    assert not (split_root / MANIFEST_NAME).exists()
    finalize_dataset(split_root)
    assert digests(split_root) == ref
    # resume: one shard deleted, one truncated, one stale tmp file
    res = tmp_path / "resume"
    shutil.copytree(built, res)
    (res / MANIFEST_NAME).unlink()
    (res / "train-00001.h5").unlink()
    data = (res / "test-00000.h5").read_bytes()
    (res / "test-00000.h5").write_bytes(data[: len(data) // 2])
    (res / "val-00000.h5.tmp").write_bytes(b"partial")
    out = generate_dataset(res, tiny_spec(), progress=False)
    assert out["shards_kept"] == 2 and out["shards_written"] == 2
    assert {k: v for k, v in digests(res).items() if not k.endswith(".tmp")} == ref


@pytest.mark.slow
def test_parallel_workers_byte_identical(built: Path, tmp_path: Path) -> None:
    root = tmp_path / "par"
    generate_dataset(root, tiny_spec(), workers=2, progress=False)
    assert digests(root) == digests(built)


def test_feature_dataset_items_and_batched_path(built: Path) -> None:
    ds = FeatureDataset(built, "test", "hoa", return_meta=True)
    x, y, meta = ds[1]
    assert x.shape == (8, 50, 512) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert int(y) == meta["label"] and meta["scene_index"] == 1
    assert {"snr_db", "rt60_s", "azimuth_rad", "elevation_rad", "room_m"} <= set(meta)
    np.testing.assert_allclose(x.numpy(), F.hoa_features(ds.audio(1), 1), atol=1e-5)
    d = ds.audio(1, part="direct")
    assert d.shape == (4, 16000) and np.abs(d).max() > 0
    low = FeatureDataset(built, "test", "hoa", order=0)
    assert low[0][0].shape == (2, 50, 512)
    np.testing.assert_array_equal(low[0][0][0].numpy(), ds[0][0][0].numpy())
    inten = FeatureDataset(built, "test", "intensity")
    assert inten[0][0].shape == (6, 50, 512)
    # batched path: audio items + collate == per-item features
    raw = FeatureDataset(built, "train", "intensity", return_audio=True)
    loader = torch.utils.data.DataLoader(raw, batch_size=2, collate_fn=raw.collate_fn("cpu"))
    xb, yb = next(iter(loader))
    assert xb.shape == (2, 6, 50, 512)
    per_item = torch.stack([FeatureDataset(built, "train", "intensity")[i][0] for i in (0, 1)])
    torch.testing.assert_close(xb, per_item)
    xi, yi = next(iter(iter_batches(FeatureDataset(built, "train", "hoa"), [2, 0], 2)))
    assert xi.shape == (2, 8, 50, 512) and yi.tolist() == [raw.labels[2], raw.labels[0]]


def test_bad_inputs(built: Path, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="manifest.json not found"):
        FeatureDataset(tmp_path, "train")
    with pytest.raises(DatasetError, match="stores order 1"):
        FeatureDataset(built, "train", "hoa", order=2)
    with pytest.raises(DatasetError, match="not stored"):
        FeatureDataset(built, "train").audio(0, part="direct")
    with pytest.raises(DatasetError):
        FeatureDataset(built, "dev")
    with pytest.raises(DatasetError):
        FeatureDataset(built, "train", feature="mfcc")
    bad = tmp_path / "trunc"
    shutil.copytree(built, bad)
    data = (bad / "train-00000.h5").read_bytes()
    (bad / "train-00000.h5").write_bytes(data[:1000])
    with pytest.raises(DatasetError, match="truncated"):
        FeatureDataset(bad, "train")
    with pytest.raises(DatasetError, match="missing or corrupt"):
        finalize_dataset(bad)
    (bad / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(DatasetError, match="not valid JSON"):
        FeatureDataset(bad, "val")
    with pytest.raises(DatasetError, match="different recipe"):
        generate_dataset(built, tiny_spec(seed=8), progress=False)
    with pytest.raises(DatasetError, match="no dataset_spec.json"):
        finalize_dataset(tmp_path)
    for text in ("1/1", "a/b", "2"):
        with pytest.raises(AudioLRPError):
            parse_shard_arg(text)
    with pytest.raises(AudioLRPError):
        tiny_spec(dtype="int8")


def test_failed_run_in_a_new_folder_leaves_no_recipe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that writes no shard removes its dataset_spec.json, so a corrected re-run with
    another recipe is not refused; folders with other content keep theirs."""
    import audiolrp.data.shards as shards  # the owner: generate_dataset calls it there

    real = shards.generate_shard

    def broken(*args: object, **kw: object) -> None:
        raise DatasetError("no usable speech")

    small = {"train": 1, "val": 0, "test": 0}
    monkeypatch.setattr(shards, "generate_shard", broken)
    root = tmp_path / "new"
    with pytest.raises(DatasetError, match="no usable speech"):
        generate_dataset(root, tiny_spec(counts=small), progress=False)
    assert list(root.iterdir()) == []
    shared = tmp_path / "shared"  # e.g. another machine's --shard run is writing here
    shared.mkdir()
    (shared / ".train-00001.h5.0123abcd.tmp").write_bytes(b"")
    with pytest.raises(DatasetError):
        generate_dataset(shared, tiny_spec(counts=small), shard=(0, 2), progress=False)
    assert (shared / "dataset_spec.json").is_file()
    monkeypatch.setattr(shards, "generate_shard", real)
    summary = generate_dataset(root, tiny_spec(counts=small, seed=9), progress=False)
    assert summary["shards_written"] == 1 and (root / MANIFEST_NAME).is_file()


def test_float16_storage_precision(tmp_path: Path) -> None:
    spec16 = tiny_spec(counts={"train": 1, "val": 0, "test": 0}, dtype="float16")
    spec32 = tiny_spec(counts={"train": 1, "val": 0, "test": 0})
    generate_dataset(tmp_path / "a", spec16, progress=False)
    generate_dataset(tmp_path / "b", spec32, progress=False)
    a = FeatureDataset(tmp_path / "a", "train").audio(0)
    b = FeatureDataset(tmp_path / "b", "train").audio(0)
    assert (tmp_path / "a" / "train-00000.h5").stat().st_size < 0.6 * (
        tmp_path / "b" / "train-00000.h5"
    ).stat().st_size
    np.testing.assert_allclose(a, b, atol=1e-3 * np.abs(b).max())
    fa, fb = F.hoa_features(a, 1), F.hoa_features(b, 1)
    assert np.abs(fa[:4] - fb[:4]).max() < 1e-3 * fb[:4].max()


def test_cli_simulate_json(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from audiolrp.cli import app

    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"speech_lead_in_s": 0.2}))
    out = tmp_path / "cli"
    args = ["simulate", str(out), "--n-train", "2", "--n-val", "1", "--n-test", "1",
            "--order", "1", "--shard-size", "2", "--corpus", "noise", "--config", str(cfg),
            "--json"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    summary = json.loads(r.output)
    assert summary["counts"] == {"train": 2, "val": 1, "test": 1}
    assert summary["shards_written"] == 3 and (out / MANIFEST_NAME).exists()
    r2 = CliRunner().invoke(app, args)
    assert json.loads(r2.output)["shards_kept"] == 3
    r3 = CliRunner().invoke(app, ["simulate", str(out), "--finalize", "--json"])
    assert r3.exit_code == 0 and json.loads(r3.output)["shards_total"] == 3


# --------------------------------------------------------------------------------------------
# stored examples are the simulated scenes; splits share no speakers or recordings
# --------------------------------------------------------------------------------------------


def test_stored_examples_are_the_simulated_scenes(built: Path) -> None:
    """Example i of a split is ``simulate_scene(config, scene_seed(seed, split, i))``: the same
    audio bytes (mixture, and the direct sound where stored), label, parameters and features."""
    spec = tiny_spec()
    for split, n in spec.counts.items():
        hoa = FeatureDataset(built, split, "hoa", return_meta=True)
        inten = FeatureDataset(built, split, "intensity")
        assert len(hoa) == n
        for i in range(n):
            scene = simulate_scene(spec.config, scene_seed(spec.seed, split, i), split=split)
            assert hoa.audio(i).tobytes() == scene.mixture.tobytes()
            if split in spec.direct_splits:
                assert hoa.audio(i, part="direct").tobytes() == scene.direct.tobytes()
            x, y, meta = hoa[i]
            assert int(y) == scene.label == int(hoa.labels[i])
            assert meta == {"scene_index": i, "shard": meta["shard"], **scene.params}
            mixture = torch.from_numpy(scene.mixture)
            assert torch.equal(x, F.compute_features(mixture, "hoa", 1).float())
            assert torch.equal(inten[i][0], F.compute_features(mixture, "intensity", 1).float())


class _RecordingCorpus:
    """A speech corpus that notes the speakers of every segment it hands out, per split (the
    target via ``last_segment_info``, the babble talkers via the draw that
    ``sample_segments`` makes)."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.speakers_drawn: dict[str, set[str]] = {s: set() for s in SPLITS}

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def sample_segment(self, split: str, rng: np.random.Generator, duration_s: float = 1.0):
        seg = self.inner.sample_segment(split, rng, duration_s)
        self.speakers_drawn[split].add(self.inner.last_segment_info()["speaker"])
        return seg

    def sample_segments(self, split: str, rng: np.random.Generator, n: int, duration_s=1.0):
        segs, speakers, _ = self.inner._draw(split, rng, n, duration_s)  # sample_segments' draw
        self.speakers_drawn[split].update(speakers)
        return segs


def _write_speaker_folders(root: Path, n_speakers: int) -> None:
    """``n_speakers`` folders of two 3-s files of tone bursts (one pitch per speaker)."""
    import soundfile as sf

    rng = np.random.default_rng(0)
    t = np.arange(3 * 16000) / 16000
    for k in range(n_speakers):
        (root / f"spk{k}").mkdir(parents=True)
        for j in range(2):
            env = (np.sin(2 * np.pi * rng.uniform(2, 4) * t) > -0.3).astype(np.float64)
            x = 0.3 * env * np.sin(2 * np.pi * (200.0 + 90.0 * k + 7.0 * j) * t)
            sf.write(root / f"spk{k}" / f"utt{j}.wav", x.astype(np.float32), 16000)


def test_splits_share_no_speakers_or_recordings(tmp_path: Path) -> None:
    """A dataset from a speaker-split corpus: every target and babble segment of a split comes
    from that split's speakers, whose files belong to no other split."""
    from audiolrp.simulation.speech import DirectoryCorpus

    _write_speaker_folders(tmp_path / "corpus", 6)
    corpus = _RecordingCorpus(DirectoryCorpus(tmp_path / "corpus", seed=0))
    cfg = SceneConfig(order=1, speech=str(tmp_path / "corpus"), speech_lead_in_s=0.2)
    spec = DatasetSpec(config=cfg, seed=1, counts={"train": 4, "val": 2, "test": 2}, shard_size=4)
    generate_dataset(tmp_path / "ds", spec, progress=False, corpus=corpus)
    inner = corpus.inner
    own = {s: set(inner.speakers(s)) for s in SPLITS}
    files = {s: set(inner.files(s)) for s in SPLITS}
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        assert not own[a] & own[b] and not files[a] & files[b]
        assert not corpus.speakers_drawn[a] & corpus.speakers_drawn[b]
    for split in SPLITS:
        assert corpus.speakers_drawn[split] and corpus.speakers_drawn[split] <= own[split]
        ds = FeatureDataset(tmp_path / "ds", split, return_meta=True)
        assert {ds.meta(i)["speaker"] for i in range(len(ds))} <= own[split]
    assert set().union(*files.values()) == set((tmp_path / "corpus").rglob("*.wav"))


def test_noise_corpus_splits_are_independent_streams(built: Path) -> None:
    """The ``noise`` corpus has no speakers or files: each scene draws its noise from its own
    seed, so no two scenes of the dataset (in one split or across splits) share a stream."""
    spec = tiny_spec()
    states = [
        tuple(scene_seed(spec.seed, s, i).generate_state(4))
        for s, n in spec.counts.items()
        for i in range(n)
    ]
    assert len(set(states)) == len(states)
    mixtures = [
        FeatureDataset(built, s).audio(i).tobytes()
        for s, n in spec.counts.items()
        for i in range(n)
    ]
    assert len(set(mixtures)) == len(mixtures)


def test_debian_corpus_splits_share_no_speakers_or_recordings() -> None:
    """The recorded corpus (``audiolrp corpus debian``): its splits have disjoint speakers, and
    no recording (by content) appears in two splits."""
    from audiolrp.simulation.speech import open_corpus
    from ci_policy import need_debian_corpus

    need_debian_corpus()
    corpus = open_corpus("debian")
    own = {s: set(corpus.speakers(s)) for s in SPLITS}
    content: dict[str, set[str]] = {}
    for split in SPLITS:
        assert own[split]
        content[split] = {hashlib.sha256(f.read_bytes()).hexdigest() for f in corpus.files(split)}
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        assert not own[a] & own[b]
        assert not content[a] & content[b]
    assert own["val"] == {"asterisk-ru"} and "asterisk-it" in own["test"]


def test_terminating_the_shard_pool_joins_its_manager_thread() -> None:
    """Ctrl-C leaves with ``os._exit``, which does not join a process pool's manager thread; a
    manager thread still releasing the pool's queues then unlinks a semaphore unbeknown to the
    resource tracker, which prints "leaked semaphore" warnings under the one-line message."""
    import multiprocessing as mp
    import time
    from concurrent.futures import ProcessPoolExecutor

    from audiolrp.data.shards import _terminate

    pool = ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn"))
    fut = pool.submit(time.sleep, 60.0)
    t0 = time.monotonic()
    while not fut.running() and time.monotonic() - t0 < 60:
        time.sleep(0.01)
    manager = pool._executor_manager_thread  # type: ignore[attr-defined]
    assert manager is not None and manager.is_alive()
    _terminate(pool)
    assert not manager.is_alive()
