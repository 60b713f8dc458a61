"""Shared pieces of the talker-filter tests (recipe steps 5c and 5d of
audiolrp.simulation.scenes): a small scene config and an explicit float64 DFT gain."""

from __future__ import annotations

import math

import numpy as np

from audiolrp.constants import FS_HZ
from audiolrp.simulation.scenes import SceneConfig


def small_config(**kw: object) -> SceneConfig:
    """First-order scenes with a short lead-in and no level scaling, plus ``kw``."""
    base: dict[str, object] = dict(order=1, speech_lead_in_s=0.25, target_rms=None)
    base.update(kw)
    return SceneConfig(**base)  # type: ignore[arg-type]


def gain_db_loop(taps: np.ndarray, freq_hz: float) -> float:
    """|sum_n h[n] exp(-j 2 pi f n / fs)| in dB, one explicit float64 sum."""
    acc = 0j
    for n, h in enumerate(taps.tolist()):
        acc += h * complex(math.cos(2 * math.pi * freq_hz * n / FS_HZ),
                           -math.sin(2 * math.pi * freq_hz * n / FS_HZ))
    return 20 * math.log10(max(abs(acc), 1e-300))
