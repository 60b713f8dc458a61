"""The direction refinement chosen on validation scenes (audiolrp.evaluation.refinement)."""

from __future__ import annotations

import numpy as np
import pytest

from audiolrp import models
from audiolrp.evaluation.refinement import choose_model_refinement, validation_clips


@pytest.fixture(scope="module")
def hoa2() -> models.LoadedModel:
    return models.load("hoa2")


def test_validation_clips_are_seeded_off_grid_and_of_the_models_recipe(hoa2):
    a, ta, order = validation_clips(hoa2, 3, seed=5)
    b, tb, _ = validation_clips(hoa2, 3, seed=5)
    c, _, _ = validation_clips(hoa2, 3, seed=6)
    # simulated at the first training set's order (hoa2's last stage: order-4 sphere-array
    # scenes read at order 2), never below the model's, and cut to the model's channels
    first = (hoa2.data_recipe.get("datasets") or [hoa2.data_recipe])[0]
    assert order == max(int(first.get("order", hoa2.order)), hoa2.order) >= hoa2.order
    assert a.shape == (3, hoa2.n_audio_channels, 16000)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ta, tb)
    assert not np.array_equal(a, c)
    np.testing.assert_allclose(np.linalg.norm(ta, axis=1), 1.0, atol=1e-12)
    # uniform directions fall between the grid directions, not on them
    grid = models.Prediction.from_probabilities(np.eye(425)[:1], models.DirectionRefinement(0, 1))
    assert grid.direction.shape == (1, 3)
    from audiolrp.signal.ambisonics import doa_grid, unit_vector

    g = unit_vector(doa_grid()[:, 0], doa_grid()[:, 1])
    nearest = np.degrees(np.arccos(np.clip((ta @ g.T).max(axis=1), -1, 1)))
    assert np.all(nearest > 1e-3)


def test_the_choice_is_the_candidate_with_the_smallest_median_error(hoa2):
    import torch

    from audiolrp.models.prediction import view_transforms
    from audiolrp.signal.augmentation import apply_field_transforms

    choice = choose_model_refinement(hoa2, 8, seed=11, views=(1, 2))
    clips, truth, _ = validation_clips(hoa2, 8, seed=11)
    # each view made by the training augmentation's torch path, predicted as one view
    views = []
    for t in view_transforms(2):
        moved, _, _ = apply_field_transforms(torch.from_numpy(clips.astype(np.float64)),
                                             np.zeros(8), np.zeros(8), [t] * 8)
        views.append(hoa2.predict(moved.numpy(), views=1).probabilities)
    assert {int(r["views"]) for r in choice.rows} == {1, 2}
    # every row, recomputed independently: refine each view with the row's settings, map it
    # back, average, great-circle error
    for row in choice.rows:
        ref = models.DirectionRefinement(row["radius_deg"], row["power"])
        acc = np.zeros((8, 3))
        for k, t in enumerate(view_transforms(int(row["views"]))):
            acc += models.refine_directions(views[k], ref) @ t.matrix3()
        d = acc / np.linalg.norm(acc, axis=1, keepdims=True)
        err = np.degrees(np.arctan2(np.linalg.norm(np.cross(d, truth), axis=1),
                                    np.sum(d * truth, axis=1)))
        assert row["median_error_deg"] == pytest.approx(float(np.median(err)), abs=1e-4)
        assert row["mean_error_deg"] == pytest.approx(float(np.mean(err)), abs=1e-4)
    best = min((r["median_error_deg"], r["mean_error_deg"]) for r in choice.rows)
    win = choice.winner_row
    assert (win["median_error_deg"], win["mean_error_deg"]) == best
    assert choice.rows[0]["radius_deg"] == 0.0
    entry = choice.config_entry("cmd")
    assert entry["chosen_on"]["scenes"] == 8 and entry["chosen_on"]["command"] == "cmd"
    assert entry["chosen_on"]["refined_median_error_deg"] == round(win["median_error_deg"], 3)
    assert models.DirectionRefinement.from_config(entry) == choice.refinement
