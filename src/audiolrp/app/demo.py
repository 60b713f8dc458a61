"""The demo's analysis (``audiolrp demo``): simulate one labelled scene, then predict, explain
and analyse it with an :class:`~audiolrp.app.explainer.Explainer`.

The scene is :func:`audiolrp.simulation.scenes.simulate_scene` (test split); its mixture
reaches the model through :meth:`Explainer.features`
(:meth:`audiolrp.models.LoadedModel.input`), the same audio -> model input function as a
recording's windows. Pixel flipping (paper Fig. 4) runs on this scene and the next seeds,
explaining and tracking each scene's true class. :mod:`audiolrp.report.pages` turns the
result into the report folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from audiolrp.analysis.directions import DirectionAnalysis, analyse_directions
from audiolrp.app.explainer import Explainer
from audiolrp.app.pipeline import ClipAnalysis
from audiolrp.errors import AudioLRPError
from audiolrp.progress import Progress
from audiolrp.signal.ambisonics import angular_error_deg
from audiolrp.simulation import scenes

#: Scene orders the demo offers (first order for the intensity model up to fourth order).
DEMO_ORDERS: tuple[int, int] = (1, 4)


@dataclass
class DemoAnalysis:
    """One simulated scene and everything computed for it."""

    seed: int
    order: int
    scene: Any  # audiolrp.simulation.scenes.Scene
    audio: np.ndarray  # (n_sh, 16000) mixture
    direct: np.ndarray  # (n_sh, 16000) noise-free direct sound
    clip: ClipAnalysis
    directions: DirectionAnalysis | None = None  # relevance in space (issue 12)

    @property
    def label(self) -> int:
        """The scene's true DOA class."""
        return int(self.scene.label)

    @property
    def true_rad(self) -> tuple[float, float]:
        """True ``(azimuth_rad, elevation_rad)``."""
        return float(self.scene.azimuth_rad), float(self.scene.elevation_rad)

    @property
    def error_deg(self) -> float:
        """Great-circle angle between the predicted (refined) direction and the true one."""
        a = self.clip
        return float(angular_error_deg(a.azimuth_rad, a.elevation_rad, *self.true_rad))

    @property
    def class_error_deg(self) -> float:
        """Great-circle angle between the predicted class's direction and the true one."""
        a = self.clip
        return float(angular_error_deg(a.class_azimuth_rad, a.class_elevation_rad,
                                       *self.true_rad))


def scene_order(ex: Explainer, order: int | None) -> int:
    """The scene's HOA order: the model's own by default; checked against what the model needs.

    Raises
    ------
    AudioLRPError
        One line when ``order`` is outside 1..4 or below the model's order.
    """
    chosen = ex.order if order is None else int(order)
    lo, hi = DEMO_ORDERS
    if not lo <= chosen <= hi:
        raise AudioLRPError(f"--order {chosen} is out of range: pass {lo} to {hi}")
    if chosen < ex.order:
        raise AudioLRPError(
            f"--order {chosen} is too low: the {ex.name} model needs order >= {ex.order}"
        )
    return chosen


def simulate(
    seed: int, order: int, snr_db: float | None = None, rt60_s: float | None = None
) -> Any:
    """One reverberant noisy speech scene of the test split
    (:func:`audiolrp.simulation.scenes.simulate_scene`); ``snr_db`` / ``rt60_s`` fix those
    parameters instead of drawing them."""
    kwargs: dict[str, Any] = {"order": int(order)}
    for key, value in (("snr_db", snr_db), ("rt60_s", rt60_s)):
        if value is not None:
            kwargs[key] = (float(value), float(value))
    return scenes.simulate_scene(scenes.SceneConfig(**kwargs), seed, split="test")


def mixture(scene: Any) -> np.ndarray:
    """The scene's mixture (what the model hears) as float64 ``(n_sh, 16000)``."""
    return np.asarray(scene.mixture, dtype=np.float64)


def scene_pixel_flipping(
    ex: Explainer, first: Any, seeds: list[int], order: int, snr_db: float | None,
    rt60_s: float | None,
) -> dict[str, Any]:
    """Pixel flipping on the scenes of ``seeds`` (``first`` is the scene of ``seeds[0]``),
    each explained for and tracking its true class (paper Fig. 4)."""
    scenes_ = [first] + [simulate(s, order, snr_db, rt60_s) for s in seeds[1:]]
    x = ex.features(np.stack([mixture(s) for s in scenes_]))
    labels = [int(s.label) for s in scenes_]
    relevance, _ = ex.explain(x, labels)
    curves = ex.pixel_flipping(x, relevance, labels, seed=seeds[0])
    curves["class_tracked"] = "true"
    curves["seeds"] = list(seeds)
    curves["score"] = (
        "clip probability of each scene's true DOA class (relevance of the true class), "
        "mean over scenes"
    )
    return curves


def scene_directions(scene: Any, audio: np.ndarray, clip: ClipAnalysis) -> DirectionAnalysis:
    """Where in the sound field the explanation of ``clip`` lies
    (:func:`audiolrp.analysis.directions.analyse_directions`): the relevance of every
    time-frequency bin at its active-intensity direction, with the scene's true source, its
    first-order image sources (from the room) and the predicted direction."""
    if clip.relevance is None:
        raise ValueError("the clip has not been explained: no relevance to place in space")
    p = scene.params
    return analyse_directions(
        clip.relevance, audio,
        source_rad=(float(scene.azimuth_rad), float(scene.elevation_rad)),
        room_m=p["room_m"], source_m=p["source_m"], receiver_m=p["receiver_m"],
        predicted_rad=(clip.azimuth_rad, clip.elevation_rad),
    )


def analyse_demo(
    ex: Explainer,
    seed: int = 0,
    order: int | None = None,
    snr_db: float | None = None,
    rt60_s: float | None = None,
    pixel_flipping: bool = True,
    pixel_flipping_scenes: int = 4,
    progress: Progress | None = None,
) -> DemoAnalysis:
    """Simulate the scene of ``seed``, then predict, explain and analyse it.

    Pixel flipping runs on ``pixel_flipping_scenes`` scenes (this one and the next seeds).
    """
    prog = progress or Progress(0, enabled=False)
    n_order = scene_order(ex, order)
    with prog.step(f"simulating a reverberant noisy speech scene (seed {seed})", "simulate"):
        scene = simulate(seed, n_order, snr_db, rt60_s)
    audio = mixture(scene)
    with prog.step("computing features and predicting the DOA", "predict"):
        features = ex.features(audio)
    clip = ex.analyse(audio, features=features, pixel_flipping=False, seed=seed, progress=prog)
    if pixel_flipping:
        n_pf = max(1, int(pixel_flipping_scenes))
        with prog.step(f"pixel flipping on {n_pf} scene(s)", "pixel_flipping"):
            seeds = [seed + j for j in range(n_pf)]
            clip.pixel_flipping = scene_pixel_flipping(ex, scene, seeds, n_order, snr_db, rt60_s)
    direct = np.asarray(scene.direct, dtype=np.float64)
    directions = scene_directions(scene, audio, clip)
    return DemoAnalysis(seed, n_order, scene, audio, direct, clip, directions)


__all__ = [
    "DEMO_ORDERS",
    "DemoAnalysis",
    "analyse_demo",
    "mixture",
    "scene_order",
    "scene_directions",
    "scene_pixel_flipping",
    "simulate",
]
