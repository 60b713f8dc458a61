"""The fast training recipe (issue 10): frame crops, cropped STFT, cosine schedule, direction
targets with sound-field augmentation on real simulated data, several dataset folders, and a
resumed augmented run that is bit-identical to an uninterrupted one."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from audiolrp.data.datasets import DatasetSpec, FeatureDataset, FeatureDatasets, generate_dataset
from audiolrp.errors import AudioLRPError, DatasetError
from audiolrp.signal.ambisonics import angular_error_deg, doa_grid, nearest_class
from audiolrp.signal.features import compute_features, stft, stft_frames
from audiolrp.simulation.scenes import SceneConfig
from audiolrp.training import (
    DirectionBatches,
    TrainConfig,
    TrainingInterrupted,
    batch_rng,
    framewise_cross_entropy,
    random_time_crops,
    scheduled_lr,
    train,
)

TOY = {"n_bins": 512, "pool_sizes": (8, 8, 8)}


pytestmark = pytest.mark.usefixtures("one_thread")


def _spec(seed: int, n_train: int = 12) -> DatasetSpec:
    cfg = SceneConfig(
        order=1, speech="noise", speech_lead_in_s=0.2, direction_sampling="uniform"
    )
    return DatasetSpec(
        config=cfg, seed=seed, counts={"train": n_train, "val": 4, "test": 0}, shard_size=8
    )


@pytest.fixture(scope="module")
def two_sets(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("recipe")
    a, b = base / "a", base / "b"
    generate_dataset(a, _spec(3), progress=False)
    generate_dataset(b, _spec(4, n_train=6), progress=False)
    return a, b


def test_stft_frames_equal_slices_of_the_stft() -> None:
    x = torch.randn(3, 4, 16000, dtype=torch.float64)
    full = stft(x)
    starts = [0, 25, 13]
    got = stft_frames(x, starts, 25)
    for b, s in enumerate(starts):
        torch.testing.assert_close(got[b], full[b, :, s : s + 25], rtol=0, atol=1e-12)
    with pytest.raises(AudioLRPError, match="start frames"):
        stft_frames(x, [0, 26, 1], 25)


def test_random_time_crops_are_slices_and_seeded() -> None:
    x = torch.arange(2 * 3 * 50 * 4, dtype=torch.float32).reshape(2, 3, 50, 4)
    a = random_time_crops(x, 20, np.random.default_rng(1))
    b = random_time_crops(x, 20, np.random.default_rng(1))
    assert a.shape == (2, 3, 20, 4) and torch.equal(a, b)
    for i in range(2):
        s = int(a[i, 0, 0, 0] - x[i, 0, 0, 0]) // 4
        torch.testing.assert_close(a[i], x[i, :, s : s + 20])
    assert random_time_crops(x, 0, np.random.default_rng(1)) is x


def test_cosine_schedule_warms_up_and_decays_to_min_lr() -> None:
    cfg = TrainConfig(lr=1e-3, min_lr=1e-5, schedule="cosine", warmup_steps=10)
    lrs = [scheduled_lr(cfg, s, 110) for s in range(111)]
    assert lrs[0] == pytest.approx(1e-4) and lrs[9] == pytest.approx(1e-3)
    assert lrs[10] == pytest.approx(1e-3)
    assert lrs[60] == pytest.approx(1e-5 + 0.5 * (1e-3 - 1e-5))
    assert lrs[110] == pytest.approx(1e-5)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:], strict=False))


def test_soft_targets_loss_matches_explicit_loop() -> None:
    g = torch.Generator().manual_seed(0)
    scores = torch.randn(2, 3, 425, generator=g, dtype=torch.float64)
    q = torch.softmax(torch.randn(2, 425, generator=g, dtype=torch.float64), -1)
    got = framewise_cross_entropy(scores, torch.zeros(2, dtype=torch.long), None, q)
    ref = 0.0
    for b in range(2):
        for t in range(3):
            logp = scores[b, t] - torch.logsumexp(scores[b, t], 0)
            ref += -float((q[b] * logp).sum())
    assert float(got) == pytest.approx(ref / 6, rel=1e-6)


def test_bad_recipe_settings_are_one_line_errors() -> None:
    for kw, msg in (
        ({"augment": True}, "label-sigma-deg"),
        ({"crop_frames": 60}, "crop-frames"),
        ({"schedule": "step"}, "schedule"),
        ({"precision": "fp8"}, "precision"),
        ({"select_by": "acc"}, "select-by"),
    ):
        with pytest.raises(AudioLRPError, match=msg):
            TrainConfig(**kw).validate()


def test_feature_datasets_concatenate_and_pool_statistics(two_sets) -> None:
    a, b = two_sets
    da, db = FeatureDataset(a, "train", "hoa", 1), FeatureDataset(b, "train", "hoa", 1)
    both = FeatureDatasets([da, db])
    assert len(both) == 18
    np.testing.assert_array_equal(both.audio(13), db.audio(1))
    assert both.meta(12)["azimuth_rad"] == db.meta(0)["azimuth_rad"]
    torch.testing.assert_close(both[5][0], da[5][0])
    # pooled mean / std equal those of the concatenated per-part statistics
    ma, sa = da.normalization_stats()
    mb, sb = db.normalization_stats()
    m, s = both.normalization_stats()
    w = np.array([12, 6]) / 18
    np.testing.assert_allclose(m, w[0] * ma + w[1] * mb, rtol=1e-6)
    second = w[0] * (sa.astype(np.float64) ** 2 + ma**2) + w[1] * (sb.astype(np.float64) ** 2
                                                                   + mb**2)
    np.testing.assert_allclose(s, np.sqrt(second - m.astype(np.float64) ** 2), rtol=1e-5)
    with pytest.raises(DatasetError, match="different features"):
        FeatureDatasets([da, FeatureDataset(b, "train", "intensity")])


def test_direction_batches_match_a_direct_recomputation(two_sets) -> None:
    a, _ = two_sets
    ds = FeatureDataset(a, "train", "intensity")
    cfg = TrainConfig(feature="intensity", augment=True, label_sigma_deg=8.0, crop_frames=25)
    maker = DirectionBatches(ds, cfg, torch.device("cpu"))
    x, y, q = maker([3, 0, 7], epoch=2, batch=5)
    x2, y2, q2 = maker([3, 0, 7], epoch=2, batch=5)
    assert torch.equal(x, x2) and torch.equal(y, y2) and torch.equal(q, q2)
    assert x.shape == (3, 6, 25, 512) and q.shape == (3, 425)
    # recompute batch 5 of epoch 2 by hand from the same random stream
    from audiolrp.signal.augmentation import apply_field_transforms, random_field_transforms

    rng = batch_rng(cfg.seed, 2, 5)
    audio = torch.from_numpy(np.stack([ds.audio(i, order=1) for i in (3, 0, 7)]))
    az = np.array([ds.meta(i)["azimuth_rad"] for i in (3, 0, 7)])
    el = np.array([ds.meta(i)["elevation_rad"] for i in (3, 0, 7)])
    audio, az2, el2 = apply_field_transforms(audio, az, el, random_field_transforms(3, rng))
    starts = rng.integers(0, 26, size=3)
    full = compute_features(audio, "intensity")
    for i, s in enumerate(starts):
        torch.testing.assert_close(x[i], full[i, :, s : s + 25], atol=1e-5, rtol=1e-4)
    np.testing.assert_array_equal(y.numpy(), nearest_class(az2, el2))
    # the targets peak at the class nearest to the moved direction
    g = doa_grid()
    peak = q.argmax(1).numpy()
    assert np.all(angular_error_deg(g[peak, 0], g[peak, 1], az2, el2) < 7.0)
    # another batch draws other transforms
    x3, _, _ = maker([3, 0, 7], epoch=2, batch=6)
    assert not torch.equal(x, x3)


def _cfg(**kw) -> TrainConfig:
    base = dict(
        feature="intensity", epochs=2, batch_size=4, lr=3e-3, model_size="tiny",
        model_kwargs=TOY, progress=False, checkpoint_every_steps=2, augment=True,
        label_sigma_deg=10.0, schedule="cosine", warmup_steps=1, select_by="val_error",
        crop_frames=20,
    )
    base.update(kw)
    return TrainConfig(**base)


def _w(path: Path) -> dict[str, torch.Tensor]:
    return load_file(str(path))


@pytest.mark.slow
def test_augmented_cosine_run_resumes_bit_identically(two_sets, tmp_path: Path) -> None:
    a, b = two_sets
    data = f"{a},{b}"  # two folders used as one training set
    full = train(data, tmp_path / "full", _cfg())
    assert len(full.history) == 2 and full.history[-1]["examples_seen"] == 36
    assert math.isfinite(full.history[-1]["val_median_error_deg"])
    with pytest.raises(TrainingInterrupted):
        train(data, tmp_path / "cut", _cfg(), stop_after_steps=7)
    resumed = train(data, tmp_path / "cut", _cfg(), resume=True)
    wa, wb = _w(tmp_path / "full" / "model.safetensors"), _w(tmp_path / "cut" / "model.safetensors")
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k
    assert [r["val_loss"] for r in resumed.history] == [r["val_loss"] for r in full.history]
    # the kept epoch is the one with the lowest validation angular error
    errs = [r["val_mean_error_deg"] for r in full.history]
    assert full.best_epoch == int(np.argmin(errs)) + 1
    # resuming with another recipe is refused
    with pytest.raises(AudioLRPError, match="augment"):
        train(data, tmp_path / "cut", _cfg(augment=False, direction_targets=True), resume=True)
