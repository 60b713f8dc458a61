"""Several sources at once: scenes, dataset files, matching, counting, the classic histogram-peak
estimator and the sigmoid head (docs/multisource.md)."""

from __future__ import annotations

import itertools
import json
import math

import h5py
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from audiolrp.data.multisource import (
    MultiSourceDataset,
    generate_multisource_dataset,
    multisource_spec,
)
from audiolrp.data.spec import DatasetSpec
from audiolrp.errors import AudioLRPError
from audiolrp.evaluation.multisource import (
    choose_detector,
    choose_threshold,
    classic_detector,
    intensity_histogram,
    match_directions,
    multisource_metrics,
)
from audiolrp.models import build_model, load, save
from audiolrp.models.multisource import SourceDetector, grid_peaks
from audiolrp.signal.ambisonics import angular_error_deg, class_distance_deg, doa_grid
from audiolrp.simulation.multisource import (
    MultiSourceConfig,
    parse_sources,
    simulate_multisource_scene,
)
from audiolrp.simulation.scenes import SceneConfig, simulate_scene
from audiolrp.training.multisource import multisource_targets

CFG = SceneConfig(order=1, speech="noise", rt60_s=(0.2, 0.4))


def _dirs(draw_angles: list[tuple[float, float]]) -> np.ndarray:
    return np.asarray(draw_angles, np.float64).reshape(-1, 2)


angle_pairs = st.lists(
    st.tuples(st.floats(-math.pi, math.pi), st.floats(-1.5, 1.5)), min_size=0, max_size=4
)


# -------------------------------------------------------------------------------- matching
@settings(max_examples=60, deadline=None)
@given(true=angle_pairs, est=angle_pairs)
def test_hungarian_matching_equals_brute_force(true: list, est: list) -> None:
    t, e = _dirs(true), _dirs(est)
    m = match_directions(t, e)
    k = min(len(t), len(e))
    assert len(m.pairs) == k
    assert m.misses == len(t) - k and m.false_alarms == len(e) - k
    if k == 0:
        return
    cost = angular_error_deg(t[:, None, 0], t[:, None, 1], e[None, :, 0], e[None, :, 1])
    best = math.inf
    if len(t) <= len(e):
        for perm in itertools.permutations(range(len(e)), len(t)):
            best = min(best, sum(cost[i, j] for i, j in enumerate(perm)))
    else:
        for perm in itertools.permutations(range(len(t)), len(e)):
            best = min(best, sum(cost[i, j] for j, i in enumerate(perm)))
    assert float(np.sum(m.errors_deg)) == pytest.approx(best, abs=1e-9)
    assert len({i for i, _ in m.pairs}) == k and len({j for _, j in m.pairs}) == k


def test_metrics_on_explicit_cases() -> None:
    a = (0.0, 0.0)
    b = (math.radians(90), 0.0)
    c = (math.radians(180), 0.0)
    true = [_dirs([a, b]), _dirs([c]), _dirs([a])]
    est = [_dirs([(math.radians(95), 0.0), (math.radians(2), 0.0)]), _dirs([]),
           _dirs([a, c])]
    m = multisource_metrics(true, est)
    assert m["n_clips"] == 3 and m["n_sources"] == 4
    assert m["misses"] == 1 and m["false_alarms"] == 1
    assert m["count_accuracy"] == pytest.approx(1 / 3)
    errs = sorted([5.0, 2.0, 0.0])
    assert m["matched_error_deg"]["mean"] == pytest.approx(np.mean(errs))
    assert m["count_confusion"] == {"2": {"2": 1}, "1": {"0": 1, "2": 1}}
    assert m["matched_within_10_deg"] == pytest.approx(3 / 4)


# -------------------------------------------------------------------------------- peaks
def test_grid_peaks_threshold_separation_and_count() -> None:
    grid = doa_grid()
    dist = class_distance_deg()
    v = np.zeros(len(grid))
    a = 0
    b = int(np.argmin(np.abs(dist[a] - 90)))
    near_a = int(np.argsort(dist[a])[1])  # a neighbour of a: suppressed by the separation
    v[a], v[b], v[near_a] = 0.9, 0.6, 0.8
    assert grid_peaks(v, 0.5, 25.0).tolist() == [a, b]
    assert grid_peaks(v, 0.7, 25.0).tolist() == [a]
    assert grid_peaks(v, 0.5, 0.0).tolist() == [a, near_a, b]
    assert grid_peaks(v, 0.5, 25.0, max_peaks=1).tolist() == [a]
    assert grid_peaks(v, 0.95, 25.0).size == 0
    assert grid_peaks(v, 0.1, 25.0, relative=0.7).tolist() == [a]  # 0.6 < 0.7 * 0.9
    assert grid_peaks(v, 0.1, 25.0, relative=0.6).tolist() == [a, b]


