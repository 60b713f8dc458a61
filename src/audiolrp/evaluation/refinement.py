"""Choosing a model's direction refinement on validation scenes with off-grid sources.

A model's refined direction (:class:`audiolrp.models.DirectionRefinement`: the ``p**q``-weighted
mean of the class directions within ``r`` of the argmax class, averaged over ``V`` rotated and
mirrored views of the sound field) has three settings, ``r``, ``q`` and ``V``. They are chosen
here, once per model, by measurement: scenes of the model's own training recipe are simulated
from the *validation* split (speakers the model was neither trained nor tested on), with
directions drawn uniformly on the sphere, so that sources fall between the 425 grid directions
as they do in recordings; the candidate with the smallest median angular
error wins (:func:`audiolrp.models.choose_refinement`).

The choice is stored in the model file (``direction_refinement``, with the record of what it
was chosen on) by :func:`audiolrp.training.export.export_model` before the card is evaluated,
so a card's refined errors are the refinement the model ships with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from audiolrp.data.spec import scene_seed
from audiolrp.evaluation.examples import scene_config_from_recipe
from audiolrp.models import DirectionRefinement, LoadedModel, choose_refinement
from audiolrp.signal.ambisonics import unit_vector
from audiolrp.simulation.scenes import get_corpus, simulate_scene

#: Validation scenes a refinement is chosen on, and their seed.
REFINEMENT_SCENES = 400
REFINEMENT_SEED = 2026
#: Candidate numbers of sound-field views (:func:`audiolrp.models.prediction.view_transforms`).
REFINEMENT_VIEWS: tuple[int, ...] = (1, 2, 4, 8)


@dataclass(frozen=True)
class RefinementChoice:
    """A chosen refinement with every candidate's errors and what it was chosen on.

    Attributes
    ----------
    refinement
        The winner (smallest median, ties to the smaller mean).
    rows
        One dict per candidate: ``radius_deg``, ``power``, ``views``, ``median_error_deg``,
        ``mean_error_deg``; the first row is the class direction (radius 0, one view).
    n_scenes, seed, order
        The validation scenes: how many, their master seed, their HOA order.
    """

    refinement: DirectionRefinement
    rows: list[dict[str, float]]
    n_scenes: int
    seed: int
    order: int

    @property
    def winner_row(self) -> dict[str, float]:
        """The row of the chosen candidate."""
        ref = self.refinement
        return next(r for r in self.rows if r["radius_deg"] == ref.radius_deg
                    and r["power"] == ref.power and int(r.get("views", 1)) == ref.views)

    def config_entry(self, command: str | None = None) -> dict[str, Any]:
        """The model file's ``direction_refinement`` entry: the settings and ``chosen_on``."""
        base, win = self.rows[0], self.winner_row
        chosen_on: dict[str, Any] = {
            "scenes": self.n_scenes, "split": "val", "seed": self.seed, "order": self.order,
            "directions": "uniform on the sphere (off-grid)",
            "class_median_error_deg": round(base["median_error_deg"], 3),
            "class_mean_error_deg": round(base["mean_error_deg"], 3),
            "refined_median_error_deg": round(win["median_error_deg"], 3),
            "refined_mean_error_deg": round(win["mean_error_deg"], 3),
        }
        if command:
            chosen_on["command"] = command
        return {**self.refinement.to_dict(), "chosen_on": chosen_on}


def validation_clips(
    loaded: LoadedModel, n_scenes: int = REFINEMENT_SCENES, seed: int = REFINEMENT_SEED,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Audio and true directions of ``n_scenes`` validation scenes of the model's recipe.

    The recipe is the first dataset of the model's ``data_recipe`` (its own microphone,
    rooms and noise), with directions uniform on the sphere, simulated at the recipe's order
    (at least the model's: a model trained on order-4 sphere-array scenes read at order 2 is
    validated on the same) and cut to the model's channels.

    Returns
    -------
    clips : np.ndarray
        ``(n_scenes, n_audio_channels, 16000)`` mixtures.
    true_vectors : np.ndarray
        ``(n_scenes, 3)`` unit vectors of the sources.
    order : int
        The HOA order the scenes were simulated at (>= the model's).
    """
    recipe = (loaded.data_recipe.get("datasets") or [loaded.data_recipe])[0]
    cfg = scene_config_from_recipe(recipe, loaded.order, {"direction_sampling": "uniform"})
    corpus = get_corpus(cfg.speech, cfg.corpus_seed)
    clips, truth = [], []
    for i in range(int(n_scenes)):
        scene = simulate_scene(cfg, scene_seed(seed, "val", i), corpus, split="val")
        clips.append(scene.mixture[: loaded.n_audio_channels])
        truth.append(unit_vector(scene.azimuth_rad, scene.elevation_rad))
    return np.stack(clips), np.stack(truth), int(cfg.order)


def choose_model_refinement(
    loaded: LoadedModel, n_scenes: int = REFINEMENT_SCENES, seed: int = REFINEMENT_SEED,
    *, batch_size: int = 32, progress: Callable[[int], None] | None = None,
    views: tuple[int, ...] = REFINEMENT_VIEWS,
) -> RefinementChoice:
    """Choose ``loaded``'s direction refinement on validation scenes with off-grid sources.

    Parameters
    ----------
    loaded
        The model (its current refinement is ignored: probabilities are refined afresh).
    n_scenes, seed
        Size and master seed of the validation scenes (:func:`validation_clips`).
    batch_size, progress
        Passed to :meth:`LoadedModel.view_probabilities` (``progress``: called with clips
        done).
    views
        Candidate numbers of views (every clip is predicted in ``max(views)`` views).
    """
    clips, truth, order = validation_clips(loaded, n_scenes, seed)
    vp, _, _ = loaded.view_probabilities(
        clips, max(views), batch_size=batch_size, progress=progress
    )
    best, rows = choose_refinement(vp, truth, views=views)
    return RefinementChoice(best, rows, int(n_scenes), int(seed), order)
