"""Constants fixed by the paper's experimental setup (Poschadel et al. 2021; Kiyan et al.).

One example is 1 s of audio at 16 kHz; its STFT has exactly 50 frames x 512 frequency bins
(hop 320 samples = 20 ms, 1024-point FFT with the Nyquist bin dropped). Models classify each
frame into one of 425 DOA classes (see :func:`audiolrp.signal.ambisonics.doa_grid`).
"""

FS_HZ: int = 16_000
CLIP_DURATION_S: float = 1.0
CLIP_SAMPLES: int = 16_000
HOP_SAMPLES: int = 320
N_FFT: int = 1024
N_FRAMES: int = 50
N_BINS: int = 512
N_CLASSES: int = 425
SPEED_OF_SOUND_M_S: float = 343.0


def n_sh_channels(order: int) -> int:
    """Number of Ambisonics channels (ACN) up to ``order``: ``(order + 1) ** 2``.

    The channel layout of model inputs (names, groups, axes, counts) is owned by
    :class:`audiolrp.signal.layout.InputLayout`.
    """
    return (order + 1) ** 2
