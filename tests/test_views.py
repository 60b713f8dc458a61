"""Sound-field views fused into the refined direction (models.prediction: view fusion).

Checked against an independent formulation (explicit loops in float64 over clips, views and
classes; the audio transformed by the training augmentation's torch path instead of the
prediction's own), against the geometry (views of a von Mises-Fisher bump that follows the
source average the grid's quantisation out) and for the model file round trip.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from audiolrp import models
from audiolrp.errors import AudioLRPError
from audiolrp.models.prediction import (
    VIEW_ROTATION_DEG,
    DirectionRefinement,
    Prediction,
    choose_refinement,
    class_vectors,
    fuse_views,
    view_transforms,
)
from audiolrp.signal.ambisonics import unit_vector, vector_angle_deg
from audiolrp.signal.augmentation import apply_field_transforms

VEC = class_vectors()


def test_views_are_nested_orthogonal_and_start_with_the_clip_as_given() -> None:
    eight = view_transforms(8)
    assert [t.matrix3().tolist() for t in view_transforms(3)] == [
        t.matrix3().tolist() for t in eight[:3]]
    np.testing.assert_array_equal(eight[0].matrix3(), np.eye(3))
    for k, t in enumerate(eight):
        m = t.matrix3()
        np.testing.assert_allclose(m @ m.T, np.eye(3), atol=1e-12)
        assert t.rotation_rad == pytest.approx(math.radians(k * VIEW_ROTATION_DEG))
        assert (t.mirror_y, t.mirror_z) == (bool((k // 2) % 2), bool(k % 2))
    assert VIEW_ROTATION_DEG == pytest.approx(137.50776405, abs=1e-8)
    for bad in (0, 17, 2.5, True):
        with pytest.raises(AudioLRPError, match="views"):
            view_transforms(bad)  # type: ignore[arg-type]


def _fuse_loop(vp: np.ndarray, radius_deg: float, power: float, views: int) -> np.ndarray:
    """Explicit float64 loops: per clip, per view, per class within the radius."""
    mats = [t.matrix3() for t in view_transforms(views)]
    out = np.empty((vp.shape[1], 3))
    for b in range(vp.shape[1]):
        acc = np.zeros(3)
        for k in range(views):
            p = vp[k, b]
            c_star = int(np.argmax(p))
            s = np.zeros(3)
            for c in range(p.size):
                ang = math.degrees(math.acos(float(np.clip(VEC[c] @ VEC[c_star], -1, 1))))
                if ang <= radius_deg + 1e-6:
                    s += float(p[c]) ** power * VEC[c]
            d = s / np.linalg.norm(s)
            acc += mats[k].T @ d
        out[b] = acc / np.linalg.norm(acc)
    return out


@pytest.mark.parametrize("radius,power,views", [(0.0, 1.0, 3), (25.0, 1.0, 4), (40.0, 2.0, 2)])
def test_fusion_matches_the_explicit_loop(radius: float, power: float, views: int) -> None:
    rng = np.random.default_rng(views)
    vp = rng.dirichlet(np.full(425, 0.05), size=(views, 3))
    got = fuse_views(vp, DirectionRefinement(radius, power, views))
    np.testing.assert_allclose(got, _fuse_loop(vp, radius, power, views), atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-12)


def _bump_views(truths: np.ndarray, views: int, kappa: float = 60.0) -> np.ndarray:
    """Probabilities of each view: a von Mises-Fisher bump at the view's source R_k d."""
    out = []
    for t in view_transforms(views):
        moved = truths @ t.matrix3().T
        p = np.exp(kappa * (moved @ VEC.T - 1.0))
        out.append(p / p.sum(axis=1, keepdims=True))
    return np.stack(out)


def test_views_average_the_grid_quantisation_out() -> None:
    """Class directions of one view sit up to ~5 deg from an off-grid source; the mean over 8
    views of the same source, each seen at another place on the grid, is far closer."""
    rng = np.random.default_rng(11)
    truths = unit_vector(rng.uniform(-np.pi, np.pi, 80), np.arcsin(rng.uniform(-0.9, 0.9, 80)))
    vp = _bump_views(truths, 8)
    one = vector_angle_deg(fuse_views(vp, DirectionRefinement(0.0, 1.0, 1)), truths)
    eight = vector_angle_deg(fuse_views(vp, DirectionRefinement(0.0, 1.0, 8)), truths)
    assert np.median(eight) < 0.6 * np.median(one)
    best, rows = choose_refinement(vp, truths, views=(1, 2, 4, 8))
    assert best.views > 1
    assert {int(r["views"]) for r in rows} == {1, 2, 4, 8}
    # fewer views given than asked for: only the available ones are candidates
    _, rows2 = choose_refinement(vp[:2], truths)
    assert {int(r["views"]) for r in rows2} == {1, 2}