def test_choose_threshold_counts_sources() -> None:
    grid = doa_grid()
    dist = class_distance_deg()
    maps, true = [], []
    for n in (1, 2, 3, 2):
        v = np.zeros(len(grid))
        classes = [0, int(np.argmin(np.abs(dist[0] - 90))), int(np.argmin(np.abs(dist[0] - 170)))]
        for c in classes[:n]:
            v[c] = 0.8
        maps.append(v)
        true.append(grid[classes[:n]])
    thr, m = choose_threshold(np.stack(maps), true, lambda t: SourceDetector(threshold=t))
    assert 0.0 < thr <= 0.8
    assert m["count_accuracy"] == 1.0
    assert m["matched_error_deg"]["mean"] == pytest.approx(0.0, abs=1e-6)
    # a map scaled per clip: only a threshold relative to the clip's maximum counts right
    background = np.where(np.stack(maps) > 0, 0.0, 0.1)  # clip 1's floor above clip 4's peaks
    scaled = (np.stack(maps) + background) * np.array([1.0, 0.2, 0.5, 0.05])[:, None]
    det, m2 = choose_detector(scaled, true, SourceDetector())
    assert m2["count_accuracy"] == 1.0 and det.relative > 0


# -------------------------------------------------------------------------------- classic
def _plane_waves(dirs_rad: list[tuple[float, float]], seed: int) -> np.ndarray:
    """First-order SN3D plane waves of independent white noises (1 s), talking in turns of
    0.1 s (speech-like sparsity: most STFT bins hold one source, the assumption under every
    intensity-histogram estimator; with both noises in every bin the bins point between the
    sources instead)."""
    from audiolrp.signal.ambisonics import encode_plane_wave

    rng = np.random.default_rng(seed)
    turn = (np.arange(16000) // 1600) % len(dirs_rad)
    out = np.zeros((4, 16000))
    for k, (az, el) in enumerate(dirs_rad):
        out += encode_plane_wave(rng.standard_normal(16000) * (turn == k), az, el, 1)
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_classic_histogram_finds_two_plane_waves_within_a_grid_step(seed: int) -> None:
    grid = doa_grid()
    rng = np.random.default_rng(100 + seed)
    i, j = rng.choice(len(grid), 2, replace=False)
    while class_distance_deg()[i, j] < 60:
        j = int(rng.integers(len(grid)))
    dirs = [tuple(grid[i]), tuple(grid[j])]
    hist = intensity_histogram(_plane_waves(dirs, seed))
    assert hist.shape == (len(grid),) and hist.max() == pytest.approx(1.0)
    est = classic_detector(0.3).detect(hist)[1]
    m = match_directions(np.asarray(dirs), est)
    assert len(est) == 2
    assert np.all(m.errors_deg <= 10.0)  # the grid's neighbour spacing is 8.6..10 deg


def test_classic_histogram_of_one_plane_wave_peaks_at_its_class() -> None:
    grid = doa_grid()
    hist = intensity_histogram(_plane_waves([tuple(grid[123])], 5))
    assert int(np.argmax(hist)) == 123
    assert classic_detector(0.3).detect(hist)[0].tolist() == [123]


# -------------------------------------------------------------------------------- scenes
def test_one_talker_scene_is_the_single_source_scene() -> None:
    for seed in (0, 7):
        ms = simulate_multisource_scene(CFG, MultiSourceConfig(n_sources=(1, 1)), seed)
        sc = simulate_scene(CFG, seed)
        assert ms.n_sources == 1 and ms.labels == (sc.label,)
        np.testing.assert_array_equal(ms.mixture, sc.mixture)
        np.testing.assert_array_equal(ms.source_direct[0], sc.direct)
        np.testing.assert_array_equal(ms.source_reverberant[0], sc.reverberant)
        np.testing.assert_array_equal(ms.noise, sc.noise)


def test_multisource_scene_invariants() -> None:
    multi = MultiSourceConfig(n_sources=(3, 3), min_separation_deg=40.0)
    ms = simulate_multisource_scene(CFG, multi, 3)
    again = simulate_multisource_scene(CFG, multi, 3)
    np.testing.assert_array_equal(ms.mixture, again.mixture)  # seeded
    assert ms.n_sources == 3 and ms.source_direct.shape == (3, 4, 16000)
    parts = ms.source_direct.sum(0) + ms.source_reverberant.sum(0) + ms.noise
    np.testing.assert_allclose(ms.mixture, parts, atol=1e-6)
    w_rms = float(np.sqrt(np.mean(ms.mixture[0].astype(np.float64) ** 2)))
    assert w_rms == pytest.approx(0.05, rel=1e-4)
    az, el = np.asarray(ms.azimuth_rad), np.asarray(ms.elevation_rad)
    sep = angular_error_deg(az[:, None], el[:, None], az[None], el[None])
    assert np.all(sep[~np.eye(3, dtype=bool)] >= 40.0)
    # talker 1 is the single-source scene's talker (same direction), its audio rescaled only
    sc = simulate_scene(CFG, 3)
    assert ms.labels[0] == sc.label
    g = ms.params["multisource_gain"]
    np.testing.assert_allclose(ms.source_direct[0], sc.direct * g, atol=1e-6)
    # each direct part is a plane wave from its talker's direction (first order: [W, Y, Z, X])
    for s in range(3):
        d = ms.source_direct[s].astype(np.float64)
        v = np.array([np.dot(d[0], d[3]), np.dot(d[0], d[1]), np.dot(d[0], d[2])])
        ang = angular_error_deg(az[s], el[s], math.atan2(v[1], v[0]),
                                math.asin(v[2] / np.linalg.norm(v)))
        assert float(ang) < 0.5


def test_multisource_config_and_sources_parse() -> None:
    assert parse_sources("1-3") == (1, 3) and parse_sources("2") == (2, 2)
    for bad in ("0-2", "3-1", "x", "1-4"):
        with pytest.raises(AudioLRPError):
            parse_sources(bad)
    with pytest.raises(AudioLRPError):
        MultiSourceConfig(min_separation_deg=150)
    cfg = MultiSourceConfig((2, 3), 35.0, (-1.0, 1.0))
    assert MultiSourceConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(AudioLRPError, match="ideal microphone"):
        simulate_multisource_scene(SceneConfig(order=1, speech="noise", mic="tetra"),
                                   MultiSourceConfig((2, 2)), 0)


def test_multisource_dataset_files(tmp_path) -> None:
    base = DatasetSpec(config=CFG, seed=5, counts={"train": 3, "val": 0, "test": 2},
                       shard_size=2, all_parts=True)
    spec = multisource_spec(base, MultiSourceConfig((2, 3)))
    assert spec.fingerprint() != base.fingerprint()
    assert base.fingerprint() == DatasetSpec(config=CFG, seed=5, counts=base.counts,
                                             shard_size=2, all_parts=True).fingerprint()
    generate_multisource_dataset(tmp_path / "ms", spec)
    ds = MultiSourceDataset(tmp_path / "ms", "test")
    from audiolrp.data.multisource import _scene_config  # the talker-1 config of the recipe
    from audiolrp.data.spec import scene_seed

    for i in range(2):
        sc = simulate_multisource_scene(_scene_config(spec.config), MultiSourceConfig((2, 3)),
                                        scene_seed(5, "test", i), split="test")
        assert int(ds.n_sources[i]) == sc.n_sources
        assert ds.source_labels[i, : sc.n_sources].tolist() == list(sc.labels)
        np.testing.assert_allclose(ds.directions(i)[:, 0], sc.azimuth_rad)
        np.testing.assert_array_equal(ds.audio(i), sc.mixture)
        np.testing.assert_array_equal(ds.source_audio(i), sc.source_direct)
        np.testing.assert_array_equal(ds.source_audio(i, "source_reverberant"),
                                      sc.source_reverberant)
    with h5py.File(tmp_path / "ms" / "train-00000.h5") as f:
        assert f.attrs["spec_sha256"] == spec.fingerprint()
        assert "source_direct" not in f  # only the direct splits keep per-talker audio
    # a single-source reader sees talker 1
    from audiolrp.data.dataset import FeatureDataset

    assert FeatureDataset(tmp_path / "ms", "test", feature="intensity").labels.tolist() == [
        int(v) for v in ds.source_labels[:, 0]
    ]


# -------------------------------------------------------------------------------- model
def test_sigmoid_head_saves_loads_and_softmax_files_are_unchanged(tmp_path) -> None:
    soft = build_model("intensity", size="tiny")
    assert "head" not in soft.config
    sig = build_model("intensity", size="tiny", head="sigmoid")
    sig.load_state_dict(soft.state_dict())  # same tensors: a softmax model can seed it
    path = save(sig, tmp_path / "m", feature="intensity",
                extra={"multisource": SourceDetector(threshold=0.4).to_dict()})
    lm = load(path)
    assert lm.model.head == "sigmoid"
    x = torch.randn(2, 6, 50, 512)
    with torch.no_grad():
        p = lm.model.clip_probabilities(lm.model(x))
        np.testing.assert_allclose(p.numpy(), torch.sigmoid(sig.eval()(x)).mean(1).numpy(),
                                   atol=1e-6)
    from audiolrp.models.multisource import detector_of

    assert detector_of(lm.config).threshold == 0.4
    assert load("intensity").model.head == "softmax"


def test_multisource_targets() -> None:
    grid = doa_grid()
    az = np.array([[grid[0, 0], grid[200, 0], np.nan]])
    el = np.array([[grid[0, 1], grid[200, 1], np.nan]])
    t = multisource_targets(az, el, 8.0).numpy()[0]
    assert t.shape == (len(grid),)
    assert t[0] == pytest.approx(1.0) and t[200] == pytest.approx(1.0)
    assert t.max() <= 1.0 and np.sort(t)[-3] < 1.0


# -------------------------------------------------------------------------------- per source
def _two_talkers() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Two first-order plane-wave 'talkers' speaking in turns, faint noise; returns
    (mixture, images (2, 4, n), noise, directions (2, 2))."""
    from audiolrp.signal.ambisonics import encode_plane_wave

    rng = np.random.default_rng(4)
    dirs = np.array([[math.radians(30), 0.1], [math.radians(-100), -0.2]])
    turn = (np.arange(16000) // 1600) % 2
    images = np.stack([
        encode_plane_wave(rng.standard_normal(16000) * (turn == k), dirs[k, 0], dirs[k, 1], 1)
        for k in range(2)
    ])
    noise = 1e-3 * rng.standard_normal((4, 16000))
    return images.sum(0) + noise, images, noise, dirs


@pytest.mark.parametrize("listened", [0, 1])
def test_per_source_shares_when_the_model_listens_to_one_talker(listened: int) -> None:
    from audiolrp.analysis.directions import w_energy
    from audiolrp.analysis.per_source import analyse_source, summarize_sources

    mix, images, noise, dirs = _two_talkers()
    # relevance of a model that only listens to talker `listened`: its energy in every bin
    relevance = w_energy(images[listened])[None]
    a = analyse_source(relevance, mix, dirs, images, noise, detected_class=0,
                       detected_rad=dirs[listened], matched_source=listened)
    other = 1 - listened
    assert a.direction_shares.sum() == pytest.approx(1.0)
    assert a.dominance_shares.sum() == pytest.approx(1.0)
    assert a.direction_shares[listened] > 0.9 and a.direction_shares[other] < 0.02
    assert a.dominance_shares[listened] > 0.97
    oo = a.own_other("dominance")
    assert oo["own"] > 0.97 and oo["others"] < 0.03
    # the energy reference sees both talkers
    assert 0.3 < a.energy_dominance_shares[listened] < 0.7
    peak = doa_grid()[int(np.argmax(a.histogram))]
    assert float(angular_error_deg(*peak, *dirs[listened])) < 10.0  # the map peaks there
    s = summarize_sources([a])
    assert s["n_matched"] == 1 and s["dominance"]["own_above_others"] == 1.0


def test_per_source_shares_of_energy_relevance_equal_the_energy_shares() -> None:
    from audiolrp.analysis.directions import w_energy
    from audiolrp.analysis.per_source import analyse_source

    mix, images, noise, dirs = _two_talkers()
    a = analyse_source(3.0 * w_energy(mix)[None], mix, dirs, images, noise, detected_class=0,
                       detected_rad=dirs[0], matched_source=None)
    np.testing.assert_allclose(a.direction_shares, a.energy_direction_shares, rtol=1e-9)
    np.testing.assert_allclose(a.dominance_shares, a.energy_dominance_shares, rtol=1e-9)
    assert math.isnan(a.own_other()["own"])  # a false alarm has no own talker


def test_bin_owners() -> None:
    from audiolrp.analysis.directions import active_intensity, bin_directions
    from audiolrp.analysis.per_source import bin_owner_by_direction, bin_owner_by_dominance

    mix, images, noise, dirs = _two_talkers()
    own = bin_owner_by_direction(bin_directions(active_intensity(mix)), dirs, 15.0)
    dom = bin_owner_by_dominance(np.concatenate([images, noise[None]]))
    assert own.shape == dom.shape == (50, 512)
    loud = dom < 2
    # a bin's direction is mostly its dominant talker's (turn changes mix both talkers)
    assert np.mean(own[loud] == dom[loud]) > 0.9


@pytest.mark.slow
def test_analyze_sources_command_end_to_end(tmp_path) -> None:
    """Tiny sigmoid model, two scenes: the command writes results and one map per detection."""
    from audiolrp.app.multisource import analyse_sources

    model = build_model("intensity", size="tiny", head="sigmoid")
    path = save(model, tmp_path / "m", feature="intensity",
                data_recipe={"datasets": [{"config": {"order": 1, "speech": "noise"}}]})
    r = analyse_sources(path, n_examples=2, sources="2-2", corpus="noise", threshold=0.0,
                        out=tmp_path / "out", n_figures=1, progress=False)
    assert r["detection"]["n_clips"] == 2 and r["detection"]["n_sources"] == 4
    assert len(r["figures"]) == 1 and (tmp_path / "out" / "results.json").is_file()
    det = r["examples"][0]["detections"]
    assert len(det) == 3  # threshold 0: max_sources detections
    for d in det:
        assert sum(d["dominance_shares"]) == pytest.approx(1.0, abs=1e-4)  # rounded to 1e-5


@pytest.mark.slow
def test_train_multi_resume_is_bit_identical(tmp_path) -> None:
    """A tiny sigmoid CRNN: 2 epochs at once == 1 epoch, then --resume to 2; the model keeps
    its detector; the checkpoint and the kept model load."""
    from safetensors.numpy import load_file

    from audiolrp.models.multisource import detector_of
    from audiolrp.training.multisource import MultiTrainConfig, train_multisource

    base = DatasetSpec(config=CFG, seed=1, counts={"train": 6, "val": 3, "test": 0},
                       shard_size=3)
    data = tmp_path / "ms"
    generate_multisource_dataset(data, multisource_spec(base, MultiSourceConfig((1, 3))))
    kw = {"model_size": "tiny", "batch_size": 3, "warmup_steps": 1, "progress": False,
          "checkpoint_every_steps": 1, "seed": 3}
    train_multisource(data, tmp_path / "a", MultiTrainConfig(epochs=2, **kw))
    train_multisource(data, tmp_path / "b", MultiTrainConfig(epochs=1, **kw))
    r = train_multisource(data, tmp_path / "b", MultiTrainConfig(epochs=2, **kw), resume=True)
    assert r["steps"] == 4 and r["epochs_run"] == 2
    a = load_file(str(tmp_path / "a" / "checkpoint.safetensors"))
    b = load_file(str(tmp_path / "b" / "checkpoint.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    lm = load(tmp_path / "b" / "model.json")
    assert lm.model.head == "sigmoid" and detector_of(lm.config).threshold > 0
    with pytest.raises(AudioLRPError, match="no multi-source checkpoint"):
        train_multisource(data, tmp_path / "c", MultiTrainConfig(**kw), resume=True)


@pytest.mark.slow
def test_cli_simulate_sources_train_multi_and_errors(tmp_path, monkeypatch, capsys) -> None:
    """`simulate --sources`, `train --task multi` on it, and one-line errors."""
    import sys

    from audiolrp.cli import main

    def run(args: list[str]) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["audiolrp", *args])
        with pytest.raises(SystemExit) as exc:
            main()
        out = capsys.readouterr()
        return int(exc.value.code or 0), out.out, out.err

    data = tmp_path / "ms"
    rc, out, _ = run(["simulate", str(data), "--sources", "2-3", "--order", "1", "--n-train",
                      "4", "--n-val", "2", "--n-test", "0", "--corpus", "noise", "--json",
                      "--no-progress"])
    assert rc == 0 and json.loads(out)["sources"]["n_sources"] == [2, 3]
    assert MultiSourceDataset(data, "train").n_sources.min() >= 2
    rc, out, _ = run(["train", str(data), str(tmp_path / "run"), "--task", "multi",
                      "--feature", "intensity", "--model-size", "tiny", "--epochs", "1",
                      "--batch-size", "2", "--no-progress", "--json"])
    assert rc == 0 and json.loads(out)["steps"] == 2
    for args, message in (
        (["simulate", str(tmp_path / "x"), "--sources", "1-5"], "--sources '1-5'"),
        (["train", str(data), str(tmp_path / "r2"), "--task", "many"], "--task 'many'"),
        (["analyze", "sources", "-m", "intensity", "-o", str(tmp_path / "o")], "softmax head"),
    ):
        rc, _, err = run(args)
        lines = err.strip().splitlines()
        assert rc == 2 and len(lines) == 1 and message in lines[0], err
