"""Audio -> model input: the one function that turns 1-s AmbiX clips into the feature tensor a
model reads, for simulated scenes (``audiolrp demo``), user recordings (``audiolrp explain``)
and the dataset commands alike.

The features are those of the paper's section "Experimental Setup" (HOA magnitude/phase or
active/reactive intensity, :func:`audiolrp.signal.features.compute_features`); which channels
a model reads and produces is its :class:`~audiolrp.signal.layout.InputLayout`.
"""

from __future__ import annotations

import numpy as np

from audiolrp.constants import CLIP_SAMPLES, N_BINS, N_FRAMES
from audiolrp.errors import AudioLRPError
from audiolrp.signal.features import compute_features
from audiolrp.signal.layout import InputLayout


def to_model_input(audio: np.ndarray, layout: InputLayout) -> np.ndarray:
    """Feature tensor of 1-s AmbiX clips at 16 kHz for a model with input ``layout``.

    Parameters
    ----------
    audio
        One clip ``(n_sh, 16000)`` or clips ``(B, n_sh, 16000)``: AmbiX (ACN/SN3D) signals with
        at least :attr:`InputLayout.n_audio_channels` channels (extra channels are ignored).
    layout
        The model's input layout (``LoadedModel.layout``).

    Returns
    -------
    np.ndarray
        ``(C, 50, 512)`` float32 (``(B, C, 50, 512)`` for clips); ``C = layout.n_channels``.

    Raises
    ------
    AudioLRPError
        When the clips have too few channels or are not 1 s at 16 kHz.
    """
    x = np.asarray(audio, dtype=np.float64)
    need = layout.n_audio_channels
    if x.ndim not in (2, 3) or x.shape[-2] < need or x.shape[-1] != CLIP_SAMPLES:
        raise AudioLRPError(
            f"audio has shape {x.shape}; the model needs (..., >= {need} AmbiX channels, "
            f"{CLIP_SAMPLES} samples): pass 1-s clips at 16 kHz"
        )
    if x.ndim == 3:  # clip by clip: each clip's features do not depend on the batch
        out = np.empty((x.shape[0], layout.n_channels, N_FRAMES, N_BINS), dtype=np.float32)
        for i, clip in enumerate(x):
            out[i] = to_model_input(clip, layout)
        return out
    feats = compute_features(x[:need], layout.feature, layout.order)
    return np.asarray(feats, dtype=np.float32)


__all__ = ["to_model_input"]