def test_prediction_uses_view_zero_for_the_class_and_fuses_the_direction() -> None:
    rng = np.random.default_rng(5)
    truths = unit_vector(rng.uniform(-np.pi, np.pi, 4), np.arcsin(rng.uniform(-0.8, 0.8, 4)))
    vp = _bump_views(truths, 4)
    ref = DirectionRefinement(25.0, 1.0, 4)
    silent = np.array([False, True, False, False])
    pred = Prediction.from_probabilities(vp[0], ref, None, silent, vp)
    assert pred.refinement.views == 4
    assert pred.class_index[1] == -1 and np.isnan(pred.direction[1]).all()
    keep = ~silent
    np.testing.assert_array_equal(pred.class_index[keep], vp[0][keep].argmax(axis=1))
    np.testing.assert_allclose(pred.direction[keep], fuse_views(vp, ref)[keep], atol=1e-12)
    # without the views' probabilities the prediction says it used one view
    alone = Prediction.from_probabilities(vp[0], ref)
    assert alone.refinement.views == 1


def test_refinement_views_in_the_model_file() -> None:
    r = DirectionRefinement(30.0, 2.0, 8)
    entry = r.to_dict()
    assert entry["views"] == 8 and "views" in entry["method"]
    assert DirectionRefinement.from_config(entry) == r
    assert DirectionRefinement.from_config({"radius_deg": 10.0}).views == 1  # older files
    with pytest.raises(AudioLRPError, match="direction_refinement"):
        DirectionRefinement.from_config({"radius_deg": 10.0, "views": 0})


@pytest.fixture(scope="module")
def hoa1_clips() -> np.ndarray:
    from audiolrp.simulation import scenes

    cfg = scenes.SceneConfig(order=1, snr_db=(15.0, 25.0), direction_sampling="uniform")
    return np.stack([scenes.simulate_scene(cfg, s, split="test").mixture for s in (3, 4)])


def test_predict_with_views_equals_views_made_by_the_training_augmentation(
    hoa1_clips: np.ndarray,
) -> None:
    """predict(views=4) against four one-view predictions of clips transformed by the
    augmentation's own torch path, mapped back by hand and averaged."""
    torch.set_num_threads(1)
    lm = models.load("hoa1")
    clips = hoa1_clips.astype(np.float64)
    got = lm.predict(clips, views=4)
    acc = np.zeros((clips.shape[0], 3))
    for k, t in enumerate(view_transforms(4)):
        moved, _, _ = apply_field_transforms(
            torch.from_numpy(clips), np.zeros(len(clips)), np.zeros(len(clips)),
            [t] * len(clips))
        one = lm.predict(moved.numpy(), views=1)
        if k == 0:
            np.testing.assert_array_equal(one.class_index, got.class_index)
        acc += one.direction @ t.matrix3()
    want = acc / np.linalg.norm(acc, axis=1, keepdims=True)
    np.testing.assert_allclose(got.direction, want, atol=1e-6)
    assert got.refinement.views == 4
    # the same fused direction at any level (W, hence the gain, is the same in every view)
    quiet = lm.predict(clips * 10 ** (-60 / 20), views=4)
    np.testing.assert_allclose(quiet.direction, got.direction, atol=1e-5)
    silent = lm.predict(np.zeros((1, 4, 16000)), views=4)
    assert silent.silent[0] and np.isnan(silent.direction[0]).all()


def test_the_explained_clip_gets_the_fused_direction_from_the_remaining_views(
    hoa1_clips: np.ndarray,
) -> None:
    """explain's clip_prediction: view 0 from the features it explains, views 1..V-1 from the
    audio (start=1), the same direction as predict() of all views."""
    from audiolrp.app.pipeline import clip_prediction

    torch.set_num_threads(1)
    lm = models.load("hoa1")
    clip = hoa1_clips[0].astype(np.float64)
    want = lm.predict(clip[None])
    assert lm.refinement.views > 1
    got = clip_prediction(lm, lm.features(clip), clip)
    assert got.predicted_class == int(want.class_index[0])
    assert math.isclose(math.degrees(got.azimuth_rad), float(want.azimuth_deg[0]), abs_tol=1e-4)
    assert math.isclose(math.degrees(got.elevation_rad), float(want.elevation_deg[0]),
                        abs_tol=1e-4)
    vp, _, _ = lm.view_probabilities(clip[None], 3, start=1)
    assert not vp[0].any() and vp[1:].any()
    with pytest.raises(AudioLRPError, match="start"):
        lm.view_probabilities(clip[None], 3, start=3)
