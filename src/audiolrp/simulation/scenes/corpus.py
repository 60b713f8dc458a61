"""The scenes' speech source: :func:`get_corpus` (opened once per process) and the
speech-like stand-in :class:`NoiseCorpus` of fast tests and benchmarks."""

from __future__ import annotations

from typing import Any

import numpy as np

from audiolrp.constants import FS_HZ
from audiolrp.simulation.speech import open_corpus


class NoiseCorpus:
    """Speech-like stand-in: Gaussian noise with a random syllable-rate (2-6 Hz) envelope.

    Not speech. Used by fast tests and benchmarks (spec ``"noise"``) so that they do not depend
    on speech synthesis; it has the :class:`audiolrp.simulation.speech.SpeechCorpus` sampling
    interface.
    """

    name = "noise"

    def speakers(self, split: str) -> list[str]:
        """Speaker names of ``split``."""
        return [f"noise-{split}"]

    def describe(self) -> dict[str, Any]:
        """A JSON-ready description of the corpus."""
        return {"name": self.name, "kind": "amplitude-modulated Gaussian noise (not speech)"}

    def sample_segment(
        self, split: str, rng: np.random.Generator, duration_s: float = 1.0
    ) -> np.ndarray:
        """One segment of ``duration_s`` seconds."""
        n = int(round(duration_s * FS_HZ))
        t = np.arange(n) / FS_HZ
        env = np.abs(np.sin(2 * np.pi * rng.uniform(2.0, 6.0) * t + rng.uniform(0, np.pi)))
        return (rng.standard_normal(n) * env).astype(np.float32)

    def sample_segments(
        self, split: str, rng: np.random.Generator, n: int, duration_s: float = 1.0
    ) -> np.ndarray:
        """``n`` segments of ``duration_s`` seconds, stacked."""
        return np.stack([self.sample_segment(split, rng, duration_s) for _ in range(n)])


_CORPUS_CACHE: dict[tuple[str | None, int], Any] = {}


def get_corpus(spec: str | None = None, seed: int = 0) -> Any:
    """Open (once per process) a corpus: ``"noise"`` -> :class:`NoiseCorpus`, anything else
    (``None``/``"espeak"``/a path) -> :func:`audiolrp.simulation.speech.open_corpus`."""
    key = (spec, int(seed))
    if key not in _CORPUS_CACHE:
        if spec == "noise":
            _CORPUS_CACHE[key] = NoiseCorpus()
        else:

            _CORPUS_CACHE[key] = open_corpus(spec, seed=seed)
    return _CORPUS_CACHE[key]

